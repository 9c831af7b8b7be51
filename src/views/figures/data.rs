//! The numbers behind each figure, as CSV: what a paper's plotting script or a spreadsheet
//! reads instead of a picture (`Export figure…` with a `.csv` path, `ferlab export --csv`).
//! One row per plotted point, long format, with the same epoch picks as the figure.

use super::{FigureKind, FigureOptions, FigureResult, snapshot_at};
use crate::contract::run::view::RunView;
use crate::views::Error;
use crate::views::tables::csv_line;

/// The CSV of the figure `kind` of `view`.
pub fn csv(kind: FigureKind, view: &RunView, options: FigureOptions) -> FigureResult<String> {
    if !kind.available(view) {
        return Err(Error::Draw(format!(
            "{} has no data for the {} figure",
            view.run_id,
            kind.key()
        )));
    }
    let num = |v: f64| {
        if v.is_finite() {
            format!("{v}")
        } else {
            String::new()
        }
    };
    let opt = |v: Option<f32>| v.map_or(String::new(), |v| num(v as f64));
    let class = |k: usize| {
        view.classes
            .get(k)
            .cloned()
            .unwrap_or_else(|| k.to_string())
    };
    let mut out = String::new();
    let mut row = |fields: Vec<String>| out += &csv_line(&fields);
    let epoch_point = |wanted: Option<usize>| {
        match wanted {
            Some(e) => view.epochs.iter().find(|p| p.epoch == e),
            None => view.best(),
        }
        .ok_or_else(|| Error::Draw(format!("{} has no such epoch", view.run_id)))
    };
    match kind {
        FigureKind::Curves => {
            let terms: Vec<String> = view
                .epochs
                .last()
                .map(|p| p.train.terms.keys().cloned().collect())
                .unwrap_or_default();
            let mut header: Vec<String> = ["epoch", "train_loss"].map(String::from).to_vec();
            header.extend(terms.iter().map(|t| format!("train_loss_{t}")));
            header.extend(
                [
                    "val_loss",
                    "train_accuracy",
                    "val_overall",
                    "val_mean",
                    "val_macro_f1",
                    "lr",
                    "images_per_sec",
                ]
                .map(String::from),
            );
            row(header);
            for p in &view.epochs {
                let mut r = vec![p.epoch.to_string(), num(p.train.loss as f64)];
                r.extend(terms.iter().map(|t| opt(p.train.terms.get(t).copied())));
                r.extend([
                    num(p.val.loss as f64),
                    num(p.train.accuracy as f64),
                    num(p.val.overall as f64),
                    num(p.val.mean as f64),
                    num(p.val.macro_f1 as f64),
                    num(p.train.lr),
                    num(p.train.images_per_sec as f64),
                ]);
                row(r);
            }
        }
        FigureKind::Confusion => {
            let p = epoch_point(options.epoch)?;
            row(["epoch", "true", "predicted", "count"]
                .map(String::from)
                .to_vec());
            for (t, counts) in p.val.confusion.iter().enumerate() {
                for (q, n) in counts.iter().enumerate() {
                    row(vec![p.epoch.to_string(), class(t), class(q), n.to_string()]);
                }
            }
        }
        FigureKind::PerClass => {
            let p = epoch_point(options.epoch)?;
            row(["epoch", "class", "accuracy", "val_count"]
                .map(String::from)
                .to_vec());
            for (k, acc) in p.val.per_class.iter().enumerate() {
                let n: u32 = p.val.confusion.get(k).map_or(0, |r| r.iter().sum());
                row(vec![
                    p.epoch.to_string(),
                    class(k),
                    opt(*acc),
                    n.to_string(),
                ]);
            }
        }
        FigureKind::Thresholds => {
            row([
                "epoch",
                "class",
                "clean_threshold",
                "noisy_threshold",
                "class_mean",
            ]
            .map(String::from)
            .to_vec());
            for (e, r) in &view.mining {
                for k in 0..view.classes.len() {
                    let t = r.thresholds.as_ref();
                    row(vec![
                        e.to_string(),
                        class(k),
                        opt(t.and_then(|t| t.clean.get(k).copied())),
                        opt(t.and_then(|t| t.noisy.get(k).copied())),
                        opt(r.class_mean.get(k).copied()),
                    ]);
                }
            }
        }
        FigureKind::Mining => {
            row([
                "epoch",
                "class",
                "clean",
                "ambiguous",
                "noisy",
                "noisy_precision",
                "noisy_recall",
                "clean_precision",
                "clean_recall",
            ]
            .map(String::from)
            .to_vec());
            for (e, r) in &view.mining {
                let q = r.quality.as_ref();
                for (k, c) in r.counts.iter().enumerate() {
                    row(vec![
                        e.to_string(),
                        class(k),
                        c[0].to_string(),
                        c[1].to_string(),
                        c[2].to_string(),
                        opt(q.and_then(|q| q.noisy.precision)),
                        opt(q.and_then(|q| q.noisy.recall)),
                        opt(q.and_then(|q| q.clean.precision)),
                        opt(q.and_then(|q| q.clean.recall)),
                    ]);
                }
            }
        }
        FigureKind::Attention => {
            let snap = snapshot_at(&view.attention, options.epoch)
                .ok_or_else(|| Error::Draw(format!("{} has no such snapshot", view.run_id)))?;
            let mut header: Vec<String> = ["epoch", "face", "label", "prediction"]
                .map(String::from)
                .to_vec();
            header.extend(view.classes.iter().map(|c| format!("flip_mse_{c}")));
            row(header);
            for f in &snap.faces {
                let mut r = vec![
                    snap.epoch.to_string(),
                    f.index.to_string(),
                    class(f.label as usize),
                    class(f.prediction as usize),
                ];
                r.extend(f.consistency.iter().map(|v| num(*v as f64)));
                row(r);
            }
        }
        FigureKind::FlipConsistency => {
            row(["epoch", "class", "flip_mse"].map(String::from).to_vec());
            for (e, s) in &view.attention {
                for (k, v) in s.per_class.iter().enumerate() {
                    row(vec![e.to_string(), class(k), num(*v as f64)]);
                }
            }
        }
        FigureKind::Embedding => {
            let snap = snapshot_at(&view.embeddings, options.epoch)
                .ok_or_else(|| Error::Draw(format!("{} has no such embedding", view.run_id)))?;
            row([
                "epoch",
                "face",
                "label",
                "prediction",
                "tsne_x",
                "tsne_y",
                "mds_x",
                "mds_y",
            ]
            .map(String::from)
            .to_vec());
            let xy = |v: &[f32], i: usize, d: usize| {
                v.get(2 * i + d).map_or(String::new(), |v| num(*v as f64))
            };
            for (i, face) in snap.indices.iter().enumerate() {
                row(vec![
                    snap.epoch.to_string(),
                    face.to_string(),
                    class(snap.labels[i] as usize),
                    class(snap.predictions[i] as usize),
                    xy(&snap.tsne, i, 0),
                    xy(&snap.tsne, i, 1),
                    xy(&snap.mds, i, 0),
                    xy(&snap.mds, i, 1),
                ]);
            }
        }
    }
    Ok(out)
}
