//! Reading a run's recorded `config.toml`. A run directory holds the whole experiment as it
//! trained, every key written; a key missing from it was added to ferlab after the run was
//! recorded. Such a key takes the value that reproduces what the run did, not today's
//! default, so older runs still evaluate and resume as they trained.

use toml::{Table, Value};

/// (method section, key, value that reproduces runs recorded before the key existed).
fn earlier_behaviour() -> [(&'static str, &'static str, Value); 11] {
    [
        // ASM mined online with ferlab's reading of the tri-regularisation.
        ("asm", "partition", Value::from("online")),
        ("asm", "ramp", Value::from("progress")),
        ("asm", "noisy_loss", Value::from("kl")),
        ("asm", "stop_gradient", Value::from(true)),
        ("asm", "reduction", Value::from("batch")),
        // RUL mixed pooled features with one linear log-variance layer, one learning rate.
        ("rul", "architecture", Value::from("pooled")),
        ("rul", "classifier_lr_scale", Value::from(1.0)),
        // SOFT trained the plain student (baseline_mt) with a fractional ramp-up.
        ("soft", "student_attention", Value::from(false)),
        ("soft", "fractional_rampup", Value::from(true)),
        // SCN relabelled within the low-importance group only.
        ("scn", "relabel_scope", Value::from("low_group")),
        // EAC mirrored the augmented view.
        ("eac", "second_view", Value::from("mirror")),
    ]
}

/// Fills the keys a recorded experiment `table` lacks with their earlier behaviour.
pub fn fill_earlier_behaviour(table: &mut Table) {
    let Some(Value::Table(method)) = table.get_mut("method") else {
        return;
    };
    for (section, key, value) in earlier_behaviour() {
        let Some(Value::Table(s)) = method.get_mut(section) else {
            continue;
        };
        if key == "relabel_scope" && !s.contains_key(key) {
            // SCN's relabel_epoch counted from 0 then; from 1 now, as the official flag.
            if let Some(Value::Integer(e)) = s.get_mut("relabel_epoch") {
                *e += 1;
            }
        }
        s.entry(key).or_insert(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::config::{
        AsmPartition, EacSecondView, Experiment, MutualityRamp, NoisyLoss, RelabelScope,
        RulArchitecture, SetReduction,
    };

    #[test]
    fn runs_recorded_before_a_key_existed_keep_their_behaviour() {
        let mut old: Table = Experiment::default().to_toml().parse().unwrap();
        for (section, key, _) in earlier_behaviour() {
            old["method"][section].as_table_mut().unwrap().remove(key);
        }
        old["method"]["scn"]["relabel_epoch"] = Value::from(4);
        fill_earlier_behaviour(&mut old);
        let exp = Experiment::from_toml(&toml::to_string(&old).unwrap(), "old", &[]).unwrap();
        assert_eq!(exp.method.rul.architecture, RulArchitecture::Pooled);
        assert_eq!(exp.method.rul.classifier_lr_scale, 1.0);
        assert!(!exp.method.soft.student_attention && exp.method.soft.fractional_rampup);
        assert_eq!(exp.method.scn.relabel_scope, RelabelScope::LowGroup);
        assert_eq!(exp.method.scn.relabel_epoch, 5);
        assert_eq!(exp.method.eac.second_view, EacSecondView::Mirror);
        let asm = &exp.method.asm;
        assert_eq!(
            (asm.partition, asm.ramp, asm.noisy_loss, asm.reduction),
            (
                AsmPartition::Online,
                MutualityRamp::Progress,
                NoisyLoss::Kl,
                SetReduction::Batch
            )
        );
        assert!(asm.stop_gradient);
        // A run recorded today keeps every value it wrote.
        let mut new: Table = Experiment::default().to_toml().parse().unwrap();
        fill_earlier_behaviour(&mut new);
        let same = Experiment::from_toml(&toml::to_string(&new).unwrap(), "new", &[]).unwrap();
        assert_eq!(same, Experiment::default());
    }
}
