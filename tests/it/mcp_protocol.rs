//! `dashclawd mcp` driven by an MCP client nobody here wrote: the official Python SDK (PyPI
//! `mcp`, pinned in .ci/install-mcp.sh) through tests/mcp_support/client.py. Offline (local
//! engine, ledger, approvals) and against the fake DashClaw server (routes, errors, timeouts);
//! a guard that cannot be answered is a `block`.

use dashclaw_testkit::fake_dashclaw;
use dashclaw_testkit::harness as common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::*;
use dashclaw_sidecar::approvals::{unix_now, Approvals};
use fake_dashclaw::{FakeDashClaw, Fault, Flavor};
use serde_json::{json, Value};

/// The venv python with the pinned SDK, or `None` (skip) when missing and DASHCLAW_SKIP_E2E=1.
fn python() -> Option<PathBuf> {
    let dir = std::env::var_os("DASHCLAW_AGENTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/agents"));
    let py = dir.join("mcp-venv/bin/python");
    if py.is_file() {
        return Some(py);
    }
    if std::env::var("DASHCLAW_SKIP_E2E").as_deref() == Ok("1") {
        eprintln!(
            "skipping: {} is missing (DASHCLAW_SKIP_E2E=1)",
            py.display()
        );
        return None;
    }
    panic!(
        "the MCP Python SDK is missing at {}; install it with `.ci/install-mcp.sh` or set DASHCLAW_SKIP_E2E=1",
        py.display()
    );
}

/// Runs one client session with `steps` against `dashclawd mcp` in `home`.
fn session(py: &PathBuf, home: &Home, steps: Value) -> Value {
    let mut env = json!({
        "DASHCLAW_HOME": home.path(),
        "HOME": home.path(),
        "PATH": "/usr/bin:/bin",
    });
    for (k, v) in &home.extra_env {
        env[k] = json!(v);
    }
    let spec = json!({
        "command": DAEMON.as_str(), "args": ["mcp"], "env": env, "cwd": home.path(), "steps": steps,
    });
    let mut cmd = Command::new(py);
    cmd.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/mcp_support/client.py"
    ))
    .stderr(Stdio::piped());
    let out = run_with_stdin(cmd, spec.to_string().as_bytes());
    assert!(
        out.status.success(),
        "the MCP client failed: {}\n{}",
        stderr(&out),
        stdout(&out)
    );
    serde_json::from_slice(&out.stdout).expect("the client prints JSON")
}

fn call(name: &str, args: Value) -> Value {
    json!({"op": "call", "name": name, "args": args})
}

fn steps(out: &Value) -> &Vec<Value> {
    out["steps"].as_array().unwrap()
}

/// A token the redaction engine knows (never a real one).
const SECRET: &str = "ghp_Zq8vK2mN4pL7xR1tY6wB3cD9eF0gH5jS2aQ1";

const UPSTREAM_TOOLS: [&str; 29] = [
    "dashclaw_guard",
    "dashclaw_record",
    "dashclaw_invoke",
    "dashclaw_capabilities_list",
    "dashclaw_policies_list",
    "dashclaw_wait_for_approval",
    "dashclaw_session_start",
    "dashclaw_session_end",
    "dashclaw_optimal_files_preview",
    "dashclaw_optimal_files_manifest",
    "dashclaw_handoff_create",
    "dashclaw_handoff_latest",
    "dashclaw_handoff_consume",
    "dashclaw_secret_list",
    "dashclaw_secret_due",
    "dashclaw_secret_mark_rotated",
    "dashclaw_skill_scan",
    "dashclaw_loop_add",
    "dashclaw_loop_list",
    "dashclaw_loop_close",
    "dashclaw_assumption_record",
    "dashclaw_learning_log",
    "dashclaw_learning_query",
    "dashclaw_decisions_recent",
    "dashclaw_inbox_list",
    "dashclaw_messages_mark_read",
    "dashclaw_behavior_suggestions",
    "dashclaw_posture",
    "dashclaw_posture_next",
];

#[test]
fn offline_the_sdk_sees_the_upstream_surface_and_the_local_tools_work() {
    let Some(py) = python() else { return };
    let home = Home::new();
    let out = session(
        &py,
        &home,
        json!([
            {"op": "list"},
            call("dashclaw_guard", json!({"action_type": "shell", "declared_goal": "clean the build", "risk_score": 10,
                                          "act": {"kind": "shell", "command": "rm -rf /"}})),
            call("dashclaw_guard", json!({"action_type": "research", "declared_goal": "read docs", "risk_score": 5})),
            call("dashclaw_guard", json!({"declared_goal": "no type"})),
            call("dashclaw_record", json!({"action_type": "deploy", "declared_goal": "shipped v2", "status": "completed"})),
            call("dashclaw_policies_list", json!({"limit": 500})),
            call("dashclaw_decisions_recent", json!({"decision": "block"})),
            call("dashclaw_posture", json!({})),
            call("dashclaw_session_start", json!({"agent_id": "agent-7", "workspace": "demo"})),
            {"op": "read", "uri": "dashclaw://status"},
            {"op": "read", "uri": "dashclaw://agent/mcp/history"},
            {"op": "read", "uri": "dashclaw://policies"},
        ]),
    );
    assert_eq!(out["initialize"]["serverInfo"]["name"], "dashclaw");
    let s = steps(&out);

    // The upstream surface: 29 tools with their schemas, 4 resources and 2 templates.
    let tools = s[0]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, UPSTREAM_TOOLS);
    let guard = &tools[0];
    assert_eq!(
        guard["inputSchema"]["required"],
        json!(["action_type", "declared_goal", "risk_score"])
    );
    assert_eq!(
        guard["inputSchema"]["properties"]["risk_score"]["type"],
        "integer"
    );
    assert!(guard["description"]
        .as_str()
        .unwrap()
        .starts_with("Evaluate DashClaw governance policies before taking a risky action."));
    let uris: Vec<&str> = s[0]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    assert_eq!(
        uris,
        [
            "dashclaw://policies",
            "dashclaw://capabilities",
            "dashclaw://status",
            "dashclaw://code-sessions/projects"
        ]
    );
    let templates: Vec<&str> = s[0]["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uriTemplate"].as_str().unwrap())
        .collect();
    assert_eq!(
        templates,
        [
            "dashclaw://agent/{agent_id}/history",
            "dashclaw://code-sessions/sessions/{session_id}"
        ]
    );

    // Guard: the act goes through the hook engine (the same verdict a hook gets).
    assert_eq!(s[1]["isError"], false);
    assert_eq!(s[1]["json"]["decision"], "block", "{}", s[1]["text"]);
    assert_eq!(s[1]["json"]["policy"], "builtin:rm-root");
    let hook = home.hook("claude", "pre-tool-use", &bash_event("rm -rf /"));
    assert_eq!(hook.status.code(), Some(2), "the hook denies the same act");
    assert_eq!(s[2]["json"]["decision"], "allow", "{}", s[2]["text"]);
    // Bad arguments block; they never allow.
    assert_eq!(s[3]["json"]["decision"], "block");
    assert!(s[3]["text"].as_str().unwrap().contains("action_type"));

    // Record, policies, decisions: all local.
    assert_eq!(s[4]["json"]["recorded"], true, "{}", s[4]["text"]);
    let pol = &s[5]["json"];
    assert!(pol["counts"]["builtin"].as_u64().unwrap() > 10, "{pol}");
    assert!(pol["policies"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["id"] == "builtin:rm-root"));
    let recent = s[6]["json"]["decisions"].as_array().unwrap();
    assert!(!recent.is_empty() && recent.iter().all(|d| d["decision"] == "block"));
    assert!(recent
        .iter()
        .any(|d| d["summary"].as_str().unwrap().contains("clean the build")));

    // A server tool says what it needs, as a tool error.
    assert_eq!(s[7]["isError"], true);
    assert!(s[7]["text"]
        .as_str()
        .unwrap()
        .contains("needs a DashClaw server"));
    let sess = s[8]["json"]["session"]["id"].as_str().unwrap();
    assert!(sess.starts_with("sess_"));

    // Resources.
    assert_eq!(s[9]["json"]["health"]["status"], "ok");
    assert!(s[9]["json"]["daemon"]["pid"].as_u64().is_some());
    let hist = s[10]["json"]["actions"].as_array().unwrap();
    assert!(hist.iter().any(|a| a["event"] == "mcp-record"));
    assert!(s[11]["json"]["policies"].as_array().unwrap().len() > 10);

    // The ledger has it all, in the daemon's one chain.
    let ledger = home.ledger();
    let events: Vec<&str> = ledger
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert_eq!(events.iter().filter(|e| **e == "mcp-guard").count(), 3);
    assert!(events.contains(&"mcp-record") && events.contains(&"mcp-session-start"));
    assert!(home.dashclawd(&["log", "verify"]).status.success());
}

#[test]
fn offline_require_approval_goes_through_the_local_queue() {
    let Some(py) = python() else { return };
    let home = Home::new();
    std::fs::write(
        home.path().join("policies.toml"),
        "[[policy]]\nname = \"deploys-need-approval\"\npolicy_type = \"require_approval\"\n[policy.rules]\naction_types = [\"deploy\"]\n",
    )
    .unwrap();
    let deploy =
        json!({"action_type": "deploy", "declared_goal": "deploy to prod", "risk_score": 80});
    let out = session(
        &py,
        &home,
        json!([
            call("dashclaw_guard", deploy.clone()),
            call("dashclaw_policies_list", json!({"limit": 500})),
        ]),
    );
    let s = steps(&out);
    assert_eq!(
        s[0]["json"]["decision"], "require_approval",
        "{}",
        s[0]["text"]
    );
    let id = s[0]["json"]["action_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("ap_"), "{id}");
    assert!(s[1]["json"]["policies"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "deploys-need-approval"));

    // What `dashclawd approve` does at a person's terminal (tests/approvals_cli.rs drives the
    // prompt itself).
    let store = Approvals::open(&home.path().join("state/approvals.db")).unwrap();
    store.approve(&id, "alice", None, unix_now()).unwrap();
    let out = session(
        &py,
        &home,
        json!([
            call(
                "dashclaw_wait_for_approval",
                json!({"action_id": id, "timeout_seconds": 5, "poll_interval_seconds": 0.2})
            ),
            call("dashclaw_guard", deploy.clone()),
            call("dashclaw_guard", deploy),
        ]),
    );
    let s = steps(&out);
    assert_eq!(s[0]["json"]["approved"], true, "{}", s[0]["text"]);
    // The approval is used once: the retry runs, the next one asks again.
    assert_eq!(s[1]["json"]["decision"], "allow", "{}", s[1]["text"]);
    assert_eq!(s[2]["json"]["decision"], "require_approval");
}

#[test]
fn a_broken_configuration_or_daemon_makes_the_guard_block() {
    let Some(py) = python() else { return };
    let home = Home::new();
    std::fs::write(home.path().join("config.toml"), "this is = = not toml").unwrap();
    let out = session(
        &py,
        &home,
        json!([call(
            "dashclaw_guard",
            json!({"action_type": "research", "declared_goal": "read", "risk_score": 1})
        )]),
    );
    let g = &steps(&out)[0]["json"];
    assert_eq!(g["decision"], "block");
    assert!(
        g["reasons"][0]
            .as_str()
            .unwrap()
            .contains("configuration is broken"),
        "{g}"
    );

    // The daemon socket owned by nobody we trust: a file in its place, not a socket.
    let home = Home::new();
    std::fs::create_dir_all(home.path().join("run")).unwrap();
    std::fs::write(home.socket(), b"").unwrap();
    let lock = std::fs::File::create(home.path().join("run/dashclawd.lock")).unwrap();
    lock.try_lock().unwrap(); // no daemon can start here
    let out = session(
        &py,
        &home,
        json!([call(
            "dashclaw_guard",
            json!({"action_type": "research", "declared_goal": "read", "risk_score": 1})
        )]),
    );
    let g = &steps(&out)[0]["json"];
    assert_eq!(g["decision"], "block", "{g}");
    assert!(
        g["reasons"][0]
            .as_str()
            .unwrap()
            .contains("could not be answered"),
        "{g}"
    );
    drop(lock);
}

#[test]
fn against_the_server_the_tools_use_its_routes() {
    let Some(py) = python() else { return };
    let fake = FakeDashClaw::start(Flavor::Newest);
    fake.add_policy(
        "no-friday-deploys",
        "block_action_type",
        json!({"action_types": ["deploy"]}),
        None,
    );
    let home = Home::for_server(&fake.url(), &fake.api_key())
        .env("DASHCLAW_GUARD_TIMEOUT", "2")
        .env("DASHCLAW_AGENT_ID", "mcp-agent");
    fake.set_decision("allow");
    let out = session(
        &py,
        &home,
        json!([
            call("dashclaw_session_start", json!({"agent_id": "ignored", "workspace": "w"})),
            call("dashclaw_guard", json!({"action_type": "research", "declared_goal": format!("look at {SECRET}"), "risk_score": 10,
                                          "systems_touched": ["docs"], "agent_id": "model-picked"})),
            call("dashclaw_record", json!({"action_type": "deploy", "declared_goal": "shipped", "status": "completed",
                                           "output_summary": format!("used {SECRET}")})),
            call("dashclaw_policies_list", json!({})),
            call("dashclaw_decisions_recent", json!({})),
            call("dashclaw_posture", json!({})),
            {"op": "read", "uri": "dashclaw://agent/mcp-agent/history"},
        ]),
    );
    let s = steps(&out);
    let sid = s[0]["json"]["session"]["id"].as_str().unwrap().to_owned();
    assert!(fake
        .mcp_sessions()
        .iter()
        .any(|x| x["id"] == sid.as_str() && x["agent_id"] == "mcp-agent"));
    assert_eq!(s[1]["json"]["decision"], "allow", "{}", s[1]["text"]);
    assert_eq!(s[1]["json"]["source"], "server");
    let guards = fake.requests_to("/api/guard");
    let g = guards
        .iter()
        .find(|r| r.method == "POST" && r.path == "/api/guard")
        .expect("a guard request");
    let body = g.body_json.clone().unwrap();
    // The configured agent id wins over the model's.
    assert_eq!(body["agent_id"], "mcp-agent");
    assert_eq!(body["systems_touched"], json!(["docs"]));
    assert_eq!(g.header("x-api-key"), Some(fake.api_key().as_str()));

    assert_eq!(s[2]["isError"], false, "{}", s[2]["text"]);
    let actions = fake.actions();
    let rec = actions
        .iter()
        .find(|a| a["declared_goal"] == "shipped")
        .expect("the record reached the server");
    assert_eq!(rec["agent_id"], "mcp-agent");
    assert_eq!(rec["session_id"], sid.as_str(), "the session is stamped");
    // Secrets never leave the machine, nor reach the ledger.
    assert!(
        rec["output_summary"]
            .as_str()
            .unwrap()
            .contains("[REDACTED:github-pat]"),
        "{rec}"
    );
    assert!(
        body["declared_goal"]
            .as_str()
            .unwrap()
            .contains("[REDACTED:github-pat]"),
        "{body}"
    );
    let everything = format!(
        "{:?}{}",
        fake.requests(),
        serde_json::to_string(&home.ledger()).unwrap()
    );
    assert!(!everything.contains(SECRET));
    assert!(s[3]["json"]["policies"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "no-friday-deploys"));
    assert!(s[3]["json"]["local"]["counts"]["builtin"].as_u64().unwrap() > 0);
    let decisions = s[4]["json"]["decisions"].as_array().unwrap();
    assert!(decisions.iter().any(|d| d["action_type"] == "research"));
    // A route this server lacks is a tool error naming the cause.
    assert_eq!(s[5]["isError"], true);
    assert!(
        s[5]["text"]
            .as_str()
            .unwrap()
            .contains("does not have this endpoint"),
        "{}",
        s[5]["text"]
    );
    assert!(s[6]["json"]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["declared_goal"] == "shipped"));

    // The key is never printed: not in tool output, not in the ledger.
    let key = fake.api_key();
    assert!(!out.to_string().contains(&key));
    assert!(!serde_json::to_string(&home.ledger())
        .unwrap()
        .contains(&key));
}

#[test]
fn server_errors_and_timeouts_are_tool_errors_and_guard_failures_block() {
    let Some(py) = python() else { return };
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = Home::for_server(&fake.url(), &fake.api_key())
        .env("DASHCLAW_GUARD_TIMEOUT", "1")
        .env("DASHCLAW_MCP_TIMEOUT", "1");
    fake.set_decision("block");
    let guard = json!({"action_type": "deploy", "declared_goal": "ship", "risk_score": 50});
    fake.fault(
        "/api/policies",
        Fault::Status(
            500,
            r#"{"error":"db down","code":"DB_CONNECTION_FAILED"}"#.into(),
        ),
        100, // the daemon's own policy sync asks too
    );
    let out = session(
        &py,
        &home,
        json!([
            call("dashclaw_guard", guard.clone()),
            call("dashclaw_policies_list", json!({})),
        ]),
    );
    let s = steps(&out);
    assert_eq!(
        s[0]["json"]["decision"], "block",
        "the server's block stands"
    );
    assert_eq!(s[1]["isError"], true);
    let e = s[1]["text"].as_str().unwrap();
    assert!(
        e.contains("HTTP 500") && e.contains("DB_CONNECTION_FAILED"),
        "{e}"
    );

    fake.clear_faults();
    fake.set_decision("allow");
    fake.fault("/api/guard", Fault::Hang, 1);
    fake.fault("/api/guard/decisions", Fault::Hang, 1);
    let out = session(
        &py,
        &home,
        json!([
            call("dashclaw_guard", guard.clone()),
            call("dashclaw_decisions_recent", json!({})),
        ]),
    );
    let s = steps(&out);
    assert_eq!(s[0]["json"]["decision"], "block", "{}", s[0]["text"]);
    assert!(
        s[0]["text"]
            .as_str()
            .unwrap()
            .contains("did not answer within"),
        "{}",
        s[0]["text"]
    );
    assert_eq!(s[1]["isError"], true);
    assert!(
        s[1]["text"]
            .as_str()
            .unwrap()
            .contains("did not answer within 1.0s"),
        "{}",
        s[1]["text"]
    );

    fake.fault("/api/guard", Fault::Garbage, 1);
    let out = session(&py, &home, json!([call("dashclaw_guard", guard.clone())]));
    assert_eq!(steps(&out)[0]["json"]["decision"], "block");

    fake.stop();
    let out = session(
        &py,
        &home,
        json!([
            call("dashclaw_guard", guard),
            call("dashclaw_inbox_list", json!({}))
        ]),
    );
    let s = steps(&out);
    assert_eq!(s[0]["json"]["decision"], "block");
    assert!(
        s[0]["text"].as_str().unwrap().contains("unreachable"),
        "{}",
        s[0]["text"]
    );
    assert_eq!(s[1]["isError"], true);
    assert!(s[1]["text"].as_str().unwrap().contains("unreachable"));
    let blocked = home
        .ledger()
        .into_iter()
        .filter(|r| r["event"] == "mcp-guard" && r["verdict"] == "block")
        .count();
    assert_eq!(blocked, 4, "every guard is in the ledger");
}

#[test]
fn a_bad_key_is_named_and_never_printed() {
    let Some(py) = python() else { return };
    let fake = FakeDashClaw::start(Flavor::Newest);
    let wrong = "oc_live_not_the_right_key_0123456789";
    let home = Home::for_server(&fake.url(), wrong).env("DASHCLAW_GUARD_TIMEOUT", "2");
    let out = session(
        &py,
        &home,
        json!([
            call(
                "dashclaw_guard",
                json!({"action_type": "deploy", "declared_goal": "ship", "risk_score": 50})
            ),
            call("dashclaw_capabilities_list", json!({})),
        ]),
    );
    let s = steps(&out);
    assert_eq!(s[0]["json"]["decision"], "block");
    assert!(
        s[0]["text"].as_str().unwrap().contains("API key"),
        "{}",
        s[0]["text"]
    );
    assert_eq!(s[1]["isError"], true);
    assert!(
        s[1]["text"].as_str().unwrap().contains("unauthorized"),
        "{}",
        s[1]["text"]
    );
    assert!(!out.to_string().contains(wrong));
    assert!(!serde_json::to_string(&home.ledger())
        .unwrap()
        .contains(wrong));
    assert!(!home.log_text().contains(wrong));
}
