//! Writing results, through one writer for every command: [`gaussmix_io::OutputSet`].
//!
//! Each command checks its output paths before any work ([`check_outputs`]: the extension it
//! writes, not a directory, an existing directory, not an input, no file twice), computes
//! everything, then hands every output to one [`Outputs`] and commits it: every regular file
//! is written to a temporary file beside it, streams (`/dev/null`, FIFOs, `/dev/stdout`) are
//! written in place, and the temporary files are renamed only when all are written. A failure
//! or Ctrl-C before the last rename leaves every existing output as it was.

use std::path::Path;

use anyhow::{Result, bail};
use gaussmix_io::{OutputSet, OutputTarget, WriteError};

use crate::UsageError;

/// On SIGINT, SIGTERM or SIGHUP: stop the outputs from being committed (waiting for a commit
/// under way to finish or undo itself), remove the temporary files, and exit with 130.
pub fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        let written = gaussmix_io::abandon_outputs();
        if written {
            eprintln!("gaussmix: interrupted after every output was written");
        } else {
            eprintln!("gaussmix: interrupted; no output was changed");
        }
        std::process::exit(130);
    });
}

/// What an output holds, which decides the file names it may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A model file (JSON).
    Model,
    /// A NumPy array (labels, probabilities, points).
    Npy,
    /// A figure (SVG or PNG).
    Figure,
    /// A web page (the lesson's index).
    Page,
}

impl Kind {
    fn extensions(self) -> &'static [&'static str] {
        match self {
            Kind::Model => &["json"],
            Kind::Npy => &["npy"],
            Kind::Figure => &["svg", "png"],
            Kind::Page => &["html"],
        }
    }

    fn refusal(self, flag: &str, path: &Path) -> String {
        let p = path.display();
        match self {
            Kind::Model => format!(
                "{flag} {p}: models are written as JSON; name the file with .json (e.g. model.json) so that gaussmix can read it back"
            ),
            Kind::Npy => format!(
                "{flag} {p}: this output is written as a NumPy array; name the file with .npy so that gaussmix can read it back"
            ),
            Kind::Figure => format!("{flag} {p}: figures are .svg or .png files"),
            Kind::Page => format!("{flag} {p}: pages are .html files"),
        }
    }
}

/// One output of a command: the flag that names it, the path, what it holds.
#[derive(Debug, Clone, Copy)]
pub struct Out<'a> {
    /// The flag, as shown in messages (`-o`, `--labels`, ...).
    pub flag: &'static str,
    /// The path, when the flag was given.
    pub path: Option<&'a Path>,
    /// What it holds.
    pub kind: Kind,
}

impl<'a> Out<'a> {
    /// An output named by `flag`.
    pub fn new(flag: &'static str, path: Option<&'a Path>, kind: Kind) -> Self {
        Out { flag, path, kind }
    }
}

fn has_extension(path: &Path, allowed: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| allowed.iter().any(|a| e.eq_ignore_ascii_case(a)))
}

/// Checks, before any work, that each output can be written and is none of the inputs:
/// a file name with the extension the output is written in (usage error, exit 2), not a
/// directory, a block device or a socket, in a directory that exists, not an input and not
/// another output (exit 2). Streams (`/dev/null`, FIFOs, `/dev/stdout`) take any name, and
/// may be given for several outputs.
pub fn check_outputs(outputs: &[Out<'_>], inputs: &[Option<&Path>]) -> Result<()> {
    let mut files: Vec<(&Out<'_>, std::path::PathBuf)> = Vec::new();
    for out in outputs {
        let Some(path) = out.path else { continue };
        let target = gaussmix_io::output_target(path).map_err(|e| match e {
            WriteError::IsDirectory { .. } => {
                anyhow::anyhow!(
                    "cannot write {} ({}): it is a directory",
                    path.display(),
                    out.flag
                )
            }
            WriteError::DirectoryNotFound { dir, .. } => anyhow::anyhow!(
                "cannot write {} ({}): the directory {} does not exist (create it first)",
                path.display(),
                out.flag,
                dir.display()
            ),
            e => anyhow::Error::new(e),
        })?;
        let OutputTarget::File { path: real, .. } = target else {
            continue;
        };
        if !has_extension(path, out.kind.extensions()) {
            return Err(UsageError(out.kind.refusal(out.flag, path)).into());
        }
        let real = file_key(&real);
        if let Some((other, _)) = files.iter().find(|(_, r)| *r == real) {
            return Err(UsageError(format!(
                "{} is given as two outputs ({} and {}): give each its own path",
                path.display(),
                other.flag,
                out.flag
            ))
            .into());
        }
        for input in inputs.iter().flatten() {
            if same_file(&real, input) {
                return Err(UsageError(format!(
                    "refusing to write {} over the input file {}: choose another output path",
                    path.display(),
                    input.display()
                ))
                .into());
            }
        }
        files.push((out, real));
    }
    Ok(())
}

/// The file `path` names, as its directory's canonical path and its name (whether or not the
/// file exists), so that `a.npy` and `./a.npy` are one output.
fn file_key(path: &Path) -> std::path::PathBuf {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let dir = dir.canonicalize().unwrap_or(dir);
    match path.file_name() {
        Some(name) => dir.join(name),
        None => dir,
    }
}

/// Whether two paths name the same file (by canonical path when both exist).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// The outputs of one run, committed together (see the module documentation).
#[derive(Default)]
pub struct Outputs<'a>(OutputSet<'a>);

impl<'a> Outputs<'a> {
    /// No outputs yet.
    pub fn new() -> Self {
        Outputs(OutputSet::new())
    }

    /// Labels as an int64 `.npy` vector.
    pub fn labels(&mut self, path: &Path, labels: &'a [usize]) -> Result<()> {
        self.0.add_npy_labels(path, labels)?;
        Ok(())
    }

    /// A float64 `.npy` array of the given shape.
    pub fn f64(&mut self, path: &Path, data: &'a [f64], shape: &[usize]) -> Result<()> {
        self.0.add_npy_f64(path, data, shape)?;
        Ok(())
    }

    /// A JSON value, pretty-printed, with a final newline (models: only when every number is
    /// finite).
    pub fn json(&mut self, path: &Path, value: serde_json::Value) -> Result<()> {
        crate::modelfile::check_finite(&value)?;
        self.0.add(path, move |w| {
            serde_json::to_writer_pretty(&mut *w, &value)?;
            w.write_all(b"\n")
        });
        Ok(())
    }

    /// Bytes already made (a rendered figure, a page).
    pub fn bytes(&mut self, path: &Path, bytes: Vec<u8>) {
        self.0.add(path, move |w| w.write_all(&bytes));
    }

    /// Writes every output, or none (existing files unchanged). A disk-full error is reported
    /// once, with what to do.
    pub fn commit(self) -> Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        match self.0.commit() {
            Ok(()) => Ok(()),
            Err(e @ WriteError::Interrupted) => Err(e.into()),
            Err(e) => {
                let full = matches!(&e, WriteError::Io { kind, .. } if *kind == std::io::ErrorKind::StorageFull || *kind == std::io::ErrorKind::QuotaExceeded);
                if full {
                    bail!("{e}; no output was changed: free some space or write elsewhere");
                }
                bail!("{e}; no output was changed")
            }
        }
    }
}
