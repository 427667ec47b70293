//! A fake OpenAI Responses API on 127.0.0.1 for driving the real Codex CLI offline
//! (agent-hooks.md §9).
//!
//! The "model" is scripted by the prompt: `RUN<<cmd>>` asks for one `exec_command` call running
//! `cmd`, `PATCH<<patch>>` for one `apply_patch` custom tool call with `patch` as its input (`\n`
//! written as the two characters `\n` in the prompt); once a tool output is in the input, it ends
//! the turn echoing that output. Every request is kept so a test can read what Codex told the
//! model (the function_call_output after a hook denial, for instance).
//!
//! HTTP/1.1 by hand with std only: one thread per connection, `Content-Length` bodies, one
//! response per connection (`connection: close`).

#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{json, Value};

const RUN_OPEN: &str = "RUN<<";
const PATCH_OPEN: &str = "PATCH<<";
const MARKER_CLOSE: &str = ">>";
const MAX_BODY: usize = 64 << 20;

#[derive(Debug, Clone)]
pub struct LoggedRequest {
    pub method: String,
    /// Without the query string.
    pub path: String,
    pub headers: Vec<(String, String)>,
    /// The body parsed as JSON; `Value::Null` when it is empty or not JSON.
    pub body: Value,
}

/// A tool output Codex sent back to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    pub call_id: String,
    /// `function_call_output` or `custom_tool_call_output`.
    pub kind: String,
    pub output: String,
}

pub struct FakeOpenAi {
    port: u16,
    log: Arc<Mutex<Vec<LoggedRequest>>>,
    stopping: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl FakeOpenAi {
    /// Binds an ephemeral port and serves until dropped.
    pub fn start() -> FakeOpenAi {
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
        FakeOpenAi {
            port,
            log,
            stopping,
            acceptor: Some(acceptor),
        }
    }

    /// The provider `base_url` for Codex's config.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Bodies of the model turns (`POST /v1/responses`), in arrival order.
    pub fn response_requests(&self) -> Vec<Value> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST" && r.path == "/v1/responses")
            .map(|r| r.body)
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

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        // `incoming()` blocks in accept; a throwaway connection lets the thread see the flag.
        self.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
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
        Ok(None) => return,
        Err(msg) => {
            let body = json!({"error": {"message": msg, "type": "invalid_request_error"}});
            let _ = respond(
                &mut out,
                400,
                "application/json",
                body.to_string().as_bytes(),
            );
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
        ("POST", "/v1/responses") => {
            let n = ids.fetch_add(1, Ordering::SeqCst);
            let output = model_turn(&body, n);
            let response = json!({
                "id": format!("resp_{n:024x}"),
                "object": "response",
                "model": body["model"].as_str().unwrap_or("gpt-fake"),
            });
            respond(
                &mut out,
                200,
                "text/event-stream",
                sse(&response, &output).as_bytes(),
            )
        }
        ("GET", p) if p.ends_with("/models") => {
            let reply = json!({"object": "list", "data": [], "models": []}).to_string();
            respond(&mut out, 200, "application/json", reply.as_bytes())
        }
        _ => {
            let msg = format!("no route for {} {}", req.method, req.path);
            let body = json!({"error": {"message": msg, "type": "not_found"}}).to_string();
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
    if headers
        .iter()
        .any(|(k, v)| k == "content-encoding" && v != "identity")
    {
        return Err("compressed request bodies are not supported".into());
    }
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

/// Sends raw HTTP to the server; for the server's own tests.
pub fn raw_http(server: &FakeOpenAi, request: &str) -> String {
    let mut conn = TcpStream::connect(("127.0.0.1", server.port)).expect("connect");
    conn.write_all(request.as_bytes()).expect("write");
    let mut reply = String::new();
    let _ = conn.read_to_string(&mut reply);
    reply
}
