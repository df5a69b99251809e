//! Rules as data: TOML files in a rules folder, one `[[rule]]` table per rule, in the spirit of
//! AWS IoT Device Defender behaviours: a metric, a scope, a threshold (static, or a percentile
//! of the learned windows), a window, datapoints to alarm and to clear, a severity and a
//! category. Every error names its file and line; `rules/README.md` documents the format.

use crate::identify::Role;
use serde::Deserialize;
use std::path::Path;
use toml::Spanned;

/// Alert categories (the contract's list).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    LateralMovement,
    DenialOfService,
    DataExfiltration,
    CommandAndControl,
    UnauthorizedAccess,
    IcsControl,
    Availability,
    ProtocolAnomaly,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::LateralMovement,
        Category::DenialOfService,
        Category::DataExfiltration,
        Category::CommandAndControl,
        Category::UnauthorizedAccess,
        Category::IcsControl,
        Category::Availability,
        Category::ProtocolAnomaly,
    ];
    pub fn name(self) -> &'static str {
        match self {
            Category::LateralMovement => "lateral_movement",
            Category::DenialOfService => "denial_of_service",
            Category::DataExfiltration => "data_exfiltration",
            Category::CommandAndControl => "command_and_control",
            Category::UnauthorizedAccess => "unauthorized_access",
            Category::IcsControl => "ics_control",
            Category::Availability => "availability",
            Category::ProtocolAnomaly => "protocol_anomaly",
        }
    }
    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.name() == s)
    }
}

impl serde::Serialize for Category {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Category {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Category, D::Error> {
        let s = String::deserialize(d)?;
        Category::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown category {s}")))
    }
}

/// Whose metric it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// The source of the behaviour (a scanner, a writer, a client).
    Actor,
    /// The destination (a flooded server, a service that stopped answering).
    Target,
}

/// What a rule measures. The catalogue is fixed; rules choose among it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Baseline metrics of a device (see `learn::BMetric`), over the baseline window when the
    /// threshold is statistical.
    Base(crate::learn::BMetric),
    NewEdge,
    NewExternalDestination,
    NewExternalBytesOut,
    FanoutHosts,
    FanoutPorts,
    FailedConnections,
    IcmpSweep,
    UnlearnedControl,
    DissectorEvent,
    SynIn,
    DistinctSourcesIn,
    UdpIn,
    IcmpIn,
    MqttConnectIn,
    ServiceRefused,
    SilentSecs,
    CaptureGap,
    StealthProbes,
    UdpPortUnreachable,
    IcmpExternalHosts,
    DnsTunnelQueries,
    DnsNameBytes,
    DnsDistinctSubdomains,
    DnsNxdomain,
    DhcpRequestsPerClient,
    DhcpNewClients,
    NewDhcpServer,
    ArpSpoof,
    ArpIpsClaimed,
    GratuitousArp,
    BeaconPeriods,
    IcsDiscovery,
    IcsIdentify,
    OpcuaBrowse,
    ShortLoginSessions,
}

/// Every metric after the baseline ones, in index order.
const OTHER: [Metric; 35] = [
    Metric::NewEdge,
    Metric::NewExternalDestination,
    Metric::NewExternalBytesOut,
    Metric::FanoutHosts,
    Metric::FanoutPorts,
    Metric::FailedConnections,
    Metric::IcmpSweep,
    Metric::UnlearnedControl,
    Metric::DissectorEvent,
    Metric::SynIn,
    Metric::DistinctSourcesIn,
    Metric::UdpIn,
    Metric::IcmpIn,
    Metric::MqttConnectIn,
    Metric::ServiceRefused,
    Metric::SilentSecs,
    Metric::CaptureGap,
    Metric::StealthProbes,
    Metric::UdpPortUnreachable,
    Metric::IcmpExternalHosts,
    Metric::DnsTunnelQueries,
    Metric::DnsNameBytes,
    Metric::DnsDistinctSubdomains,
    Metric::DnsNxdomain,
    Metric::DhcpRequestsPerClient,
    Metric::DhcpNewClients,
    Metric::NewDhcpServer,
    Metric::ArpSpoof,
    Metric::ArpIpsClaimed,
    Metric::GratuitousArp,
    Metric::BeaconPeriods,
    Metric::IcsDiscovery,
    Metric::IcsIdentify,
    Metric::OpcuaBrowse,
    Metric::ShortLoginSessions,
];

pub const N_METRIC: usize = 9 + OTHER.len();

impl Metric {
    pub fn all() -> Vec<Metric> {
        let mut v: Vec<Metric> = crate::learn::BMetric::ALL
            .iter()
            .map(|b| Metric::Base(*b))
            .collect();
        v.extend(OTHER);
        v
    }
    pub fn name(self) -> &'static str {
        match self {
            Metric::Base(b) => b.name(),
            Metric::NewEdge => "new_edge",
            Metric::NewExternalDestination => "new_external_destination",
            Metric::NewExternalBytesOut => "new_external_bytes_out",
            Metric::FanoutHosts => "fanout_hosts",
            Metric::FanoutPorts => "fanout_ports",
            Metric::FailedConnections => "failed_connections",
            Metric::IcmpSweep => "icmp_sweep",
            Metric::UnlearnedControl => "unlearned_control",
            Metric::DissectorEvent => "dissector_event",
            Metric::SynIn => "syn_in",
            Metric::DistinctSourcesIn => "distinct_sources_in",
            Metric::UdpIn => "udp_in",
            Metric::IcmpIn => "icmp_in",
            Metric::MqttConnectIn => "mqtt_connect_in",
            Metric::ServiceRefused => "service_refused",
            Metric::SilentSecs => "silent_secs",
            Metric::CaptureGap => "capture_gap",
            Metric::StealthProbes => "stealth_probes",
            Metric::UdpPortUnreachable => "udp_port_unreachable",
            Metric::IcmpExternalHosts => "icmp_external_hosts",
            Metric::DnsTunnelQueries => "dns_tunnel_queries",
            Metric::DnsNameBytes => "dns_name_bytes",
            Metric::DnsDistinctSubdomains => "dns_distinct_subdomains",
            Metric::DnsNxdomain => "dns_nxdomain",
            Metric::DhcpRequestsPerClient => "dhcp_requests_per_client",
            Metric::DhcpNewClients => "dhcp_new_clients",
            Metric::NewDhcpServer => "new_dhcp_server",
            Metric::ArpSpoof => "arp_spoof",
            Metric::ArpIpsClaimed => "arp_ips_claimed",
            Metric::GratuitousArp => "gratuitous_arp",
            Metric::BeaconPeriods => "beacon_periods",
            Metric::IcsDiscovery => "ics_discovery",
            Metric::IcsIdentify => "ics_identify",
            Metric::OpcuaBrowse => "opcua_browse",
            Metric::ShortLoginSessions => "short_login_sessions",
        }
    }
    /// A dense index (0..N_METRIC), without allocating: called for every observation.
    pub fn index(self) -> usize {
        match self {
            Metric::Base(b) => b.idx(),
            Metric::NewEdge => 9,
            Metric::NewExternalDestination => 10,
            Metric::NewExternalBytesOut => 11,
            Metric::FanoutHosts => 12,
            Metric::FanoutPorts => 13,
            Metric::FailedConnections => 14,
            Metric::IcmpSweep => 15,
            Metric::UnlearnedControl => 16,
            Metric::DissectorEvent => 17,
            Metric::SynIn => 18,
            Metric::DistinctSourcesIn => 19,
            Metric::UdpIn => 20,
            Metric::IcmpIn => 21,
            Metric::MqttConnectIn => 22,
            Metric::ServiceRefused => 23,
            Metric::SilentSecs => 24,
            Metric::CaptureGap => 25,
            Metric::StealthProbes => 26,
            Metric::UdpPortUnreachable => 27,
            Metric::IcmpExternalHosts => 28,
            Metric::DnsTunnelQueries => 29,
            Metric::DnsNameBytes => 30,
            Metric::DnsDistinctSubdomains => 31,
            Metric::DnsNxdomain => 32,
            Metric::DhcpRequestsPerClient => 33,
            Metric::DhcpNewClients => 34,
            Metric::NewDhcpServer => 35,
            Metric::ArpSpoof => 36,
            Metric::ArpIpsClaimed => 37,
            Metric::GratuitousArp => 38,
            Metric::BeaconPeriods => 39,
            Metric::IcsDiscovery => 40,
            Metric::IcsIdentify => 41,
            Metric::OpcuaBrowse => 42,
            Metric::ShortLoginSessions => 43,
        }
    }
    pub fn parse(s: &str) -> Option<Metric> {
        Metric::all().into_iter().find(|m| m.name() == s)
    }
    pub fn subject(self) -> Subject {
        match self {
            Metric::SynIn
            | Metric::DistinctSourcesIn
            | Metric::UdpIn
            | Metric::IcmpIn
            | Metric::MqttConnectIn
            | Metric::ServiceRefused
            | Metric::SilentSecs
            | Metric::CaptureGap
            | Metric::DhcpRequestsPerClient
            | Metric::DhcpNewClients => Subject::Target,
            _ => Subject::Actor,
        }
    }
    /// Counted as distinct elements (hosts, ports, sources) rather than summed.
    pub fn distinct(self) -> bool {
        matches!(
            self,
            Metric::FanoutHosts
                | Metric::FanoutPorts
                | Metric::IcmpSweep
                | Metric::DistinctSourcesIn
                | Metric::StealthProbes
                | Metric::UdpPortUnreachable
                | Metric::IcmpExternalHosts
                | Metric::DnsNxdomain
                | Metric::DhcpNewClients
                | Metric::ArpIpsClaimed
                | Metric::IcsDiscovery
        )
    }
    /// Each observation reports one new thing (a destination, an edge, an operation, a
    /// server, a claimed address), named by its element: a new thing is an alert of its own
    /// even while an episode of the same category is open for the subject; only the same
    /// thing again folds into its episode.
    pub fn itemized(self) -> bool {
        matches!(
            self,
            Metric::NewEdge
                | Metric::NewExternalDestination
                | Metric::UnlearnedControl
                | Metric::NewDhcpServer
                | Metric::ArpSpoof
                | Metric::BeaconPeriods
                | Metric::IcsIdentify
        )
    }
}

/// Who a rule applies to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Scope {
    pub net: Net,
    pub roles: Vec<Role>,
    pub labels: Vec<String>,
    pub devices: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Net {
    #[default]
    Any,
    Internal,
    External,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Threshold {
    /// Alarm when the window's value exceeds this.
    Above(f64),
    /// Alarm when it exceeds max(p(percentile) of the learned windows × factor + offset, floor).
    Baseline {
        percentile: f64,
        factor: f64,
        offset: f64,
        floor: f64,
    },
}

#[derive(Clone, Debug)]
pub struct Rule {
    pub sid: u32,
    pub rev: u32,
    pub name: String,
    pub category: Category,
    pub severity: u8,
    pub signature: String,
    pub metric: Metric,
    pub scope: Scope,
    /// Scope of the other party (the target of an actor metric, the actor of a target one).
    pub peer: Scope,
    pub window_ns: u64,
    pub threshold: Threshold,
    pub to_alarm: u32,
    pub to_clear: u32,
    /// `dissector_event` only: event names, `*` as a wildcard part (`modbus.*`, `*.malformed`).
    pub events: Vec<String>,
    /// What breached this rule while learning is normal for that subject.
    pub suppress_learned: bool,
    /// A static threshold rises to what the subject itself reached while learning (its
    /// normal). Default on; a rule opts out (an absolute ceiling) with `learned_is_normal =
    /// false`.
    pub learned_is_normal: bool,
    pub file: String,
    pub line: usize,
}

impl Rule {
    pub fn matches_event(&self, name: &str) -> bool {
        self.events.iter().any(|p| glob(p, name))
    }
}

fn glob(pat: &str, s: &str) -> bool {
    match pat.split_once('*') {
        None => pat == s,
        Some((pre, post)) => {
            s.len() >= pre.len() + post.len() && s.starts_with(pre) && s.ends_with(post)
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    rule: Vec<Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScope {
    #[serde(default)]
    net: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    labels: Vec<String>,
    #[serde(default)]
    devices: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBaseline {
    percentile: f64,
    #[serde(default = "one")]
    factor: f64,
    #[serde(default)]
    offset: f64,
    #[serde(default)]
    floor: f64,
}

fn one() -> f64 {
    1.0
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    sid: u32,
    #[serde(default = "rev1")]
    rev: u32,
    name: String,
    category: Spanned<String>,
    severity: Spanned<i64>,
    signature: String,
    metric: Spanned<String>,
    #[serde(default)]
    scope: Option<Spanned<RawScope>>,
    #[serde(default)]
    peer: Option<Spanned<RawScope>>,
    window: Spanned<String>,
    #[serde(default)]
    above: Option<f64>,
    #[serde(default)]
    baseline: Option<Spanned<RawBaseline>>,
    #[serde(default = "one_u")]
    datapoints_to_alarm: u32,
    #[serde(default = "two_u")]
    datapoints_to_clear: u32,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    suppress_learned: bool,
    #[serde(default = "yes")]
    learned_is_normal: bool,
}

fn yes() -> bool {
    true
}

fn rev1() -> u32 {
    1
}
fn one_u() -> u32 {
    1
}
fn two_u() -> u32 {
    2
}

/// 1-based line of byte offset `at`.
fn line_of(text: &str, at: usize) -> usize {
    text.get(..at.min(text.len()))
        .map_or(1, |t| t.bytes().filter(|&b| b == b'\n').count() + 1)
}

/// A TOML error as `N: message` (to follow a file name: `rules/x.toml:N: message`).
pub fn toml_error(text: &str, e: &toml::de::Error) -> String {
    match e.span() {
        Some(s) => format!("{}: {}", line_of(text, s.start), e.message()),
        None => format!(" {}", e.message()),
    }
}

/// Parse a duration: `500ms`, `10s`, `5m`, `1h`, `1d`.
pub fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit())?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().ok()?;
    let mul: u64 = match unit {
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        "d" => 86_400_000_000_000,
        _ => return None,
    };
    n.checked_mul(mul).filter(|&v| v > 0)
}

fn scope(text: &str, file: &str, raw: Option<Spanned<RawScope>>) -> Result<Scope, String> {
    let Some(raw) = raw else {
        return Ok(Scope::default());
    };
    let line = line_of(text, raw.span().start);
    let raw = raw.into_inner();
    let net = match raw.net.as_deref() {
        None | Some("any") => Net::Any,
        Some("internal") => Net::Internal,
        Some("external") => Net::External,
        Some(o) => {
            return Err(format!(
                "{file}:{line}: scope net `{o}`: expected any, internal or external"
            ))
        }
    };
    let roles = raw
        .roles
        .iter()
        .map(|r| Role::parse(r).ok_or_else(|| format!("{file}:{line}: unknown role `{r}`")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Scope {
        net,
        roles,
        labels: raw.labels,
        devices: raw.devices,
    })
}

/// Parse one rules file's text. `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Vec<Rule>, Vec<String>> {
    let f: File =
        toml::from_str(text).map_err(|e| vec![format!("{file}:{}", toml_error(text, &e))])?;
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for raw in f.rule {
        let line = line_of(text, raw.span().start);
        match convert(text, file, line, raw.into_inner()) {
            Ok(r) => rules.push(r),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(errors)
    }
}

fn convert(text: &str, file: &str, line: usize, r: RawRule) -> Result<Rule, String> {
    let at = |s: std::ops::Range<usize>| line_of(text, s.start);
    let category = Category::parse(r.category.get_ref()).ok_or_else(|| {
        format!(
            "{file}:{}: unknown category `{}` (one of: {})",
            at(r.category.span()),
            r.category.get_ref(),
            Category::ALL.map(Category::name).join(", ")
        )
    })?;
    let metric = Metric::parse(r.metric.get_ref()).ok_or_else(|| {
        format!(
            "{file}:{}: unknown metric `{}` (see rules/README.md)",
            at(r.metric.span()),
            r.metric.get_ref()
        )
    })?;
    let sev = *r.severity.get_ref();
    if !(1..=3).contains(&sev) {
        return Err(format!(
            "{file}:{}: severity must be 1 (high), 2 or 3 (low)",
            at(r.severity.span())
        ));
    }
    let window_ns = parse_duration(r.window.get_ref()).ok_or_else(|| {
        format!(
            "{file}:{}: window `{}`: expected a duration such as 10s, 5m, 1h",
            at(r.window.span()),
            r.window.get_ref()
        )
    })?;
    let threshold = match (r.above, r.baseline) {
        (Some(v), None) if v.is_finite() => Threshold::Above(v),
        (None, Some(b)) => {
            let l = at(b.span());
            let b = b.into_inner();
            let stat_ok = matches!(metric, Metric::Base(_) | Metric::SilentSecs);
            if !stat_ok {
                return Err(format!(
                    "{file}:{l}: metric `{}` has no learned baseline: use `above`",
                    metric.name()
                ));
            }
            if !(0.0..=100.0).contains(&b.percentile) || !b.factor.is_finite() || b.factor < 0.0 {
                return Err(format!(
                    "{file}:{l}: baseline needs percentile 0-100 and a factor >= 0"
                ));
            }
            Threshold::Baseline {
                percentile: b.percentile,
                factor: b.factor,
                offset: b.offset,
                floor: b.floor,
            }
        }
        _ => {
            return Err(format!(
                "{file}:{line}: rule {} needs exactly one of `above` or `baseline`",
                r.sid
            ))
        }
    };
    if !r.events.is_empty() && metric != Metric::DissectorEvent {
        return Err(format!(
            "{file}:{line}: `events` only applies to metric dissector_event"
        ));
    }
    if metric == Metric::DissectorEvent && r.events.is_empty() {
        return Err(format!(
            "{file}:{line}: metric dissector_event needs `events` (e.g. [\"modbus.*\"])"
        ));
    }
    if r.datapoints_to_alarm == 0 || r.datapoints_to_clear == 0 {
        return Err(format!(
            "{file}:{line}: datapoints_to_alarm and datapoints_to_clear must be at least 1"
        ));
    }
    Ok(Rule {
        sid: r.sid,
        rev: r.rev,
        name: r.name,
        category,
        severity: sev as u8,
        signature: r.signature,
        metric,
        scope: scope(text, file, r.scope)?,
        peer: scope(text, file, r.peer)?,
        window_ns,
        threshold,
        to_alarm: r.datapoints_to_alarm,
        to_clear: r.datapoints_to_clear,
        events: r.events,
        suppress_learned: r.suppress_learned,
        learned_is_normal: r.learned_is_normal,
        file: file.to_string(),
        line,
    })
}

/// Every `*.toml` file of a folder (`what` names it in errors), in name order, each read by
/// `parse(text, file name)`. All errors are returned together; an empty folder is one.
pub fn load_toml_dir<T>(
    dir: &Path,
    what: &str,
    parse: impl Fn(&str, &str) -> Result<Vec<T>, Vec<String>>,
) -> Result<Vec<T>, Vec<String>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| vec![format!("{what} folder {}: {e}", dir.display())])?;
    let mut files: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(vec![format!(
            "{what} folder {}: no *.toml files",
            dir.display()
        )]);
    }
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        let name = f.display().to_string();
        match std::fs::read_to_string(&f) {
            Ok(text) => match parse(&text, &name) {
                Ok(r) => out.extend(r),
                Err(e) => errors.extend(e),
            },
            Err(e) => errors.push(format!("{name}: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Load every `*.toml` file of a folder, in name order. All errors are returned together.
pub fn load_dir(dir: &Path) -> Result<Vec<Rule>, Vec<String>> {
    let rules = load_toml_dir(dir, "rules", parse)?;
    let mut errors = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for r in &rules {
        if let Some((f, l)) = seen.insert(r.sid, (r.file.clone(), r.line)) {
            errors.push(format!(
                "{}:{}: sid {} already used at {f}:{l}",
                r.file, r.line, r.sid
            ));
        }
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_line() {
        let text = "[[rule]]\nsid = 1\nname = \"x\"\ncategory = \"lateral_movement\"\nseverity = 2\nsignature = \"s\"\nmetric = \"nope\"\nwindow = \"10s\"\nabove = 0\n";
        let e = parse(text, "f.toml").err().unwrap_or_default();
        assert_eq!(e.len(), 1);
        assert!(e[0].starts_with("f.toml:7: unknown metric `nope`"), "{e:?}");
        let bad_window = text.replace("nope", "new_edge").replace("10s", "ten");
        let e = parse(&bad_window, "f.toml").err().unwrap_or_default();
        assert!(e[0].starts_with("f.toml:8: window"), "{e:?}");
        let e = parse("[[rule]]\nsid = 1\nbogus = 2\n", "f.toml")
            .err()
            .unwrap_or_default();
        assert!(e[0].starts_with("f.toml:3: unknown field `bogus`"), "{e:?}");
        let ok = text.replace("nope", "new_edge");
        assert_eq!(parse(&ok, "f.toml").map(|r| r.len()), Ok(1));
    }

    #[test]
    fn metric_index_is_dense() {
        for (i, m) in Metric::all().into_iter().enumerate() {
            assert_eq!(m.index(), i, "{}", m.name());
        }
        assert_eq!(Metric::all().len(), N_METRIC);
    }

    #[test]
    fn durations_and_globs() {
        assert_eq!(parse_duration("10s"), Some(10_000_000_000));
        assert_eq!(parse_duration("5m"), Some(300_000_000_000));
        assert_eq!(parse_duration("0s"), None);
        assert_eq!(parse_duration("s"), None);
        assert!(glob("modbus.*", "modbus.bad_length"));
        assert!(glob("*.malformed", "mqtt.malformed"));
        assert!(!glob("modbus.*", "mqtt.malformed"));
    }
}
