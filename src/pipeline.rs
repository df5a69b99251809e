//! The packet path, one packet at a time: decode → flow → TCP reassembly → dispatch →
//! dissector → [`Output`]. Single-threaded and allocation-free per packet on the common path:
//! the packet's bytes are borrowed from the capture buffer all the way into the dissector.

use crate::capture::Packet;
use crate::decode::frag::Defrag;
use crate::decode::{self, Decoded, Skip, TcpFlags, L4};
use crate::dispatch::App;
use crate::flow::{src_is_client, Flow, FlowConfig, FlowKey, FlowNote, FlowTable, TcpSignal};
use crate::reassembly::{Budget, Delivery};
use crate::telemetry::Stats;
use edgetap_dissectors::{Direction, Event, Fact, Pdu, Proto, Sink, Transport};
use std::net::IpAddr;

/// Where a PDU or event was seen: the packet that completed it and its flow.
#[derive(Clone, Copy, Debug)]
pub struct Ctx {
    pub source: usize,
    pub frame: u64,
    pub ts_ns: u64,
    pub flow_id: u64,
    pub vlan: u32,
    /// (address, port) of the client and of the server.
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    /// MAC addresses of the current packet, when it had an Ethernet header.
    pub macs: (Option<[u8; 6]>, Option<[u8; 6]>),
    /// The flow's note as it was when the packet arrived (the site model's device indices).
    pub note: FlowNote,
}

impl Ctx {
    /// (address, port) of the sender of bytes travelling in `dir`.
    pub fn sender(&self, dir: Direction) -> (IpAddr, u16) {
        match dir {
            Direction::ToServer => self.client,
            Direction::ToClient => self.server,
        }
    }
}

/// One IP packet as the site model sees it: addresses, sizes, TCP flags or ICMP type, and for
/// TCP and UDP its flow.
#[derive(Clone, Copy, Debug)]
pub struct Seen<'a> {
    pub source: usize,
    pub frame: u64,
    pub ts_ns: u64,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub sport: u16,
    pub dport: u16,
    pub ip_proto: u8,
    pub macs: (Option<[u8; 6]>, Option<[u8; 6]>),
    /// Length on the wire.
    pub wire_len: u32,
    /// Transport payload (TCP or UDP) as captured; for ICMP, what follows its 8-byte header.
    pub payload: &'a [u8],
    /// The packet from its IP header on (empty after IP reassembly).
    pub ip: &'a [u8],
    pub tcp: Option<TcpFlags>,
    /// ICMP (or ICMPv6) type and code.
    pub icmp: Option<(u8, u8)>,
    pub flow: Option<SeenFlow>,
}

/// The flow of a [`Seen`] packet.
#[derive(Clone, Copy, Debug)]
pub struct SeenFlow {
    pub id: u64,
    pub dir: Direction,
    /// This packet created the flow.
    pub new: bool,
    /// The application protocol, once known.
    pub proto: Option<Proto>,
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    /// Packets so far in each direction (this one included).
    pub packets: [u64; 2],
    /// Packet time of the flow's first packet.
    pub first_ns: u64,
    /// Bytes on the wire so far in each direction (this packet included).
    pub bytes: [u64; 2],
}

/// Why a flow left the table (EVE's `flow.reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlowEnd {
    /// Idle past its timeout.
    Timeout,
    /// Evicted to make room in a full table.
    Forced,
    /// The input ended.
    Shutdown,
}

impl FlowEnd {
    pub fn name(self) -> &'static str {
        match self {
            FlowEnd::Timeout => "timeout",
            FlowEnd::Forced => "forced",
            FlowEnd::Shutdown => "shutdown",
        }
    }
}

/// A consumer of the pipeline's findings.
pub trait Output {
    fn pdu(&mut self, ctx: &Ctx, dir: Direction, pdu: &Pdu<'_>);
    fn event(&mut self, ctx: &Ctx, dir: Direction, event: Event);
    fn fact(&mut self, _ctx: &Ctx, _fact: Fact<'_>) {}
    /// Every IP packet, before its payload goes to a dissector. `note` is the flow's note (a
    /// scratch one for ICMP).
    fn seen(&mut self, _s: &Seen<'_>, _note: &mut FlowNote) {}
    /// An ARP message (frames that carry no IP).
    fn arp(&mut self, _at: &ArpSeen) {}
    /// A TCP or UDP flow leaves the table.
    fn flow_end(&mut self, _flow: &Flow<crate::dispatch::App>, _why: FlowEnd) {}
    /// Packet time passes (called at most once per second of packet time).
    fn tick(&mut self, _now: u64) {}
    /// Whether the consumer wants the counters at packet time `now` (asked once a second).
    fn stats_due(&self, _now: u64) -> bool {
        false
    }
    /// The counters, when [`Output::stats_due`] said so.
    fn stats(&mut self, _now: u64, _stats: &Stats) {}
}

/// An ARP message and where it was seen.
#[derive(Clone, Copy, Debug)]
pub struct ArpSeen {
    pub source: usize,
    pub frame: u64,
    pub ts_ns: u64,
    pub arp: decode::Arp,
}

/// Limits for the whole pipeline.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub flows: FlowConfig,
    /// Out-of-order bytes held by all TCP streams together.
    pub reassembly_global: usize,
    /// Out-of-order bytes held by one TCP stream.
    pub reassembly_per_stream: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let b = Budget::default();
        Limits {
            flows: FlowConfig::default(),
            reassembly_global: b.global_cap,
            reassembly_per_stream: b.per_stream_cap,
        }
    }
}

pub struct Pipeline<O: Output> {
    flows: FlowTable<App>,
    budget: Budget,
    defrag: Defrag,
    stats: Stats,
    /// The last packet processed: the context for flows that end without a packet of theirs.
    last: Option<PacketInfo>,
    pub out: O,
}

/// Adapts the dissectors' [`Sink`] to an [`Output`], adding the packet and flow context.
struct SinkTo<'a, O: Output> {
    out: &'a mut O,
    ctx: Ctx,
    stats: &'a mut Stats,
}

impl<O: Output> SinkTo<'_, O> {
    /// Set the packet a delivery's PDUs are reported at: data held out of order was seen in
    /// the packet that brought it; anything else in the current packet.
    fn at(&mut self, dl: &Delivery<'_>, current: &PacketInfo) {
        (self.ctx.frame, self.ctx.ts_ns) = match dl {
            Delivery::Held { frame, ts_ns, .. } => (*frame, *ts_ns),
            _ => (current.frame, current.ts_ns),
        };
    }
}

impl<O: Output> Sink for SinkTo<'_, O> {
    fn pdu(&mut self, dir: Direction, pdu: &Pdu<'_>) {
        self.stats.pdus.add(pdu.proto(), 1);
        self.out.pdu(&self.ctx, dir, pdu);
    }
    fn event(&mut self, dir: Direction, event: Event) {
        self.stats.events.add(event.proto, 1);
        *self.stats.event_names.entry(event.name).or_insert(0) += 1;
        self.out.event(&self.ctx, dir, event);
    }
    fn fact(&mut self, fact: Fact<'_>) {
        self.out.fact(&self.ctx, fact);
    }
}

/// Static facts about the packet being processed.
#[derive(Clone, Copy)]
struct PacketInfo {
    source: usize,
    frame: u64,
    ts_ns: u64,
    macs: (Option<[u8; 6]>, Option<[u8; 6]>),
    wire_len: u32,
}

fn ctx_for(p: &PacketInfo, flow: &Flow<App>) -> Ctx {
    Ctx {
        source: p.source,
        frame: p.frame,
        ts_ns: p.ts_ns,
        flow_id: flow.id,
        vlan: flow.key.vlan,
        client: flow.sender(Direction::ToServer),
        server: flow.sender(Direction::ToClient),
        macs: p.macs,
        note: flow.note,
    }
}

impl<O: Output> Pipeline<O> {
    pub fn new(out: O, limits: Limits) -> Self {
        Pipeline {
            flows: FlowTable::new(limits.flows),
            budget: Budget {
                global_cap: limits.reassembly_global,
                per_stream_cap: limits.reassembly_per_stream,
                ..Budget::default()
            },
            defrag: Defrag::default(),
            stats: Stats::default(),
            last: None,
            out,
        }
    }

    /// Counters so far (flow, reassembly and fragment figures refreshed).
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.flows = self.flows.stats;
        s.reassembly = self.budget.stats;
        s.fragments = self.defrag.stats;
        s
    }

    /// Bytes held by reassembly and fragment buffers now.
    pub fn held_bytes(&self) -> usize {
        self.budget.used + self.defrag.held_bytes() + edgetap_dissectors::stream::buffered_bytes()
    }

    pub fn flow_count(&self) -> usize {
        self.flows.len()
    }

    /// Process one packet.
    pub fn packet(&mut self, pkt: &Packet<'_>) {
        self.stats.packets += 1;
        self.stats.bytes += u64::from(pkt.orig_len);
        if (pkt.data.len() as u64) < u64::from(pkt.orig_len) {
            self.stats.decode.truncated += 1;
        }
        // Borrowed where it lies: moving the decoded packet out of the Result costs more than
        // anything else on this line.
        let decoded = decode::decode(pkt.link, pkt.data);
        let d = match &decoded {
            Ok(d) => d,
            Err(skip) => {
                let c = &mut self.stats.decode;
                match skip {
                    Skip::UnknownLink => c.unknown_link_type += 1,
                    Skip::ShortLink => c.short_link_header += 1,
                    Skip::NotIp => {
                        c.not_ip += 1;
                        if let Some(arp) = decode::arp(pkt.link, pkt.data) {
                            c.arp += 1;
                            self.out.arp(&ArpSeen {
                                source: pkt.source,
                                frame: pkt.frame,
                                ts_ns: pkt.ts_ns,
                                arp,
                            });
                        }
                    }
                    Skip::BadIp => c.bad_ip_header += 1,
                }
                return;
            }
        };
        let info = PacketInfo {
            source: pkt.source,
            frame: pkt.frame,
            ts_ns: pkt.ts_ns,
            macs: (d.src_mac, d.dst_mac),
            wire_len: pkt.orig_len,
        };
        if let L4::Fragment(f) = d.l4 {
            if let Some((proto, whole)) = self.defrag.add(pkt.ts_ns, &f) {
                let d2 = Decoded {
                    ip: &[],
                    l4: decode::transport_of(proto, &whole),
                    ..*d
                };
                self.transport(&info, &d2);
            }
            return;
        }
        self.transport(&info, d);
    }

    fn transport(&mut self, info: &PacketInfo, d: &Decoded<'_>) {
        self.last = Some(*info);
        self.tick(info.ts_ns);
        let (sport, dport, ip_proto, transport, syn, ack_flag) = match d.l4 {
            L4::Tcp {
                sport,
                dport,
                flags,
                ..
            } => (sport, dport, 6, Transport::Tcp, flags.syn, flags.ack),
            L4::Udp { sport, dport, .. } => (sport, dport, 17, Transport::Udp, false, false),
            L4::Icmp {
                v6,
                icmp_type,
                code,
                payload,
            } => {
                self.stats.decode.icmp += 1;
                let seen = Seen {
                    source: info.source,
                    frame: info.frame,
                    ts_ns: info.ts_ns,
                    src: d.src,
                    dst: d.dst,
                    sport: 0,
                    dport: 0,
                    ip_proto: if v6 { 58 } else { 1 },
                    macs: info.macs,
                    wire_len: info.wire_len,
                    payload,
                    ip: d.ip,
                    tcp: None,
                    icmp: Some((icmp_type, code)),
                    flow: None,
                };
                self.out.seen(&seen, &mut FlowNote::default());
                return;
            }
            L4::Other(_) | L4::Fragment(_) => {
                self.stats.decode.other_ip += 1;
                return;
            }
        };
        let (key, src_is_a) = FlowKey::of(d.src, sport, d.dst, dport, ip_proto, d.vlan);
        let client_src = src_is_client(syn, ack_flag, sport, dport);
        let Pipeline {
            flows,
            budget,
            stats,
            out,
            ..
        } = self;
        let signal = match d.l4 {
            L4::Tcp { flags, payload, .. } => Some(TcpSignal {
                syn: flags.syn,
                ack: flags.ack,
                fin: flags.fin,
                rst: flags.rst,
                payload: !payload.is_empty(),
            }),
            _ => None,
        };
        let flow = flows.lookup_or_insert(
            key,
            info.ts_ns,
            signal,
            |id| new_flow(id, info.source, key, info.ts_ns, client_src == src_is_a),
            &mut |f, idle| {
                let why = if idle {
                    FlowEnd::Timeout
                } else {
                    FlowEnd::Forced
                };
                finish_flow(f, info, budget, stats, out, why)
            },
        );
        let dir = flow.direction(src_is_a);
        let had_proto = flow.app.proto().is_some();
        let new = flow.packets == [0, 0];
        let (payload, tcp) = match d.l4 {
            L4::Tcp { payload, flags, .. } => (payload, Some(flags)),
            L4::Udp { payload, .. } => (payload, None),
            _ => (&[][..], None),
        };
        touch(flow, dir, info.ts_ns, info.wire_len);
        if let Some(f) = tcp {
            if let Some(b) = flow.tcp_flags.get_mut(dir.index()) {
                *b |= u8::from(f.fin)
                    | u8::from(f.syn) << 1
                    | u8::from(f.rst) << 2
                    | u8::from(f.psh) << 3
                    | u8::from(f.ack) << 4
                    | u8::from(f.urg) << 5;
            }
        }
        let seen = Seen {
            source: info.source,
            frame: info.frame,
            ts_ns: info.ts_ns,
            src: d.src,
            dst: d.dst,
            sport,
            dport,
            ip_proto,
            macs: info.macs,
            wire_len: info.wire_len,
            payload,
            ip: d.ip,
            tcp,
            icmp: None,
            flow: Some(SeenFlow {
                id: flow.id,
                dir,
                new,
                proto: flow.app.proto(),
                client: flow.sender(Direction::ToServer),
                server: flow.sender(Direction::ToClient),
                packets: flow.packets,
                first_ns: flow.first_ts,
                bytes: flow.bytes,
            }),
        };
        out.seen(&seen, &mut flow.note);
        match d.l4 {
            L4::Tcp {
                seq,
                ack,
                flags,
                payload,
                ..
            } => {
                stats.decode.tcp += 1;
                if flags.syn {
                    flow.streams[dir.index()].syn(seq);
                }
                // A bare ACK changes nothing unless the peer's stream holds data it may
                // acknowledge past: the common case stops here.
                let bare_ack = payload.is_empty() && !flags.syn && !flags.fin && !flags.rst;
                if bare_ack && flow.streams[dir.flip().index()].held_bytes() == 0 {
                    return;
                }
                let ctx = ctx_for(info, flow);
                let server_port = flow.server_port();
                let Flow { streams, app, .. } = flow;
                let mut sink = SinkTo {
                    out: &mut *out,
                    ctx,
                    stats: &mut *stats,
                };
                let mut feed = |dir: Direction, dl: Delivery<'_>| {
                    sink.at(&dl, info);
                    app.deliver(transport, server_port, dir, dl, &mut sink)
                };
                if flags.ack {
                    // The peer's stream may hold data past a hole this packet acknowledges.
                    let other = dir.flip();
                    streams[other.index()].acked(ack, budget, &mut |dl| feed(other, dl));
                }
                streams[dir.index()].segment(
                    seq,
                    payload,
                    flags.fin,
                    (info.frame, info.ts_ns),
                    budget,
                    &mut |dl| feed(dir, dl),
                );
                if flags.rst {
                    for d in [dir, dir.flip()] {
                        streams[d.index()].close(budget, &mut |dl| feed(d, dl));
                    }
                }
            }
            L4::Udp { payload, .. } => {
                stats.decode.udp += 1;
                let ctx = ctx_for(info, flow);
                let server_port = flow.server_port();
                let mut sink = SinkTo {
                    out: &mut *out,
                    ctx,
                    stats: &mut *stats,
                };
                flow.app.deliver(
                    transport,
                    server_port,
                    dir,
                    Delivery::Data(payload),
                    &mut sink,
                );
            }
            _ => {}
        }
        if !had_proto {
            if let Some(p) = flow.app.proto() {
                stats.app_flows.add(p, 1);
            }
        }
    }

    /// End of input: every flow ends, flushing what its streams and dissectors still hold.
    pub fn finish(&mut self) {
        let Some(info) = self.last else { return };
        let Pipeline {
            flows,
            budget,
            stats,
            out,
            ..
        } = self;
        flows.drain(&mut |f, _| finish_flow(f, &info, budget, stats, out, FlowEnd::Shutdown));
    }

    /// Expire idle flows at packet time `now` (called by live capture when no packet comes).
    pub fn tick(&mut self, now: u64) {
        if !self.flows.sweep_due(now) {
            return;
        }
        self.out.tick(now);
        if self.out.stats_due(now) {
            let s = self.stats();
            self.out.stats(now, &s);
        }
        let Some(info) = self.last else { return };
        let Pipeline {
            flows,
            budget,
            stats,
            out,
            ..
        } = self;
        flows.expire(now, &mut |f, _| {
            finish_flow(f, &info, budget, stats, out, FlowEnd::Timeout)
        });
    }
}

/// A flow leaves the table: its streams end (held data after gaps, then end-of-stream).
fn finish_flow<O: Output>(
    mut f: Flow<App>,
    info: &PacketInfo,
    budget: &mut Budget,
    stats: &mut Stats,
    out: &mut O,
    why: FlowEnd,
) {
    let ctx = ctx_for(info, &f);
    let server_port = f.server_port();
    let transport = if f.key.ip_proto == 6 {
        Transport::Tcp
    } else {
        Transport::Udp
    };
    let Flow { streams, app, .. } = &mut f;
    let mut sink = SinkTo { out, ctx, stats };
    if transport == Transport::Tcp {
        for d in [Direction::ToServer, Direction::ToClient] {
            if let Some(s) = streams.get_mut(d.index()) {
                s.close(budget, &mut |dl| {
                    sink.at(&dl, info);
                    app.deliver(transport, server_port, d, dl, &mut sink)
                });
                s.discard(budget);
            }
        }
    }
    sink.out.flow_end(&f, why);
}

fn new_flow(id: u64, source: usize, key: FlowKey, ts: u64, client_is_a: bool) -> Flow<App> {
    Flow {
        id,
        source,
        key,
        client_is_a,
        first_ts: ts,
        last_ts: ts,
        packets: [0; 2],
        bytes: [0; 2],
        tcp_flags: [0; 2],
        streams: Default::default(),
        app: App::default(),
        note: FlowNote::default(),
    }
}

fn touch(flow: &mut Flow<App>, dir: Direction, ts: u64, len: u32) {
    flow.last_ts = flow.last_ts.max(ts);
    if let Some(p) = flow.packets.get_mut(dir.index()) {
        *p += 1;
    }
    if let Some(b) = flow.bytes.get_mut(dir.index()) {
        *b += u64::from(len);
    }
}
