//! The experiment editor: every setting in effect with a fitting widget, drawn from the
//! settings' one description (`contract::config::fields`, each method's schema), the same
//! validation messages as the command line beside each field, presets to load and save.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How often the editor looks again at the files and folders an unchanged experiment names.
pub const REVALIDATE_FILES: Duration = Duration::from_secs(1);

use egui::{ComboBox, DragValue, Response, RichText, Slider, SliderClamping, TextEdit, Ui};

use super::dialogs::{Dialogs, Purpose};
use crate::compute::method::REGISTRY;
use crate::contract::config::fields::{METHOD_SECTION, SECTIONS, UNLABELED_SECTION};
use crate::contract::config::schema::{self, Field, Kind, Widget};
use crate::contract::config::{Experiment, Methods, Problem};
use crate::views::Error;

pub struct ExperimentEditor {
    pub experiment: Experiment,
    problems: Vec<Problem>,
    /// Settings that run but undo what the method is for (computed with `problems`).
    cautions: Vec<Problem>,
    /// The experiment `problems` were computed for.
    validated: Option<Experiment>,
    /// When `problems` were last computed.
    validated_at: Instant,
    /// The experiment the form last drew and its TOML table (kept: serialising the whole
    /// experiment every frame would cost the window more than the rest of the editor).
    form: Option<(Experiment, toml::Table)>,
    pub presets_dir: PathBuf,
    presets: Vec<PresetEntry>,
    /// The preset list's search text.
    preset_search: String,
    /// No run in the output folder when the workbench opened: until a run starts or one is
    /// shown, the workbench says where to begin.
    pub first_launch: bool,
    /// Where the experiment was loaded from or last saved to.
    pub preset_path: Option<PathBuf>,
    /// The loaded preset's text and the experiment it was read as: Save writes that text
    /// with only the changed settings updated.
    loaded: Option<(String, Experiment)>,
    /// A Save that would replace an existing file, waiting for Overwrite or Cancel.
    pub confirm_overwrite: Option<PathBuf>,
    /// Typed paths for opening and saving presets.
    open_text: String,
    save_text: String,
    /// Outcome of the last preset action: (succeeded, message).
    pub message: Option<(bool, String)>,
    /// A field to bring into view (its section opened, scrolled to, focused) in the next
    /// frame: a listed problem was clicked.
    pub jump_to: Option<String>,
}

impl ExperimentEditor {
    pub fn new(presets_dir: PathBuf) -> Self {
        let mut experiment = Experiment {
            name: "workbench".into(),
            ..Experiment::default()
        };
        experiment.resolve(&REGISTRY);
        let mut e = Self {
            experiment,
            problems: Vec::new(),
            cautions: Vec::new(),
            validated: None,
            validated_at: Instant::now(),
            form: None,
            presets_dir,
            presets: Vec::new(),
            preset_search: String::new(),
            first_launch: false,
            preset_path: None,
            loaded: None,
            confirm_overwrite: None,
            open_text: String::new(),
            save_text: String::new(),
            message: None,
            jump_to: None,
        };
        e.refresh_presets();
        e.first_launch = !has_runs(&e.experiment.output.dir);
        e
    }

    /// Lists the `.toml` files of the presets folder with their description and group.
    pub fn refresh_presets(&mut self) {
        let mut found: Vec<PresetEntry> = std::fs::read_dir(&self.presets_dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                    .map(PresetEntry::read)
                    .collect()
            })
            .unwrap_or_default();
        found.sort_by(|a, b| a.path.cmp(&b.path));
        self.presets = found;
    }

    pub fn presets(&self) -> &[PresetEntry] {
        &self.presets
    }

    /// Every problem of the current experiment: revalidated when it changed, and every
    /// [`REVALIDATE_FILES`] besides, since the files and folders it names can appear or go
    /// while it stays the same (a problem about a missing folder used to stay after the
    /// folder was made).
    pub fn problems(&mut self) -> &[Problem] {
        let stale = self.validated_at.elapsed() >= REVALIDATE_FILES;
        if stale || self.validated.as_ref() != Some(&self.experiment) {
            self.problems = self.experiment.validate(&REGISTRY);
            self.cautions = self.experiment.cautions(&REGISTRY);
            self.validated = Some(self.experiment.clone());
            self.validated_at = Instant::now();
        }
        &self.problems
    }

    pub fn is_valid(&mut self) -> bool {
        self.problems().is_empty()
    }

    pub fn load_preset(&mut self, path: &Path) -> Result<(), Error> {
        self.confirm_overwrite = None;
        let text = crate::contract::config::read_text(path).ok();
        match Experiment::load(path, &[], &REGISTRY) {
            Ok(e) => {
                self.loaded = text.map(|t| (t, e.clone()));
                self.experiment = e;
                self.preset_path = Some(path.to_path_buf());
                self.save_text = path.display().to_string();
                self.message = Some((true, format!("loaded {}", path.display())));
                Ok(())
            }
            Err(e) => {
                // A preset with problems still loads into the editor, so they can be fixed.
                let partial = crate::contract::config::read_text(path)
                    .ok()
                    .and_then(|t| t.parse::<toml::Table>().ok())
                    .and_then(|t| Experiment::from_form(t).ok())
                    .map(|mut e| {
                        e.resolve(&REGISTRY);
                        e
                    });
                let message = e.to_string();
                if let Some(exp) = partial {
                    self.loaded = text.map(|t| (t, exp.clone()));
                    self.experiment = exp;
                    self.preset_path = Some(path.to_path_buf());
                }
                self.message = Some((false, message));
                Err(e.into())
            }
        }
    }

    /// Writes the experiment as a preset `ferlab train` accepts: the loaded preset's text
    /// (comments and all) with the changed settings updated, or for a new preset only the
    /// settings that differ from the defaults. An existing file is replaced only once the
    /// user confirms ([`Self::confirm_overwrite`]).
    pub fn save_preset(&mut self, path: &Path) -> Result<(), Error> {
        let path = if path.extension().is_none() {
            path.with_extension("toml")
        } else {
            path.to_path_buf()
        };
        if path.exists() && self.confirm_overwrite.as_deref() != Some(path.as_path()) {
            self.message = Some((
                false,
                format!(
                    "{} exists: Overwrite replaces it, Cancel keeps it",
                    path.display()
                ),
            ));
            self.confirm_overwrite = Some(path);
            return Ok(());
        }
        self.confirm_overwrite = None;
        let mut defaults = Experiment::default();
        defaults.resolve(&REGISTRY);
        let (base, before) = match &self.loaded {
            Some((text, exp)) => (Some(text.as_str()), exp),
            None => (None, &defaults),
        };
        let text =
            crate::contract::config::preset_text::updated_text(base, before, &self.experiment)
                .map_err(|e| Error::File {
                    path: path.clone(),
                    message: e,
                });
        // A folder typed that does not exist yet is made, as `ferlab train` makes its runs'.
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
        let result = text.and_then(|text| {
            folder
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| crate::contract::run::atomic::write(&path, text.as_bytes()))
                .map(|()| text)
                .map_err(|e| Error::io("cannot write", &path, e))
        });
        self.message = Some(match &result {
            Ok(_) => (true, format!("saved {}", path.display())),
            Err(e) => (false, e.to_string()),
        });
        match result {
            Ok(text) => {
                self.loaded = Some((text, self.experiment.clone()));
                self.preset_path = Some(path);
                self.refresh_presets();
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Saves to the typed "Save as" path (the Save preset button, Ctrl+S).
    pub fn save_to_typed_path(&mut self) {
        let typed = self.save_text.trim();
        if typed.is_empty() {
            self.message = Some((false, "type a path beside Save as: first".into()));
        } else {
            let _ = self.save_preset(&PathBuf::from(typed));
        }
    }

    /// Puts the keyboard focus in the preset search (Ctrl+F).
    pub fn focus_search(&self, ctx: &egui::Context) {
        ctx.memory_mut(|m| m.request_focus(preset_search_id()));
    }

    /// Applies a path chosen in a file dialog.
    pub fn on_dialog(&mut self, purpose: Purpose, path: PathBuf) {
        match purpose {
            Purpose::OpenPreset => {
                let _ = self.load_preset(&path);
            }
            Purpose::SavePreset => {
                let _ = self.save_preset(&path);
            }
            Purpose::Field { path: field, .. } => {
                self.set_field(field, toml::Value::String(path.display().to_string()))
            }
            Purpose::ExportFigure | Purpose::ExportTable => {}
        }
    }

    /// The preset bar: a search over the presets' names and descriptions, the presets in
    /// collapsed groups (by comparison or paper; open while searching), open and save.
    pub fn presets_ui(&mut self, ui: &mut Ui, dialogs: &mut Dialogs) {
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Presets:");
            ui.add(
                TextEdit::singleline(&mut self.preset_search)
                    .id(preset_search_id())
                    .desired_width(field_width(ui, 80.0))
                    .hint_text("search name or description"),
            )
            .labelled_by(label.id);
        });
        let query = self.preset_search.trim().to_lowercase();
        // A folder of a few presets shows them all; the built-in one starts compact.
        let few = self.presets.len() <= 8;
        let mut clicked = None;
        for (group, entries) in preset_groups(&self.presets, &query) {
            let header = egui::CollapsingHeader::new(format!("{group} ({})", entries.len()))
                .id_salt(("preset group", group))
                .default_open(few)
                .open((!query.is_empty()).then_some(true));
            header.show(ui, |ui| {
                for entry in entries {
                    ui.horizontal_wrapped(|ui| {
                        let hover = format!("{}\n{}", entry.description, entry.path.display());
                        if ui.button(&entry.name).on_hover_text(hover).clicked() {
                            clicked = Some(entry.path.clone());
                        }
                        ui.label(RichText::new(&entry.description).small().weak());
                    });
                }
            });
        }
        if let Some(p) = clicked {
            let _ = self.load_preset(&p);
        }
        // The path rows wrap their buttons under the path when the editor is narrow.
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Open:");
            let typed = ui
                .add(
                    TextEdit::singleline(&mut self.open_text)
                        .desired_width(field_width(ui, 140.0))
                        .hint_text("path/to/preset.toml"),
                )
                .labelled_by(label.id);
            // Enter in the typed path loads it, as the Load button does.
            let entered = typed.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if (ui.button("Load").clicked() || entered) && !self.open_text.trim().is_empty() {
                let p = PathBuf::from(self.open_text.trim());
                let _ = self.load_preset(&p);
            }
            if ui.button("Open…").clicked() {
                dialogs.request(
                    Purpose::OpenPreset,
                    Some(self.presets_dir.clone()),
                    ui.ctx(),
                );
            }
        });
        ui.horizontal_wrapped(|ui| {
            let label = ui.label("Save as:");
            ui.add(
                TextEdit::singleline(&mut self.save_text)
                    .desired_width(field_width(ui, 170.0))
                    .hint_text("presets/my.toml"),
            )
            .labelled_by(label.id);
            if ui.button("Save preset").on_hover_text("Ctrl+S").clicked() {
                self.save_to_typed_path();
            }
            if ui.button("Save as…").clicked() {
                dialogs.request(
                    Purpose::SavePreset,
                    Some(self.presets_dir.clone()),
                    ui.ctx(),
                );
            }
        });
        if let Some((ok, text)) = &self.message {
            let color = if *ok {
                ui.visuals().weak_text_color()
            } else {
                ui.visuals().error_fg_color
            };
            ui.label(RichText::new(text).color(color).small());
        }
        if let Some(target) = self.confirm_overwrite.clone() {
            ui.horizontal(|ui| {
                if ui.button("Overwrite").clicked() {
                    let _ = self.save_preset(&target);
                }
                if ui.button("Cancel").clicked() {
                    self.confirm_overwrite = None;
                    self.message = Some((true, format!("kept {}", target.display())));
                }
            });
        }
    }

    /// Every setting in effect, drawn from its one description (`config::fields` and the
    /// method's schema): a fitting widget, the hint on hover, the same problems as the
    /// command line under it.
    pub fn fields_ui(&mut self, ui: &mut Ui, dialogs: &mut Dialogs) {
        let problems = self.problems().to_vec();
        if !problems.is_empty() {
            // Look again at the files soon, even if nothing else asks for a frame.
            ui.ctx().request_repaint_after(REVALIDATE_FILES);
        }
        // The table is rebuilt (and the experiment copied) only when the experiment changed.
        if self
            .form
            .as_ref()
            .is_none_or(|(drawn, _)| *drawn != self.experiment)
        {
            self.form = Some((self.experiment.clone(), self.experiment.to_table()));
        }
        let before = self
            .form
            .as_ref()
            .map(|(_, t)| t.clone())
            .unwrap_or_default();
        let mut table = before.clone();
        let method = REGISTRY.get(&self.experiment.method.name);
        if !problems.is_empty() {
            problem_list(ui, &problems, &mut self.jump_to);
        }
        let cautions = self.cautions.clone();
        if !cautions.is_empty() {
            caution_list(ui, &cautions, &mut self.jump_to);
        }
        let mut form = Form {
            problems: &problems,
            cautions: &cautions,
            dialogs,
            drawn: Vec::new(),
            jump_to: self.jump_to.take(),
        };
        for s in SECTIONS {
            let open =
                s.open || (s.title == UNLABELED_SECTION && method.is_some_and(|m| m.unlabeled));
            let method_fields = match method {
                Some(m) if s.title == METHOD_SECTION => m.fields,
                _ => &[],
            };
            // A section holding the field to jump to opens.
            let jump_here = form
                .jump_to
                .as_deref()
                .is_some_and(|path| s.fields.iter().chain(method_fields).any(|f| f.path == path));
            section(ui, s.title, open, jump_here, |ui| {
                for field in s.fields.iter().chain(method_fields) {
                    if field.applies(&table) {
                        form.field(ui, field, &mut table);
                    }
                }
            });
        }
        // Problems of fields not drawn (unknown keys of a loaded preset) are in the list at
        // the top of the form.
        if table != before {
            self.apply_form(table);
        }
    }

    /// Takes the form's table as the experiment; a value that does not fit its type (which
    /// the widgets do not write) is said in the message line.
    fn apply_form(&mut self, table: toml::Table) {
        match Experiment::from_form(table) {
            Ok(mut e) => {
                e.resolve(&REGISTRY);
                self.experiment = e;
            }
            Err(p) => self.message = Some((false, p.to_string())),
        }
    }

    /// Sets one setting by its dotted path (a dialog's answer).
    fn set_field(&mut self, path: &str, value: toml::Value) {
        let mut table = self.experiment.to_table();
        if schema::set(&mut table, path, value).is_ok() {
            self.apply_form(table);
        }
    }
}

/// The preset search field's id (Ctrl+F focuses it).
fn preset_search_id() -> egui::Id {
    egui::Id::unique("ferlab-preset-search")
}

/// One preset file as the list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PresetEntry {
    pub path: PathBuf,
    /// The file name (`quick.toml`).
    pub name: String,
    /// Its `description` (empty when it has none or does not parse).
    pub description: String,
    /// Its `group`; presets without one are listed under "Other".
    pub group: String,
}

impl PresetEntry {
    fn read(path: PathBuf) -> Self {
        let table: toml::Table = crate::contract::config::read_text(&path)
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or_default();
        let text = |key: &str| {
            table
                .get(key)
                .and_then(toml::Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let group = text("group");
        Self {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            description: text("description"),
            group: if group.is_empty() {
                "Other".into()
            } else {
                group
            },
            path,
        }
    }

    fn matches(&self, query: &str) -> bool {
        query.is_empty()
            || self.name.to_lowercase().contains(query)
            || self.description.to_lowercase().contains(query)
            || self.group.to_lowercase().contains(query)
    }
}

/// The presets matching `query` by group: the group holding `quick.toml` first (the
/// first-launch hint points there), then by name.
fn preset_groups<'a>(
    presets: &'a [PresetEntry],
    query: &str,
) -> Vec<(&'a str, Vec<&'a PresetEntry>)> {
    let mut groups: Vec<(&str, Vec<&PresetEntry>)> = Vec::new();
    for entry in presets.iter().filter(|e| e.matches(query)) {
        match groups.iter_mut().find(|(g, _)| *g == entry.group) {
            Some((_, list)) => list.push(entry),
            None => groups.push((&entry.group, vec![entry])),
        }
    }
    let starter = |g: &str| {
        presets
            .iter()
            .any(|e| e.group == g && e.name == "quick.toml")
    };
    groups.sort_by_key(|(g, _)| (!starter(g), g.to_string()));
    groups
}

/// Whether the runs folder holds anything yet.
fn has_runs(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_some())
}

struct Form<'a> {
    problems: &'a [Problem],
    cautions: &'a [Problem],
    dialogs: &'a mut Dialogs,
    /// The paths of the rows drawn this frame, whose problems show under their widgets.
    drawn: Vec<String>,
    /// The field to scroll to and focus this frame.
    jump_to: Option<String>,
}

impl Form<'_> {
    /// One labelled row: the widget its kind asks for, its hint, its problems under it.
    fn field(&mut self, ui: &mut Ui, field: &Field, table: &mut toml::Table) {
        self.drawn.push(field.path.to_string());
        let current = schema::lookup(table, field.path).cloned();
        let dialogs = &mut *self.dialogs;
        let mut written = None;
        let r = row(
            ui,
            (self.problems, self.cautions),
            field.label,
            field.path,
            |ui| {
                // An id of the field's own: auto ids count the widgets drawn before, and the
                // problem list above the form comes and goes as a value turns valid or invalid
                // while it is typed, which took the text field's state (and keystrokes) away.
                let stable =
                    egui::UiBuilder::new().scope_id(egui::Id::unique(("ferlab-field", field.path)));
                let r = ui
                    .scope_builder(stable, |ui| {
                        widget(ui, field, current.as_ref(), dialogs, &mut written)
                    })
                    .inner;
                if field.help.is_empty() {
                    r
                } else {
                    r.on_hover_text(field.help)
                }
            },
        );
        if self.jump_to.as_deref() == Some(field.path) {
            r.scroll_to_me(Some(egui::Align::Center));
            r.request_focus();
            self.jump_to = None;
        }
        match written {
            Some(Some(value)) => {
                let _ = schema::set(table, field.path, value);
            }
            Some(None) => schema::remove(table, field.path),
            None => {}
        }
    }
}

/// The widget of one field. `written` becomes `Some(new value)` when the user changed it
/// (`Some(None)`: an optional path emptied).
fn widget(
    ui: &mut Ui,
    field: &Field,
    current: Option<&toml::Value>,
    dialogs: &mut Dialogs,
    written: &mut Option<Option<toml::Value>>,
) -> Response {
    use toml::Value;
    let text_of = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    match field.kind {
        Kind::Bool => {
            let mut v = current.and_then(Value::as_bool).unwrap_or(false);
            let r = ui.checkbox(&mut v, "");
            if r.changed() {
                *written = Some(Some(Value::Boolean(v)));
            }
            r
        }
        Kind::Count { .. } => {
            let mut v = current.and_then(Value::as_integer).unwrap_or(0);
            let typed = TypedText::default();
            let r = ui.add(
                DragValue::new(&mut v)
                    .range(0..=i64::MAX)
                    .custom_parser(|t| typed.parse(t)),
            );
            typed.show(ui, &v.to_string());
            if r.changed() {
                *written = Some(Some(Value::Integer(v)));
            }
            r
        }
        Kind::Number { widget, .. } => {
            let mut v = current
                .and_then(|v| v.as_float().or(v.as_integer().map(|i| i as f64)))
                .unwrap_or(0.0);
            let typed = TypedText::default();
            let r = match widget {
                Widget::Slider { lo, hi, log } => {
                    // A narrow editor shortens the slider; its typed value stays whole.
                    ui.spacing_mut().slider_width = field_width(ui, 70.0).clamp(50.0, 100.0);
                    ui.add(
                        Slider::new(&mut v, lo..=hi)
                            .clamping(SliderClamping::Never)
                            .logarithmic(log)
                            .custom_parser(|t| typed.parse(t)),
                    )
                }
                Widget::Drag { speed } => ui.add(
                    DragValue::new(&mut v)
                        .speed(speed)
                        .max_decimals(10)
                        .custom_parser(|t| typed.parse(t)),
                ),
            };
            typed.show(ui, &v.to_string());
            if r.changed() {
                *written = Some(Some(Value::Float(v)));
            }
            r
        }
        Kind::Choice(options) => {
            let mut v = text_of(current);
            let r = choice(ui, field.path, &mut v, options.iter().map(|o| (*o, "")));
            if r.changed() {
                *written = Some(Some(Value::String(v)));
            }
            r
        }
        Kind::Method => {
            let mut v = text_of(current);
            let options = REGISTRY.schemas().into_iter().map(|m| (m.key, m.summary));
            let r = choice(ui, field.path, &mut v, options);
            if r.changed() {
                *written = Some(Some(Value::String(v)));
            }
            r
        }
        Kind::Text { .. } => {
            let mut v = text_of(current);
            let r = ui.add(TextEdit::singleline(&mut v).desired_width(field_width(ui, 0.0)));
            if r.changed() {
                *written = Some(Some(Value::String(v)));
            }
            r
        }
        Kind::Path(kind) => {
            let mut v = text_of(current);
            // Browse… goes under the path when the editor is narrow.
            ui.horizontal_wrapped(|ui| {
                let r = ui.add(TextEdit::singleline(&mut v).desired_width(field_width(ui, 80.0)));
                if r.changed() {
                    *written = Some(if v.is_empty() && kind.optional {
                        None
                    } else {
                        Some(Value::String(v.clone()))
                    });
                }
                if ui
                    .button("Browse…")
                    .on_hover_text(format!("choose the {}", field.label))
                    .clicked()
                {
                    let start = Path::new(&v).parent().map(Path::to_path_buf);
                    let purpose = Purpose::Field {
                        path: field.path,
                        kind,
                    };
                    dialogs.request(purpose, start, ui.ctx());
                }
                r
            })
            .inner
        }
    }
}

/// What was typed into a number field this frame, as its parser saw it: a text that is not
/// a number is said under the field (egui's number fields revert it silently on Enter).
#[derive(Default)]
struct TypedText {
    /// `Some(Some(text))`: rejected; `Some(None)`: parsed; `None`: nothing typed.
    seen: std::cell::RefCell<Option<Option<String>>>,
}

impl TypedText {
    /// egui's own parsing (white space ignored, U+2212 as minus), noting the outcome.
    fn parse(&self, text: &str) -> Option<f64> {
        let clean: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| if c == '−' { '-' } else { c })
            .collect();
        let parsed = clean.parse::<f64>().ok().filter(|v| v.is_finite());
        *self.seen.borrow_mut() = Some(parsed.is_none().then(|| text.to_string()));
        parsed
    }

    /// Remembers a rejected text until the next one that parses, and says it under the
    /// field (inside the field's own scope, so its id is the field's).
    fn show(&self, ui: &mut Ui, kept: &str) {
        let id = ui.scope_id().with("rejected text");
        match self.seen.borrow_mut().take() {
            Some(Some(text)) => ui.data_mut(|d| {
                d.insert_temp(id, text);
            }),
            Some(None) => ui.data_mut(|d| {
                d.remove_temp::<String>(id);
            }),
            None => {}
        }
        if let Some(text) = ui.data(|d| d.get_temp::<String>(id)) {
            let what = if text.trim().is_empty() {
                "an empty field".to_string()
            } else {
                format!("`{text}`")
            };
            ui.label(
                RichText::new(format!("{what} is not a number: the setting stays {kept}"))
                    .color(ui.visuals().error_fg_color)
                    .small(),
            );
        }
    }
}

/// A labelled grid row; the field's problems, if any, are shown under the widget. Returns
/// the widget's response.
fn row(
    ui: &mut Ui,
    (problems, cautions): (&[Problem], &[Problem]),
    label: &str,
    path: &str,
    add: impl FnOnce(&mut Ui) -> Response,
) -> Response {
    let label_response = ui.label(label);
    let r = ui
        .vertical(|ui| {
            let r = add(ui);
            let r = r.labelled_by(label_response.id);
            for p in problems.iter().filter(|p| p.path == path) {
                ui.label(
                    RichText::new(&p.message)
                        .color(ui.visuals().error_fg_color)
                        .small(),
                );
            }
            for p in cautions.iter().filter(|p| p.path == path) {
                ui.label(
                    RichText::new(&p.message)
                        .color(ui.visuals().warn_fg_color)
                        .small(),
                );
            }
            r
        })
        .inner;
    ui.end_row();
    r
}

/// The experiment's problems at the top of the form, each a link to its field.
fn problem_list(ui: &mut Ui, problems: &[Problem], jump_to: &mut Option<String>) {
    let header = format!(
        "{} problem{} to fix before Start (click one to go to its field):",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    linked_list(ui, &header, problems, ui.visuals().error_fg_color, jump_to);
}

/// The experiment's cautions under its problems: Start works, but the method will not do
/// what it is for.
fn caution_list(ui: &mut Ui, cautions: &[Problem], jump_to: &mut Option<String>) {
    let header = "The run starts, but (click to go to the field):";
    linked_list(ui, header, cautions, ui.visuals().warn_fg_color, jump_to);
}

/// A framed list of `items` in `color` under `header`, each a link to its field.
fn linked_list(
    ui: &mut Ui,
    header: &str,
    items: &[Problem],
    color: egui::Color32,
    jump_to: &mut Option<String>,
) {
    egui::Frame::group(ui.style())
        .stroke(egui::Stroke::new(1.0, color))
        .show(ui, |ui| {
            ui.label(RichText::new(header).color(color));
            for p in items {
                if ui
                    .link(RichText::new(p.to_string()).color(color))
                    .on_hover_text(format!("go to {}", p.path))
                    .clicked()
                {
                    *jump_to = Some(p.path.clone());
                }
            }
        });
}

fn section(ui: &mut Ui, title: &str, open: bool, force_open: bool, add: impl FnOnce(&mut Ui)) {
    egui::CollapsingHeader::new(title)
        .default_open(open)
        .open(force_open.then_some(true))
        .show(ui, |ui| {
            egui::Grid::new(("form", title))
                .num_columns(2)
                .spacing([8.0, 4.0])
                .striped(false)
                .show(ui, add);
        });
}

/// A combo box over `options` (value, hint on hover); `changed` when one is picked.
fn choice<'a>(
    ui: &mut Ui,
    id: &str,
    value: &mut String,
    options: impl Iterator<Item = (&'a str, &'a str)>,
) -> Response {
    let mut picked = false;
    let mut r = ComboBox::from_id_salt(id)
        .selected_text(value.as_str())
        .show_ui(ui, |ui| {
            for (option, hint) in options {
                let item = ui.selectable_label(value == option, option);
                let item = if hint.is_empty() {
                    item
                } else {
                    item.on_hover_text(hint)
                };
                if item.clicked() && value != option {
                    *value = option.to_string();
                    picked = true;
                }
            }
        })
        .response;
    if picked {
        r.mark_changed();
    }
    r
}

/// A text field's width: what is left of the row after `reserve` (its buttons), between a
/// width that still shows a short path and the 180 px a path usually needs.
fn field_width(ui: &Ui, reserve: f32) -> f32 {
    // What is left of the current row (in a wrapping row, not the whole row's width).
    (ui.available_size_before_wrap().x - reserve).clamp(90.0, 180.0)
}
