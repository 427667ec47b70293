//! Claude Code (agent-hooks.md §1).
//!
//! Allow is exit 0 with empty stdout. Deny is exit 2 with the reason on stderr (the one form
//! every version honours). A warning goes out as `systemMessage` JSON so the user sees it.
//! Require-approval becomes Claude's own `permissionDecision: "ask"` prompt, except where nobody
//! can answer (`-p`/SDK runs, `dontAsk`, `bypassPermissions`): there it is a deny saying so.

use crate::agents::{tool_input, tool_name};
use serde_json::json;

use crate::agents::{
    approval_message, block_message, claude_style_action, observe_message, parse_object, str_field,
    warn_message, Adapter, AdapterError, HookContext, RenderOptions,
};
use crate::event::{Agent, Decision, EventKind, HookEvent, Subagent, ToolCall, Verdict};
use crate::protocol::Rendered;

pub struct Claude;

impl Adapter for Claude {
    fn agent(&self) -> Agent {
        Agent::Claude
    }

    fn normalize(
        &self,
        kind: EventKind,
        body: &[u8],
        ctx: &HookContext,
    ) -> Result<HookEvent, AdapterError> {
        let obj = parse_object(body)?;
        let tool = if matches!(kind, EventKind::PreToolUse | EventKind::PostToolUse) {
            let name = tool_name(&obj)?;
            let input = tool_input(obj.get("tool_input"))?;
            Some(ToolCall {
                action: claude_style_action(&name, &input)?,
                name,
                input,
                tool_use_id: str_field(&obj, "tool_use_id"),
            })
        } else {
            None
        };
        let permission_mode = str_field(&obj, "permission_mode");
        let subagent = match (str_field(&obj, "agent_id"), str_field(&obj, "agent_type")) {
            (None, None) => None,
            (id, agent_type) => Some(Subagent { id, agent_type }),
        };
        Ok(HookEvent {
            agent: Agent::Claude,
            kind,
            session_id: str_field(&obj, "session_id")
                .or_else(|| ctx.env("CLAUDE_CODE_SESSION_ID").map(str::to_owned)),
            cwd: str_field(&obj, "cwd").unwrap_or_else(|| ctx.cwd.clone()),
            transcript_path: str_field(&obj, "transcript_path"),
            headless: is_headless(ctx, permission_mode.as_deref()),
            permission_mode,
            subagent,
            tool,
            tool_response: obj.get("tool_response").cloned(),
            prompt: str_field(&obj, "prompt"),
        })
    }

    fn can_ask(&self, event: &HookEvent) -> bool {
        !event.headless
    }

    fn render(
        &self,
        kind: EventKind,
        event: Option<&HookEvent>,
        decision: &Decision,
        opts: &RenderOptions,
    ) -> Rendered {
        if kind != EventKind::PreToolUse {
            // Records never block: a Stop exit 2 would force the conversation to continue.
            return Rendered::default();
        }
        if opts.observe && decision.verdict >= Verdict::RequireApproval {
            return Rendered {
                exit_code: 0,
                stdout: Vec::new(),
                stderr: observe_message(decision).into_bytes(),
            };
        }
        match decision.verdict {
            Verdict::Allow => Rendered::default(),
            Verdict::Warn => Rendered {
                exit_code: 0,
                stdout: json!({ "systemMessage": warn_message(decision) })
                    .to_string()
                    .into_bytes(),
                stderr: Vec::new(),
            },
            Verdict::RequireApproval if event.is_some_and(|e| !e.headless) => {
                let reason = format!(
                    "[DashClaw] Approval required: {}",
                    decision
                        .reasons
                        .first()
                        .map(String::as_str)
                        .unwrap_or("policy requires a human decision")
                );
                Rendered {
                    exit_code: 0,
                    stdout: json!({
                        "hookSpecificOutput": {
                            "hookEventName": "PreToolUse",
                            "permissionDecision": "ask",
                            "permissionDecisionReason": reason,
                        }
                    })
                    .to_string()
                    .into_bytes(),
                    stderr: Vec::new(),
                }
            }
            Verdict::RequireApproval => Rendered {
                exit_code: 2,
                stdout: Vec::new(),
                stderr: approval_message(
                    decision,
                    opts,
                    "Nobody can approve in this non-interactive run, so it was blocked.",
                )
                .into_bytes(),
            },
            Verdict::Block => Rendered {
                exit_code: 2,
                stdout: Vec::new(),
                stderr: block_message(event, decision).into_bytes(),
            },
        }
    }
}

/// Claude Code cannot show an `ask` prompt in `-p`/SDK runs (CLAUDE_CODE_ENTRYPOINT=sdk-*), and
/// in `dontAsk`/`bypassPermissions` an ask is not a human decision we can rely on.
fn is_headless(ctx: &HookContext, permission_mode: Option<&str>) -> bool {
    ctx.env("CLAUDE_CODE_ENTRYPOINT")
        .is_some_and(|e| e.starts_with("sdk"))
        || matches!(permission_mode, Some("dontAsk" | "bypassPermissions"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::ToolAction;
    #[allow(unused_imports)]
    use serde_json::{json, Value};

    fn ctx(entrypoint: Option<&str>) -> HookContext {
        HookContext {
            cwd: "/hook/cwd".into(),
            env: entrypoint
                .map(|e| vec![("CLAUDE_CODE_ENTRYPOINT".to_string(), e.to_string())])
                .unwrap_or_default(),
        }
    }

    const PRE: &str = r#"{"session_id":"s1","transcript_path":"/t/s1.jsonl","cwd":"/work","prompt_id":"p",
        "permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"Bash",
        "tool_input":{"command":"ls -la","description":"list"},"tool_use_id":"toolu_1",
        "agent_id":"a1","agent_type":"Explore"}"#;

    #[test]
    fn normalizes_a_pre_tool_use() {
        let ev = Claude
            .normalize(EventKind::PreToolUse, PRE.as_bytes(), &ctx(None))
            .unwrap();
        assert_eq!(ev.session_id.as_deref(), Some("s1"));
        assert_eq!(ev.cwd, "/work");
        assert_eq!(ev.transcript_path.as_deref(), Some("/t/s1.jsonl"));
        assert_eq!(ev.permission_mode.as_deref(), Some("default"));
        assert_eq!(
            ev.subagent,
            Some(Subagent {
                id: Some("a1".into()),
                agent_type: Some("Explore".into())
            })
        );
        let tool = ev.tool.unwrap();
        assert_eq!(tool.tool_use_id.as_deref(), Some("toolu_1"));
        assert_eq!(
            tool.action,
            ToolAction::Shell {
                command: "ls -la".into()
            }
        );
        assert!(!ev.headless);
    }

    #[test]
    fn sdk_entrypoint_is_headless() {
        let ev = Claude
            .normalize(EventKind::PreToolUse, PRE.as_bytes(), &ctx(Some("sdk-cli")))
            .unwrap();
        assert!(ev.headless);
    }

    #[test]
    fn malformed_payloads_are_errors() {
        for bad in [
            "",
            "not json",
            "[1,2]",
            r#"{"tool_input":{}}"#,
            r#"{"tool_name":""}"#,
            r#"{"tool_name":"Bash","tool_input":"rm -rf /"}"#,
        ] {
            assert!(
                Claude
                    .normalize(EventKind::PreToolUse, bad.as_bytes(), &ctx(None))
                    .is_err(),
                "{bad:?}"
            );
        }
        // Record events need no tool.
        assert!(Claude
            .normalize(EventKind::Stop, br#"{"session_id":"s"}"#, &ctx(None))
            .is_ok());
    }

    fn render(verdict: Verdict, headless: bool) -> Rendered {
        let ev = Claude
            .normalize(
                EventKind::PreToolUse,
                PRE.as_bytes(),
                &ctx(headless.then_some("sdk-cli")),
            )
            .unwrap();
        let d = Decision {
            verdict,
            reasons: vec!["recursive delete of /".into()],
            policy: Some("builtin:rm-root".into()),
            suggestion: Some("delete the specific directory you mean".into()),
        };
        Claude.render(
            EventKind::PreToolUse,
            Some(&ev),
            &d,
            &RenderOptions::default(),
        )
    }

    #[test]
    fn allow_is_exit_zero_with_nothing_printed() {
        assert_eq!(render(Verdict::Allow, false), Rendered::default());
    }

    #[test]
    fn block_is_exit_two_with_reason_and_alternative() {
        let r = render(Verdict::Block, false);
        assert_eq!(r.exit_code, 2);
        assert!(r.stdout.is_empty());
        let err = String::from_utf8(r.stderr).unwrap();
        insta::assert_snapshot!(err, @r"
        [DashClaw] Blocked by policy: recursive delete of / (Policy: builtin:rm-root)
        Instead: delete the specific directory you mean.
        ");
    }

    #[test]
    fn approval_asks_interactively_and_denies_headless() {
        let r = render(Verdict::RequireApproval, false);
        assert_eq!(r.exit_code, 0);
        let out: Value = serde_json::from_slice(&r.stdout).unwrap();
        assert_eq!(out["hookSpecificOutput"]["permissionDecision"], "ask");
        assert_eq!(out["hookSpecificOutput"]["hookEventName"], "PreToolUse");

        let r = render(Verdict::RequireApproval, true);
        assert_eq!(r.exit_code, 2);
        assert!(String::from_utf8(r.stderr)
            .unwrap()
            .contains("Nobody can approve"));
    }

    #[test]
    fn warn_is_an_allow_with_a_system_message() {
        let r = render(Verdict::Warn, false);
        assert_eq!(r.exit_code, 0);
        let out: Value = serde_json::from_slice(&r.stdout).unwrap();
        assert!(out["systemMessage"]
            .as_str()
            .unwrap()
            .starts_with("[DashClaw] Warning: "));
        assert!(out.get("hookSpecificOutput").is_none());
    }

    #[test]
    fn records_never_block() {
        let d = Decision::block("x", None);
        for kind in [
            EventKind::Stop,
            EventKind::PostToolUse,
            EventKind::SessionEnd,
        ] {
            assert_eq!(
                Claude.render(kind, None, &d, &RenderOptions::default()),
                Rendered::default()
            );
        }
    }
}
