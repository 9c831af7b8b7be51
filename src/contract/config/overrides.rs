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
    let value = parse_value(raw).map_err(|message| Problem {
        path: key.to_string(),
        message,
    })?;
    merge_path(table, key, value)
}

/// Sets `key` to `value`; a table value (`data.synthetic={train_per_class=5}`) sets each
/// of its keys and keeps the section's others, as the same keys written one by one would.
fn merge_path(table: &mut toml::Table, key: &str, value: toml::Value) -> Result<(), Problem> {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                merge_path(table, &format!("{key}.{k}"), v)?;
            }
            Ok(())
        }
        other => set_path(table, key, other),
    }
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

fn parse_value(raw: &str) -> Result<toml::Value, String> {
    let wrapped = format!("v = {raw}");
    match wrapped.parse::<toml::Table>() {
        Ok(mut t) => Ok(t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.into()))),
        // A number TOML cannot hold would otherwise become a string and be reported as
        // "invalid type: string".
        Err(_) if looks_numeric(raw) => Err(format!(
            "`{raw}` is not a number ferlab can hold: integers go up to {}, floats up to \
             about 1.8e308",
            i64::MAX
        )),
        Err(_) => Ok(toml::Value::String(raw.to_string())),
    }
}

/// Whether `raw` is written as a number (digits with an optional sign, point and exponent).
fn looks_numeric(raw: &str) -> bool {
    let body = raw.strip_prefix(['-', '+']).unwrap_or(raw).replace('_', "");
    let (mantissa, exponent) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (
            m.to_string(),
            Some(e.strip_prefix(['-', '+']).unwrap_or(e).to_string()),
        ),
        None => (body.clone(), None),
    };
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some((a, b)) => digits(a) && (b.is_empty() || digits(b)),
        None => digits(&mantissa),
    };
    mantissa_ok && exponent.as_deref().is_none_or(digits)
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
    fn an_inline_table_sets_its_keys_and_keeps_the_sections_others() {
        let mut t: toml::Table = "[data.synthetic]\ntrain_per_class = 40\nidentities = 30\n"
            .parse()
            .unwrap();
        apply_override(
            &mut t,
            "data.synthetic={train_per_class=5, blend={rate=0.1}}",
        )
        .unwrap();
        let s = &t["data"]["synthetic"];
        assert_eq!(s["train_per_class"].as_integer(), Some(5));
        assert_eq!(s["identities"].as_integer(), Some(30));
        assert_eq!(s["blend"]["rate"].as_float(), Some(0.1));
    }

    #[test]
    fn numbers_out_of_range_are_said_to_be_so() {
        let mut t = toml::Table::new();
        for raw in ["1e309", "-1e400", "99999999999999999999", "1_000e999"] {
            let e = apply_override(&mut t, &format!("optimizer.lr={raw}")).unwrap_err();
            assert_eq!(e.path, "optimizer.lr");
            assert!(
                e.message.contains("not a number ferlab can hold"),
                "{raw}: {}",
                e.message
            );
        }
        // Words stay words.
        apply_override(&mut t, "data.path=1e5x").unwrap();
        assert_eq!(t["data"]["path"].as_str(), Some("1e5x"));
    }

    #[test]
    fn rejects_malformed_overrides() {
        let mut t: toml::Table = "seed = 1\n".parse().unwrap();
        assert!(apply_override(&mut t, "noequals").is_err());
        let err = apply_override(&mut t, "seed.x=1").unwrap_err();
        assert_eq!(err.path, "seed");
    }
}
