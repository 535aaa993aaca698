//! The `gadn` binary: see `gadn --help`.

mod cli;

fn main() -> std::process::ExitCode {
    tune_allocator();
    end_quietly_on_closed_output();
    cli::run()
}

/// Makes a closed stdout or stderr (`gadn log | head -3`) end the command as it ends
/// git: killed by `SIGPIPE` on unix, a quiet exit 0 elsewhere, never a panic.
///
/// Rust ignores `SIGPIPE`, so a write to a closed pipe fails with `EPIPE`, which
/// `println!` turns into a panic (exit 101, "failed printing to stdout: Broken
/// pipe"). Errors that travel up as values are caught in `cli::run`; this hook
/// catches every printing macro, wherever it runs. `SIGPIPE` stays ignored for
/// the rest of the run on purpose: with its default action, a `git` child that
/// exits before reading its stdin would kill gadn silently instead of letting it
/// report git's error.
fn end_quietly_on_closed_output() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to std") && is_broken_pipe_message(msg) {
            die_of_closed_pipe();
        }
        report(info)
    }));
}

/// True if `msg` ends with the text of the OS's "broken pipe" error.
fn is_broken_pipe_message(msg: &str) -> bool {
    #[cfg(unix)]
    let codes = [libc::EPIPE];
    #[cfg(windows)]
    let codes = [109, 232]; // ERROR_BROKEN_PIPE, ERROR_NO_DATA
    #[cfg(not(any(unix, windows)))]
    let codes: [i32; 0] = [];
    codes
        .iter()
        .any(|&c| msg.ends_with(&std::io::Error::from_raw_os_error(c).to_string()))
        || msg.ends_with(&std::io::Error::from(std::io::ErrorKind::BrokenPipe).to_string())
}

/// Ends the process as a writer to a closed pipe ends when it does not ignore
/// `SIGPIPE`.
fn die_of_closed_pipe() -> ! {
    #[cfg(unix)]
    // SAFETY: restoring a signal's default action and raising it are async-signal-safe
    // and touch no Rust state; the default action of SIGPIPE ends the process.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    std::process::exit(0)
}

/// Keeps glibc's allocator from handing memory back to the kernel after every large
/// buffer. gadn moves data in records of 16–256 KiB (chunks) to a few MiB; by default
/// glibc serves buffers past its mmap threshold with a fresh `mmap` each, and trims
/// the heap as soon as 128 KiB at its top are free, so a transfer of gigabytes pays
/// for millions of page faults, each zeroing a page it then overwrites. Buffers up to
/// 32 MiB now come from the heap, and up to 32 MiB of free heap per arena is kept
/// for reuse: a small fixed amount, well inside the memory budget of every command.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; it is called before any other
    // thread exists, and invalid values are rejected by glibc (returning 0), not UB.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 32 << 20);
    }
}
