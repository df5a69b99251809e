//! `--eve-*` options of `run` and `replay`, and the `[eve_log]` table of the config file (same
//! meanings; the command line wins).

use super::{writer::Rotation, EveConfig, EventType, Mode};
use crate::appliance::parse_bytes;
use crate::detect::rules::parse_duration;
use std::path::PathBuf;

#[derive(Clone, Debug, Default, clap::Args, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EveLogSettings {
    /// Write EVE records besides alerts (flow, modbus, mqtt, dns, dhcp, arp, anomaly, stats,
    /// bacnet, amqp, opcua) to this file, or with --eve-split to a file per type in this
    /// folder. Off unless given.
    #[arg(long = "eve-log", value_name = "PATH")]
    #[serde(rename = "path")]
    pub path: Option<PathBuf>,
    /// --eve-log is a folder with one file per record type (flow.json, modbus.json, ...).
    #[arg(long = "eve-split")]
    #[serde(default)]
    pub split: bool,
    /// Record types to write, comma separated, or `all` (default: all).
    #[arg(long = "eve-types", value_name = "LIST")]
    pub types: Option<String>,
    /// `all`: every transaction. `changes`: only what changes state (writes, control
    /// operations, authentication, new topics and names, errors), flow ends and counters.
    #[arg(long = "eve-mode", value_name = "MODE")]
    pub mode: Option<String>,
    /// In `changes` mode, also keep one in N of the other records (0: none).
    #[arg(long = "eve-sample", value_name = "N")]
    pub sample: Option<u32>,
    /// A flow still going gets a `flow` record this often (packet time; default 5m; 0: only
    /// at its end).
    #[arg(long = "eve-flow-interval", value_name = "DURATION")]
    pub flow_interval: Option<String>,
    /// A `stats` record this often (packet time; default 60s; 0: off).
    #[arg(long = "eve-stats-interval", value_name = "DURATION")]
    pub stats_interval: Option<String>,
    /// Rotate a file at this size (default 100M; 0: never by size).
    #[arg(long = "eve-rotate-size", value_name = "SIZE")]
    pub rotate_size: Option<String>,
    /// Rotate a file at this age (wall time, e.g. 1h; default: never by age).
    #[arg(long = "eve-rotate-age", value_name = "DURATION")]
    pub rotate_age: Option<String>,
    /// All record files together, rotated ones deleted oldest first (default 1G; 0: no cap).
    #[arg(long = "eve-max-total", value_name = "SIZE")]
    pub max_total: Option<String>,
}

impl EveLogSettings {
    /// The command line over the config file.
    pub fn over(self, file: EveLogSettings) -> EveLogSettings {
        EveLogSettings {
            path: self.path.or(file.path),
            split: self.split || file.split,
            types: self.types.or(file.types),
            mode: self.mode.or(file.mode),
            sample: self.sample.or(file.sample),
            flow_interval: self.flow_interval.or(file.flow_interval),
            stats_interval: self.stats_interval.or(file.stats_interval),
            rotate_size: self.rotate_size.or(file.rotate_size),
            rotate_age: self.rotate_age.or(file.rotate_age),
            max_total: self.max_total.or(file.max_total),
        }
    }

    /// The output these settings ask for (None: no --eve-log), or what is wrong with them.
    pub fn config(&self) -> anyhow::Result<Option<EveConfig>> {
        let Some(path) = &self.path else {
            let given = self.types.is_some() || self.mode.is_some() || self.split;
            if given {
                anyhow::bail!("--eve-types/--eve-mode/--eve-split need --eve-log PATH");
            }
            return Ok(None);
        };
        let d = EveConfig::default();
        let dur = |s: &Option<String>, name: &str, dflt: u64| -> anyhow::Result<u64> {
            match s.as_deref() {
                None => Ok(dflt),
                Some("0") => Ok(0),
                Some(v) => parse_duration(v).ok_or_else(|| {
                    anyhow::anyhow!("--eve-{name} {v}: expected a duration such as 5m")
                }),
            }
        };
        let size = |s: &Option<String>, name: &str, dflt: u64| -> anyhow::Result<u64> {
            match s.as_deref() {
                None => Ok(dflt),
                Some(v) => parse_bytes(v).ok_or_else(|| {
                    anyhow::anyhow!("--eve-{name} {v}: expected a size such as 100M")
                }),
            }
        };
        let types = match &self.types {
            Some(t) => EventType::parse_list(t).map_err(anyhow::Error::msg)?,
            None => d.types.clone(),
        };
        let mode = match self.mode.as_deref() {
            None | Some("all") => Mode::All,
            Some("changes") => Mode::Changes,
            Some(m) => anyhow::bail!("--eve-mode {m}: expected all or changes"),
        };
        let age = dur(&self.rotate_age, "rotate-age", 0)?;
        Ok(Some(EveConfig {
            path: path.clone(),
            split: self.split,
            types,
            mode,
            sample: self.sample.unwrap_or(0),
            flow_interval_ns: dur(&self.flow_interval, "flow-interval", d.flow_interval_ns)?,
            stats_interval_ns: dur(&self.stats_interval, "stats-interval", d.stats_interval_ns)?,
            rotation: Rotation {
                max_bytes: size(&self.rotate_size, "rotate-size", d.rotation.max_bytes)?,
                max_age: (age > 0).then(|| std::time::Duration::from_nanos(age)),
                max_total: size(&self.max_total, "max-total", d.rotation.max_total)?,
            },
            ifaces: Vec::new(),
            queue_batches: d.queue_batches,
            lossless: false,
        }))
    }
}
