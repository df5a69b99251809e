//! What the HTTP API shows, as one immutable value: the pipeline thread of `run` publishes a
//! new one every second (a pointer swap under a mutex: the API never holds up capture), and
//! `serve` builds one from a state directory. Alerts are not here: they live in the store.

use serde::Serialize;
use std::sync::{Arc, Mutex};

/// The inventory, the peer graph and the counters at one moment.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Snapshot {
    /// `learning` or `protecting`.
    pub mode: String,
    /// Live capture running (`run`), or serving a state directory (`serve`).
    pub capturing: bool,
    /// Devices as `identify::Device` JSON (id, name, macs, ips, vendor, roles, facts, labels,
    /// known, internal, first_ns, last_ns), sorted by id.
    pub devices: Vec<serde_json::Value>,
    /// `{"nodes": [...], "edges": [...]}` (see `replay::graph_json`).
    pub graph: serde_json::Value,
    /// Counters: packets, bytes, drops {kernel, interface, queue, flows_evicted, ...}, flows,
    /// pdus {proto: n}, alerts {category: n}, store_bytes, devices, edges.
    pub stats: serde_json::Value,
    /// Packet time of the last packet seen (ns since the epoch), 0 when none.
    pub packet_time_ns: u64,
}

/// The latest snapshot, shared between the publisher and the API.
#[derive(Clone, Default)]
pub struct Shared(Arc<Mutex<Arc<Snapshot>>>);

impl Shared {
    pub fn new(s: Snapshot) -> Shared {
        Shared(Arc::new(Mutex::new(Arc::new(s))))
    }
    /// The current snapshot (cheap: an `Arc` clone).
    pub fn get(&self) -> Arc<Snapshot> {
        match self.0.lock() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }
    pub fn set(&self, s: Snapshot) {
        let mut s = Arc::new(s);
        match self.0.lock() {
            Ok(mut g) => std::mem::swap(&mut *g, &mut s),
            Err(p) => std::mem::swap(&mut *p.into_inner(), &mut s),
        }
        // The old snapshot is freed here, after the lock is released (a large one takes
        // milliseconds to free).
        drop(s);
    }
}

/// What the API asks of the pipeline thread (`run` only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Switch to learning: what is seen from now on is normal.
    Learn,
    /// Switch to protection.
    Protect,
    /// "Learn this": accept the alert's edge or behaviour as normal (by alert id).
    Accept(String),
}
