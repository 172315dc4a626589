use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of glibc's allocator, measured (BENCHMARKS.md): a fifth of the server's
/// CPU on a timeline read was glibc's malloc and free (arena locks, chunk consolidation), and
/// glibc keeps freed memory in per-thread arenas (Argon2 takes 19 MiB per hash on whichever
/// blocking thread runs it: +420 MB after 500 sign-ins with the defaults). mimalloc's
/// thread-local free lists are cheaper, and it returns large blocks and idle pages to the
/// system.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
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
