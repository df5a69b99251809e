//! Stage 8: alerts. The site model reports observations (a metric, its actor and target, a
//! value); the engine evaluates the rules that read that metric, keeps one window state per
//! (rule, subject), and turns breaching datapoints into alerts with a lifecycle: one alert per
//! episode of a category against one subject (a SYN flood breaching three rules for a minute is
//! one alert), updated while it lasts, cleared when the datapoints say so.
//!
//! Bounded: window states and open episodes have caps (counted when hit); raised alerts go to
//! an [`alert::AlertSink`] as they happen and only the most recent stay in memory.

pub mod alert;
pub mod rules;

use crate::identify::{stable_hash, DevIdx, Inventory};
use alert::{Alert, AlertSink, DevRef, Episode};
use edgetap_dissectors::Proto;
use rules::{Category, Metric, Net, Rule, Scope, Subject, Threshold, N_METRIC};
use serde::Serialize;
use std::collections::{HashMap, HashSet, VecDeque};

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;
type FastSet<K> = HashSet<K, foldhash::fast::FixedState>;
use std::net::IpAddr;

/// One side of an observation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Party {
    pub ip: IpAddr,
    pub port: Option<u16>,
    pub dev: Option<DevIdx>,
}

#[derive(Clone, Copy, Debug)]
pub enum Val {
    /// Add to the window's value.
    Add(f64),
    /// The window's value is now this (gauges, statistical checks of live counters).
    Set(f64),
}

/// One observation of a metric.
#[derive(Clone, Copy, Debug)]
pub struct Obs<'a> {
    pub metric: Metric,
    pub actor: Option<Party>,
    pub target: Option<Party>,
    pub value: Val,
    /// For distinct-count metrics: the element (a host, a port, a source), hashed.
    pub elem: u64,
    pub ts_ns: u64,
    pub frame: u64,
    pub source: usize,
    pub ip_proto: u8,
    pub app: Option<Proto>,
    /// What happened, for the message and the evidence (an event name, an edge, an op).
    pub detail: &'a str,
}

/// Per (rule, subject) window state.
struct State {
    win_start: u64,
    value: f64,
    set: Option<FastSet<u64>>,
    breached: bool,
    /// The previous window's value when it was the one just before the current one (else 0):
    /// with it, what a subject reached while learning bounds any window of the same traffic
    /// however the windows fall.
    prev: f64,
    /// Consecutive breached windows before the current one.
    consec: u32,
    last_ns: u64,
}

/// Distinct elements kept per window state (counts stop growing beyond: thresholds are lower).
const DISTINCT_CAP: usize = 4096;

struct Open {
    alert: Alert,
    deadline: u64,
    /// The item of an itemized episode (0: none), and its subject.
    item: u64,
    skey: u64,
}

/// Itemized episodes open at once for one (category, subject): a million new destinations
/// are a hundred alerts and one that counts the rest, not a million lines.
const MAX_ITEMS_PER_SUBJECT: u32 = 100;

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct EngineStats {
    pub observations: u64,
    pub breaches: u64,
    pub alerts: u64,
    pub updates: u64,
    pub cleared: u64,
    /// Breaches while learning (recorded as normal where the rule says so, never alerted).
    pub learning_breaches: u64,
    /// Breaches of a behaviour learned as normal for that subject.
    pub suppressed_learned: u64,
    /// Window states not kept because the table was full.
    pub states_dropped: u64,
    /// Window states forgotten to make room in a full table.
    pub states_evicted: u64,
    pub states: u64,
    /// (rule, subject) peaks learned (a static threshold's "normal" for that subject).
    pub learned_peaks: u64,
    /// Peaks not kept because the table was full.
    pub peaks_dropped: u64,
    /// Window states restarted after a capture gap or a jump in packet time.
    pub restarts: u64,
    /// New items folded into their subject's episode because it had too many open.
    pub items_folded: u64,
    pub open_episodes: u64,
}

/// Limits of the engine's memory.
#[derive(Clone, Copy, Debug)]
pub struct EngineLimits {
    pub states: usize,
    pub open_episodes: usize,
    pub recent_alerts: usize,
}

impl Default for EngineLimits {
    fn default() -> Self {
        EngineLimits {
            states: 200_000,
            open_episodes: 10_000,
            recent_alerts: 10_000,
        }
    }
}

pub struct Engine {
    pub rules: Vec<Rule>,
    by_metric: Vec<Vec<usize>>,
    states: FastMap<(u32, u64), State>,
    /// Open episodes by (category, subject, item): the item is 0 but for itemized metrics.
    open: FastMap<(Category, u64, u64), Open>,
    /// Itemized episodes open per (category, subject).
    items: FastMap<(Category, u64), u32>,
    /// Alerts raised, newest last (bounded).
    pub recent: VecDeque<Alert>,
    pub learning: bool,
    /// (sid, subject, detail) breached while learning, for rules that suppress those.
    pub learned: FastSet<(u32, u64, u64)>,
    /// (sid, subject) an operator accepted as normal ("learn this").
    pub accepted: FastSet<(u32, u64)>,
    /// (sid, subject) -> the most a static rule's subject reached while learning, over two
    /// consecutive windows (see [`State::prev`]). Bounded by `limits.states`.
    pub peaks: FastMap<(u32, u64), f64>,
    pub limits: EngineLimits,
    pub stats: EngineStats,
    last_sweep: u64,
    last_room: u64,
}

/// The key of a subject: its device when it has one, else its address.
pub fn subject_key(p: &Party) -> u64 {
    match p.dev {
        Some(d) => (1 << 63) | u64::from(d),
        None => {
            let b = match p.ip {
                IpAddr::V4(v) => v.octets().to_vec(),
                IpAddr::V6(v) => v.octets().to_vec(),
            };
            stable_hash(&[&b]) & !(1 << 63)
        }
    }
}

fn scope_ok(s: &Scope, p: &Party, inv: &Inventory) -> bool {
    let dev = p.dev.and_then(|d| inv.get(d));
    let internal = dev.map_or_else(|| inv.is_internal(p.ip), |d| d.internal);
    match s.net {
        Net::Any => {}
        Net::Internal if !internal => return false,
        Net::External if internal => return false,
        _ => {}
    }
    if s.roles.is_empty() && s.labels.is_empty() && s.devices.is_empty() {
        return true;
    }
    let Some(d) = dev else { return false };
    (s.roles.is_empty() || s.roles.iter().any(|r| d.roles.has(*r)))
        && (s.labels.is_empty() || s.labels.iter().any(|l| d.labels.contains(l)))
        && (s.devices.is_empty()
            || s.devices
                .iter()
                .any(|n| d.name.as_deref() == Some(n.as_str()) || d.id == *n))
}

fn name_of(p: Option<&Party>, inv: &Inventory) -> String {
    match p {
        None => "-".into(),
        Some(p) => match p.dev.and_then(|d| inv.get(d)) {
            Some(d) => d.label(),
            None => p.ip.to_string(),
        },
    }
}

fn dev_ref(p: Option<&Party>, inv: &Inventory) -> Option<DevRef> {
    let d = inv.get(p?.dev?)?;
    Some(DevRef {
        id: d.id.clone(),
        name: d.label(),
    })
}

fn fmt_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
    }
}

/// The state table is full (a flood of sources or destinations): forget, at most once a
/// second of packet time, the states whose window passed without a breach, then those
/// holding a single quiet observation (what a spoofed flood leaves), so a scan or a tunnel
/// behind the flood still gets a state.
fn make_room(
    states: &mut FastMap<(u32, u64), State>,
    rules: &[Rule],
    cap: usize,
    last_room: &mut u64,
    stats: &mut EngineStats,
    now: u64,
) {
    if *last_room != 0 && now.saturating_sub(*last_room) < 1_000_000_000 {
        return;
    }
    *last_room = now;
    let before = states.len();
    states.retain(|(ri, _), st| {
        let w = rules.get(*ri as usize).map_or(0, |r| r.window_ns);
        st.breached || now.saturating_sub(st.last_ns) <= w
    });
    if states.len() * 10 >= cap * 9 {
        states.retain(|_, st| st.breached || st.value > 1.0 || st.prev > 1.0);
    }
    stats.states_evicted += (before - states.len()) as u64;
}

impl Engine {
    pub fn new(rules: Vec<Rule>, limits: EngineLimits) -> Engine {
        let mut e = Engine {
            rules: Vec::new(),
            by_metric: Vec::new(),
            states: FastMap::default(),
            open: FastMap::default(),
            items: FastMap::default(),
            recent: VecDeque::new(),
            learning: false,
            learned: FastSet::default(),
            accepted: FastSet::default(),
            peaks: FastMap::default(),
            limits,
            stats: EngineStats::default(),
            last_sweep: 0,
            last_room: 0,
        };
        e.set_rules(rules);
        e
    }

    /// Replace the rules (SIGHUP). Window states restart; open episodes and learned
    /// suppressions are kept.
    pub fn set_rules(&mut self, rules: Vec<Rule>) {
        self.by_metric = vec![Vec::new(); N_METRIC];
        for (i, r) in rules.iter().enumerate() {
            if let Some(v) = self.by_metric.get_mut(r.metric.index()) {
                v.push(i);
            }
        }
        self.rules = rules;
        self.states.clear();
    }

    /// Packet time broke (a capture gap, time going backwards): every window restarts.
    /// Open episodes and what was learned stay.
    pub fn restart_windows(&mut self) {
        self.states.clear();
        self.stats.restarts += 1;
    }

    /// Whether any rule reads `m` (so producers can skip work).
    pub fn wants(&self, m: Metric) -> bool {
        self.by_metric.get(m.index()).is_some_and(|v| !v.is_empty())
    }

    /// Rules reading `m`.
    pub fn rules_for(&self, m: Metric) -> impl Iterator<Item = &Rule> {
        self.by_metric
            .get(m.index())
            .into_iter()
            .flatten()
            .filter_map(|&i| self.rules.get(i))
    }

    /// Evaluate an observation. `base` gives a statistical rule's threshold for a subject
    /// device (None: not enough learned to judge).
    pub fn observe(
        &mut self,
        o: &Obs<'_>,
        inv: &Inventory,
        base: &dyn Fn(&Rule, Option<DevIdx>) -> Option<f64>,
        sink: &mut dyn AlertSink,
    ) {
        self.stats.observations += 1;
        let Some(idx) = self.by_metric.get(o.metric.index()) else {
            return;
        };
        for k in 0..idx.len() {
            let Some(&ri) = self.by_metric.get(o.metric.index()).and_then(|v| v.get(k)) else {
                continue;
            };
            let Some(r) = self.rules.get(ri) else {
                continue;
            };
            if o.metric == Metric::DissectorEvent && !r.matches_event(o.detail) {
                continue;
            }
            let (subj, peer) = match o.metric.subject() {
                Subject::Actor => (o.actor, o.target),
                Subject::Target => (o.target, o.actor),
            };
            let Some(subj) = subj else { continue };
            if !scope_ok(&r.scope, &subj, inv) {
                continue;
            }
            match &peer {
                Some(p) if !scope_ok(&r.peer, p, inv) => continue,
                None if r.peer != Scope::default() => continue,
                _ => {}
            }
            let skey = subject_key(&subj);
            let static_thr = match r.threshold {
                Threshold::Above(v) => Some(v),
                Threshold::Baseline { .. } => None,
            };
            let thr = match static_thr {
                Some(v) if r.learned_is_normal && !self.learning => {
                    self.peaks.get(&(r.sid, skey)).map_or(v, |p| v.max(*p))
                }
                Some(v) => v,
                None => match base(r, subj.dev) {
                    Some(t) => t,
                    None => continue,
                },
            };
            let key = (ri as u32, skey);
            if !self.states.contains_key(&key) && self.states.len() >= self.limits.states {
                make_room(
                    &mut self.states,
                    &self.rules,
                    self.limits.states,
                    &mut self.last_room,
                    &mut self.stats,
                    o.ts_ns,
                );
                if self.states.len() >= self.limits.states {
                    self.stats.states_dropped += 1;
                    continue;
                }
            }
            let window = r.window_ns;
            let st = self.states.entry(key).or_insert_with(|| State {
                win_start: o.ts_ns,
                value: 0.0,
                set: None,
                breached: false,
                prev: 0.0,
                consec: 0,
                last_ns: o.ts_ns,
            });
            let elapsed = o.ts_ns.saturating_sub(st.win_start) / window;
            if elapsed >= 1 {
                st.consec = if st.breached && elapsed == 1 {
                    st.consec.saturating_add(1)
                } else {
                    0
                };
                st.prev = if elapsed == 1 { st.value } else { 0.0 };
                st.win_start = st.win_start.saturating_add(elapsed.saturating_mul(window));
                st.value = 0.0;
                if let Some(s) = st.set.as_mut() {
                    s.clear();
                }
                st.breached = false;
            }
            st.last_ns = o.ts_ns;
            if o.metric.distinct() {
                let set = st.set.get_or_insert_with(FastSet::default);
                if set.len() < DISTINCT_CAP {
                    set.insert(o.elem);
                }
                st.value = set.len() as f64;
            } else {
                match o.value {
                    Val::Add(v) => st.value += v,
                    Val::Set(v) => st.value = v,
                }
            }
            let value = st.value;
            if self.learning && r.learned_is_normal {
                if let Some(v) = static_thr {
                    // Learning: what the subject reaches is its normal (only what rises above
                    // the static threshold needs keeping).
                    let pair = value + st.prev;
                    if pair > v {
                        let k = (r.sid, skey);
                        let room = self.peaks.len() < self.limits.states;
                        match self.peaks.get_mut(&k) {
                            Some(p) => *p = p.max(pair),
                            None if room => {
                                self.peaks.insert(k, pair);
                                self.stats.learned_peaks += 1;
                            }
                            None => self.stats.peaks_dropped += 1,
                        }
                    }
                }
            }
            if value.partial_cmp(&thr) != Some(std::cmp::Ordering::Greater) {
                continue;
            }
            let cat = r.category;
            let item = if o.metric.itemized() { o.elem } else { 0 };
            if st.breached && !o.metric.itemized() {
                // Still breaching in the same window: keep the episode alive.
                if let Some(op) = self.open.get_mut(&(cat, skey, 0)) {
                    op.alert.episode.last_ns = o.ts_ns;
                    op.alert.episode.max_value = op.alert.episode.max_value.max(value);
                    op.deadline = op
                        .deadline
                        .max(o.ts_ns + u64::from(r.to_clear).saturating_mul(window));
                }
                continue;
            }
            let first_breach = !st.breached;
            st.breached = true;
            let datapoints = st.consec + 1;
            if first_breach {
                self.stats.breaches += 1;
            }
            let detail_key = if o.metric == Metric::DissectorEvent {
                stable_hash(&[o.detail.as_bytes()])
            } else {
                0
            };
            if self.learning {
                self.stats.learning_breaches += 1;
                if r.suppress_learned {
                    self.learned.insert((r.sid, skey, detail_key));
                }
                continue;
            }
            if self.accepted.contains(&(r.sid, skey))
                || (r.suppress_learned && self.learned.contains(&(r.sid, skey, detail_key)))
            {
                self.stats.suppressed_learned += 1;
                continue;
            }
            if datapoints < r.to_alarm {
                continue;
            }
            let deadline = o.ts_ns + u64::from(r.to_clear).saturating_mul(window);
            self.alarm(ri, o, subj, item, value, thr, deadline, inv, sink);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn alarm(
        &mut self,
        ri: usize,
        o: &Obs<'_>,
        subj: Party,
        item: u64,
        value: f64,
        thr: f64,
        deadline: u64,
        inv: &Inventory,
        sink: &mut dyn AlertSink,
    ) {
        let Some(r) = self.rules.get(ri).cloned() else {
            return;
        };
        let mut skey = subject_key(&subj);
        if subj.dev.is_some() {
            // The subject became a device during its episode (a scanner answered): the
            // episode opened under its address goes on.
            let by_ip = subject_key(&Party { dev: None, ..subj });
            if self.open.contains_key(&(r.category, by_ip, item)) {
                skey = by_ip;
            }
        }
        let mut item = item;
        if item != 0
            && !self.open.contains_key(&(r.category, skey, item))
            && self.items.get(&(r.category, skey)).copied().unwrap_or(0) >= MAX_ITEMS_PER_SUBJECT
        {
            self.stats.items_folded += 1;
            item = 0;
        }
        if let Some(op) = self.open.get_mut(&(r.category, skey, item)) {
            let ep = &mut op.alert.episode;
            ep.datapoints += 1;
            ep.last_ns = o.ts_ns;
            ep.max_value = ep.max_value.max(value);
            if !ep.rules.contains(&r.sid) && ep.rules.len() < 32 {
                ep.rules.push(r.sid);
            }
            op.deadline = op.deadline.max(deadline);
            self.stats.updates += 1;
            sink.updated(&op.alert);
            return;
        }
        if self.open.len() >= self.limits.open_episodes {
            // Never lose an alert for want of room: close the oldest episode first.
            if let Some(k) = self
                .open
                .iter()
                .min_by_key(|(_, v)| v.alert.episode.last_ns)
                .map(|(k, _)| *k)
            {
                if let Some(op) = self.open.remove(&k) {
                    self.close(op, o.ts_ns, sink);
                }
            }
        }
        // The sensor's own health has no address: it is the subject of a capture gap.
        let sensor = o.metric == Metric::CaptureGap;
        let (actor, target) = if sensor {
            (None, None)
        } else {
            (o.actor, o.target)
        };
        let src = name_of(actor.as_ref(), inv);
        let dst = if sensor {
            "sensor".to_string()
        } else {
            name_of(target.as_ref(), inv)
        };
        let proto = o.app.map_or_else(
            || match o.ip_proto {
                6 => "tcp".to_string(),
                17 => "udp".to_string(),
                1 | 58 => "icmp".to_string(),
                _ => "ip".to_string(),
            },
            |p| p.name().to_string(),
        );
        let port = target
            .and_then(|t| t.port)
            .map_or_else(|| "-".to_string(), |p| p.to_string());
        let signature = r
            .signature
            .replace("{src}", &src)
            .replace("{dst}", &dst)
            .replace("{proto}", &proto)
            .replace("{port}", &port)
            .replace("{value}", &fmt_value(value))
            .replace("{threshold}", &fmt_value(thr))
            .replace("{detail}", o.detail)
            .replace("{window}", &format!("{}s", r.window_ns / 1_000_000_000));
        let id = format!(
            "a{:016x}",
            stable_hash(&[
                &r.sid.to_be_bytes(),
                &skey.to_be_bytes(),
                &o.ts_ns.to_be_bytes(),
                &item.to_be_bytes(),
            ])
        );
        let alert = Alert {
            id,
            ts_ns: o.ts_ns,
            sid: r.sid,
            rev: r.rev,
            signature,
            category: r.category,
            severity: r.severity,
            src_ip: actor.map(|a| a.ip),
            src_port: actor.and_then(|a| a.port),
            dest_ip: target.map(|t| t.ip),
            dest_port: target.and_then(|t| t.port),
            ip_proto: o.ip_proto,
            app_proto: o.app.map(|p| p.name().to_string()),
            src_device: dev_ref(actor.as_ref(), inv),
            dest_device: dev_ref(target.as_ref(), inv),
            evidence: serde_json::json!({
                "rule": {"sid": r.sid, "name": r.name, "at": format!("{}:{}", r.file, r.line)},
                "metric": r.metric.name(),
                "value": value,
                "threshold": thr,
                "window_secs": r.window_ns as f64 / 1e9,
                "detail": o.detail,
                "first_frame": o.frame,
                "first_ts": crate::output::Rfc3339(o.ts_ns).to_string(),
                "subject": if sensor { "sensor" } else { match r.metric.subject() {
                    Subject::Actor => "src",
                    Subject::Target => "dest",
                } },
            }),
            episode: Episode {
                state: "open".into(),
                first_ns: o.ts_ns,
                last_ns: o.ts_ns,
                datapoints: 1,
                rules: vec![r.sid],
                max_value: value,
                cleared_ns: None,
            },
            frame: o.frame,
            source: o.source,
            acknowledged: false,
        };
        self.stats.alerts += 1;
        sink.raised(&alert);
        if item != 0 {
            *self.items.entry((r.category, skey)).or_insert(0) += 1;
        }
        self.open.insert(
            (r.category, skey, item),
            Open {
                alert,
                deadline,
                item,
                skey,
            },
        );
    }

    fn close(&mut self, mut op: Open, now: u64, sink: &mut dyn AlertSink) {
        if op.item != 0 {
            let k = (op.alert.category, op.skey);
            if let Some(n) = self.items.get_mut(&k) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.items.remove(&k);
                }
            }
        }
        op.alert.episode.state = "cleared".into();
        op.alert.episode.cleared_ns = Some(now);
        self.stats.cleared += 1;
        sink.updated(&op.alert);
        self.remember(op.alert);
    }

    fn remember(&mut self, a: Alert) {
        if self.recent.len() >= self.limits.recent_alerts {
            self.recent.pop_front();
        }
        self.recent.push_back(a);
    }

    /// Packet time passes: episodes whose datapoints stopped breaching clear, and idle window
    /// states are dropped.
    pub fn tick(&mut self, now: u64, sink: &mut dyn AlertSink) {
        let due: Vec<(Category, u64, u64)> = self
            .open
            .iter()
            .filter(|(_, v)| now > v.deadline)
            .map(|(k, _)| *k)
            .collect();
        for k in due {
            if let Some(op) = self.open.remove(&k) {
                self.close(op, now, sink);
            }
        }
        // Every minute of packet time, forget window states idle for longer than a few
        // windows (what a flood of one-packet sources leaves behind).
        if now.saturating_sub(self.last_sweep) >= 60_000_000_000 {
            self.last_sweep = now;
            let rules = &self.rules;
            self.states.retain(|(ri, _), st| {
                let w = rules.get(*ri as usize).map_or(0, |r| r.window_ns);
                now.saturating_sub(st.last_ns) <= w.saturating_mul(4).max(120_000_000_000)
            });
        }
        self.stats.states = self.states.len() as u64;
        self.stats.open_episodes = self.open.len() as u64;
    }

    /// End of input: open episodes stay open (they are reported as such).
    pub fn open_alerts(&self) -> impl Iterator<Item = &Alert> {
        self.open.values().map(|o| &o.alert)
    }

    /// All alerts in memory (open and recent), newest first.
    pub fn all_alerts(&self) -> Vec<&Alert> {
        let mut v: Vec<&Alert> = self.recent.iter().chain(self.open_alerts()).collect();
        v.sort_by(|a, b| b.ts_ns.cmp(&a.ts_ns).then(a.id.cmp(&b.id)));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identify::net::SiteNets;

    const RULES: &str = r#"
[[rule]]
sid = 1
name = "fanout"
category = "lateral_movement"
severity = 1
signature = "{src} {value}"
metric = "fanout_hosts"
window = "10s"
above = 5

[[rule]]
sid = 2
name = "first-contact"
category = "command_and_control"
severity = 1
signature = "{src} -> {dst}"
metric = "new_external_destination"
window = "10m"
above = 0
"#;

    fn obs(metric: Metric, ts_s: u64, elem: u64) -> Obs<'static> {
        let p = |ip: [u8; 4]| Party {
            ip: IpAddr::from(ip),
            port: None,
            dev: None,
        };
        Obs {
            metric,
            actor: Some(p([10, 0, 0, 1])),
            target: Some(p([52, 0, 0, (elem % 250) as u8])),
            value: Val::Add(1.0),
            elem,
            ts_ns: ts_s * 1_000_000_000,
            frame: 0,
            source: 0,
            ip_proto: 6,
            app: None,
            detail: "",
        }
    }

    fn engine() -> (Engine, Inventory) {
        let rules = rules::parse(RULES, "t.toml").unwrap_or_default();
        assert_eq!(rules.len(), 2);
        (
            Engine::new(rules, EngineLimits::default()),
            Inventory::new(SiteNets::default(), 10),
        )
    }

    /// `n` distinct hosts contacted within one second starting at `t`.
    fn burst(e: &mut Engine, inv: &Inventory, sink: &mut Vec<Alert>, t: u64, n: u64) {
        for h in 0..n {
            e.observe(
                &obs(Metric::FanoutHosts, t, 1000 + h),
                inv,
                &|_, _| None,
                sink,
            );
        }
    }

    #[test]
    fn what_a_subject_did_while_learning_is_its_normal() {
        let (mut e, inv) = engine();
        let mut sink = Vec::new();
        e.learning = true;
        // 21 hosts in its first seconds (a SCADA master's start-up), split across windows.
        burst(&mut e, &inv, &mut sink, 100, 12);
        burst(&mut e, &inv, &mut sink, 110, 9);
        assert!(sink.is_empty());
        assert_eq!(e.stats.learned_peaks, 1);
        e.learning = false;
        e.restart_windows();
        // The same start-up again, in one window: normal.
        burst(&mut e, &inv, &mut sink, 5000, 21);
        assert!(sink.is_empty(), "{sink:?}");
        // Far more than it ever did: alerted.
        burst(&mut e, &inv, &mut sink, 6000, 60);
        assert_eq!(sink.len(), 1);
        // A rule that opts out keeps its static threshold.
        let (mut e, inv) = engine();
        for r in &mut e.rules {
            r.learned_is_normal = false;
        }
        e.learning = true;
        burst(&mut e, &inv, &mut sink, 100, 21);
        e.learning = false;
        e.restart_windows();
        burst(&mut e, &inv, &mut sink, 5000, 21);
        assert_eq!(sink.len(), 2);
    }

    #[test]
    fn each_new_item_is_its_own_alert_and_repeats_fold() {
        let (mut e, inv) = engine();
        let mut sink = Vec::new();
        let none = |_: &Rule, _: Option<DevIdx>| None;
        e.observe(
            &obs(Metric::NewExternalDestination, 10, 1),
            &inv,
            &none,
            &mut sink,
        );
        e.observe(
            &obs(Metric::NewExternalDestination, 20, 2),
            &inv,
            &none,
            &mut sink,
        );
        e.observe(
            &obs(Metric::NewExternalDestination, 30, 1),
            &inv,
            &none,
            &mut sink,
        );
        assert_eq!(sink.len(), 2, "{sink:?}");
        assert_eq!(e.stats.updates, 1);
        // A flood of new items from one subject: capped, the rest counted.
        for i in 0..1000 {
            e.observe(
                &obs(Metric::NewExternalDestination, 40, 100 + i),
                &inv,
                &none,
                &mut sink,
            );
        }
        assert_eq!(sink.len(), MAX_ITEMS_PER_SUBJECT as usize + 1);
        assert!(e.stats.items_folded > 800);
    }
}
