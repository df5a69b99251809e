//! The snapshot `edgetap serve` shows: built once from a state directory.

use crate::detect::alert::Alert;
use crate::detect::rules::Category;
use crate::replay::{graph_json, load_learned};
use crate::site::{Site, SiteConfig};
use crate::snapshot::Snapshot;
use crate::store::{Store, Table};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::ops::Bound;

/// Key in `Table::Counters` of the last counters a live run saved (a JSON object like the
/// snapshot's `stats`); when present, `serve` shows them instead of the ones derived from the
/// graph.
pub const STATS_KEY: &[u8] = b"stats";

/// A snapshot of what the store holds: the learned devices and graph, counters derived from
/// them (packets, bytes and flows summed over the edges, PDUs per protocol over the edges'
/// operations) or saved by a live run (`Table::Counters`, key `stats`), alerts counted per
/// category. Mode `protecting`, not capturing.
pub fn snapshot_from_store(store: &Store) -> anyhow::Result<Snapshot> {
    let mut site = Site::new(SiteConfig::default(), Vec::new(), Vec::<Alert>::new());
    if let Some(l) = load_learned(store)? {
        site.restore(l);
    }
    site.advisories = std::sync::Arc::new(crate::advisories::state::load(store)?);
    let mut devices: Vec<Value> = site
        .inv
        .live()
        .map(|(i, d)| site.device_record(i, d))
        .collect();
    let id_of = |v: &Value| {
        v.get("id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    devices.sort_by_key(id_of);
    let graph = graph_json(&site);

    let (mut packets, mut bytes, mut flows, mut last_ns) = (0u64, 0u64, 0u64, 0u64);
    let mut pdus: BTreeMap<String, u64> = ["modbus", "bacnet", "mqtt", "amqp", "opcua"]
        .into_iter()
        .map(|p| (p.to_string(), 0))
        .collect();
    for e in &site.graph.edges {
        packets = packets.saturating_add(e.packets[0].saturating_add(e.packets[1]));
        bytes = bytes.saturating_add(e.bytes[0].saturating_add(e.bytes[1]));
        flows = flows.saturating_add(e.flows);
        last_ns = last_ns.max(e.last_ns);
        if let Some(Value::String(p)) = e.app.map(|a| json!(a)) {
            let n: u64 = e.ops.iter().map(|o| o.count).sum();
            *pdus.entry(p).or_insert(0) += n;
        }
    }
    for (_, d) in site.inv.live() {
        last_ns = last_ns.max(d.last_ns);
    }
    let mut alerts: BTreeMap<&str, u64> = Category::ALL.iter().map(|c| (c.name(), 0)).collect();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let range = (
            after.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
            Bound::Unbounded,
        );
        let rows = store.scan(Table::Alerts, range, false, 4096)?;
        let n = rows.len();
        for (k, v) in rows {
            if let Ok(a) = serde_json::from_slice::<Alert>(&v) {
                *alerts.entry(a.category.name()).or_insert(0) += 1;
                last_ns = last_ns.max(a.ts_ns);
            }
            after = Some(k);
        }
        if n < 4096 {
            break;
        }
    }
    let mut stats = Map::new();
    stats.insert("packets".into(), packets.into());
    stats.insert("bytes".into(), bytes.into());
    stats.insert("drops".into(), json!({"kernel": 0, "interface": 0}));
    stats.insert("flows".into(), flows.into());
    stats.insert("pdus".into(), json!(pdus));
    stats.insert("source".into(), "derived".into());
    if let Some(saved) = store.get(Table::Counters, STATS_KEY)? {
        match serde_json::from_slice::<Value>(&saved) {
            Ok(Value::Object(m)) => {
                stats.extend(m);
                stats.insert("source".into(), "saved".into());
            }
            _ => tracing::warn!("{}: saved counters are unreadable", store.dir().display()),
        }
    }
    // What is counted here is always current.
    stats.insert("alerts".into(), json!(alerts));
    stats.insert("store_bytes".into(), store.disk_bytes().into());
    stats.insert("devices".into(), devices.len().into());
    stats.insert(
        "posture".into(),
        json!({"open": crate::site::posture::findings_by_kind(&devices)}),
    );
    stats.insert(
        "advisories".into(),
        crate::advisories::summary(&devices, site.advisories.len()),
    );
    stats.insert(
        "edges".into(),
        site.graph.edges.iter().filter(|e| !e.folded).count().into(),
    );
    Ok(Snapshot {
        mode: "protecting".into(),
        capturing: false,
        devices,
        graph,
        stats: Value::Object(stats),
        packet_time_ns: last_ns,
    })
}
