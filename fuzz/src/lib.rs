//! Shared harness code for edgetap's fuzz targets (see ../README.md).
//!
//! Besides "does not panic", the harnesses check two invariants:
//! - every PDU a dissector emits serialises with serde_json and starts with `{"<proto>":`
//!   (output::JsonLines splices its own fields in after the first byte and drops PDUs that fail);
//! - the framers' global buffer accounting (`stream::buffered_bytes()`) returns to where it was
//!   once the sessions are dropped (a leak would slowly exhaust the global cap).

use edgetap::capture::{LinkType, Packet};
use edgetap::flow::FlowConfig;
use edgetap::output::CountOnly;
use edgetap::pipeline::{Limits, Pipeline};
use edgetap_dissectors::{new_session, probe, Direction, Event, Fact, Pdu, Proto, Sink};

/// A sink that counts, and serialises every PDU as the JSON output would.
#[derive(Default)]
pub struct CountSink {
    pub pdus: u64,
    pub events: u64,
    pub facts: u64,
    buf: Vec<u8>,
}

impl Sink for CountSink {
    fn pdu(&mut self, _dir: Direction, pdu: &Pdu<'_>) {
        self.pdus += 1;
        self.buf.clear();
        if let Err(e) = serde_json::to_writer(&mut self.buf, pdu) {
            panic!("{} PDU does not serialise: {e} ({pdu:?})", pdu.proto().name());
        }
        // `{"<proto>":...`: JsonLines splices its own fields in after the first byte.
        let name = pdu.proto().name().as_bytes();
        let ok = self.buf.len() > name.len() + 4
            && self.buf[..2] == *b"{\""
            && self.buf[2..2 + name.len()] == *name
            && self.buf[2 + name.len()..4 + name.len()] == *b"\":";
        assert!(
            ok,
            "{} PDU serialises as {:?}, not {{\"{}\":...",
            pdu.proto().name(),
            String::from_utf8_lossy(&self.buf[..self.buf.len().min(80)]),
            pdu.proto().name()
        );
    }
    fn event(&mut self, _dir: Direction, event: Event) {
        self.events += 1;
        std::hint::black_box(event);
    }
    fn fact(&mut self, fact: Fact<'_>) {
        self.facts += 1;
        std::hint::black_box(fact);
    }
}

fn session(proto: Proto) -> Box<dyn edgetap_dissectors::Dissector> {
    match new_session(proto) {
        Some(s) => s,
        None => panic!("{proto:?} is not enabled in this build"),
    }
}

/// `P_pdu`: the whole input in one parse() to-server, the same to-client, then on_eof both ways.
pub fn pdu(proto: Proto, data: &[u8]) {
    let before = edgetap_dissectors::stream::buffered_bytes();
    for dir in [Direction::ToServer, Direction::ToClient] {
        std::hint::black_box(probe(proto, dir, data));
    }
    {
        let mut sink = CountSink::default();
        let mut s = session(proto);
        s.parse(Direction::ToServer, data, &mut sink);
        s.parse(Direction::ToClient, data, &mut sink);
        s.on_eof(Direction::ToServer, &mut sink);
        s.on_eof(Direction::ToClient, &mut sink);
    }
    check_buffered(before);
}

/// Chunk separator of the `P_stream` input format (Suricata's, from fuzz_applayerparserparse).
pub const SEPARATOR: &[u8] = &[0x01, 0xD5, 0xCA, 0x7A];

/// `P_stream`: the input is `chunk (SEPARATOR chunk)*`; each chunk is a flags byte then data.
/// Flags: bit 0 direction (0 to-server, 1 to-client); bit 1 a gap before the data, of
/// `1 << (flags >> 3)` bytes; bit 2 the direction ends after the data (on_eof; later chunks of
/// that direction are ignored, as the pipeline never delivers after the end).
pub fn stream(proto: Proto, data: &[u8]) {
    let before = edgetap_dissectors::stream::buffered_bytes();
    {
        let mut sink = CountSink::default();
        let mut s = session(proto);
        let mut ended = [false; 2];
        for chunk in split(data, SEPARATOR) {
            let Some((&flags, body)) = chunk.split_first() else { continue };
            let dir = if flags & 1 == 0 { Direction::ToServer } else { Direction::ToClient };
            if ended[dir.index()] {
                continue;
            }
            if flags & 2 != 0 {
                s.on_gap(dir, 1u64 << (flags >> 3), &mut sink);
            }
            if !body.is_empty() {
                s.parse(dir, body, &mut sink);
            }
            if flags & 4 != 0 {
                s.on_eof(dir, &mut sink);
                ended[dir.index()] = true;
            }
        }
        for dir in [Direction::ToServer, Direction::ToClient] {
            if !ended[dir.index()] {
                s.on_eof(dir, &mut sink);
            }
        }
    }
    check_buffered(before);
}

fn check_buffered(before: usize) {
    let after = edgetap_dissectors::stream::buffered_bytes();
    assert_eq!(after, before, "stream::buffered_bytes() is {after} after the sessions were dropped, was {before}");
}

/// Split `data` on every occurrence of `sep` (always at least one piece).
pub fn split<'a>(data: &'a [u8], sep: &'a [u8]) -> impl Iterator<Item = &'a [u8]> + 'a {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let r = rest?;
        match r.windows(sep.len()).position(|w| w == sep) {
            Some(i) => {
                rest = Some(&r[i + sep.len()..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                Some(r)
            }
        }
    })
}

/// Small limits so that table-full eviction and every kind of expiry happen within a few
/// packets, and a small framer cap so that oversize PDUs are skipped rather than buffered.
pub fn small_limits() -> Limits {
    const MS: u64 = 1_000_000;
    edgetap_dissectors::stream::set_global_cap(16 << 10);
    Limits {
        flows: FlowConfig {
            max_flows: 4,
            new_timeout_ns: 500 * MS,
            established_timeout_ns: 3_000 * MS,
            closing_timeout_ns: 1_000 * MS,
            udp_timeout_ns: 2_000 * MS,
        },
        reassembly_global: 24 << 10,
        reassembly_per_stream: 8 << 10,
        ..Limits::default()
    }
}

/// Link types chosen by the first byte of a `decode_frames` input.
pub const LINKS: [LinkType; 5] =
    [LinkType::ETHERNET, LinkType::LINUX_SLL, LinkType::LINUX_SLL2, LinkType::RAW, LinkType::NULL];

/// One frame of a `decode_frames` input.
pub struct InputFrame<'a> {
    /// 1-based frame number.
    pub n: u64,
    /// The time step byte.
    pub dt: u8,
    pub bytes: &'a [u8],
    /// The length on the wire: longer than `bytes` when the input cut the frame short
    /// (as a snap length would).
    pub orig_len: u32,
    /// Input bytes left before this frame's header.
    pub left: usize,
}

/// The frames of a `decode_frames` input (after the link-type byte).
pub fn frames(mut rest: &[u8]) -> impl Iterator<Item = InputFrame<'_>> {
    let mut n = 0;
    std::iter::from_fn(move || {
        let [l0, l1, dt, tail @ ..] = rest else { return None };
        let left = rest.len();
        let len = usize::from(u16::from_le_bytes([*l0, *l1]));
        let (bytes, after) = tail.split_at(len.min(tail.len()));
        rest = after;
        n += 1;
        let orig_len = u32::try_from(len.max(bytes.len())).unwrap_or(u32::MAX);
        Some(InputFrame { n, dt: *dt, bytes, orig_len, left })
    })
}

/// `decode_frames`: byte 0 picks the link type (`LINKS[b % 5]`); then frames, each as a 3-byte
/// header (length, little-endian u16, then a time step in units of 50 ms) and the frame bytes
/// (fewer if the input ends). The whole pipeline runs over them, then finish().
pub fn decode_frames(data: &[u8]) {
    let Some((&sel, rest)) = data.split_first() else { return };
    let link = LINKS[usize::from(sel) % LINKS.len()];
    let before = edgetap_dissectors::stream::buffered_bytes();
    {
        let mut p = Pipeline::new(CountOnly, small_limits());
        let mut ts: u64 = 1_700_000_000_000_000_000;
        for f in frames(rest) {
            ts += u64::from(f.dt) * 50_000_000;
            p.packet(&Packet { source: 0, frame: f.n, ts_ns: ts, link, data: f.bytes, orig_len: f.orig_len });
        }
        p.finish();
        std::hint::black_box(p.stats());
    }
    check_buffered(before);
}

/// `capture_file`: the input as a pcap/pcapng file in /dev/shm (FileReplay reads files only),
/// replayed through the pipeline. If byte 0 is odd and the input is long enough, it is cut in
/// two files at a point given by bytes 1..3, to exercise the time-ordered merge as well.
pub fn capture_file(data: &[u8]) {
    use std::sync::OnceLock;
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let base = if std::path::Path::new("/dev/shm").is_dir() { "/dev/shm".into() } else { std::env::temp_dir() };
        let d = base.join(format!("edgetap-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("create temp dir");
        d
    });
    let files: Vec<&[u8]> = match data {
        [f, a, b, rest @ ..] if f & 1 == 1 && rest.len() >= 48 => {
            let cut = usize::from(u16::from_le_bytes([*a, *b])) % (rest.len() + 1);
            let (x, y) = rest.split_at(cut);
            vec![x, y]
        }
        _ => vec![data],
    };
    let paths: Vec<_> = (0..files.len()).map(|i| dir.join(format!("in{i}.cap"))).collect();
    for (p, f) in paths.iter().zip(&files) {
        std::fs::write(p, f).expect("write temp capture");
    }
    let before = edgetap_dissectors::stream::buffered_bytes();
    {
        let Ok(mut replay) = edgetap::capture::file::FileReplay::open(&paths) else { return };
        let mut p = Pipeline::new(CountOnly, small_limits());
        replay.for_each(|pkt| p.packet(pkt));
        p.finish();
        std::hint::black_box((p.stats(), &replay.damage));
    }
    check_buffered(before);
}

pub mod segments;

/// `site_frames`: the `decode_frames` input format through the whole product: the site model
/// with the shipped rules (every baseline-free watcher: sensor gaps, scans, DNS, DHCP, ARP,
/// beacons, reconnaissance), learning over the first half of the frames, then protecting.
pub fn site_frames(data: &[u8]) {
    use edgetap::detect::alert::Alert;
    use edgetap::site::{Site, SiteConfig};
    let Some((&sel, rest)) = data.split_first() else { return };
    let link = LINKS[usize::from(sel) % LINKS.len()];
    // The shipped rules, parsed once (parsing is not what is fuzzed here).
    static RULES: std::sync::OnceLock<Vec<edgetap::detect::rules::Rule>> = std::sync::OnceLock::new();
    let rules = RULES.get_or_init(|| edgetap::replay::default_rules().unwrap_or_default()).clone();
    let mut site = Site::new(SiteConfig::default(), rules, Vec::<Alert>::new());
    // Every EVE record type on, to a file of this process's (kept small by its own cap).
    let eve = edgetap::eve::EveConfig {
        path: std::env::temp_dir().join(format!("edgetap-fuzz-eve-{}.json", std::process::id())),
        lossless: true,
        rotation: edgetap::eve::writer::Rotation { max_bytes: 1 << 20, max_age: None, max_total: 4 << 20 },
        ..edgetap::eve::EveConfig::default()
    };
    site.eve = edgetap::eve::Recorder::start(eve).ok().map(Box::new);
    let mut p = Pipeline::new(site, small_limits());
    let mut ts: u64 = 1_700_000_000_000_000_000;
    let half = rest.len() / 2;
    for f in frames(rest) {
        if f.left <= half && p.out.learning {
            p.out.protect();
            p.out.new_timeline();
        }
        // Time steps of 0..12.7 s forward; 255 jumps back an hour (a new capture's time).
        ts = match f.dt {
            255 => ts.saturating_sub(3_600_000_000_000),
            s => ts + u64::from(s) * 50_000_000,
        };
        p.packet(&Packet { source: 0, frame: f.n, ts_ns: ts, link, data: f.bytes, orig_len: f.orig_len });
    }
    p.finish();
    std::hint::black_box(p.out.sink.len());
}
