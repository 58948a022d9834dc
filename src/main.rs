//! The `gaussmix` command line; see `gaussmix --help` and README.md.

fn main() -> std::process::ExitCode {
    gaussmix_cli::main()
}
