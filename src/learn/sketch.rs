//! A sparse log-bucket histogram of window values, so a baseline can answer "what is the 99th
//! percentile of this device's 5-minute byte counts" in bounded memory: relative error 5%,
//! at most a few hundred buckets whatever the range, usually a handful (a device's behaviour
//! is regular). Exact min and max are kept, so p0 and p100 are exact.

use serde::{Deserialize, Serialize};

/// Bucket growth factor: values in one bucket differ by at most 5%.
const GAMMA: f64 = 1.05;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sketch {
    /// (bucket, count), sorted by bucket.
    buckets: Vec<(i32, u32)>,
    count: u64,
    min: f64,
    max: f64,
}

/// The bucket of a non-negative value (0 has its own bucket).
fn bucket(v: f64) -> i32 {
    if v.is_nan() || v <= 0.0 {
        return 0;
    }
    // ln(1 + v) keeps small values apart and grows slowly: 1e13 lands in bucket ~614.
    ((1.0 + v).ln() / GAMMA.ln()).ceil().clamp(1.0, 4096.0) as i32
}

/// The largest value of a bucket.
fn upper(b: i32) -> f64 {
    if b <= 0 {
        0.0
    } else {
        GAMMA.powi(b) - 1.0
    }
}

impl Sketch {
    /// Record one window's value (negative and NaN values count as 0).
    pub fn add(&mut self, v: f64) {
        let v = if v.is_finite() { v.max(0.0) } else { 0.0 };
        let b = bucket(v);
        match self.buckets.binary_search_by_key(&b, |&(k, _)| k) {
            Ok(i) => {
                if let Some(e) = self.buckets.get_mut(i) {
                    e.1 = e.1.saturating_add(1);
                }
            }
            Err(i) => self.buckets.insert(i, (b, 1)),
        }
        if self.count == 0 {
            (self.min, self.max) = (v, v);
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.count += 1;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn max(&self) -> f64 {
        self.max
    }

    /// The `p`-th percentile (0-100) of the recorded values; `None` when empty.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        if p >= 100.0 {
            return Some(self.max);
        }
        if p <= 0.0 {
            return Some(self.min);
        }
        let rank = ((p / 100.0) * self.count as f64).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for &(b, c) in &self.buckets {
            seen += u64::from(c);
            if seen >= rank {
                return Some(upper(b).clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }

    /// Fold another sketch in (pooling the windows of devices that share a profile).
    pub fn merge(&mut self, o: &Sketch) {
        if o.count == 0 {
            return;
        }
        for &(b, c) in &o.buckets {
            match self.buckets.binary_search_by_key(&b, |&(k, _)| k) {
                Ok(i) => {
                    if let Some(e) = self.buckets.get_mut(i) {
                        e.1 = e.1.saturating_add(c);
                    }
                }
                Err(i) => self.buckets.insert(i, (b, c)),
            }
        }
        if self.count == 0 {
            (self.min, self.max) = (o.min, o.max);
        } else {
            self.min = self.min.min(o.min);
            self.max = self.max.max(o.max);
        }
        self.count += o.count;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_within_five_percent() {
        let mut s = Sketch::default();
        for v in 1..=1000 {
            s.add(f64::from(v) * 1000.0);
        }
        let p50 = s.percentile(50.0).unwrap_or(0.0);
        assert!((p50 - 500_000.0).abs() / 500_000.0 < 0.05, "{p50}");
        let p99 = s.percentile(99.0).unwrap_or(0.0);
        assert!((p99 - 990_000.0).abs() / 990_000.0 < 0.05, "{p99}");
        assert_eq!(s.percentile(100.0), Some(1_000_000.0));
        assert_eq!(s.percentile(0.0), Some(1000.0));
        assert!(s.buckets.len() < 200);
    }

    #[test]
    fn zeros_and_garbage_count_as_zero() {
        let mut s = Sketch::default();
        for v in [0.0, -5.0, f64::NAN, f64::INFINITY] {
            s.add(v);
        }
        assert_eq!(s.count(), 4);
        assert_eq!(s.percentile(99.0), Some(0.0));
    }

    #[test]
    fn merge_pools_counts() {
        let (mut a, mut b) = (Sketch::default(), Sketch::default());
        a.add(10.0);
        b.add(1e9);
        a.merge(&b);
        assert_eq!(a.count(), 2);
        assert_eq!(a.percentile(100.0), Some(1e9));
        // The bucket bound may be folded at compile time in release builds and computed at run
        // time in the sketch: equal to the last bits or two.
        let want = 10.0f64.max(upper(bucket(10.0)).min(1e9));
        let got = a.percentile(50.0).unwrap_or(f64::NAN);
        assert!((got - want).abs() <= want * 1e-12, "{got} vs {want}");
    }
}
