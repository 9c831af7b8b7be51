//! The runs browser as a table: grouping with mean ± sd (n), sorting, filtering, the
//! settings diff of ticked runs, remembered columns, and a pane filling the window.

use std::path::Path;

use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};

use ferlab::views::runs_table::{Catalog, Column, Grouping, Metric, Rows, RunRecord, synthetic};
use ferlab::views::ui::app::Workbench;
use ferlab::views::ui::panels::curves::CurvesPanel;
use ferlab::views::ui::panels::runs::RunsPanel;

/// 48 synthetic runs: 4 methods x 4 noise rates x 3 seeds, 3 epochs each.
fn folder(root: &Path) {
    synthetic::write(root, &synthetic::plan(48, 3)).unwrap();
}

/// The workbench with its output folder at `runs`, the Runs pane filling the window.
fn runs_harness(runs: &Path) -> Harness<'static, Workbench> {
    let mut wb = Workbench::new(runs.join("no-presets"));
    wb.editor.experiment.output.dir = runs.to_path_buf();
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 800.0))
        // Short frames: a double-click's two clicks fall within egui's 0.3 s.
        .with_step_dt(0.05)
        .build_ui_state(|ui, wb: &mut Workbench| wb.ui(ui), wb);
    h.state_mut().show_panel::<RunsPanel>();
    h.run_steps(2);
    // Double-clicking a tab fills the window with its pane.
    let tab = h.get_by_label("Runs");
    tab.click();
    tab.click();
    h.run_steps(2);
    assert_eq!(h.state().maximised.as_deref(), Some("runs"));
    h
}

/// Opens `shown`, ticks `ticked` and shows the curves pane (the layout restored).
fn show_overlaid(h: &mut Harness<'static, Workbench>, shown: &Path, ticked: &[&RunRecord]) {
    h.state_mut().open_run(shown);
    for r in ticked {
        h.state_mut()
            .panel_mut::<RunsPanel>()
            .unwrap()
            .overlay
            .insert(r.dir.clone());
    }
    h.state_mut().maximised = None;
    h.state_mut().show_panel::<CurvesPanel>();
    h.run_steps(3);
}

#[test]
fn grouping_shows_mean_sd_n_over_the_seeds() {
    let tmp = tempfile::tempdir().unwrap();
    folder(tmp.path());
    let mut h = runs_harness(tmp.path());
    h.get_by_label(&format!("48 runs and 0 sweeps in {}", tmp.path().display()));
    h.query_all_by_label("Group:")
        .find(|n| n.accesskit_node().role() == egui::accesskit::Role::ComboBox)
        .expect("the grouping")
        .click();
    h.run_steps(2);
    h.get_by_label("runs that differ only in their seed")
        .click();
    h.run_steps(3);
    let records = Catalog::default().scan(tmp.path());
    let Rows::Groups(groups) = h
        .state_mut()
        .panel_mut::<RunsPanel>()
        .unwrap()
        .rows()
        .clone()
    else {
        panic!("the table is grouped")
    };
    assert_eq!(groups.len(), 16, "4 methods x 4 noise rates");
    assert!(groups.iter().all(|g| g.members.len() == 3));
    // Each group's best overall accuracy reads mean ± sample sd (3) of its three seeds.
    let runs = &h.state().panel::<RunsPanel>().unwrap().runs;
    let best = Column::Metric(Metric::BestOverall);
    let first = &groups[0];
    let xs: Vec<f64> = first
        .members
        .iter()
        .map(|&i| runs[i].metrics[&Metric::BestOverall])
        .collect();
    let mean = xs.iter().sum::<f64>() / 3.0;
    let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 2.0).sqrt();
    let expected = format!("{mean:.2} ± {sd:.2} (3)");
    assert_eq!(best.group_text(runs, &first.members), expected);
    // (Best overall and best mean agree on balanced validation data: two such cells.)
    assert!(h.query_all_by_label(&expected).count() >= 1);
    assert_eq!(records.len(), 48);
    // A group opens to its runs.
    assert_eq!(h.query_all_by_label("Open").count(), 0);
    h.query_all_by_label("+ 3 runs").next().unwrap().click();
    h.run_steps(2);
    assert_eq!(h.query_all_by_label("Open").count(), 3);
    // The grouping is remembered for the folder.
    let again = runs_harness(tmp.path());
    assert_eq!(
        again.state().panel::<RunsPanel>().unwrap().query.grouping,
        Grouping::AllButSeed
    );
}

#[test]
fn a_header_click_sorts_and_filters_narrow_the_runs() {
    let tmp = tempfile::tempdir().unwrap();
    folder(tmp.path());
    let mut h = runs_harness(tmp.path());
    // The last column starts off to the right: scrolled into view, the tick and name
    // columns stay where they were.
    let name = h.state().panel::<RunsPanel>().unwrap().runs[0].id.clone();
    let name_x = h.get_by_label(&name).rect().left();
    let header_x = h.get_by_label("wall time").rect().left();
    assert!(header_x > 1280.0, "off to the right at first: {header_x}");
    let dx = header_x - 1000.0;
    h.state_mut()
        .panel_mut::<RunsPanel>()
        .unwrap()
        .scroll_by(dx, 0.0);
    h.run_steps(3);
    assert_eq!(h.get_by_label(&name).rect().left(), name_x);
    let header = h.get_by_label("wall time").rect();
    assert!(
        header.left() < header_x - 500.0 && header.left() < 1240.0,
        "{header:?}"
    );
    h.state_mut()
        .panel_mut::<RunsPanel>()
        .unwrap()
        .scroll_by(-dx, 0.0);
    h.run_steps(3);
    h.get_by_label("best overall %").click();
    h.run_steps(2);
    let values = |h: &mut Harness<'static, Workbench>| -> Vec<f64> {
        let Rows::Runs(order) = h
            .state_mut()
            .panel_mut::<RunsPanel>()
            .unwrap()
            .rows()
            .clone()
        else {
            panic!("not grouped")
        };
        let runs = &h.state().panel::<RunsPanel>().unwrap().runs;
        order
            .iter()
            .map(|&i| runs[i].metrics[&Metric::BestOverall])
            .collect()
    };
    let down = values(&mut h);
    assert!(
        down.windows(2).all(|w| w[0] >= w[1]),
        "highest first: {down:?}"
    );
    // The top row is the best run.
    let top = {
        let p = &h.state().panel::<RunsPanel>().unwrap();
        let Some(Rows::Runs(order)) = Some(p.query.rows(&p.runs)) else {
            unreachable!()
        };
        p.runs[order[0]].id.clone()
    };
    h.get_by_label(&top);
    h.get_by_label("best overall %").click();
    h.run_steps(2);
    let up = values(&mut h);
    assert!(up.windows(2).all(|w| w[0] <= w[1]), "lowest first: {up:?}");
    assert_eq!(
        h.state().panel::<RunsPanel>().unwrap().query.sort,
        Some((Column::Metric(Metric::BestOverall), false))
    );

    // The text filter keeps runs whose name or a shown cell holds the text.
    let filter = h
        .query_all_by_label("Filter:")
        .find(|n| n.accesskit_node().role() == egui::accesskit::Role::TextInput)
        .expect("the filter field");
    filter.focus();
    filter.type_text("asm");
    h.run_steps(2);
    assert_eq!(values(&mut h).len(), 12);
    h.get_by_label_contains("· 12 shown");
    // A column filter on a number: ASM runs at noise rates of at least 0.2.
    h.state_mut()
        .panel_mut::<RunsPanel>()
        .unwrap()
        .query
        .column_filters
        .insert(Column::parse("corruption.noise_rate"), ">=0.2".into());
    h.get_by_label("best overall %").click();
    h.run_steps(2);
    let p = &h.state().panel::<RunsPanel>().unwrap();
    let Rows::Runs(order) = p.query.rows(&p.runs) else {
        panic!()
    };
    assert_eq!(order.len(), 6);
    assert!(order.iter().all(|&i| {
        let r = &p.runs[i];
        r.setting("method.name").unwrap().text == "asm"
            && r.setting("corruption.noise_rate").unwrap().number.unwrap() >= 0.2
    }));
}

#[test]
fn ticked_runs_show_the_settings_that_differ() {
    let tmp = tempfile::tempdir().unwrap();
    folder(tmp.path());
    let mut h = runs_harness(tmp.path());
    assert!(
        h.get_by_label("Settings diff (0 ticked)")
            .accesskit_node()
            .is_disabled()
    );
    // Tick two runs: the newest two (ASM and CE at different noise and seeds).
    let ids: Vec<String> = {
        let p = &h.state().panel::<RunsPanel>().unwrap();
        p.runs.iter().take(2).map(|r| r.id.clone()).collect()
    };
    for id in &ids {
        let dir = tmp.path().join(id);
        h.state_mut()
            .panel_mut::<RunsPanel>()
            .unwrap()
            .overlay
            .insert(dir);
    }
    h.run_steps(2);
    h.get_by_label("Settings diff (2 ticked)").click();
    h.run_steps(2);
    let p = &h.state().panel::<RunsPanel>().unwrap();
    let (a, b) = (&p.runs[0], &p.runs[1]);
    let differing: Vec<&String> = a
        .settings
        .keys()
        .filter(|k| !["name", "description", "group"].contains(&k.as_str()))
        .filter(|k| a.settings.get(*k) != b.settings.get(*k))
        .collect();
    assert!(
        differing.iter().any(|k| *k == "method.name"),
        "{differing:?}"
    );
    h.get_by_label(&format!(
        "Settings that differ among the 2 ticked runs: {}",
        differing.len()
    ));
    h.get_by_label("method.name");
    // Restore the layout.
    h.get_by_label("Restore layout (Runs)").click();
    h.run_steps(2);
    assert_eq!(h.state().maximised, None);
}

#[test]
fn chosen_columns_are_remembered_and_a_bad_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    folder(tmp.path());
    let mut h = runs_harness(tmp.path());
    h.get_by_label("Columns").click();
    h.run_steps(2);
    h.get_by_label("flip MSE").click();
    h.run_steps(2);
    let shows_flip_mse = |h: &Harness<'static, Workbench>| {
        h.state()
            .panel::<RunsPanel>()
            .unwrap()
            .query
            .columns
            .contains(&Column::Metric(Metric::FlipMse))
    };
    assert!(shows_flip_mse(&h));
    drop(h);
    let h = runs_harness(tmp.path());
    assert!(shows_flip_mse(&h), "remembered for the folder");
    drop(h);
    std::fs::write(tmp.path().join(".ferlab-runs-table.toml"), "columns = 3\n").unwrap();
    let h = runs_harness(tmp.path());
    h.get_by_label_contains(".ferlab-runs-table.toml");
    h.get_by_label_contains("(using the default columns)");
}

/// A group's row says what it is (experiment · method · seeds), and a ticked run a filter
/// hides leaves the curves' overlay until the filter shows it again.
#[test]
fn groups_are_named_by_experiment_and_hidden_ticked_runs_are_not_overlaid() {
    let tmp = tempfile::tempdir().unwrap();
    folder(tmp.path());
    let mut h = runs_harness(tmp.path());
    h.state_mut()
        .panel_mut::<RunsPanel>()
        .unwrap()
        .query
        .grouping = Grouping::AllButSeed;
    h.state_mut()
        .panel_mut::<RunsPanel>()
        .unwrap()
        .refresh(tmp.path());
    h.run_steps(3);
    let Rows::Groups(groups) = h
        .state_mut()
        .panel_mut::<RunsPanel>()
        .unwrap()
        .rows()
        .clone()
    else {
        panic!("the table is grouped")
    };
    assert!(!groups[0].title.is_empty());
    let shown = h
        .query_all_by_label_contains(&format!("{} · ", groups[0].title))
        .count();
    assert!(shown >= 1, "the group row names its experiment and method");

    h.state_mut()
        .panel_mut::<RunsPanel>()
        .unwrap()
        .query
        .grouping = Grouping::None;
    h.state_mut()
        .panel_mut::<RunsPanel>()
        .unwrap()
        .refresh(tmp.path());
    let (a, b) = {
        let runs = &h.state().panel::<RunsPanel>().unwrap().runs;
        (runs[0].clone(), runs[1].clone())
    };
    h.state_mut()
        .panel_mut::<RunsPanel>()
        .unwrap()
        .overlay
        .insert(a.dir.clone());
    h.state_mut()
        .panel_mut::<RunsPanel>()
        .unwrap()
        .overlay
        .insert(b.dir.clone());
    h.run_steps(2);
    assert_eq!(h.state().overlays.len(), 2);
    h.state_mut().panel_mut::<RunsPanel>().unwrap().query.text = a.id.clone();
    h.state_mut()
        .panel_mut::<RunsPanel>()
        .unwrap()
        .refresh(tmp.path());
    h.run_steps(2);
    let overlaid: Vec<_> = h
        .state()
        .overlays
        .iter()
        .map(|v| v.run_dir.clone())
        .collect();
    assert_eq!(
        overlaid,
        [Some(a.dir.clone())],
        "the hidden run left the overlay"
    );
    h.state_mut()
        .panel_mut::<RunsPanel>()
        .unwrap()
        .query
        .text
        .clear();
    h.state_mut()
        .panel_mut::<RunsPanel>()
        .unwrap()
        .refresh(tmp.path());
    h.run_steps(2);
    assert_eq!(h.state().overlays.len(), 2, "shown again, overlaid again");
}

/// Overlaid curves are named by the setting that tells the runs apart (here the seed), not
/// by their start time.
#[test]
fn overlaid_curves_are_named_by_what_differs() {
    let tmp = tempfile::tempdir().unwrap();
    folder(tmp.path());
    let mut h = runs_harness(tmp.path());
    let runs = h.state().panel::<RunsPanel>().unwrap().runs.clone();
    let a = &runs[0];
    let b = runs
        .iter()
        .find(|r| {
            r.dir != a.dir
                && r.method == a.method
                && r.setting("corruption.noise_rate") == a.setting("corruption.noise_rate")
        })
        .expect("another seed of the same experiment");
    h.state_mut().open_run(&a.dir);
    h.state_mut()
        .panel_mut::<RunsPanel>()
        .unwrap()
        .overlay
        .insert(b.dir.clone());
    h.state_mut().maximised = None;
    h.state_mut().show_panel::<CurvesPanel>();
    h.run_steps(3);
    let seed = b.setting("seed").unwrap().text.clone();
    // The longer legends start folded: open them.
    let toggles = h.query_all_by_label("legend").count();
    for i in 0..toggles {
        h.query_all_by_label("legend").nth(i).unwrap().click();
        h.run_steps(2);
    }
    let names: Vec<String> = h
        .query_all_by_label_contains("overall %")
        .filter_map(|n| n.accesskit_node().label())
        .collect();
    assert!(
        names.contains(&format!("{} · seed={seed} overall %", a.method)),
        "{names:?}"
    );
}

/// Overlaid runs that differ only in their seed are one mean line with their min–max band;
/// unticking "seeds as bands" draws each again.
#[test]
fn overlaid_seeds_are_drawn_as_a_mean_with_a_band() {
    let tmp = tempfile::tempdir().unwrap();
    folder(tmp.path());
    let mut h = runs_harness(tmp.path());
    let runs = h.state().panel::<RunsPanel>().unwrap().runs.clone();
    let a = &runs[0];
    let others: Vec<_> = runs
        .iter()
        .filter(|r| {
            r.dir != a.dir
                && r.method == a.method
                && r.setting("corruption.noise_rate") == a.setting("corruption.noise_rate")
        })
        .collect();
    assert_eq!(others.len(), 2, "the two other seeds");
    show_overlaid(&mut h, &a.dir, &others);
    let legends = |h: &mut Harness<'static, Workbench>| -> Vec<String> {
        // The longer legends start folded: open them (once).
        if h.query_by_label("val overall %").is_none() {
            let toggles = h.query_all_by_label("legend").count();
            for i in 0..toggles {
                h.query_all_by_label("legend").nth(i).unwrap().click();
                h.run_steps(2);
            }
        }
        h.query_all_by_label_contains("overall %")
            .filter_map(|n| n.accesskit_node().label())
            .collect()
    };
    let names = legends(&mut h);
    assert!(
        names.contains(&format!(
            "{} overall % (mean, min–max of 2 seeds)",
            a.method
        )),
        "{names:?}"
    );
    h.state_mut().panel_mut::<CurvesPanel>().unwrap().seed_bands = false;
    h.run_steps(2);
    let names = legends(&mut h);
    assert!(
        names.iter().filter(|n| n.contains("seed=")).count() == 2,
        "{names:?}"
    );
}

/// The shown run ticked with its other seeds counts in their band (it was left out, so
/// three ticked seeds made a band of two), and the loss plot draws the band too.
#[test]
fn the_shown_run_counts_in_its_seeds_band_in_both_plots() {
    let tmp = tempfile::tempdir().unwrap();
    folder(tmp.path());
    let mut h = runs_harness(tmp.path());
    let runs = h.state().panel::<RunsPanel>().unwrap().runs.clone();
    let a = &runs[0];
    let seeds: Vec<_> = runs
        .iter()
        .filter(|r| {
            r.method == a.method
                && r.setting("corruption.noise_rate") == a.setting("corruption.noise_rate")
        })
        .collect();
    assert_eq!(seeds.len(), 3);
    show_overlaid(&mut h, &a.dir, &seeds);
    // The longer legends start folded: open each that is.
    let band = |what: &str| format!("{} {what} (mean, min–max of 3 seeds)", a.method);
    let found = |h: &Harness<'static, Workbench>| {
        ["overall %", "val loss"]
            .iter()
            .filter(|w| h.query_by_label(&band(w)).is_some())
            .count()
    };
    let toggles = h.query_all_by_label("legend").count();
    for i in 0..toggles {
        let before = found(&h);
        h.query_all_by_label("legend").nth(i).unwrap().click();
        h.run_steps(2);
        if found(&h) < before {
            h.query_all_by_label("legend").nth(i).unwrap().click();
            h.run_steps(2);
        }
    }
    h.get_by_label("overlaid: 2 run(s)");
    h.get_by_label(&format!(
        "{} overall % (mean, min–max of 3 seeds)",
        a.method
    ));
    h.get_by_label(&format!("{} val loss (mean, min–max of 3 seeds)", a.method));
    // The shown run's own curves are still drawn once.
    assert_eq!(h.query_all_by_label("val loss").count(), 1);
}

/// Another method's seeds are one group named by its method label alone: `name=asm` (the
/// label says it already) and that method's own settings, which the shown run does not
/// train with, are not differences to name.
#[test]
fn another_methods_seed_group_is_named_by_its_method() {
    let tmp = tempfile::tempdir().unwrap();
    folder(tmp.path());
    let mut h = runs_harness(tmp.path());
    let runs = h.state().panel::<RunsPanel>().unwrap().runs.clone();
    let a = &runs[0];
    let other = runs
        .iter()
        .find(|r| {
            r.method != a.method
                && r.setting("corruption.noise_rate") == a.setting("corruption.noise_rate")
        })
        .expect("another method at the same noise rate");
    let seeds: Vec<_> = runs
        .iter()
        .filter(|r| {
            r.method == other.method
                && r.setting("corruption.noise_rate") == a.setting("corruption.noise_rate")
        })
        .collect();
    assert_eq!(seeds.len(), 3);
    show_overlaid(&mut h, &a.dir, &seeds);
    let toggles = h.query_all_by_label("legend").count();
    for i in 0..toggles {
        h.query_all_by_label("legend").nth(i).unwrap().click();
        h.run_steps(2);
    }
    let names: Vec<String> = h
        .query_all_by_label_contains("(mean, min–max of 3 seeds)")
        .filter_map(|n| n.accesskit_node().label())
        .collect();
    assert!(
        names.contains(&format!(
            "{} overall % (mean, min–max of 3 seeds)",
            other.method
        )),
        "{names:?}"
    );
}
