//! ICMP echo data as common pingers send it (the echo header itself is built by
//! [`crate::Transport::IcmpEcho`]).

use crate::pcap::Timestamp;

/// The 56 data bytes of a Linux `ping` (iputils): the sending time as a `struct timeval`
/// (seconds and microseconds, 64-bit little-endian each) then the bytes 0x10..=0x37.
pub fn linux_ping_data(ts: Timestamp) -> Vec<u8> {
    let mut v = Vec::with_capacity(56);
    v.extend_from_slice(&ts.secs().to_le_bytes());
    v.extend_from_slice(&(ts.subsec_micros() as u64).to_le_bytes());
    v.extend(0x10u8..=0x37);
    v
}

/// The 32 data bytes of a Windows `ping`: `abcdefghijklmnopqrstuvwabcdefghi`.
pub fn windows_ping_data() -> Vec<u8> {
    b"abcdefghijklmnopqrstuvwabcdefghi".to_vec()
}

/// `n` data bytes of a small embedded pinger (lwIP's `ping` app): 0x00, 0x01, ... wrapping.
pub fn lwip_ping_data(n: usize) -> Vec<u8> {
    (0..n).map(|i| i as u8).collect()
}
