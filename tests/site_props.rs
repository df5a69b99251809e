//! The site model's watchers (sensor gaps, scans, DNS, DHCP, ARP, beacons, reconnaissance)
//! under hostile input, on stable: proptest builds well-formed Ethernet frames (so the bytes
//! reach the watchers, not only the decoder) with arbitrary flags, ports, payloads, ARP
//! fields, ICMP quotes and packet times that jump forward and back, and runs them through the
//! whole pipeline with the shipped rules, learning then protecting. Nothing may panic, and
//! the caps hold. (`fuzz/` has the coverage-guided `site_frames` target for long runs.)

use edgetap::capture::{LinkType, Packet};
use edgetap::detect::alert::Alert;
use edgetap::pipeline::{Limits, Pipeline};
use edgetap::site::{Site, SiteConfig};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum F {
    Tcp {
        s: u8,
        d: u8,
        sp: u16,
        dp: u16,
        flags: u8,
        payload: Vec<u8>,
    },
    Udp {
        s: u8,
        d: u8,
        sp: u16,
        dp: u16,
        payload: Vec<u8>,
    },
    Icmp {
        s: u8,
        d: u8,
        ty: u8,
        code: u8,
        payload: Vec<u8>,
    },
    Arp {
        op: u16,
        sha: u8,
        spa: u8,
        tpa: u8,
        bcast: bool,
    },
}

fn ip(n: u8) -> [u8; 4] {
    // Mostly site addresses, some external, some special.
    match n % 8 {
        0 => [52, 1, 2, n],
        1 => [224, 0, 0, 251],
        2 => [255, 255, 255, 255],
        3 => [0, 0, 0, 0],
        _ => [10, 20, 0, n % 16],
    }
}

fn mac(n: u8) -> [u8; 6] {
    [0x02, 0, 0, 0, 0, n % 16]
}

fn port() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(53u16),
        Just(67),
        Just(68),
        Just(502),
        Just(1883),
        Just(47808),
        Just(4840),
        Just(22),
        Just(443),
        any::<u16>()
    ]
}

fn frame() -> impl Strategy<Value = F> {
    let payload = proptest::collection::vec(any::<u8>(), 0..300);
    prop_oneof![
        (
            any::<u8>(),
            any::<u8>(),
            port(),
            port(),
            any::<u8>(),
            payload.clone()
        )
            .prop_map(|(s, d, sp, dp, flags, payload)| F::Tcp {
                s,
                d,
                sp,
                dp,
                flags,
                payload
            }),
        (any::<u8>(), any::<u8>(), port(), port(), payload.clone()).prop_map(
            |(s, d, sp, dp, payload)| F::Udp {
                s,
                d,
                sp,
                dp,
                payload
            }
        ),
        (
            any::<u8>(),
            any::<u8>(),
            prop_oneof![Just(3u8), Just(8), Just(0), any::<u8>()],
            0u8..5,
            payload
        )
            .prop_map(|(s, d, ty, code, payload)| F::Icmp {
                s,
                d,
                ty,
                code,
                payload
            }),
        (
            1u16..3,
            any::<u8>(),
            any::<u8>(),
            any::<u8>(),
            any::<bool>()
        )
            .prop_map(|(op, sha, spa, tpa, bcast)| F::Arp {
                op,
                sha,
                spa,
                tpa,
                bcast
            }),
    ]
}

fn eth(src: [u8; 6], dst: [u8; 6], ty: u16, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ty.to_be_bytes());
    f.extend_from_slice(body);
    f
}

fn ipv4(s: u8, d: u8, proto: u8, l4: &[u8]) -> Vec<u8> {
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0]);
    p.extend_from_slice(&ip(s));
    p.extend_from_slice(&ip(d));
    p.extend_from_slice(l4);
    eth(mac(s), mac(d), 0x0800, &p)
}

fn bytes(f: &F) -> Vec<u8> {
    match f {
        F::Tcp {
            s,
            d,
            sp,
            dp,
            flags,
            payload,
        } => {
            let mut t = Vec::new();
            t.extend_from_slice(&sp.to_be_bytes());
            t.extend_from_slice(&dp.to_be_bytes());
            t.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 1, 0x50, *flags, 0xff, 0xff, 0, 0, 0, 0]);
            t.extend_from_slice(payload);
            ipv4(*s, *d, 6, &t)
        }
        F::Udp {
            s,
            d,
            sp,
            dp,
            payload,
        } => {
            let mut u = Vec::new();
            u.extend_from_slice(&sp.to_be_bytes());
            u.extend_from_slice(&dp.to_be_bytes());
            u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            u.extend_from_slice(&[0, 0]);
            u.extend_from_slice(payload);
            ipv4(*s, *d, 17, &u)
        }
        F::Icmp {
            s,
            d,
            ty,
            code,
            payload,
        } => {
            let mut i = vec![*ty, *code, 0, 0, 0, 0, 0, 0];
            i.extend_from_slice(payload);
            ipv4(*s, *d, 1, &i)
        }
        F::Arp {
            op,
            sha,
            spa,
            tpa,
            bcast,
        } => {
            let mut a = vec![0, 1, 8, 0, 6, 4];
            a.extend_from_slice(&op.to_be_bytes());
            a.extend_from_slice(&mac(*sha));
            a.extend_from_slice(&ip(*spa));
            a.extend_from_slice(&[0; 6]);
            a.extend_from_slice(&ip(*tpa));
            let dst = if *bcast { [0xff; 6] } else { mac(*tpa) };
            eth(mac(*sha), dst, 0x0806, &a)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn watchers_never_panic(
        frames in proptest::collection::vec((frame(), 0u64..200_000_000_000, any::<bool>()), 1..120),
        learn_first in 0usize..60,
    ) {
        let rules = edgetap::replay::default_rules().unwrap_or_default();
        let mut site = Site::new(SiteConfig::default(), rules, Vec::<Alert>::new());
        // Every EVE record type on: hostile frames must give whole JSON records.
        let eve_path = std::env::temp_dir().join(format!("edgetap-props-eve-{}.json", std::process::id()));
        let _ = std::fs::remove_file(&eve_path);
        let eve = edgetap::eve::EveConfig {
            path: eve_path.clone(),
            lossless: true,
            ..edgetap::eve::EveConfig::default()
        };
        site.eve = Some(Box::new(edgetap::eve::Recorder::start(eve).unwrap_or_else(|e| panic!("{e}"))));
        let mut p = Pipeline::new(site, Limits::default());
        let mut ts: u64 = 1_795_132_800_000_000_000;
        for (i, (f, step, back)) in frames.iter().enumerate() {
            if i == learn_first {
                p.out.protect();
                p.out.new_timeline();
            }
            // Time moves on, jumps past the gap limit, or goes back.
            ts = if *back { ts.saturating_sub(*step) } else { ts + step };
            let data = bytes(f);
            p.packet(&Packet {
                source: 0,
                frame: i as u64 + 1,
                ts_ns: ts,
                link: LinkType::ETHERNET,
                data: &data,
                orig_len: data.len() as u32,
            });
        }
        p.finish();
        if let Some(mut e) = p.out.eve.take() {
            e.finish();
        }
        let text = std::fs::read_to_string(&eve_path).unwrap_or_default();
        let _ = std::fs::remove_file(&eve_path);
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            prop_assert!(v["event_type"].is_string() && v["timestamp"].is_string(), "{line}");
        }
        let alerts = p.out.sink.len();
        prop_assert!(alerts <= frames.len() * 8, "{alerts} alerts from {} frames", frames.len());
        prop_assert!(p.out.sensor.gaps.len() <= 64);
    }
}
