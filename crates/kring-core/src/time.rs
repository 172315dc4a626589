//! Timestamps are stored as microseconds since the epoch in a BIGINT on both databases: the same
//! precision everywhere (SQLite keeps text with nanoseconds, PostgreSQL microseconds) and no
//! driver-specific date types.
use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

pub type Micros = i64;

pub fn now_micros() -> Micros {
    Utc::now().timestamp_micros()
}

pub fn to_datetime(micros: Micros) -> DateTime<Utc> {
    Utc.timestamp_micros(micros).single().unwrap_or_default()
}

/// RFC 3339 with milliseconds and `Z`, as Mastodon renders `created_at`.
pub fn rfc3339(micros: Micros) -> String {
    to_datetime(micros).to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Date only (`YYYY-MM-DD`), as Mastodon renders `last_status_at`.
pub fn date(micros: Micros) -> String {
    to_datetime(micros).format("%Y-%m-%d").to_string()
}

pub fn parse_rfc3339(s: &str) -> Option<Micros> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.timestamp_micros())
}
