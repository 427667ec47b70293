//! End to end with the real Claude Code CLI, offline: `dashclawd install claude` registers
//! `dashclawd mcp` as the `dashclaw` MCP server, a scripted model on 127.0.0.1 calls
//! `mcp__dashclaw__dashclaw_guard`, and the guard's decision reaches the model. The PreToolUse
//! hook still gates the MCP call itself.
//!
//! Needs the pinned CLI (`.ci/install-claude.sh`, or `DASHCLAW_CLAUDE_BIN`);
//! `DASHCLAW_SKIP_E2E=1` skips when it is missing.

use dashclaw_testkit::agent_e2e;
use dashclaw_testkit::http;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use agent_e2e::*;
use http::{FakeHttp, Request, Response};
use serde_json::{json, Value};

const CLAUDE: AgentCli = AgentCli {
    name: "Claude Code",
    bin: "claude",
    version: "2.1.332",
};
const GUARD_TOOL: &str = "mcp__dashclaw__dashclaw_guard";

// ---------------------------------------------------------------------------------------------
// A scripted model: the first turn calls one tool, the next ends the turn.
// ---------------------------------------------------------------------------------------------

/// Answers `POST /v1/messages`: while no tool has answered and the named tool is offered, one
/// `tool_use` of it with `input`; afterwards an end of turn echoing the tool result.
struct Model {
    http: FakeHttp,
}

impl Model {
    fn start(tool: &'static str, input: Value) -> Model {
        let ids = AtomicU64::new(1);
        let http = FakeHttp::start(
            |m| {
                Response::json(400, json!({"type": "error", "error": {"type": "invalid_request_error", "message": m}}).to_string())
            },
            move |req| route(req, &ids, tool, &input),
        );
        Model { http }
    }

    fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http.port())
    }

    fn turns(&self) -> Vec<Value> {
        self.http
            .requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == "/v1/messages")
            .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
            .collect()
    }

    /// The first `tool_result` the client sent back: (text, is_error).
    fn tool_result(&self) -> Option<(String, bool)> {
        self.turns().iter().find_map(|t| {
            blocks(t).find(|b| b["type"] == "tool_result").map(|b| {
                (
                    text_of(&b["content"]),
                    b["is_error"].as_bool().unwrap_or(false),
                )
            })
        })
    }

    /// The tool names Claude Code offered the model.
    fn offered(&self) -> Vec<String> {
        self.turns()
            .first()
            .and_then(|t| t["tools"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|t| t["name"].as_str().map(str::to_owned))
            .collect()
    }
}

fn blocks(body: &Value) -> impl Iterator<Item = &Value> {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["content"].as_array().into_iter().flatten())
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn route(req: &Request, ids: &AtomicU64, tool: &str, input: &Value) -> Response {
    match (req.method.as_str(), req.path.as_str()) {
        ("HEAD", "/") => Response::new(200, "text/plain", ""),
        ("POST", "/v1/messages/count_tokens") => {
            Response::json(200, json!({"input_tokens": 10}).to_string())
        }
        ("POST", "/v1/messages") => {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let n = ids.fetch_add(1, Ordering::SeqCst);
            let offered = body["tools"]
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t["name"] == tool));
            let answered = blocks(&body).any(|b| b["type"] == "tool_result");
            let (content, stop) = if offered && !answered {
                (
                    json!([{"type": "tool_use", "id": format!("toolu_{n:024x}"), "name": tool, "input": input}]),
                    "tool_use",
                )
            } else {
                let last = blocks(&body)
                    .filter(|b| b["type"] == "tool_result")
                    .last()
                    .map(|b| text_of(&b["content"]))
                    .unwrap_or_else(|| "no tool".into());
                (
                    json!([{"type": "text", "text": format!("The tool said: {last}")}]),
                    "end_turn",
                )
            };
            let msg = json!({
                "id": format!("msg_{n:024x}"), "type": "message", "role": "assistant",
                "model": body["model"].as_str().unwrap_or("claude-fake"), "content": content,
                "stop_reason": stop, "stop_sequence": null,
                "usage": {"input_tokens": 10, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
            });
            if body["stream"].as_bool().unwrap_or(false) {
                Response::sse(sse(&msg))
            } else {
                Response::json(200, msg.to_string())
            }
        }
        _ => Response::json(
            404,
            json!({"type": "error", "error": {"type": "not_found_error", "message": "no route"}})
                .to_string(),
        ),
    }
}

/// The message as the Messages API's event stream.
fn sse(msg: &Value) -> String {
    let mut out = String::new();
    let mut ev = |name: &str, mut data: Value| {
        data["type"] = json!(name);
        out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    };
    let mut start = msg.clone();
    start["content"] = json!([]);
    start["stop_reason"] = Value::Null;
    ev("message_start", json!({"message": start}));
    for (i, b) in msg["content"].as_array().into_iter().flatten().enumerate() {
        let (open, delta) = if b["type"] == "tool_use" {
            (
                json!({"type": "tool_use", "id": b["id"], "name": b["name"], "input": {}}),
                json!({"type": "input_json_delta", "partial_json": b["input"].to_string()}),
            )
        } else {
            (
                json!({"type": "text", "text": ""}),
                json!({"type": "text_delta", "text": b["text"]}),
            )
        };
        ev(
            "content_block_start",
            json!({"index": i, "content_block": open}),
        );
        ev("content_block_delta", json!({"index": i, "delta": delta}));
        ev("content_block_stop", json!({"index": i}));
    }
    ev(
        "message_delta",
        json!({"delta": {"stop_reason": msg["stop_reason"], "stop_sequence": null}, "usage": {"output_tokens": 5}}),
    );
    ev("message_stop", json!({}));
    out
}

// ---------------------------------------------------------------------------------------------
// A Claude Code session with our hooks and MCP server, both from `dashclawd install claude`.
// ---------------------------------------------------------------------------------------------

struct Session {
    dir: PathBuf,
}

impl SessionDir for Session {
    fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Session {
    fn new(dir: PathBuf, dc: &DashClaw) -> Session {
        let s = Session { dir };
        for d in [s.home(), s.config_dir(), s.work_dir()] {
            std::fs::create_dir_all(d).unwrap();
        }
        // The user scope of this scratch HOME: hooks in settings.json, the server in .claude.json.
        let out = Command::new(DASHCLAWD)
            .args(["install", "claude", "--hook-bin", HOOK.as_str()])
            .env("DASHCLAW_HOME", &dc.home)
            .env("HOME", s.home())
            .env("CLAUDE_CONFIG_DIR", s.config_dir())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let cfg: Value =
            serde_json::from_slice(&std::fs::read(s.config_dir().join(".claude.json")).unwrap())
                .unwrap();
        assert_eq!(
            cfg["mcpServers"]["dashclaw"]["args"],
            json!(["mcp"]),
            "{cfg:#}"
        );
        s
    }

    fn config_dir(&self) -> PathBuf {
        self.home().join(".claude")
    }

    fn run(&self, claude: &Path, dc: &DashClaw, input: Value) -> (Model, Finished) {
        let model = Model::start(GUARD_TOOL, input);
        let mut cmd = Command::new(claude);
        cmd.env_clear()
            .env("PATH", AGENT_PATH)
            .env("HOME", self.home())
            .env("TERM", "dumb")
            .env("CLAUDE_CONFIG_DIR", self.config_dir())
            .env("ANTHROPIC_BASE_URL", model.base_url())
            .env("ANTHROPIC_API_KEY", "sk-ant-dummy")
            .env("DISABLE_AUTOUPDATER", "1")
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .env("DISABLE_TELEMETRY", "1")
            .env("DISABLE_ERROR_REPORTING", "1")
            // MCP tools are offered to the model directly, not behind a tool search.
            .env("ENABLE_TOOL_SEARCH", "false")
            .env("DASHCLAW_HOME", &dc.home)
            .args([
                "-p",
                "check with DashClaw before cleaning up",
                "--output-format",
                "json",
            ])
            .args(["--allowedTools", GUARD_TOOL])
            .current_dir(self.work_dir());
        let done = run_with_timeout(cmd, "claude", &self.dir, "stdout.json");
        eprintln!(
            "[e2e-mcp] {:.2}s claude ({}); tool result: {:?}",
            done.elapsed.as_secs_f64(),
            done.status,
            model.tool_result()
        );
        (model, done)
    }
}

fn report(model: &Model, done: &Finished, ledger: &[Value]) -> String {
    format!(
        "offered: {:?}\ntool result: {:?}\nexit: {}\nstdout: {}\nstderr: {}\nledger:\n{}",
        model.offered(),
        model.tool_result(),
        done.status,
        done.stdout,
        done.stderr,
        dump_ledger(ledger)
    )
}

fn rm_root_guard() -> Value {
    json!({
        "action_type": "shell", "declared_goal": "clean up the disk", "risk_score": 20,
        "act": {"kind": "shell", "command": "rm -rf /"},
    })
}

#[test]
fn the_model_calls_dashclaw_guard_over_mcp_and_reads_the_decision() {
    let Some(claude) = CLAUDE.find() else { return };
    let _one = one_at_a_time();
    let tmp = scratch_dir("dcmcp");
    let dc = DashClaw::new(tmp.path().join("dc"));
    let s = Session::new(tmp.path().join("s"), &dc);

    let (model, done) = s.run(&claude, &dc, rm_root_guard());
    let ledger = dc.ledger();
    let why = || report(&model, &done, &ledger);
    assert!(model.offered().iter().any(|t| t == GUARD_TOOL), "{}", why());
    let (text, is_error) = model.tool_result().unwrap_or_else(|| panic!("{}", why()));
    assert!(!is_error, "{}", why());
    let decision: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{}", why()));
    assert_eq!(decision["decision"], "block", "{}", why());
    assert_eq!(decision["policy"], "builtin:rm-root", "{}", why());

    // The hook let the MCP call through (it is a guard, not an act) and recorded it; the guard's
    // own decision is in the same ledger.
    let hook = ledger
        .iter()
        .find(|r| r["event"] == "pre-tool-use" && r["tool"] == GUARD_TOOL)
        .unwrap_or_else(|| panic!("the hook saw the MCP call\n{}", why()));
    assert_eq!(hook["verdict"], "allow", "{}", why());
    let guard = ledger
        .iter()
        .find(|r| r["event"] == "mcp-guard")
        .unwrap_or_else(|| panic!("{}", why()));
    assert_eq!(guard["verdict"], "block");
    assert!(dc.dashclawd(&["log", "verify"]).status.success());
}

#[test]
fn the_pre_tool_use_hook_still_gates_the_mcp_call_itself() {
    let Some(claude) = CLAUDE.find() else { return };
    let _one = one_at_a_time();
    let tmp = scratch_dir("dcmcp");
    let dc = DashClaw::new(tmp.path().join("dc"));
    // A user policy that blocks MCP tool calls (their action type is `api`).
    std::fs::write(
        dc.home.join("policies.toml"),
        "[[policy]]\nname = \"no-mcp-calls\"\npolicy_type = \"block_action_type\"\n[policy.rules]\naction_types = [\"api\"]\n",
    )
    .unwrap();
    let s = Session::new(tmp.path().join("s"), &dc);

    let (model, done) = s.run(&claude, &dc, rm_root_guard());
    let ledger = dc.ledger();
    let why = || report(&model, &done, &ledger);
    let (text, is_error) = model.tool_result().unwrap_or_else(|| panic!("{}", why()));
    assert!(is_error, "{}", why());
    assert!(
        text.contains("[DashClaw] Blocked") && text.contains("no-mcp-calls"),
        "{}",
        why()
    );
    let hook = ledger
        .iter()
        .find(|r| r["event"] == "pre-tool-use" && r["tool"] == GUARD_TOOL)
        .unwrap_or_else(|| panic!("{}", why()));
    assert_eq!(hook["verdict"], "block", "{}", why());
    assert!(
        !ledger.iter().any(|r| r["event"] == "mcp-guard"),
        "the MCP server never got the call\n{}",
        why()
    );
}

// ---------------------------------------------------------------------------------------------
// Codex: the same, through `[mcp_servers.dashclaw]` written by `dashclawd install codex`.
// ---------------------------------------------------------------------------------------------

const CODEX: AgentCli = AgentCli {
    name: "Codex",
    bin: "codex",
    version: "0.171.0",
};

/// A scripted Responses API: the first turn calls the offered tool `want` with `input`, the
/// next ends the turn.
fn responses_route(req: &Request, ids: &AtomicU64, want: &str, input: &Value) -> Response {
    if req.method != "POST" || req.path != "/v1/responses" {
        if req.path.ends_with("/models") {
            return Response::json(
                200,
                json!({"object": "list", "data": [], "models": []}).to_string(),
            );
        }
        return Response::json(404, json!({"error": {"message": "no route"}}).to_string());
    }
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let n = ids.fetch_add(1, Ordering::SeqCst);
    let items: Vec<&Value> = body["input"].as_array().into_iter().flatten().collect();
    let answered = items.iter().any(|i| {
        i["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("_call_output"))
    });
    let tool = tool_names(&body).into_iter().find(|t| t == want);
    let output = match (tool, answered) {
        (Some(name), false) => json!({
            "type": "function_call", "id": format!("fc_{n:024x}"), "status": "completed",
            "name": name, "arguments": input.to_string(), "call_id": format!("call_{n:024x}"),
        }),
        _ => json!({
            "type": "message", "role": "assistant", "id": format!("msg_{n:024x}"), "status": "completed",
            "content": [{"type": "output_text", "text": "done", "annotations": []}],
        }),
    };
    let resp = json!({"id": format!("resp_{n:024x}"), "object": "response", "model": "gpt-fake"});
    let mut out = String::new();
    let mut seq = 0u64;
    let mut ev = |name: &str, mut data: Value| {
        data["type"] = json!(name);
        data["sequence_number"] = json!(seq);
        seq += 1;
        out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    };
    let mut created = resp.clone();
    created["status"] = json!("in_progress");
    created["output"] = json!([]);
    ev("response.created", json!({"response": created}));
    ev(
        "response.output_item.added",
        json!({"output_index": 0, "item": output}),
    );
    ev(
        "response.output_item.done",
        json!({"output_index": 0, "item": output}),
    );
    let mut done = resp;
    done["status"] = json!("completed");
    done["output"] = json!([output]);
    done["usage"] = json!({"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 15});
    ev("response.completed", json!({"response": done}));
    Response::sse(out)
}

/// Tool names offered in a Responses request (function tools, and namespaced ones).
fn tool_names(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for t in body["tools"].as_array().into_iter().flatten() {
        if let Some(n) = t["name"].as_str() {
            out.push(n.to_owned());
        }
    }
    out
}

/// Codex 0.171 offers MCP tools only through its client-side tool search (a protocol the fake
/// model does not speak), so the model reads a DashClaw resource with Codex's own
/// `read_mcp_resource` tool: Codex starts the server from our `[mcp_servers.dashclaw]`, and
/// what the server answers reaches the model.
#[test]
fn codex_starts_the_registered_server_and_the_model_reads_a_dashclaw_resource() {
    let Some(codex) = CODEX.find() else { return };
    let _one = one_at_a_time();
    let tmp = scratch_dir("dcmcx");
    let dc = DashClaw::new(tmp.path().join("dc"));
    let dir = tmp.path().join("s");
    let (home, codex_home, work) = (dir.join("home"), dir.join("codex_home"), dir.join("work"));
    for d in [&home, &codex_home, &work] {
        std::fs::create_dir_all(d).unwrap();
    }
    let input = json!({"server": "dashclaw", "uri": "dashclaw://status"});
    let ids = AtomicU64::new(1);
    let model = FakeHttp::start(
        |m| Response::json(400, json!({"error": {"message": m}}).to_string()),
        move |req| responses_route(req, &ids, "read_mcp_resource", &input),
    );
    let config = codex_home.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "model = \"gpt-5.5-fake\"\nmodel_provider = \"fake\"\napproval_policy = \"never\"\n\
             sandbox_mode = \"danger-full-access\"\n\n[model_providers.fake]\nname = \"fake\"\n\
             base_url = \"http://127.0.0.1:{}/v1\"\nenv_key = \"FAKE_OPENAI_KEY\"\nwire_api = \"responses\"\n\
             request_max_retries = 0\nstream_max_retries = 0\n",
            model.port()
        ),
    )
    .unwrap();
    let out = Command::new(DASHCLAWD)
        .args(["install", "codex", "--config"])
        .arg(&config)
        .args(["--hook-bin", HOOK.as_str(), "--codex-bin"])
        .arg(&codex)
        .env_clear()
        .env("PATH", AGENT_PATH)
        .env("HOME", &home)
        .env("DASHCLAW_HOME", &dc.home)
        .current_dir(&work)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let mut cmd = Command::new(&codex);
    cmd.env_clear()
        .env("PATH", AGENT_PATH)
        .env("HOME", &home)
        .env("CODEX_HOME", &codex_home)
        .env("TERM", "dumb")
        .env("SHELL", "/bin/bash")
        .env("FAKE_OPENAI_KEY", "dummy")
        .args([
            "exec",
            "--skip-git-repo-check",
            "--json",
            "what does DashClaw say?",
        ])
        .current_dir(&work);
    let done = run_with_timeout(cmd, "codex", &dir, "stdout.jsonl");
    let turns: Vec<Value> = model
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/responses"))
        .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
        .collect();
    let output = turns.iter().find_map(|t| {
        t["input"].as_array().into_iter().flatten().find_map(|i| {
            i["type"]
                .as_str()
                .is_some_and(|ty| ty.ends_with("_call_output"))
                .then(|| i["output"].to_string())
        })
    });
    let why = format!(
        "offered: {:?}\noutput: {output:?}\nexit: {}\nstdout: {}\nstderr: {}",
        turns.first().map(tool_names).unwrap_or_default(),
        done.status,
        done.stdout,
        done.stderr,
    );
    let text = output.unwrap_or_else(|| panic!("no tool output reached the model\n{why}"));
    // The status resource, as our server renders it: offline mode and the daemon's pid.
    assert!(
        text.contains("mode") && text.contains("local") && text.contains("pid"),
        "{why}"
    );
}
