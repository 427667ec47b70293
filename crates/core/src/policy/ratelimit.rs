//! Local counts for `rate_limit`: a per-agent sliding window of evaluations, and the clock
//! that drives it (and grant expiry), injectable for tests.
//!
//! The server counts its `guard_decisions` rows; we count the evaluations this daemon made.
//! That is the approximation §3.2 allows: calls decided by another machine, or before a daemon
//! restart, are not counted.

use std::collections::{HashMap, VecDeque};
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Milliseconds since the Unix epoch.
pub trait Clock: Send + Sync + Debug {
    fn now_ms(&self) -> u64;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        crate::util::time::now_ms()
    }
}

/// A clock tests move by hand.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    pub fn new(ms: u64) -> ManualClock {
        ManualClock(AtomicU64::new(ms))
    }
    pub fn set(&self, ms: u64) {
        self.0.store(ms, Ordering::SeqCst);
    }
    pub fn advance(&self, ms: u64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The longest window `rate_limit` allows (one week).
const MAX_WINDOW_MS: u64 = 10_080 * 60_000;
/// History kept per agent. A `max_actions` above this can never be reached locally.
pub const MAX_HISTORY: usize = 10_000;
/// Agents tracked at once; the least recently seen is forgotten first.
const MAX_AGENTS: usize = 1024;

/// Evaluation timestamps per agent id.
#[derive(Debug, Default)]
pub struct RateLimiter {
    agents: Mutex<HashMap<String, VecDeque<u64>>>,
}

impl RateLimiter {
    pub fn new() -> RateLimiter {
        RateLimiter::default()
    }

    /// Evaluations of `agent` strictly after `since_ms`.
    pub fn count_since(&self, agent: &str, since_ms: u64) -> usize {
        let agents = self.agents.lock().unwrap_or_else(|p| p.into_inner());
        agents.get(agent).map_or(0, |q| {
            // Timestamps are appended in (nearly) increasing order: count from the newest.
            q.iter().rev().take_while(|&&t| t > since_ms).count()
        })
    }

    /// Records one evaluation, keeping at most `keep` timestamps (the most any policy needs).
    pub fn record(&self, agent: &str, now_ms: u64, keep: usize) {
        let keep = keep.clamp(1, MAX_HISTORY);
        let mut agents = self.agents.lock().unwrap_or_else(|p| p.into_inner());
        if !agents.contains_key(agent) && agents.len() >= MAX_AGENTS {
            let stalest = agents
                .iter()
                .min_by_key(|(_, q)| q.back().copied().unwrap_or(0))
                .map(|(k, _)| k.clone());
            if let Some(k) = stalest {
                agents.remove(&k);
            }
        }
        let q = agents.entry(agent.to_owned()).or_default();
        // A clock that steps back must not make old entries look new.
        let now_ms = now_ms.max(q.back().copied().unwrap_or(0));
        q.push_back(now_ms);
        let horizon = now_ms.saturating_sub(MAX_WINDOW_MS);
        while q.len() > keep || q.front().is_some_and(|&t| t <= horizon) {
            q.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_window_counts_per_agent() {
        let r = RateLimiter::new();
        for t in [1_000, 2_000, 3_000] {
            r.record("a", t, 10);
        }
        r.record("b", 3_000, 10);
        assert_eq!(r.count_since("a", 0), 3);
        assert_eq!(
            r.count_since("a", 1_000),
            2,
            "strictly newer than the window start"
        );
        assert_eq!(r.count_since("a", 3_000), 0);
        assert_eq!(r.count_since("b", 0), 1);
        assert_eq!(r.count_since("nobody", 0), 0);
    }

    #[test]
    fn history_is_bounded() {
        let r = RateLimiter::new();
        for t in 0..100 {
            r.record("a", t, 5);
        }
        assert_eq!(r.count_since("a", 0), 5);
        // Entries older than the longest window go.
        r.record("a", 100 + MAX_WINDOW_MS, 5);
        assert_eq!(r.count_since("a", 0), 1);
        for i in 0..(MAX_AGENTS + 10) {
            r.record(&format!("agent-{i}"), i as u64, 1);
        }
        assert!(r.agents.lock().unwrap().len() <= MAX_AGENTS);
    }
}
