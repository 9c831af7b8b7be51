//! A sweep's summary: one row per point (its settings, status and accuracies), and with two
//! swept keys besides the seed, a grid of best overall accuracy averaged over seeds.

use crate::compute::method::REGISTRY;
use crate::contract::run::atomic;
use crate::contract::run::results::{RunResult, read_run};
use crate::views::tables::{Table, TableFormat};

use super::folder::{Manifest, PointStatus, SweepFolder};
use super::spec::value_text;
use crate::views::Error;

/// A point with where it stands and, when it has a finished epoch, its results.
#[derive(Debug, Clone)]
pub struct PointResult {
    pub index: usize,
    pub status: PointStatus,
    pub result: Option<RunResult>,
}

pub fn collect(folder: &SweepFolder, manifest: &Manifest) -> Vec<PointResult> {
    manifest
        .points
        .iter()
        .enumerate()
        .map(|(index, p)| {
            let status = folder.status(p);
            let result = match status {
                PointStatus::Pending => None,
                _ => read_run(&folder.point_dir(p), &REGISTRY).ok(),
            };
            PointResult {
                index,
                status,
                result,
            }
        })
        .collect()
}

/// One row per point.
pub fn points_table(manifest: &Manifest, results: &[PointResult]) -> Table {
    let mut header: Vec<String> = manifest.keys.clone();
    header.extend(
        [
            "status",
            "epochs",
            "best overall %",
            "best mean %",
            "last overall %",
            "run",
        ]
        .map(String::from),
    );
    let k = manifest.keys.len();
    let mut rows = Vec::new();
    let mut values = Vec::new();
    for pr in results {
        let point = &manifest.points[pr.index];
        let mut row: Vec<String> = manifest
            .keys
            .iter()
            .map(|key| point.setting(key).map(value_text).unwrap_or_default())
            .collect();
        let mut vals = vec![None; k + 2];
        row.push(pr.status.label().into());
        match &pr.result {
            Some(r) => {
                row.push(format!("{} (best {})", r.epochs, r.best_epoch));
                row.push(format!("{:.2}", 100.0 * r.best_overall));
                row.push(format!("{:.2}", 100.0 * r.best_mean));
                row.push(format!("{:.2}", 100.0 * r.last_overall));
                vals.extend([
                    Some(r.best_overall),
                    Some(r.best_mean),
                    Some(r.last_overall),
                ]);
            }
            None => {
                row.extend(["–", "–", "–", "–"].map(String::from));
                vals.extend([None, None, None]);
            }
        }
        row.push(point.name.clone());
        vals.push(None);
        rows.push(row);
        values.push(vals);
    }
    Table {
        header,
        rows,
        values,
    }
}

/// The swept keys a grid is drawn over: the two that are not the seed, if there are two.
pub fn grid_keys(manifest: &Manifest) -> Option<(String, String)> {
    let keys: Vec<&String> = manifest.keys.iter().filter(|k| *k != "seed").collect();
    match keys.as_slice() {
        [a, b] => Some(((*a).clone(), (*b).clone())),
        _ => None,
    }
}

/// Best overall accuracy over (first key × second key), mean ± sd over seeds.
pub fn grid_table(manifest: &Manifest, results: &[PointResult]) -> Option<Table> {
    let (row_key, col_key) = grid_keys(manifest)?;
    let cells = grid_cells(manifest, results, &row_key, &col_key);
    Some(Table::grid(&row_key, &col_key, &cells))
}

/// (row value, column value, best overall) of every point with a result.
pub fn grid_cells(
    manifest: &Manifest,
    results: &[PointResult],
    row_key: &str,
    col_key: &str,
) -> Vec<(String, String, f32)> {
    results
        .iter()
        .filter_map(|pr| {
            let p = &manifest.points[pr.index];
            let r = pr.result.as_ref()?;
            Some((
                value_text(p.setting(row_key)?),
                value_text(p.setting(col_key)?),
                r.best_overall,
            ))
        })
        .collect()
}

/// `summary.{md,csv,tex}` and, with a grid, `grid.{md,csv,tex}`; returns the Markdown.
pub fn write(
    folder: &SweepFolder,
    manifest: &Manifest,
    results: &[PointResult],
) -> Result<String, Error> {
    let mut text = String::new();
    let tables = [
        Some(("summary", points_table(manifest, results))),
        grid_table(manifest, results).map(|t| ("grid", t)),
    ];
    for (stem, table) in tables.into_iter().flatten() {
        for (ext, format) in [
            ("md", TableFormat::Markdown),
            ("csv", TableFormat::Csv),
            ("tex", TableFormat::Latex),
        ] {
            let path = folder.root.join(format!("{stem}.{ext}"));
            atomic::write(&path, table.render(format).as_bytes())
                .map_err(|e| Error::file(path, e))?;
        }
        if stem == "grid" {
            text += "\nBest overall accuracy (%), mean ± sd over seeds:\n\n";
        }
        text += &table.render(TableFormat::Markdown);
    }
    Ok(text)
}

/// Re-reads a sweep folder's points, for `ferlab sweep collect` and the runs browser.
pub fn read_sweep(folder: &SweepFolder) -> Result<(Manifest, Vec<PointResult>), Error> {
    let manifest = folder.read_manifest()?;
    let results = collect(folder, &manifest);
    Ok((manifest, results))
}
