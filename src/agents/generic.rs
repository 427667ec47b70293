//! The exit-code protocol shared by Codex, Hermes and OpenClaw until their own adapters land:
//! allow is exit 0 with empty stdout, anything else that gates is exit 2 with a non-empty reason
//! on stderr (the one form that blocks on every command-hook agent, agent-hooks.md §0.2). These
//! agents have no `ask`, so require-approval is a deny that says how to get approval.

use serde_json::Value;

use super::{
    approval_message, block_message, claude_style_action, observe_message, parse_object, str_field,
    warn_message, Adapter, AdapterError, HookContext, RenderOptions,
};
use crate::event::{Agent, Decision, EventKind, HookEvent, Subagent, ToolCall, Verdict};
use crate::protocol::Rendered;

pub struct ExitCodeAgent(pub Agent);

impl Adapter for ExitCodeAgent {
    fn agent(&self) -> Agent {
        self.0
    }

    fn normalize(
        &self,
        kind: EventKind,
        body: &[u8],
        ctx: &HookContext,
    ) -> Result<HookEvent, AdapterError> {
        let obj = parse_object(body)?;
        let tool = if matches!(kind, EventKind::PreToolUse | EventKind::PostToolUse) {
            let name = str_field(&obj, "tool_name")
                .filter(|n| !n.is_empty())
                .ok_or(AdapterError::Missing("tool_name"))?;
            let input = obj
                .get("tool_input")
                .cloned()
                .unwrap_or(Value::Object(Default::default()));
            Some(ToolCall {
                action: claude_style_action(&name, &input)?,
                name,
                input,
                tool_use_id: str_field(&obj, "tool_use_id"),
            })
        } else {
            None
        };
        Ok(HookEvent {
            agent: self.0,
            kind,
            session_id: str_field(&obj, "session_id"),
            cwd: str_field(&obj, "cwd").unwrap_or_else(|| ctx.cwd.clone()),
            transcript_path: str_field(&obj, "transcript_path"),
            permission_mode: str_field(&obj, "permission_mode"),
            subagent: str_field(&obj, "agent_id").map(|id| Subagent {
                id: Some(id),
                agent_type: str_field(&obj, "agent_type"),
            }),
            tool,
            tool_response: obj.get("tool_response").cloned(),
            prompt: str_field(&obj, "prompt"),
            headless: true,
        })
    }

    fn can_ask(&self, _event: &HookEvent) -> bool {
        false
    }

    fn render(
        &self,
        kind: EventKind,
        event: Option<&HookEvent>,
        decision: &Decision,
        opts: &RenderOptions,
    ) -> Rendered {
        if kind != EventKind::PreToolUse {
            return Rendered::default();
        }
        let (code, stderr) = match decision.verdict {
            _ if opts.observe && decision.verdict >= Verdict::RequireApproval => {
                (0, observe_message(decision))
            }
            Verdict::Allow => (0, String::new()),
            Verdict::Warn => (0, warn_message(decision)),
            Verdict::RequireApproval => (
                2,
                approval_message(decision, opts, "This agent cannot ask, so it was blocked."),
            ),
            Verdict::Block => (2, block_message(event, decision)),
        };
        Rendered {
            exit_code: code,
            stdout: Vec::new(),
            stderr: stderr.into_bytes(),
        }
    }
}
