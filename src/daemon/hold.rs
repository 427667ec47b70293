//! The local approvals gate: what happens to a require-approval verdict that the agent cannot
//! put to the user itself (no server configured).
//!
//! In order: a fresh operator approval of this exact call is consumed and the call runs once;
//! a recent denial of it is repeated with the operator's reason; otherwise the call is held in
//! the queue and the agent is told the exact command a human runs. The fingerprint covers the
//! unredacted input, so what a person approves is exactly what runs.

use crate::approvals::{self, Approvals, NewRequest};
use crate::engine::Outcome;
use crate::event::{Decision, Verdict};
use crate::redact::redact_json;

pub fn resolve(store: &Approvals, outcome: &mut Outcome) {
    let Some((fingerprint, request)) = describe(outcome) else {
        return;
    };
    let now = approvals::unix_now();
    match store.take_grant(&fingerprint, now) {
        Ok(Some(grant)) => {
            let mut reason = format!("approved by {} as {}", grant.approved_by, grant.id);
            if let Some(why) = &grant.reason {
                reason.push_str(&format!(": {why}"));
            }
            outcome.set_decision(
                Decision {
                    verdict: Verdict::Allow,
                    reasons: vec![reason],
                    policy: Some("builtin:operator_approval".into()),
                    suggestion: None,
                },
                None,
            );
            return;
        }
        Ok(None) => {}
        Err(e) => {
            // Without the store nothing can be approved: the plain require-approval deny stands.
            tracing::error!("approvals store: {e:#}");
            return;
        }
    }
    match store.denied_reason(&fingerprint, now) {
        Ok(Some(denial)) => {
            outcome.set_decision(
                Decision {
                    verdict: Verdict::Block,
                    reasons: vec![format!(
                        "denied by {} ({}): {}",
                        denial.denied_by,
                        denial.id,
                        denial.reason.as_deref().unwrap_or("no reason given")
                    )],
                    policy: Some("builtin:operator_denial".into()),
                    suggestion: Some(
                        "do not retry this call; choose another approach or ask the user".into(),
                    ),
                },
                None,
            );
            return;
        }
        Ok(None) => {}
        Err(e) => tracing::error!("approvals store: {e:#}"),
    }
    match store.request(&request, now) {
        Ok(pending) => {
            if pending.created {
                tracing::info!(id = %pending.id, "call held for approval");
            }
            let decision = outcome.decision.clone();
            outcome.set_decision(decision, Some(pending.id));
        }
        Err(e) => tracing::error!("cannot hold the call for approval: {e:#}"),
    }
}

/// The fingerprint of the call and the request to queue, from the normalized event.
fn describe(outcome: &Outcome) -> Option<(String, NewRequest)> {
    let ev = outcome.event.as_ref()?;
    let tool = ev.tool.as_ref()?;
    let fingerprint = approvals::fingerprint(ev.agent.as_str(), &ev.cwd, &tool.name, &tool.input);
    let mut shown = tool.input.clone();
    redact_json(&mut shown);
    let request = NewRequest {
        fingerprint: fingerprint.clone(),
        agent: ev.agent.as_str().to_string(),
        session_id: ev.session_id.clone(),
        cwd: Some(ev.cwd.clone()),
        tool: tool.name.clone(),
        summary: outcome.record.summary.clone(),
        detail: serde_json::to_string_pretty(&shown).ok(),
        reasons: outcome.record.reasons.clone(),
        policy: outcome.decision.policy.clone(),
    };
    Some((fingerprint, request))
}
