//! The agents and hook events as named on the `dashclaw-hook <agent> <event>` command line and
//! in the request frame. Plain enums: the serde-carrying event model (`dashclaw_core::event`)
//! converts from these, so the names are written once.

/// The coding agents we speak to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Agent {
    Claude,
    Codex,
    Hermes,
    Openclaw,
}

impl Agent {
    pub const ALL: [Agent; 4] = [Agent::Claude, Agent::Codex, Agent::Hermes, Agent::Openclaw];

    pub fn parse(s: &str) -> Option<Agent> {
        match s {
            "claude" | "claude-code" => Some(Agent::Claude),
            "codex" => Some(Agent::Codex),
            "hermes" => Some(Agent::Hermes),
            "openclaw" => Some(Agent::Openclaw),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Agent::Claude => "claude",
            Agent::Codex => "codex",
            Agent::Hermes => "hermes",
            Agent::Openclaw => "openclaw",
        }
    }
}

/// Hook events, named as on the `dashclaw-hook <agent> <event>` command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::PreToolUse => "pre-tool-use",
            EventKind::PostToolUse => "post-tool-use",
            EventKind::Stop => "stop",
            EventKind::SessionStart => "session-start",
            EventKind::SessionEnd => "session-end",
            EventKind::UserPromptSubmit => "user-prompt-submit",
        }
    }

    /// Only a pre-tool-use verdict gates anything; the other events are records.
    pub fn is_gating(self) -> bool {
        self == EventKind::PreToolUse
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in Agent::ALL {
            assert_eq!(Agent::parse(a.as_str()), Some(a));
        }
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(Agent::parse("claude-code"), Some(Agent::Claude));
        assert_eq!(Agent::parse("Claude"), None);
        assert_eq!(EventKind::parse("PreToolUse"), None);
    }
}
