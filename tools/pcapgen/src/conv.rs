//! Stateful conversations: [`TcpConv`] keeps sequence / acknowledgement numbers of both sides,
//! [`UdpConv`] swaps endpoints per direction; both stamp packets from a [`Clock`].

use std::io;

use crate::frame::{Endpoint, Frame, TcpFlags, TcpSegment, Transport, Vlan};
use crate::pcap::{PacketSink, Timestamp};

/// Direction of a packet within a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// Client to server.
    ToServer,
    /// Server to client.
    ToClient,
}

impl Dir {
    pub fn reverse(self) -> Dir {
        match self {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        }
    }
    fn idx(self) -> usize {
        match self {
            Dir::ToServer => 0,
            Dir::ToClient => 1,
        }
    }
}

/// Packet clock: every packet takes the current time, then the time advances by `step`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    pub now: Timestamp,
    /// Nanoseconds between consecutive packets.
    pub step_ns: u64,
}

impl Default for Clock {
    /// Starts at 2024-01-01T00:00:00Z, 1 ms per packet.
    fn default() -> Self {
        Clock {
            now: Timestamp::DEFAULT_START,
            step_ns: 1_000_000,
        }
    }
}

impl Clock {
    pub fn new(start: Timestamp, step_ns: u64) -> Clock {
        Clock {
            now: start,
            step_ns,
        }
    }
    /// The timestamp for the next packet (then advance by the step).
    pub fn tick(&mut self) -> Timestamp {
        let t = self.now;
        self.now = self.now.plus_nanos(self.step_ns);
        t
    }
    /// Let extra time pass (an idle gap).
    pub fn advance(&mut self, ns: u64) {
        self.now = self.now.plus_nanos(ns);
    }
}

thread_local! {
    /// Frame assembly buffer shared by all conversations of a thread (keeps conversations small).
    static SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(2048));
}

/// Per-conversation packet options shared by TCP and UDP.
#[derive(Clone, Copy, Debug)]
struct Common {
    client: Endpoint,
    server: Endpoint,
    vlan: Vlan,
    pad: bool,
    ttl: [u8; 2],
    ip_id: [u16; 2],
    clock: Clock,
}

impl Common {
    fn new(client: Endpoint, server: Endpoint) -> Common {
        assert!(
            client.ip.is_ipv4() == server.ip.is_ipv4(),
            "pcapgen: client and server must both be IPv4 or both IPv6"
        );
        Common {
            client,
            server,
            vlan: Vlan::None,
            pad: false,
            ttl: [64, 128],
            ip_id: [0x1000, 0x5000],
            clock: Clock::default(),
        }
    }
    fn ends(&self, dir: Dir) -> (&Endpoint, &Endpoint) {
        match dir {
            Dir::ToServer => (&self.client, &self.server),
            Dir::ToClient => (&self.server, &self.client),
        }
    }
    fn emit<S: PacketSink + ?Sized>(
        &mut self,
        out: &mut S,
        dir: Dir,
        transport: Transport<'_>,
    ) -> io::Result<()> {
        let (src, dst) = self.ends(dir);
        let i = dir.idx();
        let f = Frame {
            src_mac: src.mac,
            dst_mac: dst.mac,
            vlan: self.vlan,
            src_ip: src.ip,
            dst_ip: dst.ip,
            ttl: self.ttl[i],
            ip_id: self.ip_id[i],
            transport,
        };
        self.ip_id[i] = self.ip_id[i].wrapping_add(1);
        let ts = self.clock.tick();
        let link = out.link_type();
        let pad = self.pad;
        SCRATCH.with(|cell| {
            let mut buf = cell.borrow_mut();
            buf.clear();
            f.write(link, pad, &mut buf);
            out.write_packet(ts, &buf)
        })
    }
}

#[derive(Clone, Debug, Default)]
struct LastSeg {
    dir: Option<Dir>,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    payload: Vec<u8>,
}

/// A TCP conversation between a client and a server.
///
/// Sequence numbers: `seqs(c, s)` sets the next sequence number of each side. If you call
/// [`TcpConv::handshake`], those are the ISNs (SYN / SYN-ACK). If you don't, the conversation
/// starts mid-stream and they are the first data bytes' numbers. Every segment acknowledges
/// everything the other side has sent so far (unless built with [`TcpConv::segment`]).
#[derive(Clone, Debug)]
pub struct TcpConv {
    c: Common,
    next_seq: [u32; 2],
    window: [u16; 2],
    mss: u16,
    last: LastSeg,
}

impl TcpConv {
    /// Default ISNs 0x01000000 (client) and 0x02000000 (server), 1 ms per packet from
    /// 2024-01-01, no VLAN, no padding.
    ///
    /// # Panics
    /// If client and server are of different address families.
    pub fn new(client: Endpoint, server: Endpoint) -> TcpConv {
        TcpConv {
            c: Common::new(client, server),
            next_seq: [0x0100_0000, 0x0200_0000],
            window: [64240, 65160],
            mss: 1460,
            last: LastSeg::default(),
        }
    }
    /// Tag every frame (Ethernet link type only).
    pub fn vlan(mut self, vlan: Vlan) -> TcpConv {
        self.c.vlan = vlan;
        self
    }
    /// Next sequence numbers (ISNs if a handshake follows).
    pub fn seqs(mut self, client: u32, server: u32) -> TcpConv {
        self.next_seq = [client, server];
        self
    }
    pub fn clock(mut self, clock: Clock) -> TcpConv {
        self.c.clock = clock;
        self
    }
    /// Start time of the packet clock.
    pub fn start(mut self, ts: Timestamp) -> TcpConv {
        self.c.clock.now = ts;
        self
    }
    /// Nanoseconds between packets.
    pub fn step_ns(mut self, ns: u64) -> TcpConv {
        self.c.clock.step_ns = ns;
        self
    }
    /// MSS announced in the handshake.
    pub fn mss(mut self, mss: u16) -> TcpConv {
        self.mss = mss;
        self
    }
    pub fn windows(mut self, client: u16, server: u16) -> TcpConv {
        self.window = [client, server];
        self
    }
    /// Pad Ethernet frames to the 60-byte minimum.
    pub fn pad(mut self, pad: bool) -> TcpConv {
        self.c.pad = pad;
        self
    }
    pub fn clock_mut(&mut self) -> &mut Clock {
        &mut self.c.clock
    }
    pub fn now(&self) -> Timestamp {
        self.c.clock.now
    }
    pub fn client(&self) -> &Endpoint {
        &self.c.client
    }
    pub fn server(&self) -> &Endpoint {
        &self.c.server
    }
    /// The sequence number of the next byte `dir`'s sender will send.
    pub fn next_seq(&self, dir: Dir) -> u32 {
        self.next_seq[dir.idx()]
    }

    /// Emit any segment: sequence and ack numbers given explicitly; no state is changed except
    /// the clock and IP id.
    pub fn segment<S: PacketSink + ?Sized>(
        &mut self,
        out: &mut S,
        dir: Dir,
        flags: TcpFlags,
        seq: u32,
        ack: u32,
        payload: &[u8],
    ) -> io::Result<()> {
        let (src, dst) = self.c.ends(dir);
        let seg = TcpSegment {
            sport: src.port,
            dport: dst.port,
            seq,
            ack: if flags.contains(TcpFlags::ACK) {
                ack
            } else {
                0
            },
            flags,
            window: self.window[dir.idx()],
            mss_option: if flags.contains(TcpFlags::SYN) {
                Some(self.mss)
            } else {
                None
            },
            payload,
        };
        self.c.emit(out, dir, Transport::Tcp(seg))
    }

    fn ack_of(&self, dir: Dir) -> u32 {
        self.next_seq[dir.reverse().idx()]
    }

    /// One segment at the current sequence number of `dir`, advancing it by `payload.len()`
    /// (plus one for SYN / FIN), remembered for [`TcpConv::retransmit_last`].
    fn advance<S: PacketSink + ?Sized>(
        &mut self,
        out: &mut S,
        dir: Dir,
        flags: TcpFlags,
        payload: &[u8],
    ) -> io::Result<()> {
        let seq = self.next_seq[dir.idx()];
        let ack = self.ack_of(dir);
        self.segment(out, dir, flags, seq, ack, payload)?;
        let mut adv = payload.len() as u32;
        if flags.contains(TcpFlags::SYN) || flags.contains(TcpFlags::FIN) {
            adv += 1;
        }
        self.next_seq[dir.idx()] = seq.wrapping_add(adv);
        if !payload.is_empty() || adv > 0 {
            self.last.dir = Some(dir);
            self.last.seq = seq;
            self.last.ack = ack;
            self.last.flags = flags;
            self.last.payload.clear();
            self.last.payload.extend_from_slice(payload);
        }
        Ok(())
    }

    /// SYN, SYN/ACK, ACK.
    pub fn handshake<S: PacketSink + ?Sized>(&mut self, out: &mut S) -> io::Result<()> {
        let cs = self.next_seq[0];
        self.segment(out, Dir::ToServer, TcpFlags::SYN, cs, 0, &[])?;
        self.next_seq[0] = cs.wrapping_add(1);
        let ss = self.next_seq[1];
        self.segment(
            out,
            Dir::ToClient,
            TcpFlags::SYN | TcpFlags::ACK,
            ss,
            self.next_seq[0],
            &[],
        )?;
        self.next_seq[1] = ss.wrapping_add(1);
        self.ack(out, Dir::ToServer)
    }

    /// The payload in one PSH/ACK segment.
    pub fn send<S: PacketSink + ?Sized>(
        &mut self,
        out: &mut S,
        dir: Dir,
        data: &[u8],
    ) -> io::Result<()> {
        self.advance(out, dir, TcpFlags::PSH | TcpFlags::ACK, data)
    }

    /// The payload cut at the given offsets (e.g. `&[3, 7]` gives segments 0..3, 3..7, 7..);
    /// offsets that are out of range or not increasing are ignored. The last segment has PSH.
    pub fn send_split<S: PacketSink + ?Sized>(
        &mut self,
        out: &mut S,
        dir: Dir,
        data: &[u8],
        cuts: &[usize],
    ) -> io::Result<()> {
        let ranges = ranges_from_cuts(data.len(), cuts);
        let n = ranges.len();
        for (i, (a, b)) in ranges.into_iter().enumerate() {
            let flags = if i + 1 == n {
                TcpFlags::PSH | TcpFlags::ACK
            } else {
                TcpFlags::ACK
            };
            self.advance(out, dir, flags, &data[a..b])?;
        }
        Ok(())
    }

    /// The payload in segments of at most `mss` bytes (`mss` 0 means the handshake MSS).
    pub fn send_segmented<S: PacketSink + ?Sized>(
        &mut self,
        out: &mut S,
        dir: Dir,
        data: &[u8],
        mss: usize,
    ) -> io::Result<()> {
        let mss = if mss == 0 {
            self.mss.max(1) as usize
        } else {
            mss
        };
        let cuts: Vec<usize> = (1..)
            .map(|i| i * mss)
            .take_while(|&c| c < data.len())
            .collect();
        self.send_split(out, dir, data, &cuts)
    }

    /// The payload cut at `cuts`, segments emitted in `order` (indices into the segment list; an
    /// index given twice is a retransmission, out-of-range ones are ignored). The sequence
    /// number afterwards is past the whole payload, whatever was emitted.
    pub fn send_out_of_order<S: PacketSink + ?Sized>(
        &mut self,
        out: &mut S,
        dir: Dir,
        data: &[u8],
        cuts: &[usize],
        order: &[usize],
    ) -> io::Result<()> {
        let ranges = ranges_from_cuts(data.len(), cuts);
        let base = self.next_seq[dir.idx()];
        let ack = self.ack_of(dir);
        for &i in order {
            let Some(&(a, b)) = ranges.get(i) else {
                continue;
            };
            let seq = base.wrapping_add(a as u32);
            self.segment(
                out,
                dir,
                TcpFlags::PSH | TcpFlags::ACK,
                seq,
                ack,
                &data[a..b],
            )?;
            self.last.dir = Some(dir);
            self.last.seq = seq;
            self.last.ack = ack;
            self.last.flags = TcpFlags::PSH | TcpFlags::ACK;
            self.last.payload.clear();
            self.last.payload.extend_from_slice(&data[a..b]);
        }
        self.next_seq[dir.idx()] = base.wrapping_add(data.len() as u32);
        Ok(())
    }

    /// Emit the last sequence-consuming segment again (same seq, ack, flags and payload).
    /// Does nothing if nothing was sent yet.
    pub fn retransmit_last<S: PacketSink + ?Sized>(&mut self, out: &mut S) -> io::Result<()> {
        let Some(dir) = self.last.dir else {
            return Ok(());
        };
        let last = std::mem::take(&mut self.last);
        let r = self.segment(out, dir, last.flags, last.seq, last.ack, &last.payload);
        self.last = last;
        r
    }

    /// A pure ACK from `dir`'s sender acknowledging everything received.
    pub fn ack<S: PacketSink + ?Sized>(&mut self, out: &mut S, dir: Dir) -> io::Result<()> {
        let seq = self.next_seq[dir.idx()];
        let ack = self.ack_of(dir);
        self.segment(out, dir, TcpFlags::ACK, seq, ack, &[])
    }

    /// Lose `n` bytes of `dir`'s stream: the sequence number advances, nothing is emitted.
    pub fn skip(&mut self, dir: Dir, n: u32) {
        let i = dir.idx();
        self.next_seq[i] = self.next_seq[i].wrapping_add(n);
    }

    /// FIN/ACK from `dir`.
    pub fn fin<S: PacketSink + ?Sized>(&mut self, out: &mut S, dir: Dir) -> io::Result<()> {
        self.advance(out, dir, TcpFlags::FIN | TcpFlags::ACK, &[])
    }

    /// Orderly close started by `dir`: FIN/ACK, FIN/ACK back, final ACK.
    pub fn close<S: PacketSink + ?Sized>(&mut self, out: &mut S, dir: Dir) -> io::Result<()> {
        self.fin(out, dir)?;
        self.fin(out, dir.reverse())?;
        self.ack(out, dir)
    }

    /// RST/ACK from `dir`.
    pub fn rst<S: PacketSink + ?Sized>(&mut self, out: &mut S, dir: Dir) -> io::Result<()> {
        let seq = self.next_seq[dir.idx()];
        let ack = self.ack_of(dir);
        self.segment(out, dir, TcpFlags::RST | TcpFlags::ACK, seq, ack, &[])
    }
}

/// Turn cut points into `(start, end)` ranges covering `0..len`.
fn ranges_from_cuts(len: usize, cuts: &[usize]) -> Vec<(usize, usize)> {
    let mut r = Vec::with_capacity(cuts.len() + 1);
    let mut at = 0;
    for &c in cuts {
        if c > at && c < len {
            r.push((at, c));
            at = c;
        }
    }
    r.push((at, len));
    r
}

/// A UDP "conversation": datagrams between a client and a server.
#[derive(Clone, Debug)]
pub struct UdpConv {
    c: Common,
}

impl UdpConv {
    /// # Panics
    /// If client and server are of different address families.
    pub fn new(client: Endpoint, server: Endpoint) -> UdpConv {
        UdpConv {
            c: Common::new(client, server),
        }
    }
    pub fn vlan(mut self, vlan: Vlan) -> UdpConv {
        self.c.vlan = vlan;
        self
    }
    pub fn clock(mut self, clock: Clock) -> UdpConv {
        self.c.clock = clock;
        self
    }
    pub fn start(mut self, ts: Timestamp) -> UdpConv {
        self.c.clock.now = ts;
        self
    }
    pub fn step_ns(mut self, ns: u64) -> UdpConv {
        self.c.clock.step_ns = ns;
        self
    }
    pub fn pad(mut self, pad: bool) -> UdpConv {
        self.c.pad = pad;
        self
    }
    pub fn clock_mut(&mut self) -> &mut Clock {
        &mut self.c.clock
    }
    pub fn now(&self) -> Timestamp {
        self.c.clock.now
    }
    pub fn client(&self) -> &Endpoint {
        &self.c.client
    }
    pub fn server(&self) -> &Endpoint {
        &self.c.server
    }
    /// One datagram.
    pub fn send<S: PacketSink + ?Sized>(
        &mut self,
        out: &mut S,
        dir: Dir,
        data: &[u8],
    ) -> io::Result<()> {
        let (src, dst) = self.c.ends(dir);
        let t = Transport::Udp {
            sport: src.port,
            dport: dst.port,
            payload: data,
        };
        self.c.emit(out, dir, t)
    }
    /// ICMP echo request (`ToServer`) or reply (`ToClient`) between the same hosts.
    pub fn ping<S: PacketSink + ?Sized>(
        &mut self,
        out: &mut S,
        dir: Dir,
        id: u16,
        seq: u16,
        data: &[u8],
    ) -> io::Result<()> {
        let t = Transport::IcmpEcho {
            reply: dir == Dir::ToClient,
            id,
            seq,
            payload: data,
        };
        self.c.emit(out, dir, t)
    }
}
