//! OpenAI Codex CLI (agent-hooks.md §2).
//!
//! Codex parses hook output strictly and fails open on anything unexpected (an extra JSON field,
//! an empty deny reason, exit 2 without stderr), so the output is as narrow as possible: allow is
//! exit 0 with empty stdout, deny is exit 2 with a non-empty stderr reason, and stdout is always
//! empty. Codex cannot ask, so require-approval is a deny that says how to get approval.
//!
//! Shell calls arrive as `Bash` with `tool_input.command`; file edits as `apply_patch` with the
//! whole patch text in `tool_input.command`; MCP tools as `mcp__<server>__<tool>`.

use crate::agents::{exit_code_render, tool_input, tool_name};
use serde_json::{Map, Value};

use crate::agents::{
    claude_style_action, parse_object, str_field, Adapter, AdapterError, HookContext, RenderOptions,
};
use crate::event::{Agent, Decision, EventKind, HookEvent, Subagent, ToolAction, ToolCall};
use crate::protocol::Rendered;

pub struct Codex;

/// Codex's file-edit tool. The hook matchers `Edit` and `Write` are aliases for it.
const APPLY_PATCH: &str = "apply_patch";

impl Adapter for Codex {
    fn agent(&self) -> Agent {
        Agent::Codex
    }

    fn normalize(
        &self,
        kind: EventKind,
        body: &[u8],
        ctx: &HookContext,
    ) -> Result<HookEvent, AdapterError> {
        let obj = parse_object(body)?;
        let cwd = str_field(&obj, "cwd").unwrap_or_else(|| ctx.cwd.clone());
        let tool = if matches!(kind, EventKind::PreToolUse | EventKind::PostToolUse) {
            Some(tool_call(&obj)?)
        } else {
            None
        };
        let subagent = match (str_field(&obj, "agent_id"), str_field(&obj, "agent_type")) {
            (None, None) => None,
            (id, agent_type) => Some(Subagent { id, agent_type }),
        };
        Ok(HookEvent {
            agent: Agent::Codex,
            kind,
            // Codex always sends session_id; a turn id is the next best grouping key.
            session_id: str_field(&obj, "session_id").or_else(|| str_field(&obj, "turn_id")),
            cwd,
            transcript_path: str_field(&obj, "transcript_path"),
            permission_mode: str_field(&obj, "permission_mode"),
            subagent,
            tool,
            tool_response: obj.get("tool_response").cloned(),
            prompt: str_field(&obj, "prompt"),
            // `codex exec` and the TUI alike: a hook has no way to ask the user.
            headless: true,
        })
    }

    fn render(
        &self,
        kind: EventKind,
        event: Option<&HookEvent>,
        decision: &Decision,
        opts: &RenderOptions,
    ) -> Rendered {
        exit_code_render(
            kind,
            event,
            decision,
            opts,
            "Codex hooks cannot ask, so it was blocked.",
        )
    }
}

fn tool_call(obj: &Map<String, Value>) -> Result<ToolCall, AdapterError> {
    let name = tool_name(obj)?;
    let input = tool_input(obj.get("tool_input"))?;
    let action = if name == APPLY_PATCH {
        let patch = match input.get("command").or_else(|| input.get("patch")) {
            Some(Value::String(p)) => p.as_str(),
            Some(_) => {
                return Err(AdapterError::WrongType {
                    field: "tool_input.command",
                    expected: "a string",
                })
            }
            None => return Err(AdapterError::Missing("tool_input.command")),
        };
        patch_action(patch)
    } else {
        claude_style_action(&name, &input)?
    };
    Ok(ToolCall {
        action,
        name,
        input,
        tool_use_id: str_field(obj, "tool_use_id"),
    })
}

/// One file a patch touches, with the lines it adds.
#[derive(Debug, Default, PartialEq)]
struct PatchFile {
    path: String,
    added: Vec<String>,
}

/// Reads the file operations out of a Codex patch (`*** Add File:`, `*** Update File:`,
/// `*** Delete File:`, `*** Move to:`). Tolerant: unknown lines are skipped, since Codex itself
/// rejects a malformed patch before applying anything.
fn patch_files(patch: &str) -> Vec<PatchFile> {
    let mut files: Vec<PatchFile> = Vec::new();
    for line in patch.lines() {
        let line = line.trim_end_matches('\r');
        let header = [
            "*** Add File:",
            "*** Update File:",
            "*** Delete File:",
            "*** Move to:",
        ]
        .iter()
        .find_map(|h| line.strip_prefix(h));
        if let Some(path) = header {
            let path = path.trim();
            if !path.is_empty() {
                files.push(PatchFile {
                    path: path.to_owned(),
                    added: Vec::new(),
                });
            }
        } else if let (Some(added), Some(file)) = (line.strip_prefix('+'), files.last_mut()) {
            file.added.push(added.to_owned());
        }
    }
    files
}

/// A patch becomes a write of the first file it touches, with the lines it adds. The classifier
/// grades `apply_patch` from the whole patch text in `tool_input` (every file, moves, deletes),
/// so this action is only the short description.
fn patch_action(patch: &str) -> ToolAction {
    patch_files(patch)
        .into_iter()
        .next()
        .map(|f| ToolAction::WriteFile {
            path: f.path,
            content: Some(f.added.join("\n")),
        })
        .unwrap_or(ToolAction::Other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Verdict;
    #[allow(unused_imports)]
    use serde_json::{json, Value};

    fn pre(tool: &str, input: Value) -> Vec<u8> {
        json!({
            "session_id": "01a2", "turn_id": "01a2-t", "transcript_path": "/h/.codex/sessions/r.jsonl",
            "cwd": "/w", "hook_event_name": "PreToolUse", "model": "gpt-5.5-fake",
            "permission_mode": "bypassPermissions", "tool_name": tool, "tool_input": input,
            "tool_use_id": "call_1"
        })
        .to_string()
        .into_bytes()
    }

    fn normalize(body: &[u8]) -> Result<HookEvent, AdapterError> {
        Codex.normalize(EventKind::PreToolUse, body, &HookContext::default())
    }

    fn decision(verdict: Verdict) -> Decision {
        Decision {
            verdict,
            reasons: vec!["pipes a download into a shell".into()],
            policy: Some("curl-pipe-shell".into()),
            suggestion: None,
        }
    }

    #[test]
    fn bash_is_a_shell_command() {
        let ev = normalize(&pre("Bash", json!({"command": "ls -la"}))).unwrap();
        let tool = ev.tool.unwrap();
        assert_eq!(
            tool.action,
            ToolAction::Shell {
                command: "ls -la".into()
            }
        );
        assert_eq!(tool.tool_use_id.as_deref(), Some("call_1"));
        assert_eq!(ev.session_id.as_deref(), Some("01a2"));
        assert_eq!(ev.permission_mode.as_deref(), Some("bypassPermissions"));
        assert!(ev.headless && ev.subagent.is_none());
    }

    #[test]
    fn apply_patch_is_a_write_of_the_patched_file() {
        let patch = "*** Begin Patch\n*** Add File: notes.txt\n+hello\n+world\n*** End Patch";
        let ev = normalize(&pre("apply_patch", json!({"command": patch}))).unwrap();
        assert_eq!(
            ev.tool.unwrap().action,
            ToolAction::WriteFile {
                path: "notes.txt".into(),
                content: Some("hello\nworld".into())
            }
        );
    }

    #[test]
    fn a_multi_file_patch_lists_every_file() {
        let patch = "*** Begin Patch\n*** Update File: src/a.rs\n@@\n-x\n+y\n\
                     *** Add File: .env\n+TOKEN=1\n*** Delete File: old.txt\n*** End Patch";
        let paths: Vec<String> = patch_files(patch).into_iter().map(|f| f.path).collect();
        assert_eq!(paths, ["src/a.rs", ".env", "old.txt"]);
        // The whole patch stays in the input, where the classifier grades every file.
        let ev = normalize(&pre("apply_patch", json!({"command": patch}))).unwrap();
        assert_eq!(ev.tool.unwrap().input["command"], patch);
    }

    #[test]
    fn a_patch_without_file_headers_is_still_governed() {
        let ev = normalize(&pre("apply_patch", json!({"command": "garbage"}))).unwrap();
        assert_eq!(ev.tool.unwrap().action, ToolAction::Other);
        assert!(normalize(&pre("apply_patch", json!({}))).is_err());
        assert!(normalize(&pre("apply_patch", json!({"command": 7}))).is_err());
    }

    #[test]
    fn mcp_tools_and_subagents() {
        let mut body: Value =
            serde_json::from_slice(&pre("mcp__github__create_issue", json!({}))).unwrap();
        body["agent_id"] = json!("sub-1");
        body["agent_type"] = json!("worker");
        let ev = normalize(body.to_string().as_bytes()).unwrap();
        assert_eq!(
            ev.tool.unwrap().action,
            ToolAction::Mcp {
                server: "github".into(),
                tool: "create_issue".into()
            }
        );
        let sub = ev.subagent.unwrap();
        assert_eq!(sub.id.as_deref(), Some("sub-1"));
        assert_eq!(sub.agent_type.as_deref(), Some("worker"));
    }

    #[test]
    fn bad_payloads_are_errors_not_panics() {
        for body in [
            &b"not json"[..],
            b"[]",
            br#"{"tool_input":{"command":"ls"}}"#,
            br#"{"tool_name":"Bash","tool_input":"ls"}"#,
            br#"{"tool_name":"Bash","tool_input":{"command":["ls"]}}"#,
            br#"{"tool_name":42}"#,
        ] {
            assert!(
                normalize(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn other_events_carry_their_fields() {
        let stop = json!({"session_id":"s","turn_id":"t","cwd":"/w","hook_event_name":"Stop",
                          "stop_hook_active":false,"last_assistant_message":"done"});
        let ev = Codex
            .normalize(
                EventKind::Stop,
                stop.to_string().as_bytes(),
                &HookContext::default(),
            )
            .unwrap();
        assert!(ev.tool.is_none());
        let prompt =
            json!({"turn_id":"t","cwd":"/w","hook_event_name":"UserPromptSubmit","prompt":"hi"});
        let ev = Codex
            .normalize(
                EventKind::UserPromptSubmit,
                prompt.to_string().as_bytes(),
                &HookContext::default(),
            )
            .unwrap();
        assert_eq!(ev.prompt.as_deref(), Some("hi"));
        assert_eq!(
            ev.session_id.as_deref(),
            Some("t"),
            "turn id when no session id"
        );
        let post = json!({"session_id":"s","cwd":"/w","hook_event_name":"PostToolUse","tool_name":"Bash",
                          "tool_input":{"command":"echo hi"},"tool_response":"hi\n"});
        let ev = Codex
            .normalize(
                EventKind::PostToolUse,
                post.to_string().as_bytes(),
                &HookContext::default(),
            )
            .unwrap();
        assert_eq!(ev.tool_response, Some(json!("hi\n")));
    }

    #[test]
    fn allow_is_exit_0_with_nothing_on_stdout() {
        let r = Codex.render(
            EventKind::PreToolUse,
            None,
            &Decision::allow(),
            &RenderOptions::default(),
        );
        assert_eq!((r.exit_code, r.stdout.len(), r.stderr.len()), (0, 0, 0));
    }

    #[test]
    fn block_and_unanswerable_approval_are_exit_2_with_a_reason_and_no_json() {
        for verdict in [Verdict::Block, Verdict::RequireApproval] {
            let r = Codex.render(
                EventKind::PreToolUse,
                None,
                &decision(verdict),
                &RenderOptions::default(),
            );
            assert_eq!(r.exit_code, 2, "{verdict:?}");
            assert!(r.stdout.is_empty(), "{verdict:?}: stdout must stay empty");
            let stderr = String::from_utf8(r.stderr).unwrap();
            assert!(stderr.starts_with("[DashClaw] "), "{stderr}");
        }
        let held = RenderOptions {
            observe: false,
            held: Some("apr_1".into()),
            redact_tool_results: false,
        };
        let r = Codex.render(
            EventKind::PreToolUse,
            None,
            &decision(Verdict::RequireApproval),
            &held,
        );
        assert!(String::from_utf8_lossy(&r.stderr).contains("dashclawd approve apr_1"));
    }

    #[test]
    fn warn_observe_and_records_never_block() {
        let observe = RenderOptions {
            observe: true,
            held: None,
            redact_tool_results: false,
        };
        let r = Codex.render(
            EventKind::PreToolUse,
            None,
            &decision(Verdict::Block),
            &observe,
        );
        assert_eq!(r.exit_code, 0);
        assert!(r.stdout.is_empty());
        let r = Codex.render(
            EventKind::PreToolUse,
            None,
            &decision(Verdict::Warn),
            &RenderOptions::default(),
        );
        assert_eq!((r.exit_code, r.stdout.is_empty()), (0, true));
        for kind in [
            EventKind::PostToolUse,
            EventKind::Stop,
            EventKind::SessionStart,
            EventKind::UserPromptSubmit,
        ] {
            let r = Codex.render(
                kind,
                None,
                &decision(Verdict::Block),
                &RenderOptions::default(),
            );
            assert_eq!(r, Rendered::default(), "{kind:?}");
        }
    }
}
