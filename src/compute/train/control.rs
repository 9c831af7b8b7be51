//! Pause / resume / stop requests from the UI or the command line to the training thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};

#[derive(Default)]
pub struct Control {
    stop: AtomicBool,
    paused: Mutex<bool>,
    wake: Condvar,
}

impl Control {
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.wake.notify_all();
    }

    pub fn pause(&self) {
        *self.paused.lock().expect("control lock") = true;
    }

    pub fn resume(&self) {
        *self.paused.lock().expect("control lock") = false;
        self.wake.notify_all();
    }

    pub fn is_stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    pub fn is_paused(&self) -> bool {
        *self.paused.lock().expect("control lock")
    }

    /// Blocks while paused (returning early on stop). Calls `on_pause` once if it waited
    /// and returns whether it did.
    pub fn wait_while_paused(&self, on_pause: impl FnOnce()) -> bool {
        let mut paused = self.paused.lock().expect("control lock");
        if !*paused || self.is_stopped() {
            return false;
        }
        on_pause();
        while *paused && !self.is_stopped() {
            paused = self.wake.wait(paused).expect("control lock");
        }
        true
    }
}
