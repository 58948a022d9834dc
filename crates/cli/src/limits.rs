//! Bounds on what one run may ask of the machine, checked before the work that needs it.
//!
//! * Model files are read only from regular files of at most [`MAX_MODEL_BYTES`].
//! * `--threads` is at most [`THREADS_PER_CORE`] times the number of cores.
//! * Every allocation that grows with a user-given size (the number of components and
//!   features of a fit, `sample -n`, `gen -n`/`--dim`, `bench --n`, `select --k-max`) is
//!   estimated first and refused, naming the flag or the file, when it exceeds the memory
//!   available: the smallest of the system's available memory (`MemAvailable` plus free swap),
//!   the control group's limit, the address-space limit (`ulimit -v`) and `GAUSSMIX_MAX_MEMORY`.

use anyhow::{Result, bail};
use gaussmix_core::CovarianceType;

use crate::UsageError;

/// Largest model file read (1 GiB).
pub const MAX_MODEL_BYTES: u64 = 1 << 30;

/// `--threads` may be at most this many times the number of cores.
pub const THREADS_PER_CORE: usize = 4;

/// The environment variable that caps the memory a run may use (`8G`, `512M`, bytes).
pub const MEMORY_VAR: &str = "GAUSSMIX_MAX_MEMORY";

/// Cores of this machine.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The largest accepted `--threads`.
pub fn max_threads() -> usize {
    THREADS_PER_CORE * cores()
}

/// A `--threads` value: at least 1, at most [`max_threads`].
pub fn thread_count(s: &str) -> Result<usize, String> {
    let v: i128 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a whole number"))?;
    if v < 1 {
        return Err(format!("must be at least 1, got {v}"));
    }
    let cap = max_threads();
    if v > cap as i128 {
        return Err(format!(
            "at most {cap} threads ({THREADS_PER_CORE} × the {} cores of this machine), got {v}",
            cores()
        ));
    }
    Ok(v as usize)
}

/// `1.5 GiB`, `320 MiB`, `12 KiB`, `100 bytes`; sizes beyond a usize are still printed.
pub fn human(bytes: f64) -> String {
    const UNITS: [&str; 7] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB"];
    if bytes < 1024.0 {
        return format!("{bytes:.0} bytes");
    }
    let mut v = bytes / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    if v >= 1024.0 {
        return format!("{bytes:.3e} bytes");
    }
    if v < 10.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.0} {unit}")
    }
}

/// Parses `GAUSSMIX_MAX_MEMORY`: bytes, or a number with K, M, G or T (powers of 1024; an
/// optional `iB` or `B` after the letter).
fn parse_size(s: &str) -> Option<u64> {
    let t = s.trim();
    let digits = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(digits);
    let v: f64 = num.parse().ok()?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1u64,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return None,
    };
    let bytes = v * mult as f64;
    (bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64).then_some(bytes as u64)
}

fn read_u64(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// `MemAvailable + SwapFree` from `/proc/meminfo`.
fn meminfo_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb.saturating_mul(1024))
    };
    Some(field("MemAvailable:")?.saturating_add(field("SwapFree:").unwrap_or(0)))
}

/// What the control group (v2 or v1) still allows.
fn cgroup_available() -> Option<u64> {
    let v2 = || {
        let max = std::fs::read_to_string("/sys/fs/cgroup/memory.max").ok()?;
        let max: u64 = max.trim().parse().ok()?; // "max" means no limit
        let cur = read_u64("/sys/fs/cgroup/memory.current").unwrap_or(0);
        Some(max.saturating_sub(cur))
    };
    let v1 = || {
        let max = read_u64("/sys/fs/cgroup/memory/memory.limit_in_bytes")?;
        if max >= 1 << 60 {
            return None; // no limit
        }
        let cur = read_u64("/sys/fs/cgroup/memory/memory.usage_in_bytes").unwrap_or(0);
        Some(max.saturating_sub(cur))
    };
    v2().or_else(v1)
}

/// The soft address-space limit (`ulimit -v`).
fn address_space_limit() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max address space"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The memory this run may still use, in bytes (`None` when nothing is known), and where the
/// figure comes from.
pub fn available_memory() -> Result<Option<(u64, &'static str)>> {
    let mut best: Option<(u64, &'static str)> = None;
    let mut take = |v: Option<u64>, what: &'static str| {
        if let Some(v) = v
            && best.is_none_or(|(b, _)| v < b)
        {
            best = Some((v, what));
        }
    };
    take(meminfo_available(), "available on this machine");
    take(
        cgroup_available(),
        "left under this control group's memory limit",
    );
    take(
        address_space_limit(),
        "allowed by the address-space limit (ulimit -v)",
    );
    if let Some(v) = std::env::var_os(MEMORY_VAR) {
        let s = v.to_string_lossy();
        let Some(bytes) = parse_size(&s) else {
            return Err(UsageError(format!(
                "{MEMORY_VAR}={s:?} is not a size (write bytes, or a number with K, M, G or T)"
            ))
            .into());
        };
        take(Some(bytes), "allowed by GAUSSMIX_MAX_MEMORY");
    }
    Ok(best)
}

/// Refuses a step that needs about `bytes` of memory when more than is available: `what`
/// names the step with its flags or file, `detail` (may be empty) says where the figure comes
/// from, `advice` says what to do instead. Also refuses a size no address space holds,
/// whatever the machine.
pub fn check_memory(
    bytes: f64,
    what: impl FnOnce() -> String,
    detail: &str,
    advice: &str,
) -> Result<()> {
    let limit = available_memory()?;
    // NaN counts as too big.
    let too_big_for_any_machine = bytes.is_nan() || bytes >= (isize::MAX as f64) / 2.0;
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    };
    match limit {
        Some((avail, source)) if bytes > avail as f64 || too_big_for_any_machine => bail!(
            "{} needs about {} of memory{detail}, but {} is {source}: {advice}",
            what(),
            human(bytes),
            human(avail as f64)
        ),
        None if too_big_for_any_machine => bail!(
            "{} needs about {} of memory{detail}, more than any machine can address: {advice}",
            what(),
            human(bytes)
        ),
        _ => Ok(()),
    }
}

/// Entries of the covariances of `k` components of `d` features: `k·d²` full, `d²` tied,
/// `k·d` diag, `k` spherical.
pub fn covariance_entries(t: CovarianceType, k: usize, d: usize) -> f64 {
    let (k, d) = (k as f64, d as f64);
    match t {
        CovarianceType::Full => k * d * d,
        CovarianceType::Tied => d * d,
        CovarianceType::Diag => k * d,
        CovarianceType::Spherical => k,
    }
}

/// `k·d²`-style formula of [`covariance_entries`] with the numbers filled in.
pub fn covariance_formula(t: CovarianceType, k: usize, d: usize) -> String {
    match t {
        CovarianceType::Full => format!("k·d² = {k} × {d}²"),
        CovarianceType::Tied => format!("d² = {d}²"),
        CovarianceType::Diag => format!("k·d = {k} × {d}"),
        CovarianceType::Spherical => format!("k = {k}"),
    }
}

/// Estimated bytes of an EM fit of `k` components to `n × d` data: about ten copies of the
/// covariances (parameters, precisions and their factors, per-thread statistics, the best
/// model so far), the means, and per-row values (responsibilities of the initialisation,
/// labels, membership probabilities).
pub fn fit_bytes(t: CovarianceType, n: usize, d: usize, k: usize) -> f64 {
    let (nf, df, kf) = (n as f64, d as f64, k as f64);
    8.0 * (10.0 * covariance_entries(t, k, d) + 4.0 * kf * df + 2.0 * nf * kf + 2.0 * nf)
}

/// Refuses a fit of `k` components with covariances `t` to `n × d` data that would not fit
/// in memory: `what` names the fit (its file and flags), `k_flag` the flag that sets k.
pub fn check_fit(
    t: CovarianceType,
    n: usize,
    d: usize,
    k: usize,
    what: &str,
    k_flag: &str,
) -> Result<()> {
    let cov = covariance_entries(t, k, d);
    let advice = match t {
        CovarianceType::Full | CovarianceType::Tied => format!(
            "use --covariance diag or spherical, fewer components ({k_flag}), or fewer features"
        ),
        _ => format!("use fewer components ({k_flag}) or fewer features"),
    };
    check_memory(
        fit_bytes(t, n, d, k),
        || what.to_string(),
        &format!(
            "{t} covariances: {} = {cov:.3e} numbers, {} a copy",
            covariance_formula(t, k, d),
            human(8.0 * cov)
        ),
        &advice,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!(parse_size("123"), Some(123));
        assert_eq!(parse_size("8G"), Some(8 << 30));
        assert_eq!(parse_size("512 MiB"), Some(512 << 20));
        assert_eq!(parse_size("1.5k"), Some(1536));
        assert_eq!(parse_size("lots"), None);
        assert_eq!(parse_size("0"), None);
        assert_eq!(parse_size("-1G"), None);
        assert_eq!(human(100.0), "100 bytes");
        assert_eq!(human(1536.0), "1.5 KiB");
        assert_eq!(human(160e9), "149 GiB");
    }

    #[test]
    fn thread_counts_are_capped() {
        assert_eq!(thread_count("1"), Ok(1));
        assert_eq!(thread_count(&max_threads().to_string()), Ok(max_threads()));
        assert!(thread_count(&(max_threads() + 1).to_string()).is_err());
        assert!(thread_count("4294967295").is_err());
        assert!(thread_count("0").is_err());
    }

    #[test]
    fn covariance_sizes() {
        assert_eq!(covariance_entries(CovarianceType::Full, 3, 10), 300.0);
        assert_eq!(covariance_entries(CovarianceType::Tied, 3, 10), 100.0);
        assert_eq!(covariance_entries(CovarianceType::Diag, 3, 10), 30.0);
        assert_eq!(covariance_entries(CovarianceType::Spherical, 3, 10), 3.0);
    }
}
