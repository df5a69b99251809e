//! edgetap: a passive network tap for IoT/ICS edge gateways.
//!
//! The pipeline, in the order data flows (one folder or file per stage):
//! `capture/` → `decode/` → `flow/` → `reassembly/` → `dispatch.rs` → dissectors (the
//! `edgetap-dissectors` crate) → `output.rs`; `pipeline.rs` joins them, `telemetry.rs` counts.

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use edgetap::capture::file::FileReplay;
use edgetap::capture::live::{LiveCapture, LiveConfig};
use edgetap::output::{CountOnly, JsonLines};
use edgetap::pipeline::{Limits, Output, Pipeline};
use edgetap::telemetry::Stats;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "edgetap", version, about = "Passive network tap for IoT/ICS edge gateways", long_about = LONG_ABOUT)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

const LONG_ABOUT: &str = "Passive network tap for IoT/ICS edge gateways.

Reads packets from capture files or live interfaces, follows flows and TCP streams, and
dissects Modbus/TCP, BACnet/IP, MQTT, AMQP and OPC-UA binary. Logs go to stderr (set
EDGETAP_LOG=debug for more); results go to stdout.";

#[derive(Subcommand)]
enum AdvisoriesCmd {
    /// Read every CSAF 2.0 file under DIR into the state directory (an advisory imported again
    /// replaces its earlier copy). Files that are not valid CSAF are named on stderr and exit
    /// status 2 says some were rejected; the valid ones are kept.
    Import {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        #[arg(long, value_name = "DIR", default_value = "edgetap-state")]
        state: PathBuf,
    },
    /// The advisories a state directory holds: id, CVEs, highest CVSS, title.
    List {
        #[arg(long, value_name = "DIR", default_value = "edgetap-state")]
        state: PathBuf,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Dissect capture files: one JSON line per application PDU, or counts only.
    ///
    /// Several files are merged in time order. A damaged file is read up to the damage, which
    /// is reported on stderr; the run goes on. Exit status 2 when a file cannot be opened or
    /// is not a capture.
    Dissect {
        /// Output: `jsonl` (one JSON object per PDU, in capture order) or `count` (the whole
        /// pipeline without per-PDU output, then one JSON object of counters).
        #[arg(long, value_enum, default_value_t = Format::Jsonl)]
        format: Format,
        /// Most flows tracked at once; beyond it the least recently seen are evicted.
        #[arg(long, default_value_t = 262_144)]
        max_flows: usize,
        /// pcap or pcapng files.
        #[arg(required = true, value_name = "PCAP")]
        pcaps: Vec<PathBuf>,
    },
    /// Replay captures through identification, learning and detection; alerts as EVE JSON.
    ///
    /// The --learn captures are read in learning mode (everything seen is normal), then the
    /// others in protection mode, as fast as the machine allows (packet time, not wall time).
    /// Alerts go to --alerts (default stdout) as Suricata EVE JSON lines; a summary goes to
    /// stderr. With --state, what was learned is kept there and reused by later runs.
    /// SIGHUP reloads the rules.
    Replay {
        /// Capture to learn from (repeat for several; merged in time order).
        #[arg(long = "learn", value_name = "PCAP")]
        learn: Vec<PathBuf>,
        /// State directory: learned state is read from and saved to it, alerts stored in it.
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
        /// Rules folder (*.toml, see rules/README.md); default: the rules built in.
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
        /// Alerts file (EVE JSON lines); `-` or absent: stdout.
        #[arg(long, value_name = "FILE")]
        alerts: Option<PathBuf>,
        /// Known devices: TOML ([[device]] name, mac, ip, labels) or an EdgeX device list (.json).
        #[arg(long = "known", value_name = "FILE")]
        known: Vec<PathBuf>,
        /// The site's networks (CIDR, repeat); default: private and link-local ranges.
        #[arg(long = "site-net", value_name = "CIDR")]
        site_nets: Vec<String>,
        /// Baseline window, e.g. 5m.
        #[arg(long, default_value = "5m")]
        window: String,
        /// Packet time may jump forward this much before the sensor records a capture gap
        /// (one availability alert; silence clocks and windows restart), e.g. 60s.
        #[arg(long, default_value = "60s")]
        gap_limit: String,
        /// Most flows tracked at once.
        #[arg(long, default_value_t = 262_144)]
        max_flows: usize,
        /// Most devices in the inventory.
        #[arg(long, default_value_t = 10_000)]
        max_devices: usize,
        /// Write the inventory (JSON) to this file at the end.
        #[arg(long, value_name = "FILE")]
        inventory: Option<PathBuf>,
        /// Write the peer graph (JSON) to this file at the end.
        #[arg(long, value_name = "FILE")]
        graph: Option<PathBuf>,
        #[command(flatten)]
        eve_log: edgetap::eve::settings::EveLogSettings,
        /// A folder of CSAF 2.0 advisories to match devices against (kept in --state too).
        #[arg(long, value_name = "DIR")]
        advisories: Option<PathBuf>,
        /// A folder of your own fingerprints (*.toml, see rules/fingerprints/README.md), read
        /// beside the shipped ones.
        #[arg(long, value_name = "DIR")]
        fingerprints: Option<PathBuf>,
        /// Captures to protect (pcap or pcapng).
        #[arg(required = true, value_name = "PCAP")]
        pcaps: Vec<PathBuf>,
    },
    /// The appliance: capture live, learn then protect, keep state, serve the HTTP API.
    ///
    /// Needs CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode on some systems), as root or
    /// as a user given those capabilities; every capability is dropped once the interfaces are
    /// open. Every option can also be set in the TOML --config file (same names, `_` for `-`;
    /// the command line wins). SIGHUP reloads the rules (and the config's rules folder);
    /// SIGTERM/SIGINT stop cleanly, flushing the store.
    Run {
        /// TOML configuration file.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Interface to capture on (repeat for several).
        #[arg(short = 'i', long = "interface", value_name = "IFACE")]
        interfaces: Vec<String>,
        /// BPF capture filter.
        #[arg(long)]
        filter: Option<String>,
        /// HTTP API address (default 127.0.0.1:8787; elsewhere a --token is required).
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// State directory (default ./edgetap-state).
        #[arg(long, value_name = "DIR")]
        state: Option<PathBuf>,
        /// Rules folder (default: the rules built in).
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
        /// The site's networks (CIDR, repeat); default private and link-local ranges.
        #[arg(long = "site-net", value_name = "CIDR")]
        site_networks: Vec<String>,
        /// Learning period before protection (default 1h), e.g. 30s, 24h.
        #[arg(long, value_name = "DURATION")]
        learn_for: Option<String>,
        /// Bearer token the API requires (required when --listen is not loopback).
        #[arg(long)]
        token: Option<String>,
        /// Append alerts as EVE JSON lines to this file.
        #[arg(long, value_name = "FILE")]
        eve: Option<PathBuf>,
        /// Send alerts as RFC 5424 syslog over UDP to HOST:PORT.
        #[arg(long, value_name = "HOST:PORT")]
        syslog: Option<String>,
        /// Delete alerts older than this, e.g. 30d.
        #[arg(long, value_name = "DURATION")]
        retention_age: Option<String>,
        /// Keep the state directory under this size, e.g. 1G.
        #[arg(long, value_name = "SIZE")]
        retention_bytes: Option<String>,
        /// Known devices (TOML, or an EdgeX device list .json); repeat.
        #[arg(long, value_name = "FILE")]
        known: Vec<PathBuf>,
        /// Baseline window (default 5m).
        #[arg(long)]
        window: Option<String>,
        /// A capture that delivers nothing for this long is a capture gap (default 60s).
        #[arg(long)]
        gap_limit: Option<String>,
        /// Capture only packets arriving on the interfaces (bridge ports: each frame once).
        #[arg(long)]
        inbound_only: bool,
        /// Bytes captured per packet (default 262144).
        #[arg(long)]
        snaplen: Option<i32>,
        /// Kernel capture buffer per interface, bytes (default 16 MiB).
        #[arg(long)]
        buffer_size: Option<i32>,
        /// Do not put the interfaces in promiscuous mode.
        #[arg(long)]
        no_promisc: bool,
        /// Most flows tracked at once.
        #[arg(long)]
        max_flows: Option<usize>,
        /// Most devices in the inventory.
        #[arg(long)]
        max_devices: Option<usize>,
        /// Stop after this long (e.g. 60s).
        #[arg(long)]
        duration: Option<String>,
        /// A folder of CSAF 2.0 advisories to read into the state (at start and on SIGHUP).
        #[arg(long, value_name = "DIR")]
        advisories: Option<PathBuf>,
        /// A folder of your own fingerprints, read beside the shipped ones (and on SIGHUP).
        #[arg(long, value_name = "DIR")]
        fingerprints: Option<PathBuf>,
        #[command(flatten)]
        eve_log: edgetap::eve::settings::EveLogSettings,
    },
    /// Published advisories (CISA's ICS advisories in CSAF 2.0): `import` reads a folder of
    /// them into a state directory, where `run`, `replay --state` and `serve` match every
    /// device's vendor, product, model and firmware against them.
    Advisories {
        #[command(subcommand)]
        what: AdvisoriesCmd,
    },
    /// The HTTP API over a state directory that no other process holds.
    Serve {
        #[arg(long, value_name = "DIR", required = true)]
        state: PathBuf,
        /// Address (default 127.0.0.1:8787; elsewhere a --token is required).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
        listen: std::net::SocketAddr,
        #[arg(long)]
        token: Option<String>,
    },
    /// Capture live and dissect, without the site model: PDUs as JSON lines (or counts).
    ///
    /// Stops on SIGINT/SIGTERM (or after --duration), then prints interface drop counters and
    /// pipeline counters to stderr. Needs CAP_NET_RAW or root.
    Capture {
        /// Interface to capture on (repeat for several; `any` for all).
        #[arg(short = 'i', long = "interface", required = true, value_name = "IFACE")]
        interfaces: Vec<String>,
        /// BPF capture filter, e.g. "tcp port 502 or udp port 47808".
        #[arg(long)]
        filter: Option<String>,
        /// Bytes captured per packet.
        #[arg(long, default_value_t = 262_144)]
        snaplen: i32,
        /// Do not put the interfaces in promiscuous mode.
        #[arg(long)]
        no_promisc: bool,
        /// Kernel capture buffer per interface, bytes.
        #[arg(long, default_value_t = 16 << 20)]
        buffer_size: i32,
        /// Output on stdout: `jsonl` PDUs or `count` (counters at the end only).
        #[arg(long, value_enum, default_value_t = Format::Jsonl)]
        format: Format,
        /// Stop after this many seconds.
        #[arg(long)]
        duration: Option<f64>,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Jsonl,
    Count,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // --help and --version print and exit 0; usage errors exit 2.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("EDGETAP_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let result = match cli.command {
        Command::Dissect {
            format,
            max_flows,
            pcaps,
        } => dissect(format, max_flows, &pcaps),
        Command::Replay {
            learn,
            state,
            rules,
            alerts,
            known,
            site_nets,
            window,
            gap_limit,
            max_flows,
            max_devices,
            inventory,
            graph,
            eve_log,
            advisories,
            fingerprints,
            pcaps,
        } => match (
            edgetap::detect::rules::parse_duration(&window),
            edgetap::detect::rules::parse_duration(&gap_limit),
        ) {
            (None, _) => Err(anyhow::anyhow!(
                "--window {window}: expected a duration such as 5m"
            )),
            (_, None) => Err(anyhow::anyhow!(
                "--gap-limit {gap_limit}: expected a duration such as 60s"
            )),
            (Some(window_ns), Some(gap_limit_ns)) => {
                edgetap::replay::replay(&edgetap::replay::ReplayOpts {
                    learn,
                    pcaps,
                    state,
                    rules,
                    alerts,
                    known,
                    site_nets,
                    window_ns,
                    gap_limit_ns,
                    max_flows,
                    max_devices,
                    inventory,
                    graph,
                    eve_log,
                    advisories,
                    fingerprints,
                })
                .map(|_| ())
            }
        },
        Command::Run {
            config,
            interfaces,
            filter,
            listen,
            state,
            rules,
            site_networks,
            learn_for,
            token,
            eve,
            syslog,
            retention_age,
            retention_bytes,
            known,
            window,
            gap_limit,
            inbound_only,
            snaplen,
            buffer_size,
            no_promisc,
            max_flows,
            max_devices,
            duration,
            advisories,
            fingerprints,
            eve_log,
        } => edgetap::appliance::run(
            config.as_deref(),
            edgetap::appliance::RunConfig {
                interfaces,
                filter,
                listen,
                state,
                rules,
                site_networks,
                learn_for,
                token,
                eve,
                syslog,
                retention_age,
                retention_bytes,
                known,
                window,
                gap_limit,
                inbound_only: inbound_only.then_some(true),
                snaplen,
                buffer_size,
                promisc: no_promisc.then_some(false),
                max_flows,
                max_devices,
                duration,
                advisories,
                fingerprints,
                eve_log,
            },
        ),
        Command::Advisories { what } => advisories(what),
        Command::Serve {
            state,
            listen,
            token,
        } => serve(&state, listen, token),
        Command::Capture {
            interfaces,
            filter,
            snaplen,
            no_promisc,
            buffer_size,
            format,
            duration,
        } => {
            let cfg = LiveConfig {
                interfaces,
                filter,
                snaplen,
                promisc: !no_promisc,
                immediate: true,
                buffer_size,
                inbound_only: false,
            };
            run_live(&cfg, format, duration)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("edgetap: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn serve(
    state: &std::path::Path,
    listen: std::net::SocketAddr,
    token: Option<String>,
) -> anyhow::Result<()> {
    use edgetap::store::{Store, StoreOptions};
    if !state.is_dir() {
        anyhow::bail!("state directory {}: not found", state.display());
    }
    let store = Arc::new(Store::open(state, StoreOptions::default())?);
    let snap = edgetap::api::snapshot_from_store(&store)?;
    let st = edgetap::api::ApiState {
        store,
        snapshot: edgetap::snapshot::Shared::new(snap),
        commands: None,
        metrics_extra: None,
    };
    let cfg = edgetap::api::ApiConfig {
        listen,
        token,
        max_page: 500,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let shutdown = async {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => return std::future::pending().await,
                };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
        };
        tracing::info!("API on http://{listen}/ over {}", state.display());
        edgetap::api::serve(cfg, st, shutdown).await
    })
}

fn limits(max_flows: usize) -> Limits {
    let mut l = Limits::default();
    l.flows.max_flows = max_flows.max(1);
    l
}

fn dissect(format: Format, max_flows: usize, pcaps: &[PathBuf]) -> anyhow::Result<()> {
    let mut replay = FileReplay::open(pcaps)?;
    let started = Instant::now();
    let stats = match format {
        Format::Jsonl => {
            let stdout = std::io::stdout();
            let out = JsonLines::new(std::io::BufWriter::with_capacity(1 << 16, stdout.lock()));
            let mut p = Pipeline::new(out, limits(max_flows));
            let mut progress = Progress::new();
            replay.for_each(|pkt| {
                p.packet(pkt);
                progress.tick();
            });
            p.finish();
            let broken_pipe = p
                .out
                .write_error
                .as_ref()
                .map(|e| e.kind() == std::io::ErrorKind::BrokenPipe);
            match (broken_pipe, p.out.flush()) {
                (Some(true), _) => {}
                (Some(false), _) | (None, Err(_)) => anyhow::bail!("cannot write to stdout"),
                (None, Ok(())) => {}
            }
            p.stats()
        }
        Format::Count => {
            let mut p = Pipeline::new(CountOnly, limits(max_flows));
            let mut progress = Progress::new();
            replay.for_each(|pkt| {
                p.packet(pkt);
                progress.tick();
            });
            p.finish();
            let s = p.stats();
            print_counts(&s, started.elapsed().as_secs_f64())?;
            s
        }
    };
    for d in &replay.damage {
        tracing::warn!(
            "{}: damaged capture, read {} records, stopped at byte {}: {}",
            d.file.display(),
            d.records,
            d.offset,
            d.what
        );
    }
    summary(&stats, started.elapsed().as_secs_f64());
    Ok(())
}

fn advisories(what: AdvisoriesCmd) -> anyhow::Result<()> {
    use edgetap::store::{Store, StoreOptions};
    match what {
        AdvisoriesCmd::Import { dir, state } => {
            if !dir.is_dir() {
                anyhow::bail!("{}: not a folder", dir.display());
            }
            let (advs, errors) = edgetap::advisories::import_dir(&dir);
            let store = Store::open(&state, StoreOptions::default())?;
            edgetap::advisories::state::save(&store, &advs)?;
            let cves: usize = advs.iter().map(|a| a.cves().len()).sum();
            let products: usize = advs.iter().map(|a| a.products.len()).sum();
            eprintln!(
                "edgetap advisories: imported {} advisories ({products} products, {cves} CVEs) from {} into {}",
                advs.len(),
                dir.display(),
                state.display()
            );
            for e in &errors {
                eprintln!("edgetap advisories: rejected {e}");
            }
            if !errors.is_empty() {
                anyhow::bail!(
                    "{} file(s) rejected (the others were imported)",
                    errors.len()
                );
            }
            if advs.is_empty() {
                anyhow::bail!("{}: no CSAF advisory found", dir.display());
            }
            Ok(())
        }
        AdvisoriesCmd::List { state } => {
            let store = Store::open(&state, StoreOptions::default())?;
            for a in edgetap::advisories::state::load(&store)? {
                println!(
                    "{}\t{}\t{}\t{}",
                    a.id,
                    a.cves().join(","),
                    a.max_cvss().map_or(String::new(), |c| format!("{c:.1}")),
                    a.title
                );
            }
            Ok(())
        }
    }
}

/// A line on stderr every few seconds of a long replay (the clock is read every 65,536 packets).
struct Progress {
    packets: u64,
    started: Instant,
    last: Instant,
}

impl Progress {
    fn new() -> Self {
        let now = Instant::now();
        Progress {
            packets: 0,
            started: now,
            last: now,
        }
    }

    #[inline]
    fn tick(&mut self) {
        self.packets += 1;
        if self.packets.is_multiple_of(65_536) && self.last.elapsed().as_secs() >= 5 {
            self.last = Instant::now();
            let secs = self.started.elapsed().as_secs_f64();
            tracing::info!(
                "{} packets read, {:.0} packets/s",
                self.packets,
                self.packets as f64 / secs
            );
        }
    }
}

/// The `count` output: the headline figures first, every stage's counters last.
#[derive(serde::Serialize)]
struct Counts<'a> {
    packets: u64,
    bytes: u64,
    flows: u64,
    pdus: &'a edgetap::telemetry::PerProto,
    app_flows: &'a edgetap::telemetry::PerProto,
    events: &'a edgetap::telemetry::PerProto,
    seconds: f64,
    detail: &'a Stats,
}

fn print_counts(s: &Stats, seconds: f64) -> anyhow::Result<()> {
    let v = Counts {
        packets: s.packets,
        bytes: s.bytes,
        flows: s.flows.created,
        pdus: &s.pdus,
        app_flows: &s.app_flows,
        events: &s.events,
        seconds,
        detail: s,
    };
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, &v)?;
    writeln!(out)?;
    Ok(())
}

fn summary(s: &Stats, seconds: f64) {
    let pdus: Vec<String> = s
        .pdus
        .to_map()
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{k}={n}"))
        .collect();
    tracing::info!(
        "{} packets, {} flows, {} PDUs ({}), {} gaps, {} flows evicted, in {:.3} s",
        s.packets,
        s.flows.created,
        s.pdus.total(),
        if pdus.is_empty() {
            "none".to_string()
        } else {
            pdus.join(" ")
        },
        s.reassembly.gaps,
        s.flows.evicted,
        seconds
    );
}

fn run_live(cfg: &LiveConfig, format: Format, duration: Option<f64>) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("installing signal handlers")?;
    }
    if let Some(secs) = duration {
        let stop = Arc::clone(&stop);
        let d = std::time::Duration::from_secs_f64(secs.max(0.0));
        std::thread::spawn(move || {
            std::thread::sleep(d);
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    }
    let mut cap = LiveCapture::open(cfg).map_err(anyhow::Error::msg)?;
    tracing::info!("capturing on {}", cfg.interfaces.join(", "));
    let started = Instant::now();
    fn go<O: Output>(
        cap: &mut LiveCapture,
        stop: &AtomicBool,
        p: &mut Pipeline<O>,
    ) -> anyhow::Result<()> {
        let mut last_tick = 0u64;
        let res = {
            let pr = std::cell::RefCell::new(&mut *p);
            cap.run(
                stop,
                |pkt| pr.borrow_mut().packet(pkt),
                |now| {
                    if now.saturating_sub(last_tick) > 1_000_000_000 {
                        last_tick = now;
                        pr.borrow_mut().tick(now);
                    }
                },
            )
        };
        p.finish();
        res.map_err(anyhow::Error::msg)
    }
    let stats = match format {
        Format::Jsonl => {
            // Live output is line-buffered so a reader sees each PDU as it happens.
            let mut p = Pipeline::new(
                JsonLines::new(std::io::LineWriter::new(std::io::stdout())),
                Limits::default(),
            );
            go(&mut cap, &stop, &mut p)?;
            let _ = p.out.flush();
            p.stats()
        }
        Format::Count => {
            let mut p = Pipeline::new(CountOnly, Limits::default());
            go(&mut cap, &stop, &mut p)?;
            let s = p.stats();
            print_counts(&s, started.elapsed().as_secs_f64())?;
            s
        }
    };
    for s in cap.stats() {
        tracing::info!(
            "{}: received {}, kernel dropped {}, interface dropped {}",
            s.interface,
            s.received,
            s.kernel_dropped,
            s.interface_dropped
        );
    }
    summary(&stats, started.elapsed().as_secs_f64());
    Ok(())
}
