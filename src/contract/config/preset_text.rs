//! A preset as the user wrote it, updated with what changed: the editor's Save keeps the
//! file's comments, order and the keys it set, writes the settings the user changed, and
//! leaves every other default out (it used to write all 163 lines of every method's
//! section over a commented 35-line preset).

use toml_edit::{DocumentMut, Item, Table};

use super::Experiment;
use super::schema::leaves;

/// `base` (a preset's text, or None for a new one) with each setting in which `now`
/// differs from `before` (the experiment `base` was loaded as, or the defaults) written in
/// at its dotted key, and each setting `now` no longer has (an emptied optional path)
/// removed. Keys `base` sets and nobody changed stay as written, comments included.
pub fn updated_text(
    base: Option<&str>,
    before: &Experiment,
    now: &Experiment,
) -> Result<String, String> {
    let mut doc: DocumentMut = match base {
        Some(text) => text
            .parse()
            .map_err(|e| format!("the preset's text does not parse: {e}"))?,
        None => DocumentMut::new(),
    };
    let (old, new) = (leaves(&before.to_table()), leaves(&now.to_table()));
    for (key, value) in &new {
        if old.get(key) == Some(value) {
            continue;
        }
        let parsed: toml_edit::Value = value
            .to_string()
            .parse()
            .map_err(|e| format!("{key}: {e}"))?;
        set(doc.as_table_mut(), key, parsed)?;
    }
    for key in old.keys().filter(|k| !new.contains_key(*k)) {
        remove(doc.as_table_mut(), key);
    }
    Ok(doc.to_string())
}

/// Sets the dotted `key` in `table`, making the tables on the way (as `[section]`s).
fn set(table: &mut Table, key: &str, value: toml_edit::Value) -> Result<(), String> {
    let (path, leaf) = key
        .rsplit_once('.')
        .map_or((None, key), |(p, l)| (Some(p), l));
    let mut current = table;
    if let Some(path) = path {
        for part in path.split('.') {
            let item = current
                .entry(part)
                .or_insert_with(|| Item::Table(Table::new()));
            // An inline table (`data = { … }`) becomes a section so it can take keys.
            if let Some(inline) = item.as_inline_table().cloned() {
                *item = Item::Table(inline.into_table());
            }
            current = item
                .as_table_mut()
                .ok_or_else(|| format!("{key}: `{part}` holds a value, not a section"))?;
        }
    }
    match current.get_mut(leaf).and_then(Item::as_value_mut) {
        // Keep the comment and spacing around the old value.
        Some(old) => {
            let decor = old.decor().clone();
            *old = value;
            *old.decor_mut() = decor;
        }
        None => {
            current.insert(leaf, Item::Value(value));
        }
    }
    Ok(())
}

fn remove(table: &mut Table, key: &str) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let leaf = parts.pop().unwrap_or(key);
    let parent = parts
        .iter()
        .try_fold(table, |t, part| t.get_mut(part)?.as_table_mut());
    if let Some(parent) = parent {
        parent.remove(leaf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Experiment {
        Experiment::from_form(text.parse().unwrap()).unwrap()
    }

    const PRESET: &str = "# A commented preset.\nname = \"mine\"\n\n[optimizer]\n# the paper's rate\nlr = 0.01 # per batch of 64\n\n[train]\nepochs = 3\n";

    #[test]
    fn a_saved_preset_keeps_its_comments_and_writes_only_what_changed() {
        let before = read(PRESET);
        let mut now = before.clone();
        now.optimizer.lr = 0.0025;
        now.train.batch_size = 32;
        now.model.pretrained = Some("w.safetensors".into());
        let text = updated_text(Some(PRESET), &before, &now).unwrap();
        assert_eq!(
            text,
            "# A commented preset.\nname = \"mine\"\n\n[optimizer]\n# the paper's rate\nlr = 0.0025 # per batch of 64\n\n[train]\nepochs = 3\nbatch_size = 32\n\n[model]\npretrained = \"w.safetensors\"\n"
        );
        // What it says is what the editor had.
        let back = read(&text);
        assert_eq!(back, now);
        // An emptied optional path is removed again.
        let text = updated_text(Some(&text), &now, &before).unwrap();
        assert!(!text.contains("pretrained"), "{text}");
    }

    #[test]
    fn a_new_preset_holds_only_what_differs_from_the_defaults() {
        let now = Experiment {
            name: "fresh".into(),
            seed: 9,
            ..Experiment::default()
        };
        let text = updated_text(None, &Experiment::default(), &now).unwrap();
        assert_eq!(text, "name = \"fresh\"\nseed = 9\n");
    }
}
