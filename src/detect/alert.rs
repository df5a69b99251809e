//! Alerts: one record per episode, and its rendering as Suricata EVE JSON (valid against
//! Suricata 8's schema: everything of ours lives under `alert.metadata.edgetap`).

use crate::detect::rules::Category;
use crate::output::time_digits;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// A device named in an alert.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DevRef {
    pub id: String,
    pub name: String,
}

/// The state of an alert's episode.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Episode {
    /// `open` while the datapoints breach, `cleared` once they stopped.
    pub state: String,
    pub first_ns: u64,
    pub last_ns: u64,
    /// Breaching datapoints during the episode.
    pub datapoints: u64,
    /// Rules (sids) that breached during it.
    pub rules: Vec<u32>,
    /// Largest value seen.
    pub max_value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleared_ns: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Alert {
    pub id: String,
    /// Packet time of the packet that raised it.
    pub ts_ns: u64,
    pub sid: u32,
    pub rev: u32,
    pub signature: String,
    pub category: Category,
    pub severity: u8,
    pub src_ip: Option<IpAddr>,
    pub src_port: Option<u16>,
    pub dest_ip: Option<IpAddr>,
    pub dest_port: Option<u16>,
    pub ip_proto: u8,
    pub app_proto: Option<String>,
    pub src_device: Option<DevRef>,
    pub dest_device: Option<DevRef>,
    pub evidence: serde_json::Value,
    pub episode: Episode,
    /// The packet that raised it: its frame number and its capture (input index).
    pub frame: u64,
    pub source: usize,
    #[serde(default)]
    pub acknowledged: bool,
}

/// `2026-11-22T08:27:22.217633+0000`, EVE's timestamp form.
pub fn eve_time(ns: u64) -> String {
    EveTime(ns).to_string()
}

/// [`eve_time`] as a `Display`, to write without allocating.
pub struct EveTime(pub u64);

impl EveTime {
    /// The 31 bytes of the timestamp (`...217633+0000`), without allocating.
    pub fn bytes(&self) -> [u8; 31] {
        let mut out = *b"0000-00-00T00:00:00.000000+0000";
        for (o, d) in out.iter_mut().zip(time_digits(self.0)) {
            *o = d;
        }
        out
    }
}

impl std::fmt::Display for EveTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(std::str::from_utf8(&self.bytes()).unwrap_or_default())
    }
}

fn proto_name(p: u8) -> String {
    match p {
        6 => "TCP".into(),
        17 => "UDP".into(),
        1 => "ICMP".into(),
        58 => "IPv6-ICMP".into(),
        0 => "IP".into(),
        n => format!("{n:03}"),
    }
}

impl Alert {
    /// The EVE JSON object.
    pub fn eve(&self) -> serde_json::Value {
        let mut o = serde_json::Map::new();
        o.insert("timestamp".into(), eve_time(self.ts_ns).into());
        o.insert("event_type".into(), "alert".into());
        if let Some(ip) = self.src_ip {
            o.insert("src_ip".into(), ip.to_string().into());
        }
        if let Some(p) = self.src_port {
            o.insert("src_port".into(), p.into());
        }
        if let Some(ip) = self.dest_ip {
            o.insert("dest_ip".into(), ip.to_string().into());
        }
        if let Some(p) = self.dest_port {
            o.insert("dest_port".into(), p.into());
        }
        o.insert("proto".into(), proto_name(self.ip_proto).into());
        if let Some(a) = &self.app_proto {
            o.insert("app_proto".into(), a.clone().into());
        }
        o.insert("pcap_cnt".into(), self.frame.into());
        let meta = serde_json::json!({"edgetap": {
            "alert_id": self.id,
            "src_device": self.src_device,
            "dest_device": self.dest_device,
            "evidence": self.evidence,
            "episode": self.episode,
            "input": self.source,
        }});
        o.insert(
            "alert".into(),
            serde_json::json!({
                "action": "allowed",
                "gid": 1,
                "signature_id": self.sid,
                "rev": self.rev,
                "signature": self.signature,
                "category": self.category.name(),
                "severity": self.severity,
                "metadata": meta,
            }),
        );
        serde_json::Value::Object(o)
    }
}

/// Where raised alerts go (a file of EVE lines, the store, a test's vector).
pub trait AlertSink {
    fn raised(&mut self, a: &Alert);
    /// An alert's episode changed (datapoints, cleared): for stores that keep it current.
    fn updated(&mut self, _a: &Alert) {}
}

impl AlertSink for Vec<Alert> {
    fn raised(&mut self, a: &Alert) {
        self.push(a.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eve_time_of_edge_dates() {
        assert_eq!(eve_time(0), "1970-01-01T00:00:00.000000+0000");
        assert_eq!(
            eve_time(951_782_400_000_000_000),
            "2000-02-29T00:00:00.000000+0000"
        );
        assert_eq!(
            eve_time(4_102_444_799_999_999_999),
            "2099-12-31T23:59:59.999999+0000"
        );
    }

    #[test]
    fn eve_timestamp_form() {
        assert_eq!(
            eve_time(1_700_000_000_123_456_789),
            "2023-11-14T22:13:20.123456+0000"
        );
    }
}
