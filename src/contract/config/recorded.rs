//! Reading a run's recorded `config.toml`. A run directory holds the whole experiment as it
//! trained, every key written; a key missing from it was added to ferlab after the run was
//! recorded. Such a key takes the value that reproduces what the run did, not today's
//! default, so older runs still evaluate and resume as they trained.

use toml::{Table, Value};

use super::Methods;

/// Fills the keys a recorded experiment `table` lacks with their earlier behaviour: each
/// method's section as its schema says (`MethodSchema::earlier_behaviour`).
pub fn fill_earlier_behaviour(table: &mut Table, methods: &dyn Methods) {
    let Some(Value::Table(method)) = table.get_mut("method") else {
        return;
    };
    for schema in methods.schemas() {
        if let Some(Value::Table(section)) = method.get_mut(schema.key) {
            (schema.earlier_behaviour)(section);
        }
    }
}

/// Inserts each `(key, value)` the section lacks (for a method's `earlier_behaviour`).
pub fn fill_missing(section: &mut Table, earlier: &[(&str, Value)]) {
    for (key, value) in earlier {
        section.entry(*key).or_insert_with(|| value.clone());
    }
}
