//! Evaluation of a policy set against one guard context, in the server's order
//! (dashclaw-server-api.md §3): built-in findings and local policies raise, the strictest
//! wins, then the `allow_grant` post-pass may lower warn/require_approval (never block).

use serde::Serialize;

use super::context::GuardContext;
use super::model::{FileState, LoadedPolicy, Origin, PolicySet, Scope, Severity};
use super::ratelimit::RateLimiter;
use super::risk::{self, RiskAssessment};
use super::types::{AllowGrant, BuiltinFinding, Rule};
use crate::event::{Decision, Finding, Verdict};

/// What the evaluator may read besides the policies.
#[derive(Debug, Clone, Copy)]
pub struct EvalEnv<'a> {
    /// Unix milliseconds (grant expiry, rate windows).
    pub now_ms: u64,
    /// Where `rate_limit` counts come from; `None` counts nothing (tests, `decide`).
    pub rate: Option<&'a RateLimiter>,
    /// Whether cached server policies take part. Normally not: the server evaluates them
    /// itself, and evaluating them here too would undo its grants and approvals. Only when the
    /// server is unreachable and the user opted into the `local` fallback.
    pub include_server: bool,
}

/// The full outcome, for `check`, the ledger and `policy test`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// What the agent is told.
    pub decision: Decision,
    /// The server's verdict before mapping to ours (`allow_contained` survives here).
    pub severity: Severity,
    /// Policy ids that matched (`builtin:<rule>` for the pack), in evaluation order.
    pub matched_policies: Vec<String>,
    /// Server-style `"<policy name>: <reason>"` for results above warn (cleared by a grant).
    pub reasons: Vec<String>,
    /// Server-style warnings: warn results, grant notes, cannot-enforce notes.
    pub warnings: Vec<String>,
    /// The `Policy "…" (…) is ACTIVE but cannot enforce: …` subset of `warnings`.
    pub cannot_enforce: Vec<String>,
    /// The final risk score (§3 step 5).
    pub risk_score: u8,
    pub risk: RiskAssessment,
}

/// One raising result.
struct Hit {
    severity: Severity,
    /// As shown to the agent: the finding's own text for the built-in pack, else
    /// `"<name>: <reason>"` like the server.
    text: String,
    policy_id: String,
    suggestion: Option<String>,
}

/// The raising results so far, in the server's three lists.
#[derive(Default)]
struct Acc {
    hits: Vec<Hit>,
    matched: Vec<String>,
    reasons: Vec<String>,
    warnings: Vec<String>,
    /// (name, ungrantable) of every result that raised warn or require_approval.
    gating: Vec<(String, bool)>,
}

impl Acc {
    /// `text` is both what the agent sees and the server-style reason or warning.
    fn add(
        &mut self,
        id: &str,
        name: &str,
        ungrantable: bool,
        sev: Severity,
        text: String,
        suggestion: Option<String>,
    ) {
        if !self.matched.iter().any(|m| m == id) {
            self.matched.push(id.to_owned());
        }
        match sev {
            // An allow result only marks the policy as matched.
            Severity::Allow => return,
            Severity::Warn => self.warnings.push(text.clone()),
            _ => self.reasons.push(text.clone()),
        }
        if matches!(sev, Severity::Warn | Severity::RequireApproval) {
            self.gating.push((name.to_owned(), ungrantable));
        }
        self.hits.push(Hit {
            severity: sev,
            text,
            policy_id: id.to_owned(),
            suggestion,
        });
    }
}

/// Evaluates `set` for one call. `findings` are the classifier's (the built-in pack's input).
pub fn evaluate(
    set: &PolicySet,
    ctx: &GuardContext,
    findings: &[Finding],
    env: &EvalEnv,
) -> Evaluation {
    let risk = risk::assess(ctx);
    let score = f64::from(risk.score);
    let agent = ctx.agent();
    let mut acc = Acc::default();
    let mut cannot: Vec<(String, String)> = Vec::new(); // (policy id, warning)

    match &set.file {
        FileState::Broken { error } => acc.hits.push(Hit {
            severity: Severity::Block,
            text: format!("the policy file is broken and nothing could be loaded from it: {error}"),
            policy_id: "policy-file".into(),
            suggestion: Some("fix the file (`dashclawd policy lint` shows where) and retry".into()),
        }),
        FileState::Stale { error } => acc.warnings.push(format!(
            "The policy file is broken; enforcing its last good version: {error}"
        )),
        FileState::Absent | FileState::Loaded => {}
    }

    let in_play = |p: &LoadedPolicy| env.include_server || p.policy.origin != Origin::Server;
    let applies = |p: &LoadedPolicy| in_play(p) && p.policy.active && p.scope.applies_to(agent);
    // Built-in findings first, in the classifier's order, so the first reason is the one the
    // classifier thought most telling.
    for f in findings {
        let mut pack_rule_seen = false;
        for p in set.for_finding(f.rule).filter(|p| applies(p)) {
            let Some(BuiltinFinding { action, .. }) =
                p.rule.as_ref().ok().and_then(Rule::get::<BuiltinFinding>)
            else {
                continue;
            };
            let (sev, text) = if p.policy.origin == Origin::Builtin {
                pack_rule_seen = true;
                (Severity::from_verdict(f.verdict), f.reason.clone())
            } else {
                (*action, format!("{}: {}", p.policy.name, f.reason))
            };
            acc.add(
                &p.policy.id,
                &p.policy.name,
                p.ungrantable,
                sev,
                text,
                f.suggestion.clone(),
            );
        }
        // A finding of a rule the pack does not list still counts at its own verdict.
        if set.has_pack && !pack_rule_seen {
            let id = format!("builtin:{}", f.rule);
            let sev = Severity::from_verdict(f.verdict);
            acc.add(
                &id,
                f.rule,
                false,
                sev,
                f.reason.clone(),
                f.suggestion.clone(),
            );
        }
    }

    // Local policies in load order.
    for p in set.per_call().filter(|p| in_play(p) && p.policy.active) {
        if let Scope::Malformed(why) = &p.scope {
            // The server skips it; we skip it too, but never quietly.
            cannot.push((p.policy.id.clone(), p.cannot_enforce(why)));
            continue;
        }
        if !p.scope.applies_to(agent) {
            continue;
        }
        let rule = match &p.rule {
            Ok(r) => r,
            Err(why) => {
                cannot.push((p.policy.id.clone(), p.cannot_enforce(why)));
                continue;
            }
        };
        if let Some((sev, reason)) = rule.evaluate(ctx, score, env) {
            let text = format!("{}: {reason}", p.policy.name);
            acc.add(&p.policy.id, &p.policy.name, p.ungrantable, sev, text, None);
        }
    }
    let Acc {
        hits,
        mut matched,
        mut reasons,
        mut warnings,
        gating,
    } = acc;

    let mut highest = hits
        .iter()
        .map(|h| h.severity)
        .max()
        .unwrap_or(Severity::Allow);
    let raised = highest;

    // allow_grant post-pass (§3 step 11).
    let mut granted: Option<(String, String)> = None; // (policy id, warning)
    if matches!(highest, Severity::Warn | Severity::RequireApproval)
        && ctx.action_type != "containment_promote"
    {
        if let Some((name, _)) = gating.iter().find(|(_, u)| *u) {
            warnings.push(format!(
                "{name}: marked ungrantable — allow_grant policies cannot clear this verdict"
            ));
        } else {
            for p in set.policies.iter().filter(|p| applies(p)) {
                let Some(grant) = p.rule.as_ref().ok().and_then(Rule::get::<AllowGrant>) else {
                    continue;
                };
                if grant.expired(env.now_ms) || !grant.covers(ctx) {
                    continue;
                }
                if let Some(ceiling) = grant.max_risk.filter(|&m| score > m) {
                    warnings.push(format!(
                        "{}: grant does not cover risk {} (ceiling {})",
                        p.policy.name,
                        risk.score,
                        js_num(ceiling)
                    ));
                    continue;
                }
                let note = format!(
                    "{}: grant downgraded {} to allow",
                    p.policy.name,
                    highest.as_str()
                );
                warnings.push(note.clone());
                matched.push(p.policy.id.clone());
                reasons.clear();
                highest = Severity::Allow;
                granted = Some((p.policy.id.clone(), note));
                break;
            }
        }
    }

    // Rate counts: this evaluation is history for the next one (the server counts every
    // prior guard decision of the agent, whatever it was).
    if let (Some(rate), Some(agent)) = (env.rate, agent) {
        rate.record(agent, env.now_ms, set.rate_history);
    }

    let mut cannot_texts: Vec<String> = Vec::new();
    for (_, w) in &cannot {
        if !cannot_texts.contains(w) {
            cannot_texts.push(w.clone());
        }
    }
    warnings.extend(cannot_texts.iter().cloned());

    let decision = assemble(
        highest,
        raised,
        &hits,
        granted.as_ref(),
        &cannot,
        &cannot_texts,
    );
    Evaluation {
        severity: highest,
        decision,
        matched_policies: matched,
        reasons,
        warnings,
        cannot_enforce: cannot_texts,
        risk_score: risk.score,
        risk,
    }
}

/// Builds the agent-facing decision: the reasons of the results at the winning level (first
/// one decides `policy` and `suggestion`), then any cannot-enforce notes. A cannot-enforce note
/// on an otherwise clean call makes it a warn: an active policy that does nothing must be seen.
fn assemble(
    highest: Severity,
    raised: Severity,
    hits: &[Hit],
    granted: Option<&(String, String)>,
    cannot: &[(String, String)],
    cannot_texts: &[String],
) -> Decision {
    let mut reasons: Vec<String> = Vec::new();
    let push = |r: &str, reasons: &mut Vec<String>| {
        if !reasons.iter().any(|x| x == r) {
            reasons.push(r.to_owned());
        }
    };
    let (mut verdict, mut policy, mut suggestion) = (highest.to_verdict(), None, None);
    if let Some((id, note)) = granted {
        push(note, &mut reasons);
        policy = Some(id.clone());
    } else if highest > Severity::Allow {
        let at = hits.iter().filter(|h| h.severity == raised);
        for (i, h) in at.enumerate() {
            if i == 0 {
                policy = Some(h.policy_id.clone());
                suggestion = h.suggestion.clone();
            }
            push(&h.text, &mut reasons);
        }
    }
    if !cannot.is_empty() {
        if verdict == Verdict::Allow {
            verdict = Verdict::Warn;
            policy = Some(cannot[0].0.clone());
        }
        for c in cannot_texts {
            push(c, &mut reasons);
        }
    }
    if verdict == Verdict::Allow && granted.is_none() {
        return Decision::allow();
    }
    Decision {
        verdict,
        reasons,
        policy,
        suggestion,
    }
}

/// A number as JavaScript prints it (`80`, not `80.0`).
pub(super) fn js_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// A URL becomes its host name; anything else is kept, trimmed.
fn normalize_target(raw: &str) -> Option<String> {
    let t = raw.trim();
    if t.is_empty() {
        return None;
    }
    let lower = t.get(..8).map(str::to_ascii_lowercase).unwrap_or_default();
    let rest = if lower.starts_with("https://") {
        &t[8..]
    } else if lower.starts_with("http://") {
        &t[7..]
    } else {
        return Some(t.to_owned());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']')
            .next()
            .map(|h| format!("[{h}]"))
            .unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or("").to_owned()
    };
    Some(if host.is_empty() {
        t.to_owned()
    } else {
        host.to_ascii_lowercase()
    })
}

/// Boundary-aware prefix match: a prefix with a `/` matches the same path or anything below
/// it; one without matches the same host or a sub-domain. An empty prefix never matches.
fn prefix_matches(prefix: &str, candidate: &str) -> bool {
    if prefix.is_empty() || candidate.is_empty() {
        return false;
    }
    if candidate == prefix {
        return true;
    }
    if prefix.contains('/') {
        if prefix.ends_with('/') {
            candidate.starts_with(prefix)
        } else {
            candidate
                .strip_prefix(prefix)
                .is_some_and(|r| r.starts_with('/'))
        }
    } else {
        candidate
            .strip_suffix(prefix)
            .is_some_and(|r| r.ends_with('.'))
    }
}

/// Whether `target` or any write path matches a `target_prefix`.
pub(super) fn target_prefix_matches(prefix: &str, ctx: &GuardContext) -> bool {
    ctx.target
        .iter()
        .chain(ctx.write_paths.iter())
        .filter_map(|c| normalize_target(c))
        .any(|c| prefix_matches(prefix, &c))
}

#[cfg(test)]
mod tests;
