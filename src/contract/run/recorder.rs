//! `events.jsonl`: one JSON record per line, appended and flushed as events happen.
//! A crash can cut the last line short; readers skip it and writers cut it off before
//! appending, so the file stays valid.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::contract::event::{Event, Record};

pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

pub struct Recorder {
    file: File,
    path: PathBuf,
}

impl Recorder {
    /// Opens `path` for appending, removing a partial last line left by a crash.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        let len = file.metadata()?.len();
        if len > 0 {
            let mut bytes = Vec::new();
            file.seek(SeekFrom::Start(0))?;
            file.read_to_end(&mut bytes)?;
            if bytes.last() != Some(&b'\n') {
                let keep = bytes
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map(|i| i + 1)
                    .unwrap_or(0);
                file.set_len(keep as u64)?;
            }
        }
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn record(&mut self, event: &Event) -> std::io::Result<()> {
        let rec = Record {
            time: now(),
            event: event.clone(),
        };
        let mut line = serde_json::to_string(&rec).map_err(std::io::Error::other)?;
        line.push('\n');
        self.file.write_all(line.as_bytes())?;
        self.file.flush()
    }
}

/// What reading an events file found.
#[derive(Debug, Default)]
pub struct EventLog {
    pub records: Vec<Record>,
    /// `line N: reason` for lines that could not be read (a torn last line is not one).
    pub bad_lines: Vec<String>,
}

/// Reads every record of an events file.
pub fn read(path: &Path) -> std::io::Result<EventLog> {
    // A link to `/dev/zero` (or a pipe) would be read as one endless line.
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not a regular file (a device, pipe or folder)",
        ));
    }
    let file = File::open(path)?;
    let mut log = EventLog::default();
    let lines: Vec<String> = BufReader::new(file).lines().collect::<Result<_, _>>()?;
    let n = lines.len();
    for (i, line) in lines.into_iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(&line) {
            Ok(r) => log.records.push(r),
            // A torn final line is the expected trace of a crash, not an error.
            Err(_) if i + 1 == n => {}
            Err(e) => log
                .bad_lines
                .push(format!("{}, line {}: {e}", path.display(), i + 1)),
        }
    }
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::event::Level;

    #[test]
    fn an_events_file_that_is_not_a_file_is_refused_not_read_forever() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.jsonl");
        std::os::unix::fs::symlink("/dev/zero", &p).unwrap();
        let e = read(&p).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
    }

    #[test]
    fn a_torn_last_line_is_cut_before_appending() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("events.jsonl");
        {
            let mut r = Recorder::open(&p).unwrap();
            r.record(&Event::log(Level::Info, "one")).unwrap();
        }
        // Simulate a crash in the middle of a line.
        let mut f = OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(b"{\"time\": 1.0, \"ev").unwrap();
        drop(f);
        assert_eq!(read(&p).unwrap().records.len(), 1);
        let mut r = Recorder::open(&p).unwrap();
        r.record(&Event::log(Level::Info, "two")).unwrap();
        let log = read(&p).unwrap();
        assert_eq!(log.records.len(), 2);
        assert!(log.bad_lines.is_empty());
    }
}
