//! The inventory and the peer graph as the API pages them, with work per request proportional
//! to the page, not to the whole inventory.
//!
//! Each [`Snapshot`] gets, lazily and at most once, a small index ([`Views`]): the order of its
//! devices, and the order of its graph's items (edge and node ends as ranks into a table of
//! the snapshot's strings, so that building it is a sort of small integer tuples). Requests
//! find their page by binary search and serialise only that page's values, borrowed from the
//! snapshot. [`ViewCache`] keeps the views of the newest snapshot asked about, and answers
//! from the previous one's while those are being built.
//!
//! Pages are keyset pages: a cursor (hex, opaque to clients) is the sort key of the last item
//! returned and an exclusive lower bound for the next page, so walking the pages gives every
//! item once even while new snapshots are published (items that sort before the cursor when
//! they appear are seen by the next walk).
//!
//! - Devices: sorted by id.
//! - Graph: the items are the edges, sorted by (client, server, transport, port, first seen),
//!   then the nodes no edge touches (devices without edges), sorted by id. A page holds at
//!   most `limit` items; its `nodes` are the nodes its edges reference plus its isolated
//!   nodes, in inventory order. Walking the pages gives every edge once, every isolated node
//!   once and every other node at least once (on each page holding one of its edges). When the
//!   graph has at most `limit` items the first page is the whole graph.
//!
//! Keys end with a rank among items of the same key, almost always 0: the same device id twice
//! is not expected, but the graph does hold the odd pair of edges with the same ends,
//! transport and port (the scenario's DHCP edges), told apart by first time and, failing that,
//! by this rank.

use super::ApiError;
use crate::snapshot::Snapshot;
use serde::Serialize;
use serde_json::{json, Value};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Longest cursor (bytes before hex encoding).
pub const MAX_CURSOR_BYTES: usize = 4096;

/// How long after a snapshot was last the newest one asked about the API may still answer
/// from it while the indexes of its successor are built.
pub const STALE_MAX: Duration = Duration::from_secs(2);

/// Which index.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Devices = 0,
    Graph = 1,
}

/// A snapshot and its derived indexes, each built once, on first use.
pub struct Views {
    pub snap: Arc<Snapshot>,
    devices: OnceLock<DeviceIndex>,
    graph: OnceLock<GraphIndex>,
    /// A background build of each index was started.
    building: [AtomicBool; 2],
    /// Order of creation in the cache.
    gen: u64,
    /// When a request last found these the newest views (ms since [`epoch`]).
    seen_ms: AtomicU64,
}

fn epoch() -> Instant {
    static E: OnceLock<Instant> = OnceLock::new();
    *E.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Views {
    pub fn devices(&self) -> &DeviceIndex {
        self.devices
            .get_or_init(|| DeviceIndex::new(&self.snap.devices))
    }
    pub fn graph(&self) -> &GraphIndex {
        self.graph.get_or_init(|| GraphIndex::new(&self.snap.graph))
    }
    fn built(&self, k: Kind) -> bool {
        match k {
            Kind::Devices => self.devices.get().is_some(),
            Kind::Graph => self.graph.get().is_some(),
        }
    }
    fn build(&self, k: Kind) {
        match k {
            Kind::Devices => {
                self.devices();
            }
            Kind::Graph => {
                self.graph();
            }
        }
    }
}

#[derive(Default)]
struct CacheState {
    gen: u64,
    /// The views of the newest snapshot asked about.
    newest: Option<Arc<Views>>,
    /// Per index, the newest views with it built.
    ready: [Option<Arc<Views>>; 2],
    /// When a request last came ([`now_ms`]).
    used_ms: u64,
}

/// The views requests answer from. Building the indexes of a large snapshot takes tens of
/// milliseconds; while they are built (on the blocking pool), requests answer from the
/// previous snapshot's, if a request saw that one as the newest less than [`STALE_MAX`] ago
/// (otherwise they wait for the build). Everything here may free a snapshot: call it off the
/// async workers.
#[derive(Default)]
pub struct ViewCache(Mutex<CacheState>);

impl ViewCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, CacheState> {
        match self.0.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The views to answer a request for index `k` from, `s` being the newest snapshot.
    pub fn get(self: &Arc<Self>, s: Arc<Snapshot>, k: Kind) -> Arc<Views> {
        let now = now_ms();
        let mut freed = Vec::new();
        let (v, fallback) = {
            let mut st = self.lock();
            st.used_ms = now;
            let v = match &st.newest {
                Some(v) if Arc::ptr_eq(&v.snap, &s) => Arc::clone(v),
                _ => {
                    st.gen += 1;
                    let v = Arc::new(Views {
                        snap: s,
                        devices: OnceLock::new(),
                        graph: OnceLock::new(),
                        building: [AtomicBool::new(false), AtomicBool::new(false)],
                        gen: st.gen,
                        seen_ms: AtomicU64::new(now),
                    });
                    freed.extend(st.newest.replace(Arc::clone(&v)));
                    v
                }
            };
            v.seen_ms.store(now, AtomicOrdering::Relaxed);
            let fallback = if v.built(k) {
                None
            } else {
                st.ready[k as usize].clone().filter(|r| {
                    now.saturating_sub(r.seen_ms.load(AtomicOrdering::Relaxed))
                        < STALE_MAX.as_millis() as u64
                })
            };
            (v, fallback)
        };
        // Freed, if last, outside the lock.
        drop(freed);
        let runtime = tokio::runtime::Handle::try_current();
        match (fallback, runtime) {
            (Some(old), Ok(rt)) => {
                if !v.building[k as usize].swap(true, AtomicOrdering::Relaxed) {
                    let cache = Arc::clone(self);
                    rt.spawn_blocking(move || {
                        v.build(k);
                        cache.ready(k, v);
                    });
                }
                old
            }
            _ => {
                v.build(k);
                self.ready(k, Arc::clone(&v));
                v
            }
        }
    }

    fn ready(&self, k: Kind, v: Arc<Views>) {
        let old = {
            let mut st = self.lock();
            let slot = &mut st.ready[k as usize];
            if slot.as_ref().is_some_and(|r| r.gen >= v.gen) {
                Some(v)
            } else {
                slot.replace(v)
            }
        };
        drop(old);
    }

    /// Lets go of everything when no request came for [`STALE_MAX`] (the snapshots held here
    /// would otherwise outlive their successors while nobody asks); what was held, to free.
    pub fn trim(&self) -> Vec<Arc<Views>> {
        self.trim_at(now_ms())
    }

    fn trim_at(&self, now: u64) -> Vec<Arc<Views>> {
        let mut st = self.lock();
        if now.saturating_sub(st.used_ms) < STALE_MAX.as_millis() as u64 {
            return Vec::new();
        }
        let [a, b] = std::mem::take(&mut st.ready);
        [st.newest.take(), a, b].into_iter().flatten().collect()
    }
}

fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

fn list<'a>(g: &'a Value, k: &str) -> &'a [Value] {
    g.get(k)
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice)
}

/// Ranks of items sorted by key (stably, so in snapshot order within a key): each item's place
/// among the items of the same key.
fn dup_ranks<T>(sorted: &[T], same: impl Fn(&T, &T) -> bool) -> Vec<u32> {
    let mut out = Vec::with_capacity(sorted.len());
    for (i, x) in sorted.iter().enumerate() {
        out.push(match i.checked_sub(1) {
            Some(p) if same(&sorted[p], x) => out[p] + 1,
            _ => 0,
        });
    }
    out
}

/// Devices in page order, and by name.
pub struct DeviceIndex {
    /// (index into `Snapshot::devices`, rank among devices of the same id), sorted by id.
    order: Vec<(u32, u32)>,
    by_name: OnceLock<HashMap<String, u32>>,
}

impl DeviceIndex {
    fn new(devices: &[Value]) -> DeviceIndex {
        let mut ix: Vec<u32> = (0..devices.len() as u32).collect();
        let id = |i: &u32| str_of(&devices[*i as usize], "id");
        // Snapshots hold devices sorted by id already: then this is one pass.
        if !ix.is_sorted_by(|a, b| id(a) <= id(b)) {
            ix.sort_by(|a, b| id(a).cmp(id(b)));
        }
        let dups = dup_ranks(&ix, |a, b| id(a) == id(b));
        DeviceIndex {
            order: ix.into_iter().zip(dups).collect(),
            by_name: OnceLock::new(),
        }
    }

    /// The device of this id, else of this name (the one of lowest id).
    pub fn find<'a>(&self, devices: &'a [Value], id: &str) -> Option<&'a Value> {
        let of = |i: u32| str_of(&devices[i as usize], "id");
        let p = self.order.partition_point(|(i, _)| of(*i) < id);
        if let Some((i, _)) = self.order.get(p).filter(|(i, _)| of(*i) == id) {
            return devices.get(*i as usize);
        }
        // By name: rarer, so indexed on first use.
        let by_name = self.by_name.get_or_init(|| {
            let mut m = HashMap::new();
            for (i, _) in &self.order {
                if let Some(n) = devices[*i as usize].get("name").and_then(Value::as_str) {
                    m.entry(n.to_string()).or_insert(*i);
                }
            }
            m
        });
        by_name.get(id).and_then(|i| devices.get(*i as usize))
    }

    /// The page after `cursor`.
    pub fn page<'a>(
        &self,
        devices: &'a [Value],
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> DevicePage<'a> {
        let key = |(i, dup): &(u32, u32)| (str_of(&devices[*i as usize], "id").as_bytes(), *dup);
        let start = match cursor {
            Some(Cursor::Device { id, dup }) => self
                .order
                .partition_point(|x| key(x) <= (id.as_bytes(), *dup)),
            _ => 0,
        };
        let end = start.saturating_add(limit).min(self.order.len());
        let items = &self.order[start..end];
        DevicePage {
            devices: items.iter().map(|(i, _)| &devices[*i as usize]).collect(),
            next: (end < self.order.len())
                .then(|| {
                    items.last().map(|(i, dup)| {
                        Cursor::Device {
                            id: str_of(&devices[*i as usize], "id").to_string(),
                            dup: *dup,
                        }
                        .encode()
                    })
                })
                .flatten(),
        }
    }
}

#[derive(Serialize)]
pub struct DevicePage<'a> {
    pub devices: Vec<&'a Value>,
    pub next: Option<String>,
}

/// An item's sort key; strings as ranks into [`GraphIndex::strs`], so ordered as the strings
/// are. Edges sort before nodes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Edge {
        client: u32,
        server: u32,
        transport: u32,
        port: u64,
        first_ns: u64,
    },
    Node {
        id: u32,
    },
}

#[derive(Clone, Copy)]
enum Item {
    /// An edge and the nodes of its client and server (indexes into `nodes`).
    Edge {
        edge: u32,
        client: Option<u32>,
        server: Option<u32>,
    },
    /// A node no edge touches.
    Node(u32),
}

/// The graph's items in page order.
pub struct GraphIndex {
    /// The ids and transports of the graph, sorted and unique.
    strs: Vec<String>,
    /// Sort key, rank among items of that key, and item; sorted.
    items: Vec<(Key, u32, Item)>,
    pub edges: usize,
    pub isolated: usize,
}

impl GraphIndex {
    fn new(g: &Value) -> GraphIndex {
        let nodes = list(g, "nodes");
        let edges = list(g, "edges");
        // Strings to provisional numbers, then to ranks.
        let mut num: HashMap<&str, u32> = HashMap::with_capacity(nodes.len() + 8);
        let mut strs: Vec<&str> = Vec::with_capacity(nodes.len() + 8);
        let mut intern = |s| {
            *num.entry(s).or_insert_with(|| {
                strs.push(s);
                (strs.len() - 1) as u32
            })
        };
        let node_ids: Vec<u32> = nodes.iter().map(|n| intern(str_of(n, "id"))).collect();
        let edge_strs: Vec<[u32; 3]> = edges
            .iter()
            .map(|e| {
                [
                    intern(str_of(e, "client")),
                    intern(str_of(e, "server")),
                    intern(str_of(e, "transport")),
                ]
            })
            .collect();
        let mut by_str: Vec<u32> = (0..strs.len() as u32).collect();
        by_str.sort_unstable_by(|a, b| strs[*a as usize].cmp(strs[*b as usize]));
        let mut rank = vec![0u32; strs.len()];
        for (r, s) in by_str.iter().enumerate() {
            rank[*s as usize] = r as u32;
        }
        // The node of each id (the first of that id).
        let mut node_of: Vec<Option<u32>> = vec![None; strs.len()];
        for (i, s) in node_ids.iter().enumerate().rev() {
            node_of[*s as usize] = Some(i as u32);
        }
        let mut touched = vec![false; nodes.len()];
        let mut keyed: Vec<(Key, Item)> = Vec::with_capacity(edges.len() + nodes.len());
        for (i, (e, [c, s, t])) in edges.iter().zip(&edge_strs).enumerate() {
            let (client, server) = (node_of[*c as usize], node_of[*s as usize]);
            for n in [client, server].into_iter().flatten() {
                touched[n as usize] = true;
            }
            let num = |k: &str, none: u64| e.get(k).and_then(Value::as_u64).unwrap_or(none);
            keyed.push((
                Key::Edge {
                    client: rank[*c as usize],
                    server: rank[*s as usize],
                    transport: rank[*t as usize],
                    port: num("port", u64::MAX),
                    first_ns: num("first_ns", 0),
                },
                Item::Edge {
                    edge: i as u32,
                    client,
                    server,
                },
            ));
        }
        let n_edges = keyed.len();
        for (i, id) in node_ids.iter().enumerate() {
            if !touched[i] {
                keyed.push((
                    Key::Node {
                        id: rank[*id as usize],
                    },
                    Item::Node(i as u32),
                ));
            }
        }
        // Stable: items of the same key stay in snapshot order.
        keyed.sort_by_key(|(k, _)| *k);
        let dups = dup_ranks(&keyed, |a, b| a.0 == b.0);
        GraphIndex {
            strs: by_str
                .iter()
                .map(|s| strs[*s as usize].to_string())
                .collect(),
            isolated: keyed.len() - n_edges,
            edges: n_edges,
            items: keyed
                .into_iter()
                .zip(dups)
                .map(|((k, it), d)| (k, d, it))
                .collect(),
        }
    }

    fn cursor_of(&self, key: &Key, dup: u32) -> Cursor {
        let s = |r: u32| self.strs[r as usize].clone();
        match *key {
            Key::Edge {
                client,
                server,
                transport,
                port,
                first_ns,
            } => Cursor::Edge {
                client: s(client),
                server: s(server),
                transport: s(transport),
                port,
                first_ns,
                dup,
            },
            Key::Node { id } => Cursor::Node { id: s(id), dup },
        }
    }

    /// How the item `(key, dup)` sorts against a cursor.
    fn cmp_cursor(&self, key: &Key, dup: u32, c: &Cursor) -> Ordering {
        let s = |r: u32| self.strs[r as usize].as_bytes();
        match (*key, c) {
            (
                Key::Edge {
                    client,
                    server,
                    transport,
                    port,
                    first_ns,
                },
                Cursor::Edge {
                    client: cc,
                    server: cs,
                    transport: ct,
                    port: cp,
                    first_ns: cf,
                    dup: cd,
                },
            ) => (s(client), s(server), s(transport), port, first_ns, dup).cmp(&(
                cc.as_bytes(),
                cs.as_bytes(),
                ct.as_bytes(),
                *cp,
                *cf,
                *cd,
            )),
            (Key::Node { id }, Cursor::Node { id: ci, dup: cd }) => {
                (s(id), dup).cmp(&(ci.as_bytes(), *cd))
            }
            (Key::Edge { .. }, _) => Ordering::Less,
            (Key::Node { .. }, _) => Ordering::Greater,
        }
    }

    /// The page after `cursor`.
    pub fn page<'a>(&self, g: &'a Value, cursor: Option<&Cursor>, limit: usize) -> GraphPage<'a> {
        let (nodes, edges) = (list(g, "nodes"), list(g, "edges"));
        let start = cursor.map_or(0, |c| {
            self.items
                .partition_point(|(k, d, _)| self.cmp_cursor(k, *d, c) != Ordering::Greater)
        });
        let end = start.saturating_add(limit).min(self.items.len());
        let items = &self.items[start..end];
        let mut node_ix = Vec::with_capacity(items.len() * 2);
        let mut page_edges = Vec::with_capacity(items.len());
        for (_, _, it) in items {
            match *it {
                Item::Edge {
                    edge,
                    client,
                    server,
                } => {
                    page_edges.extend(edges.get(edge as usize));
                    node_ix.extend(client);
                    node_ix.extend(server);
                }
                Item::Node(n) => node_ix.push(n),
            }
        }
        node_ix.sort_unstable();
        node_ix.dedup();
        GraphPage {
            nodes: node_ix
                .iter()
                .filter_map(|n| nodes.get(*n as usize))
                .collect(),
            edges: page_edges,
            items: items.len(),
            next: (end < self.items.len())
                .then(|| items.last().map(|(k, d, _)| self.cursor_of(k, *d).encode()))
                .flatten(),
        }
    }
}

#[derive(Serialize)]
pub struct GraphPage<'a> {
    pub nodes: Vec<&'a Value>,
    pub edges: Vec<&'a Value>,
    pub next: Option<String>,
    /// Edges and isolated nodes in the page.
    #[serde(skip)]
    pub items: usize,
}

/// Where a page ends: the key of its last item. On the wire, the hex of a JSON array
/// (`["d", id, rank]`, `["e", client, server, transport, port, first_ns, rank]`,
/// `["n", id, rank]`); clients only give it back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cursor {
    Device {
        id: String,
        dup: u32,
    },
    Edge {
        client: String,
        server: String,
        transport: String,
        port: u64,
        first_ns: u64,
        dup: u32,
    },
    Node {
        id: String,
        dup: u32,
    },
}

impl Cursor {
    pub fn encode(&self) -> String {
        let v = match self {
            Cursor::Device { id, dup } => json!(["d", id, dup]),
            Cursor::Edge {
                client,
                server,
                transport,
                port,
                first_ns,
                dup,
            } => json!(["e", client, server, transport, port, first_ns, dup]),
            Cursor::Node { id, dup } => json!(["n", id, dup]),
        };
        super::alerts::encode_cursor(v.to_string().as_bytes())
    }

    /// A cursor of a devices page (`graph` false) or of a graph page.
    pub fn decode(s: &str, graph: bool) -> Result<Cursor, ApiError> {
        let bad = || {
            ApiError::bad(format!(
                "bad cursor {:?}: give back the `next` of a previous page of {}",
                super::clip(s),
                if graph {
                    "/api/v1/graph"
                } else {
                    "/api/v1/devices"
                }
            ))
        };
        if s.is_empty() || !s.len().is_multiple_of(2) || s.len() > 2 * MAX_CURSOR_BYTES {
            return Err(bad());
        }
        let h = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        let bytes = s
            .as_bytes()
            .chunks_exact(2)
            .map(|p| Some(h(p[0])? << 4 | h(p[1])?))
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(bad)?;
        let v: Vec<Value> = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        let text = |i: usize| v.get(i).and_then(Value::as_str).map(str::to_string);
        let int = |i: usize| v.get(i).and_then(Value::as_u64);
        let dup = |i: usize| int(i).and_then(|d| u32::try_from(d).ok());
        let c = match (v.first().and_then(Value::as_str), v.len(), graph) {
            (Some("d"), 3, false) => Cursor::Device {
                id: text(1).ok_or_else(bad)?,
                dup: dup(2).ok_or_else(bad)?,
            },
            (Some("e"), 7, true) => Cursor::Edge {
                client: text(1).ok_or_else(bad)?,
                server: text(2).ok_or_else(bad)?,
                transport: text(3).ok_or_else(bad)?,
                port: int(4).ok_or_else(bad)?,
                first_ns: int(5).ok_or_else(bad)?,
                dup: dup(6).ok_or_else(bad)?,
            },
            (Some("n"), 3, true) => Cursor::Node {
                id: text(1).ok_or_else(bad)?,
                dup: dup(2).ok_or_else(bad)?,
            },
            _ => return Err(bad()),
        };
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn graph(n_nodes: usize, edges: &[(usize, usize, u16)]) -> Value {
        let nodes: Vec<Value> = (0..n_nodes)
            .rev()
            .map(|i| json!({"id": format!("d{i:02}"), "name": format!("n{i}"), "roles": []}))
            .collect();
        let edges: Vec<Value> = edges
            .iter()
            .map(|(c, s, p)| {
                json!({"client": format!("d{c:02}"), "server": format!("d{s:02}"),
                       "transport": "tcp", "port": p, "first_ns": 5})
            })
            .collect();
        json!({"nodes": nodes, "edges": edges})
    }

    fn roundtrip(c: Option<String>, graph: bool) -> Option<Cursor> {
        c.map(|n| Cursor::decode(&n, graph).unwrap())
    }

    #[test]
    fn graph_walks_give_every_edge_and_isolated_node_once() {
        // Twice the same ends, transport, port and time: not expected, but paged right.
        let edges = [
            (1, 2, 502),
            (1, 2, 80),
            (3, 1, 1883),
            (2, 3, 9),
            (4, 5, 22),
            (3, 1, 1883),
        ];
        let g = graph(9, &edges);
        let idx = GraphIndex::new(&g);
        assert_eq!((idx.edges, idx.isolated), (6, 4));
        for limit in 1..=11 {
            let (mut seen_e, mut seen_n, mut cursor) = (Vec::new(), Vec::new(), None);
            loop {
                let p = idx.page(&g, cursor.as_ref(), limit);
                let ids: Vec<&str> = p.nodes.iter().map(|n| str_of(n, "id")).collect();
                for e in &p.edges {
                    assert!(ids.contains(&str_of(e, "client")), "{e}");
                    assert!(ids.contains(&str_of(e, "server")), "{e}");
                }
                let isolated: Vec<&str> = ids
                    .iter()
                    .copied()
                    .filter(|i| ["d00", "d06", "d07", "d08"].contains(i))
                    .collect();
                assert_eq!(p.items, p.edges.len() + isolated.len());
                assert!(p.items <= limit && p.items > 0, "limit {limit}");
                seen_e.extend(
                    p.edges
                        .iter()
                        .map(|e| (str_of(e, "client").to_string(), e["port"].clone())),
                );
                seen_n.extend(isolated.iter().map(|s| s.to_string()));
                cursor = roundtrip(p.next, true);
                if cursor.is_none() {
                    break;
                }
            }
            assert_eq!(seen_e.len(), 6, "limit {limit}: {seen_e:?}");
            // Sorted by client, server, transport, then port as a number.
            assert_eq!(seen_e[0], ("d01".to_string(), json!(80)));
            assert_eq!(seen_e[1], ("d01".to_string(), json!(502)));
            assert_eq!(seen_e[3], ("d03".to_string(), json!(1883)));
            assert_eq!(seen_e[4], ("d03".to_string(), json!(1883)));
            // Within a page, nodes are in inventory order.
            seen_n.sort();
            assert_eq!(seen_n, ["d00", "d06", "d07", "d08"], "limit {limit}");
        }
        // Everything fits: the whole graph, nodes in inventory order.
        let p = idx.page(&g, None, 500);
        assert!(p.next.is_none());
        assert_eq!(p.nodes.len(), 9);
        assert_eq!(str_of(p.nodes[0], "id"), "d08");
        let none = json!({});
        let empty = GraphIndex::new(&none);
        let p = empty.page(&none, None, 5);
        assert!(p.nodes.is_empty() && p.edges.is_empty() && p.next.is_none());
    }

    #[test]
    fn devices_by_id_name_and_pages() {
        let mut devices: Vec<Value> = (0..7)
            .map(|i| json!({"id": format!("d{i}"), "name": if i == 3 { json!("plc") } else { json!(null) }}))
            .collect();
        // Out of order, and the same id twice: both are walked.
        devices.swap(0, 6);
        devices.push(json!({"id": "d5", "name": "twin"}));
        let idx = DeviceIndex::new(&devices);
        assert_eq!(idx.find(&devices, "d4").unwrap()["id"], "d4");
        assert_eq!(idx.find(&devices, "plc").unwrap()["id"], "d3");
        assert_eq!(idx.find(&devices, "d5").unwrap()["name"], json!(null));
        assert_eq!(idx.find(&devices, "twin").unwrap()["id"], "d5");
        assert!(idx.find(&devices, "nope").is_none());
        for limit in 1..=9 {
            let (mut walked, mut cursor) = (Vec::new(), None);
            loop {
                let p = idx.page(&devices, cursor.as_ref(), limit);
                assert!(!p.devices.is_empty() && p.devices.len() <= limit);
                walked.extend(p.devices.iter().map(|d| str_of(d, "id").to_string()));
                cursor = roundtrip(p.next, false);
                if cursor.is_none() {
                    break;
                }
            }
            assert_eq!(walked, ["d0", "d1", "d2", "d3", "d4", "d5", "d5", "d6"]);
        }
        // A cursor past everything: an empty last page.
        let end = Cursor::Device {
            id: "e".into(),
            dup: 0,
        };
        let p = idx.page(&devices, Some(&end), 3);
        assert!(p.devices.is_empty() && p.next.is_none());
    }

    #[test]
    fn cursors_round_trip_and_reject_junk() {
        for (c, graph) in [
            (
                Cursor::Device {
                    id: "d\u{0}\"x".into(),
                    dup: 1,
                },
                false,
            ),
            (
                Cursor::Edge {
                    client: "a".into(),
                    server: "b".into(),
                    transport: "tcp".into(),
                    port: 502,
                    first_ns: u64::MAX,
                    dup: 0,
                },
                true,
            ),
            (
                Cursor::Node {
                    id: "n".into(),
                    dup: 0,
                },
                true,
            ),
        ] {
            let s = c.encode();
            assert!(s
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
            assert_eq!(Cursor::decode(&s, graph).unwrap(), c);
            // Not a cursor of the other endpoint.
            assert!(Cursor::decode(&s, !graph).is_err());
        }
        let hex = |s: &str| super::super::alerts::encode_cursor(s.as_bytes());
        for bad in [
            String::new(),
            "0".into(),
            "zz".into(),
            "0A".into(),
            hex("[\"d\", \"x\"]"),
            hex("[\"d\", 1, 0]"),
            hex("[\"d\", \"x\", -1]"),
            hex("[\"d\", \"x\", 0, 0]"),
            hex("[\"x\", \"x\", 0]"),
            hex("{}"),
            "0".repeat(2 * MAX_CURSOR_BYTES + 2),
        ] {
            assert!(Cursor::decode(&bad, false).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn views_follow_the_snapshot() {
        let cache = Arc::new(ViewCache::default());
        let a = Arc::new(Snapshot::default());
        let b = Arc::new(Snapshot::default());
        let va = cache.get(Arc::clone(&a), Kind::Graph);
        assert!(va.built(Kind::Graph) && !va.built(Kind::Devices));
        assert!(Arc::ptr_eq(&va, &cache.get(Arc::clone(&a), Kind::Graph)));
        // Outside a runtime, the new views are built at once.
        let vb = cache.get(Arc::clone(&b), Kind::Graph);
        assert!(Arc::ptr_eq(&vb.snap, &b) && vb.built(Kind::Graph));
        assert!(cache.trim().is_empty(), "just used");
    }

    #[test]
    fn views_answer_from_the_previous_snapshot_while_building() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let _in = rt.enter();
        let cache = Arc::new(ViewCache::default());
        let a = Arc::new(Snapshot::default());
        let b = Arc::new(Snapshot::default());
        let va = cache.get(Arc::clone(&a), Kind::Devices);
        assert!(Arc::ptr_eq(&va.snap, &a));
        // b is new: a answers while b's index is built in the background, then b.
        let first = cache.get(Arc::clone(&b), Kind::Devices);
        assert!(Arc::ptr_eq(&first.snap, &a) || Arc::ptr_eq(&first.snap, &b));
        let t0 = Instant::now();
        while !Arc::ptr_eq(&cache.get(Arc::clone(&b), Kind::Devices).snap, &b) {
            assert!(t0.elapsed() < Duration::from_secs(10));
            std::thread::sleep(Duration::from_millis(1));
        }
        // The graph of b was never built: with no graph views ready at all, built at once.
        assert!(Arc::ptr_eq(
            &cache.get(Arc::clone(&b), Kind::Graph).snap,
            &b
        ));
        // Long unused: let go of.
        assert!(cache.trim().is_empty());
        assert!(!cache
            .trim_at(now_ms() + STALE_MAX.as_millis() as u64)
            .is_empty());
        assert!(cache.lock().newest.is_none());
    }

    /// `cargo test --release -p edgetap --lib index_build_time -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn index_build_time() {
        let n = 6000;
        let id = |i: usize| format!("d{:016x}", (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let mut devices: Vec<Value> = (0..n)
            .map(|i| json!({"id": id(i), "name": format!("dev{i}"), "facts": [], "ips": []}))
            .collect();
        devices.sort_by(|a, b| str_of(a, "id").cmp(str_of(b, "id")));
        let nodes: Vec<Value> = (0..n)
            .map(|i| json!({"id": id(i), "name": format!("dev{i}"), "roles": ["x"]}))
            .collect();
        let edges: Vec<Value> = (0..27_000)
            .map(|k| {
                json!({"client": id(k % n), "server": id((k * 7 + 1) % n), "transport": "tcp",
                       "port": k % 1000, "first_ns": k, "operations": [], "packets": [1, 2]})
            })
            .collect();
        let g = json!({"nodes": nodes, "edges": edges});
        for _ in 0..3 {
            let t = std::time::Instant::now();
            let d = DeviceIndex::new(&devices);
            let t1 = t.elapsed();
            let gi = GraphIndex::new(&g);
            let t2 = t.elapsed();
            let c = roundtrip(gi.page(&g, None, 500).next, true);
            let body = serde_json::to_vec(&gi.page(&g, c.as_ref(), 500)).unwrap();
            let t3 = t.elapsed();
            let body2 = serde_json::to_vec(&d.page(&devices, None, 500)).unwrap();
            let t4 = t.elapsed();
            eprintln!(
                "devices index {t1:?}, graph index {:?}, two graph pages {:?} ({} B), \
                 devices page {:?} ({} B)",
                t2 - t1,
                t3 - t2,
                body.len(),
                t4 - t3,
                body2.len()
            );
        }
    }
}
