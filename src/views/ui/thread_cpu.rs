//! CPU time of this process's threads, split into the window's (the UI thread, the
//! software renderer's, dialogs) and training's (the engine's threads, by the names it gives
//! them), from /proc/self/task/*/schedstat. Linux only. The repaint policy reads what a
//! frame costs from it; `ferlab bench --ui` what the window costs training.

use crate::views::Error;

/// Threads whose CPU time belongs to training, by the name prefix the engine gives them
/// (`/proc` cuts names to 15 bytes).
const TRAINING_THREADS: [&str; 4] = [
    "ferlab-engine",
    "ferlab-compute",
    "ferlab-prefetch",
    "ferlab-embeddin",
];

/// The window benchmark's sampler thread: counted on neither side.
pub const SAMPLER: &str = "ferlab-sampler";

/// CPU seconds used so far by this process's window threads and training threads.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuSplit {
    pub window: f64,
    pub training: f64,
}

/// Reads every thread's CPU time (`schedstat`, nanoseconds) and sorts it by thread name.
pub fn cpu_split() -> Result<CpuSplit, Error> {
    let tasks = std::fs::read_dir("/proc/self/task")
        .map_err(|e| Error::io("cannot read (Linux only)", "/proc/self/task", e))?;
    let mut split = CpuSplit::default();
    for task in tasks.flatten() {
        let dir = task.path();
        // A thread may end between listing and reading: skip it.
        let (Ok(comm), Ok(sched)) = (
            std::fs::read_to_string(dir.join("comm")),
            std::fs::read_to_string(dir.join("schedstat")),
        ) else {
            continue;
        };
        let ns: f64 = sched
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        let name = comm.trim();
        if name == SAMPLER {
            // The benchmark's own thread: neither the window's nor training's.
            continue;
        }
        if TRAINING_THREADS.iter().any(|t| name.starts_with(t)) {
            split.training += ns / 1e9;
        } else {
            split.window += ns / 1e9;
        }
    }
    Ok(split)
}
