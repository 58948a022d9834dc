//! Writing results: every file goes through a temporary file in the same directory and a rename
//! (`gaussmix_io::write_atomic`), so a failed run never leaves half a file and never touches an
//! existing output. Output paths are checked before any work starts.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anyhow::{Result, bail};

use crate::UsageError;

/// The outputs of this run, for the interrupt handler.
static OUTPUTS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// On SIGINT or SIGTERM: remove this process's temporary output files (if a write was under
/// way) and exit with 130. Outputs are only ever renamed into place whole, so nothing else can
/// be left behind.
pub fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        let outputs = OUTPUTS.lock().map(|o| o.clone()).unwrap_or_default();
        remove_temporaries(&outputs);
        eprintln!("gaussmix: interrupted; no output was written");
        std::process::exit(130);
    });
}

/// Removes `.<name>.tmp-<pid>-*` next to each output (the temporary files of
/// `gaussmix_io::write_atomic` in this process).
fn remove_temporaries(outputs: &[PathBuf]) {
    let pid = std::process::id();
    for out in outputs {
        let (Some(dir), Some(name)) = (out.parent(), out.file_name()) else {
            continue;
        };
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        let prefix = format!(".{}.tmp-{pid}-", name.to_string_lossy());
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
}

/// Checks that each output can be written and is none of the inputs.
pub fn check_outputs(outputs: &[Option<&Path>], inputs: &[Option<&Path>]) -> Result<()> {
    let outs: Vec<&Path> = outputs.iter().flatten().copied().collect();
    if let Ok(mut registered) = OUTPUTS.lock() {
        registered.extend(outs.iter().map(|p| p.to_path_buf()));
    }
    for (i, out) in outs.iter().enumerate() {
        if outs[..i].iter().any(|o| same_file(o, out)) {
            return Err(UsageError(format!(
                "{} is given as two different outputs",
                out.display()
            ))
            .into());
        }
        for input in inputs.iter().flatten() {
            if same_file(out, input) {
                return Err(UsageError(format!(
                    "refusing to write {} over the input file {}: choose another output path",
                    out.display(),
                    input.display()
                ))
                .into());
            }
        }
        if out.is_dir() {
            bail!("cannot write {}: it is a directory", out.display());
        }
        let dir = match out.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !dir.is_dir() {
            bail!(
                "cannot write {}: the directory {} does not exist (create it first)",
                out.display(),
                dir.display()
            );
        }
    }
    Ok(())
}

/// Whether two paths name the same file (by canonical path when both exist).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Writes labels as an int64 `.npy` vector.
pub fn write_labels(path: &Path, labels: &[usize]) -> Result<()> {
    let v: Vec<i64> = labels.iter().map(|&l| l as i64).collect();
    gaussmix_io::write_npy_i64(path, &v)?;
    Ok(())
}

/// Writes a float64 `.npy` array of the given shape.
pub fn write_f64(path: &Path, data: &[f64], shape: &[usize]) -> Result<()> {
    gaussmix_io::write_npy_f64(path, data, shape)?;
    Ok(())
}

/// Writes a JSON value, pretty-printed, with a final newline (models: only when every number is
/// finite).
pub fn write_json(path: &Path, value: &serde_json::Value) -> Result<()> {
    crate::modelfile::check_finite(value)?;
    gaussmix_io::write_atomic(path, |w| {
        serde_json::to_writer_pretty(&mut *w, value)?;
        w.write_all(b"\n")
    })?;
    Ok(())
}
