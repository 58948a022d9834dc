//! The `gaussmix` command line.
//!
//! Every subcommand validates its flags first (clap; a bad flag or value exits with code 2),
//! checks that its outputs can be written and are not its inputs, loads its data, computes, and
//! only then writes its outputs, each through a temporary file and a rename.
//!
//! Exit codes: 0 success; 2 usage errors (bad flags or values, contradictory options); 1
//! everything else (unreadable or malformed data, NaN/inf, too few samples for k, a model and
//! data that disagree, a covariance that cannot be factorised, an output that cannot be
//! written). Messages name the file and the problem; there is never a panic or a backtrace.

mod apply;
pub mod args;
pub mod bench;
mod fit;
pub mod generate;
pub mod input;
mod kmeans;
mod lesson;
pub mod limits;
pub mod modelfile;
mod output;
pub mod peak;
pub mod plot;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};

/// An error in how the command was invoked (exit code 2).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Parses the process arguments, runs the command, prints any error, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // --help and --version print to stdout and succeed; real usage errors exit 2.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // A file-size limit (`ulimit -f`) makes a write fail with "File too large" instead of
    // killing the process half-way through writing a temporary file.
    #[cfg(unix)]
    // SAFETY: `signal` with `SIG_IGN` installs no handler code (nothing runs in signal context);
    // it only sets the process-wide disposition of SIGXFSZ, which nothing else in gaussmix uses.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    output::install_interrupt_handler();
    // No panic reaches the user as a backtrace: report it as an internal error instead.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!("gaussmix: internal error: {msg} (please report this)");
    }));
    match std::panic::catch_unwind(|| run(&cli)) {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            if matches!(
                e.downcast_ref::<gaussmix_io::WriteError>(),
                Some(gaussmix_io::WriteError::Interrupted)
            ) {
                // The interrupt handler has the last word: it reports and exits with 130.
                std::thread::sleep(std::time::Duration::from_secs(10));
                eprintln!("gaussmix: interrupted; no output was changed");
                return ExitCode::from(130);
            }
            eprintln!("gaussmix: error: {}", message(&e));
            if e.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
        Err(_) => ExitCode::from(1),
    }
}

/// The error and its causes, each cause once: a cause whose text the message already holds
/// (an I/O error that its wrapper quotes) is not repeated.
fn message(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

/// Runs a parsed command, on a pool of `--threads` threads when given.
pub fn run(cli: &Cli) -> anyhow::Result<()> {
    let threads = match &cli.command {
        Command::Fit(a) => a.input_args.threads,
        Command::Predict(a) => a.input_args.threads,
        Command::Score(a) => a.input_args.threads,
        Command::Select(a) => a.input_args.threads,
        Command::Kmeans(a) => a.input_args.threads,
        Command::Lesson(a) => a.threads,
        Command::Plot(a) => a.input_args.threads,
        Command::Sample(_) | Command::Gen(_) | Command::Bench(_) => None,
    };
    let go = || match &cli.command {
        Command::Fit(a) => fit::fit(a),
        Command::Predict(a) => apply::predict(a),
        Command::Score(a) => apply::score(a),
        Command::Sample(a) => apply::sample(a),
        Command::Select(a) => fit::select(a),
        Command::Kmeans(a) => kmeans::kmeans(a),
        Command::Gen(a) => generate::run(a),
        Command::Bench(a) => bench::run(a),
        Command::Plot(a) => apply::plot(a),
        Command::Lesson(a) => lesson::run(a),
    };
    match threads {
        None => go(),
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build()
            .map_err(|e| anyhow::anyhow!("cannot start {n} threads: {e}"))?
            .install(go),
    }
}
