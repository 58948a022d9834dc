//! Writers: `.npy` for f32/f64 matrices and i64 label vectors, [`write_atomic`] for any other
//! single file, and [`OutputSet`] for the several outputs of one run, written all or nothing.
//! [`OutputSet`] documents the output contract.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::error::WriteError;
use crate::npy::build_header;
use crate::target::{OutputTarget, file_key, output_target, parent_dir};

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Set by [`abandon_outputs`]: a commit that sees it undoes its renames.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The temporary files and backups of this process, for [`abandon_outputs`]. Every creation,
/// rename and removal of such a file happens while this lock is held, and so does the whole
/// rename phase of a commit, so that an interrupt sees either nothing renamed or everything.
static STATE: Mutex<State> = Mutex::new(State {
    temporaries: Vec::new(),
    committed: 0,
});

struct State {
    temporaries: Vec<PathBuf>,
    committed: usize,
}

fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

impl State {
    fn forget(&mut self, path: &Path) {
        if let Some(i) = self.temporaries.iter().position(|p| p == path) {
            self.temporaries.swap_remove(i);
        }
    }
}

/// For an interrupt handler (one that runs on its own thread, as `ctrlc`'s does): stops every
/// output set of this process from committing, waits for a commit under way to finish or undo
/// itself, and removes every temporary file. Returns `true` when an output set (or a
/// [`write_atomic`] call) had already been committed before the interrupt, so that its outputs
/// were written in full; `false` when no output was changed.
///
/// After this call the process should exit: commits that start later fail with
/// [`WriteError::Interrupted`].
pub fn abandon_outputs() -> bool {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let mut st = state();
    for p in st.temporaries.drain(..) {
        let _ = fs::remove_file(p);
    }
    st.committed > 0
}

type WriteFn<'a> = Box<dyn FnOnce(&mut dyn Write) -> io::Result<()> + 'a>;

/// The outputs of one run, written all or nothing.
///
/// # The output contract
///
/// * An output that is (after following symbolic links) a **regular file**, or that does not
///   exist yet, is written to a temporary file `.<name>.tmp-<pid>-<n>` beside it, flushed,
///   fsynced and renamed over it. A symbolic link is followed: the temporary file and the rename
///   happen beside its target and the link stays a link. An existing file keeps its permission
///   bits (and, when the process may set them, its owner and group); a new file gets the usual
///   mode from the umask.
/// * An existing **character device or FIFO** (`/dev/null`, a named pipe) is written in place,
///   as a shell redirect would; `/dev/stdout`, `/dev/stderr`, `/dev/fd/1` and `/dev/fd/2` write
///   to the process's own standard output or error. It is never replaced by a file. A
///   directory, a block device or a socket is refused.
/// * An [`OutputSet`] stages every regular output in its temporary file first, then writes the
///   streams, and only then renames the temporary files into place. If anything fails before
///   the last rename (a full disk, a permission, an interrupt via [`abandon_outputs`]), every
///   output that was already renamed is put back (each existing output is kept as a hard link
///   until the set is committed) and every temporary file is removed: existing files are left
///   byte for byte as they were. Streams cannot be taken back; they are written last before the
///   renames so that a failing stream changes no file.
///
/// ```no_run
/// # fn main() -> Result<(), gaussmix_io::WriteError> {
/// use std::path::Path;
/// let mut out = gaussmix_io::OutputSet::new();
/// out.add_npy_i64(Path::new("labels.npy"), &[0, 1, 1])?;
/// out.add(Path::new("model.json"), |w| w.write_all(b"{}\n"));
/// out.commit()?; // both files, or neither (existing ones unchanged)
/// # Ok(())
/// # }
/// ```
#[derive(Default)]
pub struct OutputSet<'a> {
    items: Vec<(PathBuf, WriteFn<'a>)>,
}

impl std::fmt::Debug for OutputSet<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.items.iter().map(|(p, _)| p))
            .finish()
    }
}

/// Temporary files (and backups) created by one commit, removed on drop unless taken over.
struct Temporaries(Vec<PathBuf>);

impl Temporaries {
    fn remove_all(&mut self, st: &mut State) {
        for p in self.0.drain(..) {
            let _ = fs::remove_file(&p);
            st.forget(&p);
        }
    }
}

impl Drop for Temporaries {
    fn drop(&mut self) {
        if !self.0.is_empty() {
            let mut st = state();
            self.remove_all(&mut st);
        }
    }
}

/// A regular output not yet written.
struct PendingFile<'a> {
    given: PathBuf,
    dest: PathBuf,
    existed: bool,
    write: WriteFn<'a>,
}

/// A regular output staged in its temporary file.
struct Staged {
    /// The path the caller gave (for messages).
    given: PathBuf,
    /// The file replaced or created (links followed).
    dest: PathBuf,
    tmp: PathBuf,
    existed: bool,
    backup: Option<PathBuf>,
}

impl<'a> OutputSet<'a> {
    /// An empty set.
    pub fn new() -> Self {
        OutputSet { items: Vec::new() }
    }

    /// Number of outputs added.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when no output was added.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds an output whose bytes `write` produces (into a buffered writer) at commit time.
    pub fn add(&mut self, path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()> + 'a) {
        self.items.push((path.to_path_buf(), Box::new(write)));
    }

    /// Adds a C-order `<f8` `.npy` array of `shape` (1-D or 2-D).
    pub fn add_npy_f64(
        &mut self,
        path: &Path,
        data: &'a [f64],
        shape: &[usize],
    ) -> Result<(), WriteError> {
        check_shape(path, shape, data.len())?;
        let header = build_header("<f8", shape);
        self.add(path, move |out| {
            out.write_all(&header)?;
            write_le(out, data, f64::to_le_bytes)
        });
        Ok(())
    }

    /// Adds a C-order `<f4` `.npy` array of `shape` (1-D or 2-D).
    pub fn add_npy_f32(
        &mut self,
        path: &Path,
        data: &'a [f32],
        shape: &[usize],
    ) -> Result<(), WriteError> {
        check_shape(path, shape, data.len())?;
        let header = build_header("<f4", shape);
        self.add(path, move |out| {
            out.write_all(&header)?;
            write_le(out, data, f32::to_le_bytes)
        });
        Ok(())
    }

    /// Adds a 1-D `<i8` (int64) `.npy` vector.
    pub fn add_npy_i64(&mut self, path: &Path, data: &'a [i64]) -> Result<(), WriteError> {
        let header = build_header("<i8", &[data.len()]);
        self.add(path, move |out| {
            out.write_all(&header)?;
            write_le(out, data, i64::to_le_bytes)
        });
        Ok(())
    }

    /// Adds labels (non-negative indices) as a 1-D `<i8` (int64) `.npy` vector, converted as
    /// they are written (no int64 copy of the whole vector).
    pub fn add_npy_labels(&mut self, path: &Path, labels: &'a [usize]) -> Result<(), WriteError> {
        if let Some(&l) = labels.iter().find(|&&l| i64::try_from(l).is_err()) {
            return Err(WriteError::NotWritable {
                path: path.to_path_buf(),
                reason: format!("label {l} does not fit in int64"),
            });
        }
        let header = build_header("<i8", &[labels.len()]);
        self.add(path, move |out| {
            out.write_all(&header)?;
            let mut buf = Vec::with_capacity(8 * 4096);
            for chunk in labels.chunks(4096) {
                buf.clear();
                for &l in chunk {
                    buf.extend_from_slice(&(l as i64).to_le_bytes());
                }
                out.write_all(&buf)?;
            }
            Ok(())
        });
        Ok(())
    }

    /// Writes every output, all or nothing (see [`OutputSet`]). On error, no
    /// existing regular file has changed and no temporary file is left.
    pub fn commit(self) -> Result<(), WriteError> {
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Err(WriteError::Interrupted);
        }
        // 1. Where each output goes; nothing is created yet.
        let mut files = Vec::new();
        let mut streams = Vec::new();
        for (path, write) in self.items {
            match output_target(&path)? {
                OutputTarget::File { path: dest, exists } => {
                    let key = file_key(&dest);
                    let earlier: Option<&PathBuf> = files
                        .iter()
                        .find(|f: &&PendingFile<'a>| file_key(&f.dest) == key)
                        .map(|f| &f.given);
                    if let Some(other) = earlier {
                        return Err(WriteError::SameFile {
                            path: path.clone(),
                            other: other.clone(),
                        });
                    }
                    files.push(PendingFile {
                        given: path,
                        dest,
                        existed: exists,
                        write,
                    });
                }
                target => streams.push((path, target, write)),
            }
        }

        // 2. Every regular output into its temporary file.
        let mut temps = Temporaries(Vec::new());
        let mut staged = Vec::with_capacity(files.len());
        for PendingFile {
            given,
            dest,
            existed,
            write,
        } in files
        {
            let (file, tmp) = create_temp(&given, &dest, &mut temps)?;
            let err = |op: &'static str| {
                let given = given.clone();
                move |e: io::Error| WriteError::from_io(&given, op, e)
            };
            let mut out = BufWriter::with_capacity(1 << 20, file);
            write(&mut out).map_err(err("write"))?;
            let file = out.into_inner().map_err(|e| err("write")(e.into_error()))?;
            file.sync_all().map_err(err("fsync"))?;
            drop(file);
            staged.push(Staged {
                given,
                dest,
                tmp,
                existed,
                backup: None,
            });
        }

        // 3. Streams, in place, before any file is replaced.
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Err(WriteError::Interrupted);
        }
        for (given, target, write) in streams {
            write_stream(&given, &target, write)?;
        }

        // 4. The renames, under the lock, undone on any failure or interrupt.
        let mut st = state();
        if INTERRUPTED.load(Ordering::SeqCst) {
            temps.remove_all(&mut st);
            return Err(WriteError::Interrupted);
        }
        for s in &mut staged {
            if s.existed {
                s.backup = make_backup(&s.dest, &mut st, &mut temps);
            }
        }
        // Outputs that cannot be put back (an existing file we could not link) go last: when
        // one of them fails, everything renamed before it can still be undone.
        staged.sort_by_key(|s| s.existed && s.backup.is_none());
        let mut failure = None;
        let mut done = 0;
        for s in &staged {
            match fs::rename(&s.tmp, &s.dest) {
                Ok(()) => {
                    st.forget(&s.tmp);
                    temps.0.retain(|p| p != &s.tmp);
                    done += 1;
                }
                Err(e) => {
                    failure = Some(WriteError::from_io(&s.given, "rename", e));
                    break;
                }
            }
        }
        if failure.is_none() && INTERRUPTED.load(Ordering::SeqCst) {
            failure = Some(WriteError::Interrupted);
        }
        if let Some(e) = failure {
            for s in staged[..done].iter().rev() {
                match &s.backup {
                    Some(b) if fs::rename(b, &s.dest).is_ok() => {
                        st.forget(b);
                        temps.0.retain(|p| p != b);
                    }
                    Some(_) => {}
                    None if !s.existed => {
                        let _ = fs::remove_file(&s.dest);
                    }
                    None => {}
                }
            }
            temps.remove_all(&mut st);
            return Err(e);
        }
        // Committed: the backups go.
        temps.remove_all(&mut st);
        st.committed += 1;
        drop(st);
        // Make the renames durable; a failure here does not undo a completed write.
        #[cfg(unix)]
        {
            let mut dirs: Vec<PathBuf> = staged.iter().map(|s| parent_dir(&s.dest)).collect();
            dirs.sort();
            dirs.dedup();
            for d in dirs {
                if let Ok(d) = File::open(&d) {
                    let _ = d.sync_all();
                }
            }
        }
        Ok(())
    }
}

/// A hard link to `dest` beside it, so that a rename over `dest` can be undone; `None` when
/// the file system refuses (then `dest` is renamed over last).
fn make_backup(dest: &Path, st: &mut State, temps: &mut Temporaries) -> Option<PathBuf> {
    let dir = parent_dir(dest);
    let name = dest.file_name()?;
    let pid = std::process::id();
    for _ in 0..16 {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut b = std::ffi::OsString::from(".");
        b.push(name);
        b.push(format!(".bak-{pid}-{n}"));
        let b = dir.join(b);
        match fs::hard_link(dest, &b) {
            Ok(()) => {
                st.temporaries.push(b.clone());
                temps.0.push(b.clone());
                return Some(b);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(_) => return None,
        }
    }
    None
}

fn write_stream(given: &Path, target: &OutputTarget, write: WriteFn<'_>) -> Result<(), WriteError> {
    let err = |op: &'static str| move |e: io::Error| WriteError::from_io(given, op, e);
    match target {
        OutputTarget::Stdout => {
            let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
            write(&mut out).map_err(err("write"))?;
            out.flush().map_err(err("write"))
        }
        OutputTarget::Stderr => {
            let mut out = BufWriter::with_capacity(1 << 16, io::stderr().lock());
            write(&mut out).map_err(err("write"))?;
            out.flush().map_err(err("write"))
        }
        _ => {
            // As a shell redirect: open for writing (a FIFO waits for its reader), no rename.
            let file = OpenOptions::new()
                .write(true)
                .open(given)
                .map_err(err("open"))?;
            let mut out = BufWriter::with_capacity(1 << 16, file);
            write(&mut out).map_err(err("write"))?;
            out.flush().map_err(err("write"))
        }
    }
}

/// Write a file atomically: `write` fills a temporary file beside `path` (its target when it
/// is a symbolic link), which is flushed, fsynced and renamed over it; an existing file keeps
/// its permissions. A character device or FIFO is written in place instead.
///
/// Readers see either the old file or the complete new one, never half a file. On any error
/// (including an error returned by `write`, or a panic in it) the temporary file is removed
/// and `path` is left untouched. The writer given to `write` is buffered. A one-output
/// [`OutputSet`].
pub fn write_atomic(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), WriteError> {
    let mut set = OutputSet::new();
    set.add(path, write);
    set.commit()
}

fn create_temp(
    given: &Path,
    dest: &Path,
    temps: &mut Temporaries,
) -> Result<(File, PathBuf), WriteError> {
    let dir = parent_dir(dest);
    let name = dest.file_name().ok_or_else(|| WriteError::IsDirectory {
        path: given.to_path_buf(),
    })?;
    let existing = fs::metadata(dest).ok().filter(fs::Metadata::is_file);
    let pid = std::process::id();
    let mut last_err = None;
    for _ in 0..16 {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".tmp-{pid}-{n}"));
        let tmp = dir.join(tmp_name);
        let mut st = state();
        if INTERRUPTED.load(Ordering::SeqCst) {
            return Err(WriteError::Interrupted);
        }
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => {
                st.temporaries.push(tmp.clone());
                temps.0.push(tmp.clone());
                drop(st);
                if let Some(m) = &existing {
                    keep_metadata(&f, m).map_err(|e| {
                        WriteError::from_io(given, "set the permissions of the temporary file", e)
                    })?;
                }
                return Ok((f, tmp));
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_err = Some(e),
            Err(e) => return Err(WriteError::from_io(given, "create temporary file", e)),
        }
    }
    let e = last_err.unwrap_or_else(|| io::Error::other("could not create a temporary file"));
    Err(WriteError::from_io(given, "create temporary file", e))
}

/// Gives the temporary file the permission bits of the file it replaces, and its owner and
/// group when this process may (root, or a group it belongs to); a new file keeps the mode
/// the umask gave it.
#[cfg(unix)]
fn keep_metadata(f: &File, m: &fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mine = f.metadata()?;
    if mine.uid() != m.uid() || mine.gid() != m.gid() {
        // Best effort: an unprivileged process cannot give a file away.
        let _ = std::os::unix::fs::fchown(f, Some(m.uid()), Some(m.gid()));
        let _ = std::os::unix::fs::fchown(f, None, Some(m.gid()));
    }
    f.set_permissions(fs::Permissions::from_mode(m.mode() & 0o7777))
}

#[cfg(not(unix))]
fn keep_metadata(f: &File, m: &fs::Metadata) -> io::Result<()> {
    f.set_permissions(m.permissions())
}

fn check_shape(path: &Path, shape: &[usize], len: usize) -> Result<(), WriteError> {
    if shape.is_empty() || shape.len() > 2 {
        return Err(WriteError::UnsupportedShape {
            path: path.to_path_buf(),
            shape: shape.to_vec(),
        });
    }
    let expected = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if expected != Some(len) {
        return Err(WriteError::ShapeMismatch {
            path: path.to_path_buf(),
            shape: shape.to_vec(),
            expected,
            found: len,
        });
    }
    Ok(())
}

/// Write elements as little-endian bytes in chunks (the cast is free on little-endian hosts).
fn write_le<T: bytemuck::Pod, const N: usize>(
    out: &mut dyn Write,
    data: &[T],
    to_le: impl Fn(T) -> [u8; N],
) -> io::Result<()> {
    if cfg!(target_endian = "little") {
        out.write_all(bytemuck::cast_slice(data))
    } else {
        let mut buf = Vec::with_capacity(N * 4096);
        for chunk in data.chunks(4096) {
            buf.clear();
            for &v in chunk {
                buf.extend_from_slice(&to_le(v));
            }
            out.write_all(&buf)?;
        }
        Ok(())
    }
}

/// Write a C-order `<f8` array of `shape` (1-D or 2-D) as a version 1.0 `.npy` file whose
/// data starts at byte 64-aligned offset, atomically (see [`write_atomic`]).
pub fn write_npy_f64(path: &Path, data: &[f64], shape: &[usize]) -> Result<(), WriteError> {
    let mut set = OutputSet::new();
    set.add_npy_f64(path, data, shape)?;
    set.commit()
}

/// Write a C-order `<f4` array of `shape` (1-D or 2-D) as a version 1.0 `.npy` file,
/// atomically (see [`write_atomic`]).
pub fn write_npy_f32(path: &Path, data: &[f32], shape: &[usize]) -> Result<(), WriteError> {
    let mut set = OutputSet::new();
    set.add_npy_f32(path, data, shape)?;
    set.commit()
}

/// Write a 1-D `<i8` (int64) array, such as cluster labels, as a version 1.0 `.npy` file,
/// atomically (see [`write_atomic`]).
pub fn write_npy_i64(path: &Path, data: &[i64]) -> Result<(), WriteError> {
    let mut set = OutputSet::new();
    set.add_npy_i64(path, data)?;
    set.commit()
}
