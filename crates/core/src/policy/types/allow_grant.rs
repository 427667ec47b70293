//! `allow_grant`: not a raising policy but the evaluator's post-pass (§3 step 11): an
//! unexpired grant whose action type, target and risk ceiling cover the call lowers warn or
//! require_approval to allow (never block).

use serde_json::Value;

use super::{parse_iso_ms, Fields, PolicyType, Rule, RuleKind};
use crate::policy::context::GuardContext;
use crate::policy::eval::target_prefix_matches;
use crate::policy::model::{Origin, Policy};

pub(super) const TYPE: PolicyType = PolicyType {
    names: &["allow_grant"],
    fields: &["action_type", "target_prefix", "expires_at", "max_risk"],
    compile,
    example: r#"{"action_type": "deploy", "target_prefix": "staging.example.com", "expires_at": "2030-01-01T00:00:00Z", "max_risk": 90}"#,
};

/// Grants without `expires_at` expire this long after `created_at`.
pub const GRANT_DEFAULT_TTL_MS: i64 = 30 * 24 * 60 * 60 * 1000;

#[derive(Debug, Clone, PartialEq)]
pub struct AllowGrant {
    pub action_type: String,
    pub target_prefix: Option<String>,
    /// Unix milliseconds; `None` never expires (a server row without `created_at`).
    pub expires_at_ms: Option<i64>,
    pub max_risk: Option<f64>,
}

fn compile(policy: &Policy, f: &mut Fields) -> Option<Rule> {
    let action_type = f.required_string("action_type");
    let target_prefix = f.opt_string("target_prefix", 256);
    let max_risk = if f.present("max_risk") {
        f.number("max_risk", 0.0, 100.0, "a number 0-100").map(Some)
    } else {
        Some(None)
    };
    let expires = grant_expiry(f, policy);
    match (action_type, target_prefix, max_risk, expires) {
        (Some(action_type), Some(target_prefix), Some(max_risk), Some(expires_at_ms)) => {
            Some(Rule::new(AllowGrant {
                action_type,
                target_prefix,
                expires_at_ms,
                max_risk,
            }))
        }
        _ => None,
    }
}

/// `expires_at`, else `created_at` + 30 days; `Some(None)` = never expires.
fn grant_expiry(f: &mut Fields, policy: &Policy) -> Option<Option<i64>> {
    const EXPECTED: &str = "expected an ISO 8601 time, e.g. 2026-07-01T00:00:00Z";
    match f.get("expires_at") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            return match parse_iso_ms(s) {
                Some(ms) => Some(Some(ms)),
                None => {
                    f.error("expires_at", EXPECTED);
                    None
                }
            }
        }
        Some(_) => {
            f.error("expires_at", EXPECTED);
            return None;
        }
    }
    match policy.created_at.as_deref().map(parse_iso_ms) {
        Some(Some(c)) => Some(Some(c.saturating_add(GRANT_DEFAULT_TTL_MS))),
        Some(None) => {
            f.error("created_at", "expected an ISO 8601 time");
            None
        }
        // A grant that can never lapse is how grants pile up; the server only has such rows
        // in tests, so only a server row may be ageless.
        None if policy.origin == Origin::Server => Some(None),
        None => {
            f.error(
                "expires_at",
                "required for a grant in a policy file (or set the policy's created_at: grants expire 30 days after it)",
            );
            None
        }
    }
}

impl AllowGrant {
    /// Whether the grant has lapsed at `now_ms`.
    pub fn expired(&self, now_ms: u64) -> bool {
        self.expires_at_ms.is_some_and(|e| e <= now_ms as i64)
    }

    /// Whether the grant covers the call's action type and target (the risk ceiling is the
    /// evaluator's to check, as it says why).
    pub fn covers(&self, ctx: &GuardContext) -> bool {
        // No grant across an evidence reclassification: the declared and observed acts disagree.
        if ctx
            .declared_action_type
            .as_deref()
            .is_some_and(|d| !d.is_empty() && d != ctx.action_type)
        {
            return false;
        }
        if self.action_type != ctx.action_type {
            return false;
        }
        match &self.target_prefix {
            None => true,
            Some(p) => target_prefix_matches(p, ctx),
        }
    }
}

impl RuleKind for AllowGrant {}
