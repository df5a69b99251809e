//! The site model: the pipeline's [`Output`] that feeds identification, learning and detection
//! (stages 6-8) from packets, PDUs, events and facts.
//!
//! Per packet the work is index arithmetic: a flow's devices and edge are resolved on its first
//! packets and kept in its [`FlowNote`]; counters are added to the devices' current windows;
//! only connection-level packets (SYN, SYN-ACK, RST, a flow's first datagram, ICMP) and
//! counters that crossed a precomputed alarm level reach the rule engine.

mod arp;
mod beacon;
mod dhcp;
mod dns;
pub mod posture;
mod recon;
mod scan;
pub mod sensor;

use crate::detect::alert::AlertSink;
use crate::detect::rules::{Metric, Rule, Threshold};
use crate::detect::{Engine, EngineLimits, Obs, Party, Val};
use crate::flow::{Flow, FlowNote};
use crate::identify::net::SiteNets;
use crate::identify::{stable_hash, DevIdx, Device, Inventory, Role};
use crate::learn::{profile_key, BMetric, DevBaseline, Edge, EdgeKey, Graph, Window, N_BMETRIC};
use crate::pipeline::{ArpSeen, Ctx, FlowEnd, Output, Seen, SeenFlow};
use edgetap_dissectors::{Direction, Event, Fact, FactKind, FactValue, Pdu, Proto, Side};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;
type FastSet<K> = HashSet<K, foldhash::fast::FixedState>;
use std::net::IpAddr;

/// Flow note flags.
const F_MAC_C: u32 = 1;
const F_MAC_S: u32 = 2;
const F_SYNACK: u32 = 4;
const F_EST: u32 = 8;
const F_FAILED: u32 = 16;
const F_NEWEXT: u32 = 32;
/// The flow began with a bare ACK (an ACK scan's probe, or a pickup mid-stream).
const F_ACKPROBE: u32 = 64;
/// A short session to a login port was counted.
const F_LOGIN: u32 = 128;
/// The flow was picked up mid-stream (its first packet was no SYN).
const F_MIDSTREAM: u32 = 256;
/// The flow's client payload was looked at for cleartext logins (posture).
const F_POSTURE_SEEN: u32 = 512;
/// The flow's first client / server payload was looked at for a TLS hello.
const F_TLS_C: u32 = 1024;
const F_TLS_S: u32 = 2048;

/// Dissector events that only say the sensor missed a flow's start (a capture resumed, the
/// sensor restarted): on a flow picked up mid-stream they are no device's doing.
fn missing_context(name: &str) -> bool {
    matches!(
        name,
        "mqtt.missing_connect"
            | "modbus.response_without_request"
            | "modbus.gap"
            | "mqtt.gap"
            | "amqp.gap"
            | "opcua.gap"
    )
}

/// Windows a device needs before its own baseline is trusted (else its profile's).
const MIN_WINDOWS: u64 = 3;
const MAX_CONTACTED: usize = 100_000;
const MAX_OPEN_PORTS: usize = 32;
const MAX_DHCP_PENDING: usize = 1024;
/// SYN signatures waiting for their sender to be proven a device.
const MAX_SYN_PENDING: usize = 4096;
/// (client, server, transport, port) address edges remembered while learning.
pub const MAX_ADDR_EDGES: usize = 200_000;
/// A stable hash of an address and a port, for distinct counts and items.
fn h64(ip: IpAddr, port: u16) -> u64 {
    stable_hash(&[&ip_bytes(ip), &port.to_be_bytes()])
}

#[derive(Clone, Debug)]
pub struct SiteConfig {
    pub site: SiteNets,
    /// Baseline window.
    pub window_ns: u64,
    pub max_devices: usize,
    pub max_edges: usize,
    pub engine: EngineLimits,
    /// Packet time may jump forward by this much before the sensor records a capture gap.
    pub gap_limit_ns: u64,
}

impl Default for SiteConfig {
    fn default() -> Self {
        SiteConfig {
            site: SiteNets::default(),
            window_ns: 300_000_000_000,
            max_devices: 10_000,
            max_edges: 100_000,
            engine: EngineLimits::default(),
            gap_limit_ns: 60_000_000_000,
        }
    }
}

/// Per-device learning and detection state (parallel to the inventory's records).
#[derive(Clone, Debug, Default)]
struct DevState {
    win: Window,
    base: DevBaseline,
    /// Live alarm level per baseline metric for the current window (infinite: none).
    alarm: [f64; N_BMETRIC],
    last_tx_ns: u64,
    /// Ports it answered a SYN on (SYN-ACK).
    open_ports: Vec<u16>,
    /// SYNs and SYN+ACKs it sent, for sampling their signatures.
    syn_seen: [u32; 2],
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct SiteStats {
    pub packets: u64,
    pub dhcp: u64,
    pub dns_answers: u64,
    pub new_edges: u64,
    pub new_external: u64,
    pub contacted_dropped: u64,
    pub unlearned_control: u64,
    /// Address edges seen while learning that the table had no room for.
    #[serde(default)]
    pub addr_edges_dropped: u64,
    /// Learned edges recognised by address (an end became a device only later).
    #[serde(default)]
    pub addr_edges_matched: u64,
    /// SYN signatures forgotten before their sender was proven (a table full of spoofed
    /// sources is started over).
    #[serde(default)]
    pub syn_signatures_dropped: u64,
}

/// What the baseline-free watchers hold and dropped, for the API and `/metrics`.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct WatchStats {
    pub dns_queries: u64,
    pub dns_dropped: u64,
    pub dhcp_dropped: u64,
    pub dhcp_servers_learned: u64,
    pub arp_messages: u64,
    pub arp_dropped: u64,
    pub beacon_tracks: u64,
    pub beacon_dropped: u64,
    pub addr_edges: u64,
}

/// What learning produced, as saved in the state directory.
#[derive(Serialize, Deserialize, Default)]
pub struct Learned {
    pub format: u32,
    pub learning_done: bool,
    pub window_ns: u64,
    pub devices: Vec<Device>,
    pub edges: Vec<Edge>,
    pub baselines: Vec<DevBaseline>,
    pub external: Vec<(DevIdx, IpAddr)>,
    pub external_names: Vec<(DevIdx, String)>,
    pub suppressed: Vec<(u32, u64, u64)>,
    pub dns: Vec<(IpAddr, String)>,
    /// Behaviours accepted by an operator ("learn this"): (sid, subject).
    #[serde(default)]
    pub accepted: Vec<(u32, u64)>,
    /// What static rules' subjects reached while learning: (sid, subject, peak).
    #[serde(default)]
    pub peaks: Vec<(u32, u64, f64)>,
    /// Every (client, server, transport, port) seen while learning, devices or not.
    #[serde(default)]
    pub addr_edges: Vec<(IpAddr, IpAddr, u8, u16)>,
    /// (site address, external address) contacts seen while learning.
    #[serde(default)]
    pub ext_addr: Vec<(IpAddr, IpAddr)>,
    #[serde(default)]
    pub dhcp_servers: Vec<IpAddr>,
    #[serde(default)]
    pub arp: Vec<(std::net::Ipv4Addr, [u8; 6])>,
    #[serde(default)]
    pub whois: Vec<IpAddr>,
    #[serde(default)]
    pub addr_ops: Vec<u64>,
    /// Open posture findings, by device.
    #[serde(default)]
    pub findings: Vec<(DevIdx, posture::Finding)>,
}

pub const LEARNED_FORMAT: u32 = 1;

pub struct Site<S: AlertSink> {
    pub inv: Inventory,
    pub graph: Graph,
    dev: Vec<DevState>,
    pub engine: Engine,
    pub sink: S,
    pub learning: bool,
    pub cfg: SiteConfig,
    pub stats: SiteStats,
    learned_ext: FastSet<(DevIdx, IpAddr)>,
    learned_ext_names: FastSet<(DevIdx, String)>,
    learned_ext_profile: FastSet<(u64, IpAddr)>,
    learned_profile_edges: FastSet<(u64, DevIdx, u8, u16)>,
    learned_services: FastSet<(DevIdx, u16)>,
    /// (server address, port) of every TCP edge learned by address.
    learned_addr_services: FastSet<(IpAddr, u16)>,
    profile_base: FastMap<u64, DevBaseline>,
    contacted: FastSet<(DevIdx, IpAddr)>,
    /// A DHCP client's hostname, vendor class and parameter request list (options 12, 60 and
    /// 55), kept from its DISCOVER/REQUEST until the server's ACK binds it to an address.
    dhcp_pending: FastMap<[u8; 6], [Option<String>; 3]>,
    /// p0f signatures of SYNs whose sender is not yet a device (a SYN proves nothing), by
    /// address: given to the device when one is proven at that address.
    syn_pending: FastMap<IpAddr, edgetap_dissectors::fingerprint::tcp::Signature>,
    now: u64,
    last_silence: u64,
    pub sensor: sensor::Sensor,
    dnsw: dns::DnsWatch,
    dhcpw: dhcp::DhcpWatch,
    arpw: arp::ArpWatch,
    beacons: beacon::Beacons,
    learned_addr_edges: FastSet<(IpAddr, IpAddr, u8, u16)>,
    learned_ext_addr: FastSet<(IpAddr, IpAddr)>,
    learned_whois: FastSet<IpAddr>,
    /// Operations seen while learning on flows with no edge yet, by address and code.
    learned_addr_ops: FastSet<u64>,
    /// EVE records besides alerts (flows, transactions, anomalies, counters), when asked for.
    pub eve: Option<Box<crate::eve::Recorder>>,
    /// Weak spots seen on the wire (cleartext credentials, anonymous logins, ...).
    pub posture: posture::Posture,
    /// The fingerprints that turn devices' facts into identities (shipped, plus a user's).
    pub fingerprints: std::sync::Arc<Vec<crate::identify::fingerprints::Fingerprint>>,
    /// Published advisories (CSAF) that devices are matched against.
    pub advisories: std::sync::Arc<Vec<crate::advisories::Advisory>>,
}

/// Text in UCS-2 big-endian (BACnet character set 4, which some controllers use for their
/// names), as a string: every first byte of a pair zero and at least one pair. Else None.
fn ucs2_or(b: &[u8]) -> Option<String> {
    if b.len() < 2 || !b.len().is_multiple_of(2) || !b.chunks(2).all(|p| p.first() == Some(&0)) {
        return None;
    }
    let units: Vec<u16> = b
        .chunks(2)
        .map(|p| u16::from(p.get(1).copied().unwrap_or(0)))
        .collect();
    let s = String::from_utf16_lossy(&units);
    let s = s.trim_matches(char::from(0)).to_string();
    (!s.is_empty()).then_some(s)
}

fn idx(n: u32) -> Option<DevIdx> {
    n.checked_sub(1)
}

fn h32(parts: &[&[u8]]) -> u32 {
    stable_hash(parts) as u32
}

fn ip_bytes(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v) => v.to_ipv6_mapped().octets(),
        IpAddr::V6(v) => v.octets(),
    }
}

/// A statistical rule's threshold for a device: its own learned windows when it has enough,
/// else its profile's (siblings of the same kind), else none.
fn base_threshold(
    dev: &[DevState],
    inv: &Inventory,
    pool: &FastMap<u64, DevBaseline>,
    r: &Rule,
    d: Option<DevIdx>,
) -> Option<f64> {
    let Threshold::Baseline {
        percentile,
        factor,
        offset,
        floor,
    } = r.threshold
    else {
        return None;
    };
    let d = d?;
    let own = dev.get(d as usize).map(|s| &s.base);
    let prof = inv
        .get(d)
        .and_then(baseline_profile)
        .and_then(|p| pool.get(&p));
    let b = own
        .filter(|b| b.windows >= MIN_WINDOWS)
        .or_else(|| prof.filter(|b| b.windows >= MIN_WINDOWS))?;
    let p = match r.metric {
        Metric::Base(m) => m.from_sketch(b.sketch(m)?.percentile(percentile)?),
        Metric::SilentSecs => {
            if b.gaps.count() == 0 {
                return None;
            }
            b.gaps.percentile(percentile)?
        }
        _ => return None,
    };
    Some((p * factor + offset).max(floor))
}

/// Profile for sharing baselines: vendor, labels and roles.
fn baseline_profile(d: &Device) -> Option<u64> {
    let p = profile_key(d.vendor.as_deref(), &d.labels)?;
    Some(stable_hash(&[&p.to_be_bytes(), &d.roles.0.to_be_bytes()]))
}

fn fact_key(k: FactKind) -> &'static str {
    match k {
        FactKind::ModbusVendor => "modbus_vendor",
        FactKind::ModbusProductCode => "modbus_product_code",
        FactKind::ModbusRevision => "modbus_revision",
        FactKind::ModbusVendorUrl => "modbus_vendor_url",
        FactKind::ModbusProductName => "modbus_product_name",
        FactKind::ModbusModelName => "modbus_model_name",
        FactKind::ModbusUnitId => "modbus_unit_id",
        FactKind::BacnetDeviceInstance => "bacnet_device_instance",
        FactKind::BacnetVendorId => "bacnet_vendor_id",
        FactKind::BacnetVendorName => "bacnet_vendor_name",
        FactKind::BacnetVendorRegistered => "bacnet_vendor_registered",
        FactKind::BacnetObjectName => "bacnet_object_name",
        FactKind::BacnetModelName => "bacnet_model_name",
        FactKind::BacnetFirmwareRevision => "bacnet_firmware_revision",
        FactKind::BacnetApplicationSoftwareVersion => "bacnet_application_software_version",
        FactKind::MqttClientId => "mqtt_client_id",
        FactKind::MqttUsername => "mqtt_username",
        FactKind::MqttBrokerProduct => "mqtt_broker_product",
        FactKind::OpcuaApplicationUri => "opcua_application_uri",
        FactKind::OpcuaProductUri => "opcua_product_uri",
        FactKind::OpcuaApplicationName => "opcua_application_name",
        FactKind::OpcuaCertificateThumbprint => "opcua_certificate_thumbprint",
        FactKind::OpcuaBuildProductUri => "opcua_build_product_uri",
        FactKind::OpcuaManufacturerName => "opcua_manufacturer_name",
        FactKind::OpcuaProductName => "opcua_product_name",
        FactKind::OpcuaSoftwareVersion => "opcua_software_version",
        FactKind::OpcuaBuildNumber => "opcua_build_number",
        FactKind::AmqpProduct => "amqp_product",
        FactKind::AmqpVersion => "amqp_version",
        FactKind::AmqpPlatform => "amqp_platform",
        FactKind::AmqpContainerId => "amqp_container_id",
        FactKind::AmqpVirtualHost => "amqp_virtual_host",
    }
}

/// Modbus function codes that change the process or probe the device.
fn modbus_control(fc: u8) -> bool {
    matches!(fc, 5 | 6 | 8 | 15 | 16 | 21 | 22 | 23 | 43)
}

/// BACnet confirmed services that change a device.
fn bacnet_control(service: u8) -> bool {
    matches!(service, 7 | 8 | 9 | 10 | 11 | 15 | 16 | 17 | 20)
}

/// OPC-UA requests that change the server: Write, Call, AddNodes, DeleteNodes, AddReferences,
/// DeleteReferences, HistoryUpdate.
fn opcua_control(type_id: u32) -> bool {
    matches!(type_id, 673 | 712 | 488 | 500 | 494 | 506 | 700)
}

impl<S: AlertSink> Site<S> {
    pub fn new(cfg: SiteConfig, rules: Vec<Rule>, sink: S) -> Site<S> {
        let mut engine = Engine::new(rules, cfg.engine);
        engine.learning = true;
        Site {
            inv: Inventory::new(cfg.site.clone(), cfg.max_devices),
            graph: Graph::new(cfg.max_edges),
            dev: Vec::new(),
            engine,
            sink,
            learning: true,
            stats: SiteStats::default(),
            learned_ext: FastSet::default(),
            learned_ext_names: FastSet::default(),
            learned_ext_profile: FastSet::default(),
            learned_profile_edges: FastSet::default(),
            learned_services: FastSet::default(),
            learned_addr_services: FastSet::default(),
            profile_base: FastMap::default(),
            contacted: FastSet::default(),
            dhcp_pending: FastMap::default(),
            syn_pending: FastMap::default(),
            now: 0,
            last_silence: 0,
            sensor: sensor::Sensor::new(cfg.gap_limit_ns),
            dnsw: dns::DnsWatch::default(),
            dhcpw: dhcp::DhcpWatch::default(),
            arpw: arp::ArpWatch::default(),
            beacons: beacon::Beacons::default(),
            learned_addr_edges: FastSet::default(),
            learned_ext_addr: FastSet::default(),
            learned_whois: FastSet::default(),
            learned_addr_ops: FastSet::default(),
            eve: None,
            posture: posture::Posture::default(),
            fingerprints: std::sync::Arc::new(
                crate::identify::fingerprints::shipped().unwrap_or_default(),
            ),
            advisories: std::sync::Arc::new(Vec::new()),
            cfg,
        }
    }

    /// What the watchers hold and dropped.
    pub fn watch_stats(&self) -> WatchStats {
        WatchStats {
            dns_queries: self.dnsw.queries,
            dns_dropped: self.dnsw.dropped,
            dhcp_dropped: self.dhcpw.dropped + self.dhcpw.servers_dropped,
            dhcp_servers_learned: self.dhcpw.servers.len() as u64,
            arp_messages: self.arpw.messages,
            arp_dropped: self.arpw.dropped,
            beacon_tracks: self.beacons.tracked,
            beacon_dropped: self.beacons.dropped,
            addr_edges: self.learned_addr_edges.len() as u64,
        }
    }

    /// Report one observation of `metric` (the watchers' common path).
    #[allow(clippy::too_many_arguments)]
    fn emit(
        &mut self,
        metric: Metric,
        actor: Option<Party>,
        target: Option<Party>,
        value: Val,
        elem: u64,
        at: (u64, u64, usize, u8),
        detail: &str,
    ) {
        if !self.engine.wants(metric) {
            return;
        }
        let mut o = self.obs(metric, actor, target, value, at, detail);
        o.elem = elem;
        self.observe(o);
    }

    /// Whether a (client, server, transport, port) was seen while learning, in either
    /// orientation (a flow picked up mid-stream may have guessed its client).
    fn addr_edge_learned(&self, c: (IpAddr, u16), sv: (IpAddr, u16), proto: u8) -> bool {
        self.learned_addr_edges.contains(&(c.0, sv.0, proto, sv.1))
            || self.learned_addr_edges.contains(&(sv.0, c.0, proto, c.1))
    }

    /// Start from what an earlier run learned.
    pub fn restore(&mut self, l: Learned) {
        self.inv = Inventory::from_devices(self.cfg.site.clone(), self.cfg.max_devices, l.devices);
        for (ip, n) in l.dns {
            self.inv.dns.insert(ip, n);
        }
        self.graph = Graph::from_edges(self.cfg.max_edges, l.edges);
        self.dev = l
            .baselines
            .into_iter()
            .map(|base| DevState {
                base,
                alarm: [f64::INFINITY; N_BMETRIC],
                ..DevState::default()
            })
            .collect();
        self.sync_dev();
        self.learned_ext = l.external.into_iter().collect();
        self.learned_ext_names = l.external_names.into_iter().collect();
        self.engine.learned = l.suppressed.into_iter().collect();
        self.engine.accepted = l.accepted.into_iter().collect();
        self.engine.peaks = l.peaks.into_iter().map(|(a, b, c)| ((a, b), c)).collect();
        self.learned_addr_edges = l.addr_edges.into_iter().collect();
        self.learned_ext_addr = l.ext_addr.into_iter().collect();
        self.dhcpw.servers = l.dhcp_servers.into_iter().collect();
        self.arpw.learned = l.arp.into_iter().collect();
        self.learned_whois = l.whois.into_iter().collect();
        self.learned_addr_ops = l.addr_ops.into_iter().collect();
        self.posture.restore(l.findings);
        if l.learning_done {
            self.protect();
        }
    }

    /// What learning produced, for the state directory.
    pub fn learned(&self) -> Learned {
        Learned {
            format: LEARNED_FORMAT,
            learning_done: !self.learning,
            window_ns: self.cfg.window_ns,
            devices: self.inv.devices.clone(),
            edges: self.graph.edges.clone(),
            baselines: self.dev.iter().map(|d| d.base.clone()).collect(),
            external: self.learned_ext.iter().copied().collect(),
            external_names: self.learned_ext_names.iter().cloned().collect(),
            suppressed: self.engine.learned.iter().copied().collect(),
            dns: self.inv.dns.iter().map(|(a, b)| (*a, b.clone())).collect(),
            accepted: self.engine.accepted.iter().copied().collect(),
            peaks: self
                .engine
                .peaks
                .iter()
                .map(|(k, v)| (k.0, k.1, *v))
                .collect(),
            addr_edges: self.learned_addr_edges.iter().copied().collect(),
            ext_addr: self.learned_ext_addr.iter().copied().collect(),
            dhcp_servers: self.dhcpw.servers.iter().copied().collect(),
            arp: self.arpw.learned.iter().copied().collect(),
            whois: self.learned_whois.iter().copied().collect(),
            addr_ops: self.learned_addr_ops.iter().copied().collect(),
            findings: self.posture.saved(),
        }
    }

    /// "Learn this": what an alert reported is normal from now on. Its edge (and the
    /// operations on it) become learned, an external destination becomes known to the device,
    /// and the rules of its episode no longer alarm for its subject.
    pub fn accept(&mut self, a: &crate::detect::alert::Alert) {
        let dev = |r: &Option<crate::detect::alert::DevRef>| {
            r.as_ref().and_then(|r| self.inv.by_id(&r.id))
        };
        let (src, dst) = (dev(&a.src_device), dev(&a.dest_device));
        if let (Some(c), Some(sv), Some(port)) = (src, dst, a.dest_port) {
            let key = EdgeKey {
                client: c,
                server: sv,
                ip_proto: a.ip_proto,
                port,
            };
            if let Some(e) = self.graph.find(&key).and_then(|i| self.graph.get_mut(i)) {
                e.learned = true;
                for op in &mut e.ops {
                    op.learned = true;
                    op.learned_range = op.range;
                }
            }
            self.learned_services.insert((sv, port));
        }
        if let (Some(c), Some(ip)) = (src, a.dest_ip) {
            if self.inv.is_external(ip) {
                self.learned_ext.insert((c, ip));
                self.contacted.remove(&(c, ip));
            }
        }
        for sid in &a.episode.rules {
            let Some(r) = self.engine.rules.iter().find(|r| r.sid == *sid) else {
                continue;
            };
            let (ip, d) = match r.metric.subject() {
                crate::detect::rules::Subject::Actor => (a.src_ip, src),
                crate::detect::rules::Subject::Target => (a.dest_ip, dst),
            };
            if let Some(ip) = ip {
                let k = crate::detect::subject_key(&Party {
                    ip,
                    port: None,
                    dev: d,
                });
                self.engine.accepted.insert((*sid, k));
            }
        }
    }

    /// Switch to learning: what is seen from now on is normal.
    pub fn learn(&mut self) {
        self.learning = true;
        self.engine.learning = true;
    }

    /// Switch to protection: freeze what was learned and derive what siblings share.
    pub fn protect(&mut self) {
        let now = self.now;
        if self.learning {
            for s in &mut self.dev {
                if s.win.active() {
                    s.base.record(&s.win.closed());
                }
                s.win = Window {
                    idx: now / self.cfg.window_ns.max(1),
                    ..Window::default()
                };
            }
        }
        self.learning = false;
        self.engine.learning = false;
        self.profile_base.clear();
        for (i, d) in self.inv.live() {
            if let (Some(p), Some(s)) = (baseline_profile(d), self.dev.get(i as usize)) {
                self.profile_base.entry(p).or_default().merge(&s.base);
            }
        }
        self.learned_profile_edges.clear();
        self.learned_services.clear();
        for e in self.graph.edges.iter().filter(|e| e.learned) {
            let k = e.key;
            let (c, s) = (self.inv.canon(k.client), self.inv.canon(k.server));
            self.learned_services.insert((s, k.port));
            if let Some(p) = self
                .inv
                .get(c)
                .and_then(|d| profile_key(d.vendor.as_deref(), &d.labels))
            {
                self.learned_profile_edges
                    .insert((p, s, k.ip_proto, k.port));
            }
        }
        self.learned_addr_services = self
            .learned_addr_edges
            .iter()
            .filter(|k| k.2 == 6)
            .map(|k| (k.1, k.3))
            .collect();
        self.learned_ext_profile.clear();
        for (d, ip) in &self.learned_ext {
            if let Some(p) = self
                .inv
                .get(*d)
                .and_then(|x| profile_key(x.vendor.as_deref(), &x.labels))
            {
                self.learned_ext_profile.insert((p, *ip));
            }
        }
        for s in &mut self.dev {
            s.alarm = [f64::INFINITY; N_BMETRIC];
        }
        self.contacted.clear();
    }

    fn sync_dev(&mut self) {
        while self.dev.len() < self.inv.devices.len() {
            self.dev.push(DevState {
                alarm: [f64::INFINITY; N_BMETRIC],
                ..DevState::default()
            });
        }
        for (from, into) in std::mem::take(&mut self.inv.merges) {
            self.graph.merge_device(from, into);
            let b = self.dev.get(from as usize).map(|s| s.base.clone());
            if let (Some(b), Some(t)) = (b, self.dev.get_mut(into as usize)) {
                t.base.merge(&b);
            }
            let moved: Vec<_> = self
                .learned_ext
                .iter()
                .filter(|(d, _)| *d == from)
                .copied()
                .collect();
            for (_, ip) in moved {
                self.learned_ext.insert((into, ip));
            }
        }
    }

    fn canon(&self, n: u32) -> Option<DevIdx> {
        idx(n).map(|d| self.inv.canon(d))
    }

    fn party(&self, ip: IpAddr, port: Option<u16>, dev: Option<DevIdx>) -> Party {
        Party { ip, port, dev }
    }

    /// Hand an observation to the engine.
    fn observe(&mut self, o: Obs<'_>) {
        let Site {
            engine,
            inv,
            dev,
            profile_base,
            sink,
            ..
        } = self;
        engine.observe(
            &o,
            inv,
            &|r, d| base_threshold(dev, inv, profile_base, r, d),
            sink,
        );
    }

    fn obs<'a>(
        &self,
        metric: Metric,
        actor: Option<Party>,
        target: Option<Party>,
        value: Val,
        s: (u64, u64, usize, u8),
        detail: &'a str,
    ) -> Obs<'a> {
        Obs {
            metric,
            actor,
            target,
            value,
            elem: 0,
            ts_ns: s.0,
            frame: s.1,
            source: s.2,
            ip_proto: s.3,
            app: None,
            detail,
        }
    }

    /// Add a packet to a device's window, closing the window when packet time left it.
    fn count(&mut self, d: DevIdx, out: bool, len: f64, s: &Seen<'_>, peer: Party) {
        let w = self.cfg.window_ns.max(1);
        let wi = s.ts_ns / w;
        let learning = self.learning;
        let Some(st) = self.dev.get_mut(d as usize) else {
            return;
        };
        if st.win.idx != wi {
            let closed = st.win.closed();
            let was_active = st.win.active();
            st.win = Window {
                idx: wi,
                ..Window::default()
            };
            if was_active {
                if learning {
                    st.base.record(&closed);
                } else {
                    self.window_closed(d, &closed, s);
                }
            }
            if !self.learning {
                self.set_alarms(d);
            }
        }
        let Some(st) = self.dev.get_mut(d as usize) else {
            return;
        };
        let (bm, pm) = if out {
            (BMetric::BytesOut, BMetric::PacketsOut)
        } else {
            (BMetric::BytesIn, BMetric::PacketsIn)
        };
        st.win.v[bm.idx()] += len;
        st.win.v[pm.idx()] += 1.0;
        if out {
            if learning && st.last_tx_ns != 0 {
                let gap = s.ts_ns.saturating_sub(st.last_tx_ns);
                if gap > 1_000_000_000 {
                    st.base.gaps.add(gap as f64 / 1e9);
                }
            }
            st.last_tx_ns = s.ts_ns;
        }
        let mut crossed = [None, None];
        for (slot, m) in crossed.iter_mut().zip([bm, pm]) {
            let v = st.win.v[m.idx()];
            if v > st.alarm[m.idx()] {
                st.alarm[m.idx()] = f64::INFINITY;
                *slot = Some((m, v));
            }
        }
        for (m, v) in crossed.into_iter().flatten() {
            let me = Party {
                ip: if out { s.src } else { s.dst },
                port: None,
                dev: Some(d),
            };
            // The device is the actor of what it sends and the target of what it receives.
            let (actor, target) = if out {
                (Some(me), Some(peer))
            } else {
                (Some(peer), Some(me))
            };
            let o = self.obs(
                Metric::Base(m),
                if out { actor } else { target },
                if out { target } else { actor },
                Val::Set(v),
                (s.ts_ns, s.frame, s.source, s.ip_proto),
                m.name(),
            );
            self.observe(o);
        }
    }

    /// Alarm levels of the live baseline metrics for a device's new window: the lowest
    /// threshold among the rules reading each.
    fn set_alarms(&mut self, d: DevIdx) {
        let mut alarm = [f64::INFINITY; N_BMETRIC];
        for m in BMetric::ALL {
            for r in self.engine.rules_for(Metric::Base(m)) {
                let t = match r.threshold {
                    Threshold::Above(v) => Some(v),
                    Threshold::Baseline { .. } => {
                        base_threshold(&self.dev, &self.inv, &self.profile_base, r, Some(d))
                    }
                };
                if let Some(t) = t {
                    alarm[m.idx()] = alarm[m.idx()].min(t);
                }
            }
        }
        if let Some(st) = self.dev.get_mut(d as usize) {
            st.alarm = alarm;
        }
    }

    /// A device's window closed in protection: metrics judged on the whole window (the
    /// producer/consumer ratio, distinct counts, connections).
    fn window_closed(&mut self, d: DevIdx, v: &[f64; N_BMETRIC], s: &Seen<'_>) {
        let ip = self
            .inv
            .get(d)
            .and_then(|x| x.ips.last().map(|a| a.addr))
            .unwrap_or(s.src);
        let me = Some(Party {
            ip,
            port: None,
            dev: Some(d),
        });
        for m in [
            BMetric::PcRatio,
            BMetric::DistinctPeers,
            BMetric::DistinctPorts,
            BMetric::ConnectionsOut,
            BMetric::ConnectionsIn,
        ] {
            if !self.engine.wants(Metric::Base(m)) {
                continue;
            }
            if m == BMetric::PcRatio && v[BMetric::BytesOut.idx()] + v[BMetric::BytesIn.idx()] < 1.0
            {
                continue;
            }
            let o = self.obs(
                Metric::Base(m),
                me,
                None,
                Val::Set(v[m.idx()]),
                (s.ts_ns, s.frame, s.source, 0),
                m.name(),
            );
            self.observe(o);
        }
    }

    fn dhcp(&mut self, s: &Seen<'_>) {
        let Some(m) = edgetap_dissectors::names::dhcp(s.payload) else {
            return;
        };
        self.stats.dhcp += 1;
        match (m.message_type, m.chaddr) {
            (Some(1 | 3), Some(mac)) if m.op == 1 => self.dhcp_request(s, mac),
            (Some(2 | 5), _) if m.op == 2 => self.dhcp_reply(s, IpAddr::V4(m.yiaddr)),
            _ => {}
        }
        let text = |b: Option<&[u8]>| {
            b.and_then(|b| std::str::from_utf8(b).ok())
                .map(|t| t.trim_matches(char::from(0)).to_string())
                .filter(|t| !t.is_empty())
        };
        match m.message_type {
            Some(1) | Some(3) | Some(8) => {
                if let Some(mac) = m.chaddr {
                    let prl = s
                        .payload
                        .get(240..)
                        .filter(|_| m.cookie)
                        .map(edgetap_dissectors::fingerprint::dhcp::dhcp_options)
                        .and_then(|o| o.parameter_request_list.map(|_| o.prl().to_string()))
                        .filter(|p| !p.is_empty());
                    let entry = [text(m.hostname), text(m.vendor_class), prl];
                    if self.dhcp_pending.len() < MAX_DHCP_PENDING
                        || self.dhcp_pending.contains_key(&mac)
                    {
                        self.dhcp_pending.insert(mac, entry);
                    }
                }
            }
            Some(5) => {
                if let Some(srv) = self.inv.resolve(s.src, s.macs.0, s.ts_ns, true) {
                    self.inv.add_role(srv, Role::DhcpServer);
                }
                let Some(mac) = m.chaddr else { return };
                let yi = IpAddr::V4(m.yiaddr);
                let Some(d) = self.inv.resolve(yi, Some(mac), s.ts_ns, true) else {
                    return;
                };
                self.inv.bind_ip(d, yi, s.ts_ns);
                let [host, vendor, prl] = self.dhcp_pending.remove(&mac).unwrap_or_default();
                let host = host.or_else(|| text(m.hostname));
                let fl = (s.flow.map_or(0, |f| f.id), s.frame);
                if let Some(h) = host {
                    self.inv.fact(d, "dhcp_hostname", &h, s.ts_ns, fl);
                }
                if let Some(v) = vendor.or_else(|| text(m.vendor_class)) {
                    self.inv.fact(d, "dhcp_vendor_class", &v, s.ts_ns, fl);
                }
                if let Some(p) = prl {
                    self.inv.fact(d, "dhcp_params", &p, s.ts_ns, fl);
                }
                self.sync_dev();
            }
            _ => {}
        }
    }

    /// An mDNS response: the sender's own host name (an A/AAAA record of its address), the
    /// DNS-SD services it announces (`mdns_service`, `mdns_instance`) and the identifying keys
    /// of their TXT records (model, manufacturer, firmware). Records about other addresses
    /// (a proxy's, a sleep proxy's) are not the sender's and are left out.
    fn mdns(&mut self, s: &Seen<'_>) {
        use edgetap_dissectors::discovery::{mdns, MdnsKind};
        use edgetap_dissectors::names::text;
        let mut d = None;
        let mut first = true;
        let fl = (s.flow.map_or(0, |f| f.id), s.frame);
        let (inv, src, mac, ts) = (&mut self.inv, s.src, s.macs.0, s.ts_ns);
        mdns(s.payload, &mut |r| {
            if r.ttl == 0 {
                return; // a goodbye: withdrawn
            }
            if first {
                first = false;
                d = inv.resolve(src, mac, ts, true);
            }
            let Some(d) = d else { return };
            match r.kind {
                // Some responders (open62541) put addresses on the instance name too: that
                // is a service's name, not the host's.
                MdnsKind::Host { name, addr }
                    if addr == src && !name.contains("._tcp.") && !name.contains("._udp.") =>
                {
                    inv.fact(d, "mdns_hostname", name, ts, fl);
                }
                MdnsKind::Instance { instance, service } => {
                    inv.fact(d, "mdns_service", service, ts, fl);
                    inv.fact(d, "mdns_instance", instance, ts, fl);
                }
                MdnsKind::Txt {
                    key,
                    value: Some(v),
                    ..
                } => {
                    let is = |names: &[&str]| names.iter().any(|n| key.eq_ignore_ascii_case(n));
                    let fact = if is(&["md", "model", "usb_mdl"]) {
                        "mdns_model"
                    } else if is(&["mf", "manufacturer", "usb_mfg", "vendor"]) {
                        "mdns_manufacturer"
                    } else if is(&["fv", "firmware", "fw", "fwversion"]) {
                        "mdns_firmware"
                    } else {
                        return;
                    };
                    if let Some(t) = text(v) {
                        inv.fact(d, fact, t, ts, fl);
                    }
                }
                _ => {}
            }
        });
        if d.is_some() {
            self.sync_dev();
        }
    }

    /// NetBIOS names: a host registering or refreshing its own names, a node status answer
    /// (the responder's name table), a query answer (the name's owner, when it answers for
    /// itself). Unique names are the host's (`netbios_name`, suffix 00 or 20), group names its
    /// workgroup or domain (`netbios_group`); a domain controller's 1C name says what it is.
    fn netbios(&mut self, s: &Seen<'_>) {
        use edgetap_dissectors::discovery::{netbios_ns, NbnsKind};
        let IpAddr::V4(src4) = s.src else { return };
        let mut d = None;
        let mut first = true;
        let fl = (s.flow.map_or(0, |f| f.id), s.frame);
        let (inv, mac, ts) = (&mut self.inv, s.macs.0, s.ts_ns);
        netbios_ns(s.payload, &mut |r| {
            // Whose name: the address bound to it, or the node status responder. A name
            // registered for another address (a WINS server relaying) is not the sender's.
            let owner = match r.kind {
                NbnsKind::NodeStatus => src4,
                _ => match r.addr {
                    Some(a) if a == src4 => a,
                    _ => return,
                },
            };
            if first {
                first = false;
                d = inv.resolve(IpAddr::V4(owner), mac, ts, true);
            }
            let Some(d) = d else { return };
            let key = match (r.group, r.suffix) {
                (false, 0x00 | 0x20) => "netbios_name",
                (true, 0x00) => "netbios_group",
                (_, 0x1C) => "netbios_domain_controller",
                _ => return,
            };
            inv.fact(d, key, r.name, ts, fl);
        });
        if d.is_some() {
            self.sync_dev();
        }
    }

    fn dns(&mut self, s: &Seen<'_>) {
        let mut answers: Vec<(String, IpAddr)> = Vec::new();
        edgetap_dissectors::names::dns_answers(s.payload, &mut |name, ip| {
            if answers.len() < 32 {
                answers.push((name.to_string(), ip));
            }
        });
        if answers.is_empty() {
            return;
        }
        if s.sport == 53 {
            if let Some(d) = self.inv.resolve(s.src, s.macs.0, s.ts_ns, true) {
                self.inv.add_role(d, Role::DnsServer);
            }
        }
        for (name, ip) in answers {
            self.stats.dns_answers += 1;
            self.inv.dns_name(ip, &name);
        }
        self.sync_dev();
    }

    /// A new connection attempt (a TCP SYN, a UDP flow's first datagram).
    fn new_connection(
        &mut self,
        s: &Seen<'_>,
        fl: &SeenFlow,
        note: &mut FlowNote,
        c: Option<DevIdx>,
        sv: Option<DevIdx>,
    ) {
        let at = (s.ts_ns, s.frame, s.source, s.ip_proto);
        let actor = self.party(s.src, Some(s.sport), c);
        let target = self.party(s.dst, Some(s.dport), sv);
        if let Some(d) = c {
            if let Some(st) = self.dev.get_mut(d as usize) {
                st.win.v[BMetric::ConnectionsOut.idx()] += 1.0;
                st.win.peers.add(h32(&[&ip_bytes(s.dst)]));
                st.win
                    .ports
                    .add(u32::from(s.dport) | (u32::from(s.ip_proto) << 16));
            }
        }
        if let Some(d) = sv {
            if let Some(st) = self.dev.get_mut(d as usize) {
                st.win.v[BMetric::ConnectionsIn.idx()] += 1.0;
            }
        }
        let outward = self.inv.is_internal(s.src) && self.inv.is_external(s.dst);
        if self.learning && outward {
            if let Some(d) = c {
                self.learned_ext.insert((d, s.dst));
                if let Some(n) = self.inv.dns.get(&s.dst).cloned() {
                    self.learned_ext_names.insert((d, n));
                }
            }
            if self.learned_ext_addr.len() < MAX_CONTACTED {
                self.learned_ext_addr.insert((s.src, s.dst));
            } else {
                self.stats.addr_edges_dropped += 1;
            }
        }
        // Observed while learning too: what a subject does then is its normal.
        let dst_h = stable_hash(&[&ip_bytes(s.dst)]);
        let (a, t, one) = (Some(actor), Some(target), Val::Add(1.0));
        self.emit(Metric::FanoutHosts, a, t, one, dst_h, at, "");
        let host_port = dst_h ^ (u64::from(s.dport) << 40) ^ u64::from(s.ip_proto);
        self.emit(Metric::FanoutPorts, a, t, one, host_port, at, "");
        if s.ip_proto == 6 {
            // SYNs to a port the target answers on, or to a target that never answered at
            // all (a flood's victim may be down already): a scan of a live host's closed
            // ports is not a flood.
            let open = match sv.and_then(|d| self.dev.get(d as usize)) {
                Some(st) => st.open_ports.contains(&s.dport),
                None => true,
            };
            if open {
                self.emit(Metric::SynIn, a, t, one, 0, at, "");
            }
        }
        let src_h = stable_hash(&[&ip_bytes(s.src)]);
        self.emit(Metric::DistinctSourcesIn, a, t, one, src_h, at, "");
        if self.learning {
            return;
        }
        // First contact of an internal device with an external destination.
        if let Some(d) = c {
            if outward {
                let name = self.inv.dns.get(&s.dst).cloned();
                let profile = self
                    .inv
                    .get(d)
                    .and_then(|x| profile_key(x.vendor.as_deref(), &x.labels));
                let known = self.learned_ext.contains(&(d, s.dst))
                    || self.learned_ext_addr.contains(&(s.src, s.dst))
                    || profile.is_some_and(|p| self.learned_ext_profile.contains(&(p, s.dst)))
                    || name
                        .as_ref()
                        .is_some_and(|n| self.learned_ext_names.contains(&(d, n.clone())));
                if !known {
                    note.flags |= F_NEWEXT;
                    if !self.contacted.contains(&(d, s.dst)) {
                        if self.contacted.len() < MAX_CONTACTED {
                            self.contacted.insert((d, s.dst));
                        } else {
                            self.stats.contacted_dropped += 1;
                        }
                        self.stats.new_external += 1;
                        let detail = match &name {
                            Some(n) => format!("{} ({n})", s.dst),
                            None => s.dst.to_string(),
                        };
                        let mut o = self.obs(
                            Metric::NewExternalDestination,
                            Some(actor),
                            Some(target),
                            Val::Add(1.0),
                            at,
                            &detail,
                        );
                        o.app = fl.proto;
                        o.elem = h64(s.dst, 0);
                        self.observe(o);
                    }
                }
            }
        }
        // Connection starts toward what was never learned: a beacon's check-ins.
        let unlearned = if outward {
            !(self.learned_ext_addr.contains(&(s.src, s.dst))
                || c.is_some_and(|d| self.learned_ext.contains(&(d, s.dst))))
        } else {
            !self.addr_edge_learned((s.src, s.sport), (s.dst, s.dport), s.ip_proto)
        };
        if unlearned {
            let who = crate::detect::subject_key(&actor);
            let whom = match self.inv.dns.get(&s.dst) {
                Some(n) => stable_hash(&[n.as_bytes()]),
                None => h64(s.dst, s.dport),
            };
            let key = stable_hash(&[&who.to_be_bytes(), &whom.to_be_bytes(), b"conn"]);
            self.beacon_event(key, actor, target, 0, at, "connections");
        }
    }

    /// A connection attempt failed: refused (RST to a SYN) or unanswered (SYN retransmitted),
    /// or ICMP said unreachable.
    fn failed(&mut self, s: &Seen<'_>, actor: Party, target: Party, why: &str) {
        let at = (s.ts_ns, s.frame, s.source, s.ip_proto);
        let o = self.obs(
            Metric::FailedConnections,
            Some(actor),
            Some(target),
            Val::Add(1.0),
            at,
            why,
        );
        self.observe(o);
        if let (Some(d), Some(port)) = (target.dev, target.port) {
            if self.learned_services.contains(&(d, port)) {
                let o = self.obs(
                    Metric::ServiceRefused,
                    Some(actor),
                    Some(target),
                    Val::Add(1.0),
                    at,
                    why,
                );
                self.observe(o);
            }
        }
    }

    /// A connection was established (or a datagram exchange seen): its edge of the graph.
    fn establish(
        &mut self,
        s: &Seen<'_>,
        fl: &SeenFlow,
        note: &mut FlowNote,
        c: DevIdx,
        sv: DevIdx,
    ) {
        let key = EdgeKey {
            client: c,
            server: sv,
            ip_proto: s.ip_proto,
            port: fl.server.1,
        };
        let learning = self.learning;
        let Some((e, created)) = self.graph.get_or_insert(key, fl.proto, s.ts_ns, learning) else {
            return;
        };
        note.edge = e + 1;
        if let Some(edge) = self.graph.get_mut(e) {
            edge.flows += 1;
        }
        if !created || learning {
            return;
        }
        let profile = self
            .inv
            .get(c)
            .and_then(|x| profile_key(x.vendor.as_deref(), &x.labels));
        if self.addr_edge_learned(fl.client, fl.server, s.ip_proto) {
            // Seen while learning, before both ends were devices.
            self.stats.addr_edges_matched += 1;
            if let Some(edge) = self.graph.get_mut(e) {
                edge.learned = true;
                edge.by_address = true;
            }
            return;
        }
        if profile.is_some_and(|p| {
            self.learned_profile_edges
                .contains(&(p, sv, s.ip_proto, fl.server.1))
        }) {
            // A sibling of a known kind doing what its siblings do.
            if let Some(edge) = self.graph.get_mut(e) {
                edge.learned = true;
            }
            return;
        }
        self.stats.new_edges += 1;
        let detail = format!(
            "{} -> {} {}/{}",
            self.inv.get(c).map_or_else(String::new, Device::label),
            self.inv.get(sv).map_or_else(String::new, Device::label),
            if s.ip_proto == 6 { "tcp" } else { "udp" },
            fl.server.1
        );
        let before = self.engine.stats.alerts;
        let mut o = self.obs(
            Metric::NewEdge,
            Some(self.party(fl.client.0, Some(fl.client.1), Some(c))),
            Some(self.party(fl.server.0, Some(fl.server.1), Some(sv))),
            Val::Add(1.0),
            (s.ts_ns, s.frame, s.source, s.ip_proto),
            &detail,
        );
        o.app = fl.proto;
        o.elem = stable_hash(&[
            &c.to_be_bytes(),
            &sv.to_be_bytes(),
            &[s.ip_proto],
            &fl.server.1.to_be_bytes(),
        ]);
        self.observe(o);
        if self.engine.stats.alerts != before {
            if let Some(edge) = self.graph.get_mut(e) {
                edge.alerted = true;
            }
        }
    }

    fn icmp(&mut self, s: &Seen<'_>, ty: u8) {
        let v6 = s.src.is_ipv6();
        let (echo_req, echo_rep, unreach) = if v6 { (128, 129, 1) } else { (8, 0, 3) };
        let at = (s.ts_ns, s.frame, s.source, s.ip_proto);
        if ty == echo_rep || ty == unreach {
            // The sender answered: it exists.
            self.inv.resolve(s.src, s.macs.0, s.ts_ns, true);
            self.sync_dev();
        }
        let a = self.inv.resolve(s.src, s.macs.0, s.ts_ns, false);
        let t = self.inv.resolve(s.dst, s.macs.1, s.ts_ns, false);
        let actor = self.party(s.src, None, a);
        let target = self.party(s.dst, None, t);
        if ty == echo_req {
            let (to, from) = (h64(s.dst, 0), h64(s.src, 0));
            self.emit(
                Metric::IcmpSweep,
                Some(actor),
                Some(target),
                Val::Add(1.0),
                to,
                at,
                "",
            );
            let m = Metric::DistinctSourcesIn;
            self.emit(m, Some(actor), Some(target), Val::Add(1.0), from, at, "");
        }
        self.emit(
            Metric::IcmpIn,
            Some(actor),
            Some(target),
            Val::Add(1.0),
            0,
            at,
            "",
        );
        if ty == echo_req {
            self.icmp_external(s);
        }
        if ty == unreach {
            // The original sender is the destination of the ICMP message.
            self.failed(s, target, actor, "icmp unreachable");
            let port_unreach = if v6 { 4 } else { 3 };
            if s.icmp.is_some_and(|(_, code)| code == port_unreach) {
                self.port_unreachable(s);
            }
        }
    }

    /// Silence checks, every 10 s of packet time.
    fn silence(&mut self, now: u64) {
        if self.learning || !self.engine.wants(Metric::SilentSecs) {
            return;
        }
        // The sensor itself saw nothing: the devices are not to blame.
        if self.sensor.idle(now) {
            return;
        }
        let mut due = Vec::new();
        for (i, d) in self.inv.live() {
            let Some(st) = self.dev.get(i as usize) else {
                continue;
            };
            if st.base.windows == 0 || st.base.gaps.count() == 0 || st.last_tx_ns == 0 {
                continue;
            }
            let silent = now.saturating_sub(st.last_tx_ns) as f64 / 1e9;
            if silent > 1.0 {
                if let Some(ip) = d.ips.last() {
                    due.push((i, ip.addr, silent));
                }
            }
        }
        for (i, ip, silent) in due {
            let target = self.party(ip, None, Some(i));
            let o = self.obs(
                Metric::SilentSecs,
                None,
                Some(target),
                Val::Set(silent),
                (now, 0, 0, 0),
                "silent",
            );
            self.observe(o);
        }
    }

    /// The operations of a request on its edge. Returns whether the edge, and this
    /// operation on it, were learned.
    fn pdu_ops(
        &mut self,
        ctx: &Ctx,
        c: Option<DevIdx>,
        sv: Option<DevIdx>,
        pdu: &Pdu<'_>,
    ) -> Option<(bool, bool)> {
        let addr_op = op_code(pdu).map(|code| {
            let proto = if pdu.proto() == Proto::Bacnet { 17 } else { 6 };
            stable_hash(&[
                &ip_bytes(ctx.client.0),
                &ip_bytes(ctx.server.0),
                &[proto],
                &ctx.server.1.to_be_bytes(),
                &code.to_be_bytes(),
            ])
        });
        let Some(e) = idx(ctx.note.edge) else {
            // No edge yet (an end is no device yet): while learning, the operation is
            // remembered by address, so the edge made later knows it.
            if let (true, Some(h)) = (self.learning, addr_op) {
                if self.learned_addr_ops.len() < MAX_ADDR_EDGES {
                    self.learned_addr_ops.insert(h);
                } else {
                    self.stats.addr_edges_dropped += 1;
                }
            }
            return None;
        };
        let learning = self.learning || addr_op.is_some_and(|h| self.learned_addr_ops.contains(&h));
        let ts = ctx.ts_ns;
        let edge = self.graph.get_mut(e)?;
        let edge_learned = edge.learned;
        let learning = learning || edge.by_address;
        edge.app = edge.app.or(Some(pdu.proto()));
        let r = match pdu {
            Pdu::Modbus(m) => {
                if m.kind != edgetap_dissectors::modbus::Kind::Request {
                    return None;
                }
                let (addr, qty) = match (m.write_address, m.write_quantity) {
                    (Some(a), Some(q)) => (Some(a), Some(q)),
                    _ => (m.address, m.quantity.or(m.address.map(|_| 1))),
                };
                let range = addr.map(|a| (a, a.saturating_add(qty.unwrap_or(1).max(1) - 1)));
                let (fc, unit) = (m.function_code, m.unit_id);
                let ctl = modbus_control(fc);
                let code = (u32::from(unit) << 16) | u32::from(fc);
                edge.op(code, None, range, ctl, ts, learning, || {
                    format!("modbus fc {fc} unit {unit}")
                })
                .map(|l| (l, ctl, Detail::Modbus(fc, unit, range)))
            }
            Pdu::Bacnet(b) => {
                let (Some(t), Some(sv_)) = (b.apdu_type, b.service) else {
                    return None;
                };
                if t > 1 {
                    return None;
                }
                let ctl = t == 0 && bacnet_control(sv_);
                let name = b.service_name;
                let code = (u32::from(t) << 8) | u32::from(sv_);
                edge.op(code, None, None, ctl, ts, learning, || {
                    Detail::Bacnet(sv_, name).to_string()
                })
                .map(|l| (l, ctl, Detail::Bacnet(sv_, name)))
            }
            Pdu::Mqtt(m) => {
                let topic = m.topic.as_ref().and_then(|t| t.as_str());
                if m.packet_type != 3 && m.packet_type != 8 {
                    return None;
                }
                let kind = if m.packet_type == 3 {
                    "publish"
                } else {
                    "subscribe"
                };
                edge.op(
                    u32::from(m.packet_type),
                    topic,
                    None,
                    false,
                    ts,
                    learning,
                    || format!("mqtt {kind}"),
                )
                .map(|l| (l, false, Detail::None))
            }
            Pdu::Opcua(o) => {
                let id = o.service_type_id?;
                let name = o.service.unwrap_or("service");
                if !name.ends_with("Request") {
                    return None;
                }
                let ctl = opcua_control(id);
                edge.op(id, None, None, ctl, ts, learning, || {
                    format!("opcua {name}")
                })
                .map(|l| (l, ctl, Detail::Opcua(name)))
            }
            Pdu::Amqp(a) => {
                let method = a.method?;
                let code = (u32::from(a.class_id.unwrap_or(0)) << 16)
                    | u32::from(a.method_id.unwrap_or(0))
                    | u32::from(a.performative.is_some()) << 31;
                edge.op(code, None, None, false, ts, learning, || {
                    format!("amqp {method}")
                })
                .map(|l| (l, false, Detail::None))
            }
            #[allow(unreachable_patterns)]
            _ => None,
        };
        let ret = r.as_ref().map(|(l, _, _)| (edge_learned, *l));
        if let Some((false, true, what)) = r {
            let item = what.item();
            let what = what.to_string();
            self.stats.unlearned_control += 1;
            let actor = self.party(ctx.client.0, Some(ctx.client.1), c);
            let target = self.party(ctx.server.0, Some(ctx.server.1), sv);
            let mut o = self.obs(
                Metric::UnlearnedControl,
                Some(actor),
                Some(target),
                Val::Add(1.0),
                (
                    ctx.ts_ns,
                    ctx.frame,
                    ctx.source,
                    6 + 11 * u8::from(pdu.proto() == Proto::Bacnet),
                ),
                &what,
            );
            o.app = Some(pdu.proto());
            o.elem = stable_hash(&[&ip_bytes(ctx.server.0), &item.to_be_bytes()]);
            self.observe(o);
            if let Some(edge) = self.graph.get_mut(e) {
                edge.alerted = true;
            }
        }
        ret
    }
}

/// The code an operation has on its edge (as `pdu_ops` files it), for requests.
fn op_code(pdu: &Pdu<'_>) -> Option<u32> {
    match pdu {
        Pdu::Modbus(m) if m.kind == edgetap_dissectors::modbus::Kind::Request => {
            Some((u32::from(m.unit_id) << 16) | u32::from(m.function_code))
        }
        Pdu::Bacnet(b) => match (b.apdu_type, b.service) {
            (Some(t), Some(sv)) if t <= 1 => Some((u32::from(t) << 8) | u32::from(sv)),
            _ => None,
        },
        Pdu::Opcua(o) => o.service_type_id,
        _ => None,
    }
}

/// An operation, described only when an alert needs the words (no allocation per PDU).
enum Detail {
    None,
    Modbus(u8, u8, Option<(u16, u16)>),
    Bacnet(u8, Option<&'static str>),
    Opcua(&'static str),
}

impl Detail {
    /// The operation as an item: a new one is an alert of its own; the same one on other
    /// registers or unit ids folds into its episode (a sweep is one alert per function).
    fn item(&self) -> u64 {
        match self {
            Detail::None => 0,
            Detail::Modbus(fc, _, _) => 1 << 40 | u64::from(*fc),
            Detail::Bacnet(s, _) => 2 << 40 | u64::from(*s),
            Detail::Opcua(n) => 3 << 40 | stable_hash(&[n.as_bytes()]) >> 24,
        }
    }
}

impl std::fmt::Display for Detail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Detail::None => Ok(()),
            Detail::Modbus(fc, unit, r) => {
                write!(f, "modbus fc {fc} unit {unit}")?;
                match r {
                    Some((a, b)) if a == b => write!(f, " register {a}"),
                    Some((a, b)) => write!(f, " registers {a}-{b}"),
                    None => Ok(()),
                }
            }
            Detail::Bacnet(_, Some(n)) => write!(f, "bacnet {n}"),
            Detail::Bacnet(s, None) => write!(f, "bacnet service {s}"),
            Detail::Opcua(n) => write!(f, "opcua {n}"),
        }
    }
}

impl<S: AlertSink> Site<S> {
    /// Device `d`'s record for the API and the inventory files: identity and findings.
    pub fn device_record(&self, d: DevIdx, dev: &crate::identify::Device) -> serde_json::Value {
        let f = serde_json::to_value(self.posture.of(d)).ok();
        let mut v = crate::identify::export::device_record(dev, &self.fingerprints, f);
        // Advisories are matched on the identity just derived: whenever either changes, the
        // next record shows the new matches.
        let m = self.advisory_matches(&v);
        if let Some(o) = v.as_object_mut() {
            o.insert(
                "advisories".into(),
                serde_json::to_value(m).unwrap_or_default(),
            );
        }
        v
    }

    /// The advisories that apply to a device record's identity.
    fn advisory_matches(&self, rec: &serde_json::Value) -> Vec<crate::advisories::Match> {
        if self.advisories.is_empty() {
            return Vec::new();
        }
        let attr = |a: &str| rec["identity"][a]["value"].as_str().map(str::to_string);
        let id = crate::advisories::DeviceIdentity {
            vendor: attr("vendor"),
            product: attr("product"),
            model: attr("model"),
            firmware: attr("firmware").or_else(|| attr("software")),
        };
        if id.vendor.is_none() || (id.product.is_none() && id.model.is_none()) {
            return Vec::new();
        }
        crate::advisories::match_device(&self.advisories, &id)
    }

    /// Packet time of the latest packet, once there was one.
    pub fn now_ns(&self) -> Option<u64> {
        (self.now > 0).then_some(self.now)
    }

    /// A client publishing in the Sparkplug B topic namespace
    /// (`spBv1.0/GROUP/TYPE/EDGE_NODE[/DEVICE]`, `spBv1.0/STATE/HOST`; a CONNECT's will topic
    /// counts too, as edge nodes will their NDEATH):
    /// an edge node publishes births, deaths and data; a host application its STATE and the
    /// commands (NCMD, DCMD).
    fn sparkplug(&mut self, ctx: &Ctx, d: DevIdx, topic: &str) {
        let flow = (ctx.flow_id, ctx.frame);
        let ts = ctx.ts_ns;
        let (ns, rest) = topic.split_once('/').unwrap_or((topic, ""));
        // Sparkplug 2.2's host topic `STATE/HOST` is too common a name to claim anything on.
        if ns != "spBv1.0" {
            return;
        }
        let mut parts = rest.split('/');
        let (Some(group), Some(kind)) = (parts.next(), parts.next()) else {
            return;
        };
        if group == "STATE" {
            if !kind.is_empty() {
                self.inv
                    .fact(d, "mqtt_sparkplug", "host_application", ts, flow);
                self.inv.fact(d, "mqtt_sparkplug_host", kind, ts, flow);
            }
            return;
        }
        let Some(node) = parts.next().filter(|n| !n.is_empty()) else {
            return;
        };
        let device = parts.next().filter(|n| !n.is_empty());
        let role = match kind {
            "NBIRTH" | "NDEATH" | "NDATA" | "DBIRTH" | "DDEATH" | "DDATA" => "edge_node",
            "NCMD" | "DCMD" => "host_application",
            _ => return,
        };
        self.inv.fact(d, "mqtt_sparkplug", role, ts, flow);
        self.inv.fact(d, "mqtt_sparkplug_group", group, ts, flow);
        if role == "edge_node" {
            self.inv.fact(d, "mqtt_sparkplug_edge_node", node, ts, flow);
            if let Some(dev) = device {
                self.inv.fact(d, "mqtt_sparkplug_device", dev, ts, flow);
            }
        }
    }

    /// Posture evidence in a PDU: credentials in clear, anonymous logins, OPC-UA channels
    /// without security, writes from outside the site.
    fn posture_pdu(
        &mut self,
        ctx: &Ctx,
        dir: Direction,
        pdu: &Pdu<'_>,
        c: Option<DevIdx>,
        sv: Option<DevIdx>,
    ) {
        use posture::{At, Kind, Pending};
        let at = At {
            flow_id: ctx.flow_id,
            frame: ctx.frame,
            ts_ns: ctx.ts_ns,
        };
        let port = ctx.server.1;
        let to_server = dir == Direction::ToServer;
        match pdu {
            Pdu::Mqtt(m) => match (m.packet_type, to_server) {
                (1, true) => {
                    if m.password_len.is_some() {
                        if let Some(d) = c {
                            let detail =
                                format!("MQTT CONNECT with a password, not over TLS (port {port})");
                            self.posture
                                .note(d, Kind::CleartextCredentials, &detail, at);
                        }
                    }
                    if m.username.is_none() {
                        self.posture.ask(ctx.flow_id, Pending::MqttAnonymous, at);
                    }
                }
                (2, false) => {
                    if let Some(asked) = self.posture.answer(ctx.flow_id, Pending::MqttAnonymous) {
                        if m.return_code.or(m.reason_code) == Some(0) {
                            if let Some(d) = sv {
                                let detail = format!("MQTT broker accepted a CONNECT without a user name (port {port})");
                                self.posture.note(d, Kind::AnonymousLogin, &detail, asked);
                            }
                        }
                    }
                }
                _ => {}
            },
            Pdu::Amqp(a) => {
                use edgetap_dissectors::amqp::Args;
                let mech = match &a.args {
                    Args::Start(s) if to_server => s.mechanism.as_ref().map(|m| m.0),
                    Args::Sasl(s) if to_server => s.mechanism.as_ref().map(|m| m.0),
                    _ => None,
                };
                if let Some(m) = mech {
                    if m.eq_ignore_ascii_case(b"PLAIN") || m.eq_ignore_ascii_case(b"AMQPLAIN") {
                        if let Some(d) = c {
                            let detail = format!(
                                "AMQP {} login, not over TLS (port {port})",
                                String::from_utf8_lossy(m)
                            );
                            self.posture
                                .note(d, Kind::CleartextCredentials, &detail, at);
                        }
                    } else if m.eq_ignore_ascii_case(b"ANONYMOUS") {
                        self.posture.ask(ctx.flow_id, Pending::AmqpAnonymous, at);
                    }
                }
                // The server going on with the connection (tune, open-ok, the 1.0 open) after
                // an ANONYMOUS login accepted it; a refused one closes instead.
                let goes_on = !to_server
                    && (matches!(a.args, Args::Tune(_)) || matches!(a.args, Args::Open10(_)));
                if goes_on {
                    if let Some(asked) = self.posture.answer(ctx.flow_id, Pending::AmqpAnonymous) {
                        if let Some(d) = sv {
                            let detail =
                                format!("AMQP broker accepted an ANONYMOUS login (port {port})");
                            self.posture.note(d, Kind::AnonymousLogin, &detail, asked);
                        }
                    }
                }
            }
            Pdu::Opcua(o) => {
                let m = o.0;
                let none_policy = m
                    .security_policy_uri
                    .as_ref()
                    .is_some_and(|u| u.0.ends_with(b"#None"));
                // The server's OPN answer names the policy it accepted; a request for mode None
                // is the same weakness (one finding: the same detail folds).
                let insecure = m.message_type == "OPN"
                    && ((!to_server && none_policy)
                        || (to_server && m.security_mode == Some("None")));
                if insecure {
                    if let Some(d) = sv {
                        let detail = format!("OPC-UA secure channel without security: SecurityPolicy or MessageSecurityMode None (port {port})");
                        self.posture.note(d, Kind::InsecurePolicy, &detail, at);
                    }
                }
                if to_server && m.identity_token == Some("anonymous") {
                    self.posture.ask(ctx.flow_id, Pending::OpcuaAnonymous, at);
                }
                let activate_answer =
                    !to_server && m.service.is_some_and(|s| s.starts_with("ActivateSession"));
                if activate_answer {
                    if let Some(asked) = self.posture.answer(ctx.flow_id, Pending::OpcuaAnonymous) {
                        if m.service_result.is_none_or(|r| r & 0x8000_0000 == 0) {
                            if let Some(d) = sv {
                                let detail = format!(
                                    "OPC-UA server activated an anonymous session (port {port})"
                                );
                                self.posture.note(d, Kind::AnonymousLogin, &detail, asked);
                            }
                        }
                    }
                }
            }
            Pdu::Modbus(m) if to_server => {
                let write = matches!(m.function_code, 5 | 6 | 15 | 16 | 22 | 23)
                    && m.kind == edgetap_dissectors::modbus::Kind::Request;
                if write && self.inv.is_external(ctx.client.0) {
                    if let Some(d) = sv {
                        let detail = format!(
                            "Modbus write (function {}) from {} outside the site networks",
                            m.function_code, ctx.client.0
                        );
                        self.posture.note(d, Kind::ExternalWrite, &detail, at);
                    }
                }
            }
            Pdu::Bacnet(b) if to_server => {
                let f = b.0;
                let write = f.apdu_type == Some(0) && matches!(f.service, Some(15 | 16));
                if write && self.inv.is_external(ctx.client.0) {
                    if let Some(d) = sv {
                        let detail = format!(
                            "BACnet write from {} outside the site networks",
                            ctx.client.0
                        );
                        self.posture.note(d, Kind::ExternalWrite, &detail, at);
                    }
                }
            }
            _ => {}
        }
    }

    /// A TLS hello at the start of a flow's stream: the client's JA4 and SNI become facts of
    /// its device; a server that negotiates SSL 3, TLS 1.0 or 1.1 gets a `weak_tls` finding.
    /// Only each direction's first payload is looked at (a hello split across segments is
    /// not reassembled here).
    fn tls_hello(&mut self, s: &Seen<'_>, fl: &SeenFlow, note: &mut FlowNote, to_server: bool) {
        use edgetap_dissectors::fingerprint::tls;
        let bit = if to_server { F_TLS_C } else { F_TLS_S };
        if note.flags & bit != 0 {
            return;
        }
        note.flags |= bit;
        let flow = (fl.id, s.frame);
        if to_server {
            let Ok(h) = tls::client_hello(s.payload, &mut []) else {
                return;
            };
            let Some(d) = self
                .canon(note.client_dev)
                .or_else(|| self.inv.at_ip(fl.client.0))
            else {
                return;
            };
            if let Some(j) = h.ja4() {
                self.inv.fact(d, "tls_ja4", j.as_str(), s.ts_ns, flow);
            }
            if let Some(n) = h.sni.and_then(|b| std::str::from_utf8(b).ok()) {
                self.inv.fact(d, "tls_sni", n, s.ts_ns, flow);
            }
        } else {
            let Ok(h) = tls::server_hello(s.payload, &mut []) else {
                return;
            };
            let v = h.version();
            if !tls::is_deprecated(v) {
                return;
            }
            let Some(d) = self
                .canon(note.server_dev)
                .or_else(|| self.inv.at_ip(fl.server.0))
            else {
                return;
            };
            let name = tls::version_name(v).unwrap_or("an old TLS version");
            let detail = format!("{name} negotiated (port {})", fl.server.1);
            let at = posture::At {
                flow_id: fl.id,
                frame: s.frame,
                ts_ns: s.ts_ns,
            };
            self.posture.note(d, posture::Kind::WeakTls, &detail, at);
        }
    }

    /// The p0f signature of a flow's SYN (`tcp_syn`, about the client) or SYN+ACK
    /// (`tcp_synack`, about the server). A SYN's sender is not a device until it sends again
    /// after the answer, so its signature waits (bounded, by address) until one is proven.
    fn tcp_signature(&mut self, s: &Seen<'_>, fl: &SeenFlow, dev: Option<DevIdx>, syn_ack: bool) {
        use edgetap_dissectors::fingerprint::tcp;
        let dev = dev.or_else(|| self.inv.at_ip(s.src));
        // A stack's signature seldom changes: a device's first SYN (SYN+ACK) is read, then
        // one in SAMPLE, so that a busy client costs nothing per connection; an address not
        // yet a device keeps its first.
        const SAMPLE: u32 = 64;
        match dev {
            Some(d) => {
                if let Some(st) = self.dev.get_mut(d as usize) {
                    let n = &mut st.syn_seen[usize::from(syn_ack)];
                    let skip = *n > 0 && *n % SAMPLE != 0;
                    *n = n.wrapping_add(1);
                    if skip {
                        return;
                    }
                }
            }
            None if syn_ack || self.syn_pending.contains_key(&s.src) => return,
            None => {}
        }
        let Some((ip, hdr)) = tcp::IpFacts::parse(s.ip) else {
            return;
        };
        let Ok(fp) = tcp::fingerprint(hdr, &ip) else {
            return;
        };
        let sig = fp.signature(None);
        let flow = (fl.id, s.frame);
        let key = if syn_ack { "tcp_synack" } else { "tcp_syn" };
        match dev {
            Some(d) => self.inv.fact(d, key, sig.as_str(), s.ts_ns, flow),
            None => {
                if self.syn_pending.len() >= MAX_SYN_PENDING {
                    // A flood of spoofed sources: start over rather than keep the flood.
                    self.stats.syn_signatures_dropped += self.syn_pending.len() as u64;
                    self.syn_pending.clear();
                }
                self.syn_pending.insert(s.src, sig);
            }
        }
    }

    /// A TCP port answering a SYN that no client used while learning: a `unused_service`
    /// finding on the server.
    fn unused_service(&mut self, s: &Seen<'_>, fl: &SeenFlow, sv: Option<DevIdx>) {
        let Some(d) = sv else { return };
        let port = s.sport;
        // Nothing learned (a replay without --learn): no baseline to say nobody used it.
        // Outside the site, a server's open ports are not the site's weak spots.
        if (self.learned_services.is_empty() && self.learned_addr_services.is_empty())
            || self.inv.is_external(s.src)
            || self.learned_services.contains(&(d, port))
            || self.learned_addr_services.contains(&(s.src, port))
        {
            return;
        }
        let detail =
            format!("TCP service answers, but no client used it while learning (port {port})");
        let at = posture::At {
            flow_id: fl.id,
            frame: s.frame,
            ts_ns: s.ts_ns,
        };
        self.posture
            .note(d, posture::Kind::UnusedService, &detail, at);
    }

    /// Posture evidence in a client's payload with no dissector of ours: FTP and HTTP
    /// logins, Telnet sessions.
    fn posture_payload(&mut self, s: &Seen<'_>, fl: &SeenFlow, note: &mut FlowNote) {
        if note.flags & F_POSTURE_SEEN != 0 || s.payload.is_empty() || fl.proto.is_some() {
            return;
        }
        let what = if fl.server.1 == 23 {
            Some("Telnet session (logins in clear)")
        } else {
            posture::cleartext_login(fl.server.1, s.payload)
        };
        let Some(what) = what else {
            // Only a flow's first few client payloads are looked at.
            if fl.packets[0] > 8 {
                note.flags |= F_POSTURE_SEEN;
            }
            return;
        };
        note.flags |= F_POSTURE_SEEN;
        let d = self
            .canon(note.client_dev)
            .or_else(|| self.inv.at_ip(fl.client.0));
        if let Some(d) = d {
            let detail = format!("{what} (port {})", fl.server.1);
            let at = posture::At {
                flow_id: fl.id,
                frame: s.frame,
                ts_ns: s.ts_ns,
            };
            self.posture
                .note(d, posture::Kind::CleartextCredentials, &detail, at);
        }
    }

    /// The inventory ids of a flow's devices, for EVE records.
    fn eve_devs(inv: &Inventory, c: u32, s: u32) -> crate::eve::Devs<'_> {
        let id = |n: u32| {
            idx(n)
                .map(|d| inv.canon(d))
                .and_then(|d| inv.get(d))
                .map(|x| x.id.as_str())
        };
        crate::eve::Devs {
            client: id(c),
            server: id(s),
        }
    }
}

impl<S: AlertSink> Output for Site<S> {
    fn seen(&mut self, s: &Seen<'_>, note: &mut FlowNote) {
        self.seen_packet(s, note);
        if let Some(e) = self.eve.as_mut() {
            e.packet(
                s,
                Self::eve_devs(&self.inv, note.client_dev, note.server_dev),
            );
        }
    }

    fn pdu(&mut self, ctx: &Ctx, dir: Direction, pdu: &Pdu<'_>) {
        self.pdu_seen(ctx, dir, pdu);
        if let Some(e) = self.eve.as_mut() {
            let n = &ctx.note;
            e.pdu(
                ctx,
                dir,
                pdu,
                Self::eve_devs(&self.inv, n.client_dev, n.server_dev),
            );
        }
    }

    fn event(&mut self, ctx: &Ctx, dir: Direction, event: Event) {
        if let Some(e) = self.eve.as_mut() {
            let n = &ctx.note;
            e.event(
                ctx,
                dir,
                event,
                Self::eve_devs(&self.inv, n.client_dev, n.server_dev),
            );
        }
        self.event_seen(ctx, dir, event);
    }

    fn fact(&mut self, ctx: &Ctx, fact: Fact<'_>) {
        self.fact_seen(ctx, fact);
    }

    fn arp(&mut self, a: &ArpSeen) {
        self.arp_watch(a);
        self.now = self.now.max(a.ts_ns);
        if let Some(e) = self.eve.as_mut() {
            e.arp(a.source, a.frame, a.ts_ns, &a.arp);
        }
    }

    fn flow_end(&mut self, flow: &Flow<crate::dispatch::App>, why: FlowEnd) {
        if let Some(e) = self.eve.as_mut() {
            let n = &flow.note;
            e.flow_end(
                flow,
                why,
                Self::eve_devs(&self.inv, n.client_dev, n.server_dev),
            );
        }
    }

    fn tick(&mut self, now: u64) {
        self.now = now;
        let Site { engine, sink, .. } = self;
        engine.tick(now, sink);
        if now.saturating_sub(self.last_silence) >= 10_000_000_000 {
            self.last_silence = now;
            self.silence(now);
            self.posture.expire(now);
        }
        if let Some(e) = self.eve.as_mut() {
            e.tick(now);
        }
    }

    fn stats_due(&self, now: u64) -> bool {
        self.eve.as_ref().is_some_and(|e| e.stats_due(now))
    }

    fn stats(&mut self, now: u64, stats: &crate::telemetry::Stats) {
        if let Some(e) = self.eve.as_mut() {
            e.stats_record(now, stats, None);
        }
    }
}

impl<S: AlertSink> Site<S> {
    fn seen_packet(&mut self, s: &Seen<'_>, note: &mut FlowNote) {
        self.clock(s.ts_ns);
        self.now = s.ts_ns;
        self.stats.packets += 1;
        if !self.arpw.suspects.is_empty() && !self.learning {
            self.next_hop_check(s);
        }
        let Some(fl) = s.flow else {
            if let Some((ty, _)) = s.icmp {
                if let Some(m) = s.macs.0 {
                    self.inv.note_mac(m, s.src);
                }
                self.icmp(s, ty);
            }
            return;
        };
        let to_server = fl.dir == Direction::ToServer;
        let bit = if to_server { F_MAC_C } else { F_MAC_S };
        if note.flags & bit == 0 {
            note.flags |= bit;
            if let Some(m) = s.macs.0 {
                self.inv.note_mac(m, s.src);
            }
        }
        if s.ip_proto == 6 && to_server && !s.payload.is_empty() {
            self.posture_payload(s, &fl, note);
        }
        if s.ip_proto == 6 && !s.payload.is_empty() && fl.proto.is_none() {
            self.tls_hello(s, &fl, note, to_server);
        }
        if s.ip_proto == 17 {
            if matches!((s.sport, s.dport), (67, 68) | (68, 67)) {
                self.dhcp(s);
            } else if s.sport == 53 || s.sport == 5353 {
                self.dns(s);
            }
            if s.sport == 5353 && s.dport == 5353 {
                self.mdns(s);
            } else if s.sport == 137 || s.dport == 137 {
                self.netbios(s);
            }
            if s.sport == 53 || s.dport == 53 {
                self.dns_watch(s);
            }
        }
        if fl.new && self.learning {
            // Every edge seen while learning is learned, whatever its shape: one-way UDP, a
            // connection picked up mid-stream, ends that become devices only later.
            let k = (fl.client.0, fl.server.0, s.ip_proto, fl.server.1);
            if self.learned_addr_edges.len() < MAX_ADDR_EDGES {
                self.learned_addr_edges.insert(k);
            } else if !self.learned_addr_edges.contains(&k) {
                self.stats.addr_edges_dropped += 1;
            }
        }
        // Devices: the sender is proven when it answers (the server) or when it sends after
        // the server did (the client): spoofed sources never are.
        if to_server {
            if note.client_dev == 0 {
                let proven = fl.packets[1] > 0;
                if let Some(d) = self.inv.resolve(s.src, s.macs.0, s.ts_ns, proven) {
                    note.client_dev = d + 1;
                }
            }
            if note.server_dev == 0 {
                if let Some(d) = self.inv.resolve(s.dst, s.macs.1, s.ts_ns, false) {
                    note.server_dev = d + 1;
                }
            }
        } else {
            if note.server_dev == 0 {
                if let Some(d) = self.inv.resolve(s.src, s.macs.0, s.ts_ns, true) {
                    note.server_dev = d + 1;
                }
            }
            if note.client_dev == 0 {
                if let Some(d) = self.inv.resolve(s.dst, s.macs.1, s.ts_ns, false) {
                    note.client_dev = d + 1;
                }
            }
        }
        if self.dev.len() < self.inv.devices.len() || !self.inv.merges.is_empty() {
            self.sync_dev();
        }
        let c = self.canon(note.client_dev);
        let sv = self.canon(note.server_dev);
        let (tx, rx, tx_ip, rx_ip) = if to_server {
            (c, sv, fl.client, fl.server)
        } else {
            (sv, c, fl.server, fl.client)
        };
        // Device volumes count application bytes (TCP/UDP payload): what a device sends, not
        // the handshakes a flood makes it answer.
        let len = s.payload.len() as f64;
        if let Some(d) = tx {
            let peer = self.party(rx_ip.0, Some(rx_ip.1), rx);
            self.count(d, true, len, s, peer);
        }
        if let Some(d) = rx {
            let peer = self.party(tx_ip.0, Some(tx_ip.1), tx);
            self.count(d, false, len, s, peer);
        }
        if let Some(e) = idx(note.edge).and_then(|e| self.graph.get_mut(e)) {
            let i = fl.dir.index();
            if let (Some(p), Some(b)) = (e.packets.get_mut(i), e.bytes.get_mut(i)) {
                *p += 1;
                *b += u64::from(s.wire_len);
            }
            e.last_ns = s.ts_ns;
            let w = self.cfg.window_ns.max(1);
            let wi = s.ts_ns / w;
            if e.win.0 != wi {
                if self.learning && e.win.1 != [0, 0] {
                    for (k, v) in e.win.1.iter().enumerate() {
                        if let Some(sk) = e.base.get_mut(k) {
                            sk.add(*v as f64);
                        }
                    }
                }
                e.win = (wi, [0, 0]);
            }
            if let Some(b) = e.win.1.get_mut(i) {
                *b += u64::from(s.wire_len);
            }
        }
        let at = (s.ts_ns, s.frame, s.source, s.ip_proto);
        if let Some(f) = s.tcp {
            if fl.new && !f.syn {
                note.flags |= F_MIDSTREAM;
            }
            if fl.packets[0] + fl.packets[1] <= 2 || f.fin || f.rst || !f.ack {
                self.tcp_probe(s, &fl, note, f);
            }
            if (f.fin || f.rst)
                && note.flags & (F_EST | F_LOGIN) == F_EST
                && recon::login_port(fl.server.1)
                && s.ts_ns.saturating_sub(fl.first_ns) < recon::SHORT_SESSION_NS
            {
                note.flags |= F_LOGIN;
                self.login_session_end(fl.client, fl.server, c, sv, at);
            }
            if f.syn && !f.ack && to_server {
                if fl.packets[0] == 1 {
                    self.tcp_signature(s, &fl, c, false);
                    self.new_connection(s, &fl, note, c, sv);
                } else if fl.packets[1] == 0 && note.flags & F_FAILED == 0 {
                    note.flags |= F_FAILED;
                    let a = self.party(s.src, Some(s.sport), c);
                    let t = self.party(s.dst, Some(s.dport), sv);
                    self.failed(s, a, t, "syn unanswered");
                }
            } else if f.syn && f.ack && !to_server {
                if note.flags & F_SYNACK == 0 {
                    self.tcp_signature(s, &fl, sv, true);
                    if !self.learning {
                        self.unused_service(s, &fl, sv);
                    }
                }
                note.flags |= F_SYNACK;
                if let Some(st) = sv.and_then(|d| self.dev.get_mut(d as usize)) {
                    if !st.open_ports.contains(&s.sport) && st.open_ports.len() < MAX_OPEN_PORTS {
                        st.open_ports.push(s.sport);
                    }
                }
            } else if f.rst
                && !to_server
                && note.flags & (F_SYNACK | F_EST | F_FAILED) == 0
                && fl.packets[0] > 0
            {
                note.flags |= F_FAILED;
                let a = self.party(s.dst, Some(s.dport), c);
                let t = self.party(s.src, Some(s.sport), sv);
                self.failed(s, a, t, "refused");
            }
            // Established when the client sends after the server answered, or (packets of
            // two interfaces read out of order) when the server answers after the client has
            // sent past its SYN.
            let establishes = note.flags & (F_EST | F_FAILED) == 0
                && !f.rst
                && ((to_server && f.ack && !f.syn && fl.packets[1] > 0)
                    || (!to_server && note.flags & F_SYNACK != 0 && fl.packets[0] >= 2));
            if establishes {
                note.flags |= F_EST;
                // The client sent after the server answered: it exists.
                let c = match c {
                    Some(c) => Some(c),
                    None => {
                        let (ip, mac) = if to_server {
                            (s.src, s.macs.0)
                        } else {
                            (s.dst, s.macs.1)
                        };
                        let d = self.inv.resolve(ip, mac, s.ts_ns, true);
                        if let Some(d) = d {
                            note.client_dev = d + 1;
                            self.sync_dev();
                            if let Some(sig) = self.syn_pending.remove(&ip) {
                                let flow = (fl.id, s.frame);
                                self.inv.fact(d, "tcp_syn", sig.as_str(), s.ts_ns, flow);
                            }
                        }
                        d
                    }
                };
                if let (Some(c), Some(sv)) = (c, sv) {
                    self.establish(s, &fl, note, c, sv);
                }
            }
        } else if s.ip_proto == 17 {
            if fl.new && to_server {
                self.new_connection(s, &fl, note, c, sv);
            }
            if to_server && self.engine.wants(Metric::UdpIn) {
                let a = self.party(s.src, Some(s.sport), c);
                let t = self.party(s.dst, Some(s.dport), sv);
                let o = self.obs(Metric::UdpIn, Some(a), Some(t), Val::Add(1.0), at, "");
                self.observe(o);
            }
            // A UDP exchange is an edge once the server answered, or once the client kept
            // sending (syslog, NTP broadcasts): a scan's probe, sent once or twice and answered
            // by ICMP at most, is none.
            let exchange = fl.packets[1] > 0 || fl.packets[0] >= 3 || self.learning;
            if note.flags & F_EST == 0 && exchange {
                if let (Some(c), Some(sv)) = (c, sv) {
                    note.flags |= F_EST;
                    self.establish(s, &fl, note, c, sv);
                }
            }
        }
        // A session's sends after silence: a heartbeat is a beacon too.
        if to_server && !s.payload.is_empty() {
            let last = note.last_tx_ns;
            note.last_tx_ns = s.ts_ns;
            if last != 0 && s.ts_ns.saturating_sub(last) >= beacon::BURST_IDLE_NS && !self.learning
            {
                let learned = idx(note.edge)
                    .and_then(|e| self.graph.edges.get(e as usize))
                    .is_some_and(|e| e.learned)
                    || self.addr_edge_learned(fl.client, fl.server, s.ip_proto);
                if !learned {
                    let a = self.party(s.src, Some(s.sport), c);
                    let t = self.party(s.dst, Some(s.dport), sv);
                    let key = stable_hash(&[&fl.id.to_be_bytes(), b"burst"]);
                    let size = s.payload.len().min(u32::MAX as usize) as u32;
                    self.beacon_event(key, a, t, size, at, "session sends");
                }
            }
        }
        if note.flags & F_NEWEXT != 0 && to_server && !self.learning {
            let a = self.party(s.src, Some(s.sport), c);
            let t = self.party(s.dst, Some(s.dport), sv);
            let mut o = self.obs(
                Metric::NewExternalBytesOut,
                Some(a),
                Some(t),
                Val::Add(len),
                at,
                "",
            );
            o.app = fl.proto;
            self.observe(o);
        }
    }

    fn pdu_seen(&mut self, ctx: &Ctx, dir: Direction, pdu: &Pdu<'_>) {
        let mut c = self.canon(ctx.note.client_dev);
        let mut sv = self.canon(ctx.note.server_dev);
        if c.is_none() {
            c = self.inv.at_ip(ctx.client.0);
        }
        if sv.is_none() {
            sv = self.inv.at_ip(ctx.server.0);
        }
        let (cr, sr) = match pdu.proto() {
            Proto::Modbus => (Role::ModbusClient, Role::ModbusServer),
            Proto::Bacnet => (Role::BacnetDevice, Role::BacnetDevice),
            Proto::Mqtt => (Role::MqttClient, Role::MqttBroker),
            Proto::Amqp => (Role::AmqpClient, Role::AmqpBroker),
            Proto::Opcua => (Role::OpcuaClient, Role::OpcuaServer),
        };
        for (d, r) in [(c, cr), (sv, sr)] {
            if let Some(d) = d {
                if !self.inv.get(d).is_some_and(|x| x.roles.has(r)) {
                    self.inv.add_role(d, r);
                }
            }
        }
        self.posture_pdu(ctx, dir, pdu, c, sv);
        if let (Pdu::Mqtt(m), Direction::ToServer, Some(d)) = (pdu, dir, c) {
            let topic = match m.packet_type {
                3 => m.topic.as_ref(),
                1 => m.will_topic.as_ref(),
                _ => None,
            };
            if let Some(t) = topic.and_then(|t| t.as_str()) {
                self.sparkplug(ctx, d, t);
            }
        }
        if dir == Direction::ToServer {
            let learned = self.pdu_ops(ctx, c, sv, pdu);
            let a = self.party(ctx.client.0, Some(ctx.client.1), c);
            let t = self.party(ctx.server.0, Some(ctx.server.1), sv);
            if let Pdu::Bacnet(b) = pdu {
                if b.apdu_type == Some(1) && b.service == Some(8) {
                    self.whois(ctx, a);
                }
            }
            if !self.learning {
                // No edge (an end is no device yet): learned by address, or not at all.
                let (el, ol) = learned.unwrap_or_else(|| {
                    let proto = if pdu.proto() == Proto::Bacnet { 17 } else { 6 };
                    let l = self.addr_edge_learned(ctx.client, ctx.server, proto);
                    (l, l)
                });
                self.recon(ctx, a, t, el, ol, pdu);
            }
            if let Pdu::Mqtt(m) = pdu {
                if m.packet_type == 1 && self.engine.wants(Metric::MqttConnectIn) {
                    let a = self.party(ctx.client.0, Some(ctx.client.1), c);
                    let t = self.party(ctx.server.0, Some(ctx.server.1), sv);
                    let mut o = self.obs(
                        Metric::MqttConnectIn,
                        Some(a),
                        Some(t),
                        Val::Add(1.0),
                        (ctx.ts_ns, ctx.frame, ctx.source, 6),
                        "",
                    );
                    o.app = Some(Proto::Mqtt);
                    self.observe(o);
                }
            }
        }
    }

    fn event_seen(&mut self, ctx: &Ctx, _dir: Direction, event: Event) {
        if !self.engine.wants(Metric::DissectorEvent) {
            return;
        }
        if ctx.note.flags & F_MIDSTREAM != 0 && missing_context(event.name) {
            return;
        }
        let c = self
            .canon(ctx.note.client_dev)
            .or_else(|| self.inv.at_ip(ctx.client.0));
        let sv = self
            .canon(ctx.note.server_dev)
            .or_else(|| self.inv.at_ip(ctx.server.0));
        let a = self.party(ctx.client.0, Some(ctx.client.1), c);
        let t = self.party(ctx.server.0, Some(ctx.server.1), sv);
        let ip_proto = if event.proto == Proto::Bacnet { 17 } else { 6 };
        let mut o = self.obs(
            Metric::DissectorEvent,
            Some(a),
            Some(t),
            Val::Add(1.0),
            (ctx.ts_ns, ctx.frame, ctx.source, ip_proto),
            event.name,
        );
        o.app = Some(event.proto);
        self.observe(o);
    }

    fn fact_seen(&mut self, ctx: &Ctx, fact: Fact<'_>) {
        let ip = match fact.about {
            Side::Client => ctx.client.0,
            Side::Server => ctx.server.0,
        };
        let Some(d) = self.inv.resolve(ip, None, ctx.ts_ns, true) else {
            return;
        };
        let value = match fact.value {
            FactValue::Text(t) => ucs2_or(t.as_bytes()).unwrap_or_else(|| t.to_string()),
            FactValue::Bytes(b) => {
                ucs2_or(b).unwrap_or_else(|| String::from_utf8_lossy(b).into_owned())
            }
            FactValue::Number(n) => n.to_string(),
        };
        self.inv.fact(
            d,
            fact_key(fact.kind),
            &value,
            ctx.ts_ns,
            (ctx.flow_id, ctx.frame),
        );
        self.sync_dev();
    }
}
