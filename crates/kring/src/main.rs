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

/// mimalloc's option numbers (`mi_option_e` in its mimalloc.h, v3; the Rust bindings name only
/// some of them).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Memory is committed as it is used and handed back as soon as it is free: with mimalloc's
/// defaults (arenas committed eagerly, purges delayed) an idle server held 41 MiB instead of
/// 25 (measured, BENCHMARKS.md). Set before the runtime starts its threads.
fn keep_the_allocator_small() {
    // SAFETY: mi_option_set only stores an option value; valid option numbers (above).
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
    }
}

fn main() -> ExitCode {
    keep_the_allocator_small();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(run()),
        Err(e) => {
            eprintln!("kring: cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
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
