//! One place per agent. `agents/<agent>/` holds everything that agent needs: the adapter (its
//! hook JSON in, a [`HookEvent`]; a [`Decision`] out, its exit code and output bytes, plus its
//! tool-name table), the installer, the doctor checks and, where the agent has one we read, the
//! transcript parsing, all behind one [`Integration`]. `dashclawd install`, `doctor` and the
//! daemon find agents only through [`INTEGRATIONS`], so a new agent is one directory plus one
//! line there. Shared parsing of tool names/inputs and the exit-code verdict live here; shared
//! installer machinery in `crate::install`, shared doctor machinery in [`doctor`].

pub mod claude;
pub mod codex;
pub mod doctor;
pub mod hermes;
mod integration;
pub mod openclaw;
pub mod transcript;

use serde_json::{Map, Value};

use crate::event::{Agent, Decision, EventKind, HookEvent, ToolAction};
use crate::protocol::Rendered;

pub use claude::Claude;
pub use codex::Codex;
pub use hermes::Hermes;
pub use integration::{integration_for, integration_named, Integration, INTEGRATIONS};
pub use openclaw::Openclaw;

/// What the hook process told us besides its stdin.
#[derive(Debug, Clone, Default)]
pub struct HookContext {
    /// The hook process's working directory.
    pub cwd: String,
    /// Forwarded environment variables (see `protocol::FORWARDED_ENV`).
    pub env: Vec<(String, String)>,
}

impl HookContext {
    pub fn env(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why an event could not be understood. On a gating event this is a deny.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    #[error("the payload is not valid JSON ({0})")]
    NotJson(serde_json::Error),
    #[error("the payload is JSON but not an object")]
    NotObject,
    #[error("the payload has no `{0}` field")]
    Missing(&'static str),
    #[error("`{field}` should be {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
}

/// How a verdict should be shown, beyond the decision itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RenderOptions {
    /// `DASHCLAW_HOOK_MODE=observe`: report what would have happened, block nothing.
    pub observe: bool,
    /// Require-approval only: the local approvals queue holds the call under this id.
    pub held: Option<String>,
    /// `DASHCLAW_REDACT_TOOL_RESULTS=1`: on a post-tool event whose result the agent lets a hook
    /// rewrite, answer with the redacted result (Hermes only).
    pub redact_tool_results: bool,
}

pub trait Adapter: Sync {
    fn agent(&self) -> Agent;

    /// Parses the agent's stdin JSON for `kind` into a normalized event.
    fn normalize(
        &self,
        kind: EventKind,
        body: &[u8],
        ctx: &HookContext,
    ) -> Result<HookEvent, AdapterError>;

    /// Whether the agent itself can put a require-approval verdict to the user (Claude Code's
    /// `ask`). When it cannot, the daemon holds the call in the local approvals queue.
    fn can_ask(&self, event: &HookEvent) -> bool {
        // Only Claude Code has an ask; every other agent's hook can just allow or block.
        let _ = event;
        false
    }

    /// Whether this request asks for the tool result to be answered redacted
    /// ([`RenderOptions::redact_tool_results`]); only agents that let a hook rewrite a result
    /// say yes.
    fn redact_tool_results(&self, ctx: &HookContext) -> bool {
        let _ = ctx;
        false
    }

    /// Renders the decision for `kind` in the agent's protocol. `event` is `None` when the
    /// payload could not be normalized.
    fn render(
        &self,
        kind: EventKind,
        event: Option<&HookEvent>,
        decision: &Decision,
        opts: &RenderOptions,
    ) -> Rendered;
}

/// The adapter of `agent`, from its [`Integration`].
pub fn adapter_for(agent: Agent) -> &'static dyn Adapter {
    integration_for(agent).adapter()
}

/// Parses the payload into a JSON object.
pub(crate) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, AdapterError> {
    match serde_json::from_slice::<Value>(body).map_err(AdapterError::NotJson)? {
        Value::Object(map) => Ok(map),
        _ => Err(AdapterError::NotObject),
    }
}

pub(crate) fn str_field(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// `tool_name`: required, a non-empty string.
pub(crate) fn tool_name(obj: &Map<String, Value>) -> Result<String, AdapterError> {
    match obj.get("tool_name") {
        Some(Value::String(n)) if !n.is_empty() => Ok(n.clone()),
        Some(Value::String(_)) | Some(Value::Null) | None => {
            Err(AdapterError::Missing("tool_name"))
        }
        Some(_) => Err(AdapterError::WrongType {
            field: "tool_name",
            expected: "a string",
        }),
    }
}

/// A tool input: an object; absent or null is `{}`; anything else is malformed.
pub(crate) fn tool_input(value: Option<&Value>) -> Result<Value, AdapterError> {
    match value {
        None | Some(Value::Null) => Ok(Value::Object(Map::new())),
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        Some(_) => Err(AdapterError::WrongType {
            field: "tool_input",
            expected: "an object",
        }),
    }
}

/// A shell tool's command line: the first of `keys` present, which must be a string.
pub(crate) fn command_of(input: &Value, keys: &[&str]) -> Result<String, AdapterError> {
    match keys.iter().find_map(|k| input.get(*k)) {
        Some(Value::String(c)) => Ok(c.clone()),
        Some(_) => Err(AdapterError::WrongType {
            field: "tool_input.command",
            expected: "a string",
        }),
        None => Err(AdapterError::Missing("tool_input.command")),
    }
}

/// [`exit_code_verdict`] as the whole answer: stderr only, never a byte on stdout (on Codex one
/// stray JSON field turns a deny into an allow).
pub(crate) fn exit_code_render(
    kind: EventKind,
    event: Option<&HookEvent>,
    decision: &Decision,
    opts: &RenderOptions,
    cannot_ask: &str,
) -> Rendered {
    exit_code_verdict(kind, event, decision, opts, cannot_ask)
        .map(|(exit_code, stderr)| Rendered {
            exit_code,
            stdout: Vec::new(),
            stderr: stderr.into_bytes(),
        })
        .unwrap_or_default()
}

/// The verdict in the exit-code protocol every command-hook agent honours (exit 2 plus a
/// non-empty reason on stderr blocks; exit 0 allows), for agents that cannot ask the user.
/// `None` for events that never gate.
pub(crate) fn exit_code_verdict(
    kind: EventKind,
    event: Option<&HookEvent>,
    decision: &Decision,
    opts: &RenderOptions,
    cannot_ask: &str,
) -> Option<(u8, String)> {
    if kind != EventKind::PreToolUse {
        // Records never block: exit 2 on a Stop would force the turn to continue.
        return None;
    }
    Some(match decision.verdict {
        _ if opts.observe && decision.verdict >= crate::event::Verdict::RequireApproval => {
            (0, observe_message(decision))
        }
        crate::event::Verdict::Allow => (0, String::new()),
        // On exit 0 the agents do not show stderr to the model; it reaches the user's log.
        crate::event::Verdict::Warn => (0, warn_message(decision)),
        crate::event::Verdict::RequireApproval => (2, approval_message(decision, opts, cannot_ask)),
        crate::event::Verdict::Block => (2, block_message(event, decision)),
    })
}

/// Tool names that run a shell command whatever their input's field is called (Codex's
/// `shell`/`exec_command`/`local_shell`/`unified_exec`, common MCP shell servers).
const SHELL_TOOLS: &[&str] = &[
    "shell",
    "exec_command",
    "local_shell",
    "unified_exec",
    "container.exec",
    "run_shell_command",
    "execute_command",
    "run_terminal_cmd",
    "run_command",
    "bash",
    "terminal",
    "exec",
    "process",
    "shell_command",
    "run_in_terminal",
    "execute_bash",
    "bash_tool",
];

/// The shell command a tool carries, whatever the tool is called: a `command`/`cmd`/`script`
/// string, an argv array (`["bash", "-lc", "rm -rf /"]`), or `code` with a shell or
/// interpreter `language`. MCP and unknown tools go through the shell walker this way, so a
/// tool's name is never a way around the classifier.
pub(crate) fn shell_like(name: &str, input: &Value) -> Option<String> {
    let base = name.rsplit("__").next().unwrap_or(name);
    let named_shell = SHELL_TOOLS.iter().any(|t| base.eq_ignore_ascii_case(t));
    for key in [
        "command",
        "cmd",
        "script",
        "commandLine",
        "command_line",
        "shell_command",
    ] {
        match input.get(key) {
            Some(Value::String(c)) if !c.trim().is_empty() => return Some(c.clone()),
            Some(Value::Array(parts)) => {
                let argv: Option<Vec<String>> =
                    parts.iter().map(|p| p.as_str().map(shell_quote)).collect();
                if let Some(argv) = argv.filter(|a| !a.is_empty()) {
                    return Some(argv.join(" "));
                }
            }
            _ => {}
        }
    }
    let runs = named_shell
        || [
            "exec", "run", "spawn", "process", "command", "shell", "terminal",
        ]
        .iter()
        .any(|k| base.to_ascii_lowercase().contains(k));
    if runs || input.get("argv").is_some() {
        for key in ["argv", "args", "input"] {
            if let Some(Value::Array(parts)) = input.get(key) {
                let argv: Option<Vec<String>> =
                    parts.iter().map(|p| p.as_str().map(shell_quote)).collect();
                if let Some(argv) = argv.filter(|a| !a.is_empty()) {
                    return Some(argv.join(" "));
                }
            }
        }
    }
    let code = input.get("code").and_then(Value::as_str)?;
    let lang = input
        .get("language")
        .or_else(|| input.get("lang"))
        .and_then(Value::as_str)
        .unwrap_or(if named_shell { "bash" } else { "" })
        .to_ascii_lowercase();
    let program = match lang.as_str() {
        "bash" | "sh" | "shell" | "zsh" | "console" => return Some(code.to_owned()),
        "python" | "python3" | "py" => "python3 -c",
        "javascript" | "js" | "node" | "typescript" | "ts" => "node -e",
        "ruby" | "rb" => "ruby -e",
        "perl" => "perl -e",
        "php" => "php -r",
        "lua" => "lua -e",
        "powershell" | "pwsh" => "pwsh -Command",
        _ => return None,
    };
    Some(format!("{program} {}", shell_quote(code)))
}

fn shell_quote(t: &str) -> String {
    if !t.is_empty()
        && t.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&c))
    {
        return t.to_owned();
    }
    format!("'{}'", t.replace('\'', "'\\''"))
}

/// File tools under any name (MCP filesystem servers, other agents' `write_file`, `view`):
/// a path plus content is a write, a path alone a read, moves and deletes are shell commands,
/// so the same path rules apply whatever the tool is called.
pub(crate) fn file_tool(name: &str, input: &Value) -> Option<ToolAction> {
    let base = name
        .rsplit("__")
        .next()
        .unwrap_or(name)
        .to_ascii_lowercase();
    let s = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| input.get(*k).and_then(Value::as_str))
            .map(str::to_owned)
    };
    let path = s(&[
        "path",
        "file_path",
        "filepath",
        "filename",
        "file",
        "target",
    ]);
    let edits = || {
        input.get("edits").and_then(Value::as_array).map(|e| {
            e.iter()
                .filter_map(|x| {
                    x.get("newText")
                        .or(x.get("new_string"))
                        .and_then(Value::as_str)
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
    };
    match base.as_str() {
        "write_file" | "create_file" | "save_file" | "write_text_file" | "put_file"
        | "append_file" | "create" => Some(ToolAction::WriteFile {
            path: path?,
            content: s(&["content", "text", "data", "contents", "file_text"]),
        }),
        "edit_file" | "str_replace" | "replace_in_file" | "patch_file" | "edit" | "insert" => {
            Some(ToolAction::WriteFile {
                path: path?,
                content: s(&["new_string", "newText", "new_str", "content", "insert_text"])
                    .or_else(edits),
            })
        }
        "read_file"
        | "read_text_file"
        | "view"
        | "cat"
        | "get_file"
        | "open_file"
        | "read_multiple_files"
        | "read_media_file" => Some(ToolAction::ReadFile {
            path: path.or_else(|| {
                input
                    .get("paths")
                    .and_then(Value::as_array)
                    .and_then(|p| p.first())
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })?,
        }),
        "move_file" | "rename_file" | "rename" | "move" => {
            let from = s(&["source", "src", "from", "old_path", "path"])?;
            let to = s(&["destination", "dest", "dst", "to", "new_path"])?;
            Some(ToolAction::Shell {
                command: format!("mv {} {}", shell_quote(&from), shell_quote(&to)),
            })
        }
        "delete_file" | "remove_file" | "delete" | "unlink" => Some(ToolAction::Shell {
            command: format!("rm -f {}", shell_quote(&path?)),
        }),
        "delete_directory" | "remove_directory" | "rmdir" => Some(ToolAction::Shell {
            command: format!("rm -rf {}", shell_quote(&path?)),
        }),
        _ => None,
    }
}

/// Maps the common Claude-style tool vocabulary (also used by Codex) to a [`ToolAction`].
pub(crate) fn claude_style_action(name: &str, input: &Value) -> Result<ToolAction, AdapterError> {
    let s = |k: &str| input.get(k).and_then(Value::as_str).map(str::to_owned);
    let path = |keys: &[&'static str]| keys.iter().find_map(|k| s(k)).unwrap_or_default();
    Ok(match name {
        "Bash" => ToolAction::Shell {
            command: command_of(input, &["command"])?,
        },
        "Write" => ToolAction::WriteFile {
            path: path(&["file_path", "path"]),
            content: s("content"),
        },
        "Edit" => ToolAction::WriteFile {
            path: path(&["file_path", "path"]),
            content: s("new_string"),
        },
        "MultiEdit" => ToolAction::WriteFile {
            path: path(&["file_path", "path"]),
            content: input.get("edits").and_then(Value::as_array).map(|edits| {
                edits
                    .iter()
                    .filter_map(|e| e.get("new_string").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("\n")
            }),
        },
        "NotebookEdit" => ToolAction::WriteFile {
            path: path(&["notebook_path", "file_path"]),
            content: s("new_source"),
        },
        "Read" | "NotebookRead" => ToolAction::ReadFile {
            path: path(&["file_path", "notebook_path", "path"]),
        },
        "Glob" | "Grep" | "LS" => ToolAction::ReadFile {
            path: s("path").unwrap_or_else(|| ".".into()),
        },
        "WebFetch" => ToolAction::Fetch { url: s("url") },
        "WebSearch" => ToolAction::Fetch { url: None },
        "Agent" | "Task" => ToolAction::Subagent,
        _ if file_tool(name, input).is_some() => {
            file_tool(name, input).unwrap_or(ToolAction::Other)
        }
        _ if shell_like(name, input).is_some() => ToolAction::Shell {
            command: shell_like(name, input).unwrap_or_default(),
        },
        _ => match name.strip_prefix("mcp__").and_then(|r| r.split_once("__")) {
            Some((server, tool)) => ToolAction::Mcp {
                server: server.to_owned(),
                tool: tool.to_owned(),
            },
            None => ToolAction::Other,
        },
    })
}

/// The text of a block for the model: what was blocked, why, what to do instead. Two lines.
pub(crate) fn block_message(event: Option<&HookEvent>, d: &Decision) -> String {
    let reason = d
        .reasons
        .first()
        .map(String::as_str)
        .unwrap_or("blocked by policy");
    let mut msg = format!("[DashClaw] Blocked by policy: {reason}");
    if let Some(p) = &d.policy {
        msg.push_str(&format!(" (Policy: {p})"));
    }
    let instead = d.suggestion.as_deref().unwrap_or(
        "do not retry this call; choose a safer approach or ask the user to run it themselves",
    );
    msg.push_str(&format!("\nInstead: {}.", instead.trim_end_matches('.')));
    if event.is_none() {
        msg.push_str(" The payload could not be parsed, so this call was NOT governed.");
    }
    msg
}

/// The deny text for a require-approval that nobody can answer inside the agent. With a held
/// request it names the exact command a human runs; without one it says why it was blocked.
pub(crate) fn approval_message(d: &Decision, opts: &RenderOptions, why_blocked: &str) -> String {
    let reason = d
        .reasons
        .first()
        .map(String::as_str)
        .unwrap_or("policy requires a human decision");
    match &opts.held {
        Some(id) => format!(
            "[DashClaw] Approval required: {reason}. Held as {id}: ask the user to run `dashclawd approve {id}` in a terminal, then retry the same call.\nInstead: wait for the user's go-ahead; do not run dashclawd yourself (it refuses agent tool calls)."
        ),
        None => format!(
            "[DashClaw] Approval required: {reason}. {why_blocked}\nInstead: {}.",
            d.suggestion
                .as_deref()
                .unwrap_or("ask the user to approve it or to run it themselves")
                .trim_end_matches('.')
        ),
    }
}

pub(crate) fn warn_message(d: &Decision) -> String {
    format!(
        "[DashClaw] Warning: {}",
        d.reasons
            .first()
            .map(String::as_str)
            .unwrap_or("Policy warning")
    )
}

pub(crate) fn observe_message(d: &Decision) -> String {
    let reason = d.reasons.first().map(String::as_str).unwrap_or("policy");
    match d.verdict {
        crate::event::Verdict::RequireApproval => {
            format!("[DashClaw] [observe] Would require approval for: {reason}")
        }
        _ => format!("[DashClaw] [observe] Would block: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tool_vocabulary_maps_to_actions() {
        let cases = [
            (
                "Bash",
                json!({"command":"ls"}),
                ToolAction::Shell {
                    command: "ls".into(),
                },
            ),
            (
                "NotebookEdit",
                json!({"notebook_path":"/w/a.ipynb","new_source":"x"}),
                ToolAction::WriteFile {
                    path: "/w/a.ipynb".into(),
                    content: Some("x".into()),
                },
            ),
            (
                "MultiEdit",
                json!({"file_path":"f","edits":[{"new_string":"a"},{"new_string":"b"}]}),
                ToolAction::WriteFile {
                    path: "f".into(),
                    content: Some("a\nb".into()),
                },
            ),
            (
                "mcp__github__create_issue",
                json!({}),
                ToolAction::Mcp {
                    server: "github".into(),
                    tool: "create_issue".into(),
                },
            ),
            ("Frobnicate", json!({}), ToolAction::Other),
        ];
        for (name, input, want) in cases {
            assert_eq!(claude_style_action(name, &input).unwrap(), want, "{name}");
        }
    }

    #[test]
    fn a_bash_call_without_a_string_command_is_an_error() {
        assert!(claude_style_action("Bash", &json!({})).is_err());
        assert!(claude_style_action("Bash", &json!({"command": ["rm"]})).is_err());
    }
}
