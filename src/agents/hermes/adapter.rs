//! Hermes Agent shell hooks (agent-hooks.md §3.2).
//!
//! Hermes runs `command` (split like a shell would, but without a shell) with one JSON object on
//! stdin: `{hook_event_name, tool_name, tool_input, session_id, cwd, profile, extra}`. Everything
//! Hermes knows beyond those fields (`task_id`, `tool_call_id`, the tool's `result`, …) is under
//! `extra`. Our CLI event names stay ours (`dashclaw-hook hermes pre-tool-use`); the installer
//! maps `pre_tool_call` → pre-tool-use, `post_tool_call` → post-tool-use, and so on.
//!
//! Output: allow is exit 0 with empty stdout. A block is exit 2, the reason on stderr, and
//! Hermes's own block JSON `{"action":"block","message":…}` on stdout, the message the model
//! sees. Pre-tool-use events come from the installer's `dashclaw-guard` plugin, which hands that
//! JSON to Hermes and blocks on any other failure (Hermes 0.19.0 ignores a shell hook's exit
//! code); a shell hook printing it blocks too. Hermes cannot ask through a hook, so
//! require-approval is a block that says how to get approval.
//!
//! Tool-result redaction: when `DASHCLAW_REDACT_TOOL_RESULTS=1` reaches the daemon and a
//! post-tool event carries the tool's result with a secret in it, the redacted result is printed
//! as `{"result": …}`. Hermes (0.19) lets only an in-process plugin replace a result, so the
//! installer's `dashclaw-guard` plugin (hooks/hermes/plugin/) runs this hook from its
//! `transform_tool_result` callback and hands that string to Hermes. With nothing to redact,
//! nothing is printed and Hermes keeps the original.

use crate::agents::{command_of, exit_code_verdict, tool_name};
use serde_json::{json, Map, Value};

use crate::agents::{
    claude_style_action, parse_object, str_field, Adapter, AdapterError, HookContext, RenderOptions,
};
use crate::event::{Agent, Decision, EventKind, HookEvent, Subagent, ToolAction, ToolCall};
use crate::protocol::Rendered;

pub struct Hermes;

/// The environment variable that turns tool-result redaction on (value `1`).
pub const REDACT_ENV: &str = "DASHCLAW_REDACT_TOOL_RESULTS";

/// Hermes's hook event for each of our event kinds, as the installer registers them.
pub const EVENTS: &[(&str, EventKind)] = &[
    ("pre_tool_call", EventKind::PreToolUse),
    ("post_tool_call", EventKind::PostToolUse),
    ("on_session_start", EventKind::SessionStart),
    ("on_session_end", EventKind::SessionEnd),
    ("pre_llm_call", EventKind::UserPromptSubmit),
];

impl Adapter for Hermes {
    fn agent(&self) -> Agent {
        Agent::Hermes
    }

    fn normalize(
        &self,
        kind: EventKind,
        body: &[u8],
        ctx: &HookContext,
    ) -> Result<HookEvent, AdapterError> {
        let obj = parse_object(body)?;
        let extra = match obj.get("extra") {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        let tool = if matches!(kind, EventKind::PreToolUse | EventKind::PostToolUse) {
            Some(tool_call(&obj, &extra)?)
        } else {
            None
        };
        let tool_response = if kind == EventKind::PostToolUse {
            ["result", "tool_response"]
                .iter()
                .find_map(|k| extra.get(*k).or_else(|| obj.get(*k)))
                .filter(|v| !v.is_null())
                .cloned()
        } else {
            None
        };
        let subagent = str_field(&extra, "parent_session_id")
            .filter(|p| !p.is_empty())
            .map(|_| Subagent {
                id: str_field(&extra, "task_id"),
                agent_type: None,
            });
        Ok(HookEvent {
            agent: Agent::Hermes,
            kind,
            session_id: str_field(&obj, "session_id")
                .filter(|s| !s.is_empty())
                .or_else(|| str_field(&extra, "task_id")),
            cwd: str_field(&obj, "cwd")
                .filter(|c| !c.is_empty())
                .unwrap_or_else(|| ctx.cwd.clone()),
            transcript_path: None,
            permission_mode: None,
            subagent,
            tool,
            tool_response,
            prompt: ["user_message", "prompt"]
                .iter()
                .find_map(|k| str_field(&extra, k)),
            // Hermes runs headless in cron, gateways and `-q`; a shell hook can never ask.
            headless: true,
        })
    }

    fn redact_tool_results(&self, ctx: &HookContext) -> bool {
        redaction_enabled(ctx)
    }

    fn render(
        &self,
        kind: EventKind,
        event: Option<&HookEvent>,
        decision: &Decision,
        opts: &RenderOptions,
    ) -> Rendered {
        if kind == EventKind::PostToolUse && opts.redact_tool_results {
            return redacted_result(event);
        }
        let Some((exit_code, stderr)) = exit_code_verdict(
            kind,
            event,
            decision,
            opts,
            "Hermes shell hooks cannot ask, so it was blocked.",
        ) else {
            return Rendered::default();
        };
        let stdout = if exit_code == 2 {
            let mut out = json!({"action": "block", "message": stderr}).to_string();
            out.push('\n');
            out.into_bytes()
        } else {
            Vec::new()
        };
        Rendered {
            exit_code,
            stdout,
            stderr: stderr.into_bytes(),
        }
    }
}

/// Whether tool-result redaction is on for this request.
pub fn redaction_enabled(ctx: &HookContext) -> bool {
    matches!(
        ctx.env(REDACT_ENV).map(str::trim),
        Some("1" | "true" | "yes")
    )
}

/// `{"result": <redacted>}` when the result held a secret, else nothing (keep the original).
fn redacted_result(event: Option<&HookEvent>) -> Rendered {
    let Some(result) = event.and_then(|e| e.tool_response.as_ref()) else {
        return Rendered::default();
    };
    let redacted = match result {
        Value::String(s) => match crate::redact::redact_str(s) {
            std::borrow::Cow::Borrowed(_) => return Rendered::default(),
            std::borrow::Cow::Owned(r) => Value::String(r),
        },
        other => {
            let mut v = other.clone();
            crate::redact::redact_json(&mut v);
            if &v == other {
                return Rendered::default();
            }
            v
        }
    };
    let mut out = json!({ "result": redacted }).to_string();
    out.push('\n');
    Rendered {
        exit_code: 0,
        stdout: out.into_bytes(),
        stderr: Vec::new(),
    }
}

fn tool_call(
    obj: &Map<String, Value>,
    extra: &Map<String, Value>,
) -> Result<ToolCall, AdapterError> {
    let name = tool_name(obj)?;
    // `tool_input` is null when Hermes passed the arguments under another name.
    let input = match ["tool_input"]
        .iter()
        .filter_map(|k| obj.get(*k))
        .chain(["args", "arguments"].iter().filter_map(|k| extra.get(*k)))
        .find(|v| !v.is_null())
    {
        None => json!({}),
        Some(v @ Value::Object(_)) => v.clone(),
        // Some tools pass their arguments as a JSON string.
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                return Err(AdapterError::WrongType {
                    field: "tool_input",
                    expected: "an object",
                })
            }
        },
        Some(_) => {
            return Err(AdapterError::WrongType {
                field: "tool_input",
                expected: "an object",
            })
        }
    };
    let action = hermes_action(&name, &input)?;
    Ok(ToolCall {
        action,
        name,
        input,
        tool_use_id: str_field(extra, "tool_call_id").or_else(|| str_field(obj, "tool_use_id")),
    })
}

/// Hermes's tool vocabulary; anything else falls back to the Claude-style names (which some
/// Hermes setups and the upstream matcher use) and then to `Other`, which is still governed.
fn hermes_action(name: &str, input: &Value) -> Result<ToolAction, AdapterError> {
    let s = |k: &str| input.get(k).and_then(Value::as_str).map(str::to_owned);
    let path = || {
        ["path", "file_path", "filename"]
            .iter()
            .find_map(|k| s(k))
            .unwrap_or_default()
    };
    Ok(match name {
        "terminal" => ToolAction::Shell {
            command: command_of(input, &["command"])?,
        },
        "write_file" | "create_file" => ToolAction::WriteFile {
            path: path(),
            content: s("content").or_else(|| s("file_text")),
        },
        // `patch` replaces `old_string` by `new_string`, or applies a V4A patch in `patch`.
        "patch" => ToolAction::WriteFile {
            path: path(),
            content: s("new_string").or_else(|| s("patch")),
        },
        "str_replace_editor" => match s("command").as_deref() {
            Some("view") => ToolAction::ReadFile { path: path() },
            _ => ToolAction::WriteFile {
                path: path(),
                content: s("new_str").or_else(|| s("file_text")),
            },
        },
        "read_file" => ToolAction::ReadFile { path: path() },
        "search_files" | "list_files" => ToolAction::ReadFile {
            path: s("path").unwrap_or_else(|| ".".into()),
        },
        "web_search" => ToolAction::Fetch { url: None },
        "web_extract" | "web_crawl" | "browser_navigate" => ToolAction::Fetch {
            url: s("url").or_else(|| {
                input
                    .get("urls")
                    .and_then(Value::as_array)
                    .and_then(|u| u.first())
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            }),
        },
        "delegate_task" => ToolAction::Subagent,
        _ => match mcp_parts(name) {
            Some((server, tool)) => ToolAction::Mcp { server, tool },
            None => claude_style_action(name, input)?,
        },
    })
}

/// Hermes names MCP tools `mcp_<server>_<tool>`. A server name with an underscore is
/// ambiguous; we split at the first one after the prefix (the policy sees the full tool name
/// anyway). Claude's `mcp__<server>__<tool>` is left to the Claude vocabulary.
fn mcp_parts(name: &str) -> Option<(String, String)> {
    let rest = name.strip_prefix("mcp_")?;
    if rest.starts_with('_') {
        return None;
    }
    let (server, tool) = rest.split_once('_')?;
    (!server.is_empty() && !tool.is_empty()).then(|| (server.to_owned(), tool.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::event::Verdict;
    #[allow(unused_imports)]
    use serde_json::{json, Value};

    fn payload(event: &str, tool: &str, input: Value) -> Vec<u8> {
        json!({
            "hook_event_name": event,
            "tool_name": tool,
            "tool_input": input,
            "session_id": "s1",
            "cwd": "/w",
            "profile": "default",
            "extra": {"task_id": "t1", "tool_call_id": "call_1"}
        })
        .to_string()
        .into_bytes()
    }

    fn pre(tool: &str, input: Value) -> Result<HookEvent, AdapterError> {
        Hermes.normalize(
            EventKind::PreToolUse,
            &payload("pre_tool_call", tool, input),
            &HookContext::default(),
        )
    }

    fn action(tool: &str, input: Value) -> ToolAction {
        pre(tool, input).unwrap().tool.unwrap().action
    }

    #[test]
    fn hermes_tool_names_map_to_actions() {
        assert_eq!(
            action("terminal", json!({"command": "rm -rf /"})),
            ToolAction::Shell {
                command: "rm -rf /".into()
            }
        );
        assert_eq!(
            action("write_file", json!({"path": "/w/a", "content": "x"})),
            ToolAction::WriteFile {
                path: "/w/a".into(),
                content: Some("x".into())
            }
        );
        assert_eq!(
            action(
                "patch",
                json!({"mode": "replace", "path": "a.rs", "old_string": "a", "new_string": "b"})
            ),
            ToolAction::WriteFile {
                path: "a.rs".into(),
                content: Some("b".into())
            }
        );
        assert_eq!(
            action(
                "str_replace_editor",
                json!({"command": "view", "path": "a"})
            ),
            ToolAction::ReadFile { path: "a".into() }
        );
        assert_eq!(
            action(
                "str_replace_editor",
                json!({"command": "str_replace", "path": "a", "new_str": "n"})
            ),
            ToolAction::WriteFile {
                path: "a".into(),
                content: Some("n".into())
            }
        );
        assert_eq!(
            action("create_file", json!({"path": "c", "file_text": "t"})),
            ToolAction::WriteFile {
                path: "c".into(),
                content: Some("t".into())
            }
        );
        assert_eq!(
            action("read_file", json!({"path": "/etc/passwd"})),
            ToolAction::ReadFile {
                path: "/etc/passwd".into()
            }
        );
        assert_eq!(
            action("mcp_github_create_issue", json!({})),
            ToolAction::Mcp {
                server: "github".into(),
                tool: "create_issue".into()
            }
        );
        assert_eq!(action("delegate_task", json!({})), ToolAction::Subagent);
        assert_eq!(
            action("execute_code", json!({"code": "1"})),
            ToolAction::Other
        );
        // The upstream matcher's Claude names still work.
        assert_eq!(
            action("Bash", json!({"command": "ls"})),
            ToolAction::Shell {
                command: "ls".into()
            }
        );
    }

    #[test]
    fn fields_and_ids_come_from_the_payload_and_extra() {
        let ev = pre("terminal", json!({"command": "ls"})).unwrap();
        assert_eq!(ev.agent, Agent::Hermes);
        assert_eq!(ev.session_id.as_deref(), Some("s1"));
        assert_eq!(ev.cwd, "/w");
        assert_eq!(ev.tool.unwrap().tool_use_id.as_deref(), Some("call_1"));
        assert!(ev.headless);
    }

    #[test]
    fn bad_payloads_are_errors_not_panics() {
        let ctx = HookContext::default();
        for body in [
            &b"{"[..],
            b"[]",
            b"\"x\"",
            b"",
            br#"{"tool_name":null,"tool_input":null}"#,
            br#"{"tool_name":"terminal","tool_input":{}}"#,
            br#"{"tool_name":"terminal","tool_input":{"command":["rm"]}}"#,
            br#"{"tool_name":"terminal","tool_input":[1]}"#,
            br#"{"tool_name":7}"#,
        ] {
            assert!(
                Hermes.normalize(EventKind::PreToolUse, body, &ctx).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        // Non-tool events carry null tool fields and still parse.
        let ev = Hermes
            .normalize(
                EventKind::SessionStart,
                br#"{"hook_event_name":"on_session_start","tool_name":null,"tool_input":null,"session_id":"s","cwd":"","extra":{}}"#,
                &HookContext {
                    cwd: "/here".into(),
                    env: vec![],
                },
            )
            .unwrap();
        assert!(ev.tool.is_none());
        assert_eq!(ev.cwd, "/here");
    }

    #[test]
    fn arguments_under_extra_and_the_result_are_read() {
        let body = json!({
            "hook_event_name": "transform_tool_result",
            "tool_name": "terminal",
            "tool_input": null,
            "session_id": "s",
            "cwd": "/w",
            "extra": {"arguments": {"command": "env"}, "result": "{\"output\":\"x\"}"}
        })
        .to_string();
        let ev = Hermes
            .normalize(
                EventKind::PostToolUse,
                body.as_bytes(),
                &HookContext::default(),
            )
            .unwrap();
        assert_eq!(
            ev.tool.unwrap().action,
            ToolAction::Shell {
                command: "env".into()
            }
        );
        assert_eq!(ev.tool_response, Some(json!("{\"output\":\"x\"}")));
    }

    fn decision(verdict: Verdict) -> Decision {
        Decision {
            verdict,
            ..Decision::block("rm -rf outside the workspace", Some("destructive".into()))
        }
    }

    #[test]
    fn allow_is_exit_0_and_silent() {
        let r = Hermes.render(
            EventKind::PreToolUse,
            None,
            &Decision::allow(),
            &RenderOptions::default(),
        );
        assert_eq!((r.exit_code, r.stdout.len(), r.stderr.len()), (0, 0, 0));
    }

    #[test]
    fn block_and_approval_are_exit_2_with_stderr_and_hermes_block_json() {
        for v in [Verdict::Block, Verdict::RequireApproval] {
            let r = Hermes.render(
                EventKind::PreToolUse,
                None,
                &decision(v),
                &RenderOptions::default(),
            );
            assert_eq!(r.exit_code, 2);
            let stderr = String::from_utf8(r.stderr).unwrap();
            assert!(stderr.starts_with("[DashClaw]"), "{stderr}");
            let out: Value = serde_json::from_slice(&r.stdout).unwrap();
            assert_eq!(out["action"], "block");
            assert_eq!(out["message"], stderr.as_str());
            assert_eq!(out.as_object().unwrap().len(), 2);
        }
        let observe = RenderOptions {
            observe: true,
            ..Default::default()
        };
        let r = Hermes.render(
            EventKind::PreToolUse,
            None,
            &decision(Verdict::Block),
            &observe,
        );
        assert_eq!((r.exit_code, r.stdout.len()), (0, 0));
        for kind in [EventKind::PostToolUse, EventKind::SessionStart] {
            let r = Hermes.render(kind, None, &decision(Verdict::Block), &observe);
            assert_eq!(r, Rendered::default());
        }
    }

    #[test]
    fn tool_results_are_redacted_only_when_enabled_and_needed() {
        let secret = "GITHUB_TOKEN=ghp_R8kq2LmZ7xV4nP9tW3yB6cD1fH5jK0sQ2uEa";
        let body = json!({
            "hook_event_name": "transform_tool_result",
            "tool_name": "terminal",
            "tool_input": {"command": "env"},
            "extra": {"result": secret}
        })
        .to_string();
        let ev = Hermes
            .normalize(
                EventKind::PostToolUse,
                body.as_bytes(),
                &HookContext::default(),
            )
            .unwrap();
        let on = RenderOptions {
            redact_tool_results: true,
            ..Default::default()
        };
        let off = Hermes.render(
            EventKind::PostToolUse,
            Some(&ev),
            &Decision::allow(),
            &RenderOptions::default(),
        );
        assert_eq!(off, Rendered::default());
        let r = Hermes.render(EventKind::PostToolUse, Some(&ev), &Decision::allow(), &on);
        assert_eq!(r.exit_code, 0);
        let out: Value = serde_json::from_slice(&r.stdout).unwrap();
        let text = out["result"].as_str().unwrap();
        assert!(!text.contains("ghp_R8kq"), "{text}");
        assert!(text.contains("[REDACTED"), "{text}");
        // Nothing to redact: no output, Hermes keeps the original.
        let mut clean = ev.clone();
        clean.tool_response = Some(json!("all good"));
        let r = Hermes.render(
            EventKind::PostToolUse,
            Some(&clean),
            &Decision::allow(),
            &on,
        );
        assert_eq!(r, Rendered::default());
        assert!(redaction_enabled(&HookContext {
            cwd: String::new(),
            env: vec![(REDACT_ENV.into(), "1".into())],
        }));
        assert!(!redaction_enabled(&HookContext::default()));
    }
}
