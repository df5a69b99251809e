//! Where the pipeline's findings go: JSON lines per the contract, or counts only.

use crate::pipeline::{Ctx, Output};
use edgetap_dissectors::{Direction, Event, Pdu};
use std::io::Write;

/// Format nanoseconds since the epoch as RFC 3339 UTC with microseconds
/// (`2026-11-22T08:27:22.217633Z`), as Wireshark shows frame times.
pub struct Rfc3339(pub u64);

impl std::fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = time_digits(self.0);
        f.write_str(std::str::from_utf8(&d).unwrap_or_default())?;
        f.write_str("Z")
    }
}

/// `2026-11-22T08:27:22.217633` of nanoseconds since the epoch, written digit by digit (EVE
/// records are written on the packet path, where `fmt`'s padding costs more than the rest of
/// a field). Years past 9999 are shown as 9999 (u64 nanoseconds end in 2554).
pub fn time_digits(ns: u64) -> [u8; 26] {
    let secs = ns / 1_000_000_000;
    let micros = (ns % 1_000_000_000) / 1000;
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    let mut out = *b"0000-00-00T00:00:00.000000";
    let mut put = |at: usize, width: usize, mut v: u64| {
        for i in (at..at + width).rev() {
            if let Some(c) = out.get_mut(i) {
                *c = b'0' + (v % 10) as u8;
            }
            v /= 10;
        }
    };
    put(0, 4, y.clamp(0, 9999) as u64);
    put(5, 2, u64::from(m));
    put(8, 2, u64::from(d));
    put(11, 2, rem / 3600);
    put(14, 2, (rem / 60) % 60);
    put(17, 2, rem % 60);
    put(20, 6, micros);
    out
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// One JSON object per PDU (the contract's `dissect --format jsonl`).
pub struct JsonLines<W: Write> {
    w: W,
    buf: Vec<u8>,
    pub write_error: Option<std::io::Error>,
}

impl<W: Write> JsonLines<W> {
    pub fn new(w: W) -> Self {
        JsonLines {
            w,
            buf: Vec::with_capacity(4096),
            write_error: None,
        }
    }
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

impl<W: Write> Output for JsonLines<W> {
    fn pdu(&mut self, ctx: &Ctx, dir: Direction, pdu: &Pdu<'_>) {
        if self.write_error.is_some() {
            return;
        }
        let (src, sport) = ctx.sender(dir);
        let (dst, dport) = ctx.sender(dir.flip());
        self.buf.clear();
        // `{"modbus":{...}}`: the record's own fields go in front of its first byte.
        if let Err(e) = serde_json::to_writer(&mut self.buf, pdu) {
            tracing::warn!("cannot serialise a {} PDU: {e}", pdu.proto().name());
            return;
        }
        let rest = self.buf.get(1..).unwrap_or_default();
        let r = write!(
            self.w,
            "{{\"frame\":{},\"ts\":\"{}\",\"proto\":\"{}\",\"src_ip\":\"{src}\",\"src_port\":{sport},\"dest_ip\":\"{dst}\",\"dest_port\":{dport},\"flow_id\":{},",
            ctx.frame,
            Rfc3339(ctx.ts_ns),
            pdu.proto().name(),
            ctx.flow_id,
        )
        .and_then(|()| self.w.write_all(rest))
        .and_then(|()| self.w.write_all(b"\n"));
        if let Err(e) = r {
            self.write_error = Some(e);
        }
    }

    fn event(&mut self, _ctx: &Ctx, _dir: Direction, _event: Event) {}
}

/// Counts only (the contract's `dissect --format count`): the pipeline's own counters suffice.
#[derive(Default)]
pub struct CountOnly;

impl Output for CountOnly {
    fn pdu(&mut self, _ctx: &Ctx, _dir: Direction, _pdu: &Pdu<'_>) {}
    fn event(&mut self, _ctx: &Ctx, _dir: Direction, _event: Event) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(Rfc3339(0).to_string(), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            Rfc3339(1_795_336_042_217_633_123).to_string(),
            "2026-11-22T08:27:22.217633Z"
        );
        assert_eq!(
            Rfc3339(951_782_400_000_000_000).to_string(),
            "2000-02-29T00:00:00.000000Z"
        );
    }
}
