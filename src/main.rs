//! `ferlab`: the workbench (no arguments) or a headless command.

mod cli;

use clap::Parser;
use mimalloc::MiMalloc;

#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

/// mimalloc's `mi_option_purge_delay` (16th entry of `mi_option_e` in v2 and v3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
/// mimalloc's `mi_option_arena_purge_mult` (25th entry of `mi_option_e` in v2 and v3).
const MI_OPTION_ARENA_PURGE_MULT: libmimalloc_sys::mi_option_t = 24;

/// How many times candle's thread pool spins after each operation before it parks.
const CANDLE_SPIN_LIMIT: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";

fn main() {
    // Training allocates and frees the same large activation buffers every step; returning
    // them to the OS after mimalloc's default 10 ms makes every step page-fault them in again
    // (about 15% of a ResNet-18 step). A one-second delay keeps them for the next step, while
    // memory of sizes that do not recur is still returned (never purging grew a benchmark
    // alternating ferlab and candle kernels to 23 GB). Blocks over 16 MiB (a batch of 64
    // faces' first activations) live in arenas, purged after delay × multiple: at the default
    // ×10 a face-ResNet step still faulted in 5,000 pages (15% of its time in the kernel's
    // page clearing); ×100 keeps them (no faults after warm-up; peak memory of `ferlab bench`
    // over both ResNets 3.9 → 4.4 GB).
    // SAFETY: setting an allocator option is thread-safe and done before any other thread.
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1000);
        libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_PURGE_MULT, 100);
    }
    // candle 0.11's own pool (beside ferlab's rayon pool) spins 25,000 times after each of
    // its operations, taking a core from the convolution that follows: a face-ResNet step
    // spent 8% of its samples there. Parking at once measured +12–20% training images/s on
    // the face ResNet and small CNN (`ferlab bench`, bench/RESULTS.md). A value the user
    // set is kept.
    if std::env::var_os(CANDLE_SPIN_LIMIT).is_none() {
        // SAFETY: no other thread exists yet (candle starts its pool on first use, below).
        unsafe { std::env::set_var(CANDLE_SPIN_LIMIT, "0") };
    }
    let args = cli::Cli::parse();
    let result = match args.command {
        Some(command) => cli::run(command),
        None => cli::open_workbench(None),
    };
    if let Err(e) = result {
        eprintln!("error: {}", describe(&e));
        std::process::exit(1);
    }
}

/// An error and its causes, each said once: a message that already quotes its cause (as
/// "cannot read X: Is a directory (os error 21)" does) is not followed by it again.
fn describe(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text = format!("{text}: {cause}");
        }
    }
    text
}
