//! Fingerprints as data (`rules/fingerprints/*.toml`): each maps facts the tap saw about a
//! device to identity claims (vendor, product, model, firmware, software, device type, OS) with
//! a confidence of 1-5. Validated at load with `file:line` errors, like the detection rules;
//! users add their own files without rebuilding.
//!
//! ```toml
//! [[fingerprint]]
//! name = "Modbus device identification"
//! when = [{ fact = "modbus_vendor" }]          # every condition must hold
//! vendor = "{modbus_vendor}"                   # `{fact}` is replaced by that fact's value
//! confidence = 5
//! ```
//!
//! A condition names a fact (see `rules/fingerprints/README.md` for the keys) and optionally
//! one test, case-insensitive: `equals`, `any` (equals one of), `contains`, `prefix`, `not`
//! (present with another value); `absent = true` holds when the device has no such fact. Without a test, the fact being present is
//! enough.

use serde::Deserialize;
use std::path::Path;
use toml::Spanned;

/// The identity attributes a fingerprint can claim.
pub const ATTRIBUTES: [&str; 7] = [
    "vendor",
    "product",
    "model",
    "firmware",
    "software",
    "device_type",
    "os",
];

/// The device types a fingerprint may name (the inventory's vocabulary).
pub const DEVICE_TYPES: [&str; 16] = [
    "plc",
    "rtu",
    "hmi",
    "bacnet_controller",
    "meter",
    "sensor",
    "drive",
    "gateway",
    "broker",
    "server",
    "workstation",
    "router",
    "switch",
    "camera",
    "printer",
    "phone",
];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Test {
    Present,
    Absent,
    Equals(String),
    Any(Vec<String>),
    Contains(String),
    Prefix(String),
    /// Present with another value.
    Not(String),
    /// A `tcp_syn`/`tcp_synack` signature matching one of these p0f-style patterns.
    P0f(Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cond {
    pub fact: String,
    pub test: Test,
}

/// One fingerprint, with where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fingerprint {
    pub name: String,
    pub file: String,
    pub line: usize,
    pub when: Vec<Cond>,
    /// (attribute, value template), in ATTRIBUTES order.
    pub claims: Vec<(&'static str, String)>,
    pub confidence: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    fingerprint: Vec<Spanned<RawFp>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFp {
    name: String,
    when: Vec<RawCond>,
    confidence: i64,
    vendor: Option<String>,
    product: Option<String>,
    model: Option<String>,
    firmware: Option<String>,
    software: Option<String>,
    device_type: Option<String>,
    os: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCond {
    fact: String,
    equals: Option<String>,
    any: Option<Vec<String>>,
    contains: Option<String>,
    prefix: Option<String>,
    not: Option<String>,
    absent: Option<bool>,
    p0f: Option<Vec<String>>,
}

fn line_of(text: &str, at: usize) -> usize {
    text.get(..at.min(text.len()))
        .map_or(1, |t| t.bytes().filter(|&b| b == b'\n').count() + 1)
}

/// The facts a condition may name, besides every protocol fact of the inventory
/// (`modbus_vendor`, `bacnet_model_name`, ...): see `rules/fingerprints/README.md`.
pub fn known_fact(key: &str) -> bool {
    const DERIVED: [&str; 12] = [
        "mac_vendor",
        "role",
        "dhcp_vendor_class",
        "dhcp_params",
        "dhcp_hostname",
        "tcp_syn",
        "tcp_synack",
        "tls_ja4",
        "tls_sni",
        "http_user_agent",
        "dns",
        "known",
    ];
    DERIVED.contains(&key)
        || [
            "modbus_", "bacnet_", "mqtt_", "opcua_", "amqp_", "dhcp_", "mdns_", "netbios_",
        ]
        .iter()
        .any(|p| key.starts_with(p))
}

/// Parse one file's fingerprints; errors carry `file:line`.
pub fn parse(text: &str, file: &str) -> Result<Vec<Fingerprint>, Vec<String>> {
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        vec![format!(
            "{file}:{}",
            crate::detect::rules::toml_error(text, &e)
        )]
    })?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for r in raw.fingerprint {
        let line = line_of(text, r.span().start);
        let r = r.into_inner();
        let at = |m: String| format!("{file}:{line}: fingerprint {:?}: {m}", r.name);
        if r.when.is_empty() {
            errors.push(at("`when` has no condition".into()));
            continue;
        }
        let mut when = Vec::new();
        for c in &r.when {
            if !known_fact(&c.fact) {
                errors.push(at(format!("unknown fact {:?}", c.fact)));
                continue;
            }
            let tests = [
                c.equals.is_some(),
                c.any.is_some(),
                c.contains.is_some(),
                c.prefix.is_some(),
                c.not.is_some(),
                c.absent == Some(true),
                c.p0f.is_some(),
            ];
            if tests.iter().filter(|&&t| t).count() > 1 {
                errors.push(at(format!(
                    "condition on {:?} has more than one test",
                    c.fact
                )));
                continue;
            }
            let low = |s: &String| s.to_lowercase();
            let test = if let Some(v) = &c.equals {
                Test::Equals(low(v))
            } else if let Some(v) = &c.any {
                if v.is_empty() {
                    errors.push(at(format!("`any` on {:?} is empty", c.fact)));
                    continue;
                }
                Test::Any(v.iter().map(low).collect())
            } else if let Some(v) = &c.contains {
                Test::Contains(low(v))
            } else if let Some(v) = &c.prefix {
                Test::Prefix(low(v))
            } else if let Some(v) = &c.not {
                Test::Not(low(v))
            } else if let Some(v) = &c.p0f {
                if !matches!(c.fact.as_str(), "tcp_syn" | "tcp_synack") {
                    errors.push(at(format!(
                        "`p0f` applies to tcp_syn and tcp_synack, not {:?}",
                        c.fact
                    )));
                    continue;
                }
                if v.is_empty() {
                    errors.push(at("`p0f` is empty".into()));
                    continue;
                }
                if let Some(bad) = v.iter().find(|p| !p0f_pattern_ok(p)) {
                    errors.push(at(format!(
                        "p0f signature {bad:?} is not ver:ittl:olen:mss:wsize,scale:olayout:quirks:pclass"
                    )));
                    continue;
                }
                Test::P0f(v.iter().map(low).collect())
            } else if c.absent == Some(true) {
                Test::Absent
            } else {
                Test::Present
            };
            when.push(Cond {
                fact: c.fact.clone(),
                test,
            });
        }
        if !(1..=5).contains(&r.confidence) {
            errors.push(at(format!("confidence {} is not 1-5", r.confidence)));
            continue;
        }
        let fields = [
            &r.vendor,
            &r.product,
            &r.model,
            &r.firmware,
            &r.software,
            &r.device_type,
            &r.os,
        ];
        let mut claims = Vec::new();
        for (name, v) in ATTRIBUTES.iter().zip(fields) {
            let Some(v) = v else { continue };
            if v.trim().is_empty() {
                errors.push(at(format!("{name} is empty")));
                continue;
            }
            if *name == "device_type" && !DEVICE_TYPES.contains(&v.as_str()) {
                errors.push(at(format!(
                    "device_type {v:?} is not one of {}",
                    DEVICE_TYPES.join(", ")
                )));
                continue;
            }
            // `{fact}` placeholders must name facts the conditions require to be present.
            for ph in placeholders(v) {
                let required = when.iter().any(|c| c.fact == ph && c.test != Test::Absent);
                if !required {
                    errors.push(at(format!(
                        "{name} uses {{{ph}}}, which no condition requires"
                    )));
                }
            }
            claims.push((*name, v.clone()));
        }
        if claims.is_empty() {
            errors.push(at("claims nothing (no vendor, product, model, ...)".into()));
            continue;
        }
        if when.len() != r.when.len() {
            continue;
        }
        out.push(Fingerprint {
            name: r.name.clone(),
            file: file.to_string(),
            line,
            when,
            claims,
            confidence: r.confidence as u8,
        });
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The `{name}` placeholders of a template.
pub fn placeholders(t: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = t;
    while let Some(a) = rest.find('{') {
        let Some(after) = rest.get(a + 1..) else {
            break;
        };
        let Some(b) = after.find('}') else { break };
        if let Some(name) = after.get(..b) {
            out.push(name);
        }
        rest = after.get(b + 1..).unwrap_or("");
    }
    out
}

/// The shipped fingerprints (the files of `rules/fingerprints/`).
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "rules/fingerprints/protocols.toml",
        include_str!("../../rules/fingerprints/protocols.toml"),
    ),
    (
        "rules/fingerprints/ics_vendors.toml",
        include_str!("../../rules/fingerprints/ics_vendors.toml"),
    ),
    (
        "rules/fingerprints/hosts.toml",
        include_str!("../../rules/fingerprints/hosts.toml"),
    ),
];

pub fn shipped() -> Result<Vec<Fingerprint>, Vec<String>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (name, text) in SHIPPED {
        match parse(text, name) {
            Ok(f) => out.extend(f),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The shipped fingerprints plus every `*.toml` of `dir` (a user's own).
pub fn load(dir: Option<&Path>) -> Result<Vec<Fingerprint>, Vec<String>> {
    let mut all = shipped()?;
    if let Some(dir) = dir {
        all.extend(crate::detect::rules::load_toml_dir(
            dir,
            "fingerprints",
            parse,
        )?);
    }
    Ok(all)
}

impl Test {
    /// Whether a (lower-cased) value passes.
    pub fn holds(&self, v: &str) -> bool {
        match self {
            Test::Present => true,
            Test::Absent => false,
            Test::Equals(x) => v == x,
            Test::Any(xs) => xs.iter().any(|x| x == v),
            Test::Contains(x) => v.contains(x.as_str()),
            Test::Prefix(x) => v.starts_with(x.as_str()),
            Test::Not(x) => v != x,
            Test::P0f(xs) => xs.iter().any(|x| p0f_matches(x, v)),
        }
    }
}

/// A p0f 3 signature pattern's shape: eight `:`-separated fields, the fifth `wsize,scale`.
fn p0f_pattern_ok(p: &str) -> bool {
    let f: Vec<&str> = p.split(':').collect();
    f.len() == 8 && f.get(4).is_some_and(|w| w.split(',').count() == 2)
}

/// Whether an observed signature (`ver:ttl+dist:olen:mss:wsize,scale:olayout:quirks:pclass`,
/// as `tcp_syn` facts are written) matches a p0f 3 pattern (`ver:ittl:olen:mss:wsize,scale:
/// olayout:quirks:pclass`, `*` for any field that allows it, `%N` for a window that is a
/// multiple of N). The initial TTL compared is the observed TTL plus the hops guessed.
pub fn p0f_matches(pattern: &str, observed: &str) -> bool {
    let mut p = pattern.split(':');
    let mut o = observed.split(':');
    let mut next = || Some((p.next()?, o.next()?));
    let any_or = |p: &str, o: &str| p == "*" || p == o;
    let Some((pv, ov)) = next() else { return false };
    let Some((pt, ot)) = next() else { return false };
    let Some((pl, ol)) = next() else { return false };
    let Some((pm, om)) = next() else { return false };
    let Some((pw, ow)) = next() else { return false };
    let Some((pa, oa)) = next() else { return false };
    let Some((pq, oq)) = next() else { return false };
    let Some((pc, oc)) = next() else { return false };
    let ttl = || -> Option<u16> {
        let (t, d) = ot.split_once('+')?;
        let d = if d == "?" { 0 } else { d.parse::<u16>().ok()? };
        t.parse::<u16>().ok()?.checked_add(d)
    };
    let ttl_ok = pt == "*"
        || pt
            .parse::<u16>()
            .ok()
            .is_some_and(|want| ttl() == Some(want));
    let (Some((pws, psc)), Some((ows, osc))) = (pw.split_once(','), ow.split_once(',')) else {
        return false;
    };
    let win_ok = match pws.strip_prefix('%') {
        Some(n) => {
            let raw = match ows.strip_prefix("mss*") {
                Some(k) => k
                    .parse::<u32>()
                    .ok()
                    .zip(om.parse::<u32>().ok())
                    .and_then(|(k, m)| k.checked_mul(m)),
                None => ows.parse::<u32>().ok(),
            };
            matches!((raw, n.parse::<u32>()), (Some(r), Ok(n)) if n > 0 && r % n == 0)
        }
        None => any_or(pws, ows),
    };
    any_or(pv, ov)
        && ttl_ok
        && any_or(pl, ol)
        && any_or(pm, om)
        && win_ok
        && any_or(psc, osc)
        && pa == oa
        && pq == oq
        && any_or(pc, oc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p0f_patterns_match_as_p0f_does() {
        // iti_ModbusTCP.pcap's Windows 7 SYN and p0f 3.09b's "Windows 7 or 8" signature.
        let win7 = "4:128+0:0:1460:8192,0:mss,nop,nop,sok:df,id+:0";
        assert!(p0f_matches(
            "*:128:0:*:8192,0:mss,nop,nop,sok:df,id+:0",
            win7
        ));
        assert!(p0f_matches(
            "4:128:0:1460:%4096,*:mss,nop,nop,sok:df,id+:*",
            win7
        ));
        // Another initial TTL, window, option order or quirk does not match.
        assert!(!p0f_matches(
            "*:64:0:*:8192,0:mss,nop,nop,sok:df,id+:0",
            win7
        ));
        assert!(!p0f_matches(
            "*:128:0:*:16384,0:mss,nop,nop,sok:df,id+:0",
            win7
        ));
        assert!(!p0f_matches(
            "*:128:0:*:8192,0:mss,sok,nop,nop:df,id+:0",
            win7
        ));
        assert!(!p0f_matches("*:128:0:*:8192,0:mss,nop,nop,sok:df:0", win7));
        // Hops are added back: a TTL of 61 three hops away started at 64.
        let linux = "4:61+3:0:1460:mss*44,7:mss,sok,ts,nop,ws:df,id+:0";
        assert!(p0f_matches(
            "*:64:0:*:mss*44,7:mss,sok,ts,nop,ws:df,id+:0",
            linux
        ));
        assert!(p0f_matches(
            "*:64:0:*:%1460,*:mss,sok,ts,nop,ws:df,id+:0",
            linux
        ));
        assert!(!p0f_matches(
            "*:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,id+:0",
            linux
        ));
        // Facts come back from the state directory too: huge numbers match nothing, and
        // never overflow.
        assert!(!p0f_matches(
            "*:64:0:*:8192,0:mss:df:0",
            "4:65535+65535:0:1460:8192,0:mss:df:0"
        ));
        assert!(!p0f_matches(
            "*:*:0:*:%7,0:mss:df:0",
            "4:64+0:0:4294967295:mss*4294967295,0:mss:df:0"
        ));
        // Garbage on either side matches nothing.
        assert!(!p0f_matches("*:64", linux));
        assert!(!p0f_matches(
            "*:64:0:*:mss*44,7:mss,sok,ts,nop,ws:df,id+:0",
            "4:x"
        ));
        assert!(p0f_pattern_ok(
            "*:64:0:*:mss*44,7:mss,sok,ts,nop,ws:df,id+:0"
        ));
        assert!(!p0f_pattern_ok(
            "*:64:0:*:mss*44:mss,sok,ts,nop,ws:df,id+:0"
        ));
    }

    #[test]
    fn shipped_fingerprints_load() {
        let f = shipped().unwrap_or_else(|e| panic!("{}", e.join("\n")));
        assert!(f.len() > 30, "{}", f.len());
    }

    #[test]
    fn errors_name_file_and_line() {
        let text = "[[fingerprint]]\nname = \"a\"\nwhen = [{ fact = \"modbus_vendor\" }]\nvendor = \"{modbus_vendor}\"\nconfidence = 5\n\n[[fingerprint]]\nname = \"b\"\nwhen = [{ fact = \"no_such_fact\" }]\nvendor = \"x\"\nconfidence = 9\n";
        let e = parse(text, "x.toml").err().unwrap_or_default();
        assert!(
            e.iter()
                .any(|m| m.starts_with("x.toml:7:") && m.contains("no_such_fact")),
            "{e:?}"
        );
        let bad = "[[fingerprint]]\nname = \"a\"\nwhen = [{ fact = \"modbus_vendor\" }]\nvendor = \"{modbus_model_name}\"\nconfidence = 5\n";
        let e = parse(bad, "y.toml").err().unwrap_or_default();
        assert!(
            e.iter()
                .any(|m| m.starts_with("y.toml:1:") && m.contains("no condition requires")),
            "{e:?}"
        );
        let syntax =
            "[[fingerprint]]\nname = \"a\"\nwhen = [{ fact = \"modbus_vendor\", equal = \"x\" }]\n";
        let e = parse(syntax, "z.toml").err().unwrap_or_default();
        assert!(e.iter().any(|m| m.starts_with("z.toml:3")), "{e:?}");
        let dtype = "[[fingerprint]]\nname = \"a\"\nwhen = [{ fact = \"role\", equals = \"x\" }]\ndevice_type = \"toaster\"\nconfidence = 2\n";
        let e = parse(dtype, "t.toml").err().unwrap_or_default();
        assert!(e.iter().any(|m| m.contains("toaster")), "{e:?}");
    }

    #[test]
    fn placeholders_are_found() {
        assert_eq!(placeholders("{a} and {b}"), ["a", "b"]);
        assert!(placeholders("none").is_empty());
        assert!(placeholders("{unclosed").is_empty());
    }
}
