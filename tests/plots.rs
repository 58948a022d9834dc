//! Figures: SVG structure (one marker per point, one shape per ellipse level), PNG decoding,
//! subsampling of large inputs, the lesson's index, and errors.

mod common;

use std::path::Path;

use common::{fails, ok, tmp};
use gaussmix::io::write_npy_f64;

/// Parses the SVG (asserting it is well-formed XML) and counts elements by name.
fn svg_counts(path: &Path) -> (usize, usize, usize, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&text)
        .unwrap_or_else(|e| panic!("{}: not well-formed XML: {e}", path.display()));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let count = |name: &str| {
        doc.descendants()
            .filter(|n| n.tag_name().name() == name)
            .count()
    };
    let title = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "text")
        .filter_map(|n| n.text())
        .next()
        .unwrap_or_default()
        .to_string();
    (count("circle"), count("polygon"), count("polyline"), title)
}

/// Checks the PNG signature, decodes it and returns its size; asserts something was drawn.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
    let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let pixels = &buf[..info.buffer_size()];
    assert!(
        pixels.chunks(3).any(|p| p != [255, 255, 255]),
        "blank image"
    );
    (info.width, info.height)
}

#[test]
fn gmm_figure_has_a_marker_per_point_and_three_ellipses_per_component() {
    let d = tmp();
    ok(d.path(), &["fit", "--quiet", "--plot", "g.svg"]);
    let (circles, polygons, _, title) = svg_counts(&d.path().join("g.svg"));
    assert_eq!(circles, 400);
    assert_eq!(polygons, 4 * 3);
    assert!(
        title.contains("k=4") && title.contains("full") && title.contains("log-likelihood"),
        "{title}"
    );
    ok(
        d.path(),
        &[
            "fit",
            "--quiet",
            "--covariance",
            "diag",
            "-k",
            "3",
            "--plot",
            "g.png",
        ],
    );
    assert_eq!(png_size(&d.path().join("g.png")), (800, 600));
}

#[test]
fn kmeans_figure_has_a_circle_per_cluster() {
    let d = tmp();
    ok(
        d.path(),
        &["kmeans", "--quiet", "--plot", "k.svg", "-o", "k.json"],
    );
    let (circles, polygons, _, title) = svg_counts(&d.path().join("k.svg"));
    assert_eq!(circles, 400);
    assert_eq!(
        polygons, 4,
        "one circle through the farthest member of each cluster"
    );
    assert!(
        title.contains("k-means") && title.contains("inertia"),
        "{title}"
    );
}

#[test]
fn plot_command_with_probabilities_and_chosen_dimensions() {
    let d = tmp();
    let p = d.path();
    ok(
        p,
        &[
            "gen",
            "blobs",
            "-n",
            "300",
            "--dim",
            "3",
            "--centers",
            "3",
            "-o",
            "x.npy",
        ],
    );
    ok(
        p,
        &[
            "fit",
            "x.npy",
            "-k",
            "3",
            "--covariance",
            "tied",
            "-o",
            "m.json",
            "--quiet",
        ],
    );
    ok(
        p,
        &[
            "plot",
            "m.json",
            "x.npy",
            "-o",
            "f.svg",
            "--proba-size",
            "--dims",
            "2,0",
        ],
    );
    let (circles, polygons, _, title) = svg_counts(&p.join("f.svg"));
    assert_eq!((circles, polygons), (300, 9));
    assert!(title.contains("x.npy") && title.contains("tied"), "{title}");
    let text = std::fs::read_to_string(p.join("f.svg")).unwrap();
    assert!(text.contains("feature 2") && text.contains("feature 0"));
    ok(p, &["plot", "m.json", "x.npy", "-o", "f.png"]);
    assert_eq!(png_size(&p.join("f.png")), (800, 600));
}

#[test]
fn large_inputs_are_subsampled_and_the_title_says_so() {
    let d = tmp();
    let p = d.path();
    ok(p, &["gen", "blobs", "-n", "30000", "-o", "x.npy"]);
    ok(
        p,
        &["fit", "x.npy", "-k", "4", "--quiet", "--plot", "f.svg"],
    );
    let (circles, _, _, title) = svg_counts(&p.join("f.svg"));
    assert_eq!(circles, 20_000);
    assert!(title.contains("20000 of 30000 points shown"), "{title}");
}

#[test]
fn select_draws_bic_and_aic() {
    let d = tmp();
    ok(
        d.path(),
        &["select", "--k-min", "1", "--k-max", "6", "--plot", "s.svg"],
    );
    let (_, _, polylines, title) = svg_counts(&d.path().join("s.svg"));
    // BIC and AIC curves (and their legend entries).
    assert!(polylines >= 2, "{polylines}");
    assert!(title.contains("BIC and AIC"), "{title}");
    let text = std::fs::read_to_string(d.path().join("s.svg")).unwrap();
    assert!(
        text.contains("lowest BIC: k=4"),
        "the demo data has four blobs"
    );
}

#[test]
fn lesson_writes_every_file_its_index_lists() {
    let d = tmp();
    let out = d.path().join("lesson");
    ok(d.path(), &["lesson", out.to_str().unwrap()]);
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    let mut files = Vec::new();
    for attr in ["src=\"", "href=\""] {
        for part in index.split(attr).skip(1) {
            files.push(part.split('"').next().unwrap().to_string());
        }
    }
    assert_eq!(files.len(), 20, "ten figures, SVG and PNG: {files:?}");
    for f in &files {
        let path = out.join(f);
        assert!(path.is_file(), "{f} is listed but missing");
        if f.ends_with(".svg") {
            svg_counts(&path);
        } else {
            assert_eq!(png_size(&path), (800, 600));
        }
    }
    assert_eq!(index.matches("<h2>").count(), 10);
    // The moons figure: 200 points, 16 components × 3 levels.
    assert_eq!(svg_counts(&out.join("07_moons_gmm16.svg")).0, 200);
    assert_eq!(svg_counts(&out.join("07_moons_gmm16.svg")).1, 48);
    assert_eq!(svg_counts(&out.join("08_moons_samples.svg")).0, 400);
    // The Dirichlet-process figure: the same points and 16 × 3 ellipses, the title saying how
    // many components were kept, and a strip of 16 weight bars beneath.
    let (points, ellipses, _, title) = svg_counts(&out.join("10_moons_dirichlet.svg"));
    assert_eq!((points, ellipses), (200, 48));
    assert!(
        title.contains("Dirichlet process, 16 components") && title.contains("kept"),
        "{title}"
    );
    let text = std::fs::read_to_string(out.join("10_moons_dirichlet.svg")).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let bars = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "rect" && n.attribute("opacity") != Some("0"))
        .count();
    assert!(bars >= 16, "{bars} rectangles");
    assert!(
        doc.descendants().any(
            |n| n.tag_name().name() == "text" && n.text().is_some_and(|t| t.trim() == "weight")
        ),
        "the strip's axis is labelled"
    );
}

#[test]
fn figure_errors() {
    let d = tmp();
    let p = d.path();
    write_npy_f64(
        &p.join("x.npy"),
        &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 1.0, 2.0],
        &[4, 2],
    )
    .unwrap();
    fails(
        p,
        &["fit", "--plot", "f.jpg"],
        2,
        &["f.jpg", ".svg or .png"],
    );
    fails(
        p,
        &["fit", "--plot", "f.svg", "--dims", "0,5", "-o", "m.json"],
        2,
        &["--dims", "2 features"],
    );
    fails(
        p,
        &["kmeans", "--plot", "f.svg", "--dims", "0,5", "-o", "m.json"],
        2,
        &["--dims", "2 features"],
    );
    fails(
        p,
        &["fit", "--plot", "f.svg", "--dims", "1,1"],
        2,
        &["--dims", "differ"],
    );
    ok(p, &["kmeans", "-o", "k.json", "--quiet"]);
    fails(
        p,
        &["plot", "k.json", "x.npy", "-o", "f.svg", "--proba-size"],
        1,
        &["k-means", "--proba-size"],
    );
}
