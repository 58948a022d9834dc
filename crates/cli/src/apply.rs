//! Commands that apply a fitted model: `predict`, `score`, `sample`.

use anyhow::{Result, bail};
use serde_json::json;

use crate::args::{PlotArgs, PredictArgs, SampleArgs, ScoreArgs};
use crate::input::{Input, load};
use crate::modelfile::{self, Model};
use crate::output::{check_outputs, write_f64, write_labels};
use crate::with_data;

fn check_features(
    model_features: usize,
    input: &Input,
    model_path: &std::path::Path,
) -> Result<()> {
    let d = input.ds.n_features();
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
        &[Some(&a.output), a.proba.as_deref()],
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
    match &model {
        Model::Gmm(m) => {
            let labels = with_data!(input, x => m.predict(x)?);
            if let Some(p) = &a.proba {
                let proba = with_data!(input, x => m.predict_proba(x)?);
                write_f64(p, &proba, &[input.ds.n_samples(), m.n_components()])?;
            }
            write_labels(&a.output, &labels)?;
        }
        Model::KMeans(m) => {
            let labels = with_data!(input, x => m.predict(x)?);
            write_labels(&a.output, &labels)?;
        }
    }
    Ok(())
}

/// Runs `gaussmix score`.
pub fn score(a: &ScoreArgs) -> Result<()> {
    check_outputs(
        &[a.per_sample.as_deref()],
        &[Some(&a.model), Some(&a.input)],
    )?;
    let model = modelfile::read_gmm(&a.model)?;
    let input = load(Some(&a.input), a.input_args.dim, a.json)?;
    check_features(model.n_features(), &input, &a.model)?;
    let per = with_data!(input, x => model.score_samples(x)?);
    let n = per.len() as f64;
    let mean = per.iter().sum::<f64>() / n;
    let p = model.n_parameters() as f64;
    let bic = -2.0 * mean * n + p * n.ln();
    let aic = -2.0 * mean * n + 2.0 * p;
    if let Some(path) = &a.per_sample {
        write_f64(path, &per, &[per.len()])?;
    }
    if a.json {
        println!(
            "{}",
            json!({"mean_log_likelihood": mean, "bic": bic, "aic": aic, "n_samples": per.len()})
        );
    } else {
        println!(
            "gaussmix score: {} under {}",
            input.name(),
            a.model.display()
        );
        println!("mean log-likelihood {mean:.6} over {} samples", per.len());
        println!(
            "BIC {bic:.4}  AIC {aic:.4}  ({} free parameters)",
            model.n_parameters()
        );
    }
    Ok(())
}

/// Runs `gaussmix sample`.
pub fn sample(a: &SampleArgs) -> Result<()> {
    check_outputs(&[Some(&a.output), a.labels.as_deref()], &[Some(&a.model)])?;
    let model = modelfile::read_gmm(&a.model)?;
    let (points, labels) = model.sample(a.n, a.seed)?;
    write_f64(&a.output, &points, &[a.n, model.n_features()])?;
    if let Some(p) = &a.labels {
        write_labels(p, &labels)?;
    }
    Ok(())
}

/// Runs `gaussmix plot`.
pub fn plot(a: &PlotArgs) -> Result<()> {
    check_outputs(&[Some(&a.output)], &[Some(&a.model), Some(&a.input)])?;
    crate::plot::Format::from_path(&a.output)?;
    let model = modelfile::read(&a.model)?;
    let input = load(Some(&a.input), a.input_args.dim, false)?;
    check_features(model.n_features(), &input, &a.model)?;
    let name = input.short_name();
    let fig = match &model {
        Model::Gmm(m) => {
            with_data!(input, x => crate::plot::gmm_scatter(m, x, &name, a.figure.dims, a.figure.proba_size)?)
        }
        Model::KMeans(m) => {
            if a.figure.proba_size {
                bail!(
                    "{} holds a k-means model, which has no probabilities: drop --proba-size",
                    a.model.display()
                );
            }
            with_data!(input, x => crate::plot::kmeans_scatter(m, x, &name, a.figure.dims)?)
        }
    };
    crate::plot::draw_scatter(&a.output, &fig)
}
