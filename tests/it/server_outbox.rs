//! What happens after a governed call (outcomes, Stop's token attribution) goes through the
//! durable outbox: the hook returns once the event is on disk, delivery survives outages and
//! `kill -9`, honours 429, and the server ends up with each record exactly once.

use dashclaw_testkit::fake_dashclaw;
use dashclaw_testkit::harness as common;

use std::time::{Duration, Instant};

use common::*;
use fake_dashclaw::{FakeDashClaw, Flavor};
use serde_json::{json, Value};

fn governed(fake: &FakeDashClaw) -> Home {
    Home::for_server(&fake.url(), &fake.api_key())
}

fn pre(command: &str, tu: &str) -> Vec<u8> {
    json!({"session_id": "sess-o", "cwd": "/tmp", "tool_name": "Bash",
           "tool_input": {"command": command}, "tool_use_id": tu})
    .to_string()
    .into_bytes()
}

fn post(tu: &str, response: Value) -> Vec<u8> {
    json!({"session_id": "sess-o", "cwd": "/tmp", "tool_name": "Bash",
           "tool_input": {"command": "x"}, "tool_response": response, "tool_use_id": tu})
    .to_string()
    .into_bytes()
}

fn the_action(fake: &FakeDashClaw) -> Value {
    let actions = fake.actions();
    assert_eq!(actions.len(), 1, "{actions:?}");
    actions[0].clone()
}

#[test]
fn outcomes_are_delivered_once_even_when_the_hook_fires_twice() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = governed(&fake);
    assert_eq!(
        home.hook("claude", "pre-tool-use", &pre("make test", "o1"))
            .status
            .code(),
        Some(0)
    );
    let response = json!({"stdout": "", "stderr": "boom", "exit_code": 2});
    for _ in 0..2 {
        let out = home.hook("claude", "post-tool-use", &post("o1", response.clone()));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    eventually(10, "the outcome", || {
        the_action(&fake)["outcome_status"] == "failed"
    });
    eventually(10, "both deliveries attempted", || {
        fake.requests_to("/api/actions/")
            .iter()
            .filter(|r| r.path.ends_with("/outcome"))
            .count()
            == 2
    });
    let outcomes: Vec<_> = fake
        .requests_to("/api/actions/")
        .into_iter()
        .filter(|r| r.path.ends_with("/outcome"))
        .collect();
    assert_eq!(outcomes[0].body_json.as_ref().unwrap()["status"], "failed");
    // First writer wins; the second got 409 and was counted as delivered, not retried.
    std::thread::sleep(Duration::from_millis(500));
    let status = home.dashclawd(&["status", "--json"]);
    let s: Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(s["server"]["outbox"]["pending"], 0, "{s}");
    assert_eq!(s["server"]["outbox"]["parked"], 0, "{s}");
}

#[test]
fn outcomes_wait_out_an_outage_and_a_kill_9() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = governed(&fake);
    assert_eq!(
        home.hook("claude", "pre-tool-use", &pre("make", "k1"))
            .status
            .code(),
        Some(0)
    );
    let id = the_action(&fake)["action_id"].as_str().unwrap().to_owned();
    fake.stop();
    let start = Instant::now();
    let out = home.hook(
        "claude",
        "post-tool-use",
        &post("k1", json!({"stdout": "built"})),
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "the hook does not wait for the server"
    );
    // The daemon dies with the event only in its outbox.
    let pid = home.daemon_pid().unwrap();
    kill_9(pid);
    fake.restart();
    // The next hook starts a new daemon, which delivers what the old one had kept.
    let out = home.hook(
        "claude",
        "session-start",
        br#"{"session_id":"sess-o","cwd":"/tmp"}"#,
    );
    assert_eq!(out.status.code(), Some(0));
    eventually(20, "the outcome after restart", || {
        fake.action(&id)
            .is_some_and(|a| a["outcome_status"] == "completed")
    });
}

fn kill_9(pid: i32) {
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    std::thread::sleep(Duration::from_millis(100));
}

#[test]
fn rate_limits_are_waited_out_with_retry_after() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = governed(&fake);
    assert_eq!(
        home.hook("claude", "pre-tool-use", &pre("make", "r1"))
            .status
            .code(),
        Some(0)
    );
    fake.set_retry_after(1);
    fake.rate_limit(2);
    assert_eq!(
        home.hook(
            "claude",
            "post-tool-use",
            &post("r1", json!({"stdout": "ok"}))
        )
        .status
        .code(),
        Some(0)
    );
    eventually(15, "the outcome after the 429s", || {
        the_action(&fake)["outcome_status"] == "completed"
    });
}

#[test]
fn v2_servers_get_outcomes_by_patch_and_stop_closes_only_the_running_row() {
    let fake = FakeDashClaw::start(Flavor::V2);
    let home = governed(&fake);
    let transcript = home.path().join("t.jsonl");
    let usage = |id: &str| json!({"type":"assistant","sessionId":"sess-o","message":{"id":id,"model":"claude-test","content":[{"type":"text","text":"done\nASSUMPTIONS I'M MAKING:\n1. staging only"}],"usage":{"input_tokens":100,"output_tokens":40,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}});
    std::fs::write(&transcript, format!("{}\n", usage("m1"))).unwrap();
    for tu in ["s1", "s2"] {
        assert_eq!(
            home.hook("claude", "pre-tool-use", &pre("make", tu))
                .status
                .code(),
            Some(0)
        );
    }
    assert_eq!(
        home.hook(
            "claude",
            "post-tool-use",
            &post("s1", json!({"stdout": "ok"}))
        )
        .status
        .code(),
        Some(0)
    );
    let stop = json!({"session_id": "sess-o", "cwd": "/tmp", "transcript_path": transcript, "hook_event_name": "Stop"});
    assert_eq!(
        home.hook("claude", "stop", stop.to_string().as_bytes())
            .status
            .code(),
        Some(0)
    );
    eventually(15, "both rows closed", || {
        let a = fake.actions();
        a.len() == 2 && a.iter().all(|r| r["status"] == "completed")
    });
    let patches = fake.requests_to("/api/actions/");
    assert!(patches
        .iter()
        .all(|r| !r.path.ends_with("/outcome") || r.method == "POST"));
    let bodies: Vec<Value> = patches
        .iter()
        .filter(|r| r.method == "PATCH")
        .filter_map(|r| r.body_json.clone())
        .collect();
    // The outcome of s1, then Stop's close of s2 only (v2.0 ignores close_if_running, so the
    // daemon read the row first); v2.0 drops token fields, so none are sent.
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert_eq!(bodies[0]["output_summary"], "ok");
    assert_eq!(bodies[1]["output_summary"], "Auto-closed by Stop hook");
    assert!(bodies.iter().all(|b| b.get("tokens_in").is_none()));
    let s1 = fake
        .actions()
        .into_iter()
        .find(|a| a["output_summary"] == "ok");
    assert!(s1.is_some(), "the outcome text was kept");
}

#[test]
fn newest_servers_get_the_turns_tokens_on_every_action_and_a_close_only_on_the_running_one() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = governed(&fake);
    let transcript = home.path().join("t.jsonl");
    let line = json!({"type":"assistant","sessionId":"sess-o","message":{"id":"m1","model":"claude-test","content":[],"usage":{"input_tokens":100,"output_tokens":40,"cache_read_input_tokens":0,"cache_creation_input_tokens":0}}});
    std::fs::write(&transcript, format!("{line}\n")).unwrap();
    for tu in ["n1", "n2"] {
        assert_eq!(
            home.hook("claude", "pre-tool-use", &pre("make", tu))
                .status
                .code(),
            Some(0)
        );
    }
    assert_eq!(
        home.hook(
            "claude",
            "post-tool-use",
            &post("n1", json!({"stdout": "ok"}))
        )
        .status
        .code(),
        Some(0)
    );
    let stop = json!({"session_id": "sess-o", "cwd": "/tmp", "transcript_path": transcript, "hook_event_name": "Stop"});
    assert_eq!(
        home.hook("claude", "stop", stop.to_string().as_bytes())
            .status
            .code(),
        Some(0)
    );
    eventually(15, "both token shares", || {
        fake.requests_to("/api/actions/")
            .iter()
            .filter(|r| r.method == "PATCH")
            .count()
            == 2
    });
    let bodies: Vec<Value> = fake
        .requests_to("/api/actions/")
        .iter()
        .filter(|r| r.method == "PATCH")
        .filter_map(|r| r.body_json.clone())
        .collect();
    let tokens: u64 = bodies
        .iter()
        .map(|b| b["tokens_in"].as_u64().unwrap())
        .sum();
    assert_eq!(
        tokens, 100,
        "the turn's tokens are split across its actions"
    );
    assert!(bodies.iter().all(|b| b["model"] == "claude-test"));
    let closes: Vec<&Value> = bodies
        .iter()
        .filter(|b| b.get("status").is_some())
        .collect();
    assert_eq!(
        closes.len(),
        1,
        "only the call without an outcome is closed: {bodies:?}"
    );
    assert_eq!(closes[0]["close_if_running"], true);
}

#[test]
fn session_end_reports_the_agent_offline_through_the_lazy_presence_table() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    fake.set_heartbeat_needs_init(true);
    let home = governed(&fake).env("DASHCLAW_AGENT_ID", "ci-bot");
    let end = json!({"session_id": "sess-o", "cwd": "/tmp", "hook_event_name": "SessionEnd", "reason": "exit"});
    assert_eq!(
        home.hook("claude", "session-end", end.to_string().as_bytes())
            .status
            .code(),
        Some(0)
    );
    eventually(10, "the offline heartbeat after the 503 RETRY", || {
        fake.requests_to("/api/agents/heartbeat").len() == 2
    });
    let beats = fake.requests_to("/api/agents/heartbeat");
    let body = beats[1].body_json.clone().unwrap();
    assert_eq!(body["agent_id"], "ci-bot");
    assert_eq!(body["status"], "offline");
}

#[test]
fn the_outbox_budget_drops_the_oldest_and_the_ledger_names_each() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = governed(&fake).env("DASHCLAW_GUARD_UNAVAILABLE_POLICY", "allow");
    std::fs::write(
        home.path().join("config.toml"),
        "[server]\noutbox_budget_mib = 0.01\n",
    )
    .unwrap();
    fake.stop();
    // Each call the server missed is an orphan of about 1.5 KB: 10 KiB hold a handful.
    for i in 0..15 {
        let out = home.hook("claude", "pre-tool-use", &pre("make", &format!("b{i}")));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let dropped: Vec<Value> = home
        .ledger()
        .into_iter()
        .filter(|r| r["event"] == "outbox-dropped")
        .collect();
    assert!(!dropped.is_empty(), "nothing dropped");
    assert!(
        dropped[0]["summary"].as_str().unwrap().contains("orphan"),
        "{}",
        dropped[0]
    );
    // What was kept is delivered when the server is back; what was dropped is not.
    fake.restart();
    eventually(20, "the kept orphans", || {
        let dropped = home
            .ledger()
            .into_iter()
            .filter(|r| r["event"] == "outbox-dropped")
            .count();
        fake.actions().len() == 15 - dropped
    });
}

#[test]
fn a_codex_turn_goes_to_ingest_live_and_its_tokens_to_the_turns_actions() {
    let fake = FakeDashClaw::start(Flavor::Newest);
    let home = governed(&fake);
    let session = "019ac0de-0000-7000-8000-000000000001";
    let rollout = home.path().join("rollout.jsonl");
    let codex = |event: &str, extra: Value| {
        let mut v = json!({"session_id": session, "turn_id": "t1", "cwd": "/work/proj",
                           "transcript_path": rollout, "hook_event_name": event, "model": "gpt-test"});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v.to_string().into_bytes()
    };
    let pre = codex(
        "PreToolUse",
        json!({"tool_name": "Bash", "tool_input": {"command": "make"}, "tool_use_id": "call_1"}),
    );
    assert_eq!(
        home.hook("codex", "pre-tool-use", &pre).status.code(),
        Some(0)
    );
    let lines = [
        json!({"timestamp":"2026-11-29T10:00:00Z","type":"turn_context","payload":{"model":"gpt-test","cwd":"/work/proj"}}),
        json!({"timestamp":"2026-11-29T10:00:01Z","type":"response_item","payload":{"type":"function_call","name":"shell","call_id":"call_1","arguments":"{\"command\":[\"make\"],\"workdir\":\"/work/proj\"}"}}),
        json!({"timestamp":"2026-11-29T10:00:02Z","type":"event_msg","payload":{"type":"token_count","info":{"last_token_usage":{"input_tokens":1000,"cached_input_tokens":800,"output_tokens":50,"reasoning_output_tokens":0}}}}),
        json!({"timestamp":"2026-11-29T10:00:03Z","type":"response_item","payload":{"type":"message","role":"assistant","content":[{"type":"output_text","text":"built it, secret ghp_16C7e42F292c6912E7710c838347Ae178B4a"}]}}),
    ];
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(&rollout, text).unwrap();
    let stop = codex("Stop", json!({"stop_hook_active": false}));
    assert_eq!(home.hook("codex", "stop", &stop).status.code(), Some(0));
    eventually(10, "the turn", || fake.live_turns(session).len() == 1);
    let turn = &fake.live_turns(session)[0];
    let all = turn.to_string();
    assert!(all.contains("gpt-test"), "{turn}");
    assert!(all.contains("call_1"), "{turn}");
    assert!(!all.contains("built it"), "metadata only: {turn}");
    // The close of the turn's action carries its tokens: input less cache, plus a tenth of it.
    eventually(10, "the close", || {
        fake.requests_to("/api/actions/").iter().any(|r| {
            r.method == "PATCH" && r.body_json.as_ref().is_some_and(|b| b["tokens_in"] == 280)
        })
    });
    let end = codex("SessionEnd", json!({"reason": "exit"}));
    assert_eq!(
        home.hook("codex", "session-end", &end).status.code(),
        Some(0)
    );
    eventually(10, "the finalize", || {
        fake.requests_to("/api/code-sessions/ingest-live")
            .iter()
            .any(|r| r.body_json.as_ref().is_some_and(|b| b["finalize"] == true))
    });
}
