//! Counters for everything the pipeline sees, drops or gives up on: the `count` output, the
//! summary on stderr, and later the API's stats and metrics.

use crate::decode::frag::DefragStats;
use crate::flow::FlowStats;
use crate::reassembly::ReassemblyStats;
use edgetap_dissectors::Proto;
use serde::Serialize;
use std::collections::BTreeMap;

/// Per-protocol counters, indexed by `Proto as usize`.
#[derive(Debug, Default, Clone, Copy)]
pub struct PerProto(pub [u64; 5]);

impl PerProto {
    pub fn add(&mut self, p: Proto, n: u64) {
        if let Some(c) = self.0.get_mut(p as usize) {
            *c += n;
        }
    }
    pub fn get(&self, p: Proto) -> u64 {
        self.0.get(p as usize).copied().unwrap_or(0)
    }
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
    pub fn to_map(self) -> BTreeMap<&'static str, u64> {
        Proto::ALL
            .iter()
            .map(|p| (p.name(), self.get(*p)))
            .collect()
    }
}

impl Serialize for PerProto {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_map().serialize(s)
    }
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct DecodeStats {
    pub tcp: u64,
    pub udp: u64,
    pub icmp: u64,
    pub other_ip: u64,
    pub unknown_link_type: u64,
    pub short_link_header: u64,
    pub not_ip: u64,
    /// Of the non-IP frames, Ethernet/IPv4 ARP messages (read by the site model).
    pub arp: u64,
    pub bad_ip_header: u64,
    /// Packets cut by the snap length (captured shorter than on the wire).
    pub truncated: u64,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Stats {
    pub packets: u64,
    pub bytes: u64,
    pub decode: DecodeStats,
    pub fragments: DefragStats,
    pub flows: FlowStats,
    pub reassembly: ReassemblyStats,
    /// Flows whose protocol was recognised.
    pub app_flows: PerProto,
    pub pdus: PerProto,
    pub events: PerProto,
    /// Events by name (`modbus.bad_length`, ...).
    pub event_names: BTreeMap<&'static str, u64>,
}
