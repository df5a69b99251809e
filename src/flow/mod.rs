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
use foldhash::HashMap;
use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;

/// Canonical flow key: `a` is the lower (address, port) endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlowKey {
    pub a: IpAddr,
    pub b: IpAddr,
    pub a_port: u16,
    pub b_port: u16,
    pub ip_proto: u8,
    pub vlan: u32,
}

/// Hashed as three words, not field by field: a flow lookup per packet makes this hot.
impl Hash for FlowKey {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        fn bits(ip: IpAddr) -> u128 {
            match ip {
                IpAddr::V4(v) => u128::from(u32::from(v)) | (1 << 127),
                IpAddr::V6(v) => u128::from(v),
            }
        }
        h.write_u128(bits(self.a));
        h.write_u128(bits(self.b));
        h.write_u64(
            (u64::from(self.a_port) << 48)
                | (u64::from(self.b_port) << 32)
                | (u64::from(self.ip_proto) << 24)
                | u64::from(self.vlan & 0xff_ffff),
        );
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
        if (src, sport) <= (dst, dport) {
            (
                FlowKey {
                    a: src,
                    b: dst,
                    a_port: sport,
                    b_port: dport,
                    ip_proto,
                    vlan,
                },
                true,
            )
        } else {
            (
                FlowKey {
                    a: dst,
                    b: src,
                    a_port: dport,
                    b_port: sport,
                    ip_proto,
                    vlan,
                },
                false,
            )
        }
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
        } else if self == Phase::New && (sig.ack || sig.payload) && !(sig.syn && !sig.ack) {
            Phase::Established
        } else {
            self
        }
    }
}

/// The map's value: where the flow lives, and what its expiry needs. Kept beside the key,
/// which a lookup has just read, so per-packet bookkeeping and sweeps touch no flow state.
#[derive(Clone, Copy, Debug)]
struct Entry {
    slot: u32,
    phase: Phase,
    /// Packet time after which the flow has expired.
    deadline: u64,
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
    pub key: FlowKey,
    /// Whether endpoint `a` of the key is the client.
    pub client_is_a: bool,
    pub first_ts: u64,
    pub last_ts: u64,
    /// Packets and bytes, indexed by [`Direction::index`].
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    /// TCP streams, indexed by [`Direction::index`].
    pub streams: [Stream; 2],
    pub app: T,
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
            (self.key.a, self.key.a_port)
        } else {
            (self.key.b, self.key.b_port)
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

/// The flow table.
pub struct FlowTable<T> {
    map: HashMap<FlowKey, Entry>,
    slots: Vec<Option<Flow<T>>>,
    free: Vec<u32>,
    /// Slots found expired by a sweep (kept to reuse its allocation).
    scratch: Vec<u32>,
    cfg: FlowConfig,
    pub stats: FlowStats,
    last_sweep: u64,
    rng: u64,
}

/// How many flows are sampled to pick one to evict.
const EVICT_SAMPLE: usize = 8;
const SWEEP_EVERY_NS: u64 = 1_000_000_000;

impl<T> FlowTable<T> {
    pub fn new(cfg: FlowConfig) -> Self {
        FlowTable {
            map: HashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            scratch: Vec::new(),
            cfg,
            stats: FlowStats::default(),
            last_sweep: 0,
            rng: 0x9E37_79B9_7F4A_7C15,
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
        let cfg = self.cfg;
        let update = |e: &mut Entry| {
            if let Some(sig) = tcp {
                e.phase = e.phase.advance(sig);
            }
            e.deadline = ts.saturating_add(timeout(&cfg, key.ip_proto, e.phase));
        };
        if let Some(e) = self.map.get_mut(&key) {
            update(e);
            let slot = e.slot;
            return self.slot_mut(slot);
        }
        if self.map.len() >= self.cfg.max_flows {
            self.expire(ts, gone);
            if self.map.len() >= self.cfg.max_flows {
                self.evict_one(gone);
            }
        }
        let flow = init(Self::flow_id(&key, ts));
        let slot = match self.free.pop() {
            Some(i) => {
                if let Some(s) = self.slots.get_mut(i as usize) {
                    *s = Some(flow);
                }
                i
            }
            None => {
                self.slots.push(Some(flow));
                (self.slots.len() - 1) as u32
            }
        };
        let mut e = Entry {
            slot,
            phase: Phase::New,
            deadline: 0,
        };
        update(&mut e);
        self.map.insert(key, e);
        self.stats.created += 1;
        self.stats.active = self.map.len() as u64;
        self.stats.max_active = self.stats.max_active.max(self.stats.active);
        self.slot_mut(slot)
    }

    fn slot_mut(&mut self, i: u32) -> &mut Flow<T> {
        match self.slots.get_mut(i as usize) {
            Some(Some(f)) => f,
            // The map and the slots are kept in step by this module alone.
            _ => unreachable!("flow table slot {i} is empty"),
        }
    }

    fn take(&mut self, i: u32) -> Option<Flow<T>> {
        let f = self.slots.get_mut(i as usize)?.take()?;
        self.map.remove(&f.key);
        self.free.push(i);
        self.stats.active = self.map.len() as u64;
        Some(f)
    }

    fn evict_one(&mut self, gone: &mut dyn FnMut(Flow<T>, bool)) {
        let n = self.slots.len();
        if n == 0 {
            return;
        }
        let mut victim: Option<(u64, u32)> = None;
        let mut tries = 0;
        while tries < EVICT_SAMPLE * 4 && (victim.is_none() || tries < EVICT_SAMPLE) {
            tries += 1;
            // xorshift64: cheap, good enough to sample slots.
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            let i = (self.rng % n as u64) as u32;
            if let Some(Some(f)) = self.slots.get(i as usize) {
                if victim.is_none_or(|(t, _)| f.last_ts < t) {
                    victim = Some((f.last_ts, i));
                }
            }
        }
        let victim = victim
            .map(|(_, i)| i)
            .or_else(|| self.map.values().next().map(|e| e.slot));
        if let Some(f) = victim.and_then(|i| self.take(i)) {
            self.stats.evicted += 1;
            gone(f, false);
        }
    }

    /// Remove flows idle past their timeout at packet time `now`. A sweep visits every slot, so
    /// it runs at most once a second of packet time, full table or not (a flood must not make
    /// every new flow pay for a sweep: sampled eviction handles a full table).
    pub fn expire(&mut self, now: u64, gone: &mut dyn FnMut(Flow<T>, bool)) {
        if now.saturating_sub(self.last_sweep) < SWEEP_EVERY_NS {
            return;
        }
        self.last_sweep = now;
        let mut dead = std::mem::take(&mut self.scratch);
        dead.clear();
        dead.extend(
            self.map
                .values()
                .filter(|e| e.deadline < now)
                .map(|e| e.slot),
        );
        for &i in &dead {
            if let Some(f) = self.take(i) {
                self.stats.expired += 1;
                gone(f, true);
            }
        }
        self.scratch = dead;
    }

    /// Remove every flow (end of input).
    pub fn drain(&mut self, gone: &mut dyn FnMut(Flow<T>, bool)) {
        for i in 0..self.slots.len() as u32 {
            if let Some(f) = self.take(i) {
                gone(f, true);
            }
        }
    }

    /// Call `f` on every flow.
    pub fn for_each(&self, mut f: impl FnMut(&Flow<T>)) {
        self.slots.iter().flatten().for_each(&mut f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(id: u64, key: FlowKey, ts: u64) -> Flow<()> {
        Flow {
            id,
            key,
            client_is_a: true,
            first_ts: ts,
            last_ts: ts,
            packets: [0; 2],
            bytes: [0; 2],
            streams: Default::default(),
            app: (),
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
        assert!(t.slots.len() <= 1000);
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
