use serde_json::json;

use super::*;

fn answer(verdict: &str) -> GuardAnswer {
    GuardAnswer::of(ServerVerdict::parse(verdict))
}

/// A newest-line answer: the server recorded the row itself.
fn newest(verdict: &str, id: &str) -> GuardAnswer {
    GuardAnswer {
        action_id: Some(id.into()),
        decision_id: Some("act_gd_1".into()),
        record_supported: true,
        ..answer(verdict)
    }
}

const DENIAL: &str = "denied by a local dashclawd policy: rm -rf";

fn local() -> Local<'static> {
    Local {
        observe: false,
        local_block: false,
        denial: DENIAL,
        tool_use_id: Some("tu_1"),
    }
}

fn body() -> Value {
    json!({
        "action_type": "api", "agent_id": "claude", "idempotency_key": "k1",
        "claim_execution": true, "attempt_id": "a1", "client_capabilities": ["claims"],
    })
}

fn fresh() -> Fresh {
    Fresh {
        action_id: "act_local".into(),
        now: "2026-01-01T00:00:00.000Z".into(),
    }
}

fn plan(a: &GuardAnswer, l: &Local, line: Line) -> Plan {
    after_answer(a, l, &body(), line, fresh())
}

#[test]
fn newest_allow_attaches_to_the_servers_row() {
    let p = plan(&newest("allow", "act_9"), &local(), Line::Unknown);
    assert_eq!(p.line, Some(Line::Newest));
    assert_eq!(p.decision, Decision::allow());
    assert_eq!(p.record, None, "the server recorded it");
    assert_eq!(p.map_to.as_deref(), Some("act_9"));
    assert_eq!(p.state, Some(("act_9".into(), "running")));
    assert_eq!(p.close, None);
    assert_eq!(p.next, Next::Answer);
    assert_eq!(
        p.ledger,
        json!({"verdict": "allow", "decision_id": "act_gd_1", "matched_policies": [],
               "risk_score": null, "degraded": false, "replay": false, "action_id": "act_9"})
    );
}

#[test]
fn v2_allow_queues_our_own_running_record() {
    let p = plan(&answer("allow"), &local(), Line::Unknown);
    // No `recorded` field: a v2.0 server; once known, the line is not re-set.
    assert_eq!(p.line, Some(Line::V2));
    assert_eq!(plan(&answer("allow"), &local(), Line::V2).line, None);
    let r = p.record.expect("our record");
    assert_eq!(r.action_id, "act_local");
    assert_eq!(r.dedupe.as_deref(), Some("record:k1"));
    assert_eq!(
        r.body,
        json!({"action_type": "api", "agent_id": "claude", "idempotency_key": "k1",
               "action_id": "act_local", "status": "running",
               "timestamp_start": "2026-01-01T00:00:00.000Z"}),
        "claim fields stripped, no error_message"
    );
    assert_eq!(p.state, Some(("act_local".into(), "running")));
    assert_eq!(p.map_to, None);
    assert_eq!(p.ledger["action_id"], "act_local");
    assert_eq!(p.next, Next::Answer);
}

#[test]
fn warn_takes_the_first_reason_or_warning() {
    let mut a = answer("warn");
    a.warnings = vec!["near the limit".into()];
    a.matched_policies = vec!["gp_1".into(), "gp_2".into()];
    a.recovery = Some("slow down".into());
    let d = plan(&a, &local(), Line::V2).decision;
    assert_eq!(d.verdict, Verdict::Warn);
    assert_eq!(d.reasons, ["near the limit"]);
    assert_eq!(d.policy.as_deref(), Some("server:gp_1"));
    assert_eq!(d.suggestion.as_deref(), Some("slow down"));
    a.reasons = vec!["reason first".into()];
    assert_eq!(
        plan(&a, &local(), Line::V2).decision.reasons,
        ["reason first"]
    );
    assert_eq!(
        plan(&answer("warn"), &local(), Line::V2).decision.reasons,
        ["Policy warning"]
    );
}

#[test]
fn v2_block_records_a_blocked_row_saying_why() {
    let mut a = answer("block");
    a.reasons = vec!["no deploys".into(), "friday".into()];
    a.decision_id = Some("gd_7".into());
    let p = plan(&a, &local(), Line::V2);
    assert_eq!(p.decision.verdict, Verdict::Block);
    assert_eq!(p.decision.reasons, ["no deploys"]);
    let r = p.record.unwrap();
    assert_eq!(r.body["status"], "blocked");
    // The reason the agent was given (the first), as v2.0 keeps no `blocked` status.
    assert_eq!(r.body["error_message"], "no deploys");
    assert_eq!(r.body["guard_decision_id"], "gd_7");
    assert_eq!(p.state, Some(("act_local".into(), "blocked")));
    assert_eq!(p.next, Next::Answer);
    assert_eq!(
        plan(&answer("block"), &local(), Line::V2).decision.reasons,
        ["blocked by policy"]
    );
}

#[test]
fn a_local_block_marks_the_servers_running_row_blocked_and_closes_it() {
    let l = Local {
        local_block: true,
        ..local()
    };
    let p = plan(&newest("allow", "act_9"), &l, Line::Newest);
    assert_eq!(p.line, Some(Line::Newest));
    assert_eq!(p.map_to.as_deref(), Some("act_9"));
    assert_eq!(p.state, Some(("act_9".into(), "blocked")));
    let c = p.close.unwrap();
    assert_eq!(c.dedupe, "blocked:act_9");
    assert_eq!(c.payload["close"]["error_message"], DENIAL);
    assert_eq!(c.payload["close"]["status"], "blocked");
    // Without a server row, our own record says blocked with the local reason.
    let p = plan(&answer("require_approval"), &l, Line::V2);
    assert_eq!(
        p.next,
        Next::Answer,
        "no approval can make a locally denied call run"
    );
    let r = p.record.unwrap();
    assert_eq!(r.body["status"], "blocked");
    assert_eq!(r.body["error_message"], DENIAL);
}

#[test]
fn require_approval_waits_on_the_servers_row_or_a_new_pending_one() {
    let p = plan(&newest("require_approval", "act_9"), &local(), Line::Newest);
    assert_eq!(
        p.next,
        Next::Approval {
            action_id: Some("act_9".into()),
            known_pending: true
        }
    );
    assert_eq!(p.map_to.as_deref(), Some("act_9"));
    assert_eq!(p.state, None, "the approval outcome sets it");
    assert_eq!(p.record, None);
    assert_eq!(
        p.ledger.get("action_id"),
        None,
        "set once the wait has an id"
    );
    assert_eq!(p.decision.verdict, Verdict::RequireApproval);
    // v2.0 gives no row: the executor creates a pending one first.
    let p = plan(&answer("require_approval"), &local(), Line::V2);
    assert_eq!(
        p.next,
        Next::Approval {
            action_id: None,
            known_pending: true
        }
    );
    assert_eq!(p.record, None);
    assert_eq!(p.state, None);
}

#[test]
fn verdicts_we_cannot_stage_become_approvals_not_known_pending() {
    for (v, reason) in [
        ("allow_contained", "the server offered containment"),
        (
            "quarantine",
            "Verdict 'quarantine' is not one this hook understands",
        ),
    ] {
        let p = plan(&newest(v, "act_9"), &local(), Line::Newest);
        assert_eq!(p.decision.verdict, Verdict::RequireApproval, "{v}");
        assert!(p.decision.reasons[0].starts_with(reason), "{v}");
        assert_eq!(
            p.next,
            Next::Approval {
                action_id: Some("act_9".into()),
                known_pending: false
            },
            "{v}"
        );
        assert_eq!(p.ledger["verdict"], v);
    }
}

#[test]
fn observe_mode_records_what_would_have_been_stopped() {
    let l = Local {
        observe: true,
        ..local()
    };
    let p = plan(&newest("block", "act_9"), &l, Line::Newest);
    assert_eq!(
        p.decision.verdict,
        Verdict::Block,
        "reported; the caller applies observe"
    );
    assert_eq!(p.state, Some(("act_9".into(), "running")), "it runs");
    assert_eq!(p.close, None);
    assert_eq!(
        p.despite,
        Some(("despite:tu_1".into(), "act_9|block".into()))
    );
    let p = plan(&answer("require_approval"), &l, Line::V2);
    assert_eq!(p.next, Next::Answer, "nobody is asked in observe mode");
    assert_eq!(p.record.as_ref().unwrap().body["status"], "running");
    assert_eq!(
        p.despite,
        Some(("despite:tu_1".into(), "act_local|require_approval".into()))
    );
    // Without a tool use id there is nothing to stamp later.
    let l = Local {
        tool_use_id: None,
        ..l
    };
    assert_eq!(plan(&answer("block"), &l, Line::V2).despite, None);
    assert_eq!(plan(&answer("allow"), &local(), Line::V2).despite, None);
}

#[test]
fn execution_claims() {
    let mut a = newest("allow", "act_9");
    a.claim = Ok(true);
    let p = plan(&a, &local(), Line::Newest);
    assert_eq!(
        p.next,
        Next::Claim {
            action_id: "act_9".into(),
            set_state: true
        }
    );
    assert_eq!(p.state, None, "the claim's answer sets it");
    assert_eq!(p.decision, Decision::allow());
    // Locally denied: the row is closed as blocked, the claim does not set a state.
    let l = Local {
        local_block: true,
        ..local()
    };
    let p = plan(&a, &l, Line::Newest);
    assert_eq!(
        p.next,
        Next::Claim {
            action_id: "act_9".into(),
            set_state: false
        }
    );
    assert_eq!(p.state, Some(("act_9".into(), "blocked")));
    // A claim without a row cannot be made; a refused claim blocks.
    let mut a = answer("warn");
    a.claim = Ok(true);
    let p = plan(&a, &local(), Line::V2);
    assert_eq!(p.decision.verdict, Verdict::Block);
    assert_eq!(p.decision.policy.as_deref(), Some(CLAIM_POLICY));
    assert!(p.decision.reasons[0].contains("no action_id"));
    a.claim = Err("claims are required".into());
    let p = plan(&a, &local(), Line::V2);
    assert_eq!(
        p.decision,
        Decision::block("claims are required", Some(CLAIM_POLICY.into()))
    );
    // Observe mode claims nothing.
    let mut a = newest("allow", "act_9");
    a.claim = Ok(true);
    let l = Local {
        observe: true,
        ..local()
    };
    assert_eq!(plan(&a, &l, Line::Newest).next, Next::Answer);
}

#[test]
fn verification_secrets_and_degraded_answers() {
    let mut a = newest("allow", "act_9");
    a.verification_status = Some("expired".into());
    a.secret_labels = vec!["aws".into(), "github".into()];
    a.degraded = true;
    a.risk_score = Some(42);
    a.idempotent_replay = true;
    let p = plan(&a, &local(), Line::Newest);
    assert_eq!(p.ledger["verification_status"], "expired");
    assert_eq!(p.ledger["risk_score"], 42);
    assert_eq!(p.ledger["replay"], true);
    assert_eq!(p.notes.len(), 2);
    assert!(p.notes[0].contains("Possible secret in this content (aws, github)"));
    assert!(p.notes[1].contains("degraded mode"));
    // A block already says enough; v2.0 answers carry no verification status.
    a.verdict = ServerVerdict::Block;
    assert_eq!(plan(&a, &local(), Line::Newest).notes.len(), 1);
    assert_eq!(
        plan(&answer("allow"), &local(), Line::V2)
            .ledger
            .get("verification_status"),
        None
    );
}

fn orphan(failure: &str, policy: Unavailable, observe: bool, cached: Option<Cached>) -> Orphan {
    unavailable(failure, policy, observe, cached, &body(), fresh())
}

#[test]
fn unavailable_block_keeps_a_blocked_orphan() {
    let o = orphan("guard at X is unreachable", Unavailable::Block, false, None);
    assert_eq!(o.decision.verdict, Verdict::Block);
    assert_eq!(
        o.decision.policy.as_deref(),
        Some("dashclaw:guard_unreachable")
    );
    assert!(o.notes.is_empty());
    assert_eq!(o.state, "blocked");
    assert_eq!(o.record.action_id, "act_local");
    assert_eq!(o.record.dedupe.as_deref(), Some("orphan:k1"));
    assert_eq!(
        o.record.body,
        json!({"action_type": "api", "agent_id": "claude", "idempotency_key": "k1",
               "action_id": "act_local", "status": "blocked",
               "trigger": "orphan:guard_unreachable",
               "timestamp_start": "2026-01-01T00:00:00.000Z",
               "error_message": "guard at X is unreachable"})
    );
    assert_eq!(
        o.ledger,
        json!({"unavailable": "guard at X is unreachable", "policy": "block", "orphan": "act_local"})
    );
    let o = orphan(
        "guard at X is unauthorized",
        Unavailable::Block,
        false,
        None,
    );
    assert_eq!(
        o.decision.policy.as_deref(),
        Some("dashclaw:guard_unauthorized")
    );
    assert_eq!(o.record.body["trigger"], "orphan:guard_unauthorized");
}

#[test]
fn unavailable_warn_allow_and_observe_run_the_call() {
    for (policy, verdict) in [
        (Unavailable::Warn, Verdict::Warn),
        (Unavailable::Allow, Verdict::Allow),
    ] {
        let o = orphan("down", policy, false, None);
        assert_eq!(o.decision.verdict, verdict);
        assert!(o.decision.reasons[0].ends_with(&format!(
            "proceeding anyway (DASHCLAW_GUARD_UNAVAILABLE_POLICY={})",
            policy.as_str()
        )));
        assert_eq!(o.notes.len(), 1);
        assert_eq!(o.state, "running");
        assert_eq!(o.record.body.get("error_message"), None);
        assert_eq!(o.ledger["policy"], policy.as_str());
    }
    let o = orphan("down", Unavailable::Block, true, None);
    assert_eq!(o.decision.verdict, Verdict::Allow);
    assert_eq!(o.decision.reasons, ["down"]);
    assert_eq!(o.ledger["policy"], "observe");
    assert_eq!(o.state, "running");
}

#[test]
fn unavailable_local_uses_cached_server_policies_only_when_there_are_some() {
    assert!(needs_cached(Unavailable::Local, false));
    assert!(!needs_cached(Unavailable::Local, true));
    assert!(!needs_cached(Unavailable::Block, false));
    let o = orphan(
        "down",
        Unavailable::Local,
        false,
        Some(Cached {
            decision: Decision::allow(),
            has_server_policies: false,
        }),
    );
    assert_eq!(o.decision.verdict, Verdict::Block);
    assert!(o.decision.reasons[0].contains("no server policies are cached"));
    assert_eq!(o.state, "blocked");
    let o = orphan(
        "down",
        Unavailable::Local,
        false,
        Some(Cached {
            decision: Decision {
                verdict: Verdict::RequireApproval,
                reasons: vec!["cached: deploys need approval".into()],
                policy: Some("gp_1".into()),
                suggestion: None,
            },
            has_server_policies: true,
        }),
    );
    assert_eq!(o.decision.verdict, Verdict::RequireApproval);
    assert_eq!(
        o.decision.reasons,
        [
            "cached: deploys need approval",
            "decided locally from cached server policies: down"
        ]
    );
    assert_eq!(o.ledger["policy"], "local");
    assert_eq!(o.state, "blocked", "nobody approves an orphan");
}
