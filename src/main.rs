//! The `gadn` binary: see `gadn --help`.

mod cli;

fn main() -> std::process::ExitCode {
    tune_allocator();
    cli::run()
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
