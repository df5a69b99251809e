//! The fast decode path (smoltcp) must agree with the reference path (etherparse) on every
//! frame it accepts: every packet of the project's captures and of the shared real captures.

use edgetap::capture::file::FileReplay;
use edgetap::decode::{decode, decode_etherparse};
use std::path::{Path, PathBuf};

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            captures(&p, out);
        } else if p.extension().is_some_and(|x| x == "pcap" || x == "pcapng") {
            out.push(p);
        }
    }
}

#[test]
fn fast_path_agrees_with_etherparse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    captures(&root.join("pcaps"), &mut files);
    captures(&root.join("../shared/pcaps"), &mut files);
    assert!(files.len() > 50, "captures found: {}", files.len());
    let (mut packets, mut differ) = (0u64, Vec::new());
    for f in &files {
        let Ok(mut r) = FileReplay::open(&[f]) else {
            continue;
        };
        r.for_each(|p| {
            packets += 1;
            let fast = format!("{:?}", decode(p.link, p.data));
            let reference = format!("{:?}", decode_etherparse(p.link, p.data));
            if fast != reference && differ.len() < 5 {
                differ.push(format!(
                    "{} frame {}:\n fast {fast}\n  ref {reference}",
                    f.display(),
                    p.frame
                ));
            }
        });
    }
    assert!(packets > 40_000, "packets compared: {packets}");
    assert!(differ.is_empty(), "{}", differ.join("\n"));
}

#[test]
fn fast_path_agrees_with_etherparse_on_mutated_frames() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    captures(&root.join("pcaps"), &mut files);
    let mut frames: Vec<(edgetap::capture::LinkType, Vec<u8>)> = Vec::new();
    for f in &files {
        let Ok(mut r) = FileReplay::open(&[f]) else {
            continue;
        };
        r.for_each(|p| {
            if frames.len() < 2000 {
                frames.push((p.link, p.data.to_vec()));
            }
        });
    }
    assert!(frames.len() > 500);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut checked = 0;
    for round in 0..20_000usize {
        let (link, frame) = &frames[round % frames.len()];
        let mut m = frame.clone();
        // Flip a few bytes in the headers (the first 80 bytes), sometimes cut the frame.
        for _ in 0..1 + next() % 4 {
            let i = (next() as usize) % m.len().clamp(1, 80);
            m[i] ^= (next() as u8) | 1;
        }
        if next() % 4 == 0 {
            m.truncate((next() as usize) % (m.len() + 1));
        }
        let fast = format!("{:?}", decode(*link, &m));
        let reference = format!("{:?}", decode_etherparse(*link, &m));
        assert_eq!(fast, reference, "round {round}");
        checked += 1;
    }
    assert_eq!(checked, 20_000);
}
