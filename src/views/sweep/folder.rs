//! A sweep on disk: `sweep.json` (the manifest: every point's settings and resolved
//! config), one run directory per point named after it, `logs/`, and the summaries.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::spec::SweepPoint;
use crate::contract::event::Event;
use crate::contract::run::{atomic, recorder};
use crate::views::Error;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    /// The preset it was expanded from (for people; tasks only read this manifest).
    pub preset: String,
    /// Keys that vary between points, in naming order.
    pub keys: Vec<String>,
    pub parallel: usize,
    pub points: Vec<SweepPoint>,
}

/// Where a point stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointStatus {
    /// No run directory yet.
    Pending,
    /// Started; resumes from its last checkpoint.
    Partial,
    Finished,
}

impl PointStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Partial => "partial",
            Self::Finished => "finished",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepFolder {
    pub root: PathBuf,
}

impl SweepFolder {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn manifest_path(&self) -> PathBuf {
        self.root.join("sweep.json")
    }

    pub fn point_dir(&self, point: &SweepPoint) -> PathBuf {
        self.root.join(&point.name)
    }

    pub fn log_path(&self, point: &SweepPoint) -> PathBuf {
        self.root.join("logs").join(format!("{}.log", point.name))
    }

    fn lock_path(&self, point: &SweepPoint) -> PathBuf {
        self.root.join("logs").join(format!("{}.lock", point.name))
    }

    pub fn is_sweep(dir: &Path) -> bool {
        dir.join("sweep.json").is_file()
    }

    pub fn read_manifest(&self) -> Result<Manifest, Error> {
        let path = self.manifest_path();
        let text = std::fs::read_to_string(&path).map_err(|e| Error::file(&path, e))?;
        serde_json::from_str(&text).map_err(|e| Error::file(&path, e))
    }

    /// Writes the manifest; an existing one must describe the same points, so rerunning a
    /// sweep continues it and a changed preset never mixes two sweeps in one folder.
    pub fn write_manifest(&self, manifest: &Manifest) -> Result<(), Error> {
        if self.manifest_path().is_file() {
            let old = self.read_manifest()?;
            if let Some(diff) = first_difference(&old, manifest) {
                return Err(Error::Sweep(format!(
                    "{} holds a different sweep ({diff}); give another --out or remove it",
                    self.root.display()
                )));
            }
        }
        std::fs::create_dir_all(self.root.join("logs")).map_err(|e| Error::file(&self.root, e))?;
        let json = serde_json::to_string_pretty(manifest)
            .map_err(|e| Error::Sweep(format!("cannot serialise the manifest: {e}")))?;
        atomic::write(&self.manifest_path(), json.as_bytes())
            .map_err(|e| Error::file(self.manifest_path(), e))
    }

    pub fn status(&self, point: &SweepPoint) -> PointStatus {
        let dir = self.point_dir(point);
        if !dir.join("config.toml").is_file() {
            return PointStatus::Pending;
        }
        let finished = recorder::read(&dir.join("events.jsonl"))
            .map(|log| {
                log.records
                    .iter()
                    .any(|r| matches!(r.event, Event::Finished { .. }))
            })
            .unwrap_or(false);
        if finished {
            PointStatus::Finished
        } else {
            PointStatus::Partial
        }
    }

    /// The process holding a point's lock, if one is alive (an earlier sweep's task still
    /// running after its sweep was killed).
    pub fn holder(&self, point: &SweepPoint) -> Option<String> {
        let pid = std::fs::read_to_string(self.lock_path(point)).ok()?;
        let pid = pid.trim().to_string();
        process_alive(&pid).then_some(pid)
    }

    /// Claims a point for this process: a lock file holding our pid. A lock whose process
    /// is gone (a killed task) is taken over.
    pub fn lock(&self, point: &SweepPoint) -> Result<PointLock, Error> {
        let path = self.lock_path(point);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::file(parent, e))?;
        }
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    use std::io::Write;
                    write!(f, "{}", std::process::id()).map_err(|e| Error::file(&path, e))?;
                    return Ok(PointLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path).unwrap_or_default();
                    if process_alive(holder.trim()) {
                        return Err(Error::Sweep(format!(
                            "sweep point {} is being run by process {} ({})",
                            point.name,
                            holder.trim(),
                            path.display()
                        )));
                    }
                    let _ = std::fs::remove_file(&path);
                }
                Err(e) => return Err(Error::Sweep(format!("{}: {e}", path.display()))),
            }
        }
        Err(Error::Sweep(format!("cannot take {}", path.display())))
    }
}

/// Removes its lock file when dropped.
#[derive(Debug)]
pub struct PointLock {
    path: PathBuf,
}

impl Drop for PointLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether `pid` names a live process (Linux: /proc; elsewhere a lock is taken as stale).
fn process_alive(pid: &str) -> bool {
    match pid.parse::<u32>() {
        Ok(p) if p != std::process::id() => Path::new(&format!("/proc/{p}")).exists(),
        _ => false,
    }
}

fn first_difference(old: &Manifest, new: &Manifest) -> Option<String> {
    if old.points.len() != new.points.len() {
        return Some(format!(
            "{} points there, {} now",
            old.points.len(),
            new.points.len()
        ));
    }
    old.points
        .iter()
        .zip(&new.points)
        .find(|(a, b)| a.name != b.name || a.config != b.config)
        .map(|(a, b)| {
            if a.name != b.name {
                format!("point {} there is {} now", a.name, b.name)
            } else {
                format!("point {} has another config now", a.name)
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(name: &str) -> SweepPoint {
        SweepPoint {
            name: name.into(),
            settings: vec![("seed".into(), toml::Value::Integer(1))],
            config: "seed = 1\n".into(),
        }
    }

    fn manifest(points: Vec<SweepPoint>) -> Manifest {
        Manifest {
            name: "s".into(),
            preset: "p.toml".into(),
            keys: vec!["seed".into()],
            parallel: 1,
            points,
        }
    }

    #[test]
    fn manifest_round_trips_and_refuses_another_sweep() {
        let tmp = tempfile::tempdir().unwrap();
        let folder = SweepFolder::new(tmp.path().join("sweep"));
        let m = manifest(vec![point("seed=1")]);
        folder.write_manifest(&m).unwrap();
        assert_eq!(folder.read_manifest().unwrap(), m);
        folder.write_manifest(&m).unwrap();
        let other = manifest(vec![point("seed=2")]);
        let e = folder.write_manifest(&other).unwrap_err().to_string();
        assert!(e.contains("point seed=1 there is seed=2 now"), "{e}");
        assert_eq!(folder.status(&m.points[0]), PointStatus::Pending);
        std::fs::create_dir_all(folder.point_dir(&m.points[0])).unwrap();
        std::fs::write(folder.point_dir(&m.points[0]).join("config.toml"), "").unwrap();
        assert_eq!(folder.status(&m.points[0]), PointStatus::Partial);
    }

    #[test]
    fn a_live_lock_refuses_and_a_stale_one_is_taken_over() {
        let tmp = tempfile::tempdir().unwrap();
        let folder = SweepFolder::new(tmp.path());
        let p = point("a");
        {
            let _held = folder.lock(&p).unwrap();
            // Our own pid counts as stale, so fake a live holder: pid 1 always exists.
            std::fs::write(folder.lock_path(&p), "1").unwrap();
            let e = folder.lock(&p).unwrap_err().to_string();
            assert!(e.contains("being run by process 1"), "{e}");
            std::fs::write(folder.lock_path(&p), "999999999").unwrap();
            let _again = folder.lock(&p).unwrap();
        }
        assert!(!folder.lock_path(&p).exists());
    }
}
