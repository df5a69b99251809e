//! Timed TCP helpers over [`TcpConv`]: every packet gets an explicit time, so that the
//! conversations of the scenario can be written in any order and sorted afterwards.

use std::io;

use crate::conv::{Dir, TcpConv};
use crate::frame::TcpFlags;
use crate::pcap::{PacketSink, Timestamp};

/// Set the conversation's clock to `t` (ns) for the next packet.
pub fn at(c: &mut TcpConv, t: u64) -> &mut TcpConv {
    c.clock_mut().now = Timestamp(t);
    c
}

/// SYN at `t`, SYN/ACK at `t + rtt`, the client's ACK `ack_after` later. Returns the time of the
/// last packet.
pub fn handshake<S: PacketSink + ?Sized>(
    c: &mut TcpConv,
    out: &mut S,
    t: u64,
    rtt: u64,
    ack_after: u64,
) -> io::Result<u64> {
    let cs = c.next_seq(Dir::ToServer);
    at(c, t).segment(out, Dir::ToServer, TcpFlags::SYN, cs, 0, &[])?;
    c.skip(Dir::ToServer, 1);
    let ss = c.next_seq(Dir::ToClient);
    at(c, t + rtt).segment(
        out,
        Dir::ToClient,
        TcpFlags::SYN | TcpFlags::ACK,
        ss,
        cs.wrapping_add(1),
        &[],
    )?;
    c.skip(Dir::ToClient, 1);
    let t3 = t + rtt + ack_after;
    at(c, t3).ack(out, Dir::ToServer)?;
    Ok(t3)
}

/// A SYN that the server refuses with RST/ACK `rtt` later.
pub fn refused<S: PacketSink + ?Sized>(
    c: &mut TcpConv,
    out: &mut S,
    t: u64,
    rtt: u64,
) -> io::Result<()> {
    let cs = c.next_seq(Dir::ToServer);
    at(c, t).segment(out, Dir::ToServer, TcpFlags::SYN, cs, 0, &[])?;
    at(c, t + rtt).segment(
        out,
        Dir::ToClient,
        TcpFlags::RST | TcpFlags::ACK,
        0,
        cs.wrapping_add(1),
        &[],
    )
}

/// `req` from the client at `t`, `resp` from the server `rtt` later, the client's pure ACK
/// `delack` after that. Returns the time of the ACK.
pub fn exchange<S: PacketSink + ?Sized>(
    c: &mut TcpConv,
    out: &mut S,
    t: u64,
    req: &[u8],
    resp: &[u8],
    rtt: u64,
    delack: u64,
) -> io::Result<u64> {
    at(c, t).send(out, Dir::ToServer, req)?;
    at(c, t + rtt).send(out, Dir::ToClient, resp)?;
    at(c, t + rtt + delack).ack(out, Dir::ToServer)?;
    Ok(t + rtt + delack)
}

/// Orderly close started by `dir` at `t`: FIN/ACK, FIN/ACK back `rtt` later, last ACK right
/// after. Returns the time of the last packet.
pub fn close<S: PacketSink + ?Sized>(
    c: &mut TcpConv,
    out: &mut S,
    t: u64,
    dir: Dir,
    rtt: u64,
) -> io::Result<u64> {
    at(c, t).fin(out, dir)?;
    at(c, t + rtt).fin(out, dir.reverse())?;
    let t3 = t + rtt + rtt / 4 + 1_000;
    at(c, t3).ack(out, dir)?;
    Ok(t3)
}

/// `data` from `dir` in segments of at most `mss` bytes, one every `gap` ns from `t`; the
/// receiver acknowledges every second segment (and the last), the ACK showing up `ack_delay`
/// after the segment (about a round trip when the tap is next to the sender, almost nothing
/// when it is next to the receiver). Returns the time of the last packet.
#[allow(clippy::too_many_arguments)]
pub fn bulk<S: PacketSink + ?Sized>(
    c: &mut TcpConv,
    out: &mut S,
    t: u64,
    dir: Dir,
    data: &[u8],
    mss: usize,
    gap: u64,
    ack_delay: u64,
) -> io::Result<u64> {
    let n = data.len().div_ceil(mss);
    let mut last = t;
    for (k, chunk) in data.chunks(mss).enumerate() {
        let ts = t + k as u64 * gap;
        let flags = if k + 1 == n {
            TcpFlags::PSH | TcpFlags::ACK
        } else {
            TcpFlags::ACK
        };
        let seq = c.next_seq(dir);
        let ack = c.next_seq(dir.reverse());
        at(c, ts).segment(out, dir, flags, seq, ack, chunk)?;
        c.skip(dir, chunk.len() as u32);
        if k % 2 == 1 || k + 1 == n {
            let ta = ts + ack_delay;
            at(c, ta).ack(out, dir.reverse())?;
            last = ta;
        }
    }
    Ok(last)
}
