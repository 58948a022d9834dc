//! The passes over the data, generic over the covariance kernel: the fused E-step with
//! sufficient statistics (one pass per EM iteration), statistics from given responsibilities
//! (initialisation), and per-row outputs (labels, probabilities, log-likelihoods).

use super::{CovarianceType, Kernel, Params, Shift, Sums, full};
use crate::blocks::{BLOCK_ROWS, Block, Layout, Passes, Pool, Scratch, Span, padded};
use crate::data::{DataRef, Float};
use crate::math::{self, LANES, exp8, ln8};
use crate::simd::{Isa, V8, dispatch};

/// A per-block row function: `(weighted log-probabilities, row workspace, rows, outputs)`.
pub(crate) type RowFn<'f, O> = dyn Fn(&mut [f64], &mut [f64], usize, &mut [O]) + Sync + 'f;

/// A data set bound to the pools its passes use, for one kernel. Built once per fit.
pub(crate) struct Engine<'a, T> {
    passes: Passes<'a, T>,
    k: usize,
    sums: Pool<Sums>,
}

impl<'a, T: Float> Engine<'a, T> {
    pub(crate) fn new<K: Kernel>(x: DataRef<'a, T>, k: usize) -> Self {
        let d = x.n_features();
        Engine {
            passes: Passes::new(x, k, K::work_len(k, d)),
            k,
            sums: Pool::new(move || Sums::zeros(K::TYPE, k, d)),
        }
    }

    /// The data.
    pub(crate) fn x(&self) -> &DataRef<'a, T> {
        self.passes.x()
    }

    /// `Σ_i w_i` for the data's weights `w`, summed as the statistics' passes sum it (per block,
    /// then the fixed tree), so the same bits.
    pub(crate) fn total_weight(&self, w: &[f64]) -> f64 {
        let sums = Pool::new(|| Sums::zeros(CovarianceType::Diag, 1, 1));
        self.passes
            .reduce(Layout::Untouched, &sums, |_, span, acc| {
                add_rows(acc, Some(&w[span.start..]), span.rows);
            })
            .weight
    }

    /// The passes over the data (for passes of other shapes, such as column moments).
    pub(crate) fn passes(&self) -> &Passes<'a, T> {
        &self.passes
    }

    /// One fused pass: log-probabilities, log-likelihood and responsibilities per block, and the
    /// statistics centred on `shift`, merged in block order; with `entropy`, also
    /// `Σ w Σ_k r log r`.
    pub(crate) fn e_step<K: Kernel>(
        &self,
        prep: &K::Prepared,
        shift: &Shift,
        entropy: bool,
    ) -> Sums {
        self.passes
            .reduce(Layout::FeatureMajor, &self.sums, |s, span, acc| {
                if entropy {
                    e_block::<K, WithEntropy>(prep, shift, s, acc, span.rows)
                } else {
                    e_block::<K, NoEntropy>(prep, shift, s, acc, span.rows)
                }
            })
    }

    /// The E-step's statistics under `params` (with the per-component constants `log_weights`),
    /// centred on their means.
    pub(crate) fn e_step_stats<K: Kernel>(
        &self,
        params: &Params,
        log_weights: &[f64],
        entropy: bool,
    ) -> (Sums, Shift) {
        let shift = Shift::new(&params.means, params.n_components, params.n_features);
        let prep = K::prepare(params, log_weights);
        (self.e_step::<K>(&prep, &shift, entropy), shift)
    }

    /// Statistics from responsibilities supplied by `resp(span, out)`, which fills
    /// `out[c * BLOCK_ROWS + r]` for the block's rows.
    pub(crate) fn stats_from<K: Kernel>(
        &self,
        shift: &Shift,
        resp: &(dyn Fn(Span, &mut [f64]) + Sync),
    ) -> Sums {
        let k = self.k;
        self.passes
            .reduce(Layout::FeatureMajor, &self.sums, |s, span, acc| {
                let (rows, rows_p) = (span.rows, padded(span.rows));
                for c in 0..k {
                    s.comp[c * BLOCK_ROWS..(c + 1) * BLOCK_ROWS].fill(0.0);
                }
                resp(span, &mut s.comp);
                for c in 0..k {
                    s.comp[c * BLOCK_ROWS + rows..c * BLOCK_ROWS + rows_p].fill(0.0);
                }
                if let Some(w) = s.w.get() {
                    let w = &w[..rows];
                    for c in 0..k {
                        for (r, wr) in s.comp[c * BLOCK_ROWS..].iter_mut().zip(w) {
                            *r *= wr;
                        }
                    }
                }
                add_rows(acc, s.w.get(), rows);
                accumulate_block::<K>(shift, s, acc, rows);
            })
    }

    /// Statistics of one-hot responsibilities: `labels(span, out)` writes the component of each
    /// row of the block to `out` `(span.rows,)`. The sums of [`Engine::stats_from`] with those
    /// responsibilities, added in the kernel's order ([`Kernel::accumulate_labelled`]).
    pub(crate) fn stats_from_labels<K: Kernel>(
        &self,
        shift: &Shift,
        labels: &(dyn Fn(Span, &mut [u32]) + Sync),
    ) -> Sums {
        let x = self.x();
        // The float64 full kernel reads the rows in place; the others, loaded blocks.
        let in_place = K::labelled_rows(shift.k(), shift.d());
        let layout = if in_place {
            Layout::RowsAhead
        } else {
            Layout::FeatureMajor
        };
        self.passes.reduce(layout, &self.sums, |s, span, acc| {
            let mut l = [0u32; BLOCK_ROWS];
            let l = &mut l[..span.rows];
            labels(span, l);
            add_rows(acc, s.w.get(), span.rows);
            if in_place {
                full::accumulate_labelled_rows(x, span, shift, l, acc, &mut s.work);
            } else {
                accumulate_labelled_block::<K>(shift, s, l, acc, span.rows);
            }
        })
    }

    /// The statistics of every row as the one component of a mixture of type `t` (each
    /// responsibility 1, times the row's weight), about `shift` `(d,)`: the data's weight, mean
    /// and scatter (full for the matrix types, per feature otherwise).
    pub(crate) fn data_statistics(&self, t: super::CovarianceType, shift: &[f64]) -> Sums {
        let x = *self.x();
        let shift = Shift::new(shift, 1, x.n_features());
        let ones = |span: Span, out: &mut [f64]| out[..span.rows].fill(1.0);
        super::with_kernel!(t, K => Engine::new::<K>(x, 1).stats_from::<K>(&shift, &ones))
    }

    /// Per-row outputs from the weighted log-probabilities: `f(comp, row, rows, out)` turns a
    /// block's `comp[c * BLOCK_ROWS + r]` into `width` values per row.
    pub(crate) fn per_row<K: Kernel, O: Send + Copy + Default>(
        &self,
        prep: &K::Prepared,
        width: usize,
        f: &RowFn<'_, O>,
    ) -> Vec<O> {
        let mut out = vec![O::default(); self.x().n_samples() * width];
        self.passes.map_rows(&mut out, width, |s, span, o| {
            log_prob_block::<K>(prep, s, span.rows);
            f(&mut s.comp, &mut s.row, span.rows, o);
        });
        out
    }
}

/// Counts a block's rows and their weight.
#[inline]
fn add_rows(acc: &mut Sums, weights: Option<&[f64]>, rows: usize) {
    acc.n_rows += rows as u64;
    acc.weight += match weights {
        Some(w) => math::sum(&w[..rows]),
        None => rows as f64,
    };
}

/// Whether an E-step also sums the entropy of the responsibilities (a type-level flag, so that
/// each choice compiles to its own loop).
trait Entropy: Send + Sync + 'static {
    const ON: bool;
}

/// The E-step sums `Σ w Σ_k r log r` too.
struct WithEntropy;
impl Entropy for WithEntropy {
    const ON: bool = true;
}

/// The plain E-step.
struct NoEntropy;
impl Entropy for NoEntropy {
    const ON: bool = false;
}

dispatch! {
    /// One block of the fused pass: E-step, responsibilities, statistics.
    fn e_block<K: Kernel, H: Entropy>(
        prep: &K::Prepared,
        shift: &Shift,
        s: &mut Scratch,
        acc: &mut Sums,
        rows: usize,
    ) => e_block_impl
}

#[inline(always)]
fn e_block_impl<K: Kernel, H: Entropy, I: Isa>(
    isa: I,
    prep: &K::Prepared,
    shift: &Shift,
    s: &mut Scratch,
    acc: &mut Sums,
    rows: usize,
) {
    let x = Block::new(&s.xt, rows);
    let w = s.w.get();
    K::weighted_log_prob(isa, prep, x, &mut s.comp, &mut s.work);
    let n = normalize_with::<I, H>(isa, &mut s.comp, &mut s.row, shift.k(), rows, w);
    acc.log_likelihood += n.log_likelihood;
    acc.entropy += n.entropy;
    acc.n_rows += rows as u64;
    acc.weight += n.weight;
    K::accumulate(isa, shift, x, &s.comp, w, acc, &mut s.work);
}

dispatch! {
    /// Statistics of a block whose responsibilities are in `s.comp`.
    fn accumulate_block<K: Kernel>(shift: &Shift, s: &mut Scratch, acc: &mut Sums, rows: usize) => accumulate_block_impl
}

#[inline(always)]
fn accumulate_block_impl<K: Kernel, I: Isa>(
    isa: I,
    shift: &Shift,
    s: &mut Scratch,
    acc: &mut Sums,
    rows: usize,
) {
    let w = s.w.get();
    K::accumulate(
        isa,
        shift,
        Block::new(&s.xt, rows),
        &s.comp,
        w,
        acc,
        &mut s.work,
    );
}

dispatch! {
    /// Statistics of a block whose rows each belong wholly to the component of `labels`.
    fn accumulate_labelled_block<K: Kernel>(shift: &Shift, s: &mut Scratch, labels: &[u32], acc: &mut Sums, rows: usize) => accumulate_labelled_block_impl
}

#[inline(always)]
fn accumulate_labelled_block_impl<K: Kernel, I: Isa>(
    isa: I,
    shift: &Shift,
    s: &mut Scratch,
    labels: &[u32],
    acc: &mut Sums,
    rows: usize,
) {
    let w = s.w.get();
    K::accumulate_labelled(
        isa,
        shift,
        Block::new(&s.xt, rows),
        labels,
        w,
        acc,
        &mut s.comp,
        &mut s.work,
    );
}

dispatch! {
    /// Weighted log-probabilities of a block into `s.comp`.
    fn log_prob_block<K: Kernel>(prep: &K::Prepared, s: &mut Scratch, rows: usize) => log_prob_block_impl
}

#[inline(always)]
fn log_prob_block_impl<K: Kernel, I: Isa>(
    isa: I,
    prep: &K::Prepared,
    s: &mut Scratch,
    rows: usize,
) {
    K::weighted_log_prob(isa, prep, Block::new(&s.xt, rows), &mut s.comp, &mut s.work);
}

dispatch! {
    /// Turns a block's weighted log-probabilities into responsibilities in place and writes each
    /// row's `log Σ_k exp(·)` to `lse`; returns the sum of `lse` over the real rows. Padding rows
    /// get zero responsibilities.
    pub(crate) fn normalize<>(comp: &mut [f64], lse: &mut [f64], k: usize, rows: usize) -> f64 => normalize_unweighted
}

#[inline(always)]
fn normalize_unweighted<I: Isa>(
    isa: I,
    comp: &mut [f64],
    lse: &mut [f64],
    k: usize,
    rows: usize,
) -> f64 {
    normalize_with::<I, NoEntropy>(isa, comp, lse, k, rows, None).log_likelihood
}

/// What [`normalize_with`] sums over a block's rows.
struct Normalized {
    /// `Σ_r w_r lse_r`.
    log_likelihood: f64,
    /// `Σ_r w_r Σ_k r_k log r_k` (with [`WithEntropy`]; zero otherwise).
    entropy: f64,
    /// `Σ_r w_r` (the number of rows without weights).
    weight: f64,
}

/// [`normalize`]: `r_k = exp(l_k - m) / Σ_c exp(l_c - m)` with `m = max_c l_c`, eight rows at a
/// time. With sample `weights` the responsibilities come out multiplied by them (one multiply
/// per row: the row's `1 / Σ` is scaled), and the sums `Σ_r w_r lse_r` and `Σ_r w_r` are taken
/// in the same loop, in the lanes of `math::weighted_sum` (built for tests) and [`math::sum`]
/// (a padding row's zero weight adds +0.0, which changes no lane): the same bits as those two
/// passes.
///
/// With `H::ON`, also `Σ_r w_r Σ_k r_k log r_k`, from `Σ_k r_k log r_k = Σ_k e_k t_k / s -
/// log s` with `t_k = l_k - m`, `e_k = exp(t_k)`, `s = Σ_k e_k` (one multiply-add per
/// component).
#[inline(always)]
fn normalize_with<I: Isa, H: Entropy>(
    isa: I,
    comp: &mut [f64],
    lse: &mut [f64],
    k: usize,
    rows: usize,
    weights: Option<&[f64]>,
) -> Normalized {
    let ld = BLOCK_ROWS;
    let rows_p = padded(rows);
    let zero = V8::zero(isa);
    let inf = V8::splat(isa, f64::INFINITY);
    let mut ent = [0.0; BLOCK_ROWS];
    let (mut wll, mut wsum) = (zero, zero);
    let mut r0 = 0;
    while r0 < rows_p {
        let mut m = V8::splat(isa, f64::NEG_INFINITY);
        for c in 0..k {
            m = m.max(V8::load(isa, &comp[c * ld + r0..]));
        }
        // A row whose every component is -inf (or NaN) keeps m finite so that nothing below
        // turns into NaN by accident; its log-likelihood comes out -inf.
        let abs = m.max(zero.sub(m));
        let m = abs.lt_select(inf, m, zero);
        let mut s = V8::zero(isa);
        let mut et = V8::zero(isa);
        for c in 0..k {
            let t = V8::load(isa, &comp[c * ld + r0..]).sub(m);
            let e = exp8(t);
            e.store(&mut comp[c * ld + r0..]);
            s = s.add(e);
            if H::ON {
                // An impossible component (t = -inf, e = 0) adds 0, not NaN.
                et = e.madd(t.max(V8::splat(isa, f64::MIN)), et);
            }
        }
        let ln_s = ln8(s);
        let l = m.add(ln_s);
        let l = zero.lt_select(s, l, V8::splat(isa, f64::NEG_INFINITY));
        l.store(&mut lse[r0..]);
        let mut inv = zero.lt_select(s, V8::splat(isa, 1.0).div(s), zero);
        if H::ON {
            // Per row Σ_k r log r (0 for a row every component rules out); padding rows are
            // dropped below.
            let h = zero.lt_select(s, et.mul(inv).sub(ln_s), zero);
            let h = match weights {
                Some(w) => h.mul(V8::load(isa, &w[r0..])),
                None => h,
            };
            h.store(&mut ent[r0..]);
        }
        if let Some(w) = weights {
            let w = V8::load(isa, &w[r0..]);
            inv = inv.mul(w);
            // A zero weight adds +0.0, even where the row's log-likelihood is -inf.
            wll = wll.add(zero.lt_select(w, w.mul(l), zero));
            wsum = wsum.add(w);
        }
        for c in 0..k {
            V8::load(isa, &comp[c * ld + r0..])
                .mul(inv)
                .store(&mut comp[c * ld + r0..]);
        }
        r0 += LANES;
    }
    for c in 0..k {
        comp[c * ld + rows..c * ld + rows_p].fill(0.0);
    }
    let (log_likelihood, weight) = match weights {
        None => (math::sum(&lse[..rows]), rows as f64),
        Some(_) => (wll.sum(), wsum.sum()),
    };
    let entropy = if H::ON { math::sum(&ent[..rows]) } else { 0.0 };
    Normalized {
        log_likelihood,
        entropy,
        weight,
    }
}

#[cfg(test)]
mod tests {
    use rand::{Rng, SeedableRng};
    use rand_xoshiro::Xoshiro256PlusPlus;

    use super::*;
    use crate::blocks::with_threads;
    use crate::covariance::diag::Diag;
    use crate::covariance::full::Full;

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// The weighted E-step sums `Σ w lse` and `Σ w` inside the normalisation loop: the same bits
    /// as the two separate sums it replaced, also with zero weights, rows of log-likelihood
    /// -inf and partial blocks.
    #[test]
    fn normalisation_sums_the_weights_in_the_lanes_of_the_separate_sums() {
        use crate::simd::Base;
        let mut g = Xoshiro256PlusPlus::seed_from_u64(11);
        let k = 3;
        for rows in [1, 5, 8, 13, 100, BLOCK_ROWS] {
            let mut comp = vec![0.0; k * BLOCK_ROWS];
            for c in 0..k {
                for r in 0..rows {
                    comp[c * BLOCK_ROWS + r] = g.random::<f64>() * 40.0 - 30.0;
                }
            }
            // A row no component can explain (log-likelihood -inf), of weight 0 (row 1 below):
            // it must add exactly nothing.
            if rows > 1 {
                for c in 0..k {
                    comp[c * BLOCK_ROWS + 1] = f64::NEG_INFINITY;
                }
            }
            let mut w = vec![0.0; BLOCK_ROWS];
            for (r, v) in w[..rows].iter_mut().enumerate() {
                *v = if r % 4 == 1 {
                    0.0
                } else {
                    g.random::<f64>() * 3.0
                };
            }
            let mut lse = vec![0.0; BLOCK_ROWS];
            let n = normalize_with::<Base, NoEntropy>(Base, &mut comp, &mut lse, k, rows, Some(&w));
            let want_ll = math::weighted_sum(&lse[..rows], &w[..rows]);
            assert_eq!(
                n.log_likelihood.to_bits(),
                want_ll.to_bits(),
                "rows = {rows}"
            );
            assert_eq!(
                n.weight.to_bits(),
                math::sum(&w[..rows]).to_bits(),
                "rows = {rows}"
            );
            assert!(n.log_likelihood.is_finite() && n.log_likelihood != 0.0);
            assert!(n.weight > 0.0);
        }
    }

    /// A full mixture's first initial pass takes `N_k` and the means' sums from the diagonal
    /// kernel (`mixture::init`): the two kernels must compute them bit for bit alike.
    #[test]
    fn diagonal_and_full_kernels_sum_the_same_means() {
        let mut g = Xoshiro256PlusPlus::seed_from_u64(7);
        let (n, k) = (1000, 3);
        for d in [5, 8, 16, 24, 33] {
            let x: Vec<f64> = (0..n * d).map(|_| g.random::<f64>() * 10.0 - 3.0).collect();
            let w: Vec<f64> = (0..n).map(|_| g.random::<f64>()).collect();
            let r: Vec<f64> = (0..n * k).map(|_| g.random::<f64>()).collect();
            let resp = |span: Span, out: &mut [f64]| {
                for c in 0..k {
                    for i in 0..span.rows {
                        out[c * BLOCK_ROWS + i] = r[(span.start + i) * k + c];
                    }
                }
            };
            for weighted in [false, true] {
                let data = DataRef::new(&x, n, d).unwrap();
                let data = if weighted {
                    data.with_weights(&w).unwrap()
                } else {
                    data
                };
                let e = Engine::new::<Full>(data, k);
                let origin = Shift::origin(k, d);
                let full = e.stats_from::<Full>(&origin, &resp);
                let diag = e.stats_from::<Diag>(&origin, &resp);
                assert_eq!(bits(&full.nk), bits(&diag.nk), "d = {d}");
                assert_eq!(bits(&full.s1), bits(&diag.s1), "d = {d}");
                assert!(full.s1.iter().all(|v| *v != 0.0));
            }
        }
    }

    /// The statistics of labels are those of their one-hot responsibilities: the same bits for
    /// kernels that accumulate the responsibilities (diag, tied, full up to d = 4, one
    /// component); up to the order of additions where full and full32 (in float32) gather each
    /// component's rows (every tile shape: small tiles, odd d, wide). With and without weights
    /// (some zero), an empty component, partial blocks; the same bits on any number of threads.
    #[test]
    fn labelled_statistics_are_the_one_hot_statistics() {
        use crate::covariance::full32::Full32;
        use crate::covariance::tied::Tied;
        // `tol`: relative to the largest of each statistic; `None` for the same bits.
        fn check<K: Kernel>(x: DataRef<'_, f64>, k: usize, labels: &[u32], tol: Option<f64>) {
            let d = x.n_features();
            let mut g = Xoshiro256PlusPlus::seed_from_u64(5);
            let means: Vec<f64> = (0..k * d).map(|_| g.random::<f64>() * 4.0).collect();
            let shift = Shift::new(&means, k, d);
            let resp = |span: Span, out: &mut [f64]| {
                for (r, &c) in labels[span.start..span.start + span.rows]
                    .iter()
                    .enumerate()
                {
                    out[c as usize * BLOCK_ROWS + r] = 1.0;
                }
            };
            let by_label = |span: Span, out: &mut [u32]| {
                out.copy_from_slice(&labels[span.start..span.start + span.rows]);
            };
            let e = Engine::new::<K>(x, k);
            let want = e.stats_from::<K>(&shift, &resp);
            let got: Vec<Sums> = [1, 2]
                .iter()
                .map(|&t| {
                    with_threads(Some(t), || e.stats_from_labels::<K>(&shift, &by_label)).unwrap()
                })
                .collect();
            let what = format!("{} d = {d} k = {k}", K::TYPE);
            for (a, b) in [(&got[0].nk, &got[1].nk), (&got[0].s1, &got[1].s1)] {
                assert_eq!(bits(a), bits(b), "{what}");
            }
            assert_eq!(bits(&got[0].s2), bits(&got[1].s2), "{what}");
            let got = &got[0];
            assert_eq!(got.n_rows, want.n_rows);
            assert_eq!(got.weight.to_bits(), want.weight.to_bits(), "{what}");
            let Some(tol) = tol else {
                assert_eq!(bits(&got.nk), bits(&want.nk), "{what}");
                assert_eq!(bits(&got.s1), bits(&want.s1), "{what}");
                assert_eq!(bits(&got.s2), bits(&want.s2), "{what}");
                return;
            };
            for (name, a, b) in [
                ("nk", &got.nk, &want.nk),
                ("s1", &got.s1, &want.s1),
                ("s2", &got.s2, &want.s2),
            ] {
                let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                assert!(scale > 0.0);
                for (p, q) in a.iter().zip(b) {
                    assert!(
                        (p - q).abs() <= tol * scale,
                        "{what} {name}: {p} against {q}"
                    );
                }
            }
            // The empty component (label 5) has nothing at all.
            if k > 5 {
                assert_eq!(got.nk[5], 0.0);
                assert!(got.s1[5 * d..6 * d].iter().all(|v| *v == 0.0));
            }
        }
        let mut g = Xoshiro256PlusPlus::seed_from_u64(3);
        let n = 3 * BLOCK_ROWS + 77;
        for d in [3, 5, 16, 33, 64] {
            let x: Vec<f64> = (0..n * d).map(|_| g.random::<f64>() * 10.0 - 3.0).collect();
            let w: Vec<f64> = (0..n)
                .map(|i| {
                    if i % 5 == 2 {
                        0.0
                    } else {
                        g.random::<f64>() * 2.0
                    }
                })
                .collect();
            for k in [1, 7] {
                // Component 5 (of 7) is empty.
                let labels: Vec<u32> = (0..n)
                    .map(|_| {
                        loop {
                            let c = g.random_range(0..k as u32);
                            if c != 5 {
                                break c;
                            }
                        }
                    })
                    .collect();
                for weighted in [false, true] {
                    let data = DataRef::new(&x, n, d).unwrap();
                    let data = if weighted {
                        data.with_weights(&w).unwrap()
                    } else {
                        data
                    };
                    let one = k == 1;
                    check::<Full>(data, k, &labels, (d > 4 && !one).then_some(1e-13));
                    check::<Full32>(data, k, &labels, (!one).then_some(1e-5));
                    check::<Diag>(data, k, &labels, None);
                    check::<Tied>(data, k, &labels, None);
                }
            }
        }
    }
}
