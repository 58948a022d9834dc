//! Hardening II, end to end: the output contract (one writer for every command), sizes bounded
//! before any work, and formats and messages. Every test here failed on the code before it.
//!
//! Run as root (as CI is), mode bits do not stop root, so nothing here relies on them: an
//! output that cannot be replaced is made immutable (`chattr +i`), a full disk is a private
//! `/dev/full` node or a small tmpfs, and device nodes are made in the test's own directory
//! (`mknod`) so that no test can touch the machine's `/dev` even against a broken binary. Where
//! such a tool or privilege is missing, the test uses what an ordinary user can observe
//! instead (a read-only directory, `/dev/full` itself) and says so on stderr.

mod common;

use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use common::{dataset, fails, gaussmix, json, listing, ok, stderr, tmp};
use gaussmix::io::{read_npy_i64, write_npy_f64};

const BIN: &str = env!("CARGO_BIN_EXE_gaussmix");

/// A directory with the lesson's data as `x.npy` and a fitted model `m.json`.
fn workspace() -> tempfile::TempDir {
    let d = tmp();
    write_npy_f64(&d.path().join("x.npy"), &dataset("blobs").0, &[400, 2]).unwrap();
    ok(
        d.path(),
        &["fit", "x.npy", "-k", "4", "-o", "m.json", "--quiet"],
    );
    d
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Runs `cmd` (spawned) to completion, killing it after `limit`: a guard against a binary
/// that blocks forever (on a FIFO, say), not a timing assertion. `None` when it was killed.
fn finish(mut child: Child, limit: Duration) -> (Option<ExitStatus>, String) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            return (Some(status), err);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return (None, String::new());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn spawn(dir: &Path, args: &[&str]) -> Child {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A character device node `name` in `dir` (`mknod`, root only), or `fallback` itself.
fn device(dir: &Path, name: &str, minor: u32, fallback: &str) -> PathBuf {
    let p = dir.join(name);
    let made = Command::new("mknod")
        .args(["-m", "666"])
        .arg(&p)
        .args(["c", "1", &minor.to_string()])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if made {
        p
    } else {
        eprintln!("note: mknod is not allowed here; using {fallback}");
        PathBuf::from(fallback)
    }
}

fn mkfifo(p: &Path) {
    assert!(Command::new("mkfifo").arg(p).status().unwrap().success());
}

fn is_char_device(p: &Path) -> bool {
    fs::metadata(p).is_ok_and(|m| m.file_type().is_char_device())
}

fn is_fifo(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_fifo())
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// File names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn no_crash(o: &Output, what: &str) {
    let err = stderr(o);
    assert!(
        o.status.code().is_some(),
        "{what}: killed by a signal: {err}"
    );
    for bad in [
        "panicked",
        "internal error",
        "capacity overflow",
        "RUST_BACKTRACE",
    ] {
        assert!(!err.contains(bad), "{what}: {err}");
    }
}

/// An immutable file (`chattr +i`), made mutable again on drop.
struct Immutable(PathBuf);

impl Immutable {
    fn new(p: &Path) -> Option<Immutable> {
        let ok = Command::new("chattr")
            .arg("+i")
            .arg(p)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Immutable(p.to_path_buf()))
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr").arg("-i").arg(&self.0).status();
    }
}

/// A small tmpfs mounted on a directory (root only), unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn new(dir: &Path, size: &str) -> Option<Tmpfs> {
        fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

// =====================================================================================
// The output contract
// =====================================================================================

#[test]
fn a_character_device_is_written_through_never_replaced() {
    let d = workspace();
    let p = d.path();
    let null = device(p, "null", 3, "/dev/null");
    let null = null.to_str().unwrap();
    for args in [
        vec!["fit", "x.npy", "-k", "3", "-o", null, "--quiet"],
        vec![
            "fit", "x.npy", "-k", "3", "-o", null, "--labels", null, "--proba", null, "--plot",
            null, "--quiet",
        ],
        vec!["predict", "m.json", "x.npy", "-o", null, "--proba", null],
        vec!["score", "m.json", "x.npy", "--per-sample", null],
        vec!["sample", "m.json", "-n", "10", "-o", null, "--labels", null],
        vec![
            "kmeans", "x.npy", "-k", "3", "-o", null, "--labels", null, "--quiet",
        ],
        vec!["gen", "blobs", "-o", null, "--labels", null],
        vec!["plot", "m.json", "x.npy", "-o", null],
        vec![
            "select", "x.npy", "--k-min", "1", "--k-max", "2", "--plot", null,
        ],
    ] {
        let o = gaussmix(p, &args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        assert!(
            is_char_device(Path::new(null)),
            "{args:?} replaced the device {null} with a file"
        );
    }
    // The machine's own /dev/null, as the issue ran it.
    ok(
        p,
        &["fit", "x.npy", "-k", "3", "-o", "/dev/null", "--quiet"],
    );
    assert!(is_char_device(Path::new("/dev/null")));
    // A directory is refused.
    fs::create_dir(p.join("dir.json")).unwrap();
    fails(
        p,
        &["fit", "x.npy", "-o", "dir.json"],
        1,
        &["dir.json", "directory"],
    );
}

#[test]
fn dev_stdout_writes_to_standard_output() {
    let d = workspace();
    let p = d.path();
    // A link of our own to /proc/self/fd/1 (what /dev/stdout is), then /dev/stdout itself.
    std::os::unix::fs::symlink("/proc/self/fd/1", p.join("out")).unwrap();
    for target in ["out", "/dev/stdout"] {
        let o = gaussmix(p, &["fit", "x.npy", "-k", "2", "-o", target, "--quiet"]);
        assert!(o.status.success(), "{target}: {}", stderr(&o));
        let model = json(&common::stdout(&o));
        assert_eq!(model["kind"], "gaussian_mixture", "{target}");
        assert!(
            fs::symlink_metadata(p.join("out"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
    assert!(
        fs::symlink_metadata("/dev/stdout")
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let o = gaussmix(p, &["gen", "blobs", "-n", "7", "-o", "/dev/stdout"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(o.stdout.starts_with(b"\x93NUMPY"));
    fs::write(p.join("g.npy"), &o.stdout).unwrap();
    let (_, shape) = gaussmix::io::read_npy_f64(&p.join("g.npy")).unwrap();
    assert_eq!(shape, [7, 2]);
}

#[test]
fn a_fifo_is_written_in_place() {
    let d = workspace();
    let p = d.path();
    let fifo = p.join("labels.fifo");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || fs::read(fifo).unwrap())
    };
    let child = spawn(p, &["predict", "m.json", "x.npy", "-o", "labels.fifo"]);
    let (status, err) = finish(child, Duration::from_secs(60));
    assert!(status.is_some_and(|s| s.success()), "{err}");
    assert!(is_fifo(&fifo), "the FIFO was replaced by a file");
    let bytes = reader.join().unwrap();
    ok(p, &["predict", "m.json", "x.npy", "-o", "labels.npy"]);
    assert_eq!(bytes, fs::read(p.join("labels.npy")).unwrap());
}

#[test]
fn a_symlinked_output_writes_its_target_and_stays_a_link() {
    let d = workspace();
    let p = d.path();
    let store = p.join("store");
    fs::create_dir(&store).unwrap();
    fs::write(store.join("model.json"), "old model").unwrap();
    fs::set_permissions(store.join("model.json"), fs::Permissions::from_mode(0o600)).unwrap();
    std::os::unix::fs::symlink("store/model.json", p.join("link.json")).unwrap();
    std::os::unix::fs::symlink("store/new.npy", p.join("dangling.npy")).unwrap();
    ok(
        p,
        &[
            "fit",
            "x.npy",
            "-k",
            "2",
            "-o",
            "link.json",
            "--labels",
            "dangling.npy",
            "--quiet",
        ],
    );
    for link in ["link.json", "dangling.npy"] {
        let m = fs::symlink_metadata(p.join(link)).unwrap();
        assert!(m.file_type().is_symlink(), "{link} is no longer a link");
    }
    let model = json(&fs::read_to_string(store.join("model.json")).unwrap());
    assert_eq!(model["n_components"], 2);
    assert_eq!(mode(&store.join("model.json")), 0o600);
    assert_eq!(read_npy_i64(&store.join("new.npy")).unwrap().len(), 400);
    assert_eq!(
        names(&store),
        ["model.json", "new.npy"],
        "no temporary file"
    );
    // The link reads back as a model.
    ok(p, &["predict", "link.json", "x.npy", "-o", "l.npy"]);
}

#[test]
fn overwriting_keeps_the_mode_and_new_files_follow_the_umask() {
    let d = workspace();
    let p = d.path();
    fs::write(p.join("out.json"), "old").unwrap();
    fs::set_permissions(p.join("out.json"), fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(p.join("labels.npy"), "old").unwrap();
    fs::set_permissions(p.join("labels.npy"), fs::Permissions::from_mode(0o640)).unwrap();
    ok(
        p,
        &[
            "fit",
            "x.npy",
            "-k",
            "2",
            "-o",
            "out.json",
            "--labels",
            "labels.npy",
            "--quiet",
        ],
    );
    assert_ne!(fs::read(p.join("out.json")).unwrap(), b"old");
    assert_eq!(
        mode(&p.join("out.json")),
        0o600,
        "a mode-600 model stays 600"
    );
    assert_eq!(mode(&p.join("labels.npy")), 0o640);
    for (umask, expected) in [("027", 0o640), ("077", 0o600), ("022", 0o644)] {
        let name = format!("new{umask}.json");
        let o = Command::new("sh")
            .args(["-c", &format!("umask {umask}; exec \"$0\" \"$@\""), BIN])
            .args(["fit", "x.npy", "-k", "2", "-o", &name, "--quiet"])
            .current_dir(p)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(mode(&p.join(&name)), expected, "umask {umask}");
    }
}

/// Existing outputs `m.json` and `l.npy` in `dir`, for the all-or-nothing tests.
fn existing_outputs(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fs::write(dir.join("m.json"), "the old model").unwrap();
    fs::write(dir.join("l.npy"), "the old labels").unwrap();
    listing(dir)
}

#[test]
fn an_output_that_cannot_be_replaced_changes_no_other_output() {
    let d = workspace();
    let p = d.path();
    let before = existing_outputs(p);
    // The model cannot be renamed over (immutable, even for root); the labels could. The model
    // is written after the labels, so the labels must be put back.
    let guard = Immutable::new(&p.join("m.json"));
    let model = if guard.is_some() {
        "m.json".to_string()
    } else if !is_root() {
        eprintln!("note: chattr +i is not available; using a read-only directory");
        fs::create_dir(p.join("ro")).unwrap();
        fs::set_permissions(p.join("ro"), fs::Permissions::from_mode(0o555)).unwrap();
        "ro/m.json".to_string()
    } else {
        eprintln!("note: chattr +i is not available; using /proc, where nobody creates files");
        "/proc/gaussmix-test-m.json".to_string()
    };
    let before = if guard.is_some() { before } else { listing(p) };
    let o = gaussmix(
        p,
        &[
            "fit", "x.npy", "-k", "2", "--labels", "l.npy", "-o", &model, "--quiet",
        ],
    );
    drop(guard);
    assert_eq!(
        listing(p),
        before,
        "every output unchanged, no temporary file"
    );
    no_crash(&o, "fit");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("m.json"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no output was changed"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_full_disk_changes_no_output_and_says_so_once() {
    let d = workspace();
    let p = d.path();
    // A full device as one output (written in place, ENOSPC): the files are not touched.
    let full = device(p, "full", 7, "/dev/full");
    let full = full.to_str().unwrap();
    let before = existing_outputs(p);
    let o = gaussmix(
        p,
        &[
            "fit", "x.npy", "-k", "2", "--labels", "l.npy", "--proba", full, "-o", "m.json",
            "--quiet",
        ],
    );
    no_crash(&o, "fit");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("No space left on device").count(), 1, "{err}");
    assert!(err.contains("no output was changed"), "{err}");
    assert!(is_char_device(Path::new(full)));
    assert_eq!(listing(p), before, "existing outputs unchanged");

    // A real file system that fills up while the outputs are staged.
    let Some(mnt) = Tmpfs::new(&p.join("mnt"), "1m") else {
        eprintln!("note: cannot mount a tmpfs here; the full file system case is skipped");
        return;
    };
    let m = &mnt.0;
    fs::write(m.join("m.json"), "the old model").unwrap();
    fs::write(m.join("l.npy"), "the old labels").unwrap();
    let before = listing(m);
    ok(p, &["gen", "blobs", "-n", "100000", "-o", "big.npy"]);
    let o = gaussmix(
        p,
        &[
            "fit",
            "big.npy",
            "-k",
            "2",
            "--labels",
            "mnt/l.npy",
            "--proba",
            "mnt/p.npy",
            "-o",
            "mnt/m.json",
            "--quiet",
        ],
    );
    no_crash(&o, "fit");
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.matches("No space left on device").count(), 1, "{err}");
    assert!(err.contains("free some space"), "{err}");
    assert_eq!(
        listing(m),
        before,
        "existing outputs unchanged, no temporary file"
    );
}

#[test]
fn a_file_size_limit_changes_no_output() {
    let d = workspace();
    let p = d.path();
    fs::write(p.join("big.npy"), "old points").unwrap();
    fs::write(p.join("l.npy"), "old labels").unwrap();
    let before = listing(p);
    // ulimit -f 100: files beyond 100 blocks cannot be written (SIGXFSZ, or EFBIG).
    let o = Command::new("sh")
        .args(["-c", "ulimit -f 100; exec \"$0\" \"$@\"", BIN])
        .args([
            "gen", "blobs", "-n", "100000", "-o", "big.npy", "--labels", "l.npy",
        ])
        .current_dir(p)
        .output()
        .unwrap();
    no_crash(&o, "gen");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("big.npy"), "{}", stderr(&o));
    assert_eq!(listing(p), before, "no output changed, no temporary file");
}

#[test]
fn ctrl_c_during_the_writes_changes_no_output() {
    let d = tmp();
    let p = d.path();
    fs::write(p.join("points.npy"), "old points").unwrap();
    let fifo = p.join("labels.fifo");
    mkfifo(&fifo);
    // The labels go to a FIFO whose reader stops after a few bytes: the writer blocks with the
    // points staged and the labels half written. Then Ctrl-C.
    let mut reader = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let mut child = spawn(
        p,
        &[
            "gen",
            "blobs",
            "-n",
            "200000",
            "-o",
            "points.npy",
            "--labels",
            "labels.fifo",
        ],
    );
    let start = Instant::now();
    let mut head = [0u8; 16];
    let mut writing = false;
    while start.elapsed() < Duration::from_secs(60) {
        match reader.read(&mut head) {
            Ok(n) if n > 0 => {
                writing = true;
                break;
            }
            _ if child.try_wait().unwrap().is_some() => break,
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    if writing {
        assert!(head.starts_with(b"\x93NUMPY"));
        let status = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
    let (status, err) = finish(child, Duration::from_secs(60));
    assert!(writing, "gaussmix never wrote to the FIFO: {err}");
    assert_eq!(status.and_then(|s| s.code()), Some(130), "{err}");
    assert!(err.contains("no output was changed"), "{err}");
    assert_eq!(fs::read(p.join("points.npy")).unwrap(), b"old points");
    assert!(is_fifo(&fifo));
    assert_eq!(names(p), ["labels.fifo", "points.npy"], "no temporary file");
}

#[test]
fn output_names_a_command_cannot_write_are_refused_up_front() {
    let d = workspace();
    let p = d.path();
    let cases: &[(&[&str], &str)] = &[
        (&["gen", "blobs", "-o", "x.csv"], ".npy"),
        (
            &["gen", "blobs", "-o", "x.npy", "--labels", "l.txt"],
            ".npy",
        ),
        (&["fit", "x.npy", "-o", "model.npy"], ".json"),
        (&["fit", "x.npy", "--labels", "l.csv"], ".npy"),
        (&["fit", "x.npy", "--proba", "p.json"], ".npy"),
        (&["fit", "x.npy", "--plot", "f.pdf"], ".svg or .png"),
        (&["predict", "m.json", "x.npy", "-o", "l.json"], ".npy"),
        (
            &[
                "predict", "m.json", "x.npy", "-o", "l.npy", "--proba", "p.csv",
            ],
            ".npy",
        ),
        (
            &["score", "m.json", "x.npy", "--per-sample", "s.csv"],
            ".npy",
        ),
        (&["sample", "m.json", "-n", "5", "-o", "s.csv"], ".npy"),
        (
            &[
                "sample", "m.json", "-n", "5", "-o", "s.npy", "--labels", "l",
            ],
            ".npy",
        ),
        (&["kmeans", "x.npy", "-k", "2", "-o", "km.npy"], ".json"),
        (&["kmeans", "x.npy", "-k", "2", "--labels", "l.csv"], ".npy"),
        (
            &["kmeans", "x.npy", "-k", "2", "--plot", "k.jpg"],
            ".svg or .png",
        ),
        (
            &[
                "select", "x.npy", "--k-min", "1", "--k-max", "2", "--plot", "s.txt",
            ],
            ".svg or .png",
        ),
        (&["plot", "m.json", "x.npy", "-o", "f.npy"], ".svg or .png"),
    ];
    for (args, ext) in cases {
        let bad = args
            .iter()
            .find(|a| a.contains('.') && !["x.npy", "m.json", "l.npy", "s.npy"].contains(a))
            .copied()
            .unwrap_or("l");
        fails(p, args, 2, &[bad, ext]);
    }
    // One file for two outputs, however it is spelled.
    fails(
        p,
        &["fit", "x.npy", "--labels", "a.npy", "--proba", "./a.npy"],
        2,
        &["a.npy", "two outputs", "--labels", "--proba"],
    );
    // Upper-case extensions are the same formats, and read back.
    ok(
        p,
        &[
            "fit", "x.npy", "-k", "2", "-o", "M.JSON", "--labels", "L.NPY", "--quiet",
        ],
    );
    ok(p, &["predict", "M.JSON", "x.npy", "-o", "l2.npy"]);
    assert_eq!(
        read_npy_i64(&p.join("L.NPY")).unwrap(),
        read_npy_i64(&p.join("l2.npy")).unwrap()
    );
}

// =====================================================================================
// Every size bounded before any work
// =====================================================================================

#[test]
fn model_files_that_are_not_regular_files_are_refused_at_once() {
    let d = workspace();
    let p = d.path();
    mkfifo(&p.join("model.fifo"));
    for args in [
        vec!["predict", "model.fifo", "x.npy", "-o", "l.npy"],
        vec!["score", "model.fifo", "x.npy"],
        vec!["sample", "model.fifo", "-n", "3", "-o", "s.npy"],
        vec!["plot", "model.fifo", "x.npy", "-o", "f.svg"],
        vec!["fit", "x.npy", "--init-model", "model.fifo"],
    ] {
        let (status, err) = finish(spawn(p, &args), Duration::from_secs(60));
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(1),
            "{args:?} did not refuse the FIFO at once: {err}"
        );
        assert!(
            err.contains("model.fifo") && err.contains("not a regular file"),
            "{err}"
        );
    }
    // An endless device is refused without reading it.
    fails(
        p,
        &["predict", "/dev/zero", "x.npy", "-o", "l.npy"],
        1,
        &["/dev/zero", "not a regular file"],
    );
    // A regular file above the documented limit (sparse: nothing is written to disk).
    let big = fs::File::create(p.join("huge.json")).unwrap();
    big.set_len((1 << 30) + 1).unwrap();
    drop(big);
    fails(
        p,
        &["score", "huge.json", "x.npy"],
        1,
        &["huge.json", "limit of 1.0 GiB"],
    );
}

#[test]
fn a_wide_csv_is_refused_with_the_memory_it_needs() {
    let d = tmp();
    let p = d.path();
    // 3 rows × 100 000 features: a full covariance is 100 000² numbers (80 GB) per copy.
    let row = |r: usize| {
        (0..100_000)
            .map(|j| ((j * 7 + r * 13) % 10).to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    fs::write(
        p.join("wide.csv"),
        format!("{}\n{}\n{}\n", row(0), row(1), row(2)),
    )
    .unwrap();
    let err = fails(
        p,
        &["fit", "wide.csv", "--labels", "l.npy"],
        1,
        &["wide.csv"],
    );
    for needle in [
        "3 × 100000",
        "k·d² = 1 × 100000²",
        "GiB of memory",
        "--covariance diag",
    ] {
        assert!(err.contains(needle), "{needle:?} in {err}");
    }
    let err = fails(
        p,
        &["fit", "wide.csv", "--covariance", "tied"],
        1,
        &["wide.csv"],
    );
    assert!(err.contains("d² = 100000²"), "{err}");
    let err = fails(
        p,
        &["select", "wide.csv", "--k-min", "1", "--k-max", "3"],
        1,
        &["--k-max 3"],
    );
    assert!(err.contains("k·d² = 3 × 100000²"), "{err}");
    // Diagonal covariances of the same data are small, and fit.
    let o = gaussmix(p, &["fit", "wide.csv", "--covariance", "diag", "--quiet"]);
    no_crash(&o, "diag fit");
}

#[test]
fn sizes_from_flags_are_checked_before_anything_is_allocated() {
    let d = workspace();
    let p = d.path();
    let max = u64::MAX.to_string();
    let cases: Vec<(Vec<&str>, &[&str])> = vec![
        (
            vec!["gen", "blobs", "-n", &max, "-o", "g.npy"],
            &["-n 18446744073709551615"],
        ),
        (
            vec!["gen", "blobs", "-n", "1000", "--dim", &max, "-o", "g.npy"],
            &["--dim"],
        ),
        (
            vec!["gen", "blobs", "--centers", &max, "-o", "g.npy"],
            &["--centers"],
        ),
        (
            vec!["gen", "blobs", "-n", "100000000000", "-o", "g.npy"],
            &["-n 100000000000"],
        ),
        (
            vec!["sample", "m.json", "-n", &max, "-o", "s.npy"],
            &["sample -n"],
        ),
        (
            vec!["sample", "m.json", "-n", "100000000000", "-o", "s.npy"],
            &["sample -n 100000000000", "m.json"],
        ),
        (vec!["bench", "--workload", "lesson", "--n", &max], &["--n"]),
        (
            vec!["bench", "--workload", "midd", "--n", "1000000000000"],
            &["--n 1000000000000"],
        ),
    ];
    for (args, needles) in &cases {
        let (status, err) = finish(spawn(p, args), Duration::from_secs(60));
        assert_eq!(status.and_then(|s| s.code()), Some(1), "{args:?}: {err}");
        for n in needles.iter().chain(&["of memory"]) {
            assert!(err.contains(n), "{args:?}: {n:?} in {err}");
        }
        for bad in ["panicked", "internal error", "capacity overflow"] {
            assert!(!err.contains(bad), "{args:?}: {err}");
        }
        assert!(!p.join("g.npy").exists() && !p.join("s.npy").exists());
    }
    for args in [
        vec![
            "bench",
            "--workload",
            "lesson",
            "--threads",
            "1",
            "--repeat",
            &max,
        ],
        vec![
            "bench",
            "--workload",
            "lesson",
            "--threads",
            "1",
            "--iters",
            &max,
        ],
    ] {
        let (status, err) = finish(spawn(p, &args), Duration::from_secs(60));
        assert_eq!(status.and_then(|s| s.code()), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("of memory") && err.contains(&max),
            "{args:?}: {err}"
        );
    }
    // A model file may claim any size: nothing is allocated before its arrays are seen.
    let claims = serde_json::json!({
        "format": "gaussmix-model", "version": 1, "kind": "gaussian_mixture",
        "covariance_type": "full", "n_components": 1_000_000_000_000u64,
        "n_features": 4_294_967_296u64, "weights": [1.0], "means": [[0.0]],
        "covariances": [[[1.0]]],
    });
    fs::write(p.join("claims.json"), claims.to_string()).unwrap();
    for args in [
        vec!["predict", "claims.json", "x.npy", "-o", "l.npy"],
        vec!["sample", "claims.json", "-n", "3", "-o", "s.npy"],
    ] {
        let o = gaussmix(p, &args);
        no_crash(&o, &args.join(" "));
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains("claims.json"), "{}", stderr(&o));
        assert!(stderr(&o).contains("wrong shape"), "{}", stderr(&o));
    }
    // The documented cap, GAUSSMIX_MAX_MEMORY, applies to sizes this machine could hold.
    let o = Command::new(BIN)
        .args(["sample", "m.json", "-n", "100000", "-o", "s.npy"])
        .env("GAUSSMIX_MAX_MEMORY", "1M")
        .current_dir(p)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("GAUSSMIX_MAX_MEMORY"), "{}", stderr(&o));
    let o = Command::new(BIN)
        .args(["sample", "m.json", "-n", "100000", "-o", "s.npy"])
        .env("GAUSSMIX_MAX_MEMORY", "64M")
        .current_dir(p)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn threads_above_the_cap_are_refused() {
    let d = workspace();
    let p = d.path();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let over = (4 * cores + 1).to_string();
    fails(
        p,
        &["fit", "x.npy", "--threads", &over],
        2,
        &["--threads", "at most"],
    );
    ok(
        p,
        &[
            "fit",
            "x.npy",
            "--threads",
            &(4 * cores).to_string(),
            "--quiet",
        ],
    );
    for args in [
        vec!["fit", "x.npy", "--threads", "4294967295"],
        vec!["kmeans", "x.npy", "-k", "2", "--threads", "4294967295"],
        vec![
            "predict",
            "m.json",
            "x.npy",
            "-o",
            "l.npy",
            "--threads",
            "4294967295",
        ],
        vec!["bench", "--workload", "lesson", "--threads", "1,4294967295"],
        vec!["lesson", "out", "--threads", "4294967295"],
    ] {
        fails(p, &args, 2, &["4294967295", "at most"]);
    }
}

// =====================================================================================
// Formats and messages
// =====================================================================================

/// A `.npy` file with the given descriptor and payload.
fn npy(path: &Path, descr: &str, shape: &str, payload: &[u8]) {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(payload);
    fs::write(path, bytes).unwrap();
}

#[test]
fn npy_descriptors_are_validated_like_numpys() {
    let d = tmp();
    let p = d.path();
    let f32s: Vec<u8> = (0..8)
        .flat_map(|i| (i as f32 * 0.37).to_le_bytes())
        .collect();
    for descr in ["<fxyz", "<f+4", "<f3", "<f99999999999999999999", "<f4 "] {
        npy(&p.join("bad.npy"), descr, "(4, 2)", &f32s);
        fails(
            p,
            &["fit", "bad.npy", "--labels", "l.npy"],
            1,
            &["bad.npy", descr],
        );
    }
    // The well-formed descriptor reads.
    npy(&p.join("good.npy"), "<f4", "(4, 2)", &f32s);
    ok(p, &["fit", "good.npy", "--quiet"]);
}

#[test]
fn csv_reads_every_line_ending() {
    let d = tmp();
    let p = d.path();
    let (x, n, _) = dataset("blobs");
    let rows: Vec<String> = x.chunks(2).map(|r| format!("{},{}", r[0], r[1])).collect();
    for (name, end) in [("lf.csv", "\n"), ("crlf.csv", "\r\n"), ("cr.csv", "\r")] {
        fs::write(p.join(name), format!("x0,x1{end}{}{end}", rows.join(end))).unwrap();
        let labels = format!("{name}.npy");
        ok(p, &["fit", name, "-k", "4", "--labels", &labels, "--quiet"]);
        assert_eq!(read_npy_i64(&p.join(&labels)).unwrap().len(), n, "{name}");
    }
    let a = read_npy_i64(&p.join("lf.csv.npy")).unwrap();
    assert_eq!(a, read_npy_i64(&p.join("crlf.csv.npy")).unwrap());
    assert_eq!(a, read_npy_i64(&p.join("cr.csv.npy")).unwrap());
}

/// The long flags a subcommand accepts, from its --help.
fn flags_of(p: &Path, cmd: &str) -> String {
    common::stdout(&gaussmix(p, &[cmd, "--help"]))
}

#[test]
fn messages_name_only_flags_that_exist() {
    let d = workspace();
    let p = d.path();
    fs::copy(p.join("x.npy"), p.join("x.bin")).unwrap();
    fs::write(p.join("x.f64"), [0u8; 24]).unwrap();
    let mut collapse = vec![0.0; 20];
    for i in 0..200 {
        collapse.push(60.0 + ((i * 37) % 100) as f64 / 50.0);
        collapse.push(60.0 + ((i * 53) % 100) as f64 / 50.0);
    }
    write_npy_f64(&p.join("c.npy"), &collapse, &[210, 2]).unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["fit", "x.bin"],
        vec!["fit", "x.f64"],
        vec!["fit", "x.f64", "--dim", "2"],
        vec!["kmeans", "x.bin", "-k", "2"],
        vec!["predict", "m.json", "x.bin", "-o", "l.npy"],
        vec!["fit", "c.npy", "-k", "2", "--reg-covar", "0"],
        vec![
            "fit",
            "c.npy",
            "-k",
            "2",
            "--reg-covar",
            "0",
            "--on-degenerate",
            "reseed",
        ],
        vec![
            "select",
            "c.npy",
            "--k-min",
            "2",
            "--k-max",
            "2",
            "--reg-covar",
            "0",
        ],
        vec!["fit", "x.npy", "-o", "m.npy"],
        vec![
            "predict",
            "m.json",
            "x.npy",
            "-o",
            "l.npy",
            "--threads",
            "100000",
        ],
    ];
    for args in cases {
        let o = gaussmix(p, &args);
        assert!(!o.status.success(), "{args:?}");
        no_crash(&o, &args.join(" "));
        let err = stderr(&o);
        let help = flags_of(p, args[0]);
        let mut named = 0;
        for (i, _) in err.match_indices("--") {
            let flag: String = err[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            if flag.len() > 2 {
                named += 1;
                assert!(
                    help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
                    "{args:?}: the message names {flag}, which `{}` does not take: {err}",
                    args[0]
                );
            }
        }
        assert!(named > 0 || !err.contains("--"), "{err}");
    }
}

#[test]
fn gen_never_writes_a_non_finite_value() {
    let d = tmp();
    let p = d.path();
    fails(
        p,
        &["gen", "blobs", "--std", "1e308", "-o", "g.npy"],
        2,
        &["--std 1e308", "inf"],
    );
    fails(
        p,
        &["gen", "moons", "--noise", "1e308", "-o", "g.npy"],
        2,
        &["--noise 1e308"],
    );
    fails(
        p,
        &[
            "gen",
            "blobs",
            "--std",
            "1e308",
            "--stretch",
            "-o",
            "g.npy",
            "--labels",
            "l.npy",
        ],
        2,
        &["--std 1e308 with --stretch"],
    );
    // Large but finite: written, and gaussmix reads it back.
    ok(p, &["gen", "blobs", "--std", "1e300", "-o", "g.npy"]);
    let (v, _) = gaussmix::io::read_npy_f64(&p.join("g.npy")).unwrap();
    assert!(v.iter().all(|x| x.is_finite()));
    let o = gaussmix(p, &["fit", "g.npy", "--quiet"]);
    no_crash(&o, "fit on 1e300 data");
}

#[test]
fn a_model_that_cannot_be_sampled_names_the_file_and_the_component() {
    let d = workspace();
    let p = d.path();
    // Component 1's precision factor is 1e-170: its covariance (1e340) overflows. predict and
    // score use the precisions and work; sample needs the covariance's factor.
    let model = serde_json::json!({
        "format": "gaussmix-model", "version": 1, "kind": "gaussian_mixture",
        "covariance_type": "full", "n_components": 2, "n_features": 2,
        "weights": [0.5, 0.5], "means": [[0.0, 0.0], [1.0, 1.0]],
        "precisions_cholesky": [[[1.0, 0.0], [0.0, 1.0]], [[1e-170, 0.0], [0.0, 1.0]]],
    });
    fs::write(p.join("pc.json"), model.to_string()).unwrap();
    ok(p, &["predict", "pc.json", "x.npy", "-o", "l.npy"]);
    ok(p, &["score", "pc.json", "x.npy"]);
    fails(
        p,
        &["sample", "pc.json", "-n", "5", "-o", "s.npy"],
        1,
        &["pc.json", "component 1", "predict and score"],
    );
}

#[test]
fn every_command_validates_model_files_alike() {
    let d = workspace();
    let p = d.path();
    let good = json(&fs::read_to_string(p.join("m.json")).unwrap());
    let mut bad = good.clone();
    bad["covariances"][1] = serde_json::json!([[1.0, 3.0], [3.0, 1.0]]);
    fs::write(p.join("bad.json"), bad.to_string()).unwrap();
    for args in [
        vec!["predict", "bad.json", "x.npy", "-o", "l.npy"],
        vec!["score", "bad.json", "x.npy"],
        vec!["sample", "bad.json", "-n", "5", "-o", "s.npy"],
        vec!["plot", "bad.json", "x.npy", "-o", "f.svg"],
        vec!["fit", "x.npy", "--init-model", "bad.json"],
    ] {
        fails(
            p,
            &args,
            1,
            &[
                "invalid model file bad.json",
                "component 1",
                "positive definite",
            ],
        );
    }
}

#[test]
fn reseed_at_initialisation_says_what_to_try() {
    let d = tmp();
    let p = d.path();
    // Ten copies of one point: k-means puts them in one cluster, whose covariance without
    // regularisation collapses before the first M-step.
    let mut x = vec![0.0; 20];
    for i in 0..200 {
        x.push(60.0 + ((i * 37) % 100) as f64 / 50.0);
        x.push(60.0 + ((i * 53) % 100) as f64 / 50.0);
    }
    write_npy_f64(&p.join("c.npy"), &x, &[210, 2]).unwrap();
    fails(
        p,
        &[
            "fit",
            "c.npy",
            "-k",
            "2",
            "--reg-covar",
            "0",
            "--on-degenerate",
            "reseed",
            "-o",
            "m.json",
        ],
        1,
        &[
            "at initialisation",
            "--on-degenerate reseed applies from the first M-step on",
            "--init k-means++",
            "--reg-covar",
        ],
    );
}
