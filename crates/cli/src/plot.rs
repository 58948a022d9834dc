//! Figures, with plotters' pure-Rust backends: SVG, or PNG rendered with an embedded DejaVu
//! font (nothing depends on system font libraries). Figures are rendered in memory and written
//! with the command's other outputs, all or nothing (`crate::output::Outputs`).
//!
//! Two kinds of figure: a scatter of two features (points coloured by component, optionally
//! sized by their membership probability, with each Gaussian's 1, 2 and 3 standard deviation
//! ellipses or each k-means centre's circle), and BIC/AIC curves against the number of
//! components. The palette is viridis, as in the lesson.
//!
//! In the SVG, every plotted point is one `<circle>`, every ellipse (component × sigma level)
//! and every k-means circle one `<polygon>`, and every centre marker a pair of `<line>`s.

use std::path::Path;
use std::sync::Once;

use anyhow::{Context, Result, anyhow, bail};
use gaussmix_core::{CovarianceType, DataRef, Float, GaussianMixtureModel, KMeansModel};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::UsageError;

/// At most this many points are drawn: larger inputs are subsampled (every `n / MAX`-th row).
pub const MAX_POINTS: usize = 20_000;

const SIZE: (u32, u32) = (800, 600);

/// The image format, from the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Scalable vector graphics.
    Svg,
    /// A PNG bitmap.
    Png,
}

impl Format {
    /// `.svg` or `.png` (any case); anything else is a usage error.
    pub fn from_path(path: &Path) -> Result<Format> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            _ => Err(UsageError(format!(
                "{}: figures are .svg or .png files",
                path.display()
            ))
            .into()),
        }
    }
}

impl Format {
    /// The format of an output: from its extension, or SVG for a stream (a character device,
    /// a FIFO, `/dev/stdout`) whose name has no figure extension.
    pub fn for_output(path: &Path) -> Result<Format> {
        Format::from_path(path).or_else(|e| match gaussmix_io::output_target(path) {
            Ok(t) if !t.is_file() => Ok(Format::Svg),
            _ => Err(e),
        })
    }
}

/// Viridis at `t` in `[0, 1]` (matplotlib's table, every tenth entry, interpolated).
pub fn viridis(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 11] = [
        (68, 1, 84),
        (72, 35, 116),
        (64, 67, 135),
        (52, 94, 141),
        (41, 120, 142),
        (32, 144, 140),
        (34, 167, 132),
        (68, 190, 112),
        (121, 209, 81),
        (189, 222, 38),
        (253, 231, 37),
    ];
    let t = t.clamp(0.0, 1.0) * 10.0;
    let i = (t.floor() as usize).min(9);
    let f = t - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    let mix = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The colour of component `c` of `k`.
pub fn component_color(c: usize, k: usize) -> RGBColor {
    viridis(if k <= 1 {
        0.0
    } else {
        c as f64 / (k - 1) as f64
    })
}

/// A Gaussian's ellipses: centre, 2 × 2 covariance (row-major), opacity, colour index.
#[derive(Debug, Clone)]
pub struct Ellipse {
    /// Centre.
    pub center: [f64; 2],
    /// Covariance of the two plotted features.
    pub cov: [f64; 4],
    /// Fill opacity of each of the three levels.
    pub alpha: f64,
}

/// A scatter of two features with decorations.
#[derive(Debug, Clone, Default)]
pub struct Scatter {
    /// Title.
    pub title: String,
    /// Axis labels.
    pub labels_xy: (String, String),
    /// The points.
    pub points: Vec<[f64; 2]>,
    /// Colour index of each point (viridis over `n_colors`), or grey.
    pub colors: Option<Vec<usize>>,
    /// Number of colours.
    pub n_colors: usize,
    /// Marker area of each point in square pixels (default 40, the lesson's `s=40`).
    pub areas: Option<Vec<f64>>,
    /// Gaussian ellipses at 1, 2 and 3 standard deviations.
    pub ellipses: Vec<Ellipse>,
    /// Filled circles (centre, radius), drawn beneath the points.
    pub circles: Vec<([f64; 2], f64)>,
    /// Centre markers (crosses).
    pub centers: Vec<[f64; 2]>,
    /// The mixture weights, drawn as a strip of bars under the scatter (one per component, in
    /// its colour).
    pub weights_strip: Option<Vec<f64>>,
}

/// BIC and AIC curves.
#[derive(Debug, Clone, Default)]
pub struct Curves {
    /// Title.
    pub title: String,
    /// Each curve: name and `(k, value)` points.
    pub series: Vec<(String, Vec<(usize, f64)>)>,
    /// The best point, marked.
    pub best: Option<(usize, f64, String)>,
}

fn register_font() {
    static FONT: Once = Once::new();
    FONT.call_once(|| {
        // The font is compiled in; registering it cannot fail for a valid TTF.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            dejavu::sans::regular(),
        );
    });
}

/// Renders with `draw` into the bytes of the file `path` (SVG or PNG, by its extension; SVG
/// for a stream such as `/dev/stdout`), for [`Outputs`](crate::output::Outputs) to write.
fn render(
    path: &Path,
    draw: impl Fn(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<()> + Copy,
    draw_png: impl Fn(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
) -> Result<Vec<u8>> {
    register_font();
    match Format::for_output(path)? {
        Format::Svg => {
            let mut svg = String::new();
            {
                let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
                draw(&root)?;
                root.present()
                    .map_err(|e| anyhow!("drawing {}: {e}", path.display()))?;
            }
            Ok(svg.into_bytes())
        }
        Format::Png => {
            let mut rgb = vec![0u8; (SIZE.0 * SIZE.1 * 3) as usize];
            {
                let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
                draw_png(&root)?;
                root.present()
                    .map_err(|e| anyhow!("drawing {}: {e}", path.display()))?;
            }
            let mut bytes = Vec::new();
            let mut enc = png::Encoder::new(&mut bytes, SIZE.0, SIZE.1);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            let mut writer = enc
                .write_header()
                .map_err(|e| anyhow!("encoding {}: {e}", path.display()))?;
            writer
                .write_image_data(&rgb)
                .map_err(|e| anyhow!("encoding {}: {e}", path.display()))?;
            writer
                .finish()
                .map_err(|e| anyhow!("encoding {}: {e}", path.display()))?;
            Ok(bytes)
        }
    }
}

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("drawing failed: {e}")
}

/// `[lo, hi]` of values, padded by 5% (and never empty).
fn range(values: impl Iterator<Item = f64>) -> std::ops::Range<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    });
    if !lo.is_finite() {
        return -1.0..1.0;
    }
    let pad = if hi > lo {
        (hi - lo) * 0.05
    } else {
        lo.abs().max(1.0) * 0.05
    };
    (lo - pad)..(hi + pad)
}

/// Widens one of the two ranges so that a unit is as long on both axes (the lesson's
/// `axis('equal')`): circles stay round and ellipses keep their shape.
fn equal_aspect(
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
) -> (std::ops::Range<f64>, std::ops::Range<f64>) {
    // The plotting area of a scatter figure, in pixels (the figure less margins, labels, title).
    let (w, h) = (
        SIZE.0 as f64 - 2.0 * 12.0 - 52.0,
        SIZE.1 as f64 - 2.0 * 12.0 - 36.0 - 30.0,
    );
    let (dx, dy) = (x.end - x.start, y.end - y.start);
    if dx / w > dy / h {
        let grow = dx / w * h - dy;
        (x, (y.start - grow / 2.0)..(y.end + grow / 2.0))
    } else {
        let grow = dy / h * w - dx;
        ((x.start - grow / 2.0)..(x.end + grow / 2.0), y)
    }
}

/// The outline of an ellipse `{x : (x - c)ᵀ Σ⁻¹ (x - c) = s²}` as a closed polygon.
pub fn ellipse_outline(center: [f64; 2], cov: [f64; 4], sigmas: f64) -> Vec<(f64, f64)> {
    // Eigen-decomposition of the symmetric 2 × 2 matrix.
    let (a, b, d) = (cov[0], 0.5 * (cov[1] + cov[2]), cov[3]);
    let tr = 0.5 * (a + d);
    let disc = (0.25 * (a - d) * (a - d) + b * b).sqrt();
    let (l1, l2) = ((tr + disc).max(0.0), (tr - disc).max(0.0));
    let angle = if b == 0.0 && a >= d {
        0.0
    } else if b == 0.0 {
        std::f64::consts::FRAC_PI_2
    } else {
        (l1 - a).atan2(b)
    };
    let (r1, r2) = (sigmas * l1.sqrt(), sigmas * l2.sqrt());
    let (ca, sa) = (angle.cos(), angle.sin());
    (0..=72)
        .map(|i| {
            let t = i as f64 / 72.0 * std::f64::consts::TAU;
            let (u, v) = (r1 * t.cos(), r2 * t.sin());
            (center[0] + u * ca - v * sa, center[1] + u * sa + v * ca)
        })
        .collect()
}

fn circle_outline(center: [f64; 2], r: f64) -> Vec<(f64, f64)> {
    ellipse_outline(center, [r * r, 0.0, 0.0, r * r], 1.0)
}

macro_rules! draw_scatter_on {
    ($root:expr, $s:expr) => {{
        let s: &Scatter = $s;
        $root.fill(&WHITE).map_err(err)?;
        // With a weights strip, the scatter takes the upper three quarters.
        let (upper, lower) = $root.split_vertically(if s.weights_strip.is_some() {
            SIZE.1 * 3 / 4
        } else {
            SIZE.1
        });
        let root = &upper;
        let (xr, yr) = equal_aspect(
            range(s.points.iter().map(|p| p[0])),
            range(s.points.iter().map(|p| p[1])),
        );
        let mut chart = ChartBuilder::on(root)
            .caption(&s.title, ("sans-serif", 17))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(52)
            .build_cartesian_2d(xr, yr)
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc(s.labels_xy.0.as_str())
            .y_desc(s.labels_xy.1.as_str())
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        let grey = RGBColor(0xCC, 0xCC, 0xCC);
        for (c, r) in &s.circles {
            chart
                .draw_series(std::iter::once(Polygon::new(
                    circle_outline(*c, *r),
                    grey.mix(0.5).filled(),
                )))
                .map_err(err)?;
        }
        for (i, e) in s.ellipses.iter().enumerate() {
            let color = component_color(i, s.ellipses.len());
            for sig in 1..=3 {
                let outline = ellipse_outline(e.center, e.cov, sig as f64);
                chart
                    .draw_series(std::iter::once(Polygon::new(
                        outline,
                        color.mix(e.alpha).filled(),
                    )))
                    .map_err(err)?;
            }
        }
        let points = s.points.iter().enumerate().map(|(i, p)| {
            let color = match &s.colors {
                Some(c) => component_color(c[i], s.n_colors),
                None => RGBColor(0x80, 0x80, 0x80),
            };
            let area = s.areas.as_ref().map_or(40.0, |a| a[i]);
            let radius = (area / std::f64::consts::PI).sqrt().max(0.5);
            Circle::new(
                (p[0], p[1]),
                radius,
                color
                    .mix(if s.colors.is_some() { 0.7 } else { 0.4 })
                    .filled(),
            )
        });
        chart.draw_series(points).map_err(err)?;
        let red = RGBColor(0xD6, 0x27, 0x28);
        chart
            .draw_series(
                s.centers
                    .iter()
                    .map(|c| Cross::new((c[0], c[1]), 6, red.stroke_width(3))),
            )
            .map_err(err)?;
        if let Some(w) = &s.weights_strip {
            draw_weights_strip(&lower, w)?;
        }
        Ok(())
    }};
}

/// Bars of the mixture weights, one per component in its colour.
fn draw_weights_strip<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, w: &[f64]) -> Result<()> {
    let k = w.len();
    let wmax = w.iter().copied().fold(0.0, f64::max).max(1e-12);
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .x_label_area_size(30)
        .y_label_area_size(52)
        .build_cartesian_2d(-0.5..k as f64 - 0.5, 0.0..wmax * 1.1)
        .map_err(err)?;
    chart
        .configure_mesh()
        .light_line_style(WHITE)
        .x_desc("component")
        .y_desc("weight")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.2}"))
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(err)?;
    chart
        .draw_series(w.iter().enumerate().map(|(c, &v)| {
            let x = c as f64;
            Rectangle::new(
                [(x - 0.4, 0.0), (x + 0.4, v)],
                component_color(c, k).filled(),
            )
        }))
        .map_err(err)?;
    Ok(())
}

/// Draws a scatter figure: the bytes of the `.svg` or `.png` file `path`.
pub fn render_scatter(path: &Path, s: &Scatter) -> Result<Vec<u8>> {
    render(
        path,
        |root| draw_scatter_on!(root, s),
        |root| draw_scatter_on!(root, s),
    )
    .with_context(|| format!("drawing the figure {}", path.display()))
}

macro_rules! draw_curves_on {
    ($root:expr, $c:expr) => {{
        let c: &Curves = $c;
        let root = $root;
        root.fill(&WHITE).map_err(err)?;
        let ks = c
            .series
            .iter()
            .flat_map(|(_, pts)| pts.iter().map(|p| p.0 as f64));
        let xr = range(ks);
        let yr = range(c.series.iter().flat_map(|(_, pts)| pts.iter().map(|p| p.1)));
        let mut chart = ChartBuilder::on(root)
            .caption(&c.title, ("sans-serif", 17))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(70)
            .build_cartesian_2d(xr, yr)
            .map_err(err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE)
            .x_desc("number of components")
            .y_desc("criterion (lower is better)")
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| format!("{v:.0}"))
            .label_style(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        let n = c.series.len();
        for (i, (name, pts)) in c.series.iter().enumerate() {
            let color = component_color(i, n.max(2));
            let style = ShapeStyle::from(&color).stroke_width(2);
            chart
                .draw_series(LineSeries::new(
                    pts.iter().map(|p| (p.0 as f64, p.1)),
                    style,
                ))
                .map_err(err)?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style));
        }
        if let Some((k, v, label)) = &c.best {
            let red = RGBColor(0xD6, 0x27, 0x28);
            chart
                .draw_series(std::iter::once(Cross::new(
                    (*k as f64, *v),
                    8,
                    red.stroke_width(3),
                )))
                .map_err(err)?
                .label(label.as_str())
                .legend(move |(x, y)| Cross::new((x + 9, y), 5, red.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .draw()
            .map_err(err)?;
        Ok(())
    }};
}

/// Draws BIC/AIC curves: the bytes of the `.svg` or `.png` file `path`.
pub fn render_curves(path: &Path, c: &Curves) -> Result<Vec<u8>> {
    render(
        path,
        |root| draw_curves_on!(root, c),
        |root| draw_curves_on!(root, c),
    )
    .with_context(|| format!("drawing the figure {}", path.display()))
}

/// Which rows to draw: all, or an evenly spaced subsample of [`MAX_POINTS`].
pub fn subsample(n: usize) -> Vec<usize> {
    if n <= MAX_POINTS {
        (0..n).collect()
    } else {
        (0..MAX_POINTS).map(|i| i * n / MAX_POINTS).collect()
    }
}

/// The plotted features `(i, j)` of row `r`.
fn pick<T: Float>(x: &DataRef<'_, T>, r: usize, dims: (usize, usize)) -> [f64; 2] {
    let row = x.row(r);
    [row[dims.0].to_f64(), row[dims.1].to_f64()]
}

/// Checks `--dims` against the data.
pub fn check_dims(dims: (usize, usize), d: usize) -> Result<()> {
    if dims.0 >= d || dims.1 >= d {
        return Err(UsageError(format!(
            "--dims {},{} is out of range: the data has {d} feature{} (0-based)",
            dims.0,
            dims.1,
            if d == 1 { "" } else { "s" }
        ))
        .into());
    }
    Ok(())
}

/// The marginal covariance of features `(i, j)` of component `c`.
pub fn marginal_covariance(m: &GaussianMixtureModel, c: usize, dims: (usize, usize)) -> [f64; 4] {
    let d = m.n_features();
    let cov = m.covariances();
    let (i, j) = dims;
    match m.covariance_type() {
        CovarianceType::Full => {
            let s = &cov[c * d * d..(c + 1) * d * d];
            [s[i * d + i], s[i * d + j], s[j * d + i], s[j * d + j]]
        }
        CovarianceType::Tied => [
            cov[i * d + i],
            cov[i * d + j],
            cov[j * d + i],
            cov[j * d + j],
        ],
        CovarianceType::Diag => [cov[c * d + i], 0.0, 0.0, cov[c * d + j]],
        CovarianceType::Spherical => [cov[c], 0.0, 0.0, cov[c]],
    }
}

/// What the title says about the data: its name and, when subsampled, how many points are shown.
fn data_title(name: &str, n: usize, shown: usize) -> String {
    if shown < n {
        format!("{name} ({shown} of {n} points shown)")
    } else {
        format!("{name} ({n} points)")
    }
}

fn axis_labels(dims: (usize, usize)) -> (String, String) {
    (format!("feature {}", dims.0), format!("feature {}", dims.1))
}

/// The lesson's picture of a Gaussian mixture: points coloured by component (sized by 50·p²
/// with `proba_size`, p the largest membership probability), and every component's ellipses
/// with opacity proportional to its weight (`0.2 · w / max w`, as the lesson draws them).
pub fn gmm_scatter<T: Float>(
    m: &GaussianMixtureModel,
    x: DataRef<'_, T>,
    name: &str,
    dims: (usize, usize),
    proba_size: bool,
) -> Result<Scatter> {
    check_dims(dims, x.n_features())?;
    let rows = subsample(x.n_samples());
    let k = m.n_components();
    let sub: Vec<f64> = rows
        .iter()
        .flat_map(|&r| x.row(r).iter().map(|v| v.to_f64()))
        .collect();
    let sx = DataRef::new(&sub, rows.len(), x.n_features())?;
    let proba = m.predict_proba(sx)?;
    let labels = m.predict(sx)?;
    let score = m.score(x)?;
    let areas = proba_size.then(|| {
        (0..rows.len())
            .map(|i| {
                let p = proba[i * k..(i + 1) * k]
                    .iter()
                    .copied()
                    .fold(0.0, f64::max);
                50.0 * p * p
            })
            .collect()
    });
    let wmax = m.weights().iter().copied().fold(0.0, f64::max);
    let ellipses = (0..k)
        .map(|c| Ellipse {
            center: [
                m.means()[c * m.n_features() + dims.0],
                m.means()[c * m.n_features() + dims.1],
            ],
            cov: marginal_covariance(m, c, dims),
            alpha: (0.2 * m.weights()[c] / wmax).clamp(0.02, 1.0),
        })
        .collect();
    Ok(Scatter {
        title: format!(
            "{}: GMM, k={k}, {} covariances, log-likelihood {:.3}",
            data_title(name, x.n_samples(), rows.len()),
            m.covariance_type(),
            score
        ),
        labels_xy: axis_labels(dims),
        points: rows.iter().map(|&r| pick(&x, r, dims)).collect(),
        colors: Some(labels),
        n_colors: k,
        areas,
        ellipses,
        ..Default::default()
    })
}

/// The lesson's picture of k-means: points coloured by cluster, each centre marked, and a
/// circle through the farthest member of each cluster (in the two plotted features).
pub fn kmeans_scatter<T: Float>(
    m: &KMeansModel,
    x: DataRef<'_, T>,
    name: &str,
    dims: (usize, usize),
) -> Result<Scatter> {
    check_dims(dims, x.n_features())?;
    let k = m.n_clusters();
    let d = m.n_features();
    let labels = m.predict(x)?;
    let centers: Vec<[f64; 2]> = (0..k)
        .map(|c| [m.centers()[c * d + dims.0], m.centers()[c * d + dims.1]])
        .collect();
    let mut radius = vec![0.0f64; k];
    for (r, &l) in labels.iter().enumerate() {
        let p = pick(&x, r, dims);
        let dist = ((p[0] - centers[l][0]).powi(2) + (p[1] - centers[l][1]).powi(2)).sqrt();
        radius[l] = radius[l].max(dist);
    }
    let rows = subsample(x.n_samples());
    let inertia = m.inertia_of(x)?;
    Ok(Scatter {
        title: format!(
            "{}: k-means, k={k}, inertia {:.4}",
            data_title(name, x.n_samples(), rows.len()),
            inertia
        ),
        labels_xy: axis_labels(dims),
        points: rows.iter().map(|&r| pick(&x, r, dims)).collect(),
        colors: Some(rows.iter().map(|&r| labels[r]).collect()),
        n_colors: k,
        circles: centers.iter().copied().zip(radius).collect(),
        centers,
        ..Default::default()
    })
}

/// Points alone (grey, or coloured by given labels).
pub fn plain_scatter<T: Float>(
    x: DataRef<'_, T>,
    title: &str,
    dims: (usize, usize),
    labels: Option<(&[usize], usize)>,
) -> Result<Scatter> {
    check_dims(dims, x.n_features())?;
    let rows = subsample(x.n_samples());
    if x.n_samples() == 0 {
        bail!("nothing to plot");
    }
    Ok(Scatter {
        title: format!("{title} ({} points)", x.n_samples()),
        labels_xy: axis_labels(dims),
        points: rows.iter().map(|&r| pick(&x, r, dims)).collect(),
        colors: labels.map(|(l, _)| rows.iter().map(|&r| l[r]).collect()),
        n_colors: labels.map_or(1, |(_, k)| k),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellipse_axes_follow_the_covariance() {
        // Variance 4 along x, 1 along y: the 2-sigma outline spans ±4 and ±2.
        let e = ellipse_outline([1.0, -1.0], [4.0, 0.0, 0.0, 1.0], 2.0);
        let xs: Vec<f64> = e.iter().map(|p| p.0).collect();
        let ys: Vec<f64> = e.iter().map(|p| p.1).collect();
        let max = |v: &[f64]| v.iter().copied().fold(f64::MIN, f64::max);
        let min = |v: &[f64]| v.iter().copied().fold(f64::MAX, f64::min);
        assert!((max(&xs) - 5.0).abs() < 1e-9 && (min(&xs) + 3.0).abs() < 1e-9);
        assert!((max(&ys) - 1.0).abs() < 0.01 && (min(&ys) + 3.0).abs() < 0.01);
        // A correlated covariance: every outline point has Mahalanobis distance 1.
        let cov = [2.0, 1.2, 1.2, 1.0];
        let det = cov[0] * cov[3] - cov[1] * cov[2];
        for (x, y) in ellipse_outline([0.0, 0.0], cov, 1.0) {
            let q = (cov[3] * x * x - 2.0 * cov[1] * x * y + cov[0] * y * y) / det;
            assert!((q - 1.0).abs() < 1e-9, "{q}");
        }
    }

    #[test]
    fn viridis_ends_and_subsampling() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(subsample(10).len(), 10);
        let s = subsample(1_000_000);
        assert_eq!(s.len(), MAX_POINTS);
        assert!(s.windows(2).all(|w| w[0] < w[1]) && *s.last().unwrap() < 1_000_000);
    }
}
