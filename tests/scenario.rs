//! The site scenario end to end: `pcapgen scenario` writes a site's learning capture, a benign
//! test capture and an attack capture with labelled attacks of every category; the real
//! `edgetap replay` must raise an alert of each label's category within its time, nothing
//! unexplained, nothing at all on the benign capture, an inventory equal to the truth, and one
//! alert for a million-source SYN flood and for a 65,535-port scan, within memory caps.

#[path = "common/eve.rs"]
mod eve;
#[path = "common/live.rs"]
mod live;

use eve::eve_ns;
use live::cargo_bin;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

struct Scenario {
    dir: PathBuf,
    truth: Value,
}

fn scenario() -> &'static Scenario {
    static S: OnceLock<Scenario> = OnceLock::new();
    S.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("edgetap-scenario-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        pcapgen::scenario::write_all(
            &dir,
            &pcapgen::scenario::Options {
                flood: Some(1_000_000),
                portscan: true,
            },
        )
        .unwrap_or_else(|e| panic!("writing the scenario: {e}"));
        let truth: Value = serde_json::from_slice(
            &std::fs::read(dir.join("truth.json")).unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        Scenario { dir, truth }
    })
}

fn edgetap() -> &'static PathBuf {
    static B: OnceLock<PathBuf> = OnceLock::new();
    B.get_or_init(|| cargo_bin("edgetap", "edgetap"))
}

struct Run {
    alerts: Vec<Value>,
    stderr: String,
    inventory: Vec<Value>,
    max_rss_kb: u64,
}

/// `edgetap replay --learn base.pcap TEST` under GNU time (for the peak RSS).
fn replay(test: &str, extra: &[&str]) -> Run {
    let s = scenario();
    let alerts = s.dir.join(format!("{test}.alerts.jsonl"));
    let inv = s.dir.join(format!("{test}.inventory.json"));
    let out = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("maxrss_kb=%M")
        .arg(edgetap())
        .arg("replay")
        .arg("--learn")
        .arg(s.dir.join("base.pcap"))
        .args(["--site-net", "10.20.0.0/16", "--known"])
        .arg(s.dir.join("edgex-devices.json"))
        .arg("--alerts")
        .arg(&alerts)
        .arg("--inventory")
        .arg(&inv)
        .args(extra)
        .arg(s.dir.join(test))
        .output()
        .unwrap_or_else(|e| panic!("running edgetap under /usr/bin/time: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "edgetap replay {test} failed:\n{stderr}"
    );
    let max_rss_kb = stderr
        .lines()
        .find_map(|l| l.strip_prefix("maxrss_kb="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no maxrss in:\n{stderr}"));
    let alerts = std::fs::read_to_string(&alerts)
        .unwrap_or_else(|e| panic!("{e}"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("alert line {l}: {e}")))
        .collect();
    let inventory = serde_json::from_slice(&std::fs::read(&inv).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"));
    Run {
        alerts,
        stderr,
        inventory,
        max_rss_kb,
    }
}

fn schema_check(path: &Path) {
    let schema = live::repo().join("../shared/eve-schema.json");
    let py = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
v = jsonschema.Draft7Validator(schema)
n = 0
for line in open(sys.argv[2]):
    errs = list(v.iter_errors(json.loads(line)))
    if errs:
        print("INVALID:", errs[0].message, line[:300]); sys.exit(1)
    n += 1
print("valid", n)
"#;
    let out = Command::new("python3")
        .args(["-c", py])
        .arg(&schema)
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "EVE schema check failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The sensor's own alerts (capture gaps), which have no device subject.
fn sensor_alert(a: &Value) -> bool {
    a["alert"]["metadata"]["edgetap"]["evidence"]["subject"] == "sensor"
}

/// The truth's stretches the sensor could not see: the site's power loss and the capture gap.
fn blind_spans(truth: &Value) -> Vec<(u64, u64)> {
    truth["benign"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|b| matches!(b["id"].as_str(), Some("site-restart" | "capture-gap")))
        .map(|b| {
            (
                b["start_ns"].as_u64().unwrap_or(0),
                b["end_ns"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// Each stretch the sensor did not see is one capture-gap alert, raised when packets
/// resumed; nothing else is alerted.
fn assert_one_gap_alert_per_blind_span(alerts: &[&Value], truth: &Value) {
    let spans = blind_spans(truth);
    assert_eq!(
        spans.len(),
        2,
        "the scenario has a power loss and a capture gap"
    );
    assert_eq!(alerts.len(), spans.len(), "one alert per gap: {alerts:#?}");
    for (start, end) in spans {
        let n = alerts
            .iter()
            .filter(|a| {
                let ts = eve_ns(a["timestamp"].as_str().unwrap_or(""));
                a["alert"]["category"] == "availability"
                    && a["src_ip"].is_null()
                    && ts >= start
                    && ts <= end + 1_000_000_000
            })
            .count();
        assert_eq!(n, 1, "gap {start}..{end}: {alerts:#?}");
    }
}

#[test]
fn benign_surprises_raise_nothing_but_the_sensors_gaps() {
    let r = replay("benign.pcap", &[]);
    let (gaps, others): (Vec<&Value>, Vec<&Value>) = r.alerts.iter().partition(|a| sensor_alert(a));
    assert!(
        others.is_empty(),
        "benign capture raised {} alerts:\n{}",
        others.len(),
        others
            .iter()
            .map(|a| a["alert"]["signature"].to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_one_gap_alert_per_blind_span(&gaps, &scenario().truth);
    assert!(r.stderr.contains("2 alerts"), "{}", r.stderr);
}

#[test]
fn every_labelled_attack_is_alerted_and_nothing_else() {
    let r = replay("attacks.pcap", &[]);
    let s = scenario();
    let attacks = s.truth["attacks"].as_array().cloned().unwrap_or_default();
    assert!(attacks.len() >= 8);
    let (gaps, device_alerts): (Vec<&Value>, Vec<&Value>) =
        r.alerts.iter().partition(|a| sensor_alert(a));
    assert_one_gap_alert_per_blind_span(&gaps, &s.truth);
    let alerts: Vec<(u64, String, String, String)> = device_alerts
        .iter()
        .map(|a| {
            (
                eve_ns(a["timestamp"].as_str().unwrap_or("")),
                a["alert"]["category"].as_str().unwrap_or("").to_string(),
                a["src_ip"].as_str().unwrap_or("").to_string(),
                a["dest_ip"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let mut missed = Vec::new();
    let mut cats = std::collections::BTreeSet::new();
    for a in &attacks {
        let start = a["start_ns"].as_u64().unwrap_or(0);
        let within = a["detect_within_secs"].as_u64().unwrap_or(10) * 1_000_000_000;
        let cat = a["category"].as_str().unwrap_or("");
        cats.insert(cat.to_string());
        let ips: Vec<&str> = [&a["src_ip"], &a["dest_ip"]]
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        let hit = alerts.iter().any(|(ts, c, src, dst)| {
            c == cat
                && *ts + 1_000_000_000 >= start
                && *ts <= start + within
                && ips.iter().any(|ip| ip == src || ip == dst)
        });
        if !hit {
            missed.push(format!("{} ({cat})", a["id"]));
        }
    }
    assert!(
        missed.is_empty(),
        "attacks without an alert: {missed:?}\nalerts: {alerts:#?}"
    );
    assert_eq!(
        cats.len(),
        8,
        "the scenario covers every category: {cats:?}"
    );
    // Precision: every alert falls within some attack's span (its consequences included).
    for (ts, c, src, dst) in &alerts {
        let explained = attacks.iter().any(|a| {
            let start = a["start_ns"].as_u64().unwrap_or(0);
            let end = a["end_ns"].as_u64().unwrap_or(start);
            let within = a["detect_within_secs"].as_u64().unwrap_or(10) * 1_000_000_000;
            *ts + 1_000_000_000 >= start && *ts <= end.max(start + within) + 10_000_000_000
        });
        assert!(explained, "unexplained alert at {ts}: {c} {src} -> {dst}");
    }
    schema_check(&s.dir.join("attacks.pcap.alerts.jsonl"));
}

#[test]
fn inventory_equals_the_truth() {
    let r = replay("benign.pcap", &[]);
    let s = scenario();
    let truth = s.truth["devices"].as_array().cloned().unwrap_or_default();
    let inv = &r.inventory;
    let ips_of = |d: &Value| -> Vec<String> {
        d["ips"]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|x| x["addr"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut problems = Vec::new();
    for t in &truth {
        let name = t["name"].as_str().unwrap_or("");
        let want_ips: Vec<String> = t["ips"]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        // Exactly one record holds each of the device's addresses, and it is the same one.
        let holders: Vec<&Value> = inv
            .iter()
            .filter(|d| ips_of(d).iter().any(|ip| want_ips.contains(ip)))
            .collect();
        if holders.len() != 1 {
            problems.push(format!(
                "{name}: {} records hold its addresses",
                holders.len()
            ));
            continue;
        }
        let d = holders[0];
        for ip in &want_ips {
            if !ips_of(d).contains(ip) {
                problems.push(format!("{name}: address {ip} missing"));
            }
        }
        if let Some(macs) = t["macs"].as_array() {
            for m in macs.iter().filter_map(|m| m.as_str()) {
                let has = d["macs"]
                    .as_array()
                    .is_some_and(|v| v.iter().any(|x| x["addr"].as_str() == Some(m)));
                if !has && !t["external"].as_bool().unwrap_or(false) {
                    problems.push(format!("{name}: MAC {m} missing"));
                }
            }
        }
        if let Some(facts) = t["facts"].as_object() {
            for (k, v) in facts {
                let want = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                let has = d["facts"].as_array().is_some_and(|f| {
                    f.iter()
                        .any(|x| x["key"].as_str() == Some(k) && x["value"].as_str() == Some(&want))
                });
                if !has {
                    problems.push(format!("{name}: fact {k}={want} missing"));
                }
            }
        }
        if let Some(roles) = t["roles"].as_array() {
            for role in roles.iter().filter_map(|r| r.as_str()) {
                let has = d["roles"]
                    .as_array()
                    .is_some_and(|v| v.iter().any(|x| x.as_str() == Some(role)));
                if !has {
                    problems.push(format!("{name}: role {role} missing"));
                }
            }
        }
        if let Some(k) = t["known_name"].as_str() {
            if d["name"].as_str() != Some(k) {
                problems.push(format!("{name}: named {:?}, known as {k}", d["name"]));
            }
        }
    }
    // Nothing else: every record is one of the truth's devices.
    let all_truth_ips: Vec<String> = truth
        .iter()
        .flat_map(|t| {
            t["ips"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
        .collect();
    for d in inv {
        if !ips_of(d).iter().any(|ip| all_truth_ips.contains(ip)) {
            problems.push(format!("extra device {} {:?}", d["id"], ips_of(d)));
        }
    }
    assert!(
        problems.is_empty(),
        "inventory differs from the truth:\n{}",
        problems.join("\n")
    );
    assert_eq!(inv.len(), truth.len());
}

#[test]
fn million_source_syn_flood_is_one_alert_within_caps() {
    let r = replay(
        "flood.pcap",
        &["--max-flows", "50000", "--max-devices", "1000"],
    );
    assert_eq!(
        r.alerts.len(),
        1,
        "{:#?}",
        r.alerts
            .iter()
            .map(|a| &a["alert"]["signature"])
            .collect::<Vec<_>>()
    );
    assert_eq!(r.alerts[0]["alert"]["category"], "denial_of_service");
    assert_eq!(r.alerts[0]["dest_ip"], "10.20.0.2");
    // The spoofed sources never became devices.
    assert!(r.inventory.len() < 30, "{} devices", r.inventory.len());
    assert!(r.max_rss_kb < 300_000, "peak RSS {} KB", r.max_rss_kb);
}

#[test]
fn full_port_scan_is_one_alert_within_caps() {
    let r = replay("portscan.pcap", &["--max-flows", "50000"]);
    assert_eq!(
        r.alerts.len(),
        1,
        "{:#?}",
        r.alerts
            .iter()
            .map(|a| &a["alert"]["signature"])
            .collect::<Vec<_>>()
    );
    assert_eq!(r.alerts[0]["alert"]["category"], "lateral_movement");
    assert!(r.max_rss_kb < 300_000, "peak RSS {} KB", r.max_rss_kb);
}

#[test]
fn learned_state_is_reused_by_a_later_run() {
    let s = scenario();
    let state = s.dir.join("state-reuse");
    let _ = std::fs::remove_dir_all(&state);
    let run = |args: &[&std::ffi::OsStr]| {
        let out = Command::new(edgetap())
            .arg("replay")
            .args(["--site-net", "10.20.0.0/16"])
            .arg("--state")
            .arg(&state)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{err}");
        (String::from_utf8_lossy(&out.stdout).into_owned(), err)
    };
    let base = s.dir.join("base.pcap");
    let benign = s.dir.join("benign.pcap");
    let attacks = s.dir.join("attacks.pcap");
    // Learn once, protecting the benign capture: silence but for the sensor's own gaps.
    let (alerts, _) = run(&["--learn".as_ref(), base.as_os_str(), benign.as_os_str()]);
    let device_alerts = alerts
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|a| !sensor_alert(a))
        .count();
    assert_eq!(device_alerts, 0, "{alerts}");
    // A later run without --learn uses what was learned: the attacks are still seen, and the
    // learned devices and edges are not new.
    let (alerts, err) = run(&[attacks.as_os_str()]);
    assert!(err.contains("reusing learned state"), "{err}");
    let cats: std::collections::BTreeSet<String> = alerts
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|a| a["alert"]["category"].as_str().map(str::to_string))
        .collect();
    assert_eq!(cats.len(), 8, "{cats:?}");
    // A state directory that is not ours is refused with one clear line.
    let foreign = s.dir.join("not-a-state-dir");
    std::fs::create_dir_all(&foreign).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(foreign.join("edgetap.redb"), b"definitely not a database")
        .unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(edgetap())
        .arg("replay")
        .arg("--state")
        .arg(&foreign)
        .arg(&benign)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not-a-state-dir"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_rules_are_refused_with_file_and_line() {
    let s = scenario();
    let dir = s.dir.join("bad-rules");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.join("x.toml"),
        "[[rule]]\nsid = 1\nname = \"x\"\ncategory = \"lateral_movement\"\nseverity = 2\n\
         signature = \"s\"\nmetric = \"no_such_metric\"\nwindow = \"10s\"\nabove = 0\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(edgetap())
        .arg("replay")
        .arg("--rules")
        .arg(&dir)
        .arg(s.dir.join("benign.pcap"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("x.toml:7: unknown metric `no_such_metric`"),
        "{err}"
    );
    // The shipped rules folder loads.
    let out = Command::new(edgetap())
        .arg("replay")
        .arg("--rules")
        .arg(live::repo().join("rules"))
        .arg("--learn")
        .arg(s.dir.join("base.pcap"))
        .arg(s.dir.join("benign.pcap"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
