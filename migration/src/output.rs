//! Small formatting helpers shared by the commands.

use std::time::Duration;

/// A journal `when` (epoch ms) as UTC, e.g. `2025-03-04 10:12:37`.
pub fn when_utc(when: i64) -> String {
    chrono::DateTime::from_timestamp_millis(when)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| when.to_string())
}

/// A journal `when` as RFC 3339 with milliseconds, for JSON.
pub fn when_rfc3339(when: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(when)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// `12 ms`, `1.25 s`.
pub fn elapsed(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

/// The first 12 characters of a hash, for tables.
pub fn short_hash(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}
