//! Classification of tool calls: what a call does (intent), how risky it is (upstream-compatible
//! 0–100 score), and which built-in rules it trips.
//!
//! This is pure and allocation-light: it runs on every tool call, before any network request.
//! Shell commands go through our own parser ([`shell`]) and rule set (`rules`); file, fetch, MCP
//! and other tools are graded from the upstream tool catalog (upstream-python-hooks.md §2.3–2.4).
//! What a finding is worth is decided by the policy pack (`crate::policy`).

mod paths;
mod rules;
pub mod shell;

use crate::event::{Classification, HookEvent, Intent, ToolAction, ToolCall, Verdict};
use crate::policy::rules as r;

/// Where the agent works, for resolving relative paths.
#[derive(Debug, Clone, Copy)]
pub struct ClassifyContext<'a> {
    /// The workspace root (usually the event's `cwd`).
    pub workspace: &'a str,
    /// The user's home directory, when known.
    pub home: Option<&'a str>,
}

/// Longest summary, in characters.
const SUMMARY_MAX: usize = 300;

/// Classifies one hook event. Events without a tool call are read-only with risk 0.
pub fn classify(event: &HookEvent, ctx: &ClassifyContext) -> Classification {
    let Some(tool) = &event.tool else {
        return Classification {
            intent: Intent::Readonly,
            risk_score: 0,
            action_type: "other",
            reversible: true,
            targets: Vec::new(),
            findings: Vec::new(),
            summary: event.kind.as_str().to_owned(),
        };
    };
    match &tool.action {
        ToolAction::Shell { command } => {
            let label = if tool.name == "PowerShell" {
                "PowerShell"
            } else {
                "Bash"
            };
            classify_shell(label, command, ctx)
        }
        ToolAction::WriteFile { path, .. } => classify_write(&tool.name, path, ctx),
        ToolAction::ReadFile { path } => classify_read(&tool.name, path, ctx),
        ToolAction::Fetch { url } => classify_fetch(tool, url.as_deref()),
        ToolAction::Subagent => classify_catalog(tool, described(tool)),
        ToolAction::Mcp { server, tool: name } => Classification {
            intent: Intent::Unknown,
            risk_score: 30,
            action_type: "api",
            reversible: true,
            targets: vec![format!("{server}/{name}")],
            findings: Vec::new(),
            summary: summary("MCP", &format!("{server}/{name}")),
        },
        ToolAction::Other => classify_catalog(tool, tool.input.to_string()),
    }
}

/// Classifies a shell command line as if it came from the `Bash` tool.
pub fn classify_command(command: &str, ctx: &ClassifyContext) -> Classification {
    classify_shell("Bash", command, ctx)
}

fn classify_shell(label: &str, command: &str, ctx: &ClassifyContext) -> Classification {
    let out = rules::classify_shell(command, ctx);
    Classification {
        intent: out.intent,
        risk_score: out.risk,
        action_type: out.action_type,
        reversible: out.reversible,
        targets: out.targets,
        findings: out.findings,
        summary: summary(label, command),
    }
}

/// Upstream `_enrich_file` plus the secret-file rules.
fn classify_write(tool: &str, path: &str, ctx: &ClassifyContext) -> Classification {
    let base: i32 = match tool {
        "Edit" | "NotebookEdit" => 35,
        "TodoWrite" => 20,
        _ => 40,
    };
    let resolved = paths::resolve(path, ctx.workspace, ctx.home);
    let outside = !paths::is_inside(&resolved, ctx.workspace);
    let sensitive = paths::is_risk_sensitive(path);
    let mut findings = Vec::new();
    if paths::is_device(&resolved) {
        findings
            .push(r::DEVICE_WRITE.finding(format!("`{tool}` targets the raw device `{path}`.")));
    } else if paths::is_secret_path(path) || paths::is_secret_path(&resolved) {
        findings.push(r::SENSITIVE_WRITE.finding(format!(
            "`{tool}` would change `{path}`, a secrets or credentials file."
        )));
    } else if outside {
        findings.push(r::WRITE_OUTSIDE_WORKSPACE.finding(format!(
            "`{tool}` writes `{resolved}`, outside the workspace `{}`.",
            ctx.workspace
        )));
    }
    let mut risk = base;
    if outside || paths::has_dotdot(path) {
        risk += 20;
    }
    if sensitive {
        risk += 15;
    }
    if findings.iter().any(|f| f.verdict == Verdict::Block) {
        risk = risk.max(85);
    }
    Classification {
        intent: Intent::Write,
        risk_score: risk.clamp(0, 100) as u8,
        action_type: if sensitive { "security" } else { "apply" },
        reversible: true,
        targets: vec![path.to_owned()],
        findings,
        summary: summary(tool, path),
    }
}

fn classify_read(tool: &str, path: &str, ctx: &ClassifyContext) -> Classification {
    let resolved = paths::resolve(path, ctx.workspace, ctx.home);
    let mut findings = Vec::new();
    if paths::is_secret_path(path) || paths::is_secret_path(&resolved) {
        findings.push(r::SENSITIVE_READ.finding(format!(
            "`{tool}` reads `{path}`, which holds secrets or credentials."
        )));
    }
    let mut risk = 5;
    if paths::is_risk_sensitive(path) {
        risk += 15;
    }
    if !findings.is_empty() {
        risk += 10;
    }
    Classification {
        intent: Intent::Readonly,
        risk_score: risk,
        action_type: "review",
        reversible: true,
        targets: if path.is_empty() {
            Vec::new()
        } else {
            vec![path.to_owned()]
        },
        findings,
        summary: summary(tool, path),
    }
}

fn classify_fetch(tool: &ToolCall, url: Option<&str>) -> Classification {
    let subject = match url {
        Some(u) => u.to_owned(),
        None => tool
            .input
            .get("query")
            .and_then(|q| q.as_str())
            .map_or_else(|| tool.input.to_string(), str::to_owned),
    };
    let host = url.and_then(url_host);
    Classification {
        intent: Intent::Network,
        risk_score: if tool.name == "WebSearch" { 10 } else { 15 },
        action_type: "api",
        reversible: true,
        targets: host.into_iter().map(str::to_owned).collect(),
        findings: Vec::new(),
        summary: summary(&tool.name, &subject),
    }
}

fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority.rsplit('@').next()?;
    (!host.is_empty()).then_some(host)
}

/// A sub-agent's description or prompt, for its summary.
fn described(tool: &ToolCall) -> String {
    ["description", "prompt"]
        .iter()
        .find_map(|k| tool.input.get(k).and_then(|v| v.as_str()))
        .map_or_else(|| tool.input.to_string(), str::to_owned)
}

/// Tools graded only by the upstream catalog (§2.3) and `_enrich_default`.
fn classify_catalog(tool: &ToolCall, subject: String) -> Classification {
    let (risk, action_type, intent) = catalog(&tool.name);
    Classification {
        intent,
        risk_score: risk,
        action_type,
        reversible: true,
        targets: Vec::new(),
        findings: Vec::new(),
        summary: summary(&tool.name, &subject),
    }
}

/// `(base risk, action_type, intent)` by tool name.
fn catalog(name: &str) -> (u8, &'static str, Intent) {
    const ORCH: &str = "orchestration";
    match name {
        "Agent" | "Task" => (75, ORCH, Intent::Unknown),
        "Skill" | "TeamDelete" => (60, ORCH, Intent::Unknown),
        "RemoteTrigger" => (70, ORCH, Intent::Unknown),
        "TeamCreate" => (65, ORCH, Intent::Unknown),
        "CronCreate" => (55, ORCH, Intent::Unknown),
        "CronDelete" => (50, ORCH, Intent::Unknown),
        "EnterWorktree" => (45, ORCH, Intent::Unknown),
        "TaskStop" | "ExitWorktree" => (30, ORCH, Intent::Unknown),
        "TaskCreate" | "TaskUpdate" => (25, ORCH, Intent::Unknown),
        "Workflow" => (75, ORCH, Intent::Unknown),
        "REPL" => (65, "security", Intent::Interpreter),
        "TodoWrite" => (20, "apply", Intent::Write),
        "AskUserQuestion" | "SendUserMessage" | "SendMessage" => (10, "other", Intent::Readonly),
        "EnterPlanMode" | "ExitPlanMode" | "Sleep" | "StructuredOutput" => {
            (0, "other", Intent::Readonly)
        }
        "Config" => (5, "other", Intent::Readonly),
        "Read" | "Glob" | "Grep" | "ToolSearch" | "LSP" | "TaskGet" | "TaskList" | "TaskOutput"
        | "CronList" | "NotebookRead" => (5, "review", Intent::Readonly),
        _ => (30, "other", Intent::Unknown),
    }
}

/// `"<label>: <subject>"` on one line, cut to [`SUMMARY_MAX`] characters.
fn summary(label: &str, subject: &str) -> String {
    let mut out = String::with_capacity(label.len() + 2 + subject.len().min(SUMMARY_MAX * 4));
    out.push_str(label);
    out.push_str(": ");
    let mut count = out.chars().count();
    let mut chars = subject.chars();
    while let Some(c) = chars.next() {
        if count + 1 == SUMMARY_MAX && chars.clone().next().is_some() {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { ' ' } else { c });
        count += 1;
        if count == SUMMARY_MAX {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Agent, EventKind, Finding};
    use serde_json::json;

    const CTX: ClassifyContext = ClassifyContext {
        workspace: "/w/proj",
        home: Some("/home/u"),
    };

    fn event(name: &str, action: ToolAction) -> HookEvent {
        HookEvent {
            agent: Agent::Claude,
            kind: EventKind::PreToolUse,
            session_id: None,
            cwd: CTX.workspace.into(),
            transcript_path: None,
            permission_mode: None,
            subagent: None,
            tool: Some(ToolCall {
                name: name.into(),
                input: json!({"description": "look around"}),
                tool_use_id: None,
                action,
            }),
            tool_response: None,
            prompt: None,
            headless: false,
        }
    }

    fn verdict(f: &[Finding]) -> Verdict {
        f.iter().map(|f| f.verdict).max().unwrap_or(Verdict::Allow)
    }

    fn write(path: &str) -> ToolAction {
        ToolAction::WriteFile {
            path: path.into(),
            content: Some("x".into()),
        }
    }

    #[test]
    fn file_tools() {
        let cases = [
            // tool, action, verdict, risk, rule
            ("Write", write("src/main.rs"), Verdict::Allow, 40, None),
            (
                "Edit",
                write("/w/proj/src/lib.rs"),
                Verdict::Allow,
                35,
                None,
            ),
            (
                "Write",
                write(".env"),
                Verdict::Block,
                85,
                Some("sensitive-write"),
            ),
            (
                "Write",
                write(".env.production"),
                Verdict::Block,
                85,
                Some("sensitive-write"),
            ),
            ("Write", write(".env.example"), Verdict::Allow, 40, None),
            (
                "Write",
                write("/home/u/.ssh/authorized_keys"),
                Verdict::Block,
                85,
                Some("sensitive-write"),
            ),
            (
                "Write",
                write("~/.aws/credentials"),
                Verdict::Block,
                85,
                Some("sensitive-write"),
            ),
            (
                "Write",
                write("certs/server.pem"),
                Verdict::Block,
                85,
                Some("sensitive-write"),
            ),
            (
                "Write",
                write("/etc/hosts"),
                Verdict::Warn,
                60,
                Some("write-outside-workspace"),
            ),
            (
                "Write",
                write("../other/x.rs"),
                Verdict::Warn,
                60,
                Some("write-outside-workspace"),
            ),
            (
                "Write",
                write("/dev/sda"),
                Verdict::Block,
                85,
                Some("device-write"),
            ),
            (
                "Read",
                ToolAction::ReadFile {
                    path: "src/main.rs".into(),
                },
                Verdict::Allow,
                5,
                None,
            ),
            (
                "Read",
                ToolAction::ReadFile {
                    path: ".env".into(),
                },
                Verdict::Warn,
                30,
                Some("sensitive-read"),
            ),
            (
                "Read",
                ToolAction::ReadFile {
                    path: "~/.ssh/id_rsa".into(),
                },
                Verdict::Warn,
                30,
                Some("sensitive-read"),
            ),
        ];
        for (tool, action, v, risk, rule) in cases {
            let label = format!("{tool} {action:?}");
            let c = classify(&event(tool, action), &CTX);
            assert_eq!(verdict(&c.findings), v, "{label}");
            assert_eq!(c.risk_score, risk, "{label}");
            assert_eq!(c.findings.first().map(|f| f.rule), rule, "{label}");
            assert!(c.summary.starts_with(&format!("{tool}: ")), "{label}");
        }
    }

    #[test]
    fn other_tools() {
        let c = classify(
            &event(
                "mcp__github__create_issue",
                ToolAction::Mcp {
                    server: "github".into(),
                    tool: "create_issue".into(),
                },
            ),
            &CTX,
        );
        assert_eq!(
            (c.summary.as_str(), c.risk_score, c.action_type),
            ("MCP: github/create_issue", 30, "api")
        );
        let c = classify(
            &event(
                "WebFetch",
                ToolAction::Fetch {
                    url: Some("https://u@example.com:8/x?q".into()),
                },
            ),
            &CTX,
        );
        assert_eq!((c.intent, c.risk_score), (Intent::Network, 15));
        assert_eq!(c.targets, ["example.com:8"]);
        let c = classify(&event("Task", ToolAction::Subagent), &CTX);
        assert_eq!(
            (c.risk_score, c.action_type, c.summary.as_str()),
            (75, "orchestration", "Task: look around")
        );
        let c = classify(&event("ExitPlanMode", ToolAction::Other), &CTX);
        assert_eq!((c.risk_score, c.intent), (0, Intent::Readonly));
        let c = classify(
            &event(
                "Bash",
                ToolAction::Shell {
                    command: "rm -rf /".into(),
                },
            ),
            &CTX,
        );
        assert_eq!(
            (verdict(&c.findings), c.summary.as_str()),
            (Verdict::Block, "Bash: rm -rf /")
        );
        let mut e = event("x", ToolAction::Other);
        e.tool = None;
        e.kind = EventKind::Stop;
        let c = classify(&e, &CTX);
        assert_eq!(
            (c.intent, c.risk_score, c.findings.len()),
            (Intent::Readonly, 0, 0)
        );
    }

    #[test]
    fn summary_is_one_line_and_bounded() {
        assert_eq!(summary("Bash", "ls\n-la"), "Bash: ls -la");
        let long = "é".repeat(1000);
        let s = summary("Bash", &long);
        assert_eq!(s.chars().count(), SUMMARY_MAX);
        assert!(s.ends_with('…'));
        let exact = "x".repeat(SUMMARY_MAX - 6);
        assert_eq!(summary("Bash", &exact).chars().count(), SUMMARY_MAX);
        assert!(!summary("Bash", &exact).ends_with('…'));
    }
}
