//! The EVE record files: a thread of their own, fed batches of lines through a bounded
//! channel, so a slow disk costs records (counted), never capture time. Files rotate by size
//! and age (`eve.json` → `eve.json.<n>`), and the rotated files of the folder are deleted
//! oldest first while all of them together exceed the total cap.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the writer did, shared with the pipeline (summary, `/metrics`).
#[derive(Debug, Default)]
pub struct Counters {
    pub records_written: AtomicU64,
    pub bytes_written: AtomicU64,
    /// Records dropped because the writer fell behind (its queue was full).
    pub records_dropped: AtomicU64,
    /// Records lost to write errors (disk full, file removed, ...).
    pub records_failed: AtomicU64,
    pub rotations: AtomicU64,
    /// Rotated files deleted to keep the total under its cap.
    pub files_deleted: AtomicU64,
    /// Records written, by event type (index of [`super::EventType::ALL`]).
    pub by_type: [AtomicU64; super::EventType::COUNT],
}

impl Counters {
    pub fn json(&self) -> serde_json::Value {
        let by_type: serde_json::Map<String, serde_json::Value> = super::EventType::ALL
            .iter()
            .zip(&self.by_type)
            .map(|(t, n)| (t.name().to_string(), n.load(Ordering::Relaxed).into()))
            .collect();
        serde_json::json!({
            "records_written": self.records_written.load(Ordering::Relaxed),
            "bytes_written": self.bytes_written.load(Ordering::Relaxed),
            "records_dropped": self.records_dropped.load(Ordering::Relaxed),
            "records_failed": self.records_failed.load(Ordering::Relaxed),
            "rotations": self.rotations.load(Ordering::Relaxed),
            "files_deleted": self.files_deleted.load(Ordering::Relaxed),
            "by_type": by_type,
        })
    }
}

/// Lines for one file, with how many records of each type they hold.
pub struct Batch {
    pub file: usize,
    pub bytes: Vec<u8>,
    pub records: [u32; super::EventType::COUNT],
}

impl Batch {
    pub fn count(&self) -> u64 {
        self.records.iter().map(|&n| u64::from(n)).sum()
    }
}

/// Rotation and caps.
#[derive(Clone, Debug)]
pub struct Rotation {
    /// Rotate a file once it holds this many bytes (0: never by size).
    pub max_bytes: u64,
    /// Rotate a file once it is this old (None: never by age).
    pub max_age: Option<Duration>,
    /// All files of the folder together, rotated ones deleted oldest first (0: no cap).
    pub max_total: u64,
}

struct Open {
    path: PathBuf,
    file: Option<File>,
    size: u64,
    opened: Instant,
}

/// The rotated files, oldest first, with their sizes: kept in memory so the cap is checked
/// after every write without reading the folder.
#[derive(Default)]
struct Rotated {
    files: std::collections::VecDeque<(PathBuf, u64)>,
    bytes: u64,
}

/// The writer thread's loop: runs until every sender is gone.
pub fn run(rx: Receiver<Batch>, paths: Vec<PathBuf>, rot: Rotation, c: Arc<Counters>) {
    let mut files: Vec<Open> = paths
        .into_iter()
        .map(|path| Open {
            size: std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
            path,
            file: None,
            opened: Instant::now(),
        })
        .collect();
    // Rotated files left by earlier runs count against the cap too, oldest first.
    let mut old: Vec<(std::time::SystemTime, u64, PathBuf, u64)> = Vec::new();
    for f in &files {
        for (n, p) in rotated(&f.path) {
            let m = std::fs::metadata(&p);
            let t = m
                .as_ref()
                .ok()
                .and_then(|m| m.modified().ok())
                .unwrap_or(std::time::UNIX_EPOCH);
            old.push((t, n, p, m.map(|m| m.len()).unwrap_or(0)));
        }
    }
    old.sort();
    let mut done = Rotated::default();
    for (_, _, p, size) in old {
        done.bytes += size;
        done.files.push_back((p, size));
    }
    loop {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(b) => {
                let n = b.count();
                let Some(f) = files.get_mut(b.file) else {
                    c.records_failed.fetch_add(n, Ordering::Relaxed);
                    continue;
                };
                if f.size > 0 && due(f, &rot, b.bytes.len() as u64) {
                    rotate(f, &c, &mut done);
                }
                match write(f, &b.bytes) {
                    Ok(()) => {
                        c.records_written.fetch_add(n, Ordering::Relaxed);
                        c.bytes_written
                            .fetch_add(b.bytes.len() as u64, Ordering::Relaxed);
                        for (t, k) in c.by_type.iter().zip(b.records) {
                            t.fetch_add(u64::from(k), Ordering::Relaxed);
                        }
                    }
                    Err(e) => {
                        c.records_failed.fetch_add(n, Ordering::Relaxed);
                        tracing::warn!("EVE records {}: {e}", f.path.display());
                        f.file = None;
                    }
                }
                enforce_total(&mut files, &rot, &c, &mut done);
            }
            Err(RecvTimeoutError::Timeout) => {
                // Age-based rotation also happens when nothing is written.
                for f in files.iter_mut() {
                    if f.size > 0 && rot.max_age.is_some_and(|a| f.opened.elapsed() >= a) {
                        rotate(f, &c, &mut done);
                    }
                }
            }
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    for f in files.iter_mut() {
        if let Some(file) = f.file.as_mut() {
            let _ = file.flush();
        }
    }
}

fn due(f: &Open, rot: &Rotation, incoming: u64) -> bool {
    (rot.max_bytes > 0 && f.size > 0 && f.size + incoming > rot.max_bytes)
        || rot.max_age.is_some_and(|a| f.opened.elapsed() >= a)
}

fn write(f: &mut Open, bytes: &[u8]) -> std::io::Result<()> {
    if f.file.is_none() {
        let file = OpenOptions::new().create(true).append(true).open(&f.path)?;
        f.size = file.metadata().map(|m| m.len()).unwrap_or(0);
        f.opened = Instant::now();
        f.file = Some(file);
    }
    match f.file.as_mut() {
        Some(file) => {
            file.write_all(bytes)?;
            f.size += bytes.len() as u64;
            Ok(())
        }
        None => Err(std::io::Error::other("file not open")),
    }
}

/// `eve.json` → `eve.json.<n>` with n one past the highest already there.
fn rotate(f: &mut Open, c: &Counters, done: &mut Rotated) {
    if let Some(mut file) = f.file.take() {
        let _ = file.flush();
    }
    let next = rotated(&f.path).last().map_or(1, |(n, _)| n + 1);
    let mut to = f.path.clone().into_os_string();
    to.push(format!(".{next}"));
    match std::fs::rename(&f.path, &to) {
        Ok(()) => {
            c.rotations.fetch_add(1, Ordering::Relaxed);
            done.bytes += f.size;
            done.files.push_back((PathBuf::from(to), f.size));
        }
        Err(e) => tracing::warn!("EVE records: rotating {}: {e}", f.path.display()),
    }
    f.size = 0;
    f.opened = Instant::now();
}

/// The rotated files of `path` (`path.<n>`), by n.
pub fn rotated(path: &Path) -> Vec<(u64, PathBuf)> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!("{}.", name.to_string_lossy());
    let mut out: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            let k: u64 = n.strip_prefix(&prefix)?.parse().ok()?;
            Some((k, e.path()))
        })
        .collect();
    out.sort();
    out
}

/// Delete rotated files, oldest first, while everything together exceeds the cap; when only
/// current files are left and they still exceed it, the largest is rotated away and deleted
/// too (a cap is a cap: the oldest records go).
fn enforce_total(files: &mut [Open], rot: &Rotation, c: &Counters, done: &mut Rotated) {
    if rot.max_total == 0 {
        return;
    }
    let live = |files: &[Open]| files.iter().map(|f| f.size).sum::<u64>();
    while live(files) + done.bytes > rot.max_total {
        if done.files.is_empty() {
            let Some(big) = files
                .iter_mut()
                .filter(|f| f.size > 0)
                .max_by_key(|f| f.size)
            else {
                return;
            };
            rotate(big, c, done);
            if done.files.is_empty() {
                // The rename failed: nothing more can be freed now.
                return;
            }
            continue;
        }
        if let Some((p, size)) = done.files.pop_front() {
            done.bytes = done.bytes.saturating_sub(size);
            match std::fs::remove_file(&p) {
                Ok(()) => {
                    c.files_deleted.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!("EVE records: deleting {}: {e}", p.display()),
            }
        }
    }
}
