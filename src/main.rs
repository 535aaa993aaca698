//! The `gadn` binary: see `gadn --help`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
