//! Text renderings: Prometheus exposition format 0.0.4 for `/metrics`, Graphviz DOT for
//! `/api/v1/graph?format=dot`.

use crate::detect::rules::Category;
use crate::snapshot::Snapshot;
use serde_json::{json, Value};
use std::fmt::Write;

/// A JSON number as Prometheus writes it (integers exactly).
fn num(v: Option<&Value>) -> String {
    match v {
        Some(Value::Number(n)) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => u.to_string(),
            (_, Some(i), _) => i.to_string(),
            (_, _, Some(f)) if f.is_finite() => format!("{f}"),
            _ => "NaN".into(),
        },
        Some(Value::Bool(b)) => u8::from(*b).to_string(),
        _ => "0".into(),
    }
}

fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Numeric leaves of a JSON object, nested keys joined with `_`.
fn leaves(prefix: &str, v: &Value, out: &mut Vec<(String, Value)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}_{k}")
                };
                leaves(&key, x, out);
            }
        }
        Value::Number(_) => out.push((prefix.to_string(), v.clone())),
        _ => {}
    }
}

/// `/metrics`: the snapshot's counters. `store_bytes` overrides the snapshot's when given.
pub fn metrics(s: &Snapshot, store_bytes: Option<u64>) -> String {
    let st = &s.stats;
    let mut o = String::with_capacity(2048);
    family(
        &mut o,
        "edgetap_packets_total",
        "counter",
        "Packets read from the capture.",
    );
    let _ = writeln!(o, "edgetap_packets_total {}", num(st.get("packets")));
    family(
        &mut o,
        "edgetap_bytes_total",
        "counter",
        "Bytes of the packets read.",
    );
    let _ = writeln!(o, "edgetap_bytes_total {}", num(st.get("bytes")));
    family(
        &mut o,
        "edgetap_capture_gaps_total",
        "counter",
        "Stretches of time the sensor did not see (packet time jumps, lost packets).",
    );
    let _ = writeln!(
        o,
        "edgetap_capture_gaps_total {}",
        num(st.pointer("/sensor/gaps"))
    );
    family(
        &mut o,
        "edgetap_capture_gap_seconds_total",
        "counter",
        "Seconds of packet time inside capture gaps.",
    );
    let _ = writeln!(
        o,
        "edgetap_capture_gap_seconds_total {}",
        num(st.pointer("/sensor/gap_secs"))
    );
    family(
        &mut o,
        "edgetap_sensor_blind",
        "gauge",
        "1 while the live capture has delivered nothing for longer than the gap limit.",
    );
    let blind = st.pointer("/sensor/blind_now").and_then(|v| v.as_bool()) == Some(true);
    let _ = writeln!(o, "edgetap_sensor_blind {}", u8::from(blind));
    family(
        &mut o,
        "edgetap_drops_total",
        "counter",
        "Packets or state lost, by kind (kernel, interface, own queues and caps).",
    );
    let mut drops = Vec::new();
    if let Some(d) = st.get("drops") {
        leaves("", d, &mut drops);
    }
    for k in ["kernel", "interface"] {
        if !drops.iter().any(|(x, _)| x == k) {
            drops.push((k.into(), json!(0)));
        }
    }
    drops.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, v) in &drops {
        let _ = writeln!(
            o,
            "edgetap_drops_total{{kind=\"{}\"}} {}",
            label(k),
            num(Some(v))
        );
    }
    if let Some(e) = st.get("eve_records").filter(|e| !e.is_null()) {
        family(
            &mut o,
            "edgetap_eve_records_total",
            "counter",
            "EVE records (besides alerts) written, by event type.",
        );
        if let Some(m) = e.get("by_type").and_then(|v| v.as_object()) {
            for (k, v) in m {
                let _ = writeln!(
                    o,
                    "edgetap_eve_records_total{{type=\"{}\"}} {}",
                    label(k),
                    num(Some(v))
                );
            }
        }
        for (name, key, help) in [
            (
                "edgetap_eve_records_dropped_total",
                "records_dropped",
                "EVE records dropped because the writer fell behind.",
            ),
            (
                "edgetap_eve_records_failed_total",
                "records_failed",
                "EVE records lost to write errors.",
            ),
            (
                "edgetap_eve_bytes_total",
                "bytes_written",
                "Bytes of EVE records written.",
            ),
            (
                "edgetap_eve_rotations_total",
                "rotations",
                "EVE record files rotated.",
            ),
            (
                "edgetap_eve_files_deleted_total",
                "files_deleted",
                "Rotated EVE record files deleted to keep the total cap.",
            ),
        ] {
            family(&mut o, name, "counter", help);
            let _ = writeln!(o, "{name} {}", num(e.get(key)));
        }
    }
    if let Some(m) = st.pointer("/posture/open").and_then(|v| v.as_object()) {
        family(
            &mut o,
            "edgetap_posture_findings",
            "gauge",
            "Open posture findings (weak spots seen on the wire), by kind.",
        );
        for (k, v) in m {
            let _ = writeln!(
                o,
                "edgetap_posture_findings{{kind=\"{}\"}} {}",
                label(k),
                num(Some(v))
            );
        }
    }
    if let Some(a) = st.get("advisories").filter(|a| a.is_object()) {
        family(
            &mut o,
            "edgetap_advisories_imported",
            "gauge",
            "CSAF advisories in the state.",
        );
        let _ = writeln!(o, "edgetap_advisories_imported {}", num(a.get("imported")));
        family(
            &mut o,
            "edgetap_devices_with_advisories",
            "gauge",
            "Devices that at least one imported advisory applies to.",
        );
        let _ = writeln!(
            o,
            "edgetap_devices_with_advisories {}",
            num(a.get("devices_affected"))
        );
        if let Some(m) = a.get("matches").and_then(|m| m.as_object()) {
            family(
                &mut o,
                "edgetap_advisory_matches",
                "gauge",
                "Advisories matched to devices, by match confidence (5: exact product and version in range; 1: version unverified).",
            );
            for (k, v) in m {
                let _ = writeln!(
                    o,
                    "edgetap_advisory_matches{{confidence=\"{}\"}} {}",
                    label(k),
                    num(Some(v))
                );
            }
        }
    }
    family(&mut o, "edgetap_flows_total", "counter", "Flows followed.");
    let _ = writeln!(o, "edgetap_flows_total {}", num(st.get("flows")));
    family(
        &mut o,
        "edgetap_pdus_total",
        "counter",
        "Application PDUs dissected, by protocol.",
    );
    let mut pdus = Vec::new();
    if let Some(p) = st.get("pdus") {
        leaves("", p, &mut pdus);
    }
    for p in ["amqp", "bacnet", "modbus", "mqtt", "opcua"] {
        if !pdus.iter().any(|(x, _)| x == p) {
            pdus.push((p.into(), json!(0)));
        }
    }
    pdus.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, v) in &pdus {
        let _ = writeln!(
            o,
            "edgetap_pdus_total{{proto=\"{}\"}} {}",
            label(k),
            num(Some(v))
        );
    }
    family(
        &mut o,
        "edgetap_alerts_total",
        "counter",
        "Alerts raised, by category.",
    );
    for c in Category::ALL {
        let v = st.get("alerts").and_then(|a| a.get(c.name()));
        let _ = writeln!(
            o,
            "edgetap_alerts_total{{category=\"{}\"}} {}",
            c.name(),
            num(v)
        );
    }
    family(
        &mut o,
        "edgetap_store_bytes",
        "gauge",
        "Bytes the state directory takes on disk.",
    );
    let sb = store_bytes.map_or_else(|| num(st.get("store_bytes")), |b| b.to_string());
    let _ = writeln!(o, "edgetap_store_bytes {sb}");
    family(
        &mut o,
        "edgetap_devices",
        "gauge",
        "Devices in the inventory.",
    );
    let devices = st
        .get("devices")
        .map_or_else(|| s.devices.len().to_string(), |v| num(Some(v)));
    let _ = writeln!(o, "edgetap_devices {devices}");
    family(&mut o, "edgetap_edges", "gauge", "Edges of the peer graph.");
    let edges = st.get("edges").map_or_else(
        || {
            s.graph
                .get("edges")
                .and_then(Value::as_array)
                .map_or(0, Vec::len)
                .to_string()
        },
        |v| num(Some(v)),
    );
    let _ = writeln!(o, "edgetap_edges {edges}");
    if let Some(n) = st.get("flows_active") {
        family(
            &mut o,
            "edgetap_flows_active",
            "gauge",
            "Flows in the flow table.",
        );
        let _ = writeln!(o, "edgetap_flows_active {}", num(Some(n)));
    }
    if let Some(ifaces) = st.get("interfaces").and_then(Value::as_array) {
        let name = |i: &Value| label(i.get("interface").and_then(Value::as_str).unwrap_or(""));
        family(
            &mut o,
            "edgetap_interface_packets_total",
            "counter",
            "Packets the capture received, per interface.",
        );
        for i in ifaces {
            let _ = writeln!(
                o,
                "edgetap_interface_packets_total{{interface=\"{}\"}} {}",
                name(i),
                num(i.get("received"))
            );
        }
        family(
            &mut o,
            "edgetap_interface_drops_total",
            "counter",
            "Packets dropped per interface, by the kernel or by the interface.",
        );
        for i in ifaces {
            for (kind, key) in [
                ("kernel", "kernel_dropped"),
                ("interface", "interface_dropped"),
            ] {
                let _ = writeln!(
                    o,
                    "edgetap_interface_drops_total{{interface=\"{}\",kind=\"{kind}\"}} {}",
                    name(i),
                    num(i.get(key))
                );
            }
        }
    }
    family(
        &mut o,
        "edgetap_capturing",
        "gauge",
        "1 while live capture runs.",
    );
    let _ = writeln!(o, "edgetap_capturing {}", u8::from(s.capturing));
    family(
        &mut o,
        "edgetap_learning",
        "gauge",
        "1 in learning mode, 0 when protecting.",
    );
    let _ = writeln!(o, "edgetap_learning {}", u8::from(s.mode == "learning"));
    family(
        &mut o,
        "edgetap_packet_time_seconds",
        "gauge",
        "Time stamp of the last packet seen (Unix seconds).",
    );
    let _ = writeln!(
        o,
        "edgetap_packet_time_seconds {}",
        s.packet_time_ns as f64 / 1e9
    );
    o
}

/// A DOT double-quoted string.
fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' | '\r' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Colour of a node by its most telling role (the page uses the same).
pub fn role_colour(roles: &[&str]) -> &'static str {
    let has = |r: &str| roles.contains(&r);
    if has("external") {
        "#9c9c9c"
    } else if has("gateway") {
        "#b07aa1"
    } else if has("mqtt_broker") || has("amqp_broker") {
        "#4e79a7"
    } else if has("modbus_server") || has("opcua_server") || has("bacnet_device") {
        "#f28e2b"
    } else if has("dns_server") || has("dhcp_server") {
        "#76b7b2"
    } else if roles.iter().any(|r| r.ends_with("_client")) {
        "#59a14f"
    } else {
        "#bab0ac"
    }
}

/// Colour of an edge by its protocol.
pub fn proto_colour(p: Option<&str>) -> &'static str {
    match p {
        Some("modbus") => "#8c564b",
        Some("bacnet") => "#17becf",
        Some("mqtt") => "#1f77b4",
        Some("amqp") => "#9467bd",
        Some("opcua") => "#2ca02c",
        _ => "#7f7f7f",
    }
}

/// A graph (or part of one) in Graphviz DOT: nodes labelled by name and coloured by role, edges
/// labelled by protocol/port and coloured by protocol; edges not learned or alerted red and
/// dashed. `note` (say, that the graph was cut short) goes in a comment and in the label.
pub fn dot(nodes: &[&Value], edges: &[&Value], note: Option<&str>) -> String {
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let mut o = String::with_capacity(256 + 120 * (nodes.len() + edges.len()));
    o.push_str("digraph edgetap {\n");
    let mut title = "edgetap peer graph".to_string();
    if let Some(n) = note {
        let n: String = n.chars().filter(|c| !c.is_control()).collect();
        let _ = writeln!(o, "  // {n}");
        title.push_str(" (");
        title.push_str(&n);
        title.push(')');
    }
    let _ = writeln!(
        o,
        "  graph [rankdir=LR, fontname=\"Helvetica\", label={}];",
        q(&title)
    );
    o.push_str(
        "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];\n",
    );
    o.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n");
    let mut known = std::collections::HashSet::new();
    for &n in nodes {
        let id = s(n, "id");
        let roles: Vec<&str> = n
            .get("roles")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let name = s(n, "name");
        let mut text = if name.is_empty() { id.clone() } else { name };
        if !roles.is_empty() {
            text.push('\n');
            text.push_str(&roles.join(", "));
        }
        let _ = writeln!(
            o,
            "  {} [label={}, fillcolor={}];",
            q(&id),
            q(&text),
            q(role_colour(&roles))
        );
        known.insert(id);
    }
    for &e in edges {
        let (c, sv) = (s(e, "client"), s(e, "server"));
        for end in [&c, &sv] {
            if known.insert(end.clone()) {
                let _ = writeln!(o, "  {} [label={}];", q(end), q(end));
            }
        }
        let proto = e.get("protocol").and_then(Value::as_str);
        let port = num(e.get("port"));
        let text = format!(
            "{}/{port}",
            proto.unwrap_or_else(|| e.get("transport").and_then(Value::as_str).unwrap_or("ip"))
        );
        let learned = e.get("learned").and_then(Value::as_bool).unwrap_or(true);
        let alerted = e.get("alerted").and_then(Value::as_bool).unwrap_or(false);
        let style = if alerted || !learned {
            format!(
                "color=\"#d62728\", fontcolor=\"#d62728\", style=dashed, penwidth=2{}",
                if alerted {
                    ", tooltip=\"alerted\""
                } else {
                    ", tooltip=\"new\""
                }
            )
        } else {
            format!("color={}", q(proto_colour(proto)))
        };
        let _ = writeln!(
            o,
            "  {} -> {} [label={}, {style}];",
            q(&c),
            q(&sv),
            q(&text)
        );
    }
    o.push_str("}\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_escapes_and_styles() {
        let g = json!({"nodes": [
            {"id": "d1", "name": "pl\"c\\1\n", "roles": ["modbus_server"]},
            {"id": "d2", "name": "hmi", "roles": ["modbus_client"]}],
          "edges": [
            {"client": "d2", "server": "d1", "protocol": "modbus", "port": 502, "learned": true, "alerted": false},
            {"client": "d2", "server": "d3", "protocol": null, "transport": "tcp", "port": 22, "learned": false, "alerted": true}]});
        let list = |k: &str| g[k].as_array().unwrap().iter().collect::<Vec<_>>();
        let d = dot(&list("nodes"), &list("edges"), None);
        assert!(d.starts_with("digraph edgetap {"), "{d}");
        assert!(d.contains("label=\"edgetap peer graph\"]"), "{d}");
        assert!(
            d.contains(r##""d1" [label="pl\"c\\1\n\nmodbus_server""##),
            "{d}"
        );
        assert!(
            d.contains(r##""d2" -> "d1" [label="modbus/502", color="#8c564b"]"##),
            "{d}"
        );
        assert!(
            d.contains(r##""d2" -> "d3" [label="tcp/22", color="#d62728""##),
            "{d}"
        );
        assert!(d.contains("style=dashed"), "{d}");
        assert!(d.contains(r##""d3" [label="d3"]"##), "{d}");
        assert!(d.trim_end().ends_with('}'));
        let d = dot(&list("nodes")[..1], &[], Some("cut \"short\"\n"));
        assert!(d.contains("\n  // cut \"short\"\n"), "{d}");
        assert!(
            d.contains(r#"label="edgetap peer graph (cut \"short\")""#),
            "{d}"
        );
        assert!(!d.contains("->"), "{d}");
    }

    #[test]
    fn metrics_text() {
        let s = Snapshot {
            mode: "learning".into(),
            capturing: true,
            stats: json!({"packets": 10, "bytes": 1000, "flows": 2,
                "drops": {"kernel": 1, "queue": 2, "per_if": {"eth0": 3}},
                "pdus": {"modbus": 4}, "alerts": {"ics_control": 5}, "store_bytes": 7,
                "devices": 3, "edges": 2, "flows_active": 1,
                "interfaces": [{"interface": "eth0", "received": 9, "kernel_dropped": 1,
                                "interface_dropped": 0}]}),
            ..Snapshot::default()
        };
        let m = metrics(&s, None);
        for line in [
            "edgetap_packets_total 10",
            "edgetap_bytes_total 1000",
            "edgetap_drops_total{kind=\"kernel\"} 1",
            "edgetap_drops_total{kind=\"interface\"} 0",
            "edgetap_drops_total{kind=\"per_if_eth0\"} 3",
            "edgetap_flows_total 2",
            "edgetap_pdus_total{proto=\"modbus\"} 4",
            "edgetap_pdus_total{proto=\"opcua\"} 0",
            "edgetap_alerts_total{category=\"ics_control\"} 5",
            "edgetap_alerts_total{category=\"lateral_movement\"} 0",
            "edgetap_store_bytes 7",
            "edgetap_devices 3",
            "edgetap_edges 2",
            "edgetap_learning 1",
            "edgetap_flows_active 1",
            "edgetap_interface_packets_total{interface=\"eth0\"} 9",
            "edgetap_interface_drops_total{interface=\"eth0\",kind=\"kernel\"} 1",
            "# TYPE edgetap_packets_total counter",
        ] {
            assert!(m.lines().any(|l| l == line), "no {line:?} in\n{m}");
        }
        // Every sample line belongs to a family declared just before.
        let mut declared = Vec::new();
        for l in m.lines() {
            if let Some(rest) = l.strip_prefix("# TYPE ") {
                declared.push(rest.split(' ').next().unwrap().to_string());
            } else if !l.starts_with('#') {
                let name = l.split(['{', ' ']).next().unwrap();
                assert_eq!(declared.last().map(String::as_str), Some(name), "{l}");
            }
        }
    }
}
