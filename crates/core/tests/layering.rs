//! The core's modules form the one-way stack documented in `lib.rs`: every module imports only
//! from modules listed before it in the table there (or from itself). This test reads the
//! sources, so a new upward import, or a module missing from the table, fails it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The modules of `lib.rs`'s stack table, bottom first.
fn stack(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|l| l.strip_prefix("//! | `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_string)
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every `crate::name` in the code of `src` (comments left out).
fn references(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in src.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push(name);
        }
    }
    out
}

#[test]
fn modules_import_only_from_below() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let order = stack(&lib);
    let rank: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    assert!(order.len() >= 10, "the stack table in lib.rs: {order:?}");
    // Every module declared in lib.rs is in the table.
    for line in lib.lines() {
        if let Some(m) = line.strip_prefix("mod ").and_then(|l| l.strip_suffix(';')) {
            assert!(
                rank.contains_key(m),
                "module {m} is missing from lib.rs's stack table"
            );
        }
    }
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_string();
        if top == "lib" {
            continue;
        }
        let own = rank[top.as_str()];
        // `error` is the one module every other may use.
        for r in references(&std::fs::read_to_string(f).unwrap()) {
            if let Some(&theirs) = rank.get(r.as_str())
                && theirs > own
                && r != "error"
            {
                violations.push(format!("{} uses crate::{r}", rel.display()));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "upward imports:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_check_sees_an_upward_import() {
    assert_eq!(
        references("use crate::mixture::x; // crate::model\n/// [`A`](crate::stats)"),
        vec!["mixture".to_string()]
    );
}
