//! The passes over the data, generic over the covariance kernel: the fused E-step with
//! sufficient statistics (one pass per EM iteration), statistics from given responsibilities
//! (initialisation), and per-row outputs (labels, probabilities, log-likelihoods).

use crate::blocks::{BLOCK_ROWS, Layout, Pool, Scratch, map_rows, padded, reduce};
use crate::covariance::{Kernel, Params, Shift, Sums};
use crate::data::{DataRef, Float};
use crate::math::{self, LANES, exp8, ln8};
use crate::simd::{Isa, V8, dispatch};

/// A per-block row function: `(weighted log-probabilities, row workspace, rows, outputs)`.
pub(crate) type RowFn<'f, O> = dyn Fn(&mut [f64], &mut [f64], usize, &mut [O]) + Sync + 'f;

/// A data set bound to the pools its passes use. Built once per fit.
pub(crate) struct Engine<'a, T> {
    pub x: DataRef<'a, T>,
    pub k: usize,
    pub d: usize,
    scratch: Pool<Scratch>,
    sums: Pool<Sums>,
}

impl<'a, T: Float> Engine<'a, T> {
    pub(crate) fn new<K: Kernel>(x: DataRef<'a, T>, k: usize) -> Self {
        let d = x.n_features();
        let work = K::work_len(k, d);
        Engine {
            x,
            k,
            d,
            scratch: Pool::new(move || Scratch::new(d, k, work)),
            sums: Pool::new(move || Sums::zeros(K::TYPE, k, d)),
        }
    }

    /// One fused pass: log-probabilities, log-likelihood and responsibilities per block, and the
    /// statistics centred on `shift`, merged in block order.
    pub(crate) fn e_step<K: Kernel>(&self, prep: &K::Prepared, shift: &Shift) -> Sums {
        let (k, d) = (self.k, self.d);
        reduce(
            &self.x,
            Layout::FeatureMajor,
            &self.scratch,
            &self.sums,
            Sums::clear,
            &mut [] as &mut [()],
            0,
            |s, acc, _start, rows, _| e_block::<K>(prep, shift, s, acc, rows, k, d),
            Sums::add,
        )
    }

    /// Statistics from responsibilities supplied by `resp(start, rows, out)`, which fills
    /// `out[c * BLOCK_ROWS + r]` for the block's rows.
    pub(crate) fn stats_from<K: Kernel>(
        &self,
        shift: &Shift,
        resp: &(dyn Fn(usize, usize, &mut [f64]) + Sync),
    ) -> Sums {
        let (k, d) = (self.k, self.d);
        reduce(
            &self.x,
            Layout::FeatureMajor,
            &self.scratch,
            &self.sums,
            Sums::clear,
            &mut [] as &mut [()],
            0,
            |s, acc, start, rows, _| {
                let rows_p = padded(rows);
                for c in 0..k {
                    s.comp[c * BLOCK_ROWS..(c + 1) * BLOCK_ROWS].fill(0.0);
                }
                resp(start, rows, &mut s.comp);
                for c in 0..k {
                    s.comp[c * BLOCK_ROWS + rows..c * BLOCK_ROWS + rows_p].fill(0.0);
                }
                acc.n_rows += rows as u64;
                accumulate_block::<K>(shift, s, acc, rows, k, d);
            },
            Sums::add,
        )
    }

    /// Per-row outputs from the weighted log-probabilities: `f(comp, row, rows, out)` turns a
    /// block's `comp[c * BLOCK_ROWS + r]` into `width` values per row.
    pub(crate) fn per_row<K: Kernel, O: Send + Copy + Default>(
        &self,
        prep: &K::Prepared,
        width: usize,
        f: &RowFn<'_, O>,
    ) -> Vec<O> {
        let mut out = vec![O::default(); self.x.n_samples() * width];
        map_rows(
            &self.x,
            &self.scratch,
            &mut out,
            width,
            |s, _start, rows, o| {
                log_prob_block::<K>(prep, s, rows);
                f(&mut s.comp, &mut s.row, rows, o);
            },
        );
        out
    }
}

dispatch! {
    /// One block of the fused pass: E-step, responsibilities, statistics.
    fn e_block<K: Kernel>(
        prep: &K::Prepared,
        shift: &Shift,
        s: &mut Scratch,
        acc: &mut Sums,
        rows: usize,
        k: usize,
        d: usize,
    ) => e_block_impl
}

#[inline(always)]
fn e_block_impl<K: Kernel, I: Isa>(
    prep: &K::Prepared,
    shift: &Shift,
    s: &mut Scratch,
    acc: &mut Sums,
    rows: usize,
    k: usize,
    d: usize,
) {
    K::weighted_log_prob::<I>(prep, &s.xt, BLOCK_ROWS, rows, &mut s.comp, &mut s.work);
    acc.log_likelihood += normalize_impl::<I>(&mut s.comp, &mut s.row, k, rows);
    acc.n_rows += rows as u64;
    K::accumulate::<I>(
        shift,
        &s.xt,
        BLOCK_ROWS,
        rows,
        &s.comp,
        acc,
        &mut s.work,
        k,
        d,
    );
}

dispatch! {
    /// Statistics of a block whose responsibilities are in `s.comp`.
    fn accumulate_block<K: Kernel>(shift: &Shift, s: &mut Scratch, acc: &mut Sums, rows: usize, k: usize, d: usize) => accumulate_block_impl
}

#[inline(always)]
fn accumulate_block_impl<K: Kernel, I: Isa>(
    shift: &Shift,
    s: &mut Scratch,
    acc: &mut Sums,
    rows: usize,
    k: usize,
    d: usize,
) {
    K::accumulate::<I>(
        shift,
        &s.xt,
        BLOCK_ROWS,
        rows,
        &s.comp,
        acc,
        &mut s.work,
        k,
        d,
    );
}

dispatch! {
    /// Weighted log-probabilities of a block into `s.comp`.
    fn log_prob_block<K: Kernel>(prep: &K::Prepared, s: &mut Scratch, rows: usize) => log_prob_block_impl
}

#[inline(always)]
fn log_prob_block_impl<K: Kernel, I: Isa>(prep: &K::Prepared, s: &mut Scratch, rows: usize) {
    K::weighted_log_prob::<I>(prep, &s.xt, BLOCK_ROWS, rows, &mut s.comp, &mut s.work);
}

/// Turns a block's weighted log-probabilities into responsibilities in place and writes each
/// row's `log Σ_k exp(·)` to `lse`; returns the sum of `lse` over the real rows. Padding rows get
/// zero responsibilities.
///
/// `r_k = exp(l_k - m) / Σ_c exp(l_c - m)` with `m = max_c l_c`, eight rows at a time.
pub(crate) fn normalize(comp: &mut [f64], lse: &mut [f64], k: usize, rows: usize) -> f64 {
    normalize_dispatch(comp, lse, k, rows)
}

dispatch! {
    fn normalize_dispatch<>(comp: &mut [f64], lse: &mut [f64], k: usize, rows: usize) -> f64 => normalize_impl
}

#[inline(always)]
fn normalize_impl<I: Isa>(comp: &mut [f64], lse: &mut [f64], k: usize, rows: usize) -> f64 {
    let ld = BLOCK_ROWS;
    let rows_p = padded(rows);
    let zero = V8::<I>::zero();
    let inf = V8::<I>::splat(f64::INFINITY);
    let mut r0 = 0;
    while r0 < rows_p {
        let mut m = V8::<I>::splat(f64::NEG_INFINITY);
        for c in 0..k {
            m = m.max(V8::<I>::load(&comp[c * ld + r0..]));
        }
        // A row whose every component is -inf (or NaN) keeps m finite so that nothing below
        // turns into NaN by accident; its log-likelihood comes out -inf.
        let abs = m.max(zero.sub(m));
        let m = abs.lt_select(inf, m, zero);
        let mut s = V8::<I>::zero();
        for c in 0..k {
            let e = exp8::<I>(V8::<I>::load(&comp[c * ld + r0..]).sub(m));
            e.store(&mut comp[c * ld + r0..]);
            s = s.add(e);
        }
        let l = m.add(ln8::<I>(s));
        zero.lt_select(s, l, V8::<I>::splat(f64::NEG_INFINITY))
            .store(&mut lse[r0..]);
        let inv = zero.lt_select(s, V8::<I>::splat(1.0).div(s), zero);
        for c in 0..k {
            V8::<I>::load(&comp[c * ld + r0..])
                .mul(inv)
                .store(&mut comp[c * ld + r0..]);
        }
        r0 += LANES;
    }
    for c in 0..k {
        comp[c * ld + rows..c * ld + rows_p].fill(0.0);
    }
    math::sum(&lse[..rows])
}

/// Statistics of one data set under given parameters, with the E-step, centred on the means.
pub(crate) fn e_step_stats<K: Kernel, T: Float>(
    engine: &Engine<'_, T>,
    params: &Params,
) -> (Sums, Shift) {
    let shift = Shift::new(&params.means, params.n_components, params.n_features);
    let prep = K::prepare(params);
    (engine.e_step::<K>(&prep, &shift), shift)
}
