use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    return_large_blocks_to_the_system();
    let cli = kring::cli::Cli::parse();
    kring::cli::init_logging(&cli);
    match kring::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kring: {e}");
            ExitCode::FAILURE
        }
    }
}

/// glibc raises its mmap threshold each time a large block is freed, after which blocks of that
/// size come from per-thread arenas and stay resident. Argon2 takes 19 MiB per hash on
/// whichever blocking thread runs it, so a burst of sign-ins left up to 38 MiB in each of the
/// (8 per core) arenas: +420 MB after 500 attempts, measured. A fixed threshold keeps blocks
/// of 1 MiB and more mapped on their own and handed back when freed (+53 MB, measured).
fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter, under glibc's own lock; no memory is
    // touched.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        // Two arenas instead of eight per core: the SQLite readers run on blocking threads,
        // and each new thread that allocates got an arena of its own that stayed resident.
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}
