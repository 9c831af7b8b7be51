//! What a resume may change. A resume continues the experiment a run is: its method, data,
//! model, corruption, augmentation, optimiser, schedule and seed are what its log and
//! checkpoints record, and `ferlab table` names the whole run by them. Changing any of them
//! mid-run would make a run that is neither experiment (a CE run resumed as ASM was called
//! ASM-AT with a CE epoch as its best). A resume may change only how long the run goes on,
//! where and how fast it computes, and what it reports.

use super::schema::leaves;
use super::{Experiment, Problem};

/// The dotted keys a resume may change; anything else is a new run.
pub const RESUME_MAY_CHANGE: &[&str] = &[
    "name",
    "description",
    "group",
    "device",
    "output.dir",
    "model.kernels",
    "train.epochs",
    "train.threads",
    "train.eval_batch_size",
    "train.log_every",
    "train.attention_every",
    "train.attention_gallery",
    "train.embedding_every",
    "train.embedding_points",
];

/// One problem for each setting `resumed` changes of `recorded` that a resume may not change.
pub fn forbidden_changes(recorded: &Experiment, resumed: &Experiment) -> Vec<Problem> {
    let before = leaves(&recorded.to_table());
    let after = leaves(&resumed.to_table());
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k) && !RESUME_MAY_CHANGE.contains(&k.as_str()))
        .map(|k| {
            let show = |v: Option<&toml::Value>| v.map_or("(unset)".to_string(), |v| v.to_string());
            let why = if k == "model.pretrained" {
                "a resume does not read model.pretrained (the checkpoint holds every weight), \
                 so it need not change"
                    .to_string()
            } else {
                "a resume continues the experiment the run is; changing it makes a new run: \
                 train one, starting from this run's weights with \
                 model.pretrained = \"<run>/checkpoints/last.safetensors\" if you want them"
                    .to_string()
            };
            Problem {
                path: k.clone(),
                message: format!(
                    "recorded as {}, --set gives {}: {why}",
                    show(before.get(k)),
                    show(after.get(k))
                ),
            }
        })
        .collect()
}
