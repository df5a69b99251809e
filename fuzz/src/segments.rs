//! `stream_segments`: one TCP conversation (a generated Modbus/TCP exchange, or the fuzzer's own
//! bytes as the two streams) cut into segments at fuzzer-chosen points and sent as
//! Ethernet/IPv4/TCP frames with fuzzer-chosen reordering, duplication, drops, pure ACKs,
//! FIN/RST and time steps; the whole pipeline runs over the frames.

use crate::check_buffered;
use arbitrary::{Result, Unstructured};
use edgetap::capture::{LinkType, Packet};
use edgetap::output::CountOnly;
use edgetap::pipeline::Pipeline;
use etherparse::PacketBuilder;

const CLIENT: ([u8; 6], [u8; 4]) = ([2, 0, 0, 0, 0, 1], [10, 0, 0, 1]);
const SERVER: ([u8; 6], [u8; 4]) = ([2, 0, 0, 0, 0, 2], [10, 0, 0, 2]);

/// One direction's stream, cut into segments (offsets relative to the first data byte).
struct Side {
    isn: u32,
    data: Vec<u8>,
    /// (start, end) of each segment.
    segs: Vec<(usize, usize)>,
    /// Next segment to send in order.
    next: usize,
}

impl Side {
    fn seq(&self, off: usize) -> u32 {
        self.isn.wrapping_add(1).wrapping_add(off as u32)
    }
}

/// A Modbus/TCP request or response with a correct MBAP length (most of the time).
fn modbus_adu(u: &mut Unstructured<'_>, tid: u16) -> Result<Vec<u8>> {
    let unit: u8 = u.arbitrary()?;
    let fc: u8 = if u.ratio(7, 8)? {
        *u.choose(&[1u8, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 20, 21, 22, 23, 24, 43, 0x81, 0x83, 0x90, 90])?
    } else {
        u.arbitrary()?
    };
    let n = u.int_in_range(0..=260usize)?;
    let body = u.bytes(n.min(u.len()))?;
    let mut len = 2 + body.len() as u16;
    if u.ratio(1, 16)? {
        len = u.arbitrary()?;
    }
    let proto: u16 = if u.ratio(15, 16)? { 0 } else { u.arbitrary()? };
    let mut v = Vec::with_capacity(8 + body.len());
    v.extend_from_slice(&tid.to_be_bytes());
    v.extend_from_slice(&proto.to_be_bytes());
    v.extend_from_slice(&len.to_be_bytes());
    v.push(unit);
    v.push(fc);
    v.extend_from_slice(body);
    Ok(v)
}

fn cut(u: &mut Unstructured<'_>, len: usize) -> Result<Vec<(usize, usize)>> {
    let mut segs = Vec::new();
    let mut at = 0;
    while at < len {
        let n = if u.is_empty() { len - at } else { u.int_in_range(1..=1460usize)?.min(len - at) };
        segs.push((at, at + n));
        at += n;
    }
    Ok(segs)
}

struct Conv {
    sides: [Side; 2],
    sport: u16,
    dport: u16,
    ts: u64,
    frame: u64,
    buf: Vec<u8>,
}

impl Conv {
    /// Send one frame from side `d` (0 client, 1 server).
    #[allow(clippy::too_many_arguments)]
    fn send(
        &mut self,
        p: &mut Pipeline<CountOnly>,
        d: usize,
        seq: u32,
        ack: Option<u32>,
        syn: bool,
        fin: bool,
        rst: bool,
        payload: &[u8],
    ) {
        let (src, dst, sport, dport) =
            if d == 0 { (CLIENT, SERVER, self.sport, self.dport) } else { (SERVER, CLIENT, self.dport, self.sport) };
        let mut b = PacketBuilder::ethernet2(src.0, dst.0).ipv4(src.1, dst.1, 64).tcp(sport, dport, seq, 65535);
        if let Some(a) = ack {
            b = b.ack(a);
        }
        if syn {
            b = b.syn();
        }
        if fin {
            b = b.fin();
        }
        if rst {
            b = b.rst();
        }
        self.buf.clear();
        if b.write(&mut self.buf, payload).is_err() {
            return;
        }
        self.frame += 1;
        let pkt = Packet {
            source: 0,
            frame: self.frame,
            ts_ns: self.ts,
            link: LinkType::ETHERNET,
            data: &self.buf,
            orig_len: self.buf.len() as u32,
        };
        p.packet(&pkt);
    }

    /// Send segment `i` of side `d`, acknowledging everything the peer sent in order so far.
    fn send_seg(&mut self, p: &mut Pipeline<CountOnly>, d: usize, i: usize) {
        let s = &self.sides[d];
        let Some(&(a, b)) = s.segs.get(i) else { return };
        let seq = s.seq(a);
        let peer = &self.sides[1 - d];
        let acked = peer.segs.get(peer.next.saturating_sub(1)).map_or(0, |x| x.1);
        let ack = peer.seq(acked);
        let payload = self.sides[d].data[a..b].to_vec();
        self.send(p, d, seq, Some(ack), false, false, false, &payload);
    }
}

pub fn run(data: &[u8]) {
    let before = edgetap_dissectors::stream::buffered_bytes();
    {
        let mut p = Pipeline::new(CountOnly, crate::small_limits());
        let _ = build_and_feed(&mut Unstructured::new(data), &mut p);
        p.finish();
        // No fragments here: everything reassembly held must be gone once every flow ended.
        assert_eq!(p.held_bytes(), 0, "bytes still held after finish()");
    }
    check_buffered(before);
}

fn build_and_feed(u: &mut Unstructured<'_>, p: &mut Pipeline<CountOnly>) -> Result<()> {
    let mode: u8 = u.arbitrary()?;
    let (mut cs, mut ss) = (Vec::new(), Vec::new());
    if mode & 1 == 0 {
        // A Modbus/TCP exchange: requests and responses, transaction ids mostly paired.
        let n = u.int_in_range(1..=12usize)?;
        for i in 0..n {
            let tid = if u.ratio(7, 8)? { i as u16 } else { u.arbitrary()? };
            cs.extend(modbus_adu(u, tid)?);
            if u.ratio(7, 8)? {
                ss.extend(modbus_adu(u, tid)?);
            }
        }
    } else {
        // The fuzzer's bytes as the two streams.
        let n = u.int_in_range(0..=u.len())?;
        cs.extend_from_slice(u.bytes(n / 2)?);
        let m = u.int_in_range(0..=u.len())?;
        ss.extend_from_slice(u.bytes(m / 2)?);
    }
    let dport = if mode & 2 == 0 { 502 } else { u.arbitrary()? };
    let sport = if mode & 4 == 0 { 49152 } else { u.arbitrary()? };
    let isn_c: u32 = if mode & 8 == 0 { 1000 } else { u.arbitrary()? };
    let isn_s: u32 = if mode & 8 == 0 { 5000 } else { u.arbitrary()? };
    let csegs = cut(u, cs.len())?;
    let ssegs = cut(u, ss.len())?;
    let mut c = Conv {
        sides: [
            Side { isn: isn_c, data: cs, segs: csegs, next: 0 },
            Side { isn: isn_s, data: ss, segs: ssegs, next: 0 },
        ],
        sport,
        dport,
        ts: 1_700_000_000_000_000_000,
        frame: 0,
        buf: Vec::with_capacity(2048),
    };
    if mode & 16 == 0 {
        // Three-way handshake (otherwise the flow is picked up mid-way).
        c.send(p, 0, isn_c, None, true, false, false, &[]);
        c.send(p, 1, isn_s, Some(isn_c.wrapping_add(1)), true, false, false, &[]);
        c.send(p, 0, isn_c.wrapping_add(1), Some(isn_s.wrapping_add(1)), false, false, false, &[]);
    }
    let step = |u: &mut Unstructured<'_>, c: &mut Conv, p: &mut Pipeline<CountOnly>| -> Result<()> {
        let op: u8 = u.arbitrary()?;
        let d = usize::from(op & 1);
        match op >> 1 {
            // In order, the common case.
            0..=79 => {
                let i = c.sides[d].next;
                c.send_seg(p, d, i);
                c.sides[d].next += 1;
            }
            // Drop the next segment (the capture missed it).
            80..=89 => c.sides[d].next += 1,
            // Any segment again, earlier (retransmission) or later (out of order).
            90..=104 => {
                let n = c.sides[d].segs.len();
                if n > 0 {
                    let i = u.choose_index(n)?;
                    c.send_seg(p, d, i);
                }
            }
            // A segment with arbitrary seq and a slice of its stream (overlaps, wrap-around).
            105..=109 => {
                let s = &c.sides[d];
                let a = u.int_in_range(0..=s.data.len())?;
                let b = u.int_in_range(a..=s.data.len().min(a + 1460))?;
                let seq = if u.ratio(1, 2)? { s.seq(a) } else { u.arbitrary()? };
                let payload = s.data[a..b].to_vec();
                let ack = c.sides[1 - d].seq(0);
                c.send(p, d, seq, Some(ack), false, false, false, &payload);
            }
            // A pure ACK for some point in the peer's stream (possibly past a hole).
            110..=119 => {
                let peer = &c.sides[1 - d];
                let off = u.int_in_range(0..=peer.data.len())?;
                let ack = peer.seq(off);
                let seq = c.sides[d].seq(c.sides[d].segs.get(c.sides[d].next).map_or(c.sides[d].data.len(), |x| x.0));
                c.send(p, d, seq, Some(ack), false, false, false, &[]);
            }
            // FIN at the current position.
            120 => {
                let s = &c.sides[d];
                let seq = s.seq(s.segs.get(s.next).map_or(s.data.len(), |x| x.0));
                c.send(p, d, seq, None, false, true, false, &[]);
            }
            121 => {
                let s = &c.sides[d];
                let seq = s.seq(s.segs.get(s.next).map_or(s.data.len(), |x| x.0));
                c.send(p, d, seq, None, false, false, true, &[]);
            }
            // Time passes (up to ~13 s: flows expire with small_limits()).
            _ => c.ts += u64::from(u.arbitrary::<u8>()?) * 50_000_000,
        }
        Ok(())
    };
    while !u.is_empty() && c.frame < 4096 {
        if step(u, &mut c, p).is_err() {
            break;
        }
    }
    // Whatever was not sent goes out in order, alternating, then both sides close.
    loop {
        let mut sent = false;
        for d in 0..2 {
            let i = c.sides[d].next;
            if i < c.sides[d].segs.len() {
                c.send_seg(p, d, i);
                c.sides[d].next += 1;
                sent = true;
            }
        }
        if !sent {
            break;
        }
    }
    for d in 0..2 {
        let s = &c.sides[d];
        let seq = s.seq(s.data.len());
        let ack = c.sides[1 - d].seq(c.sides[1 - d].data.len());
        c.send(p, d, seq, Some(ack), false, true, false, &[]);
    }
    Ok(())
}
