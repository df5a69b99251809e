//! `edgetap replay`: capture files through the whole product, as fast as the machine allows
//! (packet time, not wall time): the `--learn` captures in learning mode, then the others in
//! protection mode, alerts as EVE JSON lines. The learned state goes to `--state DIR` and is
//! reused by later runs.

use crate::capture::file::FileReplay;
use crate::detect::alert::{Alert, AlertSink};
use crate::detect::rules::{self, Category, Rule};
use crate::identify::known;
use crate::identify::net::SiteNets;
use crate::pipeline::{Limits, Pipeline};
use crate::site::{Learned, Site, SiteConfig, LEARNED_FORMAT};
use crate::store::{Store, StoreOptions, Table};
use anyhow::Context;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The rules shipped in the binary (the files of `rules/`), used when no folder is given.
pub const DEFAULT_RULES: &[(&str, &str)] = &[
    (
        "rules/lateral_movement.toml",
        include_str!("../rules/lateral_movement.toml"),
    ),
    (
        "rules/ics_control.toml",
        include_str!("../rules/ics_control.toml"),
    ),
    (
        "rules/denial_of_service.toml",
        include_str!("../rules/denial_of_service.toml"),
    ),
    (
        "rules/data_exfiltration.toml",
        include_str!("../rules/data_exfiltration.toml"),
    ),
    (
        "rules/command_and_control.toml",
        include_str!("../rules/command_and_control.toml"),
    ),
    (
        "rules/unauthorized_access.toml",
        include_str!("../rules/unauthorized_access.toml"),
    ),
    (
        "rules/availability.toml",
        include_str!("../rules/availability.toml"),
    ),
    (
        "rules/protocol_anomaly.toml",
        include_str!("../rules/protocol_anomaly.toml"),
    ),
];

/// The built-in rules.
pub fn default_rules() -> Result<Vec<Rule>, Vec<String>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (name, text) in DEFAULT_RULES {
        match rules::parse(text, name) {
            Ok(r) => out.extend(r),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Rules from a folder, or the built-in ones.
pub fn load_rules(dir: Option<&Path>) -> anyhow::Result<Vec<Rule>> {
    let r = match dir {
        Some(d) => rules::load_dir(d),
        None => default_rules(),
    };
    r.map_err(|e| anyhow::anyhow!("bad rules:\n  {}", e.join("\n  ")))
}

pub struct ReplayOpts {
    pub learn: Vec<PathBuf>,
    pub pcaps: Vec<PathBuf>,
    pub state: Option<PathBuf>,
    pub rules: Option<PathBuf>,
    pub alerts: Option<PathBuf>,
    pub known: Vec<PathBuf>,
    pub site_nets: Vec<String>,
    pub window_ns: u64,
    /// Packet time may jump forward this much before a capture gap is recorded.
    pub gap_limit_ns: u64,
    pub max_flows: usize,
    pub max_devices: usize,
    /// Write the inventory (JSON) here at the end.
    pub inventory: Option<PathBuf>,
    /// Write the peer graph (JSON) here at the end.
    pub graph: Option<PathBuf>,
    /// EVE records besides alerts.
    pub eve_log: crate::eve::settings::EveLogSettings,
    /// CSAF advisories to match devices against (also kept in `--state`).
    pub advisories: Option<PathBuf>,
    /// A folder of the user's own fingerprints, read beside the shipped ones.
    pub fingerprints: Option<PathBuf>,
}

/// Alerts as EVE lines to a writer, counted by category.
pub struct EveWriter<W: Write> {
    w: W,
    pub by_category: BTreeMap<&'static str, u64>,
    pub error: Option<std::io::Error>,
    pub store: Option<Arc<Store>>,
}

impl<W: Write> AlertSink for EveWriter<W> {
    fn raised(&mut self, a: &Alert) {
        *self.by_category.entry(a.category.name()).or_insert(0) += 1;
        if self.error.is_none() {
            let r = serde_json::to_writer(&mut self.w, &a.eve())
                .map_err(std::io::Error::other)
                .and_then(|()| self.w.write_all(b"\n"));
            if let Err(e) = r {
                self.error = Some(e);
            }
        }
        if let Some(s) = &self.store {
            put_alert(s, a);
        }
    }
    fn updated(&mut self, a: &Alert) {
        if let Some(s) = &self.store {
            put_alert(s, a);
        }
    }
}

/// Alerts are keyed by time then id, so a scan reads them oldest first.
pub fn alert_key(a: &Alert) -> Vec<u8> {
    let mut k = a.ts_ns.to_be_bytes().to_vec();
    k.extend_from_slice(a.id.as_bytes());
    k
}

fn put_alert(s: &Store, a: &Alert) {
    match serde_json::to_vec(a) {
        Ok(v) => {
            if let Err(e) = s.put(Table::Alerts, &alert_key(a), &v) {
                tracing::warn!("storing alert {}: {e}", a.id);
            }
        }
        Err(e) => tracing::warn!("serialising alert {}: {e}", a.id),
    }
}

const LEARNED_KEY: &[u8] = b"learned";

/// Read what an earlier run learned, if the store has it.
pub fn load_learned(store: &Store) -> anyhow::Result<Option<Learned>> {
    let Some(bytes) = store.get(Table::Meta, LEARNED_KEY)? else {
        return Ok(None);
    };
    let l: Learned = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{}: the learned state is unreadable (written by another version?)",
            store.dir().display()
        )
    })?;
    if l.format != LEARNED_FORMAT {
        anyhow::bail!(
            "{}: learned state format {} (this edgetap reads {LEARNED_FORMAT})",
            store.dir().display(),
            l.format
        );
    }
    Ok(Some(l))
}

pub fn save_learned<S: AlertSink>(store: &Store, site: &Site<S>) -> anyhow::Result<()> {
    let bytes = serde_json::to_vec(&site.learned())?;
    store.put(Table::Meta, LEARNED_KEY, &bytes)?;
    Ok(())
}

pub fn site_config(opts: &ReplayOpts) -> anyhow::Result<SiteConfig> {
    let site = if opts.site_nets.is_empty() {
        SiteNets::default()
    } else {
        SiteNets::parse(&opts.site_nets).map_err(anyhow::Error::msg)?
    };
    Ok(SiteConfig {
        site,
        window_ns: opts.window_ns,
        max_devices: opts.max_devices,
        gap_limit_ns: opts.gap_limit_ns,
        ..SiteConfig::default()
    })
}

/// Run the replay. Returns the alert counts per category.
pub fn replay(opts: &ReplayOpts) -> anyhow::Result<BTreeMap<&'static str, u64>> {
    let rules = load_rules(opts.rules.as_deref())?;
    let cfg = site_config(opts)?;
    let mut knowns = Vec::new();
    for k in &opts.known {
        knowns.extend(known::load(k).map_err(anyhow::Error::msg)?);
    }
    // Open every input before doing any work: a bad path is a usage error, not a late surprise.
    let mut learn = if opts.learn.is_empty() {
        None
    } else {
        Some(FileReplay::open(&opts.learn)?)
    };
    let mut test = FileReplay::open(&opts.pcaps)?;
    let store = match &opts.state {
        Some(dir) => Some(Arc::new(Store::open(dir, StoreOptions::default())?)),
        None => None,
    };
    let w: Box<dyn Write> = match &opts.alerts {
        Some(p) if p.as_os_str() != "-" => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("alerts file {}", p.display()))?,
        )),
        _ => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let sink = EveWriter {
        w,
        by_category: BTreeMap::new(),
        error: None,
        store: store.clone(),
    };
    let eve_cfg = opts.eve_log.config()?;
    let fps = crate::identify::fingerprints::load(opts.fingerprints.as_deref())
        .map_err(|e| anyhow::anyhow!("bad fingerprints:\n  {}", e.join("\n  ")))?;
    let mut site = Site::new(cfg, rules, sink);
    site.fingerprints = Arc::new(fps);
    if let Some(mut c) = eve_cfg {
        // A replay may wait for the disk: every record is written.
        c.lossless = true;
        site.eve = Some(Box::new(crate::eve::Recorder::start(c)?));
    }
    if let Some(s) = &store {
        if let Some(l) = load_learned(s)? {
            tracing::info!(
                "{}: reusing learned state ({} devices, {} edges{})",
                s.dir().display(),
                l.devices.len(),
                l.edges.len(),
                if l.learning_done {
                    ""
                } else {
                    ", learning not finished"
                }
            );
            site.restore(l);
        }
    }
    for k in &knowns {
        site.inv.add_known(k);
    }
    let mut advs = match &store {
        Some(s) => crate::advisories::state::load(s)?,
        None => Vec::new(),
    };
    if let Some(dir) = &opts.advisories {
        let (new, errors) = crate::advisories::import_dir(dir);
        for e in &errors {
            tracing::warn!("advisory not read: {e}");
        }
        if new.is_empty() {
            anyhow::bail!("--advisories {}: no CSAF advisory read", dir.display());
        }
        if let Some(s) = &store {
            crate::advisories::state::save(s, &new)?;
        }
        advs.retain(|a| !new.iter().any(|n| n.id == a.id));
        advs.extend(new);
    }
    site.advisories = Arc::new(advs);
    let reload = Arc::new(AtomicBool::new(false));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&reload));
    let mut limits = Limits::default();
    limits.flows.max_flows = opts.max_flows.max(1);
    let mut p = Pipeline::new(site, limits);
    let started = Instant::now();
    let mut packets = 0u64;
    let mut feed = |r: &mut FileReplay, p: &mut Pipeline<Site<EveWriter<Box<dyn Write>>>>| {
        r.for_each(|pkt| {
            p.packet(pkt);
            packets += 1;
            if packets.is_multiple_of(65_536) && reload.swap(false, Ordering::Relaxed) {
                reload_rules(opts.rules.as_deref(), &mut p.out);
            }
        });
        for d in &r.damage {
            tracing::warn!(
                "{}: damaged capture, read {} records, stopped at byte {}: {}",
                d.file.display(),
                d.records,
                d.offset,
                d.what
            );
        }
    };
    if let Some(l) = learn.as_mut() {
        p.out.learn();
        feed(l, &mut p);
        p.out.protect();
        // The captures to judge need not continue the learning ones' timeline.
        p.out.new_timeline();
        tracing::info!(
            "learned from {} capture(s): {} devices, {} edges",
            opts.learn.len(),
            p.out.inv.live().count(),
            p.out.graph.edges.len()
        );
        if let Some(s) = &store {
            save_learned(s, &p.out)?;
        }
    } else if p.out.learning {
        tracing::warn!(
            "nothing learned yet (no --learn capture, no learned state): every edge is new"
        );
        p.out.protect();
    }
    feed(&mut test, &mut p);
    p.finish();
    let stats = p.stats();
    let eve_summary = p.out.eve.take().map(|mut e| {
        // The last counters, then everything to disk before the summary.
        if let Some(now) = p.out.now_ns() {
            e.stats_record(now, &stats, None);
        }
        e.finish();
        e.json()
    });
    let secs = started.elapsed().as_secs_f64();
    let site = &mut p.out;
    site.sink.w.flush().ok();
    if let Some(e) = &site.sink.error {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            anyhow::bail!("cannot write alerts: {e}");
        }
    }
    if let Some(s) = &store {
        save_learned(s, site)?;
    }
    if let Some(path) = &opts.inventory {
        let devices: Vec<_> = site
            .inv
            .live()
            .map(|(i, d)| site.device_record(i, d))
            .collect();
        // `.csv`: one row a device; anything else: JSON.
        let bytes = if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            crate::identify::export::csv(&devices).into_bytes()
        } else {
            serde_json::to_vec_pretty(&devices)?
        };
        std::fs::write(path, bytes)
            .with_context(|| format!("inventory file {}", path.display()))?;
    }
    if let Some(path) = &opts.graph {
        let g = graph_json(site);
        std::fs::write(path, serde_json::to_vec_pretty(&g)?)
            .with_context(|| format!("graph file {}", path.display()))?;
    }
    let cats: Vec<String> = Category::ALL
        .iter()
        .map(|c| {
            format!(
                "{}={}",
                c.name(),
                site.sink.by_category.get(c.name()).unwrap_or(&0)
            )
        })
        .collect();
    eprintln!(
        "edgetap replay: {} packets in {:.2} s ({:.0} packets/s); {} devices, {} edges ({} new); {} alerts: {}; engine {}",
        stats.packets,
        secs,
        stats.packets as f64 / secs.max(1e-9),
        site.inv.live().count(),
        site.graph.edges.iter().filter(|e| !e.folded).count(),
        site.stats.new_edges,
        site.engine.stats.alerts,
        cats.join(" "),
        serde_json::to_string(&site.engine.stats).unwrap_or_default(),
    );
    eprintln!(
        "edgetap replay: sensor {}; watchers {}; site {}",
        serde_json::json!({"gaps": site.sensor.stats.gaps, "gap_secs": site.sensor.stats.gap_secs,
            "time_reversals": site.sensor.stats.time_reversals}),
        serde_json::to_string(&site.watch_stats()).unwrap_or_default(),
        serde_json::to_string(&site.stats).unwrap_or_default(),
    );
    if let Some(e) = eve_summary {
        eprintln!("edgetap replay: eve records {e}");
    }
    Ok(site.sink.by_category.clone())
}

fn reload_rules<S: AlertSink>(dir: Option<&Path>, site: &mut Site<S>) {
    match load_rules(dir) {
        Ok(r) => {
            tracing::info!("SIGHUP: {} rules reloaded", r.len());
            site.engine.set_rules(r);
        }
        Err(e) => tracing::error!("SIGHUP: rules not reloaded, keeping the old ones: {e:#}"),
    }
}

/// The peer graph with device ids and names, for files and the API.
pub fn graph_json<S: AlertSink>(site: &Site<S>) -> serde_json::Value {
    let nodes: Vec<_> = site
        .inv
        .live()
        .map(|(_, d)| {
            serde_json::json!({"id": d.id, "name": d.label(), "roles": d.roles,
                "internal": d.internal, "vendor": d.vendor})
        })
        .collect();
    let id = |i| site.inv.get(i).map(|d| d.id.clone()).unwrap_or_default();
    let edges: Vec<_> = site
        .graph
        .edges
        .iter()
        .filter(|e| !e.folded)
        .map(|e| {
            serde_json::json!({
                "client": id(e.key.client), "server": id(e.key.server),
                "transport": if e.key.ip_proto == 6 { "tcp" } else { "udp" },
                "port": e.key.port, "protocol": e.app, "operations": e.ops,
                "packets": e.packets, "bytes": e.bytes, "flows": e.flows,
                "first_ns": e.first_ns, "last_ns": e.last_ns,
                "learned": e.learned, "alerted": e.alerted,
            })
        })
        .collect();
    serde_json::json!({"nodes": nodes, "edges": edges})
}
