//! `edgetap run`: the appliance. Live capture on one or more interfaces, learning then
//! protection, everything kept in the state directory, the HTTP API.
//!
//! Threads and who waits on whom:
//! - the capture thread runs the whole pipeline (capture → ... → site model) and never waits:
//!   alerts go to the writer through a bounded queue (a full queue drops and counts), and the
//!   API's view is published as an immutable snapshot (a pointer swap, once a second);
//! - the writer thread owns the durable side: each alert is committed to the store before it is
//!   appended to the EVE file or sent to syslog (so an alert that was reported survives kill -9),
//!   the learned state is saved every few seconds, and retention runs every minute;
//! - the API runs on its own small tokio runtime and reads only snapshots and the store.

use crate::capture::live::{LiveCapture, LiveConfig};
use crate::detect::alert::{Alert, AlertSink};
use crate::identify::known;
use crate::pipeline::{Limits, Pipeline};
use crate::replay::{alert_key, graph_json, load_learned, load_rules};
use crate::site::{Site, SiteConfig};
use crate::snapshot::{Command, Shared, Snapshot};
use crate::store::{Store, StoreOptions, Table};
use anyhow::Context;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The `run` configuration: a TOML file, every key also settable on the command line (the
/// command line wins).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    #[serde(default)]
    pub interfaces: Vec<String>,
    pub filter: Option<String>,
    pub snaplen: Option<i32>,
    pub promisc: Option<bool>,
    pub inbound_only: Option<bool>,
    pub buffer_size: Option<i32>,
    pub listen: Option<SocketAddr>,
    pub state: Option<PathBuf>,
    pub rules: Option<PathBuf>,
    #[serde(default)]
    pub site_networks: Vec<String>,
    /// Learning period, e.g. `24h`; after it, protection. Default 1h.
    pub learn_for: Option<String>,
    pub token: Option<String>,
    /// EVE JSON lines are appended here.
    pub eve: Option<PathBuf>,
    /// RFC 5424 syslog over UDP, `host:port`.
    pub syslog: Option<String>,
    /// Alerts older than this are deleted, e.g. `30d`.
    pub retention_age: Option<String>,
    /// The state directory is kept under this size, e.g. `1G`, `500M`.
    pub retention_bytes: Option<String>,
    #[serde(default)]
    pub known: Vec<PathBuf>,
    /// Baseline window, e.g. `5m`.
    pub window: Option<String>,
    /// A capture that delivers nothing for this long is a capture gap, e.g. `60s`.
    pub gap_limit: Option<String>,
    pub max_flows: Option<usize>,
    pub max_devices: Option<usize>,
    /// Stop after this long (tests).
    pub duration: Option<String>,
    /// A folder of CSAF 2.0 advisories, read at start and on SIGHUP into the state directory;
    /// devices are matched against everything the state holds.
    pub advisories: Option<PathBuf>,
    /// A folder of the user's own fingerprints, read beside the shipped ones (and on SIGHUP).
    pub fingerprints: Option<PathBuf>,
    /// EVE records besides alerts (`[eve_log]`: path, split, types, mode, sample,
    /// flow_interval, stats_interval, rotate_size, rotate_age, max_total).
    #[serde(default)]
    pub eve_log: crate::eve::settings::EveLogSettings,
}

impl RunConfig {
    pub fn load(path: &Path) -> anyhow::Result<RunConfig> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("config {}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{}:{}",
                path.display(),
                crate::detect::rules::toml_error(&text, &e)
            )
        })
    }

    /// `self` with every value `cli` sets replacing ours.
    pub fn overlay(mut self, cli: RunConfig) -> RunConfig {
        macro_rules! take {
            ($($f:ident),*) => { $( if cli.$f.is_some() { self.$f = cli.$f; } )* };
        }
        take!(
            filter,
            snaplen,
            promisc,
            inbound_only,
            buffer_size,
            listen,
            state,
            rules,
            learn_for,
            token,
            eve,
            syslog,
            retention_age,
            retention_bytes,
            window,
            gap_limit,
            max_flows,
            max_devices,
            duration,
            advisories,
            fingerprints
        );
        if !cli.interfaces.is_empty() {
            self.interfaces = cli.interfaces;
        }
        if !cli.site_networks.is_empty() {
            self.site_networks = cli.site_networks;
        }
        if !cli.known.is_empty() {
            self.known = cli.known;
        }
        self.eve_log = cli.eve_log.over(self.eve_log);
        self
    }
}

/// `1G`, `500M`, `64K`, `1000`.
pub fn parse_bytes(s: &str) -> Option<u64> {
    let s = s.trim();
    let (n, mul) = match s.chars().last()? {
        'K' | 'k' => (&s[..s.len() - 1], 1u64 << 10),
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        'G' | 'g' => (&s[..s.len() - 1], 1 << 30),
        'T' | 't' => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    n.trim().parse::<u64>().ok()?.checked_mul(mul)
}

fn dur(s: &Option<String>, what: &str) -> anyhow::Result<Option<Duration>> {
    match s {
        None => Ok(None),
        Some(v) => crate::detect::rules::parse_duration(v)
            .map(|ns| Some(Duration::from_nanos(ns)))
            .ok_or_else(|| {
                anyhow::anyhow!("{what} `{v}`: expected a duration such as 30s, 5m, 24h")
            }),
    }
}

/// What the capture thread hands the writer.
enum ToWriter {
    Raised(Box<Alert>),
    Updated(Box<Alert>),
    Learned(Vec<u8>),
}

/// The site's alert sink in `run`: never blocks (a full queue drops and counts).
pub struct QueueSink {
    tx: SyncSender<ToWriter>,
    pub dropped: Arc<AtomicU64>,
    pub by_category: BTreeMap<&'static str, u64>,
}

impl AlertSink for QueueSink {
    fn raised(&mut self, a: &Alert) {
        *self.by_category.entry(a.category.name()).or_insert(0) += 1;
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.tx.try_send(ToWriter::Raised(Box::new(a.clone())))
        {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
    fn updated(&mut self, a: &Alert) {
        if self
            .tx
            .try_send(ToWriter::Updated(Box::new(a.clone())))
            .is_err()
        {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The writer thread: the store first, then the EVE file and syslog.
fn writer(
    rx: Receiver<ToWriter>,
    store: Arc<Store>,
    mut eve: Option<std::io::BufWriter<std::fs::File>>,
    mut syslog: Option<crate::syslog::Syslog>,
    store_bytes: Arc<AtomicU64>,
) {
    let mut last_retention = Instant::now();
    loop {
        let msg = match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(m) => Some(m),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        match msg {
            Some(ToWriter::Raised(a)) => {
                put_alert(&store, &a);
                if let Some(w) = eve.as_mut() {
                    let line = serde_json::to_string(&a.eve()).unwrap_or_default();
                    if writeln!(w, "{line}").and_then(|()| w.flush()).is_err() {
                        tracing::warn!("EVE file: write failed");
                    }
                }
                if let Some(s) = syslog.as_mut() {
                    let sev = match a.severity {
                        1 => 2,
                        2 => 4,
                        _ => 5,
                    };
                    let sd = [
                        ("alert_id", a.id.clone()),
                        ("category", a.category.name().to_string()),
                        ("sid", a.sid.to_string()),
                        ("src", a.src_ip.map(|i| i.to_string()).unwrap_or_default()),
                        ("dest", a.dest_ip.map(|i| i.to_string()).unwrap_or_default()),
                    ];
                    if let Err(e) = s.send(sev, "alert", &sd, &a.signature) {
                        tracing::warn!("syslog: {e}");
                    }
                }
            }
            Some(ToWriter::Updated(a)) => {
                // An operator's acknowledgement (made through the API, in the store) stays.
                let mut a = a;
                if let Ok(Some(old)) = store.get(Table::Alerts, &alert_key(&a)) {
                    if let Ok(o) = serde_json::from_slice::<Alert>(&old) {
                        a.acknowledged |= o.acknowledged;
                    }
                }
                put_alert(&store, &a);
            }
            Some(ToWriter::Learned(bytes)) => {
                if let Err(e) = store.put(Table::Meta, b"learned", &bytes) {
                    tracing::warn!("saving learned state: {e}");
                }
            }
            None => {}
        }
        if last_retention.elapsed() >= Duration::from_secs(60) {
            last_retention = Instant::now();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            match store.enforce_retention(now) {
                Ok(r) if r.deleted_by_age + r.deleted_by_size > 0 => tracing::info!(
                    "retention: {} alerts past their age, {} for size; {} -> {} bytes",
                    r.deleted_by_age,
                    r.deleted_by_size,
                    r.disk_bytes_before,
                    r.disk_bytes_after
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!("retention: {e}"),
            }
        }
        store_bytes.store(store.disk_bytes(), Ordering::Relaxed);
    }
    if let Some(w) = eve.as_mut() {
        let _ = w.flush();
    }
}

fn put_alert(store: &Store, a: &Alert) {
    match serde_json::to_vec(a) {
        Ok(v) => {
            if let Err(e) = store.put(Table::Alerts, &alert_key(a), &v) {
                tracing::error!("storing alert {}: {e}", a.id);
            }
        }
        Err(e) => tracing::error!("serialising alert {}: {e}", a.id),
    }
}

/// Drop every capability once the interfaces are open: capture keeps working on the open
/// sockets, and nothing else needs privileges.
fn drop_capabilities() -> String {
    use caps::CapSet;
    let had = caps::read(None, CapSet::Effective)
        .map(|s| {
            let mut v: Vec<String> = s.iter().map(|c| c.to_string().to_lowercase()).collect();
            v.sort();
            v.join(",")
        })
        .unwrap_or_default();
    for set in [
        CapSet::Ambient,
        CapSet::Inheritable,
        CapSet::Effective,
        CapSet::Permitted,
    ] {
        if let Err(e) = caps::clear(None, set) {
            tracing::warn!("dropping capabilities ({set:?}): {e}");
        }
    }
    had
}

fn publish(
    site: &Site<QueueSink>,
    p_stats: &crate::telemetry::Stats,
    ifaces: &[crate::capture::live::IfaceStats],
    store_bytes: u64,
    queue_dropped: u64,
    last_ts: u64,
) -> Snapshot {
    let mut devices: Vec<serde_json::Value> = site
        .inv
        .live()
        .map(|(i, d)| site.device_record(i, d))
        .collect();
    devices.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let kernel: u64 = ifaces.iter().map(|s| s.kernel_dropped).sum();
    let iface: u64 = ifaces.iter().map(|s| s.interface_dropped).sum();
    let mut alerts = serde_json::Map::new();
    for c in crate::detect::rules::Category::ALL {
        alerts.insert(
            c.name().into(),
            site.sink
                .by_category
                .get(c.name())
                .copied()
                .unwrap_or(0)
                .into(),
        );
    }
    let stats = serde_json::json!({
        "packets": p_stats.packets,
        "bytes": p_stats.bytes,
        "flows": p_stats.flows.created,
        "flows_active": p_stats.flows.active,
        "pdus": p_stats.pdus.to_map(),
        "alerts": alerts,
        "drops": {
            "kernel": kernel,
            "interface": iface,
            "queue": queue_dropped,
            "flows_evicted": p_stats.flows.evicted,
            "reassembly_gaps": p_stats.reassembly.gaps,
            "devices_refused": site.inv.stats.refused_full,
            "edges_refused": site.graph.stats.refused_full,
            "rule_states_dropped": site.engine.stats.states_dropped,
        },
        "interfaces": ifaces.iter().map(|s| serde_json::json!({
            "interface": s.interface, "received": s.received,
            "kernel_dropped": s.kernel_dropped, "interface_dropped": s.interface_dropped})).collect::<Vec<_>>(),
        "store_bytes": store_bytes,
        "devices": site.inv.live().count(),
        "edges": site.graph.edges.iter().filter(|e| !e.folded).count(),
        "engine": site.engine.stats,
        "sensor": site.sensor.health(wall_ns()),
        "watch": site.watch_stats(),
        "eve_records": site.eve.as_ref().map(|e| e.json()),
        "posture": {
            "open": site.posture.counts().into_iter().collect::<std::collections::BTreeMap<_, _>>(),
            "cleared": site.posture.stats.cleared,
            "dropped": site.posture.stats.dropped,
        },
        "advisories": crate::advisories::summary(&devices, site.advisories.len()),
    });
    Snapshot {
        mode: if site.learning {
            "learning"
        } else {
            "protecting"
        }
        .into(),
        capturing: true,
        devices,
        graph: graph_json(site),
        stats,
        packet_time_ns: last_ts,
    }
}

/// The advisories of the state directory, after importing `dir`'s (files that are not CSAF
/// are logged and skipped).
fn read_advisories(store: &Store, dir: Option<&Path>) -> Vec<crate::advisories::Advisory> {
    if let Some(d) = dir {
        let (advs, errors) = crate::advisories::import_dir(d);
        for e in &errors {
            tracing::warn!("advisory not read: {e}");
        }
        match crate::advisories::state::save(store, &advs) {
            Ok(()) => tracing::info!("{} advisories read from {}", advs.len(), d.display()),
            Err(e) => tracing::error!("advisories not kept: {e:#}"),
        }
    }
    match crate::advisories::state::load(store) {
        Ok(a) => a,
        Err(e) => {
            tracing::error!("advisories unreadable: {e:#}");
            Vec::new()
        }
    }
}

/// Wall time in ns since the epoch (live packet time is wall time).
fn wall_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Run the appliance until SIGTERM/SIGINT (or `duration`).
pub fn run(cfg_path: Option<&Path>, cli: RunConfig) -> anyhow::Result<()> {
    let base = match cfg_path {
        Some(p) => RunConfig::load(p)?,
        None => RunConfig::default(),
    };
    let (cli_known, cli_site_networks) = (cli.known.clone(), cli.site_networks.clone());
    let cfg = base.overlay(cli);
    if cfg.interfaces.is_empty() {
        anyhow::bail!("no interface: give -i IFACE or `interfaces` in the config file");
    }
    let listen: SocketAddr = cfg
        .listen
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8787)));
    if !listen.ip().is_loopback() && cfg.token.as_deref().is_none_or(str::is_empty) {
        anyhow::bail!("--listen {listen} is not loopback: a --token is required");
    }
    let learn_for = dur(&cfg.learn_for, "learn_for")?.unwrap_or(Duration::from_secs(3600));
    let duration = dur(&cfg.duration, "duration")?;
    let window_ns = match &cfg.window {
        Some(w) => crate::detect::rules::parse_duration(w)
            .ok_or_else(|| anyhow::anyhow!("window `{w}`: expected a duration such as 5m"))?,
        None => 300_000_000_000,
    };
    let eve_log = cfg.eve_log.config()?;
    let fps = crate::identify::fingerprints::load(cfg.fingerprints.as_deref())
        .map_err(|e| anyhow::anyhow!("bad fingerprints:\n  {}", e.join("\n  ")))?;
    let gap_limit_ns = match &cfg.gap_limit {
        Some(w) => crate::detect::rules::parse_duration(w)
            .ok_or_else(|| anyhow::anyhow!("gap_limit `{w}`: expected a duration such as 60s"))?,
        None => 60_000_000_000,
    };
    let opts = StoreOptions {
        max_age: dur(&cfg.retention_age, "retention_age")?,
        max_bytes: match &cfg.retention_bytes {
            None => None,
            Some(b) => Some(parse_bytes(b).ok_or_else(|| {
                anyhow::anyhow!("retention_bytes `{b}`: expected a size such as 500M or 1G")
            })?),
        },
    };
    let state = cfg
        .state
        .clone()
        .unwrap_or_else(|| PathBuf::from("edgetap-state"));
    let rules = load_rules(cfg.rules.as_deref())?;
    let site_nets = if cfg.site_networks.is_empty() {
        crate::identify::net::SiteNets::default()
    } else {
        crate::identify::net::SiteNets::parse(&cfg.site_networks).map_err(anyhow::Error::msg)?
    };
    let mut knowns = Vec::new();
    for k in &cfg.known {
        knowns.extend(known::load(k).map_err(anyhow::Error::msg)?);
    }
    crate::api::check_config(&crate::api::ApiConfig {
        listen,
        token: cfg.token.clone(),
        max_page: 500,
    })?;
    // Privileged part: open the interfaces, then drop every capability.
    let live = LiveConfig {
        interfaces: cfg.interfaces.clone(),
        filter: cfg.filter.clone(),
        snaplen: cfg.snaplen.unwrap_or(262_144),
        promisc: cfg.promisc.unwrap_or(true),
        immediate: true,
        buffer_size: cfg.buffer_size.unwrap_or(16 << 20),
        inbound_only: cfg.inbound_only.unwrap_or(false),
    };
    let mut cap = LiveCapture::open(&live).map_err(anyhow::Error::msg)?;
    let had = drop_capabilities();
    tracing::info!(
        "capturing on {}; capabilities dropped (had: {})",
        cfg.interfaces.join(", "),
        if had.is_empty() {
            "none".to_string()
        } else {
            had
        }
    );
    let store = Arc::new(Store::open(&state, opts)?);
    let eve = match &cfg.eve {
        Some(p) => Some(std::io::BufWriter::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("EVE file {}", p.display()))?,
        )),
        None => None,
    };
    let syslog = match &cfg.syslog {
        Some(a) => Some(
            crate::syslog::Syslog::connect(a, "edgetap").with_context(|| format!("syslog {a}"))?,
        ),
        None => None,
    };
    let (tx, rx) = mpsc::sync_channel::<ToWriter>(4096);
    let dropped = Arc::new(AtomicU64::new(0));
    let sink = QueueSink {
        tx: tx.clone(),
        dropped: Arc::clone(&dropped),
        by_category: BTreeMap::new(),
    };
    let mut site = Site::new(
        SiteConfig {
            site: site_nets,
            window_ns,
            max_devices: cfg.max_devices.unwrap_or(10_000),
            gap_limit_ns,
            ..SiteConfig::default()
        },
        rules,
        sink,
    );
    site.advisories = std::sync::Arc::new(read_advisories(&store, cfg.advisories.as_deref()));
    site.fingerprints = std::sync::Arc::new(fps);
    if let Some(mut c) = eve_log {
        // Input i of the capture is interface i.
        c.ifaces = cfg.interfaces.clone();
        site.eve = Some(Box::new(crate::eve::Recorder::start(c)?));
    }
    let mut learning_done = false;
    if let Some(l) = load_learned(&store)? {
        learning_done = l.learning_done;
        tracing::info!(
            "{}: reusing learned state ({} devices, {} edges, {})",
            state.display(),
            l.devices.len(),
            l.edges.len(),
            if l.learning_done {
                "protecting"
            } else {
                "still learning"
            }
        );
        site.restore(l);
    }
    for k in &knowns {
        site.inv.add_known(k);
    }
    if !learning_done {
        site.learn();
    }
    // Alert counts so far, from the store (the API shows totals across restarts).
    let store_bytes = Arc::new(AtomicU64::new(store.disk_bytes()));
    let writer_thread = {
        let store = Arc::clone(&store);
        let sb = Arc::clone(&store_bytes);
        std::thread::Builder::new()
            .name("edgetap-writer".into())
            .spawn(move || writer(rx, store, eve, syslog, sb))?
    };
    let stop = Arc::new(AtomicBool::new(false));
    let reload = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop)).context("signal handlers")?;
    }
    signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&reload))
        .context("signal handlers")?;
    if let Some(d) = duration {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            std::thread::sleep(d);
            stop.store(true, Ordering::Relaxed);
        });
    }
    // The API.
    let shared = Shared::new(Snapshot {
        mode: if site.learning {
            "learning"
        } else {
            "protecting"
        }
        .into(),
        capturing: true,
        ..Snapshot::default()
    });
    let (cmd_tx, cmd_rx) = mpsc::sync_channel::<Command>(64);
    let api_thread = {
        let state = crate::api::ApiState {
            store: Arc::clone(&store),
            snapshot: shared.clone(),
            commands: Some(cmd_tx),
            metrics_extra: None,
        };
        let api_cfg = crate::api::ApiConfig {
            listen,
            token: cfg.token.clone(),
            max_page: 500,
        };
        let stop = Arc::clone(&stop);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("edgetap-api")
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("edgetap-api".into())
            .spawn(move || {
                rt.block_on(async move {
                    let shutdown = async move {
                        while !stop.load(Ordering::Relaxed) {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                    };
                    if let Err(e) = crate::api::serve(api_cfg, state, shutdown).await {
                        tracing::error!("API: {e:#}");
                    }
                })
            })?
    };
    let mut limits = Limits::default();
    limits.flows.max_flows = cfg.max_flows.unwrap_or(262_144).max(1);
    let mut p = Pipeline::new(site, limits);
    let hk = std::cell::RefCell::new(Housekeeper {
        started: Instant::now(),
        learn_for,
        learning_done,
        last_publish: Instant::now() - Duration::from_secs(10),
        last_save: Instant::now(),
        saved_shape: (usize::MAX, usize::MAX),
        last_ts: 0,
        packets: 0,
        cmd_rx,
        reload: Arc::clone(&reload),
        cfg_path: cfg_path.map(Path::to_path_buf),
        rules_dir: cfg.rules.clone(),
        advisories_dir: cfg.advisories.clone(),
        fingerprints_dir: cfg.fingerprints.clone(),
        cli_known: cli_known.clone(),
        cli_site_networks: cli_site_networks.clone(),
        store: Arc::clone(&store),
        shared: shared.clone(),
        tx: tx.clone(),
        dropped: Arc::clone(&dropped),
        store_bytes: Arc::clone(&store_bytes),
        iface_stats: Arc::clone(&cap.shared_stats),
        drops_seen: 0,
        drops_checked_ts: 0,
    });
    let res = {
        let pr = std::cell::RefCell::new(&mut p);
        cap.run(
            &stop,
            |pkt| {
                let mut p = pr.borrow_mut();
                p.packet(pkt);
                let mut h = hk.borrow_mut();
                h.last_ts = pkt.ts_ns;
                h.packets += 1;
                if h.packets.is_multiple_of(4096) {
                    h.tick(&mut p, 0);
                }
            },
            |now| {
                let mut p = pr.borrow_mut();
                hk.borrow_mut().tick(&mut p, now);
            },
        )
    };
    let last_ts = hk.borrow().last_ts;
    // Every sender of the writer's queue must be gone before joining it.
    drop(hk);
    tracing::info!("stopping: flushing flows and the store");
    p.finish();
    let final_stats = cap.stats();
    let pstats = p.stats();
    if let Some(e) = p.out.eve.as_mut() {
        // The last counters, with the kernel's, then every record to disk.
        let k = final_stats
            .iter()
            .fold((0, 0), |a, s| (a.0 + s.received, a.1 + s.kernel_dropped));
        e.stats_record(last_ts.max(wall_ns()), &pstats, Some(k));
        e.finish();
    }
    let snap = publish(
        &p.out,
        &p.stats(),
        &final_stats,
        store_bytes.load(Ordering::Relaxed),
        dropped.load(Ordering::Relaxed),
        last_ts,
    );
    shared.set(snap);
    if let Ok(b) = serde_json::to_vec(&p.out.learned()) {
        // Blocking send: at shutdown the learned state must reach the store.
        let _ = tx.send(ToWriter::Learned(b));
    }
    drop(p);
    drop(tx);
    let _ = writer_thread.join();
    stop.store(true, Ordering::Relaxed);
    let _ = api_thread.join();
    for s in final_stats {
        tracing::info!(
            "{}: received {}, kernel dropped {}, interface dropped {}",
            s.interface,
            s.received,
            s.kernel_dropped,
            s.interface_dropped
        );
    }
    res.map_err(anyhow::Error::msg)
}

/// Periodic work on the capture thread: packet-time ticks, the end of learning, API commands,
/// SIGHUP, publishing the snapshot, saving the learned state.
struct Housekeeper {
    started: Instant,
    learn_for: Duration,
    learning_done: bool,
    last_publish: Instant,
    last_save: Instant,
    saved_shape: (usize, usize),
    last_ts: u64,
    packets: u64,
    cmd_rx: Receiver<Command>,
    reload: Arc<AtomicBool>,
    cfg_path: Option<PathBuf>,
    rules_dir: Option<PathBuf>,
    advisories_dir: Option<PathBuf>,
    fingerprints_dir: Option<PathBuf>,
    /// Known-device files and site networks given on the command line (kept over reloads).
    cli_known: Vec<PathBuf>,
    cli_site_networks: Vec<String>,
    store: Arc<Store>,
    shared: Shared,
    tx: SyncSender<ToWriter>,
    dropped: Arc<AtomicU64>,
    store_bytes: Arc<AtomicU64>,
    iface_stats: Arc<std::sync::Mutex<Vec<crate::capture::live::IfaceStats>>>,
    /// Kernel and interface drops already reported as capture gaps, and the packet time of
    /// the last check.
    drops_seen: u64,
    drops_checked_ts: u64,
}

impl Housekeeper {
    fn tick(&mut self, p: &mut Pipeline<Site<QueueSink>>, now: u64) {
        if now != 0 {
            p.tick(now);
        }
        if p.out.learning && !self.learning_done && self.started.elapsed() >= self.learn_for {
            self.learning_done = true;
            p.out.protect();
            tracing::info!("learning period over: protecting");
        }
        while let Ok(c) = self.cmd_rx.try_recv() {
            match c {
                Command::Learn => {
                    p.out.learn();
                    // The operator decides from now on.
                    self.learning_done = true;
                    tracing::info!("API: learning");
                }
                Command::Protect => {
                    p.out.protect();
                    self.learning_done = true;
                    tracing::info!("API: protecting");
                }
                Command::Accept(id) => match store_alert(&self.store, &id) {
                    Some(a) => {
                        p.out.accept(&a);
                        tracing::info!("API: alert {id} accepted as normal");
                    }
                    None => tracing::warn!("API: accept {id}: no such alert"),
                },
            }
        }
        if self.reload.swap(false, Ordering::Relaxed) {
            self.reload_config(p);
        }
        if self.last_publish.elapsed() >= Duration::from_secs(1) {
            self.last_publish = Instant::now();
            let ifs = self
                .iface_stats
                .lock()
                .map(|g| g.clone())
                .unwrap_or_default();
            // Packets the kernel or the interface dropped are a stretch the sensor did not
            // fully see: one capture gap per check that found new drops.
            let drops: u64 = ifs
                .iter()
                .map(|s| s.kernel_dropped + s.interface_dropped)
                .sum();
            if drops > self.drops_seen && self.last_ts != 0 {
                let cause = format!(
                    "the kernel or the interface dropped {} packets",
                    drops - self.drops_seen
                );
                let start = if self.drops_checked_ts == 0 {
                    self.last_ts
                } else {
                    self.drops_checked_ts
                };
                p.out.capture_gap(start, self.last_ts.max(start), &cause);
            }
            self.drops_seen = self.drops_seen.max(drops);
            self.drops_checked_ts = self.last_ts;
            let snap = publish(
                &p.out,
                &p.stats(),
                &ifs,
                self.store_bytes.load(Ordering::Relaxed),
                self.dropped.load(Ordering::Relaxed),
                self.last_ts,
            );
            self.shared.set(snap);
        }
        let shape = (p.out.inv.live().count(), p.out.graph.edges.len());
        let since = self.last_save.elapsed();
        if since >= Duration::from_secs(2)
            && (shape != self.saved_shape || since >= Duration::from_secs(30))
        {
            self.last_save = Instant::now();
            self.saved_shape = shape;
            match serde_json::to_vec(&p.out.learned()) {
                Ok(b) => {
                    if self.tx.try_send(ToWriter::Learned(b)).is_err() {
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(e) => tracing::warn!("serialising learned state: {e}"),
            }
        }
    }
}

impl Housekeeper {
    /// SIGHUP: the rules (from the config's folder when it names one), the known devices and
    /// the site networks are read again. Capture settings, the listen address and retention
    /// need a restart.
    fn reload_config(&mut self, p: &mut Pipeline<Site<QueueSink>>) {
        let file = match &self.cfg_path {
            Some(cp) => match RunConfig::load(cp) {
                Ok(c) => Some(c),
                Err(e) => {
                    tracing::error!("SIGHUP: config not reloaded, keeping the old one: {e:#}");
                    None
                }
            },
            None => None,
        };
        let dir = file
            .as_ref()
            .and_then(|c| c.rules.clone())
            .or_else(|| self.rules_dir.clone());
        let adv_dir = file
            .as_ref()
            .and_then(|c| c.advisories.clone())
            .or_else(|| self.advisories_dir.clone());
        if adv_dir.is_some() {
            p.out.advisories =
                std::sync::Arc::new(read_advisories(&self.store, adv_dir.as_deref()));
        }
        let fp_dir = file
            .as_ref()
            .and_then(|c| c.fingerprints.clone())
            .or_else(|| self.fingerprints_dir.clone());
        match crate::identify::fingerprints::load(fp_dir.as_deref()) {
            Ok(f) => p.out.fingerprints = std::sync::Arc::new(f),
            Err(e) => tracing::error!(
                "SIGHUP: fingerprints not reloaded, keeping the old ones:\n  {}",
                e.join("\n  ")
            ),
        }
        match load_rules(dir.as_deref()) {
            Ok(r) => {
                tracing::info!("SIGHUP: {} rules loaded", r.len());
                p.out.engine.set_rules(r);
            }
            Err(e) => tracing::error!("SIGHUP: rules not reloaded, keeping the old ones: {e:#}"),
        }
        let mut known_files = self.cli_known.clone();
        if let Some(c) = &file {
            known_files.extend(c.known.iter().cloned());
        }
        for k in &known_files {
            match known::load(k) {
                Ok(list) => {
                    for d in &list {
                        p.out.inv.add_known(d);
                    }
                    tracing::info!("SIGHUP: {} known devices from {}", list.len(), k.display());
                }
                Err(e) => tracing::error!("SIGHUP: {e}"),
            }
        }
        if self.cli_site_networks.is_empty() {
            if let Some(c) = file.filter(|c| !c.site_networks.is_empty()) {
                match crate::identify::net::SiteNets::parse(&c.site_networks) {
                    Ok(nets) => {
                        p.out.inv.site = nets;
                        let site = p.out.inv.site.clone();
                        for d in &mut p.out.inv.devices {
                            if let Some(ip) = d.ips.last() {
                                d.internal = site.contains(ip.addr);
                            }
                        }
                        tracing::info!("SIGHUP: site networks reloaded");
                    }
                    Err(e) => tracing::error!("SIGHUP: site networks not reloaded: {e}"),
                }
            }
        }
    }
}

/// Read an alert from the store by id.
pub fn store_alert(store: &Store, id: &str) -> Option<Alert> {
    use std::ops::Bound;
    let rows = store
        .scan(
            Table::Alerts,
            (Bound::Unbounded, Bound::Unbounded),
            true,
            usize::MAX,
        )
        .ok()?;
    rows.into_iter()
        .filter(|(k, _)| k.get(8..) == Some(id.as_bytes()))
        .find_map(|(_, v)| serde_json::from_slice(&v).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_overlay_and_sizes() {
        let f: RunConfig = toml::from_str(
            "interfaces = [\"eth1\"]\nlisten = \"127.0.0.1:9000\"\nlearn_for = \"24h\"\n",
        )
        .unwrap_or_default();
        assert_eq!(f.interfaces, vec!["eth1".to_string()]);
        let cli = RunConfig {
            learn_for: Some("10s".into()),
            ..RunConfig::default()
        };
        let c = f.overlay(cli);
        assert_eq!(c.learn_for.as_deref(), Some("10s"));
        assert_eq!(c.interfaces, vec!["eth1".to_string()]);
        assert_eq!(parse_bytes("1G"), Some(1 << 30));
        assert_eq!(parse_bytes("500M"), Some(500 << 20));
        assert_eq!(parse_bytes("x"), None);
        assert!(toml::from_str::<RunConfig>("bogus = 1").is_err());
    }
}
