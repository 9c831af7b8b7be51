//! `ferlab settings`: every setting with its default, valid values and meaning, from the
//! same descriptions the editor draws and validation checks.

use std::io::Write;

use ferlab::compute::method::REGISTRY;
use ferlab::contract::config::fields::SECTIONS;
use ferlab::contract::config::schema::{Field, lookup};
use ferlab::contract::config::{Experiment, Methods};

#[derive(clap::Args, Debug)]
pub struct SettingsArgs {
    /// Only this method's settings (`asm`, `rmfer`, …); all settings without it.
    #[arg(long)]
    pub method: Option<String>,
}

pub fn run(args: SettingsArgs) -> anyhow::Result<()> {
    let mut defaults = Experiment::default();
    defaults.resolve(&REGISTRY);
    let table = defaults.to_table();
    let line = |f: &Field| {
        let default = lookup(&table, f.path)
            .map(|v| match v {
                toml::Value::String(s) => format!("{s:?}"),
                other => other.to_string(),
            })
            .unwrap_or_else(|| "(unset)".into());
        let valid = f.kind.valid_values(&REGISTRY);
        let help = if f.help.is_empty() {
            String::new()
        } else {
            format!(": {}", f.help)
        };
        format!("  {} = {default}    [{valid}]  {}{help}\n", f.path, f.label)
    };
    let mut out = String::new();
    let methods = match &args.method {
        Some(key) => {
            let Some(schema) = REGISTRY.get(key) else {
                anyhow::bail!(
                    "--method: unknown method {key:?}; one of {}",
                    REGISTRY.keys().join(", ")
                );
            };
            vec![schema]
        }
        None => {
            for s in SECTIONS {
                out.push_str(&format!("{}\n", s.title));
                out.extend(s.fields.iter().map(line));
            }
            REGISTRY.schemas()
        }
    };
    for m in methods {
        out.push_str(&format!("method {}: {}\n", m.key, m.summary));
        out.extend(m.fields.iter().map(line));
    }
    // A closed pipe (`| head`) is the reader's choice, not an error.
    match std::io::stdout().write_all(out.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
