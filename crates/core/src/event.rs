//! The agent-neutral vocabulary of the daemon: a normalized hook event in, a decision out.
//!
//! Agent adapters (`crate::agents`) translate each agent's own stdin JSON into [`HookEvent`] and
//! render a [`Decision`] back into that agent's protocol. Everything between (classification,
//! policy, ledger) sees only these types.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The coding agents we speak to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Agent {
    Claude,
    Codex,
    Hermes,
    Openclaw,
}

impl Agent {
    pub fn parse(s: &str) -> Option<Agent> {
        dashclaw_proto::event::Agent::parse(s).map(Agent::from)
    }

    pub fn as_str(self) -> &'static str {
        dashclaw_proto::event::Agent::from(self).as_str()
    }
}

// The names live in dashclaw_proto (the hook parses its command line with them); these enums
// add serde. `names_match_proto` below keeps the serde names equal to proto's.
impl From<dashclaw_proto::event::Agent> for Agent {
    fn from(a: dashclaw_proto::event::Agent) -> Agent {
        use dashclaw_proto::event::Agent as P;
        match a {
            P::Claude => Agent::Claude,
            P::Codex => Agent::Codex,
            P::Hermes => Agent::Hermes,
            P::Openclaw => Agent::Openclaw,
        }
    }
}

impl From<Agent> for dashclaw_proto::event::Agent {
    fn from(a: Agent) -> Self {
        use dashclaw_proto::event::Agent as P;
        match a {
            Agent::Claude => P::Claude,
            Agent::Codex => P::Codex,
            Agent::Hermes => P::Hermes,
            Agent::Openclaw => P::Openclaw,
        }
    }
}

/// Hook events, named as on the `dashclaw-hook <agent> <event>` command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    PreToolUse,
    PostToolUse,
    Stop,
    SessionStart,
    SessionEnd,
    UserPromptSubmit,
}

impl EventKind {
    pub const ALL: [EventKind; 6] = [
        EventKind::PreToolUse,
        EventKind::PostToolUse,
        EventKind::Stop,
        EventKind::SessionStart,
        EventKind::SessionEnd,
        EventKind::UserPromptSubmit,
    ];

    pub fn parse(s: &str) -> Option<EventKind> {
        dashclaw_proto::event::EventKind::parse(s).map(EventKind::from)
    }

    pub fn as_str(self) -> &'static str {
        dashclaw_proto::event::EventKind::from(self).as_str()
    }

    /// Only a pre-tool-use verdict gates anything; the other events are records.
    pub fn is_gating(self) -> bool {
        self == EventKind::PreToolUse
    }
}

impl From<dashclaw_proto::event::EventKind> for EventKind {
    fn from(k: dashclaw_proto::event::EventKind) -> EventKind {
        use dashclaw_proto::event::EventKind as P;
        match k {
            P::PreToolUse => EventKind::PreToolUse,
            P::PostToolUse => EventKind::PostToolUse,
            P::Stop => EventKind::Stop,
            P::SessionStart => EventKind::SessionStart,
            P::SessionEnd => EventKind::SessionEnd,
            P::UserPromptSubmit => EventKind::UserPromptSubmit,
        }
    }
}

impl From<EventKind> for dashclaw_proto::event::EventKind {
    fn from(k: EventKind) -> Self {
        use dashclaw_proto::event::EventKind as P;
        match k {
            EventKind::PreToolUse => P::PreToolUse,
            EventKind::PostToolUse => P::PostToolUse,
            EventKind::Stop => P::Stop,
            EventKind::SessionStart => P::SessionStart,
            EventKind::SessionEnd => P::SessionEnd,
            EventKind::UserPromptSubmit => P::UserPromptSubmit,
        }
    }
}

/// What a tool call does, independent of the agent's tool naming.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ToolAction {
    /// A shell command line (Claude `Bash`, Codex `Bash`, Hermes `terminal`, OpenClaw `exec`).
    Shell { command: String },
    /// Creating or changing a file. `content` is the new text when the tool carries it
    /// (Write `content`, Edit `new_string`, MultiEdit's edits joined, NotebookEdit `new_source`).
    WriteFile {
        path: String,
        content: Option<String>,
    },
    /// Reading a file or searching a tree.
    ReadFile { path: String },
    /// Fetching a URL or searching the web.
    Fetch { url: Option<String> },
    /// Spawning a sub-agent or a task.
    Subagent,
    /// An MCP tool, `mcp__<server>__<tool>`.
    Mcp { server: String, tool: String },
    /// A tool we do not model; still governed.
    Other,
}

/// A tool call as the agent described it, plus our reading of it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolCall {
    /// The agent's own tool name (`Bash`, `Write`, `mcp__github__create_issue`, ...).
    pub name: String,
    pub input: Value,
    pub tool_use_id: Option<String>,
    pub action: ToolAction,
}

/// Identity of the sub-agent that made the call, when it was not the main agent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Subagent {
    pub id: Option<String>,
    pub agent_type: Option<String>,
}

/// One hook event, normalized.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HookEvent {
    pub agent: Agent,
    pub kind: EventKind,
    pub session_id: Option<String>,
    /// The agent's working directory (from the event, else the hook process cwd).
    pub cwd: String,
    pub transcript_path: Option<String>,
    pub permission_mode: Option<String>,
    pub subagent: Option<Subagent>,
    pub tool: Option<ToolCall>,
    /// Post-tool-use only: what the tool returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_response: Option<Value>,
    /// User-prompt-submit only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    /// True when nobody can answer an interactive question (e.g. Claude Code `-p`).
    pub headless: bool,
}

/// Risk intent of an action, compatible with the upstream DashClaw classifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    Readonly,
    Write,
    Destructive,
    Network,
    ProcessManagement,
    PackageManagement,
    SystemAdmin,
    Interpreter,
    Spend,
    Unknown,
}

impl Intent {
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Readonly => "readonly",
            Intent::Write => "write",
            Intent::Destructive => "destructive",
            Intent::Network => "network",
            Intent::ProcessManagement => "process_management",
            Intent::PackageManagement => "package_management",
            Intent::SystemAdmin => "system_admin",
            Intent::Interpreter => "interpreter",
            Intent::Spend => "spend",
            Intent::Unknown => "unknown",
        }
    }

    /// Upstream base risk per intent (upstream-python-hooks.md §4.2 step 4).
    pub fn base_risk(self) -> u8 {
        match self {
            Intent::Readonly => 5,
            Intent::PackageManagement => 30,
            Intent::Write | Intent::Interpreter => 35,
            Intent::Network => 40,
            Intent::ProcessManagement => 50,
            Intent::SystemAdmin | Intent::Spend => 75,
            Intent::Destructive => 90,
            Intent::Unknown => 20,
        }
    }

    /// Upstream `action_type` for a shell intent (upstream-python-hooks.md §2.4).
    pub fn action_type(self) -> &'static str {
        match self {
            Intent::Readonly => "review",
            Intent::Write => "apply",
            Intent::Destructive | Intent::ProcessManagement => "security",
            Intent::Network => "api",
            Intent::PackageManagement | Intent::Interpreter => "build",
            Intent::SystemAdmin => "deploy",
            Intent::Spend => "spend",
            Intent::Unknown => "other",
        }
    }
}

/// The four verdicts, ordered from most to least permissive so `max` is "the stricter wins".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Allow,
    Warn,
    RequireApproval,
    Block,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Warn => "warn",
            Verdict::RequireApproval => "require_approval",
            Verdict::Block => "block",
        }
    }
}

/// One observation of the classifier: which rule fired, how strongly, and what to do instead.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable rule id, e.g. `rm-root`, `curl-pipe-shell`, `sensitive-write`.
    pub rule: &'static str,
    /// The verdict this finding asks for on its own.
    pub verdict: Verdict,
    /// Why, in one short sentence for the model and the human.
    pub reason: String,
    /// A safer alternative, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    /// For exfiltration rules: what flowed from where to where (kept in the ledger).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<Flow>,
}

/// A data flow off the machine: the secret source (if any), the sink, the destination.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flow {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    pub sink: String,
    pub destination: String,
}

/// What the classifier understood of a tool call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    pub intent: Intent,
    /// 0..=100, upstream-compatible.
    pub risk_score: u8,
    pub action_type: &'static str,
    pub reversible: bool,
    /// Paths, hosts or resources the call touches, as far as we can tell.
    pub targets: Vec<String>,
    pub findings: Vec<Finding>,
    /// A one-line description of the call for humans (`Bash: rm -rf /`). Not yet redacted: the
    /// engine redacts it before it is stored or shown.
    pub summary: String,
    /// Every simple command the classifier graded, normalized (quotes removed, variables and
    /// aliases expanded), each prefixed with where it came from (`[pipe 2]`, `[$( )]`,
    /// `[bash -c]`, `[ssh remote]`, `[script x.sh]`). Shell calls only. Not yet redacted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
    /// How the risk score was reached: the deciding command, the base and every modifier
    /// (`base destructive 90`, `bounded rm cap 55`, `sensitive target +15`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub risk_factors: Vec<String>,
    /// Files this call writes from a secret source (`cat ~/.ssh/id_rsa > /tmp/k`): the session
    /// remembers them, so sending one later is the same exfiltration flow.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tainted_writes: Vec<String>,
}

/// The verdict for one event with its explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub verdict: Verdict,
    pub reasons: Vec<String>,
    /// The policy (or built-in rule) that set the verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// What the model could do instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
}

impl Decision {
    pub fn allow() -> Decision {
        Decision {
            verdict: Verdict::Allow,
            reasons: Vec::new(),
            policy: None,
            suggestion: None,
        }
    }

    pub fn block(reason: impl Into<String>, policy: Option<String>) -> Decision {
        Decision {
            verdict: Verdict::Block,
            reasons: vec![reason.into()],
            policy,
            suggestion: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The serde names (ledger, policies, JSON output) are the command-line names of proto.
    #[test]
    fn names_match_proto() {
        for p in dashclaw_proto::event::Agent::ALL {
            let a = Agent::from(p);
            assert_eq!(serde_json::to_value(a).unwrap(), p.as_str());
            assert_eq!(dashclaw_proto::event::Agent::from(a), p);
        }
        for p in dashclaw_proto::event::EventKind::ALL {
            let k = EventKind::from(p);
            assert_eq!(serde_json::to_value(k).unwrap(), p.as_str());
            assert_eq!(dashclaw_proto::event::EventKind::from(k), p);
        }
        assert_eq!(Agent::parse("claude-code"), Some(Agent::Claude));
    }
}
