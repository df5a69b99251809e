//! EVE records besides alerts: flows, protocol transactions, anomalies and counters, in
//! Suricata's own shapes where Suricata has them (`flow`, `modbus`, `mqtt`, `dns`, `dhcp`,
//! `arp`, `anomaly`, `stats`) and in event types of our own for BACnet, AMQP and OPC-UA
//! (documented field by field in `docs/eve.md`). So the pipelines that read Suricata's
//! `eve.json` (Filebeat's Suricata module, Security Onion, Malcolm, Vector, Logstash) read
//! ours as they are, joined to other tools' records by Community ID.
//!
//! The site model calls the [`Recorder`] with what it saw and the devices concerned; records
//! are serialised on the packet path into per-file batches, and a thread of their own writes
//! them ([`writer`]). A full queue drops whole batches and counts their records: writing never
//! waits on the disk.

pub mod community_id;
pub mod json;
pub mod records;
pub mod settings;
pub mod writer;

use crate::decode::Arp;
use crate::detect::alert::EveTime;
use crate::dispatch::App;
use crate::flow::Flow;
use crate::pipeline::{Ctx, FlowEnd, Seen};
use crate::telemetry::Stats;
use community_id::community_id;
use edgetap_dissectors::{Direction, Event, Pdu, Proto};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
pub use writer::Counters;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// The record types edgetap writes (besides `alert`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    Flow,
    Modbus,
    Mqtt,
    Dns,
    Dhcp,
    Arp,
    Anomaly,
    Stats,
    Bacnet,
    Amqp,
    Opcua,
}

impl EventType {
    pub const COUNT: usize = 11;
    pub const ALL: [EventType; Self::COUNT] = [
        EventType::Flow,
        EventType::Modbus,
        EventType::Mqtt,
        EventType::Dns,
        EventType::Dhcp,
        EventType::Arp,
        EventType::Anomaly,
        EventType::Stats,
        EventType::Bacnet,
        EventType::Amqp,
        EventType::Opcua,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventType::Flow => "flow",
            EventType::Modbus => "modbus",
            EventType::Mqtt => "mqtt",
            EventType::Dns => "dns",
            EventType::Dhcp => "dhcp",
            EventType::Arp => "arp",
            EventType::Anomaly => "anomaly",
            EventType::Stats => "stats",
            EventType::Bacnet => "bacnet",
            EventType::Amqp => "amqp",
            EventType::Opcua => "opcua",
        }
    }

    fn idx(self) -> usize {
        self as usize
    }

    fn of(p: Proto) -> EventType {
        match p {
            Proto::Modbus => EventType::Modbus,
            Proto::Bacnet => EventType::Bacnet,
            Proto::Mqtt => EventType::Mqtt,
            Proto::Amqp => EventType::Amqp,
            Proto::Opcua => EventType::Opcua,
        }
    }

    /// Parse a list like `flow,modbus,dns` or `all`.
    pub fn parse_list(s: &str) -> Result<Vec<EventType>, String> {
        let mut out = Vec::new();
        for w in s.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            if w == "all" {
                return Ok(Self::ALL.to_vec());
            }
            match Self::ALL.iter().find(|t| t.name() == w) {
                Some(t) => out.push(*t),
                None => {
                    return Err(format!(
                        "unknown EVE record type {w:?} (known: all, {})",
                        Self::ALL.map(EventType::name).join(", ")
                    ))
                }
            }
        }
        Ok(out)
    }
}

/// What to log: everything, or only what changes state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every transaction.
    #[default]
    All,
    /// Writes, control operations, authentication, new topics and services, errors, flow ends
    /// and counters; of the rest, one in `sample` (0: none).
    Changes,
}

/// EVE record output, from the config file's `[eve_log]` and the command line.
#[derive(Clone, Debug)]
pub struct EveConfig {
    /// One file for every type, or (with `split`) a folder with a file per type.
    pub path: PathBuf,
    pub split: bool,
    pub types: Vec<EventType>,
    pub mode: Mode,
    pub sample: u32,
    /// A long flow gets a record this often besides the one at its end (0: only at the end).
    pub flow_interval_ns: u64,
    /// A `stats` record this often, in packet time (0: only at the end).
    pub stats_interval_ns: u64,
    pub rotation: writer::Rotation,
    /// Interface names by input index, for `in_iface` (live capture).
    pub ifaces: Vec<String>,
    /// Batches the writer may lag behind before records are dropped.
    pub queue_batches: usize,
    /// Wait for the writer instead of dropping when it lags: for replays, where nothing is
    /// lost by waiting; a live capture never waits.
    pub lossless: bool,
}

impl Default for EveConfig {
    fn default() -> Self {
        EveConfig {
            path: PathBuf::from("eve.json"),
            split: false,
            types: EventType::ALL.to_vec(),
            mode: Mode::All,
            sample: 0,
            flow_interval_ns: 300_000_000_000,
            stats_interval_ns: 60_000_000_000,
            rotation: writer::Rotation {
                max_bytes: 100 << 20,
                max_age: None,
                max_total: 1 << 30,
            },
            ifaces: Vec::new(),
            queue_batches: 64,
            lossless: false,
        }
    }
}

/// The devices a record concerns (their inventory ids), client then server.
#[derive(Clone, Copy, Debug, Default)]
pub struct Devs<'a> {
    pub client: Option<&'a str>,
    pub server: Option<&'a str>,
}

/// The common part of a record.
#[derive(Clone, Copy)]
struct Head<'a> {
    ts_ns: u64,
    flow_id: Option<u64>,
    source: usize,
    src: (IpAddr, u16),
    dst: (IpAddr, u16),
    ip_proto: u8,
    app_proto: Option<&'static str>,
    frame: Option<u64>,
    icmp: Option<(u8, u8)>,
    devs: Devs<'a>,
}

/// What a flow's records share.
#[derive(Clone, Copy)]
struct Base {
    flow_id: u64,
    source: usize,
    src: (IpAddr, u16),
    dst: (IpAddr, u16),
    ip_proto: u8,
    app_proto: &'static str,
}

impl Base {
    fn head(self, ts_ns: u64, frame: Option<u64>, devs: Devs<'_>) -> Head<'_> {
        Head {
            ts_ns,
            flow_id: Some(self.flow_id),
            source: self.source,
            src: self.src,
            dst: self.dst,
            ip_proto: self.ip_proto,
            app_proto: Some(self.app_proto),
            frame,
            icmp: None,
            devs,
        }
    }
}

/// A transaction waiting for its answer.
struct Waiting {
    head_ts: u64,
    frame: u64,
    dir: Direction,
    /// The body's key in the record: the MQTT packet type, or `request` for the others.
    name: &'static str,
    /// The message, serialised.
    body: Vec<u8>,
    changes: bool,
    devs: (Option<String>, Option<String>),
}

/// An ICMP conversation (the flow table holds TCP and UDP only).
struct IcmpFlow {
    id: u64,
    first_ns: u64,
    last_ns: u64,
    source: usize,
    src: IpAddr,
    dst: IpAddr,
    ip_proto: u8,
    icmp: (u8, u8),
    packets: [u64; 2],
    bytes: [u64; 2],
}

const BATCH_BYTES: usize = 256 << 10;
const MAX_WAITING: usize = 8192;
const MAX_ICMP_FLOWS: usize = 16_384;
const ICMP_IDLE_NS: u64 = 60_000_000_000;
const MAX_SEEN_KEYS: usize = 65_536;
/// Flows whose Community ID is kept (a flow's records share it).
const MAX_CIDS: usize = 262_144;

/// Counters of the recorder itself (the writer keeps its own in [`Counters`]).
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct RecorderStats {
    /// Records not written because `changes` mode left them out.
    pub skipped_unchanged: u64,
    /// Transactions logged without their answer because too many were waiting.
    pub unpaired_full: u64,
    /// ICMP conversations not tracked because the table was full.
    pub icmp_flows_dropped: u64,
}

pub struct Recorder {
    cfg: EveConfig,
    on: [bool; EventType::COUNT],
    tx: Option<SyncSender<writer::Batch>>,
    batches: Vec<writer::Batch>,
    pub counters: Arc<Counters>,
    pub stats: RecorderStats,
    writer: Option<std::thread::JoinHandle<()>>,
    waiting: FastMap<(u64, u64), Waiting>,
    icmp: FastMap<IcmpKey, IcmpFlow>,
    next_icmp_id: u64,
    /// Long flows: when their last interim record was written.
    interim: FastMap<u64, u64>,
    /// Hashes of what `changes` mode has seen once (topics, names, ARP bindings).
    seen_keys: foldhash::HashSet<u64>,
    arp_bind: FastMap<std::net::Ipv4Addr, [u8; 6]>,
    sampled: u64,
    last_stats_ns: u64,
    started_ns: u64,
    last_flush: std::time::Instant,
    cids: FastMap<u64, String>,
}

impl Recorder {
    /// Open the output (files are created on first write) and start the writer thread.
    pub fn start(cfg: EveConfig) -> anyhow::Result<Recorder> {
        let mut on = [false; EventType::COUNT];
        for t in &cfg.types {
            if let Some(o) = on.get_mut(t.idx()) {
                *o = true;
            }
        }
        let paths: Vec<PathBuf> = if cfg.split {
            std::fs::create_dir_all(&cfg.path)
                .map_err(|e| anyhow::anyhow!("EVE record folder {}: {e}", cfg.path.display()))?;
            EventType::ALL
                .iter()
                .map(|t| cfg.path.join(format!("{}.json", t.name())))
                .collect()
        } else {
            if let Some(dir) = cfg.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                if !dir.is_dir() {
                    anyhow::bail!(
                        "EVE record file {}: folder {} does not exist",
                        cfg.path.display(),
                        dir.display()
                    );
                }
            }
            vec![cfg.path.clone()]
        };
        // Fail now, not on the first record, when the place cannot be written.
        for p in paths.iter().take(if cfg.split { 0 } else { 1 }) {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| anyhow::anyhow!("EVE record file {}: {e}", p.display()))?;
        }
        let counters = Arc::new(Counters::default());
        let (tx, rx) = sync_channel(cfg.queue_batches.max(1));
        let rot = cfg.rotation.clone();
        let c = Arc::clone(&counters);
        let writer = std::thread::Builder::new()
            .name("edgetap-eve".into())
            .spawn(move || writer::run(rx, paths, rot, c))?;
        let files = if cfg.split { EventType::COUNT } else { 1 };
        Ok(Recorder {
            on,
            tx: Some(tx),
            batches: (0..files)
                .map(|file| writer::Batch {
                    file,
                    bytes: Vec::new(),
                    records: [0; EventType::COUNT],
                })
                .collect(),
            counters,
            stats: RecorderStats::default(),
            writer: Some(writer),
            waiting: FastMap::default(),
            icmp: FastMap::default(),
            next_icmp_id: 1,
            interim: FastMap::default(),
            seen_keys: foldhash::HashSet::default(),
            arp_bind: FastMap::default(),
            sampled: 0,
            last_stats_ns: 0,
            started_ns: 0,
            last_flush: std::time::Instant::now(),
            cids: FastMap::default(),
            cfg,
        })
    }

    pub fn wants(&self, t: EventType) -> bool {
        self.on.get(t.idx()).copied().unwrap_or(false)
    }

    /// Whether `changes` mode keeps a record that changes nothing (one in `sample`).
    fn keep(&mut self, changes: bool) -> bool {
        if changes || self.cfg.mode == Mode::All {
            return true;
        }
        self.sampled += 1;
        if self.cfg.sample > 0 && self.sampled.is_multiple_of(u64::from(self.cfg.sample)) {
            return true;
        }
        self.stats.skipped_unchanged += 1;
        false
    }

    /// True the first time `key` is seen (bounded: once full, everything counts as seen).
    fn first_time(&mut self, key: u64) -> bool {
        if self.seen_keys.contains(&key) || self.seen_keys.len() >= MAX_SEEN_KEYS {
            return false;
        }
        self.seen_keys.insert(key);
        true
    }

    /// Serialise one record into its file's batch.
    fn emit(&mut self, t: EventType, h: &Head<'_>, body: &Value, extra: Option<(&str, &Value)>) {
        let body = serde_json::to_vec(body).unwrap_or_default();
        let extra = extra.map(|(k, v)| (k, serde_json::to_vec(v).unwrap_or_default()));
        self.emit_raw(t, h, &body, extra.as_ref().map(|(k, v)| (*k, v.as_slice())));
    }

    /// The Community ID of a record's flow, computed once per flow.
    fn community_id(&mut self, h: &Head<'_>) -> String {
        let (sp, dp) = match h.icmp {
            Some((ty, code)) => (u16::from(ty), u16::from(code)),
            None => (h.src.1, h.dst.1),
        };
        let compute = || community_id(h.ip_proto, h.src.0, sp, h.dst.0, dp);
        match h.flow_id {
            Some(id) if h.icmp.is_none() => {
                if let Some(c) = self.cids.get(&id) {
                    return c.clone();
                }
                let c = compute();
                if self.cids.len() < MAX_CIDS {
                    self.cids.insert(id, c.clone());
                }
                c
            }
            _ => compute(),
        }
    }

    /// Serialise one record straight into its file's batch; `body` (and `extra`) are JSON.
    fn emit_raw(&mut self, t: EventType, h: &Head<'_>, body: &[u8], extra: Option<(&str, &[u8])>) {
        let cid = (t != EventType::Stats).then(|| self.community_id(h));
        let file = if self.cfg.split { t.idx() } else { 0 };
        let iface = self.cfg.ifaces.get(h.source);
        let Some(batch) = self.batches.get_mut(file) else {
            return;
        };
        let line = &mut batch.bytes;
        line.extend_from_slice(b"{\"timestamp\":\"");
        line.extend_from_slice(&EveTime(h.ts_ns).bytes());
        line.push(b'"');
        let mut n = itoa::Buffer::new();
        if let Some(id) = h.flow_id {
            line.extend_from_slice(b",\"flow_id\":");
            line.extend_from_slice(n.format(id).as_bytes());
        }
        if let Some(i) = iface {
            line.extend_from_slice(b",\"in_iface\":");
            let _ = serde_json::to_writer(&mut *line, i);
        }
        line.extend_from_slice(b",\"event_type\":\"");
        line.extend_from_slice(t.name().as_bytes());
        line.push(b'"');
        if let Some(cid) = cid {
            let _ = write!(line, ",\"src_ip\":\"{}\",\"src_port\":", h.src.0);
            line.extend_from_slice(n.format(h.src.1).as_bytes());
            let _ = write!(line, ",\"dest_ip\":\"{}\",\"dest_port\":", h.dst.0);
            line.extend_from_slice(n.format(h.dst.1).as_bytes());
            line.extend_from_slice(b",\"proto\":\"");
            line.extend_from_slice(proto_name(h.ip_proto).as_bytes());
            line.push(b'"');
            if let Some((ty, code)) = h.icmp {
                let _ = write!(line, ",\"icmp_type\":{ty},\"icmp_code\":{code}");
            }
            if let Some(a) = h.app_proto {
                let _ = write!(line, ",\"app_proto\":\"{a}\"");
            }
            line.extend_from_slice(b",\"community_id\":\"");
            line.extend_from_slice(cid.as_bytes());
            line.push(b'"');
        }
        if let Some(f) = h.frame {
            line.extend_from_slice(b",\"pcap_cnt\":");
            line.extend_from_slice(n.format(f).as_bytes());
        }
        if h.devs.client.is_some() || h.devs.server.is_some() {
            // Suricata's schema closes `metadata` but leaves its flow variables open: the
            // devices' ids go there, searchable as metadata.flowvars.edgetap_*_device.
            line.extend_from_slice(b",\"metadata\":{\"flowvars\":[");
            let mut first = true;
            for (k, v) in [
                ("edgetap_src_device", h.devs.client),
                ("edgetap_dest_device", h.devs.server),
            ] {
                if let Some(v) = v {
                    if !first {
                        line.push(b',');
                    }
                    first = false;
                    let _ = write!(line, "{{\"{k}\":");
                    let _ = serde_json::to_writer(&mut *line, v);
                    line.push(b'}');
                }
            }
            line.extend_from_slice(b"]}");
        }
        let _ = write!(line, ",\"{}\":", t.name());
        line.extend_from_slice(body);
        if let Some((k, v)) = extra {
            let _ = write!(line, ",\"{k}\":");
            line.extend_from_slice(v);
        }
        line.extend_from_slice(b"}\n");
        if let Some(n) = batch.records.get_mut(t.idx()) {
            *n += 1;
        }
        if batch.bytes.len() >= BATCH_BYTES {
            self.send(file);
        }
    }

    /// Hand a file's batch to the writer; a full queue drops it, counted.
    fn send(&mut self, file: usize) {
        let Some(b) = self.batches.get_mut(file) else {
            return;
        };
        if b.bytes.is_empty() {
            return;
        }
        let batch = writer::Batch {
            file,
            bytes: std::mem::replace(&mut b.bytes, Vec::with_capacity(BATCH_BYTES + 4096)),
            records: std::mem::take(&mut b.records),
        };
        let Some(tx) = &self.tx else { return };
        if self.cfg.lossless {
            if let Err(e) = tx.send(batch) {
                self.counters
                    .records_failed
                    .fetch_add(e.0.count(), Ordering::Relaxed);
            }
            return;
        }
        match tx.try_send(batch) {
            Ok(()) => {}
            Err(TrySendError::Full(b) | TrySendError::Disconnected(b)) => {
                self.counters
                    .records_dropped
                    .fetch_add(b.count(), Ordering::Relaxed);
            }
        }
    }

    fn flush_batches(&mut self) {
        for f in 0..self.batches.len() {
            self.send(f);
        }
    }

    /// A PDU from a dissector: modbus, mqtt, bacnet, amqp, opcua records, requests and
    /// answers of one transaction in one record.
    pub fn pdu(&mut self, ctx: &Ctx, dir: Direction, pdu: &Pdu<'_>, devs: Devs<'_>) {
        let t = EventType::of(pdu.proto());
        if !self.wants(t) {
            return;
        }
        let base = Base {
            flow_id: ctx.flow_id,
            source: ctx.source,
            src: ctx.client,
            dst: ctx.server,
            ip_proto: if pdu.proto() == Proto::Bacnet { 17 } else { 6 },
            app_proto: pdu.proto().name(),
        };
        if let Pdu::Mqtt(m) = pdu {
            if !records::mqtt_logged(m) {
                return;
            }
        }
        let mut pairing = pair_of(pdu, dir);
        if let (Pdu::Mqtt(m), Mode::Changes) = (pdu, self.cfg.mode) {
            // A topic published to for the first time (per broker) is news; the same topic
            // again is not.
            if let (3, Some(t)) = (m.packet_type, &m.topic) {
                let srv = match ctx.server.0 {
                    IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
                    IpAddr::V6(v) => v.octets(),
                };
                let k = crate::identify::stable_hash(&[b"mqtt-topic", &srv, t.0]);
                if self.first_time(k) {
                    pairing = match pairing {
                        Pairing::Opens(k, _) => Pairing::Opens(k, true),
                        Pairing::Answers(k, _) => Pairing::Answers(k, true),
                        Pairing::Alone(_) => Pairing::Alone(true),
                    };
                }
            }
        }
        // Serialised only once it is known to be written or kept waiting.
        match pairing {
            Pairing::Opens(key, changes) => {
                let Some(body) = message_body(pdu) else {
                    return;
                };
                let w = Waiting {
                    head_ts: ctx.ts_ns,
                    frame: ctx.frame,
                    dir,
                    name: first_name(pdu),
                    body,
                    changes,
                    devs: (
                        devs.client.map(str::to_string),
                        devs.server.map(str::to_string),
                    ),
                };
                let k = (ctx.flow_id, key);
                if let Some(old) = self.waiting.get(&k) {
                    if old.dir != dir && opens_both_ways(pdu) {
                        // AMQP 1.0's open, begin, attach, ...: the peer's is the answer.
                        if let Some(mut old) = self.waiting.remove(&k) {
                            old.changes |= changes;
                            self.log_waiting(base, old, Some(("response", w.body)));
                        }
                        return;
                    }
                }
                if self.waiting.len() >= MAX_WAITING && !self.waiting.contains_key(&k) {
                    // No room to wait for the answer: log the request alone.
                    self.stats.unpaired_full += 1;
                    self.log_waiting(base, w, None);
                    return;
                }
                if let Some(old) = self.waiting.insert(k, w) {
                    // The same key again before an answer: the first went unanswered.
                    self.log_waiting(base, old, None);
                }
            }
            Pairing::Answers(key, changes) => match self.waiting.remove(&(ctx.flow_id, key)) {
                Some(mut w) if w.dir != dir => {
                    w.changes |= changes;
                    let answer = message_body(pdu).map(|b| (answer_name(pdu), b));
                    self.log_waiting(base, w, answer);
                }
                other => {
                    if let Some(w) = other {
                        self.log_waiting(base, w, None);
                    }
                    let h = base.head(ctx.ts_ns, Some(ctx.frame), devs);
                    self.alone(t, &h, dir, pdu, changes);
                }
            },
            Pairing::Alone(changes) => {
                let h = base.head(ctx.ts_ns, Some(ctx.frame), devs);
                self.alone(t, &h, dir, pdu, changes);
            }
        }
    }

    /// A message logged as a transaction of its own (serialised only when it is kept).
    fn alone(&mut self, t: EventType, h: &Head<'_>, dir: Direction, pdu: &Pdu<'_>, changes: bool) {
        if !self.keep(changes) {
            return;
        }
        if let Some(body) = message_body(pdu) {
            let b = wrap(&[(single_name(pdu, dir), &body)]);
            self.emit_raw(t, h, &b, None);
        }
    }

    /// Log a waiting transaction, with its answer if there is one.
    fn log_waiting(&mut self, base: Base, w: Waiting, answer: Option<(&'static str, Vec<u8>)>) {
        if !self.keep(w.changes) {
            return;
        }
        let t = match base.app_proto {
            "modbus" => EventType::Modbus,
            "mqtt" => EventType::Mqtt,
            "bacnet" => EventType::Bacnet,
            "amqp" => EventType::Amqp,
            _ => EventType::Opcua,
        };
        let body = match &answer {
            Some((n, a)) => wrap(&[(w.name, &w.body), (n, a)]),
            None => wrap(&[(w.name, &w.body)]),
        };
        let devs = Devs {
            client: w.devs.0.as_deref(),
            server: w.devs.1.as_deref(),
        };
        let h = base.head(w.head_ts, Some(w.frame), devs);
        self.emit_raw(t, &h, &body, None);
    }

    /// A dissector event: an `anomaly` record.
    pub fn event(&mut self, ctx: &Ctx, _dir: Direction, ev: Event, devs: Devs<'_>) {
        if !self.wants(EventType::Anomaly) {
            return;
        }
        let h = Head {
            ts_ns: ctx.ts_ns,
            flow_id: Some(ctx.flow_id),
            source: ctx.source,
            src: ctx.client,
            dst: ctx.server,
            ip_proto: if ev.proto == Proto::Bacnet { 17 } else { 6 },
            app_proto: Some(ev.proto.name()),
            frame: Some(ctx.frame),
            icmp: None,
            devs,
        };
        let body = json!({"type": "applayer", "event": ev.name, "layer": "proto_parser",
            "app_proto": ev.proto.name()});
        self.emit(EventType::Anomaly, &h, &body, None);
    }

    /// Every IP packet: DNS and DHCP records, ICMP conversations, interim flow records.
    pub fn packet(&mut self, s: &Seen<'_>, devs: Devs<'_>) {
        let Some(fl) = s.flow else {
            if let Some(icmp) = s.icmp {
                if self.wants(EventType::Flow) {
                    self.icmp_packet(s, icmp);
                }
            }
            return;
        };
        let head = Head {
            ts_ns: s.ts_ns,
            flow_id: Some(fl.id),
            source: s.source,
            src: (s.src, s.sport),
            dst: (s.dst, s.dport),
            ip_proto: s.ip_proto,
            app_proto: None,
            frame: Some(s.frame),
            icmp: None,
            devs,
        };
        if s.ip_proto == 17 {
            if (s.sport == 53 || s.dport == 53) && self.wants(EventType::Dns) {
                self.dns(s, head);
            } else if matches!((s.sport, s.dport), (67, 68) | (68, 67))
                && self.wants(EventType::Dhcp)
            {
                if let Some(m) = edgetap_dissectors::names::dhcp(s.payload) {
                    let h = Head {
                        app_proto: Some("dhcp"),
                        ..head
                    };
                    self.emit(EventType::Dhcp, &h, &records::dhcp(&m), None);
                }
            }
        }
        let iv = self.cfg.flow_interval_ns;
        if iv > 0
            && self.wants(EventType::Flow)
            && self.cfg.mode == Mode::All
            && s.ts_ns.saturating_sub(fl.first_ns) >= iv
        {
            let last = *self.interim.get(&fl.id).unwrap_or(&fl.first_ns);
            if s.ts_ns.saturating_sub(last) >= iv {
                self.interim.insert(fl.id, s.ts_ns);
                let h = Head {
                    src: fl.client,
                    dst: fl.server,
                    app_proto: fl.proto.map(Proto::name),
                    frame: None,
                    ..head
                };
                let body = flow_body(
                    fl.packets,
                    fl.bytes,
                    (fl.first_ns, s.ts_ns),
                    "established",
                    "timeout",
                );
                self.emit_raw(EventType::Flow, &h, &body, None);
            }
        }
    }

    fn dns(&mut self, s: &Seen<'_>, head: Head<'_>) {
        let mut buf = [0u8; 256];
        let Some(q) = edgetap_dissectors::names::dns_question(s.payload, &mut buf) else {
            return;
        };
        let name = String::from_utf8_lossy(q.name).into_owned();
        let changes = q.rcode != 0 || {
            let k = crate::identify::stable_hash(&[q.name, &q.qtype.to_be_bytes()]);
            self.first_time(k)
        };
        if !self.keep(changes) {
            return;
        }
        // Suricata puts the client on the source side of both the query and the answer.
        let h = if q.response {
            Head {
                src: head.dst,
                dst: head.src,
                app_proto: Some("dns"),
                devs: Devs {
                    client: head.devs.server,
                    server: head.devs.client,
                },
                ..head
            }
        } else {
            Head {
                app_proto: Some("dns"),
                ..head
            }
        };
        let query = json!([{"rrname": name, "rrtype": records::rrtype_name(q.qtype)}]);
        let body = if q.response {
            let mut answers = Vec::new();
            edgetap_dissectors::names::dns_answers(s.payload, &mut |n, ip| {
                if answers.len() < 64 {
                    let t = if ip.is_ipv4() { "A" } else { "AAAA" };
                    answers.push(json!({"rrname": n, "rrtype": t, "rdata": ip.to_string()}));
                }
            });
            let mut b = json!({"version": 3, "type": "response", "id": q.id, "qr": true,
                "opcode": q.opcode, "rcode": records::rcode_name(q.rcode), "queries": query});
            if let (false, Some(o)) = (answers.is_empty(), b.as_object_mut()) {
                o.insert("answers".into(), answers.into());
            }
            b
        } else {
            json!({"version": 3, "type": "request", "id": q.id, "opcode": q.opcode,
                "queries": query})
        };
        self.emit(EventType::Dns, &h, &body, None);
    }

    fn icmp_packet(&mut self, s: &Seen<'_>, (ty, code): (u8, u8)) {
        // One conversation per Community ID tuple: a request and its reply share it.
        let cid_key = icmp_key(s.ip_proto, s.src, s.dst, ty, code);
        if let Some(f) = self.icmp.get_mut(&cid_key) {
            let d = usize::from(f.src != s.src);
            f.last_ns = f.last_ns.max(s.ts_ns);
            if let Some(p) = f.packets.get_mut(d) {
                *p += 1;
            }
            if let Some(b) = f.bytes.get_mut(d) {
                *b += u64::from(s.wire_len);
            }
            return;
        }
        if self.icmp.len() >= MAX_ICMP_FLOWS {
            self.stats.icmp_flows_dropped += 1;
            return;
        }
        let id = 0x4943_4d50_0000_0000 | self.next_icmp_id;
        self.next_icmp_id += 1;
        self.icmp.insert(
            cid_key,
            IcmpFlow {
                id,
                first_ns: s.ts_ns,
                last_ns: s.ts_ns,
                source: s.source,
                src: s.src,
                dst: s.dst,
                ip_proto: s.ip_proto,
                icmp: (ty, code),
                packets: [1, 0],
                bytes: [u64::from(s.wire_len), 0],
            },
        );
    }

    fn icmp_end(&mut self, f: IcmpFlow, reason: &str) {
        let h = Head {
            ts_ns: f.last_ns,
            flow_id: Some(f.id),
            source: f.source,
            src: (f.src, 0),
            dst: (f.dst, 0),
            ip_proto: f.ip_proto,
            app_proto: None,
            frame: None,
            icmp: Some(f.icmp),
            devs: Devs::default(),
        };
        let state = if f.packets[1] > 0 {
            "established"
        } else {
            "new"
        };
        let body = flow_body(f.packets, f.bytes, (f.first_ns, f.last_ns), state, reason);
        self.emit_raw(EventType::Flow, &h, &body, None);
    }

    /// An ARP message: Suricata's `arp` record (in `changes` mode, only new or changed
    /// bindings and requests from unknown senders).
    pub fn arp(&mut self, source: usize, frame: u64, ts_ns: u64, a: &Arp) {
        if !self.wants(EventType::Arp) {
            return;
        }
        let changes = match self.arp_bind.get(&a.spa) {
            Some(m) => *m != a.sha,
            None => true,
        };
        if changes && (self.arp_bind.len() < MAX_SEEN_KEYS || self.arp_bind.contains_key(&a.spa)) {
            self.arp_bind.insert(a.spa, a.sha);
        }
        if !self.keep(changes) {
            return;
        }
        let h = Head {
            ts_ns,
            flow_id: None,
            source,
            src: (IpAddr::V4(a.spa), 0),
            dst: (IpAddr::V4(a.tpa), 0),
            ip_proto: 0,
            app_proto: None,
            frame: Some(frame),
            icmp: None,
            devs: Devs::default(),
        };
        self.emit(EventType::Arp, &h, &records::arp(a), None);
    }

    /// A TCP or UDP flow ends: its `flow` record, and its transactions still waiting.
    pub fn flow_end(&mut self, f: &Flow<App>, why: FlowEnd, devs: Devs<'_>) {
        self.interim.remove(&f.id);
        if let (false, Some(p)) = (self.waiting.is_empty(), f.app.proto()) {
            let keys: Vec<(u64, u64)> = self
                .waiting
                .keys()
                .filter(|k| k.0 == f.id)
                .copied()
                .collect();
            let base = Base {
                flow_id: f.id,
                source: f.source,
                src: f.sender(Direction::ToServer),
                dst: f.sender(Direction::ToClient),
                ip_proto: f.key.ip_proto,
                app_proto: p.name(),
            };
            for k in keys {
                if let Some(w) = self.waiting.remove(&k) {
                    self.log_waiting(base, w, None);
                }
            }
        }
        if !self.wants(EventType::Flow) {
            return;
        }
        let h = Head {
            ts_ns: f.last_ts,
            flow_id: Some(f.id),
            source: f.source,
            src: f.sender(Direction::ToServer),
            dst: f.sender(Direction::ToClient),
            ip_proto: f.key.ip_proto,
            app_proto: f.app.proto().map(Proto::name),
            frame: None,
            icmp: None,
            devs,
        };
        let [ts, tc] = f.tcp_flags;
        let state = if f.key.ip_proto == 6 && (ts | tc) & 0x05 != 0 {
            "closed"
        } else if f.packets[0] > 0 && f.packets[1] > 0 {
            "established"
        } else {
            "new"
        };
        let body = flow_body(
            f.packets,
            f.bytes,
            (f.first_ts, f.last_ts),
            state,
            why.name(),
        );
        if f.key.ip_proto == 6 {
            // Suricata logs a TCP flow's flags beside the flow object, as hex and booleans.
            let all = ts | tc;
            let mut tcp = Vec::with_capacity(160);
            {
                let mut o = json::Obj::new(&mut tcp);
                o.display("tcp_flags", format_args!("{all:02x}"))
                    .display("tcp_flags_ts", format_args!("{ts:02x}"))
                    .display("tcp_flags_tc", format_args!("{tc:02x}"));
                for (k, bit) in [
                    ("syn", 0x02),
                    ("fin", 0x01),
                    ("rst", 0x04),
                    ("psh", 0x08),
                    ("ack", 0x10),
                    ("urg", 0x20),
                ] {
                    o.bool(k, all & bit != 0);
                }
            }
            self.emit_raw(EventType::Flow, &h, &body, Some(("tcp", &tcp)));
        } else {
            self.emit_raw(EventType::Flow, &h, &body, None);
        }
        self.cids.remove(&f.id);
    }

    /// Packet time passes (once a second): ICMP conversations idle past their timeout end;
    /// batches go to the writer once a second of wall time (so a quiet live capture's records
    /// reach the disk within seconds, and a fast replay still sends full batches).
    pub fn tick(&mut self, now: u64) {
        if self.started_ns == 0 {
            self.started_ns = now;
            self.last_stats_ns = now;
        }
        if !self.icmp.is_empty() {
            let idle: Vec<_> = self
                .icmp
                .iter()
                .filter(|(_, f)| now.saturating_sub(f.last_ns) >= ICMP_IDLE_NS)
                .map(|(k, _)| *k)
                .collect();
            for k in idle {
                if let Some(f) = self.icmp.remove(&k) {
                    self.icmp_end(f, "timeout");
                }
            }
        }
        if self.last_flush.elapsed() >= std::time::Duration::from_secs(1) {
            self.last_flush = std::time::Instant::now();
            self.flush_batches();
        }
    }

    /// Whether a `stats` record is due at packet time `now`.
    pub fn stats_due(&self, now: u64) -> bool {
        self.wants(EventType::Stats)
            && self.cfg.stats_interval_ns > 0
            && (now < self.last_stats_ns || now - self.last_stats_ns >= self.cfg.stats_interval_ns)
    }

    /// A `stats` record.
    pub fn stats_record(&mut self, now: u64, s: &Stats, kernel: Option<(u64, u64)>) {
        if !self.wants(EventType::Stats) {
            return;
        }
        if self.started_ns == 0 {
            self.started_ns = now;
        }
        self.last_stats_ns = now;
        let h = Head {
            ts_ns: now,
            flow_id: None,
            source: usize::MAX,
            src: (IpAddr::from([0, 0, 0, 0]), 0),
            dst: (IpAddr::from([0, 0, 0, 0]), 0),
            ip_proto: 0,
            app_proto: None,
            frame: None,
            icmp: None,
            devs: Devs::default(),
        };
        let up = now.saturating_sub(self.started_ns) / 1_000_000_000;
        self.emit(EventType::Stats, &h, &records::stats(s, up, kernel), None);
    }

    /// End of input: ICMP conversations end, waiting transactions are logged unanswered (the
    /// flows' ends do that for theirs), and everything goes to the writer, which is joined.
    pub fn finish(&mut self) {
        let all: Vec<_> = self.icmp.drain().map(|(_, f)| f).collect();
        for f in all {
            self.icmp_end(f, "shutdown");
        }
        self.flush_batches();
        self.tx = None;
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }

    pub fn json(&self) -> Value {
        let mut v = self.counters.json();
        if let (Some(o), Ok(Value::Object(r))) =
            (v.as_object_mut(), serde_json::to_value(&self.stats))
        {
            o.extend(r);
        }
        v
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.finish();
    }
}

fn proto_name(p: u8) -> &'static str {
    match p {
        6 => "TCP",
        17 => "UDP",
        1 => "ICMP",
        58 => "IPv6-ICMP",
        _ => "IP",
    }
}

/// An ICMP conversation's key: the Community ID's ordered tuple.
type IcmpKey = (u8, IpAddr, u16, IpAddr, u16);

fn icmp_key(proto: u8, src: IpAddr, dst: IpAddr, ty: u8, code: u8) -> IcmpKey {
    let (a, ap, b, bp) = community_id::ordered(proto, src, u16::from(ty), dst, u16::from(code));
    (proto, a, ap, b, bp)
}

/// How a PDU takes part in a transaction.
enum Pairing {
    /// Opens a transaction answered later (key, state-changing).
    Opens(u64, bool),
    /// Answers the transaction of this key (key, state-changing).
    Answers(u64, bool),
    /// A transaction of its own.
    Alone(bool),
}

fn pair_of(pdu: &Pdu<'_>, dir: Direction) -> Pairing {
    match pdu {
        Pdu::Modbus(p) => {
            let ch = records::modbus_changes(p);
            let key = u64::from(p.transaction_id) | u64::from(p.unit_id) << 16;
            // By what the message is, not where it went: a flow picked up mid-stream may
            // have its ends the wrong way round.
            let _ = dir;
            if p.kind == edgetap_dissectors::modbus::Kind::Request {
                Pairing::Opens(key, ch)
            } else {
                Pairing::Answers(key, ch)
            }
        }
        Pdu::Mqtt(p) => {
            let ch = records::mqtt_changes(p);
            let id = u64::from(p.packet_id.unwrap_or(0));
            match p.packet_type {
                1 | 12 => Pairing::Opens(u64::from(p.packet_type) << 32, ch),
                2 | 13 => Pairing::Answers(u64::from(p.packet_type - 1) << 32, ch),
                3 if p.qos.unwrap_or(0) > 0 => Pairing::Opens(3 << 32 | id, ch),
                4 | 5 => Pairing::Answers(3 << 32 | id, ch),
                6 => Pairing::Opens(6 << 32 | id, ch),
                7 => Pairing::Answers(6 << 32 | id, ch),
                8 | 10 => Pairing::Opens(u64::from(p.packet_type) << 32 | id, ch),
                9 | 11 => Pairing::Answers(u64::from(p.packet_type - 1) << 32 | id, ch),
                _ => Pairing::Alone(ch),
            }
        }
        Pdu::Bacnet(b) => {
            let f = b.0;
            let ch = bacnet_changes(f);
            match (f.apdu_type, f.invoke_id) {
                (Some(0), Some(id)) => Pairing::Opens(u64::from(id), ch),
                (Some(2 | 3 | 5 | 6 | 7), Some(id)) => Pairing::Answers(u64::from(id), ch),
                _ => Pairing::Alone(ch),
            }
        }
        Pdu::Opcua(o) => {
            let m = o.0;
            let ch = opcua_changes(m);
            let kind = match m.message_type {
                "HEL" | "ACK" => 1u64,
                "OPN" => 2,
                _ => 3,
            };
            let key = kind << 32 | u64::from(m.request_id.unwrap_or(0));
            match (m.message_type, dir) {
                ("ERR", _) => Pairing::Answers(1 << 32, true),
                ("CLO", _) => Pairing::Alone(true),
                (_, Direction::ToServer) => Pairing::Opens(key, ch),
                (_, Direction::ToClient) => Pairing::Answers(key, ch),
            }
        }
        Pdu::Amqp(a) => amqp_pairing(a),
        #[allow(unreachable_patterns)]
        _ => Pairing::Alone(false),
    }
}

/// BACnet writes, device control, file and object changes, errors, rejects and aborts;
/// I-Am (a device announcing itself) and Who-Has.
fn bacnet_changes(f: &edgetap_dissectors::bacnet::Fields<'_>) -> bool {
    match f.apdu_type {
        Some(5..=7) => true,
        Some(0) => matches!(f.service, Some(7..=11 | 15..=17 | 19 | 20 | 27)),
        Some(1) => matches!(f.service, Some(0 | 6 | 9)),
        None => f.network_message.is_some(),
        _ => false,
    }
}

/// OPC-UA channel and session set-up (authentication), writes, method calls, node management,
/// errors; not reads, browses or subscriptions' publishes.
fn opcua_changes(m: &edgetap_dissectors::opcua::Message<'_>) -> bool {
    if m.message_type != "MSG" || m.error.is_some() {
        return true;
    }
    if m.service_result.is_some_and(|r| r & 0x8000_0000 != 0) {
        return true;
    }
    m.service.is_none_or(|s| {
        !matches!(
            s.trim_end_matches("Request").trim_end_matches("Response"),
            "Read"
                | "Browse"
                | "BrowseNext"
                | "Publish"
                | "Republish"
                | "TranslateBrowsePathsToNodeIds"
                | "GetEndpoints"
                | "FindServers"
                | "RegisterNodes"
                | "HistoryRead"
        )
    })
}

/// AMQP 0-9-1 synchronous methods pair with their `-ok` on the same channel and class; AMQP
/// 1.0 `open`, `begin`, `attach`, `detach`, `end` and `close` pair with the peer's.
fn amqp_pairing(a: &edgetap_dissectors::amqp::Pdu<'_>) -> Pairing {
    use edgetap_dissectors::amqp::{FrameType, Version};
    let ch = u64::from(a.channel.unwrap_or(0));
    match (a.version, a.frame_type) {
        (Version::V091, FrameType::Method) => {
            let (Some(c), Some(m)) = (a.class_id, a.method_id) else {
                return Pairing::Alone(true);
            };
            // Connection (10), channel (20), exchange (40), queue (50), tx (90), confirm (85)
            // and basic.qos/consume/cancel/recover change state; publish, deliver and acks do
            // not.
            let changes = c != 60 || matches!(m, 10 | 20 | 30 | 110);
            let key = |method: u16| ch << 32 | u64::from(c) << 16 | u64::from(method);
            let opens = match c {
                10 => matches!(m, 10 | 20 | 30 | 40 | 50),
                20 => matches!(m, 10 | 20 | 40),
                40 => matches!(m, 10 | 20 | 30 | 40),
                50 => matches!(m, 10 | 20 | 30 | 40 | 50),
                60 => matches!(m, 10 | 20 | 30 | 70 | 110),
                85 => m == 10,
                90 => matches!(m, 10 | 20 | 30),
                _ => false,
            };
            if opens {
                return Pairing::Opens(key(m), changes);
            }
            let asked = match (c, m) {
                (60, 72) => Some(70),
                (40, 51) => Some(40),
                _ if m % 10 == 1 => Some(m - 1),
                _ => None,
            };
            match asked {
                Some(q) => Pairing::Answers(key(q), changes),
                None => Pairing::Alone(changes),
            }
        }
        (Version::V10, FrameType::Amqp) => match a.performative {
            Some(p @ (0x10 | 0x11 | 0x12 | 0x16 | 0x17 | 0x18)) => {
                // The first of the two opens, the peer's answers; which is which is only
                // known by order, so both are keyed alike and `pdu` pairs opposite
                // directions.
                Pairing::Opens(1 << 48 | ch << 32 | p, true)
            }
            _ => Pairing::Alone(false),
        },
        (_, FrameType::Sasl | FrameType::ProtocolHeader) => Pairing::Alone(true),
        _ => Pairing::Alone(false),
    }
}

/// A PDU's body, serialised: Suricata's shape for modbus and mqtt, our contract's PDU JSON
/// for the rest. None for what has no record (MQTT AUTH).
fn message_body(pdu: &Pdu<'_>) -> Option<Vec<u8>> {
    let mut b = Vec::with_capacity(256);
    match pdu {
        Pdu::Modbus(p) => records::modbus_message(&mut b, p),
        Pdu::Mqtt(p) => {
            if !records::mqtt_logged(p) {
                return None;
            }
            records::mqtt_message(&mut b, p);
        }
        _ => {
            // `{"bacnet":{...}}` → the inner object.
            serde_json::to_writer(&mut b, pdu).ok()?;
            let skip = pdu.proto().name().len() + 4;
            if b.len() < skip + 2 || b.last() != Some(&b'}') {
                return None;
            }
            b.pop();
            b.drain(..skip);
        }
    }
    Some(b)
}

/// Suricata's `flow` object.
fn flow_body(
    packets: [u64; 2],
    bytes: [u64; 2],
    (first, last): (u64, u64),
    state: &str,
    reason: &str,
) -> Vec<u8> {
    let mut b = Vec::with_capacity(256);
    json::Obj::new(&mut b)
        .num("pkts_toserver", packets[0])
        .num("pkts_toclient", packets[1])
        .num("bytes_toserver", bytes[0])
        .num("bytes_toclient", bytes[1])
        .time("start", first)
        .time("end", last)
        .num("age", last.saturating_sub(first) / 1_000_000_000)
        .str("state", state)
        .str("reason", reason)
        .bool("alerted", false);
    b
}

/// `{"k1":v1,"k2":v2}` from serialised values.
fn wrap(parts: &[(&str, &Vec<u8>)]) -> Vec<u8> {
    let mut b = Vec::with_capacity(parts.iter().map(|p| p.1.len() + 16).sum::<usize>() + 2);
    b.push(b'{');
    for (i, (k, v)) in parts.iter().enumerate() {
        if i > 0 {
            b.push(b',');
        }
        b.push(b'"');
        b.extend_from_slice(k.as_bytes());
        b.extend_from_slice(b"\":");
        b.extend_from_slice(v);
    }
    b.push(b'}');
    b
}

/// A lone message's key in its record: the MQTT packet type, else which side sent it.
fn single_name(pdu: &Pdu<'_>, dir: Direction) -> &'static str {
    match (pdu, dir) {
        (Pdu::Mqtt(p), _) => records::mqtt_type_name(p.packet_type),
        (Pdu::Modbus(p), _) if p.kind == edgetap_dissectors::modbus::Kind::Request => "request",
        (Pdu::Modbus(_), _) => "response",
        (_, Direction::ToServer) => "request",
        (_, Direction::ToClient) => "response",
    }
}

/// The key of the message that opens a transaction.
fn first_name(pdu: &Pdu<'_>) -> &'static str {
    match pdu {
        Pdu::Mqtt(p) => records::mqtt_type_name(p.packet_type),
        _ => "request",
    }
}

/// The key of the message that answers one.
fn answer_name(pdu: &Pdu<'_>) -> &'static str {
    match pdu {
        Pdu::Mqtt(p) => records::mqtt_type_name(p.packet_type),
        _ => "response",
    }
}

/// AMQP 1.0's symmetric performatives: both peers send one, the second answers the first.
fn opens_both_ways(pdu: &Pdu<'_>) -> bool {
    matches!(pdu, Pdu::Amqp(a) if a.version == edgetap_dissectors::amqp::Version::V10)
}
