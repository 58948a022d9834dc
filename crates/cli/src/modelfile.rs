//! The model file: JSON with scikit-learn's names and shapes, so that Python can rebuild the
//! estimator.
//!
//! ```text
//! {"format": "gaussmix-model", "version": 1, "kind": "gaussian_mixture",
//!  "covariance_type": "full", "n_components": K, "n_features": d,
//!  "weights": [K], "means": [K][d],
//!  "covariances": full [K][d][d] | tied [d][d] | diag [K][d] | spherical [K],
//!  "precisions_cholesky": same shapes,
//!  "converged": bool, "n_iter": int, "lower_bound": float, "lower_bounds": [float]}
//! {"format": "gaussmix-model", "version": 1, "kind": "kmeans", "n_clusters": K, "n_features": d,
//!  "centers": [K][d], "inertia": float, "n_iter": int, "converged": bool}
//! ```
//!
//! Floats are written in their shortest round-tripping form and read back exactly. A lower
//! bound of `-inf` (a model that was only initialised) is written as `null`.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use gaussmix_core::{CovarianceType, GaussianMixtureModel, KMeansModel};
use serde_json::{Value, json};

/// The `format` tag of every model file.
pub const FORMAT: &str = "gaussmix-model";
/// The current version.
pub const VERSION: u64 = 1;

/// A model read from a file.
pub enum Model {
    /// A Gaussian mixture.
    Gmm(GaussianMixtureModel),
    /// k-means centres.
    KMeans(KMeansModel),
}

impl Model {
    /// Number of features the model expects.
    pub fn n_features(&self) -> usize {
        match self {
            Model::Gmm(m) => m.n_features(),
            Model::KMeans(m) => m.n_features(),
        }
    }

    /// Number of components (or clusters).
    pub fn n_components(&self) -> usize {
        match self {
            Model::Gmm(m) => m.n_components(),
            Model::KMeans(m) => m.n_clusters(),
        }
    }
}

/// Nests a flat row-major array into JSON arrays of the given shape.
fn nest(data: &[f64], shape: &[usize]) -> Value {
    match shape {
        [] => num(data[0]),
        [n] => Value::Array(data[..*n].iter().map(|&v| num(v)).collect()),
        [n, rest @ ..] => {
            let stride: usize = rest.iter().product();
            Value::Array(
                (0..*n)
                    .map(|i| nest(&data[i * stride..(i + 1) * stride], rest))
                    .collect(),
            )
        }
    }
}

fn num(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// The JSON of a Gaussian mixture.
pub fn gmm_json(m: &GaussianMixtureModel) -> Value {
    let (k, d, t) = (m.n_components(), m.n_features(), m.covariance_type());
    let shape = t.covariances_shape(k, d);
    json!({
        "format": FORMAT,
        "version": VERSION,
        "kind": "gaussian_mixture",
        "covariance_type": t.as_str(),
        "n_components": k,
        "n_features": d,
        "weights": nest(m.weights(), &[k]),
        "means": nest(m.means(), &[k, d]),
        "covariances": nest(m.covariances(), &shape),
        "precisions_cholesky": nest(m.precisions_cholesky(), &shape),
        "converged": m.converged(),
        "n_iter": m.n_iter(),
        "lower_bound": num(m.lower_bound()),
        "lower_bounds": nest(m.lower_bounds(), &[m.lower_bounds().len()]),
    })
}

/// The JSON of a k-means model.
pub fn kmeans_json(m: &KMeansModel) -> Value {
    json!({
        "format": FORMAT,
        "version": VERSION,
        "kind": "kmeans",
        "n_clusters": m.n_clusters(),
        "n_features": m.n_features(),
        "centers": nest(m.centers(), &[m.n_clusters(), m.n_features()]),
        "inertia": num(m.inertia()),
        "n_iter": m.n_iter(),
        "converged": m.converged(),
    })
}

/// Refuses to write a model holding NaN or infinity (it could not be read back).
pub fn check_finite(value: &Value) -> Result<()> {
    fn walk(v: &Value, key: &str, ok_null: bool) -> Result<()> {
        match v {
            Value::Null if !ok_null => {
                bail!("the fitted {key:?} holds NaN or infinity; refusing to write the model")
            }
            Value::Array(a) => a.iter().try_for_each(|x| walk(x, key, false)),
            _ => Ok(()),
        }
    }
    if let Some(obj) = value.as_object() {
        for (key, v) in obj {
            // A lower bound of -inf (initialisation only) is written as null on purpose.
            walk(v, key, key == "lower_bound" || key == "inertia")?;
        }
    }
    Ok(())
}

/// Reads a model file's text: only from a regular file (a device, a FIFO or an endless
/// stream is refused before any read) of at most [`MAX_MODEL_BYTES`](crate::limits::MAX_MODEL_BYTES).
fn read_text(path: &Path) -> Result<String> {
    use std::io::Read;
    let limit = crate::limits::MAX_MODEL_BYTES;
    let cannot = |why: String| anyhow!("cannot read model file {}: {why}", path.display());
    let not_regular = || {
        cannot(
            "it is not a regular file (a device, a FIFO or a stream); model files are read only from regular files"
                .into(),
        )
    };
    let check = |m: &std::fs::Metadata| -> Result<()> {
        if m.is_dir() {
            return Err(cannot("it is a directory".into()));
        }
        if !m.is_file() {
            return Err(not_regular());
        }
        if m.len() > limit {
            return Err(cannot(format!(
                "it is {} long, more than the limit of {} for a model file",
                crate::limits::human(m.len() as f64),
                crate::limits::human(limit as f64)
            )));
        }
        Ok(())
    };
    // Checked before opening (opening a FIFO would wait for a writer), and again on the open
    // file, which is opened without blocking in case the path changed in between.
    check(&std::fs::metadata(path).map_err(|e| cannot(e.to_string()))?)?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path).map_err(|e| cannot(e.to_string()))?;
    check(&file.metadata().map_err(|e| cannot(e.to_string()))?)?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| cannot(e.to_string()))?;
    if bytes.len() as u64 > limit {
        return Err(cannot(format!(
            "it grew past the limit of {} while being read",
            crate::limits::human(limit as f64)
        )));
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow!(
            "invalid model file {}: not valid JSON (not UTF-8 text at byte {})",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// Reads and validates a model file; every command reads model files through this.
pub fn read(path: &Path) -> Result<Model> {
    let text = read_text(path)?;
    parse(&text).with_context(|| format!("invalid model file {}", path.display()))
}

/// Reads a model file that must hold a Gaussian mixture.
pub fn read_gmm(path: &Path) -> Result<GaussianMixtureModel> {
    match read(path)? {
        Model::Gmm(m) => Ok(m),
        Model::KMeans(_) => bail!(
            "{} holds a k-means model; this command needs a Gaussian mixture (write one with `gaussmix fit -o`)",
            path.display()
        ),
    }
}

/// Parses and validates the text of a model file.
pub fn parse(text: &str) -> Result<Model> {
    let v: Value = serde_json::from_str(text).map_err(|e| anyhow!("not valid JSON ({e})"))?;
    let obj = v
        .as_object()
        .ok_or_else(|| anyhow!("expected a JSON object"))?;
    match obj.get("format").and_then(Value::as_str) {
        Some(FORMAT) => {}
        Some(other) => bail!("\"format\" is {other:?}, expected {FORMAT:?}"),
        None => bail!("missing \"format\": {FORMAT:?} (not a gaussmix model file?)"),
    }
    match obj.get("version").and_then(Value::as_u64) {
        Some(VERSION) => {}
        Some(other) => bail!("unsupported version {other} (this gaussmix reads version {VERSION})"),
        None => bail!("missing or invalid \"version\""),
    }
    match obj.get("kind").and_then(Value::as_str) {
        Some("gaussian_mixture") => parse_gmm(&v).map(Model::Gmm),
        Some("kmeans") => parse_kmeans(&v).map(Model::KMeans),
        Some(other) => {
            bail!("unknown \"kind\" {other:?} (expected \"gaussian_mixture\" or \"kmeans\")")
        }
        None => bail!("missing \"kind\""),
    }
}

fn count(v: &Value, key: &str) -> Result<usize> {
    let n = v
        .get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| anyhow!("missing or invalid {key:?} (a positive integer)"))?;
    if n == 0 {
        bail!("{key:?} must be at least 1");
    }
    usize::try_from(n).map_err(|_| anyhow!("{key:?} is too large"))
}

/// Flattens a nested JSON array, checking it has exactly `shape`.
fn array(v: &Value, key: &str, shape: &[usize]) -> Result<Vec<f64>> {
    let a = v.get(key).ok_or_else(|| anyhow!("missing {key:?}"))?;
    // Grown as the values are read: the counts in the file (which may claim anything) are not
    // trusted with an allocation before the array is seen to hold that many values.
    let mut out = Vec::new();
    fn walk(a: &Value, shape: &[usize], key: &str, out: &mut Vec<f64>) -> Result<()> {
        match shape {
            [] => {
                let x = a
                    .as_f64()
                    .ok_or_else(|| anyhow!("{key:?} holds {a}, which is not a finite number"))?;
                out.push(x);
            }
            [n, rest @ ..] => {
                let items = a.as_array().ok_or_else(|| {
                    anyhow!("{key:?} has the wrong shape: expected an array of {n}")
                })?;
                if items.len() != *n {
                    bail!(
                        "{key:?} has the wrong shape: expected {n} entries, found {}",
                        items.len()
                    );
                }
                for it in items {
                    walk(it, rest, key, out)?;
                }
            }
        }
        Ok(())
    }
    walk(a, shape, key, &mut out)?;
    Ok(out)
}

fn float(v: &Value, key: &str) -> Result<f64> {
    match v.get(key) {
        Some(Value::Null) => Ok(f64::NEG_INFINITY),
        Some(x) => x.as_f64().ok_or_else(|| anyhow!("{key:?} is not a number")),
        None => bail!("missing {key:?}"),
    }
}

fn parse_gmm(v: &Value) -> Result<GaussianMixtureModel> {
    let t: CovarianceType = v
        .get("covariance_type")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("missing \"covariance_type\""))?
        .parse()
        .map_err(|_| {
            anyhow!(
                "\"covariance_type\" must be one of \"full\", \"tied\", \"diag\", \"spherical\""
            )
        })?;
    let k = count(v, "n_components")?;
    let d = count(v, "n_features")?;
    let weights = array(v, "weights", &[k])?;
    let total: f64 = weights.iter().sum();
    if (total - 1.0).abs() > 1e-6 {
        bail!("\"weights\": the weights sum to {total}, not 1");
    }
    let means = array(v, "means", &[k, d])?;
    let shape = t.covariances_shape(k, d);
    let model = if v.get("covariances").is_some() {
        let cov = array(v, "covariances", &shape)?;
        GaussianMixtureModel::from_covariances(t, k, d, weights, means, cov)?
    } else {
        let pc = array(v, "precisions_cholesky", &shape)
            .context("the file needs \"covariances\" or \"precisions_cholesky\"")?;
        GaussianMixtureModel::from_precisions_cholesky(t, k, d, weights, means, pc)?
    };
    let converged = v.get("converged").and_then(Value::as_bool).unwrap_or(false);
    let n_iter = v.get("n_iter").and_then(Value::as_u64).unwrap_or(0) as usize;
    let lower_bound = if v.get("lower_bound").is_some() {
        float(v, "lower_bound")?
    } else {
        f64::NEG_INFINITY
    };
    let lower_bounds = match v.get("lower_bounds").and_then(Value::as_array) {
        Some(a) => a
            .iter()
            .map(|x| {
                x.as_f64()
                    .ok_or_else(|| anyhow!("\"lower_bounds\" holds {x}, which is not a number"))
            })
            .collect::<Result<Vec<_>>>()?,
        None => Vec::new(),
    };
    Ok(model.with_fit_info(converged, n_iter, lower_bound, lower_bounds))
}

fn parse_kmeans(v: &Value) -> Result<KMeansModel> {
    let k = count(v, "n_clusters")?;
    let d = count(v, "n_features")?;
    let centers = array(v, "centers", &[k, d])?;
    let inertia = v.get("inertia").and_then(Value::as_f64).unwrap_or(f64::NAN);
    let n_iter = v.get("n_iter").and_then(Value::as_u64).unwrap_or(0) as usize;
    let converged = v.get("converged").and_then(Value::as_bool).unwrap_or(false);
    Ok(KMeansModel::from_centers(centers, k, d)?.with_fit_info(inertia, n_iter, converged))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> GaussianMixtureModel {
        GaussianMixtureModel::from_covariances(
            CovarianceType::Full,
            2,
            2,
            vec![0.1 + 0.2, 1.0 - (0.1 + 0.2)],
            vec![1.0 / 3.0, -2.5e-300, 1e300, std::f64::consts::PI],
            vec![2.0, 0.3, 0.3, 1.0 / 7.0, 1.0, 0.0, 0.0, 1.0],
        )
        .unwrap()
        .with_fit_info(
            true,
            7,
            -1.234_567_890_123_456_7,
            vec![-3.0, -1.234_567_890_123_456_7],
        )
    }

    #[test]
    fn floats_round_trip_exactly() {
        let m = model();
        let text = serde_json::to_string(&gmm_json(&m)).unwrap();
        let Model::Gmm(back) = parse(&text).unwrap() else {
            panic!("kind")
        };
        assert_eq!(back.weights(), m.weights());
        assert_eq!(back.means(), m.means());
        assert_eq!(back.covariances(), m.covariances());
        assert_eq!(back.lower_bound(), m.lower_bound());
        assert_eq!(back.lower_bounds(), m.lower_bounds());
        assert!(back.converged() && back.n_iter() == 7);
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let good = gmm_json(&model());
        let mut cases = Vec::new();
        let mut v = good.clone();
        v["format"] = json!("something-else");
        cases.push((v, "format"));
        let mut v = good.clone();
        v["weights"] = json!([0.5, 0.6]);
        cases.push((v, "sum to"));
        let mut v = good.clone();
        v["covariances"] = json!([[[1.0, 2.0], [2.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]]);
        cases.push((v, "not positive definite"));
        let mut v = good.clone();
        v["means"] = json!([[1.0, 2.0]]);
        cases.push((v, "wrong shape"));
        let mut v = good.clone();
        v["version"] = json!(9);
        cases.push((v, "version"));
        for (v, needle) in cases {
            let e = format!("{:#}", parse(&v.to_string()).err().expect("must fail"));
            assert!(e.contains(needle), "{e:?} should mention {needle:?}");
        }
        let truncated = &good.to_string()[..40];
        assert!(format!("{:#}", parse(truncated).err().unwrap()).contains("not valid JSON"));
    }

    #[test]
    fn precisions_cholesky_alone_is_enough() {
        let m = model();
        let mut v = gmm_json(&m);
        v.as_object_mut().unwrap().remove("covariances");
        let Model::Gmm(back) = parse(&v.to_string()).unwrap() else {
            panic!("kind")
        };
        for (a, b) in back.covariances().iter().zip(m.covariances()) {
            assert!((a - b).abs() < 1e-12);
        }
    }
}
