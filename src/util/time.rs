//! The clock and the timestamp formats: Unix seconds, milliseconds and microseconds, and RFC
//! 3339 UTC at the precision each consumer expects (the server stores milliseconds, the ledger
//! microseconds, people read seconds).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Time since the Unix epoch; zero for a clock set before 1970 rather than a panic.
fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// Unix microseconds.
pub fn now_us() -> u64 {
    since_epoch().as_micros().min(u128::from(u64::MAX)) as u64
}

/// Unix milliseconds.
pub fn now_ms() -> u64 {
    since_epoch().as_millis().min(u128::from(u64::MAX)) as u64
}

/// Unix seconds, signed as SQLite stores them.
pub fn now_secs() -> i64 {
    since_epoch().as_secs().min(i64::MAX as u64) as i64
}

/// The instant `ms` Unix milliseconds.
pub fn at_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// The instant `secs` Unix seconds (before 1970 reads as 1970).
pub fn at_secs(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64)
}

/// RFC 3339 UTC with milliseconds, as the DashClaw server stores timestamps.
pub fn iso_now() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// RFC 3339 UTC with microseconds (ledger entries).
pub fn iso_now_micros() -> String {
    humantime::format_rfc3339_micros(SystemTime::now()).to_string()
}

/// RFC 3339 UTC to the second, for people.
pub fn iso_seconds(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_agree() {
        let (s, ms, us) = (now_secs(), now_ms(), now_us());
        assert!(s > 1_700_000_000);
        assert!((ms / 1000).abs_diff(s as u64) <= 1);
        assert!(us / 1000 >= ms);
    }

    #[test]
    fn formats() {
        assert_eq!(iso_seconds(at_secs(0)), "1970-01-01T00:00:00Z");
        assert_eq!(iso_seconds(at_secs(-5)), "1970-01-01T00:00:00Z");
        assert_eq!(iso_seconds(at_ms(1_500)), "1970-01-01T00:00:01Z");
        assert_eq!(iso_now().len(), "2026-01-01T00:00:00.000Z".len());
        assert_eq!(iso_now_micros().len(), "2026-01-01T00:00:00.000000Z".len());
    }
}
