//! The clock and the timestamp formats: the clock is `dashclaw_core::util::time` (std only, so
//! the policy evaluator shares it); this adds RFC 3339 UTC at the precision each consumer
//! expects (the server stores milliseconds, the ledger microseconds, people read seconds).

pub use dashclaw_core::util::time::*;
use std::time::SystemTime;

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
