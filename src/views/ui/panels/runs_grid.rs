//! The runs table's grid: a frozen left part (tick, open, name) and a right part of the
//! chosen columns that scrolls sideways under its header; both scroll down together. Only
//! the rows in view are laid out, so a thousand runs cost what thirty do.

use std::collections::BTreeSet;
use std::path::PathBuf;

use egui::{Align, Layout, RichText, Sense, Ui, Vec2, vec2};

use crate::views::runs_table::{Column, Group, RunRecord, TableQuery};

/// One line of the table's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    Run(usize),
    /// A group's summary line (index into the groups).
    Group(usize),
    /// A run shown under its expanded group.
    Member(usize),
}

/// What a click in the grid asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum GridAction {
    Open(PathBuf),
    Resume(PathBuf),
    /// Ticks changed (overlays).
    Ticked,
    /// A header was clicked: sort by it (again: the other way).
    SortBy(Column),
    /// A column filter was edited.
    Filtered,
    ToggleGroup(PathBuf),
}

/// Width of the frozen tick column.
const TICK_W: f32 = 24.0;

/// Everything the grid draws from.
pub struct Grid<'a> {
    pub runs: &'a [RunRecord],
    pub groups: &'a [Group],
    pub lines: &'a [Line],
    pub widths: &'a [f32],
    pub name_width: f32,
    /// Width of the buttons' column (Open, Resume run, a group's toggle).
    pub actions_width: f32,
    pub open: Option<&'a std::path::Path>,
    pub expanded: &'a BTreeSet<PathBuf>,
}

impl Grid<'_> {
    /// Draws the grid in the space left; `offset` is the scroll position both parts share.
    pub fn show(
        &self,
        ui: &mut Ui,
        query: &mut TableQuery,
        overlay: &mut BTreeSet<PathBuf>,
        offset: &mut Vec2,
    ) -> Option<GridAction> {
        let mut action = None;
        let row_h = ui.spacing().interact_size.y + 2.0;
        let full = ui.available_rect_before_wrap();
        // The frozen part takes at most 60% of a narrow pane; the name is cut to fit.
        let room = full.width() * 0.6 - TICK_W - self.actions_width;
        let name_w = self.name_width.min(room).max(80.0);
        let left_w = TICK_W + self.actions_width + name_w;
        let header_h = 2.0 * row_h + 4.0;
        let left = egui::Rect::from_min_size(full.min, vec2(left_w, full.height()));
        let right = egui::Rect::from_min_max(egui::pos2(left.max.x + 10.0, full.min.y), full.max);
        // A rule between the frozen columns and the ones that scroll under it.
        let rule_x = left.max.x + 4.0;
        ui.painter().vline(
            rule_x,
            full.y_range(),
            ui.visuals().widgets.noninteractive.bg_stroke,
        );
        let (left_head, left_body) = split(left, header_h);
        let (right_head, right_body) = split(right, header_h);
        ui.allocate_rect(full, Sense::hover());

        // Right body first: it owns both scroll bars; the rest follows its offset.
        let mut body_ui = ui.new_child(egui::UiBuilder::new().max_rect(right_body));
        let out = egui::ScrollArea::both()
            .id_salt("runs-grid-body")
            .auto_shrink([false, false])
            .scroll_offset(*offset)
            .show_rows(&mut body_ui, row_h, self.lines.len(), |ui, range| {
                for line in &self.lines[range] {
                    self.right_row(ui, *line, query, row_h);
                }
            });
        let mut next = out.state.clamped_offset();

        let mut head_ui = ui.new_child(egui::UiBuilder::new().max_rect(right_head));
        egui::ScrollArea::horizontal()
            .id_salt("runs-grid-head")
            .scroll_bar_visibility(egui::scroll_area::ScrollBarVisibility::AlwaysHidden)
            .scroll_source(egui::scroll_area::ScrollSource::NONE)
            .horizontal_scroll_offset(offset.x)
            .show(&mut head_ui, |ui| {
                if let Some(a) = self.header(ui, query, row_h) {
                    action = Some(a);
                }
            });

        let mut lhead_ui = ui.new_child(egui::UiBuilder::new().max_rect(left_head));
        lhead_ui.horizontal(|ui| {
            // Every run the filters keep, in groups or not.
            let shown: Vec<&PathBuf> = if self.groups.is_empty() {
                self.lines
                    .iter()
                    .filter_map(|l| match l {
                        Line::Run(i) | Line::Member(i) => Some(&self.runs[*i].dir),
                        Line::Group(_) => None,
                    })
                    .collect()
            } else {
                self.groups
                    .iter()
                    .flat_map(|g| g.members.iter().map(|&i| &self.runs[i].dir))
                    .collect()
            };
            let mut all = !shown.is_empty() && shown.iter().all(|d| overlay.contains(*d));
            ui.allocate_ui_with_layout(vec2(TICK_W, row_h), Layout::left_to_right(Align::Center), |ui| {
                ui.set_width(TICK_W);
                if ui
                    .checkbox(&mut all, "")
                    .on_hover_text("tick (or untick) every run the filters keep; ticked runs are overlaid in the curves, listed in the results table and compared in the settings diff")
                    .changed()
                {
                    for d in shown {
                        if all {
                            overlay.insert(d.clone());
                        } else {
                            overlay.remove(d);
                        }
                    }
                    action = Some(GridAction::Ticked);
                }
            });
            ui.add_sized([self.actions_width, row_h], egui::Label::new(""));
            ui.add_sized([name_w, row_h], egui::Label::new(RichText::new("run").strong()));
        });
        let mut lbody_ui = ui.new_child(egui::UiBuilder::new().max_rect(left_body));
        let lout = egui::ScrollArea::vertical()
            .id_salt("runs-grid-frozen")
            .auto_shrink([false, false])
            .scroll_bar_visibility(egui::scroll_area::ScrollBarVisibility::AlwaysHidden)
            .vertical_scroll_offset(offset.y)
            .show_rows(&mut lbody_ui, row_h, self.lines.len(), |ui, range| {
                for line in &self.lines[range] {
                    if let Some(a) = self.left_row(ui, *line, overlay, row_h, name_w) {
                        action = Some(a);
                    }
                }
            });
        // A wheel turned over the frozen part scrolls both.
        if (lout.state.clamped_offset().y - offset.y).abs() > 0.5 {
            next.y = lout.state.clamped_offset().y;
        }
        if next != *offset {
            *offset = next;
            ui.ctx().request_repaint();
        }
        action
    }

    fn header(&self, ui: &mut Ui, query: &mut TableQuery, row_h: f32) -> Option<GridAction> {
        let mut action = None;
        let columns = query.columns.clone();
        ui.vertical(|ui| {
            ui.horizontal(|ui| {
                for (column, &w) in columns.iter().zip(self.widths) {
                    let sorted = match &query.sort {
                        Some((c, descending)) if c == column => Some(*descending),
                        _ => None,
                    };
                    let text = RichText::new(column.label()).strong();
                    let r = ui
                        .add_sized([w, row_h], egui::Button::new(text).frame(false).truncate())
                        .on_hover_text(header_help(column, sorted));
                    if let Some(descending) = sorted {
                        sort_mark(ui, r.rect, descending);
                    }
                    if r.clicked() {
                        action = Some(GridAction::SortBy(column.clone()));
                    }
                }
            });
            ui.horizontal(|ui| {
                for (column, &w) in columns.iter().zip(self.widths) {
                    let filter = query.column_filters.entry(column.clone()).or_default();
                    let r = ui
                        .add_sized(
                            [w, row_h],
                            egui::TextEdit::singleline(filter)
                                .hint_text("filter")
                                .id_salt(("runs-filter", column.key())),
                        )
                        .on_hover_text("part of the text; !text leaves it out; on numbers >50, <=0.3, =0.2 or 40..60");
                    if r.changed() {
                        action = Some(GridAction::Filtered);
                    }
                }
            });
        });
        query.column_filters.retain(|_, f| !f.trim().is_empty());
        action
    }

    fn right_row(&self, ui: &mut Ui, line: Line, query: &TableQuery, row_h: f32) {
        ui.horizontal(|ui| {
            ui.set_height(row_h);
            for (column, &w) in query.columns.iter().zip(self.widths) {
                let text = match line {
                    Line::Run(i) | Line::Member(i) => column.text(&self.runs[i]),
                    Line::Group(g) => column.group_text(self.runs, &self.groups[g].members),
                };
                let text = match line {
                    Line::Group(_) => RichText::new(text).strong(),
                    _ => RichText::new(text),
                };
                ui.allocate_ui_with_layout(
                    vec2(w, row_h),
                    Layout::left_to_right(Align::Center),
                    |ui| {
                        ui.set_width(w);
                        ui.add(egui::Label::new(text).truncate());
                    },
                );
            }
        });
    }

    fn left_row(
        &self,
        ui: &mut Ui,
        line: Line,
        overlay: &mut BTreeSet<PathBuf>,
        row_h: f32,
        name_w: f32,
    ) -> Option<GridAction> {
        let mut action = None;
        ui.horizontal(|ui| {
            ui.set_height(row_h);
            match line {
                Line::Run(i) | Line::Member(i) => {
                    let r = &self.runs[i];
                    let mut on = overlay.contains(&r.dir);
                    let cell = |ui: &mut Ui, w: f32, add: &mut dyn FnMut(&mut Ui)| {
                        ui.allocate_ui_with_layout(vec2(w, row_h), Layout::left_to_right(Align::Center), |ui| {
                            ui.set_width(w);
                            add(ui);
                        });
                    };
                    cell(ui, TICK_W, &mut |ui| {
                        let cb = ui.checkbox(&mut on, "").on_hover_text(format!(
                            "overlay {} in the curves, add it to the results table and the settings diff",
                            r.id
                        ));
                        if cb.changed() {
                            if on {
                                overlay.insert(r.dir.clone());
                            } else {
                                overlay.remove(&r.dir);
                            }
                            action = Some(GridAction::Ticked);
                        }
                    });
                    cell(ui, self.actions_width, &mut |ui| {
                        if matches!(line, Line::Member(_)) {
                            ui.add_space(12.0);
                        }
                        if ui
                            .button("Open")
                            .on_hover_text(format!("replay {} into the panels", r.id))
                            .clicked()
                        {
                            action = Some(GridAction::Open(r.dir.clone()));
                        }
                        if r.resumable
                            && ui
                                .button("Resume run")
                                .on_hover_text(format!(
                                    "continue {} from its last checkpoint, as `ferlab train --resume`",
                                    r.id
                                ))
                                .clicked()
                        {
                            action = Some(GridAction::Resume(r.dir.clone()));
                        }
                    });
                    let name = if self.open == Some(r.dir.as_path()) {
                        RichText::new(&r.id).strong()
                    } else {
                        RichText::new(&r.id)
                    };
                    cell(ui, name_w, &mut |ui| {
                        let label = ui.add(egui::Label::new(name.clone()).truncate());
                        if !r.warnings.is_empty() {
                            label.on_hover_text(r.warnings.join("\n"));
                        }
                    });
                }
                Line::Group(g) => {
                    let group = &self.groups[g];
                    let dirs: Vec<&PathBuf> = group.members.iter().map(|&i| &self.runs[i].dir).collect();
                    let all = dirs.iter().all(|d| overlay.contains(*d));
                    let mut on = all;
                    ui.allocate_ui_with_layout(vec2(TICK_W, row_h), Layout::left_to_right(Align::Center), |ui| {
                        ui.set_width(TICK_W);
                        if ui.checkbox(&mut on, "").on_hover_text("tick every run of the group").changed() {
                            for d in &dirs {
                                if on {
                                    overlay.insert((*d).clone());
                                } else {
                                    overlay.remove(*d);
                                }
                            }
                            action = Some(GridAction::Ticked);
                        }
                    });
                    let key = self.runs[group.members[0]].dir.clone();
                    let open = self.expanded.contains(&key);
                    ui.allocate_ui_with_layout(vec2(self.actions_width, row_h), Layout::left_to_right(Align::Center), |ui| {
                        ui.set_width(self.actions_width);
                        let text = format!("{} {} runs", if open { "-" } else { "+" }, group.members.len());
                        if ui
                            .button(text)
                            .on_hover_text(if open { "hide the group's runs" } else { "show the group's runs" })
                            .clicked()
                        {
                            action = Some(GridAction::ToggleGroup(key.clone()));
                        }
                    });
                    ui.allocate_ui_with_layout(vec2(name_w, row_h), Layout::left_to_right(Align::Center), |ui| {
                        ui.set_width(name_w);
                        // The settings that tell this group from the others and are not shown
                        // as columns; else its seeds.
                        // What the group is (method · experiment), then the settings that
                        // tell it from the others not shown as columns, then its seeds.
                        let seeds = format!("seeds {}", Column::parse("seed").group_text(self.runs, &group.members));
                        let label = [group.title.as_str(), group.label.as_str(), seeds.as_str()]
                            .iter()
                            .filter(|p| !p.is_empty())
                            .copied()
                            .collect::<Vec<_>>()
                            .join(" · ");
                        // (A cut label shows itself whole on hover.)
                        ui.add(egui::Label::new(RichText::new(&label).strong()).truncate());
                    });
                }
            }
        });
        action
    }
}

fn split(rect: egui::Rect, head: f32) -> (egui::Rect, egui::Rect) {
    let cut = (rect.min.y + head).min(rect.max.y);
    (
        egui::Rect::from_min_max(rect.min, egui::pos2(rect.max.x, cut)),
        egui::Rect::from_min_max(egui::pos2(rect.min.x, cut), rect.max),
    )
}

/// A small triangle at the header's right edge: pointing down for highest first.
fn sort_mark(ui: &Ui, rect: egui::Rect, descending: bool) {
    let c = egui::pos2(rect.right() - 6.0, rect.center().y);
    let (tip, base) = if descending { (4.0, -3.0) } else { (-4.0, 3.0) };
    let points = vec![
        egui::pos2(c.x - 4.0, c.y + base),
        egui::pos2(c.x + 4.0, c.y + base),
        egui::pos2(c.x, c.y + tip),
    ];
    let color = ui.visuals().strong_text_color();
    ui.painter().add(egui::Shape::convex_polygon(
        points,
        color,
        egui::Stroke::NONE,
    ));
}

fn header_help(column: &Column, sorted: Option<bool>) -> String {
    let what = match column {
        Column::Metric(m) => m.help().to_string(),
        Column::Setting(key) => format!("the setting {key}"),
        Column::Status => "how the run's last session ended (or that it is running)".into(),
        Column::Epochs => "epochs finished / planned".into(),
    };
    let now = match sorted {
        Some(true) => "sorted highest first; click for lowest first",
        Some(false) => "sorted lowest first; click for highest first",
        None => "click to sort by it; again for the other direction",
    };
    format!("{what}\n{now}")
}

/// Column widths fitted to their widest cell (measured on the longest text), within limits.
pub fn fit_widths(ui: &Ui, columns: &[Column], runs: &[RunRecord], groups: &[Group]) -> Vec<f32> {
    let font = egui::TextStyle::Body.resolve(ui.style());
    let measure = |text: &str| {
        ui.ctx().fonts_mut(|f| {
            f.layout_no_wrap(text.to_string(), font.clone(), egui::Color32::WHITE)
                .size()
                .x
        })
    };
    columns
        .iter()
        .map(|c| {
            // Room for the sort mark.
            let mut longest = c.label() + "  ";
            for r in runs {
                let t = c.text(r);
                if t.chars().count() > longest.chars().count() {
                    longest = t;
                }
            }
            for g in groups {
                let t = c.group_text(runs, &g.members);
                if t.chars().count() > longest.chars().count() {
                    longest = t;
                }
            }
            (measure(&longest) + 14.0).clamp(56.0, 240.0)
        })
        .collect()
}

/// The name column's width: the longest run name, within limits.
pub fn name_width(ui: &Ui, runs: &[RunRecord]) -> f32 {
    let font = egui::TextStyle::Body.resolve(ui.style());
    let longest = runs
        .iter()
        .map(|r| r.id.as_str())
        .max_by_key(|s| s.chars().count())
        .unwrap_or("run");
    let w = ui.ctx().fonts_mut(|f| {
        f.layout_no_wrap(longest.to_string(), font, egui::Color32::WHITE)
            .size()
            .x
    });
    (w + 10.0).clamp(120.0, 300.0)
}
