//! A fake OpenAI Responses API on 127.0.0.1 for driving the real Codex CLI offline
//! (agent-hooks.md §9).
//!
//! The "model" is scripted by the prompt: `RUN<<cmd>>` asks for one `exec_command` call running
//! `cmd`, `PATCH<<patch>>` for one `apply_patch` custom tool call with `patch` as its input (`\n`
//! written as the two characters `\n` in the prompt); once a tool output is in the input, it ends
//! the turn echoing that output. Every request is kept so a test can read what Codex told the
//! model (the function_call_output after a hook denial, for instance).
//!
//! The HTTP side is the shared fake server of http.rs.

use crate::http;

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};

pub use http::Request;
use http::{FakeHttp, Response};

const RUN_OPEN: &str = "RUN<<";
const PATCH_OPEN: &str = "PATCH<<";
const MARKER_CLOSE: &str = ">>";

/// A tool output Codex sent back to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    pub call_id: String,
    /// `function_call_output` or `custom_tool_call_output`.
    pub kind: String,
    pub output: String,
}

pub struct FakeOpenAi {
    http: FakeHttp,
}

impl FakeOpenAi {
    /// Binds an ephemeral port and serves until dropped.
    pub fn start() -> FakeOpenAi {
        let ids = AtomicU64::new(1);
        let http = FakeHttp::start(
            |msg| {
                let body = json!({"error": {"message": msg, "type": "invalid_request_error"}});
                Response::json(400, body.to_string())
            },
            move |req| route(req, &ids),
        );
        FakeOpenAi { http }
    }

    /// The provider `base_url` for Codex's config.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.http.port())
    }

    pub fn requests(&self) -> Vec<Request> {
        self.http.requests()
    }

    /// Sends raw HTTP to the server and returns the whole reply; for the server's own tests.
    pub fn raw(&self, request: &str) -> String {
        self.http.raw(request)
    }

    /// Bodies of the model turns (`POST /v1/responses`), in arrival order.
    pub fn response_requests(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == "/v1/responses")
            .map(|r| json_body(&r))
            .collect()
    }

    /// Every tool output of every model turn, deduplicated (the whole input is resent).
    pub fn tool_outputs(&self) -> Vec<ToolOutput> {
        let mut seen = Vec::new();
        for body in self.response_requests() {
            for item in items(&body) {
                let kind = item["type"].as_str().unwrap_or("");
                if kind == "function_call_output" || kind == "custom_tool_call_output" {
                    let out = ToolOutput {
                        call_id: item["call_id"].as_str().unwrap_or("").to_string(),
                        kind: kind.to_string(),
                        output: output_text(&item["output"]),
                    };
                    if !seen.contains(&out) {
                        seen.push(out);
                    }
                }
            }
        }
        seen
    }
}

/// The body parsed as JSON; `Value::Null` when it is empty or not JSON.
fn json_body(req: &Request) -> Value {
    serde_json::from_slice(&req.body).unwrap_or(Value::Null)
}

fn route(req: &Request, ids: &AtomicU64) -> Response {
    match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/v1/responses") => {
            let body = json_body(req);
            let n = ids.fetch_add(1, Ordering::SeqCst);
            let output = model_turn(&body, n);
            let response = json!({
                "id": format!("resp_{n:024x}"),
                "object": "response",
                "model": body["model"].as_str().unwrap_or("gpt-fake"),
            });
            Response::sse(sse(&response, &output))
        }
        ("GET", p) if p.ends_with("/models") => {
            let reply = json!({"object": "list", "data": [], "models": []});
            Response::json(200, reply.to_string())
        }
        _ => {
            let msg = format!("no route for {} {}", req.method, req.path);
            let body = json!({"error": {"message": msg, "type": "not_found"}});
            Response::json(404, body.to_string())
        }
    }
}

fn items(body: &Value) -> impl Iterator<Item = &Value> {
    body["input"].as_array().into_iter().flatten()
}

/// An output that is a string, or a list of `{type, text}` content parts.
fn output_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Object(o) => o
            .get("content")
            .map(output_text)
            .unwrap_or_else(|| v.to_string()),
        _ => String::new(),
    }
}

/// All user text of the request, in order.
fn user_text(req: &Value) -> String {
    items(req)
        .filter(|i| i["role"] == "user")
        .flat_map(|i| match &i["content"] {
            Value::String(s) => vec![s.clone()],
            Value::Array(parts) => parts
                .iter()
                .filter_map(|p| p["text"].as_str().map(str::to_owned))
                .collect(),
            _ => vec![],
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn marker(text: &str, open: &str) -> Option<String> {
    let start = text.find(open)? + open.len();
    let len = text[start..].find(MARKER_CLOSE)?;
    Some(text[start..start + len].to_string())
}

/// The scripted model turn: the output items of one response.
fn model_turn(req: &Value, n: u64) -> Vec<Value> {
    let answered = items(req).any(|i| {
        i["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("_call_output"))
    });
    let text = user_text(req);
    let tools: Vec<&str> = req["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["name"].as_str())
        .collect();
    let call_id = format!("call_{n:024x}");
    if !answered {
        if let Some(patch) = marker(&text, PATCH_OPEN) {
            return vec![json!({
                "type": "custom_tool_call", "id": format!("ctc_{n:024x}"), "status": "completed",
                "name": "apply_patch", "input": patch.replace("\\n", "\n"), "call_id": call_id,
            })];
        }
        if let Some(cmd) = marker(&text, RUN_OPEN) {
            // The current shell tool, else the older ones (agent-hooks.md §9.4).
            let (name, args) = if tools.contains(&"exec_command") || tools.is_empty() {
                ("exec_command", json!({ "cmd": cmd }))
            } else if tools.contains(&"shell_command") {
                ("shell_command", json!({ "command": cmd }))
            } else {
                ("shell", json!({ "command": ["bash", "-lc", cmd] }))
            };
            return vec![json!({
                "type": "function_call", "id": format!("fc_{n:024x}"), "status": "completed",
                "name": name, "arguments": args.to_string(), "call_id": call_id,
            })];
        }
    }
    let last = items(req)
        .filter(|i| {
            i["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("_call_output"))
        })
        .last()
        .map(|i| output_text(&i["output"]));
    let reply = match last {
        Some(t) => format!("The tool said: {t}"),
        None => "Nothing to do.".to_string(),
    };
    vec![json!({
        "type": "message", "role": "assistant", "id": format!("msg_{n:024x}"), "status": "completed",
        "content": [{ "type": "output_text", "text": reply, "annotations": [] }],
    })]
}

/// The SSE stream of agent-hooks.md §9.5.
fn sse(response: &Value, output: &[Value]) -> String {
    let mut out = String::new();
    let mut seq = 0u64;
    let mut event = |name: &str, mut data: Value| {
        data["type"] = json!(name);
        data["sequence_number"] = json!(seq);
        seq += 1;
        out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    };
    let mut created = response.clone();
    created["status"] = json!("in_progress");
    created["output"] = json!([]);
    event("response.created", json!({ "response": created }));
    for (i, item) in output.iter().enumerate() {
        let mut added = item.clone();
        if item["type"] == "message" {
            added["content"] = json!([]);
            added["status"] = json!("in_progress");
        }
        event(
            "response.output_item.added",
            json!({ "output_index": i, "item": added }),
        );
        if item["type"] == "message" {
            let text = item["content"][0]["text"].clone();
            event(
                "response.output_text.delta",
                json!({ "item_id": item["id"], "output_index": i, "content_index": 0, "delta": text }),
            );
        }
        event(
            "response.output_item.done",
            json!({ "output_index": i, "item": item }),
        );
    }
    let mut done = response.clone();
    done["status"] = json!("completed");
    done["output"] = json!(output);
    done["usage"] = json!({
        "input_tokens": 10, "input_tokens_details": { "cached_tokens": 0 },
        "output_tokens": 5, "output_tokens_details": { "reasoning_tokens": 0 },
        "total_tokens": 15
    });
    event("response.completed", json!({ "response": done }));
    out
}
