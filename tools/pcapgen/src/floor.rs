//! The benchmark floor: the cheapest useful pass over a capture (streamed with pcap-parser the
//! way edgetap reads files, every frame sliced with etherparse). edgetap cannot be faster than
//! this; the benchmark reports edgetap's packets/s as a fraction of the floor's.

use std::fs::File;
use std::path::Path;
use std::time::Instant;

use etherparse::{SlicedPacket, TransportSlice};
use pcap_parser::pcapng::Block;
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};

/// Read buffer, as in edgetap (1 MiB).
pub const BUFFER: usize = 1 << 20;

/// What the floor pass counted.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FloorResult {
    pub packets: u64,
    /// Captured frame bytes.
    pub bytes: u64,
    pub tcp_packets: u64,
    pub udp_packets: u64,
    /// TCP and UDP payload bytes.
    pub payload_bytes: u64,
    /// Frames etherparse could not slice.
    pub slice_errors: u64,
    pub seconds: f64,
}

impl FloorResult {
    pub fn pps(&self) -> f64 {
        if self.seconds > 0.0 {
            self.packets as f64 / self.seconds
        } else {
            0.0
        }
    }
    /// One JSON line.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"packets\":{},\"bytes\":{},\"tcp_packets\":{},\"udp_packets\":{},\"payload_bytes\":{},\"slice_errors\":{},\"seconds\":{:.6},\"pps\":{:.0}}}",
            self.packets,
            self.bytes,
            self.tcp_packets,
            self.udp_packets,
            self.payload_bytes,
            self.slice_errors,
            self.seconds,
            self.pps()
        )
    }
}

fn slice(dlt: i32, data: &[u8], r: &mut FloorResult) {
    let sliced = match dlt {
        1 => SlicedPacket::from_ethernet(data),
        101 => SlicedPacket::from_ip(data),
        113 => SlicedPacket::from_linux_sll(data),
        _ => SlicedPacket::from_ethernet(data),
    };
    match sliced {
        Ok(p) => match &p.transport {
            Some(TransportSlice::Tcp(t)) => {
                r.tcp_packets += 1;
                r.payload_bytes += t.payload().len() as u64;
            }
            Some(TransportSlice::Udp(u)) => {
                r.udp_packets += 1;
                r.payload_bytes += u.payload().len() as u64;
            }
            _ => {}
        },
        Err(_) => r.slice_errors += 1,
    }
}

/// Read and slice every frame of `path`.
pub fn run(path: &Path) -> Result<FloorResult, String> {
    let start = Instant::now();
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut reader = create_reader(BUFFER, file)
        .map_err(|e| format!("{}: not a readable capture: {e:?}", path.display()))?;
    let mut r = FloorResult::default();
    let mut dlt: i32 = 1;
    let mut if_dlts: Vec<i32> = Vec::new();
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                match block {
                    PcapBlockOwned::LegacyHeader(h) => dlt = h.network.0,
                    PcapBlockOwned::Legacy(b) => {
                        r.packets += 1;
                        r.bytes += b.data.len() as u64;
                        slice(dlt, b.data, &mut r);
                    }
                    PcapBlockOwned::NG(Block::SectionHeader(_)) => if_dlts.clear(),
                    PcapBlockOwned::NG(Block::InterfaceDescription(idb)) => {
                        if_dlts.push(idb.linktype.0)
                    }
                    PcapBlockOwned::NG(Block::EnhancedPacket(epb)) => {
                        let data = &epb.data[..(epb.caplen as usize).min(epb.data.len())];
                        r.packets += 1;
                        r.bytes += data.len() as u64;
                        slice(
                            if_dlts.get(epb.if_id as usize).copied().unwrap_or(1),
                            data,
                            &mut r,
                        );
                    }
                    PcapBlockOwned::NG(_) => {}
                }
                reader.consume(offset);
            }
            Err(PcapError::Eof) => break,
            Err(PcapError::Incomplete(_)) => {
                reader
                    .refill()
                    .map_err(|e| format!("{}: read error: {e:?}", path.display()))?;
            }
            Err(e) => {
                return Err(format!(
                    "{}: corrupt capture after {} packets: {e:?}",
                    path.display(),
                    r.packets
                ));
            }
        }
    }
    r.seconds = start.elapsed().as_secs_f64();
    Ok(r)
}
