//! Advisories kept in the state directory (the store's `meta` table, one entry each under
//! `advisory/<tracking id>`), so `run`, `replay --state` and `serve` match devices against
//! what `edgetap advisories import` read.

use super::Advisory;
use crate::store::{Store, Table};
use std::ops::Bound;

const PREFIX: &[u8] = b"advisory/";
/// The key just past every `advisory/...` key ('0' follows '/').
const END: &[u8] = b"advisory0";

/// Keep `advs` (replacing an advisory of the same id).
pub fn save(store: &Store, advs: &[Advisory]) -> anyhow::Result<()> {
    for a in advs {
        let mut k = PREFIX.to_vec();
        k.extend_from_slice(a.id.as_bytes());
        store.put(Table::Meta, &k, &serde_json::to_vec(a)?)?;
    }
    Ok(())
}

/// Every advisory kept; entries that no longer parse are skipped with a warning.
pub fn load(store: &Store) -> anyhow::Result<Vec<Advisory>> {
    let pairs = store.scan(
        Table::Meta,
        (Bound::Included(PREFIX), Bound::Excluded(END)),
        false,
        usize::MAX,
    )?;
    let mut out = Vec::with_capacity(pairs.len());
    for (k, v) in pairs {
        match serde_json::from_slice::<Advisory>(&v) {
            Ok(a) => out.push(a),
            Err(e) => tracing::warn!(
                "{}: advisory {} unreadable ({e}); import it again",
                store.dir().display(),
                String::from_utf8_lossy(&k)
            ),
        }
    }
    Ok(out)
}
