//! Property tests: random bytes and random mutations of valid files give an `Err` (or, for a
//! mutation that happens to stay valid, a consistent dataset), never a panic; writers and
//! the text reader round-trip exactly.

mod common;

use std::path::Path;

use gaussmix_io::{Dataset, Format, LoadError, LoadOptions, MatrixView, npy, write_npy_f64};
use proptest::prelude::*;

const FIXTURES: &[&[u8]] = &[
    include_bytes!("data/v1_f8_c.npy"),
    include_bytes!("data/v2_f8_c.npy"),
    include_bytes!("data/v3_f4_c.npy"),
    include_bytes!("data/f8_fortran.npy"),
    include_bytes!("data/f4_bigendian_fortran.npy"),
    include_bytes!("data/f8_unaligned.npy"),
    include_bytes!("data/i4.npy"),
    include_bytes!("data/b1.npy"),
    include_bytes!("data/f2.npy"),
    include_bytes!("data/oned_f8.npy"),
    include_bytes!("data/structured.npy"),
    include_bytes!("data/zerod.npy"),
];

/// Check what a successfully loaded dataset promises.
fn check_invariants(ds: &Dataset) -> Result<(), TestCaseError> {
    let v = ds.view();
    let (n, d, s) = (v.n_samples(), v.n_features(), v.row_stride());
    prop_assert!(n > 0 && d > 0 && s >= d);
    let len = match v {
        MatrixView::F32 { data, .. } => data.len(),
        MatrixView::F64 { data, .. } => data.len(),
    };
    prop_assert_eq!(len, (n - 1) * s + d);
    prop_assert!(v.get(n - 1, d - 1).is_some());
    prop_assert_eq!(v.to_f64_vec().len(), n * d);
    let _ = ds.check_finite();
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
    /// Overwrite with a token likely to confuse the parser.
    Splice(usize, &'static str),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let tokens = prop::sample::select(vec![
        "{",
        "}",
        "(",
        ")",
        "[",
        "]",
        ",",
        ":",
        "'",
        "\"",
        "\\",
        "True",
        "False",
        "None",
        "-1",
        "99999999999999999999",
        "'descr'",
        "'shape'",
        "'fortran_order'",
        "'<f8'",
        "'>f4'",
        "'|O'",
        "'<U3'",
        "(0,)",
        "()",
        "(3, 4, 5)",
        "\n",
        "\u{e9}",
        "\x00",
        "\u{ff}",
    ]);
    prop_oneof![
        (0usize..160, any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (0usize..160, any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (0usize..160).prop_map(Mutation::Remove),
        (0usize..400).prop_map(Mutation::Truncate),
        (0usize..160, tokens).prop_map(|(i, t)| Mutation::Splice(i, t)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    match *m {
        Mutation::Set(i, b) if i < len => bytes[i] = b,
        Mutation::Insert(i, b) if i <= len => bytes.insert(i, b),
        Mutation::Remove(i) if i < len => {
            bytes.remove(i);
        }
        Mutation::Truncate(n) => bytes.truncate(n),
        Mutation::Splice(i, t) if i < len => {
            let end = (i + t.len()).min(len);
            bytes.splice(i..end, t.bytes());
        }
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_are_refused_as_npy(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = npy::parse_header(&bytes, Path::new("r.npy"));
        prop_assert!(Dataset::from_npy_bytes(&bytes, "r.npy").is_err());
    }

    #[test]
    fn random_bytes_with_a_valid_magic_are_refused(
        version in prop::sample::select(vec![1u8, 2, 3]),
        bytes in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut file = b"\x93NUMPY".to_vec();
        file.push(version);
        file.push(0);
        file.extend_from_slice(&bytes);
        prop_assert!(Dataset::from_npy_bytes(&file, "r.npy").is_err());
    }

    #[test]
    fn random_bytes_in_every_format_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..300),
        format in prop::sample::select(Format::ALL.to_vec()),
        d in prop::option::of(0usize..10),
    ) {
        let opts = LoadOptions { n_features: d, format: Some(format) };
        if let Ok(ds) = Dataset::from_bytes(&bytes, "r", &opts) {
            check_invariants(&ds)?;
        }
    }

    #[test]
    fn mutated_npy_files_never_panic(
        which in 0..FIXTURES.len(),
        mutations in prop::collection::vec(mutation(), 1..5),
    ) {
        let mut bytes = FIXTURES[which].to_vec();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        let _ = npy::parse_header(&bytes, Path::new("m.npy"));
        if let Ok(ds) = Dataset::from_npy_bytes(&bytes, "m.npy") {
            check_invariants(&ds)?;
        }
    }

    #[test]
    fn truncated_npy_files_are_errors(which in 0..FIXTURES.len(), cut in 0usize..1000) {
        let full = FIXTURES[which];
        let cut = cut % full.len();
        let e = Dataset::from_npy_bytes(&full[..cut], "t.npy");
        prop_assert!(e.is_err());
        if cut == 0 {
            let is_empty = matches!(e, Err(LoadError::Empty { .. }));
            prop_assert!(is_empty);
        }
    }

    #[test]
    fn a_corrupted_magic_is_bad_magic(which in 0..FIXTURES.len(), i in 0usize..6, b in any::<u8>()) {
        let mut bytes = FIXTURES[which].to_vec();
        prop_assume!(bytes[i] != b);
        bytes[i] = b;
        let is_bad_magic = matches!(
            Dataset::from_npy_bytes(&bytes, "c.npy"),
            Err(LoadError::BadMagic { .. })
        );
        prop_assert!(is_bad_magic);
    }

    #[test]
    fn mutated_vecs_and_bins_never_panic(
        format in prop::sample::select(vec![Format::Fvecs, Format::Bvecs, Format::Fbin, Format::U8bin]),
        n in 1usize..5,
        d in 1usize..5,
        mutations in prop::collection::vec(mutation(), 0..4),
    ) {
        let mut bytes = Vec::new();
        let size = if matches!(format, Format::Fvecs | Format::Fbin) { 4 } else { 1 };
        if matches!(format, Format::Fbin | Format::U8bin) {
            bytes.extend_from_slice(&(n as u32).to_le_bytes());
            bytes.extend_from_slice(&(d as u32).to_le_bytes());
            bytes.resize(8 + n * d * size, 1);
        } else {
            for _ in 0..n {
                bytes.extend_from_slice(&(d as i32).to_le_bytes());
                bytes.resize(bytes.len() + d * size, 2);
            }
        }
        let unmutated = Dataset::from_bytes(&bytes, "v", &LoadOptions { n_features: None, format: Some(format) });
        prop_assert!(unmutated.is_ok());
        for m in &mutations {
            apply(&mut bytes, m);
        }
        if let Ok(ds) = Dataset::from_bytes(&bytes, "v", &LoadOptions { n_features: None, format: Some(format) }) {
            check_invariants(&ds)?;
        }
    }

    #[test]
    fn random_text_never_panics(text in "[0-9a-z ,.;#\"\t\r\n+-]{0,200}") {
        if let Ok(ds) = Dataset::from_bytes(text.as_bytes(), "r.csv", &LoadOptions::default()) {
            check_invariants(&ds)?;
        }
    }

    #[test]
    fn csv_round_trips_exactly(
        rows in prop::collection::vec(prop::collection::vec(-1e6f64..1e6, 3), 1..20),
        comma in any::<bool>(),
    ) {
        let sep = if comma { "," } else { "\t" };
        let text: String = rows
            .iter()
            .map(|r| r.iter().map(|v| format!("{v}")).collect::<Vec<_>>().join(sep) + "\n")
            .collect();
        let ds = Dataset::from_bytes(text.as_bytes(), "x.csv", &LoadOptions::default()).unwrap();
        prop_assert_eq!(ds.n_samples(), rows.len());
        prop_assert_eq!(ds.view().to_f64_vec(), rows.concat());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn npy_writer_round_trips_bit_exactly(
        n in 1usize..40,
        d in 1usize..6,
        seed in prop::collection::vec(any::<u64>(), 1..8),
    ) {
        // Arbitrary bit patterns, NaN payloads and signed zeros included.
        let data: Vec<f64> = (0..n * d)
            .map(|k| f64::from_bits(seed[k % seed.len()].rotate_left(k as u32)))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.npy");
        write_npy_f64(&p, &data, &[n, d]).unwrap();
        let ds = Dataset::open(&p, &LoadOptions::default()).unwrap();
        prop_assert!(ds.is_zero_copy());
        prop_assert_eq!((ds.n_samples(), ds.n_features()), (n, d));
        let MatrixView::F64 { data: back, .. } = ds.view() else {
            return Err(TestCaseError::fail("expected f64"));
        };
        let a: Vec<u64> = data.iter().map(|v| v.to_bits()).collect();
        let b: Vec<u64> = back.iter().map(|v| v.to_bits()).collect();
        prop_assert_eq!(a, b);
    }
}
