//! The evaluator, policy type by policy type, with the server's exact strings.

use super::*;
use crate::event::Finding;
use crate::policy::context::{BranchIntel, GreenIntel};
use crate::policy::model::{Origin, Policy};
use crate::policy::ratelimit::{Clock, ManualClock};
use crate::policy::rules as builtin;
use crate::policy::types::parse_iso_ms;
use serde_json::{json, Value};

/// 2026-01-10T00:00:00Z
fn now() -> u64 {
    parse_iso_ms("2026-01-10T00:00:00Z").unwrap() as u64
}

fn pol(name: &str, policy_type: &str, rules: Value) -> Policy {
    Policy {
        id: format!("gp_{name}"),
        name: name.into(),
        policy_type: policy_type.into(),
        rules,
        agent_ids: Value::Null,
        active: true,
        created_at: Some("2026-01-01T00:00:00Z".into()),
        origin: Origin::Server,
    }
}

fn scoped(mut p: Policy, agent_ids: Value) -> Policy {
    p.agent_ids = agent_ids;
    p
}

fn set(policies: Vec<Policy>) -> PolicySet {
    PolicySet::new(policies, FileState::Absent, Vec::new())
}

/// The pack plus `policies`, as the daemon runs it.
fn with_pack(policies: Vec<Policy>) -> PolicySet {
    let mut all = crate::policy::builtin_policies();
    all.extend(policies);
    set(all)
}

fn ctx(action_type: &str) -> GuardContext {
    GuardContext {
        action_type: action_type.into(),
        agent_id: Some("claude-code".into()),
        ..GuardContext::default()
    }
}

fn run(set: &PolicySet, ctx: &GuardContext) -> Evaluation {
    run_with(set, ctx, &[])
}

fn run_with(set: &PolicySet, ctx: &GuardContext, findings: &[Finding]) -> Evaluation {
    evaluate(
        set,
        ctx,
        findings,
        &EvalEnv {
            now_ms: now(),
            rate: None,
            include_server: true,
        },
    )
}

mod risk_threshold {
    use super::*;

    #[test]
    fn fires_at_or_above_the_threshold_on_the_server_score() {
        let s = set(vec![pol(
            "risky",
            "risk_threshold",
            json!({"threshold": 80}),
        )]);
        // security has base 80: the server heuristic alone reaches it.
        let e = run(&s, &ctx("security"));
        assert_eq!(
            e.decision.verdict,
            Verdict::Block,
            "default action is block"
        );
        assert_eq!(e.reasons, ["risky: Risk score 80 >= threshold 80"]);
        assert_eq!(e.matched_policies, ["gp_risky"]);
        assert_eq!(e.risk_score, 80);
        assert_eq!(e.decision.policy.as_deref(), Some("gp_risky"));

        assert_eq!(run(&s, &ctx("apply")).decision, Decision::allow());
        // The client score max-folds in.
        let mut c = ctx("apply");
        c.risk_score = Some(91.0);
        assert_eq!(
            run(&s, &c).reasons,
            ["risky: Risk score 91 >= threshold 80"]
        );
        // Goal modifiers count: apply 60 + irreversible 15 + deployment 10.
        let mut c = ctx("apply");
        c.reversible = Some(false);
        c.declared_goal = Some("Bash: git push".into());
        assert_eq!(run(&s, &c).risk_score, 85);
    }

    #[test]
    fn action_sets_the_level_and_warn_goes_to_warnings() {
        let s = set(vec![pol(
            "soft",
            "risk_threshold",
            json!({"threshold": 50.5, "action": "warn"}),
        )]);
        let e = run(&s, &ctx("apply"));
        assert_eq!(e.decision.verdict, Verdict::Warn);
        assert!(e.reasons.is_empty());
        assert_eq!(e.warnings, ["soft: Risk score 60 >= threshold 50.5"]);
        assert_eq!(e.decision.reasons, e.warnings);

        // An allow result only marks the policy as matched.
        let s = set(vec![pol(
            "note",
            "risk_threshold",
            json!({"threshold": 0, "action": "allow"}),
        )]);
        let e = run(&s, &ctx("review"));
        assert_eq!(e.decision, Decision::allow());
        assert_eq!(e.matched_policies, ["gp_note"]);
    }
}

mod action_type_lists {
    use super::*;

    #[test]
    fn the_three_lists_and_their_reasons() {
        let s = set(vec![
            pol(
                "ra",
                "require_approval",
                json!({"action_types": ["deploy"]}),
            ),
            pol(
                "bl",
                "block_action_type",
                json!({"action_types": ["security"]}),
            ),
            pol("wa", "warn_action_type", json!({"action_types": ["api"]})),
        ]);
        let e = run(&s, &ctx("deploy"));
        assert_eq!(e.decision.verdict, Verdict::RequireApproval);
        assert_eq!(e.reasons, ["ra: Action type \"deploy\" requires approval"]);
        let e = run(&s, &ctx("security"));
        assert_eq!(e.decision.verdict, Verdict::Block);
        assert_eq!(
            e.reasons,
            ["bl: Action type \"security\" is blocked by policy"]
        );
        let e = run(&s, &ctx("api"));
        assert_eq!(e.decision.verdict, Verdict::Warn);
        assert_eq!(e.warnings, ["wa: Action type \"api\" recorded for review"]);
        // Exact and case-sensitive.
        assert_eq!(run(&s, &ctx("Deploy")).decision, Decision::allow());
        assert_eq!(run(&s, &ctx("deploy ")).decision, Decision::allow());
    }

    #[test]
    fn require_approval_ignores_rules_action() {
        let s = set(vec![pol(
            "ra",
            "require_approval",
            json!({"action_types": ["deploy"], "action": "block"}),
        )]);
        assert_eq!(
            run(&s, &ctx("deploy")).decision.verdict,
            Verdict::RequireApproval
        );
    }

    #[test]
    fn target_prefix_narrows_by_host_or_path() {
        let s = set(vec![
            pol(
                "h",
                "block_action_type",
                json!({"action_types": ["api"], "target_prefix": "stripe.com"}),
            ),
            pol(
                "p",
                "block_action_type",
                json!({"action_types": ["apply"], "target_prefix": "/etc/nginx"}),
            ),
        ]);
        let with = |t: &str, target: &str| {
            let mut c = ctx(t);
            c.target = Some(target.into());
            run(&s, &c).decision.verdict
        };
        assert_eq!(with("api", "https://stripe.com/v1/charges"), Verdict::Block);
        assert_eq!(
            with("api", "https://api.stripe.com:443/v1"),
            Verdict::Block,
            "sub-domain"
        );
        assert_eq!(
            with("api", "HTTPS://user@API.Stripe.com/x"),
            Verdict::Block,
            "URL by host name"
        );
        assert_eq!(with("api", "https://notstripe.com/x"), Verdict::Allow);
        assert_eq!(with("api", "https://stripe.com.evil.io/"), Verdict::Allow);
        assert_eq!(with("apply", "/etc/nginx"), Verdict::Block, "exact path");
        assert_eq!(
            with("apply", "/etc/nginx/sites/a.conf"),
            Verdict::Block,
            "at a / boundary"
        );
        assert_eq!(with("apply", "/etc/nginx-old/a.conf"), Verdict::Allow);
        // write_paths count too; no target at all does not match.
        let mut c = ctx("apply");
        c.write_paths = vec!["/tmp/x".into(), "/etc/nginx/x".into()];
        assert_eq!(run(&s, &c).decision.verdict, Verdict::Block);
        assert_eq!(run(&s, &ctx("apply")).decision.verdict, Verdict::Allow);
        // An empty prefix does not narrow.
        let s = set(vec![pol(
            "e",
            "block_action_type",
            json!({"action_types": ["api"], "target_prefix": ""}),
        )]);
        assert_eq!(run(&s, &ctx("api")).decision.verdict, Verdict::Block);
    }
}

#[test]
fn protected_path_first_matching_candidate() {
    let s = set(vec![pol(
        "secrets",
        "protected_path",
        json!({"paths": ["**/.env", "/etc/**", "middleware.js"]}),
    )]);
    let mut c = ctx("apply");
    c.target = Some("src/main.rs".into());
    c.write_paths = vec!["app/x/middleware.js".into(), "/etc/hosts".into()];
    let e = run(&s, &c);
    assert_eq!(
        e.decision.verdict,
        Verdict::RequireApproval,
        "default action"
    );
    assert_eq!(
        e.reasons,
        ["secrets: Protected path touched: app/x/middleware.js"]
    );
    // Reported as written, not normalised.
    let mut c = ctx("apply");
    c.target = Some(r"C:\proj\.env".into());
    assert_eq!(
        run(&s, &c).reasons,
        [r"secrets: Protected path touched: C:\proj\.env"]
    );
    let mut c = ctx("apply");
    c.target = Some("src/env.rs".into());
    assert_eq!(run(&s, &c).decision, Decision::allow());

    let s = set(vec![pol(
        "b",
        "protected_path",
        json!({"paths": ["**/*.pem"], "action": "block"}),
    )]);
    let mut c = ctx("review");
    c.target = Some("certs/a.pem".into());
    assert_eq!(run(&s, &c).decision.verdict, Verdict::Block);
}

#[test]
fn agent_allowlist() {
    let s = set(vec![pol(
        "envelope",
        "agent_allowlist",
        json!({"allowed_action_types": ["review", "apply"]}),
    )]);
    assert_eq!(run(&s, &ctx("apply")).decision, Decision::allow());
    let e = run(&s, &ctx("deploy"));
    assert_eq!(e.decision.verdict, Verdict::Warn, "default action is warn");
    assert_eq!(
        e.warnings,
        ["envelope: Action type \"deploy\" is outside the agent's allowlist"]
    );
    assert_eq!(
        run(&s, &ctx("")).decision,
        Decision::allow(),
        "no action type, no verdict"
    );
}

#[test]
fn rate_limit_counts_prior_evaluations_in_a_sliding_window() {
    let s = set(vec![pol(
        "runaway",
        "rate_limit",
        json!({"max_actions": 3, "window_minutes": 1, "action": "block"}),
    )]);
    let clock = ManualClock::new(now());
    let rate = RateLimiter::new();
    let eval = |c: &GuardContext| {
        evaluate(
            &s,
            c,
            &[],
            &EvalEnv {
                now_ms: clock.now_ms(),
                rate: Some(&rate),
                include_server: true,
            },
        )
    };
    let me = ctx("review");
    for _ in 0..3 {
        assert_eq!(eval(&me).decision.verdict, Verdict::Allow);
        clock.advance(1_000);
    }
    let e = eval(&me);
    assert_eq!(e.decision.verdict, Verdict::Block);
    assert_eq!(
        e.reasons,
        ["runaway: Agent made 3 guard evaluations in 1min (limit: 3)"]
    );
    // Another agent has its own count.
    let mut other = ctx("review");
    other.agent_id = Some("ci-bot".into());
    assert_eq!(eval(&other).decision.verdict, Verdict::Allow);
    // Once the first calls leave the window, it allows again.
    clock.advance(60_000);
    assert_eq!(eval(&me).decision.verdict, Verdict::Allow);
    // Without an agent id there is nothing to count.
    let mut anon = ctx("review");
    anon.agent_id = None;
    for _ in 0..5 {
        assert_eq!(eval(&anon).decision.verdict, Verdict::Allow);
    }
}

#[test]
fn green_contract_fires_when_the_level_is_missing_or_too_low() {
    let s = set(vec![pol(
        "green",
        "green_contract",
        json!({"required_level": "package", "action_types": ["deploy"]}),
    )]);
    let e = run(&s, &ctx("deploy"));
    assert_eq!(
        e.decision.verdict,
        Verdict::Block,
        "no intel locally: fires"
    );
    assert_eq!(
        e.reasons,
        ["green: Green contract: no test status reported, package required"]
    );
    let with = |level: &str| {
        let mut c = ctx("deploy");
        c.intel.green = Some(GreenIntel {
            observed_level: Some(level.into()),
        });
        run(&s, &c)
    };
    assert_eq!(
        with("targeted").reasons,
        ["green: Green contract: observed targeted, required package"]
    );
    assert_eq!(
        with("bogus").decision.verdict,
        Verdict::Block,
        "unknown levels rank lowest"
    );
    assert_eq!(with("package").decision, Decision::allow());
    assert_eq!(with("merge_ready").decision, Decision::allow());
    assert_eq!(
        run(&s, &ctx("apply")).decision,
        Decision::allow(),
        "only the listed types"
    );
}

#[test]
fn branch_freshness_needs_branch_intel() {
    let s = set(vec![pol(
        "fresh",
        "branch_freshness",
        json!({"action_types": ["deploy"], "max_commits_behind": 2}),
    )]);
    assert_eq!(
        run(&s, &ctx("deploy")).decision,
        Decision::allow(),
        "no intel, no verdict"
    );
    let with = |freshness: &str, behind: f64, name: Option<&str>| {
        let mut c = ctx("deploy");
        c.intel.branch = Some(BranchIntel {
            freshness: Some(freshness.into()),
            commits_behind: Some(behind),
            name: name.map(str::to_owned),
        });
        run(&s, &c)
    };
    assert_eq!(
        with("stale", 3.0, Some("main")).reasons,
        ["fresh: Branch main is stale (3 commits behind)"]
    );
    assert_eq!(
        with("diverged", 9.0, None).reasons,
        ["fresh: Branch unknown is diverged (9 commits behind)"]
    );
    assert_eq!(
        with("stale", 2.0, None).decision,
        Decision::allow(),
        "not above the maximum"
    );
    assert_eq!(with("fresh", 50.0, None).decision, Decision::allow());
}

mod combining {
    use super::*;

    #[test]
    fn the_stricter_of_findings_and_policies_wins() {
        let s = with_pack(vec![pol(
            "bl",
            "block_action_type",
            json!({"action_types": ["security"]}),
        )]);
        let findings = [builtin::GIT_FORCE_WITH_LEASE.finding("resets the tree")];
        let e = run_with(&s, &ctx("security"), &findings);
        assert_eq!(e.decision.verdict, Verdict::Block);
        assert_eq!(e.decision.policy.as_deref(), Some("gp_bl"));
        assert_eq!(
            e.decision.reasons,
            ["bl: Action type \"security\" is blocked by policy"]
        );
        assert_eq!(e.decision.suggestion, None);
        assert_eq!(e.warnings, ["resets the tree"]);
        assert_eq!(
            e.matched_policies,
            ["builtin:git-force-with-lease", "gp_bl"]
        );

        let s = with_pack(vec![pol(
            "wa",
            "warn_action_type",
            json!({"action_types": ["security"]}),
        )]);
        let findings = [builtin::RM_ROOT.finding("deletes /")];
        let e = run_with(&s, &ctx("security"), &findings);
        assert_eq!(e.decision.verdict, Verdict::Block);
        assert_eq!(e.decision.policy.as_deref(), Some("builtin:rm-root"));
        assert_eq!(
            e.decision.reasons,
            ["deletes /"],
            "only the deciding level's reasons"
        );
        assert_eq!(
            e.decision.suggestion.as_deref(),
            Some(builtin::RM_ROOT.suggestion)
        );
    }

    #[test]
    fn a_user_builtin_finding_policy_can_only_raise_a_rule() {
        let s = with_pack(vec![
            pol(
                "strict-reset",
                "builtin_finding",
                json!({"rule": "git-reset-hard", "action": "block"}),
            ),
            pol(
                "lax-root",
                "builtin_finding",
                json!({"rule": "rm-root", "action": "allow"}),
            ),
        ]);
        let e = run_with(
            &s,
            &ctx("security"),
            &[builtin::GIT_RESET_HARD.finding("resets")],
        );
        assert_eq!(e.decision.verdict, Verdict::Block);
        assert_eq!(e.decision.reasons, ["strict-reset: resets"]);
        let e = run_with(
            &s,
            &ctx("security"),
            &[builtin::RM_ROOT.finding("deletes /")],
        );
        assert_eq!(e.decision.verdict, Verdict::Block);
    }

    #[test]
    fn scoping_applies_in_evaluation() {
        let s = set(vec![scoped(
            pol(
                "ci-only",
                "block_action_type",
                json!({"action_types": ["deploy"]}),
            ),
            json!("[\"claude-code\"]"),
        )]);
        let as_agent = |id: Option<&str>| {
            let mut c = ctx("deploy");
            c.agent_id = id.map(str::to_owned);
            run(&s, &c).decision.verdict
        };
        assert_eq!(as_agent(Some("claude-code")), Verdict::Block);
        assert_eq!(
            as_agent(Some("claude-code:explore")),
            Verdict::Block,
            "parent:child"
        );
        assert_eq!(as_agent(Some("codex")), Verdict::Allow);
        assert_eq!(as_agent(None), Verdict::Allow);
        assert_eq!(as_agent(Some("")), Verdict::Allow, "an empty id is no id");
    }

    #[test]
    fn inactive_policies_do_nothing_even_when_broken() {
        let mut p = pol("off", "no_such_type", json!({}));
        p.active = false;
        let mut q = pol(
            "off2",
            "block_action_type",
            json!({"action_types": ["deploy"]}),
        );
        q.active = false;
        assert_eq!(
            run(&set(vec![p, q]), &ctx("deploy")).decision,
            Decision::allow()
        );
    }

    #[test]
    fn a_broken_file_without_a_good_version_blocks_and_a_stale_one_warns() {
        let broken = PolicySet::new(
            Vec::new(),
            FileState::Broken {
                error: "policies.toml:3: bad".into(),
            },
            Vec::new(),
        );
        let e = run(&broken, &ctx("review"));
        assert_eq!(e.decision.verdict, Verdict::Block);
        assert_eq!(e.decision.policy.as_deref(), Some("policy-file"));
        assert!(e.decision.reasons[0].ends_with("policies.toml:3: bad"));

        let stale = PolicySet::new(
            Vec::new(),
            FileState::Stale {
                error: "policies.toml:3: bad".into(),
            },
            Vec::new(),
        );
        let e = run(&stale, &ctx("review"));
        assert_eq!(e.decision, Decision::allow(), "the last good set decides");
        assert_eq!(
            e.warnings,
            ["The policy file is broken; enforcing its last good version: policies.toml:3: bad"]
        );
    }
}

mod cannot_enforce {
    use super::*;

    #[test]
    fn unknown_types_and_bad_rules_warn_on_every_decision() {
        let s = set(vec![
            pol("mystery", "quantum_check", json!({})),
            pol("garbled", "risk_threshold", json!("{threshold: 80")),
        ]);
        let e = run(&s, &ctx("review"));
        let want = [
            "Policy \"mystery\" (gp_mystery) is ACTIVE but cannot enforce: unknown policy_type \"quantum_check\"",
            "Policy \"garbled\" (gp_garbled) is ACTIVE but cannot enforce: rules is not valid JSON",
        ];
        assert_eq!(e.cannot_enforce, want);
        assert_eq!(e.warnings, want);
        // Locally an otherwise clean call becomes a warn, so somebody sees it.
        assert_eq!(e.severity, Severity::Allow);
        assert_eq!(e.decision.verdict, Verdict::Warn);
        assert_eq!(e.decision.reasons, want);
        assert_eq!(e.decision.policy.as_deref(), Some("gp_mystery"));
        assert!(e.matched_policies.is_empty());
    }

    #[test]
    fn notes_follow_the_deciding_reasons_on_stricter_verdicts() {
        let s = set(vec![
            pol("hook", "webhook_check", json!({"url": "https://x"})),
            pol(
                "bl",
                "block_action_type",
                json!({"action_types": ["deploy"]}),
            ),
        ]);
        let e = run(&s, &ctx("deploy"));
        assert_eq!(e.decision.verdict, Verdict::Block);
        assert_eq!(
            e.decision.reasons,
            [
                "bl: Action type \"deploy\" is blocked by policy",
                "Policy \"hook\" (gp_hook) is ACTIVE but cannot enforce: policy_type \"webhook_check\" is evaluated only by the DashClaw server",
            ]
        );
        assert_eq!(e.decision.policy.as_deref(), Some("gp_bl"));
    }

    #[test]
    fn only_where_the_policy_would_have_applied_and_malformed_scopes_too() {
        let s = set(vec![scoped(
            pol("theirs", "nope", json!({})),
            json!(["codex"]),
        )]);
        assert_eq!(run(&s, &ctx("review")).decision, Decision::allow());

        let s = set(vec![scoped(
            pol(
                "typo",
                "block_action_type",
                json!({"action_types": ["deploy"]}),
            ),
            json!("[claude-code]"),
        )]);
        let e = run(&s, &ctx("deploy"));
        assert_eq!(
            e.decision.verdict,
            Verdict::Warn,
            "skipped (fail closed), not enforced"
        );
        assert_eq!(
            e.cannot_enforce,
            ["Policy \"typo\" (gp_typo) is ACTIVE but cannot enforce: agent_ids is not valid JSON"]
        );
        assert_eq!(s.issues.len(), 1, "and reported by the loader");
    }
}

mod allow_grant {
    use super::*;

    fn grant(name: &str, rules: Value) -> Policy {
        pol(name, "allow_grant", rules)
    }

    #[test]
    fn downgrades_warn_and_require_approval_never_block() {
        let s = set(vec![
            pol(
                "ra",
                "require_approval",
                json!({"action_types": ["deploy"]}),
            ),
            pol("wa", "warn_action_type", json!({"action_types": ["api"]})),
            pol(
                "bl",
                "block_action_type",
                json!({"action_types": ["security"]}),
            ),
            grant("g-deploy", json!({"action_type": "deploy"})),
            grant("g-api", json!({"action_type": "api"})),
            grant("g-sec", json!({"action_type": "security"})),
        ]);
        let e = run(&s, &ctx("deploy"));
        assert_eq!(e.decision.verdict, Verdict::Allow);
        assert!(e.reasons.is_empty(), "the gating reasons are cleared");
        assert_eq!(
            e.warnings,
            ["g-deploy: grant downgraded require_approval to allow"]
        );
        assert_eq!(e.matched_policies, ["gp_ra", "gp_g-deploy"]);
        assert_eq!(e.decision.reasons, e.warnings);
        assert_eq!(e.decision.policy.as_deref(), Some("gp_g-deploy"));

        let e = run(&s, &ctx("api"));
        assert_eq!(e.decision.verdict, Verdict::Allow);
        assert_eq!(
            e.warnings,
            [
                "wa: Action type \"api\" recorded for review",
                "g-api: grant downgraded warn to allow"
            ]
        );

        let e = run(&s, &ctx("security"));
        assert_eq!(e.decision.verdict, Verdict::Block);
        assert!(e.warnings.is_empty());
    }

    #[test]
    fn the_first_matching_unexpired_grant_applies() {
        let ra = pol(
            "ra",
            "require_approval",
            json!({"action_types": ["deploy"]}),
        );
        let mut old = grant("old", json!({"action_type": "deploy"}));
        old.created_at = Some("2025-12-01T00:00:00Z".into()); // + 30 days < now
        let lapsed = grant(
            "lapsed",
            json!({"action_type": "deploy", "expires_at": "2026-01-09T23:59:59Z"}),
        );
        let fresh = grant(
            "fresh",
            json!({"action_type": "deploy", "expires_at": "2026-02-01"}),
        );
        let other = grant("other", json!({"action_type": "deploy"}));
        let e = run(
            &set(vec![ra.clone(), old, lapsed, fresh, other]),
            &ctx("deploy"),
        );
        assert_eq!(
            e.warnings,
            ["fresh: grant downgraded require_approval to allow"]
        );

        // created_at + 30 days still ahead: applies.
        let mut recent = grant("recent", json!({"action_type": "deploy"}));
        recent.created_at = Some("2025-12-15T00:00:00Z".into());
        assert_eq!(
            run(&set(vec![ra, recent]), &ctx("deploy")).decision.verdict,
            Verdict::Allow
        );
    }

    #[test]
    fn conditions_type_target_risk_and_reclassification() {
        let ra = || {
            pol(
                "ra",
                "require_approval",
                json!({"action_types": ["api", "apply"]}),
            )
        };
        let eval = |g: Policy, c: GuardContext| run(&set(vec![ra(), g]), &c);
        let target = |t: &str, target: &str| {
            let mut c = ctx(t);
            c.target = Some(target.into());
            c
        };
        let host = || {
            grant(
                "g",
                json!({"action_type": "api", "target_prefix": "github.com"}),
            )
        };
        assert_eq!(
            eval(host(), target("api", "https://api.github.com/repos"))
                .decision
                .verdict,
            Verdict::Allow
        );
        assert_eq!(
            eval(host(), target("api", "https://github.com"))
                .decision
                .verdict,
            Verdict::Allow
        );
        assert_eq!(
            eval(host(), target("api", "https://evilgithub.com"))
                .decision
                .verdict,
            Verdict::RequireApproval
        );
        assert_eq!(
            eval(host(), ctx("api")).decision.verdict,
            Verdict::RequireApproval,
            "no target"
        );

        let path = || {
            grant(
                "g",
                json!({"action_type": "apply", "target_prefix": "/w/proj/docs"}),
            )
        };
        assert_eq!(
            eval(path(), target("apply", "/w/proj/docs/a.md"))
                .decision
                .verdict,
            Verdict::Allow
        );
        assert_eq!(
            eval(path(), target("apply", "/w/proj/docs2/a.md"))
                .decision
                .verdict,
            Verdict::RequireApproval
        );

        // Wrong action type.
        assert_eq!(
            eval(host(), target("apply", "https://github.com"))
                .decision
                .verdict,
            Verdict::RequireApproval
        );

        // Risk ceiling: skipped, and said so.
        let capped = grant("capped", json!({"action_type": "apply", "max_risk": 59}));
        let e = eval(capped, ctx("apply"));
        assert_eq!(e.decision.verdict, Verdict::RequireApproval);
        assert_eq!(
            e.warnings,
            ["capped: grant does not cover risk 60 (ceiling 59)"]
        );
        let capped = grant("capped", json!({"action_type": "apply", "max_risk": 60}));
        assert_eq!(eval(capped, ctx("apply")).decision.verdict, Verdict::Allow);

        // Never across an evidence reclassification.
        let mut c = ctx("apply");
        c.declared_action_type = Some("review".into());
        assert_eq!(
            eval(grant("g", json!({"action_type": "apply"})), c)
                .decision
                .verdict,
            Verdict::RequireApproval
        );

        // Never for containment_promote.
        let s = set(vec![
            pol(
                "ra",
                "require_approval",
                json!({"action_types": ["containment_promote"]}),
            ),
            grant("g", json!({"action_type": "containment_promote"})),
        ]);
        assert_eq!(
            run(&s, &ctx("containment_promote")).decision.verdict,
            Verdict::RequireApproval
        );
    }

    #[test]
    fn ungrantable_verdicts_stay() {
        let mut ra = pol(
            "ra",
            "require_approval",
            json!({"action_types": ["deploy"], "ungrantable": true}),
        );
        ra.name = "catastrophe".into();
        let e = run(
            &set(vec![ra, grant("g", json!({"action_type": "deploy"}))]),
            &ctx("deploy"),
        );
        assert_eq!(e.decision.verdict, Verdict::RequireApproval);
        assert_eq!(
            e.warnings,
            ["catastrophe: marked ungrantable — allow_grant policies cannot clear this verdict"]
        );

        // The built-in rules for commands we could not read are ungrantable too.
        let s = with_pack(vec![grant("g", json!({"action_type": "other"}))]);
        let e = run_with(
            &s,
            &ctx("other"),
            &[builtin::UNPARSEABLE.finding("cannot parse")],
        );
        assert_eq!(e.decision.verdict, Verdict::RequireApproval);
        let e = run_with(
            &s,
            &ctx("other"),
            &[builtin::PIPE_TO_SHELL.finding("pipes")],
        );
        assert_eq!(
            e.decision.verdict,
            Verdict::Allow,
            "other built-in rules are grantable"
        );
    }

    #[test]
    fn grants_are_scoped_like_any_policy() {
        let s = set(vec![
            pol(
                "ra",
                "require_approval",
                json!({"action_types": ["deploy"]}),
            ),
            scoped(
                grant("g", json!({"action_type": "deploy"})),
                json!(["ci-bot"]),
            ),
        ]);
        assert_eq!(
            run(&s, &ctx("deploy")).decision.verdict,
            Verdict::RequireApproval
        );
        let mut c = ctx("deploy");
        c.agent_id = Some("ci-bot:sub".into());
        assert_eq!(run(&s, &c).decision.verdict, Verdict::Allow);
    }
}
