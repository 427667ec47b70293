//! The server half of a gating decision as data: from the guard's answer (or its absence), the
//! local side and the request body to a [`Plan`] of what to answer, what to record and queue,
//! and whether to wait for a human or claim execution first. No I/O here: `Remote` runs the
//! plan (`after_answer`, `unavailable` in `mod.rs`), so every server line and verdict is unit
//! tested below without a server.

use serde_json::{json, Value};

use super::config::Unavailable;
use super::guard::{GuardAnswer, ServerVerdict};
use super::Line;
use crate::event::{Decision, Verdict};
use crate::util::text::clip_chars;

/// Policy name of a refused execution claim.
pub const CLAIM_POLICY: &str = "dashclaw:execution_claim";

/// What the local side brings.
#[derive(Debug, Clone, Copy)]
pub struct Local<'a> {
    /// Observe mode: verdicts are reported, not applied.
    pub observe: bool,
    /// The local decision already blocks the call.
    pub local_block: bool,
    /// The local denial as the server may see it (redacted), for rows of locally denied calls.
    pub denial: &'a str,
    /// The agent's id of this call, which later outcomes are matched by.
    pub tool_use_id: Option<&'a str>,
}

/// Values a plan would otherwise make up, passed in so that a plan is a function of its inputs.
#[derive(Debug, Clone)]
pub struct Fresh {
    /// The id of a row this daemon creates (`act_<uuid>`).
    pub action_id: String,
    /// `timestamp_start` of such a row.
    pub now: String,
}

impl Fresh {
    pub fn generate() -> Fresh {
        Fresh {
            action_id: crate::util::id::action_id(),
            now: crate::util::time::iso_now(),
        }
    }
}

/// An action record this daemon queues for the server (the server made none).
#[derive(Debug, Clone, PartialEq)]
pub struct OwnRecord {
    pub action_id: String,
    pub dedupe: Option<String>,
    /// The guard body turned into a record (claims stripped; not yet adapted to the line).
    pub body: Value,
}

/// A close of the server's row for a call that did not run.
#[derive(Debug, Clone, PartialEq)]
pub struct Close {
    pub action_id: String,
    pub dedupe: String,
    pub payload: Value,
}

/// What happens after the bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    /// Answer with the plan's decision.
    Answer,
    /// Hold the hook and wait for a human on the server's row (`None`: create it as pending
    /// first). `known_pending`: the row is pending by construction.
    Approval {
        action_id: Option<String>,
        known_pending: bool,
    },
    /// Claim execution of the server's row before the call may run; `set_state`: whether the
    /// claim's result becomes the action's known state.
    Claim { action_id: String, set_state: bool },
}

/// The server's part in one gating decision, to be executed in field order.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The server line the answer shows, when it changes what we know.
    pub line: Option<Line>,
    /// Extra stderr lines for the agent.
    pub notes: Vec<String>,
    /// For the ledger: what the server said.
    pub ledger: Value,
    /// The verdict as the answer stands (an approval or a claim may change it).
    pub decision: Decision,
    /// Our own record, when the server made none.
    pub record: Option<OwnRecord>,
    /// The server's row the call's outcomes attach to.
    pub map_to: Option<String>,
    /// The action's known state (`running`, `blocked`), for Stop.
    pub state: Option<(String, &'static str)>,
    pub close: Option<Close>,
    /// Observe mode ran a call the server would have stopped: `(key, value)` for the outbox's
    /// map, so PostToolUse stamps `executed_despite` on the row.
    pub despite: Option<(String, String)>,
    pub next: Next,
}

/// The plan for a guard answer.
pub fn after_answer(
    answer: &GuardAnswer,
    local: &Local,
    body: &Value,
    line: Line,
    fresh: Fresh,
) -> Plan {
    let line = if !answer.record_supported && line == Line::Unknown {
        Some(Line::V2)
    } else if answer.record_supported {
        Some(Line::Newest)
    } else {
        None
    };
    let mut notes = Vec::new();
    if !answer.secret_labels.is_empty() && answer.verdict != ServerVerdict::Block {
        notes.push(format!(
            "[DashClaw] ⚠ Possible secret in this content ({}); the server flagged it",
            answer.secret_labels.join(", ")
        ));
    }
    if answer.degraded {
        notes.push(
            "[DashClaw] ⚠ the server answered in degraded mode (its own evaluation fallback)"
                .into(),
        );
    }
    let mut ledger = json!({
        "verdict": answer.verdict.as_str(),
        "decision_id": answer.decision_id,
        "matched_policies": answer.matched_policies,
        "risk_score": answer.risk_score,
        "degraded": answer.degraded,
        "replay": answer.idempotent_replay,
    });
    if let Some(v) = &answer.verification_status {
        ledger["verification_status"] = json!(v);
    }
    let mut decision = server_decision(answer);
    let gated =
        decision.verdict == Verdict::RequireApproval && !local.observe && !local.local_block;
    let blocked = decision.verdict == Verdict::Block || local.local_block;
    let mut plan = Plan {
        line,
        notes,
        ledger: Value::Null,
        decision: Decision::allow(),
        record: None,
        map_to: None,
        state: None,
        close: None,
        despite: None,
        next: Next::Answer,
    };
    // The action record: the server's when it made one, else ours (via the outbox).
    let action_id = match &answer.action_id {
        None if gated => None,
        None => {
            let id = fresh.action_id;
            let mut record = body.clone();
            strip_claims(&mut record);
            if let Value::Object(m) = &mut record {
                m.insert("action_id".into(), json!(id));
                m.insert(
                    "status".into(),
                    json!(if blocked { "blocked" } else { "running" }),
                );
                if blocked {
                    // v2.0 takes no `blocked` record: it becomes `failed`, and says why here.
                    let why = if decision.verdict == Verdict::Block {
                        decision.reasons.join("; ")
                    } else {
                        local.denial.to_owned()
                    };
                    m.insert("error_message".into(), json!(clip_chars(&why, 4000)));
                }
                if let Some(d) = &answer.decision_id {
                    m.insert("guard_decision_id".into(), json!(d));
                }
                m.insert("timestamp_start".into(), json!(fresh.now));
            }
            plan.record = Some(OwnRecord {
                action_id: id.clone(),
                dedupe: idempotency_key(body).map(|k| format!("record:{k}")),
                body: record,
            });
            plan.state = Some((id.clone(), if blocked { "blocked" } else { "running" }));
            Some(id)
        }
        Some(id) => {
            plan.map_to = Some(id.clone());
            if !gated {
                if blocked && !local.observe {
                    // The server recorded a running row for a call a local policy denied.
                    plan.state = Some((id.clone(), "blocked"));
                    plan.close = Some(Close {
                        action_id: id.clone(),
                        dedupe: format!("blocked:{id}"),
                        payload: json!({"action_id": id, "close": {
                            "status": "blocked",
                            "output_summary": "Denied before it ran",
                            "error_message": local.denial,
                        }}),
                    });
                } else if !matches!(answer.claim, Ok(true)) || local.observe {
                    // With a claim to make, the state is set once the claim answered.
                    plan.state = Some((id.clone(), "running"));
                }
            }
            Some(id.clone())
        }
    };
    if local.observe && answer.verdict.verdict() >= Verdict::RequireApproval {
        if let (Some(id), Some(tu)) = (&action_id, local.tool_use_id) {
            let verdict = if answer.verdict == ServerVerdict::Block {
                "block"
            } else {
                "require_approval"
            };
            plan.despite = Some((format!("despite:{tu}"), format!("{id}|{verdict}")));
        }
    }
    if gated {
        plan.next = Next::Approval {
            action_id: answer.action_id.clone(),
            // A row the server made for a plain require_approval is pending by construction.
            known_pending: answer.verdict == ServerVerdict::RequireApproval,
        };
    } else {
        if decision.verdict <= Verdict::Warn && !local.observe {
            match (&answer.claim, &answer.action_id) {
                (Err(e), _) => decision = Decision::block(e.clone(), Some(CLAIM_POLICY.into())),
                (Ok(true), Some(id)) => {
                    plan.next = Next::Claim {
                        action_id: id.clone(),
                        set_state: !local.local_block,
                    }
                }
                (Ok(true), None) => {
                    decision = Decision::block(
                        "the governed action response contained no action_id, so execution cannot be claimed",
                        Some(CLAIM_POLICY.into()),
                    )
                }
                (Ok(false), _) => {}
            }
        }
        if let Some(id) = &action_id {
            ledger["action_id"] = json!(id);
        }
    }
    plan.ledger = ledger;
    plan.decision = decision;
    plan
}

/// The server's verdict as ours, with the reason the agent sees.
fn server_decision(answer: &GuardAnswer) -> Decision {
    let reason_text = answer.reasons.first().or(answer.warnings.first()).cloned();
    Decision {
        verdict: answer.verdict.verdict(),
        reasons: match &answer.verdict {
            ServerVerdict::Allow => Vec::new(),
            ServerVerdict::Warn => vec![reason_text.unwrap_or_else(|| "Policy warning".into())],
            ServerVerdict::Unknown(v) => vec![format!(
                "Verdict '{v}' is not one this hook understands — treating it as require_approval"
            )],
            ServerVerdict::AllowContained => vec![
                "the server offered containment, which this runtime does not stage — treating it as require_approval".into(),
            ],
            _ => vec![reason_text.unwrap_or_else(|| "blocked by policy".into())],
        },
        policy: answer
            .matched_policies
            .first()
            .map(|p| format!("server:{p}")),
        suggestion: answer.recovery.clone(),
    }
}

/// The plan when the guard gave no verdict: the unavailable policy's decision, and the call
/// kept as an orphan record until the server takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Orphan {
    pub decision: Decision,
    pub notes: Vec<String>,
    pub ledger: Value,
    pub record: OwnRecord,
    /// The orphan's known state (`running`, `blocked`).
    pub state: &'static str,
}

/// The cached server policies' verdict, for the `local` fallback.
#[derive(Debug, Clone)]
pub struct Cached {
    pub decision: Decision,
    /// Whether any server policies are cached at all.
    pub has_server_policies: bool,
}

/// The plan for a guard that gave no verdict. `cached` is consulted for
/// [`Unavailable::Local`] outside observe mode only (see [`needs_cached`]).
pub fn unavailable(
    failure: &str,
    policy: Unavailable,
    observe: bool,
    cached: Option<Cached>,
    body: &Value,
    fresh: Fresh,
) -> Orphan {
    let reason_tag = if failure.contains("unauthorized") || failure.contains("refused the API key")
    {
        "guard_unauthorized"
    } else {
        "guard_unreachable"
    };
    let (decision, notes, degraded) = if observe {
        (
            Decision {
                reasons: vec![failure.to_owned()],
                ..Decision::allow()
            },
            vec![format!(
                "[DashClaw] [observe] {failure}; not governed by the server"
            )],
            "observe",
        )
    } else {
        match policy {
            Unavailable::Block => (
                Decision {
                    verdict: Verdict::Block,
                    reasons: vec![failure.to_owned()],
                    policy: Some(format!("dashclaw:{reason_tag}")),
                    suggestion: Some(
                        "wait and retry, or ask the user to check `dashclawd status` (DASHCLAW_GUARD_UNAVAILABLE_POLICY=block is in force)".into(),
                    ),
                },
                Vec::new(),
                "block",
            ),
            Unavailable::Warn | Unavailable::Allow => (
                Decision {
                    verdict: if policy == Unavailable::Warn { Verdict::Warn } else { Verdict::Allow },
                    reasons: vec![format!("{failure}; proceeding anyway (DASHCLAW_GUARD_UNAVAILABLE_POLICY={})", policy.as_str())],
                    policy: Some(format!("dashclaw:{reason_tag}")),
                    suggestion: None,
                },
                vec![format!("[DashClaw] ⚠ {failure}; proceeding anyway (DASHCLAW_GUARD_UNAVAILABLE_POLICY={})", policy.as_str())],
                policy.as_str(),
            ),
            Unavailable::Local => {
                // Tighten-only: the cached server policies on top of the local ones.
                let Cached { decision: mut d, has_server_policies } = cached.unwrap_or(Cached {
                    decision: Decision::allow(),
                    has_server_policies: false,
                });
                if !has_server_policies && d.verdict < Verdict::Block {
                    d = Decision {
                        verdict: Verdict::Block,
                        reasons: vec![format!("{failure}, and no server policies are cached for the local fallback")],
                        policy: Some(format!("dashclaw:{reason_tag}")),
                        suggestion: Some("retry when the server is back".into()),
                    };
                } else {
                    d.reasons.push(format!("decided locally from cached server policies: {failure}"));
                }
                (d, vec![format!("[DashClaw] ⚠ {failure}; decided from cached server policies (degraded)")], "local")
            }
        }
    };
    // Kept until the server takes it: what was asked and what we did.
    let status = match decision.verdict {
        Verdict::Block | Verdict::RequireApproval if !observe => "blocked",
        _ => "running",
    };
    let action_id = fresh.action_id;
    let mut record = body.clone();
    strip_claims(&mut record);
    if let Value::Object(m) = &mut record {
        m.insert("action_id".into(), json!(action_id));
        m.insert("status".into(), json!(status));
        m.insert("trigger".into(), json!(format!("orphan:{reason_tag}")));
        m.insert("timestamp_start".into(), json!(fresh.now));
        if status == "blocked" {
            m.insert("error_message".into(), json!(clip_chars(failure, 4000)));
        }
    }
    Orphan {
        ledger: json!({"unavailable": failure, "policy": degraded, "orphan": action_id}),
        record: OwnRecord {
            dedupe: idempotency_key(body).map(|k| format!("orphan:{k}")),
            action_id,
            body: record,
        },
        decision,
        notes,
        state: status,
    }
}

/// Whether [`unavailable`] will read the cached server policies.
pub fn needs_cached(policy: Unavailable, observe: bool) -> bool {
    policy == Unavailable::Local && !observe
}

fn idempotency_key(body: &Value) -> Option<&str> {
    body.get("idempotency_key").and_then(Value::as_str)
}

/// The claim fields belong to the guard exchange only.
pub fn strip_claims(v: &mut Value) {
    if let Value::Object(m) = v {
        for k in ["claim_execution", "attempt_id", "client_capabilities"] {
            m.remove(k);
        }
    }
}

#[cfg(test)]
mod tests;
