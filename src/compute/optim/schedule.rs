//! Learning-rate schedules, evaluated per step from the run's position alone (no state), so
//! a resumed run continues the same curve.

use crate::contract::config::{ScheduleConfig, ScheduleKind};

/// Learning rate at `step` (0-based, within `epoch`) of a run of `epochs` × `steps_per_epoch`.
pub fn lr_at(
    cfg: &ScheduleConfig,
    base_lr: f64,
    epoch: usize,
    step: usize,
    steps_per_epoch: usize,
    epochs: usize,
) -> f64 {
    let spe = steps_per_epoch.max(1) as f64;
    let global = epoch as f64 * spe + step as f64;
    let warmup_steps = cfg.warmup_epochs * spe;
    if global < warmup_steps {
        return base_lr * (global + 1.0) / warmup_steps;
    }
    let min_lr = base_lr * cfg.min_lr_ratio;
    match cfg.kind {
        ScheduleKind::Constant => base_lr,
        ScheduleKind::Step => base_lr * cfg.gamma.powi((epoch / cfg.step_epochs.max(1)) as i32),
        ScheduleKind::Cosine => {
            let total = epochs as f64 * spe - warmup_steps;
            let progress = if total <= 1.0 {
                0.0
            } else {
                ((global - warmup_steps) / (total - 1.0)).clamp(0.0, 1.0)
            };
            min_lr + (base_lr - min_lr) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(kind: ScheduleKind, warmup: f64) -> ScheduleConfig {
        ScheduleConfig {
            kind,
            warmup_epochs: warmup,
            step_epochs: 2,
            gamma: 0.5,
            min_lr_ratio: 0.0,
        }
    }

    #[test]
    fn warmup_then_cosine_reaches_the_minimum_at_the_last_step() {
        let c = cfg(ScheduleKind::Cosine, 1.0);
        assert!((lr_at(&c, 1.0, 0, 0, 10, 5) - 0.1).abs() < 1e-12);
        assert!((lr_at(&c, 1.0, 0, 9, 10, 5) - 1.0).abs() < 1e-12);
        assert!((lr_at(&c, 1.0, 1, 0, 10, 5) - 1.0).abs() < 1e-12);
        assert!(lr_at(&c, 1.0, 4, 9, 10, 5).abs() < 1e-12);
        let mid = lr_at(&c, 1.0, 3, 0, 10, 5);
        assert!(mid > 0.3 && mid < 0.7, "{mid}");
    }

    #[test]
    fn step_schedule_halves_every_two_epochs() {
        let c = cfg(ScheduleKind::Step, 0.0);
        assert_eq!(lr_at(&c, 0.8, 0, 3, 10, 9), 0.8);
        assert_eq!(lr_at(&c, 0.8, 2, 0, 10, 9), 0.4);
        assert_eq!(lr_at(&c, 0.8, 5, 0, 10, 9), 0.2);
    }
}
