//! Real attack captures (`../shared/pcaps/public/attacks/`, labelled in `TRUTH.tsv`): each
//! labelled behaviour must raise an alert of its category naming the attacker or the target
//! within its span, with nothing learned; and again after learning on the capture's benign
//! part (the packets before the attack) where it has one, with no alert outside the span.
//! Prints the table the closing note quotes.

#[path = "common/eve.rs"]
mod eve;
#[path = "common/live.rs"]
mod live;

use eve::eve_ns;
use live::cargo_bin;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

struct Label {
    file: String,
    category: String,
    ips: Vec<String>,
    start: u64,
    end: u64,
    benign: bool,
}

fn attacks_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/pcaps/public/attacks")
}

fn labels() -> Vec<Label> {
    let text = std::fs::read_to_string(attacks_dir().join("TRUTH.tsv"))
        .unwrap_or_else(|e| panic!("TRUTH.tsv: {e}"));
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    let col = |name: &str| {
        head.iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("TRUTH.tsv has no column {name}"))
    };
    let (f, c, a, t, s, e, b) = (
        col("file"),
        col("category"),
        col("attacker_ips"),
        col("target_ips"),
        col("start_iso"),
        col("end_iso"),
        col("has_benign"),
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<&str> = l.split('\t').collect();
            let ips = [v[a], v[t]]
                .iter()
                .flat_map(|x| x.split(','))
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect();
            Label {
                file: v[f].to_string(),
                category: v[c].to_string(),
                ips,
                start: eve_ns(v[s]),
                end: eve_ns(v[e]),
                benign: v[b] == "1",
            }
        })
        .collect()
}

/// An address matches a label's address, or its prefix (`10.0.0.` for spoofed sources).
fn matches(ip: Option<&str>, ips: &[String]) -> bool {
    ip.is_some_and(|ip| {
        ips.iter()
            .any(|x| ip == x || (x.ends_with('.') && ip.starts_with(x.as_str())))
    })
}

fn replay(learn: Option<&Path>, pcap: &Path, out: &Path) -> Vec<Value> {
    let mut cmd = Command::new(cargo_bin("edgetap", "edgetap"));
    cmd.arg("replay");
    if let Some(l) = learn {
        cmd.arg("--learn").arg(l);
    }
    let o = cmd
        .arg("--alerts")
        .arg(out)
        .arg(pcap)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "replay {}: {err}", pcap.display());
    assert!(!err.contains("panicked"), "{err}");
    std::fs::read_to_string(out)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}

/// The first alert of the label's category naming its attacker or target within its span
/// (one second of slack each side), with its latency in seconds.
fn hit<'a>(l: &Label, alerts: &'a [Value]) -> Option<(&'a Value, f64)> {
    alerts.iter().find_map(|a| {
        let ts = eve_ns(a["timestamp"].as_str().unwrap_or(""));
        let ok = a["alert"]["category"] == l.category.as_str()
            && ts + 1_000_000_000 >= l.start
            && ts <= l.end + 1_000_000_000
            && (matches(a["src_ip"].as_str(), &l.ips) || matches(a["dest_ip"].as_str(), &l.ips));
        ok.then(|| (a, (ts as f64 - l.start as f64) / 1e9))
    })
}

fn tmp() -> PathBuf {
    let d = std::env::temp_dir().join(format!("edgetap-attacks-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
    d
}

#[test]
fn every_labelled_attack_is_alerted_with_nothing_learned() {
    let dir = tmp();
    let labels = labels();
    assert!(labels.len() >= 25, "{} labels", labels.len());
    let mut missed = Vec::new();
    println!("| file | expected | alerts | first matching alert (rule: signature) | latency |");
    println!("|---|---|---|---|---|");
    for l in &labels {
        let alerts = replay(
            None,
            &attacks_dir().join(&l.file),
            &dir.join(format!("{}.jsonl", l.file)),
        );
        match hit(l, &alerts) {
            Some((a, lat)) => println!(
                "| {} | {} | {} | {}: {} | {lat:.2} s |",
                l.file,
                l.category,
                alerts.len(),
                a["alert"]["metadata"]["edgetap"]["evidence"]["rule"]["name"]
                    .as_str()
                    .unwrap_or(""),
                a["alert"]["signature"].as_str().unwrap_or("")
            ),
            None => missed.push(format!(
                "{} ({}): {:?}",
                l.file,
                l.category,
                alerts
                    .iter()
                    .map(|a| a["alert"]["signature"].to_string())
                    .collect::<Vec<_>>()
            )),
        }
    }
    assert!(missed.is_empty(), "missed:\n{}", missed.join("\n"));
}

#[test]
fn after_learning_the_benign_part_alerts_fall_within_the_span() {
    let dir = tmp();
    let mut bad = Vec::new();
    let mut n = 0;
    for l in labels().iter().filter(|l| l.benign) {
        n += 1;
        let pcap = attacks_dir().join(&l.file);
        // The benign part: everything before the attack began.
        let cut = dir.join(format!("benign-{}", l.file));
        let before = l.start.saturating_sub(1_000);
        let stop = format!("{}.{:09}", before / 1_000_000_000, before % 1_000_000_000);
        let o = Command::new("editcap")
            .args(["-B", &stop])
            .arg(&pcap)
            .arg(&cut)
            .output()
            .unwrap_or_else(|e| panic!("editcap (wireshark-common): {e}"));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let alerts = replay(
            Some(&cut),
            &pcap,
            &dir.join(format!("learned-{}.jsonl", l.file)),
        );
        if hit(l, &alerts).is_none() {
            bad.push(format!(
                "{}: no {} alert after learning",
                l.file, l.category
            ));
        }
        for a in &alerts {
            let ts = eve_ns(a["timestamp"].as_str().unwrap_or(""));
            if ts + 1_000_000_000 < l.start || ts > l.end + 10_000_000_000 {
                bad.push(format!("{}: alert outside the span: {a}", l.file));
            }
        }
    }
    assert!(n >= 5, "{n} captures with a benign part");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
