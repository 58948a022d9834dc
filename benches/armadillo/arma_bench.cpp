// Armadillo side of benches/compare.py: times one EM (gmm_full / gmm_diag) or k-means run.
//
// Usage:
//   arma_bench --version                 {"version", "openmp", "threads"}
//   arma_bench full|diag DATA.f64 N D K INIT_PREFIX ITERS
//   arma_bench kmeans    DATA.f64 N D K CENTERS.f64 ITERS
//
// DATA.f64 holds the n × d samples as raw little-endian float64 in C (row-major) order, which
// is exactly Armadillo's column-major d × n layout: one column per sample.
// For EM, INIT_PREFIX names three raw float64 files written by compare.py:
//   INIT_PREFIX.means  K × d (row-major), i.e. a column-major d × K matrix, one mean per column
//   INIT_PREFIX.covs   full: K × d × d (one symmetric matrix per component); diag: K × d
//   INIT_PREFIX.hefts  K weights
// For k-means, CENTERS.f64 holds the K × d initial centres the same way as the means.
//
// Only the call to learn() / kmeans() is timed (std::chrono::steady_clock). Armadillo prints
// one line per iteration in its verbose mode; std::cout is redirected into a string while it
// runs so that the number of iterations actually performed (EM and k-means may stop early)
// and, for EM, the average log-likelihood of the last iteration's E-step can be reported.
// That output costs one short line per iteration.
//
// Prints one JSON line:
//   {"n_iter", "seconds", "threads", "last_avg_log_p", "final_avg_log_p"}   (EM)
//   {"n_iter", "seconds", "threads", "inertia"}                             (k-means)
// last_avg_log_p: the mean log-likelihood computed in the E-step of the last iteration
// (scikit-learn's lower_bound_); final_avg_log_p: avg_log_p(data) under the final parameters.

#include <armadillo>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <limits>
#include <sstream>
#include <string>

#if defined(_OPENMP)
#include <omp.h>
#endif

using namespace arma;

static void read_raw(const std::string& path, double* dst, size_t count) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "arma_bench: cannot open %s\n", path.c_str());
    std::exit(2);
  }
  f.read(reinterpret_cast<char*>(dst), static_cast<std::streamsize>(count * sizeof(double)));
  if (static_cast<size_t>(f.gcount()) != count * sizeof(double)) {
    std::fprintf(stderr, "arma_bench: %s is shorter than %zu float64 values\n", path.c_str(), count);
    std::exit(2);
  }
}

static int threads() {
#if defined(ARMA_USE_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

// Runs f() with std::cout captured; returns the elapsed seconds and the captured text.
template <typename F>
static double timed_captured(F&& f, std::string& captured) {
  std::ostringstream sink;
  std::streambuf* old = std::cout.rdbuf(sink.rdbuf());
  std::cout.precision(17);
  const auto t0 = std::chrono::steady_clock::now();
  f();
  const auto t1 = std::chrono::steady_clock::now();
  std::cout.rdbuf(old);
  captured = sink.str();
  return std::chrono::duration<double>(t1 - t0).count();
}

// Counts Armadillo's "iteration:" lines and returns the number after the last `key`.
static long count_iterations(const std::string& text, const std::string& key, double& last_value) {
  std::istringstream in(text);
  std::string line;
  long n = 0;
  last_value = std::numeric_limits<double>::quiet_NaN();
  while (std::getline(in, line)) {
    if (line.find("iteration:") == std::string::npos) continue;
    ++n;
    const size_t p = line.find(key);
    if (p != std::string::npos) last_value = std::strtod(line.c_str() + p + key.size(), nullptr);
  }
  return n;
}

int main(int argc, char** argv) {
  if (argc == 2 && std::string(argv[1]) == "--version") {
#if defined(ARMA_USE_OPENMP)
    const bool openmp = true;
#else
    const bool openmp = false;
#endif
    std::printf("{\"version\": \"%s\", \"openmp\": %s, \"threads\": %d}\n",
                arma::arma_version::as_string().c_str(), openmp ? "true" : "false", threads());
    return 0;
  }
  if (argc != 8) {
    std::fprintf(stderr,
                 "usage: arma_bench full|diag|kmeans DATA.f64 N D K INIT ITERS\n");
    return 2;
  }
  const std::string mode = argv[1];
  const std::string data_path = argv[2];
  const uword n = std::strtoull(argv[3], nullptr, 10);
  const uword d = std::strtoull(argv[4], nullptr, 10);
  const uword k = std::strtoull(argv[5], nullptr, 10);
  const std::string init = argv[6];
  const uword iters = std::strtoull(argv[7], nullptr, 10);

  mat data(d, n);
  read_raw(data_path, data.memptr(), n * d);

  std::string captured;
  if (mode == "kmeans") {
    mat means(d, k);
    read_raw(init, means.memptr(), k * d);
    bool ok = false;
    const double secs = timed_captured(
        [&] { ok = arma::kmeans(means, data, k, keep_existing, iters, true); }, captured);
    if (!ok) {
      std::fprintf(stderr, "arma_bench: kmeans failed\n");
      return 1;
    }
    double unused;
    const long n_iter = count_iterations(captured, "delta:", unused);
    // Inertia under the final centres (not timed): sum of squared distances to the nearest.
    const rowvec cn = sum(square(means), 0);
    double inertia = 0.0;
    const uword block = 65536;
    for (uword s = 0; s < n; s += block) {
      const uword e = std::min(n, s + block) - 1;
      const mat xb = data.cols(s, e);
      mat dist = -2.0 * (xb.t() * means);  // rows: samples, cols: centres
      dist.each_row() += cn;
      const colvec xn = sum(square(xb), 0).t();
      inertia += accu(min(dist, 1) + xn);
    }
    std::printf("{\"n_iter\": %ld, \"seconds\": %.9g, \"threads\": %d, \"inertia\": %.17g}\n",
                n_iter, secs, threads(), inertia);
    return 0;
  }

  mat means(d, k);
  rowvec hefts(k);
  read_raw(init + ".means", means.memptr(), k * d);
  read_raw(init + ".hefts", hefts.memptr(), k);

  bool ok = false;
  double final_avg = 0.0;
  double secs = 0.0;
  if (mode == "full") {
    cube fcovs(d, d, k);
    read_raw(init + ".covs", fcovs.memptr(), k * d * d);
    gmm_full model;
    model.set_params(means, fcovs, hefts);
    secs = timed_captured(
        [&] { ok = model.learn(data, k, eucl_dist, keep_existing, 0, iters, 1e-6, true); },
        captured);
    if (ok) final_avg = model.avg_log_p(data);
  } else if (mode == "diag") {
    mat dcovs(d, k);
    read_raw(init + ".covs", dcovs.memptr(), k * d);
    gmm_diag model;
    model.set_params(means, dcovs, hefts);
    secs = timed_captured(
        [&] { ok = model.learn(data, k, eucl_dist, keep_existing, 0, iters, 1e-6, true); },
        captured);
    if (ok) final_avg = model.avg_log_p(data);
  } else {
    std::fprintf(stderr, "arma_bench: unknown mode %s\n", mode.c_str());
    return 2;
  }
  if (!ok) {
    std::fprintf(stderr, "arma_bench: learn failed\n%s", captured.c_str());
    return 1;
  }
  double last_avg;
  const long n_iter = count_iterations(captured, "avg_log_p:", last_avg);
  std::printf(
      "{\"n_iter\": %ld, \"seconds\": %.9g, \"threads\": %d, \"last_avg_log_p\": %.17g, "
      "\"final_avg_log_p\": %.17g}\n",
      n_iter, secs, threads(), last_avg, final_avg);
  return 0;
}
