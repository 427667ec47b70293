//! What of a transcript line leaves the machine.
//!
//! [`Mode::Metadata`] (the default, as upstream) keeps what the server needs to account for a
//! session (ids, types, timestamps, models, token usage, tool names, the file a tool touched)
//! and blanks what was said or produced (prompts, replies, reasoning, tool arguments, tool
//! output). [`Mode::Full`] keeps the content. In both modes every remaining string then goes
//! through the secret engine ([`crate::redact::redact_json`]). The line's key order is kept.
//!
//! Each agent's format is its integration's (`agents/<agent>/transcript.rs`,
//! `Integration::transcript_metadata`): Claude Code lines follow upstream's rules
//! (../shared/spec/upstream-python-hooks.md §3.2); unknown line types, top-level keys and
//! content blocks are blanked string by string rather than passed through, so a new Claude Code
//! field cannot leak content. Codex rollout lines get the analogous treatment: a small
//! allowlist of metadata keys keeps its string values, every other string is blanked, and
//! `function_call` arguments keep only their path-like fields. Other agents keep only
//! [`METADATA_KEYS`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::event::Agent;

/// How much of each line is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Ids, types, times, models, usage, tool names and paths; no text.
    #[default]
    Metadata,
    /// Everything, secrets redacted.
    Full,
}

impl Mode {
    /// `metadata` or `full` (upstream's `DASHCLAW_CODE_SESSIONS_CONTENT` values).
    pub fn parse(s: &str) -> Option<Mode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "metadata" | "meta" => Some(Mode::Metadata),
            "full" => Some(Mode::Full),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Metadata => "metadata",
            Mode::Full => "full",
        }
    }
}

/// A line that is not a JSON object; the caller drops it and counts it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("not JSON: {0}")]
    NotJson(String),
    #[error("not a JSON object")]
    NotObject,
}

/// Sanitizes one transcript line (without its newline) of `agent`'s format into compact JSON.
pub fn sanitize_line(agent: Agent, line: &str, mode: Mode) -> Result<String, Malformed> {
    let mut value: Value =
        serde_json::from_str(line).map_err(|e| Malformed::NotJson(e.to_string()))?;
    sanitize_value(agent, &mut value, mode)?;
    Ok(value.to_string())
}

/// [`sanitize_line`] on a parsed line, in place.
pub fn sanitize_value(agent: Agent, value: &mut Value, mode: Mode) -> Result<(), Malformed> {
    let Value::Object(line) = value else {
        return Err(Malformed::NotObject);
    };
    if mode == Mode::Metadata {
        // Each agent's own format, in agents/<agent>/transcript.rs.
        crate::agents::integration_for(agent).transcript_metadata(line);
    }
    crate::redact::redact_json(value);
    Ok(())
}

/// Keys whose string values are metadata in a line of no known format (and in a Codex
/// rollout), at any depth.
pub const METADATA_KEYS: &[&str] = &[
    "type",
    "timestamp",
    "id",
    "call_id",
    "turn_id",
    "session_id",
    "role",
    "name",
    "model",
    "model_provider",
    "status",
    "cwd",
    "originator",
    "cli_version",
    "source",
    "commit_hash",
    "branch",
    "approval_policy",
    "effort",
    "phase",
    "path",
    "file_path",
    "notebook_path",
];

/// Replaces every string inside `value` with `""`, except the values of `type` keys (block and
/// item kinds, never content). Numbers, booleans and structure stay.
pub fn blank(value: &mut Value) {
    match value {
        Value::String(s) => s.clear(),
        Value::Array(items) => items.iter_mut().for_each(blank),
        Value::Object(map) => blank_map_except(map, &["type"]),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// [`blank`] for an object whose string values under `keep` survive (at any depth).
pub fn blank_map_except(map: &mut Map<String, Value>, keep: &[&str]) {
    for (key, item) in map.iter_mut() {
        match item {
            Value::String(_) if keep.contains(&key.as_str()) => {}
            Value::Object(inner) => blank_map_except(inner, keep),
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::Object(inner) => blank_map_except(inner, keep),
                        other => blank(other),
                    }
                }
            }
            other => blank(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AWS: &str = "AKIAIOSFODNN7EXAMPLQ";
    const GHP: &str = "ghp_R7q2Xz9LmK4pW8sT1vB6nY3cF5hJ0dGeA2uQ";

    fn meta(agent: Agent, v: Value) -> Value {
        let out = sanitize_line(agent, &v.to_string(), Mode::Metadata).unwrap();
        serde_json::from_str(&out).unwrap()
    }

    #[test]
    fn claude_assistant_line_keeps_metadata_only() {
        let line = json!({
            "parentUuid": "p-1", "isSidechain": false, "userType": "external",
            "cwd": "/home/u/proj", "sessionId": "s-1", "version": "2.1.0", "gitBranch": "main",
            "type": "assistant", "uuid": "u-1", "timestamp": "2026-01-02T03:04:05.000Z",
            "requestId": "req_1",
            "message": {
                "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-opus-4",
                "content": [
                    {"type": "thinking", "thinking": "secret plan", "signature": "sig=="},
                    {"type": "text", "text": "Here is the answer"},
                    {"type": "tool_use", "id": "toolu_1", "name": "Write",
                     "input": {"file_path": "/home/u/proj/a.rs", "content": "fn main() {}"}},
                    {"type": "tool_use", "id": "toolu_2", "name": "Bash",
                     "input": {"command": "rm -rf /", "description": "wipe"}}
                ],
                "stop_reason": "tool_use", "stop_sequence": null,
                "usage": {"input_tokens": 10, "cache_creation_input_tokens": 20,
                          "cache_read_input_tokens": 30, "output_tokens": 40,
                          "service_tier": "standard"}
            }
        });
        let out = meta(Agent::Claude, line.clone());
        let text = out.to_string();
        for gone in [
            "secret plan",
            "sig==",
            "Here is the answer",
            "fn main",
            "rm -rf",
            "wipe",
        ] {
            assert!(!text.contains(gone), "{gone} survived: {text}");
        }
        assert_eq!(out["sessionId"], "s-1");
        assert_eq!(out["uuid"], "u-1");
        assert_eq!(out["parentUuid"], "p-1");
        assert_eq!(out["timestamp"], line["timestamp"]);
        assert_eq!(out["message"]["model"], "claude-opus-4");
        assert_eq!(out["message"]["usage"], line["message"]["usage"]);
        let blocks = &out["message"]["content"];
        assert_eq!(blocks[0], json!({"type": "thinking", "thinking": ""}));
        assert_eq!(blocks[1], json!({"type": "text", "text": ""}));
        assert_eq!(
            blocks[2],
            json!({"type": "tool_use", "id": "toolu_1", "name": "Write",
                   "input": {"file_path": "/home/u/proj/a.rs"}})
        );
        assert_eq!(blocks[3]["input"], json!({}));
        // Key order is the line's.
        let keys: Vec<&String> = out.as_object().unwrap().keys().collect();
        let want: Vec<&String> = line.as_object().unwrap().keys().collect();
        assert_eq!(keys, want);
    }

    #[test]
    fn claude_user_lines_lose_prompts_and_tool_results() {
        let prompt = json!({"type": "user", "uuid": "u-2", "sessionId": "s-1",
            "message": {"role": "user", "content": "please deploy with key hunter2"}});
        let out = meta(Agent::Claude, prompt);
        assert_eq!(out["message"], json!({"role": "user", "content": ""}));

        let result = json!({"type": "user", "uuid": "u-3", "sessionId": "s-1",
            "sourceToolAssistantUUID": "u-1",
            "message": {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "is_error": false,
                 "content": [{"type": "text", "text": "file contents"}]}]},
            "toolUseResult": {"stdout": "file contents", "stderr": ""}});
        let out = meta(Agent::Claude, result);
        assert_eq!(
            out["message"]["content"][0],
            json!({"type": "tool_result", "tool_use_id": "toolu_1", "is_error": false,
                   "content": ""})
        );
        assert_eq!(out["toolUseResult"], "");
        assert_eq!(out["sourceToolAssistantUUID"], "u-1");

        let summary = json!({"type": "summary", "summary": "Fixed the bug", "leafUuid": "u-9"});
        assert_eq!(
            meta(Agent::Claude, summary),
            json!({"type": "summary", "summary": "", "leafUuid": "u-9"})
        );

        // An unknown line type with content keeps its shape, not its words.
        let system = json!({"type": "system", "subtype": "stop_hook_summary", "uuid": "u-4",
            "content": "hook said hello", "hookInfos": [{"command": "curl evil", "ok": true}]});
        let out = meta(Agent::Claude, system);
        assert_eq!(out["content"], "");
        assert_eq!(out["hookInfos"], json!([{"command": "", "ok": true}]));
        assert_eq!(out["subtype"], "stop_hook_summary");
    }

    #[test]
    fn codex_rollout_lines_keep_metadata_only() {
        let call = json!({"timestamp": "2026-01-02T03:04:05.000Z", "type": "response_item",
            "payload": {"type": "function_call", "name": "shell", "call_id": "call_1",
                "arguments": "{\"command\":[\"bash\",\"-lc\",\"cat secret.txt\"],\"workdir\":\"/w\"}"}});
        let out = meta(Agent::Codex, call);
        assert_eq!(out["payload"]["name"], "shell");
        assert_eq!(out["payload"]["call_id"], "call_1");
        assert_eq!(out["payload"]["arguments"], "{\"workdir\":\"/w\"}");
        assert_eq!(out["timestamp"], "2026-01-02T03:04:05.000Z");

        let output = json!({"timestamp": "t", "type": "response_item",
            "payload": {"type": "function_call_output", "call_id": "call_1",
                "output": "Exit code: 0\nthe secret text"}});
        let out = meta(Agent::Codex, output);
        assert_eq!(
            out["payload"],
            json!({"type": "function_call_output",
            "call_id": "call_1", "output": ""})
        );

        let message = json!({"timestamp": "t", "type": "response_item",
            "payload": {"type": "message", "role": "assistant", "id": "msg_1",
                "content": [{"type": "output_text", "text": "Done: the answer is 42"}]}});
        let out = meta(Agent::Codex, message);
        assert_eq!(
            out["payload"]["content"],
            json!([{"type": "output_text", "text": ""}])
        );
        assert_eq!(out["payload"]["role"], "assistant");

        let reasoning = json!({"timestamp": "t", "type": "response_item",
            "payload": {"type": "reasoning", "id": "rs_1",
                "summary": [{"type": "summary_text", "text": "thinking hard"}],
                "encrypted_content": "gAAAA"}});
        let out = meta(Agent::Codex, reasoning);
        assert_eq!(
            out["payload"],
            json!({"type": "reasoning", "id": "rs_1",
            "summary": [{"type": "summary_text", "text": ""}]})
        );

        let tokens = json!({"timestamp": "t", "type": "event_msg",
            "payload": {"type": "token_count", "info": {
                "total_token_usage": {"input_tokens": 100, "cached_input_tokens": 50,
                    "output_tokens": 7, "reasoning_output_tokens": 3, "total_tokens": 107},
                "model_context_window": 272000}}});
        assert_eq!(meta(Agent::Codex, tokens.clone()), tokens);

        let meta_line = json!({"timestamp": "t", "type": "session_meta",
            "payload": {"id": "0199-uuid", "cwd": "/w", "cli_version": "0.171.0",
                "instructions": "be careful with prod", "model_provider": "openai"}});
        let out = meta(Agent::Codex, meta_line);
        assert_eq!(out["payload"]["id"], "0199-uuid");
        assert_eq!(out["payload"]["cwd"], "/w");
        assert_eq!(out["payload"]["instructions"], "");

        let patch = json!({"timestamp": "t", "type": "response_item",
            "payload": {"type": "custom_tool_call", "name": "apply_patch", "call_id": "c2",
                "input": "*** Begin Patch\n*** Add File: x.txt\n+hello\n*** End Patch"}});
        let out = meta(Agent::Codex, patch);
        assert_eq!(
            out["payload"]["input"],
            "*** Begin Patch\n*** Add File: x.txt\n*** End Patch\n"
        );

        let user = json!({"timestamp": "t", "type": "event_msg",
            "payload": {"type": "user_message", "message": "my prompt", "images": []}});
        assert_eq!(meta(Agent::Codex, user)["payload"]["message"], "");
    }

    #[test]
    fn secrets_are_redacted_in_both_modes() {
        let line = json!({"type": "assistant", "uuid": "u-1", "sessionId": "s-1",
            "message": {"role": "assistant", "content": [
                {"type": "text", "text": format!("use {AWS} and {GHP}")},
                {"type": "tool_use", "id": "t", "name": "Read",
                 "input": {"file_path": format!("/tmp/{GHP}.txt")}}]}})
        .to_string();
        let full = sanitize_line(Agent::Claude, &line, Mode::Full).unwrap();
        assert!(!full.contains(AWS) && !full.contains(GHP), "{full}");
        assert!(full.contains("[REDACTED:"), "{full}");
        assert!(full.contains("use "), "full mode keeps the text: {full}");
        let metadata = sanitize_line(Agent::Claude, &line, Mode::Metadata).unwrap();
        assert!(!metadata.contains(GHP), "{metadata}");
        assert!(metadata.contains("/tmp/[REDACTED:"), "{metadata}");

        let codex = json!({"timestamp": "t", "type": "response_item",
            "payload": {"type": "function_call_output", "call_id": "c",
                "output": format!("AWS_ACCESS_KEY_ID={AWS}")}})
        .to_string();
        let full = sanitize_line(Agent::Codex, &codex, Mode::Full).unwrap();
        assert!(!full.contains(AWS) && full.contains("[REDACTED:"), "{full}");
    }

    #[test]
    fn full_mode_changes_nothing_but_secrets() {
        let line = r#"{"type":"user","uuid":"u","message":{"role":"user","content":"hi there"},"z":1,"a":[true,null]}"#;
        assert_eq!(
            sanitize_line(Agent::Claude, line, Mode::Full).unwrap(),
            line
        );
    }

    #[test]
    fn malformed_lines_are_errors() {
        assert!(matches!(
            sanitize_line(Agent::Claude, "{not json", Mode::Full),
            Err(Malformed::NotJson(_))
        ));
        for line in ["[1,2]", "\"str\"", "42", "null"] {
            assert_eq!(
                sanitize_line(Agent::Codex, line, Mode::Metadata),
                Err(Malformed::NotObject)
            );
        }
    }

    #[test]
    fn mode_parses() {
        assert_eq!(Mode::parse("full"), Some(Mode::Full));
        assert_eq!(Mode::parse(" Metadata"), Some(Mode::Metadata));
        assert_eq!(Mode::parse("all"), None);
        assert_eq!(Mode::default(), Mode::Metadata);
    }
}
