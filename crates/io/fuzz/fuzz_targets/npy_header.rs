//! Fuzz the `.npy` header parser and the whole in-memory `.npy` loader: no input may panic,
//! and an accepted input must give a view consistent with its shape.
#![no_main]

use std::path::Path;

use gaussmix_io::{Dataset, MatrixView, npy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = npy::parse_header(data, Path::new("fuzz.npy")) {
        assert!(h.data_offset <= data.len());
        assert!(matches!(h.major, 1..=3) && h.minor == 0);
    }
    if let Ok(ds) = Dataset::from_npy_bytes(data, "fuzz.npy") {
        let (n, d) = (ds.n_samples(), ds.n_features());
        assert!(n > 0 && d > 0);
        let len = match ds.view() {
            MatrixView::F32 {
                data, row_stride, ..
            } => {
                assert_eq!(row_stride, d);
                data.len()
            }
            MatrixView::F64 {
                data, row_stride, ..
            } => {
                assert_eq!(row_stride, d);
                data.len()
            }
        };
        assert_eq!(len, n * d);
        let _ = ds.check_finite();
    }
});
