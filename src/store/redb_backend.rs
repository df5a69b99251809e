//! The redb engine: one file, one redb table per [`Table`], every write transaction committed
//! with `Durability::Immediate` (fsynced before `commit` returns).

use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use redb::{
    Builder, Database, Durability, MultimapTableHandle, ReadableDatabase, ReadableTableMetadata,
    TableDefinition, TableHandle,
};

use super::{guard, Engine, KeyRange, Op, Pairs, StoreError, StoreErrorKind, Table, CACHE_BYTES};

type Def = TableDefinition<'static, &'static [u8], &'static [u8]>;
type WriteTable<'t> = redb::Table<'t, &'static [u8], &'static [u8]>;

fn def(t: Table) -> Def {
    TableDefinition::new(t.name())
}

pub(super) struct RedbEngine {
    /// Readers and writers share the lock; compaction, which needs no live transaction, takes
    /// it exclusively.
    db: RwLock<Database>,
    path: PathBuf,
}

impl RedbEngine {
    pub(super) fn open(path: &Path) -> Result<RedbEngine, StoreError> {
        let db = guard(path, "opening the database", || {
            let mut builder = Builder::new();
            builder.set_cache_size(CACHE_BYTES);
            // Verify every page's checksum on open: a file damaged outside redb is refused with
            // an error instead of being trusted (a plain open may panic on it). After a crash
            // redb runs the same check to repair, so it costs nothing extra there.
            builder.set_check_integrity_on_open(true);
            builder
                .create(path)
                .map_err(|e| err(path, "cannot open", e))
        })?;
        let engine = RedbEngine {
            db: RwLock::new(db),
            path: path.to_path_buf(),
        };
        engine.ensure_tables()?;
        Ok(engine)
    }

    fn read(&self) -> RwLockReadGuard<'_, Database> {
        self.db.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Database> {
        self.db.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuses a database holding tables that are not ours; creates ours if missing.
    fn ensure_tables(&self) -> Result<(), StoreError> {
        let path = &self.path;
        guard(path, "checking the tables", || {
            let db = self.read();
            let txn = db.begin_read().map_err(|e| err(path, "read", e))?;
            let mut present = Vec::new();
            for handle in txn.list_tables().map_err(|e| err(path, "read", e))? {
                let name = handle.name().to_string();
                if !Table::ALL.iter().any(|t| t.name() == name) {
                    return Err(StoreError::new(
                        StoreErrorKind::Foreign,
                        path,
                        format!("is a redb database with a table {name:?}: not an edgetap store"),
                    ));
                }
                present.push(name);
            }
            if let Some(h) = txn
                .list_multimap_tables()
                .map_err(|e| err(path, "read", e))?
                .next()
            {
                return Err(StoreError::new(
                    StoreErrorKind::Foreign,
                    path,
                    format!(
                        "is a redb database with a multimap table {:?}: not an edgetap store",
                        h.name()
                    ),
                ));
            }
            drop(txn);
            if Table::ALL
                .iter()
                .all(|t| present.iter().any(|p| p == t.name()))
            {
                return Ok(());
            }
            let txn = begin_write(&db, path)?;
            for t in Table::ALL {
                txn.open_table(def(t))
                    .map_err(|e| err(path, "create table", e))?;
            }
            txn.commit().map_err(|e| err(path, "commit", e))
        })
    }
}

fn begin_write(db: &Database, path: &Path) -> Result<redb::WriteTransaction, StoreError> {
    let mut txn = db.begin_write().map_err(|e| err(path, "write", e))?;
    txn.set_durability(Durability::Immediate)
        .map_err(|e| err(path, "write", e))?;
    Ok(txn)
}

/// A redb error as a store error, classified.
fn err(path: &Path, what: &str, e: impl Into<redb::Error>) -> StoreError {
    let e: redb::Error = e.into();
    let kind = match &e {
        redb::Error::DatabaseAlreadyOpen | redb::Error::LockProtocolMismatch => {
            StoreErrorKind::Locked
        }
        redb::Error::Corrupted(_) | redb::Error::RepairAborted => StoreErrorKind::Corrupt,
        redb::Error::UpgradeRequired(_) => StoreErrorKind::Version,
        redb::Error::TableTypeMismatch { .. }
        | redb::Error::TableIsMultimap(_)
        | redb::Error::TypeDefinitionChanged { .. } => StoreErrorKind::Foreign,
        redb::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            StoreErrorKind::Corrupt
        }
        redb::Error::Io(_) => StoreErrorKind::Io,
        _ => StoreErrorKind::Backend,
    };
    let detail = match kind {
        StoreErrorKind::Locked => format!(
            "{what}: the database is open in another process or handle ({e}); is another \
             edgetap running on this state directory?"
        ),
        StoreErrorKind::Corrupt => format!("{what}: the redb database is damaged ({e})"),
        StoreErrorKind::Version => format!("{what}: unsupported redb file format ({e})"),
        StoreErrorKind::Foreign => format!("{what}: not an edgetap store ({e})"),
        _ => format!("{what}: {e}"),
    };
    StoreError::new(kind, path, detail)
}

impl Engine for RedbEngine {
    fn apply(&self, ops: &[Op<'_>]) -> Result<(), StoreError> {
        let path = &self.path;
        guard(path, "writing", || {
            let db = self.read();
            let txn = begin_write(&db, path)?;
            {
                // Keep the current table open while consecutive ops use it.
                let mut open: Option<(Table, WriteTable<'_>)> = None;
                for op in ops {
                    let t = match op {
                        Op::Put { table, .. } | Op::Delete { table, .. } => *table,
                    };
                    if open.as_ref().map(|(ot, _)| *ot) != Some(t) {
                        // Close the previous table before opening the next.
                        drop(open.take());
                        let table = txn.open_table(def(t)).map_err(|e| err(path, "write", e))?;
                        open = Some((t, table));
                    }
                    let Some((_, table)) = open.as_mut() else {
                        continue;
                    };
                    match op {
                        Op::Put { key, val, .. } => {
                            table
                                .insert(*key, *val)
                                .map_err(|e| err(path, "write", e))?;
                        }
                        Op::Delete { key, .. } => {
                            table.remove(*key).map_err(|e| err(path, "delete", e))?;
                        }
                    }
                }
            }
            txn.commit().map_err(|e| err(path, "commit", e))
        })
    }

    fn get(&self, t: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let path = &self.path;
        guard(path, "reading", || {
            let db = self.read();
            let txn = db.begin_read().map_err(|e| err(path, "read", e))?;
            let table = txn.open_table(def(t)).map_err(|e| err(path, "read", e))?;
            let v = table.get(key).map_err(|e| err(path, "read", e))?;
            Ok(v.map(|g| g.value().to_vec()))
        })
    }

    fn scan(
        &self,
        t: Table,
        range: KeyRange<'_>,
        reverse: bool,
        limit: usize,
    ) -> Result<Pairs, StoreError> {
        let path = &self.path;
        guard(path, "reading", || {
            let db = self.read();
            let txn = db.begin_read().map_err(|e| err(path, "read", e))?;
            let table = txn.open_table(def(t)).map_err(|e| err(path, "read", e))?;
            let iter = table
                .range::<&[u8]>(range)
                .map_err(|e| err(path, "read", e))?;
            let mut out = Vec::new();
            let mut push = |item: Result<_, redb::StorageError>| -> Result<bool, StoreError> {
                let (k, v): (redb::AccessGuard<'_, &[u8]>, redb::AccessGuard<'_, &[u8]>) =
                    item.map_err(|e| err(path, "read", e))?;
                out.push((k.value().to_vec(), v.value().to_vec()));
                Ok(out.len() < limit)
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
            let db = self.read();
            let txn = db.begin_read().map_err(|e| err(path, "read", e))?;
            let table = txn.open_table(def(t)).map_err(|e| err(path, "read", e))?;
            table.len().map_err(|e| err(path, "read", e))
        })
    }

    fn compact(&self) -> Result<bool, StoreError> {
        let path = &self.path;
        guard(path, "compacting", || {
            let mut db = self.write();
            let mut any = false;
            // Each call moves pages down and truncates; repeat until it has nothing left to do.
            for _ in 0..32 {
                if !db.compact().map_err(|e| err(path, "compact", e))? {
                    break;
                }
                any = true;
            }
            Ok(any)
        })
    }
}
