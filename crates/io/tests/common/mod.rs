//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use gaussmix_io::{Dataset, LoadOptions, MatrixView};

/// Path of a fixture made by `tests/data/make_npy.py`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("data")
        .join(name)
}

/// Open with default options, panicking with the error message on failure.
pub fn open(path: &Path) -> Dataset {
    match Dataset::open(path, &LoadOptions::default()) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    }
}

/// The fixtures' base matrix: 3 x 4, M[i][j] = (4 i + j) / 2 - 2.
pub fn m_values() -> Vec<f64> {
    (0..12).map(|k| f64::from(k) / 2.0 - 2.0).collect()
}

/// Assert that the view's slice lies inside the dataset's memory map, and return the byte
/// offset of its first element from the start of the map.
pub fn assert_view_in_map(ds: &Dataset) -> usize {
    assert!(ds.is_zero_copy(), "expected a zero-copy dataset: {:?}", ds);
    assert!(ds.is_mapped());
    let map = ds.mapped_bytes().expect("mapped bytes");
    let map_range = map.as_ptr_range();
    let (start, end) = match ds.view() {
        MatrixView::F32 { data, .. } => {
            let r = data.as_ptr_range();
            (r.start as *const u8, r.end as *const u8)
        }
        MatrixView::F64 { data, .. } => {
            let r = data.as_ptr_range();
            (r.start as *const u8, r.end as *const u8)
        }
    };
    assert!(
        map_range.start <= start && end <= map_range.end,
        "view {start:?}..{end:?} outside map {map_range:?}"
    );
    start as usize - map_range.start as usize
}

/// Assert the view's length invariant: `data.len() == (n - 1) * stride + d`.
pub fn assert_view_len(ds: &Dataset) {
    let v = ds.view();
    let len = match v {
        MatrixView::F32 { data, .. } => data.len(),
        MatrixView::F64 { data, .. } => data.len(),
    };
    assert_eq!(
        len,
        (v.n_samples() - 1) * v.row_stride() + v.n_features(),
        "view length"
    );
}
