//! What a run reports of its data: per-split class counts and corruption figures.

use serde::{Deserialize, Serialize};

/// Per-split class counts and corruption figures, as `ferlab data stats` prints them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataStats {
    pub origin: String,
    pub classes: Vec<String>,
    pub train_counts: Vec<usize>,
    pub val_counts: Vec<usize>,
    /// Fraction of training labels that differ from the clean ones (None: unknown).
    #[serde(with = "crate::contract::event::float", default)]
    pub noise_rate: Option<f64>,
    #[serde(with = "crate::contract::event::float")]
    pub imbalance_factor: f64,
    pub blended: Option<usize>,
    pub skipped: usize,
}

impl DataStats {
    /// One line per class without training (or validation) faces: a model trained on such
    /// data never predicts the class, and its accuracy there is undefined.
    pub fn empty_class_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (i, name) in self.classes.iter().enumerate() {
            for (split, counts) in [
                ("training", &self.train_counts),
                ("validation", &self.val_counts),
            ] {
                if counts.get(i) == Some(&0) {
                    out.push(format!(
                        "class {name} has no {split} faces in {}",
                        self.origin
                    ));
                }
            }
        }
        out
    }

    pub fn to_text(&self) -> String {
        let mut s = format!("data: {}\n", self.origin);
        s += &format!("{:<12} {:>8} {:>8}\n", "class", "train", "val");
        for (i, name) in self.classes.iter().enumerate() {
            s += &format!(
                "{:<12} {:>8} {:>8}\n",
                name, self.train_counts[i], self.val_counts[i]
            );
        }
        let tt: usize = self.train_counts.iter().sum();
        let vt: usize = self.val_counts.iter().sum();
        s += &format!("{:<12} {:>8} {:>8}\n", "total", tt, vt);
        match self.noise_rate {
            Some(r) => {
                s += &format!(
                    "label noise: {:.2}% of training labels differ from the clean ones\n",
                    100.0 * r
                )
            }
            None => s += "label noise: unknown (no ground truth; none injected)\n",
        }
        s += &format!(
            "imbalance factor (max/min train count over classes with faces): {:.2}\n",
            self.imbalance_factor
        );
        for w in self.empty_class_warnings() {
            s += &format!("warning: {w}\n");
        }
        if let Some(b) = self.blended {
            s += &format!("blended (ambiguous) training faces: {b}\n");
        }
        if self.skipped > 0 {
            s += &format!("unreadable images skipped: {}\n", self.skipped);
        }
        s
    }
}
