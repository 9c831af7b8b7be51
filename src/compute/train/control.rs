//! Pause / resume / stop requests from the UI or the command line to the training thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};

#[derive(Default)]
pub struct Control {
    stop: AtomicBool,
    paused: Mutex<bool>,
    wake: Condvar,
    /// Why the run cannot go on, found outside the training loop (its log cannot be
    /// written, say): the loop fails with it at its next step.
    fault: Mutex<Option<String>>,
}

impl Control {
    /// Makes the run fail at its next step with `why` (the first fault is kept).
    pub fn fail(&self, why: impl Into<String>) {
        let mut fault = self.fault.lock().expect("control lock");
        if fault.is_none() {
            *fault = Some(why.into());
        }
        drop(fault);
        // A paused run wakes up to fail.
        *self.paused.lock().expect("control lock") = false;
        self.wake.notify_all();
    }

    pub fn fault(&self) -> Option<String> {
        self.fault.lock().expect("control lock").clone()
    }

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
