//! Stage 3: bidirectional flows.
//!
//! A flow is keyed on the 5-tuple plus VLAN, in a canonical order so both directions find it.
//! Who is the client is decided from the handshake (SYN / SYN-ACK), or mid-stream by ports.
//! Flows expire after idle and TCP-state timeouts (packet time), and the table has a hard cap:
//! when full, the least recently seen of a few sampled flows is evicted (sampled LRU: O(1),
//! no list to maintain), so a flood of spoofed sources churns the table but never grows it.
//! Flow ids are deterministic (a fixed-seed hash of the key and the first packet's time), so
//! repeated runs over one capture give the same ids.

use crate::reassembly::Stream;
use edgetap_dissectors::{Direction, Proto};
use indexmap::IndexMap;
use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;

/// Canonical flow key: `a` is the lower (address, port) endpoint. Addresses are kept as
/// 128-bit words (IPv4 in the low 32 bits, with `v6` telling the families apart), so that
/// ordering, comparing and hashing a key, done for every packet, are a few word operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowKey {
    a: u128,
    b: u128,
    pub a_port: u16,
    pub b_port: u16,
    pub ip_proto: u8,
    v6: bool,
    pub vlan: u32,
}

impl Hash for FlowKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        // IPv4 keys have zero high words: fold them into one write.
        h.write_u64(self.a as u64);
        h.write_u64(
            self.b as u64
                ^ ((self.a >> 64) as u64).rotate_left(21)
                ^ ((self.b >> 64) as u64).rotate_left(42),
        );
        h.write_u64(
            (u64::from(self.a_port) << 48)
                | (u64::from(self.b_port) << 32)
                | (u64::from(self.ip_proto) << 24)
                | (u64::from(self.v6) << 63)
                | u64::from(self.vlan & 0xff_ffff),
        );
    }
}

fn word(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v) => u128::from(u32::from(v)),
        IpAddr::V6(v) => u128::from(v),
    }
}

impl FlowKey {
    /// The key for a packet, and whether the packet's source is endpoint `a`.
    pub fn of(
        src: IpAddr,
        sport: u16,
        dst: IpAddr,
        dport: u16,
        ip_proto: u8,
        vlan: u32,
    ) -> (FlowKey, bool) {
        let (s, d, v6) = (word(src), word(dst), src.is_ipv6());
        let key = |a, b, a_port, b_port| FlowKey {
            a,
            b,
            a_port,
            b_port,
            ip_proto,
            v6,
            vlan,
        };
        if (s, sport) <= (d, dport) {
            (key(s, d, sport, dport), true)
        } else {
            (key(d, s, dport, sport), false)
        }
    }

    fn addr(&self, w: u128) -> IpAddr {
        if self.v6 {
            IpAddr::V6(w.into())
        } else {
            IpAddr::V4((w as u32).into())
        }
    }

    /// Endpoint `a`'s address (the lower endpoint).
    pub fn a_addr(&self) -> IpAddr {
        self.addr(self.a)
    }

    /// Endpoint `b`'s address.
    pub fn b_addr(&self) -> IpAddr {
        self.addr(self.b)
    }
}

/// TCP connection phase, for timeouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Only a SYN (or nothing TCP-specific: UDP, ICMP) so far.
    New,
    Established,
    /// FIN or RST seen.
    Closing,
}

/// What a TCP packet says about its connection's phase.
#[derive(Clone, Copy, Debug, Default)]
pub struct TcpSignal {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
    pub payload: bool,
}

impl Phase {
    /// The phase after a packet with `sig`.
    pub fn advance(self, sig: TcpSignal) -> Phase {
        if sig.fin || sig.rst {
            Phase::Closing
        } else if self == Phase::New && (sig.ack || (sig.payload && !sig.syn)) {
            Phase::Established
        } else {
            self
        }
    }
}

/// The map's value: the flow and its phase (which sets its timeout).
#[derive(Debug)]
struct Slot<T> {
    phase: Phase,
    flow: Flow<T>,
}

/// Timeouts and the cap.
#[derive(Clone, Copy, Debug)]
pub struct FlowConfig {
    pub max_flows: usize,
    /// Half-open TCP (SYN only): short, so SYN floods expire quickly.
    pub new_timeout_ns: u64,
    pub established_timeout_ns: u64,
    pub closing_timeout_ns: u64,
    pub udp_timeout_ns: u64,
}

impl Default for FlowConfig {
    fn default() -> Self {
        const S: u64 = 1_000_000_000;
        FlowConfig {
            max_flows: 262_144,
            new_timeout_ns: 30 * S,
            established_timeout_ns: 600 * S,
            closing_timeout_ns: 10 * S,
            udp_timeout_ns: 120 * S,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct FlowStats {
    pub created: u64,
    pub expired: u64,
    /// Evicted because the table was full.
    pub evicted: u64,
    pub active: u64,
    pub max_active: u64,
}

/// One flow. `T` is the application-layer state the pipeline keeps per flow.
#[derive(Debug)]
pub struct Flow<T> {
    pub id: u64,
    /// The input (capture file or interface index) of the flow's first packet.
    pub source: usize,
    pub key: FlowKey,
    /// Whether endpoint `a` of the key is the client.
    pub client_is_a: bool,
    pub first_ts: u64,
    pub last_ts: u64,
    /// Packets and bytes on the wire (whole frames, as Suricata counts them), indexed by
    /// [`Direction::index`].
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    /// TCP flags seen in each direction (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10,
    /// URG 0x20), indexed by [`Direction::index`].
    pub tcp_flags: [u8; 2],
    /// TCP streams, indexed by [`Direction::index`].
    pub streams: [Stream; 2],
    pub app: T,
    /// What the site model resolved for this flow once (see [`FlowNote`]).
    pub note: FlowNote,
}

/// Slots the site model fills on a flow's first packets (device and edge indices, what it has
/// already evaluated), so that later packets cost index arithmetic rather than lookups. The
/// flow table never reads them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowNote {
    /// Client and server device, as index + 1 (0: not resolved yet).
    pub client_dev: u32,
    pub server_dev: u32,
    /// Edge of the peer graph, as index + 1 (0: none yet).
    pub edge: u32,
    /// Bit flags owned by the site model.
    pub flags: u32,
    /// Packet time of the client's last payload (the site model's beacon watch).
    pub last_tx_ns: u64,
}

impl<T> Flow<T> {
    /// The direction of a packet whose source is endpoint `a` (`src_is_a`) or `b`.
    pub fn direction(&self, src_is_a: bool) -> Direction {
        if src_is_a == self.client_is_a {
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    }

    /// (address, port) of the sender of bytes travelling in `dir`.
    pub fn sender(&self, dir: Direction) -> (IpAddr, u16) {
        let from_a = (dir == Direction::ToServer) == self.client_is_a;
        if from_a {
            (self.key.a_addr(), self.key.a_port)
        } else {
            (self.key.b_addr(), self.key.b_port)
        }
    }

    /// The server's port.
    pub fn server_port(&self) -> u16 {
        self.sender(Direction::ToClient).1
    }
}

fn timeout(cfg: &FlowConfig, ip_proto: u8, phase: Phase) -> u64 {
    match (ip_proto, phase) {
        (6, Phase::New) => cfg.new_timeout_ns,
        (6, Phase::Established) => cfg.established_timeout_ns,
        (6, Phase::Closing) => cfg.closing_timeout_ns,
        _ => cfg.udp_timeout_ns,
    }
}

/// Decide who the client is from the first packet seen: the handshake says so when there is
/// one; otherwise the side on a well-known or lower port is the server.
pub fn src_is_client(syn: bool, ack: bool, sport: u16, dport: u16) -> bool {
    if syn {
        return !ack;
    }
    let known = |p: u16| {
        Proto::ALL
            .iter()
            .any(|proto| proto.default_ports().contains(&p))
    };
    match (known(sport), known(dport)) {
        (true, false) => false,
        (false, true) => true,
        _ => match (sport < 1024, dport < 1024) {
            (true, false) => false,
            (false, true) => true,
            _ => sport >= dport,
        },
    }
}

/// The flow table. An `IndexMap` keeps each key and its flow together in one dense vector:
/// a lookup reads the hash index and then one entry (key and flow side by side), and any flow
/// can be reached by position, which sampled eviction needs. Expiry deadlines live in a
/// parallel dense vector, so a sweep reads 8 bytes a flow.
pub struct FlowTable<T> {
    map: IndexMap<FlowKey, Slot<T>, foldhash::fast::RandomState>,
    /// Packet time after which the flow at the same index has expired.
    deadlines: Vec<u64>,
    cfg: FlowConfig,
    pub stats: FlowStats,
    last_sweep: u64,
    rng: u64,
    /// Indices found expired by a sweep (kept to reuse its allocation).
    scratch: Vec<usize>,
}

/// How many flows are sampled to pick one to evict.
const EVICT_SAMPLE: usize = 8;
const SWEEP_EVERY_NS: u64 = 1_000_000_000;

impl<T> FlowTable<T> {
    pub fn new(cfg: FlowConfig) -> Self {
        FlowTable {
            map: IndexMap::default(),
            deadlines: Vec::new(),
            cfg,
            stats: FlowStats::default(),
            last_sweep: 0,
            rng: 0x9E37_79B9_7F4A_7C15,
            scratch: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Deterministic flow id.
    pub fn flow_id(key: &FlowKey, first_ts: u64) -> u64 {
        foldhash::fast::FixedState::with_seed(0xed6e_7a90).hash_one((key, first_ts))
    }

    /// Find the flow for `key`, or make one with `init` (which receives the new flow's id);
    /// `tcp` (TCP packets only) advances the flow's phase, which sets its timeout.
    /// Flows that had to leave the table to make room (expired or evicted) go to `gone`.
    pub fn lookup_or_insert(
        &mut self,
        key: FlowKey,
        ts: u64,
        tcp: Option<TcpSignal>,
        init: impl FnOnce(u64) -> Flow<T>,
        gone: &mut dyn FnMut(Flow<T>, bool),
    ) -> &mut Flow<T> {
        let idx = match self.map.get_index_of(&key) {
            Some(i) => i,
            None => {
                if self.map.len() >= self.cfg.max_flows {
                    self.expire(ts, gone);
                    if self.map.len() >= self.cfg.max_flows {
                        self.evict_one(gone);
                    }
                }
                let flow = init(Self::flow_id(&key, ts));
                let (i, _) = self.map.insert_full(
                    key,
                    Slot {
                        phase: Phase::New,
                        flow,
                    },
                );
                self.deadlines.push(0);
                self.stats.created += 1;
                self.stats.active = self.map.len() as u64;
                self.stats.max_active = self.stats.max_active.max(self.stats.active);
                i
            }
        };
        let cfg = self.cfg;
        match (self.map.get_index_mut(idx), self.deadlines.get_mut(idx)) {
            (Some((_, slot)), Some(deadline)) => {
                if let Some(sig) = tcp {
                    slot.phase = slot.phase.advance(sig);
                }
                *deadline = ts.saturating_add(timeout(&cfg, key.ip_proto, slot.phase));
                &mut slot.flow
            }
            // The map and the deadlines are kept in step by this module alone.
            _ => unreachable!("flow table index {idx} out of step"),
        }
    }

    /// Remove the flow at `idx`; the last flow moves into its place (in both vectors).
    fn take(&mut self, idx: usize) -> Option<Flow<T>> {
        let (_, slot) = self.map.swap_remove_index(idx)?;
        if idx < self.deadlines.len() {
            self.deadlines.swap_remove(idx);
        }
        self.stats.active = self.map.len() as u64;
        Some(slot.flow)
    }

    fn evict_one(&mut self, gone: &mut dyn FnMut(Flow<T>, bool)) {
        let n = self.map.len();
        if n == 0 {
            return;
        }
        let mut victim: Option<(u64, usize)> = None;
        for _ in 0..EVICT_SAMPLE {
            // xorshift64: cheap, good enough to sample flows.
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            let i = (self.rng % n as u64) as usize;
            if let Some((_, slot)) = self.map.get_index(i) {
                if victim.is_none_or(|(t, _)| slot.flow.last_ts < t) {
                    victim = Some((slot.flow.last_ts, i));
                }
            }
        }
        if let Some(f) = victim.and_then(|(_, i)| self.take(i)) {
            self.stats.evicted += 1;
            gone(f, false);
        }
    }

    /// Whether [`FlowTable::expire`] would sweep at packet time `now` (cheap: checked per packet).
    #[inline]
    pub fn sweep_due(&self, now: u64) -> bool {
        now.saturating_sub(self.last_sweep) >= SWEEP_EVERY_NS
    }

    /// Remove flows idle past their timeout at packet time `now`. A sweep runs at most once a
    /// second of packet time, full table or not (a flood must not make every new flow pay for a
    /// sweep: sampled eviction handles a full table).
    pub fn expire(&mut self, now: u64, gone: &mut dyn FnMut(Flow<T>, bool)) {
        if !self.sweep_due(now) {
            return;
        }
        self.last_sweep = now;
        let mut dead = std::mem::take(&mut self.scratch);
        dead.clear();
        dead.extend(
            self.deadlines
                .iter()
                .enumerate()
                .filter(|(_, d)| **d < now)
                .map(|(i, _)| i),
        );
        // Highest index first: a swap-remove moves the last flow, which is then never one
        // still to be removed.
        for &i in dead.iter().rev() {
            if let Some(f) = self.take(i) {
                self.stats.expired += 1;
                gone(f, true);
            }
        }
        self.scratch = dead;
    }

    /// Remove every flow (end of input).
    pub fn drain(&mut self, gone: &mut dyn FnMut(Flow<T>, bool)) {
        self.deadlines.clear();
        for (_, slot) in self.map.drain(..) {
            gone(slot.flow, true);
        }
        self.stats.active = 0;
    }

    /// Call `f` on every flow.
    pub fn for_each(&self, mut f: impl FnMut(&Flow<T>)) {
        self.map.values().for_each(|s| f(&s.flow));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(id: u64, key: FlowKey, ts: u64) -> Flow<()> {
        Flow {
            id,
            source: 0,
            key,
            client_is_a: true,
            first_ts: ts,
            last_ts: ts,
            packets: [0; 2],
            bytes: [0; 2],
            tcp_flags: [0; 2],
            streams: Default::default(),
            app: (),
            note: FlowNote::default(),
        }
    }

    #[test]
    fn both_directions_find_one_flow() {
        let x: IpAddr = "10.0.0.1".parse().unwrap();
        let y: IpAddr = "10.0.0.2".parse().unwrap();
        let (k1, a1) = FlowKey::of(x, 40000, y, 502, 6, 0);
        let (k2, a2) = FlowKey::of(y, 502, x, 40000, 6, 0);
        assert_eq!(k1, k2);
        assert_ne!(a1, a2);
        let (k3, _) = FlowKey::of(x, 40000, y, 502, 6, 7);
        assert_ne!(k1, k3, "VLAN is part of the key");
    }

    #[test]
    fn client_from_handshake_or_ports() {
        assert!(src_is_client(true, false, 502, 40000));
        assert!(!src_is_client(true, true, 40000, 502));
        assert!(!src_is_client(false, true, 502, 40000));
        assert!(src_is_client(false, true, 40000, 5020));
        assert!(src_is_client(false, true, 40000, 1883));
    }

    #[test]
    fn a_flood_of_spoofed_sources_stays_within_the_cap() {
        let cfg = FlowConfig {
            max_flows: 1000,
            ..FlowConfig::default()
        };
        let mut t: FlowTable<()> = FlowTable::new(cfg);
        let dst: IpAddr = "10.0.0.9".parse().unwrap();
        let mut gone = 0u64;
        for i in 0..1_000_000u32 {
            let src = IpAddr::V4(i.to_be_bytes().into());
            let (k, _) = FlowKey::of(src, 1234, dst, 502, 6, 0);
            let ts = u64::from(i) * 1000;
            t.lookup_or_insert(k, ts, None, |id| flow(id, k, ts), &mut |_, _| gone += 1);
            assert!(t.len() <= 1000);
        }
        assert_eq!(t.stats.created, 1_000_000);
        assert_eq!(gone, 999_000);
        assert!(t.map.capacity() <= 2048 && t.deadlines.len() == t.map.len());
    }

    #[test]
    fn timeouts_follow_the_tcp_phase() {
        const S: u64 = 1_000_000_000;
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default());
        let x: IpAddr = "10.0.0.1".parse().unwrap();
        let y: IpAddr = "10.0.0.2".parse().unwrap();
        let sig = |syn, ack, fin| {
            Some(TcpSignal {
                syn,
                ack,
                fin,
                rst: false,
                payload: false,
            })
        };
        let mut gone = vec![];
        let (closing, _) = FlowKey::of(x, 1000, y, 502, 6, 0);
        let (open, _) = FlowKey::of(x, 1001, y, 502, 6, 0);
        let (half, _) = FlowKey::of(x, 1002, y, 502, 6, 0);
        for k in [closing, open] {
            t.lookup_or_insert(
                k,
                S,
                sig(true, false, false),
                |id| flow(id, k, S),
                &mut |f, _| gone.push(f.key),
            );
            t.lookup_or_insert(
                k,
                S,
                sig(false, true, false),
                |id| flow(id, k, S),
                &mut |f, _| gone.push(f.key),
            );
        }
        t.lookup_or_insert(
            closing,
            2 * S,
            sig(false, true, true),
            |id| flow(id, closing, S),
            &mut |_, _| {},
        );
        t.lookup_or_insert(
            half,
            2 * S,
            sig(true, false, false),
            |id| flow(id, half, S),
            &mut |_, _| {},
        );
        t.expire(13 * S, &mut |f, _| gone.push(f.key));
        assert_eq!(gone, vec![closing], "closing: 10 s");
        t.expire(33 * S, &mut |f, _| gone.push(f.key));
        assert_eq!(gone, vec![closing, half], "half-open: 30 s");
        t.expire(500 * S, &mut |f, _| gone.push(f.key));
        assert_eq!(gone.len(), 2, "established: 600 s");
        t.expire(602 * S, &mut |f, _| gone.push(f.key));
        assert_eq!(gone, vec![closing, half, open]);
    }

    #[test]
    fn ids_are_deterministic() {
        let x: IpAddr = "10.0.0.1".parse().unwrap();
        let (k, _) = FlowKey::of(x, 1, x, 2, 17, 0);
        assert_eq!(
            FlowTable::<()>::flow_id(&k, 5),
            FlowTable::<()>::flow_id(&k, 5)
        );
        assert_ne!(
            FlowTable::<()>::flow_id(&k, 5),
            FlowTable::<()>::flow_id(&k, 6)
        );
    }
}
