//! Classification of tool calls: what a call does (intent), how risky it is (upstream-compatible
//! 0–100 score), and which built-in rules it trips.
//!
//! Shell commands go through our own parser ([`shell`]) and rule set (`rules`); file tools,
//! Codex `apply_patch`, fetch, MCP and other tools are graded from the upstream tool catalog
//! (upstream-python-hooks.md §2.3–2.4) plus our own rules. Every path goes through the
//! self-protection check (`protect`). What a finding is worth is decided by the policy pack
//! (`crate::policy`); the rules this module adds beyond that pack are in [`pack`].
//!
//! I/O: a script the command runs is read (bounded, regular files only), and a write target's
//! existing parent is canonicalized to catch symlinks out of the workspace. Nothing else.

mod admin;
mod ci;
mod code;
mod embedded;
mod exfil;
mod fanout;
mod fold;
mod git;
mod globals;
mod infra;
pub mod pack;
mod patch;
mod paths;
mod protect;
mod rules;
mod script;
pub mod shell;
mod system;

use std::path::{Path, PathBuf};

use crate::event::{Classification, HookEvent, Intent, ToolAction, ToolCall, Verdict};
use crate::policy::rules as r;

/// Where the agent works, and what the classifier must protect.
#[derive(Debug, Clone, Copy)]
pub struct ClassifyContext<'a> {
    /// The workspace root (usually the event's `cwd`).
    pub workspace: &'a str,
    /// The user's home directory, when known.
    pub home: Option<&'a str>,
    /// Where commands run, when it differs from the workspace. `classify` fills it from the
    /// event's `cwd` when it is `None`.
    pub cwd: Option<&'a str>,
    /// DashClaw's own state, config and run directories (ledger, socket, approvals). Writes
    /// under them are blocked. Built-in defaults derived from `home` apply as well.
    pub protected_dirs: &'a [PathBuf],
    /// Agent settings files holding the hook entries, beyond the built-in patterns
    /// (`.claude/settings*.json`, `~/.codex/config.toml`, `~/.hermes/config.yaml`, …).
    pub agent_settings: &'a [PathBuf],
    /// The installed `dashclawd` and `dashclaw-hook` binaries, beyond any file with those names.
    pub dashclaw_bins: &'a [PathBuf],
    /// Hosts (or `*.suffix` globs) always fine to send data to, beyond localhost, package
    /// registries and the repository's remotes: the DashClaw server, `egress_allow` policies.
    pub egress_allow: &'a [String],
    /// Files this session wrote from a secret source in earlier calls (taint memory).
    pub tainted_files: &'a [String],
    /// A tool result in this session contained a secret recently (`tainted-egress`).
    pub session_tainted: bool,
}

impl<'a> ClassifyContext<'a> {
    /// A context with only the built-in protected locations.
    pub const fn new(workspace: &'a str, home: Option<&'a str>) -> ClassifyContext<'a> {
        ClassifyContext {
            workspace,
            home,
            cwd: None,
            protected_dirs: &[],
            agent_settings: &[],
            dashclaw_bins: &[],
            egress_allow: &[],
            tainted_files: &[],
            session_tainted: false,
        }
    }

    fn cwd(&self) -> &'a str {
        self.cwd.unwrap_or(self.workspace)
    }
}

/// Longest summary, in characters.
const SUMMARY_MAX: usize = 300;

fn base(intent: Intent, risk: u8, action_type: &'static str, summary: String) -> Classification {
    Classification {
        intent,
        risk_score: risk,
        action_type,
        reversible: true,
        targets: Vec::new(),
        findings: Vec::new(),
        summary,
        commands: Vec::new(),
        risk_factors: Vec::new(),
        tainted_writes: Vec::new(),
    }
}

/// Classifies one hook event. Events without a tool call are read-only with risk 0.
pub fn classify(event: &HookEvent, ctx: &ClassifyContext) -> Classification {
    let Some(tool) = &event.tool else {
        return base(Intent::Readonly, 0, "other", event.kind.as_str().to_owned());
    };
    let mut ctx = *ctx;
    if ctx.cwd.is_none() && !event.cwd.is_empty() {
        ctx.cwd = Some(&event.cwd);
    }
    let ctx = &ctx;
    if tool.name == "apply_patch" {
        let text = ["command", "patch", "input"]
            .iter()
            .find_map(|k| tool.input.get(k).and_then(|v| v.as_str()));
        return classify_patch(text.unwrap_or(""), ctx);
    }
    match &tool.action {
        ToolAction::Shell { command } => {
            let ps = tool.name == "PowerShell";
            classify_shell(if ps { "PowerShell" } else { "Bash" }, command, ctx, ps)
        }
        ToolAction::WriteFile { path, content } => {
            classify_write(&tool.name, path, content.as_deref(), ctx)
        }
        ToolAction::ReadFile { path } => classify_read(&tool.name, path, ctx),
        ToolAction::Fetch { url } => classify_fetch(tool, url.as_deref()),
        ToolAction::Subagent => classify_catalog(tool, described(tool)),
        ToolAction::Mcp { server, tool: name } => {
            let mut c = base(
                Intent::Unknown,
                30,
                "api",
                summary("MCP", &format!("{server}/{name}")),
            );
            c.targets = vec![format!("{server}/{name}")];
            c.risk_factors = vec!["base mcp 30".to_owned()];
            c
        }
        ToolAction::Other => classify_catalog(tool, tool.input.to_string()),
    }
}

/// Classifies a shell command line as if it came from the `Bash` tool.
pub fn classify_command(command: &str, ctx: &ClassifyContext) -> Classification {
    classify_shell("Bash", command, ctx, false)
}

fn classify_shell(label: &str, command: &str, ctx: &ClassifyContext, ps: bool) -> Classification {
    // PowerShell escapes with backticks, not backslashes; read `C:\x` as a path.
    let text: std::borrow::Cow<str> = if ps && command.contains('\\') {
        command.replace('\\', "/").into()
    } else {
        command.into()
    };
    let out = rules::classify_shell(&text, ctx, ctx.cwd(), ps);
    Classification {
        intent: out.intent,
        risk_score: out.risk,
        action_type: out.action_type,
        reversible: out.reversible,
        targets: out.targets,
        findings: out.findings,
        summary: summary(label, command),
        commands: out.commands,
        risk_factors: out.risk_factors,
        tainted_writes: out.tainted_writes,
    }
}

/// The findings that stop a start-up file's content, graded as the commands it is; nothing
/// when it does not parse as shell (fish, csh syntax) or is harmless.
fn startup_content(content: &str, ctx: &ClassifyContext) -> Vec<crate::event::Finding> {
    if content.len() > 64 * 1024 {
        return vec![pack::GUARD_TAMPER_SUSPECT
            .finding("more than 64 KiB of shell start-up content, too much to read through")];
    }
    let ps = false;
    let out = rules::classify_shell(content, ctx, ctx.cwd(), ps);
    out.findings
        .into_iter()
        .filter(|f| {
            f.verdict >= crate::event::Verdict::RequireApproval && f.rule != r::UNPARSEABLE.id
        })
        .collect()
}

/// Grading of one file a tool changes: shared by the file tools and `apply_patch`.
struct FileGrade {
    risk: i32,
    sensitive: bool,
    factors: Vec<String>,
    findings: Vec<crate::event::Finding>,
}

/// Upstream `_enrich_file` (§2.4) plus the secret, device, self-protection and symlink rules.
fn grade_file(
    tool: &str,
    path: &str,
    content: Option<&str>,
    base: i32,
    ctx: &ClassifyContext,
) -> FileGrade {
    let cwd = ctx.cwd();
    let resolved = paths::resolve(path, cwd, ctx.home);
    let outside = !paths::is_inside(&resolved, ctx.workspace);
    let traversal = paths::has_dotdot(path);
    let sensitive = paths::is_risk_sensitive(path);
    let mut findings = Vec::new();
    let mut factors = vec![format!("base {tool} {base}")];
    if path.is_empty() {
        findings.push(
            r::UNPARSEABLE.finding(format!("`{tool}` names no file, so it cannot be checked.")),
        );
    } else if let Some(what) = protect::check(path, cwd, ctx, false) {
        findings.push(pack::GUARD_TAMPER.finding(format!(
            "`{tool}` would change `{path}`, {what}, which would disable or bypass the guard."
        )));
    } else if paths::is_device(&resolved) {
        findings
            .push(r::DEVICE_WRITE.finding(format!("`{tool}` targets the raw device `{path}`.")));
    } else if let Some(what) = content
        .filter(|_| protect::is_startup_file(&resolved))
        .and_then(protect::startup_tamper)
    {
        findings.push(pack::SHELL_STARTUP_TAMPER.finding(format!(
            "`{tool}` would add {what} to `{path}`, a shell start-up file, switching the guard off in later shells."
        )));
    } else if let Some(planted) = content
        .filter(|_| protect::is_startup_file(&resolved))
        .map(|c| startup_content(c, ctx))
        .filter(|f| !f.is_empty())
    {
        // What a start-up file holds runs in every later shell, unseen by the hook then.
        for mut f in planted {
            f.reason = format!(
                "`{tool}` puts into `{path}`, run by every later shell: {}",
                f.reason
            );
            findings.push(f);
        }
    } else if outside && protect::is_startup_file(&resolved) {
        // Whatever the content, every later shell runs it (and a replace drops the user's own).
        findings.push(pack::GUARD_TAMPER_SUSPECT.finding(format!(
            "`{tool}` would change `{path}`, a shell start-up file every later shell runs."
        )));
    } else if (paths::is_secret_path(path) || paths::is_secret_path(&resolved))
        // A project's own dotenv file is local configuration (as for shell writes).
        && (outside || !paths::is_dotenv(&resolved))
    {
        findings.push(r::SENSITIVE_WRITE.finding(format!(
            "`{tool}` would change `{path}`, a secrets or credentials file."
        )));
    } else if let Some(real) = symlink_escape(&resolved, ctx.workspace) {
        findings.push(pack::SYMLINK_ESCAPE.finding(format!(
            "`{tool}` writes `{path}`, which a symlink leads to `{real}`, outside the workspace."
        )));
    } else if let Some(later) = protect::runs_later(&resolved, outside, ctx.home) {
        findings.push(later.finding(&format!("`{tool}`"), path));
    } else if resolved.contains("/.git/hooks/") || resolved.ends_with("/.git/config") {
        findings.push(pack::GIT_HOOK_WRITE.finding(format!(
            "`{tool}` writes `{path}`, code or settings git runs later."
        )));
    } else if paths::is_system_path(&resolved)
        && !resolved.starts_with("/tmp")
        && !resolved.starts_with("/var/tmp")
    {
        findings
            .push(pack::SYSTEM_WRITE.finding(format!("`{tool}` writes `{path}`, a system file.")));
    } else if outside {
        findings.push(r::WRITE_OUTSIDE_WORKSPACE.finding(format!(
            "`{tool}` writes `{resolved}`, outside the workspace `{}`.",
            ctx.workspace
        )));
    }
    if let Some(text) = content {
        let ids = crate::redact::find_rules(text);
        if !ids.is_empty() {
            findings.push(pack::SECRET_IN_CONTENT.finding(format!(
                "The content written to `{path}` contains what looks like a secret ({}).",
                ids.join(", ")
            )));
        }
    }
    let mut risk = base;
    if outside || traversal {
        risk += 20;
        factors.push("outside workspace or traversal +20".to_owned());
    }
    if sensitive {
        risk += 15;
        factors.push("sensitive target +15".to_owned());
    }
    match findings.iter().map(|f| f.verdict).max() {
        Some(Verdict::Block) if risk < 85 => {
            risk = 85;
            factors.push("block finding floor 85".to_owned());
        }
        Some(Verdict::RequireApproval) if risk < 70 => {
            risk = 70;
            factors.push("approval finding floor 70".to_owned());
        }
        _ => {}
    }
    FileGrade {
        risk,
        sensitive,
        factors,
        findings,
    }
}

/// The real location of `resolved` when a symlink on the way leads out of the workspace.
fn symlink_escape(resolved: &str, workspace: &str) -> Option<String> {
    if !paths::is_inside(resolved, workspace) {
        return None; // already reported as outside
    }
    let ws = std::fs::canonicalize(workspace).ok()?;
    // The deepest existing ancestor (the file itself when it exists).
    let mut p = Path::new(resolved);
    let mut depth = 0;
    let real = loop {
        if let Ok(real) = std::fs::canonicalize(p) {
            break real;
        }
        p = p.parent()?;
        depth += 1;
        if depth > 64 {
            return None;
        }
    };
    (!real.starts_with(&ws)).then(|| real.to_string_lossy().into_owned())
}

fn classify_write(
    tool: &str,
    path: &str,
    content: Option<&str>,
    ctx: &ClassifyContext,
) -> Classification {
    let base_risk: i32 = match tool {
        "Edit" | "NotebookEdit" => 35,
        "TodoWrite" => 20,
        _ => 40,
    };
    let g = grade_file(tool, path, content, base_risk, ctx);
    Classification {
        intent: Intent::Write,
        risk_score: g.risk.clamp(0, 100) as u8,
        action_type: if g.sensitive { "security" } else { "apply" },
        reversible: true,
        targets: vec![path.to_owned()],
        findings: g.findings,
        summary: summary(tool, path),
        commands: Vec::new(),
        risk_factors: g.factors,
        tainted_writes: Vec::new(),
    }
}

/// Codex `apply_patch`: every file it adds, updates, moves or deletes is graded like a Write;
/// deletions are destructive (bounded), and the added lines are scanned for secrets.
fn classify_patch(text: &str, ctx: &ClassifyContext) -> Classification {
    let ops = match patch::parse(text) {
        Ok(ops) => ops,
        Err(why) => {
            let mut c = base(Intent::Unknown, 70, "other", summary("apply_patch", text));
            c.findings.push(r::UNPARSEABLE.finding(format!(
                "Could not read the patch ({why}), so the files it changes cannot be checked."
            )));
            c.risk_factors = vec!["unparseable patch 70".to_owned()];
            return c;
        }
    };
    let mut out = base(Intent::Write, 40, "apply", String::new());
    let mut worst = 0;
    let mut deletes = 0;
    for op in &ops {
        let (tool, content) = match op.kind {
            patch::OpKind::Add => ("apply_patch add", Some(op.added.as_str())),
            patch::OpKind::Update => ("apply_patch update", Some(op.added.as_str())),
            patch::OpKind::Delete => ("apply_patch delete", None),
        };
        let mut files = vec![(op.path.as_str(), content)];
        if let Some(to) = &op.move_to {
            files.push((to.as_str(), content));
        }
        if op.kind == patch::OpKind::Delete {
            deletes += 1;
        }
        for (path, content) in files {
            let g = grade_file(tool, path, content.filter(|c| !c.is_empty()), 40, ctx);
            if g.risk > worst {
                worst = g.risk;
                out.risk_factors = g.factors;
                out.action_type = if g.sensitive { "security" } else { "apply" };
            }
            for f in g.findings {
                if !out
                    .findings
                    .iter()
                    .any(|x| x.rule == f.rule && x.reason == f.reason)
                {
                    out.findings.push(f);
                }
            }
            if out.targets.len() < 16 && !out.targets.iter().any(|t| t == path) {
                out.targets.push(path.to_owned());
            }
        }
    }
    if deletes > 0 {
        // Deleting tracked files inside the workspace is an ordinary, bounded cleanup.
        out.intent = Intent::Destructive;
        out.reversible = false;
        if worst < 55 {
            worst = 55;
            out.risk_factors
                .push("deletes files (bounded rm) 55".to_owned());
        }
        if out.action_type == "apply" {
            out.action_type = "cleanup";
        }
    }
    out.risk_score = worst.clamp(0, 100) as u8;
    let names: Vec<&str> = out.targets.iter().map(String::as_str).collect();
    out.summary = summary("apply_patch", &names.join(", "));
    out.commands = ops
        .iter()
        .take(64)
        .map(|o| {
            let verb = match o.kind {
                patch::OpKind::Add => "add",
                patch::OpKind::Update => "update",
                patch::OpKind::Delete => "delete",
            };
            match &o.move_to {
                Some(to) => format!("{verb} {} -> {to}", o.path),
                None => format!("{verb} {}", o.path),
            }
        })
        .collect();
    out
}

fn classify_read(tool: &str, path: &str, ctx: &ClassifyContext) -> Classification {
    let resolved = paths::resolve(path, ctx.cwd(), ctx.home);
    let mut findings = Vec::new();
    let mut factors = vec!["base read 5".to_owned()];
    if paths::is_private_key_path(path)
        || paths::is_private_key_path(&resolved)
        || exfil::user_credential(&resolved, ctx.home, ctx.workspace)
    {
        findings.push(pack::PRIVATE_KEY_READ.finding(format!(
            "`{tool}` reads `{path}`, a private key or a credential of the user's."
        )));
    } else if paths::is_secret_path(path) || paths::is_secret_path(&resolved) {
        findings.push(r::SENSITIVE_READ.finding(format!(
            "`{tool}` reads `{path}`, which holds secrets or credentials."
        )));
    }
    let mut risk = 5;
    if paths::is_risk_sensitive(path) {
        risk += 15;
        factors.push("sensitive target +15".to_owned());
    }
    if !findings.is_empty() {
        risk += 10;
        factors.push("warning findings +10".to_owned());
    }
    if findings
        .iter()
        .any(|f| f.verdict == Verdict::RequireApproval)
        && risk < 70
    {
        risk = 70;
        factors.push("approval finding floor 70".to_owned());
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
        commands: Vec::new(),
        risk_factors: factors,
        tainted_writes: Vec::new(),
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
    let risk = if tool.name == "WebSearch" { 10 } else { 15 };
    let mut c = base(Intent::Network, risk, "api", summary(&tool.name, &subject));
    c.targets = host.into_iter().map(str::to_owned).collect();
    c.risk_factors = vec![format!("base {} {risk}", tool.name)];
    // A credential in the URL (`?k=AKIA…`) or the query reaches whoever serves it.
    let ids = crate::redact::find_rules(&subject);
    if !ids.is_empty() {
        c.findings.push(exfil::flow_finding(
            &format!("a credential ({})", ids.join(", ")),
            &format!("`{}`", tool.name),
            host.unwrap_or("a search engine"),
        ));
        c.risk_score = c.risk_score.max(90);
    }
    c
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
    let mut c = base(intent, risk, action_type, summary(&tool.name, &subject));
    c.risk_factors = vec![format!("base {} {risk}", tool.name)];
    c
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
    // Room left for the subject; a longer one keeps one char less and ends with `…`.
    let room = SUMMARY_MAX.saturating_sub(out.chars().count());
    // ASCII (nearly every command): bytes are chars, controls are single bytes.
    if subject.is_ascii() && label.is_ascii() {
        let cut = subject.len() > room;
        let mut body = if cut {
            &subject[..room.saturating_sub(1)]
        } else {
            subject
        };
        while let Some(i) = body.bytes().position(|b| b < 0x20 || b == 0x7f) {
            out.push_str(&body[..i]);
            out.push(' ');
            body = &body[i + 1..];
        }
        out.push_str(body);
        if cut {
            out.push('…');
        }
        return out;
    }
    let mut ends = subject.char_indices().map(|(i, _)| i);
    let (body, cut) = match (ends.nth(room.saturating_sub(1)), ends.next()) {
        (Some(last), Some(_)) => (&subject[..last], true),
        _ => (subject, false),
    };
    // Copied in runs between control characters, not char by char (this runs for every call).
    let mut run = 0;
    for (i, c) in body.char_indices() {
        if c.is_control() {
            out.push_str(&body[run..i]);
            out.push(' ');
            run = i + c.len_utf8();
        }
    }
    out.push_str(&body[run..]);
    if cut {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Agent, EventKind, Finding};
    use serde_json::json;

    const CTX: ClassifyContext = ClassifyContext::new("/w/proj", Some("/home/u"));

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
                write("/srv/other/.env"),
                Verdict::Block,
                85,
                Some("sensitive-write"),
            ),
            // The project's own dotenv files are its local configuration.
            ("Write", write(".env"), Verdict::Allow, 55, None),
            ("Write", write(".env.production"), Verdict::Allow, 55, None),
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
                Verdict::RequireApproval,
                70,
                Some("system-write"),
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
                Verdict::RequireApproval,
                70,
                Some("private-key-read"),
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
