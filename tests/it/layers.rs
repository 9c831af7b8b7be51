//! The layer rule, checked on the source: `contract` imports nothing of the crate outside
//! itself, `compute` imports the contract, `views` import both; no module circles back;
//! the contract holds no tensor, window or plot, and the views hold no tensor.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const LAYERS: [&str; 3] = ["contract", "compute", "views"];

/// External crates each layer must not name.
fn forbidden_crates(layer: &str) -> &'static [&'static str] {
    match layer {
        "contract" => &[
            "candle_core",
            "candle_nn",
            "egui",
            "eframe",
            "plotters",
            "wgpu",
        ],
        "compute" => &["egui", "eframe", "plotters", "wgpu"],
        _ => &["candle_core", "candle_nn"],
    }
}

/// A file's module path inside the crate (`["compute", "data", "rafdb"]`).
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn without_comments(source: &str) -> String {
    source
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_at(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The crate-level modules (layer, module) one file refers to, through `crate::` paths and
/// `super::` chains that leave its own module.
fn references(module: &[String], source: &str) -> BTreeSet<Vec<String>> {
    let text = without_comments(source);
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("crate::") {
        if i > 0 && text[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &text[i + "crate::".len()..];
        let first = ident_at(rest).to_string();
        let second = rest[first.len()..]
            .strip_prefix("::")
            .map(|r| ident_at(r).to_string())
            .unwrap_or_default();
        out.insert(vec![first, second]);
    }
    for (i, _) in text.match_indices("super::") {
        if i > 0 && text[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut rest = &text[i..];
        // `super` in a file's own module: a `mod.rs` file is the module, others are in it.
        let mut base = module.to_vec();
        while let Some(r) = rest.strip_prefix("super::") {
            base.pop();
            rest = r;
        }
        let mut path = base;
        let mut r = rest;
        while path.len() < 2 {
            let id = ident_at(r);
            if id.is_empty() {
                break;
            }
            path.push(id.to_string());
            match r[id.len()..].strip_prefix("::") {
                Some(next) => r = next,
                None => break,
            }
        }
        out.insert(path);
    }
    out
}

/// Every broken rule in the sources under `src` (paths relative to it), one line each.
fn violations(files: &[(PathBuf, String)]) -> Vec<String> {
    let rank = |layer: &str| LAYERS.iter().position(|l| *l == layer);
    let mut problems = Vec::new();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, source) in files {
        let module = module_path(rel);
        let Some(own) = module.first().and_then(|l| rank(l)) else {
            continue;
        };
        let layer = LAYERS[own];
        let code = without_comments(source);
        for krate in forbidden_crates(layer) {
            let named = code.match_indices(krate).any(|(i, _)| {
                let before = code[..i].chars().last();
                let after = code[i + krate.len()..].chars().next();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    && matches!(after, Some(':') | Some(';'))
            });
            if named {
                problems.push(format!(
                    "{}: the {layer} layer names `{krate}`",
                    rel.display()
                ));
            }
        }
        let me = module
            .iter()
            .take(2)
            .cloned()
            .collect::<Vec<_>>()
            .join("::");
        for target in references(&module, source) {
            let Some(other) = target.first().and_then(|l| rank(l)) else {
                if target.first().is_some_and(|t| !t.is_empty()) && module.len() <= 2 {
                    // `super::x` from a layer's own files stays inside it; anything else
                    // at the crate root is not a layer.
                    continue;
                }
                problems.push(format!(
                    "{}: refers to `crate::{}` outside the three layers",
                    rel.display(),
                    target.join("::")
                ));
                continue;
            };
            if other > own {
                problems.push(format!(
                    "{}: the {layer} layer imports the {} layer (`{}`)",
                    rel.display(),
                    LAYERS[other],
                    target.join("::")
                ));
            }
            let them = target.join("::");
            if target.len() == 2 && !target[1].is_empty() && them != me && module.len() >= 2 {
                graph.entry(me.clone()).or_default().insert(them);
            }
        }
    }
    if let Some(cycle) = find_cycle(&graph) {
        problems.push(format!("modules import each other: {}", cycle.join(" → ")));
    }
    problems
}

fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

fn sources(root: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                out.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn every_import_points_down_a_layer_and_no_module_circles_back() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = sources(&root);
    assert!(files.len() > 100, "found only {} sources", files.len());
    let problems = violations(&files);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checker_sees_upward_imports_circles_and_forbidden_crates() {
    let file = |path: &str, text: &str| (PathBuf::from(path), text.to_string());
    let upward = [file(
        "contract/run/view.rs",
        "use crate::compute::train::Engine;\n",
    )];
    assert_eq!(violations(&upward).len(), 1, "{:?}", violations(&upward));
    // `super::super::compute` from a contract file leaves the layer just the same.
    let relative = [file(
        "contract/run/view.rs",
        "use super::super::super::compute::data;\n",
    )];
    assert_eq!(
        violations(&relative).len(),
        1,
        "{:?}",
        violations(&relative)
    );
    let circle = [
        file("compute/data/mod.rs", "use crate::compute::train::x;\n"),
        file("compute/train/mod.rs", "use super::data::Split;\n"),
    ];
    let found = violations(&circle);
    assert!(
        found.iter().any(|p| p.contains("import each other")),
        "{found:?}"
    );
    let tensor_view = [file("views/ui/app.rs", "use candle_core::Tensor;\n")];
    assert_eq!(violations(&tensor_view).len(), 1);
    // Comments may name anything.
    let comment = [file(
        "contract/event/mod.rs",
        "// see crate::compute::train\n",
    )];
    assert!(violations(&comment).is_empty());
}
