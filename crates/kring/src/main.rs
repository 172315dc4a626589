use std::process::ExitCode;

use clap::Parser;

/// mimalloc: per-thread free lists without locks, where glibc's malloc and free were ~15 % of a
/// timeline read's CPU: reads cost ~30 % less CPU with it (BENCHMARKS.md, session 11).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_arena_eager_commit` and `mi_option_purge_delay` (their places in
/// `mi_option_e`, mimalloc.h v3; the crate names neither).
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// mimalloc multiplies it by `mi_option_arena_purge_mult` (10) for arenas: about a second.
const PURGE_DELAY_MS: std::ffi::c_long = 100;

#[tokio::main]
async fn main() -> ExitCode {
    return_large_blocks_to_the_system();
    return_freed_memory_every_second();
    return_what_heavy_work_freed_at_once();
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

/// Memory freed goes back to the system about a second later (`PURGE_DELAY_MS` times
/// mimalloc's arena multiplier of 10, and `return_freed_memory_every_second`), and arenas are
/// committed as they are used: with mimalloc's defaults (purging after 10 ms, only when the
/// allocator is next used; whole arenas committed) a small server's steady RSS was 106 MiB
/// instead of 60 and its peak 185 MiB instead of 98 (BENCHMARKS.md, session 11). Not at once:
/// every response's body (~85 KB for a page of 40 posts) and a page's views then came from
/// pages handed back after the previous request, so the kernel zeroed and mapped them anew —
/// 8 % of a home timeline's samples were page faults (session 28). Set from the program's
/// constructors, before Rust's runtime allocates anything: from `main` it came too late
/// (steady RSS 86 MiB). By hand rather than with a crate for constructors: it is one entry in
/// `.init_array`.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static ALLOCATOR_OPTIONS: extern "C" fn() = allocator_options;

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
extern "C" fn allocator_options() {
    // SAFETY: mi_option_set only stores a number in mimalloc's table of options.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS);
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
    }
}

/// mimalloc purges what is due only when the allocator is next called, so a server that goes
/// quiet after a burst (sign-ups: Argon2's 19 MiB per hash) would keep it resident: a thread
/// of its own asks it once a second (one wake-up a second when idle). Measured: RSS 93.5 MiB
/// after 50 sign-ups and log-ins, 55.5 MiB 3 s later; without the thread it stayed at 92.0.
fn return_freed_memory_every_second() {
    let spawned = std::thread::Builder::new()
        .name("kring-purge".into())
        .spawn(|| {
            // mimalloc skips collecting for a thread that has never allocated (its thread-local
            // heap is not set up), so this one allocates once.
            let _heap = std::hint::black_box(Box::new(0u64));
            loop {
                std::thread::sleep(std::time::Duration::from_secs(1));
                // SAFETY: mi_collect only frees what the allocator itself holds unused.
                unsafe { libmimalloc_sys::mi_collect(false) };
            }
        });
    if let Err(e) = spawned {
        eprintln!("kring: freed memory is returned to the system later: {e}");
    }
}

/// Password hashing, key generation and media processing (`kring_service::cpu`) free large
/// blocks (Argon2: 19 MiB per hash) on their own threads, a few at a time: what they freed goes
/// back to the system as soon as each job ends, not a second later, so a burst of sign-ins
/// holds only the blocks of the hashes running.
fn return_what_heavy_work_freed_at_once() {
    kring_service::cpu::after_each(|| {
        // SAFETY: mi_collect only frees what the allocator itself holds unused.
        unsafe { libmimalloc_sys::mi_collect(true) };
    });
}

/// For what is still allocated with glibc's malloc (SQLite's C code): glibc raises its mmap
/// threshold each time a large block is freed, after which blocks of that size come from
/// per-thread arenas and stay resident. (Measured before mimalloc, when Rust's allocations went
/// there too: Argon2's 19 MiB per hash left up to 38 MiB in each of the 8-per-core arenas, +420
/// MB after 500 sign-ins; a fixed threshold kept blocks of 1 MiB and more mapped on their own
/// and handed back when freed, +53 MB.)
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
