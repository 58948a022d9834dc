//! `gaussmix fit` and `gaussmix select`.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use gaussmix_core::{
    BayesianGaussianMixture, CovarianceType, GaussianMixture, GaussianMixtureModel, Monitor, Phase,
    Progress,
};
use serde_json::json;

use crate::args::{Covariance, Degenerate, FitArgs, SelectArgs, SelectCovariance};
use crate::input::{Input, load_weighted};
use crate::modelfile::Model;
use crate::output::{Kind, Out, Outputs, check_outputs};
use crate::{UsageError, limits, modelfile, with_data};

/// A progress bar on stderr, shown only when stderr is a terminal.
pub struct Bar(Option<indicatif::ProgressBar>);

impl Bar {
    /// A bar for up to `len` iterations, or none.
    pub fn new(show: bool, len: u64) -> Self {
        if !show || !std::io::stderr().is_terminal() || len == 0 {
            return Bar(None);
        }
        let bar = indicatif::ProgressBar::new(len);
        let style = indicatif::ProgressStyle::with_template(
            "{prefix} [{bar:30}] iteration {pos}/{len}  {msg}  {per_sec}",
        )
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        bar.set_style(style);
        Bar(Some(bar))
    }

    /// Reports one EM iteration.
    pub fn update(&self, p: &Progress) {
        if let Some(b) = &self.0 {
            b.set_prefix(format!("init {}", p.init + 1));
            b.set_position(p.iteration as u64);
            b.set_message(format!(
                "lower bound {:.6}  change {:+.3e}",
                p.lower_bound, p.change
            ));
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

/// A fit's time split by [`Phase`]: set-up and initialisations, then iterations (with the passes
/// that finish them), for `--json`'s `seconds_init` and `seconds_iter`.
pub struct Split {
    last: Instant,
    iterating: bool,
    init: f64,
    iter: f64,
}

impl Split {
    /// Starts the clock: what comes before the first phase counts as initialisation.
    pub fn start() -> Self {
        Split {
            last: Instant::now(),
            iterating: false,
            init: 0.0,
            iter: 0.0,
        }
    }

    fn mark(&mut self) {
        let now = Instant::now();
        let dt = (now - self.last).as_secs_f64();
        if self.iterating {
            self.iter += dt;
        } else {
            self.init += dt;
        }
        self.last = now;
    }

    /// Stops the clock: `(seconds_init, seconds_iter)`.
    pub fn finish(mut self) -> (f64, f64) {
        self.mark();
        (self.init, self.iter)
    }
}

impl Monitor for Split {
    fn phase(&mut self, phase: Phase) {
        self.mark();
        self.iterating = matches!(phase, Phase::Iterating { .. });
    }
}

/// The progress bar and the time split of a mixture fit.
struct FitMonitor<'b> {
    bar: &'b Bar,
    split: Split,
}

impl Monitor for FitMonitor<'_> {
    fn progress(&mut self, p: &Progress) {
        self.bar.update(p);
    }
    fn phase(&mut self, phase: Phase) {
        self.split.phase(phase);
    }
}

/// Runs `gaussmix fit`.
pub fn fit(a: &FitArgs) -> Result<()> {
    check_outputs(
        &[
            Out::new("-o", a.output.as_deref(), Kind::Model),
            Out::new("--labels", a.labels.as_deref(), Kind::Npy),
            Out::new("--proba", a.proba.as_deref(), Kind::Npy),
            Out::new("--plot", a.plot.as_deref(), Kind::Figure),
        ],
        &[
            a.input.as_deref(),
            a.init_model.as_deref(),
            a.init_labels.as_deref(),
            a.weights.sample_weight.as_deref(),
            a.priors.mean_prior.as_deref(),
            a.priors.covariance_prior.as_deref(),
        ],
    )?;
    if a.bayesian.is_some() && a.on_degenerate == Degenerate::Reseed {
        return Err(UsageError(
            "--on-degenerate reseed is for plain Gaussian mixtures: a Bayesian one (--bayesian) does not re-seed components"
                .into(),
        )
        .into());
    }
    let loading = Instant::now();
    let input = load_weighted(
        a.input.as_deref(),
        a.input_args.dim,
        a.quiet || a.json,
        a.weights.sample_weight.as_deref(),
    )?;
    let seconds_load = loading.elapsed().as_secs_f64();
    if a.plot.is_some() {
        crate::plot::check_dims(a.figure.dims, input.ds().n_features())?;
    }
    let mut gm = GaussianMixture::new(a.k.unwrap_or(if a.input.is_none() { 4 } else { 1 }))
        .covariance_type(a.covariance.unwrap_or(Covariance::Full).into())
        .init_params(a.init.into())
        .n_init(a.n_init)
        .max_iter(a.max_iter)
        .tol(a.tol)
        .reg_covar(a.reg_covar)
        .seed(a.seed)
        .on_degenerate(a.on_degenerate.into())
        .precision(a.precision.into());
    if let Some(path) = &a.init_model {
        let m = modelfile::read_gmm(path)?;
        init_from_model(&mut gm, &m, a, path)?;
    }
    let (n, d, k) = (
        input.ds().n_samples(),
        input.ds().n_features(),
        gm.n_components,
    );
    if let Some(path) = &a.init_labels {
        gm.init_labels = Some(read_labels(path, n, k)?);
    }
    limits::check_fit(
        gm.covariance_type,
        n,
        d,
        k,
        &format!(
            "fitting {k} component{} to {} ({n} × {d})",
            if k == 1 { "" } else { "s" },
            input.name()
        ),
        "-k",
    )?;
    let bayesian = match a.bayesian {
        Some(prior) => Some(bayesian_estimator(&gm, prior, a, d)?),
        None => None,
    };
    let bar = Bar::new(!a.quiet && !a.json, a.max_iter as u64);
    let start = Instant::now();
    let mut monitor = FitMonitor {
        bar: &bar,
        split: Split::start(),
    };
    let fitted = with_data!(input, x => {
        match &bayesian {
            None => gm.fit_with(x, None, Some(&mut monitor)).map(Model::Gmm),
            Some(b) => b.fit_with(x, None, Some(&mut monitor)).map(Model::Bgmm),
        }
    });
    bar.finish();
    let fitted = fitted
        .map_err(|e| explain(e, a.on_degenerate, "-k"))
        .with_context(|| format!("fitting {}", input.name()))?;
    let seconds = start.elapsed().as_secs_f64();
    let model = fitted.mixture().expect("a mixture");
    let (seconds_init, seconds_iter) = monitor.split.finish();

    // Everything is computed first, then written together (all outputs or none).
    let labels = match &a.labels {
        Some(_) => Some(with_data!(input, x => model.predict(x)?)),
        None => None,
    };
    let proba = match &a.proba {
        Some(_) => Some(with_data!(input, x => model.predict_proba(x)?)),
        None => None,
    };
    let figure = match &a.plot {
        Some(p) => {
            let fig = with_data!(input, x => crate::plot::gmm_scatter(model, x, &input.short_name(), a.figure.dims, a.figure.proba_size)?);
            Some(crate::plot::render_scatter(p, &fig)?)
        }
        None => None,
    };
    let mut out = Outputs::new();
    if let (Some(p), Some(l)) = (&a.labels, &labels) {
        out.labels(p, l)?;
    }
    if let (Some(p), Some(v)) = (&a.proba, &proba) {
        out.f64(p, v, &[n, model.n_components()])?;
    }
    if let Some(p) = &a.output {
        let json = match &fitted {
            Model::Bgmm(b) => modelfile::bgmm_json(b),
            _ => modelfile::gmm_json(model),
        };
        out.json(p, json)?;
    }
    if let (Some(p), Some(bytes)) = (&a.plot, figure) {
        out.bytes(p, bytes);
    }
    out.commit()?;
    let effective = match &fitted {
        Model::Bgmm(b) => Some(b.effective_components(EFFECTIVE_WEIGHT)),
        _ => None,
    };
    if a.json {
        println!(
            "{}",
            json!({
                "n_iter": model.n_iter(),
                "converged": model.converged(),
                "lower_bound": finite_or_null(model.lower_bound()),
                "effective_components": effective,
                "seconds": seconds,
                "seconds_load": seconds_load,
                "seconds_init": seconds_init,
                "seconds_iter": seconds_iter,
            })
        );
    } else if !a.quiet {
        print_summary(model, &input, seconds, effective)?;
    }
    if !a.quiet {
        warn_about(model);
    }
    Ok(())
}

/// A component of a Bayesian mixture counts as kept when its weight is above this.
pub const EFFECTIVE_WEIGHT: f64 = 1e-3;

/// The Bayesian estimator with the settings of `gm` and the prior flags.
fn bayesian_estimator(
    gm: &GaussianMixture,
    prior: crate::args::Bayesian,
    a: &FitArgs,
    d: usize,
) -> Result<BayesianGaussianMixture> {
    let mut b = BayesianGaussianMixture::new(gm.n_components)
        .covariance_type(gm.covariance_type)
        .weight_concentration_prior_type(prior.into())
        .init_params(gm.init_params)
        .n_init(gm.n_init)
        .max_iter(gm.max_iter)
        .tol(gm.tol)
        .reg_covar(gm.reg_covar)
        .seed(gm.seed);
    b.init_labels = gm.init_labels.clone();
    let p = &a.priors;
    b.weight_concentration_prior = p.weight_concentration_prior;
    b.mean_precision_prior = p.mean_precision_prior;
    b.degrees_of_freedom_prior = p.degrees_of_freedom_prior;
    if let Some(path) = &p.mean_prior {
        b.mean_prior = Some(read_prior(path, "--mean-prior", &[d])?);
    }
    if let Some(path) = &p.covariance_prior {
        let shape: &[usize] = match gm.covariance_type {
            CovarianceType::Full | CovarianceType::Tied => &[d, d],
            CovarianceType::Diag => &[d],
            CovarianceType::Spherical => &[],
        };
        b.covariance_prior = Some(read_prior(path, "--covariance-prior", shape)?);
    }
    b.check()
        .and_then(|()| b.check_priors(d))
        .map_err(|e| UsageError(format!("{e}")))?;
    Ok(b)
}

/// A prior array from a `.npy` file of the given shape (a single value may be 0-d or `(1,)`).
fn read_prior(path: &Path, flag: &str, shape: &[usize]) -> Result<Vec<f64>> {
    let (v, found) = gaussmix_io::read_npy_f64(path)
        .with_context(|| format!("reading {flag} {}", path.display()))?;
    let ok = found == shape || (shape.is_empty() && v.len() == 1);
    if !ok {
        anyhow::bail!(
            "{flag} {}: an array of shape {found:?}, but the prior needs shape {shape:?}",
            path.display()
        );
    }
    Ok(v)
}

/// Initial labels from a `.npy` of integers: one per row, each in `[0, k)`.
fn read_labels(path: &Path, n: usize, k: usize) -> Result<Vec<usize>> {
    let v = gaussmix_io::read_npy_i64(path)
        .with_context(|| format!("reading --init-labels {}", path.display()))?;
    if v.len() != n {
        anyhow::bail!(
            "--init-labels {}: {} labels, but the data has {n} rows: give one label per row",
            path.display(),
            v.len()
        );
    }
    v.iter()
        .enumerate()
        .map(|(i, &l)| {
            usize::try_from(l).ok().filter(|&l| l < k).ok_or_else(|| {
                anyhow::anyhow!(
                    "--init-labels {}: row {i} has label {l}, but the {k} components are numbered 0 to {}",
                    path.display(),
                    k - 1
                )
            })
        })
        .collect()
}

/// The engine's error, with what to do on the command line when a covariance cannot be
/// factorised (`k_flag`: how the command names the number of components).
pub fn explain(e: gaussmix_core::Error, on_degenerate: Degenerate, k_flag: &str) -> anyhow::Error {
    let gaussmix_core::Error::IllDefinedCovariance(ill) = &e else {
        return e.into();
    };
    let hint = match (ill.iteration, on_degenerate, ill.component) {
        (0, Degenerate::Reseed, _) => format!(
            "--on-degenerate reseed applies from the first M-step on and does not re-seed a component that collapses at initialisation: try --init k-means++ or --init random-from-data, another --seed, a larger --reg-covar, or fewer components ({k_flag})"
        ),
        (0, Degenerate::Error, _) => format!(
            "on the command line: fewer components ({k_flag}), a larger --reg-covar, or another --init or --seed"
        ),
        (_, Degenerate::Error, Some(_)) => format!(
            "on the command line: fewer components ({k_flag}), a larger --reg-covar, or --on-degenerate reseed to re-seed the component and go on"
        ),
        _ => format!("on the command line: fewer components ({k_flag}) or a larger --reg-covar"),
    };
    anyhow::anyhow!("{e}; {hint}")
}

/// Prints the fit's warnings: re-seeded components and non-convergence.
fn warn_about(model: &GaussianMixtureModel) {
    for r in model.reseeds() {
        eprintln!(
            "warning: component {} collapsed in iteration {} and was re-seeded on row {}",
            r.component, r.iteration, r.row
        );
    }
    if let Some(w) = model.convergence_warning() {
        eprintln!("warning: {w}");
    }
}

fn finite_or_null(v: f64) -> serde_json::Value {
    serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// Uses a model file as `weights_init`, `means_init` and `precisions_init`.
fn init_from_model(
    gm: &mut GaussianMixture,
    m: &GaussianMixtureModel,
    a: &FitArgs,
    path: &Path,
) -> Result<()> {
    if let Some(k) = a.k
        && k != m.n_components()
    {
        return Err(UsageError(format!(
            "-k {k} disagrees with the {} components of --init-model {}",
            m.n_components(),
            path.display()
        ))
        .into());
    }
    if let Some(c) = a.covariance.map(CovarianceType::from)
        && c != m.covariance_type()
    {
        return Err(UsageError(format!(
            "--covariance {c} disagrees with the {} covariances of --init-model {}",
            m.covariance_type(),
            path.display()
        ))
        .into());
    }
    gm.n_components = m.n_components();
    gm.covariance_type = m.covariance_type();
    gm.weights_init = Some(m.weights().to_vec());
    gm.means_init = Some(m.means().to_vec());
    gm.precisions_init = Some(m.precisions());
    Ok(())
}

fn print_summary(
    model: &GaussianMixtureModel,
    input: &Input,
    seconds: f64,
    effective: Option<usize>,
) -> Result<()> {
    let (k, d) = (model.n_components(), model.n_features());
    let weighted = if input.weights.is_some() {
        ", sample weights"
    } else {
        ""
    };
    println!(
        "gaussmix fit: {} ({}{weighted}), {k} components, {} covariances",
        input.name(),
        input.shape(),
        model.covariance_type()
    );
    let status = if model.converged() {
        "converged"
    } else {
        "did not converge"
    };
    match effective {
        None => println!(
            "{status} after {} iterations in {seconds:.3} s; lower bound {:.6} (mean log-likelihood per sample)",
            model.n_iter(),
            model.lower_bound()
        ),
        Some(e) => {
            println!(
                "{status} after {} iterations in {seconds:.3} s; lower bound {:.6} (the variational bound, a total)",
                model.n_iter(),
                model.lower_bound()
            );
            println!(
                "a Bayesian mixture kept {e} of its {k} components (weight above {EFFECTIVE_WEIGHT})"
            );
        }
    }
    println!("component  weight  mean");
    for c in 0..k {
        let mean: Vec<String> = model.means()[c * d..(c + 1) * d]
            .iter()
            .map(|v| format!("{v:.4}"))
            .collect();
        println!("{c:>9}  {:.4}  [{}]", model.weights()[c], mean.join(", "));
    }
    let rows = input.ds().n_samples().min(5);
    let proba = with_data!(input, x => model.predict_proba(x.rows(0, rows))?);
    println!("predict_proba, first {rows} rows (rounded to 3 decimals):");
    for r in 0..rows {
        let row: Vec<String> = proba[r * k..(r + 1) * k]
            .iter()
            .map(|v| format!("{v:.3}"))
            .collect();
        println!("  [{}]", row.join(", "));
    }
    Ok(())
}

/// Runs `gaussmix select`.
pub fn select(a: &SelectArgs) -> Result<()> {
    if a.k_min > a.k_max {
        return Err(UsageError(format!(
            "--k-min {} is larger than --k-max {}",
            a.k_min, a.k_max
        ))
        .into());
    }
    check_outputs(
        &[Out::new("--plot", a.plot.as_deref(), Kind::Figure)],
        &[a.input.as_deref(), a.weights.sample_weight.as_deref()],
    )?;
    let input = load_weighted(
        a.input.as_deref(),
        a.input_args.dim,
        a.json,
        a.weights.sample_weight.as_deref(),
    )?;
    let types: Vec<CovarianceType> = match a.covariance {
        SelectCovariance::All => CovarianceType::ALL.to_vec(),
        SelectCovariance::Full => vec![CovarianceType::Full],
        SelectCovariance::Tied => vec![CovarianceType::Tied],
        SelectCovariance::Diag => vec![CovarianceType::Diag],
        SelectCovariance::Spherical => vec![CovarianceType::Spherical],
    };
    let rows = select_table(&input, a, &types)?;
    let best = best_by_bic(&rows);
    if let Some(p) = &a.plot {
        let mut out = Outputs::new();
        out.bytes(
            p,
            crate::plot::render_curves(p, &bic_curves(&rows, &input.short_name()))?,
        );
        out.commit()?;
    }
    if a.json {
        let results: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({"k": r.k, "covariance_type": r.covariance_type.as_str(), "bic": r.bic, "aic": r.aic,
                       "lower_bound": finite_or_null(r.lower_bound), "converged": r.converged})
            })
            .collect();
        let b = &rows[best];
        println!(
            "{}",
            json!({"results": results, "best": {"k": b.k, "covariance_type": b.covariance_type.as_str(), "bic": b.bic}})
        );
    } else {
        println!("gaussmix select: {} ({})", input.name(), input.shape());
        println!(
            "{:>4}  {:<10} {:>16} {:>16}",
            "k", "covariance", "BIC", "AIC"
        );
        for (i, r) in rows.iter().enumerate() {
            let mark = if i == best {
                "  <- best (lowest BIC)"
            } else {
                ""
            };
            println!(
                "{:>4}  {:<10} {:>16.4} {:>16.4}{mark}",
                r.k,
                r.covariance_type.as_str(),
                r.bic,
                r.aic
            );
        }
    }
    Ok(())
}

/// One fit of `select`.
pub struct SelectRow {
    /// Number of components.
    pub k: usize,
    /// Covariance type.
    pub covariance_type: CovarianceType,
    /// Bayesian information criterion on the data.
    pub bic: f64,
    /// Akaike information criterion on the data.
    pub aic: f64,
    /// Lower bound of the fit.
    pub lower_bound: f64,
    /// Whether the fit converged.
    pub converged: bool,
}

/// Fits every `(type, k)` and scores it.
pub fn select_table(
    input: &Input,
    a: &SelectArgs,
    types: &[CovarianceType],
) -> Result<Vec<SelectRow>> {
    let (n, d) = (input.ds().n_samples(), input.ds().n_features());
    if a.k_max > n {
        anyhow::bail!(
            "--k-max {} is larger than the {n} samples of {}",
            a.k_max,
            input.name()
        );
    }
    // The largest fit of the range decides the memory needed.
    if let Some(&t) = types.iter().max_by(|&&s, &&t| {
        limits::fit_bytes(s, n, d, a.k_max).total_cmp(&limits::fit_bytes(t, n, d, a.k_max))
    }) {
        limits::check_fit(
            t,
            n,
            d,
            a.k_max,
            &format!(
                "fitting up to --k-max {} components to {} ({n} × {d})",
                a.k_max,
                input.name()
            ),
            "--k-max",
        )?;
    }
    let mut rows = Vec::new();
    for &t in types {
        for k in a.k_min..=a.k_max {
            let gm = GaussianMixture::new(k)
                .covariance_type(t)
                .init_params(a.init.into())
                .n_init(a.n_init)
                .max_iter(a.max_iter)
                .tol(a.tol)
                .reg_covar(a.reg_covar)
                .seed(a.seed)
                .on_degenerate(a.on_degenerate.into())
                .precision(a.precision.into());
            let (model, bic, aic) = with_data!(input, x => {
                let m = gm.fit(x).map_err(|e| explain(e, a.on_degenerate, "--k-min/--k-max")).with_context(|| format!("fitting {} components ({t}) to {}", k, input.name()))?;
                let (bic, aic) = (m.bic(x)?, m.aic(x)?);
                (m, bic, aic)
            });
            rows.push(SelectRow {
                k,
                covariance_type: t,
                bic,
                aic,
                lower_bound: model.lower_bound(),
                converged: model.converged(),
            });
        }
    }
    Ok(rows)
}

/// Index of the row with the lowest BIC (the first on ties).
pub fn best_by_bic(rows: &[SelectRow]) -> usize {
    let mut best = 0;
    for (i, r) in rows.iter().enumerate() {
        if r.bic < rows[best].bic {
            best = i;
        }
    }
    best
}

/// BIC and AIC per covariance type against k, the lowest BIC marked.
pub fn bic_curves(rows: &[SelectRow], name: &str) -> crate::plot::Curves {
    let mut series: Vec<(String, Vec<(usize, f64)>)> = Vec::new();
    for crit in ["BIC", "AIC"] {
        for t in CovarianceType::ALL {
            let pts: Vec<(usize, f64)> = rows
                .iter()
                .filter(|r| r.covariance_type == t)
                .map(|r| (r.k, if crit == "BIC" { r.bic } else { r.aic }))
                .collect();
            if !pts.is_empty() {
                series.push((format!("{crit} ({t})"), pts));
            }
        }
    }
    let b = &rows[best_by_bic(rows)];
    crate::plot::Curves {
        title: format!("{name}: BIC and AIC against the number of components"),
        series,
        best: Some((
            b.k,
            b.bic,
            format!("lowest BIC: k={} ({})", b.k, b.covariance_type),
        )),
    }
}
