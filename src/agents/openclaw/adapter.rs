//! OpenClaw (agent-hooks.md §4), through our plugin in `hooks/openclaw/`.
//!
//! OpenClaw can only block a tool from inside a TypeScript plugin, so the plugin's
//! `before_tool_call` runs `dashclaw-hook openclaw pre-tool-use` and sends a small JSON object we
//! designed: `{tool_name, tool_input, session_id, cwd, tool_use_id}` (plus `agent_id` and `run_id`
//! when OpenClaw has them). The plugin treats exit 0 as allow and everything else (exit 2, any
//! other exit, a crash, its own deadline) as a block whose reason is our stderr, so rendering is
//! the plain exit-code protocol: allow = exit 0 with empty stdout, block = exit 2 with the reason.
//!
//! Tool names are OpenClaw's own: `exec` (and `bash`, `process`) run shell commands; `write`,
//! `edit` and `apply_patch` change files; `read`, `ls`, `grep`, `find` read; `web_fetch` and
//! `web_search` fetch; `sessions_spawn` starts a sub-agent.

use crate::agents::{command_of, exit_code_render, tool_input, tool_name};
use serde_json::{Map, Value};

use crate::agents::{
    claude_style_action, parse_object, str_field, Adapter, AdapterError, HookContext, RenderOptions,
};
use crate::event::{Agent, Decision, EventKind, HookEvent, Subagent, ToolAction, ToolCall};
use crate::protocol::Rendered;

pub struct Openclaw;

impl Adapter for Openclaw {
    fn agent(&self) -> Agent {
        Agent::Openclaw
    }

    fn normalize(
        &self,
        kind: EventKind,
        body: &[u8],
        ctx: &HookContext,
    ) -> Result<HookEvent, AdapterError> {
        let obj = parse_object(body)?;
        let tool = if matches!(kind, EventKind::PreToolUse | EventKind::PostToolUse) {
            Some(tool_call(&obj)?)
        } else {
            None
        };
        Ok(HookEvent {
            agent: Agent::Openclaw,
            kind,
            session_id: str_field(&obj, "session_id").or_else(|| str_field(&obj, "run_id")),
            cwd: str_field(&obj, "cwd")
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| ctx.cwd.clone()),
            transcript_path: None,
            permission_mode: None,
            subagent: str_field(&obj, "agent_id").map(|id| Subagent {
                id: Some(id),
                agent_type: None,
            }),
            tool,
            tool_response: obj.get("tool_response").filter(|v| !v.is_null()).cloned(),
            prompt: str_field(&obj, "prompt"),
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
            "The DashClaw OpenClaw plugin cannot ask, so it was blocked.",
        )
    }
}

fn tool_call(obj: &Map<String, Value>) -> Result<ToolCall, AdapterError> {
    let name = tool_name(obj)?;
    let input = tool_input(obj.get("tool_input"))?;
    Ok(ToolCall {
        action: openclaw_action(&name, &input)?,
        name,
        input,
        tool_use_id: str_field(obj, "tool_use_id"),
    })
}

fn openclaw_action(name: &str, input: &Value) -> Result<ToolAction, AdapterError> {
    let s = |k: &str| input.get(k).and_then(Value::as_str).map(str::to_owned);
    let path = || {
        ["path", "file_path", "file"]
            .iter()
            .find_map(|k| s(k))
            .unwrap_or_default()
    };
    Ok(match name {
        "exec" | "bash" | "process" => ToolAction::Shell {
            command: command_of(input, &["command", "cmd"])?,
        },
        "write" => ToolAction::WriteFile {
            path: path(),
            content: s("content"),
        },
        "edit" => ToolAction::WriteFile {
            path: path(),
            content: s("newText").or_else(|| s("new_string")),
        },
        "apply_patch" => ToolAction::WriteFile {
            path: path(),
            content: s("input").or_else(|| s("patch")),
        },
        "read" => ToolAction::ReadFile { path: path() },
        "ls" | "grep" | "find" => ToolAction::ReadFile {
            path: s("path").unwrap_or_else(|| ".".into()),
        },
        "web_fetch" => ToolAction::Fetch { url: s("url") },
        "web_search" => ToolAction::Fetch { url: None },
        "sessions_spawn" => ToolAction::Subagent,
        _ => claude_style_action(name, input)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::event::Verdict;
    #[allow(unused_imports)]
    use serde_json::{json, Value};

    fn pre(tool: &str, input: Value) -> Result<HookEvent, AdapterError> {
        let body = json!({"tool_name": tool, "tool_input": input, "session_id": "s",
                          "cwd": "/w", "tool_use_id": "c1"})
        .to_string();
        Openclaw.normalize(
            EventKind::PreToolUse,
            body.as_bytes(),
            &HookContext::default(),
        )
    }

    #[test]
    fn openclaw_tool_names_map_to_actions() {
        let a = |t: &str, i: Value| pre(t, i).unwrap().tool.unwrap().action;
        assert_eq!(
            a("exec", json!({"command": "rm -rf ~"})),
            ToolAction::Shell {
                command: "rm -rf ~".into()
            }
        );
        assert_eq!(
            a("write", json!({"path": "a", "content": "x"})),
            ToolAction::WriteFile {
                path: "a".into(),
                content: Some("x".into())
            }
        );
        assert_eq!(
            a("edit", json!({"path": "a", "oldText": "x", "newText": "y"})),
            ToolAction::WriteFile {
                path: "a".into(),
                content: Some("y".into())
            }
        );
        assert_eq!(
            a("read", json!({"path": "a"})),
            ToolAction::ReadFile { path: "a".into() }
        );
        assert_eq!(a("sessions_spawn", json!({})), ToolAction::Subagent);
        assert_eq!(a("canvas", json!({})), ToolAction::Other);
        let ev = pre("exec", json!({"command": "ls"})).unwrap();
        assert_eq!(ev.cwd, "/w");
        assert_eq!(ev.tool.unwrap().tool_use_id.as_deref(), Some("c1"));
    }

    #[test]
    fn bad_payloads_are_errors() {
        assert!(pre("exec", json!({})).is_err());
        assert!(pre("", json!({})).is_err());
        for body in [
            &b"nope"[..],
            b"[]",
            br#"{"tool_name":"exec","tool_input":"x"}"#,
        ] {
            assert!(Openclaw
                .normalize(EventKind::PreToolUse, body, &HookContext::default())
                .is_err());
        }
    }

    #[test]
    fn render_is_the_exit_code_protocol() {
        let opts = RenderOptions::default();
        let r = Openclaw.render(EventKind::PreToolUse, None, &Decision::allow(), &opts);
        assert_eq!((r.exit_code, r.stdout.len(), r.stderr.len()), (0, 0, 0));
        let r = Openclaw.render(
            EventKind::PreToolUse,
            None,
            &Decision::block("no", None),
            &opts,
        );
        assert_eq!(r.exit_code, 2);
        assert!(!r.stderr.is_empty() && r.stdout.is_empty());
    }
}
