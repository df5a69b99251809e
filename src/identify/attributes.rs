//! What exactly a device is: vendor, product, model, firmware, software, device type and OS,
//! each with the evidence it rests on and a confidence of 1-5, derived from the device's facts
//! by the fingerprints (`rules/fingerprints/`).
//!
//! Conflicting evidence is kept, not overwritten: every claim stays listed under its
//! attribute, the value shown is the most confident one, and `conflict` is set when another
//! value is claimed at confidence 4 or more. A MAC vendor (confidence 3: the network card's
//! maker) beside a protocol's vendor (5: the device says so itself) is no conflict; two
//! devices' own statements that disagree are. When another value is claimed as surely as
//! the one shown, the attribute's confidence drops to 2 (its claims keep theirs): such a
//! record is usually several devices seen as one, hosts behind a router's MAC or a client
//! and a server on one loopback address.
//!
//! Computed when asked (the API, the inventory files), never on the packet path: the packet
//! path only records facts, as before.

use super::fingerprints::{Fingerprint, Test, ATTRIBUTES};
use super::Device;
use serde::Serialize;

/// Where a claim comes from: a fact of the device, as it was first seen.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Evidence {
    /// The fact (`modbus_vendor`, `mac_vendor`, `bacnet_vendor_id`, ...).
    pub fact: String,
    pub value: String,
    /// The flow and frame that showed it first (0 for derived facts such as `mac_vendor`).
    pub flow_id: u64,
    pub frame: u64,
    pub first_ns: u64,
}

/// One fingerprint's claim of a value.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Claim {
    pub value: String,
    pub confidence: u8,
    /// The fingerprint: `name (file:line)`.
    pub by: String,
    pub evidence: Vec<Evidence>,
}

/// An attribute: the value shown, and every claim made.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Attribute {
    pub value: String,
    pub confidence: u8,
    /// Another value is claimed at confidence 4 or more.
    pub conflict: bool,
    /// All claims, the shown value's first, then by confidence.
    pub claims: Vec<Claim>,
}

#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Identity {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor: Option<Attribute>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<Attribute>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<Attribute>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware: Option<Attribute>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software: Option<Attribute>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_type: Option<Attribute>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<Attribute>,
}

impl Identity {
    pub fn get(&self, attr: &str) -> Option<&Attribute> {
        match attr {
            "vendor" => self.vendor.as_ref(),
            "product" => self.product.as_ref(),
            "model" => self.model.as_ref(),
            "firmware" => self.firmware.as_ref(),
            "software" => self.software.as_ref(),
            "device_type" => self.device_type.as_ref(),
            "os" => self.os.as_ref(),
            _ => None,
        }
    }

    fn slot(&mut self, attr: &str) -> Option<&mut Option<Attribute>> {
        Some(match attr {
            "vendor" => &mut self.vendor,
            "product" => &mut self.product,
            "model" => &mut self.model,
            "firmware" => &mut self.firmware,
            "software" => &mut self.software,
            "device_type" => &mut self.device_type,
            "os" => &mut self.os,
            _ => return None,
        })
    }
}

/// A device's facts as the fingerprints see them: the recorded ones, plus `mac_vendor` (each
/// MAC's IEEE registry owner), `role` (each role) and `known`.
fn facts(d: &Device) -> Vec<Evidence> {
    let mut out: Vec<Evidence> = d
        .facts
        .iter()
        .map(|f| Evidence {
            fact: f.key.clone(),
            value: f.value.clone(),
            flow_id: f.flow_id,
            frame: f.frame,
            first_ns: f.first_ns,
        })
        .collect();
    for m in &d.macs {
        if let Some(v) = edgetap_dissectors::oui::vendor(m.addr.0) {
            out.push(Evidence {
                fact: "mac_vendor".into(),
                value: v.to_string(),
                flow_id: 0,
                frame: 0,
                first_ns: m.first_ns,
            });
        }
    }
    for r in d.roles.iter() {
        out.push(Evidence {
            fact: "role".into(),
            value: r.name().to_string(),
            flow_id: 0,
            frame: 0,
            first_ns: d.first_ns,
        });
    }
    if d.known {
        out.push(Evidence {
            fact: "known".into(),
            value: d.name.clone().unwrap_or_default(),
            flow_id: 0,
            frame: 0,
            first_ns: d.first_ns,
        });
    }
    out
}

/// Values compare without case, surrounding space or repeated inner space.
fn norm(v: &str) -> String {
    v.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The fingerprint's claims for a device, if every condition holds. A fact may have several
/// values (a BACnet router answers for the devices behind it): the claims are made for each
/// value of the first fact a claim takes its text from, with the other conditions' first hits.
fn apply(fp: &Fingerprint, facts: &[Evidence]) -> Option<Vec<(&'static str, Claim)>> {
    let mut used: Vec<&Evidence> = Vec::new();
    for c in &fp.when {
        let mut of_fact = facts.iter().filter(|f| f.fact == c.fact).peekable();
        if c.test == Test::Absent {
            if of_fact.peek().is_some() {
                return None;
            }
            continue;
        }
        let hit = of_fact.find(|f| c.test.holds(&f.value.to_lowercase()))?;
        used.push(hit);
    }
    // The fact whose every value makes a claim of its own.
    let varying = fp
        .claims
        .iter()
        .flat_map(|(_, t)| super::fingerprints::placeholders(t))
        .next()
        .map(str::to_string);
    let alternatives: Vec<&Evidence> = match (
        &varying,
        fp.when.iter().find(|c| Some(&c.fact) == varying.as_ref()),
    ) {
        (Some(v), Some(c)) => facts
            .iter()
            .filter(|f| &f.fact == v && c.test.holds(&f.value.to_lowercase()))
            .take(16)
            .collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    let rounds: Vec<Option<&Evidence>> = if alternatives.is_empty() {
        vec![None]
    } else {
        alternatives.into_iter().map(Some).collect()
    };
    for alt in rounds {
        let evidence: Vec<&Evidence> = used
            .iter()
            .map(|e| match alt {
                Some(a) if a.fact == e.fact => a,
                _ => *e,
            })
            .collect();
        for (attr, template) in &fp.claims {
            let mut value = template.clone();
            for ph in super::fingerprints::placeholders(template) {
                let v = evidence
                    .iter()
                    .find(|e| e.fact == ph)
                    .map_or("", |e| e.value.as_str());
                value = value.replace(&format!("{{{ph}}}"), v);
            }
            let value = value.trim().to_string();
            if value.is_empty() {
                continue;
            }
            out.push((
                *attr,
                Claim {
                    value,
                    confidence: fp.confidence,
                    by: format!("{} ({}:{})", fp.name, fp.file, fp.line),
                    evidence: evidence.iter().map(|e| (*e).clone()).collect(),
                },
            ));
        }
    }
    Some(out)
}

/// A device's identity by the fingerprints.
pub fn identify(d: &Device, fps: &[Fingerprint]) -> Identity {
    let facts = facts(d);
    let mut by_attr: Vec<(&'static str, Vec<Claim>)> =
        ATTRIBUTES.iter().map(|a| (*a, Vec::new())).collect();
    for fp in fps {
        let Some(claims) = apply(fp, &facts) else {
            continue;
        };
        for (attr, c) in claims {
            if let Some((_, list)) = by_attr.iter_mut().find(|(a, _)| *a == attr) {
                // The same value from another fingerprint: one claim, the stronger one kept.
                match list
                    .iter_mut()
                    .find(|x| norm(&x.value) == norm(&c.value) && x.confidence == c.confidence)
                {
                    Some(_) => {}
                    None => list.push(c),
                }
            }
        }
    }
    let mut id = Identity::default();
    for (attr, mut claims) in by_attr {
        if claims.is_empty() {
            continue;
        }
        // Most confident first; then the one with more evidence; then the earlier rule.
        claims.sort_by(|a, b| {
            b.confidence
                .cmp(&a.confidence)
                .then(b.evidence.len().cmp(&a.evidence.len()))
        });
        let Some(best) = claims.first() else { continue };
        let conflict = claims
            .iter()
            .any(|c| c.confidence >= 4 && norm(&c.value) != norm(&best.value));
        // Another value as sure as the best: the record is likely several devices seen as one
        // (hosts behind a router's MAC, client and server on one loopback), so the value shown
        // is no more than a guess.
        let tie = claims
            .iter()
            .any(|c| c.confidence == best.confidence && norm(&c.value) != norm(&best.value));
        let a = Attribute {
            value: best.value.clone(),
            confidence: if tie {
                best.confidence.min(2)
            } else {
                best.confidence
            },
            conflict,
            claims,
        };
        if let Some(slot) = id.slot(attr) {
            *slot = Some(a);
        }
    }
    id
}

#[cfg(test)]
mod tests {
    use super::super::fingerprints::parse;
    use super::*;
    use crate::identify::{FactRec, Mac, Seen};

    fn dev(facts: &[(&str, &str)], mac: Option<[u8; 6]>) -> Device {
        let mut d: Device = serde_json::from_value(serde_json::json!({
            "id": "d1", "name": null, "name_from": null, "macs": [], "ips": [],
            "vendor": null, "vendor_from": null, "roles": [], "facts": [], "labels": [],
            "known": false, "internal": true, "first_ns": 1, "last_ns": 2
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        for (i, (k, v)) in facts.iter().enumerate() {
            d.facts.push(FactRec {
                key: k.to_string(),
                value: v.to_string(),
                first_ns: 10 + i as u64,
                last_ns: 20,
                flow_id: 7,
                frame: 3 + i as u64,
            });
        }
        if let Some(m) = mac {
            d.macs.push(Seen {
                addr: Mac(m),
                first_ns: 1,
                last_ns: 2,
            });
        }
        d
    }

    fn shipped() -> Vec<Fingerprint> {
        super::super::fingerprints::shipped().unwrap_or_else(|e| panic!("{}", e.join("\n")))
    }

    #[test]
    fn a_device_statement_beats_the_mac_vendor_without_conflict() {
        // A Schneider PLC behind a NIC whose OUI is Schneider's too, and a module maker's.
        let d = dev(
            &[
                ("modbus_vendor", "Schneider Electric"),
                ("modbus_product_code", "BMX P34 2020"),
                ("modbus_revision", "v2.70"),
            ],
            Some([0x00, 0x80, 0xf4, 1, 2, 3]),
        );
        let id = identify(&d, &shipped());
        let v = id.vendor.unwrap_or_else(|| panic!("no vendor"));
        assert_eq!(v.value, "Schneider Electric");
        assert_eq!(v.confidence, 5);
        assert!(!v.conflict);
        assert!(v
            .claims
            .iter()
            .any(|c| c.evidence.iter().any(|e| e.fact == "mac_vendor")));
        assert_eq!(id.firmware.map(|f| f.value), Some("v2.70".to_string()));
        let e = &v.claims[0].evidence[0];
        assert_eq!(
            (e.fact.as_str(), e.flow_id, e.frame),
            ("modbus_vendor", 7, 3)
        );
    }

    #[test]
    fn bacnet_vendor_id_0_on_a_pc_is_a_pc_running_a_bacnet_stack() {
        // Dell OUI 00:14:22; BACnet vendor id 0 (ASHRAE).
        let d = dev(
            &[
                ("bacnet_vendor_id", "0"),
                ("bacnet_vendor_registered", "ASHRAE"),
            ],
            Some([0x00, 0x14, 0x22, 1, 2, 3]),
        );
        let id = identify(&d, &shipped());
        let v = id.vendor.unwrap_or_else(|| panic!("no vendor"));
        assert!(v.value.to_lowercase().contains("dell"), "{v:?}");
        assert!(!v.claims.iter().any(|c| c.value == "ASHRAE"), "{v:?}");
        let s = id.software.unwrap_or_else(|| panic!("no software"));
        assert!(s.value.contains("BACnet stack"), "{s:?}");
    }

    #[test]
    fn two_statements_that_disagree_are_a_conflict_and_both_stay() {
        let fps = parse(
            "[[fingerprint]]\nname = \"a\"\nwhen = [{ fact = \"modbus_vendor\" }]\nvendor = \"{modbus_vendor}\"\nconfidence = 5\n\n[[fingerprint]]\nname = \"b\"\nwhen = [{ fact = \"bacnet_vendor_name\" }]\nvendor = \"{bacnet_vendor_name}\"\nconfidence = 5\n",
            "t.toml",
        )
        .unwrap_or_default();
        let d = dev(
            &[
                ("modbus_vendor", "Acme"),
                ("bacnet_vendor_name", "Other Co"),
            ],
            None,
        );
        let v = identify(&d, &fps)
            .vendor
            .unwrap_or_else(|| panic!("no vendor"));
        assert!(v.conflict);
        assert_eq!(v.claims.len(), 2);
        // As sure of one as of the other: the value shown is a guess.
        assert_eq!(v.confidence, 2);
        assert!(v.claims.iter().all(|c| c.confidence == 5));
    }

    #[test]
    fn absent_conditions_and_placeholders() {
        let fps = parse(
            "[[fingerprint]]\nname = \"a\"\nwhen = [{ fact = \"amqp_product\", equals = \"rabbitmq\" }, { fact = \"amqp_version\" }, { fact = \"modbus_vendor\", absent = true }]\nproduct = \"RabbitMQ\"\nsoftware = \"RabbitMQ {amqp_version}\"\ndevice_type = \"broker\"\nconfidence = 5\n",
            "t.toml",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let d = dev(
            &[("amqp_product", "RabbitMQ"), ("amqp_version", "3.12.1")],
            None,
        );
        let id = identify(&d, &fps);
        assert_eq!(id.software.map(|s| s.value), Some("RabbitMQ 3.12.1".into()));
        assert_eq!(id.device_type.map(|s| s.value), Some("broker".into()));
        let d = dev(
            &[
                ("amqp_product", "RabbitMQ"),
                ("amqp_version", "3.12.1"),
                ("modbus_vendor", "x"),
            ],
            None,
        );
        assert!(identify(&d, &fps).product.is_none());
    }
}
