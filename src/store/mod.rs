//! The appliance's state: alerts, devices, the peer graph, baselines and counters, kept in one
//! directory that survives restarts and `kill -9`.
//!
//! Everything goes through [`Store`], a narrow, synchronous key-value interface over a handful of
//! [`Table`]s whose values are opaque bytes (the callers serialise with serde_json). Writes
//! ([`Store::put`], [`Store::apply`]) are one atomic transaction each and durable when they
//! return `Ok`: the data has been fsynced and survives a killed process and a power cut.
//!
//! The engine is [redb](https://www.redb.org) (one file, `edgetap.redb`, copy-on-write B-trees,
//! checksummed). A sled 0.34.7 backend exists behind the `store-sled` feature only so that the
//! two can be measured against each other (`tools/storeprobe`, `bench/store.md`); redb won.
//!
//! The state directory is treated as hostile: a directory holding anything but an edgetap store
//! (other files, a corrupt or truncated database, a database of another program, another format
//! version, a store locked by another process) is refused with a [`StoreError`] that names the
//! path. Nothing here panics on what it reads.
//!
//! Retention ([`Store::enforce_retention`]) bounds the alerts by age and the whole directory by
//! size, so that edgetap never fills the disk.

use std::fmt;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

mod redb_backend;
#[cfg(feature = "store-sled")]
mod sled_backend;

/// Name written in the format marker.
pub const FORMAT_NAME: &str = "edgetap-store";
/// Version of the store's layout (tables, key encodings); a store of another version is refused.
pub const FORMAT_VERSION: u32 = 1;
/// Key of the format marker in [`Table::Meta`].
pub const FORMAT_KEY: &[u8] = b"format";

/// The file the redb backend keeps in the state directory.
pub const REDB_FILE: &str = "edgetap.redb";
/// The directory the sled backend keeps in the state directory.
pub const SLED_DIR: &str = "sled";
/// A copy of the format marker (with the backend's name) beside the database, written once the
/// database holds its marker: it witnesses that the directory was initialised, so that a
/// database that lost everything (emptied, replaced, truncated to nothing: which some engines
/// and file systems turn into "a new empty database") is refused instead of silently starting
/// afresh.
pub const WITNESS_FILE: &str = "edgetap-store.json";

/// Memory each backend may use as a page cache.
const CACHE_BYTES: usize = 32 << 20;

/// The tables of the store. Keys and values are opaque bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    /// Key: big-endian u64 time stamp (ns since the Unix epoch) followed by an id, so that keys
    /// sort oldest first; retention relies on it.
    Alerts,
    Devices,
    Edges,
    Baselines,
    /// The format marker and other bookkeeping.
    Meta,
    Counters,
}

impl Table {
    pub const ALL: [Table; 6] = [
        Table::Alerts,
        Table::Devices,
        Table::Edges,
        Table::Baselines,
        Table::Meta,
        Table::Counters,
    ];

    /// The table's name on disk.
    pub fn name(self) -> &'static str {
        match self {
            Table::Alerts => "alerts",
            Table::Devices => "devices",
            Table::Edges => "edges",
            Table::Baselines => "baselines",
            Table::Meta => "meta",
            Table::Counters => "counters",
        }
    }
}

/// The storage engine under a [`Store`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// One redb file; the default and the recommendation (bench/store.md).
    #[default]
    Redb,
    /// sled 0.34.7; only with the `store-sled` feature, for comparison.
    Sled,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Redb => "redb",
            Backend::Sled => "sled",
        }
    }

    /// The entry this backend keeps in the state directory.
    fn entry(self) -> &'static str {
        match self {
            Backend::Redb => REDB_FILE,
            Backend::Sled => SLED_DIR,
        }
    }
}

impl std::str::FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "redb" => Ok(Backend::Redb),
            "sled" => Ok(Backend::Sled),
            _ => Err(format!("unknown store backend {s:?} (redb or sled)")),
        }
    }
}

/// One write of a transaction given to [`Store::apply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op<'a> {
    Put {
        table: Table,
        key: &'a [u8],
        val: &'a [u8],
    },
    Delete {
        table: Table,
        key: &'a [u8],
    },
}

/// Retention limits; `None` is no limit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StoreOptions {
    /// Alerts older than this are deleted by [`Store::enforce_retention`].
    pub max_age: Option<Duration>,
    /// The state directory is brought back under this many bytes on disk by deleting the oldest
    /// alerts. A soft limit: the store grows between two calls of `enforce_retention`.
    pub max_bytes: Option<u64>,
}

/// What [`Store::enforce_retention`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Alerts deleted because they were older than `max_age`.
    pub deleted_by_age: u64,
    /// Oldest alerts deleted to bring the directory under `max_bytes`.
    pub deleted_by_size: u64,
    /// Bytes on disk before and after.
    pub disk_bytes_before: u64,
    pub disk_bytes_after: u64,
    /// Compactions run to give space back to the file system.
    pub compactions: u32,
    /// Still above `max_bytes` (what is left is not alerts, or the backend cannot give space
    /// back).
    pub over_budget: bool,
}

/// What went wrong, for callers that react differently (a locked store, a foreign directory).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// The file system refused (permissions, disk full, ...).
    Io,
    /// The path holds something that is not an edgetap store of this backend.
    Foreign,
    /// The database is damaged (bad checksums, truncated, random bytes).
    Corrupt,
    /// An edgetap store of another format version.
    Version,
    /// Another process (or another handle in this one) has the store open.
    Locked,
    /// The backend was not compiled in.
    Unsupported,
    /// Any other error of the engine.
    Backend,
}

/// An error of the store; its message names the path of the state directory or file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError {
    pub kind: StoreErrorKind,
    pub path: PathBuf,
    pub detail: String,
}

impl StoreError {
    pub(crate) fn new(kind: StoreErrorKind, path: &Path, detail: impl Into<String>) -> StoreError {
        StoreError {
            kind,
            path: path.to_path_buf(),
            detail: detail.into(),
        }
    }

    fn io(path: &Path, what: &str, e: &std::io::Error) -> StoreError {
        let kind = match e.kind() {
            std::io::ErrorKind::WouldBlock => StoreErrorKind::Locked,
            _ => StoreErrorKind::Io,
        };
        StoreError::new(kind, path, format!("{what}: {e}"))
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "state store {}: {}", self.path.display(), self.detail)
    }
}

impl std::error::Error for StoreError {}

/// A key range for [`Store::scan`].
pub type KeyRange<'a> = (Bound<&'a [u8]>, Bound<&'a [u8]>);

/// Key/value pairs as [`Store::scan`] returns them.
pub type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// What a backend provides; [`Store`] adds the directory checks, the format marker and retention.
trait Engine: Send + Sync {
    fn apply(&self, ops: &[Op<'_>]) -> Result<(), StoreError>;
    fn get(&self, t: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// `range` is not empty (checked by the caller); at most `limit` pairs.
    fn scan(
        &self,
        t: Table,
        range: KeyRange<'_>,
        reverse: bool,
        limit: usize,
    ) -> Result<Pairs, StoreError>;
    fn len(&self, t: Table) -> Result<u64, StoreError>;
    /// Gives freed space back to the file system where the backend can; `Ok(false)` if it cannot.
    fn compact(&self) -> Result<bool, StoreError>;
}

/// The state store. `Send + Sync`: share it behind an `Arc`.
pub struct Store {
    engine: Box<dyn Engine>,
    dir: PathBuf,
    opts: StoreOptions,
    backend: Backend,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .field("backend", &self.backend)
            .field("opts", &self.opts)
            .finish()
    }
}

/// Entries a state directory may hold besides the backend's own: the witness file (and its
/// temporary, if a crash cut its writing short), and a file system's own directory when the
/// state directory is a mount point.
const TOLERATED_ENTRIES: &[&str] = &[WITNESS_FILE, WITNESS_TMP, "lost+found"];

const WITNESS_TMP: &str = "edgetap-store.json.tmp";

impl Store {
    /// Opens (creating it if need be) the store in `dir` with the default backend, redb.
    pub fn open(dir: &Path, opts: StoreOptions) -> Result<Store, StoreError> {
        Store::open_backend(dir, opts, Backend::default())
    }

    /// Opens the store in `dir` with the given backend. The directory is created if missing; it
    /// must be empty or hold a store of this backend and format version.
    pub fn open_backend(
        dir: &Path,
        opts: StoreOptions,
        backend: Backend,
    ) -> Result<Store, StoreError> {
        if backend == Backend::Sled && !cfg!(feature = "store-sled") {
            return Err(sled_unsupported(dir));
        }
        check_dir(dir, backend)?;
        let witness = read_witness(dir, backend)?;
        if witness && std::fs::symlink_metadata(dir.join(backend.entry())).is_err() {
            return Err(StoreError::new(
                StoreErrorKind::Corrupt,
                dir,
                format!(
                    "was initialised as an edgetap store ({WITNESS_FILE}) but its {} database \
                     ({}) is gone; move the directory away to start afresh",
                    backend.name(),
                    backend.entry()
                ),
            ));
        }
        let engine: Box<dyn Engine> = match backend {
            Backend::Redb => Box::new(redb_backend::RedbEngine::open(&dir.join(REDB_FILE))?),
            #[cfg(feature = "store-sled")]
            Backend::Sled => Box::new(sled_backend::SledEngine::open(&dir.join(SLED_DIR))?),
            #[cfg(not(feature = "store-sled"))]
            Backend::Sled => return Err(sled_unsupported(dir)),
        };
        let store = Store {
            engine,
            dir: dir.to_path_buf(),
            opts,
            backend,
        };
        store.check_marker(witness)?;
        Ok(store)
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn options(&self) -> StoreOptions {
        self.opts
    }

    /// Writes one value, durably.
    pub fn put(&self, t: Table, key: &[u8], val: &[u8]) -> Result<(), StoreError> {
        self.engine.apply(&[Op::Put { table: t, key, val }])
    }

    /// Applies the writes as one atomic transaction: all or none of them are there after a
    /// crash. When it returns `Ok` they are on disk (fsynced).
    pub fn apply(&self, ops: &[Op<'_>]) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        self.engine.apply(ops)
    }

    pub fn get(&self, t: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.engine.get(t, key)
    }

    /// The pairs whose keys are in `range`, in key order (descending if `reverse`), at most
    /// `limit` of them (`usize::MAX` for all). An empty or inverted range gives nothing.
    pub fn scan(
        &self,
        t: Table,
        range: KeyRange<'_>,
        reverse: bool,
        limit: usize,
    ) -> Result<Pairs, StoreError> {
        if limit == 0 || range_is_empty(range) {
            return Ok(Vec::new());
        }
        self.engine.scan(t, range, reverse, limit)
    }

    /// Number of entries in the table.
    pub fn len(&self, t: Table) -> Result<u64, StoreError> {
        self.engine.len(t)
    }

    pub fn is_empty(&self, t: Table) -> Result<bool, StoreError> {
        Ok(self.len(t)? == 0)
    }

    /// Bytes the state directory takes on disk (allocated blocks, not apparent sizes).
    pub fn disk_bytes(&self) -> u64 {
        dir_disk_bytes(&self.dir)
    }

    /// Deletes the alerts older than `max_age` (relative to `now_unix_ns`), then, if the
    /// directory takes more than `max_bytes` on disk, compacts the database (giving freed pages
    /// back to the file system) and deletes the oldest alerts until it is under the limit. When
    /// it has to delete for size it goes down to about 90% of `max_bytes`, so that the next
    /// calls need not delete and compact again at once. Only alerts are deleted: if the rest is
    /// above the limit, or the backend cannot give space back (sled), the report says
    /// `over_budget`.
    ///
    /// Call it periodically (and at start-up): `max_bytes` bounds the directory between calls
    /// only as well as the call rate does. Deleting needs a little free space itself
    /// (copy-on-write), so keep `max_bytes` well below the free space of the file system.
    pub fn enforce_retention(&self, now_unix_ns: u64) -> Result<RetentionReport, StoreError> {
        let mut report = RetentionReport {
            disk_bytes_before: self.disk_bytes(),
            ..RetentionReport::default()
        };
        if let Some(age) = self.opts.max_age {
            let age_ns = u64::try_from(age.as_nanos()).unwrap_or(u64::MAX);
            let cutoff = now_unix_ns.saturating_sub(age_ns).to_be_bytes();
            // Alert keys sort by time stamp: everything below the cutoff is older.
            loop {
                let old =
                    self.scan_keys((Bound::Unbounded, Bound::Excluded(&cutoff[..])), BATCH)?;
                if old.is_empty() {
                    break;
                }
                self.delete_alerts(&old)?;
                report.deleted_by_age += old.len() as u64;
                if old.len() < BATCH {
                    break;
                }
            }
        }
        if let Some(max) = self.opts.max_bytes {
            let low_water = max - max / 10;
            // Space freed earlier (by age, by the callers' deletes) may be enough: the engine
            // reuses freed pages, but only compaction gives them back to the file system.
            if self.disk_bytes() > max && self.engine.compact()? {
                report.compactions += 1;
            }
            for _ in 0..MAX_SIZE_ROUNDS {
                let disk = self.disk_bytes();
                if disk <= max {
                    break;
                }
                let alerts = self.len(Table::Alerts)?;
                if alerts == 0 {
                    break;
                }
                // Delete the share of the alerts that the excess is of the whole directory,
                // assuming alerts take most of it; later rounds correct the estimate.
                let excess = disk.saturating_sub(low_water);
                let share = (u128::from(alerts) * u128::from(excess)).div_ceil(u128::from(disk));
                let mut n = u64::try_from(share).unwrap_or(alerts).clamp(1, alerts);
                while n > 0 {
                    let chunk = usize::try_from(n).unwrap_or(BATCH).min(BATCH);
                    let keys = self.scan_keys((Bound::Unbounded, Bound::Unbounded), chunk)?;
                    if keys.is_empty() {
                        break;
                    }
                    self.delete_alerts(&keys)?;
                    report.deleted_by_size += keys.len() as u64;
                    n -= keys.len() as u64;
                }
                if !self.engine.compact()? {
                    // The backend cannot give space back: deleting more would not help now.
                    if self.disk_bytes() > max {
                        break;
                    }
                } else {
                    report.compactions += 1;
                }
            }
        }
        report.disk_bytes_after = self.disk_bytes();
        report.over_budget = self
            .opts
            .max_bytes
            .is_some_and(|max| report.disk_bytes_after > max);
        Ok(report)
    }

    fn scan_keys(&self, range: KeyRange<'_>, limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self
            .scan(Table::Alerts, range, false, limit)?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }

    fn delete_alerts(&self, keys: &[Vec<u8>]) -> Result<(), StoreError> {
        let ops: Vec<Op<'_>> = keys
            .iter()
            .map(|k| Op::Delete {
                table: Table::Alerts,
                key: k,
            })
            .collect();
        self.apply(&ops)
    }

    /// Writes the format marker into a new store, or checks the one that is there; writes the
    /// witness file once the marker is in.
    fn check_marker(&self, witnessed: bool) -> Result<(), StoreError> {
        let expected = marker();
        match self.get(Table::Meta, FORMAT_KEY)? {
            Some(found) if found == expected => {}
            Some(found) => return Err(self.marker_error(&found)),
            None if witnessed => {
                return Err(StoreError::new(
                    StoreErrorKind::Corrupt,
                    &self.dir,
                    format!(
                        "was initialised as an edgetap store ({WITNESS_FILE}) but its {} \
                         database has no format marker: the database lost its data or was \
                         replaced; move the directory away to start afresh",
                        self.backend.name()
                    ),
                ))
            }
            None => {
                for t in Table::ALL {
                    if self.len(t)? > 0 {
                        return Err(StoreError::new(
                            StoreErrorKind::Foreign,
                            &self.dir,
                            format!(
                                "holds a {} database with data but no edgetap format marker; \
                                 not an edgetap store",
                                self.backend.name()
                            ),
                        ));
                    }
                }
                self.put(Table::Meta, FORMAT_KEY, &expected)?;
            }
        }
        if !witnessed {
            write_witness(&self.dir, self.backend)?;
        }
        Ok(())
    }

    fn marker_error(&self, found: &[u8]) -> StoreError {
        #[derive(serde::Deserialize)]
        struct Marker {
            name: String,
            version: u64,
        }
        match serde_json::from_slice::<Marker>(found) {
            Ok(m) if m.name == FORMAT_NAME => StoreError::new(
                StoreErrorKind::Version,
                &self.dir,
                format!(
                    "holds an edgetap store of format version {}; this build reads version \
                     {FORMAT_VERSION}",
                    m.version
                ),
            ),
            _ => StoreError::new(
                StoreErrorKind::Foreign,
                &self.dir,
                format!(
                    "format marker is {:?}, not an edgetap store's",
                    String::from_utf8_lossy(&found[..found.len().min(80)])
                ),
            ),
        }
    }
}

fn sled_unsupported(dir: &Path) -> StoreError {
    StoreError::new(
        StoreErrorKind::Unsupported,
        dir,
        "the sled backend is not compiled in (feature store-sled)",
    )
}

/// Alerts deleted per transaction by retention.
const BATCH: usize = 10_000;
/// Rounds of delete-and-compact before retention gives up on reaching `max_bytes`.
const MAX_SIZE_ROUNDS: usize = 16;

/// The format marker stored under [`FORMAT_KEY`].
fn marker() -> Vec<u8> {
    format!(r#"{{"name":"{FORMAT_NAME}","version":{FORMAT_VERSION}}}"#).into_bytes()
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Witness {
    name: String,
    version: u64,
    backend: String,
}

/// Reads the witness file: `Ok(false)` if there is none, `Ok(true)` if it is this format's and
/// this backend's, an error otherwise.
fn read_witness(dir: &Path, backend: Backend) -> Result<bool, StoreError> {
    let path = dir.join(WITNESS_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(StoreError::io(&path, "cannot read", &e)),
    };
    let w: Witness = match serde_json::from_slice(&bytes) {
        Ok(w) => w,
        Err(_) => {
            return Err(StoreError::new(
                StoreErrorKind::Foreign,
                &path,
                "is not an edgetap store marker",
            ))
        }
    };
    if w.name != FORMAT_NAME {
        return Err(StoreError::new(
            StoreErrorKind::Foreign,
            &path,
            format!("names the format {:?}, not {FORMAT_NAME:?}", w.name),
        ));
    }
    if w.version != u64::from(FORMAT_VERSION) {
        return Err(StoreError::new(
            StoreErrorKind::Version,
            dir,
            format!(
                "holds an edgetap store of format version {}; this build reads version \
                 {FORMAT_VERSION}",
                w.version
            ),
        ));
    }
    if w.backend != backend.name() {
        return Err(StoreError::new(
            StoreErrorKind::Foreign,
            dir,
            format!(
                "holds a {} store, not a {} one",
                w.backend.chars().take(20).collect::<String>(),
                backend.name()
            ),
        ));
    }
    Ok(true)
}

/// Writes the witness file durably: a temporary file, fsync, rename, fsync of the directory.
fn write_witness(dir: &Path, backend: Backend) -> Result<(), StoreError> {
    let w = Witness {
        name: FORMAT_NAME.to_string(),
        version: u64::from(FORMAT_VERSION),
        backend: backend.name().to_string(),
    };
    let bytes = serde_json::to_vec(&w)
        .map_err(|e| StoreError::new(StoreErrorKind::Backend, dir, e.to_string()))?;
    let tmp = dir.join(WITNESS_TMP);
    let path = dir.join(WITNESS_FILE);
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        std::io::Write::write_all(&mut f, &bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(dir)?.sync_all()
    };
    write().map_err(|e| StoreError::io(&path, "cannot write", &e))
}

/// Whether no key can be in the range (inverted, or empty with an excluded end); the engines'
/// range functions may panic on those.
fn range_is_empty((lo, hi): KeyRange<'_>) -> bool {
    match (lo, hi) {
        (Bound::Included(a), Bound::Included(b)) => a > b,
        (Bound::Included(a), Bound::Excluded(b))
        | (Bound::Excluded(a), Bound::Included(b))
        | (Bound::Excluded(a), Bound::Excluded(b)) => a >= b,
        _ => false,
    }
}

/// Creates `dir` if missing and checks that it holds nothing but `backend`'s entry.
fn check_dir(dir: &Path, backend: Backend) -> Result<(), StoreError> {
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(m) if m.file_type().is_symlink() => {
            // A symlinked state directory is fine if it leads to a directory.
            match std::fs::metadata(dir) {
                Ok(t) if t.is_dir() => {}
                Ok(_) => {
                    return Err(StoreError::new(
                        StoreErrorKind::Foreign,
                        dir,
                        "is a symbolic link to something that is not a directory",
                    ))
                }
                Err(e) => return Err(StoreError::io(dir, "follows a broken symbolic link", &e)),
            }
        }
        Ok(_) => {
            return Err(StoreError::new(
                StoreErrorKind::Foreign,
                dir,
                "is a file, not a directory; the state store needs a directory",
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir)
                .map_err(|e| StoreError::io(dir, "cannot create the directory", &e))?;
        }
        Err(e) => return Err(StoreError::io(dir, "cannot read", &e)),
    }
    let entries =
        std::fs::read_dir(dir).map_err(|e| StoreError::io(dir, "cannot list the directory", &e))?;
    let mut foreign = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| StoreError::io(dir, "cannot list the directory", &e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == backend.entry() || TOLERATED_ENTRIES.contains(&name.as_ref()) {
            continue;
        }
        for other in [Backend::Redb, Backend::Sled] {
            if other != backend && name == other.entry() {
                return Err(StoreError::new(
                    StoreErrorKind::Foreign,
                    dir,
                    format!(
                        "holds a {} store ({name}), not a {} one",
                        other.name(),
                        backend.name()
                    ),
                ));
            }
        }
        foreign.push(name.into_owned());
    }
    if !foreign.is_empty() {
        foreign.sort();
        let shown = foreign
            .iter()
            .take(5)
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let more = if foreign.len() > 5 {
            format!(" and {} more", foreign.len() - 5)
        } else {
            String::new()
        };
        return Err(StoreError::new(
            StoreErrorKind::Foreign,
            dir,
            format!(
                "is not an edgetap state directory: it holds {shown}{more}; give an empty or new \
                 directory"
            ),
        ));
    }
    Ok(())
}

/// Bytes the files under `path` take on disk (symbolic links are not followed).
fn dir_disk_bytes(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    let own = allocated(&meta);
    if !meta.is_dir() {
        return own;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return own;
    };
    entries
        .flatten()
        .map(|e| dir_disk_bytes(&e.path()))
        .fold(own, u64::saturating_add)
}

#[cfg(unix)]
fn allocated(meta: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    if meta.is_dir() {
        0
    } else {
        meta.blocks().saturating_mul(512)
    }
}

#[cfg(not(unix))]
fn allocated(meta: &std::fs::Metadata) -> u64 {
    if meta.is_dir() {
        0
    } else {
        meta.len()
    }
}

/// Runs `f`, turning a panic of the engine (which a damaged file may still provoke) into an
/// error naming `path`. The panic message still reaches stderr through the panic hook.
pub(crate) fn guard<T>(
    path: &Path,
    what: &str,
    f: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            PANICKED.store(true, Ordering::Relaxed);
            Err(StoreError::new(
                StoreErrorKind::Corrupt,
                path,
                format!("the storage engine failed while {what} ({msg}); the store is damaged"),
            ))
        }
    }
}

/// Set once an engine panic has been caught (see `guard`); for tests and diagnostics.
static PANICKED: AtomicBool = AtomicBool::new(false);

/// Whether an engine panic has been caught and turned into an error in this process.
pub fn engine_panicked() -> bool {
    PANICKED.load(Ordering::Relaxed)
}
