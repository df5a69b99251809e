//! The inventory as people take it away: each device's JSON record with its identity
//! (attributes, evidence, confidence), and the same as CSV, one row a device.

use super::attributes::{identify, Identity};
use super::fingerprints::Fingerprint;
use super::Device;
use serde_json::Value;

/// A device's record: the inventory's device JSON plus `identity`, and `findings` (posture,
/// most severe first) when given.
pub fn device_record(d: &Device, fps: &[Fingerprint], findings: Option<Value>) -> Value {
    let mut v = serde_json::to_value(d).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        let id: Identity = identify(d, fps);
        o.insert(
            "identity".into(),
            serde_json::to_value(id).unwrap_or(Value::Null),
        );
        o.insert(
            "findings".into(),
            findings.unwrap_or_else(|| Value::Array(Vec::new())),
        );
    }
    v
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 22] = [
    "id",
    "name",
    "ips",
    "macs",
    "vendor",
    "vendor_confidence",
    "product",
    "product_confidence",
    "model",
    "model_confidence",
    "firmware",
    "firmware_confidence",
    "software",
    "device_type",
    "os",
    "conflicts",
    "roles",
    "internal",
    "known",
    "advisories",
    "findings",
    "last_seen",
];

/// One CSV field, quoted when it holds a comma, quote or line break (RFC 4180). A leading
/// `=`, `+`, `-` or `@` is prefixed with `'` so a spreadsheet does not run it as a formula
/// (names come from the network).
fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn list(v: &Value, key: &str, inner: &str) -> String {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| {
                    if inner.is_empty() {
                        x.as_str().map(str::to_string)
                    } else {
                        x[inner].as_str().map(str::to_string)
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

/// Device records (as [`device_record`] makes them) as CSV with a header row.
pub fn csv(records: &[Value]) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push_str("\r\n");
    for r in records {
        let id = &r["identity"];
        let attr = |a: &str| id[a]["value"].as_str().unwrap_or("").to_string();
        let conf = |a: &str| {
            id[a]["confidence"]
                .as_u64()
                .map_or(String::new(), |c| c.to_string())
        };
        let conflicts: Vec<&str> = super::fingerprints::ATTRIBUTES
            .iter()
            .copied()
            .filter(|a| id[*a]["conflict"].as_bool() == Some(true))
            .collect();
        let count = |k: &str| r[k].as_array().map_or(0, Vec::len).to_string();
        let advisories: Vec<&str> = r["advisories"]
            .as_array()
            .map(|a| a.iter().filter_map(|m| m["advisory_id"].as_str()).collect())
            .unwrap_or_default();
        let row = [
            r["id"].as_str().unwrap_or("").to_string(),
            r["name"].as_str().unwrap_or("").to_string(),
            list(r, "ips", "addr"),
            list(r, "macs", "addr"),
            attr("vendor"),
            conf("vendor"),
            attr("product"),
            conf("product"),
            attr("model"),
            conf("model"),
            attr("firmware"),
            conf("firmware"),
            attr("software"),
            attr("device_type"),
            attr("os"),
            conflicts.join(" "),
            list(r, "roles", ""),
            r["internal"].as_bool().unwrap_or(false).to_string(),
            r["known"].as_bool().unwrap_or(false).to_string(),
            advisories.join(" "),
            count("findings"),
            crate::output::Rfc3339(r["last_ns"].as_u64().unwrap_or(0)).to_string(),
        ];
        out.push_str(&row.iter().map(|s| field(s)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=cmd()"), "'=cmd()");
        let recs = vec![serde_json::json!({
            "id": "d1", "name": "plc,1", "ips": [{"addr": "10.0.0.1"}], "macs": [],
            "roles": ["modbus_server"], "internal": true, "known": false, "last_ns": 0,
            "identity": {"vendor": {"value": "Schneider Electric", "confidence": 5, "conflict": false}}
        })];
        let text = csv(&recs);
        let mut lines = text.lines();
        assert_eq!(
            lines.next().map(|l| l.split(',').count()),
            Some(CSV_COLUMNS.len())
        );
        let row = lines.next().unwrap_or_default();
        assert!(
            row.starts_with("d1,\"plc,1\",10.0.0.1,,Schneider Electric,5,"),
            "{row}"
        );
    }
}
