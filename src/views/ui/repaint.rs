//! When the window draws. A frame is drawn only when something changed: input, a dialog's
//! answer, or an event of the run. Progress reports come many times a second; drawing each
//! would make the window compete with training for the CPU (a frame of the 1280x800 window
//! costs ~170 ms of CPU under a software renderer). They are therefore drawn at most once
//! per `progress_interval`, which the window sets from what its own frames cost so that
//! progress-driven frames take at most `PROGRESS_SHARE` of one core; every other event
//! (an epoch's end, a pause, the end of the run) is drawn at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::contract::event::Event;

/// The share of one core that frames drawn for progress reports may take.
pub const PROGRESS_SHARE: f64 = 0.04;
/// Progress is drawn at least this often, however expensive frames are...
pub const SLOWEST_PROGRESS: Duration = Duration::from_secs(5);
/// ...and no more often than this, however cheap.
pub const FASTEST_PROGRESS: Duration = Duration::from_millis(250);
/// Other events are drawn after this delay, so a burst of them (an epoch's end brings
/// several) makes one frame.
pub const EVENT_DELAY: Duration = Duration::from_millis(30);

/// The interval between progress-driven frames, shared by the window (which sets it) and
/// the engine's notifier (which reads it).
#[derive(Debug, Clone)]
pub struct RepaintPolicy {
    progress_ms: Arc<AtomicU64>,
}

impl Default for RepaintPolicy {
    fn default() -> Self {
        Self {
            progress_ms: Arc::new(AtomicU64::new(1000)),
        }
    }
}

impl RepaintPolicy {
    pub fn progress_interval(&self) -> Duration {
        Duration::from_millis(self.progress_ms.load(Ordering::Relaxed))
    }

    /// How long after `event` the window should draw.
    pub fn delay_for(&self, event: &Event) -> Duration {
        match event {
            Event::Progress { .. } => self.progress_interval(),
            _ => EVENT_DELAY,
        }
    }

    /// Sets the progress interval from the CPU seconds one frame costs.
    pub fn set_frame_cost(&self, cpu_secs_per_frame: f64) {
        let ms = (1000.0 * cpu_secs_per_frame / PROGRESS_SHARE).clamp(
            FASTEST_PROGRESS.as_millis() as f64,
            SLOWEST_PROGRESS.as_millis() as f64,
        );
        self.progress_ms.store(ms as u64, Ordering::Relaxed);
    }
}

/// The CPU a frame of the window costs, measured from the process's window threads (all
/// but the engine's) between consecutive frames, averaged over recent frames. The window
/// measures only while a run goes (the only time the interval matters) and starts afresh
/// with each run. Linux only; elsewhere the policy keeps its default interval.
#[derive(Debug, Default)]
pub struct FrameCost {
    last_cpu: Option<f64>,
    mean: Option<f64>,
}

impl FrameCost {
    /// Called at the start of each frame; returns the running mean CPU seconds per frame.
    pub fn frame(&mut self) -> Option<f64> {
        let cpu = super::thread_cpu::cpu_split().ok()?.window;
        if let Some(last) = self.last_cpu.replace(cpu) {
            let cost = (cpu - last).max(0.0);
            self.mean = Some(match self.mean {
                Some(m) => 0.8 * m + 0.2 * cost,
                None => cost,
            });
        }
        self.mean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_frames_take_a_bounded_share_of_a_core() {
        let policy = RepaintPolicy::default();
        // A software-rendered frame of 170 ms: progress at most every 4.25 s.
        policy.set_frame_cost(0.170);
        assert_eq!(policy.progress_interval(), Duration::from_millis(4250));
        // A GPU frame of 2 ms: as often as the fastest interval.
        policy.set_frame_cost(0.002);
        assert_eq!(policy.progress_interval(), FASTEST_PROGRESS);
        policy.set_frame_cost(10.0);
        assert_eq!(policy.progress_interval(), SLOWEST_PROGRESS);
        let other = Event::Paused { epoch: 0, step: 3 };
        assert_eq!(policy.delay_for(&other), EVENT_DELAY);
    }
}
