//! A run directory: `config.toml` (resolved experiment), `events.jsonl`, `checkpoints/`
//! (`last.safetensors`, `best.safetensors`) and `figures/`.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::contract::Error;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunDir {
    pub root: PathBuf,
}

impl RunDir {
    /// Creates `base/<name>-<UTC timestamp>` (with a numeric suffix if that exists).
    pub fn create(base: &Path, name: &str) -> Result<Self, Error> {
        let cannot = |path: &Path, e| Error::io("cannot create the run directory", path, e);
        std::fs::create_dir_all(base).map_err(|e| cannot(base, e))?;
        let stamp = utc_stamp(SystemTime::now());
        let mut k = 1;
        loop {
            let leaf = if k == 1 {
                format!("{name}-{stamp}")
            } else {
                format!("{name}-{stamp}-{k}")
            };
            let root = base.join(leaf);
            match std::fs::create_dir(&root) {
                Ok(()) => {
                    let dir = Self { root };
                    std::fs::create_dir_all(dir.checkpoints())
                        .map_err(|e| cannot(&dir.checkpoints(), e))?;
                    return Ok(dir);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => k += 1,
                Err(e) => return Err(cannot(&root, e)),
            }
        }
    }

    /// Creates exactly `root` (its parent may be new); an existing `root` is an error, so
    /// two processes never start the same run.
    pub fn create_at(root: &Path) -> Result<Self, Error> {
        let cannot = |path: &Path, e| Error::io("cannot create the run directory", path, e);
        if let Some(parent) = root.parent() {
            std::fs::create_dir_all(parent).map_err(|e| cannot(parent, e))?;
        }
        std::fs::create_dir(root).map_err(|e| cannot(root, e))?;
        let dir = Self {
            root: root.to_path_buf(),
        };
        std::fs::create_dir_all(dir.checkpoints()).map_err(|e| cannot(&dir.checkpoints(), e))?;
        Ok(dir)
    }

    /// Opens an existing run directory to train on: [`RunDir::open`], and what the run
    /// writes must be its own (no links out of it).
    pub fn open_to_train(root: &Path) -> Result<Self, Error> {
        let dir = Self::open(root)?;
        dir.check_own_files()?;
        Ok(dir)
    }

    /// Opens an existing run directory (it must hold `config.toml`).
    pub fn open(root: &Path) -> Result<Self, Error> {
        let dir = Self {
            root: root.to_path_buf(),
        };
        if !dir.config().is_file() {
            return Err(Error::NotARun {
                path: root.to_path_buf(),
            });
        }
        std::fs::create_dir_all(dir.checkpoints())
            .map_err(|e| Error::io("cannot create", dir.checkpoints(), e))?;
        Ok(dir)
    }

    /// Refuses a run whose written files or folders are links elsewhere (symbolic, or a
    /// file with other hard links): the run lock covers this folder, not what a link
    /// reaches, so training through one would overwrite another run's files.
    fn check_own_files(&self) -> Result<(), Error> {
        use std::os::unix::fs::MetadataExt;
        let last = self.last_checkpoint();
        let best = self.best_checkpoint();
        for path in [
            self.checkpoints(),
            self.events(),
            self.config(),
            self.figures(),
            self.root.join("run.lock"),
            last,
            best,
        ] {
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path)
                    .map(|t| t.display().to_string())
                    .unwrap_or_else(|_| "?".into());
                return Err(Error::Linked {
                    path,
                    what: format!("is a symbolic link to {target}"),
                });
            }
            if meta.is_file() && meta.nlink() > 1 {
                return Err(Error::Linked {
                    path,
                    what: format!("has {} hard links (another name shares it)", meta.nlink()),
                });
            }
        }
        Ok(())
    }

    pub fn id(&self) -> String {
        self.root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    pub fn config(&self) -> PathBuf {
        self.root.join("config.toml")
    }

    pub fn events(&self) -> PathBuf {
        self.root.join("events.jsonl")
    }

    pub fn checkpoints(&self) -> PathBuf {
        self.root.join("checkpoints")
    }

    pub fn last_checkpoint(&self) -> PathBuf {
        self.checkpoints().join("last.safetensors")
    }

    pub fn best_checkpoint(&self) -> PathBuf {
        self.checkpoints().join("best.safetensors")
    }

    pub fn figures(&self) -> PathBuf {
        self.root.join("figures")
    }
}

/// `YYYYMMDD-HHMMSS` in UTC.
pub fn utc_stamp(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        (rem / 60) % 60,
        rem % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn stamps_known_dates() {
        assert_eq!(utc_stamp(UNIX_EPOCH), "19700101-000000");
        let t = UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        // 2026-11-18 11:06:40 UTC
        assert_eq!(utc_stamp(t), "20261118-110640");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(&utc_stamp(leap)[..8], "20000229");
    }

    #[test]
    fn a_run_whose_files_link_elsewhere_is_not_opened_to_train() {
        let base = tempfile::tempdir().unwrap();
        let victim = RunDir::create(base.path(), "victim").unwrap();
        let run = RunDir::create(base.path(), "run").unwrap();
        std::fs::write(run.config(), "name = \"run\"\n").unwrap();
        RunDir::open_to_train(&run.root).unwrap();
        std::fs::remove_dir(run.checkpoints()).unwrap();
        std::os::unix::fs::symlink(victim.checkpoints(), run.checkpoints()).unwrap();
        let e = RunDir::open_to_train(&run.root).unwrap_err().to_string();
        assert!(
            e.contains("checkpoints is a symbolic link to") && e.contains("victim"),
            "{e}"
        );
        std::fs::remove_file(run.checkpoints()).unwrap();
        std::fs::create_dir(run.checkpoints()).unwrap();
        std::fs::write(victim.events(), "").unwrap();
        std::fs::hard_link(victim.events(), run.events()).unwrap();
        let e = RunDir::open_to_train(&run.root).unwrap_err().to_string();
        assert!(e.contains("events.jsonl has 2 hard links"), "{e}");
    }

    #[test]
    fn creating_twice_in_a_second_gives_distinct_dirs() {
        let base = tempfile::tempdir().unwrap();
        let a = RunDir::create(base.path(), "x").unwrap();
        let b = RunDir::create(base.path(), "x").unwrap();
        assert_ne!(a.root, b.root);
        assert!(a.checkpoints().is_dir());
    }
}
