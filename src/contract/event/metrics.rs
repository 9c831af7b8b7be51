//! Classification metrics: confusion matrix, overall and mean (class-averaged) accuracy,
//! per-class accuracy, macro-F1.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Mean cross-entropy over the evaluated samples.
    #[serde(with = "crate::contract::event::float")]
    pub loss: f32,
    /// Correct / total.
    #[serde(with = "crate::contract::event::float")]
    pub overall: f32,
    /// Mean of the per-class accuracies over classes that have samples.
    #[serde(with = "crate::contract::event::float")]
    pub mean: f32,
    /// Recall of each class; None where the class has no samples.
    #[serde(with = "crate::contract::event::float")]
    pub per_class: Vec<Option<f32>>,
    #[serde(with = "crate::contract::event::float")]
    pub macro_f1: f32,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<u32>>,
    pub count: usize,
    /// Mean flip MSE of the class activation maps, on evaluations that measured it.
    #[serde(
        with = "crate::contract::event::float",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub flip_mse: Option<f32>,
}

impl Metrics {
    pub fn from_predictions(truth: &[u32], pred: &[u32], num_classes: usize, loss: f32) -> Self {
        let mut confusion = vec![vec![0u32; num_classes]; num_classes];
        for (&t, &p) in truth.iter().zip(pred) {
            confusion[t as usize][p as usize] += 1;
        }
        Self::from_confusion(confusion, loss)
    }

    pub fn from_confusion(confusion: Vec<Vec<u32>>, loss: f32) -> Self {
        let k = confusion.len();
        let count: u32 = confusion.iter().flatten().sum();
        let correct: u32 = (0..k).map(|i| confusion[i][i]).sum();
        let row_sum: Vec<u32> = confusion.iter().map(|r| r.iter().sum()).collect();
        let col_sum: Vec<u32> = (0..k)
            .map(|j| confusion.iter().map(|r| r[j]).sum())
            .collect();
        let per_class: Vec<Option<f32>> = (0..k)
            .map(|i| (row_sum[i] > 0).then(|| confusion[i][i] as f32 / row_sum[i] as f32))
            .collect();
        let present: Vec<f32> = per_class.iter().flatten().copied().collect();
        let mean = if present.is_empty() {
            0.0
        } else {
            present.iter().sum::<f32>() / present.len() as f32
        };
        // Macro-F1 over classes with samples; a class never predicted has precision 0.
        let f1s: Vec<f32> = (0..k)
            .filter(|&i| row_sum[i] > 0)
            .map(|i| {
                let tp = confusion[i][i] as f32;
                let precision = if col_sum[i] > 0 {
                    tp / col_sum[i] as f32
                } else {
                    0.0
                };
                let recall = tp / row_sum[i] as f32;
                if precision + recall > 0.0 {
                    2.0 * precision * recall / (precision + recall)
                } else {
                    0.0
                }
            })
            .collect();
        let macro_f1 = if f1s.is_empty() {
            0.0
        } else {
            f1s.iter().sum::<f32>() / f1s.len() as f32
        };
        Self {
            loss,
            overall: if count > 0 {
                correct as f32 / count as f32
            } else {
                0.0
            },
            mean,
            per_class,
            macro_f1,
            confusion,
            count: count as usize,
            flip_mse: None,
        }
    }

    /// A printable report: accuracies and the confusion matrix with class names.
    /// Whether this result beats `best` so far: a strictly higher overall accuracy (ties
    /// keep the earlier epoch). The one rule for "best epoch": the trainer's best checkpoint,
    /// the workbench, tables and figures all use it.
    pub fn improves_on(&self, best: &Metrics) -> bool {
        self.overall > best.overall
    }

    pub fn report(&self, classes: &[String]) -> String {
        let mut s = format!(
            "overall accuracy {:.2}%  mean accuracy {:.2}%  macro-F1 {:.2}%  loss {:.4}  ({} images)\n",
            100.0 * self.overall,
            100.0 * self.mean,
            100.0 * self.macro_f1,
            self.loss,
            self.count
        );
        if let Some(f) = self.flip_mse {
            s += &format!("flip MSE of the class activation maps {f:.5}\n");
        }
        s += "per-class accuracy:\n";
        for (name, acc) in classes.iter().zip(&self.per_class) {
            match acc {
                Some(a) => s += &format!("  {name:<10} {:6.2}%\n", 100.0 * a),
                None => s += &format!("  {name:<10}     -- (no samples)\n"),
            }
        }
        s += "confusion (rows: true, columns: predicted):\n";
        s += &format!("{:>10}", "");
        for name in classes {
            s += &format!(" {:>8}", abbreviate(name));
        }
        s += "\n";
        for (name, row) in classes.iter().zip(&self.confusion) {
            s += &format!("{:>10}", abbreviate(name));
            for v in row {
                s += &format!(" {v:>8}");
            }
            s += "\n";
        }
        s
    }
}

fn abbreviate(name: &str) -> String {
    name.chars().take(8).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_computed_example() {
        // 3 classes; truth/pred pairs chosen by hand.
        let truth = [0, 0, 0, 0, 1, 1, 2, 2, 2, 2];
        let pred = [0, 0, 0, 1, 1, 0, 2, 2, 1, 1];
        let m = Metrics::from_predictions(&truth, &pred, 3, 0.5);
        assert_eq!(
            m.confusion,
            vec![vec![3, 1, 0], vec![1, 1, 0], vec![0, 2, 2]]
        );
        assert!((m.overall - 0.6).abs() < 1e-6);
        // Recalls 3/4, 1/2, 2/4 -> mean 0.5833.
        assert!((m.mean - (0.75 + 0.5 + 0.5) / 3.0).abs() < 1e-6);
        // Precisions 3/4, 1/4, 2/2; F1 = 0.75, 1/3, 2/3.
        let f1 = (0.75 + (2.0 * 0.25 * 0.5 / 0.75) + (2.0 * 1.0 * 0.5 / 1.5)) / 3.0;
        assert!(
            (m.macro_f1 - f1 as f32).abs() < 1e-6,
            "{} vs {f1}",
            m.macro_f1
        );
        assert_eq!(m.count, 10);
    }

    #[test]
    fn absent_classes_are_left_out_of_the_mean() {
        let m = Metrics::from_predictions(&[0, 0, 1], &[0, 1, 1], 3, 0.0);
        assert_eq!(m.per_class[2], None);
        assert!((m.mean - 0.75).abs() < 1e-6);
    }
}
