//! The passive fingerprints (`src/fingerprint/`) against tshark 4.0 and p0f 3.09b, on every
//! SYN, SYN+ACK, ClientHello, ServerHello and DHCP message of the shared captures
//! (`../shared/pcaps`, all of them) and of `pcaps/fingerprint/tls-hellos.pcap` (the shared
//! set holds no TLS; that capture is made by `tests/data/make_tls_hello.sh`).
//!
//! The captures are concatenated with `mergecap -a` into one temporary file that tshark reads
//! once for the fields (`-T fields`) and once for the IP and TCP header bytes of the SYNs
//! (`-T json -x`); `capinfos` gives each file's frame range. tshark, mergecap and capinfos are
//! required: without them the tests fail, they do not skip.
//!
//! - TCP: per SYN and SYN+ACK, the parsed fields equal tshark's (TTL, window, MSS, window
//!   scale, SACK permitted, timestamps, option kinds in order, EOL padding, DF, payload
//!   length, ports, SYN+ACK or SYN); per capture, the set of p0f signatures equals the set
//!   p0f 3.09b printed (`P0F` below, from `p0f -r FILE`; a SYN+ACK is signed with the MSS of
//!   its SYN, as p0f does, and only when that SYN was seen).
//! - TLS: per ClientHello, read from the client's reassembled stream: tshark's JA3 string
//!   (`tls.handshake.ja3_full`), SNI, ciphers, extensions, ALPN, supported versions and
//!   groups; JA4 is compared with one computed here, independently, from tshark's lists by the
//!   procedure of FoxIO's JA4.md. Per ServerHello: version (supported_versions or the hello's)
//!   and cipher.
//! - DHCP: per message, the options after the cookie: message type, parameter request list,
//!   vendor class, hostname, maximum message size, client identifier type.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use edgetap_dissectors::fingerprint::dhcp::dhcp_options;
use edgetap_dissectors::fingerprint::tcp::{fingerprint, IpFacts, TcpError};
use edgetap_dissectors::fingerprint::tls::{self, client_hello, server_hello};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn hex(s: &str) -> Vec<u8> {
    assert_eq!(s.len() % 2, 0, "odd hex {s}");
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// `0x1a2b` or decimal.
fn num(s: &str) -> u64 {
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap(),
        None => s.parse().unwrap_or_else(|_| panic!("not a number: {s:?}")),
    }
}

/// A tshark field with several occurrences (`;`-joined), as numbers.
fn nums(s: &str) -> Vec<u64> {
    if s.is_empty() {
        return Vec::new();
    }
    s.split(';').map(num).collect()
}

fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| {
        panic!("{cmd} is needed for this test (Debian: apt-get install tshark): {e}")
    });
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Every capture: the shared ones, then ours. (name, path)
fn captures() -> Vec<(String, PathBuf)> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let shared = manifest.join("../../shared/pcaps");
    assert!(shared.is_dir(), "{} is missing", shared.display());
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
            {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(&shared, &mut files);
    files.sort();
    let mut out: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|p| {
            let name = p.strip_prefix(&shared).unwrap().display().to_string();
            (name, p)
        })
        .collect();
    assert!(out.len() >= 90, "only {} shared captures", out.len());
    let ours = manifest.join("../pcaps/fingerprint/tls-hellos.pcap");
    assert!(ours.is_file(), "{} is missing", ours.display());
    out.push(("fingerprint/tls-hellos.pcap".to_string(), ours));
    out
}

const FILTER: &str =
    "(tcp.flags.syn==1 && !icmp && !icmpv6) || tls.handshake.type==1 || tls.handshake.type==2 || dhcp";

const FIELDS: &[&str] = &[
    "frame.number",
    "ip.ttl",
    "ipv6.hlim",
    "tcp.window_size_value",
    "tcp.options.mss_val",
    "tcp.options.wscale.shift",
    "tcp.options.sack_perm",
    "tcp.options.timestamp.tsval",
    "tcp.options.timestamp.tsecr",
    "tcp.option_kind",
    "ip.flags.df",
    "tcp.len",
    "tcp.flags",
    "tcp.srcport",
    "tcp.dstport",
    "ip.src",
    "ipv6.src",
    "ip.dst",
    "ipv6.dst",
    "tcp.hdr_len",
    "tcp.stream",
    "tls.handshake.type",
    "tls.handshake.ja3_full",
    "tls.handshake.extensions_server_name",
    "tls.handshake.ciphersuite",
    "tls.handshake.extension.type",
    "tls.handshake.sig_hash_alg",
    "tls.handshake.extensions_alpn_str",
    "tls.handshake.extensions.supported_version",
    "tls.handshake.version",
    "tls.handshake.extensions_supported_group",
    "tls.handshake.extensions_ec_point_format",
    "udp.payload",
    "dhcp.option.dhcp",
    "dhcp.option.request_list_item",
    "dhcp.option.vendor_class_id",
    "dhcp.option.hostname",
    "dhcp.option.dhcp_max_message_size",
    "dhcp.client_id.type",
    "dhcp.hw.type",
];

/// One row of tshark fields, by name.
struct Row(HashMap<&'static str, String>);

impl Row {
    fn get(&self, f: &str) -> &str {
        self.0.get(f).map(String::as_str).unwrap_or("")
    }
}

struct Data {
    /// (capture name, first frame, last frame) in the merged file.
    ranges: Vec<(String, u64, u64)>,
    rows: Vec<Row>,
    /// Frame -> IP header (+ options) and TCP header bytes of each SYN.
    syn_bytes: HashMap<u64, Vec<u8>>,
    /// (stream, source port) -> payload segments (relative seq, bytes) of TLS streams.
    segments: HashMap<(u64, u64), BTreeMap<u64, Vec<u8>>>,
}

impl Data {
    fn capture(&self, frame: u64) -> &str {
        self.ranges
            .iter()
            .find(|(_, a, b)| (*a..=*b).contains(&frame))
            .map(|(n, _, _)| n.as_str())
            .unwrap()
    }

    /// The frame's number within its own capture.
    fn local_frame(&self, frame: u64) -> u64 {
        let (_, a, _) = self
            .ranges
            .iter()
            .find(|(_, a, b)| (*a..=*b).contains(&frame))
            .unwrap();
        frame - a + 1
    }
}

fn data() -> &'static Data {
    static DATA: OnceLock<Data> = OnceLock::new();
    DATA.get_or_init(load)
}

fn load() -> Data {
    let caps = captures();
    let merged = std::env::temp_dir().join(format!("edgetap-fp-{}.pcapng", std::process::id()));
    let merged_s = merged.to_str().unwrap().to_string();
    let mut args = vec!["-a", "-w", &merged_s];
    let paths: Vec<String> = caps.iter().map(|(_, p)| p.display().to_string()).collect();
    args.extend(paths.iter().map(String::as_str));
    run("mergecap", &args);

    // Frame ranges per capture.
    let mut cargs = vec!["-c", "-M", "-T", "-r"];
    cargs.extend(paths.iter().map(String::as_str));
    let counts = run("capinfos", &cargs);
    let mut ranges = Vec::new();
    let mut next = 1u64;
    for ((name, _), line) in caps.iter().zip(counts.lines()) {
        let n: u64 = line.rsplit('\t').next().unwrap().trim().parse().unwrap();
        ranges.push((name.clone(), next, next + n - 1));
        next += n;
    }
    assert_eq!(ranges.len(), caps.len());

    let mut fargs = vec![
        "-n",
        "-r",
        &merged_s,
        "-Y",
        FILTER,
        "-T",
        "fields",
        "-E",
        "separator=/t",
        "-E",
        "occurrence=a",
        "-E",
        "aggregator=;",
    ];
    for f in FIELDS {
        fargs.push("-e");
        fargs.push(f);
    }
    let rows: Vec<Row> = run("tshark", &fargs)
        .lines()
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), FIELDS.len(), "{l}");
            Row(FIELDS
                .iter()
                .zip(cols)
                .map(|(f, v)| (*f, v.to_string()))
                .collect())
        })
        .collect();

    // Header bytes of the SYNs, from the JSON of the same packets.
    let json = run(
        "tshark",
        &[
            "-n",
            "-r",
            &merged_s,
            "-Y",
            "tcp.flags.syn==1 && !icmp && !icmpv6",
            "-T",
            "json",
            "-x",
            "--no-duplicate-keys",
        ],
    );
    let packets: Vec<Value> = serde_json::from_str(&json).unwrap();
    let mut syn_bytes = HashMap::new();
    for p in &packets {
        let layers = &p["_source"]["layers"];
        let frame = num(layers["frame"]["frame.number"].as_str().unwrap());
        let raw = |k: &str| -> Option<String> {
            let v = layers.get(k)?;
            // [hex, offset, len, mask, type], or a list of those (tunnels).
            let first = if v[0].is_array() { &v[0] } else { v };
            Some(first[0].as_str()?.to_string())
        };
        let ip = raw("ip_raw").or_else(|| raw("ipv6_raw")).unwrap();
        let tcp = raw("tcp_raw").unwrap();
        syn_bytes.insert(frame, hex(&(ip + &tcp)));
    }

    // TLS streams' payloads.
    let tls_streams: BTreeSet<u64> = rows
        .iter()
        .filter(|r| !r.get("tls.handshake.type").is_empty())
        .map(|r| num(r.get("tcp.stream")))
        .collect();
    let mut segments: HashMap<(u64, u64), BTreeMap<u64, Vec<u8>>> = HashMap::new();
    if !tls_streams.is_empty() {
        let filter = tls_streams
            .iter()
            .map(|s| format!("tcp.stream=={s}"))
            .collect::<Vec<_>>()
            .join(" || ");
        let filter = format!("tcp.len>0 && ({filter})");
        let out = run(
            "tshark",
            &[
                "-n",
                "-r",
                &merged_s,
                "-Y",
                &filter,
                "-T",
                "fields",
                "-E",
                "separator=/t",
                "-e",
                "tcp.stream",
                "-e",
                "tcp.srcport",
                "-e",
                "tcp.seq",
                "-e",
                "tcp.payload",
            ],
        );
        for l in out.lines() {
            let c: Vec<&str> = l.split('\t').collect();
            segments
                .entry((num(c[0]), num(c[1])))
                .or_default()
                .entry(num(c[2]))
                .or_insert_with(|| hex(c[3]));
        }
    }
    let _ = std::fs::remove_file(&merged);
    Data {
        ranges,
        rows,
        syn_bytes,
        segments,
    }
}

/// The first bytes of one direction of a TCP stream (segments from relative seq 1, in order,
/// up to the first hole).
fn stream_bytes(d: &Data, stream: u64, src_port: u64) -> Vec<u8> {
    let mut out = Vec::new();
    let mut next = 1u64;
    for (&seq, bytes) in d.segments.get(&(stream, src_port)).into_iter().flatten() {
        if seq > next {
            break;
        }
        let skip = (next - seq) as usize;
        if skip < bytes.len() {
            out.extend_from_slice(&bytes[skip..]);
            next = seq + bytes.len() as u64;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// TCP

#[test]
fn syn_and_syn_ack_agree_with_tshark_and_p0f() {
    let d = data();
    let (mut syns, mut syn_acks, mut not_syn) = (0usize, 0usize, 0usize);
    let mut bad = Vec::new();
    let mut sigs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut syn_mss: HashMap<(String, String, String), u16> = HashMap::new();
    for r in &d.rows {
        let flags = r.get("tcp.flags");
        if flags.is_empty() || num(flags) & 0x02 == 0 {
            continue;
        }
        let flags = num(flags);
        let frame = num(r.get("frame.number"));
        let cap = d.capture(frame).to_string();
        let bytes = &d.syn_bytes[&frame];
        let (ip, tcp) = IpFacts::parse(bytes).unwrap_or_else(|| panic!("{cap} frame {frame}"));
        let res = fingerprint(tcp, &ip);
        if flags & 0x05 != 0 {
            // SYN with FIN or RST: p0f ignores them, and so does the parser.
            assert_eq!(res, Err(TcpError::NotSyn), "{cap} frame {frame}");
            not_syn += 1;
            continue;
        }
        let fp = res.unwrap_or_else(|e| panic!("{cap} frame {frame}: {e:?}"));
        let mut diff = Vec::new();
        let mut check = |what: &str, ours: String, theirs: String| {
            if ours != theirs {
                diff.push(format!("{what}: ours {ours} tshark {theirs}"));
            }
        };
        let ttl = [r.get("ip.ttl"), r.get("ipv6.hlim")].concat();
        check("ttl", fp.ttl.to_string(), ttl);
        check(
            "window",
            fp.window.to_string(),
            r.get("tcp.window_size_value").into(),
        );
        check(
            "mss",
            fp.mss.map(|m| m.to_string()).unwrap_or_default(),
            r.get("tcp.options.mss_val").into(),
        );
        check(
            "wscale",
            fp.wscale.map(|m| m.to_string()).unwrap_or_default(),
            r.get("tcp.options.wscale.shift").into(),
        );
        check(
            "sack_permitted",
            fp.sack_permitted.to_string(),
            (!r.get("tcp.options.sack_perm").is_empty()).to_string(),
        );
        check(
            "timestamps",
            fp.timestamps
                .map(|(a, b)| format!("{a};{b}"))
                .unwrap_or_default(),
            [
                r.get("tcp.options.timestamp.tsval"),
                r.get("tcp.options.timestamp.tsecr"),
            ]
            .join(";")
            .trim_matches(';')
            .to_string(),
        );
        let kinds = nums(r.get("tcp.option_kind"));
        if !fp
            .quirks
            .contains(edgetap_dissectors::fingerprint::tcp::Quirks::OPT_BAD)
            && !fp
                .quirks
                .contains(edgetap_dissectors::fingerprint::tcp::Quirks::OPT_EOL_NZ)
        {
            // tshark lists each zero byte after an EOL as another EOL.
            let eol = kinds.iter().position(|&k| k == 0);
            let (layout, pad) = match eol {
                Some(i) => (&kinds[..=i], kinds.len() - i - 1),
                None => (&kinds[..], 0),
            };
            check(
                "options",
                format!("{:?}", fp.options.kinds()),
                format!("{:?}", layout.iter().map(|&k| k as u8).collect::<Vec<_>>()),
            );
            check("eol pad", fp.options.eol_pad.to_string(), pad.to_string());
        }
        check(
            "df",
            fp.quirks
                .contains(edgetap_dissectors::fingerprint::tcp::Quirks::DF)
                .to_string(),
            (r.get("ip.flags.df") == "1").to_string(),
        );
        check(
            "payload",
            fp.payload_len.to_string(),
            r.get("tcp.len").into(),
        );
        check(
            "syn_ack",
            fp.syn_ack.to_string(),
            (flags & 0x10 != 0).to_string(),
        );
        check(
            "src port",
            fp.src_port.to_string(),
            r.get("tcp.srcport").into(),
        );
        check(
            "dst port",
            fp.dst_port.to_string(),
            r.get("tcp.dstport").into(),
        );
        if !diff.is_empty() {
            bad.push(format!("{cap} frame {frame}: {}", diff.join("; ")));
        }

        let src = format!(
            "{}{}:{}",
            r.get("ip.src"),
            r.get("ipv6.src"),
            r.get("tcp.srcport")
        );
        let dst = format!(
            "{}{}:{}",
            r.get("ip.dst"),
            r.get("ipv6.dst"),
            r.get("tcp.dstport")
        );
        if fp.syn_ack {
            syn_acks += 1;
            // p0f signs a SYN+ACK only within a flow whose SYN it saw (and still in the
            // handshake: see P0F_UNSIGNED).
            let unsigned = P0F_UNSIGNED.contains(&(cap.as_str(), d.local_frame(frame)));
            if let Some(&m) = syn_mss.get(&(cap.clone(), dst, src)).filter(|_| !unsigned) {
                let s = fp.signature(Some(m));
                sigs.entry(cap).or_default().insert(format!("s {s}"));
            }
        } else {
            syns += 1;
            syn_mss.insert((cap.clone(), src, dst), fp.mss.unwrap_or(0));
            let s = fp.signature(None);
            sigs.entry(cap).or_default().insert(format!("c {s}"));
        }
    }
    eprintln!(
        "TCP: {syns} SYN and {syn_acks} SYN+ACK compared with tshark, {} differ; \
         {not_syn} SYN+FIN/RST refused",
        bad.len()
    );
    assert!(syns > 2900 && syn_acks > 1800, "too few: {syns} {syn_acks}");
    assert!(
        bad.is_empty(),
        "{} disagree:\n{}",
        bad.len(),
        bad[..bad.len().min(30)].join("\n")
    );

    let mut p0f_bad = Vec::new();
    let expected: BTreeMap<&str, BTreeSet<String>> = P0F
        .iter()
        .map(|(n, s)| (*n, s.iter().map(|x| x.to_string()).collect()))
        .collect();
    for name in expected
        .keys()
        .copied()
        .chain(sigs.keys().map(String::as_str))
    {
        let want = expected.get(name).cloned().unwrap_or_default();
        let got = sigs.get(name).cloned().unwrap_or_default();
        if want != got {
            p0f_bad.push(format!(
                "{name}:\n  p0f only: {:?}\n  ours only: {:?}",
                want.difference(&got).collect::<Vec<_>>(),
                got.difference(&want).collect::<Vec<_>>()
            ));
        }
    }
    p0f_bad.dedup();
    let n: usize = expected.values().map(BTreeSet::len).sum();
    eprintln!(
        "p0f: {n} distinct signatures over {} captures, {} captures differ",
        expected.len(),
        p0f_bad.len()
    );
    assert!(p0f_bad.is_empty(), "{}", p0f_bad.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// TLS

fn hex4(v: u64) -> String {
    format!("{v:04x}")
}

fn grease(v: u64) -> bool {
    tls::is_grease(v as u16)
}

fn sha12(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// JA4 by FoxIO's JA4.md, from tshark's fields.
fn ja4_from_tshark(r: &Row) -> String {
    let ciphers: Vec<u64> = nums(r.get("tls.handshake.ciphersuite"))
        .into_iter()
        .filter(|&c| !grease(c))
        .collect();
    let exts: Vec<u64> = nums(r.get("tls.handshake.extension.type"))
        .into_iter()
        .filter(|&e| !grease(e))
        .collect();
    let versions: Vec<u64> = nums(r.get("tls.handshake.extensions.supported_version"))
        .into_iter()
        .filter(|&v| !grease(v))
        .collect();
    let version = versions
        .iter()
        .copied()
        .max()
        .unwrap_or_else(|| num(r.get("tls.handshake.version").split(';').next().unwrap()));
    let v = match version {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        _ => "00",
    };
    let sni = if exts.contains(&0) { 'd' } else { 'i' };
    let alpn = r.get("tls.handshake.extensions_alpn_str");
    let first = alpn.split(';').next().unwrap_or("");
    let alpn = match (first.chars().next(), first.chars().last()) {
        (Some(a), Some(b)) if a.is_ascii_alphanumeric() && b.is_ascii_alphanumeric() => {
            format!("{a}{b}")
        }
        (Some(_), Some(_)) => panic!("non-alphanumeric ALPN {first:?}: not in these captures"),
        _ => "00".into(),
    };
    let mut sc = ciphers.clone();
    sc.sort_unstable();
    let b = if sc.is_empty() {
        "000000000000".into()
    } else {
        sha12(&sc.iter().map(|&c| hex4(c)).collect::<Vec<_>>().join(","))
    };
    let mut se: Vec<u64> = exts
        .iter()
        .copied()
        .filter(|&e| e != 0 && e != 0x10)
        .collect();
    se.sort_unstable();
    let sigs: Vec<String> = nums(r.get("tls.handshake.sig_hash_alg"))
        .into_iter()
        .map(hex4)
        .collect();
    let c = if se.is_empty() {
        "000000000000".into()
    } else {
        let mut s = se.iter().map(|&e| hex4(e)).collect::<Vec<_>>().join(",");
        if !sigs.is_empty() {
            s.push('_');
            s.push_str(&sigs.join(","));
        }
        sha12(&s)
    };
    format!(
        "t{v}{sni}{:02}{:02}{alpn}_{b}_{c}",
        ciphers.len().min(99),
        exts.len().min(99)
    )
}

fn has_type(r: &Row, t: u64) -> bool {
    nums(r.get("tls.handshake.type")).contains(&t)
}

#[test]
fn client_and_server_hellos_agree_with_tshark() {
    let d = data();
    let mut hellos = 0;
    let mut reassembled = 0;
    let mut deprecated_offered = 0;
    let mut bad = Vec::new();
    for r in d.rows.iter().filter(|r| has_type(r, 1)) {
        let frame = num(r.get("frame.number"));
        let cap = d.capture(frame);
        let bytes = stream_bytes(d, num(r.get("tcp.stream")), num(r.get("tcp.srcport")));
        let mut scratch = [0u8; 16384];
        let h = client_hello(&bytes, &mut scratch)
            .unwrap_or_else(|e| panic!("{cap} frame {frame}: {e:?}"));
        hellos += 1;
        reassembled += usize::from(h.reassembled);
        deprecated_offered += usize::from(h.offers_deprecated());
        let mut diff = Vec::new();
        let mut check = |what: &str, ours: String, theirs: String| {
            if ours != theirs {
                diff.push(format!("{what}: ours {ours:?} tshark {theirs:?}"));
            }
        };
        let mut ja3 = String::new();
        h.write_ja3(&mut ja3).unwrap();
        check("ja3", ja3, r.get("tls.handshake.ja3_full").into());
        check(
            "sni",
            h.sni
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .unwrap_or_default(),
            r.get("tls.handshake.extensions_server_name").into(),
        );
        check(
            "ciphers",
            format!("{:?}", h.cipher_suites().map(u64::from).collect::<Vec<_>>()),
            format!("{:?}", nums(r.get("tls.handshake.ciphersuite"))),
        );
        check(
            "extensions",
            format!(
                "{:?}",
                h.extensions()
                    .map(|(t, _)| u64::from(t))
                    .collect::<Vec<_>>()
            ),
            format!("{:?}", nums(r.get("tls.handshake.extension.type"))),
        );
        check(
            "alpn",
            h.alpn()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(";"),
            r.get("tls.handshake.extensions_alpn_str").into(),
        );
        check(
            "supported versions",
            format!(
                "{:?}",
                h.supported_versions().map(u64::from).collect::<Vec<_>>()
            ),
            format!(
                "{:?}",
                nums(r.get("tls.handshake.extensions.supported_version"))
                    .into_iter()
                    .filter(|&v| !grease(v))
                    .collect::<Vec<_>>()
            ),
        );
        check(
            "version",
            h.legacy_version.to_string(),
            num(r.get("tls.handshake.version")).to_string(),
        );
        check(
            "signature algorithms",
            format!(
                "{:?}",
                h.signature_algorithms().map(u64::from).collect::<Vec<_>>()
            ),
            format!("{:?}", nums(r.get("tls.handshake.sig_hash_alg"))),
        );
        let ja4 = h.ja4().unwrap();
        check("ja4", ja4.to_string(), ja4_from_tshark(r));
        eprintln!(
            "  {cap} frame {frame}: {ja4} sni={:?} versions={:?} legacy={:#06x} reassembled={}",
            h.sni.map(String::from_utf8_lossy),
            h.supported_versions()
                .map(|v| tls::version_name(v).unwrap_or("?"))
                .collect::<Vec<_>>(),
            h.legacy_version,
            h.reassembled
        );
        if !diff.is_empty() {
            bad.push(format!("{cap} frame {frame}: {}", diff.join("; ")));
        }
    }

    let mut servers = 0;
    let mut deprecated_negotiated = 0;
    for r in d.rows.iter().filter(|r| has_type(r, 2)) {
        let frame = num(r.get("frame.number"));
        let cap = d.capture(frame);
        let bytes = stream_bytes(d, num(r.get("tcp.stream")), num(r.get("tcp.srcport")));
        let mut scratch = [0u8; 16384];
        let h = server_hello(&bytes, &mut scratch)
            .unwrap_or_else(|e| panic!("{cap} frame {frame}: {e:?}"));
        servers += 1;
        deprecated_negotiated += usize::from(tls::is_deprecated(h.version()));
        let theirs = nums(r.get("tls.handshake.extensions.supported_version"))
            .first()
            .copied()
            .unwrap_or_else(|| num(r.get("tls.handshake.version").split(';').next().unwrap()));
        let cipher = nums(r.get("tls.handshake.ciphersuite"))[0];
        if u64::from(h.version()) != theirs || u64::from(h.cipher_suite) != cipher {
            bad.push(format!(
                "{cap} frame {frame}: ServerHello ours {:#06x} {:#06x} tshark {theirs:#06x} {cipher:#06x}",
                h.version(),
                h.cipher_suite
            ));
        }
    }
    eprintln!(
        "TLS: {hellos} ClientHellos ({reassembled} from two records, {deprecated_offered} offering \
         TLS 1.1 or older) and {servers} ServerHellos ({deprecated_negotiated} negotiating TLS 1.1 \
         or older) compared with tshark, {} differ",
        bad.len()
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert!(hellos >= 6 && servers >= 6, "{hellos} {servers}");
    assert!(reassembled >= 1);
    assert!(deprecated_offered >= 2 && deprecated_negotiated >= 2);
}

// ---------------------------------------------------------------------------------------------
// DHCP

#[test]
fn dhcp_options_agree_with_tshark() {
    let d = data();
    let mut n = 0;
    let mut with_prl = 0;
    let mut bad = Vec::new();
    for r in d.rows.iter().filter(|r| !r.get("udp.payload").is_empty()) {
        let frame = num(r.get("frame.number"));
        let cap = d.capture(frame);
        let payload = hex(r.get("udp.payload"));
        if payload.get(236..240) != Some(&[99, 130, 83, 99][..]) {
            continue;
        }
        let fp = dhcp_options(&payload[240..]);
        n += 1;
        with_prl += usize::from(fp.parameter_request_list.is_some());
        let first = |f: &str| r.get(f).split(';').next().unwrap_or("").to_string();
        let text = |b: Option<&[u8]>| {
            b.map(|b| {
                let end = b.iter().rposition(|&c| c != 0).map_or(0, |i| i + 1);
                String::from_utf8_lossy(&b[..end]).into_owned()
            })
            .unwrap_or_default()
        };
        let ours = [
            fp.message_type.map(|t| t.to_string()).unwrap_or_default(),
            fp.prl().to_string(),
            text(fp.vendor_class),
            text(fp.hostname),
            fp.max_message_size
                .map(|m| m.to_string())
                .unwrap_or_default(),
            fp.client_id_type.map(|t| t.to_string()).unwrap_or_default(),
        ];
        let theirs = [
            first("dhcp.option.dhcp"),
            r.get("dhcp.option.request_list_item").replace(';', ","),
            first("dhcp.option.vendor_class_id"),
            first("dhcp.option.hostname"),
            first("dhcp.option.dhcp_max_message_size"),
            // tshark shows option 61's type as `dhcp.client_id.type`, or as a second
            // `dhcp.hw.type` (after the header's) when it is a hardware type.
            match first("dhcp.client_id.type") {
                t if !t.is_empty() => t,
                _ => r
                    .get("dhcp.hw.type")
                    .split(';')
                    .nth(1)
                    .map(|t| num(t).to_string())
                    .unwrap_or_default(),
            },
        ];
        if ours != theirs {
            bad.push(format!(
                "{cap} frame {frame}: ours {ours:?} tshark {theirs:?}"
            ));
        }
    }
    eprintln!(
        "DHCP: {n} messages ({with_prl} with a parameter request list) compared with tshark, {} differ",
        bad.len()
    );
    assert!(n > 10_000, "{n}");
    assert!(bad.is_empty(), "{}", bad[..bad.len().min(20)].join("\n"));
}

// ---------------------------------------------------------------------------------------------
// p0f reference

/// SYN+ACKs p0f 3.09b leaves unsigned although it saw their SYN: the client's ACK was
/// captured before the SYN+ACK (reordered on the way to the tap), and p0f's flow tracking then
/// takes the handshake as over. (capture, frame)
const P0F_UNSIGNED: &[(&str, u64)] =
    &[("public/opcua/icsnpp_opcua_with-gap_with-handshake.pcap", 3)];

/// p0f 3.09b's `raw_sig`s (`p0f -r FILE`), distinct, per capture: SYN (`c`) and SYN+ACK (`s`).
const P0F: &[(&str, &[&str])] = &[
    (
        "peers/amqp/amqp091-rabbitmq-pika.pcap",
        &[
            "c 4:64+0:0:65495:mss*1,10:mss,sok,ts,nop,ws:df,id+:0",
            "s 4:64+0:0:65495:mss*1,10:mss,sok,ts,nop,ws:df:0",
        ],
    ),
    (
        "peers/amqp/amqp10-proton-broker.pcap",
        &[
            "c 4:64+0:0:65495:mss*1,10:mss,sok,ts,nop,ws:df,id+:0",
            "s 4:64+0:0:65495:mss*1,10:mss,sok,ts,nop,ws:df:0",
        ],
    ),
    (
        "peers/amqp/amqp10-rabbitmq-proton.pcap",
        &[
            "c 4:64+0:0:65495:mss*1,10:mss,sok,ts,nop,ws:df,id+:0",
            "s 4:64+0:0:65495:mss*1,10:mss,sok,ts,nop,ws:df:0",
        ],
    ),
    (
        "peers/modbus/modbus-pymodbus-mbpoll.pcap",
        &[
            "c 4:64+0:0:65495:mss*1,10:mss,sok,ts,nop,ws:df,id+:0",
            "s 4:64+0:0:65495:mss*1,10:mss,sok,ts,nop,ws:df:0",
        ],
    ),
    (
        "peers/modbus/modbus-tokio-modbus.pcap",
        &[
            "c 4:64+0:0:65495:mss*1,10:mss,sok,ts,nop,ws:df,id+:0",
            "s 4:64+0:0:65495:mss*1,10:mss,sok,ts,nop,ws:df:0",
        ],
    ),
    (
        "peers/mqtt/mqtt-v311-v5.pcap",
        &[
            "c 4:64+0:0:65495:mss*1,10:mss,sok,ts,nop,ws:df,id+:0",
            "s 4:64+0:0:65495:mss*1,10:mss,sok,ts,nop,ws:df:0",
        ],
    ),
    (
        "peers/opcua/opcua-asyncua.pcap",
        &[
            "c 4:64+0:0:65495:mss*1,10:mss,sok,ts,nop,ws:df,id+:0",
            "s 4:64+0:0:65495:mss*1,10:mss,sok,ts,nop,ws:df:0",
        ],
    ),
    (
        "public/amqp/amqp-parser_amqp.pcap",
        &[
            "c 4:64+0:0:16344:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
            "s 4:64+0:0:16344:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
        ],
    ),
    (
        "public/amqp/amqpanalyze_amqp10_type_test.pcapng",
        &[
            "c 4:64+0:0:65495:43690,7:mss,sok,ts,nop,ws:df,id+:0",
            "c 6:64+0:0:65476:43690,7:mss,sok,ts,nop,ws:flow:0",
            "s 4:64+0:0:65495:43690,7:mss,sok,ts,nop,ws:df:0",
            "s 6:64+0:0:65476:43690,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/amqp/amqpanalyze_amqp10_type_test_boolean.pcapng",
        &[
            "c 4:64+0:0:65495:43690,7:mss,sok,ts,nop,ws:df,id+:0",
            "c 6:64+0:0:65476:43690,7:mss,sok,ts,nop,ws:flow:0",
            "s 4:64+0:0:65495:43690,7:mss,sok,ts,nop,ws:df:0",
            "s 6:64+0:0:65476:43690,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/amqp/deepflow_amqp-error.pcap",
        &[
            "c 4:64+0:0:65495:43690,7:mss,sok,ts,nop,ws:df,id+:0",
            "c 6:64+0:0:65476:43690,7:mss,sok,ts,nop,ws:flow:0",
            "s 4:64+0:0:65495:43690,7:mss,sok,ts,nop,ws:df:0",
            "s 6:64+0:0:65476:43690,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/amqp/deepflow_amqp1.pcap",
        &[
            "c 4:64+0:0:65495:mss*1,7:mss,sok,ts,nop,ws:df,id+:0",
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 4:64+0:0:65495:mss*1,7:mss,sok,ts,nop,ws:df:0",
        ],
    ),
    (
        "public/amqp/deepflow_amqp2.pcap",
        &[
            "c 4:64+0:0:65495:mss*1,7:mss,sok,ts,nop,ws:df,id+:0",
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 4:64+0:0:65495:mss*1,7:mss,sok,ts,nop,ws:df:0",
        ],
    ),
    (
        "public/amqp/deepflow_amqp3.pcap",
        &[
            "c 4:64+0:0:65495:mss*1,7:mss,sok,ts,nop,ws:df,id+:0",
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 4:64+0:0:65495:mss*1,7:mss,sok,ts,nop,ws:df:0",
        ],
    ),
    (
        "public/attacks/chrissanders_arp_poisoning.pcapng",
        &[
            "c 4:64+0:0:1460:mss*4,6:mss,sok,ts,nop,ws:df,id+:0",
            "s 4:52+12:0:1380:5672,6:mss,nop,nop,ts,nop,ws::0",
            "s 4:53+11:0:1380:5672,6:mss,nop,nop,ts,nop,ws::0",
        ],
    ),
    (
        "public/attacks/chrissanders_cryptowall4_c2.pcapng",
        &[
            "c 4:128+0:0:1460:8192,8:mss,nop,ws,nop,nop,sok:df,id+:0",
            "s 4:50+14:0:1367:mss*10,7:mss,nop,nop,sok,nop,ws:df:0",
            "s 4:51+13:0:1367:mss*10,7:mss,nop,nop,sok,nop,ws:df:0",
        ],
    ),
    (
        "public/attacks/chrissanders_rat_heartbeat_c2.pcapng",
        &[
            "c 4:128+0:0:1460:mss*44,2:mss,nop,ws,nop,nop,sok:df,id+:0",
            "s 4:128+0:0:1460:mss*44,0:mss,nop,ws,nop,nop,sok:df,id+:0",
        ],
    ),
    (
        "public/attacks/markofu_ftp_bruteforce.pcap",
        &[
            "c 4:128+0:0:1460:16384,0:mss,nop,nop,sok:df,id+:0",
            "s 4:46+18:0:1460:49152,0:mss,nop,nop,sok:df,id+:0",
        ],
    ),
    (
        "public/attacks/mlqos_ddos_mixed.pcap",
        &["c 4:64+0:0:0:8192,0::seq-:0"],
    ),
    (
        "public/attacks/mlqos_syn_flood.pcap",
        &["c 4:64+0:0:0:8192,0::seq-:0"],
    ),
    (
        "public/attacks/sv_tcp_syn_flood.pcap",
        &["c 4:64+0:0:0:8192,0:::0"],
    ),
    (
        "public/attacks/zeek_nmap-version-scan.pcap",
        &[
            "c 4:255+0:0:1460:65535,1:mss,nop,ws,nop,nop,ts,sok,eol+1:df,id+:0",
            "s 4:64+0:0:1460:mss*4,0:mss,sok,ts,nop,ws:df:0",
            "s 4:64+0:0:1460:mss*6,0:mss,nop,ws,nop,nop,sok,nop,nop,ts::0",
        ],
    ),
    (
        "public/modbus/icsnpp_modbus_example.pcap",
        &[
            "c 4:64+0:0:65495:mss*1,7:mss,sok,ts,nop,ws:df,id+:0",
            "s 4:64+0:0:65495:mss*1,7:mss,sok,ts,nop,ws:df:0",
        ],
    ),
    (
        "public/modbus/iti_ModbusTCP.pcap",
        &[
            "c 4:128+0:0:1460:8192,0:mss,nop,nop,sok:df,id+:0",
            "s 4:64+0:0:1460:8192,0:mss::0",
        ],
    ),
    (
        "public/modbus/iti_bro_modbusSmall.pcap",
        &[
            "c 4:64+0:0:65495:43690,7:mss,sok,ts,nop,ws:df,id+:0",
            "s 4:64+0:0:65495:43690,7:mss,sok,ts,nop,ws:df:0",
        ],
    ),
    (
        "public/modbus/iti_digitalbond_modbus_test_data_part1.pcap",
        &[
            "c 4:128+0:0:1460:mss*44,0:mss,nop,nop,sok:df,id+:0",
            "s 4:128+0:0:1460:65535,0:mss,nop,nop,sok:df,id+:0",
            "s 4:128+0:0:1460:mss*44,0:mss,nop,nop,sok:df,id+:0",
        ],
    ),
    (
        "public/modbus/iti_digitalbond_modbus_test_data_part2_fcscan.pcap",
        &[
            "c 4:128+0:0:1460:mss*44,0:mss,nop,nop,sok:df,id+:0",
            "s 4:43+21:0:512:mss*8,0:mss::0",
        ],
    ),
    (
        "public/modbus/iti_modicon_umas_fc90.pcap",
        &[
            "c 4:128+0:0:1460:mss*44,0:mss,nop,ws,nop,nop,sok:df,id+:0",
            "s 4:64+0:0:1460:4096,0:mss,nop,ws::0",
        ],
    ),
    (
        "public/mqtt/deepflow_mqtt_pub.pcap",
        &[
            "c 4:64+0:0:1440:mss*20,7:mss,sok,ts,nop,ws:df,id+:0",
            "s 4:62+2:0:1440:mss*20,7:mss,sok,ts,nop,ws:df:0",
        ],
    ),
    (
        "public/mqtt/sv_mqtt-events-invalid-qos.pcap",
        &[
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/mqtt/sv_mqtt-events-missing-connect.pcap",
        &[
            "c 4:64+0:0:65495:mss*1,7:mss,sok,ts,nop,ws:df,id+:0",
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 4:64+0:0:65495:mss*1,7:mss,sok,ts,nop,ws:df:0",
            "s 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/mqtt/sv_mqtt-events-unassigned-msgtype.pcap",
        &[
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/mqtt/sv_mqtt-frames-truncated.pcap",
        &[
            "c 4:64+0:0:65495:mss*1,7:mss,sok,ts,nop,ws:df,id+:0",
            "s 4:64+0:0:65495:mss*1,7:mss,sok,ts,nop,ws:df:0",
        ],
    ),
    (
        "public/mqtt/sv_mqtt-limit-2.pcap",
        &[
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/mqtt/sv_mqtt31-pub-qos1.pcap",
        &[
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/mqtt/sv_mqtt31-sub-userpass.pcap",
        &[
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/mqtt/sv_mqtt31-unsub-qos2.pcap",
        &[
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/mqtt/sv_mqtt311-pub-qos2.pcap",
        &[
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/mqtt/sv_mqtt311-pub-userpass-auto-clientid.pcap",
        &[
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/mqtt/sv_mqtt311-sub-userpass.pcap",
        &[
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/mqtt/sv_mqtt311-unsub-qos1.pcap",
        &[
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/mqtt/sv_mqtt5-excessiveproplen.pcap",
        &[
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/mqtt/sv_mqtt5-pub-mosquittoprops.pcap",
        &[
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/mqtt/sv_mqtt5-pub-qos2.pcap",
        &[
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/mqtt/sv_mqtt5-pub-userpass.pcap",
        &[
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/mqtt/sv_mqtt5-sub-customauth.pcap",
        &[
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/mqtt/sv_mqtt5-sub-mosquittoprops.pcap",
        &[
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/mqtt/sv_mqtt5-unsub-qos1.pcap",
        &[
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/mqtt/sv_mqtt5_pub_jpeg_connack134.pcap",
        &[
            "c 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
            "s 6:64+0:0:65476:mss*1,7:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
    (
        "public/opcua/icsnpp_opcua_with-gap_with-handshake.pcap",
        &[
            "c 4:128+0:0:1460:mss*44,8:mss,nop,ws,nop,nop,sok:df,id+:0",
            "c 4:64+0:0:16344:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
            "s 4:64+0:0:16344:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
        ],
    ),
    (
        "public/opcua/icsnpp_open62541_browse_next.pcap",
        &[
            "c 4:64+0:0:16344:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
            "c 6:64+0:0:16324:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0",
            "s 4:64+0:0:16344:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
            "s 6:64+0:0:16324:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0",
        ],
    ),
    (
        "public/opcua/icsnpp_open62541_browse_request_with_results.pcap",
        &[
            "c 6:64+0:0:16324:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0",
            "s 6:64+0:0:16324:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0",
        ],
    ),
    (
        "public/opcua/icsnpp_open62541_browse_with_diagnostic_info.pcap",
        &[
            "c 4:64+0:0:16344:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
            "c 6:64+0:0:16324:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0",
            "s 4:64+0:0:16344:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
            "s 6:64+0:0:16324:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0",
        ],
    ),
    (
        "public/opcua/icsnpp_open62541_client-server-getEndpoints.pcap",
        &[
            "c 6:64+0:0:16324:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0",
            "s 6:64+0:0:16324:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0",
        ],
    ),
    (
        "public/opcua/icsnpp_open62541_client-server_encrypted.pcap",
        &[
            "c 6:64+0:0:16324:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0",
            "s 6:64+0:0:16324:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0",
        ],
    ),
    (
        "public/opcua/icsnpp_open62541_client-server_mainloop.pcap",
        &[
            "c 6:64+0:0:16324:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0",
            "s 6:64+0:0:16324:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0",
        ],
    ),
    (
        "public/opcua/icsnpp_open62541_client-server_minimal.pcap",
        &[
            "c 6:64+0:0:16324:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0",
            "s 6:64+0:0:16324:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0",
        ],
    ),
    (
        "public/opcua/icsnpp_open62541_create_monitored_items.pcap",
        &[
            "c 4:64+0:0:16344:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
            "c 6:64+0:0:16324:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0",
            "s 4:64+0:0:16344:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
        ],
    ),
    (
        "public/opcua/icsnpp_open62541_discover_getendpoints_discover_urls.pcap",
        &[
            "c 4:64+0:0:16344:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
            "s 4:64+0:0:16344:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
        ],
    ),
    (
        "public/opcua/icsnpp_open62541_mainloop-ActivateSession-diagInfo.pcap",
        &[
            "c 4:64+0:0:16344:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
            "s 4:64+0:0:16344:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
        ],
    ),
    (
        "public/opcua/icsnpp_open62541_mainloop-hasInnerStatusCode.pcap",
        &[
            "c 6:64+0:0:16324:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0",
            "s 6:64+0:0:16324:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0",
        ],
    ),
    (
        "public/opcua/icsnpp_open62541_mainloop-non-standard-port.pcap",
        &[
            "c 4:64+0:0:16344:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
            "s 4:64+0:0:16344:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
        ],
    ),
    (
        "public/opcua/icsnpp_open62541_read_service_test_data.pcap",
        &[
            "c 4:64+0:0:16344:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
            "c 6:64+0:0:16324:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0",
            "s 4:64+0:0:16344:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
        ],
    ),
    (
        "public/opcua/icsnpp_open62541_read_service_test_data_with_history.pcap",
        &[
            "c 4:64+0:0:16344:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
            "s 4:64+0:0:16344:65535,6:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
        ],
    ),
    (
        "public/opcua/icsnpp_python-opcua_encrypted.pcap",
        &[
            "c 4:64+0:0:16344:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
            "s 4:64+0:0:16344:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
        ],
    ),
    (
        "public/opcua/icsnpp_python-opcua_minimal-2.pcap",
        &[
            "c 4:64+0:0:16344:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
            "c 6:64+0:0:16324:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0",
            "s 4:64+0:0:16344:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
        ],
    ),
    (
        "public/opcua/icsnpp_python-opcua_minimal.pcap",
        &[
            "c 4:64+0:0:16344:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
            "c 6:64+0:0:16324:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:flow:0",
            "s 4:64+0:0:16344:65535,5:mss,nop,ws,nop,nop,ts,sok,eol+1:df:0",
        ],
    ),
    (
        "fingerprint/tls-hellos.pcap",
        &[
            "c 4:64+0:0:65495:mss*1,10:mss,sok,ts,nop,ws:df,id+:0",
            "c 6:64+0:0:65476:mss*1,10:mss,sok,ts,nop,ws:flow:0",
            "s 4:64+0:0:65495:mss*1,10:mss,sok,ts,nop,ws:df:0",
            "s 6:64+0:0:65476:mss*1,10:mss,sok,ts,nop,ws:flow:0",
        ],
    ),
];
