//! Beaconing: streaming periodicity scoring in the way RITA scores Zeek's connection logs,
//! per (device, destination address or DNS name) for connection starts, and per flow for
//! the bursts a long session sends after silence (a RAT's heartbeat). Each track keeps its
//! last 32 intervals and sizes; a track is regular when the intervals' dispersion (median
//! absolute deviation over the median) and Bowley skew are small and, where sizes are known,
//! the sizes are alike. The metric is the number of regular periods seen, so a rule sets how
//! many periods make a beacon. Only what was not learned is tracked: learned periodic peers
//! (NTP, cloud bridges, polling) never are. Bounded: a fixed number of tracks, drops counted.

use super::Site;
use crate::detect::alert::AlertSink;
use crate::detect::rules::Metric;
use crate::detect::{Party, Val};
use std::collections::HashMap;

type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

pub const MAX_TRACKS: usize = 20_000;
const RING: usize = 32;
/// Events closer than this to the last are one event (parallel connections, a burst).
const MIN_INTERVAL_NS: u64 = 2_000_000_000;
/// A session's sends after this much silence are a burst of their own.
pub const BURST_IDLE_NS: u64 = 4_000_000_000;
/// A track idle this long may be forgotten when the table is full.
const IDLE_NS: u64 = 3_600_000_000_000;
/// The most dispersion (MAD / median) of intervals and sizes a beacon shows: ±20% uniform
/// jitter gives about 0.1.
const MAX_DISPERSION: f64 = 0.2;
const MAX_SIZE_DISPERSION: f64 = 0.35;
const MAX_SKEW: f64 = 0.5;
/// Shorter periods are a tool's loop (a brute force, a poller), not a check-in.
const MIN_PERIOD_MS: f64 = 5000.0;

#[derive(Clone)]
struct Track {
    last_ns: u64,
    intervals: [u32; RING],
    sizes: [u32; RING],
    /// Intervals seen (the ring holds the last `RING`).
    total: u32,
}

#[derive(Default)]
pub struct Beacons {
    tracks: FastMap<u64, Track>,
    pub dropped: u64,
    pub tracked: u64,
    /// Packet time of the last sweep of a full table (at most one a second: a flood of new
    /// destinations must not make every packet pay for one).
    swept_ns: u64,
}

/// How regular a series is: (median, MAD / median, Bowley skew).
fn spread(v: &mut [u32]) -> Option<(f64, f64, f64)> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let q = |v: &[u32], f: f64| -> f64 {
        let i = ((v.len() - 1) as f64 * f).round() as usize;
        v.get(i).map_or(0.0, |x| f64::from(*x))
    };
    let med = q(v, 0.5);
    if med <= 0.0 {
        return Some((0.0, 0.0, 0.0));
    }
    let (q1, q3) = (q(v, 0.25), q(v, 0.75));
    // Skew of a spread narrower than a twentieth of the period is timer noise, not shape.
    let skew = if q3 - q1 > med / 20.0 {
        (q1 + q3 - 2.0 * med) / (q3 - q1)
    } else {
        0.0
    };
    let mut dev: Vec<u32> = v
        .iter()
        .map(|x| (f64::from(*x) - med).abs() as u32)
        .collect();
    dev.sort_unstable();
    let mad = q(&dev, 0.5);
    Some((med, mad / med, skew))
}

/// The periods a track has shown when it is regular, with its median interval in seconds.
fn score(t: &Track) -> Option<(u32, f64, f64)> {
    let n = (t.total as usize).min(RING);
    if n < 3 {
        return None;
    }
    let mut iv: Vec<u32> = t.intervals.get(..n)?.to_vec();
    let (med, disp, skew) = spread(&mut iv)?;
    if med < MIN_PERIOD_MS || disp > MAX_DISPERSION || skew.abs() > MAX_SKEW {
        return None;
    }
    let mut sz: Vec<u32> = t
        .sizes
        .get(..n)?
        .iter()
        .copied()
        .filter(|s| *s > 0)
        .collect();
    if sz.len() == n {
        let (_, sdisp, _) = spread(&mut sz)?;
        if sdisp > MAX_SIZE_DISPERSION {
            return None;
        }
    }
    Some((t.total, med / 1000.0, disp))
}

impl Beacons {
    /// After a capture gap: intervals across it mean nothing.
    pub fn restart(&mut self) {
        for t in self.tracks.values_mut() {
            t.last_ns = 0;
        }
    }

    /// An event of track `key` at `ts` carrying `size` bytes (0: unknown). Returns the
    /// periods seen, the median period in seconds and the dispersion when it is regular.
    fn event(&mut self, key: u64, ts: u64, size: u32) -> Option<(u32, f64, f64)> {
        if !self.tracks.contains_key(&key) && self.tracks.len() >= MAX_TRACKS {
            if ts.saturating_sub(self.swept_ns) >= 1_000_000_000 {
                self.swept_ns = ts;
                self.tracks
                    .retain(|_, t| ts.saturating_sub(t.last_ns) < IDLE_NS && t.last_ns != 0);
            }
            if self.tracks.len() >= MAX_TRACKS {
                self.dropped += 1;
                return None;
            }
        }
        let t = self.tracks.entry(key).or_insert_with(|| Track {
            last_ns: 0,
            intervals: [0; RING],
            sizes: [0; RING],
            total: 0,
        });
        if t.last_ns == 0 {
            t.last_ns = ts;
            self.tracked += 1;
            return None;
        }
        let gap = ts.saturating_sub(t.last_ns);
        if gap < MIN_INTERVAL_NS {
            return None;
        }
        t.last_ns = ts;
        let i = (t.total as usize) % RING;
        if let (Some(iv), Some(sz)) = (t.intervals.get_mut(i), t.sizes.get_mut(i)) {
            *iv = (gap / 1_000_000).min(u64::from(u32::MAX)) as u32;
            *sz = size;
        }
        t.total = t.total.saturating_add(1);
        score(t)
    }
}

impl<S: AlertSink> Site<S> {
    /// One event of a possible beacon from `actor` to `target`: a connection start (track
    /// per device and destination) or a burst in a session (track per flow).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn beacon_event(
        &mut self,
        key: u64,
        actor: Party,
        target: Party,
        size: u32,
        at: (u64, u64, usize, u8),
        what: &str,
    ) {
        if self.learning || !self.engine.wants(Metric::BeaconPeriods) {
            return;
        }
        let Some((periods, med, disp)) = self.beacons.event(key, at.0, size) else {
            return;
        };
        let detail = format!(
            "{what} every {med:.1} s ({periods} periods, dispersion {:.0}%)",
            disp * 100.0
        );
        self.emit(
            Metric::BeaconPeriods,
            Some(actor),
            Some(target),
            Val::Set(f64::from(periods)),
            key,
            at,
            &detail,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(intervals_ms: &[u64], size: impl Fn(usize) -> u32) -> Option<(u32, f64, f64)> {
        let mut b = Beacons::default();
        let mut ts = 1_000_000_000_000u64;
        let mut last = b.event(1, ts, size(0));
        for (i, iv) in intervals_ms.iter().enumerate() {
            ts += iv * 1_000_000;
            last = b.event(1, ts, size(i + 1));
        }
        last
    }

    #[test]
    fn jittered_beacon_is_regular() {
        // 60 s ± 20%, deterministic pseudo-random jitter.
        let mut x = 12345u64;
        let iv: Vec<u64> = (0..12)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                48_000 + (x >> 33) % 24_000
            })
            .collect();
        let r = run(&iv, |_| 517).expect("regular");
        assert_eq!(r.0, 12);
        assert!((r.1 - 60.0).abs() < 8.0, "{r:?}");
    }

    #[test]
    fn human_traffic_is_not() {
        let iv = [
            3_000, 45_000, 2_500, 600_000, 12_000, 90_000, 7_000, 300_000, 5_000, 20_000,
        ];
        assert_eq!(run(&iv, |_| 0), None);
        // Regular timing with sizes all over the place is not a check-in; alike sizes are.
        let iv = [10_000; 10];
        assert!(run(&iv, |i| (i as u32 % 3) * 20_000 + 100).is_none());
        assert!(run(&iv, |_| 9).is_some());
    }

    #[test]
    fn bounded() {
        let mut b = Beacons::default();
        for k in 0..(MAX_TRACKS as u64 + 10) {
            b.event(k, 1_000_000_000, 1);
        }
        assert_eq!(b.tracks.len(), MAX_TRACKS);
        assert_eq!(b.dropped, 10);
    }
}
