//! Posture findings, found passively: the weak spots a device shows on the wire, what Azure
//! Defender for IoT calls recommendations and AWS IoT Device Defender audit checks.
//!
//! - `cleartext_credentials`: a password sent where anyone on the path can read it (MQTT
//!   CONNECT with a password, AMQP PLAIN, FTP `PASS`, a Telnet login, HTTP basic
//!   authorization), on the client that sent it. Only the fact is kept, never the password.
//! - `anonymous_login`: a server that accepted a login without credentials (MQTT CONNECT
//!   without a user name answered with CONNACK 0, AMQP ANONYMOUS, OPC-UA ActivateSession with
//!   an anonymous token answered Good).
//! - `insecure_policy`: an OPC-UA server opening a secure channel with SecurityPolicy None or
//!   MessageSecurityMode None.
//! - `weak_tls`: a server that negotiated SSL 3, TLS 1.0 or TLS 1.1.
//! - `external_write`: a Modbus or BACnet write that reached a device from outside the site
//!   networks.
//! - `unused_service`: once learning is over, a TCP port that answers a SYN although no client
//!   used it while learning (attack surface nobody needs: a scanner or a new client found it).
//!
//! Each finding names the device, its evidence (flow, frame, time) and a severity. A finding
//! whose evidence has not been seen for [`HOLD_NS`] of packet time is cleared. Bounded: at
//! most [`MAX_FINDINGS`], the rest counted.

use crate::identify::DevIdx;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// A finding is cleared once its evidence has not been seen for this long (packet time).
pub const HOLD_NS: u64 = 24 * 3_600_000_000_000;
pub const MAX_FINDINGS: usize = 16_384;
/// Exchanges waiting for the server's answer (anonymous logins), at most.
const MAX_PENDING: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    CleartextCredentials,
    AnonymousLogin,
    InsecurePolicy,
    WeakTls,
    ExternalWrite,
    UnusedService,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::CleartextCredentials,
        Kind::AnonymousLogin,
        Kind::InsecurePolicy,
        Kind::WeakTls,
        Kind::ExternalWrite,
        Kind::UnusedService,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Kind::CleartextCredentials => "cleartext_credentials",
            Kind::AnonymousLogin => "anonymous_login",
            Kind::InsecurePolicy => "insecure_policy",
            Kind::WeakTls => "weak_tls",
            Kind::ExternalWrite => "external_write",
            Kind::UnusedService => "unused_service",
        }
    }
    pub fn severity(self) -> &'static str {
        match self {
            Kind::ExternalWrite => "critical",
            Kind::CleartextCredentials | Kind::AnonymousLogin | Kind::InsecurePolicy => "high",
            Kind::WeakTls => "medium",
            Kind::UnusedService => "low",
        }
    }
}

/// One finding on one device.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Finding {
    pub kind: Kind,
    /// From the kind (not read back from the state: a restored finding takes its kind's).
    #[serde(skip_deserializing)]
    pub severity: &'static str,
    /// What was seen, e.g. `MQTT CONNECT with a password, not over TLS (port 1883)`.
    pub detail: String,
    /// The first evidence: flow, frame, packet time.
    pub flow_id: u64,
    pub frame: u64,
    pub first_ns: u64,
    /// The latest evidence.
    pub last_ns: u64,
    pub count: u64,
}

/// Where evidence was seen.
#[derive(Clone, Copy, Debug)]
pub struct At {
    pub flow_id: u64,
    pub frame: u64,
    pub ts_ns: u64,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct PostureStats {
    pub findings: u64,
    pub cleared: u64,
    pub dropped: u64,
}

/// What was asked, waiting for the answer that decides a finding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pending {
    MqttAnonymous,
    AmqpAnonymous,
    OpcuaAnonymous,
}

#[derive(Default)]
pub struct Posture {
    findings: FastMap<(DevIdx, Kind, u64), Finding>,
    pending: FastMap<(u64, u8), (Pending, At)>,
    pub stats: PostureStats,
}

impl Posture {
    /// Record evidence of `kind` on device `d`; `detail` also tells findings of one kind apart.
    pub fn note(&mut self, d: DevIdx, kind: Kind, detail: &str, at: At) {
        let k = (d, kind, crate::identify::stable_hash(&[detail.as_bytes()]));
        if let Some(f) = self.findings.get_mut(&k) {
            f.last_ns = f.last_ns.max(at.ts_ns);
            f.count += 1;
            return;
        }
        if self.findings.len() >= MAX_FINDINGS {
            self.stats.dropped += 1;
            return;
        }
        self.stats.findings += 1;
        self.findings.insert(
            k,
            Finding {
                kind,
                severity: kind.severity(),
                detail: detail.to_string(),
                flow_id: at.flow_id,
                frame: at.frame,
                first_ns: at.ts_ns,
                last_ns: at.ts_ns,
                count: 1,
            },
        );
    }

    /// Remember that flow `flow` asked something whose answer decides a finding.
    pub fn ask(&mut self, flow: u64, what: Pending, at: At) {
        if self.pending.len() < MAX_PENDING || self.pending.contains_key(&(flow, what as u8)) {
            self.pending.insert((flow, what as u8), (what, at));
        }
    }

    /// The question flow `flow` asked, if it did (taken: one answer each).
    pub fn answer(&mut self, flow: u64, what: Pending) -> Option<At> {
        self.pending.remove(&(flow, what as u8)).map(|(_, at)| at)
    }

    /// Clear findings whose evidence stopped (called now and then with packet time).
    pub fn expire(&mut self, now: u64) {
        let before = self.findings.len();
        self.findings
            .retain(|_, f| now.saturating_sub(f.last_ns) < HOLD_NS);
        self.stats.cleared += (before - self.findings.len()) as u64;
        // Questions never answered within the hold are forgotten too.
        self.pending
            .retain(|_, (_, at)| now.saturating_sub(at.ts_ns) < HOLD_NS);
    }

    /// Every finding with its device, for the state directory.
    pub fn saved(&self) -> Vec<(DevIdx, Finding)> {
        self.findings
            .iter()
            .map(|((d, _, _), f)| (*d, f.clone()))
            .collect()
    }

    /// Findings read back from the state directory (as many as fit).
    pub fn restore(&mut self, list: Vec<(DevIdx, Finding)>) {
        for (d, mut f) in list {
            if self.findings.len() >= MAX_FINDINGS {
                self.stats.dropped += 1;
                continue;
            }
            f.severity = f.kind.severity();
            let k = (
                d,
                f.kind,
                crate::identify::stable_hash(&[f.detail.as_bytes()]),
            );
            self.findings.insert(k, f);
        }
    }

    /// A device's findings, most severe first.
    pub fn of(&self, d: DevIdx) -> Vec<&Finding> {
        let mut v: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|((x, _, _), _)| *x == d)
            .map(|(_, f)| f)
            .collect();
        let rank = |s: &str| match s {
            "critical" => 0,
            "high" => 1,
            "medium" => 2,
            _ => 3,
        };
        v.sort_by(|a, b| {
            rank(a.severity)
                .cmp(&rank(b.severity))
                .then(a.first_ns.cmp(&b.first_ns))
        });
        v
    }

    /// Open findings by kind.
    pub fn counts(&self) -> Vec<(&'static str, u64)> {
        Kind::ALL
            .iter()
            .map(|k| {
                (
                    k.name(),
                    self.findings.values().filter(|f| f.kind == *k).count() as u64,
                )
            })
            .collect()
    }
}

/// Cleartext logins visible in a client's first payload bytes: FTP `PASS`, HTTP basic
/// authorization. `dport` is the server's port. Returns what to call it.
pub fn cleartext_login(dport: u16, payload: &[u8]) -> Option<&'static str> {
    if payload.len() >= 5
        && payload
            .get(..5)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"PASS "))
    {
        return (dport == 21 || dport == 990).then_some("FTP PASS command");
    }
    const METHODS: [&[u8]; 5] = [b"GET ", b"POST ", b"PUT ", b"HEAD ", b"DELETE "];
    if METHODS.iter().any(|m| payload.starts_with(m)) {
        let head = payload.get(..payload.len().min(4096)).unwrap_or(payload);
        let needle = b"\nauthorization: basic ";
        let found = head
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle));
        if found {
            return Some("HTTP basic authorization");
        }
    }
    None
}

/// Open posture findings by kind, over device records (each with its `findings`): for
/// `serve`, which has the records but not the site's live counters.
pub fn findings_by_kind(devices: &[serde_json::Value]) -> serde_json::Value {
    let mut open: std::collections::BTreeMap<String, u64> = Kind::ALL
        .iter()
        .map(|k| (k.name().to_string(), 0))
        .collect();
    for d in devices {
        for f in d["findings"].as_array().into_iter().flatten() {
            if let Some(n) = f["kind"].as_str().and_then(|k| open.get_mut(k)) {
                *n += 1;
            }
        }
    }
    serde_json::json!(open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn findings_fold_clear_and_cap() {
        let mut p = Posture::default();
        let at = |t| At {
            flow_id: 1,
            frame: 2,
            ts_ns: t,
        };
        p.note(3, Kind::CleartextCredentials, "MQTT", at(10));
        p.note(3, Kind::CleartextCredentials, "MQTT", at(20));
        p.note(3, Kind::AnonymousLogin, "MQTT", at(20));
        assert_eq!(p.of(3).len(), 2);
        assert_eq!(p.of(3).iter().map(|f| f.count).sum::<u64>(), 3);
        p.expire(20 + HOLD_NS - 1);
        assert_eq!(p.of(3).len(), 2);
        p.expire(20 + HOLD_NS);
        assert!(p.of(3).is_empty());
        assert_eq!(p.stats.cleared, 2);
        for i in 0..(MAX_FINDINGS as u32 + 10) {
            p.note(i, Kind::WeakTls, "x", at(30));
        }
        assert_eq!(p.stats.dropped, 10);
    }

    #[test]
    fn cleartext_logins() {
        assert_eq!(
            cleartext_login(21, b"PASS secret\r\n"),
            Some("FTP PASS command")
        );
        assert_eq!(cleartext_login(80, b"PASS secret\r\n"), None);
        let http = b"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n";
        assert_eq!(
            cleartext_login(8080, http),
            Some("HTTP basic authorization")
        );
        assert_eq!(cleartext_login(80, b"GET / HTTP/1.1\r\n\r\n"), None);
    }
}
