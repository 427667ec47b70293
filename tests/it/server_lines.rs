//! Both server lines as they really behave (dashclaw-server-api.md §13), with the real binaries:
//! a denied call reaches the server as a record it accepts (v2.0 has no `blocked` status), Stop
//! never rewrites a finished or pending row, a signature-enforcing server gets signed action
//! records once the agent is paired, `verification_status` is recorded, failing deliveries show
//! in `status`, abandoned v2.0 approvals are cancelled, and a dead event stream is noticed.

use dashclaw_testkit::fake_dashclaw;
use dashclaw_testkit::harness as common;

use std::time::Duration;

use common::*;
use fake_dashclaw::{FakeDashClaw, Flavor, GuardAnswer, TRUSTED_ISSUER};
use serde_json::{json, Value};

fn governed(fake: &FakeDashClaw) -> Home {
    Home::for_server(&fake.url(), &fake.api_key())
}

fn pre(command: &str, tu: &str) -> Vec<u8> {
    json!({"session_id": "sess-l", "cwd": "/tmp", "hook_event_name": "PreToolUse",
           "tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": tu})
    .to_string()
    .into_bytes()
}

fn post(command: &str, tu: &str, response: Value) -> Vec<u8> {
    json!({"session_id": "sess-l", "cwd": "/tmp", "hook_event_name": "PostToolUse",
           "tool_name": "Bash", "tool_input": {"command": command}, "tool_response": response,
           "tool_use_id": tu})
    .to_string()
    .into_bytes()
}

fn status(home: &Home) -> Value {
    let out = home.dashclawd(&["status", "--json"]);
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn row_where(fake: &FakeDashClaw, goal_part: &str) -> Option<Value> {
    fake.actions().into_iter().find(|a| {
        a["declared_goal"]
            .as_str()
            .unwrap_or("")
            .contains(goal_part)
    })
}

// --- item 8: a denied call is a record each line accepts ------------------------------------

fn denied_calls_reach_the_server(flavor: Flavor) {
    let fake = FakeDashClaw::start(flavor);
    let home = governed(&fake);
    // Denied while the server is away: kept as an orphan, delivered when it is back.
    fake.stop();
    let out = home.hook("claude", "pre-tool-use", &pre("make deploy-orphan", "d1"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    fake.restart();
    // Denied by a local policy while the server allows.
    let out = home.hook("claude", "pre-tool-use", &pre("rm -rf /", "d2"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let want = if flavor == Flavor::V2 {
        "failed"
    } else {
        "blocked"
    };
    eventually(20, "both denied calls on the server", || {
        row_where(&fake, "deploy-orphan").is_some_and(|r| r["status"] == want)
            && row_where(&fake, "rm -rf").is_some_and(|r| r["status"] == want)
    });
    let orphan = row_where(&fake, "deploy-orphan").unwrap();
    assert!(
        orphan["error_message"]
            .as_str()
            .unwrap_or("")
            .contains("unreachable"),
        "the reason travels with it: {orphan}"
    );
    assert_eq!(orphan["trigger"], "orphan:guard_unreachable");
    let local = row_where(&fake, "rm -rf").unwrap();
    let why = local["error_message"].as_str().unwrap_or("");
    assert!(
        why.starts_with("denied by a local dashclawd policy: "),
        "{local}"
    );
    assert!(
        why.len() > "denied by a local dashclawd policy: ".len(),
        "{local}"
    );
    // Nothing parked (a refused status would have been) and nothing left over. (A record kept
    // while the line was unknown may meet v2.0's 400 once; it is mapped and sent again.)
    eventually(10, "an empty outbox", || {
        status(&home)["server"]["outbox"]["pending"] == 0
    });
    assert_eq!(status(&home)["server"]["outbox"]["parked"], 0);
}

#[test]
fn denied_calls_reach_a_newest_server_as_blocked_records() {
    denied_calls_reach_the_server(Flavor::Newest);
}

#[test]
fn denied_calls_reach_a_v2_server_as_failed_records_with_the_reason() {
    denied_calls_reach_the_server(Flavor::V2);
}

// --- items 7 and 10: Stop, abandoned approvals, the approval link, `dashclawd approvals` ------

fn stop_changes_only_what_still_runs(flavor: Flavor) {
    let fake = FakeDashClaw::start(flavor);
    fake.set_guard(|b| {
        if b["declared_goal"]
            .as_str()
            .unwrap_or("")
            .contains("terraform")
        {
            GuardAnswer::require_approval("Infra changes need a human")
        } else {
            GuardAnswer::allow()
        }
    });
    let home = governed(&fake)
        .env("DASHCLAW_APPROVAL_TIMEOUT", "5")
        .env("DASHCLAW_HOOK_DEADLINE_MS", "3000");
    // 1. Ran, and its outcome was recorded.
    assert_eq!(
        home.hook("claude", "pre-tool-use", &pre("make build", "f1"))
            .status
            .code(),
        Some(0)
    );
    let out = home.hook(
        "claude",
        "post-tool-use",
        &post("make build", "f1", json!({"stdout": "built 3 targets"})),
    );
    assert_eq!(out.status.code(), Some(0));
    // 2. Denied by the operator.
    let out = std::thread::scope(|s| {
        let hook = s.spawn(|| {
            home.hook(
                "claude",
                "pre-tool-use",
                &pre("terraform apply -target=a", "f2"),
            )
        });
        let id = fake.wait_pending(Duration::from_secs(10)).expect("pending");
        fake.deny(&id, "not during the freeze").unwrap();
        hook.join().unwrap()
    });
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // 3. Nobody answered: the agent is denied; meanwhile `dashclawd approvals` lists it.
    let (out, listed) = std::thread::scope(|s| {
        let hook = s.spawn(|| {
            home.hook(
                "claude",
                "pre-tool-use",
                &pre("terraform apply -target=b", "f3"),
            )
        });
        let mut listed = String::new();
        eventually(10, "the second pending row", || {
            fake.actions()
                .iter()
                .filter(|a| a["status"] == "pending_approval")
                .count()
                == 1
                && row_where(&fake, "target=b").is_some()
        });
        eventually(5, "the listing", || {
            listed = stdout(&home.dashclawd(&["approvals"]));
            listed.contains("act_")
        });
        (hook.join().unwrap(), listed)
    });
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let pending = row_where(&fake, "target=b").unwrap();
    let pending_id = pending["action_id"].as_str().unwrap().to_owned();
    assert!(listed.contains(&pending_id), "{listed}");
    // The link the agent was given is the dashboard page that exists on this line.
    let link = if flavor == Flavor::V2 {
        format!("{}/actions/{pending_id}", fake.url())
    } else {
        format!("{}/replay/{pending_id}", fake.url())
    };
    assert!(stderr(&out).contains(&link), "{}", stderr(&out));
    assert!(listed.contains(&link), "{listed}");
    // 4. Ran, no outcome seen: the only row Stop may close.
    assert_eq!(
        home.hook("claude", "pre-tool-use", &pre("make lint", "f4"))
            .status
            .code(),
        Some(0)
    );

    let stop = json!({"session_id": "sess-l", "cwd": "/tmp", "hook_event_name": "Stop"});
    assert_eq!(
        home.hook("claude", "stop", stop.to_string().as_bytes())
            .status
            .code(),
        Some(0)
    );
    eventually(15, "the running row closed", || {
        row_where(&fake, "make lint").is_some_and(|r| r["status"] == "completed")
    });
    let lint = row_where(&fake, "make lint").unwrap();
    assert_eq!(lint["output_summary"], "Auto-closed by Stop hook");
    if flavor == Flavor::V2 {
        // Never answered: cancelled by the daemon, since v2.0 never expires it.
        eventually(15, "the abandoned approval cancelled", || {
            fake.action(&pending_id)
                .is_some_and(|r| r["status"] == "cancelled")
        });
    }
    // Let every queued write land before judging.
    eventually(10, "an empty outbox", || {
        status(&home)["server"]["outbox"]["pending"] == 0
    });
    let build = row_where(&fake, "make build").unwrap();
    let denied = row_where(&fake, "target=a").unwrap();
    let pending = fake.action(&pending_id).unwrap();
    if flavor == Flavor::V2 {
        assert_eq!(build["status"], "completed");
        assert_eq!(
            build["output_summary"], "built 3 targets",
            "outcome text kept"
        );
        assert_eq!(pending["status"], "cancelled");
        assert!(
            pending["error_message"]
                .as_str()
                .unwrap()
                .contains("Approval timeout"),
            "{pending}"
        );
    } else {
        assert_eq!(build["outcome_status"], "completed");
        assert_ne!(build["output_summary"], "Auto-closed by Stop hook");
        assert_eq!(
            pending["status"], "pending_approval",
            "left to the server's own expiry"
        );
    }
    assert_eq!(denied["status"], "failed");
    assert_eq!(denied["error_message"], "not during the freeze");
    // No close was ever sent to a row other than the running one.
    for r in fake.requests_to("/api/actions/") {
        let Some(b) = &r.body_json else { continue };
        if r.method == "PATCH"
            && b.get("output_summary") == Some(&json!("Auto-closed by Stop hook"))
        {
            assert!(
                r.path.ends_with(lint["action_id"].as_str().unwrap()),
                "{} {b}",
                r.path
            );
        }
        if flavor == Flavor::V2 && r.method == "PATCH" {
            assert!(
                b.get("tokens_in").is_none(),
                "v2.0 drops tokens; none are sent: {b}"
            );
        }
    }
}

#[test]
fn stop_on_a_newest_server_changes_only_what_still_runs() {
    stop_changes_only_what_still_runs(Flavor::Newest);
}

#[test]
fn stop_on_a_v2_server_changes_only_what_still_runs() {
    stop_changes_only_what_still_runs(Flavor::V2);
}

// --- item 9: signatures -----------------------------------------------------------------------

fn signed_records(flavor: Flavor) {
    let fake = FakeDashClaw::start(flavor);
    fake.enforce_signatures(true);
    // Newest servers record allowed calls themselves; a blocked one is recorded by us.
    if flavor == Flavor::Newest {
        fake.set_answer(GuardAnswer::block("Not here"));
    }
    let home = governed(&fake);
    let out = home.hook("claude", "pre-tool-use", &pre("make one", "s1"));
    let _ = out;
    // Unsigned: refused, kept, and the reason is in `status`.
    eventually(10, "the refusal", || {
        status(&home)["server"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("SIGNATURE_REQUIRED") && e.contains("identity pair"))
    });
    assert!(row_where(&fake, "make one").is_none());
    assert_eq!(
        status(&home)["server"]["identity"]["server_requires_signatures"],
        true
    );

    // Pairing: the key is created 0600, an admin approves the request.
    let out = std::thread::scope(|s| {
        let pair = s.spawn(|| {
            home.dashclawd(&[
                "identity",
                "pair",
                "--agent-id",
                "claude-code",
                "--wait",
                "30",
            ])
        });
        eventually(20, "the pairing request", || !fake.pairings().is_empty());
        let p = fake.pairings()[0].clone();
        assert_eq!(p["agent_id"], "claude-code");
        assert!(p["public_key"]
            .as_str()
            .unwrap()
            .contains("BEGIN PUBLIC KEY"));
        fake.approve_pairing(p["id"].as_str().unwrap()).unwrap();
        pair.join().unwrap()
    });
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let keys: Vec<_> = std::fs::read_dir(home.path().join("state/identity"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".key.pem"))
        .collect();
    assert_eq!(keys.len(), 1);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        keys[0].metadata().unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Signed: accepted and verified.
    assert_ne!(
        home.hook("claude", "pre-tool-use", &pre("make two", "s2"))
            .status
            .code(),
        None
    );
    eventually(15, "the signed record", || {
        row_where(&fake, "make two").is_some()
    });
    let row = row_where(&fake, "make two").unwrap();
    assert_eq!(row["verified"], 1, "{row}");
    let signed = fake
        .requests_to("/api/actions")
        .into_iter()
        .filter(|r| r.method == "POST")
        .filter_map(|r| r.body_json)
        .find(|b| {
            b["declared_goal"]
                .as_str()
                .unwrap_or("")
                .contains("make two")
        })
        .unwrap();
    assert!(signed["_signature"].as_str().is_some_and(|s| s.len() > 300));
    // The private key never leaves the machine.
    let pem = std::fs::read_to_string(keys[0].path()).unwrap();
    let body_line = pem.lines().nth(1).unwrap();
    assert!(fake
        .requests()
        .iter()
        .all(|r| !String::from_utf8_lossy(&r.body).contains(body_line)));
}

#[test]
fn a_signature_enforcing_v2_server_takes_records_once_the_agent_is_paired() {
    signed_records(Flavor::V2);
}

#[test]
fn a_signature_enforcing_newest_server_takes_records_once_the_agent_is_paired() {
    signed_records(Flavor::Newest);
}

// --- item 9: the bearer token and verification_status ---------------------------------------

fn verification(flavor: Flavor, token: &str, want: Option<&str>) {
    let fake = FakeDashClaw::start(flavor);
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("tok");
    std::fs::write(&token_file, token).unwrap();
    let home = governed(&fake);
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "[server]\nauth_token_command = \"cat {}\"\n",
            token_file.display()
        ),
    )
    .unwrap();
    let out = home.hook("claude", "pre-tool-use", &pre("make v", "v1"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let guard = fake.requests_to("/api/guard").pop().unwrap();
    assert_eq!(
        guard.header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    let record = home
        .ledger()
        .into_iter()
        .find(|r| r["event"] == "pre-tool-use")
        .unwrap();
    let text = record.to_string();
    assert!(!text.contains(token), "the token is not in the ledger");
    assert_eq!(
        record["outcome"]["server"]["verification_status"].as_str(),
        want,
        "{record}"
    );
    let s = status(&home);
    assert_eq!(
        s["server"]["identity"]["verification_status"].as_str(),
        want,
        "{s}"
    );
    assert!(s["server"]["identity"]["auth_token"]
        .as_str()
        .unwrap()
        .starts_with("command"));
    assert!(!s.to_string().contains(token));
    assert!(!home.log_text().contains(token), "nor in the log");
}

#[test]
fn a_verified_token_is_recorded_in_the_ledger_and_status() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let token = fake.mint_token(TRUSTED_ISSUER, "claude-code", 600);
    drop(fake);
    // A fresh fake shares the issuer key (one per test process).
    verification(Flavor::Newest, &token, Some("verified"));
}

#[test]
fn expired_and_untrusted_tokens_are_recorded_as_such() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let expired = fake.mint_token(TRUSTED_ISSUER, "claude-code", -60);
    let foreign = fake.mint_token("https://evil.example", "claude-code", 600);
    drop(fake);
    verification(Flavor::Newest, &expired, Some("expired"));
    verification(Flavor::Newest, &foreign, Some("unknown_issuer"));
}

#[test]
fn v2_servers_report_no_verification_status() {
    verification(Flavor::V2, "opaque-token-value-123", None);
}

// --- item 10: failing deliveries and a dead stream are visible ------------------------------

fn last_error_while_retries_fail(flavor: Flavor) {
    let fake = FakeDashClaw::start(flavor);
    let home = governed(&fake);
    assert_eq!(
        home.hook("claude", "pre-tool-use", &pre("make e", "e1"))
            .status
            .code(),
        Some(0)
    );
    eventually(10, "the record", || row_where(&fake, "make e").is_some());
    assert_eq!(status(&home)["server"]["last_error"], Value::Null);
    // v2.0's schema drift fails every PATCH; a newest server failing its outcome route.
    if flavor == Flavor::V2 {
        fake.set_schema_drift(true);
    } else {
        fake.fault(
            "/api/actions/",
            fake_dashclaw::Fault::Status(500, r#"{"error":"Internal server error"}"#.into()),
            usize::MAX,
        );
    }
    let out = home.hook(
        "claude",
        "post-tool-use",
        &post("make e", "e1", json!({"stdout": "ok"})),
    );
    assert_eq!(out.status.code(), Some(0));
    eventually(10, "last_error", || {
        let s = status(&home);
        s["server"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("outbox outcome") && e.contains("500"))
            && s["server"]["last_error_at_ms"].as_u64().unwrap_or(0) > 0
    });
    fake.set_schema_drift(false);
    fake.clear_faults();
    eventually(20, "delivered once the server heals", || {
        row_where(&fake, "make e")
            .is_some_and(|r| r["status"] == "completed" || r["outcome_status"] == "completed")
    });
}

#[test]
fn status_names_the_error_while_v2_patches_fail() {
    last_error_while_retries_fail(Flavor::V2);
}

#[test]
fn status_names_the_error_while_newest_outcomes_fail() {
    last_error_while_retries_fail(Flavor::Newest);
}

fn silent_stream(flavor: Flavor) {
    let fake = FakeDashClaw::start(flavor);
    fake.set_sse_heartbeat(Duration::from_millis(300));
    let home = governed(&fake);
    std::fs::write(
        home.path().join("config.toml"),
        "[server]\nstream_idle_secs = 2\n",
    )
    .unwrap();
    let start = br#"{"session_id":"sess-l","cwd":"/tmp"}"#;
    assert_eq!(
        home.hook("claude", "session-start", start).status.code(),
        Some(0)
    );
    eventually(10, "connected", || {
        status(&home)["server"]["event_stream_connected"] == true
    });
    // The instance hangs: its connections stay open, nothing comes through.
    fake.freeze_streams(true);
    let frozen_at = std::time::Instant::now();
    eventually(10, "the dead stream noticed", || {
        status(&home)["server"]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("event stream") && e.contains("no data"))
    });
    assert!(
        frozen_at.elapsed() < Duration::from_secs(8),
        "{:?}",
        frozen_at.elapsed()
    );
    let before = fake.requests_to("/api/stream").len();
    fake.freeze_streams(false);
    eventually(15, "reopened", || {
        fake.requests_to("/api/stream").len() > before
    });
    eventually(10, "connected again", || {
        status(&home)["server"]["event_stream_connected"] == true
    });
}

#[test]
fn a_newest_stream_that_goes_silent_is_noticed_and_reopened() {
    silent_stream(Flavor::Newest);
}

#[test]
fn a_v2_stream_that_goes_silent_is_noticed_and_reopened() {
    silent_stream(Flavor::V2);
}

#[test]
fn without_a_pairing_endpoint_the_admin_is_told_how_to_register_the_key() {
    let fake = FakeDashClaw::start(Flavor::V2);
    fake.fault("/api/pairings", fake_dashclaw::Fault::Html404, usize::MAX);
    let home = governed(&fake);
    let out = home.dashclawd(&["identity", "pair", "--agent-id", "ci-bot", "--wait", "0"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("no pairing endpoint") && err.contains("/api/identities"),
        "{err}"
    );
    // The key exists now; its public half is what the admin registers.
    let out = home.dashclawd(&["identity", "public-key", "--agent-id", "ci-bot"]);
    assert_eq!(out.status.code(), Some(0));
    let pem = stdout(&out);
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
    assert!(!pem.contains("PRIVATE"));
    let out = home.dashclawd(&["identity", "status"]);
    assert!(
        stdout(&out).contains("ci-bot: key only, not paired"),
        "{}",
        stdout(&out)
    );
}
