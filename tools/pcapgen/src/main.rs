//! `pcapgen bench ...` writes the benchmark capture; `pcapgen floor FILE` times the floor pass;
//! `pcapgen golden --out-dir DIR` writes the golden test captures; `pcapgen scenario --out-dir DIR`
//! writes the site scenario (learning, benign and attack captures, truth.json).

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use pcapgen::bench::{self, BenchConfig};

const USAGE: &str = "usage:
  pcapgen bench [--packets N] [--flows F] [--seed S] [--mid-stream PCT] --out FILE
      write the deterministic benchmark capture (defaults: 3000000 packets, 20000 flows,
      seed 1, 15% of the initial flows mid-stream); statistics go to stderr as JSON
  pcapgen floor FILE
      read FILE with pcap-parser, slice every frame with etherparse, print one JSON line
  pcapgen golden --out-dir DIR
      write the golden test captures (DIR/<proto>/*.pcap*), byte-identical on every run
  pcapgen scenario --out-dir DIR [--flood N] [--portscan]
      write the site scenario: base.pcap (60 min learning), benign.pcap and attacks.pcap
      (the test period after it, 4.6 h with a 3 h capture gap, without / with labelled
      attacks), edgex-devices.json, truth.json;
      --flood N adds flood.pcap (N spoofed SYNs to the broker), --portscan adds portscan.pcap
      (SYN scan of 65535 ports of plc-1); byte-identical on every run";

fn usage_error(msg: &str) -> ExitCode {
    eprintln!("pcapgen: {msg}\n{USAGE}");
    ExitCode::from(2)
}

fn parse_num(flag: &str, v: Option<String>) -> Result<u64, String> {
    let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
    let clean: String = v.chars().filter(|c| *c != '_').collect();
    clean
        .parse::<u64>()
        .map_err(|_| format!("{flag}: not a non-negative integer: {v:?}"))
}

fn bench_cmd(args: Vec<String>) -> ExitCode {
    let mut cfg = BenchConfig::default();
    let mut out: Option<PathBuf> = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut val = || inline.clone().or_else(|| it.next());
        let r = match flag.as_str() {
            "--packets" => parse_num(&flag, val()).map(|n| cfg.packets = n),
            "--flows" => parse_num(&flag, val()).and_then(|n| {
                if n == 0 || n > 10_000_000 {
                    Err("--flows must be between 1 and 10000000".into())
                } else {
                    cfg.flows = n as usize;
                    Ok(())
                }
            }),
            "--seed" => parse_num(&flag, val()).map(|n| cfg.seed = n),
            "--mid-stream" => parse_num(&flag, val()).and_then(|n| {
                if n > 100 {
                    Err("--mid-stream is a percentage (0-100)".into())
                } else {
                    cfg.mid_stream_percent = n;
                    Ok(())
                }
            }),
            "--out" | "-o" => val()
                .map(|v| out = Some(PathBuf::from(v)))
                .ok_or_else(|| "--out needs a value".into()),
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => Err(format!("unknown argument {other:?}")),
        };
        if let Err(e) = r {
            return usage_error(&e);
        }
    }
    let Some(out) = out else {
        return usage_error("bench: --out FILE is required");
    };
    let file = match File::create(&out) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("pcapgen: {}: {e}", out.display());
            return ExitCode::FAILURE;
        }
    };
    let start = Instant::now();
    match bench::generate(&cfg, BufWriter::with_capacity(1 << 20, file)) {
        Ok(stats) => {
            let secs = start.elapsed().as_secs_f64();
            eprintln!("{}", stats.to_json());
            eprintln!(
                "pcapgen: wrote {} packets ({:.1} MB of frames) to {} in {:.2} s ({:.2} Mpps)",
                stats.packets,
                stats.frame_bytes as f64 / 1e6,
                out.display(),
                secs,
                stats.packets as f64 / secs / 1e6
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pcapgen: writing {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}

fn floor_cmd(args: Vec<String>) -> ExitCode {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let [path] = args.as_slice() else {
        return usage_error("floor takes exactly one FILE");
    };
    match pcapgen::floor::run(path.as_ref()) {
        Ok(r) => {
            println!("{}", r.to_json());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pcapgen: {e}");
            ExitCode::FAILURE
        }
    }
}

fn golden_cmd(args: Vec<String>) -> ExitCode {
    let mut out: Option<PathBuf> = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out-dir" | "-o" => match it.next() {
                Some(v) => out = Some(PathBuf::from(v)),
                None => return usage_error("--out-dir needs a value"),
            },
            s if s.starts_with("--out-dir=") => out = Some(PathBuf::from(&s["--out-dir=".len()..])),
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => return usage_error(&format!("unknown argument {other:?}")),
        }
    }
    let Some(out) = out else {
        return usage_error("golden: --out-dir DIR is required");
    };
    match pcapgen::golden::write_all(&out) {
        Ok(paths) => {
            for p in paths {
                eprintln!("pcapgen: wrote {}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pcapgen: golden: {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}

fn scenario_cmd(args: Vec<String>) -> ExitCode {
    let mut out: Option<PathBuf> = None;
    let mut opts = pcapgen::scenario::Options::default();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let mut val = || inline.clone().or_else(|| it.next());
        let r = match flag.as_str() {
            "--out-dir" | "-o" => val()
                .map(|v| out = Some(PathBuf::from(v)))
                .ok_or_else(|| "--out-dir needs a value".to_string()),
            "--flood" => parse_num(&flag, val()).map(|n| opts.flood = Some(n)),
            "--portscan" => {
                opts.portscan = true;
                Ok(())
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => Err(format!("unknown argument {other:?}")),
        };
        if let Err(e) = r {
            return usage_error(&e);
        }
    }
    let Some(out) = out else {
        return usage_error("scenario: --out-dir DIR is required");
    };
    let start = Instant::now();
    match pcapgen::scenario::write_all(&out, &opts) {
        Ok(files) => {
            for f in files {
                if f.packets > 0 {
                    eprintln!(
                        "pcapgen: wrote {} ({} packets, {} bytes)",
                        f.path.display(),
                        f.packets,
                        f.bytes
                    );
                } else {
                    eprintln!("pcapgen: wrote {} ({} bytes)", f.path.display(), f.bytes);
                }
            }
            eprintln!(
                "pcapgen: scenario done in {:.2} s",
                start.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pcapgen: scenario: {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() {
        return usage_error("missing command");
    }
    let cmd = args.remove(0);
    match cmd.as_str() {
        "bench" => bench_cmd(args),
        "floor" => floor_cmd(args),
        "golden" => golden_cmd(args),
        "scenario" => scenario_cmd(args),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        other => usage_error(&format!("unknown command {other:?}")),
    }
}
