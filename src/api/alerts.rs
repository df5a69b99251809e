//! Alerts as the API reads them from the store: filtered pages, newest first, with opaque
//! cursors; lookup by id through a small index of ids to keys; acknowledgement.
//!
//! `Table::Alerts` keys are the big-endian u64 time stamp (ns) followed by the alert id, so a
//! reverse scan is newest first and a cursor (the hex of the last key returned) is an exclusive
//! upper bound for the next page: pages never repeat or skip an alert, even while new ones are
//! written (those sort above the first page and are seen by the next request from the top).

use crate::detect::alert::Alert;
use crate::detect::rules::Category;
use crate::output::Rfc3339;
use crate::store::{Store, StoreError, Table};
use serde_json::Value;
use std::collections::HashMap;
use std::ops::Bound;

/// A validated `GET /api/v1/alerts` query.
#[derive(Clone, Debug, Default)]
pub struct AlertQuery {
    pub since_ns: Option<u64>,
    pub category: Option<Category>,
    /// Device id or name, matched against the source and destination devices.
    pub device: Option<String>,
    pub limit: usize,
    /// Exclusive upper bound (a key).
    pub cursor: Option<Vec<u8>>,
}

impl AlertQuery {
    fn matches(&self, a: &Alert) -> bool {
        if self.category.is_some_and(|c| c != a.category) {
            return false;
        }
        if let Some(d) = &self.device {
            let is = |r: &Option<crate::detect::alert::DevRef>| {
                r.as_ref().is_some_and(|r| &r.id == d || &r.name == d)
            };
            if !is(&a.src_device) && !is(&a.dest_device) {
                return false;
            }
        }
        true
    }
}

/// One page of alerts (rendered) and the cursor of the next, if there is more.
pub struct AlertPage {
    pub alerts: Vec<Value>,
    pub next: Option<String>,
}

/// Rows read per store scan while filling a page.
const SCAN_BATCH: usize = 1024;

/// The page `q` asks for.
pub fn list(store: &Store, q: &AlertQuery) -> Result<AlertPage, StoreError> {
    let lo = q.since_ns.map(u64::to_be_bytes);
    let mut upper = q.cursor.clone();
    // One more than the limit: whether there is a next page, without a page that comes back
    // empty.
    let mut found: Vec<(Vec<u8>, Alert)> = Vec::new();
    'scan: loop {
        let range = (
            lo.as_ref()
                .map_or(Bound::Unbounded, |k| Bound::Included(&k[..])),
            upper.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
        );
        let batch = (q.limit + 1).clamp(64, SCAN_BATCH);
        let rows = store.scan(Table::Alerts, range, true, batch)?;
        let n = rows.len();
        for (k, v) in rows {
            match serde_json::from_slice::<Alert>(&v) {
                Ok(a) if q.matches(&a) => found.push((k.clone(), a)),
                Ok(_) => {}
                Err(e) => tracing::warn!("API: skipping an unreadable alert: {e}"),
            }
            upper = Some(k);
            if found.len() > q.limit {
                break 'scan;
            }
        }
        if n < batch {
            break;
        }
    }
    let next = if found.len() > q.limit {
        found.truncate(q.limit);
        found.last().map(|(k, _)| encode_cursor(k))
    } else {
        None
    };
    Ok(AlertPage {
        alerts: found.iter().map(|(_, a)| render(a)).collect(),
        next,
    })
}

/// An alert as the API shows it: its stored JSON, `ts` in RFC 3339 and its EVE form.
pub fn render(a: &Alert) -> Value {
    let mut v = serde_json::to_value(a)
        .unwrap_or_else(|e| serde_json::json!({"id": a.id, "render_error": e.to_string()}));
    if let Value::Object(m) = &mut v {
        m.insert("ts".into(), Rfc3339(a.ts_ns).to_string().into());
        m.insert("eve".into(), a.eve());
    }
    v
}

/// Marks the alert stored under `key` as acknowledged (one durable write, skipped if it already
/// is) and returns it.
pub fn acknowledge(store: &Store, key: &[u8], mut a: Alert) -> Result<Alert, StoreError> {
    if !a.acknowledged {
        a.acknowledged = true;
        let v = serde_json::to_vec(&a).map_err(|e| {
            StoreError::new(
                crate::store::StoreErrorKind::Backend,
                store.dir(),
                format!("serialising alert {}: {e}", a.id),
            )
        })?;
        store.put(Table::Alerts, key, &v)?;
    }
    Ok(a)
}

pub fn encode_cursor(key: &[u8]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

/// Longest key a cursor may name: the time stamp and an id of at most 256 bytes.
const MAX_CURSOR_KEY: usize = 8 + 256;

pub fn decode_cursor(s: &str) -> Result<Vec<u8>, String> {
    let bad = || {
        format!(
            "bad cursor {:?}: give back the `next` of a previous page",
            super::clip(s)
        )
    };
    if s.len() < 16 || !s.len().is_multiple_of(2) || s.len() > 2 * MAX_CURSOR_KEY {
        return Err(bad());
    }
    let b = s.as_bytes();
    (0..b.len())
        .step_by(2)
        .map(|i| {
            let h = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            };
            Some(h(b[i])? << 4 | h(b[i + 1])?)
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(bad)
}

/// `since`: nanoseconds since the Unix epoch, or an RFC 3339 time
/// (`2026-11-22T08:27:22.217633Z`, `...+01:00`, EVE's `...+0000`).
pub fn parse_since(s: &str) -> Result<u64, String> {
    let bad = |why: &str| {
        format!(
            "bad since {:?}: {why}; give an RFC 3339 time (2026-11-22T08:27:22Z) or nanoseconds \
             since the epoch",
            super::clip(s)
        )
    };
    if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) {
        return s.parse::<u64>().map_err(|_| bad("too large"));
    }
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Result<i64, String> {
        let part = b.get(r).ok_or_else(|| bad("too short"))?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return Err(bad("not a time"));
        }
        part.iter()
            .try_fold(0i64, |acc, c| {
                acc.checked_mul(10)?.checked_add(i64::from(c - b'0'))
            })
            .ok_or_else(|| bad("not a time"))
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return Err(bad("not a time"));
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60
    {
        return Err(bad("no such date or time"));
    }
    let mut i = 19;
    let mut frac_ns = 0i64;
    if sep(i, b".,") {
        let start = i + 1;
        let mut end = start;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        if end == start || end - start > 9 {
            return Err(bad("fraction of a second of 1 to 9 digits"));
        }
        frac_ns = num(start..end)? * 10i64.pow(9 - (end - start) as u32);
        i = end;
    }
    let offset_s = match b.get(i..) {
        Some(b"Z" | b"z") => 0,
        Some(rest) if matches!(rest.first(), Some(b'+' | b'-')) => {
            let sign = if rest[0] == b'-' { -1 } else { 1 };
            let (oh, om) = match rest.len() {
                6 if rest[3] == b':' => (num(i + 1..i + 3)?, num(i + 4..i + 6)?),
                5 => (num(i + 1..i + 3)?, num(i + 3..i + 5)?),
                _ => return Err(bad("bad UTC offset")),
            };
            if oh > 23 || om > 59 {
                return Err(bad("bad UTC offset"));
            }
            sign * (oh * 3600 + om * 60)
        }
        _ => return Err(bad("missing UTC offset (Z or +HH:MM)")),
    };
    let days = days_from_civil(y, mo, d);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec.min(59) - offset_s;
    if secs < 0 {
        return Err(bad("before 1970"));
    }
    // Past what u64 nanoseconds can hold (the year 2554): after every alert.
    Ok(u64::try_from(secs)
        .ok()
        .and_then(|s| s.checked_mul(1_000_000_000))
        .and_then(|ns| ns.checked_add(frac_ns as u64))
        .unwrap_or(u64::MAX))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Howard Hinnant's days_from_civil: days since 1970-01-01.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Alert ids to their keys, rebuilt from the keys when the table changed and an id is not
/// found. Alert ids are `a` and 16 hex digits today; anything that cannot be an id is not
/// looked for.
#[derive(Default)]
pub struct IdIndex {
    map: HashMap<String, Vec<u8>>,
    /// (entries, first key, last key) when the map was built.
    sig: Option<TableSig>,
}

fn plausible_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}

impl IdIndex {
    /// The alert with this id and its key.
    pub fn find(
        &mut self,
        store: &Store,
        id: &str,
    ) -> Result<Option<(Vec<u8>, Alert)>, StoreError> {
        if !plausible_id(id) {
            return Ok(None);
        }
        if let Some(hit) = self.lookup(store, id)? {
            return Ok(Some(hit));
        }
        let sig = table_sig(store)?;
        if self.sig.as_ref() != Some(&sig) {
            self.rebuild(store)?;
            self.sig = Some(sig);
            return self.lookup(store, id);
        }
        Ok(None)
    }

    fn lookup(&self, store: &Store, id: &str) -> Result<Option<(Vec<u8>, Alert)>, StoreError> {
        let Some(key) = self.map.get(id) else {
            return Ok(None);
        };
        let Some(v) = store.get(Table::Alerts, key)? else {
            return Ok(None);
        };
        match serde_json::from_slice::<Alert>(&v) {
            Ok(a) if a.id == id => Ok(Some((key.clone(), a))),
            Ok(_) => Ok(None),
            Err(e) => {
                tracing::warn!("API: alert {id} is unreadable: {e}");
                Ok(None)
            }
        }
    }

    fn rebuild(&mut self, store: &Store) -> Result<(), StoreError> {
        self.map.clear();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let range = (
                after.as_deref().map_or(Bound::Unbounded, Bound::Excluded),
                Bound::Unbounded,
            );
            let rows = store.scan(Table::Alerts, range, false, 4096)?;
            let n = rows.len();
            for (k, _) in rows {
                if let Some(id) = k.get(8..).and_then(|s| std::str::from_utf8(s).ok()) {
                    self.map.insert(id.to_string(), k.clone());
                }
                after = Some(k);
            }
            if n < 4096 {
                return Ok(());
            }
        }
    }
}

/// Entries, first key and last key of the alerts table: changes when alerts come or go.
type TableSig = (u64, Option<Vec<u8>>, Option<Vec<u8>>);

fn table_sig(store: &Store) -> Result<TableSig, StoreError> {
    let all = (Bound::Unbounded, Bound::Unbounded);
    let first = store.scan(Table::Alerts, all, false, 1)?;
    let last = store.scan(Table::Alerts, all, true, 1)?;
    Ok((
        store.len(Table::Alerts)?,
        first.into_iter().next().map(|(k, _)| k),
        last.into_iter().next().map(|(k, _)| k),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::civil_from_days;

    #[test]
    fn since_forms() {
        assert_eq!(parse_since("0"), Ok(0));
        assert_eq!(
            parse_since("1700000000123456789"),
            Ok(1_700_000_000_123_456_789)
        );
        assert_eq!(
            parse_since("2023-11-14T22:13:20.123456789Z"),
            Ok(1_700_000_000_123_456_789)
        );
        assert_eq!(
            parse_since("2023-11-14T22:13:20Z"),
            Ok(1_700_000_000_000_000_000)
        );
        assert_eq!(
            parse_since("2023-11-14T23:13:20+01:00"),
            Ok(1_700_000_000_000_000_000)
        );
        assert_eq!(
            parse_since("2023-11-14T22:13:20.5+0000"),
            Ok(1_700_000_000_500_000_000)
        );
        assert_eq!(parse_since("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(
            parse_since("2024-02-29T00:00:00Z"),
            Ok(1_709_164_800_000_000_000)
        );
        assert_eq!(parse_since("9999-12-31T23:59:59Z"), Ok(u64::MAX));
        for bad in [
            "",
            "yesterday",
            "99999999999999999999999",
            "2023-11-14",
            "2023-11-14T22:13:20",
            "2023-13-14T22:13:20Z",
            "2023-02-29T00:00:00Z",
            "2023-11-14T24:00:00Z",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20.1234567890Z",
            "2023-11-14T22:13:20+1",
            "1969-12-31T23:59:59Z",
            "2023-11-14T22:13:20Zjunk",
            "२०२३-11-14T22:13:20Z",
            "-1",
        ] {
            assert!(parse_since(bad).is_err(), "{bad:?} accepted");
        }
        // Every date of four centuries against civil_from_days.
        for z in -1000..150_000i64 {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(d)), z);
        }
    }

    #[test]
    fn cursors_round_trip_and_reject_junk() {
        let k = [0u8, 1, 2, 0xfe, 0xff, 9, 9, 9, b'a', b'1'];
        assert_eq!(decode_cursor(&encode_cursor(&k)), Ok(k.to_vec()));
        for bad in [
            "",
            "00",
            "zz00000000000000",
            "0000000000000000a",
            "ABCDEF0123456789",
        ] {
            assert!(decode_cursor(bad).is_err(), "{bad:?}");
        }
        assert!(decode_cursor(&"0".repeat(2 * MAX_CURSOR_KEY + 2)).is_err());
    }
}
