//! The sled 0.34.7 engine, kept behind the `store-sled` feature to measure it against redb
//! (bench/store.md). All tables live in one sled tree, `edgetap`, each key prefixed with its
//! table's number, so that one `apply_batch` is atomic across tables; `flush` (fsync) follows
//! every write.

use std::ops::Bound;
use std::path::{Path, PathBuf};

use super::{guard, Engine, KeyRange, Op, Pairs, StoreError, StoreErrorKind, Table, CACHE_BYTES};

const TREE: &[u8] = b"edgetap";
const DEFAULT_TREE: &[u8] = b"__sled__default";

pub(super) struct SledEngine {
    db: sled::Db,
    tree: sled::Tree,
    path: PathBuf,
}

fn prefix(t: Table) -> u8 {
    match t {
        Table::Alerts => 1,
        Table::Devices => 2,
        Table::Edges => 3,
        Table::Baselines => 4,
        Table::Meta => 5,
        Table::Counters => 6,
    }
}

fn prefixed(t: Table, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 1);
    k.push(prefix(t));
    k.extend_from_slice(key);
    k
}

fn err(path: &Path, what: &str, e: sled::Error) -> StoreError {
    let kind = match &e {
        sled::Error::Corruption { .. } => StoreErrorKind::Corrupt,
        sled::Error::Io(io) if io.kind() == std::io::ErrorKind::WouldBlock => {
            StoreErrorKind::Locked
        }
        sled::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            StoreErrorKind::Corrupt
        }
        sled::Error::Io(_) => StoreErrorKind::Io,
        _ => StoreErrorKind::Backend,
    };
    let detail = match kind {
        StoreErrorKind::Corrupt => format!("{what}: the sled database is damaged ({e})"),
        StoreErrorKind::Locked => format!(
            "{what}: the database is open in another process ({e}); is another edgetap running \
             on this state directory?"
        ),
        _ => format!("{what}: {e}"),
    };
    StoreError::new(kind, path, detail)
}

impl SledEngine {
    pub(super) fn open(path: &Path) -> Result<SledEngine, StoreError> {
        if let Ok(m) = std::fs::symlink_metadata(path) {
            if !m.is_dir() {
                return Err(StoreError::new(
                    StoreErrorKind::Foreign,
                    path,
                    "is not a directory: not a sled store",
                ));
            }
        }
        guard(path, "opening the database", || {
            // sled's flusher thread lets go of the file lock a moment after the last handle is
            // dropped: a store closed and reopened in one process can find it still held.
            // Wait for it briefly; another process holding it still gets the error.
            let mut tries = 0;
            let db = loop {
                match sled::Config::new()
                    .path(path)
                    .cache_capacity(CACHE_BYTES as u64)
                    .open()
                {
                    Ok(db) => break db,
                    Err(sled::Error::Io(e))
                        if e.kind() == std::io::ErrorKind::WouldBlock && tries < 100 =>
                    {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    Err(e) => return Err(err(path, "cannot open", e)),
                }
            };
            for name in db.tree_names() {
                if &name[..] != DEFAULT_TREE && &name[..] != TREE {
                    return Err(StoreError::new(
                        StoreErrorKind::Foreign,
                        path,
                        format!(
                            "is a sled database with a tree {:?}: not an edgetap store",
                            String::from_utf8_lossy(&name)
                        ),
                    ));
                }
            }
            if !db.is_empty() {
                return Err(StoreError::new(
                    StoreErrorKind::Foreign,
                    path,
                    "is a sled database with data in its default tree: not an edgetap store",
                ));
            }
            let tree = db
                .open_tree(TREE)
                .map_err(|e| err(path, "cannot open", e))?;
            Ok(SledEngine {
                db,
                tree,
                path: path.to_path_buf(),
            })
        })
    }
}

impl Engine for SledEngine {
    fn apply(&self, ops: &[Op<'_>]) -> Result<(), StoreError> {
        let path = &self.path;
        guard(path, "writing", || {
            let mut batch = sled::Batch::default();
            for op in ops {
                match op {
                    Op::Put { table, key, val } => batch.insert(prefixed(*table, key), *val),
                    Op::Delete { table, key } => batch.remove(prefixed(*table, key)),
                }
            }
            self.tree
                .apply_batch(batch)
                .map_err(|e| err(path, "write", e))?;
            self.db.flush().map_err(|e| err(path, "flush", e))?;
            Ok(())
        })
    }

    fn get(&self, t: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let path = &self.path;
        guard(path, "reading", || {
            Ok(self
                .tree
                .get(prefixed(t, key))
                .map_err(|e| err(path, "read", e))?
                .map(|v| v.to_vec()))
        })
    }

    fn scan(
        &self,
        t: Table,
        (lo, hi): KeyRange<'_>,
        reverse: bool,
        limit: usize,
    ) -> Result<Pairs, StoreError> {
        let path = &self.path;
        guard(path, "reading", || {
            let p = prefix(t);
            let lo = match lo {
                Bound::Included(k) => Bound::Included(prefixed(t, k)),
                Bound::Excluded(k) => Bound::Excluded(prefixed(t, k)),
                Bound::Unbounded => Bound::Included(vec![p]),
            };
            let hi = match hi {
                Bound::Included(k) => Bound::Included(prefixed(t, k)),
                Bound::Excluded(k) => Bound::Excluded(prefixed(t, k)),
                Bound::Unbounded => Bound::Excluded(vec![p + 1]),
            };
            let iter = self.tree.range::<Vec<u8>, _>((lo, hi));
            let mut out = Vec::new();
            let mut push = |item: sled::Result<(sled::IVec, sled::IVec)>| {
                let (k, v) = item.map_err(|e| err(path, "read", e))?;
                out.push((k.get(1..).unwrap_or_default().to_vec(), v.to_vec()));
                Ok::<bool, StoreError>(out.len() < limit)
            };
            if reverse {
                for item in iter.rev() {
                    if !push(item)? {
                        break;
                    }
                }
            } else {
                for item in iter {
                    if !push(item)? {
                        break;
                    }
                }
            }
            Ok(out)
        })
    }

    fn len(&self, t: Table) -> Result<u64, StoreError> {
        let path = &self.path;
        guard(path, "reading", || {
            let mut n = 0u64;
            for item in self.tree.scan_prefix([prefix(t)]) {
                item.map_err(|e| err(path, "read", e))?;
                n += 1;
            }
            Ok(n)
        })
    }

    fn compact(&self) -> Result<bool, StoreError> {
        // sled 0.34 has no compaction to call: its segment cleaner reclaims space on its own
        // schedule, if at all.
        Ok(false)
    }
}
