//! Codex's rollout (`transcript_path`, `~/.codex/sessions/**/rollout-*.jsonl`): one turn's
//! token usage, model, tool calls and assumptions, summarised as an `ingest-live` body because
//! the server's transcript parser does not read rollouts. Used at Stop (`remote/deliver.rs`)
//! and by `dashclawd ingest backfill` (`cli/ingest.rs`).

use std::io::{BufRead, Seek};
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::agents::transcript::{assumptions_in, Usage};
use crate::redact::redact_str;
use crate::remote::guard;
use crate::transcript::sanitize::{blank_map_except, METADATA_KEYS};

/// `$CODEX_HOME`, else `~/.codex`; rollouts are under `sessions/YYYY/MM/DD/`.
pub fn codex_home(env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    env("CODEX_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env("HOME").unwrap_or_default()).join(".codex"))
}

/// The session id in a rollout's name, `rollout-<timestamp>-<uuid>.jsonl`.
pub fn session_of(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match stem.char_indices().rev().nth(35) {
        Some((i, _)) => stem[i..].to_owned(),
        None => stem,
    }
}

/// One Codex turn from its rollout's new complete lines: token usage (each `token_count`
/// event's `last_token_usage` is one model call), the model, the tool calls, and (only with
/// `full` content) a preview of the reply.
pub fn codex_turn(
    path: &std::path::Path,
    offset: u64,
    full_content: bool,
) -> std::io::Result<Usage> {
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let start = if offset > len { 0 } else { offset };
    f.seek(std::io::SeekFrom::Start(start))?;
    let mut reader = std::io::BufReader::new(f);
    let mut turn = CodexTurn::default();
    let mut pos = start;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            break;
        }
        pos += n as u64;
        if let Ok(v) = serde_json::from_slice::<Value>(&line) {
            turn.push(&v);
        }
    }
    let mut usage = turn.finish(full_content);
    usage.end_offset = Some(pos);
    Ok(usage)
}

/// Accumulates one Codex turn, line by line.
#[derive(Debug, Default)]
pub struct CodexTurn {
    lines: usize,
    model: Option<String>,
    input: u64,
    cached: u64,
    output: u64,
    tool_calls: Vec<Value>,
    preview: Option<String>,
    last_ts: Option<String>,
    assumptions: Vec<String>,
}

impl CodexTurn {
    /// Whether `v` opens a new turn (Codex writes a `turn_context` at each turn's start).
    pub fn starts_turn(v: &Value) -> bool {
        v["type"] == "turn_context"
    }

    pub fn is_empty(&self) -> bool {
        self.lines == 0
    }

    pub fn push(&mut self, v: &Value) {
        if v["type"] == "session_meta" {
            return; // the session's header, part of no turn
        }
        self.lines += 1;
        if let Some(t) = v.get("timestamp").and_then(Value::as_str) {
            self.last_ts = Some(t.to_owned());
        }
        let p = &v["payload"];
        match (v["type"].as_str(), p["type"].as_str()) {
            (Some("turn_context"), _) => {
                if let Some(m) = p["model"].as_str() {
                    self.model = Some(m.to_owned());
                }
            }
            (Some("event_msg"), Some("token_count")) => {
                let u = &p["info"]["last_token_usage"];
                let g = |k: &str| u[k].as_u64().unwrap_or(0);
                self.input += g("input_tokens");
                self.cached += g("cached_input_tokens");
                self.output += g("output_tokens") + g("reasoning_output_tokens");
            }
            (Some("response_item"), Some("function_call" | "custom_tool_call")) => {
                let name = p["name"].as_str().unwrap_or("tool");
                let args: Value = p["arguments"]
                    .as_str()
                    .and_then(|a| serde_json::from_str(a).ok())
                    .unwrap_or(Value::Null);
                let target = ["file_path", "path", "workdir"]
                    .iter()
                    .find_map(|k| args[*k].as_str())
                    .map(|t| redact_str(t).into_owned());
                // The server takes at most 64 per turn.
                if self.tool_calls.len() < 64 {
                    self.tool_calls
                        .push(json!({"name": name, "tool_use_id": p["call_id"], "target": target}));
                }
            }
            (Some("response_item"), Some("message")) if p["role"] == "assistant" => {
                let text: String = p["content"]
                    .as_array()
                    .map(|blocks| {
                        blocks
                            .iter()
                            .filter_map(|b| b["text"].as_str())
                            .collect::<Vec<_>>()
                            .join("\n")
                    })
                    .unwrap_or_default();
                self.assumptions.extend(assumptions_in(&text));
                if !text.is_empty() {
                    self.preview = Some(text);
                }
            }
            _ => {}
        }
    }

    /// The turn's usage and its `ingest-live` body (without session and project).
    pub fn finish(self, full_content: bool) -> Usage {
        let mut usage = Usage {
            // Codex's input includes the cached part; cached input counts a tenth, as
            // Claude's cache reads do upstream.
            tokens_in: self.input.saturating_sub(self.cached) + (self.cached + 5) / 10,
            tokens_out: self.output,
            model: self.model.clone(),
            assumptions: self.assumptions,
            ..Usage::default()
        };
        if self.lines > 0 {
            let mut body = json!({
                "usage": {"input_tokens": self.input.saturating_sub(self.cached), "output_tokens": self.output,
                          "cache_read_input_tokens": self.cached, "cache_creation_input_tokens": 0},
                "tool_calls": self.tool_calls,
                "turn_timestamp": self.last_ts,
            });
            if let Some(m) = &self.model {
                body["model"] = json!(m);
            }
            if let (true, Some(p)) = (full_content, self.preview) {
                body["assistant_text_preview"] = json!(redact_str(&guard::truncate(&p, 500)));
            }
            usage.live = Some(body);
        }
        usage
    }
}

// Metadata mode: what of a line leaves the machine.

/// Path-like `function_call` arguments kept in metadata mode.
const CODEX_ARG_KEEP: &[&str] = &["file_path", "path", "notebook_path", "workdir"];

/// A Codex rollout line reduced to its metadata ([`crate::transcript::sanitize`]).
pub fn metadata(line: &mut Map<String, Value>) {
    if let Some(Value::Object(payload)) = line.get_mut("payload") {
        match payload.get("type").and_then(Value::as_str).unwrap_or("") {
            "function_call" => {
                if let Some(args) = payload.get_mut("arguments") {
                    *args = codex_arguments(args);
                }
            }
            "custom_tool_call" => {
                if let Some(Value::String(input)) = payload.get_mut("input") {
                    *input = patch_headers(input);
                }
            }
            // Opaque model state, like Claude's thinking signature.
            "reasoning" => {
                payload.shift_remove("encrypted_content");
            }
            _ => {}
        }
    }
    let mut keep = METADATA_KEYS.to_vec();
    // `arguments` and a patch's headers were reduced above.
    keep.extend(["arguments", "input"]);
    let is_reduced_call = matches!(
        line.get("payload")
            .and_then(|p| p.get("type"))
            .and_then(Value::as_str),
        Some("function_call" | "custom_tool_call")
    );
    if is_reduced_call {
        blank_map_except(line, &keep);
    } else {
        blank_map_except(line, METADATA_KEYS);
    }
}

/// `function_call.arguments`: a JSON string (sometimes an object) reduced to its path-like
/// fields, in the same shape.
fn codex_arguments(args: &Value) -> Value {
    let keep = |map: &Map<String, Value>| -> Map<String, Value> {
        map.iter()
            .filter(|(k, v)| CODEX_ARG_KEEP.contains(&k.as_str()) && v.is_string())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    match args {
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(map)) => Value::String(Value::Object(keep(&map)).to_string()),
            _ => Value::String(String::new()),
        },
        Value::Object(map) => Value::Object(keep(map)),
        _ => Value::String(String::new()),
    }
}

/// An `apply_patch` input reduced to its envelope and file headers (which files, not what).
fn patch_headers(input: &str) -> String {
    let mut out = String::new();
    for line in input.lines() {
        let line = line.trim_end();
        let header = line == "*** Begin Patch"
            || line == "*** End Patch"
            || line.starts_with("*** Add File: ")
            || line.starts_with("*** Update File: ")
            || line.starts_with("*** Delete File: ")
            || line.starts_with("*** Move to: ");
        if header {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_codex_turn_is_summarised_for_ingest_live() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("rollout.jsonl");
        let lines = [
            json!({"timestamp":"t1","type":"turn_context","payload":{"model":"gpt-test","cwd":"/w"}}),
            json!({"timestamp":"t2","type":"response_item","payload":{"type":"function_call","name":"shell","call_id":"call_1","arguments":"{\"command\":[\"ls\"],\"workdir\":\"/w\"}"}}),
            json!({"timestamp":"t3","type":"event_msg","payload":{"type":"token_count","info":{"last_token_usage":{"input_tokens":1000,"cached_input_tokens":800,"output_tokens":50,"reasoning_output_tokens":10}}}}),
            json!({"timestamp":"t4","type":"response_item","payload":{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Done. ASSUMPTIONS I'M MAKING:\n1. x"}]}}),
        ];
        let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
        std::fs::write(&p, text).unwrap();
        let u = codex_turn(&p, 0, false).unwrap();
        assert_eq!(u.tokens_in, 200 + 80);
        assert_eq!(u.tokens_out, 60);
        let live = u.live.unwrap();
        assert_eq!(live["model"], "gpt-test");
        assert_eq!(live["tool_calls"][0]["name"], "shell");
        assert_eq!(live["tool_calls"][0]["tool_use_id"], "call_1");
        assert_eq!(live["tool_calls"][0]["target"], "/w");
        assert_eq!(live["usage"]["cache_read_input_tokens"], 800);
        assert!(
            live.get("assistant_text_preview").is_none(),
            "metadata only by default"
        );
        assert_eq!(live["turn_timestamp"], "t4");
        let again = codex_turn(&p, u.end_offset.unwrap(), false).unwrap();
        assert!(again.live.is_none(), "nothing new");
    }
}
