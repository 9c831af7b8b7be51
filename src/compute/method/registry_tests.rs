//! The registry and the one schema: every setting described once and every description
//! true to the typed sections; a toy method added with one module's worth of code and one
//! registry line; the rules that moved from the contract into the methods.

use toml::Value;

use super::{Build, Entry, Losses, Method, REGISTRY, Registry, pooled_head};
use crate::contract::config::Experiment;
use crate::contract::config::fields::core_fields;
use crate::contract::config::recorded::fill_earlier_behaviour;
use crate::contract::config::schema::{Field, Kind, MethodSchema, Range, Widget, leaves, lookup};
use crate::contract::run::results::method_label;

fn all_fields() -> Vec<&'static Field> {
    let mut fields: Vec<&'static Field> = core_fields().collect();
    for entry in REGISTRY.0 {
        fields.extend(entry.schema.fields);
    }
    fields
}

#[test]
fn every_setting_is_described_once_and_every_description_is_a_setting() {
    let mut exp = Experiment::default();
    exp.resolve(&REGISTRY);
    let keys: Vec<String> = leaves(&exp.to_table()).into_keys().collect();
    let fields = all_fields();
    let mut paths: Vec<&str> = fields.iter().map(|f| f.path).collect();
    paths.sort();
    let before = paths.len();
    paths.dedup();
    assert_eq!(before, paths.len(), "a path described twice");
    for key in &keys {
        assert!(paths.contains(&key.as_str()), "{key} has no description");
    }
    for f in &fields {
        let optional = matches!(f.kind, Kind::Path(p) if p.optional);
        assert!(
            optional || keys.iter().any(|k| k == f.path),
            "{} describes no setting",
            f.path
        );
    }
}

#[test]
fn each_default_and_each_choice_passes_its_own_field_and_types_its_section() {
    let mut exp = Experiment::default();
    exp.resolve(&REGISTRY);
    let table = exp.to_table();
    for f in all_fields() {
        assert_eq!(
            f.check(lookup(&table, f.path), &REGISTRY),
            None,
            "the default of {}",
            f.path
        );
        if let Kind::Choice(options) = f.kind {
            for option in options {
                // A choice the typed section cannot read would fail here.
                let mut e = exp.clone();
                e.set(f.path, *option)
                    .unwrap_or_else(|p| panic!("{} = {option}: {p}", f.path));
                if f.path.starts_with("method.") {
                    let key = f.path.split('.').nth(1).unwrap();
                    e.method.name = key.into();
                }
                let problems = e.validate(&REGISTRY);
                assert!(
                    problems.iter().all(|p| p.path != f.path),
                    "{} = {option}: {problems:?}",
                    f.path
                );
                e.method.name = "ce".into();
                for entry in REGISTRY.0 {
                    (entry.head)(&e).unwrap_or_else(|err| panic!("{} = {option}: {err}", f.path));
                }
            }
        }
    }
}

#[test]
fn ranges_come_from_the_description_and_inactive_sections_are_not_checked() {
    let mut exp = Experiment::default();
    exp.set("method.asm.noisy_threshold", 1.5).unwrap();
    // Not ASM's run: its section is kept but not in effect.
    assert!(exp.validate(&REGISTRY).is_empty());
    exp.method.name = "asm".into();
    let problems = exp.validate(&REGISTRY);
    assert!(
        problems
            .iter()
            .any(|p| p.path == "method.asm.noisy_threshold"
                && p.message == "must be in [0, 1), got 1.5"),
        "{problems:?}"
    );
    // Unknown keys are reported in any section, and an unknown section too.
    let text =
        "[method]\nname = \"ce\"\n[method.asm]\nnoisy_treshold = 0.1\n[method.nope]\nx = 1\n";
    let problems = Experiment::from_toml(text, "t", &[], &REGISTRY)
        .unwrap_err()
        .problems()
        .to_vec();
    let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
    assert!(paths.contains(&"method.asm.noisy_treshold"), "{paths:?}");
    assert!(paths.contains(&"method.nope"), "{paths:?}");
    let problems = Experiment::from_toml("[method]\nname = \"mystery\"\n", "t", &[], &REGISTRY)
        .unwrap_err()
        .problems()
        .to_vec();
    assert!(
        problems
            .iter()
            .any(|p| p.path == "method.name" && p.message.contains("one of ce, asm")),
        "{problems:?}"
    );
}

#[test]
fn sam_is_refused_for_methods_with_per_sample_state() {
    let mut e = Experiment::default();
    e.optimizer.sam_rho = 0.05;
    assert!(
        e.validate(&REGISTRY)
            .iter()
            .all(|p| p.path != "optimizer.sam_rho")
    );
    e.method.name = "asm".into();
    let problems = e.validate(&REGISTRY);
    let p = problems.iter().find(|p| p.path == "optimizer.sam_rho");
    assert!(
        p.is_some_and(|p| p.message.contains("method asm")),
        "{problems:?}"
    );
    e.optimizer.sam_rho = -1.0;
    e.method.name = "ce".into();
    assert!(
        e.validate(&REGISTRY)
            .iter()
            .any(|p| p.path == "optimizer.sam_rho")
    );
}

#[test]
fn device_names_are_checked_beside_the_field() {
    let mut e = Experiment {
        device: "gpu".into(),
        ..Experiment::default()
    };
    let problems = e.validate(&REGISTRY);
    assert!(problems.iter().any(|p| p.path == "device"), "{problems:?}");
    e.device = "cuda:0".into();
    let problems = e.validate(&REGISTRY);
    let cuda = problems.iter().find(|p| p.path == "device");
    if crate::contract::config::device::CUDA_BUILT {
        assert!(cuda.is_none(), "{problems:?}");
    } else {
        assert!(
            cuda.is_some_and(|p| p.message.contains("built without CUDA")),
            "{problems:?}"
        );
    }
}

#[test]
fn labels_come_from_the_method_schema() {
    let mut exp = Experiment::default();
    assert_eq!(method_label(&exp, &REGISTRY), "CE");
    exp.method.name = "asm".into();
    exp.set("method.asm.thresholds", "fixed").unwrap();
    exp.set("method.asm.noisy_threshold", 0.05).unwrap();
    exp.set("method.asm.clean_threshold", 0.95).unwrap();
    assert_eq!(method_label(&exp, &REGISTRY), "ASM-FT [0.05, 0.95]");
    exp.method.name = "rmfer".into();
    exp.set("method.rmfer.acl", false).unwrap();
    assert_eq!(method_label(&exp, &REGISTRY), "RMFER w/o ACL");
}

#[test]
fn runs_recorded_before_a_key_existed_keep_their_behaviour() {
    use super::asm::{AsmConfig, AsmPartition, MutualityRamp, NoisyLoss, SetReduction};
    use super::eac::{EacConfig, EacSecondView};
    use super::rul::{RulArchitecture, RulConfig};
    use super::scn::{RelabelScope, ScnConfig};
    use super::soft::SoftConfig;
    let mut resolved = Experiment::default();
    resolved.resolve(&REGISTRY);
    let mut old = resolved.to_table();
    for (section, key) in [
        ("asm", "partition"),
        ("asm", "ramp"),
        ("asm", "noisy_loss"),
        ("asm", "stop_gradient"),
        ("asm", "reduction"),
        ("rul", "architecture"),
        ("rul", "classifier_lr_scale"),
        ("soft", "student_attention"),
        ("soft", "fractional_rampup"),
        ("scn", "relabel_scope"),
        ("eac", "second_view"),
    ] {
        old["method"][section].as_table_mut().unwrap().remove(key);
    }
    old["method"]["scn"]["relabel_epoch"] = Value::from(4);
    let text = toml::to_string(&old).unwrap();
    let exp = Experiment::recorded_from_toml(&text, "old", &[], &REGISTRY).unwrap();
    let m = &exp.method;
    let rul: RulConfig = m.section("rul").unwrap();
    assert_eq!(rul.architecture, RulArchitecture::Pooled);
    assert_eq!(rul.classifier_lr_scale, 1.0);
    let soft: SoftConfig = m.section("soft").unwrap();
    assert!(!soft.student_attention && soft.fractional_rampup);
    let scn: ScnConfig = m.section("scn").unwrap();
    assert_eq!(scn.relabel_scope, RelabelScope::LowGroup);
    assert_eq!(scn.relabel_epoch, 5);
    let eac: EacConfig = m.section("eac").unwrap();
    assert_eq!(eac.second_view, EacSecondView::Mirror);
    let asm: AsmConfig = m.section("asm").unwrap();
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
    let mut new = resolved.to_table();
    fill_earlier_behaviour(&mut new, &REGISTRY);
    let text = toml::to_string(&new).unwrap();
    let same = Experiment::recorded_from_toml(&text, "new", &[], &REGISTRY).unwrap();
    assert_eq!(same, resolved);
}

/// A toy method, written as a new method's module would be: its section, its schema, its
/// `Method`, its entry. Nothing else in ferlab names it.
mod toy {
    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::compute::method::{BatchTensors, StepContext};
    use crate::compute::model::{FerModel, Mode};
    use crate::contract::config::schema::defaults_of;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(default)]
    pub struct ToyConfig {
        pub scale: f32,
    }

    impl Default for ToyConfig {
        fn default() -> Self {
            Self { scale: 2.0 }
        }
    }

    const FIELDS: &[Field] = &[Field::new(
        "method.toy.scale",
        "logit scale",
        Kind::Number {
            range: Range::closed(0.0, 10.0),
            widget: Widget::slider(0.0, 10.0),
        },
    )];

    pub struct Toy {
        scale: f64,
    }

    impl Method for Toy {
        fn loss(
            &mut self,
            model: &FerModel,
            batch: &BatchTensors,
            ctx: &StepContext,
        ) -> candle_core::Result<Losses> {
            let out = model.forward(&batch.views[0], Mode::Train { seed: ctx.seed })?;
            let logits = (out.logits * self.scale)?;
            let ce = super::super::losses::cross_entropy(&logits, &batch.labels, 0.0)?;
            Ok(Losses::single("toy_ce", ce, logits))
        }
    }

    pub const ENTRY: Entry = Entry {
        schema: MethodSchema {
            fields: FIELDS,
            defaults: defaults_of::<ToyConfig>,
            label: |e| {
                let cfg: ToyConfig = e.method.section("toy").unwrap_or_default();
                format!("TOY ×{}", cfg.scale)
            },
            ..MethodSchema::plain("toy", "a toy: cross-entropy of scaled logits")
        },
        build: |b: Build<'_>| {
            let cfg: ToyConfig = b.exp.method.section("toy")?;
            Ok(Box::new(Toy {
                scale: cfg.scale as f64,
            }))
        },
        head: pooled_head,
    };
}

#[test]
fn a_toy_method_is_one_module_and_one_registry_line() {
    use crate::compute::method::test_support::{cyclic_batch, first_step};
    use crate::compute::model::FerModel;
    let registry = Registry(&[super::ce::ENTRY, toy::ENTRY]);
    let text = "name = \"toy-run\"\n[method]\nname = \"toy\"\n[method.toy]\nscale = 3.0\n";
    let exp = Experiment::from_toml(text, "toy.toml", &[], &registry).unwrap();
    // Its section resolved into the run's config, its label in the tables.
    assert!(exp.to_toml().contains("[method.toy]\nscale = 3.0"));
    assert_eq!(method_label(&exp, &registry), "TOY ×3");
    // Its field's range and unknown keys checked by the contract from its description.
    let bad = Experiment::from_toml(
        "[method]\nname = \"toy\"\n[method.toy]\nscale = 11.0\nscal = 1\n",
        "bad.toml",
        &[],
        &registry,
    )
    .unwrap_err()
    .problems()
    .to_vec();
    let paths: Vec<&str> = bad.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["method.toy.scal", "method.toy.scale"], "{bad:?}");
    // Built and stepped like any method.
    let entry = registry.entry("toy").unwrap();
    let mut small = exp.clone();
    small.model.width = 4;
    let dev = candle_core::Device::Cpu;
    let model = FerModel::new(&small.model, 1, 3, &dev, 1).unwrap();
    let dataset = crate::compute::data::build(&{
        let mut d = small.clone();
        d.data.synthetic.train_per_class = 2;
        d.data.synthetic.val_per_class = 1;
        d
    })
    .unwrap();
    let mut method = (entry.build)(Build {
        exp: &small,
        model: &model,
        train: &dataset.train,
        unlabeled: None,
        device: &dev,
    })
    .unwrap();
    let x = candle_core::Tensor::randn(0f32, 1.0, (6, 1, 12, 12), &dev).unwrap();
    let losses = method
        .loss(&model, &cyclic_batch(vec![x], 3), &first_step(1, 0))
        .unwrap();
    assert_eq!(losses.terms[0].0, "toy_ce");
    assert!(losses.total.to_scalar::<f32>().unwrap().is_finite());
}
