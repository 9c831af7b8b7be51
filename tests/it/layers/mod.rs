//! The layer rule, checked on the source: `contract` imports nothing of the crate outside
//! itself, `compute` imports the contract, `views` import both; no module circles back;
//! the contract holds no tensor, window or plot, and the views hold no tensor.
//!
//! Each way the rule could be dodged gets a test that plants the dodge in a scratch copy of
//! the real sources and expects the guard to name it.

mod guard;

use std::path::{Path, PathBuf};

use guard::{CRATES, sources, violations};

fn real_sources() -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    sources(&root)
}

/// The real sources with `text` appended to the file at `rel` (created if absent), read back
/// from a scratch copy on disk as the guard reads the real tree.
fn planted(plants: &[(&str, &str)]) -> Vec<String> {
    let scratch = tempfile::tempdir().unwrap();
    for (rel, source) in real_sources() {
        let path = scratch.path().join(&rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, source).unwrap();
    }
    for (rel, text) in plants {
        let path = scratch.path().join(rel);
        let mut source = std::fs::read_to_string(&path).unwrap_or_default();
        source.push('\n');
        source.push_str(text);
        std::fs::write(path, source).unwrap();
    }
    violations(&sources(scratch.path()))
}

fn assert_caught(plants: &[(&str, &str)], expected: &str) {
    let found = planted(plants);
    assert!(
        found.iter().any(|p| p.contains(expected)),
        "expected a problem containing {expected:?}, the guard found {found:#?}"
    );
}

#[test]
fn every_import_points_down_a_layer_and_no_module_circles_back() {
    let files = real_sources();
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
    // Comments, doc comments and strings may name anything.
    let words = [file(
        "contract/event/mod.rs",
        "// see crate::compute::train\n/// or crate::views::ui\nconst S: &str = \"crate::views::ui\";\n",
    )];
    assert!(violations(&words).is_empty(), "{:?}", violations(&words));
}

#[test]
fn a_macro_exported_from_a_higher_layer_is_an_edge() {
    assert_caught(
        &[
            (
                "views/mod.rs",
                "#[macro_export]\nmacro_rules! window_title { () => { \"ferlab\" } }\n",
            ),
            (
                "compute/mod.rs",
                "pub fn title() -> &'static str { window_title!() }\n",
            ),
        ],
        "compute layer calls `window_title!`, defined in views",
    );
    // The same macro reached through its crate-root path.
    assert_caught(
        &[
            (
                "views/mod.rs",
                "#[macro_export]\nmacro_rules! window_title { () => { \"ferlab\" } }\n",
            ),
            (
                "contract/mod.rs",
                "pub fn title() -> &'static str { crate::window_title!() }\n",
            ),
        ],
        "contract layer calls `window_title!`",
    );
}

#[test]
fn lib_rs_holds_nothing_but_the_three_layers() {
    // A macro at the crate root expanding into the views, called from compute.
    let plants = [
        (
            "lib.rs",
            "#[macro_export]\nmacro_rules! open { () => { $crate::views::ui::open() } }\n",
        ),
        ("compute/mod.rs", "pub fn open_it() { open!() }\n"),
    ];
    assert_caught(&plants, "lib.rs: `# [macro_export]");
    assert_caught(&plants, "compute layer calls `open!`, defined in lib");
    assert_caught(
        &[("lib.rs", "pub use views::ui as bridge;\n")],
        "lib.rs: `pub use views",
    );
}

#[test]
fn aliases_do_not_hide_a_crate_or_a_layer() {
    assert_caught(
        &[("contract/mod.rs", "use candle_core as tensors;\n")],
        "contract layer names `candle_core`",
    );
    assert_caught(
        &[(
            "contract/mod.rs",
            "use crate as root;\npub fn f() { root::views::ui::open() }\n",
        )],
        "contract layer imports the views layer (`views::ui`)",
    );
    // An alias of an alias, used inside a macro call.
    assert_caught(
        &[(
            "compute/data/mod.rs",
            "use super::super as up;\nuse up::views as v;\npub fn f() { println!(\"{:?}\", v::ui::X) }\n",
        )],
        "compute layer imports the views layer (`views::ui`)",
    );
    assert_caught(
        &[("views/mod.rs", "extern crate gemm as matmul;\n")],
        "views layer names `gemm`",
    );
}

#[test]
fn every_dependency_has_a_place() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let table: toml::Table = manifest.parse().unwrap();
    let dependencies = table["dependencies"].as_table().unwrap();
    let missing: Vec<String> = dependencies
        .keys()
        .map(|k| k.replace('-', "_"))
        .filter(|k| !CRATES.iter().any(|(c, _)| c == k))
        .collect();
    assert!(
        missing.is_empty(),
        "give these dependencies a place in tests/it/layers/guard.rs: {missing:?}"
    );
    // The crates the old hand lists missed.
    for (rel, krate) in [
        ("contract/mod.rs", "egui_plot::Line"),
        ("compute/mod.rs", "egui_tiles::Tree"),
        ("compute/mod.rs", "rfd::FileDialog"),
        ("views/mod.rs", "gemm::gemm"),
        ("views/mod.rs", "safetensors::SafeTensors"),
        ("contract/mod.rs", "clap::Parser"),
        ("compute/mod.rs", "indicatif::ProgressBar"),
    ] {
        let name = krate.split("::").next().unwrap();
        assert_caught(
            &[(rel, &format!("use {krate};\n"))],
            &format!("names `{name}`"),
        );
    }
}

#[test]
fn an_inline_module_resolves_super_from_where_it_stands() {
    // compute::train reads compute::data; an inline module in compute::data reaching back to
    // compute::train closes a circle the file-level reading saw as `crate::train`.
    assert_caught(
        &[(
            "compute/data/mod.rs",
            "mod planted { pub use super::super::train::Engine; }\n",
        )],
        "modules import each other",
    );
}

#[test]
fn attributes_and_included_code_are_read_too() {
    assert_caught(
        &[(
            "contract/mod.rs",
            "#[derive(serde::Deserialize)]\npub struct Planted { #[serde(default = \"crate::views::ui::default_title\")] pub t: String }\n",
        )],
        "contract layer imports the views layer (`views::ui`)",
    );
    assert_caught(
        &[(
            "compute/mod.rs",
            "#[path = \"../views/palette.rs\"]\nmod palette_copy;\n",
        )],
        "`#[path]` moves a file",
    );
    assert_caught(
        &[("compute/mod.rs", "include!(\"../views/palette.rs\");\n")],
        "`include!` pastes code",
    );
    // A `//` inside a string no longer ends the line for the guard.
    assert_caught(
        &[(
            "contract/mod.rs",
            "pub const URL: &str = \"http://x\"; pub use crate::views::ui as planted_ui;\n",
        )],
        "contract layer imports the views layer",
    );
}
