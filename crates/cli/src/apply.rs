//! Commands that apply a fitted model: `predict`, `score`, `sample`.

use anyhow::{Context, Result, bail};
use serde_json::json;

use crate::args::{PlotArgs, PredictArgs, SampleArgs, ScoreArgs};
use crate::input::{Input, load, load_weighted};
use crate::modelfile::{self, Model};
use crate::output::{Kind, Out, Outputs, check_outputs};
use crate::{limits, with_data};

fn check_features(
    model_features: usize,
    input: &Input,
    model_path: &std::path::Path,
) -> Result<()> {
    let d = input.ds().n_features();
    if d != model_features {
        bail!(
            "{} has {d} features but the model {} was fitted on {model_features}",
            input.name(),
            model_path.display()
        );
    }
    Ok(())
}

/// Runs `gaussmix predict`.
pub fn predict(a: &PredictArgs) -> Result<()> {
    check_outputs(
        &[
            Out::new("-o", Some(&a.output), Kind::Npy),
            Out::new("--proba", a.proba.as_deref(), Kind::Npy),
        ],
        &[Some(&a.model), Some(&a.input)],
    )?;
    let model = modelfile::read(&a.model)?;
    if a.proba.is_some() && matches!(model, Model::KMeans(_)) {
        bail!(
            "{} holds a k-means model, which has no membership probabilities: drop --proba",
            a.model.display()
        );
    }
    let input = load(Some(&a.input), a.input_args.dim, false)?;
    check_features(model.n_features(), &input, &a.model)?;
    let (n, k) = (input.ds().n_samples(), model.n_components());
    let per_row = 1.0 + if a.proba.is_some() { k as f64 } else { 0.0 };
    limits::check_memory(
        8.0 * n as f64 * (per_row + k as f64),
        || format!("labelling the {n} rows of {}", input.name()),
        "labels and membership probabilities",
        "split the data into smaller files",
    )?;
    let (labels, proba) = match (&model, model.mixture()) {
        (_, Some(m)) => {
            let labels = with_data!(input, x => m.predict(x)?);
            let proba = match &a.proba {
                Some(_) => Some(with_data!(input, x => m.predict_proba(x)?)),
                None => None,
            };
            (labels, proba)
        }
        (Model::KMeans(m), None) => (with_data!(input, x => m.predict(x)?), None),
        _ => unreachable!("a model is a mixture or k-means"),
    };
    let mut out = Outputs::new();
    if let (Some(p), Some(v)) = (&a.proba, &proba) {
        out.f64(p, v, &[n, k])?;
    }
    out.labels(&a.output, &labels)?;
    out.commit()
}

/// Runs `gaussmix score`.
pub fn score(a: &ScoreArgs) -> Result<()> {
    check_outputs(
        &[Out::new("--per-sample", a.per_sample.as_deref(), Kind::Npy)],
        &[
            Some(&a.model),
            Some(&a.input),
            a.weights.sample_weight.as_deref(),
        ],
    )?;
    let file = modelfile::read_mixture(&a.model)?;
    let model = file.mixture().expect("a mixture");
    // scikit-learn's BayesianGaussianMixture has no BIC or AIC.
    let bayesian = matches!(file, Model::Bgmm(_));
    let input = load_weighted(
        Some(&a.input),
        a.input_args.dim,
        a.json,
        a.weights.sample_weight.as_deref(),
    )?;
    check_features(model.n_features(), &input, &a.model)?;
    let (per, mean, bic, aic) = with_data!(input, x => {
        let per = model.score_samples(x)?;
        let mean = model.score(x)?;
        let (bic, aic) = if bayesian { (None, None) } else { (Some(model.bic(x)?), Some(model.aic(x)?)) };
        (per, mean, bic, aic)
    });
    if let Some(path) = &a.per_sample {
        let mut out = Outputs::new();
        out.f64(path, &per, &[per.len()])?;
        out.commit()?;
    }
    let weighted = input.weights.is_some();
    if a.json {
        println!(
            "{}",
            json!({"mean_log_likelihood": mean, "bic": bic, "aic": aic, "n_samples": per.len(),
                   "weighted": weighted})
        );
    } else {
        println!(
            "gaussmix score: {} under {}",
            input.name(),
            a.model.display()
        );
        let mean_kind = if weighted { "weighted mean" } else { "mean" };
        println!(
            "{mean_kind} log-likelihood {mean:.6} over {} samples",
            per.len()
        );
        match (bic, aic) {
            (Some(bic), Some(aic)) => println!(
                "BIC {bic:.4}  AIC {aic:.4}  ({} free parameters)",
                model.n_parameters()
            ),
            _ => println!("(a Bayesian mixture: no BIC or AIC, as in scikit-learn)"),
        }
    }
    Ok(())
}

/// Runs `gaussmix sample`.
pub fn sample(a: &SampleArgs) -> Result<()> {
    check_outputs(
        &[
            Out::new("-o", Some(&a.output), Kind::Npy),
            Out::new("--labels", a.labels.as_deref(), Kind::Npy),
        ],
        &[Some(&a.model)],
    )?;
    let file = modelfile::read_mixture(&a.model)?;
    let model = file.mixture().expect("a mixture");
    let (n, d) = (a.n, model.n_features());
    // The points (n × d), their components, and the engine's per-point work.
    limits::check_memory(
        8.0 * n as f64 * (d as f64 + 2.0),
        || {
            format!(
                "sample -n {n} ({n} points of {d} features from {})",
                a.model.display()
            )
        },
        "the points, their components and the engine's work per point",
        "draw fewer points per run (several runs with different --seed values draw more)",
    )?;
    let (points, labels) = model.sample(n, a.seed).map_err(|e| match e {
        gaussmix_core::Error::InvalidModel(why) => anyhow::anyhow!(
            "cannot sample from {}: {why}, so no point can be drawn from it (predict and score use the precisions and can still use this model; refit it or give its covariances)",
            a.model.display()
        ),
        e => anyhow::Error::new(e).context(format!("sampling from {}", a.model.display())),
    })?;
    let mut out = Outputs::new();
    out.f64(&a.output, &points, &[n, d])?;
    if let Some(p) = &a.labels {
        out.labels(p, &labels)?;
    }
    out.commit()
}

/// Runs `gaussmix plot`.
pub fn plot(a: &PlotArgs) -> Result<()> {
    check_outputs(
        &[Out::new("-o", Some(&a.output), Kind::Figure)],
        &[Some(&a.model), Some(&a.input)],
    )?;
    let model = modelfile::read(&a.model)?;
    let input = load(Some(&a.input), a.input_args.dim, false)?;
    check_features(model.n_features(), &input, &a.model)?;
    let name = input.short_name();
    let fig = match (&model, model.mixture()) {
        (_, Some(m)) => {
            with_data!(input, x => crate::plot::gmm_scatter(m, x, &name, a.figure.dims, a.figure.proba_size)?)
        }
        (Model::KMeans(m), None) => {
            if a.figure.proba_size {
                bail!(
                    "{} holds a k-means model, which has no probabilities: drop --proba-size",
                    a.model.display()
                );
            }
            with_data!(input, x => crate::plot::kmeans_scatter(m, x, &name, a.figure.dims)?)
        }
        _ => unreachable!("a model is a mixture or k-means"),
    };
    let bytes = crate::plot::render_scatter(&a.output, &fig)
        .with_context(|| format!("drawing over {}", input.name()))?;
    let mut out = Outputs::new();
    out.bytes(&a.output, bytes);
    out.commit()
}
