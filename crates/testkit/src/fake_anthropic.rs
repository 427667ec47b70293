//! A fake Anthropic Messages API on 127.0.0.1 for driving the real Claude Code CLI offline
//! (agent-hooks.md §7).
//!
//! The "model" is scripted by the prompt: when the first user message contains `RUN<<cmd>>` and
//! no tool has answered yet, it asks for one `Bash` call running `cmd`; afterwards it ends the
//! turn, echoing the last tool result. Every request is kept in memory so a test can read what
//! the client told the model (the `tool_result` after a hook denial, for instance).
//!
//! The HTTP side is the shared fake server of http.rs.

use crate::http;

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};

pub use http::Request;
use http::{FakeHttp, Response};

const MARKER_OPEN: &str = "RUN<<";
const MARKER_CLOSE: &str = ">>";

/// A `tool_result` block the client sent back to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    pub tool_use_id: String,
    /// Text blocks joined with newlines when the client sent a list.
    pub content: String,
    pub is_error: bool,
}

pub struct FakeAnthropic {
    http: FakeHttp,
}

impl FakeAnthropic {
    /// Binds an ephemeral port and serves until dropped.
    pub fn start() -> FakeAnthropic {
        let ids = AtomicU64::new(1);
        let http = FakeHttp::start(
            |msg| Response::json(400, error_json("invalid_request_error", msg)),
            move |req| route(req, &ids),
        );
        FakeAnthropic { http }
    }

    /// The value for `ANTHROPIC_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http.port())
    }

    pub fn requests(&self) -> Vec<Request> {
        self.http.requests()
    }

    /// Sends raw HTTP to the server and returns the whole reply; for the server's own tests.
    pub fn raw(&self, request: &str) -> String {
        self.http.raw(request)
    }

    /// Bodies of the model turns (`POST /v1/messages`), in arrival order.
    pub fn message_requests(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == "/v1/messages")
            .map(|r| json_body(&r))
            .collect()
    }

    /// Every `tool_result` block of every model turn, in order. A tool result is repeated in
    /// later turns (the whole conversation is resent), so tests usually want the first one.
    pub fn tool_results(&self) -> Vec<ToolResult> {
        let mut seen = Vec::new();
        for body in self.message_requests() {
            for block in blocks(&body) {
                if block["type"] == "tool_result" {
                    let result = ToolResult {
                        tool_use_id: block["tool_use_id"].as_str().unwrap_or("").to_string(),
                        content: content_text(&block["content"]),
                        is_error: block["is_error"].as_bool().unwrap_or(false),
                    };
                    if !seen.contains(&result) {
                        seen.push(result);
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
        // Connectivity probe of older clients.
        ("HEAD", "/") => Response::new(200, "text/plain", ""),
        ("POST", "/v1/messages/count_tokens") => {
            let n = (req.body.len() / 4).max(1);
            Response::json(200, json!({ "input_tokens": n }).to_string())
        }
        ("POST", "/v1/messages") => {
            let body = json_body(req);
            let n = ids.fetch_add(1, Ordering::SeqCst);
            let message = model_turn(&body, n);
            if body["stream"].as_bool().unwrap_or(false) {
                Response::sse(sse(&message))
            } else {
                Response::json(200, message.to_string())
            }
        }
        _ => {
            let msg = format!("no route for {} {}", req.method, req.path);
            Response::json(404, error_json("not_found_error", &msg))
        }
    }
}

/// All content blocks of all messages (any role: 2.1.332 also sends `role: "system"` entries).
fn blocks(body: &Value) -> impl Iterator<Item = &Value> {
    body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|m| m["content"].as_array().into_iter().flatten())
}

/// A `content` that is either a string or a list of blocks, as plain text.
fn content_text(content: &Value) -> String {
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

fn error_json(kind: &str, message: &str) -> String {
    json!({ "type": "error", "error": { "type": kind, "message": message } }).to_string()
}

/// The scripted model: one Bash call for the `RUN<<cmd>>` marker, then an echo of its result.
fn model_turn(req: &Value, n: u64) -> Value {
    let has_tools = req["tools"].as_array().is_some_and(|t| !t.is_empty());
    let answered = blocks(req).any(|b| b["type"] == "tool_result");
    let command = first_user_message(req).and_then(find_marker);

    let (content, stop_reason) = match command {
        Some(cmd) if has_tools && !answered => (
            json!([
                { "type": "text", "text": "Running the requested command." },
                {
                    "type": "tool_use",
                    "id": format!("toolu_{n:024x}"),
                    "name": "Bash",
                    "input": { "command": cmd, "description": "Run the requested command" }
                }
            ]),
            "tool_use",
        ),
        _ => {
            let last = blocks(req)
                .filter(|b| b["type"] == "tool_result")
                .last()
                .map(|b| content_text(&b["content"]));
            let text = match last {
                Some(t) => format!("The tool said: {t}"),
                None => "Nothing to do.".to_string(),
            };
            (json!([{ "type": "text", "text": text }]), "end_turn")
        }
    };
    json!({
        "id": format!("msg_{n:024x}"),
        "type": "message",
        "role": "assistant",
        "model": req["model"].as_str().unwrap_or("claude-fake"),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": { "input_tokens": 10, "output_tokens": 5,
                   "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0 }
    })
}

fn first_user_message(req: &Value) -> Option<&Value> {
    req["messages"]
        .as_array()?
        .iter()
        .find(|m| m["role"] == "user")
}

/// Searches every text block: the prompt follows `<system-reminder>` blocks, not the first one.
fn find_marker(message: &Value) -> Option<String> {
    let texts: Vec<&str> = match &message["content"] {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(|b| b["text"].as_str()).collect(),
        _ => vec![],
    };
    texts.into_iter().find_map(|t| {
        let start = t.find(MARKER_OPEN)? + MARKER_OPEN.len();
        let len = t[start..].find(MARKER_CLOSE)?;
        Some(t[start..start + len].to_string())
    })
}

/// Renders a complete message as the SSE stream of §7.5.
fn sse(message: &Value) -> String {
    let mut out = String::new();
    let mut event = |name: &str, mut data: Value| {
        data["type"] = json!(name);
        out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    };
    let mut start = message.clone();
    start["content"] = json!([]);
    start["stop_reason"] = Value::Null;
    start["usage"]["output_tokens"] = json!(1);
    event("message_start", json!({ "message": start }));
    event("ping", json!({}));
    for (i, block) in message["content"]
        .as_array()
        .into_iter()
        .flatten()
        .enumerate()
    {
        let (opening, delta) = match block["type"].as_str() {
            Some("tool_use") => (
                json!({ "type": "tool_use", "id": block["id"], "name": block["name"], "input": {} }),
                json!({ "type": "input_json_delta", "partial_json": block["input"].to_string() }),
            ),
            _ => (
                json!({ "type": "text", "text": "" }),
                json!({ "type": "text_delta", "text": block["text"] }),
            ),
        };
        event(
            "content_block_start",
            json!({ "index": i, "content_block": opening }),
        );
        event("content_block_delta", json!({ "index": i, "delta": delta }));
        event("content_block_stop", json!({ "index": i }));
    }
    event(
        "message_delta",
        json!({
            "delta": { "stop_reason": message["stop_reason"], "stop_sequence": null },
            "usage": { "output_tokens": 5 }
        }),
    );
    event("message_stop", json!({}));
    out
}
