//! Fuzz every in-memory loader: the first byte picks the format (and, for raw files, the
//! number of features), the rest is the file. No input may panic.
#![no_main]

use gaussmix_io::{Dataset, Format, LoadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, bytes)) = data.split_first() else {
        return;
    };
    let format = Format::ALL[usize::from(sel) % Format::ALL.len()];
    let opts = LoadOptions {
        n_features: Some(usize::from(sel >> 3) + 1),
        format: Some(format),
    };
    if let Ok(ds) = Dataset::from_bytes(bytes, "fuzz", &opts) {
        let v = ds.view();
        let (n, d, s) = (v.n_samples(), v.n_features(), v.row_stride());
        assert!(n > 0 && d > 0 && s >= d);
        assert!(v.get(n - 1, d - 1).is_some());
        assert_eq!(v.to_f64_vec().len(), n * d);
        let _ = ds.check_finite();
    }
});
