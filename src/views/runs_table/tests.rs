use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;

fn run(id: &str, method: &str, noise: f64, seed: i64, best: f64) -> RunRecord {
    let mut settings = BTreeMap::new();
    let text = |s: &str| SettingValue {
        text: s.into(),
        number: None,
    };
    let num = |x: f64, t: String| SettingValue {
        text: t,
        number: Some(x),
    };
    settings.insert("method.name".into(), text(method));
    settings.insert(
        "corruption.noise_rate".into(),
        num(noise, noise.to_string()),
    );
    settings.insert("seed".into(), num(seed as f64, seed.to_string()));
    settings.insert("name".into(), text(id));
    let mut metrics = BTreeMap::new();
    metrics.insert(Metric::BestOverall, best);
    RunRecord {
        dir: PathBuf::from(format!("/runs/{id}")),
        id: id.into(),
        status: "finished".into(),
        resumable: false,
        epochs_done: 4,
        epochs_total: 4,
        settings,
        method: method.to_uppercase(),
        metrics,
        warnings: Vec::new(),
    }
}

fn runs() -> Vec<RunRecord> {
    vec![
        run("a", "asm", 0.3, 1, 60.0),
        run("b", "ce", 0.3, 1, 50.0),
        run("c", "asm", 0.3, 2, 62.0),
        run("d", "ce", 0.3, 2, 54.0),
        run("e", "asm", 0.1, 1, 70.0),
    ]
}

fn query(columns: &[&str]) -> TableQuery {
    TableQuery {
        columns: columns.iter().map(|k| Column::parse(k)).collect(),
        ..TableQuery::default()
    }
}

#[test]
fn groups_runs_that_differ_only_in_seed_with_mean_sd_n() {
    let runs = runs();
    let mut q = query(&[
        "method.name",
        "corruption.noise_rate",
        "seed",
        "best_overall",
    ]);
    q.grouping = Grouping::AllButSeed;
    let Rows::Groups(groups) = q.rows(&runs) else {
        panic!("grouped")
    };
    assert_eq!(groups.len(), 3);
    let asm = groups
        .iter()
        .find(|g| g.members == [0, 2])
        .expect("asm at 0.3");
    // The columns show what tells the groups apart: no label needed.
    assert_eq!(asm.label, "");
    let best = Column::Metric(Metric::BestOverall);
    // mean 61, sample sd sqrt(2) = 1.41
    assert_eq!(best.group_text(&runs, &asm.members), "61.00 ± 1.41 (2)");
    assert_eq!(
        Column::parse("seed").group_text(&runs, &asm.members),
        "1, 2"
    );
    let single = groups.iter().find(|g| g.members == [4]).unwrap();
    // Sorted by a metric, groups go by their mean: asm 0.1 (70), asm 0.3 (61), ce 0.3 (52).
    let mut sorted = q.clone();
    sorted.sort = Some((best.clone(), true));
    let Rows::Groups(by_best) = sorted.rows(&runs) else {
        panic!("grouped")
    };
    let order: Vec<&[usize]> = by_best.iter().map(|g| g.members.as_slice()).collect();
    assert_eq!(order, [&[4][..], &[2, 0], &[3, 1]]);
    assert_eq!(best.group_text(&runs, &single.members), "70.00");
    // Grouping by the shown settings without the noise rate puts both ASM noise rates together.
    let mut q = query(&["method.name", "seed", "best_overall"]);
    q.grouping = Grouping::ShownSettings;
    let Rows::Groups(groups) = q.rows(&runs) else {
        panic!("grouped")
    };
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].members, [0, 2, 4]);
    // Without the method column, the label names what differs between the groups.
    let mut q = query(&["corruption.noise_rate", "best_overall"]);
    q.grouping = Grouping::AllButSeed;
    let Rows::Groups(groups) = q.rows(&runs) else {
        panic!("grouped")
    };
    let labels: Vec<&str> = groups.iter().map(|g| g.label.as_str()).collect();
    assert_eq!(
        labels,
        ["method.name=asm", "method.name=ce", "method.name=asm"]
    );
}

#[test]
fn sorts_by_a_column_either_way_with_missing_values_last() {
    let mut runs = runs();
    runs[1].metrics.clear();
    let mut q = query(&["best_overall"]);
    q.sort = Some((Column::Metric(Metric::BestOverall), true));
    assert_eq!(q.order(&runs), [4, 2, 0, 3, 1]);
    q.sort = Some((Column::Metric(Metric::BestOverall), false));
    assert_eq!(q.order(&runs), [3, 0, 2, 4, 1]);
    q.sort = Some((Column::parse("method.name"), false));
    assert_eq!(q.order(&runs), [0, 2, 4, 1, 3]);
}

#[test]
fn filters_by_text_and_per_column_conditions() {
    let runs = runs();
    let mut q = query(&["method.name", "corruption.noise_rate", "best_overall"]);
    q.text = "ASM".into();
    assert_eq!(q.order(&runs), [0, 2, 4]);
    q.text.clear();
    let best = Column::Metric(Metric::BestOverall);
    for (filter, kept) in [
        (">60", vec![2, 4]),
        (">=60", vec![0, 2, 4]),
        ("50..55", vec![1, 3]),
        ("=62", vec![2]),
        ("<=50", vec![1]),
    ] {
        q.column_filters.insert(best.clone(), filter.into());
        assert_eq!(q.order(&runs), kept, "{filter}");
    }
    q.column_filters.clear();
    q.column_filters
        .insert(Column::parse("method.name"), "!asm".into());
    q.column_filters
        .insert(Column::parse("corruption.noise_rate"), "0.3".into());
    assert_eq!(q.order(&runs), [1, 3]);
}

#[test]
fn diff_lists_only_the_settings_that_differ() {
    let runs = runs();
    let diff = config_diff(&[&runs[0], &runs[2], &runs[4]]);
    let keys: Vec<&str> = diff.iter().map(|(k, _)| k.as_str()).collect();
    // The name differs too, but names a run rather than setting it.
    assert_eq!(keys, ["corruption.noise_rate", "seed"]);
    assert_eq!(diff[1].1, ["1", "2", "1"]);
    let mut other = runs[1].clone();
    other.settings.insert(
        "method.asm.warmup".into(),
        SettingValue {
            text: "5".into(),
            number: Some(5.0),
        },
    );
    // A CE run's ASM section is not a setting it trains with: not a difference.
    let diff = config_diff(&[&runs[1], &other]);
    assert!(diff.is_empty(), "{diff:?}");
}

#[test]
fn choices_are_remembered_per_folder_and_a_bad_file_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(TablePrefs::load(tmp.path()).unwrap(), None);
    let mut q = query(&["method.name", "flip_mse", "train.epochs"]);
    q.sort = Some((Column::Metric(Metric::FlipMse), false));
    q.grouping = Grouping::AllButSeed;
    TablePrefs::of(&q).save(tmp.path()).unwrap();
    let back = TablePrefs::load(tmp.path()).unwrap().unwrap().query();
    assert_eq!(back.columns, q.columns);
    assert_eq!(back.sort, q.sort);
    assert_eq!(back.grouping, Grouping::AllButSeed);
    std::fs::write(
        TablePrefs::path(tmp.path()),
        "columns = [\"seed\"]\ngrouping = \"by_colour\"\n",
    )
    .unwrap();
    let e = TablePrefs::load(tmp.path()).unwrap_err().to_string();
    assert!(
        e.contains(prefs::FILE_NAME) && e.contains("grouping = \"by_colour\""),
        "{e}"
    );
    std::fs::write(TablePrefs::path(tmp.path()), "columns = 3\n").unwrap();
    let e = TablePrefs::load(tmp.path()).unwrap_err().to_string();
    assert!(e.contains(prefs::FILE_NAME) && e.contains("columns"), "{e}");
}

#[test]
fn a_folder_is_read_once_and_only_changed_runs_again() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = synthetic::plan(6, 3);
    let dirs = synthetic::write(tmp.path(), &plan).unwrap();
    let mut catalog = Catalog::default();
    let runs = catalog.scan(tmp.path());
    assert_eq!((runs.len(), catalog.last_read), (6, 6));
    let asm = runs.iter().find(|r| r.id.contains("-asm-noise00")).unwrap();
    assert_eq!(asm.setting("method.name").unwrap().text, "asm");
    assert_eq!(asm.setting("seed").unwrap().number, Some(1.0));
    assert!(asm.metrics.contains_key(&Metric::BestOverall));
    // Started, three epochs, Finished: 25 s apart.
    assert_eq!(asm.metrics[&Metric::WallTime], 100.0);
    let mined = runs.iter().find(|r| r.id.contains("-asm-noise10")).unwrap();
    assert!(mined.metrics.contains_key(&Metric::NoisyRecall));
    assert_eq!(catalog.scan(tmp.path()).len(), 6);
    assert_eq!(catalog.last_read, 0, "unchanged runs come from the cache");
    // One run gains an event; one is deleted.
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dirs[0].join("events.jsonl"))
        .unwrap();
    writeln!(
        f,
        "{{\"time\": 1.0, \"event\": {{\"type\": \"Log\", \"level\": \"Info\", \"text\": \"hi\"}}}}"
    )
    .unwrap();
    std::fs::remove_dir_all(&dirs[1]).unwrap();
    assert_eq!(catalog.scan(tmp.path()).len(), 5);
    assert_eq!(catalog.last_read, 1);
}

/// A run folder the table cannot read is named with why, not left out without a word.
#[test]
fn unreadable_run_folders_are_listed_with_their_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = synthetic::plan(2, 1);
    let dirs = synthetic::write(tmp.path(), &plan).unwrap();
    std::fs::remove_file(dirs[0].join("events.jsonl")).unwrap();
    std::fs::create_dir(dirs[0].join("events.jsonl")).unwrap();
    let lost = tmp.path().join("lost-log");
    std::fs::create_dir(&lost).unwrap();
    std::fs::write(lost.join("config.toml"), "name = \"lost\"\n").unwrap();
    let mut catalog = Catalog::default();
    let runs = catalog.scan(tmp.path());
    assert_eq!(runs.len(), 1);
    assert_eq!(catalog.unreadable.len(), 2, "{:?}", catalog.unreadable);
    let text = catalog.unreadable.join("\n");
    assert!(text.contains("lost-log: no events.jsonl"), "{text}");
    let first = dirs[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(text.contains(&format!("{first}: ")), "{text}");
}

/// The runs table leaves as CSV the way it is shown: its rows in order, its columns.
#[test]
fn the_table_as_shown_is_its_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let plan = synthetic::plan(4, 2);
    synthetic::write(tmp.path(), &plan).unwrap();
    let runs = Catalog::default().scan(tmp.path());
    let mut query = TableQuery {
        columns: default_columns(),
        ..TableQuery::default()
    };
    query.sort = Some((Column::Metric(Metric::BestOverall), true));
    let csv = query.csv(&runs);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + runs.len());
    assert!(lines[0].starts_with("run,"), "{}", lines[0]);
    let order = query.order(&runs);
    for (line, &i) in lines[1..].iter().zip(&order) {
        assert!(line.starts_with(&runs[i].id), "{line}");
    }
    query.grouping = Grouping::AllButSeed;
    let grouped = query.csv(&runs);
    assert!(grouped.lines().next().unwrap().starts_with("run,group,"));
    assert_eq!(grouped.lines().count(), 1 + runs.len());
}

/// A filter on a metric picks groups; it never drops seeds from a group's mean ± sd (n)
/// (37.11 ± 2.68 (3) became 38.66 ± 0.06 (2)); a group says its experiment and method.
#[test]
fn a_filter_picks_groups_without_changing_their_aggregates() {
    let runs = runs();
    let mut q = query(&["corruption.noise_rate", "best_overall"]);
    q.grouping = Grouping::AllButSeed;
    let best = Column::Metric(Metric::BestOverall);
    q.column_filters.insert(best.clone(), ">61".into());
    let Rows::Groups(groups) = q.rows(&runs) else {
        panic!("grouped")
    };
    // asm 0.3 (60, 62: one passes) and asm 0.1 (70) are shown; ce 0.3 (50, 54) is not.
    let members: Vec<&[usize]> = groups.iter().map(|g| g.members.as_slice()).collect();
    assert_eq!(members, [&[0, 2][..], &[4]]);
    assert_eq!(
        best.group_text(&runs, &groups[0].members),
        "61.00 ± 1.41 (2)"
    );
    assert_eq!(groups[0].title, "ASM · a +1");
}

/// The settings diff compares a method's own settings only among the runs that train it.
#[test]
fn the_settings_diff_leaves_out_settings_of_a_method_a_run_does_not_use() {
    let mut a = run("a", "asm", 0.3, 1, 60.0);
    let mut b = run("b", "ce", 0.3, 1, 50.0);
    let warm = |v: &str| SettingValue {
        text: v.into(),
        number: v.parse().ok(),
    };
    a.settings.insert("method.asm.warmup".into(), warm("5"));
    b.settings.insert("method.asm.warmup".into(), warm("1"));
    let diff = config_diff(&[&a, &b]);
    let keys: Vec<&str> = diff.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(keys, ["method.name"]);
    let mut c = run("c", "asm", 0.3, 2, 62.0);
    c.settings.insert("method.asm.warmup".into(), warm("1"));
    let diff = config_diff(&[&a, &b, &c]);
    let warmup = diff.iter().find(|(k, _)| k == "method.asm.warmup").unwrap();
    assert_eq!(warmup.1, ["5", "—", "1"]);
}
