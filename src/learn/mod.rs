//! Stage 7: what is normal. The peer graph (who talks to whom, over what, doing which
//! operations) and per-device and per-edge baselines over fixed windows of packet time, kept
//! as distributions ([`sketch::Sketch`]) so rules can ask for percentiles.
//!
//! Everything seen while learning is marked learned; in protection the same structures keep
//! growing (the API shows them) but only learned entries count as normal.

pub mod sketch;

use crate::identify::DevIdx;
use edgetap_dissectors::Proto;
use serde::{Deserialize, Serialize};
use sketch::Sketch;
use std::collections::HashMap;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// The metrics kept per device per window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BMetric {
    BytesOut,
    BytesIn,
    PacketsOut,
    PacketsIn,
    ConnectionsOut,
    ConnectionsIn,
    DistinctPeers,
    DistinctPorts,
    /// Producer/consumer ratio (out - in) / (out + in), in [-1, 1].
    PcRatio,
}

pub const N_BMETRIC: usize = 9;

impl BMetric {
    pub const ALL: [BMetric; N_BMETRIC] = [
        BMetric::BytesOut,
        BMetric::BytesIn,
        BMetric::PacketsOut,
        BMetric::PacketsIn,
        BMetric::ConnectionsOut,
        BMetric::ConnectionsIn,
        BMetric::DistinctPeers,
        BMetric::DistinctPorts,
        BMetric::PcRatio,
    ];
    pub fn name(self) -> &'static str {
        match self {
            BMetric::BytesOut => "bytes_out",
            BMetric::BytesIn => "bytes_in",
            BMetric::PacketsOut => "packets_out",
            BMetric::PacketsIn => "packets_in",
            BMetric::ConnectionsOut => "connections_out",
            BMetric::ConnectionsIn => "connections_in",
            BMetric::DistinctPeers => "distinct_peers",
            BMetric::DistinctPorts => "distinct_ports",
            BMetric::PcRatio => "pc_ratio",
        }
    }
    pub fn idx(self) -> usize {
        self as usize
    }
    /// Sketches hold non-negative values: the ratio is stored shifted and scaled.
    pub fn to_sketch(self, v: f64) -> f64 {
        match self {
            BMetric::PcRatio => (v + 1.0) * 1000.0,
            _ => v,
        }
    }
    pub fn from_sketch(self, v: f64) -> f64 {
        match self {
            BMetric::PcRatio => v / 1000.0 - 1.0,
            _ => v,
        }
    }
}

/// Distinct values seen in a window, up to a cap (beyond it the count stops growing: the
/// thresholds that matter are far below).
#[derive(Clone, Debug, Default)]
pub struct Distinct(Vec<u32>);

const DISTINCT_CAP: usize = 256;

impl Distinct {
    pub fn add(&mut self, h: u32) {
        if self.0.len() < DISTINCT_CAP && !self.0.contains(&h) {
            self.0.push(h);
        }
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// One device's counters for the current window.
#[derive(Clone, Debug, Default)]
pub struct Window {
    pub idx: u64,
    pub v: [f64; N_BMETRIC],
    pub peers: Distinct,
    pub ports: Distinct,
}

impl Window {
    /// Values at the window's close (distinct counts and the ratio filled in).
    pub fn closed(&self) -> [f64; N_BMETRIC] {
        let mut v = self.v;
        v[BMetric::DistinctPeers.idx()] = self.peers.len() as f64;
        v[BMetric::DistinctPorts.idx()] = self.ports.len() as f64;
        let (o, i) = (v[BMetric::BytesOut.idx()], v[BMetric::BytesIn.idx()]);
        v[BMetric::PcRatio.idx()] = if o + i > 0.0 { (o - i) / (o + i) } else { 0.0 };
        v
    }
    pub fn active(&self) -> bool {
        self.v[BMetric::PacketsOut.idx()] + self.v[BMetric::PacketsIn.idx()] > 0.0
    }
}

/// What was learned about one device.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct DevBaseline {
    /// Windows recorded.
    pub windows: u64,
    pub metrics: Vec<Sketch>,
    /// Gaps between the device's transmissions, in seconds (for "fell silent").
    pub gaps: Sketch,
}

impl DevBaseline {
    pub fn sketch(&self, m: BMetric) -> Option<&Sketch> {
        self.metrics.get(m.idx())
    }
    /// Record a closed window.
    pub fn record(&mut self, v: &[f64; N_BMETRIC]) {
        if self.metrics.len() != N_BMETRIC {
            self.metrics = vec![Sketch::default(); N_BMETRIC];
        }
        for (m, s) in BMetric::ALL.iter().zip(self.metrics.iter_mut()) {
            if *m == BMetric::PcRatio
                && v[BMetric::BytesOut.idx()] + v[BMetric::BytesIn.idx()] == 0.0
            {
                continue;
            }
            s.add(m.to_sketch(v[m.idx()]));
        }
        self.windows += 1;
    }
    pub fn merge(&mut self, o: &DevBaseline) {
        if self.metrics.len() != N_BMETRIC {
            self.metrics = vec![Sketch::default(); N_BMETRIC];
        }
        for (a, b) in self.metrics.iter_mut().zip(o.metrics.iter()) {
            a.merge(b);
        }
        self.gaps.merge(&o.gaps);
        self.windows += o.windows;
    }
}

/// One operation seen on an edge: a Modbus function code per unit with the register range, a
/// BACnet service, an MQTT topic, an OPC-UA service, an AMQP exchange and routing key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Op {
    /// Protocol-specific code: (unit << 16 | function code) for Modbus, the service choice
    /// for BACnet, the request type id for OPC-UA, the packet type for MQTT, the method for
    /// AMQP.
    #[serde(skip)]
    pub code: u32,
    pub name: String,
    /// Topic, exchange/routing key: the operation's object where it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// Register or coil range touched (Modbus).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<(u16, u16)>,
    /// Whether it changes the process (writes, commands, restarts).
    pub control: bool,
    pub count: u64,
    pub first_ns: u64,
    pub last_ns: u64,
    /// Seen while learning (or accepted since).
    pub learned: bool,
    /// The learned part of the range, when the range grew after learning.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learned_range: Option<(u16, u16)>,
}

/// Key of an edge: client device, server device, IP protocol, server port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EdgeKey {
    pub client: DevIdx,
    pub server: DevIdx,
    pub ip_proto: u8,
    pub port: u16,
}

/// One edge of the peer graph.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Edge {
    pub key: EdgeKey,
    pub app: Option<Proto>,
    pub ops: Vec<Op>,
    /// Packets and bytes to the server and to the client.
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    pub flows: u64,
    pub first_ns: u64,
    pub last_ns: u64,
    pub learned: bool,
    /// An alert named this edge.
    pub alerted: bool,
    /// Ops that did not fit (the list is bounded).
    pub ops_dropped: u64,
    /// Folded into another edge when their devices were merged (kept so indices stay valid).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub folded: bool,
    /// Learned by address: seen while learning before both ends were devices, so its
    /// operations were not recorded then and are taken as learned when first seen.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_address: bool,
    /// Bytes to the server per window, and to the client.
    pub base: [Sketch; 2],
    #[serde(skip)]
    pub win: (u64, [u64; 2]),
}

const MAX_OPS: usize = 64;

impl Edge {
    /// Count an operation; returns (index, whether it is learned, including its range).
    #[allow(clippy::too_many_arguments)]
    pub fn op(
        &mut self,
        code: u32,
        object: Option<&str>,
        range: Option<(u16, u16)>,
        control: bool,
        ts: u64,
        learning: bool,
        name: impl FnOnce() -> String,
    ) -> Option<bool> {
        let found = self
            .ops
            .iter_mut()
            .find(|o| o.code == code && o.object.as_deref() == object);
        let op = match found {
            Some(o) => o,
            None => {
                if self.ops.len() >= MAX_OPS {
                    self.ops_dropped += 1;
                    return None;
                }
                self.ops.push(Op {
                    code,
                    name: name(),
                    object: object.map(str::to_string),
                    range,
                    control,
                    count: 0,
                    first_ns: ts,
                    last_ns: ts,
                    learned: learning,
                    learned_range: if learning { range } else { None },
                });
                self.ops.last_mut()?
            }
        };
        op.count += 1;
        op.last_ns = ts;
        if let (Some((lo, hi)), Some((a, b))) = (range, op.range) {
            op.range = Some((lo.min(a), hi.max(b)));
        }
        if learning {
            op.learned = true;
            op.learned_range = match (op.learned_range, range) {
                (Some((a, b)), Some((lo, hi))) => Some((a.min(lo), b.max(hi))),
                (None, r) => r,
                (r, None) => r,
            };
            return Some(true);
        }
        let in_range = match (range, op.learned_range) {
            (Some((lo, hi)), Some((a, b))) => lo >= a && hi <= b,
            (Some(_), None) => false,
            (None, _) => true,
        };
        Some(op.learned && in_range)
    }
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct GraphStats {
    pub edges: u64,
    /// Edges not recorded because the graph was full.
    pub refused_full: u64,
}

/// The peer graph.
#[derive(Default)]
pub struct Graph {
    pub edges: Vec<Edge>,
    index: FastMap<EdgeKey, u32>,
    /// Edges of each device (either end), for merging devices without a full scan.
    by_dev: FastMap<DevIdx, Vec<u32>>,
    pub max_edges: usize,
    pub stats: GraphStats,
}

impl Graph {
    pub fn new(max_edges: usize) -> Graph {
        Graph {
            max_edges,
            ..Graph::default()
        }
    }

    pub fn from_edges(max_edges: usize, edges: Vec<Edge>) -> Graph {
        let mut g = Graph::new(max_edges);
        for (i, e) in edges.iter().enumerate() {
            g.index.insert(e.key, i as u32);
            g.by_dev.entry(e.key.client).or_default().push(i as u32);
            g.by_dev.entry(e.key.server).or_default().push(i as u32);
        }
        g.stats.edges = edges.len() as u64;
        g.edges = edges;
        g
    }

    pub fn find(&self, k: &EdgeKey) -> Option<u32> {
        self.index.get(k).copied()
    }

    /// The edge for `k`, created (learned when `learning`) if new: (index, created).
    pub fn get_or_insert(
        &mut self,
        k: EdgeKey,
        app: Option<Proto>,
        ts: u64,
        learning: bool,
    ) -> Option<(u32, bool)> {
        if let Some(&i) = self.index.get(&k) {
            return Some((i, false));
        }
        if self.edges.len() >= self.max_edges {
            self.stats.refused_full += 1;
            return None;
        }
        let i = self.edges.len() as u32;
        self.edges.push(Edge {
            key: k,
            app,
            ops: Vec::new(),
            packets: [0; 2],
            bytes: [0; 2],
            flows: 0,
            first_ns: ts,
            last_ns: ts,
            learned: learning,
            alerted: false,
            ops_dropped: 0,
            folded: false,
            by_address: false,
            base: Default::default(),
            win: (0, [0; 2]),
        });
        self.index.insert(k, i);
        self.by_dev.entry(k.client).or_default().push(i);
        self.by_dev.entry(k.server).or_default().push(i);
        self.stats.edges += 1;
        Some((i, true))
    }

    pub fn get_mut(&mut self, i: u32) -> Option<&mut Edge> {
        self.edges.get_mut(i as usize)
    }

    /// Device `from` was merged into `into`: its edges become `into`'s (folded into an
    /// existing edge when there is one).
    pub fn merge_device(&mut self, from: DevIdx, into: DevIdx) {
        let list = self.by_dev.remove(&from).unwrap_or_default();
        for &i in &list {
            let Some(e) = self.edges.get(i as usize) else {
                continue;
            };
            let mut k = e.key;
            if k.client != from && k.server != from {
                continue;
            }
            self.index.remove(&k);
            if k.client == from {
                k.client = into;
            }
            if k.server == from {
                k.server = into;
            }
            if let Some(e) = self.edges.get_mut(i as usize) {
                e.key = k;
            }
            match self.index.get(&k).copied() {
                // Two edges now share a key: the one indexed keeps counting, this one's
                // figures and learned state are folded into it.
                Some(keep) if keep != i => {
                    let Some(e) = self.edges.get_mut(i as usize) else {
                        continue;
                    };
                    e.folded = true;
                    let (p, b, f, l, a, first, last) = (
                        e.packets, e.bytes, e.flows, e.learned, e.alerted, e.first_ns, e.last_ns,
                    );
                    if let Some(t) = self.edges.get_mut(keep as usize) {
                        for (x, y) in t.packets.iter_mut().zip(p) {
                            *x += y;
                        }
                        for (x, y) in t.bytes.iter_mut().zip(b) {
                            *x += y;
                        }
                        t.flows += f;
                        t.learned |= l;
                        t.alerted |= a;
                        t.first_ns = t.first_ns.min(first);
                        t.last_ns = t.last_ns.max(last);
                    }
                }
                _ => {
                    self.index.insert(k, i);
                }
            }
        }
        self.by_dev.entry(into).or_default().extend(list);
    }
}

/// Profile of a device for sharing what was learned: vendor and labels (the behaviour of a
/// sensor of a known kind is its siblings' behaviour). `None` when the vendor is unknown.
pub fn profile_key(vendor: Option<&str>, labels: &[String]) -> Option<u64> {
    let v = vendor?;
    let mut parts: Vec<&[u8]> = vec![v.as_bytes()];
    let mut l: Vec<&String> = labels
        .iter()
        .filter(|l| !l.starts_with("profile:"))
        .collect();
    l.sort();
    parts.extend(l.iter().map(|s| s.as_bytes()));
    Some(crate::identify::stable_hash(&parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge() -> Edge {
        let mut g = Graph::new(10);
        let k = EdgeKey {
            client: 0,
            server: 1,
            ip_proto: 6,
            port: 502,
        };
        let (i, _) = g.get_or_insert(k, None, 0, true).unwrap_or((0, false));
        g.edges.swap_remove(i as usize)
    }

    #[test]
    fn register_ranges_are_learned() {
        let mut e = edge();
        assert_eq!(
            e.op(16, None, Some((100, 101)), true, 1, true, || "w".into()),
            Some(true)
        );
        assert_eq!(
            e.op(16, None, Some((100, 101)), true, 2, false, || "w".into()),
            Some(true)
        );
        assert_eq!(
            e.op(16, None, Some((4000, 4000)), true, 3, false, || "w".into()),
            Some(false)
        );
        assert_eq!(
            e.op(6, None, Some((1, 1)), true, 3, false, || "w".into()),
            Some(false)
        );
    }

    #[test]
    fn window_ratio() {
        let mut w = Window::default();
        w.v[BMetric::BytesOut.idx()] = 300.0;
        w.v[BMetric::BytesIn.idx()] = 100.0;
        let c = w.closed();
        assert!((c[BMetric::PcRatio.idx()] - 0.5).abs() < 1e-9);
    }
}
