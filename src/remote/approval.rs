//! Waiting for a human decision on a pending action (dashclaw-server-api.md §7.5, §13).
//!
//! The wait is on the action record's id, never the guard decision id. The event stream wakes
//! us as soon as the row changes; polling `GET /api/actions/:id` covers a stream that is down
//! or missed the event, and confirms what the stream said. v2.0 servers store no
//! `approved_by`: a row that left `pending_approval` for `running` counts as approved there
//! (configurable with `approved_on_running`).

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use tokio::time::Instant;

use super::Remote;
use crate::event::{Decision, Verdict};

/// How a wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    Approved { by: String },
    Denied { reason: String },
    Expired,
    TimedOut,
}

impl Approval {
    pub fn tag(&self) -> &'static str {
        match self {
            Approval::Approved { .. } => "approved",
            Approval::Denied { .. } => "denied",
            Approval::Expired => "expired",
            Approval::TimedOut => "timeout",
        }
    }

    /// The decision the agent gets.
    pub fn decision(&self, id: &str, asked: &Decision, waited: Duration) -> Decision {
        match self {
            Approval::Approved { by } => Decision {
                verdict: Verdict::Allow,
                reasons: vec![format!("approved by {by} ({id})")],
                policy: Some("builtin:operator_approval".into()),
                suggestion: None,
            },
            Approval::Denied { reason } => Decision {
                verdict: Verdict::Block,
                reasons: vec![format!("Action denied by operator: {reason}")],
                policy: asked.policy.clone(),
                suggestion: Some("do not retry this call; choose another approach or ask the user".into()),
            },
            Approval::Expired => Decision {
                verdict: Verdict::Block,
                reasons: vec![format!("Approval expired server-side ({id})")],
                policy: asked.policy.clone(),
                suggestion: Some("ask the user to approve it, then retry the identical call".into()),
            },
            Approval::TimedOut => Decision {
                verdict: Verdict::Block,
                reasons: vec![format!(
                    "Approval timeout after {}s ({id}): {}",
                    waited.as_secs(),
                    asked.reasons.first().map(String::as_str).unwrap_or("approval required")
                )],
                policy: asked.policy.clone(),
                suggestion: Some(
                    "an operator can still approve it; the identical call retried within 15 minutes of the approval is allowed".into(),
                ),
            },
        }
    }
}

/// What a row says, if anything final. `was_pending`: the row is known to have been pending,
/// so on a v2.0 server `running` can only mean an approval. A row that was never pending and
/// runs was not approved by anyone: that is no answer (an unknown verdict must not turn into
/// an allow without a human).
fn judge(row: &Value, approved_on_running: bool, was_pending: bool) -> Option<Approval> {
    let row = row.get("action").unwrap_or(row);
    let approved_on_running = approved_on_running && was_pending;
    let s = |k: &str| row.get(k).and_then(Value::as_str).filter(|v| !v.is_empty());
    if let Some(by) = s("approved_by") {
        return Some(Approval::Approved { by: by.to_owned() });
    }
    match s("status") {
        Some("failed") | Some("cancelled") | Some("blocked") => Some(Approval::Denied {
            reason: s("error_message")
                .unwrap_or("Operator denied the action.")
                .to_owned(),
        }),
        Some("expired") => Some(Approval::Expired),
        // v2.0: the only trace of an approval is the status change.
        Some("running") | Some("completed") if approved_on_running => Some(Approval::Approved {
            by: "an operator (the server records no approver)".into(),
        }),
        _ => None,
    }
}

/// Waits up to `timeout` for the row `id` to be decided.
pub async fn wait(remote: &Remote, id: &str, timeout: Duration, known_pending: bool) -> Approval {
    let mut was_pending = known_pending;
    let deadline = Instant::now() + timeout;
    // Subscribe before the first read so an event between the two is not lost.
    let mut events = remote.events.subscribe();
    let approved_on_running = remote.settings.approved_on_running;
    loop {
        if let Some(result) = poll(remote, id, approved_on_running, &mut was_pending).await {
            return result;
        }
        let interval = if remote
            .stats
            .stream_connected
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            Duration::from_secs(5)
        } else {
            Duration::from_secs(2)
        };
        let next_poll = (Instant::now() + interval).min(deadline);
        loop {
            if Instant::now() >= deadline {
                return Approval::TimedOut;
            }
            match tokio::time::timeout_at(next_poll, events.recv()).await {
                Err(_) => break, // poll again
                Ok(Ok(row)) => {
                    let row_id = row
                        .get("action_id")
                        .or(row.get("id"))
                        .and_then(Value::as_str);
                    if row_id != Some(id) {
                        continue;
                    }
                    // Outcome-shaped events carry an outcome status, not the lifecycle one:
                    // only trust what a fresh read says.
                    if row.get("status").and_then(Value::as_str) == Some("pending_approval") {
                        was_pending = true;
                    }
                    if let Some(result) = judge(&row, approved_on_running, was_pending)
                        .filter(|_| row.get("outcome_at").is_none())
                    {
                        return result;
                    }
                    break;
                }
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => break,
                Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => {
                    tokio::time::sleep_until(next_poll).await;
                    break;
                }
            }
        }
        if Instant::now() >= deadline {
            // One last look: an approval that landed at the wire counts.
            return poll(remote, id, approved_on_running, &mut was_pending)
                .await
                .unwrap_or(Approval::TimedOut);
        }
    }
}

async fn poll(
    remote: &Remote,
    id: &str,
    approved_on_running: bool,
    was_pending: &mut bool,
) -> Option<Approval> {
    match remote
        .api
        .call(
            Method::GET,
            &format!("/api/actions/{id}"),
            None,
            Duration::from_secs(3),
        )
        .await
    {
        Ok(resp) if resp.status == 200 => {
            let row = resp.body.get("action").unwrap_or(&resp.body);
            if row.get("status").and_then(Value::as_str) == Some("pending_approval") {
                *was_pending = true;
            }
            judge(&resp.body, approved_on_running, *was_pending)
        }
        Ok(resp) => {
            tracing::warn!("approval poll of {id}: HTTP {}", resp.status);
            None
        }
        Err(e) => {
            // Errors are not a decision: keep waiting until the deadline.
            tracing::warn!("approval poll of {id}: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_are_judged_on_both_lines() {
        let newest = json!({"action": {"status": "running", "approved_by": "alice"}});
        assert_eq!(
            judge(&newest, false, false),
            Some(Approval::Approved { by: "alice".into() })
        );
        let v2 = json!({"action": {"status": "running"}});
        assert!(matches!(
            judge(&v2, true, true),
            Some(Approval::Approved { .. })
        ));
        assert_eq!(judge(&v2, false, true), None);
        assert_eq!(
            judge(&v2, true, false),
            None,
            "never pending: nobody approved it"
        );
        let denied = json!({"action": {"status": "failed", "error_message": "not on a Friday"}});
        assert_eq!(
            judge(&denied, true, true),
            Some(Approval::Denied {
                reason: "not on a Friday".into()
            })
        );
        assert_eq!(
            judge(&json!({"status": "expired"}), true, true),
            Some(Approval::Expired)
        );
        assert_eq!(
            judge(&json!({"status": "pending_approval"}), true, true),
            None
        );
    }
}
