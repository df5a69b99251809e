//! The advisories library (`edgetap::advisories`) against CISA's real CSAF 2.0 files: loading
//! all 43 and checking them against the README's table, matching devices built from the
//! advisories' own products, damaged files, and properties over arbitrary input.
//!
//! The files are read from `$EDGETAP_ADVISORIES_DIR` (default `../shared/advisories/csaf` beside the repository);
//! its `../README.md` is the table checked.

use edgetap::advisories::{
    import_dir, load_file, match_device, parse, Advisory, DeviceIdentity, Match, Version,
    VersionExpr,
};
#[path = "common/live.rs"]
mod live;

#[path = "common/api.rs"]
mod apihelp;

use live::cargo_bin;
use proptest::prelude::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

fn dir() -> PathBuf {
    std::env::var_os("EDGETAP_ADVISORIES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/advisories/csaf")
        })
}

fn all() -> &'static [Advisory] {
    static ALL: OnceLock<Vec<Advisory>> = OnceLock::new();
    ALL.get_or_init(|| {
        let d = dir();
        assert!(
            d.is_dir(),
            "{}: the CISA CSAF test files are missing (set EDGETAP_ADVISORIES_DIR)",
            d.display()
        );
        let (advs, errors) = import_dir(&d);
        assert!(errors.is_empty(), "{errors:#?}");
        advs
    })
}

fn adv(id: &str) -> &'static Advisory {
    all()
        .iter()
        .find(|a| a.id == id)
        .unwrap_or_else(|| panic!("{id} not loaded"))
}

fn dev(vendor: &str, product: &str, model: Option<&str>, firmware: Option<&str>) -> DeviceIdentity {
    DeviceIdentity {
        vendor: Some(vendor.to_owned()),
        product: Some(product.to_owned()),
        model: model.map(str::to_owned),
        firmware: firmware.map(str::to_owned),
    }
}

/// The match of advisory `id` for `d`, if any.
fn hit(id: &str, d: &DeviceIdentity) -> Option<Match> {
    match_device(all(), d)
        .into_iter()
        .find(|m| m.advisory_id == id)
}

fn confidence(id: &str, d: &DeviceIdentity) -> Option<u8> {
    hit(id, d).map(|m| m.confidence)
}

#[test]
fn loads_all_43_files() {
    let advs = all();
    assert_eq!(advs.len(), 43);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 43);
    for f in &files {
        let a = load_file(f).unwrap_or_else(|e| panic!("{e}"));
        let stem = f.file_stem().unwrap().to_string_lossy().to_uppercase();
        assert_eq!(a.id, stem);
        assert_eq!(a.source, f.file_name().unwrap().to_string_lossy());
        assert_eq!(a.publisher, "CISA");
        assert!(a.initial_release_date.len() >= 10, "{}", a.id);
        assert!(a.current_release_date >= a.initial_release_date, "{}", a.id);
        for p in &a.products {
            assert!(
                !p.vendor.is_empty() && p.vendor == p.vendor.trim(),
                "{}",
                a.id
            );
            assert!(p.version.is_some(), "{} {}", a.id, p.product_id);
        }
    }
    let count = |f: fn(&Advisory) -> usize| advs.iter().map(f).sum::<usize>();
    assert_eq!(count(|a| a.products.len()), 228);
    assert_eq!(count(|a| a.vulnerabilities.len()), 107);
    assert_eq!(
        count(|a| a.vulnerabilities.iter().map(|v| v.scores.len()).sum()),
        107
    );
    assert_eq!(
        count(|a| a.vulnerabilities.iter().map(|v| v.remediations.len()).sum()),
        527
    );
    assert_eq!(
        count(|a| a.products.iter().map(|p| p.model_numbers.len()).sum()),
        41
    );
    // The README: only known_affected is used; every product is affected by something.
    for a in advs {
        for p in &a.products {
            assert!(
                a.vulnerabilities
                    .iter()
                    .any(|v| v.known_affected.contains(&p.product_id)),
                "{} {}",
                a.id,
                p.product_id
            );
        }
        assert!(a
            .vulnerabilities
            .iter()
            .all(|v| v.fixed.is_empty() && v.known_not_affected.is_empty()));
    }
}

#[test]
fn matches_the_readme_table() {
    let readme = std::fs::read_to_string(dir().join("../README.md")).unwrap();
    let mut rows = 0;
    for line in readme.lines().filter(|l| l.starts_with("| icsa-")) {
        // | file | vendor | products | versions | CVEs | max CVSS |   (`\|` is a literal |)
        let line = line.replace("\\|", "¦");
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (file, vendor, cves, max) = (cells[1], cells[2], cells[5], cells[6]);
        let id = file.trim_end_matches(".json").to_uppercase();
        let a = adv(&id);
        assert!(
            a.vendors.iter().any(|v| v == vendor),
            "{id}: {vendor:?} not in {:?}",
            a.vendors
        );
        let want: BTreeSet<&str> = cves.split(", ").collect();
        let got: BTreeSet<&str> = a.cves().into_iter().collect();
        assert_eq!(got, want, "{id}");
        assert_eq!(format!("{:.1}", a.max_cvss().unwrap()), max, "{id}");
        rows += 1;
    }
    assert_eq!(rows, 43);
    // A few by hand, should the table change.
    let a = adv("ICSA-20-056-01");
    assert_eq!((a.cves().len(), a.max_cvss()), (8, Some(9.8)));
    let a = adv("ICSA-24-116-04");
    assert_eq!((a.cves().len(), a.max_cvss()), (16, Some(9.1)));
    assert_eq!(a.products.len(), 16);
    let a = adv("ICSA-23-325-01");
    assert_eq!((a.cves(), a.max_cvss()), (vec!["CVE-2023-4089"], Some(2.7)));
    assert_eq!(adv("ICSA-17-101-01").max_cvss(), Some(10.0));
    assert_eq!(
        adv("ICSA-21-021-03").vendors,
        vec!["Matrikon, Honeywell".to_owned()]
    );
    assert_eq!(adv("ICSA-23-227-01").vendors, vec!["Schneider Electric"]);
    // Per-product scores and remediations.
    let a = adv("ICSA-22-195-01");
    let v = &a.vulnerabilities[2];
    assert_eq!(v.cve.as_deref(), Some("CVE-2022-26649"));
    assert_eq!(v.scores[0].base_score, 9.6);
    assert_eq!(v.scores[0].products.len(), 31);
    assert!(v.scores[0].vector.starts_with("CVSS:3."));
    assert_eq!(v.remediations[0].category, "vendor_fix");
    assert_eq!(
        v.remediations[0].url.as_deref(),
        Some("https://support.industry.siemens.com/cs/ww/en/view/109811753/")
    );
    let p = a.product("CSAFPID-00010").unwrap();
    assert_eq!(p.model_numbers, vec!["6GK5204-2BC10-2AA3"]);
    assert_eq!(p.version.as_deref(), Some("vers:all/<V5.2.6"));
}

#[test]
fn every_real_expression_parses_except_free_text() {
    let mut distinct = BTreeSet::new();
    let mut unparsed = BTreeSet::new();
    for a in all() {
        for p in &a.products {
            let raw = p.version.clone().unwrap();
            if let VersionExpr::Unparsed(t) = VersionExpr::parse(&raw) {
                unparsed.insert(t);
            }
            distinct.insert(raw);
        }
    }
    assert_eq!(distinct.len(), 101);
    let want: BTreeSet<String> = [
        "<= first 2  digits of serial number are 01",
        "<= first 2  digits of serial number are 02",
        "<= first 2  digits of serial number are 04",
        "<= first 2  digits of serial number are 08",
        "<=3.1 C++ / Matlab (TC1210/TC1220/TC1300/TC1320)",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert_eq!(unparsed, want);
}

#[test]
fn store_round_trip() {
    for a in all() {
        let json = serde_json::to_string(a).unwrap();
        let back: Advisory = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, a);
    }
}

/// (advisory, vendor, product, model, affected firmware, first fixed or unaffected firmware)
type Case = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
);

#[test]
fn affected_versions_match_at_5() {
    let cases: &[Case] = &[
        (
            "ICSA-17-054-03",
            "Schneider Electric Software, LLC",
            "M340 CPUs",
            None,
            "2.8",
            "2.9",
        ),
        (
            "ICSA-17-150-01",
            "Automated Logic Corporation (ALC)",
            "ALC WebCTRL",
            None,
            "6.5",
            "6.6",
        ),
        (
            "ICSA-18-044-01",
            "WAGO",
            "750-8207",
            None,
            "02.07.07(09)",
            "02.07.07(10)",
        ),
        (
            "ICSA-18-212-02",
            "Johnson Controls Inc",
            "BCPro",
            None,
            "3.0.1",
            "3.0.2",
        ),
        (
            "ICSA-19-029-02",
            "Mitsubishi Electric",
            "MELSEC-Q",
            Some("Q04UDVCPU"),
            "20081",
            "20082",
        ),
        (
            "ICSA-19-099-03",
            "Siemens",
            "SIMATIC S7-1500 Software Controller",
            None,
            "V2.6",
            "V2.7",
        ),
        (
            "ICSA-19-239-01",
            "Delta Controls",
            "enteliBUS Manager",
            None,
            "3.40 R5 build 571800",
            "3.40 R6",
        ),
        (
            "ICSA-20-147-01",
            "Inductive Automation",
            "Ignition 8 Gateway",
            None,
            "8.0.9",
            "8.0.10",
        ),
        (
            "ICSA-20-352-02",
            "PTC",
            "KEPServerEX",
            None,
            "6.9.572.0",
            "7.0",
        ),
        (
            "ICSA-21-021-03",
            "Honeywell",
            "OPC UA Tunneller",
            None,
            "6.3.0.8200",
            "6.3.0.8233",
        ),
        (
            "ICSA-21-063-02",
            "Schneider Electric",
            "WebStation",
            None,
            "3.1",
            "3.2",
        ),
        (
            "ICSA-21-133-03",
            "OPC Foundation",
            "OPC UA .NET Standard",
            None,
            "1.4.365.47",
            "1.4.365.48",
        ),
        (
            "ICSA-21-168-02",
            "Softing",
            "OPC UA C++ SDK",
            None,
            "5.62",
            "5.65",
        ),
        ("ICSA-21-357-01", "Moxa", "MGate MB3180", None, "2.2", "2.3"),
        (
            "ICSA-22-074-01",
            "ABB",
            "OPC Server for AC 800M",
            None,
            "6.0.0-2",
            "6.0.1-0",
        ),
        (
            "ICSA-22-095-02",
            "Johnson Controls",
            "Metasys ADS",
            None,
            "11.0.2",
            "12.0",
        ),
        (
            "ICSA-22-130-06",
            "Mitsubishi Electric",
            "GT SoftGOT2000",
            None,
            "1.250L",
            "1.275M",
        ),
        (
            "ICSA-22-195-01",
            "Siemens",
            "SCALANCE X",
            Some("6GK5200-4AH00-2BA3"),
            "V5.4.1",
            "V5.5.2",
        ),
        (
            "ICSA-23-075-07",
            "Rockwell Automation",
            "Modbus TCP Server AOI",
            None,
            "2.03",
            "2.04",
        ),
        (
            "ICSA-23-131-04",
            "Siemens",
            "SIMATIC Cloud Connect 7 CC712",
            None,
            "V2.0.3",
            "V2.1",
        ),
        (
            "ICSA-23-227-01",
            "Schneider Electric",
            "EcoStruxure Process Expert",
            None,
            "2020",
            "2021",
        ),
        (
            "ICSA-23-229-03",
            "Schneider Electric",
            "PowerLogic ION9000",
            None,
            "3.9.1",
            "4.0.0",
        ),
        (
            "ICSA-23-250-02",
            "Phoenix Contact",
            "TC ROUTER 3002T-4G",
            None,
            "2.07.1",
            "2.07.2",
        ),
        (
            "ICSA-23-320-01",
            "Red Lion Controls",
            "ST-IPm-8460",
            None,
            "6.0.202",
            "6.0.201",
        ),
        ("ICSA-23-325-01", "WAGO", "PFC200", None, "FW22", "FW27"),
        (
            "ICSA-23-348-15",
            "Unitronics",
            "VisiLogic",
            None,
            "9.8.65",
            "9.9.00",
        ),
        (
            "ICSA-24-030-01",
            "Emerson",
            "Rosemount GC370XA",
            None,
            "4.1.5",
            "4.1.6",
        ),
        (
            "ICSA-24-116-04",
            "Honeywell",
            "Experion PKS",
            None,
            "R510.2 HF13",
            "R520.2_TCU4_HF2",
        ),
        (
            "ICSA-24-116-04",
            "Honeywell",
            "Safety Manager",
            None,
            "R154.1",
            "R163",
        ),
        (
            "ICSA-24-137-02",
            "Siemens",
            "SICORE Base system",
            None,
            "V1.2.9",
            "V1.3.0",
        ),
        (
            "ICSA-24-172-01",
            "Yokogawa Electric Corporation",
            "CENTUM VP",
            None,
            "R5.03.00",
            "R6.12.00",
        ),
        (
            "ICSA-24-270-02",
            "Advantech",
            "ADAM-5630",
            None,
            "2.5.1",
            "v2.5.2",
        ),
        (
            "ICSA-24-284-20",
            "Rockwell Automation",
            "ControlLogix 5580",
            None,
            "V34.011",
            "V34.014",
        ),
    ];
    for (id, vendor, product, model, affected, fixed) in cases {
        let d = dev(vendor, product, *model, Some(affected));
        let m = hit(id, &d).unwrap_or_else(|| panic!("{id}: no match for {d:?}"));
        assert_eq!(m.confidence, 5, "{id}: {m:#?}");
        assert!(!m.unverified);
        assert_eq!(m.matched_fields.first().map(String::as_str), Some("vendor"));
        assert!(m.matched_fields.iter().any(|f| f == "version"), "{id}");
        assert!(!m.cves.is_empty() && m.max_cvss.is_some(), "{id}");
        let d = dev(vendor, product, *model, Some(fixed));
        assert_eq!(hit(id, &d), None, "{id}: fixed version {fixed} matched");
    }
}

#[test]
fn model_number_match() {
    let d = dev(
        "Siemens",
        "SCALANCE X200",
        Some("6GK5 200-4AH00-2BA3"),
        Some("V5.4.1"),
    );
    let m = hit("ICSA-22-195-01", &d).unwrap();
    assert_eq!(m.confidence, 5);
    assert_eq!(m.matched_fields, vec!["vendor", "model_number", "version"]);
    assert_eq!(m.product_ids, vec!["CSAFPID-0001"]);
    assert_eq!(m.product, "SCALANCE X200-4P IRT (6GK5200-4AH00-2BA3)");
    assert_eq!(m.version_expression.as_deref(), Some("vers:all/<V5.5.2"));
    assert_eq!(m.cves.len(), 3);
    assert_eq!(m.max_cvss, Some(9.6));
    assert!(m
        .remediations
        .iter()
        .any(|r| r.details == "Update to V5.5.2 or later version"));
    assert!(!m
        .remediations
        .iter()
        .any(|r| r.details == "Update to V5.2.6 or later version"));
    // Two version branches of one product, both affecting V2.0.3: their CVEs merged.
    let d = dev(
        "Siemens",
        "Cloud Connect",
        Some("6GK1411-1AC00"),
        Some("V2.0.3"),
    );
    let m = hit("ICSA-23-131-04", &d).unwrap();
    assert_eq!((m.confidence, m.cves.len()), (5, 7));
    assert_eq!(m.product_ids, vec!["CSAFPID-0001", "CSAFPID-0002"]);
    // V1.9: only the `<V2.1` branch (all 7 CVEs; the `>=V2.0<V2.1` branch has 2).
    let d = dev(
        "Siemens",
        "Cloud Connect",
        Some("6GK1411-1AC00"),
        Some("V1.9"),
    );
    let m = hit("ICSA-23-131-04", &d).unwrap();
    assert_eq!((m.confidence, m.cves.len()), (5, 7));
    assert_eq!(m.product_ids, vec!["CSAFPID-0002"]);
    assert_eq!(m.version_expression.as_deref(), Some("vers:all/<V2.1"));
}

#[test]
fn all_versions_match_at_3() {
    for (id, vendor, product) in [
        (
            "ICSA-17-101-01",
            "Schneider Electric",
            "Modicon Modbus protocol",
        ),
        (
            "ICSA-18-086-01",
            "Schneider Electric",
            "Modicon X80 RTU BMXNOR0200H",
        ),
        ("ICSA-22-172-04", "Phoenix Contact", "ProConOS eCLR"),
        ("ICSA-23-229-03", "Schneider Electric", "PowerLogic ION8650"),
        ("ICSA-24-109-01", "Unitronics", "Vision 230"),
        ("ICSA-24-284-04", "Siemens", "SENTRON 7KM PAC3200"),
    ] {
        for fw in [None, Some("1.0"), Some("anything at all")] {
            let m = hit(id, &dev(vendor, product, None, fw)).unwrap_or_else(|| panic!("{id}"));
            assert_eq!(m.confidence, 3, "{id} {fw:?}: {m:#?}");
            assert!(!m.matched_fields.iter().any(|f| f == "version"));
        }
    }
}

#[test]
fn unknown_version_is_2_and_family_is_3() {
    let d = dev("Emerson", "GC700XA", None, None);
    let m = hit("ICSA-24-030-01", &d).unwrap();
    assert_eq!(m.confidence, 2);
    assert!(m.why.contains("unknown"), "{}", m.why);
    // The device names only the series: "SIMATIC S7-1200 CPU family version 4 (...)".
    let d = dev("Siemens AG", "SIMATIC S7-1200", None, Some("V4.2.1"));
    let m = hit("ICSA-18-282-04", &d).unwrap();
    assert_eq!(m.confidence, 3, "{m:#?}");
    assert!(m.why.contains("series"), "{}", m.why);
    let d = dev("Siemens AG", "SIMATIC S7-1200", None, Some("V4.2.3"));
    assert_eq!(hit("ICSA-18-282-04", &d), None);
    // Family and all versions: 2.
    let d = dev("Schneider Electric", "Modicon M580", None, Some("3.10"));
    assert_eq!(
        confidence("ICSA-23-227-01", &d),
        Some(3),
        "M580 CPU (...) is the product"
    );
    // "CPC80 Central Processing/Communication": more words follow the device's.
    let d = dev("Siemens", "CPC80", None, Some("V16.40"));
    assert_eq!(confidence("ICSA-24-137-02", &d), Some(3));
    let d = dev("Schneider Electric", "PowerLogic", None, None);
    assert_eq!(confidence("ICSA-23-229-03", &d), Some(2));
}

#[test]
fn other_notation_is_unverified_at_1() {
    // `<=20081` against a dotted version: a packed number is not comparable with it.
    let d = dev(
        "Mitsubishi Electric Corporation",
        "MELSEC-Q",
        Some("Q04UDVCPU"),
        Some("2.0.0.81"),
    );
    let m = hit("ICSA-19-029-02", &d).unwrap();
    assert_eq!(m.confidence, 1);
    assert!(m.unverified);
    assert!(m.why.contains("different notation"), "{}", m.why);
    assert!(!m.matched_fields.iter().any(|f| f == "version"));
    // "4.2.3" and "V4.2.3" are the same notation.
    let d = dev("Siemens", "SIMATIC S7-1200", None, Some("4.2.2"));
    assert_eq!(confidence("ICSA-18-282-04", &d), Some(3));
    // WAGO's `>FW19_up_to_and_including_FW26` against a dotted firmware version.
    let d = dev(
        "WAGO Kontakttechnik GmbH & Co. KG",
        "PFC200",
        None,
        Some("04.03.03(26)"),
    );
    assert_eq!(confidence("ICSA-23-325-01", &d), Some(1));
    // Free text in the version field.
    let d = dev("Mitsubishi Electric", "RD81OPC96", None, Some("1.0"));
    let m = hit("ICSA-20-303-02", &d).unwrap();
    assert_eq!((m.confidence, m.unverified), (1, true));
    // In range but "only when manufactured between ...".
    let d = dev(
        "Siemens",
        "SENTRON PAC3220",
        Some("7KM3220-0BA01-1DA0"),
        Some("V3.2.5"),
    );
    let m = hit("ICSA-24-074-01", &d).unwrap();
    assert_eq!(m.confidence, 1);
    assert!(m.why.contains("manufactured"), "{}", m.why);
    let d = dev(
        "Siemens",
        "SENTRON PAC3220",
        Some("7KM3220-0BA01-1DA0"),
        Some("V3.3.0"),
    );
    assert_eq!(hit("ICSA-24-074-01", &d), None);
    // TwinCAT: 3.1 Build 4024 is past `<=3.1 Build 4022.4`, but the advisory's third entry,
    // `<=3.1 C++ / Matlab (...)`, cannot be checked.
    let d = dev(
        "Beckhoff Automation GmbH & Co. KG",
        "TwinCAT",
        None,
        Some("3.1 Build 4022.2"),
    );
    assert_eq!(confidence("ICSA-18-081-02", &d), Some(5));
    let d = dev("Beckhoff", "TwinCAT", None, Some("3.1 Build 4024.4"));
    let m = hit("ICSA-18-081-02", &d).unwrap();
    assert_eq!(
        (m.confidence, m.product_ids.as_slice()),
        (1, &["CSAFPID-0003".to_owned()][..])
    );
    assert!(m.why.contains("not a version constraint"), "{}", m.why);
    // A device version that is no version at all.
    let d = dev("Moxa", "MGate MB3180", None, Some("unknown"));
    assert_eq!(confidence("ICSA-21-357-01", &d), Some(1));
}

#[test]
fn other_products_of_the_vendor_do_not_match() {
    // MB3660 is in ICSA-20-056-01 but not in ICSA-21-357-01 (MB3180/3280/3480).
    let d = dev("Moxa Inc.", "MGate MB3660", None, Some("2.0"));
    assert_eq!(confidence("ICSA-20-056-01", &d), Some(5));
    assert_eq!(confidence("ICSA-21-357-01", &d), None);
    // A Siemens PLC against Siemens' switch, meter and cloud advisories.
    let d = dev("Siemens", "SIMATIC S7-1500", None, Some("V2.6.0"));
    let ms = match_device(all(), &d);
    let ids: Vec<&str> = ms.iter().map(|m| m.advisory_id.as_str()).collect();
    assert_eq!(ids, vec!["ICSA-19-099-03"], "{ms:#?}");
    // A variant suffix is another product: X204-2 is not X204-2LD.
    let d = dev("Siemens", "SCALANCE X204-2", None, Some("V5.2.5"));
    let m = hit("ICSA-22-195-01", &d).unwrap();
    assert_eq!(m.product, "SCALANCE X204-2 (6GK5204-2BB10-2AA3)");
    assert_eq!(m.product_ids, vec!["CSAFPID-0008"]);
    // Another Rockwell product, another Honeywell product.
    let d = dev(
        "Rockwell Automation",
        "CompactLogix 5370",
        None,
        Some("V30.011"),
    );
    assert_eq!(confidence("ICSA-24-284-20", &d), None);
    let d = dev("Honeywell", "Experion HS", None, Some("R500"));
    assert_eq!(confidence("ICSA-24-116-04", &d), None);
    // The right product of another vendor.
    let d = dev(
        "Schneider Electric",
        "TwinCAT",
        None,
        Some("3.1 Build 4022.2"),
    );
    assert_eq!(confidence("ICSA-18-081-02", &d), None);
    // No vendor, or neither product nor model: nothing.
    let mut d = dev("Beckhoff", "TwinCAT", None, Some("3.1 Build 4022.2"));
    d.vendor = None;
    assert!(match_device(all(), &d).is_empty());
    let d = DeviceIdentity {
        vendor: Some("Beckhoff".into()),
        ..Default::default()
    };
    assert!(match_device(all(), &d).is_empty());
}

#[test]
fn schneider_alias() {
    // The older conversions say "Schneider Electric Software, LLC" for Modicon PLCs.
    let d = dev("Schneider Electric", "Modicon M340", None, Some("2.8"));
    let ms = match_device(all(), &d);
    let got: Vec<(&str, u8)> = ms
        .iter()
        .map(|m| (m.advisory_id.as_str(), m.confidence))
        .collect();
    assert_eq!(
        got,
        vec![
            ("ICSA-17-054-03", 5),
            ("ICSA-23-227-01", 3),
            ("ICSA-18-086-01", 3),
        ],
        "{ms:#?}"
    );
    assert!(
        ms[0].why.contains("Schneider Electric Software, LLC"),
        "{}",
        ms[0].why
    );
    for vendor in [
        "SCHNEIDER ELECTRIC",
        "Schneider Electric SE",
        "Schneider",
        "Schneider Electric Software",
    ] {
        let d = dev(vendor, "Modicon M340", None, Some("2.8"));
        assert_eq!(confidence("ICSA-17-054-03", &d), Some(5), "{vendor}");
    }
    let d = dev("Siemens", "Modicon M340", None, Some("2.8"));
    assert!(match_device(all(), &d).is_empty());
}

#[test]
fn results_are_sorted() {
    let d = dev("Moxa", "MGate MB3180", None, Some("2.0"));
    let ms = match_device(all(), &d);
    let got: Vec<(&str, u8)> = ms
        .iter()
        .map(|m| (m.advisory_id.as_str(), m.confidence))
        .collect();
    assert_eq!(got, vec![("ICSA-20-056-01", 5), ("ICSA-21-357-01", 5)]);
    assert_eq!(ms[0].max_cvss, Some(9.8));
}

// ---------------------------------------------------------------------------------------
// Damaged files
// ---------------------------------------------------------------------------------------

fn real_bytes() -> Vec<u8> {
    std::fs::read(dir().join("icsa-23-320-01.json")).unwrap()
}

fn real_json() -> serde_json::Value {
    serde_json::from_slice(&real_bytes()).unwrap()
}

/// The error for `bytes`, which must name the source.
fn error_of(bytes: &[u8]) -> String {
    match parse(bytes, "damaged.json") {
        Ok(a) => panic!("accepted a damaged document as {}", a.id),
        Err(e) => {
            assert!(e.starts_with("damaged.json: "), "{e}");
            e
        }
    }
}

fn error_of_json(v: &serde_json::Value) -> String {
    error_of(&serde_json::to_vec(v).unwrap())
}

#[test]
fn damaged_documents_are_errors() {
    let bytes = real_bytes();
    assert!(parse(&bytes, "ok.json").is_ok());
    // Truncated anywhere.
    for cut in [0, 1, 10, bytes.len() / 3, bytes.len() / 2, bytes.len() - 2] {
        let e = error_of(&bytes[..cut]);
        assert!(e.contains("not a CSAF document"), "{e}");
    }
    assert!(error_of(b"").contains("EOF"));
    assert!(error_of(b"\xff\xfe{}").contains("not a CSAF document"));
    assert!(error_of(b"[]").contains("not a CSAF document"));
    assert!(error_of(b"null").contains("not a CSAF document"));

    let mut v = real_json();
    v["document"]["category"] = "csaf_base".into();
    assert!(error_of_json(&v).contains("document.category is \"csaf_base\""));
    let mut v = real_json();
    v["document"]["category"] = "x".repeat(10_000).into();
    assert!(error_of_json(&v).len() < 300, "quotes are cut short");
    let mut v = real_json();
    v["document"]["csaf_version"] = "2.1".into();
    assert!(error_of_json(&v).contains("csaf_version"));
    let mut v = real_json();
    v["document"].as_object_mut().unwrap().remove("tracking");
    assert!(error_of_json(&v).contains("missing field `tracking`"));
    let mut v = real_json();
    v["document"]["tracking"]["id"] = " ".into();
    assert!(error_of_json(&v).contains("tracking.id is empty"));
    let mut v = real_json();
    v.as_object_mut().unwrap().remove("product_tree");
    assert!(error_of_json(&v).contains("no product_tree"));
    let mut v = real_json();
    v["product_tree"]["branches"] = serde_json::json!([]);
    assert!(error_of_json(&v).contains("no product"));
    let mut v = real_json();
    v["vulnerabilities"][0]["cve"] = 5.into();
    assert!(error_of_json(&v).contains("invalid type"));
    let mut v = real_json();
    v["vulnerabilities"][0]["scores"][0]["cvss_v3"]["baseScore"] = 11.5.into();
    assert!(error_of_json(&v).contains("baseScore 11.5"));
    let mut v = real_json();
    v["vulnerabilities"][1]["product_status"]["known_affected"][0] = "CSAFPID-9999".into();
    let e = error_of_json(&v);
    assert!(e.contains("undefined product_id \"CSAFPID-9999\""), "{e}");
    let mut v = real_json();
    v["vulnerabilities"][0]["remediations"][0]["group_ids"] = serde_json::json!(["G1"]);
    assert!(error_of_json(&v).contains("undefined group_id"));
    let mut v = real_json();
    let first = v["product_tree"]["branches"][0]["branches"][0].clone();
    v["product_tree"]["branches"][0]["branches"]
        .as_array_mut()
        .unwrap()
        .push(first);
    assert!(error_of_json(&v).contains("defined twice"));
    let mut v = real_json();
    v["product_tree"]["relationships"] = serde_json::json!([{
        "category": "installed_on",
        "product_reference": "CSAFPID-0001",
        "relates_to_product_reference": "CSAFPID-4242",
        "full_product_name": {"name": "x on y", "product_id": "CSAFPID-R1"}
    }]);
    assert!(error_of_json(&v).contains("CSAFPID-4242"));
}

#[test]
fn deeply_nested_garbage_is_an_error() {
    // Arrays nested far beyond serde_json's recursion limit.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    error_of(deep.as_bytes());
    let in_document = format!("{{\"document\":{deep}}}");
    error_of(in_document.as_bytes());
    // The same in a field CSAF does not define, of an otherwise valid document: serde_json
    // skips it without recursing, and the document is read.
    let real = String::from_utf8(real_bytes()).unwrap();
    let skipped = real.replacen('{', &format!("{{\"x\":{deep},"), 1);
    assert_eq!(
        parse(skipped.as_bytes(), "x.json").unwrap().id,
        "ICSA-23-320-01"
    );
    let deep = format!(
        "{{\"document\":{}1{}}}",
        "{\"a\":".repeat(50_000),
        "}".repeat(50_000)
    );
    error_of(deep.as_bytes());
    // Product branches nested deeper than serde's limit allows.
    let mut v = real_json();
    let mut b = serde_json::json!({"category": "product_version", "name": "1.0",
        "product": {"name": "deep", "product_id": "CSAFPID-DEEP"}});
    for i in 0..200 {
        b = serde_json::json!({"category": "product_family", "name": format!("f{i}"), "branches": [b]});
    }
    v["product_tree"]["branches"] = serde_json::json!([b]);
    error_of_json(&v);
    // Within the limit, a deep tree is read.
    let mut v = real_json();
    let mut b = serde_json::json!({"category": "product_version", "name": "1.0",
        "product": {"name": "deep", "product_id": "CSAFPID-0001"}});
    for i in 0..20 {
        b = serde_json::json!({"category": "product_family", "name": format!("f{i}"), "branches": [b]});
    }
    b = serde_json::json!({"category": "vendor", "name": "Red Lion", "branches": [b]});
    v["product_tree"]["branches"] = serde_json::json!([b]);
    for vuln in v["vulnerabilities"].as_array_mut().unwrap() {
        vuln["product_status"]["known_affected"] = serde_json::json!(["CSAFPID-0001"]);
        vuln["scores"][0]["products"] = serde_json::json!(["CSAFPID-0001"]);
        for r in vuln["remediations"].as_array_mut().unwrap() {
            r["product_ids"] = serde_json::json!(["CSAFPID-0001"]);
        }
    }
    let a = parse(&serde_json::to_vec(&v).unwrap(), "deep.json").unwrap();
    assert_eq!(a.products.len(), 1);
    assert_eq!(a.products[0].family.as_deref(), Some("f0"));
    assert_eq!(a.products[0].vendor, "Red Lion");
}

#[test]
fn relationships_and_groups_are_read() {
    let mut v = real_json();
    v["product_tree"]["relationships"] = serde_json::json!([{
        "category": "installed_on",
        "product_reference": "CSAFPID-0001",
        "relates_to_product_reference": "CSAFPID-0002",
        "full_product_name": {"name": "ST-IPm-8460 on ST-IPm-6350", "product_id": "CSAFPID-R1"}
    }]);
    v["product_tree"]["product_groups"] = serde_json::json!([
        {"group_id": "G1", "product_ids": ["CSAFPID-0001", "CSAFPID-R1"]}
    ]);
    v["vulnerabilities"][0]["product_status"]["known_affected"] = serde_json::json!(["CSAFPID-R1"]);
    v["vulnerabilities"][0]["product_status"]["fixed"] = serde_json::json!(["CSAFPID-0002"]);
    v["vulnerabilities"][0]["remediations"][0]["group_ids"] = serde_json::json!(["G1"]);
    let a = parse(&serde_json::to_vec(&v).unwrap(), "rel.json").unwrap();
    let p = a.product("CSAFPID-R1").unwrap();
    assert_eq!(p.name, "ST-IPm-8460");
    assert_eq!(p.version.as_deref(), Some(">=6.0.202"));
    assert_eq!(p.relationship.as_ref().unwrap().category, "installed_on");
    assert!(a.vulnerabilities[0].remediations[0]
        .product_ids
        .contains(&"CSAFPID-R1".to_owned()));
    assert_eq!(a.vulnerabilities[0].fixed, vec!["CSAFPID-0002"]);
}

#[test]
fn import_dir_reports_bad_files_and_goes_on() {
    let tmp = std::env::temp_dir().join(format!("edgetap-advisories-{}", std::process::id()));
    let sub = tmp.join("2024");
    std::fs::create_dir_all(&sub).unwrap();
    let bytes = real_bytes();
    std::fs::write(sub.join("icsa-23-320-01.json"), &bytes).unwrap();
    std::fs::write(tmp.join("truncated.json"), &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(tmp.join("wrong.JSON"), b"{\"document\": 1}").unwrap();
    std::fs::write(tmp.join("notes.txt"), b"not json, not read").unwrap();
    std::fs::write(tmp.join("icsa-23-320-01.json.sha512"), b"x").unwrap();
    let (advs, mut errors) = import_dir(&tmp);
    errors.sort();
    assert_eq!(advs.len(), 1);
    assert_eq!(advs[0].id, "ICSA-23-320-01");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0].contains("truncated.json: not a CSAF document"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].contains("wrong.JSON: not a CSAF document"),
        "{}",
        errors[1]
    );
    let e = load_file(tmp.join("missing.json")).unwrap_err();
    assert!(e.contains("missing.json"), "{e}");
    let e = load_file(&tmp).unwrap_err();
    assert!(e.contains("not a regular file"), "{e}");
    let (advs, errors) = import_dir(tmp.join("nope"));
    assert!(advs.is_empty());
    assert!(errors[0].contains("cannot read directory"), "{errors:?}");
    std::fs::remove_dir_all(&tmp).unwrap();
}

// ---------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn version_parsing_never_panics(a in ".{0,80}", b in "[<>=|vVrRxX*_ .()0-9a-cA-C-]{0,40}") {
        for s in [&a, &b] {
            let e = VersionExpr::parse(s);
            let _ = e.to_string();
            let _ = e.contains_str(&a);
            let _ = e.contains_str(&b);
            if let Some(v) = Version::parse(s) {
                let _ = e.contains(&v);
                let _ = v.compare(&v);
            }
        }
        if let (Some(x), Some(y)) = (Version::parse(&a), Version::parse(&b)) {
            prop_assert_eq!(x.compare(&y).map(|o| o.reverse()), y.compare(&x));
        }
    }

    #[test]
    fn comparison_is_antisymmetric(a in "[vVrR]?[0-9]{1,3}(\\.[0-9]{1,3}){0,3}( ?(SP|Upd|HF|build|beta|rc|[a-cA-C])[0-9]{0,2})?",
                                   b in "[vVrR]?[0-9]{1,3}(\\.[0-9]{1,3}){0,3}( ?(SP|Upd|HF|build|beta|rc|[a-cA-C])[0-9]{0,2})?") {
        let (x, y) = (Version::parse(&a).unwrap(), Version::parse(&b).unwrap());
        prop_assert_eq!(x.compare(&y).map(|o| o.reverse()), y.compare(&x));
        prop_assert_eq!(x.compare(&x), Some(std::cmp::Ordering::Equal));
    }

    #[test]
    fn matching_never_panics(vendor in ".{0,30}", product in ".{0,40}", model in ".{0,20}", fw in ".{0,20}") {
        let d = DeviceIdentity { vendor: Some(vendor), product: Some(product), model: Some(model), firmware: Some(fw) };
        for m in match_device(all(), &d) {
            prop_assert!((1..=5).contains(&m.confidence));
        }
    }

    #[test]
    fn csaf_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse(&bytes, "fuzz.json");
    }

    #[test]
    fn damaged_real_file_never_panics(cut in 0usize..20_000, at in 0usize..20_000, byte in any::<u8>()) {
        let mut bytes = real_bytes();
        if let Some(b) = bytes.get_mut(at) {
            *b = byte;
        }
        bytes.truncate(cut.max(1));
        let _ = parse(&bytes, "fuzz.json");
    }
}

/// The real binary: `advisories import` keeps the files in a state directory, `advisories
/// list` shows them, and `replay --state` matches the site scenario's devices: the Modicon
/// M340 (firmware v3.10, from Modbus device identification) gets the advisories for all its
/// versions at confidence 3 and not ICSA-17-054-03 (M340 affected `< 2.9`, which v3.10 is
/// past); the WAGO PFC200 (03.10.08) gets only the one whose FW notation it
/// cannot be compared with, at 1. A folder with a bad file imports the rest and exits 2.
#[test]
fn binary_imports_lists_and_matches_the_scenario() {
    let bin = cargo_bin("edgetap", "edgetap");
    let gen = cargo_bin("pcapgen", "pcapgen");
    let tmp = std::env::temp_dir().join(format!("edgetap-adv-e2e-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("{e}"));
    let state = tmp.join("state");
    let out = Command::new(&bin)
        .args(["advisories", "import"])
        .arg(dir())
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("imported 43 advisories"), "{err}");
    let out = Command::new(&bin)
        .args(["advisories", "list", "--state"])
        .arg(&state)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let list = String::from_utf8_lossy(&out.stdout);
    assert_eq!(list.lines().count(), 43, "{list}");
    assert!(
        list.contains("ICSA-23-227-01\tCVE-2022-45789\t8.1"),
        "{list}"
    );
    // The scenario's devices.
    let scen = tmp.join("scenario");
    let st = Command::new(&gen)
        .args(["scenario", "--out-dir"])
        .arg(&scen)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(st.success());
    let inv = tmp.join("inventory.json");
    let csv = tmp.join("inventory.csv");
    for path in [&inv, &csv] {
        let out = Command::new(&bin)
            .arg("replay")
            .arg("--state")
            .arg(&state)
            .arg("--alerts")
            .arg(tmp.join("alerts.json"))
            .arg("--inventory")
            .arg(path)
            .arg(scen.join("base.pcap"))
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let devs: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(&inv).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    let by_model = |m: &str| {
        devs.iter()
            .find(|d| d["identity"]["model"]["value"] == m)
            .unwrap_or_else(|| panic!("no device with model {m}"))
    };
    let ids = |d: &Value| -> Vec<(String, u64)> {
        d["advisories"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                (
                    m["advisory_id"].as_str().unwrap_or("").to_string(),
                    m["confidence"].as_u64().unwrap_or(0),
                )
            })
            .collect()
    };
    let m340 = ids(by_model("BMX P34 2020"));
    assert!(m340.contains(&("ICSA-23-227-01".into(), 3)), "{m340:?}");
    assert!(!m340.iter().any(|(a, _)| a == "ICSA-17-054-03"), "{m340:?}");
    let wago = ids(by_model("750-8212"));
    assert!(
        !wago.is_empty() && wago.iter().all(|(_, c)| *c == 1),
        "{wago:?}"
    );
    assert!(!wago.iter().any(|(a, _)| a == "ICSA-18-044-01"), "{wago:?}");
    let text = std::fs::read_to_string(&csv).unwrap_or_default();
    assert!(
        text.lines()
            .any(|l| l.contains("BMX P34 2020") && l.contains("ICSA-23-227-01")),
        "{text}"
    );
    // serve over that state: /metrics counts what the device records show.
    let affected = devs
        .iter()
        .filter(|d| d["advisories"].as_array().is_some_and(|a| !a.is_empty()))
        .count();
    let mut by_conf = [0usize; 5];
    for d in &devs {
        for (_, c) in ids(d) {
            by_conf[(c.clamp(1, 5) - 1) as usize] += 1;
        }
    }
    assert!(affected >= 2, "{affected}");
    let s = apihelp::Serve::start(&state, "127.0.0.1", None);
    let metrics = s.get("/metrics").text();
    let mut want = vec![
        "edgetap_advisories_imported 43".to_string(),
        format!("edgetap_devices_with_advisories {affected}"),
    ];
    for (i, n) in by_conf.iter().enumerate() {
        want.push(format!(
            "edgetap_advisory_matches{{confidence=\"{}\"}} {n}",
            i + 1
        ));
    }
    for w in want {
        assert!(metrics.contains(&w), "{w} not in /metrics");
    }
    let stats = s.get("/api/v1/stats").json();
    assert_eq!(stats["advisories"]["devices_affected"], affected as u64);
    assert!(s.stop().success());
    // A folder with one bad file: the good ones are imported, the bad one named, exit 2.
    let mixed = tmp.join("mixed");
    std::fs::create_dir_all(&mixed).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        dir().join("icsa-21-133-03.json"),
        mixed.join("icsa-21-133-03.json"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(mixed.join("broken.json"), b"{\"document\": {")
        .unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(&bin)
        .args(["advisories", "import"])
        .arg(&mixed)
        .arg("--state")
        .arg(tmp.join("state2"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("imported 1 advisories") && err.contains("broken.json"),
        "{err}"
    );
}
