//! EVE and ISO 8601 time stamps for the tests.

/// An EVE `timestamp` (`2026-11-20T01:04:50.123456+0000`) or an ISO time with microseconds
/// and `Z` to ns since the epoch.
pub fn eve_ns(ts: &str) -> u64 {
    // 2026-11-20T01:04:50.123456+0000
    let (date, rest) = ts.split_at(10);
    let mut d = date.split('-').map(|x| x.parse::<i64>().unwrap_or(0));
    let (y, m, day) = (
        d.next().unwrap_or(0),
        d.next().unwrap_or(0),
        d.next().unwrap_or(0),
    );
    let t = &rest[1..];
    let h: u64 = t[0..2].parse().unwrap_or(0);
    let mi: u64 = t[3..5].parse().unwrap_or(0);
    let sec: u64 = t[6..8].parse().unwrap_or(0);
    let micros: u64 = t[9..15].parse().unwrap_or(0);
    // days from civil (Howard Hinnant)
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = (era * 146_097 + doe - 719_468) as u64;
    ((days * 86_400 + h * 3600 + mi * 60 + sec) * 1_000_000 + micros) * 1000
}
