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
//! {"format": "gaussmix-model", "version": 1, "kind": "bayesian_gaussian_mixture",
//!  ... every field of a gaussian_mixture file ...,
//!  "weight_concentration_prior_type": "dirichlet_process" | "dirichlet_distribution",
//!  "weight_concentration": process [[K], [K]] | distribution [K],
//!  "mean_precision": [K], "degrees_of_freedom": [K] (tied: a number),
//!  "weight_concentration_prior": float, "mean_precision_prior": float,
//!  "mean_prior": [d], "degrees_of_freedom_prior": float,
//!  "covariance_prior": full, tied [d][d] | diag [d] | spherical a number}
//! {"format": "gaussmix-model", "version": 1, "kind": "kmeans", "n_clusters": K, "n_features": d,
//!  "centers": [K][d], "inertia": float, "n_iter": int, "converged": bool,
//!  "precision": "auto" | "f64"}
//! ```
//!
//! When a file gives both `covariances` and `precisions_cholesky`, they must agree: the factors
//! computed from the covariances may differ from the given ones by at most 1e-6 of each
//! component's largest entry (the rule `gaussmix.load_model` applies too). A Bayesian file's
//! weights must be those its concentrations give (to 1e-9).
//!
//! Floats are written in their shortest round-tripping form and read back exactly. A lower
//! bound of `-inf` (a model that was only initialised) is written as `null`.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use gaussmix_core::{
    BayesianGaussianMixtureModel, BayesianParts, CovarianceType, GaussianMixtureModel, KMeansModel,
    Precision, WeightConcentration, WeightConcentrationPriorType,
};
use serde_json::{Value, json};

/// The `format` tag of every model file.
pub const FORMAT: &str = "gaussmix-model";
/// The current version.
pub const VERSION: u64 = 1;

/// A model read from a file.
pub enum Model {
    /// A Gaussian mixture.
    Gmm(GaussianMixtureModel),
    /// A variational Bayesian Gaussian mixture.
    Bgmm(BayesianGaussianMixtureModel),
    /// k-means centres.
    KMeans(KMeansModel),
}

impl Model {
    /// The Gaussian mixture a model is (a Bayesian one's Gaussian view, which predicts and
    /// scores with the variational E-step), or `None` for k-means.
    pub fn mixture(&self) -> Option<&GaussianMixtureModel> {
        match self {
            Model::Gmm(m) => Some(m),
            Model::Bgmm(m) => Some(m.mixture()),
            Model::KMeans(_) => None,
        }
    }

    /// Number of features the model expects.
    pub fn n_features(&self) -> usize {
        match self {
            Model::KMeans(m) => m.n_features(),
            _ => self.mixture().expect("a mixture").n_features(),
        }
    }

    /// Number of components (or clusters).
    pub fn n_components(&self) -> usize {
        match self {
            Model::KMeans(m) => m.n_clusters(),
            _ => self.mixture().expect("a mixture").n_components(),
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

/// The JSON of a variational Bayesian mixture: a Gaussian mixture's fields and the posterior
/// and priors, under scikit-learn's names without the trailing underscore.
pub fn bgmm_json(m: &BayesianGaussianMixtureModel) -> Value {
    let p = m.to_parts();
    let (k, d, t) = (p.n_components, p.n_features, p.covariance_type);
    let mut v = gmm_json(m.mixture());
    let tied = t == CovarianceType::Tied;
    let wc = match &p.weight_concentration {
        WeightConcentration::DirichletProcess { alpha, beta } => {
            json!([nest(alpha, &[k]), nest(beta, &[k])])
        }
        WeightConcentration::DirichletDistribution(a) => nest(a, &[k]),
    };
    let prior_shape: &[usize] = match t {
        CovarianceType::Full | CovarianceType::Tied => &[d, d],
        CovarianceType::Diag => &[d],
        CovarianceType::Spherical => &[],
    };
    let extra = json!({
        "kind": "bayesian_gaussian_mixture",
        "weight_concentration_prior_type": m.weight_concentration_prior_type().as_str(),
        "weight_concentration": wc,
        "mean_precision": nest(&p.mean_precision, &[k]),
        "degrees_of_freedom": if tied { num(p.degrees_of_freedom[0]) } else { nest(&p.degrees_of_freedom, &[k]) },
        "weight_concentration_prior": num(p.weight_concentration_prior),
        "mean_precision_prior": num(p.mean_precision_prior),
        "mean_prior": nest(&p.mean_prior, &[d]),
        "degrees_of_freedom_prior": num(p.degrees_of_freedom_prior),
        "covariance_prior": nest(&p.covariance_prior, prior_shape),
    });
    for (key, value) in extra.as_object().expect("an object") {
        v[key] = value.clone();
    }
    v
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
        "precision": m.precision().name(),
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

/// Reads a model file that must hold a Gaussian mixture (plain or Bayesian).
pub fn read_mixture(path: &Path) -> Result<Model> {
    let m = read(path)?;
    if m.mixture().is_none() {
        bail!(
            "{} holds a k-means model; this command needs a Gaussian mixture (write one with `gaussmix fit -o`)",
            path.display()
        );
    }
    Ok(m)
}

/// Reads a model file that must hold a plain Gaussian mixture.
pub fn read_gmm(path: &Path) -> Result<GaussianMixtureModel> {
    match read_mixture(path)? {
        Model::Gmm(m) => Ok(m),
        _ => bail!(
            "{} holds a Bayesian Gaussian mixture; this needs a plain one (fitted without --bayesian)",
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
        Some("bayesian_gaussian_mixture") => parse_bgmm(&v).map(Model::Bgmm),
        Some("kmeans") => parse_kmeans(&v).map(Model::KMeans),
        Some(other) => bail!(
            "unknown \"kind\" {other:?} (expected \"gaussian_mixture\", \"bayesian_gaussian_mixture\" or \"kmeans\")"
        ),
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

fn covariance_type(v: &Value) -> Result<CovarianceType> {
    v.get("covariance_type")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("missing \"covariance_type\""))?
        .parse()
        .map_err(|_| {
            anyhow!(
                "\"covariance_type\" must be one of \"full\", \"tied\", \"diag\", \"spherical\""
            )
        })
}

/// The fit information: `converged` (true or false), `n_iter` (an integer from 0),
/// `lower_bound` (a number or null for -inf), `lower_bounds` (numbers); each optional.
fn fit_info(v: &Value) -> Result<(bool, usize, f64, Vec<f64>)> {
    let converged = match v.get("converged") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(x) => bail!("\"converged\" is {x}, not true or false"),
    };
    let n_iter = match v.get("n_iter") {
        None => 0,
        Some(x) => x
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| anyhow!("\"n_iter\" is {x}, not a whole number from 0"))?,
    };
    let lower_bound = if v.get("lower_bound").is_some() {
        float(v, "lower_bound")?
    } else {
        f64::NEG_INFINITY
    };
    let lower_bounds = match v.get("lower_bounds") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| {
                x.as_f64()
                    .ok_or_else(|| anyhow!("\"lower_bounds\" holds {x}, which is not a number"))
            })
            .collect::<Result<Vec<_>>>()?,
        Some(x) => bail!("\"lower_bounds\" is {x}, not a list of numbers"),
    };
    Ok((converged, n_iter, lower_bound, lower_bounds))
}

/// Refuses given precision Cholesky factors that contradict the covariances (whose factors
/// `model` holds): more than 1e-6 of a component's largest entry apart.
fn check_agreement(model: &GaussianMixtureModel, given: &[f64]) -> Result<()> {
    let k = model.n_components();
    let per = given.len()
        / if model.covariance_type() == CovarianceType::Tied {
            1
        } else {
            k
        };
    for (c, (a, b)) in model
        .precisions_cholesky()
        .chunks(per)
        .zip(given.chunks(per))
        .enumerate()
    {
        let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let diff = a
            .iter()
            .zip(b)
            .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
        if diff > 1e-6 * scale {
            bail!(
                "\"precisions_cholesky\" contradicts \"covariances\" for component {c} (entries differ by {diff:.3e}, more than 1e-6 of the largest): remove one of the two, or make them agree"
            );
        }
    }
    Ok(())
}

/// The Gaussian parameters of a mixture file.
fn gaussian_part(v: &Value, t: CovarianceType, k: usize, d: usize) -> Result<GaussianMixtureModel> {
    let weights = array(v, "weights", &[k])?;
    let total: f64 = weights.iter().sum();
    if (total - 1.0).abs() > 1e-6 {
        bail!("\"weights\": the weights sum to {total}, not 1");
    }
    let means = array(v, "means", &[k, d])?;
    let shape = t.covariances_shape(k, d);
    if v.get("covariances").is_some() {
        let cov = array(v, "covariances", &shape)?;
        let model = GaussianMixtureModel::from_covariances(t, k, d, weights, means, cov)?;
        if v.get("precisions_cholesky").is_some() {
            check_agreement(&model, &array(v, "precisions_cholesky", &shape)?)?;
        }
        Ok(model)
    } else {
        let pc = array(v, "precisions_cholesky", &shape)
            .context("the file needs \"covariances\" or \"precisions_cholesky\"")?;
        Ok(GaussianMixtureModel::from_precisions_cholesky(
            t, k, d, weights, means, pc,
        )?)
    }
}

fn parse_gmm(v: &Value) -> Result<GaussianMixtureModel> {
    let t = covariance_type(v)?;
    let (k, d) = (count(v, "n_components")?, count(v, "n_features")?);
    let model = gaussian_part(v, t, k, d)?;
    let (converged, n_iter, lower_bound, lower_bounds) = fit_info(v)?;
    Ok(model.with_fit_info(converged, n_iter, lower_bound, lower_bounds))
}

fn parse_bgmm(v: &Value) -> Result<BayesianGaussianMixtureModel> {
    let t = covariance_type(v)?;
    let (k, d) = (count(v, "n_components")?, count(v, "n_features")?);
    // The Gaussian part is validated as in any mixture file (weights, agreement).
    let gauss = gaussian_part(v, t, k, d)?;
    let prior_type: WeightConcentrationPriorType = v
        .get("weight_concentration_prior_type")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("missing \"weight_concentration_prior_type\""))?
        .parse()
        .map_err(|_| {
            anyhow!("\"weight_concentration_prior_type\" must be \"dirichlet_process\" or \"dirichlet_distribution\"")
        })?;
    let weight_concentration = match prior_type {
        WeightConcentrationPriorType::DirichletProcess => {
            let both = array(v, "weight_concentration", &[2, k])?;
            WeightConcentration::DirichletProcess {
                alpha: both[..k].to_vec(),
                beta: both[k..].to_vec(),
            }
        }
        WeightConcentrationPriorType::DirichletDistribution => {
            WeightConcentration::DirichletDistribution(array(v, "weight_concentration", &[k])?)
        }
    };
    let tied = t == CovarianceType::Tied;
    let prior_shape: &[usize] = match t {
        CovarianceType::Full | CovarianceType::Tied => &[d, d],
        CovarianceType::Diag => &[d],
        CovarianceType::Spherical => &[],
    };
    let (converged, n_iter, lower_bound, lower_bounds) = fit_info(v)?;
    let parts = BayesianParts {
        covariance_type: t,
        n_components: k,
        n_features: d,
        weight_concentration,
        mean_precision: array(v, "mean_precision", &[k])?,
        means: gauss.means().to_vec(),
        degrees_of_freedom: if tied {
            array(v, "degrees_of_freedom", &[])?
        } else {
            array(v, "degrees_of_freedom", &[k])?
        },
        covariances: gauss.covariances().to_vec(),
        weight_concentration_prior: array(v, "weight_concentration_prior", &[])?[0],
        mean_precision_prior: array(v, "mean_precision_prior", &[])?[0],
        mean_prior: array(v, "mean_prior", &[d])?,
        degrees_of_freedom_prior: array(v, "degrees_of_freedom_prior", &[])?[0],
        covariance_prior: array(v, "covariance_prior", prior_shape)?,
        converged,
        n_iter,
        lower_bound,
        lower_bounds,
    };
    let model = BayesianGaussianMixtureModel::from_parts(parts)?;
    let diff = model
        .weights()
        .iter()
        .zip(gauss.weights())
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    if diff > 1e-9 {
        bail!(
            "\"weights\" are not those \"weight_concentration\" gives (they differ by {diff:.3e}): fix one or the other"
        );
    }
    Ok(model)
}

fn parse_kmeans(v: &Value) -> Result<KMeansModel> {
    let k = count(v, "n_clusters")?;
    let d = count(v, "n_features")?;
    let centers = array(v, "centers", &[k, d])?;
    let inertia = v.get("inertia").and_then(Value::as_f64).unwrap_or(f64::NAN);
    let n_iter = v.get("n_iter").and_then(Value::as_u64).unwrap_or(0) as usize;
    let converged = v.get("converged").and_then(Value::as_bool).unwrap_or(false);
    // The arithmetic predictions label with: the fit's. Files written before float32
    // arithmetic existed were fitted in float64.
    let precision = match v.get("precision") {
        None => Precision::F64,
        Some(p) => p
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| anyhow!("\"precision\" must be \"auto\" or \"f64\", got {p}"))?,
    };
    Ok(KMeansModel::from_centers(centers, k, d)?
        .with_fit_info(inertia, n_iter, converged)
        .with_precision(precision))
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
