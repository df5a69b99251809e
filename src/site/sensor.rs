//! The sensor as a subject of its own: when packet time jumps forward past a limit (a capture
//! resumed hours later, two captures cut from one timeline, a restarted sensor) or the live
//! capture lost packets, the tap was not looking. Such a gap is recorded with its start, end
//! and cause and raises at most one alert (category `availability`, subject: the sensor);
//! every device's silence clock, the open windows and the baselines' current windows restart,
//! so nothing is judged, or learned, across it.

use super::Site;
use crate::detect::alert::AlertSink;
use crate::detect::rules::Metric;
use crate::detect::{Obs, Party, Val};
use crate::learn::Window;
use serde::Serialize;
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};

/// Gaps kept for the API (the oldest go first; all are counted).
const MAX_GAPS: usize = 64;
/// Packet time going backwards by less than this is reordering (several interfaces), not a
/// break.
const BACKWARDS_TOLERANCE_NS: u64 = 10_000_000_000;

/// One stretch of time the sensor did not see.
#[derive(Clone, Debug, Serialize)]
pub struct Gap {
    pub start_ns: u64,
    pub end_ns: u64,
    pub secs: f64,
    pub cause: String,
}

#[derive(Clone, Copy, Debug, Default, Serialize, serde::Deserialize)]
pub struct SensorStats {
    /// Capture gaps recorded (packet time jumps, live silence, drops).
    pub gaps: u64,
    /// Packet time went backwards (a new capture file, a replay's second pass): clocks restart
    /// without an alert.
    pub time_reversals: u64,
    /// Seconds of packet time inside recorded gaps.
    pub gap_secs: f64,
}

#[derive(Clone, Debug)]
pub struct Sensor {
    /// Packet time may not jump forward by more than this without a gap being recorded.
    pub gap_limit_ns: u64,
    pub last_ts: u64,
    pub gaps: VecDeque<Gap>,
    pub stats: SensorStats,
}

impl Sensor {
    pub fn new(gap_limit_ns: u64) -> Sensor {
        Sensor {
            gap_limit_ns: gap_limit_ns.max(1),
            last_ts: 0,
            gaps: VecDeque::new(),
            stats: SensorStats::default(),
        }
    }

    /// The sensor has seen nothing for longer than the limit (live: judged on wall time).
    pub fn idle(&self, now: u64) -> bool {
        self.last_ts != 0 && now.saturating_sub(self.last_ts) > self.gap_limit_ns
    }

    /// The sensor's health for the API: counters, the recent gaps, and whether it is blind
    /// now (`now`: wall time in ns, 0 when replaying).
    pub fn health(&self, now: u64) -> serde_json::Value {
        let recent: Vec<&Gap> = self.gaps.iter().rev().take(10).collect();
        serde_json::json!({
            "gap_limit_secs": self.gap_limit_ns as f64 / 1e9,
            "gaps": self.stats.gaps,
            "gap_secs": self.stats.gap_secs,
            "time_reversals": self.stats.time_reversals,
            "blind_now": now != 0 && self.idle(now),
            "last_packet_ns": self.last_ts,
            "recent_gaps": recent,
        })
    }
}

impl<S: AlertSink> Site<S> {
    /// Every packet's time passes here first: a jump forward past the limit is a capture gap,
    /// a jump backwards restarts the clocks.
    pub(super) fn clock(&mut self, ts: u64) {
        let last = self.sensor.last_ts;
        self.sensor.last_ts = ts;
        if last == 0 {
            return;
        }
        if ts > last.saturating_add(self.sensor.gap_limit_ns) {
            let secs = (ts - last) as f64 / 1e9;
            self.capture_gap(
                last,
                ts,
                &format!("no packet for {secs:.0} s (packet time jumped forward)"),
            );
        } else if ts.saturating_add(BACKWARDS_TOLERANCE_NS) < last {
            self.sensor.stats.time_reversals += 1;
            self.restart_clocks(ts);
        }
    }

    /// A new capture begins (a replay's second input, learning handing over to protection):
    /// its time need not follow the last one's. Clocks restart; nothing is alerted.
    pub fn new_timeline(&mut self) {
        self.sensor.last_ts = 0;
        self.restart_clocks(self.now);
    }

    /// Record that the sensor did not see `start..end` (`cause` says why) and raise one alert
    /// for it (folded into an open gap episode). Clocks restart at `end`.
    pub fn capture_gap(&mut self, start: u64, end: u64, cause: &str) {
        let secs = end.saturating_sub(start) as f64 / 1e9;
        self.sensor.stats.gaps += 1;
        self.sensor.stats.gap_secs += secs;
        if self.sensor.gaps.len() >= MAX_GAPS {
            self.sensor.gaps.pop_front();
        }
        self.sensor.gaps.push_back(Gap {
            start_ns: start,
            end_ns: end,
            secs,
            cause: cause.to_string(),
        });
        tracing::info!("capture gap of {secs:.1} s: {cause}");
        self.restart_clocks(end);
        self.now = self.now.max(end);
        let sensor = Party {
            ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: None,
            dev: None,
        };
        let o = Obs {
            metric: Metric::CaptureGap,
            actor: None,
            target: Some(sensor),
            value: Val::Set(secs),
            elem: 0,
            ts_ns: end,
            frame: 0,
            source: 0,
            ip_proto: 0,
            app: None,
            detail: cause,
        };
        self.observe(o);
    }

    /// Silence clocks, open windows and the baselines' current windows restart at `now`: no
    /// window spanning the break is judged or learned.
    fn restart_clocks(&mut self, now: u64) {
        let w = self.cfg.window_ns.max(1);
        for st in &mut self.dev {
            if st.last_tx_ns != 0 {
                st.last_tx_ns = now;
            }
            st.win = Window {
                idx: now / w,
                ..Window::default()
            };
        }
        for e in &mut self.graph.edges {
            e.win = (now / w, [0, 0]);
        }
        self.engine.restart_windows();
        self.beacons.restart();
        self.last_silence = now;
    }
}
