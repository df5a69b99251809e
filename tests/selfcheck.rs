//! Learning covers everything it saw: `edgetap replay --learn X X` raises no alert for every
//! capture the project ships (golden, recorded from real peers) or generates (the scenario's
//! learning capture, a benchmark capture) and for every shared capture that is not an attack.

#[path = "common/live.rs"]
mod live;

use live::cargo_bin;
use std::path::{Path, PathBuf};
use std::process::Command;

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "attacks") {
                continue;
            }
            captures(&p, out);
        } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
            out.push(p);
        }
    }
}

/// Alert lines raised by `replay --learn X X`.
fn self_replay(x: &Path, alerts: &Path) -> Vec<String> {
    let o = Command::new(cargo_bin("edgetap", "edgetap"))
        .arg("replay")
        .arg("--learn")
        .arg(x)
        .arg("--alerts")
        .arg(alerts)
        .arg(x)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{}: {err}", x.display());
    std::fs::read_to_string(alerts)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

fn check(files: &[PathBuf], tmp: &Path) {
    let mut bad = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let lines = self_replay(f, &tmp.join(format!("{i}.jsonl")));
        if !lines.is_empty() {
            bad.push(format!(
                "{}: {} alerts, first {}",
                f.display(),
                lines.len(),
                lines[0]
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "replay --learn X X raised alerts:\n{}",
        bad.join("\n")
    );
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("edgetap-selfcheck-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
    d
}

#[test]
fn shared_captures_that_are_not_attacks() {
    let mut files = Vec::new();
    captures(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/pcaps"),
        &mut files,
    );
    assert!(files.len() >= 70, "{} shared captures", files.len());
    check(&files, &tmp("shared"));
}

#[test]
fn project_captures() {
    let mut files = Vec::new();
    captures(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("pcaps"),
        &mut files,
    );
    files.retain(|f| !f.components().any(|c| c.as_os_str() == "scenario"));
    assert!(files.len() >= 50, "{} project captures", files.len());
    check(&files, &tmp("project"));
}

#[test]
fn generated_scenario_and_benchmark() {
    let dir = tmp("generated");
    pcapgen::scenario::write_all(&dir, &pcapgen::scenario::Options::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let bench = dir.join("bench.pcap");
    let f = std::fs::File::create(&bench).unwrap_or_else(|e| panic!("{e}"));
    let cfg = pcapgen::bench::BenchConfig {
        packets: 300_000,
        ..Default::default()
    };
    pcapgen::bench::generate(&cfg, std::io::BufWriter::new(f)).unwrap_or_else(|e| panic!("{e}"));
    check(
        &[dir.join("base.pcap"), dir.join("benign.pcap"), bench],
        &dir,
    );
}
