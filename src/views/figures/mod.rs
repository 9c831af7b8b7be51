//! Publication figures of runs, drawn with plotters to PNG (any size and DPI) or SVG, with
//! an embedded font: the same figures the workbench's panels show, from a run's events.

pub mod attention;
pub mod canvas;
pub mod chart;
pub mod compare;
pub mod confusion;
pub mod curves;
pub mod embedding;
pub mod figure;
pub mod mining;
pub mod per_class;

use crate::compute::method::REGISTRY;
use std::path::{Path, PathBuf};

pub use canvas::{FigureResult, FigureSize, ImageFormat};
pub use figure::{Figure, FigureOptions, FigureRef};

use crate::contract::config::Experiment;
use crate::contract::run::atomic;
use crate::contract::run::results::method_label;
use crate::contract::run::view::RunView;
use crate::views::Error;
use crate::with_area;

/// Every figure of a run, in the order `export_run` writes them: one line per figure.
pub const FIGURES: &[FigureRef] = &[
    &curves::Curves,
    &confusion::Confusion,
    &per_class::PerClass,
    &mining::Thresholds,
    &mining::Mining,
    &attention::Attention,
    &attention::FlipConsistency,
    &embedding::Embedding,
];

/// The figure written under `key` (`curves`, `confusion` …).
pub fn by_key(key: &str) -> Option<FigureRef> {
    FIGURES.iter().copied().find(|f| f.key() == key)
}

/// "METHOD - run id", from the run's resolved config.
pub fn run_label(view: &RunView) -> String {
    let method = view
        .config
        .as_deref()
        .and_then(|c| Experiment::recorded_from_toml(c, "config", &[], &REGISTRY).ok())
        .map(|e| method_label(&e, &REGISTRY));
    match method {
        Some(m) => format!("{m} - {}", view.run_id),
        None => view.run_id.clone(),
    }
}

/// Renders one figure of a run.
pub fn render(
    figure: &dyn Figure,
    view: &RunView,
    options: FigureOptions,
    size: FigureSize,
    format: ImageFormat,
) -> FigureResult<Vec<u8>> {
    if !figure.available(view) {
        return Err(no_data(figure, view));
    }
    let label = run_label(view);
    canvas::render(size, format, |st, areas| {
        figure.draw(areas, st, view, options, &label)
    })
}

/// The numbers behind one figure of a run, as CSV.
pub fn csv(figure: &dyn Figure, view: &RunView, options: FigureOptions) -> FigureResult<String> {
    if !figure.available(view) {
        return Err(no_data(figure, view));
    }
    figure.csv(view, options)
}

fn no_data(figure: &dyn Figure, view: &RunView) -> Error {
    Error::Draw(format!(
        "{} has no data for the {} figure",
        view.run_id,
        figure.key()
    ))
}

/// Figures of several runs together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComparisonKind {
    Accuracy,
    PerClass,
}

impl ComparisonKind {
    pub const ALL: [ComparisonKind; 2] = [Self::Accuracy, Self::PerClass];

    pub fn key(self) -> &'static str {
        match self {
            Self::Accuracy => "compare_accuracy",
            Self::PerClass => "compare_per_class",
        }
    }
}

/// Short legend labels: the method; where runs share a method, the settings that tell
/// them apart (`CE · seed=8`, at most two, by their last key segment), or the run id when
/// none does. Curves overlaid in the workbench are named the same way.
pub fn comparison_labels<'a>(views: impl IntoIterator<Item = &'a RunView>) -> Vec<String> {
    let views: Vec<&RunView> = views.into_iter().collect();
    let methods: Vec<String> = views
        .iter()
        .map(|v| {
            let full = run_label(v);
            full.split(" - ").next().unwrap_or(&full).to_string()
        })
        .collect();
    let settings: Vec<std::collections::BTreeMap<String, toml::Value>> = views
        .iter()
        .map(|v| {
            v.config
                .as_deref()
                .and_then(|c| Experiment::recorded_from_toml(c, &v.run_id, &[], &REGISTRY).ok())
                .map(|e| crate::contract::config::schema::leaves(&e.to_table()))
                .unwrap_or_default()
        })
        .collect();
    methods
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let peers: Vec<usize> = (0..views.len()).filter(|&j| methods[j] == *m).collect();
            if peers.len() == 1 {
                return m.clone();
            }
            let differing: Vec<String> = settings[i]
                .iter()
                .filter(|(k, _)| {
                    !crate::contract::config::schema::NAMING_KEYS.contains(&k.as_str())
                })
                .filter(|(k, v)| peers.iter().any(|&j| settings[j].get(*k) != Some(v)))
                .take(2)
                .map(|(k, v)| {
                    let short = k.rsplit('.').next().unwrap_or(k);
                    format!("{short}={}", crate::views::sweep::spec::value_text(v))
                })
                .collect();
            if differing.is_empty() {
                format!("{m} ({})", views[i].run_id)
            } else {
                format!("{m} · {}", differing.join(", "))
            }
        })
        .collect()
}

pub fn render_comparison(
    kind: ComparisonKind,
    views: &[RunView],
    size: FigureSize,
    format: ImageFormat,
) -> FigureResult<Vec<u8>> {
    if views.iter().all(|v| v.epochs.is_empty()) {
        return Err(Error::Draw("none of the runs has a finished epoch".into()));
    }
    let labels = comparison_labels(views);
    let runs: Vec<(String, &RunView)> = labels.into_iter().zip(views.iter()).collect();
    canvas::render(size, format, |st, areas| match kind {
        ComparisonKind::Accuracy => with_area!(areas, |a| compare::accuracy(a, st, &runs)),
        ComparisonKind::PerClass => with_area!(areas, |a| compare::per_class(a, st, &runs)),
    })
}

/// Writes `bytes` atomically, naming the file in errors.
pub fn write(path: &Path, bytes: &[u8]) -> FigureResult<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e))?;
    }
    atomic::write(path, bytes).map_err(|e| Error::file(path, e))
}

/// The size of exported figures: one size in inches for all, or each kind's own; one DPI.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExportSize {
    pub inches: Option<(f64, f64)>,
    pub dpi: u32,
}

impl Default for ExportSize {
    fn default() -> Self {
        Self {
            inches: None,
            dpi: FigureSize::default().dpi,
        }
    }
}

impl ExportSize {
    pub fn resolve(&self, default: FigureSize) -> FigureSize {
        let (width_in, height_in) = self.inches.unwrap_or((default.width_in, default.height_in));
        FigureSize {
            width_in,
            height_in,
            dpi: self.dpi,
        }
    }
}

/// Writes every figure the run has data for into `dir` (`<kind>.<ext>` per format).
pub fn export_run(
    view: &RunView,
    dir: &Path,
    formats: &[ImageFormat],
    size: ExportSize,
) -> FigureResult<Vec<PathBuf>> {
    let mut written = Vec::new();
    for &figure in FIGURES {
        if !figure.available(view) {
            continue;
        }
        for &format in formats {
            let size = size.resolve(figure.default_size());
            let bytes = render(figure, view, FigureOptions::default(), size, format)?;
            let path = dir.join(format!("{}.{}", figure.key(), format.extension()));
            write(&path, &bytes)?;
            written.push(path);
        }
        // And the numbers behind it, for a plotting script or a spreadsheet.
        let path = dir.join(format!("{}.csv", figure.key()));
        write(
            &path,
            csv(figure, view, FigureOptions::default())?.as_bytes(),
        )?;
        written.push(path);
    }
    Ok(written)
}

/// Writes the comparison figures of `views` into `dir`.
pub fn export_comparison(
    views: &[RunView],
    dir: &Path,
    formats: &[ImageFormat],
    size: ExportSize,
) -> FigureResult<Vec<PathBuf>> {
    let size = size.resolve(FigureSize::default());
    let mut written = Vec::new();
    for kind in ComparisonKind::ALL {
        for &format in formats {
            let bytes = render_comparison(kind, views, size, format)?;
            let path = dir.join(format!("{}.{}", kind.key(), format.extension()));
            write(&path, &bytes)?;
            written.push(path);
        }
    }
    Ok(written)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::contract::codec::base64_encode;
    use crate::contract::event::Metrics;
    use crate::contract::event::TrainSummary;
    use crate::contract::event::attention::{
        AttentionFace, AttentionSnapshot, FaceSource, encode_f32,
    };
    use crate::contract::event::mining::{
        ClassThresholds, MiningQuality, MiningReport, SetQuality,
    };
    use crate::contract::run::view::EpochPoint;

    const CLASSES: [&str; 3] = ["happiness", "sadness", "surprise"];

    /// A three-class ASM-like run with every kind of data, made by hand.
    pub(crate) fn fixture_view() -> RunView {
        let k = CLASSES.len();
        let mut view = RunView {
            run_id: "fixture-run".into(),
            classes: CLASSES.iter().map(|c| c.to_string()).collect(),
            ..RunView::default()
        };
        for e in 1..=4usize {
            let acc = 0.4 + 0.1 * e as f32;
            view.epochs.push(EpochPoint {
                epoch: e,
                train: TrainSummary {
                    loss: 2.0 / e as f32,
                    terms: Default::default(),
                    accuracy: acc + 0.05,
                    images_per_sec: 100.0,
                    seconds: 1.0,
                    data_wait_secs: 0.0,
                    lr: 0.01,
                },
                val: Metrics {
                    loss: 2.2 / e as f32,
                    overall: acc,
                    mean: acc - 0.05,
                    per_class: vec![Some(acc), Some(acc - 0.1), None],
                    confusion: vec![vec![8, 2, 0], vec![3, 7, 0], vec![0, 0, 0]],
                    count: 20,
                    flip_mse: Some(0.1 / e as f32),
                    macro_f1: acc - 0.1,
                },
            });
            view.mining.push((
                e,
                MiningReport {
                    thresholds: (e > 1).then(|| ClassThresholds {
                        noisy: vec![0.1, 0.15, 0.2],
                        clean: vec![0.6, 0.65 + 0.01 * e as f32, 0.7],
                    }),
                    base: (0.2, 0.8),
                    adaptive: true,
                    class_mean: vec![0.5; k],
                    counts: vec![[10, 3, 2 * e]; k],
                    moves: [[0, 2, 1], [1, 0, 1], [0, 1, 0]],
                    quality: Some(MiningQuality {
                        noisy: SetQuality {
                            precision: Some(0.6),
                            recall: Some(0.1 * e as f32),
                        },
                        clean: SetQuality {
                            precision: Some(0.9),
                            recall: Some(0.8),
                        },
                        noise_rate: 0.3,
                    }),
                    moved: Vec::new(),
                    moves_listed: Vec::new(),
                },
            ));
            let (s, mh, mw) = (8usize, 2usize, 2usize);
            let faces = (0..k as u32)
                .map(|c| AttentionFace {
                    index: c as usize,
                    id: format!("face{c}"),
                    source: FaceSource::Gallery,
                    label: c,
                    prediction: (c + 1) % 3,
                    probabilities: vec![1.0 / 3.0; k],
                    pixels: base64_encode(&(0..s * s).map(|i| (i * 3) as u8).collect::<Vec<_>>()),
                    maps: encode_f32(&(0..k * mh * mw).map(|i| i as f32).collect::<Vec<_>>()),
                    flipped_back: encode_f32(
                        &(0..k * mh * mw).map(|i| (i % 4) as f32).collect::<Vec<_>>(),
                    ),
                    consistency: vec![0.01, 0.02, 0.03],
                })
                .collect();
            view.attention.push((
                e,
                AttentionSnapshot {
                    epoch: e - 1,
                    image_size: s,
                    map_height: mh,
                    map_width: mw,
                    per_class: vec![0.3 / e as f32, 0.2, 0.1],
                    mean: 0.2,
                    count: 20,
                    faces,
                },
            ));
            // Twelve faces, four per class, in three clusters.
            let xy: Vec<f32> = (0..12)
                .flat_map(|i| {
                    let (c, j) = ((i / 4) as f32, (i % 4) as f32);
                    [3.0 * c + 0.2 * j, c * c - 0.1 * j]
                })
                .collect();
            view.embeddings.push((
                e,
                crate::contract::event::EmbeddingSnapshot {
                    epoch: e - 1,
                    indices: (0..12).collect(),
                    labels: (0..12).map(|i| i / 4).collect(),
                    predictions: (0..12).map(|i| i / 4).collect(),
                    tsne: xy.clone(),
                    mds: xy.iter().map(|v| v / 3.0).collect(),
                    tsne_secs: 0.1,
                    mds_secs: 0.01,
                    centre_distance: vec![Some(0.25), Some(0.5), None],
                    cosine_same: 0.9,
                    cosine_different: 0.6,
                    filter: None,
                    note: None,
                },
            ));
        }
        view
    }

    /// The text of every `<text>` element of an SVG.
    pub(crate) fn svg_texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| {
                let body = &t[t.find('>')? + 1..];
                Some(body[..body.find("</text>")?].trim().to_string())
            })
            .collect()
    }

    fn png_size(bytes: &[u8]) -> (u32, u32, u32) {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let reader = decoder.read_info().expect("a valid PNG");
        let info = reader.info();
        let dpi = info
            .pixel_dims
            .map(|d| (d.xppu as f64 * 0.0254).round() as u32)
            .unwrap_or(0);
        (info.width, info.height, dpi)
    }

    #[test]
    fn every_figure_renders_png_of_the_requested_size_and_svg_with_its_text() {
        let view = fixture_view();
        let size = FigureSize {
            width_in: 5.0,
            height_in: 3.5,
            dpi: 120,
        };
        for &kind in FIGURES {
            assert!(kind.available(&view), "{}", kind.key());
            let png = render(
                kind,
                &view,
                FigureOptions::default(),
                size,
                ImageFormat::Png,
            )
            .unwrap_or_else(|e| panic!("{}: {e}", kind.key()));
            assert_eq!(png_size(&png), (600, 420, 120), "{}", kind.key());
            let svg = render(
                kind,
                &view,
                FigureOptions::default(),
                size,
                ImageFormat::Svg,
            )
            .unwrap_or_else(|e| panic!("{}: {e}", kind.key()));
            let svg = String::from_utf8(svg).unwrap();
            assert!(
                svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
                "{}",
                kind.key()
            );
            assert!(
                svg.contains("width=\"480\"") && svg.contains("height=\"336\""),
                "{}",
                kind.key()
            );
            let texts = svg_texts(&svg);
            assert!(
                texts.iter().any(|t| t.contains("fixture-run")),
                "{}: the title names the run",
                kind.key()
            );
            if !["curves", "mining"].contains(&kind.key()) {
                for class in CLASSES {
                    assert!(
                        texts.iter().any(|t| t == class),
                        "{}: class name {class} missing",
                        kind.key()
                    );
                }
            }
        }
    }

    #[test]
    fn figures_carry_their_labels_and_data() {
        let view = fixture_view();
        let svg = |kind: &dyn Figure, epoch| {
            let bytes = render(
                kind,
                &view,
                FigureOptions { epoch },
                FigureSize::default(),
                ImageFormat::Svg,
            )
            .unwrap();
            String::from_utf8(bytes).unwrap()
        };
        let curves = svg(&curves::Curves, None);
        for text in [
            "Loss",
            "Accuracy",
            "epoch",
            "val overall",
            "val mean",
            "train",
        ] {
            assert!(curves.contains(text), "curves lack {text}");
        }
        // Best epoch 4: happiness row 8 of 10 = 80%.
        let confusion = svg(&confusion::Confusion, None);
        assert!(confusion.contains("epoch 4"));
        let cells = svg_texts(&confusion);
        for text in ["80%", "20%", "30%", "70%", "8", "3", "-"] {
            assert!(cells.iter().any(|t| t == text), "confusion lacks {text}");
        }
        assert!(confusion.contains("predicted") && confusion.contains("true"));
        let early = svg(&per_class::PerClass, Some(1));
        assert!(early.contains("overall 50.00%, mean 45.00%"));
        let mining = svg(&mining::Mining, None);
        assert!(mining.contains("noisy recall") && mining.contains("ambiguous"));
        let attention = svg(&attention::Attention, None);
        // Three faces x (face, original, flipped back) plus the colour bar.
        assert_eq!(attention.matches("<image ").count(), 3 * 3 + 1);
        assert!(attention.contains("data:image/png;base64,"));
        assert!(attention.contains("flipped back") && attention.contains("MSE 0.010"));
        let embedding = svg(&embedding::Embedding, Some(2));
        for text in [
            "t-SNE",
            "classical MDS",
            "epoch 2, 12 validation faces",
            "gap 0.300",
            "mean distance to class centre (MDS) 0.375",
        ] {
            assert!(embedding.contains(text), "embedding lacks {text}");
        }
        let flip = svg(&attention::FlipConsistency, None);
        assert!(flip.contains("flip MSE") && flip.contains("mean"));
    }

    #[test]
    fn missing_data_is_an_error_naming_the_figure() {
        let mut view = fixture_view();
        view.mining.clear();
        view.attention.clear();
        view.embeddings.clear();
        assert!(!mining::Thresholds.available(&view));
        assert!(!embedding::Embedding.available(&view));
        let e = render(
            &attention::Attention,
            &view,
            FigureOptions::default(),
            FigureSize::default(),
            ImageFormat::Png,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("attention") && e.contains("fixture-run"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let written = export_run(
            &view,
            dir.path(),
            &[ImageFormat::Png],
            ExportSize::default(),
        )
        .unwrap();
        let names: Vec<String> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "curves.png",
                "curves.csv",
                "confusion.png",
                "confusion.csv",
                "per_class.png",
                "per_class.csv"
            ]
        );
    }

    /// Every figure's numbers come out as CSV: a header, then one row per plotted point,
    /// with the values the figure draws.
    #[test]
    fn every_figure_has_its_numbers_as_csv() {
        let view = fixture_view();
        for &kind in FIGURES {
            let text = csv(kind, &view, FigureOptions::default()).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            assert!(lines.len() > 1, "{}: {text}", kind.key());
            let width = lines[0].split(',').count();
            for l in &lines {
                assert_eq!(l.split(',').count(), width, "{}: {l}", kind.key());
            }
        }
        let curves = csv(&curves::Curves, &view, FigureOptions::default()).unwrap();
        let last = view.epochs.last().unwrap();
        let row: Vec<&str> = curves.lines().last().unwrap().split(',').collect();
        assert_eq!(row[0], last.epoch.to_string());
        let header: Vec<&str> = curves.lines().next().unwrap().split(',').collect();
        let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
        assert_eq!(
            row[at("val_overall")],
            format!("{}", last.val.overall as f64)
        );
        let confusion = csv(&confusion::Confusion, &view, FigureOptions::default()).unwrap();
        assert_eq!(
            confusion.lines().count(),
            1 + view.classes.len() * view.classes.len()
        );
    }

    #[test]
    fn comparisons_label_runs_by_method_and_disambiguate() {
        let mut a = fixture_view();
        let mut exp = Experiment::default();
        a.config = Some(exp.to_toml());
        let mut b = a.clone();
        b.run_id = "other-run".into();
        let labels = comparison_labels(&[a.clone(), b.clone()]);
        assert_eq!(labels, ["CE (fixture-run)", "CE (other-run)"]);
        exp.method.name = "lnsu".into();
        b.config = Some(exp.to_toml());
        assert_eq!(comparison_labels(&[a.clone(), b.clone()]), ["CE", "LNSU"]);
        // Runs of one method are named by the settings that tell them apart.
        let mut c = a.clone();
        exp.method.name = "ce".into();
        exp.seed = 8;
        c.config = Some(exp.to_toml());
        assert_eq!(
            comparison_labels(&[a.clone(), c]),
            ["CE · seed=7", "CE · seed=8"]
        );
        let svg = render_comparison(
            ComparisonKind::PerClass,
            &[a, b],
            FigureSize::default(),
            ImageFormat::Svg,
        )
        .unwrap();
        let svg = String::from_utf8(svg).unwrap();
        let texts = svg_texts(&svg);
        for text in ["CE", "LNSU", "sadness", "accuracy (%)"] {
            assert!(texts.iter().any(|t| t == text), "comparison lacks {text}");
        }
    }
}
