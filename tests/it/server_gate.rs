//! Governing through a DashClaw server (the fake in tests/support/fake_dashclaw.rs, both server
//! lines): the guard on every governed call, the stricter verdict, recording, and the
//! fail-closed matrix with a cause-naming reason and an orphan kept for later.

use dashclaw_testkit::fake_dashclaw;
use dashclaw_testkit::harness as common;

use std::time::{Duration, Instant};

use common::*;
use fake_dashclaw::{FakeDashClaw, Fault, Flavor, GuardAnswer};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn governed(fake: &FakeDashClaw) -> Home {
    Home::for_server(&fake.url(), &fake.api_key()).env("DASHCLAW_GUARD_TIMEOUT", "2")
}

fn pre(command: &str, tool_use_id: &str) -> Vec<u8> {
    json!({
        "session_id": "sess-1", "transcript_path": "/tmp/none.jsonl", "cwd": "/tmp",
        "permission_mode": "default", "hook_event_name": "PreToolUse",
        "tool_name": "Bash", "tool_input": {"command": command}, "tool_use_id": tool_use_id,
    })
    .to_string()
    .into_bytes()
}

fn last_gate(home: &Home) -> Value {
    home.ledger()
        .into_iter()
        .rev()
        .find(|r| r["event"] == "pre-tool-use")
        .expect("a pre-tool-use record")
}

#[test]
fn an_allowed_call_is_one_guard_round_trip_with_upstream_fields() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = governed(&fake);
    for i in 0..4 {
        let out = home.hook(
            "claude",
            "pre-tool-use",
            &pre("ls -la /tmp", &format!("toolu_{i}")),
        );
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(out.stdout.is_empty());
    }
    let guards = fake.requests_to("/api/guard");
    assert_eq!(guards.len(), 4);
    let g = &guards[0];
    assert_eq!(g.query, "record=true");
    assert_eq!(g.header("x-api-key"), Some(fake.api_key().as_str()));
    let b = g.body_json.as_ref().unwrap();
    assert_eq!(b["action_type"], "review");
    assert_eq!(b["agent_id"], "claude-code");
    assert_eq!(b["declared_goal"], "Bash: ls -la /tmp");
    assert_eq!(b["systems_touched"], json!(["shell"]));
    assert_eq!(b["tool"]["name"], "Bash");
    assert_eq!(b["tool"]["category"], "execution");
    assert_eq!(b["act"], json!({"kind": "shell", "command": "ls -la /tmp"}));
    assert_eq!(b["harness"], "claude-code");
    assert_eq!(b["harness_session_id"], "sess-1");
    assert_eq!(b["enforcement_mode"], "enforce");
    assert!(
        b["risk_score"].is_u64(),
        "integer risk: {}",
        b["risk_score"]
    );
    let key = hex::encode(Sha256::digest(
        b"action_type=review|agent_id=claude-code|tool_use_id=toolu_0",
    ));
    assert_eq!(b["idempotency_key"], key.as_str());
    // Pooled connections carry the calls: no guard call after the first opens a connection of
    // its own (each reuses one that an earlier request, of any kind, had already used).
    let all = fake.requests();
    let mut seen_guards = 0;
    let mut newest = 0;
    for r in &all {
        if r.path.starts_with("/api/guard") {
            seen_guards += 1;
            assert!(
                seen_guards == 1 || r.connection <= newest,
                "guard call {seen_guards} opened connection {} (newest before it: {newest})",
                r.connection
            );
        }
        newest = newest.max(r.connection);
    }
    // The server recorded the action; the ledger links it.
    let rec = last_gate(&home);
    assert_eq!(rec["verdict"], "allow");
    assert!(rec["outcome"]["server"]["action_id"]
        .as_str()
        .unwrap()
        .starts_with("act_"));
}

#[test]
fn server_verdicts_reach_the_agent_and_the_stricter_wins() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    fake.set_guard(|b| match b["declared_goal"].as_str().unwrap_or("") {
        g if g.contains("deploy.sh") => {
            GuardAnswer::block("Deploys need a ticket").policy("gp_deploy")
        }
        g if g.contains("npm") => GuardAnswer::warn("npm installs are reviewed weekly"),
        _ => GuardAnswer::allow(),
    });
    let home = governed(&fake);

    let out = home.hook("claude", "pre-tool-use", &pre("./deploy.sh prod", "t1"));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.starts_with("[DashClaw] Blocked by policy: Deploys need a ticket"),
        "{err}"
    );
    assert!(err.contains("server:gp_deploy"), "{err}");

    let out = home.hook("claude", "pre-tool-use", &pre("npm install left-pad", "t2"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Claude Code shows a warning as a system message.
    assert!(
        stdout(&out).contains("[DashClaw] Warning: npm installs are reviewed weekly"),
        "{}",
        stdout(&out)
    );

    // The server allows, the local classifier does not: the stricter verdict wins.
    let out = home.hook("claude", "pre-tool-use", &pre("rm -rf /", "t3"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let rec = last_gate(&home);
    assert_eq!(rec["verdict"], "block");
    assert_eq!(rec["outcome"]["server"]["verdict"], "allow");

    // Read-only file tools never reach the server (upstream's ungoverned categories).
    let before = fake.requests_to("/api/guard").len();
    let read = json!({"session_id":"s","cwd":"/tmp","tool_name":"Read","tool_input":{"file_path":"/tmp/x"},"tool_use_id":"r1"});
    let out = home.hook("claude", "pre-tool-use", read.to_string().as_bytes());
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(fake.requests_to("/api/guard").len(), before);
}

#[test]
fn unknown_verdicts_are_treated_as_require_approval_and_missing_ones_deny() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = governed(&fake).env("DASHCLAW_APPROVAL_TIMEOUT", "5");
    fake.set_answer(GuardAnswer::raw(200, r#"{"risk_score":10}"#));
    let out = home.hook("claude", "pre-tool-use", &pre("ls", "u1"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("has no verdict"), "{}", stderr(&out));

    fake.set_answer(GuardAnswer::new("frobnicate"));
    let start = Instant::now();
    let out = home.hook("claude", "pre-tool-use", &pre("ls", "u2"));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("Verdict 'frobnicate' is not one this hook understands"),
        "{err}"
    );
    assert!(err.contains("Approval timeout"), "{err}");
    assert!(start.elapsed() >= Duration::from_secs(5));
}

#[test]
fn v2_servers_answer_403_verdicts_and_get_records_through_actions() {
    let fake = FakeDashClaw::start(Flavor::V2);
    fake.set_guard(|b| {
        if b["declared_goal"].as_str().unwrap_or("").contains("curl") {
            GuardAnswer::block("No network from agents")
        } else {
            GuardAnswer::allow()
        }
    });
    let home = governed(&fake);
    let out = home.hook(
        "claude",
        "pre-tool-use",
        &pre("curl https://example.com", "v1"),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("No network from agents"),
        "{}",
        stderr(&out)
    );
    let out = home.hook("claude", "pre-tool-use", &pre("ls", "v2"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // v2.0 has no ?record=true: both calls go to POST /api/actions with our own ids, in the
    // 20-value action-type enum and its six statuses. v2.0 keeps no row for a block (its 403
    // has no action).
    eventually(10, "both records sent", || {
        fake.requests_to("/api/actions").len() == 2
    });
    let sent: Vec<Value> = fake
        .requests_to("/api/actions")
        .into_iter()
        .map(|r| r.body_json.unwrap())
        .collect();
    // v2.0 refuses `blocked` (400): a denied call is a `failed` record with its reason.
    assert_eq!(sent[0]["status"], "failed");
    assert!(sent[0]["error_message"]
        .as_str()
        .is_some_and(|e| e.contains("No network from agents")));
    assert_eq!(sent[1]["status"], "running");
    assert!(fake
        .requests_to("/api/guard")
        .iter()
        .all(|r| r.query.is_empty()));
    eventually(10, "the running row", || fake.actions().len() == 1);
    let row = &fake.actions()[0];
    assert_eq!(row["status"], "running");
    assert!(fake_dashclaw::V2_ACTION_TYPES.contains(&row["action_type"].as_str().unwrap()));
}

/// One row of the fail-closed matrix: what the fake does, what the agent must read.
fn assert_denied_naming(home: &Home, tool_use: &str, cause: &str) -> String {
    let out = home.hook("claude", "pre-tool-use", &pre("ls", tool_use));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{cause}: {err}");
    assert!(err.contains(cause), "expected {cause:?} in: {err}");
    err
}

#[test]
fn fail_closed_matrix_names_each_cause() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = governed(&fake).env("DASHCLAW_GUARD_TIMEOUT", "0.5");
    let rows: Vec<(Fault, &str)> = vec![
        (
            Fault::Status(
                503,
                r#"{"error":"db down","code":"DB_CONNECTION_FAILED"}"#.into(),
            ),
            "HTTP 503 DB_CONNECTION_FAILED",
        ),
        (
            Fault::Status(500, r#"{"error":"Internal server error"}"#.into()),
            "HTTP 500",
        ),
        (
            Fault::Status(
                413,
                r#"{"error":"Request body too large","maxBytes":2097152}"#.into(),
            ),
            "too large (HTTP 413)",
        ),
        (
            Fault::Status(403, r#"{"error":"Forbidden - readonly API key"}"#.into()),
            "refused the API key (HTTP 403",
        ),
        (Fault::Garbage, "not JSON"),
        (Fault::EmptyBody, "not JSON"),
        (Fault::Truncated, "cut the answer short"),
        (Fault::Close, "guard at"),
        (Fault::Hang, "did not answer within 0.5s"),
        (Fault::Html404, "HTTP 404"),
        (
            Fault::Status(200, "x".repeat(17 << 20)),
            "an answer over 16 MiB",
        ),
    ];
    for (i, (fault, cause)) in rows.into_iter().enumerate() {
        fake.clear_faults();
        fake.fault("/api/guard", fault.clone(), 1);
        let err = assert_denied_naming(&home, &format!("m{i}"), cause);
        assert!(err.contains(&format!("guard at {}", fake.url())), "{err}");
        if !cause.contains("API key") {
            assert!(!err.contains("unauthorized"), "{fault:?}: {err}");
        }
    }
    fake.clear_faults();
    // Background calls (policy sync, the event stream) count against the limit too.
    fake.rate_limit(10_000);
    fake.set_retry_after(60);
    assert_denied_naming(&home, "rl", "HTTP 429, retry after 60s");
    fake.rate_limit(0);
    // A missing verdict, and then the server is back: allowed again.
    let out = home.hook("claude", "pre-tool-use", &pre("ls", "ok"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_bad_key_is_unauthorized_never_unreachable() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = Home::new()
        .env("DASHCLAW_BASE_URL", &fake.url())
        .env("DASHCLAW_API_KEY", "oc_live_wrong");
    let err = assert_denied_naming(
        &home,
        "k1",
        "unauthorized - invalid or missing API key (HTTP 401",
    );
    assert!(!err.contains("unreachable"), "{err}");
    assert!(err.contains("check DASHCLAW_API_KEY"), "{err}");
    let rec = last_gate(&home);
    assert_eq!(rec["policy"], "dashclaw:guard_unauthorized");
    // The key never lands in the ledger or the log.
    let all = format!("{:?}{}", home.ledger(), home.log_text());
    assert!(!all.contains("oc_live_wrong"));
}

#[test]
fn network_failures_name_dns_refused_and_tls() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let port = fake.port();
    fake.stop();
    let refused = Home::new()
        .env("DASHCLAW_BASE_URL", &format!("http://127.0.0.1:{port}"))
        .env("DASHCLAW_API_KEY", "oc_live_x");
    let err = assert_denied_naming(&refused, "n1", "is unreachable");
    assert!(err.contains("after 1 attempt(s)"), "{err}");

    let dns = Home::new()
        .env("DASHCLAW_BASE_URL", "http://dashclaw.invalid")
        .env("DASHCLAW_API_KEY", "oc_live_x");
    assert_denied_naming(&dns, "n2", "cannot resolve the server's host name");

    // A TLS client against a plain-HTTP port fails the handshake.
    fake.restart();
    let tls = Home::new()
        .env("DASHCLAW_BASE_URL", &format!("https://127.0.0.1:{port}"))
        .env("DASHCLAW_API_KEY", "oc_live_x");
    assert_denied_naming(&tls, "n3", "TLS");
}

#[test]
fn unavailable_policy_and_observe_mode_let_calls_through_and_orphans_are_uploaded_later() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = governed(&fake).env("DASHCLAW_GUARD_UNAVAILABLE_POLICY", "warn");
    // Start the daemon while the server is up, then take the server away.
    assert_eq!(
        home.hook("claude", "pre-tool-use", &pre("ls", "w0"))
            .status
            .code(),
        Some(0)
    );
    fake.stop();
    let out = home.hook("claude", "pre-tool-use", &pre("ls", "w1"));
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("proceeding anyway (DASHCLAW_GUARD_UNAVAILABLE_POLICY=warn)"),
        "{}",
        stderr(&out)
    );
    let out = home.hook_with("claude", "pre-tool-use", &pre("ls", "w2"), |c| {
        c.env("DASHCLAW_GUARD_UNAVAILABLE_POLICY", "block");
    });
    assert_eq!(out.status.code(), Some(2));
    let out = home.hook_with("claude", "pre-tool-use", &pre("ls", "w3"), |c| {
        c.env("DASHCLAW_GUARD_UNAVAILABLE_POLICY", "block")
            .env("DASHCLAW_HOOK_MODE", "observe");
    });
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Every governed call the server missed is uploaded when it is back.
    fake.restart();
    eventually(20, "three orphans uploaded", || {
        fake.actions()
            .iter()
            .filter(|a| {
                a["trigger"]
                    .as_str()
                    .unwrap_or("")
                    .starts_with("orphan:guard_unreachable")
            })
            .count()
            == 3
    });
    let statuses: Vec<Value> = fake.actions().iter().map(|a| a["status"].clone()).collect();
    assert!(statuses.contains(&json!("blocked")), "{statuses:?}");
}

#[test]
fn local_fallback_uses_cached_server_policies_tighten_only() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    fake.add_policy(
        "no deploys",
        "block_action_type",
        json!({"action_types": ["deploy"]}),
        None,
    );
    let home = governed(&fake).env("DASHCLAW_GUARD_UNAVAILABLE_POLICY", "local");
    assert_eq!(
        home.hook("claude", "pre-tool-use", &pre("ls", "l0"))
            .status
            .code(),
        Some(0)
    );
    let cache = home.path().join("state/server-policies.json");
    eventually(10, "the policy cache", || cache.exists());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // While the server answers, its policies are its own business: no double evaluation.
    fake.stop();
    let out = home.hook(
        "claude",
        "pre-tool-use",
        &pre("systemctl restart nginx", "l1"),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("no deploys"), "{}", stderr(&out));
    let out = home.hook("claude", "pre-tool-use", &pre("ls", "l2"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("decided from cached server policies"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_hook_configured_for_a_server_is_denied_by_a_daemon_without_one() {
    let home = Home::new();
    let _d = home.spawn_daemon();
    let out = home.hook_with("claude", "pre-tool-use", &pre("ls", "x"), |c| {
        c.env("DASHCLAW_BASE_URL", "https://dashclaw.example.com");
    });
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("dashclawd runs without a server"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn half_configured_and_world_readable_keys_deny() {
    let home = Home::new().env("DASHCLAW_BASE_URL", "https://dashclaw.example.com");
    let out = home.hook("claude", "pre-tool-use", &pre("ls", "h1"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("half-configured"), "{}", stderr(&out));

    let home = Home::new();
    let key = home.path().join("key");
    std::fs::write(&key, "oc_live_filekey\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let home = home
        .env("DASHCLAW_BASE_URL", "https://dashclaw.example.com")
        .env("DASHCLAW_API_KEY_FILE", key.to_str().unwrap());
    let out = home.hook("claude", "pre-tool-use", &pre("ls", "h2"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("chmod 600"), "{}", stderr(&out));
}

#[test]
fn doctor_checks_the_server_and_the_key() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = governed(&fake);
    let out = home.dashclawd(&["doctor", "--json", "--no-probe"]);
    let report = stdout(&out);
    assert!(report.contains("answers with this key"), "{report}");
    let bad = Home::new()
        .env("DASHCLAW_BASE_URL", &fake.url())
        .env("DASHCLAW_API_KEY", "oc_live_nope");
    let report = stdout(&bad.dashclawd(&["doctor", "--json", "--no-probe"]));
    assert!(report.contains("invalid or missing API key"), "{report}");
    assert!(!report.contains("oc_live_nope"), "{report}");
}

#[test]
fn a_local_block_does_not_wait_for_a_server_approval() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    fake.set_decision("require_approval");
    let home = governed(&fake).env("DASHCLAW_APPROVAL_TIMEOUT", "60");
    let start = Instant::now();
    let out = home.hook("claude", "pre-tool-use", &pre("rm -rf /", "lb1"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(
        fake.requests_to("/api/guard").len(),
        1,
        "the server still hears of it"
    );
}

#[test]
fn sub_agents_hermes_and_concurrent_calls_are_governed_alike() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    fake.set_guard(|b| {
        if b["declared_goal"].as_str().unwrap_or("").contains("deploy") {
            GuardAnswer::block("No deploys from agents")
        } else {
            GuardAnswer::allow()
        }
    });
    let home = governed(&fake).env("DASHCLAW_AGENT_ID", "ci-bot");

    // A Claude Code sub-agent's call carries upstream's composed identity.
    let sub = json!({"session_id":"sess-1","cwd":"/tmp","tool_name":"Bash","tool_input":{"command":"ls"},
                     "tool_use_id":"sub1","agent_id":"a-77","agent_type":"Explore"});
    assert_eq!(
        home.hook("claude", "pre-tool-use", sub.to_string().as_bytes())
            .status
            .code(),
        Some(0)
    );
    let b = fake
        .requests_to("/api/guard")
        .last()
        .unwrap()
        .body_json
        .clone()
        .unwrap();
    assert_eq!(b["agent_id"], "ci-bot:explore");
    assert_eq!(b["agent_name"], "ci-bot/Explore");
    assert_eq!(b["subagent_uuid"], "a-77");
    assert_eq!(b["swarm_id"], "sess-1");

    // Hermes gets the server's block in its own protocol.
    let hermes = json!({"hook_event_name":"pre_tool_call","tool_name":"terminal",
                        "tool_input":{"command":"./deploy prod"},"session_id":"h","cwd":"/tmp",
                        "extra":{"tool_call_id":"c1"}});
    let out = home.hook("hermes", "pre-tool-use", hermes.to_string().as_bytes());
    assert_eq!(out.status.code(), Some(2));
    let said: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(said["action"], "block");
    assert!(
        stderr(&out).contains("No deploys from agents"),
        "{}",
        stderr(&out)
    );
    let b = fake
        .requests_to("/api/guard")
        .last()
        .unwrap()
        .body_json
        .clone()
        .unwrap();
    assert_eq!(b["harness"], "hermes");

    // Sixteen hooks at once: each answered, each decided once by the server and once in the ledger.
    let before = fake.requests_to("/api/guard").len();
    std::thread::scope(|s| {
        let hooks: Vec<_> = (0..16)
            .map(|i| {
                let home = &home;
                s.spawn(move || {
                    let cmd = if i % 4 == 0 { "./deploy prod" } else { "ls" };
                    home.hook("claude", "pre-tool-use", &pre(cmd, &format!("par{i}")))
                })
            })
            .collect();
        for (i, h) in hooks.into_iter().enumerate() {
            let out = h.join().unwrap();
            let want = if i % 4 == 0 { 2 } else { 0 };
            assert_eq!(out.status.code(), Some(want), "call {i}: {}", stderr(&out));
        }
    });
    assert_eq!(fake.requests_to("/api/guard").len(), before + 16);
    let par = home
        .ledger()
        .into_iter()
        .filter(|r| {
            r["tool_use_id"]
                .as_str()
                .is_some_and(|t| t.starts_with("par"))
        })
        .count();
    assert_eq!(par, 16);
}

#[test]
fn a_policy_change_on_the_server_reaches_the_cache_through_the_event_stream() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = governed(&fake);
    assert_eq!(
        home.hook("claude", "pre-tool-use", &pre("ls", "p0"))
            .status
            .code(),
        Some(0)
    );
    let cache = home.path().join("state/server-policies.json");
    eventually(10, "the first sync", || cache.exists());
    // The periodic refresh is a minute away: only the stream's policy.updated can bring it now.
    std::thread::sleep(Duration::from_millis(300));
    fake.add_policy(
        "no pushes",
        "block_action_type",
        json!({"action_types": ["deploy"]}),
        None,
    );
    eventually(5, "the new policy in the cache", || {
        std::fs::read_to_string(&cache).is_ok_and(|t| t.contains("no pushes"))
    });
}
