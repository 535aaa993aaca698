//! `gadn git filter-process`: Git's long-running filter (run by Git through
//! `filter.gadn.process`, on stdin/stdout).

use std::os::fd::AsFd;
use std::process::ExitCode;

use gadn::git::filter::{serve, FilterConfig};

use super::Ctx;

/// Arguments of `gadn git filter-process`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(ctx: &Ctx, _a: Args) -> anyhow::Result<ExitCode> {
    let git_dir = gadn::git::git_dir(&ctx.cwd)?;
    // The raw descriptors: `Stdout` is line-buffered and would split binary content
    // at every newline byte; the filter buffers whole packets itself.
    let input = raw(std::io::stdin().as_fd())?;
    let output = raw(std::io::stdout().as_fd())?;
    grow_pipe(&input);
    grow_pipe(&output);
    serve(FilterConfig::from_env(git_dir), input, output)?;
    Ok(ExitCode::SUCCESS)
}

fn raw(fd: std::os::fd::BorrowedFd<'_>) -> anyhow::Result<std::fs::File> {
    Ok(std::fs::File::from(fd.try_clone_to_owned()?))
}

/// Asks for a 1 MiB pipe buffer (Linux's default is 64 KiB): Git and the filter then
/// hand content over in fewer, larger steps. Best effort: not a pipe, or a limit in
/// `/proc/sys/fs/pipe-max-size`, leaves it as it is.
fn grow_pipe(f: &std::fs::File) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: fcntl on a descriptor we own; F_SETPIPE_SZ only resizes a pipe's
        // buffer and fails harmlessly on anything else.
        unsafe {
            libc::fcntl(f.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = f;
}
