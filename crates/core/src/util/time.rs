//! The clock: Unix seconds, milliseconds and microseconds (std only; the daemon's
//! `util::time` adds the RFC 3339 formats on top).

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
