//! The server's risk heuristic (dashclaw-server-api.md §3 step 5), so `risk_threshold` and
//! `allow_grant.max_risk` compare the same number locally as on the server.
//!
//! `server_total = clamp(base(action_type) + modifiers, 0, 100)`, then max-folded with the
//! client's own `risk_score`. Org risk templates and predictive risk live only on the server.

use std::sync::LazyLock;

use regex::bytes::Regex;
use serde::Serialize;

use super::context::GuardContext;

/// How a score was reached, for `check` and `policy test` output.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskAssessment {
    pub action_type: String,
    pub base: i32,
    pub modifiers: Vec<(&'static str, i32)>,
    pub server_total: i32,
    /// The client's score, clamped to 0–100.
    pub client: Option<f64>,
    /// `round(max(server_total, client))`.
    pub score: u8,
}

/// Base score by action type; anything unknown scores like `other`.
pub fn base_score(action_type: &str) -> i32 {
    match action_type {
        "security" => 80,
        "deploy" => 75,
        "migrate" => 70,
        "apply" => 60,
        "sync" => 40,
        "api" => 35,
        "config" | "cleanup" => 30,
        "build" | "post" => 25,
        "test" | "message" => 15,
        "monitor" | "alert" | "calendar" | "research" | "review" => 10,
        _ => 20,
    }
}

// Case-insensitive and ASCII word-bounded like the server's JavaScript regexes (`-u`: JS `\b`
// knows only ASCII word characters). "format" counts only when applied to a device object, so
// `--format=json` or `npm run format` never adds risk.
static DESTRUCTIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i-u)rm\s+-rf|drop\s+table|delete\s+from|\btruncate\b|\bwipe\b|\bformat(?:s|ed|ting)?\s+(?:(?:the|my|a)\s+)?(?:[a-z]:(?:[\\/]|\s|$)|/dev/|disk|drive|partition|volume|file\s?system)",
    )
    .expect("static regex")
});
static DEPLOYMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i-u)\bpush(?:es|ed|ing)?\b|\bdeploy|\brelease|\bship(?:s|ped|ping)?\b|\bmigrat")
        .expect("static regex")
});
static SECRETS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i-u)\bsecrets?\b|\bcredentials?\b|\bpasswords?\b|\btokens?\b|\bkeys?\b|\.env\b")
        .expect("static regex")
});

const HIGH_RISK_SYSTEMS: [&str; 5] = ["production", "database", "postgres", "neon", "redis"];
const MODERATE_RISK_SYSTEMS: [&str; 2] = ["filesystem", "shell"];

/// Scores a guard context the way the server does.
pub fn assess(ctx: &GuardContext) -> RiskAssessment {
    let base = base_score(&ctx.action_type);
    let mut modifiers = Vec::new();
    if ctx.reversible == Some(false) {
        modifiers.push(("irreversible", 15));
    }
    let lowered: Vec<String> = ctx
        .systems_touched
        .iter()
        .map(|s| s.to_lowercase())
        .collect();
    if lowered
        .iter()
        .any(|s| HIGH_RISK_SYSTEMS.contains(&s.as_str()))
    {
        modifiers.push(("systems:high", 10));
    }
    if lowered
        .iter()
        .any(|s| MODERATE_RISK_SYSTEMS.contains(&s.as_str()))
    {
        modifiers.push(("systems:moderate", 5));
    }
    if let Some(goal) = ctx.declared_goal.as_deref() {
        let goal = goal.as_bytes();
        if DESTRUCTIVE.is_match(goal) {
            modifiers.push(("goal:destructive-pattern", 20));
        }
        if DEPLOYMENT.is_match(goal) {
            modifiers.push(("goal:deployment-pattern", 10));
        }
        if SECRETS.is_match(goal) {
            modifiers.push(("goal:secret-pattern", 15));
        }
    }
    let server_total = (base + modifiers.iter().map(|(_, d)| d).sum::<i32>()).clamp(0, 100);
    let client = ctx
        .risk_score
        .filter(|r| r.is_finite())
        .map(|r| r.clamp(0.0, 100.0));
    let effective = client.map_or(server_total as f64, |c| c.max(server_total as f64));
    RiskAssessment {
        action_type: ctx.action_type.clone(),
        base,
        modifiers,
        server_total,
        client,
        score: effective.round().clamp(0.0, 100.0) as u8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(action_type: &str, goal: &str) -> GuardContext {
        GuardContext {
            action_type: action_type.into(),
            declared_goal: Some(goal.into()),
            ..GuardContext::default()
        }
    }

    #[test]
    fn base_scores_by_action_type() {
        for (t, s) in [
            ("security", 80),
            ("deploy", 75),
            ("migrate", 70),
            ("apply", 60),
            ("sync", 40),
            ("api", 35),
            ("config", 30),
            ("cleanup", 30),
            ("build", 25),
            ("post", 25),
            ("fix", 20),
            ("refactor", 20),
            ("other", 20),
            ("Deploy", 20),
            ("no-such-type", 20),
            ("test", 15),
            ("message", 15),
            ("monitor", 10),
            ("alert", 10),
            ("calendar", 10),
            ("research", 10),
            ("review", 10),
        ] {
            assert_eq!(assess(&ctx(t, "")).score, s, "{t}");
        }
    }

    #[test]
    fn modifiers_add_up_and_clamp() {
        let mut c = ctx("review", "look around");
        c.reversible = Some(false);
        c.systems_touched = vec!["Shell".into(), "filesystem".into(), "PRODUCTION".into()];
        // 10 + 15 irreversible + 10 high (once) + 5 moderate (once)
        assert_eq!(assess(&c).score, 40);
        c.reversible = Some(true);
        assert_eq!(assess(&c).score, 25);
        // A near-miss system name is not a match.
        c.systems_touched = vec!["prod".into()];
        assert_eq!(assess(&c).score, 10);

        let c = ctx("security", "Bash: rm -rf / && git push && cat .env");
        let a = assess(&c);
        assert_eq!(a.server_total, 100, "80 + 20 + 10 + 15 clamps to 100");
        assert_eq!(a.score, 100);
    }

    #[test]
    fn goal_patterns_are_word_bounded_and_case_insensitive() {
        let cases: &[(&str, i32)] = &[
            ("Bash: rm -rf build", 20),
            ("Bash: RM   -RF build", 20),
            ("DROP TABLE users", 20),
            ("delete from t", 20),
            ("truncate the log", 20),
            ("wipe it", 20),
            ("format the disk", 20),
            ("formatting my drive", 20),
            ("format c:", 20),
            ("Bash: mkfs; format /dev/sda1", 20),
            ("Bash: git log --date=format:%Y", 0),
            ("Bash: npm run format", 0),
            ("Bash: cargo fmt -- --format=json", 0),
            ("wiped", 0),
            ("Bash: git push origin main", 10),
            ("pushed it", 10),
            ("pushback from review", 0),
            ("deployment notes", 10),
            ("release-please", 10),
            ("shipping", 10),
            ("shipment", 0),
            ("run migrations", 10),
            ("Read: .env", 15),
            ("Write: config/.env.local", 15),
            ("rotate the API key", 15),
            ("tokens", 15),
            ("monkey", 0),
            ("keyboard", 0),
            ("Write: src/environment.rs", 0),
        ];
        for &(goal, delta) in cases {
            let a = assess(&ctx("other", goal));
            assert_eq!(a.server_total - 20, delta, "{goal:?}: {:?}", a.modifiers);
        }
    }

    #[test]
    fn client_score_only_raises() {
        let mut c = ctx("review", "");
        c.risk_score = Some(55.4);
        assert_eq!(assess(&c).score, 55);
        c.risk_score = Some(5.0);
        assert_eq!(assess(&c).score, 10);
        c.risk_score = Some(250.0);
        assert_eq!(assess(&c).score, 100);
        c.risk_score = Some(f64::NAN);
        assert_eq!(assess(&c).score, 10);
        c.risk_score = Some(-3.0);
        assert_eq!(assess(&c).score, 10);
    }
}
