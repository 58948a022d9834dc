//! EM over statistics computed elsewhere (`GaussianMixture::fit_source`): the same driver as the
//! in-memory fit, fed chunk by chunk.

use gaussmix_core::{
    CovarianceType, DataRef, Error, GaussianMixture, GaussianMixtureModel, Responsibilities,
    StatsSource, SufficientStats,
};

mod common;

/// `n` points from `k` well separated, anisotropic Gaussian blobs in `d` dimensions.
fn blobs(n: usize, d: usize, k: usize, seed: u64) -> Vec<f64> {
    common::blobs(n, d, k, 0.5, seed)
}

/// The data in uneven chunks; initial responsibilities are given labels.
struct Chunks<'a> {
    x: &'a [f64],
    d: usize,
    cuts: Vec<usize>,
    labels: Vec<i64>,
    k: usize,
    e_steps: usize,
    inits: Vec<usize>,
    fail_at: Option<usize>,
}

impl Chunks<'_> {
    fn chunks(&self) -> impl Iterator<Item = DataRef<'_, f64>> + '_ {
        self.cuts.windows(2).map(|w| {
            DataRef::new(&self.x[w[0] * self.d..w[1] * self.d], w[1] - w[0], self.d).unwrap()
        })
    }
}

impl StatsSource for Chunks<'_> {
    fn initial_statistics(&mut self, init: usize) -> gaussmix_core::Result<SufficientStats> {
        self.inits.push(init);
        let shift = vec![0.0; self.k * self.d];
        let mut total: Option<SufficientStats> = None;
        for (c, w) in self.chunks().zip(self.cuts.windows(2)) {
            let l = Responsibilities::Labels(&self.labels[w[0]..w[1]]);
            let s =
                SufficientStats::from_responsibilities(CovarianceType::Full, c, &shift, self.k, l)?;
            match &mut total {
                None => total = Some(s),
                Some(t) => t.merge(&s)?,
            }
        }
        Ok(total.unwrap())
    }

    fn e_step(&mut self, model: &GaussianMixtureModel) -> gaussmix_core::Result<SufficientStats> {
        self.e_steps += 1;
        if self.fail_at == Some(self.e_steps) {
            return Err(Error::Interrupted);
        }
        let mut total: Option<SufficientStats> = None;
        for c in self.chunks() {
            let s = model.sufficient_statistics(c)?;
            match &mut total {
                None => total = Some(s),
                Some(t) => t.merge(&s)?,
            }
        }
        Ok(total.unwrap())
    }
}

fn close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (x, y) in a.iter().zip(b) {
        assert!(
            (x - y).abs() <= tol * y.abs().max(1.0),
            "{what}: {x} vs {y}"
        );
    }
}

#[test]
fn chunked_statistics_give_the_in_memory_fit() {
    let (n, d, k) = (5000, 3, 3);
    let x = blobs(n, d, k, 1);
    let data = DataRef::new(&x, n, d).unwrap();
    for t in CovarianceType::ALL {
        // Given initial values for every parameter: both fits start from the same model.
        let prec = match t {
            CovarianceType::Full => (0..k)
                .flat_map(|_| [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0])
                .collect(),
            CovarianceType::Tied => vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
            CovarianceType::Diag => vec![1.0; k * d],
            CovarianceType::Spherical => vec![1.0; k],
        };
        let gm = GaussianMixture::new(k)
            .covariance_type(t)
            .weights_init(vec![0.3, 0.3, 0.4])
            .means_init(x[..k * d].to_vec())
            .precisions_init(prec)
            .tol(1e-8);
        let want = gm.fit(data).unwrap();
        let mut src = Chunks {
            x: &x,
            d,
            cuts: vec![0, 1000, 1001, 3333, n],
            labels: Vec::new(),
            k,
            e_steps: 0,
            inits: Vec::new(),
            fail_at: None,
        };
        let got = gm.fit_source(d, &mut src, None, None).unwrap();
        assert!(
            src.inits.is_empty(),
            "{t}: no initial statistics are needed"
        );
        assert_eq!(got.n_iter(), want.n_iter(), "{t}");
        assert_eq!(src.e_steps, want.n_iter(), "{t}: one E-step per iteration");
        assert_eq!(got.converged(), want.converged(), "{t}");
        close(got.weights(), want.weights(), 1e-10, "weights");
        close(got.means(), want.means(), 1e-10, "means");
        close(got.covariances(), want.covariances(), 1e-9, "covariances");
        close(
            got.lower_bounds(),
            want.lower_bounds(),
            1e-12,
            "lower bounds",
        );
    }
}

#[test]
fn initial_statistics_runs_and_errors() {
    let (n, d, k) = (3000, 3, 3);
    let x = blobs(n, d, k, 2);
    let labels: Vec<i64> = (0..n).map(|i| (i % k) as i64).collect();
    let mut src = Chunks {
        x: &x,
        d,
        cuts: vec![0, 1500, n],
        labels: labels.clone(),
        k,
        e_steps: 0,
        inits: Vec::new(),
        fail_at: None,
    };
    // Initialising only: the parameters estimated from the labels' statistics, weights N_k / n.
    let gm = GaussianMixture::new(k).max_iter(0);
    let init = gm.fit_source(d, &mut src, None, None).unwrap();
    assert_eq!(src.inits, vec![0]);
    assert_eq!(init.n_iter(), 0);
    assert_eq!(init.lower_bound(), f64::NEG_INFINITY);
    let data = DataRef::new(&x, n, d).unwrap();
    let stats = SufficientStats::from_responsibilities(
        CovarianceType::Full,
        data,
        &vec![0.0; k * d],
        k,
        Responsibilities::Labels(&labels),
    )
    .unwrap();
    let m = GaussianMixtureModel::m_step(&stats, 1e-6).unwrap();
    close(init.weights(), m.weights(), 1e-12, "weights");
    close(init.means(), m.means(), 1e-12, "means");
    close(init.covariances(), m.covariances(), 1e-12, "covariances");
    // n_init runs each ask for their own initial statistics; the best one is kept.
    src.inits.clear();
    let best = GaussianMixture::new(k)
        .n_init(3)
        .fit_source(d, &mut src, None, None)
        .unwrap();
    assert_eq!(src.inits, vec![0, 1, 2]);
    assert!(best.lower_bound().is_finite());
    // A warm start continues from the previous model: one run, no initialisation.
    src.inits.clear();
    let warm = GaussianMixture::new(k)
        .warm_start(true)
        .max_iter(2)
        .tol(0.0);
    let next = warm.fit_source(d, &mut src, Some(&best), None).unwrap();
    assert!(src.inits.is_empty());
    assert_eq!(next.n_iter(), 2);
    // The source's errors end the fit.
    src.e_steps = 0;
    src.fail_at = Some(2);
    let err = GaussianMixture::new(k)
        .fit_source(d, &mut src, None, None)
        .unwrap_err();
    assert_eq!(err, Error::Interrupted);
    // Statistics of another shape are refused, naming them.
    src.fail_at = None;
    let err = GaussianMixture::new(k)
        .fit_source(d + 1, &mut src, None, None)
        .unwrap_err();
    assert!(err.to_string().contains("the statistics"), "{err}");
    // Re-seeding needs the rows.
    let err = GaussianMixture::new(k)
        .on_degenerate(gaussmix_core::OnDegenerate::Reseed)
        .fit_source(d, &mut src, None, None)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidParameter {
                name: "on_degenerate",
                ..
            }
        ),
        "{err}"
    );
}

/// A source that answers an E-step with statistics under another model.
struct Stale<'a>(&'a [f64], usize);

impl StatsSource for Stale<'_> {
    fn initial_statistics(&mut self, _: usize) -> gaussmix_core::Result<SufficientStats> {
        unreachable!("all initial values are given")
    }
    fn e_step(&mut self, model: &GaussianMixtureModel) -> gaussmix_core::Result<SufficientStats> {
        let other = GaussianMixtureModel::from_covariances(
            CovarianceType::Spherical,
            1,
            1,
            vec![1.0],
            vec![model.means()[0] + 1.0],
            vec![1.0],
        )?;
        other.sufficient_statistics(DataRef::new(self.0, self.1, 1).unwrap())
    }
}

#[test]
fn statistics_under_another_model_are_refused() {
    let x: Vec<f64> = (0..50).map(|i| i as f64).collect();
    let gm = GaussianMixture::new(1)
        .covariance_type(CovarianceType::Spherical)
        .weights_init(vec![1.0])
        .means_init(vec![3.0])
        .precisions_init(vec![1.0]);
    let err = gm
        .fit_source(1, &mut Stale(&x, 50), None, None)
        .unwrap_err();
    assert!(
        err.to_string().contains("not computed under the model"),
        "{err}"
    );
}
