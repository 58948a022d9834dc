//! `on_degenerate = "reseed"`: instead of stopping on a covariance that cannot be factorised,
//! restart the collapsed component on a row the model explains worst.

use crate::covariance::convert::{precision_cholesky, set_broad_covariance};
use crate::covariance::pass::{Engine, normalize};
use crate::covariance::{Estimate, Kernel, Params, StepInfo};
use crate::data::Float;
use crate::error::Result;
use crate::model::Reseed;

/// Factorises the covariances of `next` (the M-step's estimate), re-seeding every component
/// whose covariance fails: its mean moves to one of the rows with the lowest likelihood under
/// `prev` (the parameters of this iteration's E-step), its covariance becomes the data's
/// per-feature variance plus `reg_covar`, and its weight `1/K` (weights renormalised). A `tied`
/// covariance, shared by all, cannot be re-seeded: that stays the ill-defined covariance error.
pub(super) fn reseed<K: Kernel, T: Float>(
    engine: &Engine<'_, T>,
    prev: &Params,
    mut next: Estimate,
    reg_covar: f64,
    info: StepInfo,
    log: &mut Vec<Reseed>,
) -> Result<Params> {
    let (k, d) = (next.n_components, next.n_features);
    let mut candidates: Option<Vec<usize>> = None;
    let mut variance: Option<Vec<f64>> = None;
    for _ in 0..=k {
        let failed = match precision_cholesky(K::TYPE, &next.covariances, k, d) {
            Ok(u) => return Ok(next.with_factors(u)),
            Err(e) => e.component,
        };
        let Some(c) = failed else {
            return Err(info.ill_defined(None));
        };
        let rows =
            candidates.get_or_insert_with(|| lowest_likelihood_rows::<K, T>(engine, prev, k));
        let var = variance.get_or_insert_with(|| {
            let passes = engine.passes();
            passes.column_variances(&passes.column_means())
        });
        let tried = log.iter().filter(|r| r.iteration == info.iteration).count();
        let Some(&row) = rows.get(tried) else {
            return Err(info.ill_defined(Some(c)));
        };
        if !set_broad_covariance(K::TYPE, &mut next.covariances, c, var, reg_covar) {
            return Err(info.ill_defined(Some(c)));
        }
        let x = engine.x().row(row);
        for j in 0..d {
            next.means[c * d + j] = x[j].to_f64();
        }
        next.weights[c] = 1.0 / k as f64;
        let total: f64 = next.weights.iter().sum();
        next.weights.iter_mut().for_each(|w| *w /= total);
        log.push(Reseed {
            iteration: info.iteration,
            component: c,
            row,
        });
    }
    Err(info.ill_defined(None))
}

/// Indices of the `k` rows with the lowest log-likelihood under `params`, lowest first (ties to
/// the lower index).
fn lowest_likelihood_rows<K: Kernel, T: Float>(
    engine: &Engine<'_, T>,
    params: &Params,
    k: usize,
) -> Vec<usize> {
    let prep = K::prepare(params, &params.log_weights());
    let kk = params.n_components;
    let lse: Vec<f64> = engine.per_row::<K, f64>(&prep, 1, &|comp, lse, rows, out| {
        normalize(comp, lse, kk, rows);
        out[..rows].copy_from_slice(&lse[..rows]);
    });
    let mut idx: Vec<usize> = (0..lse.len()).collect();
    idx.sort_by(|&a, &b| lse[a].total_cmp(&lse[b]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}
