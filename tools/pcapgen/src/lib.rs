//! pcapgen: craft capture files for edgetap's tests and benchmark.
//!
//! ```no_run
//! use pcapgen::proto::modbus;
//! use pcapgen::{Dir, Endpoint, LinkType, PcapWriter, TcpConv, Vlan};
//!
//! let file = std::io::BufWriter::new(std::fs::File::create("modbus-vlan.pcap")?);
//! let mut w = PcapWriter::new(file, LinkType::Ethernet)?;
//! let mut c = TcpConv::new(Endpoint::v4([10, 0, 0, 1], 40_001), Endpoint::v4([10, 0, 0, 2], 502))
//!     .vlan(Vlan::Single(10));
//! c.handshake(&mut w)?;
//! c.send(&mut w, Dir::ToServer, &modbus::read_holding_registers_req(1, 1, 0, 2))?;
//! c.send(&mut w, Dir::ToClient, &modbus::read_holding_registers_resp(1, 1, &[7, 8]))?;
//! c.close(&mut w, Dir::ToServer)?;
//! w.finish()?;
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod bench;
pub mod conv;
pub mod floor;
pub mod frame;
pub mod golden;
pub mod pcap;
pub mod proto;
pub mod rng;
pub mod scenario;
pub mod tshark;

pub use conv::{Clock, Dir, TcpConv, UdpConv};
pub use frame::{
    mac_for, Endpoint, Frame, Mac, TcpFlags, TcpSegment, Transport, Vlan, BROADCAST_MAC,
};
pub use pcap::{
    LinkType, MemSink, PacketSink, PcapOptions, PcapWriter, PcapngWriter, Timestamp, TsResolution,
};
