//! `--set key=value` overrides on a preset's TOML table, before it is typed.

use super::Problem;

/// Sets the dotted `key` of `table` to `value`, parsed as a TOML value when it is one
/// (`3`, `0.5`, `true`, `"text"`, `[1, 2]`) and as a bare string otherwise.
pub fn apply_override(table: &mut toml::Table, assignment: &str) -> Result<(), Problem> {
    let Some((key, raw)) = assignment.split_once('=') else {
        return Err(Problem {
            path: assignment.to_string(),
            message: "an override must look like key=value".into(),
        });
    };
    let key = key.trim();
    let raw = raw.trim();
    set_path(table, key, parse_value(raw))
}

/// Sets the dotted `key` of `table`; the problem names an empty segment or a prefix that
/// holds a value rather than a table.
pub(super) fn set_path(
    table: &mut toml::Table,
    key: &str,
    value: toml::Value,
) -> Result<(), Problem> {
    if key.split('.').any(str::is_empty) {
        return Err(Problem {
            path: key.to_string(),
            message: "empty key segment in override".into(),
        });
    }
    super::schema::set(table, key, value).map_err(|prefix| Problem {
        path: prefix,
        message: "is a value, not a table, so it has no sub-keys".into(),
    })
}

fn parse_value(raw: &str) -> toml::Value {
    let wrapped = format!("v = {raw}");
    match wrapped.parse::<toml::Table>() {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.into())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_nested_keys_with_typed_values() {
        let mut t: toml::Table = "[train]\nepochs = 3\n".parse().unwrap();
        apply_override(&mut t, "train.epochs=5").unwrap();
        apply_override(&mut t, "optimizer.lr=0.01").unwrap();
        apply_override(&mut t, "data.path=/tmp/x y").unwrap();
        apply_override(&mut t, "augment.hflip=false").unwrap();
        assert_eq!(t["train"]["epochs"].as_integer(), Some(5));
        assert_eq!(t["optimizer"]["lr"].as_float(), Some(0.01));
        assert_eq!(t["data"]["path"].as_str(), Some("/tmp/x y"));
        assert_eq!(t["augment"]["hflip"].as_bool(), Some(false));
    }

    #[test]
    fn rejects_malformed_overrides() {
        let mut t: toml::Table = "seed = 1\n".parse().unwrap();
        assert!(apply_override(&mut t, "noequals").is_err());
        let err = apply_override(&mut t, "seed.x=1").unwrap_err();
        assert_eq!(err.path, "seed");
    }
}
