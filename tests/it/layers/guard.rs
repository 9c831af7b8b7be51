//! The layer rule read from the parsed source (syn), not from its text: `use … as` aliases,
//! grouped and glob imports, paths inside macro calls and attribute strings, inline modules,
//! `#[macro_export]` macros, `#[path]` and `include!`, and `lib.rs` itself are all followed,
//! so none of them can carry an edge past the guard.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use proc_macro2::{Spacing, TokenStream, TokenTree};
use syn::visit::{self, Visit};

pub const LAYERS: [&str; 3] = ["contract", "compute", "views"];

/// Where a direct dependency may be named.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Reach {
    /// Data formats, parsing, threads, randomness: any layer.
    Anywhere,
    /// Tensors, kernels and their files: the compute layer only.
    Compute,
    /// Windows, widgets and plots: the views only.
    Views,
    /// Progress bars and the allocator: the binary (`main.rs`, `cli/`), no layer.
    Binary,
}

/// Every crate of Cargo.toml's `[dependencies]`, spelled as Rust names it, and where it may
/// be named. A dependency missing here fails `every_dependency_has_a_place`, so a new crate
/// cannot slip past the rule unclassified.
pub const CRATES: &[(&str, Reach)] = &[
    ("candle_core", Reach::Compute),
    ("candle_nn", Reach::Compute),
    ("safetensors", Reach::Compute),
    ("gemm", Reach::Compute),
    ("pulp", Reach::Compute),
    ("bhtsne", Reach::Compute),
    ("tiny_skia", Reach::Compute),
    ("rayon", Reach::Anywhere),
    ("half", Reach::Anywhere),
    ("serde", Reach::Anywhere),
    ("serde_json", Reach::Anywhere),
    ("serde_ignored", Reach::Anywhere),
    ("serde_path_to_error", Reach::Anywhere),
    ("toml", Reach::Anywhere),
    ("toml_edit", Reach::Anywhere),
    ("thiserror", Reach::Anywhere),
    ("anyhow", Reach::Anywhere),
    ("rand", Reach::Anywhere),
    ("rand_chacha", Reach::Anywhere),
    ("rand_distr", Reach::Anywhere),
    ("image", Reach::Anywhere),
    ("png", Reach::Anywhere),
    ("crossbeam_channel", Reach::Anywhere),
    ("eframe", Reach::Views),
    ("egui", Reach::Views),
    ("egui_plot", Reach::Views),
    ("egui_tiles", Reach::Views),
    ("epaint_default_fonts", Reach::Views),
    ("rfd", Reach::Views),
    ("plotters", Reach::Views),
    // The figure and table formats derive `clap::ValueEnum`, so the commands take them as
    // they are; the views are the only layer that chooses how results are shown.
    ("clap", Reach::Views),
    ("indicatif", Reach::Binary),
    ("mimalloc", Reach::Binary),
    ("libmimalloc_sys", Reach::Binary),
];

fn reach(krate: &str) -> Option<Reach> {
    CRATES.iter().find(|(c, _)| *c == krate).map(|(_, r)| *r)
}

fn may_name(layer: &str, reach: Reach) -> bool {
    match reach {
        Reach::Anywhere => true,
        Reach::Compute => layer == "compute",
        Reach::Views => layer == "views",
        Reach::Binary => false,
    }
}

/// A file's module path inside the crate (`["compute", "data", "rafdb"]`).
pub fn module_path(rel: &Path) -> Vec<String> {
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

/// What a name stands for after following `crate`, `super`, `self` and aliases.
#[derive(Clone, Debug, PartialEq)]
enum Target {
    /// A path inside this crate, from its root.
    Internal(Vec<String>),
    /// A dependency.
    External(String),
}

/// Everything one file refers to.
#[derive(Default)]
struct Found {
    internal: BTreeSet<Vec<String>>,
    external: BTreeSet<String>,
    macros_called: BTreeSet<String>,
    macros_defined: BTreeSet<String>,
    /// Code the guard cannot follow (`#[path]`, `include!`), one line each.
    opaque: Vec<String>,
}

/// Walks one file. Aliases are collected over the whole file (any module, any block) and
/// applied everywhere in it: a guard may over-resolve a name, never miss one.
struct Reader<'a> {
    module: Vec<String>,
    aliases: &'a BTreeMap<String, Target>,
    new_aliases: BTreeMap<String, Target>,
    found: Found,
}

impl Reader<'_> {
    /// `in_use`: the path is a `use` declaration's, whose first name is a crate or module
    /// even when it stands alone (`use egui as ui;`).
    fn resolve(&self, segments: &[String], leading_colon: bool, in_use: bool) -> Option<Target> {
        let (first, rest) = segments.split_first()?;
        if leading_colon {
            return reach(first).map(|_| Target::External(first.clone()));
        }
        let mut base = match first.as_str() {
            "crate" | "$crate" => Vec::new(),
            "self" => self.module.clone(),
            "super" => {
                let mut base = self.module.clone();
                base.pop();
                let mut rest = rest;
                while rest.first().is_some_and(|s| s == "super") {
                    base.pop();
                    rest = &rest[1..];
                }
                base.extend(rest.iter().cloned());
                return Some(Target::Internal(base));
            }
            name => match self.aliases.get(name) {
                Some(Target::Internal(path)) => path.clone(),
                Some(Target::External(c)) => return Some(Target::External(c.clone())),
                // A bare single name is a local variable or item, not a crate.
                None if rest.is_empty() && !in_use => return None,
                None => return reach(name).map(|_| Target::External(name.to_string())),
            },
        };
        base.extend(rest.iter().cloned());
        Some(Target::Internal(base))
    }

    fn record(&mut self, segments: &[String], leading_colon: bool) -> Option<Target> {
        self.record_as(segments, leading_colon, false)
    }

    fn record_as(
        &mut self,
        segments: &[String],
        leading_colon: bool,
        in_use: bool,
    ) -> Option<Target> {
        let target = self.resolve(segments, leading_colon, in_use)?;
        match &target {
            Target::Internal(path) if !path.is_empty() => {
                self.found
                    .internal
                    .insert(path.iter().take(2).cloned().collect());
            }
            Target::Internal(_) => {}
            Target::External(c) => {
                self.found.external.insert(c.clone());
            }
        }
        Some(target)
    }

    fn use_tree(&mut self, prefix: &[String], leading_colon: bool, tree: &syn::UseTree) {
        let joined = |name: &syn::Ident| {
            let mut path = prefix.to_vec();
            if name != "self" {
                path.push(name.to_string());
            }
            path
        };
        match tree {
            syn::UseTree::Path(p) => {
                let mut path = prefix.to_vec();
                path.push(p.ident.to_string());
                self.use_tree(&path, leading_colon, &p.tree);
            }
            syn::UseTree::Name(n) => {
                let path = joined(&n.ident);
                let alias = path.last().cloned();
                if let (Some(target), Some(alias)) =
                    (self.record_as(&path, leading_colon, true), alias)
                {
                    self.new_aliases.insert(alias, target);
                }
            }
            syn::UseTree::Rename(r) => {
                let path = joined(&r.ident);
                let target = match path.as_slice() {
                    [only] if only == "crate" => Some(Target::Internal(Vec::new())),
                    _ => self.record_as(&path, leading_colon, true),
                };
                if let Some(target) = target {
                    self.new_aliases.insert(r.rename.to_string(), target);
                }
            }
            syn::UseTree::Glob(_) => {
                self.record_as(prefix, leading_colon, true);
            }
            syn::UseTree::Group(g) => {
                for item in &g.items {
                    self.use_tree(prefix, leading_colon, item);
                }
            }
        }
    }

    /// Paths and macro calls inside tokens syn leaves unparsed (macro bodies, attributes).
    fn tokens(&mut self, tokens: TokenStream, strings_are_paths: bool) {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut i = 0;
        while i < trees.len() {
            match &trees[i] {
                TokenTree::Group(g) => {
                    self.tokens(g.stream(), strings_are_paths);
                    i += 1;
                }
                TokenTree::Literal(lit) if strings_are_paths => {
                    // `#[serde(with = "crate::x")]` names a path inside a string.
                    if let Ok(syn::Lit::Str(s)) = syn::parse_str::<syn::Lit>(&lit.to_string())
                        && let Ok(path) = syn::parse_str::<syn::Path>(&s.value())
                    {
                        self.path(&path);
                    }
                    i += 1;
                }
                _ => {
                    let (segments, leading_colon, next) = path_at(&trees, i);
                    if segments.is_empty() {
                        i += 1;
                        continue;
                    }
                    if matches!(trees.get(next), Some(TokenTree::Punct(p)) if p.as_char() == '!')
                        && let Some(name) = segments.last()
                    {
                        self.called(name);
                    }
                    self.record(&segments, leading_colon);
                    i = next;
                }
            }
        }
    }

    fn path(&mut self, path: &syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        self.record(&segments, path.leading_colon.is_some());
    }

    fn called(&mut self, name: &str) {
        if name == "include" {
            self.found
                .opaque
                .push("`include!` pastes code the guard cannot follow".into());
        }
        self.found.macros_called.insert(name.to_string());
    }
}

/// The path starting at token `i` (`$crate::a::b`, `::egui::X`, `super::x`): its segments,
/// whether it starts with `::`, and the index after it.
fn path_at(trees: &[TokenTree], start: usize) -> (Vec<String>, bool, usize) {
    let mut i = start;
    let is_colons = |i: usize| {
        matches!((trees.get(i), trees.get(i + 1)),
            (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
                if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':')
    };
    let mut dollar = false;
    if matches!(&trees[i], TokenTree::Punct(p) if p.as_char() == '$') {
        dollar = true;
        i += 1;
    }
    let leading_colon = !dollar && is_colons(i);
    if leading_colon {
        i += 2;
    }
    let mut segments = Vec::new();
    while let Some(TokenTree::Ident(id)) = trees.get(i) {
        let name = id.to_string();
        segments.push(if dollar && segments.is_empty() {
            format!("${name}")
        } else {
            name
        });
        i += 1;
        if is_colons(i) {
            i += 2;
        } else {
            break;
        }
    }
    if segments.is_empty() {
        return (Vec::new(), false, start + 1);
    }
    (segments, leading_colon, i)
}

impl<'ast> Visit<'ast> for Reader<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        for attr in &m.attrs {
            self.visit_attribute(attr);
        }
        self.module.push(m.ident.to_string());
        for item in m.content.iter().flat_map(|(_, items)| items) {
            self.visit_item(item);
        }
        self.module.pop();
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.use_tree(&[], u.leading_colon.is_some(), &u.tree);
    }

    fn visit_item_extern_crate(&mut self, e: &'ast syn::ItemExternCrate) {
        let name = e.ident.to_string();
        if name != "self" {
            self.found.external.insert(name.clone());
            if let Some((_, rename)) = &e.rename {
                self.new_aliases
                    .insert(rename.to_string(), Target::External(name));
            }
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.path(path);
        visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        if let Some(last) = mac.path.segments.last() {
            self.called(&last.ident.to_string());
        }
        self.path(&mac.path);
        self.tokens(mac.tokens.clone(), false);
    }

    fn visit_item_macro(&mut self, m: &'ast syn::ItemMacro) {
        if let Some(name) = &m.ident {
            self.found.macros_defined.insert(name.to_string());
        }
        visit::visit_item_macro(self, m);
    }

    fn visit_attribute(&mut self, attr: &'ast syn::Attribute) {
        if attr.path().is_ident("path") {
            self.found
                .opaque
                .push("`#[path]` moves a file into another module".into());
        }
        if attr.path().is_ident("doc") {
            return;
        }
        self.path(attr.path());
        if let syn::Meta::List(list) = &attr.meta {
            self.tokens(list.tokens.clone(), true);
        }
        visit::visit_attribute(self, attr);
    }
}

fn read(
    module: &[String],
    file: &syn::File,
    aliases: &BTreeMap<String, Target>,
) -> (Found, BTreeMap<String, Target>) {
    let mut reader = Reader {
        module: module.to_vec(),
        aliases,
        new_aliases: BTreeMap::new(),
        found: Found::default(),
    };
    reader.visit_file(file);
    (reader.found, reader.new_aliases)
}

/// Everything a file names, with aliases followed to a fixed point (an alias of an alias).
fn findings(module: &[String], file: &syn::File) -> Found {
    let mut aliases = BTreeMap::new();
    // Each pass resolves one more link of a chain; Rust allows no alias cycles, so a file
    // needs at most as many passes as it has `use` items — the cap only guards the guard.
    for _ in 0..64 {
        let (found, seen) = read(module, file, &aliases);
        if seen == aliases {
            return found;
        }
        aliases = seen;
    }
    let mut found = read(module, file, &aliases).0;
    found
        .opaque
        .push("aliases that never settle (a `use` cycle)".into());
    found
}

/// `lib.rs` declares the three layers and holds nothing else, so no code sits outside them.
fn lib_problems(file: &syn::File) -> Vec<String> {
    file.items
        .iter()
        .filter(|item| {
            !matches!(item, syn::Item::Mod(m)
                if m.content.is_none()
                    && m.attrs.iter().all(|a| a.path().is_ident("doc"))
                    && LAYERS.contains(&m.ident.to_string().as_str()))
        })
        .map(|item| {
            let what = quote_head(item);
            format!("lib.rs: `{what}` is code outside the three layers (lib.rs only declares them)")
        })
        .collect()
}

fn quote_head(item: &syn::Item) -> String {
    let text = quote::ToTokens::to_token_stream(item).to_string();
    text.chars().take(60).collect()
}

/// Every broken rule in the sources under `src` (paths relative to it), one line each.
pub fn violations(files: &[(PathBuf, String)]) -> Vec<String> {
    let rank = |layer: &str| LAYERS.iter().position(|l| *l == layer);
    let mut problems = Vec::new();
    let mut parsed = Vec::new();
    for (rel, source) in files {
        let file = match syn::parse_file(source) {
            Ok(file) => file,
            Err(e) => {
                problems.push(format!("{}: cannot be parsed: {e}", rel.display()));
                continue;
            }
        };
        let module = module_path(rel);
        if module == ["lib"] {
            // Read too: macros defined there are outside every layer.
            problems.extend(lib_problems(&file));
        }
        let found = findings(&module, &file);
        parsed.push((rel, module, found));
    }
    // Which layer defines each macro (`lib` for the crate root); `macro_rules!` names are
    // crate-wide once exported, so a name defined above a layer and not in it is an edge.
    let mut definers: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (_, module, found) in &parsed {
        let owner = module.first().map(String::as_str).unwrap_or("lib");
        for m in &found.macros_defined {
            definers.entry(m.as_str()).or_default().insert(owner);
        }
    }
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, module, found) in &parsed {
        let Some(own) = module.first().and_then(|l| rank(l)) else {
            continue;
        };
        let layer = LAYERS[own];
        let rel = rel.display();
        for line in &found.opaque {
            problems.push(format!("{rel}: {line}"));
        }
        for krate in &found.external {
            if let Some(r) = reach(krate)
                && !may_name(layer, r)
            {
                problems.push(format!("{rel}: the {layer} layer names `{krate}`"));
            }
        }
        // A `#[macro_export]` macro lives at the crate root: `crate::name` is the macro.
        let exported = found
            .internal
            .iter()
            .filter(|t| t.len() == 1 && definers.contains_key(t[0].as_str()))
            .map(|t| &t[0]);
        for name in found.macros_called.iter().chain(exported) {
            let Some(owners) = definers.get(name.as_str()) else {
                continue;
            };
            if owners.contains(layer) {
                continue;
            }
            for owner in owners {
                if rank(owner).is_none_or(|o| o > own) {
                    problems.push(format!(
                        "{rel}: the {layer} layer calls `{name}!`, defined in {owner}"
                    ));
                }
            }
        }
        let me = module
            .iter()
            .take(2)
            .cloned()
            .collect::<Vec<_>>()
            .join("::");
        for target in &found.internal {
            if target.len() == 1 && definers.contains_key(target[0].as_str()) {
                continue;
            }
            let Some(other) = rank(&target[0]) else {
                problems.push(format!(
                    "{rel}: refers to `crate::{}` outside the three layers",
                    target.join("::")
                ));
                continue;
            };
            if other > own {
                problems.push(format!(
                    "{rel}: the {layer} layer imports the {} layer (`{}`)",
                    LAYERS[other],
                    target.join("::")
                ));
            }
            let them = target.join("::");
            if target.len() == 2 && them != me && module.len() >= 2 {
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

/// The library's sources under `root` (`src`), relative to it; the binary's (`main.rs`,
/// `cli/`) stand above every layer and are left out.
pub fn sources(root: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if rel == Path::new("cli") || rel == Path::new("main.rs") {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out.sort();
    out
}
