//! Which capture-file reader for replay? Reads one file with the `pcap` crate's savefile reader
//! (libpcap) and with edgetap's `FileReplay` (pcap-parser, streaming), touching every packet's
//! bytes, and prints packets/s for each, best of N runs, alternating so load hits both alike.
//!
//!     cargo run --release --example reader_compare -- FILE [RUNS]

use edgetap::capture::file::FileReplay;
use std::time::Instant;

fn with_libpcap(path: &str) -> (u64, u64) {
    let mut cap = match pcap::Capture::from_file(path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    let (mut n, mut sum) = (0u64, 0u64);
    while let Ok(p) = cap.next_packet() {
        n += 1;
        sum += u64::from(p.data.last().copied().unwrap_or(0)) + p.data.len() as u64;
    }
    (n, sum)
}

fn with_pcap_parser(path: &str) -> (u64, u64) {
    let mut r = match FileReplay::open(&[path]) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let (mut n, mut sum) = (0u64, 0u64);
    r.for_each(|p| {
        n += 1;
        sum += u64::from(p.data.last().copied().unwrap_or(0)) + p.data.len() as u64;
    });
    (n, sum)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: reader_compare FILE [RUNS]");
        std::process::exit(2);
    };
    let runs: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3);
    let mut best = [f64::MAX; 2];
    let mut counts = [(0, 0); 2];
    for _ in 0..runs {
        for (i, f) in [with_libpcap as fn(&str) -> (u64, u64), with_pcap_parser]
            .iter()
            .enumerate()
        {
            let t = Instant::now();
            counts[i] = f(path);
            best[i] = best[i].min(t.elapsed().as_secs_f64());
        }
    }
    assert_eq!(counts[0], counts[1], "both readers see the same packets");
    for (name, i) in [
        ("pcap (libpcap savefile)", 0),
        ("pcap-parser (FileReplay)", 1),
    ] {
        println!(
            "{name:26} {:>10} packets {:>7.3} s {:>12.0} packets/s",
            counts[i].0,
            best[i],
            counts[i].0 as f64 / best[i]
        );
    }
    println!("libpcap / pcap-parser time: {:.2}", best[0] / best[1]);
}
