//! Approvals through a DashClaw server: the hook is told a wait is in progress (so its own
//! deadline moves), the daemon waits on the action record's id (never the decision id) via
//! the event stream with polling behind it, and the operator's answer is the agent's.

use dashclaw_testkit::fake_dashclaw;
use dashclaw_testkit::harness as common;

use std::time::{Duration, Instant};

use common::*;
use fake_dashclaw::{FakeDashClaw, Flavor, GuardAnswer};
use serde_json::json;

fn governed(fake: &FakeDashClaw) -> Home {
    Home::for_server(&fake.url(), &fake.api_key())
        .env("DASHCLAW_APPROVAL_TIMEOUT", "20")
        // Shorter than the approval wait: only the daemon's Hold frame keeps the hook alive.
        .env("DASHCLAW_HOOK_DEADLINE_MS", "3000")
}

fn pre(command: &str, tool_use_id: &str) -> Vec<u8> {
    json!({
        "session_id": "sess-1", "cwd": "/tmp", "hook_event_name": "PreToolUse",
        "tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": tool_use_id,
    })
    .to_string()
    .into_bytes()
}

/// Runs the hook in a thread; meanwhile `operator` acts on the pending row.
fn with_operator(
    fake: &FakeDashClaw,
    home: &Home,
    command: &str,
    tu: &str,
    operator: impl FnOnce(&str),
) -> (std::process::Output, Duration) {
    let start = Instant::now();
    let out = std::thread::scope(|s| {
        let hook = s.spawn(|| home.hook("claude", "pre-tool-use", &pre(command, tu)));
        let id = fake
            .wait_pending(Duration::from_secs(10))
            .expect("no pending row");
        assert!(id.starts_with("act_") && !id.starts_with("act_gd_"), "{id}");
        // Past the hook's own 3 s deadline: the Hold must have moved it.
        std::thread::sleep(Duration::from_millis(3500));
        operator(&id);
        hook.join().unwrap()
    });
    (out, start.elapsed())
}

fn approval_required(fake: &FakeDashClaw) {
    fake.set_guard(|b| {
        if b["declared_goal"]
            .as_str()
            .unwrap_or("")
            .contains("terraform")
        {
            GuardAnswer::require_approval("Infra changes need a human").policy("gp_infra")
        } else {
            GuardAnswer::allow()
        }
    });
}

#[test]
fn approved_on_the_server_the_call_runs() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    approval_required(&fake);
    let home = governed(&fake);
    let (out, took) = with_operator(&fake, &home, "terraform apply", "a1", |id| {
        fake.approve(id, "alice@example.com").unwrap();
    });
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("Waiting for approval... (20s timeout, then blocking)"),
        "{err}"
    );
    assert!(
        took < Duration::from_secs(10),
        "the stream woke the wait: {took:?}"
    );
    let rec = home
        .ledger()
        .into_iter()
        .rev()
        .find(|r| r["event"] == "pre-tool-use")
        .unwrap();
    assert_eq!(rec["verdict"], "allow");
    assert_eq!(rec["outcome"]["server"]["approval"], "approved");
    assert!(rec["reasons"][0]
        .as_str()
        .unwrap()
        .contains("alice@example.com"));
}

#[test]
fn denied_on_the_server_the_agent_reads_the_operators_reason() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    approval_required(&fake);
    let home = governed(&fake);
    let (out, _) = with_operator(&fake, &home, "terraform destroy", "d1", |id| {
        fake.deny(id, "not during the freeze").unwrap();
    });
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("Action denied by operator: not during the freeze"),
        "{err}"
    );
}

#[test]
fn expired_on_the_server_is_a_deny() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    approval_required(&fake);
    let home = governed(&fake);
    let (out, _) = with_operator(&fake, &home, "terraform apply -auto-approve", "e1", |id| {
        fake.expire(id).unwrap();
    });
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("Approval expired server-side"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn polling_alone_finds_the_approval_when_the_stream_is_down() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    fake.set_stream_unavailable(true);
    approval_required(&fake);
    let home = governed(&fake);
    let (out, _) = with_operator(&fake, &home, "terraform apply", "p1", |id| {
        fake.approve(id, "bob").unwrap();
    });
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(fake
        .requests_to("/api/actions/act_")
        .iter()
        .all(|r| !r.path.contains("act_gd_")));
}

#[test]
fn v2_servers_have_no_approved_by_and_running_means_approved() {
    let fake = FakeDashClaw::start(Flavor::V2);
    approval_required(&fake);
    let home = governed(&fake);
    let (out, _) = with_operator(&fake, &home, "terraform apply", "v1", |id| {
        fake.approve(id, "").unwrap();
    });
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn nobody_answers_the_call_is_denied_at_the_approval_timeout() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    approval_required(&fake);
    let home = governed(&fake).env("DASHCLAW_APPROVAL_TIMEOUT", "5");
    let start = Instant::now();
    let out = home.hook("claude", "pre-tool-use", &pre("terraform apply", "t1"));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("Approval timeout after 5s"), "{err}");
    assert!(err.contains("retried within 15 minutes"), "{err}");
    assert!(start.elapsed() >= Duration::from_secs(5));
}

#[test]
fn a_hook_that_gives_up_stops_the_wait_and_the_ledger_says_why() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    approval_required(&fake);
    // The hook's hold cap is shorter than the approval wait: it gives up first.
    let home = governed(&fake).env("DASHCLAW_HOOK_MAX_HOLD_MS", "1000");
    let out = home.hook("claude", "pre-tool-use", &pre("terraform apply", "g1"));
    assert_eq!(out.status.code(), Some(2));
    let start = Instant::now();
    loop {
        let gave_up = home
            .ledger()
            .into_iter()
            .any(|r| r["event"] == "pre-tool-use" && r["policy"] == "dashclaw:client_gone");
        if gave_up {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the daemon kept waiting"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn on_v2_a_wait_the_hook_gave_up_is_cancelled_on_the_server() {
    let fake = FakeDashClaw::start(Flavor::V2);
    approval_required(&fake);
    let home = governed(&fake).env("DASHCLAW_HOOK_MAX_HOLD_MS", "1000");
    let out = home.hook("claude", "pre-tool-use", &pre("terraform apply", "g2"));
    assert_eq!(out.status.code(), Some(2));
    // v2.0 would keep the row pending for ever; the daemon cancels it.
    let start = Instant::now();
    loop {
        let rows = fake.actions();
        if rows.len() == 1 && rows[0]["status"] == "cancelled" {
            assert!(rows[0]["error_message"]
                .as_str()
                .unwrap()
                .contains("stopped waiting"));
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "still {:?}",
            rows.first().map(|r| r["status"].clone())
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
