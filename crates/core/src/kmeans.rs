//! k-means with scikit-learn's `KMeans` semantics (Lloyd's algorithm), on the same blocked,
//! parallel, deterministic passes as the mixture engine.
//!
//! - Initialisation: greedy k-means++ (`2 + ⌊ln k⌋` candidates per centre, keeping the one that
//!   lowers the potential most), random rows, or given centres.
//! - Each Lloyd iteration is one pass: squared distances of a block of rows to every centre, the
//!   nearest centre per row, and per-centre sums of the assigned rows, merged in block order.
//!   Distances are `Σ_j (x_j - c_j)²` directly for small `d` (as cheap as the expanded form there,
//!   and exact), and `‖x‖² - 2 x·c + ‖c‖²` through faer's matrix product for larger `d`.
//! - As in scikit-learn, the data are centred on their column means first (which keeps the
//!   expanded form accurate), empty clusters are refilled with the rows farthest from their
//!   centres, the loop stops when no label changes ("strict convergence") or the centres move
//!   less than `tol` times the mean feature variance, and the labels are recomputed for the final
//!   centres if the loop did not end on strict convergence.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::blocks::{BLOCK_ROWS, Layout, Pool, Scratch, padded, reduce};
use crate::covariance::{FAER_MIN_D, with_dim};
use crate::data::{DataRef, Float, validate_data};
use crate::error::{Error, Result, invalid};
use crate::math::{self, LANES};
use crate::monitor::{self, Monitor};
use crate::simd::{Isa, V8, dispatch};

/// How k-means chooses its first centres.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum KMeansInit {
    /// Greedy k-means++, as scikit-learn's default.
    #[default]
    KMeansPlusPlus,
    /// `n_clusters` distinct rows chosen uniformly at random.
    Random,
    /// Given centres, `(n_clusters, n_features)` row-major. With given centres `n_init` must be 1
    /// (scikit-learn warns and uses 1; here it is an error, so nothing is silently ignored).
    Centers(Vec<f64>),
}

/// k-means parameters, with scikit-learn's names and defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    /// Number of clusters (`>= 1`).
    pub n_clusters: usize,
    /// Initialisation method.
    pub init: KMeansInit,
    /// Number of runs with different initialisations; the one with the lowest inertia is kept.
    pub n_init: usize,
    /// Maximum number of Lloyd iterations per run (`>= 1`).
    pub max_iter: usize,
    /// Relative tolerance: the run stops when the summed squared movement of the centres is at
    /// most `tol` times the mean per-feature variance of the data.
    pub tol: f64,
    /// Seed of the random number generator.
    pub seed: u64,
    /// Threads to use; `None` runs on the current rayon pool (all cores by default).
    pub n_threads: Option<usize>,
}

impl KMeans {
    /// scikit-learn's defaults for `n_clusters` clusters: k-means++, `n_init = 1`,
    /// `max_iter = 300`, `tol = 1e-4`, seed 0.
    pub fn new(n_clusters: usize) -> Self {
        KMeans {
            n_clusters,
            init: KMeansInit::KMeansPlusPlus,
            n_init: 1,
            max_iter: 300,
            tol: 1e-4,
            seed: 0,
            n_threads: None,
        }
    }

    /// Sets the initialisation method.
    pub fn init(mut self, init: KMeansInit) -> Self {
        self.init = init;
        self
    }

    /// Sets the number of runs.
    pub fn n_init(mut self, n_init: usize) -> Self {
        self.n_init = n_init;
        self
    }

    /// Sets the maximum number of iterations.
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Sets the relative tolerance.
    pub fn tol(mut self, tol: f64) -> Self {
        self.tol = tol;
        self
    }

    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Sets the number of threads.
    pub fn n_threads(mut self, n_threads: Option<usize>) -> Self {
        self.n_threads = n_threads;
        self
    }

    /// Checks every parameter against scikit-learn's ranges (and the shape of given centres).
    pub fn check(&self, n_features: Option<usize>) -> Result<()> {
        if self.n_clusters < 1 {
            return Err(invalid("n_clusters", "must be at least 1, got 0"));
        }
        if self.n_init < 1 {
            return Err(invalid("n_init", "must be at least 1, got 0"));
        }
        if self.max_iter < 1 {
            return Err(invalid("max_iter", "must be at least 1, got 0"));
        }
        if !(self.tol >= 0.0 && self.tol.is_finite()) {
            return Err(invalid(
                "tol",
                format!("must be a finite number >= 0, got {}", self.tol),
            ));
        }
        if self.n_threads == Some(0) {
            return Err(invalid("n_threads", "must be at least 1, got 0"));
        }
        if let KMeansInit::Centers(c) = &self.init {
            if self.n_init != 1 {
                return Err(invalid(
                    "n_init",
                    format!(
                        "must be 1 when initial centres are given, got {}",
                        self.n_init
                    ),
                ));
            }
            if let Some(d) = n_features
                && c.len() != self.n_clusters * d
            {
                return Err(Error::ShapeMismatch {
                    what: "the initial centres".into(),
                    expected: format!("({}, {d})", self.n_clusters),
                    found: format!("{} values", c.len()),
                });
            }
            if c.iter().any(|v| !v.is_finite()) {
                return Err(invalid(
                    "init",
                    "the initial centres contain NaN or infinity",
                ));
            }
        }
        Ok(())
    }

    /// Runs k-means on `x` `(n_samples, n_features)`.
    pub fn fit<T: Float>(&self, x: DataRef<'_, T>) -> Result<KMeansModel> {
        self.fit_with(x, None)
    }

    /// [`KMeans::fit`] with a [`Monitor`], asked before every pass whether to stop.
    pub fn fit_with<T: Float>(
        &self,
        x: DataRef<'_, T>,
        monitor: Option<&mut dyn Monitor>,
    ) -> Result<KMeansModel> {
        self.check(Some(x.n_features()))?;
        validate_data(&x)?;
        if x.n_samples() < self.n_clusters {
            return Err(Error::TooFewSamples {
                n_samples: x.n_samples(),
                needed: self.n_clusters,
                what: "n_samples must be at least n_clusters",
            });
        }
        let mut unwatched = ();
        let monitor = monitor.unwrap_or(&mut unwatched);
        crate::mixture::with_threads(self.n_threads, || {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(self.seed);
            fit_runs(self, &x, &mut rng, monitor)
        })?
    }
}

/// A fitted k-means model.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansModel {
    n_clusters: usize,
    n_features: usize,
    centers: Vec<f64>,
    labels: Vec<usize>,
    inertia: f64,
    n_iter: usize,
    converged: bool,
}

impl KMeansModel {
    /// A model from given centres `(n_clusters, n_features)` (for prediction), with no labels.
    pub fn from_centers(centers: Vec<f64>, n_clusters: usize, n_features: usize) -> Result<Self> {
        if n_clusters == 0 || n_features == 0 || centers.len() != n_clusters * n_features {
            return Err(Error::ShapeMismatch {
                what: "the centres".into(),
                expected: format!("({n_clusters}, {n_features}) with both at least 1"),
                found: format!("{} values", centers.len()),
            });
        }
        if centers.iter().any(|v| !v.is_finite()) {
            return Err(Error::InvalidModel(
                "the centres contain NaN or infinity".into(),
            ));
        }
        Ok(KMeansModel {
            n_clusters,
            n_features,
            centers,
            labels: Vec::new(),
            inertia: f64::NAN,
            n_iter: 0,
            converged: false,
        })
    }

    /// Sets the fit information (for models read back from a file).
    pub fn with_fit_info(mut self, inertia: f64, n_iter: usize, converged: bool) -> Self {
        self.inertia = inertia;
        self.n_iter = n_iter;
        self.converged = converged;
        self
    }

    /// Number of clusters.
    pub fn n_clusters(&self) -> usize {
        self.n_clusters
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Cluster centres `(n_clusters, n_features)`, row-major (`cluster_centers_`).
    pub fn centers(&self) -> &[f64] {
        &self.centers
    }

    /// Label of each training row (`labels_`); empty for models built from centres.
    pub fn labels(&self) -> &[usize] {
        &self.labels
    }

    /// Sum of squared distances of the training rows to their centres (`inertia_`).
    pub fn inertia(&self) -> f64 {
        self.inertia
    }

    /// Lloyd iterations of the kept run (`n_iter_`).
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }

    /// Whether the kept run stopped before `max_iter` (labels stable or centres within `tol`).
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// Index of the nearest centre for each row of `x`.
    pub fn predict<T: Float>(&self, x: DataRef<'_, T>) -> Result<Vec<usize>> {
        self.check_data(&x)?;
        let km = Lloyd::new(x, self.n_clusters, &self.centers);
        Ok(km
            .finish(&km.to_internal(&self.centers), true)
            .0
            .expect("labels are kept"))
    }

    /// Euclidean distances `(n_samples, n_clusters)` of each row to each centre (`transform`).
    pub fn transform<T: Float>(&self, x: DataRef<'_, T>) -> Result<Vec<f64>> {
        self.check_data(&x)?;
        let k = self.n_clusters;
        let km = Lloyd::new(x, k, &self.centers);
        let centers = km.to_internal(&self.centers);
        let mut out = vec![0.0; x.n_samples() * k];
        crate::blocks::map_rows(&km.x, &km.scratch, &mut out, k, |s, _start, rows, o| {
            km.block_distances(s, &centers, rows, true);
            for r in 0..rows {
                for c in 0..k {
                    o[r * k + c] = s.comp[c * BLOCK_ROWS + r].sqrt();
                }
            }
        });
        Ok(out)
    }

    /// Sum of squared distances of the rows of `x` to their nearest centres (`-score`).
    pub fn inertia_of<T: Float>(&self, x: DataRef<'_, T>) -> Result<f64> {
        self.check_data(&x)?;
        let km = Lloyd::new(x, self.n_clusters, &self.centers);
        Ok(km.finish(&km.to_internal(&self.centers), false).1)
    }

    fn check_data<T: Float>(&self, x: &DataRef<'_, T>) -> Result<()> {
        validate_data(x)?;
        if x.n_features() != self.n_features {
            return Err(Error::ShapeMismatch {
                what: "the data's number of features".into(),
                expected: self.n_features.to_string(),
                found: x.n_features().to_string(),
            });
        }
        Ok(())
    }
}

/// Above this many rows, k-means++ seeds on a strided subsample (see [`Lloyd::plusplus`]).
pub(crate) const PLUSPLUS_MAX_ROWS: usize = 1 << 20;

impl KMeans {
    /// One run (`n_init` must be 1) keeping no per-row state: the fitted centres, for a
    /// Gaussian mixture's initialisation, which recomputes each block's labels from them.
    pub(crate) fn fit_centres_only<'a, T: Float>(
        &self,
        x: DataRef<'a, T>,
        rng: &mut Xoshiro256PlusPlus,
        monitor: &mut dyn Monitor,
    ) -> Result<NearestCentre<'a, T>> {
        self.check(Some(x.n_features()))?;
        debug_assert_eq!(self.n_init, 1);
        let lloyd = Lloyd::new(x, self.n_clusters, &[]);
        let tol_abs = if self.tol == 0.0 {
            0.0
        } else {
            self.tol * lloyd.mean_variance()
        };
        let init = match &self.init {
            KMeansInit::Centers(c) => lloyd.to_internal(c),
            KMeansInit::Random => {
                let idx = rand::seq::index::sample(rng, x.n_samples(), self.n_clusters).into_vec();
                lloyd.rows_internal(&idx)
            }
            KMeansInit::KMeansPlusPlus => {
                let idx = lloyd.plusplus(rng, monitor)?;
                lloyd.rows_internal(&idx)
            }
        };
        let run = lloyd.run(init, self.max_iter, tol_abs, false, monitor)?;
        let terms = lloyd.centre_terms(&run.centers);
        Ok(NearestCentre {
            lloyd,
            centers: run.centers,
            terms,
        })
    }
}

/// Fitted k-means centres bound to the data: the nearest centre of any block of rows, exactly
/// as the fit's own final labels are computed.
pub(crate) struct NearestCentre<'a, T> {
    lloyd: Lloyd<'a, T>,
    centers: Vec<f64>,
    terms: (Vec<f64>, Vec<f64>),
}

impl<T: Float> NearestCentre<'_, T> {
    /// `out[label_r * ld + r] = 1` for rows `start..start + rows` (`out` zeroed by the caller).
    pub(crate) fn one_hot(&self, start: usize, rows: usize, out: &mut [f64], ld: usize) {
        let mut s = self.lloyd.scratch.take();
        self.lloyd
            .block_labels(&mut s, start, rows, &self.centers, &self.terms, false);
        for r in 0..rows {
            out[s.row[r] as usize * ld + r] = 1.0;
        }
        self.lloyd.scratch.give(s);
    }
}

/// One Lloyd pass over a chunk of rows under fixed centres: what each worker of a distributed
/// k-means computes. Passes over disjoint chunks merge by adding every field (the fingerprint
/// with wrapping addition); the next centres are `offset + sums / counts`.
#[derive(Debug, Clone, PartialEq)]
pub struct LloydPass {
    /// Rows seen.
    pub n_samples: usize,
    /// Per-cluster sums of `x - offset` over the rows nearest each centre, `(n_clusters,
    /// n_features)`.
    pub sums: Vec<f64>,
    /// Rows nearest each centre, `(n_clusters,)`.
    pub counts: Vec<f64>,
    /// `Σ ‖x - c_label‖²` under these centres.
    pub inertia: f64,
    /// Fingerprint of the labels: two passes over the same chunk give the same fingerprint
    /// exactly when (up to a 2⁻⁶⁴ chance) every label is the same.
    pub fingerprint: u64,
}

impl KMeansModel {
    /// One Lloyd pass over `x` `(n_samples, n_features)` under this model's centres, with
    /// scikit-learn's assignment (the nearest centre by `‖c‖² - 2 x·c` after centring on
    /// `offset`, ties to the lower index). `offset` `(n_features,)` is the point sums are taken
    /// about: the same for every chunk (the data's column means, as scikit-learn centres).
    pub fn lloyd_pass<T: Float>(&self, x: DataRef<'_, T>, offset: &[f64]) -> Result<LloydPass> {
        self.check_data(&x)?;
        self.check_offset(offset)?;
        let lloyd = Lloyd::with_offset(x, self.n_clusters, offset.to_vec());
        let step = lloyd.step(&lloyd.to_internal(&self.centers), true);
        Ok(LloydPass {
            n_samples: x.n_samples(),
            sums: step.sums,
            counts: step.counts,
            inertia: step.inertia,
            fingerprint: step.fingerprint,
        })
    }

    /// The `n` rows of `x` farthest from their nearest centre, farthest first (ties to the lower
    /// row), as `(row, squared distance, centre)`: the candidates scikit-learn moves into empty
    /// clusters. `offset` as in [`KMeansModel::lloyd_pass`].
    pub fn farthest_rows<T: Float>(
        &self,
        x: DataRef<'_, T>,
        offset: &[f64],
        n: usize,
    ) -> Result<Vec<(usize, f64, usize)>> {
        self.check_data(&x)?;
        self.check_offset(offset)?;
        let lloyd = Lloyd::with_offset(x, self.n_clusters, offset.to_vec());
        Ok(lloyd.farthest(&lloyd.to_internal(&self.centers), n))
    }

    fn check_offset(&self, offset: &[f64]) -> Result<()> {
        if offset.len() != self.n_features || offset.iter().any(|v| !v.is_finite()) {
            return Err(Error::ShapeMismatch {
                what: "the offset".into(),
                expected: format!("{} finite values", self.n_features),
                found: format!("{} values", offset.len()),
            });
        }
        Ok(())
    }
}

/// All runs of a k-means fit; the best by inertia is kept, as scikit-learn keeps it.
fn fit_runs<T: Float>(
    p: &KMeans,
    x: &DataRef<'_, T>,
    rng: &mut Xoshiro256PlusPlus,
    monitor: &mut dyn Monitor,
) -> Result<KMeansModel> {
    let k = p.n_clusters;
    let d = x.n_features();
    let lloyd = Lloyd::new(*x, k, &[]);
    let tol_abs = if p.tol == 0.0 {
        0.0
    } else {
        p.tol * lloyd.mean_variance()
    };
    let mut best: Option<KMeansModel> = None;
    for _ in 0..p.n_init {
        let init = match &p.init {
            KMeansInit::Centers(c) => lloyd.to_internal(c),
            KMeansInit::Random => {
                let idx = rand::seq::index::sample(rng, x.n_samples(), k).into_vec();
                lloyd.rows_internal(&idx)
            }
            KMeansInit::KMeansPlusPlus => {
                let idx = lloyd.plusplus(rng, monitor)?;
                lloyd.rows_internal(&idx)
            }
        };
        let run = lloyd.run(init, p.max_iter, tol_abs, true, monitor)?;
        let labels = run.labels.expect("labels are kept");
        let model = KMeansModel {
            n_clusters: k,
            n_features: d,
            centers: lloyd.to_external(&run.centers),
            labels,
            inertia: run.inertia,
            n_iter: run.n_iter,
            converged: run.converged,
        };
        let better = match &best {
            None => true,
            Some(b) => model.inertia < b.inertia && !same_clustering(&model.labels, &b.labels, k),
        };
        if better {
            best = Some(model);
        }
    }
    let mut model = best.expect("n_init >= 1");
    model.n_features = d;
    Ok(model)
}

/// Whether two labellings are the same up to a permutation of the labels.
fn same_clustering(a: &[usize], b: &[usize], k: usize) -> bool {
    let mut map = vec![usize::MAX; k];
    for (&x, &y) in a.iter().zip(b) {
        if map[x] == usize::MAX {
            map[x] = y;
        } else if map[x] != y {
            return false;
        }
    }
    true
}

/// Per-pass accumulator of a Lloyd iteration.
struct Step {
    /// `(K, d)` sums of the assigned (centred) rows.
    sums: Vec<f64>,
    counts: Vec<f64>,
    /// Order-free fingerprint of every row's label: equal fingerprints in two iterations mean
    /// the labels did not change (scikit-learn's "strict convergence"), without storing them.
    fingerprint: u64,
    /// `Σ ‖x - c_label‖²` under the pass's centres (only when asked for).
    inertia: f64,
}

/// The fingerprint of one block's labels, mixed with its position.
#[inline]
fn block_fingerprint(start: usize, labels: &[f64]) -> u64 {
    let mut h = (start as u64)
        .wrapping_add(1)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for &l in labels {
        h = (h ^ (l as u64)).wrapping_mul(0x0000_0100_0000_01B3);
        h ^= h >> 29;
    }
    // splitmix64's finaliser, so that sums of fingerprints stay well spread.
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

/// One run of Lloyd's algorithm, in the internal (centred) frame.
struct Run {
    centers: Vec<f64>,
    labels: Option<Vec<usize>>,
    inertia: f64,
    n_iter: usize,
    converged: bool,
}

/// The data bound to the state of the k-means passes: centred on the column means, with pools.
pub(crate) struct Lloyd<'a, T> {
    x: DataRef<'a, T>,
    k: usize,
    d: usize,
    /// Column means of the data, subtracted from every row as it is loaded.
    offset: Vec<f64>,
    scratch: Pool<Scratch>,
}

impl<'a, T: Float> Lloyd<'a, T> {
    /// Binds `x`; the column offset is the data's mean, or for prediction (`centers` given and
    /// non-empty) the mean of the centres, which needs no pass over the data.
    pub(crate) fn new(x: DataRef<'a, T>, k: usize, centers: &[f64]) -> Self {
        let d = x.n_features();
        let mut lloyd = Lloyd {
            x,
            k,
            d,
            offset: vec![0.0; d],
            scratch: Pool::new(move || Scratch::new(d, k.max(1), 0)),
        };
        lloyd.offset = if centers.is_empty() {
            lloyd.column_means()
        } else {
            let mut m = vec![0.0; d];
            for c in 0..k {
                for j in 0..d {
                    m[j] += centers[c * d + j] / k as f64;
                }
            }
            m
        };
        lloyd
    }

    /// Binds `x` with a given column offset (the point sums are taken about).
    pub(crate) fn with_offset(x: DataRef<'a, T>, k: usize, offset: Vec<f64>) -> Self {
        let d = x.n_features();
        Lloyd {
            x,
            k,
            d,
            offset,
            scratch: Pool::new(move || Scratch::new(d, k.max(1), 0)),
        }
    }

    fn column_means(&self) -> Vec<f64> {
        let d = self.d;
        let accs = Pool::new(move || vec![0.0; d]);
        let sums = reduce(
            &self.x,
            Layout::FeatureMajor,
            &self.scratch,
            &accs,
            |a: &mut Vec<f64>| a.fill(0.0),
            &mut [] as &mut [()],
            0,
            |s, acc, _start, rows, _| {
                for j in 0..d {
                    acc[j] += math::sum(&s.xt[j * BLOCK_ROWS..j * BLOCK_ROWS + padded(rows)]);
                }
            },
            |a: &mut Vec<f64>, b: &Vec<f64>| add_into(a, b),
        );
        let n = self.x.n_samples() as f64;
        sums.iter().map(|s| s / n).collect()
    }

    /// Mean over features of the per-feature variance (NumPy's `np.var(X, axis=0).mean()`).
    fn mean_variance(&self) -> f64 {
        let d = self.d;
        let accs = Pool::new(move || vec![0.0; d]);
        let offset = &self.offset;
        let sq = reduce(
            &self.x,
            Layout::FeatureMajor,
            &self.scratch,
            &accs,
            |a: &mut Vec<f64>| a.fill(0.0),
            &mut [] as &mut [()],
            0,
            |s, acc, _start, rows, _| {
                for j in 0..d {
                    let col = &s.xt[j * BLOCK_ROWS..j * BLOCK_ROWS + rows];
                    let mut a = [0.0; LANES];
                    for (i, &v) in col.iter().enumerate() {
                        let c = v - offset[j];
                        a[i % LANES] += c * c;
                    }
                    acc[j] += math::sum(&a);
                }
            },
            |a: &mut Vec<f64>, b: &Vec<f64>| add_into(a, b),
        );
        let n = self.x.n_samples() as f64;
        sq.iter().map(|s| s / n).sum::<f64>() / d as f64
    }

    /// Centres in the internal (centred) frame.
    pub(crate) fn to_internal(&self, centers: &[f64]) -> Vec<f64> {
        let d = self.d;
        centers
            .iter()
            .enumerate()
            .map(|(i, &v)| v - self.offset[i % d])
            .collect()
    }

    fn to_external(&self, centers: &[f64]) -> Vec<f64> {
        let d = self.d;
        centers
            .iter()
            .enumerate()
            .map(|(i, &v)| v + self.offset[i % d])
            .collect()
    }

    /// Given rows of the data as centres, in the internal frame.
    fn rows_internal(&self, idx: &[usize]) -> Vec<f64> {
        let mut c = Vec::with_capacity(idx.len() * self.d);
        for &i in idx {
            for (j, &v) in self.x.row(i).iter().enumerate() {
                c.push(v.to_f64() - self.offset[j]);
            }
        }
        c
    }

    /// Centres the loaded block in place.
    #[inline]
    fn center_block(&self, s: &mut Scratch, rows: usize) {
        let rows_p = padded(rows);
        for j in 0..self.d {
            let o = self.offset[j];
            for v in &mut s.xt[j * BLOCK_ROWS..j * BLOCK_ROWS + rows_p] {
                *v -= o;
            }
        }
    }

    /// Centres the block and writes squared distances to every centre to `s.comp`
    /// (`comp[c * BLOCK_ROWS + r]`, clamped at zero). `exact` asks for the direct form even for
    /// large `d` (used for final outputs).
    fn block_distances(&self, s: &mut Scratch, centers: &[f64], rows: usize, exact: bool) {
        self.center_block(s, rows);
        let m = centers.len() / self.d.max(1);
        sq_distances(
            &s.xt,
            &mut s.row,
            centers,
            m,
            self.d,
            rows,
            &mut s.comp,
            exact,
        );
    }

    /// The assignment's precomputed centre terms: `-2 C` and `‖c‖²` (internal frame).
    fn centre_terms(&self, centers: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let d = self.d;
        let cm2 = centers.iter().map(|v| -2.0 * v).collect();
        let cn = centers
            .chunks_exact(d.max(1))
            .map(|c| c.iter().map(|v| v * v).sum())
            .collect();
        (cm2, cn)
    }

    /// The nearest centre (as `f64`) of rows `start..start + rows` into `s.row`. With
    /// `loaded`, `s.xt` holds the block (not yet centred; it is centred here when used).
    ///
    /// The nearest centre minimises `‖c‖² - 2 x·c` (the row's own `‖x‖²` does not change the
    /// choice); ties go to the lower index, as in scikit-learn.
    fn block_labels(
        &self,
        s: &mut Scratch,
        start: usize,
        rows: usize,
        centers: &[f64],
        terms: &(Vec<f64>, Vec<f64>),
        loaded: bool,
    ) {
        let (k, d) = (self.k, self.d);
        if d >= FAER_MIN_D {
            if !loaded {
                crate::blocks::load(&self.x, start, rows, &mut s.xt);
            }
            self.center_block(s, rows);
            sq_distances(&s.xt, &mut s.row, centers, k, d, rows, &mut s.comp, false);
            argmin_block(&s.comp, k, padded(rows), &mut s.row);
        } else {
            nearest_rows(
                &self.x,
                start,
                rows,
                &self.offset,
                &terms.0,
                &terms.1,
                k,
                &mut s.row,
            );
        }
    }

    /// The layout a pass that only needs labels asks for.
    fn label_layout(&self) -> Layout {
        if self.d >= FAER_MIN_D {
            Layout::FeatureMajor
        } else {
            Layout::Rows
        }
    }

    /// One Lloyd pass: per-centre sums and counts of the rows nearest each centre, and the
    /// labels' fingerprint.
    fn step(&self, centers: &[f64], with_inertia: bool) -> Step {
        let (k, d) = (self.k, self.d);
        let terms = self.centre_terms(centers);
        let accs = Pool::new(move || Step {
            sums: vec![0.0; k * d],
            counts: vec![0.0; k],
            fingerprint: 0,
            inertia: 0.0,
        });
        reduce(
            &self.x,
            self.label_layout(),
            &self.scratch,
            &accs,
            |a: &mut Step| {
                a.sums.fill(0.0);
                a.counts.fill(0.0);
                a.fingerprint = 0;
                a.inertia = 0.0;
            },
            &mut [] as &mut [()],
            0,
            |s, acc, start, rows, _| {
                self.block_labels(s, start, rows, centers, &terms, true);
                for r in 0..rows {
                    acc.counts[s.row[r] as usize] += 1.0;
                }
                acc.fingerprint = acc
                    .fingerprint
                    .wrapping_add(block_fingerprint(start, &s.row[..rows]));
                if with_inertia {
                    acc.inertia += add_rows_and_distances(
                        &self.x,
                        start,
                        rows,
                        &s.row,
                        &self.offset,
                        &mut acc.sums,
                        centers,
                    );
                } else {
                    add_rows_by_label(&self.x, start, rows, &s.row, &self.offset, &mut acc.sums);
                }
            },
            |a, b| {
                add_into(&mut a.sums, &b.sums);
                add_into(&mut a.counts, &b.counts);
                a.fingerprint = a.fingerprint.wrapping_add(b.fingerprint);
                a.inertia += b.inertia;
            },
        )
    }

    /// The nearest centre of every row (kept with `keep_labels`) and the inertia
    /// `Σ ‖x - c_label‖²`, with exact distances.
    fn finish(&self, centers: &[f64], keep_labels: bool) -> (Option<Vec<usize>>, f64) {
        let d = self.d;
        let terms = self.centre_terms(centers);
        let mut labels = if keep_labels {
            vec![0usize; self.x.n_samples()]
        } else {
            Vec::new()
        };
        let width = usize::from(keep_labels);
        let accs = Pool::new(|| 0.0f64);
        let inertia = reduce(
            &self.x,
            Layout::FeatureMajor,
            &self.scratch,
            &accs,
            |a| *a = 0.0,
            &mut labels,
            width,
            |s, acc, start, rows, lab| {
                self.block_labels(s, start, rows, centers, &terms, true);
                if d < FAER_MIN_D {
                    self.center_block(s, rows);
                }
                let mut a = [0.0; LANES];
                for r in 0..rows {
                    let l = s.row[r] as usize;
                    let c = &centers[l * d..(l + 1) * d];
                    let mut q = 0.0;
                    for j in 0..d {
                        let v = s.xt[j * BLOCK_ROWS + r] - c[j];
                        q += v * v;
                    }
                    a[r % LANES] += q;
                    if keep_labels {
                        lab[r] = l;
                    }
                }
                *acc += math::sum(&a);
            },
            |a, b| *a += b,
        );
        (keep_labels.then_some(labels), inertia)
    }

    /// The `n` rows farthest from their nearest centre, farthest first (ties: lower index), as
    /// `(row, squared distance, centre)`.
    fn farthest(&self, centers: &[f64], n: usize) -> Vec<(usize, f64, usize)> {
        let d = self.d;
        let terms = self.centre_terms(centers);
        let accs = Pool::new(Vec::<(f64, usize, usize)>::new);
        let keep = |v: &mut Vec<(f64, usize, usize)>| {
            v.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            v.truncate(n);
        };
        let top = reduce(
            &self.x,
            Layout::FeatureMajor,
            &self.scratch,
            &accs,
            |a: &mut Vec<(f64, usize, usize)>| a.clear(),
            &mut [] as &mut [()],
            0,
            |s, acc, start, rows, _| {
                self.block_labels(s, start, rows, centers, &terms, true);
                if d < FAER_MIN_D {
                    self.center_block(s, rows);
                }
                for r in 0..rows {
                    let l = s.row[r] as usize;
                    let c = &centers[l * d..(l + 1) * d];
                    let q: f64 = (0..d)
                        .map(|j| (s.xt[j * BLOCK_ROWS + r] - c[j]).powi(2))
                        .sum();
                    acc.push((q, start + r, l));
                }
                keep(acc);
            },
            |a, b| {
                a.extend_from_slice(b);
                keep(a);
            },
        );
        top.into_iter().map(|(q, i, l)| (i, q, l)).collect()
    }

    /// One run of Lloyd's algorithm from `centers` (internal frame). No per-row state is kept
    /// during the iterations: memory stays independent of the number of rows unless
    /// `keep_labels` asks for the final labels.
    fn run(
        &self,
        mut centers: Vec<f64>,
        max_iter: usize,
        tol_abs: f64,
        keep_labels: bool,
        monitor: &mut dyn Monitor,
    ) -> Result<Run> {
        let (k, d) = (self.k, self.d);
        let mut previous: Option<u64> = None;
        let mut converged = false;
        let mut n_iter = 0;
        for it in 0..max_iter {
            monitor::check(monitor)?;
            n_iter = it + 1;
            let mut step = self.step(&centers, false);
            let empty: Vec<usize> = (0..k).filter(|&c| step.counts[c] == 0.0).collect();
            if !empty.is_empty() {
                // scikit-learn's relocation: each empty cluster takes one of the rows farthest
                // from their (old) centres; the row keeps its label.
                let far = self.farthest(&centers, empty.len());
                for (&c, &(i, _, old)) in empty.iter().zip(&far) {
                    for j in 0..d {
                        let v = self.x.row(i)[j].to_f64() - self.offset[j];
                        step.sums[old * d + j] -= v;
                        step.sums[c * d + j] = v;
                    }
                    step.counts[c] = 1.0;
                    step.counts[old] -= 1.0;
                }
            }
            let mut shift = 0.0;
            for c in 0..k {
                if step.counts[c] > 0.0 {
                    let alpha = 1.0 / step.counts[c];
                    for j in 0..d {
                        let v = step.sums[c * d + j] * alpha;
                        let delta = v - centers[c * d + j];
                        shift += delta * delta;
                        centers[c * d + j] = v;
                    }
                }
            }
            if previous == Some(step.fingerprint) {
                // Labels unchanged: scikit-learn's strict convergence.
                converged = true;
                break;
            }
            previous = Some(step.fingerprint);
            if shift <= tol_abs {
                converged = true;
                break;
            }
        }
        // The labels (and inertia) for the final centres. After strict convergence they are
        // those of the last pass; otherwise scikit-learn reassigns too.
        let (labels, inertia) = self.finish(&centers, keep_labels);
        Ok(Run {
            centers,
            labels,
            inertia,
            n_iter,
            converged,
        })
    }

    /// Greedy k-means++: returns the indices of the chosen rows.
    ///
    /// The seeding keeps one distance per row; beyond [`PLUSPLUS_MAX_ROWS`] rows it runs on an
    /// evenly strided subsample of the rows (a zero-copy view), so that memory stays bounded
    /// however large the data. Lloyd's iterations then use every row.
    pub(crate) fn plusplus(
        &self,
        rng: &mut Xoshiro256PlusPlus,
        monitor: &mut dyn Monitor,
    ) -> Result<Vec<usize>> {
        let (k, d) = (self.k, self.d);
        let n = self.x.n_samples();
        if n > PLUSPLUS_MAX_ROWS {
            let step = n.div_ceil(PLUSPLUS_MAX_ROWS);
            let m = (n - 1) / step + 1;
            let view = DataRef::with_stride(self.x.as_slice(), m, d, self.x.row_stride() * step)
                .expect("every strided row lies inside the data");
            let sub = Lloyd::new(view, k, &[]);
            return Ok(sub
                .plusplus(rng, monitor)?
                .into_iter()
                .map(|i| i * step)
                .collect());
        }
        let trials = 2 + (k as f64).ln() as usize;
        let mut indices = Vec::with_capacity(k);
        let first = rng.random_range(0..n);
        indices.push(first);
        let mut closest = vec![0.0; n];
        let c0 = self.rows_internal(&[first]);
        self.min_distances(&c0, &mut closest, true);
        let mut pot = sum_sequential(&closest);
        for _ in 1..k {
            monitor::check(monitor)?;
            let targets: Vec<f64> = (0..trials).map(|_| rng.random::<f64>() * pot).collect();
            let cand = search_cumsum(&closest, &targets);
            let cands = self.rows_internal(&cand);
            // Potential of each candidate: Σ_i min(closest_i, ‖x_i - cand‖²).
            let accs = Pool::new(move || vec![0.0; trials]);
            let pots = reduce(
                &self.x,
                Layout::FeatureMajor,
                &self.scratch,
                &accs,
                |a: &mut Vec<f64>| a.fill(0.0),
                &mut closest,
                1,
                |s, acc, _start, rows, cl| {
                    self.center_block(s, rows);
                    sq_distances(
                        &s.xt,
                        &mut s.row,
                        &cands,
                        trials,
                        d,
                        rows,
                        &mut s.comp,
                        true,
                    );
                    for t in 0..trials {
                        let mut a = [0.0; LANES];
                        for r in 0..rows {
                            a[r % LANES] += cl[r].min(s.comp[t * BLOCK_ROWS + r]);
                        }
                        acc[t] += math::sum(&a);
                    }
                },
                |a: &mut Vec<f64>, b: &Vec<f64>| add_into(a, b),
            );
            let mut best = 0;
            for t in 1..trials {
                if pots[t] < pots[best] {
                    best = t;
                }
            }
            indices.push(cand[best]);
            let cb = self.rows_internal(&[cand[best]]);
            self.min_distances(&cb, &mut closest, false);
            pot = sum_sequential(&closest);
        }
        Ok(indices)
    }

    /// `closest[i] = ‖x_i - c‖²` (`replace`) or `min(closest[i], ‖x_i - c‖²)`.
    fn min_distances(&self, c: &[f64], closest: &mut [f64], replace: bool) {
        let d = self.d;
        crate::blocks::map_rows(&self.x, &self.scratch, closest, 1, |s, _start, rows, cl| {
            self.center_block(s, rows);
            sq_distances(&s.xt, &mut s.row, c, 1, d, rows, &mut s.comp, true);
            for r in 0..rows {
                let v = s.comp[r];
                cl[r] = if replace { v } else { cl[r].min(v) };
            }
        });
    }
}

/// Squared distances `out[c * BLOCK_ROWS + r] = ‖x_r - centers_c‖²` for a centred feature-major
/// block; `xnorm` is workspace for `‖x_r‖²`.
#[inline]
fn sq_distances(
    xt: &[f64],
    xnorm: &mut [f64],
    centers: &[f64],
    m: usize,
    d: usize,
    rows: usize,
    out: &mut [f64],
    exact: bool,
) {
    let ld = BLOCK_ROWS;
    let rows_p = padded(rows);
    if d >= FAER_MIN_D && !exact {
        // X Cᵀ with X `(rows, d)` column-major; the destination is column-major too (faer 0.24.4
        // mis-handles row-major destinations, see `covariance::full`).
        let lhs = faer::MatRef::from_column_major_slice_with_stride(xt, rows_p, d, ld);
        let rhs = faer::MatRef::from_row_major_slice(centers, m, d).transpose();
        let dst = faer::MatMut::from_column_major_slice_with_stride_mut(out, rows_p, m, ld);
        faer::linalg::matmul::matmul(dst, faer::Accum::Replace, lhs, rhs, -2.0, faer::Par::Seq);
        xnorm[..rows_p].fill(0.0);
        for j in 0..d {
            for (q, &v) in xnorm[..rows_p].iter_mut().zip(&xt[j * ld..j * ld + rows_p]) {
                *q += v * v;
            }
        }
        for c in 0..m {
            let cn: f64 = centers[c * d..(c + 1) * d].iter().map(|v| v * v).sum();
            for (o, &xn) in out[c * ld..c * ld + rows_p]
                .iter_mut()
                .zip(&xnorm[..rows_p])
            {
                *o = (*o + cn + xn).max(0.0);
            }
        }
        return;
    }
    direct_distances(xt, centers, m, d, rows_p, out);
}

dispatch! {
    /// `sums[label_r] += x_r - offset` for the block's rows (labels as `f64`), reading the rows
    /// in their own (row-major) layout, eight features at a time.
    fn add_rows_by_label<T: Float>(x: &DataRef<'_, T>, start: usize, rows: usize, labels: &[f64], offset: &[f64], sums: &mut [f64]) => add_rows_by_label_impl
}

dispatch! {
    /// [`add_rows_by_label`], also returning `Σ_r ‖x_r - offset - centers_label‖²` (the
    /// inertia under the centres, internal frame).
    fn add_rows_and_distances<T: Float>(x: &DataRef<'_, T>, start: usize, rows: usize, labels: &[f64], offset: &[f64], sums: &mut [f64], centers: &[f64]) -> f64 => add_rows_and_distances_impl
}

#[inline(always)]
fn add_rows_by_label_impl<T: Float, I: Isa>(
    x: &DataRef<'_, T>,
    start: usize,
    rows: usize,
    labels: &[f64],
    offset: &[f64],
    sums: &mut [f64],
) {
    add_rows::<T, I, false>(x, start, rows, labels, offset, sums, &[]);
}

#[inline(always)]
fn add_rows_and_distances_impl<T: Float, I: Isa>(
    x: &DataRef<'_, T>,
    start: usize,
    rows: usize,
    labels: &[f64],
    offset: &[f64],
    sums: &mut [f64],
    centers: &[f64],
) -> f64 {
    add_rows::<T, I, true>(x, start, rows, labels, offset, sums, centers)
}

#[inline(always)]
fn add_rows<T: Float, I: Isa, const DISTANCES: bool>(
    x: &DataRef<'_, T>,
    start: usize,
    rows: usize,
    labels: &[f64],
    offset: &[f64],
    sums: &mut [f64],
    centers: &[f64],
) -> f64 {
    let d = x.n_features();
    let full = d / LANES * LANES;
    let mut total = V8::<I>::zero();
    let mut tail = 0.0;
    for r in 0..rows {
        let c = labels[r] as usize;
        let row = x.row(start + r);
        let acc = &mut sums[c * d..(c + 1) * d];
        let mut j = 0;
        while j < full {
            let v = V8::<I>::load_from(&row[j..]).sub(V8::load(&offset[j..]));
            V8::<I>::load(&acc[j..]).add(v).store(&mut acc[j..]);
            if DISTANCES {
                let e = v.sub(V8::load(&centers[c * d + j..]));
                total = e.madd(e, total);
            }
            j += LANES;
        }
        for j in full..d {
            let v = row[j].to_f64() - offset[j];
            acc[j] += v;
            if DISTANCES {
                let e = v - centers[c * d + j];
                tail += e * e;
            }
        }
    }
    total.sum() + tail
}

dispatch! {
    /// `out[c * BLOCK_ROWS + r] = Σ_j (x_rj - c_j)²`, eight rows at a time.
    fn direct_distances<>(xt: &[f64], centers: &[f64], m: usize, d: usize, rows_p: usize, out: &mut [f64]) => direct_distances_impl
}

#[inline(always)]
fn direct_distances_impl<I: Isa>(
    xt: &[f64],
    centers: &[f64],
    m: usize,
    d: usize,
    rows_p: usize,
    out: &mut [f64],
) {
    let ld = BLOCK_ROWS;
    for c in 0..m {
        let cc = &centers[c * d..(c + 1) * d];
        let mut r0 = 0;
        while r0 < rows_p {
            let mut acc = V8::<I>::zero();
            for j in 0..d {
                let v = V8::<I>::load(&xt[j * ld + r0..]).sub(V8::splat(cc[j]));
                acc = v.madd(v, acc);
            }
            acc.store(&mut out[c * ld + r0..]);
            r0 += LANES;
        }
    }
}

dispatch! {
    /// The nearest centre (as `f64`) of each of the rows `start..start + rows`: the smallest
    /// `‖c‖² - 2 x·c` over the centres (`cm2 = -2 C`, `cn = ‖c‖²`, all centred on `offset`).
    /// Rows are read in place, eight at a time, and transposed in registers.
    fn nearest_rows<T: Float>(
        x: &DataRef<'_, T>,
        start: usize,
        rows: usize,
        offset: &[f64],
        cm2: &[f64],
        cn: &[f64],
        k: usize,
        out: &mut [f64],
    ) => nearest_rows_impl
}

#[inline(always)]
fn nearest_rows_impl<T: Float, I: Isa>(
    x: &DataRef<'_, T>,
    start: usize,
    rows: usize,
    offset: &[f64],
    cm2: &[f64],
    cn: &[f64],
    k: usize,
    out: &mut [f64],
) {
    let d = x.n_features();
    with_dim!(d, D => nearest_rows_small::<D, T, I>(x, start, rows, offset, cm2, cn, k, out), _ => {
        // Other dimensions below FAER_MIN_D: the same, with the features in a fixed-size array.
        nearest_rows_small::<FAER_MIN_D, T, I>(x, start, rows, offset, cm2, cn, k, out)
    })
}

/// [`nearest_rows`] with the row vectors of a lane group in registers; `D` is the number of
/// features, or an upper bound on it (features past `d` are zero and their centre terms too).
#[inline(always)]
fn nearest_rows_small<const D: usize, T: Float, I: Isa>(
    x: &DataRef<'_, T>,
    start: usize,
    rows: usize,
    offset: &[f64],
    cm2: &[f64],
    cn: &[f64],
    k: usize,
    out: &mut [f64],
) {
    let d = x.n_features();
    let full_cols = d / LANES * LANES;
    let mut r0 = 0;
    while r0 < rows {
        let mut xv = [V8::<I>::zero(); D];
        if r0 + LANES <= rows {
            let mut j0 = 0;
            while j0 < full_cols {
                let row = |t: usize| V8::<I>::load_from(&x.row(start + r0 + t)[j0..]);
                let t = V8::transpose8([
                    row(0),
                    row(1),
                    row(2),
                    row(3),
                    row(4),
                    row(5),
                    row(6),
                    row(7),
                ]);
                xv[j0..j0 + LANES].copy_from_slice(&t);
                j0 += LANES;
            }
            for j in full_cols..d {
                let mut lanes = [0.0; LANES];
                for (t, l) in lanes.iter_mut().enumerate() {
                    *l = x.row(start + r0 + t)[j].to_f64();
                }
                xv[j] = V8::load(&lanes);
            }
        } else {
            let mut lanes = [[0.0; LANES]; D];
            for t in 0..LANES.min(rows - r0) {
                for (j, &v) in x.row(start + r0 + t).iter().enumerate() {
                    lanes[j][t] = v.to_f64();
                }
            }
            for j in 0..d {
                xv[j] = V8::load(&lanes[j]);
            }
        }
        for j in 0..d {
            xv[j] = xv[j].sub(V8::splat(offset[j]));
        }
        let mut best = V8::<I>::splat(f64::INFINITY);
        let mut idx = V8::<I>::zero();
        for (c, cc) in cm2.chunks_exact(d).enumerate().take(k) {
            let mut acc = V8::<I>::splat(cn[c]);
            for j in 0..D.min(d) {
                acc = xv[j].madd(V8::splat(cc[j]), acc);
            }
            idx = acc.lt_select(best, V8::splat(c as f64), idx);
            best = acc.lt_select(best, acc, best);
        }
        idx.store(&mut out[r0..]);
        r0 += LANES;
    }
}

dispatch! {
    /// The first component with the smallest value of `comp[c * BLOCK_ROWS + r]` for each row
    /// (as `f64`), ties to the lower index.
    fn argmin_block<>(comp: &[f64], k: usize, rows_p: usize, out: &mut [f64]) => argmin_block_impl
}

#[inline(always)]
fn argmin_block_impl<I: Isa>(comp: &[f64], k: usize, rows_p: usize, out: &mut [f64]) {
    let mut r0 = 0;
    while r0 < rows_p {
        let mut best = V8::<I>::splat(f64::INFINITY);
        let mut idx = V8::<I>::zero();
        for c in 0..k {
            let v = V8::<I>::load(&comp[c * BLOCK_ROWS + r0..]);
            idx = v.lt_select(best, V8::splat(c as f64), idx);
            best = v.lt_select(best, v, best);
        }
        idx.store(&mut out[r0..]);
        r0 += LANES;
    }
}

fn add_into(a: &mut [f64], b: &[f64]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

/// Left-to-right sum (the running sum [`search_cumsum`] walks).
fn sum_sequential(v: &[f64]) -> f64 {
    v.iter().sum()
}

/// For each target `t`, the first index whose running sum of `w` reaches `t` (NumPy's
/// `searchsorted(cumsum(w), t)`), clipped to the last index.
fn search_cumsum(w: &[f64], targets: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..targets.len()).collect();
    order.sort_by(|&a, &b| targets[a].total_cmp(&targets[b]));
    let mut out = vec![w.len() - 1; targets.len()];
    let mut run = 0.0;
    let mut i = 0;
    for &t in &order {
        while i < w.len() {
            if run + w[i] >= targets[t] {
                break;
            }
            run += w[i];
            i += 1;
        }
        out[t] = i.min(w.len() - 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searchsorted_semantics() {
        let w = [1.0, 0.0, 2.0, 3.0];
        // cumsum = [1, 1, 3, 6]
        assert_eq!(
            search_cumsum(&w, &[0.5, 1.0, 1.5, 6.0, 7.0]),
            vec![0, 0, 2, 3, 3]
        );
    }

    #[test]
    fn same_clustering_up_to_permutation() {
        assert!(same_clustering(&[0, 0, 1, 2], &[2, 2, 0, 1], 3));
        assert!(!same_clustering(&[0, 0, 1, 2], &[2, 1, 0, 1], 3));
    }
}
