//! A fake OpenAI-compatible Chat Completions API on 127.0.0.1 for driving the real Hermes and
//! OpenClaw agents offline (both speak `/v1/chat/completions` to a custom base URL).
//!
//! The "model" is scripted by the prompt: each `RUN<<cmd>>` asks for one shell tool call running
//! `cmd` (several in one prompt: several calls in one turn), with the agent's own shell tool picked from the tools the request offers (`terminal`
//! for Hermes, `exec` for OpenClaw); once a tool result follows that prompt, it ends the turn
//! echoing that result. Streaming (`"stream": true`, server-sent chunks) and plain answers are
//! both served. Every request is kept so a test can read what the agent told the model.
//!
//! The HTTP side is the shared fake server of http.rs.

use crate::http;

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{json, Value};

pub use http::Request;
use http::{FakeHttp, Response};

/// The model id agents are configured with.
pub const MODEL: &str = "fake-model";
/// Shell tools, in the order they are preferred when a request offers several.
const SHELL_TOOLS: &[&str] = &["terminal", "exec", "bash"];

pub struct FakeChat {
    http: FakeHttp,
}

impl FakeChat {
    /// Binds an ephemeral port and serves until dropped.
    pub fn start() -> FakeChat {
        let ids = AtomicU64::new(1);
        let http = FakeHttp::start(
            |msg| {
                let body = json!({"error": {"message": msg, "type": "invalid_request_error"}});
                Response::json(400, body.to_string())
            },
            move |req| route(req, &ids),
        );
        FakeChat { http }
    }

    /// The provider base URL (`…/v1`).
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

    /// Bodies of the model turns (`POST …/chat/completions`), in arrival order.
    pub fn completions(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/chat/completions"))
            .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
            .collect()
    }

    /// Every tool result the agent sent back to the model, deduplicated (the whole history is
    /// resent each turn).
    pub fn tool_results(&self) -> Vec<String> {
        let mut seen = Vec::new();
        for body in self.completions() {
            for m in messages(&body).filter(|m| m["role"] == "tool") {
                let text = content_text(&m["content"]);
                if !seen.contains(&text) {
                    seen.push(text);
                }
            }
        }
        seen
    }
}

fn messages(body: &Value) -> impl Iterator<Item = &Value> {
    body["messages"].as_array().into_iter().flatten()
}

/// A content that is a string, or a list of `{type, text}` parts.
fn content_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn route(req: &Request, ids: &AtomicU64) -> Response {
    match (req.method.as_str(), req.path.as_str()) {
        ("POST", p) if p.ends_with("/chat/completions") => {
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let n = ids.fetch_add(1, Ordering::SeqCst);
            let (message, finish) = model_turn(&body, n);
            if body["stream"] == true {
                Response::sse(stream(&message, finish, n))
            } else {
                let reply = json!({
                    "id": format!("chatcmpl-{n}"), "object": "chat.completion", "created": 0,
                    "model": MODEL,
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                });
                Response::json(200, reply.to_string())
            }
        }
        ("GET", p) if p.ends_with("/models") => {
            let reply = json!({"object": "list", "data": [{"id": MODEL, "object": "model"}]});
            Response::json(200, reply.to_string())
        }
        _ => {
            let msg = format!("no route for {} {}", req.method, req.path);
            let body = json!({"error": {"message": msg, "type": "not_found"}});
            Response::json(404, body.to_string())
        }
    }
}

/// The scripted assistant message and its finish reason. Only the last user message with a
/// `RUN<<…>>` and what follows it count, so a session that goes on with a new prompt gets a new
/// tool call (agents may add user messages of their own, such as context, after the prompt).
fn model_turn(req: &Value, n: u64) -> (Value, &'static str) {
    let all: Vec<&Value> = messages(req).collect();
    let prompt = all
        .iter()
        .rposition(|m| m["role"] == "user" && content_text(&m["content"]).contains("RUN<<"));
    let turn = prompt.and_then(|i| all.get(i..)).unwrap_or_default();
    let answered: Vec<String> = turn
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| content_text(&m["content"]))
        .collect();
    let user = turn
        .first()
        .map(|m| content_text(&m["content"]))
        .unwrap_or_default();
    let offered: Vec<&str> = req["tools"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["function"]["name"].as_str())
        .collect();
    let shell = SHELL_TOOLS
        .iter()
        .find(|t| offered.contains(t))
        .copied()
        .unwrap_or("terminal");
    let commands = markers(&user, "RUN<<");
    if answered.is_empty() && !commands.is_empty() {
        let calls: Vec<Value> = commands
            .iter()
            .enumerate()
            .map(|(i, cmd)| {
                json!({
                    "id": format!("call_{n:020x}{i:04x}"), "type": "function",
                    "function": {"name": shell, "arguments": json!({"command": cmd}).to_string()},
                })
            })
            .collect();
        return (
            json!({"role": "assistant", "content": null, "tool_calls": calls}),
            "tool_calls",
        );
    }
    let text = match answered.last() {
        Some(t) => format!("The tool said: {t}"),
        None => "Nothing to do.".to_string(),
    };
    (json!({"role": "assistant", "content": text}), "stop")
}

/// Every `open…>>` in `text`, in order.
fn markers(text: &str, open: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(open) {
        let after = &rest[start + open.len()..];
        let Some(len) = after.find(">>") else { break };
        out.push(after[..len].to_string());
        rest = &after[len + 2..];
    }
    out
}

/// The message as `chat.completion.chunk` events: the whole delta at once, then the finish.
fn stream(message: &Value, finish: &str, n: u64) -> String {
    let mut delta = message.clone();
    if let Some(calls) = delta["tool_calls"].as_array_mut() {
        for (i, c) in calls.iter_mut().enumerate() {
            c["index"] = json!(i);
        }
    }
    let chunk = |delta: Value, finish: Value, usage: Value| {
        let mut c = json!({
            "id": format!("chatcmpl-{n}"), "object": "chat.completion.chunk", "created": 0,
            "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        });
        if !usage.is_null() {
            c["usage"] = usage;
        }
        format!("data: {c}\n\n")
    };
    let mut out = chunk(delta, Value::Null, Value::Null);
    out.push_str(&chunk(
        json!({}),
        json!(finish),
        json!({"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}),
    ));
    out.push_str("data: [DONE]\n\n");
    out
}
