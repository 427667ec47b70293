//! `dashclawd approvals`, `approve` and `deny` as a person (under a pseudo-terminal) and as an
//! agent (pipes) would run them, against a private `DASHCLAW_HOME`.

use dashclaw_testkit::fake_dashclaw;
use dashclaw_testkit::harness as common;
use dashclaw_testkit::pty;

use std::process::Command;
use std::time::Duration;

use common::*;
use dashclaw_sidecar::approvals::{fingerprint, unix_now, Approvals, NewRequest, Status};
use pty::{challenge, run_in_pty, run_in_pty_answering};
use serde_json::{json, Value};

fn store(home: &Home) -> Approvals {
    let state = home.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    Approvals::open(&state.join("approvals.db")).unwrap()
}

/// Holds a Bash call as the daemon would; returns its id.
fn hold(home: &Home, command: &str) -> String {
    let input = json!({ "command": command, "description": "model prose" });
    store(home)
        .request(
            &NewRequest {
                fingerprint: fingerprint("claude", "/work", "Bash", &input),
                agent: "claude".into(),
                session_id: Some("sess-9".into()),
                cwd: Some("/work".into()),
                tool: "Bash".into(),
                summary: format!("Bash: {command}"),
                detail: Some(serde_json::to_string_pretty(&input).unwrap()),
                reasons: vec!["force push rewrites shared history".into()],
                policy: Some("builtin:git-force-push".into()),
            },
            unix_now(),
        )
        .unwrap()
        .id
}

fn dashclawd_cmd(home: &Home, args: &[&str]) -> Command {
    let mut cmd = Command::new(DAEMON);
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("DASHCLAW_HOME", home.path())
        .env("HOME", home.path())
        .env("USER", "alice")
        .args(args);
    cmd
}

fn list_json(home: &Home, all: bool) -> Vec<Value> {
    let args: &[&str] = if all {
        &["approvals", "--all", "--json"]
    } else {
        &["approvals", "--json"]
    };
    let out = home.dashclawd(args);
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn approve_refuses_without_a_terminal() {
    let home = Home::new();
    let id = hold(&home, "git push --force");
    for verb in ["approve", "deny"] {
        // Exactly what an agent's tool call looks like: stdin piped, even with the code in it.
        let out = home.dashclawd_stdin(&[verb, &id], b"abcd\nyes\n");
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(&format!("refusing to {verb} {id}"))
                && err.contains("stdin and stderr must be a terminal")
                && err.contains(&format!(
                    "run `dashclawd {verb} {id}` in their own terminal"
                )),
            "{err}"
        );
        assert!(!err.contains("type the code"), "no challenge for a pipe");
    }
    assert_eq!(list_json(&home, false)[0]["status"], "pending");
}

#[test]
fn approve_refuses_inside_a_claude_code_tool_call_even_with_a_terminal() {
    let home = Home::new();
    let id = hold(&home, "git push --force");
    let mut cmd = dashclawd_cmd(&home, &["approve", &id]);
    cmd.env("CLAUDECODE", "1");
    let (status, out) = run_in_pty(cmd, challenge);
    assert_eq!(status.code(), Some(2), "{out}");
    assert!(out.contains("inside a Claude Code tool call"), "{out}");
    assert_eq!(list_json(&home, false)[0]["status"], "pending");
}

#[test]
fn a_person_approves_with_the_code_and_a_wrong_code_changes_nothing() {
    let home = Home::new();
    let id = hold(&home, "git push --force");

    let (status, out) = run_in_pty(dashclawd_cmd(&home, &["approve", &id]), |o| {
        challenge(o).map(|_| "yes".to_string())
    });
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!("not confirmed: {id} left pending")),
        "{out}"
    );
    assert_eq!(list_json(&home, false)[0]["status"], "pending");

    let (status, out) = run_in_pty(
        dashclawd_cmd(&home, &["approve", &id, "--reason", "release day"]),
        challenge,
    );
    assert_eq!(status.code(), Some(0), "{out}");
    // The person saw the whole request before deciding.
    for shown in [
        format!("Approval request {id} (pending"),
        "agent:   claude (session sess-9)".into(),
        "cwd:     /work".into(),
        "call:    Bash: git push --force".into(),
        "reason:  force push rewrites shared history".into(),
        "policy:  builtin:git-force-push".into(),
        "\"command\": \"git push --force\"".into(),
        "next IDENTICAL call run once, within 15 minutes".into(),
        format!("approved {id} as alice"),
    ] {
        assert!(out.contains(&shown), "missing {shown:?} in:\n{out}");
    }
    assert!(list_json(&home, false).is_empty());
    let all = list_json(&home, true);
    assert_eq!(all[0]["status"], "approved");
    assert_eq!(all[0]["decided_by"], "alice");
    assert_eq!(all[0]["decision_reason"], "release day");

    // The retry, with different prose, consumes it once.
    let fp = fingerprint(
        "claude",
        "/work",
        "Bash",
        &json!({ "command": "git push --force", "description": "Push again" }),
    );
    let s = store(&home);
    assert_eq!(s.take_grant(&fp, unix_now()).unwrap().unwrap().id, id);
    assert!(s.take_grant(&fp, unix_now()).unwrap().is_none());

    // Deciding again is a clear error.
    let (status, out) = run_in_pty(dashclawd_cmd(&home, &["deny", &id]), challenge);
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!("{id} is already approved and its retry has run")),
        "{out}"
    );
}

#[test]
fn a_person_denies_with_a_reason_the_agent_will_see() {
    let home = Home::new();
    let id = hold(&home, "git push --force");
    let (status, out) = run_in_pty(
        dashclawd_cmd(&home, &["deny", &id, "--reason", "open a PR instead"]),
        challenge,
    );
    assert_eq!(status.code(), Some(0), "{out}");
    assert!(out.contains(&format!("denied {id} as alice")), "{out}");
    let fp = fingerprint(
        "claude",
        "/work",
        "Bash",
        &json!({ "command": "git push --force" }),
    );
    let d = store(&home)
        .denied_reason(&fp, unix_now())
        .unwrap()
        .unwrap();
    assert_eq!(d.reason.as_deref(), Some("open a PR instead"));
    assert_eq!(
        store(&home).get(&id, unix_now()).unwrap().status,
        Status::Denied
    );
}

#[test]
fn unknown_and_malformed_ids_are_clear_errors() {
    let home = Home::new();
    // No store yet: nothing is created by asking.
    let (status, out) = run_in_pty(dashclawd_cmd(&home, &["approve", "ap_zzzzzzzz"]), challenge);
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(out.contains("no such request ap_zzzzzzzz"), "{out}");
    assert!(!home.path().join("state/approvals.db").exists());

    hold(&home, "git push --force");
    let (status, out) = run_in_pty(
        dashclawd_cmd(&home, &["approve", "ap_\u{1b}[2Jx"]),
        challenge,
    );
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(out.contains("is not an approval id"), "{out}");
    assert!(
        !out.contains('\u{1b}'),
        "escape sequences are not echoed raw"
    );
}

#[test]
fn approvals_lists_pending_requests_as_a_table_and_as_json() {
    let home = Home::new();
    let out = home.dashclawd(&["approvals"]);
    assert!(out.status.success());
    assert_eq!(stdout(&out).trim(), "no pending approval requests");
    assert!(list_json(&home, true).is_empty());

    let id = hold(&home, "git push --force");
    // An identical retry does not queue a second request.
    assert_eq!(hold(&home, "git push --force"), id);
    let rows = list_json(&home, false);
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    let keys: Vec<&str> = row
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "status",
            "agent",
            "session_id",
            "cwd",
            "tool",
            "summary",
            "detail",
            "reasons",
            "policy",
            "created_at",
            "age_secs",
            "expires_at",
            "decided_at",
            "decided_by",
            "decision_reason",
            "used_at"
        ]
    );
    assert_eq!(row["id"], id.as_str());
    assert_eq!(row["status"], "pending");
    assert_eq!(row["agent"], "claude");
    assert_eq!(row["tool"], "Bash");
    assert_eq!(row["summary"], "Bash: git push --force");
    assert_eq!(
        row["reasons"],
        json!(["force push rewrites shared history"])
    );
    assert_eq!(row["decided_at"], Value::Null);
    let created = row["created_at"].as_str().unwrap();
    assert!(humantime::parse_rfc3339(created).is_ok(), "{created}");

    let out = home.dashclawd(&["approvals"]);
    let text = stdout(&out);
    assert!(text.starts_with("ID "), "{text}");
    let line = text.lines().nth(1).unwrap();
    for col in [
        id.as_str(),
        "claude",
        "pending",
        "Bash",
        "git push --force",
        "force push",
    ] {
        assert!(line.contains(col), "{col} missing in {line}");
    }
}

#[test]
fn a_person_approves_a_server_held_call_from_the_terminal_for_both_server_lines() {
    for flavor in [fake_dashclaw::Flavor::Newest, fake_dashclaw::Flavor::V2] {
        let fake = fake_dashclaw::FakeDashClaw::start(flavor);
        fake.set_decision("require_approval");
        let home = Home::new()
            .env("DASHCLAW_BASE_URL", &fake.url())
            .env("DASHCLAW_API_KEY", &fake.api_key())
            .env("DASHCLAW_APPROVAL_TIMEOUT", "30");
        let event = json!({"session_id":"s","cwd":"/tmp","tool_name":"Bash",
                           "tool_input":{"command":"terraform apply"},"tool_use_id":"t1"});
        std::thread::scope(|scope| {
            let hook =
                scope.spawn(|| home.hook("claude", "pre-tool-use", event.to_string().as_bytes()));
            let id = fake
                .wait_pending(Duration::from_secs(10))
                .expect("no pending action");
            let mut cmd = dashclawd_cmd(&home, &["approve", &id]);
            cmd.env("DASHCLAW_BASE_URL", fake.url())
                .env("DASHCLAW_API_KEY", fake.api_key());
            let (status, out) = run_in_pty(cmd, challenge);
            assert_eq!(status.code(), Some(0), "{flavor:?}: {out}");
            assert!(out.contains("goal:   Bash: terraform apply"), "{out}");
            assert!(
                out.contains(&format!("approved {id} on the server as alice")),
                "{out}"
            );
            let hook = hook.join().unwrap();
            assert_eq!(hook.status.code(), Some(0), "{flavor:?}: {}", stderr(&hook));
            // v2.0 fails without a reasoning: one is always sent.
            let sent = fake
                .requests()
                .into_iter()
                .filter(|r| r.path.ends_with("/approve") || r.path.starts_with("/api/approvals/"))
                .filter_map(|r| r.body_json)
                .next_back()
                .unwrap();
            assert!(
                sent["reasoning"].as_str().unwrap().contains("alice"),
                "{sent}"
            );
        });
    }
}

/// Sets the passphrase as a person would: at a terminal, typed twice.
fn set_passphrase(home: &Home, pass: &str) {
    let mut step = 0;
    let (status, out) =
        run_in_pty_answering(dashclawd_cmd(home, &["approvals", "passphrase"]), |o| {
            let want = ["New approval passphrase", "Once more"].get(step)?;
            o.contains(want).then(|| {
                step += 1;
                // The prompt is printed just before echo is switched off; a person types later.
                std::thread::sleep(Duration::from_millis(300));
                pass.to_string()
            })
        });
    assert_eq!(status.code(), Some(0), "{out}");
    assert!(out.contains("approval passphrase set"), "{out}");
    assert!(!out.contains(pass), "the passphrase is not echoed: {out}");
}

#[test]
fn with_a_passphrase_approving_needs_it_and_the_code_is_gone() {
    let home = Home::new();
    let id = hold(&home, "git push --force");
    set_passphrase(&home, "tangerine mountain 42");
    let stored = std::fs::read_to_string(home.path().join("state/approval-passphrase")).unwrap();
    assert!(stored.starts_with("$argon2id$"), "{stored}");

    // A wrong passphrase changes nothing, and there is no code on the terminal to copy.
    let (status, out) = run_in_pty(dashclawd_cmd(&home, &["approve", &id]), |o| {
        o.contains("approval passphrase")
            .then(|| "guess guess guess".to_string())
    });
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(
        out.contains("wrong passphrase") && !out.contains("type the code"),
        "{out}"
    );
    assert_eq!(list_json(&home, false)[0]["status"], "pending");

    let (status, out) = run_in_pty(dashclawd_cmd(&home, &["approve", &id]), |o| {
        o.contains("approval passphrase")
            .then(|| "tangerine mountain 42".to_string())
    });
    assert_eq!(status.code(), Some(0), "{out}");
    assert_eq!(list_json(&home, true)[0]["status"], "approved");

    // Changing it needs the current one.
    let (status, out) = run_in_pty(
        dashclawd_cmd(&home, &["approvals", "passphrase", "--remove"]),
        |o| {
            o.contains("Current approval passphrase")
                .then(|| "not it at all".to_string())
        },
    );
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(home.path().join("state/approval-passphrase").exists());
}
