//! `gaussmix bench`: a self-contained multicore benchmark. Data are generated in memory from a
//! fixed seed, EM (or Lloyd) runs from a fixed initial model for a fixed number of iterations,
//! and each thread count reports the median seconds per iteration, throughput, GFLOP/s and
//! parallel efficiency. A checksum of the results must be identical for every thread count: the
//! benchmark doubles as a determinism check.
//!
//! The workloads ([`workloads`]) are shared with the criterion benches and the peer comparison
//! (`benches/`).

use std::time::Instant;

use anyhow::{Result, bail};
use gaussmix_core::{
    CovarianceType, DataRef, Float, GaussianMixture, KMeans, KMeansAlgorithm, KMeansInit, Precision,
};
use serde_json::json;

use crate::args::{BenchArgs, BenchDtype, BenchWorkload};
use crate::peak::{GEMM_SECONDS, gemm_peak};
use crate::{UsageError, limits};

mod workloads;

pub use workloads::{WORKLOADS, Workload};

/// The result of one workload at one thread count.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// Threads used.
    pub threads: usize,
    /// Rows.
    pub n: usize,
    /// Median seconds per iteration over the repeats.
    pub seconds_per_iter: f64,
    /// Every repeat's seconds per iteration.
    pub samples: Vec<f64>,
    /// Final lower bound (GMM) or inertia (k-means), for the checksum.
    pub objective: f64,
    /// FNV-1a hash of the bits of every fitted parameter.
    pub hash: u64,
}

fn fnv1a(values: impl IntoIterator<Item = f64>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for v in values {
        for b in v.to_bits().to_le_bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// What a benchmark run fits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Variant {
    /// Rows carry sample weights ([`bench_weights`]).
    pub weighted: bool,
    /// Mixtures are fitted as Bayesian mixtures.
    pub bayesian: bool,
    /// The arithmetic of the k-means kernels.
    pub precision: Precision,
    /// How the k-means workloads iterate.
    pub algorithm: KMeansAlgorithm,
}

/// Seconds per Lloyd iteration from a run of one iteration (`t1` seconds) and one of `n_iter`
/// (`tn`): their difference over `n_iter - 1`, so that setup and the final inertia pass cancel.
/// On tiny data noise can make the longer run no longer than the shorter: then the whole run's
/// time per iteration (an upper bound), never a zero time and an infinite rate.
fn lloyd_seconds_per_iter(t1: f64, tn: f64, n_iter: usize) -> f64 {
    if n_iter > 1 && tn > t1 {
        (tn - t1) / (n_iter - 1) as f64
    } else {
        tn / n_iter.max(1) as f64
    }
}

/// The sample weights of a weighted benchmark: `0.5 + u`, `u` uniform in `[0, 1)` from a hash
/// of the row index (a function of the row alone).
pub fn bench_weights(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let mut h = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            h ^= h >> 31;
            0.5 + (h >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

/// Times `iters` iterations of a workload on `threads` threads, `repeat` times.
pub fn measure<T: Float>(
    w: &Workload,
    x: &[T],
    n: usize,
    threads: usize,
    (iters, repeat): (usize, usize),
    variant: Variant,
) -> Result<Measurement> {
    let weights_of_rows = variant.weighted.then(|| bench_weights(n));
    let data = DataRef::new(x, n, w.d)?;
    let data = match &weights_of_rows {
        Some(wr) => data.with_weights(wr)?,
        None => data,
    };
    let x64: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
    let (weights, means, precisions) = w.init(&x64);
    drop(x64);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let mut samples = Vec::with_capacity(repeat);
    let mut objective = f64::NAN;
    let mut hash = 0;
    for _ in 0..repeat {
        let (secs, obj, h) = pool.install(|| -> Result<(f64, f64, u64)> {
            match w.covariance {
                Some(t) => {
                    let gm = GaussianMixture::new(w.k)
                        .covariance_type(t)
                        .precision(variant.precision)
                        .tol(0.0)
                        .max_iter(iters)
                        .weights_init(weights.clone())
                        .means_init(means.clone())
                        .precisions_init(precisions.clone());
                    // Time the iterations only: from the end of the first to the end of the
                    // last (setup, validation and initialisation excluded).
                    let mut stamps = Vec::with_capacity(iters.saturating_add(1));
                    let start = Instant::now();
                    let mut tick = |_: &gaussmix_core::Progress| stamps.push(Instant::now());
                    let m = if variant.bayesian {
                        // The same start: the labels of the workload's initial model.
                        let start_model = gm.clone().max_iter(0).fit(data)?;
                        let labels = start_model.predict(data)?;
                        let b = gaussmix_core::BayesianGaussianMixture::new(w.k)
                            .covariance_type(t)
                            .tol(0.0)
                            .max_iter(iters)
                            .init_labels(labels);
                        b.fit_with(data, None, Some(&mut tick))?.mixture().clone()
                    } else {
                        gm.fit_with(data, None, Some(&mut tick))?
                    };
                    let secs = if stamps.len() >= 2 {
                        (stamps[stamps.len() - 1] - stamps[0]).as_secs_f64()
                            / (stamps.len() - 1) as f64
                    } else {
                        start.elapsed().as_secs_f64() / iters.max(1) as f64
                    };
                    let h = fnv1a(
                        m.weights()
                            .iter()
                            .chain(m.means())
                            .chain(m.covariances())
                            .copied(),
                    );
                    Ok((secs, m.lower_bound(), h))
                }
                None => {
                    // Lloyd runs its iterations inside one call: time `iters` iterations and one,
                    // and divide the difference, so that setup and the final inertia pass cancel.
                    let run = |it: usize| -> Result<(f64, gaussmix_core::KMeansModel)> {
                        let km = KMeans::new(w.k)
                            .algorithm(variant.algorithm)
                            .precision(variant.precision)
                            .init(KMeansInit::Centers(means.clone()))
                            .max_iter(it)
                            .tol(0.0);
                        let start = Instant::now();
                        let m = km.fit(data)?;
                        Ok((start.elapsed().as_secs_f64(), m))
                    };
                    let (t1, _) = run(1)?;
                    let (tn, m) = run(iters)?;
                    let secs = lloyd_seconds_per_iter(t1, tn, m.n_iter());
                    Ok((secs, m.inertia(), fnv1a(m.centers().iter().copied())))
                }
            }
        })?;
        samples.push(secs);
        objective = obj;
        hash = h;
    }
    let mut sorted = samples.clone();
    sorted.sort_by(f64::total_cmp);
    let seconds_per_iter = sorted[sorted.len() / 2];
    Ok(Measurement {
        threads,
        n,
        seconds_per_iter,
        samples,
        objective,
        hash,
    })
}

/// Bytes one run of workload `w` on `n` rows with `threads` threads needs: the generated data
/// (f64, and its f32 copy), the f64 copy the initial model is drawn from, and the fit (for
/// k-means also each thread's block of distances, 256 rows × K).
fn bench_bytes(w: &Workload, n: usize, dtype: BenchDtype, threads: usize) -> f64 {
    let (nf, df, kf) = (n as f64, w.d as f64, w.k as f64);
    let data = nf * df * (16.0 + if dtype == BenchDtype::F32 { 4.0 } else { 0.0 }) + 24.0 * nf;
    let fit = match w.covariance {
        Some(t) => limits::fit_bytes(t, n, w.d, w.k),
        None => 8.0 * (8.0 * kf * df + 3.0 * nf + 256.0 * kf * threads as f64),
    };
    data + fit
}

fn default_threads() -> Vec<usize> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut v = vec![1];
    while v[v.len() - 1] * 2 <= cores {
        v.push(v[v.len() - 1] * 2);
    }
    if *v.last().unwrap() != cores {
        v.push(cores);
    }
    v
}

/// The processor's model name (`/proc/cpuinfo`), or `unknown`.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn simd_features() -> Vec<&'static str> {
    #[allow(unused_mut)]
    let mut v = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("sse4.2") {
            v.push("sse4.2");
        }
        if std::is_x86_feature_detected!("avx2") {
            v.push("avx2");
        }
        if std::is_x86_feature_detected!("fma") {
            v.push("fma");
        }
        if std::is_x86_feature_detected!("avx512f") {
            v.push("avx512f");
        }
    }
    #[cfg(target_arch = "aarch64")]
    v.push("neon");
    v
}

/// Runs `gaussmix bench`.
pub fn run(a: &BenchArgs) -> Result<()> {
    let workloads: Vec<Workload> = match a.workload {
        BenchWorkload::All => WORKLOADS.to_vec(),
        w => vec![Workload::by_name(w.name()).expect("every workload flag names a workload")],
    };
    let threads = match &a.threads {
        Some(list) => list.clone(),
        None => default_threads(),
    };
    if threads.contains(&0) {
        return Err(UsageError("--threads takes thread counts of at least 1".into()).into());
    }
    // Every workload's largest run is checked before the first one starts.
    let max_threads = threads.iter().copied().max().unwrap_or(1);
    for w in &workloads {
        let base_n = a.n.unwrap_or(w.n);
        if base_n < w.k {
            let what = if w.covariance.is_some() {
                "components"
            } else {
                "clusters"
            };
            return Err(UsageError(format!(
                "bench --n {base_n}: workload {} ({}) has {} {what}, so it needs --n {} or more",
                w.name, w.label, w.k, w.k
            ))
            .into());
        }
        let n = if a.weak {
            base_n.checked_mul(max_threads).ok_or_else(|| {
                anyhow::anyhow!(
                    "bench --n {base_n} --weak with {max_threads} threads: {base_n} × {max_threads} rows is more than any machine can address"
                )
            })?
        } else {
            base_n
        };
        limits::check_memory(
            bench_bytes(w, n, a.dtype, max_threads)
                // Per run: a time stamp per iteration; per thread count: every repeat's time,
                // kept for the report (as JSON numbers).
                + 16.0 * a.iters as f64
                + 64.0 * a.repeat as f64 * threads.len() as f64,
            || {
                let weak = if a.weak {
                    format!(" (--weak: {base_n} × {max_threads} threads)")
                } else {
                    String::new()
                };
                format!(
                    "bench workload {} with --n {n}{weak} ({n} × {} data, {} components), --iters {}, --repeat {}",
                    w.name, w.d, w.k, a.iters, a.repeat
                )
            },
            "the generated data and its copies, the fit, and the timings of --iters and --repeat",
            "use a smaller --n, --iters or --repeat",
        )?;
    }
    if a.peak {
        let s = a.peak_size as f64;
        limits::check_memory(
            3.0 * 8.0 * s * s,
            || format!("bench --peak --peak-size {}", a.peak_size),
            "three square float64 matrices for the matrix product",
            "use a smaller --peak-size",
        )?;
    }
    let variant = Variant {
        weighted: a.weighted,
        bayesian: a.bayesian,
        precision: a.precision.into(),
        algorithm: a.algorithm.into(),
    };
    let mut report = Vec::new();
    let mut failed = false;
    if !a.json {
        println!(
            "gaussmix bench {} on {} ({} cores; {}), {}{}{}, {} iterations, median of {}",
            env!("CARGO_PKG_VERSION"),
            cpu_model(),
            std::thread::available_parallelism().map_or(1, |n| n.get()),
            simd_features().join(" "),
            a.dtype.name(),
            if a.weighted { ", sample weights" } else { "" },
            if a.bayesian {
                ", Bayesian mixtures"
            } else {
                ""
            },
            a.iters,
            a.repeat
        );
    }
    let peak = if a.peak {
        let p = gemm_peak(a.peak_size, &threads)?;
        if !a.json {
            let list = |rates: &[(usize, f64)]| {
                rates
                    .iter()
                    .map(|(t, r)| format!("{r:.1} on {t} thread{}", if *t == 1 { "" } else { "s" }))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            println!(
                "\nfaer GEMM peak ({0}×{0} by {0}×{0}, the fastest product in ≥ {3} s), GFLOP/s: f64 {1}; f32 {2}",
                p.size,
                list(&p.f64),
                list(&p.f32),
                GEMM_SECONDS
            );
            println!(
                "of GEMM = the workload's issued multiply-adds per second (×2 flops) / the {} GEMM rate at the same thread count",
                a.dtype.name()
            );
        }
        Some(p)
    } else {
        None
    };
    for w in &workloads {
        let base_n = a.n.unwrap_or(w.n);
        let mut rows = Vec::new();
        let mut f64_arith = Vec::new();
        for &t in &threads {
            let n = if a.weak { base_n * t } else { base_n };
            let x = w.data(n);
            let m = match a.dtype {
                BenchDtype::F64 => measure(w, &x, n, t, (a.iters, a.repeat), variant)?,
                BenchDtype::F32 => {
                    let x32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
                    drop(x);
                    let m = measure(w, &x32, n, t, (a.iters, a.repeat), variant)?;
                    // k-means and full mixtures compute float32 data in float32: time float64
                    // arithmetic on the same data too, for the ratio.
                    let single_kernels = matches!(w.covariance, None | Some(CovarianceType::Full))
                        && !variant.bayesian;
                    if single_kernels && variant.precision == Precision::Auto {
                        let f64_variant = Variant {
                            precision: Precision::F64,
                            ..variant
                        };
                        let m64 = measure(w, &x32, n, t, (a.iters, a.repeat), f64_variant)?;
                        f64_arith.push(m64.seconds_per_iter);
                    }
                    m
                }
            };
            rows.push(m);
        }
        // Strong scaling: checksums must agree across thread counts. (Weak scaling changes n.)
        let consistent = a.weak
            || rows.windows(2).all(|p| {
                p[0].hash == p[1].hash && p[0].objective.to_bits() == p[1].objective.to_bits()
            });
        failed |= !consistent;
        let base_rate = rows[0].n as f64 / rows[0].seconds_per_iter;
        let (_, formula) = w.flops(1);
        let (_, issued_formula) = w.issued_flops(1);
        if !a.json {
            let shape = match w.covariance {
                Some(t) => format!("{} covariances, K={}", t, w.k),
                None => format!("k-means, {} clusters", w.k),
            };
            println!(
                "\n{} {} ({}×{}, {shape}); flops per iteration = {formula}{}",
                w.label,
                w.name,
                base_n,
                w.d,
                if peak.is_some() {
                    format!(" (dense), issued = {issued_formula}")
                } else {
                    String::new()
                }
            );
            print!(
                "{:>8} {:>10} {:>14} {:>16} {:>10} {:>9} {:>11}",
                "threads", "n", "s/iter", "points·K/s", "GFLOP/s", "speed-up", "efficiency"
            );
            if peak.is_some() {
                print!(" {:>11} {:>8}", "issued GF/s", "of GEMM");
            }
            println!("  checksum");
        }
        let mut json_rows = Vec::new();
        for m in &rows {
            let (flops, _) = w.flops(m.n);
            let gflops = flops / m.seconds_per_iter / 1e9;
            let throughput = (m.n * w.k) as f64 / m.seconds_per_iter;
            // Speed-up in rows per second against the first thread count (so that it also
            // reads for --weak, where n grows with the threads).
            let speedup = (m.n as f64 / m.seconds_per_iter) / base_rate;
            let efficiency = speedup / (m.threads as f64 / rows[0].threads as f64);
            let issued_gflops = w.issued_flops(m.n).0 / m.seconds_per_iter / 1e9;
            // The fraction of this machine's GEMM rate (same element type, same threads).
            let gemm_efficiency = peak
                .as_ref()
                .and_then(|p| p.rate(a.dtype, m.threads))
                .map(|rate| issued_gflops / rate);
            let checksum = format!("{:.17e}/{:016x}", m.objective, m.hash);
            if !a.json {
                print!(
                    "{:>8} {:>10} {:>14.6} {:>16.3e} {:>10.2} {:>9.2} {:>10.0}%",
                    m.threads,
                    m.n,
                    m.seconds_per_iter,
                    throughput,
                    gflops,
                    speedup,
                    efficiency * 100.0
                );
                if let Some(g) = gemm_efficiency {
                    print!(" {:>11.2} {:>7.1}%", issued_gflops, g * 100.0);
                }
                println!("  {checksum}");
            }
            let mut row = json!({
                "threads": m.threads, "n": m.n, "seconds_per_iter": m.seconds_per_iter, "samples": m.samples,
                "throughput_points_components_per_s": throughput, "gflops": gflops, "speedup": speedup,
                "efficiency": efficiency, "issued_gflops": issued_gflops,
                "objective": m.objective, "hash": format!("{:016x}", m.hash),
            });
            if let Some(g) = gemm_efficiency {
                row["gemm_efficiency"] = json!(g);
            }
            if let Some(s64) = f64_arith.get(json_rows.len()) {
                row["f64_arithmetic_seconds_per_iter"] = json!(s64);
            }
            json_rows.push(row);
        }
        if !a.json && !f64_arith.is_empty() {
            let cells: Vec<String> = rows
                .iter()
                .zip(&f64_arith)
                .map(|(m, s64)| {
                    format!(
                        "{} thread{}: {s64:.6} s/iter ({:.2}×)",
                        m.threads,
                        if m.threads == 1 { "" } else { "s" },
                        s64 / m.seconds_per_iter
                    )
                })
                .collect();
            println!(
                "float64 arithmetic on the same float32 data (--precision f64), and float32's speed-up: {}",
                cells.join("; ")
            );
        }
        if !a.json {
            if consistent {
                if !a.weak {
                    println!("checksums identical for every thread count: deterministic");
                }
            } else {
                println!("DETERMINISM FAILURE: the results differ between thread counts");
            }
        }
        report.push(json!({
            "workload": w.name, "label": w.label, "n": base_n, "d": w.d, "k": w.k,
            "covariance_type": w.covariance.map(|t| t.as_str()), "flops_formula": formula,
            "issued_flops_formula": issued_formula,
            "deterministic": consistent, "results": json_rows,
        }));
    }
    if a.json {
        let mut doc = json!({
                "gaussmix_version": env!("CARGO_PKG_VERSION"),
                "machine": {
                    "cpu": cpu_model(),
                    "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
                    "simd": simd_features(),
                    "os": std::env::consts::OS, "arch": std::env::consts::ARCH,
                },
                "parameters": {"dtype": a.dtype.name(), "iters": a.iters, "repeat": a.repeat, "threads": threads,
                               "weak_scaling": a.weak, "weighted": a.weighted, "bayesian": a.bayesian, "tol": 0.0, "seed": 0,
                               "peak": a.peak},
                "workloads": report,
        });
        if let Some(p) = &peak {
            let rates = |rates: &[(usize, f64)]| {
                rates
                    .iter()
                    .map(|(t, r)| (t.to_string(), json!(r)))
                    .collect::<serde_json::Map<_, _>>()
            };
            doc["gemm_gflops"] = json!({"f64": rates(&p.f64), "f32": rates(&p.f32)});
            doc["gemm_size"] = json!(p.size);
        }
        println!("{}", serde_json::to_string_pretty(&doc)?);
    }
    if failed {
        bail!("results differ between thread counts: determinism is broken on this machine");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::lloyd_seconds_per_iter;

    #[test]
    fn lloyd_time_per_iteration_is_positive_and_finite_even_when_noise_reverses_the_runs() {
        // The difference of the runs over the extra iterations.
        assert_eq!(lloyd_seconds_per_iter(1.0, 2.0, 3), 0.5);
        // The longer run measured no longer (noise on tiny data): the whole run per iteration,
        // not zero (which printed an infinite GFLOP/s, `null` in `--json`).
        assert_eq!(lloyd_seconds_per_iter(1.0, 0.9, 3), 0.3);
        assert_eq!(lloyd_seconds_per_iter(1.0, 1.0, 2), 0.5);
        // One iteration or none: the run itself.
        assert_eq!(lloyd_seconds_per_iter(0.2, 0.4, 1), 0.4);
        assert_eq!(lloyd_seconds_per_iter(0.2, 0.4, 0), 0.4);
    }
}
