//! What a policy sees of a tool call: the fields of a DashClaw guard request
//! (dashclaw-server-api.md §2.2), derived from a hook event the way the upstream hook derives
//! them (upstream-python-hooks.md §2.4–2.5).

use serde::{Deserialize, Serialize};

use crate::event::{Agent, Classification, HookEvent, ToolAction};
use crate::util::text::clip_chars;

/// Longest `declared_goal` the server accepts, in characters.
pub const DECLARED_GOAL_MAX: usize = 2000;

/// The guard-request fields policies read. Deserializable, so `rules.tests[].input` objects
/// (written against the server's field names) can be fed straight in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GuardContext {
    #[serde(alias = "action")]
    pub action_type: String,
    /// `parent:child` for a sub-agent; `None` means scoped policies and `rate_limit` do not
    /// apply (as on the server).
    pub agent_id: Option<String>,
    /// The client's own estimate; it can only raise the server heuristic.
    pub risk_score: Option<f64>,
    #[serde(alias = "intent")]
    pub declared_goal: Option<String>,
    /// Set when an evidence fold reclassified the call; grants never apply across one.
    pub declared_action_type: Option<String>,
    pub target: Option<String>,
    pub write_paths: Vec<String>,
    pub systems_touched: Vec<String>,
    pub reversible: Option<bool>,
    pub intel: Intel,
}

/// Optional repository facts (`intel` on the guard request). Locally we usually have none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Intel {
    pub branch: Option<BranchIntel>,
    pub green: Option<GreenIntel>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BranchIntel {
    pub freshness: Option<String>,
    pub commits_behind: Option<f64>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GreenIntel {
    pub observed_level: Option<String>,
}

/// The agent id upstream's hook uses when `DASHCLAW_AGENT_ID` is not set.
pub fn default_agent_id(agent: Agent) -> &'static str {
    match agent {
        Agent::Claude => "claude-code",
        other => other.as_str(),
    }
}

impl GuardContext {
    /// Builds the context for one classified event.
    ///
    /// `agent_id` is the *base* id: `DASHCLAW_AGENT_ID` when the engine has it, else
    /// [`default_agent_id`]. A call made inside a sub-agent gets upstream's composed id
    /// `<agent_id>:<slug(agent_type)>`, so policies scoped to the parent still apply to it.
    pub fn from_event(event: &HookEvent, c: &Classification, agent_id: &str) -> GuardContext {
        let agent_id = (!agent_id.is_empty()).then(|| {
            match event
                .subagent
                .as_ref()
                .and_then(|s| s.agent_type.as_deref())
            {
                Some(t) => format!("{agent_id}:{}", slug(t)),
                None => agent_id.to_owned(),
            }
        });
        let mut ctx = GuardContext {
            action_type: c.action_type.to_owned(),
            agent_id,
            risk_score: Some(f64::from(c.risk_score)),
            reversible: Some(c.reversible),
            ..GuardContext::default()
        };
        let Some(tool) = &event.tool else {
            return ctx;
        };
        let goal = match &tool.action {
            ToolAction::Shell { command } => {
                let label = if tool.name == "PowerShell" {
                    "PowerShell"
                } else {
                    "Bash"
                };
                // Tighter than upstream (which sends only the first redirect target): every
                // path the classifier saw the command touch is a candidate for protected_path.
                ctx.target = c.targets.first().cloned();
                ctx.write_paths = c.targets.clone();
                format!("{label}: {command}")
            }
            ToolAction::WriteFile { path, .. } => {
                ctx.target = Some(path.clone());
                // The server's evidence fold adds a file act's path to write_paths.
                ctx.write_paths = vec![path.clone()];
                format!("{}: {path}", tool.name)
            }
            ToolAction::ReadFile { path } => {
                ctx.target = (!path.is_empty()).then(|| path.clone());
                format!("{}: {path}", tool.name)
            }
            ToolAction::Fetch { url } => {
                ctx.target = url.clone();
                format!("{}: {}", tool.name, tool.input)
            }
            ToolAction::Mcp { .. } => format!("MCP: {}", tool.name),
            ToolAction::Subagent | ToolAction::Other => format!("{}: {}", tool.name, tool.input),
        };
        ctx.declared_goal = Some(clip_chars(&goal, DECLARED_GOAL_MAX).to_owned());
        ctx.systems_touched = match (&tool.action, tool.name.as_str()) {
            (ToolAction::Shell { .. }, _) | (_, "Bash" | "PowerShell" | "REPL") => {
                vec!["shell".into()]
            }
            (ToolAction::WriteFile { .. }, _)
            | (_, "Write" | "Edit" | "MultiEdit" | "NotebookEdit" | "TodoWrite") => {
                vec!["filesystem".into()]
            }
            _ => Vec::new(),
        };
        ctx
    }

    /// The agent id, if it is usable (present and not empty).
    pub fn agent(&self) -> Option<&str> {
        self.agent_id.as_deref().filter(|a| !a.is_empty())
    }
}

/// Upstream's sub-agent slug: lower-case, `[a-z0-9-_]` kept, anything else `-`, trimmed of
/// `-`, at most 64 characters, `subagent` when nothing is left.
pub fn slug(agent_type: &str) -> String {
    let s: String = agent_type
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = clip_chars(s.trim_matches('-'), 64);
    if s.is_empty() {
        "subagent".into()
    } else {
        s.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventKind, Intent, Subagent, ToolCall};
    use serde_json::json;

    fn event(name: &str, input: serde_json::Value, action: ToolAction) -> HookEvent {
        HookEvent {
            agent: Agent::Claude,
            kind: EventKind::PreToolUse,
            session_id: None,
            cwd: "/w".into(),
            transcript_path: None,
            permission_mode: None,
            subagent: None,
            tool: Some(ToolCall {
                name: name.into(),
                input,
                tool_use_id: None,
                action,
            }),
            tool_response: None,
            prompt: None,
            headless: false,
        }
    }

    fn class(action_type: &'static str, targets: &[&str]) -> Classification {
        Classification {
            intent: Intent::Write,
            risk_score: 42,
            action_type,
            reversible: false,
            targets: targets.iter().map(|s| s.to_string()).collect(),
            findings: Vec::new(),
            summary: String::new(),
            commands: Vec::new(),
            risk_factors: Vec::new(),
            tainted_writes: Vec::new(),
        }
    }

    #[test]
    fn bash_context_like_upstream() {
        let ev = event(
            "Bash",
            json!({"command": "rm -rf build"}),
            ToolAction::Shell {
                command: "rm -rf build".into(),
            },
        );
        let ctx = GuardContext::from_event(&ev, &class("security", &["build"]), "claude-code");
        assert_eq!(ctx.agent_id.as_deref(), Some("claude-code"));
        assert_eq!(ctx.action_type, "security");
        assert_eq!(ctx.declared_goal.as_deref(), Some("Bash: rm -rf build"));
        assert_eq!(ctx.risk_score, Some(42.0));
        assert_eq!(ctx.reversible, Some(false));
        assert_eq!(ctx.systems_touched, ["shell"]);
        assert_eq!(ctx.target.as_deref(), Some("build"));
        assert_eq!(ctx.write_paths, ["build"]);
    }

    #[test]
    fn file_and_other_tools() {
        let ev = event(
            "Write",
            json!({"file_path": "src/a.rs"}),
            ToolAction::WriteFile {
                path: "src/a.rs".into(),
                content: None,
            },
        );
        let ctx = GuardContext::from_event(&ev, &class("apply", &["src/a.rs"]), "me");
        assert_eq!(ctx.declared_goal.as_deref(), Some("Write: src/a.rs"));
        assert_eq!(ctx.systems_touched, ["filesystem"]);
        assert_eq!(
            (ctx.target.as_deref(), ctx.write_paths.as_slice()),
            (Some("src/a.rs"), &["src/a.rs".to_string()][..])
        );

        let ev = event(
            "mcp__github__create_issue",
            json!({}),
            ToolAction::Mcp {
                server: "github".into(),
                tool: "create_issue".into(),
            },
        );
        let ctx = GuardContext::from_event(&ev, &class("api", &[]), "me");
        assert_eq!(
            ctx.declared_goal.as_deref(),
            Some("MCP: mcp__github__create_issue")
        );
        assert!(ctx.systems_touched.is_empty() && ctx.target.is_none());

        let ev = event("Task", json!({"prompt": "x"}), ToolAction::Subagent);
        let ctx = GuardContext::from_event(&ev, &class("orchestration", &[]), "me");
        assert_eq!(
            ctx.declared_goal.as_deref(),
            Some(r#"Task: {"prompt":"x"}"#)
        );
    }

    #[test]
    fn declared_goal_is_capped_at_2000_chars() {
        let cmd = "é".repeat(3000);
        let ev = event(
            "Bash",
            json!({}),
            ToolAction::Shell {
                command: cmd.clone(),
            },
        );
        let ctx = GuardContext::from_event(&ev, &class("other", &[]), "me");
        let goal = ctx.declared_goal.unwrap();
        assert_eq!(goal.chars().count(), 2000);
        assert!(goal.starts_with("Bash: é"));
    }

    #[test]
    fn subagents_get_a_composed_id() {
        let mut ev = event(
            "Bash",
            json!({}),
            ToolAction::Shell {
                command: "ls".into(),
            },
        );
        ev.subagent = Some(Subagent {
            id: Some("a1".into()),
            agent_type: Some("Code Reviewer!".into()),
        });
        let ctx = GuardContext::from_event(&ev, &class("review", &[]), "claude-code");
        assert_eq!(ctx.agent_id.as_deref(), Some("claude-code:code-reviewer"));
        assert_eq!(
            GuardContext::from_event(&ev, &class("review", &[]), "").agent_id,
            None
        );
        assert_eq!(slug("---"), "subagent");
        assert_eq!(slug(&"x".repeat(99)).len(), 64);
        assert_eq!(default_agent_id(Agent::Claude), "claude-code");
        assert_eq!(default_agent_id(Agent::Codex), "codex");
    }

    #[test]
    fn deserializes_server_field_names() {
        let ctx: GuardContext = serde_json::from_value(json!({
            "action": "deploy", "intent": "ship it", "agent_id": "a",
            "intel": {"branch": {"freshness": "stale", "commits_behind": 3}},
            "unknown_field": 1
        }))
        .unwrap();
        assert_eq!(ctx.action_type, "deploy");
        assert_eq!(ctx.declared_goal.as_deref(), Some("ship it"));
        assert_eq!(ctx.intel.branch.unwrap().commits_behind, Some(3.0));
    }
}
