//! `doctor`'s MCP check: start the command an agent's configuration registers as `dashclaw`,
//! as the agent would (stdio), and see `initialize` and `tools/list` answered.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::install::mcp::ServerCommand;

/// How long the server may take to answer both requests.
const PROBE_TIMEOUT: Duration = Duration::from_secs(15);

/// `Ok(summary)` when the server initializes and lists the guard; `Err(why)` otherwise.
pub fn probe(cmd: &ServerCommand) -> Result<String, String> {
    let mut child = Command::new(&cmd.command)
        .args(&cmd.args)
        .envs(cmd.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", cmd.command))?;
    let result = exchange(&mut child);
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn exchange(child: &mut std::process::Child) -> Result<String, String> {
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + PROBE_TIMEOUT;
    let mut send =
        |v: Value| writeln!(stdin, "{v}").map_err(|e| format!("the server closed its input: {e}"));
    let answer = |id: u64| -> Result<Value, String> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx.recv_timeout(left).map_err(|_| {
                format!(
                    "no answer to request {id} within {}s",
                    PROBE_TIMEOUT.as_secs()
                )
            })?;
            let Ok(v) = serde_json::from_str::<Value>(&line) else {
                return Err(format!(
                    "the server wrote something that is not JSON-RPC: {line:.120}"
                ));
            };
            if v["id"] == json!(id) {
                if let Some(e) = v.get("error") {
                    return Err(format!("request {id} failed: {e}"));
                }
                return Ok(v["result"].clone());
            }
        }
    };
    send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "dashclawd-doctor", "version": env!("CARGO_PKG_VERSION")}}}),
    )?;
    let init = answer(1)?;
    let name = init
        .pointer("/serverInfo/name")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned();
    let version = init
        .pointer("/serverInfo/version")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned();
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))?;
    send(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))?;
    let tools = answer(2)?;
    let names: Vec<&str> = tools["tools"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["name"].as_str()).collect())
        .unwrap_or_default();
    if !names.contains(&"dashclaw_guard") {
        return Err(format!(
            "{name} {version} answers, but lists no dashclaw_guard ({} tools)",
            names.len()
        ));
    }
    Ok(format!(
        "{name} {version}: initialize ok, {} tools",
        names.len()
    ))
}
