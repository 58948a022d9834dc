//! The cost of sample weights, measured so that a noisy machine cannot fake it: the fused pass
//! of one EM iteration without and with weights, alternated in one process (unweighted,
//! weighted, unweighted, ...), on each thread count; prints the medians and the median of the
//! paired ratios.
//!
//! `cargo run --release -p gaussmix-bench --example weight_overhead -- [WORKLOAD] [REPS]`
//! (workload `lowd` = W2 by default, 101 pairs).

use std::hint::black_box;
use std::time::Instant;

use gaussmix_bench::{Prepared, Workload};
use gaussmix_cli::bench::bench_weights;
use gaussmix_core::DataRef;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args.first().map_or("lowd", String::as_str);
    let reps: usize = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(101)
        .max(1);
    let Some(w) = Workload::by_name(name).filter(|w| w.covariance.is_some()) else {
        eprintln!("error: {name:?} is not a mixture workload (lesson, lowd, midd, diag, highd)");
        std::process::exit(2);
    };
    let p = Prepared::new(w, w.n);
    let weights = bench_weights(p.n);
    let data = DataRef::new(&p.x, p.n, w.d).unwrap();
    let weighted = data.with_weights(&weights).unwrap();
    let model = p.mixture(0).fit(data).unwrap();
    let cpu = gaussmix_cli::bench::cpu_model();
    println!(
        "{} {} ({}×{}, K={}) on {cpu}: fused pass, {reps} alternated pairs",
        w.label, w.name, w.n, w.d, w.k
    );
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let (mut plain, mut with) = (Vec::new(), Vec::new());
        pool.install(|| {
            for _ in 0..reps {
                let t = Instant::now();
                black_box(model.sufficient_statistics(data).unwrap());
                plain.push(t.elapsed().as_secs_f64());
                let t = Instant::now();
                black_box(model.sufficient_statistics(weighted).unwrap());
                with.push(t.elapsed().as_secs_f64());
            }
        });
        let ratios: Vec<f64> = plain.iter().zip(&with).map(|(a, b)| b / a).collect();
        let (mp, mw) = (median(plain), median(with));
        println!(
            "  {threads} thread(s): unweighted {:.3} ms, weighted {:.3} ms (medians): {:+.1}%; median paired ratio {:.4}",
            mp * 1e3,
            mw * 1e3,
            (mw / mp - 1.0) * 100.0,
            median(ratios)
        );
    }
}
