//! The embedded IEEE registry (`oui.rs`): known vendors, table shape, and agreement with
//! Wireshark's `manuf` when it is installed.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::expect_used
)]

use std::collections::HashMap;

use edgetap_dissectors::oui::{self, vendor};

fn mac(s: &str) -> [u8; 6] {
    let v: Vec<u8> = s
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect();
    v.try_into().unwrap()
}

#[test]
fn well_known_vendors() {
    // Telemecanique, a Schneider Electric brand: the registry keeps the old name.
    assert_eq!(
        vendor(mac("00:80:F4:12:34:56")),
        Some("Telemechanique Electrique")
    );
    assert_eq!(vendor(mac("00:00:54:01:02:03")), Some("Schneider Electric"));
    // "Siemens AG," in the registry: the trailing comma goes.
    assert_eq!(vendor(mac("00:1B:1B:AA:BB:CC")), Some("Siemens AG"));
    assert_eq!(
        vendor(mac("00:30:DE:00:00:01")),
        Some("WAGO Kontakttechnik GmbH")
    );
    assert_eq!(
        vendor(mac("B8:27:EB:DE:AD:01")),
        Some("Raspberry Pi Foundation")
    );
    assert_eq!(vendor(mac("24:0A:C4:11:22:33")), Some("Espressif Inc."));
    assert_eq!(vendor(mac("00:00:0C:07:AC:01")), Some("Cisco Systems, Inc"));
}

#[test]
fn most_specific_block_wins() {
    // 00:55:DA is carved into MA-M (/28) blocks.
    assert_eq!(
        vendor(mac("00:55:DA:0F:FF:FF")),
        Some("Shinko Technos co.,ltd.")
    );
    assert_eq!(vendor(mac("00:55:DA:10:00:00")), Some("KoolPOS Inc."));
    // A two-field line: the short name is all there is.
    assert_eq!(vendor(mac("00:55:DA:5A:BC:DE")), Some("Nanoleaf"));
    // MA-S (/36) inside 00:50:C2 (an IAB range).
    assert_eq!(
        vendor(mac("00:50:C2:8F:2A:BC")),
        Some("Schneider Electric GmbH")
    );
    assert_eq!(
        vendor(mac("00:1B:C5:00:0F:FF")),
        Some("Converging Systems Inc.")
    );
}

#[test]
fn long_names_are_cut_to_40_characters() {
    let v = vendor(mac("00:16:6D:00:00:00")).unwrap();
    assert_eq!(v, "Yulong Computer Telecommunication Scient");
    // Character count, not bytes.
    let v = vendor(mac("00:0B:91:00:00:00")).unwrap();
    assert_eq!(v, "Aglaia Gesellschaft für Bildverarbeitung");
    assert_eq!(v.chars().count(), 40);
}

#[test]
fn group_and_local_addresses_have_no_vendor() {
    assert_eq!(vendor(mac("01:00:5E:00:00:FB")), None); // IPv4 multicast
    assert_eq!(vendor(mac("33:33:00:00:00:01")), None); // IPv6 multicast
    assert_eq!(vendor(mac("FF:FF:FF:FF:FF:FF")), None);
    assert_eq!(vendor(mac("01:0E:CF:00:00:00")), None); // PROFINET multicast
    assert_eq!(vendor(mac("02:42:AC:11:00:02")), None); // docker, locally administered
    assert!(vendor(mac("B8:27:EB:00:00:00")).is_some());
    assert_eq!(vendor(mac("BA:27:EB:00:00:00")), None); // same OUI, local bit set
}

#[test]
fn tables_are_large_sorted_and_unique() {
    let s = oui::stats();
    assert!(s.ma_l > 30_000, "{s:?}");
    assert!(s.ma_m > 4_000, "{s:?}");
    assert!(s.ma_s > 8_000, "{s:?}");
    let all: Vec<_> = oui::assignments().collect();
    assert_eq!(all.len(), s.ma_l + s.ma_m + s.ma_s);
    for bits in [24u8, 28, 36] {
        let keys: Vec<u64> = all
            .iter()
            .filter(|a| a.bits == bits)
            .map(|a| a.prefix.iter().fold(0u64, |k, &b| (k << 8) | u64::from(b)))
            .collect();
        assert!(
            keys.windows(2).all(|w| w[0] < w[1]),
            "/{bits} not sorted and unique"
        );
        let wildcard = (1u64 << (48 - bits)) - 1;
        assert!(keys.iter().all(|k| k & wildcard == 0));
    }
    for a in &all {
        assert!(
            !a.vendor.is_empty() && a.vendor.chars().count() <= 40,
            "{a:?}"
        );
        assert_eq!(a.vendor, a.vendor.trim());
        assert!(!a.vendor.contains('\n'));
        assert_eq!(a.prefix[0] & 3, 0, "{a:?}");
        // Every entry is found by a lookup anywhere inside its block (a more specific block
        // may take some addresses, but not the block's own first and last addresses unless
        // the vendor is the same).
        let mut last = a.prefix;
        let m = a.prefix.iter().fold(0u64, |k, &b| (k << 8) | u64::from(b))
            | ((1u64 << (48 - a.bits)) - 1);
        last.copy_from_slice(&m.to_be_bytes()[2..]);
        if a.bits > 24 {
            assert_eq!(vendor(a.prefix), Some(a.vendor), "{a:?}");
            assert_eq!(vendor(last), Some(a.vendor), "{a:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Against Wireshark's manuf: an independent reading of the file.

const MANUF: &str = "/usr/share/wireshark/manuf";

fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xCBF2_9CE4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// The registry's organisation name, normalised as the generator does.
fn expected_name(fields: &[&str]) -> String {
    let mut name = fields.get(1).copied().unwrap_or("");
    for f in fields.iter().skip(2) {
        if !f.trim().is_empty() && !f.trim_start().starts_with('#') {
            name = f;
            break;
        }
    }
    let collapsed = name.split_whitespace().collect::<Vec<_>>().join(" ");
    let cut: String = collapsed.chars().take(40).collect();
    cut.trim_end_matches([' ', ',']).to_string()
}

#[test]
fn agrees_with_wireshark_manuf() {
    let Ok(raw) = std::fs::read(MANUF) else {
        eprintln!("{MANUF} not installed (apt-get install libwireshark-data): skipped");
        return;
    };
    let text = String::from_utf8(raw.clone()).unwrap();
    // (bits, key) -> name, first line wins.
    let mut reg: HashMap<(u32, u64), String> = HashMap::new();
    let mut lines = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let (addr, bits) = match fields[0].trim().split_once('/') {
            Some((a, b)) => (a, b.parse::<u32>().unwrap()),
            None => (fields[0].trim(), 0),
        };
        let digits: String = addr.chars().filter(|c| c.is_ascii_hexdigit()).collect();
        let bits = if bits == 0 {
            digits.len() as u32 * 4
        } else {
            bits
        };
        let m = u64::from_str_radix(&format!("{digits:0<12}"), 16).unwrap();
        reg.entry((bits, m >> (48 - bits)))
            .or_insert_with(|| expected_name(&fields));
        lines.push((bits, m));
    }
    let expect = |m: u64| -> Option<&String> {
        if (m >> 40) & 3 != 0 {
            return None;
        }
        [36u32, 28, 24]
            .iter()
            .find_map(|&b| reg.get(&(b, m >> (48 - b))))
            .filter(|n| !n.is_empty())
    };
    let (mut checked, mut ma_l, mut wrong) = (0usize, 0usize, Vec::new());
    for &(bits, m) in &lines {
        let last = m | ((1u64 << (48 - bits)) - 1);
        for probe in [m, last] {
            let got = vendor(probe.to_be_bytes()[2..].try_into().unwrap());
            checked += 1;
            if got != expect(probe).map(String::as_str) {
                wrong.push(format!(
                    "{probe:012X} /{bits}: got {got:?}, manuf {:?}",
                    expect(probe)
                ));
            }
        }
        ma_l += usize::from(bits == 24);
    }
    assert!(ma_l > 30_000, "only {ma_l} MA-L lines in {MANUF}");
    let same_source = oui::stats().source_fnv1a == fnv1a64(&raw);
    if same_source {
        assert!(
            wrong.is_empty(),
            "{} of {checked} lookups disagree with {MANUF}, e.g. {:?}",
            wrong.len(),
            &wrong[..wrong.len().min(5)]
        );
    } else {
        // Another Wireshark release than the tables were generated from: vendors come and go,
        // but most must still agree. Regenerate with scripts/gen-oui.py.
        eprintln!(
            "{MANUF} is not the file the tables were generated from: {} of {checked} differ",
            wrong.len()
        );
        assert!(wrong.len() * 20 < checked, "{:?}", &wrong[..5]);
    }
}
