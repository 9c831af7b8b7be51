//! A sweep in the runs browser: its points as a group, and for two swept keys a heat map
//! of best overall accuracy (mean over seeds) with one cell per combination.

use std::path::{Path, PathBuf};

use egui::{Align2, FontId, Sense, Ui, pos2, vec2};

use super::confusion::{text_on, viridis};
use crate::views::sweep::summary::{self, PointResult};
use crate::views::sweep::{Manifest, PointStatus, SweepFolder};

/// A sweep folder, read for the browser.
#[derive(Debug, Clone)]
pub struct SweepGroup {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub points: Vec<PointResult>,
}

impl SweepGroup {
    pub fn read(dir: &Path) -> Option<Self> {
        let (manifest, points) = summary::read_sweep(&SweepFolder::new(dir)).ok()?;
        Some(Self {
            dir: dir.to_path_buf(),
            manifest,
            points,
        })
    }

    pub fn finished(&self) -> usize {
        self.points
            .iter()
            .filter(|p| p.status == PointStatus::Finished)
            .count()
    }

    /// Run directories of the points that have started.
    pub fn run_dirs(&self) -> Vec<PathBuf> {
        let folder = SweepFolder::new(&self.dir);
        self.points
            .iter()
            .filter(|p| p.status != PointStatus::Pending)
            .map(|p| folder.point_dir(&self.manifest.points[p.index]))
            .collect()
    }

    /// The heat map's axes and cells: (row key, col key, row values, col values, mean best
    /// overall of each cell and how many runs it averages).
    pub fn heat_map(&self) -> Option<HeatMap> {
        let (row_key, col_key) = summary::grid_keys(&self.manifest)?;
        let cells = summary::grid_cells(&self.manifest, &self.points, &row_key, &col_key);
        // Axes list every swept value, finished or not, in the manifest's order.
        let mut rows: Vec<String> = Vec::new();
        let mut cols: Vec<String> = Vec::new();
        for p in &self.manifest.points {
            if let Some(v) = p
                .setting(&row_key)
                .map(crate::views::sweep::spec::value_text)
                && !rows.contains(&v)
            {
                rows.push(v);
            }
            if let Some(v) = p
                .setting(&col_key)
                .map(crate::views::sweep::spec::value_text)
                && !cols.contains(&v)
            {
                cols.push(v);
            }
        }
        let values = rows
            .iter()
            .map(|r| {
                cols.iter()
                    .map(|c| {
                        let xs: Vec<f32> = cells
                            .iter()
                            .filter(|(rr, cc, _)| rr == r && cc == c)
                            .map(|(_, _, v)| *v)
                            .collect();
                        (!xs.is_empty())
                            .then(|| (xs.iter().sum::<f32>() / xs.len() as f32, xs.len()))
                    })
                    .collect()
            })
            .collect();
        Some(HeatMap {
            row_key,
            col_key,
            rows,
            cols,
            values,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct HeatMap {
    pub row_key: String,
    pub col_key: String,
    pub rows: Vec<String>,
    pub cols: Vec<String>,
    /// Mean best overall accuracy and the number of runs, per cell.
    pub values: Vec<Vec<Option<(f32, usize)>>>,
}

impl HeatMap {
    pub fn show(&self, ui: &mut Ui) {
        ui.label(format!(
            "best overall accuracy %: {} (rows) x {} (columns), mean over seeds",
            self.row_key, self.col_key
        ));
        let known: Vec<f32> = self
            .values
            .iter()
            .flatten()
            .flatten()
            .map(|v| v.0)
            .collect();
        let lo = known.iter().copied().fold(f32::INFINITY, f32::min);
        let hi = known.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let (label_w, cell) = (70.0, vec2(72.0, 26.0));
        let size = vec2(
            label_w + cell.x * self.cols.len() as f32,
            cell.y * (self.rows.len() + 1) as f32,
        );
        let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
        let painter = ui.painter_at(rect);
        let font = FontId::proportional(12.0);
        let text = ui.visuals().text_color();
        for (j, c) in self.cols.iter().enumerate() {
            let p = pos2(
                rect.left() + label_w + (j as f32 + 0.5) * cell.x,
                rect.top() + cell.y * 0.5,
            );
            painter.text(p, Align2::CENTER_CENTER, c, font.clone(), text);
        }
        let mut hovered = None;
        for (i, r) in self.rows.iter().enumerate() {
            let y = rect.top() + cell.y * (i + 1) as f32;
            painter.text(
                pos2(rect.left() + label_w - 6.0, y + cell.y * 0.5),
                Align2::RIGHT_CENTER,
                r,
                font.clone(),
                text,
            );
            for (j, v) in self.values[i].iter().enumerate() {
                let x = rect.left() + label_w + j as f32 * cell.x;
                let r_cell = egui::Rect::from_min_size(pos2(x, y), cell).shrink(1.0);
                match v {
                    Some((mean, n)) => {
                        let t = if hi > lo {
                            (mean - lo) / (hi - lo)
                        } else {
                            0.5
                        };
                        let bg = viridis(t);
                        painter.rect_filled(r_cell, 2.0, bg);
                        painter.text(
                            r_cell.center(),
                            Align2::CENTER_CENTER,
                            format!("{:.2}", 100.0 * mean),
                            font.clone(),
                            text_on(bg),
                        );
                        if response.hover_pos().is_some_and(|p| r_cell.contains(p)) {
                            hovered = Some(format!(
                                "{} = {r}, {} = {}: {:.2}% over {n} run(s)",
                                self.row_key,
                                self.col_key,
                                self.cols[j],
                                100.0 * mean
                            ));
                        }
                    }
                    None => {
                        painter.rect_stroke(
                            r_cell,
                            2.0,
                            egui::Stroke::new(1.0, ui.visuals().weak_text_color()),
                            egui::StrokeKind::Inside,
                        );
                        painter.text(
                            r_cell.center(),
                            Align2::CENTER_CENTER,
                            "–",
                            font.clone(),
                            text,
                        );
                    }
                }
            }
        }
        if let Some(h) = hovered {
            response.on_hover_text(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::sweep::SweepPoint;

    #[test]
    fn heat_map_axes_come_from_the_manifest_and_cells_average_seeds() {
        let point = |b: f64, lr: f64, seed: i64| SweepPoint {
            name: format!("b{b}-lr{lr}-s{seed}"),
            settings: vec![
                ("method.cb.beta".into(), toml::Value::Float(b)),
                ("optimizer.lr".into(), toml::Value::Float(lr)),
                ("seed".into(), toml::Value::Integer(seed)),
            ],
            config: String::new(),
        };
        let manifest = Manifest {
            name: "s".into(),
            preset: "p".into(),
            keys: vec![
                "method.cb.beta".into(),
                "optimizer.lr".into(),
                "seed".into(),
            ],
            parallel: 1,
            points: vec![
                point(0.9, 0.1, 1),
                point(0.9, 0.1, 2),
                point(0.99, 0.1, 1),
                point(0.9, 0.2, 1),
            ],
        };
        let result = |best: f32| {
            let mut r = crate::contract::run::results::RunResult {
                run: String::new(),
                method: "CB".into(),
                noise_rate: 0.0,
                epochs: 1,
                best_epoch: 1,
                best_overall: best,
                best_mean: best,
                last_overall: best,
                last_mean: best,
                mining: None,
                seconds: 0.0,
                classes: Vec::new(),
                best_per_class: Vec::new(),
                imbalance_factor: 1.0,
                settings: toml::Table::new(),
                embedding: None,
                planned_epochs: 10,
                outcome: crate::contract::run::view::RunOutcome::Finished,
                warnings: Vec::new(),
            };
            r.run = "x".into();
            Some(r)
        };
        let points = vec![
            PointResult {
                index: 0,
                status: PointStatus::Finished,
                result: result(0.4),
            },
            PointResult {
                index: 1,
                status: PointStatus::Finished,
                result: result(0.6),
            },
            PointResult {
                index: 2,
                status: PointStatus::Finished,
                result: result(0.7),
            },
            PointResult {
                index: 3,
                status: PointStatus::Pending,
                result: None,
            },
        ];
        let group = SweepGroup {
            dir: PathBuf::from("/x"),
            manifest,
            points,
        };
        let map = group.heat_map().unwrap();
        assert_eq!(map.rows, ["0.9", "0.99"]);
        assert_eq!(map.cols, ["0.1", "0.2"]);
        assert_eq!(map.values[0][0], Some((0.5, 2)));
        assert_eq!(map.values[1][0], Some((0.7, 1)));
        assert_eq!(map.values[0][1], None);
        assert_eq!(group.finished(), 3);
        assert_eq!(group.run_dirs().len(), 3);
    }
}
