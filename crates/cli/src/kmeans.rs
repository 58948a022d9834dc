//! `gaussmix kmeans`.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use gaussmix_core::{KMeans, KMeansInit};
use serde_json::json;

use crate::args::{KmInit, KmeansArgs};
use crate::fit::Split;
use crate::input::load_weighted;
use crate::output::{Kind, Out, Outputs, check_outputs};
use crate::{UsageError, limits, modelfile, with_data};

/// Runs `gaussmix kmeans`.
pub fn kmeans(a: &KmeansArgs) -> Result<()> {
    check_outputs(
        &[
            Out::new("-o", a.output.as_deref(), Kind::Model),
            Out::new("--labels", a.labels.as_deref(), Kind::Npy),
            Out::new("--plot", a.plot.as_deref(), Kind::Figure),
        ],
        &[
            a.input.as_deref(),
            a.init_centers.as_deref(),
            a.weights.sample_weight.as_deref(),
        ],
    )?;
    let k = match (a.k, &a.input) {
        (Some(k), _) => k,
        (None, None) => 4,
        (None, Some(_)) => {
            return Err(UsageError(
                "-k N (the number of clusters) is required with an input file".into(),
            )
            .into());
        }
    };
    let loading = Instant::now();
    let input = load_weighted(
        a.input.as_deref(),
        a.input_args.dim,
        a.quiet || a.json,
        a.weights.sample_weight.as_deref(),
    )?;
    let seconds_load = loading.elapsed().as_secs_f64();
    let (n, d) = (input.ds().n_samples(), input.ds().n_features());
    // Centres, per-thread sums and the best centres so far (k·d each), labels and distances.
    limits::check_memory(
        8.0 * (8.0 * k as f64 * d as f64 + 3.0 * n as f64),
        || format!("k-means with -k {k} on {} ({n} × {d})", input.name()),
        "centres and per-thread sums of k·d numbers, labels and distances per row",
        "use fewer clusters (-k) or fewer features",
    )?;
    if a.plot.is_some() {
        crate::plot::check_dims(a.dims, d)?;
    }
    let init = match (&a.init_centers, a.init) {
        (Some(path), _) => {
            let (c, shape) = gaussmix_io::read_npy_f64(path)?;
            if shape != [k, d] {
                bail!(
                    "{} holds an array of shape {shape:?}, but {k} centres of {d} features ({k}, {d}) are needed",
                    path.display()
                );
            }
            if let Some(i) = c.iter().position(|v| !v.is_finite()) {
                bail!(
                    "{} holds {} at row {}, column {}",
                    path.display(),
                    c[i],
                    i / d,
                    i % d
                );
            }
            KMeansInit::Centers(c)
        }
        (None, KmInit::KmeansPlusPlus) => KMeansInit::KMeansPlusPlus,
        (None, KmInit::Random) => KMeansInit::Random,
    };
    if matches!(init, KMeansInit::Centers(_)) && a.n_init != 1 {
        return Err(
            UsageError("--init-centers gives one initialisation: use --n-init 1".into()).into(),
        );
    }
    let km = KMeans::new(k)
        .init(init)
        .n_init(a.n_init)
        .max_iter(a.max_iter)
        .tol(a.tol)
        .seed(a.seed)
        .algorithm(a.algorithm.into())
        .precision(a.precision.into());
    let start = Instant::now();
    let mut split = Split::start();
    let model = with_data!(input, x => km.fit_with(x, Some(&mut split)))
        .with_context(|| format!("k-means on {}", input.name()))?;
    let seconds = start.elapsed().as_secs_f64();
    let (seconds_init, seconds_iter) = split.finish();
    let mut out = Outputs::new();
    if let Some(p) = &a.labels {
        out.labels(p, model.labels())?;
    }
    if let Some(p) = &a.output {
        out.json(p, modelfile::kmeans_json(&model))?;
    }
    if let Some(p) = &a.plot {
        let fig = with_data!(input, x => crate::plot::kmeans_scatter(&model, x, &input.short_name(), a.dims)?);
        out.bytes(p, crate::plot::render_scatter(p, &fig)?);
    }
    out.commit()?;
    if a.json {
        println!(
            "{}",
            json!({"n_iter": model.n_iter(), "converged": model.converged(), "inertia": model.inertia(), "seconds": seconds,
                   "seconds_load": seconds_load, "seconds_init": seconds_init, "seconds_iter": seconds_iter,
                   "distances_computed": model.distances_computed()})
        );
    } else if !a.quiet {
        println!(
            "gaussmix kmeans: {} ({}), {k} clusters",
            input.name(),
            input.shape()
        );
        let status = if model.converged() {
            "converged"
        } else {
            "did not converge"
        };
        let kind = if input.weights.is_some() {
            "weighted inertia"
        } else {
            "inertia"
        };
        println!(
            "{status} after {} iterations in {seconds:.3} s; {kind} {:.6}",
            model.n_iter(),
            model.inertia()
        );
        println!("cluster   size  centre");
        let mut sizes = vec![0usize; k];
        for &l in model.labels() {
            sizes[l] += 1;
        }
        for c in 0..k {
            let centre: Vec<String> = model.centers()[c * d..(c + 1) * d]
                .iter()
                .map(|v| format!("{v:.4}"))
                .collect();
            println!("{c:>7} {:>6}  [{}]", sizes[c], centre.join(", "));
        }
    }
    Ok(())
}
