//! `ferlab eval`: a checkpoint's accuracy on a dataset, with the confusion matrix.

use ferlab::compute::method::{REGISTRY, head_of};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, anyhow};
use candle_core::Device;
use clap::Args;

use super::Overrides;
use ferlab::compute::data;
use ferlab::compute::model::FerModel;
use ferlab::compute::train::checkpoint;
use ferlab::compute::train::device::open_device;
use ferlab::compute::train::evaluate::{AttentionRequest, Extras, evaluate};
use ferlab::compute::train::logit_adjust;
use ferlab::compute::train::tta::Tta;
use ferlab::contract::config::classes::{ClassMatch, match_class_folder};
use ferlab::contract::config::device::parse_device;
use ferlab::contract::config::{DataSource, Experiment, MAX_LOGIT_ADJUSTMENT};
use ferlab::contract::run::RunDir;
use ferlab::contract::run::view::RunView;

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A run directory (uses its best checkpoint) or a checkpoint file inside one.
    pub target: PathBuf,
    /// Data to evaluate on: a preset (its validation split) or an image folder (class
    /// sub-folders, or a dataset root with the run's validation split). Default: the run's
    /// own validation split.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Use the last checkpoint instead of the best.
    #[arg(long)]
    pub last: bool,
    /// Test-time augmentation: `none`, `flip` (the face and its mirror) or `ten-crop` (the
    /// centre and four corner translations, each also mirrored; probabilities averaged).
    /// Default: the run's own `train.tta`.
    #[arg(long)]
    pub tta: Option<String>,
    /// Pixels the ten crops' corners are translated by (default: the run's
    /// augment.crop_padding, the largest translation it trained with).
    #[arg(long)]
    pub tta_shift: Option<usize>,
    /// Post-hoc logit adjustment τ (Menon et al. 2021): each class's probability divided by
    /// its training frequency (the run's recorded class counts) to the power τ before the
    /// prediction; 1 = the rule for mean per-class accuracy, 0 = off. Default: the run's
    /// own `train.logit_adjustment`.
    #[arg(long, value_name = "TAU")]
    pub logit_adjust: Option<f32>,
    /// Also write the result as JSON to this file (overall, mean, macro-F1, per-class,
    /// confusion matrix, classes, data, checkpoint, test-time augmentation).
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub overrides: Overrides,
}

/// The run directory and checkpoint a target names.
fn resolve(target: &Path, last: bool) -> Result<(RunDir, PathBuf)> {
    if target.is_dir() {
        let dir = RunDir::open(target)?;
        let ckpt = if last {
            dir.last_checkpoint()
        } else {
            dir.best_checkpoint()
        };
        if !ckpt.exists() {
            return Err(anyhow!("{} has no checkpoint yet", ckpt.display()));
        }
        return Ok((dir, ckpt));
    }
    if !target.exists() {
        return Err(anyhow!(
            "{}: no such run directory or checkpoint file",
            target.display()
        ));
    }
    // RUN_DIR/checkpoints/<file>.safetensors
    let run_root = target
        .parent()
        .and_then(|p| p.parent())
        .ok_or_else(|| anyhow!("{}: not inside a run directory", target.display()))?;
    let dir = RunDir::open(run_root)
        .with_context(|| format!("{}: not inside a run directory", target.display()))?;
    Ok((dir, target.to_path_buf()))
}

/// Points the experiment's data at `source` (a preset or a folder).
fn retarget(exp: &mut Experiment, source: &Path, overrides: &Overrides) -> Result<()> {
    if source.extension().is_some_and(|e| e == "toml") {
        let other = Experiment::load(source, &overrides.set, &REGISTRY)?;
        if other.data.channels != exp.data.channels || other.data.image_size != exp.data.image_size
        {
            return Err(anyhow!(
                "{}: images of {}x{}x{} do not fit the model, trained on {}x{}x{}",
                source.display(),
                other.data.channels,
                other.data.image_size,
                other.data.image_size,
                exp.data.channels,
                exp.data.image_size,
                exp.data.image_size
            ));
        }
        exp.data = other.data;
        return Ok(());
    }
    if !source.is_dir() {
        return Err(anyhow!(
            "{}: neither a preset (.toml) nor a folder",
            source.display()
        ));
    }
    let has_class_dirs = std::fs::read_dir(source)?.filter_map(|e| e.ok()).any(|e| {
        e.path().is_dir()
            && matches!(
                match_class_folder(&e.file_name().to_string_lossy()),
                ClassMatch::Class(_)
            )
    });
    exp.data.source = DataSource::ImageFolder;
    if has_class_dirs {
        exp.data.path = source.parent().map(Path::to_path_buf).unwrap_or_default();
        exp.data.val_split = source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
    } else {
        exp.data.path = source.to_path_buf();
    }
    Ok(())
}

pub fn run(args: EvalArgs) -> Result<()> {
    let (dir, ckpt) = resolve(&args.target, args.last)?;
    let mut exp = Experiment::load_recorded(&dir.config(), &[], &REGISTRY)?;
    if let Some(source) = &args.data {
        retarget(&mut exp, source, &args.overrides)?;
    }
    let shift = args.tta_shift.unwrap_or(exp.augment.crop_padding);
    let tta = match &args.tta {
        Some(name) => Tta::parse(name, shift).map_err(|e| anyhow!("--tta: {e}"))?,
        None => Tta::of_setting(exp.train.tta, shift),
    };
    let tau = args.logit_adjust.unwrap_or(exp.train.logit_adjustment);
    if !(0.0..=MAX_LOGIT_ADJUSTMENT).contains(&f64::from(tau)) {
        return Err(anyhow!(
            "--logit-adjust: τ must be between 0 and {MAX_LOGIT_ADJUSTMENT}, got {tau}"
        ));
    }
    let offsets = if tau == 0.0 {
        None
    } else {
        let view = RunView::replay(&dir.root)?;
        let counts = view.train_counts().ok_or_else(|| {
            anyhow!(
                "{}: the run recorded no training class counts, which logit adjustment needs",
                dir.events().display()
            )
        })?;
        logit_adjust::offsets(counts, tau)
    };
    let device: Device = open_device(parse_device(&exp.device)?)?;
    let (classes, split, skipped) = data::build_val(&exp)?;
    if !skipped.is_empty() {
        eprintln!("warning: skipped {} unreadable images", skipped.len());
    }
    let model = FerModel::for_experiment(&exp, head_of(&exp)?, classes.len(), &device)?;
    let (tensors, _) = checkpoint::load(&ckpt, &device)?;
    let report = model.load(&tensors)?;
    if !report.missing.is_empty() || !report.mismatched.is_empty() {
        return Err(anyhow!(
            "{}: does not fit the run's model (missing {:?}, mismatched {:?})",
            ckpt.display(),
            report.missing,
            report.mismatched
        ));
    }
    let split = Arc::new(split);
    let eval = evaluate(
        &model,
        &split,
        exp.train.eval_batch_size,
        &exp.augment,
        &device,
        None,
        Extras {
            attention: Some(&AttentionRequest {
                epoch: 0,
                gallery: Vec::new(),
                least_consistent: 0,
            }),
            features_of: None,
            tta,
            prior_offsets: offsets.as_deref(),
        },
    )?
    .ok_or_else(|| anyhow!("evaluation was interrupted"))?;
    // Finite weights can still overflow on some input: an accuracy of such outputs is not one.
    if !eval.metrics.loss.is_finite() {
        return Err(anyhow!(
            "{}: the model's outputs are not finite on this data (its loss is {}); no \
             accuracy is reported",
            ckpt.display(),
            eval.metrics.loss
        ));
    }
    println!("checkpoint {}", ckpt.display());
    println!("data: {} ({} images)", describe_data(&exp), split.len());
    println!("test-time augmentation: {}", tta.describe());
    if tau != 0.0 {
        println!("logit adjustment: τ = {tau} (training class frequencies)");
    }
    print!("{}", eval.metrics.report(&classes));
    if let Some(path) = &args.json {
        let m = &eval.metrics;
        let json = serde_json::json!({
            "checkpoint": ckpt.display().to_string(),
            "data": describe_data(&exp),
            "images": split.len(),
            "tta": tta.describe(),
            "logit_adjustment": tau,
            "classes": classes,
            "overall": m.overall,
            "mean": m.mean,
            "macro_f1": m.macro_f1,
            "loss": m.loss,
            "per_class": m.per_class,
            "confusion": m.confusion,
        });
        std::fs::write(path, serde_json::to_string_pretty(&json)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    if let Some(att) = &eval.attention {
        println!("flip MSE of each class's activation map (mean over images):");
        for (name, v) in classes.iter().zip(&att.per_class) {
            println!("  {name:<10} {v:.5}");
        }
    }
    Ok(())
}

fn describe_data(exp: &Experiment) -> String {
    match exp.data.source {
        DataSource::Synthetic => "synthetic validation faces".into(),
        _ => format!("{} / {}", exp.data.path.display(), exp.data.val_split),
    }
}
