//! Training curves: loss (and each loss term), validation overall and mean accuracy,
//! learning rate and images/s, against the epoch; other runs can be overlaid.

use egui::{Color32, Ui};

use super::chart::{Chart, Dash, Series};
use super::{color, empty};
use crate::contract::run::view::{EpochPoint, RunView};
use crate::views::figures::comparison_labels;

pub struct CurvesPanel {
    /// Also draw the training loss of every progress report.
    pub per_step: bool,
    /// Exponential smoothing of the loss curves (0 = none), as TensorBoard's slider.
    pub smoothing: f32,
    /// Loss on a log scale.
    pub log_loss: bool,
    /// Overlaid runs that differ only in their seed drawn as one mean line with the min–max
    /// band of their seeds (W&B's grouped runs).
    pub seed_bands: bool,
    /// The overlay's legend names and seed groups, kept while the same runs are shown:
    /// they parse each run's config, which a frame should not do again.
    overlay_cache: Option<(Vec<String>, Vec<String>, Vec<SeedGroup>)>,
}

impl Default for CurvesPanel {
    fn default() -> Self {
        Self {
            per_step: false,
            smoothing: 0.0,
            log_loss: false,
            seed_bands: true,
            overlay_cache: None,
        }
    }
}

/// Colours of overlaid runs: strong hues apart from each other and from the shown run's
/// series (blue, orange, green, purple), readable on light and dark backgrounds (the pastel
/// set before left runs near-identical).
const RUN_COLOURS: [Color32; 10] = [
    Color32::from_rgb(228, 26, 28),
    Color32::from_rgb(23, 190, 207),
    Color32::from_rgb(188, 189, 34),
    Color32::from_rgb(247, 129, 191),
    Color32::from_rgb(166, 86, 40),
    Color32::from_rgb(153, 153, 153),
    Color32::from_rgb(255, 217, 47),
    Color32::from_rgb(102, 194, 165),
    Color32::from_rgb(202, 0, 202),
    Color32::from_rgb(102, 166, 255),
];

/// Width of a slider with its value and a short text (a row breaks before one that would
/// not fit).
pub const SLIDER_ROW_WIDTH: f32 = 240.0;

/// Below this width the four plots stand one a row (two columns of plots half this wide
/// cut their axes off).
pub const TWO_COLUMNS_WIDTH: f32 = 420.0;

pub fn run_color(i: usize) -> Color32 {
    RUN_COLOURS[i % RUN_COLOURS.len()]
}

/// TensorBoard's smoothing: an exponential moving average, debiased so the first points
/// are not pulled towards zero.
pub fn smooth(points: &[[f64; 2]], weight: f64) -> Vec<[f64; 2]> {
    if weight <= 0.0 {
        return points.to_vec();
    }
    let mut last = 0.0;
    let mut debias = 1.0;
    points
        .iter()
        .map(|&[x, y]| {
            if !y.is_finite() {
                return [x, y];
            }
            last = last * weight + (1.0 - weight) * y;
            debias *= weight;
            [x, last / (1.0 - debias)]
        })
        .collect()
}

/// Overlaid runs gathered by their settings but the seed (and what only names or places a
/// run), in overlay order; a group of one is drawn as its run.
#[derive(Clone)]
struct SeedGroup {
    /// The method and what tells the group from the shown run (the seed left out).
    name: String,
    members: Vec<usize>,
}

impl SeedGroup {
    fn single(i: usize) -> Self {
        Self {
            name: String::new(),
            members: vec![i],
        }
    }
}

fn seed_groups(view: &RunView, overlays: &[&RunView]) -> Vec<SeedGroup> {
    use crate::contract::config::schema::NAMING_KEYS;
    use crate::contract::config::schema::leaves;
    let settings = |v: &RunView| -> (std::collections::BTreeMap<String, toml::Value>, String) {
        let exp = v.config.as_deref().and_then(|c| {
            crate::contract::config::Experiment::recorded_from_toml(
                c,
                &v.run_id,
                &[],
                &crate::compute::method::REGISTRY,
            )
            .ok()
        });
        match exp {
            Some(e) => {
                let mut all = leaves(&e.to_table());
                all.retain(|k, _| k != "seed" && !NAMING_KEYS.contains(&k.as_str()));
                let method = crate::contract::run::results::method_label(
                    &e,
                    &crate::compute::method::REGISTRY,
                );
                (all, method)
            }
            None => (Default::default(), v.run_id.clone()),
        }
    };
    let (shown, _) = settings(view);
    let mut keys: Vec<std::collections::BTreeMap<String, toml::Value>> = Vec::new();
    let mut groups: Vec<SeedGroup> = Vec::new();
    for (i, o) in overlays.iter().enumerate() {
        let (own, method) = settings(o);
        // A run without a readable config is a group of its own.
        if !own.is_empty()
            && let Some(g) = keys.iter().position(|k| *k == own)
        {
            groups[g].members.push(i);
            continue;
        }
        // The method label names the method; a method's own settings are differences only
        // between runs that both train it.
        let same_method = own.get("method.name") == shown.get("method.name");
        let differing: Vec<String> = own
            .iter()
            .filter(|(k, _)| same_method || !k.starts_with("method."))
            .filter(|(k, v)| shown.get(*k) != Some(v))
            .take(2)
            .map(|(k, v)| {
                let short = k.rsplit('.').next().unwrap_or(k);
                format!("{short}={}", crate::views::sweep::spec::value_text(v))
            })
            .collect();
        let name = if differing.is_empty() {
            method
        } else {
            format!("{method} · {}", differing.join(", "))
        };
        keys.push(own);
        groups.push(SeedGroup {
            name,
            members: vec![i],
        });
    }
    groups
}

/// A mean line and its band: `[epoch, mean]` points and `(epoch, min, max)`.
type MeanAndBand = (Vec<[f64; 2]>, Vec<(f64, f64, f64)>);

/// The mean of `f` over the runs at each epoch any of them reached, and the min–max band.
fn seed_band(runs: &[&RunView], f: impl Fn(&EpochPoint) -> f64) -> MeanAndBand {
    let mut by_epoch: std::collections::BTreeMap<usize, Vec<f64>> = Default::default();
    for r in runs {
        for p in &r.epochs {
            by_epoch.entry(p.epoch).or_default().push(f(p));
        }
    }
    let mut mean = Vec::new();
    let mut band = Vec::new();
    for (e, xs) in by_epoch {
        let m = xs.iter().sum::<f64>() / xs.len() as f64;
        let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        mean.push([e as f64, m]);
        band.push((e as f64, lo, hi));
    }
    (mean, band)
}

/// The steps' losses on the epoch axis: epoch `e` (0-based) at fraction `f` of its steps
/// is `e + f`, so an epoch's last step meets its per-epoch point (1-based epoch `e + 1`).
fn step_loss_points(view: &RunView) -> Vec<[f64; 2]> {
    view.step_losses
        .iter()
        .map(|(x, y)| [*x, *y as f64])
        .collect()
}

use crate::views::series::per_epoch;

impl CurvesPanel {
    pub fn show(&mut self, ui: &mut Ui, view: &RunView, overlays: &[RunView]) {
        // The shown run ticked in the browser too is drawn once, as the shown run, and
        // counts among its seeds' band: every ticked run is in `ticked`.
        let ticked: Vec<&RunView> = overlays.iter().collect();
        let is_shown = |o: &RunView| view.run_dir.is_some() && o.run_dir == view.run_dir;
        let others = ticked.iter().filter(|o| !is_shown(o)).count();
        let overlays = ticked.as_slice();
        if view.epochs.is_empty() && view.step_losses.is_empty() && others == 0 {
            empty(ui, "Curves appear when a run reports its first steps.");
            return;
        }
        ui.horizontal_wrapped(|ui| {
            ui.checkbox(&mut self.per_step, "loss per step");
            ui.checkbox(&mut self.log_loss, "log loss")
                .on_hover_text("loss on a logarithmic scale");
            // The slider and its text are one widget the row cannot wrap: a row that has no
            // room for it breaks before it (overflowing would widen the whole pane's
            // layout past its edge, and cut every plot under it).
            if ui.available_size_before_wrap().x < SLIDER_ROW_WIDTH {
                ui.end_row();
                // A pane narrower than the row: the slider gives up what is missing.
                let short = (SLIDER_ROW_WIDTH - ui.available_size_before_wrap().x).max(0.0);
                ui.spacing_mut().slider_width = (100.0 - short).max(40.0);
            }
            ui.add(
                egui::Slider::new(&mut self.smoothing, 0.0..=0.99)
                    .text("smoothing")
                    .fixed_decimals(2),
            )
            .on_hover_text(
                "exponential moving average of the loss curves (the raw curves stay, faint)",
            );
            if others > 0 {
                ui.label(format!("overlaid: {others} run(s)"));
                ui.checkbox(&mut self.seed_bands, "seeds as bands").on_hover_text(
                    "overlaid runs that differ only in their seed: their mean with the min–max band",
                );
            }
        });
        // Overlaid runs are named by what tells them from the shown run and each other
        // (`CE · seed=8`), as the comparison figures name them, not by start time.
        let key: Vec<String> = std::iter::once(view)
            .chain(overlays.iter().copied())
            .map(|v| v.run_id.clone())
            .collect();
        if self
            .overlay_cache
            .as_ref()
            .is_none_or(|(k, _, _)| *k != key)
        {
            let names = if others == 0 {
                Vec::new()
            } else {
                comparison_labels(std::iter::once(view).chain(overlays.iter().copied()))
                    .into_iter()
                    .skip(1)
                    .collect()
            };
            self.overlay_cache = Some((key, names, seed_groups(view, overlays)));
        }
        let (_, names, groups) = self.overlay_cache.as_ref().expect("just filled");
        let singles: Vec<SeedGroup>;
        let groups = if self.seed_bands {
            groups.as_slice()
        } else {
            singles = (0..overlays.len()).map(SeedGroup::single).collect();
            singles.as_slice()
        };
        // A group of the shown run alone is the shown run's own curves.
        let lone_shown: Vec<SeedGroup>;
        let groups = if groups
            .iter()
            .any(|g| matches!(g.members[..], [i] if is_shown(overlays[i])))
        {
            lone_shown = groups
                .iter()
                .filter(|g| !matches!(g.members[..], [i] if is_shown(overlays[i])))
                .cloned()
                .collect();
            lone_shown.as_slice()
        } else {
            groups
        };
        let gap = ui.spacing().item_spacing.y;
        if ui.available_width() < TWO_COLUMNS_WIDTH {
            // Narrow (a small window, a side pane): one plot a row, readable, scrolled.
            let height = ((ui.available_height() - gap) / 2.0 - 2.0).max(150.0);
            egui::ScrollArea::vertical()
                .id_salt("curves-scroll")
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    self.loss_chart(view, overlays, names, groups, height)
                        .show(ui);
                    accuracy_chart(ui, view, overlays, names, groups, height);
                    lr_chart(ui, view, height);
                    speed_chart(ui, view, height);
                });
            return;
        }
        let height = ((ui.available_height() - gap) / 2.0 - 2.0).max(110.0);
        ui.columns(2, |cols| {
            self.loss_chart(view, overlays, names, groups, height)
                .show(&mut cols[0]);
            accuracy_chart(&mut cols[1], view, overlays, names, groups, height);
        });
        ui.columns(2, |cols| {
            lr_chart(&mut cols[0], view, height);
            speed_chart(&mut cols[1], view, height);
        });
    }

    /// A loss series, smoothed when asked (the raw one kept, faint, under the same name).
    fn loss_series(&self, out: &mut Vec<Series>, series: Series) {
        if self.smoothing > 0.0 {
            let faint = Series {
                color: series.color.gamma_multiply(0.35),
                width: 1.0,
                ..Series::new(series.name.clone(), series.color, series.points.clone())
            }
            .dash(series.dash);
            let weight = self.smoothing as f64;
            let smoothed = smooth(&series.points, weight);
            // A seed band is smoothed as its mean is, edge by edge.
            let edge = |pick: fn(&(f64, f64, f64)) -> f64| {
                let pts: Vec<[f64; 2]> = series.band.iter().map(|b| [b.0, pick(b)]).collect();
                smooth(&pts, weight)
            };
            let band = edge(|b| b.1)
                .into_iter()
                .zip(edge(|b| b.2))
                .map(|([x, low], [_, high])| (x, low, high))
                .collect();
            out.push(faint);
            out.push(Series {
                points: smoothed,
                band,
                ..series
            });
        } else {
            out.push(series);
        }
    }

    fn loss_chart<'a>(
        &self,
        view: &RunView,
        overlays: &[&RunView],
        names: &[String],
        groups: &[SeedGroup],
        height: f32,
    ) -> Chart<'a> {
        let mut lines = Vec::new();
        // Before the first epoch ends the steps' losses are all there is: show them.
        let per_step = self.per_step || view.epochs.is_empty();
        if per_step && !view.step_losses.is_empty() {
            let pts = step_loss_points(view);
            self.loss_series(
                &mut lines,
                Series::new("train loss (steps)", color(0).gamma_multiply(0.6), pts).width(1.0),
            );
        }
        for line in crate::views::series::loss_lines(view) {
            self.loss_series(&mut lines, Series::from_line(line));
        }
        // Overlaid runs as in the accuracy plot: a group of seeds is its mean val loss with
        // the min–max band, in the group's colour.
        for (g, group) in groups.iter().enumerate() {
            let series = if let [i] = group.members[..] {
                Series::new(
                    format!("{} val loss", names[i]),
                    run_color(g),
                    per_epoch(overlays[i], |p| p.val.loss as f64),
                )
            } else {
                let members: Vec<&RunView> = group.members.iter().map(|&i| overlays[i]).collect();
                let (mean, band) = seed_band(&members, |p| p.val.loss as f64);
                Series::new(
                    format!(
                        "{} val loss (mean, min–max of {} seeds)",
                        group.name,
                        members.len()
                    ),
                    run_color(g),
                    mean,
                )
                .band(band)
            };
            self.loss_series(&mut lines, series);
        }
        Chart::new("curves-loss", "Loss", height)
            .series(lines)
            .log_y(self.log_loss)
    }
}

fn accuracy_chart(
    ui: &mut Ui,
    view: &RunView,
    overlays: &[&RunView],
    names: &[String],
    groups: &[SeedGroup],
    height: f32,
) {
    let pct = |v: f32| 100.0 * v as f64;
    if view.epochs.is_empty() && overlays.iter().all(|o| o.epochs.is_empty()) {
        ui.label(egui::RichText::new("Validation accuracy").strong());
        return super::no_data_yet(
            ui,
            height - 24.0,
            "the first evaluation ends the first epoch",
        );
    }
    // Colour tells runs apart; the dash tells the series: overall solid, mean dashed,
    // train dotted (the exported figure draws the same lines).
    let mut lines: Vec<Series> = crate::views::series::accuracy_lines(view)
        .into_iter()
        .map(Series::from_line)
        .collect();
    for (g, group) in groups.iter().enumerate() {
        let [i] = group.members[..] else {
            let members: Vec<&RunView> = group.members.iter().map(|&i| overlays[i]).collect();
            let (mean, band) = seed_band(&members, |p| pct(p.val.overall));
            lines.push(
                Series::new(
                    format!(
                        "{} overall % (mean, min–max of {} seeds)",
                        group.name,
                        members.len()
                    ),
                    run_color(g),
                    mean,
                )
                .band(band),
            );
            continue;
        };
        let o = overlays[i];
        let c = run_color(g);
        let id = &names[i];
        lines.push(Series::new(
            format!("{id} overall %"),
            c,
            per_epoch(o, |p| pct(p.val.overall)),
        ));
        lines.push(
            Series::new(format!("{id} mean %"), c, per_epoch(o, |p| pct(p.val.mean)))
                .dash(Dash::Dashed),
        );
    }
    Chart::new("curves-accuracy", "Validation accuracy", height)
        .series(lines)
        .include_y(0.0)
        .show(ui);
}

fn lr_chart(ui: &mut Ui, view: &RunView, height: f32) {
    let series = Series::new("lr", color(6), per_epoch(view, |p| p.train.lr));
    epoch_chart(
        ui,
        view,
        height,
        "curves-lr",
        "Learning rate (end of epoch)",
        series,
    );
}

fn speed_chart(ui: &mut Ui, view: &RunView, height: f32) {
    let pts = per_epoch(view, |p| p.train.images_per_sec as f64);
    let series = Series::new("images/s", color(7), pts);
    epoch_chart(
        ui,
        view,
        height,
        "curves-speed",
        "Training images/s",
        series,
    );
}

/// A chart of one per-epoch series from 0 up, or what will appear there before the first
/// epoch ends.
fn epoch_chart(ui: &mut Ui, view: &RunView, height: f32, id: &str, title: &str, series: Series) {
    if view.epochs.is_empty() {
        return no_data_chart(ui, title, height, "reported at the end of each epoch");
    }
    Chart::new(id, title, height)
        .series(vec![series])
        .include_y(0.0)
        .show(ui);
}

/// A chart's title over a blank box saying what will appear there.
fn no_data_chart(ui: &mut Ui, title: &str, height: f32, what: &str) {
    ui.label(egui::RichText::new(title).strong());
    super::no_data_yet(ui, height - 24.0, what);
}

impl super::plug::Panel for CurvesPanel {
    fn title(&self) -> &'static str {
        "Curves"
    }

    fn figure(&self) -> Option<crate::views::figures::FigureRef> {
        Some(&crate::views::figures::curves::Curves)
    }

    fn ui(&mut self, ui: &mut egui::Ui, cx: &mut super::plug::PanelContext<'_>) {
        self.show(ui, cx.view, cx.overlays);
    }
}

#[cfg(test)]
mod tests {
    use super::{RUN_COLOURS, per_epoch, smooth, step_loss_points};
    use crate::contract::event::{Event, Metrics, TrainSummary};
    use crate::views::ui::panels::color;

    /// The per-step loss used to sit one epoch to the right of the per-epoch curves.
    #[test]
    fn an_epochs_last_step_meets_its_per_epoch_point() {
        let mut view = crate::contract::run::view::RunView::default();
        for step in 1..=4 {
            view.apply(&Event::Progress {
                epoch: 0,
                step,
                steps: 4,
                loss: 1.0,
                lr: 0.1,
                images_per_sec: 1.0,
                eta_secs: 1.0,
            });
        }
        view.apply(&Event::EpochEnd {
            epoch: 0,
            train: TrainSummary {
                loss: 1.0,
                terms: Default::default(),
                accuracy: 0.5,
                images_per_sec: 1.0,
                seconds: 1.0,
                data_wait_secs: 0.0,
                lr: 0.1,
            },
            val: Metrics::from_confusion(vec![vec![1, 0], vec![0, 1]], 0.5),
        });
        let steps = step_loss_points(&view);
        let epoch = per_epoch(&view, |p| p.train.loss as f64);
        assert_eq!(steps.first().unwrap()[0], 0.25);
        assert_eq!(steps.last().unwrap()[0], epoch[0][0]);
    }

    #[test]
    fn smoothing_is_a_debiased_moving_average() {
        let pts = [[1.0, 2.0], [2.0, 1.0], [3.0, 1.0]];
        assert_eq!(smooth(&pts, 0.0), pts);
        let s = smooth(&pts, 0.5);
        // The first point is its own value (no pull towards zero); then 0.5 / 0.5 weights.
        assert!((s[0][1] - 2.0).abs() < 1e-12);
        assert!((s[1][1] - (0.5 * 0.5 * 2.0 + 0.5 * 1.0) / 0.75).abs() < 1e-12);
        assert_eq!(s[2][0], 3.0);
    }

    /// Overlaid runs' colours are far apart from each other and from the shown run's
    /// series colours (the pastel set was near-identical).
    #[test]
    fn overlaid_runs_get_colours_far_apart() {
        let dist = |a: egui::Color32, b: egui::Color32| {
            let d = |x: u8, y: u8| (x as f64 - y as f64).powi(2);
            (d(a.r(), b.r()) + d(a.g(), b.g()) + d(a.b(), b.b())).sqrt()
        };
        for (i, a) in RUN_COLOURS.iter().enumerate() {
            for b in &RUN_COLOURS[i + 1..] {
                assert!(dist(*a, *b) > 60.0, "{a:?} vs {b:?}");
            }
            for shown in [0, 1, 2, 4] {
                assert!(dist(*a, color(shown)) > 60.0, "{a:?} vs series {shown}");
            }
        }
    }
}
