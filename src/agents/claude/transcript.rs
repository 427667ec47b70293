//! Claude Code's transcript (`transcript_path`, JSON lines under `~/.claude/projects/`): where
//! the files are, the token usage, model and assumptions of the turn that just ended, and what
//! of a line metadata mode keeps. The transcript itself streams to the server's ingest-jsonl
//! (`transcript/`), which parses it there.

use std::io::{BufRead, Seek};
use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::agents::transcript::{assumptions_in, Usage};
use crate::transcript::sanitize::{blank, blank_map_except};

/// Claude Code's configuration directory: `$CLAUDE_CONFIG_DIR`, else `~/.claude`; its
/// transcripts are under `projects/`, one `<session uuid>.jsonl` each.
pub fn config_dir(env: &dyn Fn(&str) -> Option<String>) -> PathBuf {
    env("CLAUDE_CONFIG_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env("HOME").unwrap_or_default()).join(".claude"))
}

/// Reads complete lines from `offset` (bounded by the file, never the whole file again).
/// A message's usage is counted once even when the transcript repeats it per content block.
pub fn turn_usage(path: &std::path::Path, offset: u64) -> std::io::Result<Usage> {
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    let start = if offset > len { 0 } else { offset };
    f.seek(std::io::SeekFrom::Start(start))?;
    let mut reader = std::io::BufReader::new(f);
    let mut usage = Usage::default();
    let mut seen = std::collections::HashSet::new();
    let mut pos = start;
    let mut line = Vec::new();
    let (mut input, mut cache_create, mut cache_read, mut output) = (0u64, 0u64, 0u64, 0u64);
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 || line.last() != Some(&b'\n') {
            break; // an incomplete last line belongs to the next turn
        }
        pos += n as u64;
        let Ok(v) = serde_json::from_slice::<Value>(&line) else {
            continue;
        };
        if v.get("type").and_then(Value::as_str) != Some("assistant") {
            continue;
        }
        let Some(msg) = v.get("message") else {
            continue;
        };
        if usage.model.is_none() {
            usage.model = msg
                .get("model")
                .and_then(Value::as_str)
                .filter(|m| !m.is_empty() && *m != "<synthetic>")
                .map(str::to_owned);
        }
        if let Some(blocks) = msg.get("content").and_then(Value::as_array) {
            for b in blocks {
                if let Some(t) = b.get("text").and_then(Value::as_str) {
                    usage.assumptions.extend(assumptions_in(t));
                }
            }
        }
        let id = msg.get("id").and_then(Value::as_str).map(str::to_owned);
        if let Some(id) = id {
            if !seen.insert(id) {
                continue;
            }
        }
        if let Some(u) = msg.get("usage") {
            let g = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
            input += g("input_tokens");
            cache_create += g("cache_creation_input_tokens");
            cache_read += g("cache_read_input_tokens");
            output += g("output_tokens");
        }
    }
    // Upstream: cache reads count a tenth, rounded half up.
    usage.tokens_in = input + cache_create + (cache_read + 5) / 10;
    usage.tokens_out = output;
    usage.end_offset = Some(pos);
    Ok(usage)
}

// Metadata mode: what of a line leaves the machine.

/// Top-level keys of a Claude Code line that are metadata (their strings are kept).
const CLAUDE_TOP_KEEP: &[&str] = &[
    "type",
    "subtype",
    "uuid",
    "parentUuid",
    "logicalParentUuid",
    "leafUuid",
    "sessionId",
    "timestamp",
    "cwd",
    "version",
    "gitBranch",
    "isSidechain",
    "userType",
    "entrypoint",
    "requestId",
    "sourceToolAssistantUUID",
    "sourceToolUseID",
    "toolUseID",
    "toolDenialKind",
    "permissionDecision",
    "isMeta",
    "isCompactSummary",
    "isApiErrorMessage",
    "level",
    "agentId",
    "promptId",
    "slug",
];

/// Keys of `message` kept as they are: the API message's metadata and token usage.
const CLAUDE_MESSAGE_KEEP: &[&str] = &[
    "id",
    "type",
    "role",
    "model",
    "stop_reason",
    "stop_sequence",
    "usage",
];

/// Tool input fields that survive metadata mode (upstream's `file_path|path|notebook_path`).
const PATH_KEYS: &[&str] = &["file_path", "path", "notebook_path"];

/// A Claude Code transcript line reduced to its metadata ([`crate::transcript::sanitize`]).
pub fn metadata(line: &mut Map<String, Value>) {
    for (key, item) in line.iter_mut() {
        match key.as_str() {
            k if CLAUDE_TOP_KEEP.contains(&k) => {
                if !item.is_string() {
                    blank(item);
                }
            }
            "message" => match item {
                Value::Object(message) => claude_message(message),
                other => blank(other),
            },
            // Upstream blanks these two to the empty string whatever their shape.
            "toolUseResult" | "summary" => *item = Value::String(String::new()),
            _ => blank(item),
        }
    }
}

fn claude_message(message: &mut Map<String, Value>) {
    for (key, item) in message.iter_mut() {
        match key.as_str() {
            k if CLAUDE_MESSAGE_KEEP.contains(&k) => {}
            "content" => match item {
                Value::Array(blocks) => {
                    for block in blocks {
                        match block {
                            Value::Object(block) => claude_block(block),
                            other => blank(other),
                        }
                    }
                }
                // A user prompt as a plain string.
                other => blank(other),
            },
            _ => blank(item),
        }
    }
}

fn claude_block(block: &mut Map<String, Value>) {
    let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "thinking" | "redacted_thinking" => {
            block.shift_remove("signature");
            blank_map_except(block, &["type"]);
        }
        "tool_use" | "server_tool_use" => {
            for (key, item) in block.iter_mut() {
                match key.as_str() {
                    "type" | "id" | "name" => {}
                    "input" => *item = Value::Object(path_fields(item)),
                    _ => blank(item),
                }
            }
        }
        "tool_result" => {
            for (key, item) in block.iter_mut() {
                match key.as_str() {
                    "type" | "tool_use_id" | "is_error" => {}
                    "content" => *item = Value::String(String::new()),
                    _ => blank(item),
                }
            }
        }
        // text, image, document and anything new: structure, ids and kinds only.
        _ => blank_map_except(block, &["type", "id", "tool_use_id"]),
    }
}

/// The path-like fields of a tool input, in their order; nothing else.
fn path_fields(input: &Value) -> Map<String, Value> {
    let Value::Object(input) = input else {
        return Map::new();
    };
    input
        .iter()
        .filter(|(k, v)| PATH_KEYS.contains(&k.as_str()) && v.is_string())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn turn_usage_reads_only_the_new_complete_lines() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.jsonl");
        let a = |id: &str, i: u64, o: u64| {
            format!(
                "{}\n",
                json!({"type":"assistant","message":{"id":id,"model":"claude-x","content":[{"type":"text","text":"hi"}],
                    "usage":{"input_tokens":i,"output_tokens":o,"cache_read_input_tokens":15,"cache_creation_input_tokens":0}}})
            )
        };
        let first = a("m1", 10, 5);
        std::fs::write(
            &p,
            format!("{first}{}{}", a("m1", 10, 5), "{\"type\":\"user\"}\n"),
        )
        .unwrap();
        let u = turn_usage(&p, 0).unwrap();
        assert_eq!(
            u.tokens_in,
            10 + 2,
            "repeated message counted once; cache read a tenth, half up"
        );
        assert_eq!(u.tokens_out, 5);
        assert_eq!(u.model.as_deref(), Some("claude-x"));
        let end = u.end_offset.unwrap();
        let mut text = std::fs::read_to_string(&p).unwrap();
        text.push_str(&a("m2", 100, 50));
        text.push_str("{\"type\":\"assistant\",\"partial");
        std::fs::write(&p, text).unwrap();
        let u = turn_usage(&p, end).unwrap();
        assert_eq!((u.tokens_in, u.tokens_out), (102, 50));
    }
}
