//! A fake Anthropic Messages API on 127.0.0.1 for driving the real Claude Code CLI offline
//! (agent-hooks.md §7).
//!
//! The "model" is scripted by the prompt: when the first user message contains `RUN<<cmd>>` and
//! no tool has answered yet, it asks for one `Bash` call running `cmd`; afterwards it ends the
//! turn, echoing the last tool result. Every request is kept in memory so a test can read what
//! the client told the model (the `tool_result` after a hook denial, for instance).
//!
//! HTTP/1.1 by hand with std only: one thread per connection, `Content-Length` bodies (the client
//! never sends chunked ones), one response per connection (`connection: close`).

#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

const MARKER_OPEN: &str = "RUN<<";
const MARKER_CLOSE: &str = ">>";
/// Bodies larger than this are refused rather than buffered.
const MAX_BODY: usize = 64 << 20;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct LoggedRequest {
    pub method: String,
    /// Without the query string.
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON; `Value::Null` when it is empty or not JSON.
    pub body: Value,
}

/// A `tool_result` block the client sent back to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    pub tool_use_id: String,
    /// Text blocks joined with newlines when the client sent a list.
    pub content: String,
    pub is_error: bool,
}

pub struct FakeAnthropic {
    port: u16,
    log: Arc<Mutex<Vec<LoggedRequest>>>,
    stopping: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl FakeAnthropic {
    /// Binds an ephemeral port and serves until dropped.
    pub fn start() -> FakeAnthropic {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stopping = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let log = Arc::clone(&log);
            let stopping = Arc::clone(&stopping);
            std::thread::spawn(move || {
                let ids = Arc::new(AtomicU64::new(1));
                for conn in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let log = Arc::clone(&log);
                    let ids = Arc::clone(&ids);
                    std::thread::spawn(move || serve(conn, &log, &ids));
                }
            })
        };
        FakeAnthropic {
            port,
            log,
            stopping,
            acceptor: Some(acceptor),
        }
    }

    /// The value for `ANTHROPIC_BASE_URL`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Bodies of the model turns (`POST /v1/messages`), in arrival order.
    pub fn message_requests(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == "/v1/messages")
            .map(|r| r.body)
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

impl Drop for FakeAnthropic {
    fn drop(&mut self) {
        // `incoming()` blocks in accept; a throwaway connection lets the thread see the flag.
        self.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
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

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn serve(conn: TcpStream, log: &Mutex<Vec<LoggedRequest>>, ids: &AtomicU64) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let mut out = match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    };
    let req = match read_request(BufReader::new(conn)) {
        Ok(Some(r)) => r,
        Ok(None) => return, // closed without a request (e.g. the shutdown poke)
        Err(msg) => {
            let body = error_json("invalid_request_error", &msg);
            let _ = respond(&mut out, 400, "application/json", body.as_bytes());
            return;
        }
    };
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    log.lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(LoggedRequest {
            method: req.method.clone(),
            path: req.path.clone(),
            headers: req.headers.clone(),
            body: body.clone(),
        });

    let _ = match (req.method.as_str(), req.path.as_str()) {
        // Connectivity probe of older clients.
        ("HEAD", "/") => respond(&mut out, 200, "text/plain", b""),
        ("POST", "/v1/messages/count_tokens") => {
            let n = (req.body.len() / 4).max(1);
            let reply = json!({ "input_tokens": n }).to_string();
            respond(&mut out, 200, "application/json", reply.as_bytes())
        }
        ("POST", "/v1/messages") => {
            let n = ids.fetch_add(1, Ordering::SeqCst);
            let message = model_turn(&body, n);
            if body["stream"].as_bool().unwrap_or(false) {
                respond(&mut out, 200, "text/event-stream", sse(&message).as_bytes())
            } else {
                respond(
                    &mut out,
                    200,
                    "application/json",
                    message.to_string().as_bytes(),
                )
            }
        }
        _ => {
            let msg = format!("no route for {} {}", req.method, req.path);
            let body = error_json("not_found_error", &msg);
            respond(&mut out, 404, "application/json", body.as_bytes())
        }
    };
    let _ = out.flush();
    let _ = out.shutdown(Shutdown::Write);
}

fn read_request(mut r: impl BufRead) -> Result<Option<Request>, String> {
    let mut line = String::new();
    if r.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(format!("bad request line {line:?}"));
    };
    let path = target.split('?').next().unwrap_or("").to_string();
    let method = method.to_string();

    let mut headers = Vec::new();
    loop {
        line.clear();
        if r.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            return Err("connection closed inside the headers".into());
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len = match headers.iter().find(|(k, _)| k == "content-length") {
        Some((_, v)) => v
            .parse::<usize>()
            .map_err(|_| format!("bad content-length {v:?}"))?,
        None => 0,
    };
    if len > MAX_BODY {
        return Err(format!("body of {len} bytes is too large"));
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).map_err(|e| e.to_string())?;
    Ok(Some(Request {
        method,
        path,
        headers,
        body,
    }))
}

fn respond(
    out: &mut TcpStream,
    status: u16,
    content_type: &str,
    body: &[u8],
) -> std::io::Result<()> {
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Status",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
         cache-control: no-cache\r\nconnection: close\r\n\r\n",
        body.len()
    );
    out.write_all(head.as_bytes())?;
    out.write_all(body)
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
