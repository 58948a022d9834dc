//! `gaussmix lesson OUTDIR`: the GMM-versus-k-means lesson as figures (each as SVG and PNG) and
//! an `index.html` that shows them in order, one line of explanation each. The data are the
//! lesson's own (embedded: `datasets/blobs400.npy`, `stretched400.npy`, `moons200.npy`).

use std::fmt::Write as _;

use anyhow::{Context, Result};
use gaussmix_core::{
    BayesianGaussianMixture, CovarianceType, DataRef, GaussianMixture, KMeans,
    WeightConcentrationPriorType,
};
use gaussmix_io::Dataset;

use crate::args::LessonArgs;
use crate::fit::{SelectRow, bic_curves};
use crate::input::DEMO_NPY;
use crate::output::{Kind, Out, Outputs};
use crate::plot::{
    Scatter, gmm_scatter, kmeans_scatter, plain_scatter, render_curves, render_scatter,
};

const STRETCHED_NPY: &[u8] = include_bytes!("../../../datasets/stretched400.npy");
const MOONS_NPY: &[u8] = include_bytes!("../../../datasets/moons200.npy");

/// One figure of the lesson.
struct Page {
    stem: &'static str,
    title: &'static str,
    text: &'static str,
}

const PAGES: [Page; 10] = [
    Page {
        stem: "01_blobs",
        title: "The data",
        text: "400 points in four blobs (make_blobs, cluster_std=0.60): the lesson's data.",
    },
    Page {
        stem: "02_kmeans",
        title: "k-means",
        text: "k-means assigns each point to its nearest centre: the clusters are round, each drawn with a circle through its farthest member.",
    },
    Page {
        stem: "03_kmeans_stretched",
        title: "k-means on stretched blobs",
        text: "Stretch the blobs and the round boundaries of k-means cut across the elongated clusters.",
    },
    Page {
        stem: "04_gmm",
        title: "A Gaussian mixture",
        text: "A four-component Gaussian mixture finds the same four blobs, with soft assignments behind the labels.",
    },
    Page {
        stem: "05_gmm_proba",
        title: "Uncertain points",
        text: "Each point's size is 50·p², p its largest membership probability: points between blobs are small because the model is unsure of them.",
    },
    Page {
        stem: "06_gmm_stretched",
        title: "Full covariances on stretched blobs",
        text: "With full covariances each component is an ellipse (1, 2 and 3 standard deviations, shaded by weight) and the stretched clusters are fitted.",
    },
    Page {
        stem: "07_moons_gmm16",
        title: "16 components on two moons",
        text: "With many components a mixture is a density model: 16 Gaussians trace the two moons.",
    },
    Page {
        stem: "08_moons_samples",
        title: "New points from the density",
        text: "400 new points sampled from the 16-component model look like the moons they were fitted to.",
    },
    Page {
        stem: "09_moons_bic",
        title: "How many components?",
        text: "BIC and AIC of full-covariance mixtures with 1 to 20 components on the moons: the lower, the better.",
    },
    Page {
        stem: "10_moons_dirichlet",
        title: "Letting the data choose",
        text: "A Bayesian mixture with a Dirichlet-process prior, given 16 components, keeps only the components the moons need: the others get weights near zero (ellipses shaded by weight, the weights below).",
    },
];

fn embedded(bytes: &[u8], name: &str) -> Result<Vec<f64>> {
    Ok(Dataset::from_npy_bytes(bytes, name)?.view().to_f64_vec())
}

/// Runs `gaussmix lesson`.
pub fn run(a: &LessonArgs) -> Result<()> {
    let dir = &a.outdir;
    if !dir.exists() {
        std::fs::create_dir(dir)
            .with_context(|| format!("creating the directory {}", dir.display()))?;
    }
    if !dir.is_dir() {
        anyhow::bail!("{} is not a directory", dir.display());
    }
    let outputs: Vec<std::path::PathBuf> = PAGES
        .iter()
        .flat_map(|p| ["svg", "png"].map(|e| dir.join(format!("{}.{e}", p.stem))))
        .chain(std::iter::once(dir.join("index.html")))
        .collect();
    crate::output::check_outputs(
        &outputs
            .iter()
            .map(|p| {
                let kind = if p.extension().is_some_and(|e| e == "html") {
                    Kind::Page
                } else {
                    Kind::Figure
                };
                Out::new("OUTDIR", Some(p.as_path()), kind)
            })
            .collect::<Vec<_>>(),
        &[],
    )?;

    let blobs = embedded(DEMO_NPY, "blobs400.npy")?;
    let stretched = embedded(STRETCHED_NPY, "stretched400.npy")?;
    let moons = embedded(MOONS_NPY, "moons200.npy")?;
    let xb = DataRef::new(&blobs, 400, 2)?;
    let xs = DataRef::new(&stretched, 400, 2)?;
    let xm = DataRef::new(&moons, 200, 2)?;
    let dims = (0, 1);

    let mut figures: Vec<Figure> = Vec::new();
    figures.push(Figure::Scatter(plain_scatter(
        xb,
        "blobs400.npy",
        dims,
        None,
    )?));
    let km = KMeans::new(4).seed(0).fit(xb)?;
    figures.push(Figure::Scatter(kmeans_scatter(
        &km,
        xb,
        "blobs400.npy",
        dims,
    )?));
    let km_s = KMeans::new(4).seed(0).fit(xs)?;
    figures.push(Figure::Scatter(kmeans_scatter(
        &km_s,
        xs,
        "stretched400.npy",
        dims,
    )?));
    let gmm = GaussianMixture::new(4).seed(0).fit(xb)?;
    let mut labels_only = gmm_scatter(&gmm, xb, "blobs400.npy", dims, false)?;
    labels_only.ellipses.clear();
    figures.push(Figure::Scatter(labels_only));
    let mut sized = gmm_scatter(&gmm, xb, "blobs400.npy", dims, true)?;
    sized.ellipses.clear();
    figures.push(Figure::Scatter(sized));
    let gmm_s = GaussianMixture::new(4)
        .covariance_type(CovarianceType::Full)
        .seed(42)
        .fit(xs)?;
    figures.push(Figure::Scatter(gmm_scatter(
        &gmm_s,
        xs,
        "stretched400.npy",
        dims,
        false,
    )?));
    let gmm16 = GaussianMixture::new(16)
        .covariance_type(CovarianceType::Full)
        .seed(0)
        .fit(xm)?;
    figures.push(Figure::Scatter(gmm_scatter(
        &gmm16,
        xm,
        "moons200.npy",
        dims,
        false,
    )?));
    let (new, _) = gmm16.sample(400, 0)?;
    let xn = DataRef::new(&new, 400, 2)?;
    figures.push(Figure::Scatter(plain_scatter(
        xn,
        "400 points sampled from the 16-component model",
        dims,
        None,
    )?));
    let mut rows = Vec::new();
    for k in 1..=20 {
        let m = GaussianMixture::new(k)
            .covariance_type(CovarianceType::Full)
            .seed(0)
            .fit(xm)?;
        rows.push(SelectRow {
            k,
            covariance_type: CovarianceType::Full,
            bic: m.bic(xm)?,
            aic: m.aic(xm)?,
            lower_bound: m.lower_bound(),
            converged: m.converged(),
        });
    }
    figures.push(Figure::Curves(bic_curves(&rows, "moons200.npy")));
    let dp = BayesianGaussianMixture::new(16)
        .covariance_type(CovarianceType::Full)
        .weight_concentration_prior_type(WeightConcentrationPriorType::DirichletProcess)
        .max_iter(500)
        .seed(0)
        .fit(xm)?;
    let mut kept = gmm_scatter(dp.mixture(), xm, "moons200.npy", dims, false)?;
    let wmax = dp.weights().iter().copied().fold(0.0, f64::max);
    for (e, w) in kept.ellipses.iter_mut().zip(dp.weights()) {
        // Opacity by weight, without the floor: a component the prior switched off vanishes.
        e.alpha = 0.2 * w / wmax;
    }
    kept.title = format!(
        "moons200.npy: Dirichlet process, 16 components, {} kept (weight > {})",
        dp.effective_components(crate::fit::EFFECTIVE_WEIGHT),
        crate::fit::EFFECTIVE_WEIGHT
    );
    kept.weights_strip = Some(dp.weights().to_vec());
    figures.push(Figure::Scatter(kept));

    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Gaussian mixtures versus k-means</title>\n\
         <style>body{font-family:sans-serif;max-width:860px;margin:2em auto;color:#222}img{max-width:100%;border:1px solid #ddd}</style>\n\
         </head>\n<body>\n<h1>Gaussian mixtures versus k-means</h1>\n<p>Figures made by <code>gaussmix lesson</code>.</p>\n",
    );
    let mut out = Outputs::new();
    for (i, (page, fig)) in PAGES.iter().zip(&figures).enumerate() {
        for ext in ["svg", "png"] {
            let path = dir.join(format!("{}.{ext}", page.stem));
            let bytes = match fig {
                Figure::Scatter(s) => render_scatter(&path, s)?,
                Figure::Curves(c) => render_curves(&path, c)?,
            };
            out.bytes(&path, bytes);
        }
        let _ = write!(
            html,
            "<h2>{}. {}</h2>\n<p>{}</p>\n<p><img src=\"{stem}.svg\" alt=\"{}\"> <a href=\"{stem}.png\">PNG</a></p>\n",
            i + 1,
            page.title,
            page.text,
            page.title,
            stem = page.stem
        );
    }
    html.push_str("</body>\n</html>\n");
    out.bytes(&dir.join("index.html"), html.into_bytes());
    // Every figure and the page, or none of them.
    out.commit()?;
    println!(
        "gaussmix lesson: wrote {} figures and index.html to {}",
        PAGES.len() * 2,
        dir.display()
    );
    Ok(())
}

enum Figure {
    Scatter(Scatter),
    Curves(crate::plot::Curves),
}
