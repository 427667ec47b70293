//! `dashclawd approvals`, `dashclawd approve <id>` and `dashclawd deny <id>`: a person decides
//! on the calls the daemon held for approval. They open the approvals store directly, so they
//! work without a running daemon.
//!
//! Approving and denying need a human: stdin and stderr must be terminals (an agent's tool call
//! runs with pipes), the command refuses inside a Claude Code or Codex tool-call environment and
//! whenever an agent is among its ancestor processes (environment variables can be unset, the
//! parent chain cannot), and the person proves they are not the agent: with an approval
//! passphrase set (`dashclawd approvals passphrase`), by typing it at the controlling terminal
//! without echo; without one, by typing a random code shown only on the terminal. The code stops
//! blind piping only: a process that escapes the agent's process tree (double fork) and drives
//! its own pseudo-terminal reads it. The passphrase does not have that hole. docs/security.md
//! says what each mode promises; protected mode or server approvals are the real boundary
//! against a process that writes the store itself.

use std::borrow::Cow;
use std::io::{BufRead, IsTerminal, Read, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::json;

use crate::approvals::{
    agent_ancestor, passphrase, random_code, unix_now, ApprovalRow, Approvals, DecideError, Filter,
    Status, GRANT_WINDOW_SECS,
};
use crate::paths::Paths;

/// Longest `--reason` kept; it is quoted back to the model on every denied retry.
const REASON_MAX: usize = 500;

#[derive(clap::Args)]
pub struct ListArgs {
    #[command(subcommand)]
    action: Option<ApprovalsAction>,
    /// Include decided, used and expired requests, not only pending ones.
    #[arg(long)]
    all: bool,
    /// One JSON object per line.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Subcommand)]
enum ApprovalsAction {
    /// Set (or change) the approval passphrase, at a terminal: once set, approving and denying
    /// need it, so an agent that drives a terminal still cannot approve its own calls.
    Passphrase {
        /// Remove the passphrase instead (needs the current one).
        #[arg(long)]
        remove: bool,
    },
}

#[derive(clap::Args)]
pub struct DecideArgs {
    /// The request id the agent was given, e.g. ap_7kq2mx9d.
    id: String,
    /// Why; recorded, and for a denial quoted to the agent when it retries.
    #[arg(long)]
    reason: Option<String>,
}

fn store_path() -> Result<std::path::PathBuf> {
    Ok(Paths::from_env()
        .context("resolving the DashClaw directories")?
        .state_dir
        .join("approvals.db"))
}

/// `dashclawd approvals [--all] [--json]`.
pub fn list(args: ListArgs) -> Result<ExitCode> {
    if let Some(ApprovalsAction::Passphrase { remove }) = args.action {
        return set_passphrase(remove);
    }
    let path = store_path()?;
    let now = unix_now();
    // Listing must not create the store (or the state directory) as a side effect.
    let rows = if path.exists() {
        let filter = if args.all {
            Filter::All
        } else {
            Filter::Pending
        };
        Approvals::open(&path)?.list(filter, now)?
    } else {
        Vec::new()
    };
    if args.json {
        for row in &rows {
            println!("{}", row_json(row, now));
        }
        crate::remote::pending::print_server_pending(true);
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        println!(
            "no {}approval requests",
            if args.all { "" } else { "pending " }
        );
        crate::remote::pending::print_server_pending(false);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<12} {:>5}  {:<8} {:<9} {:<14} {:<40}  REASONS",
        "ID", "AGE", "AGENT", "STATUS", "TOOL", "SUMMARY"
    );
    for r in &rows {
        println!(
            "{:<12} {:>5}  {:<8} {:<9} {:<14} {:<40}  {}",
            r.id,
            age(now - r.created_at),
            safe(&cut(&r.agent, 8)),
            r.status.as_str(),
            safe(&cut(&r.tool, 14)),
            safe(&cut(&r.summary, 40)),
            safe(&r.reasons.join("; "))
        );
    }
    if !args.all {
        println!("\napprove one with `dashclawd approve <id>` (or deny it with `dashclawd deny <id>`) in a terminal");
    }
    crate::remote::pending::print_server_pending(false);
    Ok(ExitCode::SUCCESS)
}

/// `dashclawd approve <id> [--reason TEXT]`.
pub fn approve(args: DecideArgs) -> Result<ExitCode> {
    decide(args, Status::Approved)
}

/// `dashclawd deny <id> [--reason TEXT]`.
pub fn deny(args: DecideArgs) -> Result<ExitCode> {
    decide(args, Status::Denied)
}

fn decide(args: DecideArgs, to: Status) -> Result<ExitCode> {
    let verb = if to == Status::Approved {
        "approve"
    } else {
        "deny"
    };
    // Before anything else: an agent must not even get to see the challenge.
    if let Err(why) = require_human() {
        eprintln!(
            "dashclawd: refusing to {verb} {}: {why}\nA person has to run `dashclawd {verb} {}` in their own terminal; an agent cannot {verb} calls.",
            safe(&args.id),
            safe(&args.id)
        );
        return Ok(ExitCode::from(2));
    }
    if args.id.trim().starts_with("act_") {
        // A DashClaw server's pending action (the id a governed call's hold message names).
        return server_decide(&args, to == Status::Approved);
    }
    let state_dir = Paths::from_env()?.state_dir;
    let path = store_path()?;
    let now = unix_now();
    let missing = |e: DecideError| -> Result<ExitCode> {
        eprintln!("dashclawd: {}", safe(&e.to_string()));
        Ok(ExitCode::FAILURE)
    };
    if !path.exists() {
        return missing(DecideError::NotFound(safe(args.id.trim()).into_owned()));
    }
    let store = Approvals::open(&path)?;
    let row = match store.get(&args.id, now) {
        Ok(row) => row,
        Err(DecideError::Db(e)) => return Err(e.into()),
        Err(e) => return missing(e),
    };
    if row.status != Status::Pending {
        let err = if row.status == Status::Expired {
            DecideError::Expired(row.id)
        } else {
            DecideError::Decided {
                id: row.id,
                status: row.status,
            }
        };
        return missing(err);
    }
    let reason = args.reason.as_deref().map(clean_reason);

    let mut err = std::io::stderr().lock();
    write!(err, "{}", describe(&row, now))?;
    if to == Status::Approved {
        writeln!(
            err,
            "\nApproving lets the agent's next IDENTICAL call run once, within {} minutes.",
            GRANT_WINDOW_SECS / 60
        )?;
    } else {
        writeln!(
            err,
            "\nDenying answers the agent's identical retries for the next 15 minutes with your reason."
        )?;
    }
    drop(err);
    if !confirm(&state_dir, verb)? {
        eprintln!("not confirmed: {} left pending", row.id);
        return Ok(ExitCode::FAILURE);
    }

    let approver = approver();
    let result = if to == Status::Approved {
        store.approve(&row.id, &approver, reason.as_deref(), unix_now())
    } else {
        store.deny(&row.id, &approver, reason.as_deref(), unix_now())
    };
    match result {
        Ok(row) if to == Status::Approved => println!(
            "approved {} as {}: the agent's next identical call within {} minutes runs once; tell it to retry",
            row.id,
            safe(&approver),
            GRANT_WINDOW_SECS / 60
        ),
        Ok(row) => println!(
            "denied {} as {}: identical retries in the next 15 minutes are denied{}",
            row.id,
            safe(&approver),
            if reason.is_some() {
                " with your reason"
            } else {
                ""
            }
        ),
        Err(DecideError::Db(e)) => return Err(e.into()),
        // Decided elsewhere, or expired, while the person was reading.
        Err(e) => return missing(e),
    }
    Ok(ExitCode::SUCCESS)
}

/// `dashclawd approve|deny act_…`: decides a pending action on the DashClaw server, after the
/// same typed confirmation as a local request. Newest servers take `POST /api/approvals/:id`;
/// v2.0 only `POST /api/actions/:id/approve`, and fails without a `reasoning`, so one is always
/// sent.
fn server_decide(args: &DecideArgs, allow: bool) -> Result<ExitCode> {
    use crate::remote::{Api, ApiError, Settings};
    let verb = if allow { "approve" } else { "deny" };
    let paths = crate::paths::Paths::from_env()?;
    let loaded = crate::config::load(&paths.config_file);
    let settings = match Settings::resolve(&loaded.config.server, &|k| std::env::var(k).ok()) {
        Ok(Some(s)) => s,
        Ok(None) => {
            eprintln!("dashclawd: {} is a DashClaw server action, but no server is configured (DASHCLAW_BASE_URL, DASHCLAW_API_KEY)", safe(&args.id));
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => {
            eprintln!("dashclawd: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let api = Api::new(&settings).map_err(anyhow::Error::msg)?;
    let id = args.id.trim().to_owned();
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        eprintln!("dashclawd: {} is not an action id", safe(&id));
        return Ok(ExitCode::FAILURE);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let timeout = std::time::Duration::from_secs(10);
    let row = match rt.block_on(api.call(
        reqwest::Method::GET,
        &format!("/api/actions/{id}"),
        None,
        timeout,
    )) {
        Ok(r) if r.status == 200 => r.body.get("action").cloned().unwrap_or(r.body),
        Ok(r) => {
            eprintln!(
                "dashclawd: the server has no action {id} (HTTP {})",
                r.status
            );
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => {
            eprintln!("dashclawd: the server at {} {e}", api.base_url());
            return Ok(ExitCode::FAILURE);
        }
    };
    let text =
        |k: &str| safe(row.get(k).and_then(serde_json::Value::as_str).unwrap_or("")).into_owned();
    if text("status") != "pending_approval" {
        eprintln!(
            "dashclawd: {id} is not pending approval (status {})",
            text("status")
        );
        return Ok(ExitCode::FAILURE);
    }
    let mut err = std::io::stderr().lock();
    writeln!(err, "{id} on {}", api.base_url())?;
    writeln!(err, "  agent:  {}", text("agent_id"))?;
    writeln!(err, "  action: {}", text("action_type"))?;
    writeln!(err, "  goal:   {}", cut(&text("declared_goal"), 300))?;
    drop(err);
    if !confirm(&paths.state_dir, &format!("{verb} it on the server"))? {
        eprintln!("not confirmed: {id} left pending");
        return Ok(ExitCode::FAILURE);
    }
    let approver = approver();
    let reasoning = args
        .reason
        .as_deref()
        .map(clean_reason)
        .unwrap_or_else(|| format!("{verb}d with dashclawd by {approver}"));
    let body = serde_json::json!({"decision": if allow { "allow" } else { "deny" }, "reasoning": reasoning});
    let post =
        |path: String| rt.block_on(api.call(reqwest::Method::POST, &path, Some(&body), timeout));
    let result = match post(format!("/api/approvals/{id}")) {
        Err(ApiError::NoRoute) => post(format!("/api/actions/{id}/approve")),
        other => other,
    };
    match result {
        Ok(r) if r.status == 200 => {
            println!("{verb}d {id} on the server as {}", safe(&approver));
            Ok(ExitCode::SUCCESS)
        }
        Ok(r) => {
            let why = r
                .body
                .get("error")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("refused");
            eprintln!(
                "dashclawd: the server refused to {verb} {id} (HTTP {}): {}",
                r.status,
                safe(why)
            );
            Ok(ExitCode::FAILURE)
        }
        Err(e) => {
            eprintln!("dashclawd: the server at {} {e}", api.base_url());
            Ok(ExitCode::FAILURE)
        }
    }
}

/// The person's confirmation: the approval passphrase when one is set (typed at the
/// controlling terminal without echo), otherwise a random code shown on the terminal.
fn confirm(state_dir: &std::path::Path, verb: &str) -> Result<bool> {
    if passphrase::is_set(state_dir) {
        let typed = rpassword::prompt_password(format!(
            "To {verb}, type the approval passphrase (not shown): "
        ))
        .context("reading the passphrase from the terminal")?;
        let ok = passphrase::verify(state_dir, &typed)?;
        if !ok {
            eprintln!("wrong passphrase");
        }
        return Ok(ok);
    }
    let code = random_code(4)?;
    let mut err = std::io::stderr().lock();
    write!(
        err,
        "To {verb}, type the code {code} and press Enter (anything else cancels): "
    )?;
    err.flush()?;
    drop(err);
    let mut answer = String::new();
    // Bounded: a terminal line is short, anything longer is not a person typing four letters.
    std::io::stdin()
        .lock()
        .take(256)
        .read_line(&mut answer)
        .context("reading the confirmation")?;
    Ok(answer.trim().eq_ignore_ascii_case(&code))
}

/// `dashclawd approvals passphrase [--remove]`: set, change or remove the passphrase at a
/// terminal; changing or removing needs the current one.
fn set_passphrase(remove: bool) -> Result<ExitCode> {
    if let Err(why) = require_human() {
        eprintln!("dashclawd: refusing to change the approval passphrase: {why}\nA person has to run `dashclawd approvals passphrase` in their own terminal.");
        return Ok(ExitCode::from(2));
    }
    let state_dir = Paths::from_env()?.state_dir;
    if passphrase::is_set(&state_dir) {
        let current = rpassword::prompt_password("Current approval passphrase (not shown): ")
            .context("reading the passphrase from the terminal")?;
        if !passphrase::verify(&state_dir, &current)? {
            eprintln!("wrong passphrase: nothing changed");
            return Ok(ExitCode::FAILURE);
        }
    } else if remove {
        eprintln!("no approval passphrase is set");
        return Ok(ExitCode::FAILURE);
    }
    if remove {
        passphrase::remove(&state_dir)?;
        println!("approval passphrase removed: approving needs only the code shown on the terminal again");
        return Ok(ExitCode::SUCCESS);
    }
    let new = rpassword::prompt_password(format!(
        "New approval passphrase, at least {} characters (not shown): ",
        passphrase::MIN_LEN
    ))
    .context("reading the passphrase from the terminal")?;
    if new.chars().count() < passphrase::MIN_LEN {
        eprintln!(
            "too short: at least {} characters; nothing changed",
            passphrase::MIN_LEN
        );
        return Ok(ExitCode::FAILURE);
    }
    let again = rpassword::prompt_password("Once more (not shown): ")
        .context("reading the passphrase from the terminal")?;
    if again != new {
        eprintln!("the two entries differ; nothing changed");
        return Ok(ExitCode::FAILURE);
    }
    passphrase::set(&state_dir, &new)?;
    println!(
        "approval passphrase set ({}): `dashclawd approve` and `deny` now ask for it",
        passphrase::path(&state_dir).display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Why this process does not look like a person at a terminal, if it does not.
fn require_human() -> Result<(), String> {
    // The parent chain, not the environment, says who started us: a script can unset
    // CLAUDECODE but not its ancestry (while it stays in the agent's process tree).
    if let Some(agent) = agent_ancestor() {
        return Err(format!(
            "an AI agent is among this command's parent processes: {agent}"
        ));
    }
    // Set in every Claude Code tool call (and inherited by anything it starts).
    if std::env::var_os("CLAUDECODE").is_some_and(|v| !v.is_empty()) {
        return Err("this is running inside a Claude Code tool call (CLAUDECODE is set)".into());
    }
    // Codex sets these in the commands it runs in its sandbox.
    for var in ["CODEX_SANDBOX", "CODEX_SANDBOX_NETWORK_DISABLED"] {
        if std::env::var_os(var).is_some() {
            return Err(format!(
                "this is running inside a Codex tool call ({var} is set)"
            ));
        }
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Err("stdin and stderr must be a terminal (a person typing), not a pipe".into());
    }
    Ok(())
}

/// Who approved: the login name, else the uid.
fn approver() -> String {
    ["USER", "LOGNAME"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.trim().is_empty())
        .map(|v| clean_reason(&v))
        .unwrap_or_else(|| format!("uid {}", crate::paths::euid()))
}

/// The request as the person should read it before deciding: everything, not only the summary.
fn describe(r: &ApprovalRow, now: i64) -> String {
    let mut s = format!(
        "Approval request {} ({}, {} ago, expires in {})\n",
        r.id,
        r.status,
        age(now - r.created_at),
        age(r.expires_at - now)
    );
    s.push_str(&format!("  agent:   {}", safe(&r.agent)));
    if let Some(sess) = &r.session_id {
        s.push_str(&format!(" (session {})", safe(sess)));
    }
    s.push('\n');
    if let Some(cwd) = &r.cwd {
        s.push_str(&format!("  cwd:     {}\n", safe(cwd)));
    }
    s.push_str(&format!("  call:    {}\n", safe(&r.summary)));
    for reason in &r.reasons {
        s.push_str(&format!("  reason:  {}\n", safe(reason)));
    }
    if let Some(policy) = &r.policy {
        s.push_str(&format!("  policy:  {}\n", safe(policy)));
    }
    if let Some(detail) = &r.detail {
        s.push_str(&format!("  {} input (secrets redacted):\n", safe(&r.tool)));
        for line in detail.lines() {
            s.push_str(&format!("    {}\n", safe(line)));
        }
    }
    s
}

fn row_json(r: &ApprovalRow, now: i64) -> serde_json::Value {
    json!({
        "id": r.id,
        "status": r.status,
        "agent": r.agent,
        "session_id": r.session_id,
        "cwd": r.cwd,
        "tool": r.tool,
        "summary": r.summary,
        "detail": r.detail,
        "reasons": r.reasons,
        "policy": r.policy,
        "created_at": rfc3339(r.created_at),
        "age_secs": (now - r.created_at).max(0),
        "expires_at": rfc3339(r.expires_at),
        "decided_at": r.decided_at.map(rfc3339),
        "decided_by": r.decided_by,
        "decision_reason": r.decision_reason,
        "used_at": r.used_at.map(rfc3339),
    })
}

fn rfc3339(unix: i64) -> String {
    crate::util::time::iso_seconds(crate::util::time::at_secs(unix))
}

/// `42s`, `7m`, `3h`, `2d`.
fn age(secs: i64) -> String {
    let s = secs.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

use crate::util::text::ellipsize as cut;

/// Text from the store made safe for a terminal: the agent wrote most of it, and an escape
/// sequence, a carriage return or a bidi override could make the person read something other
/// than what they approve. Such characters are shown as `\u{…}`.
fn safe(s: &str) -> Cow<'_, str> {
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
    };
    if !s.chars().any(hidden) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| {
                if hidden(c) {
                    format!("\\u{{{:x}}}", c as u32)
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

/// One line, bounded: the reason is shown to the model and in lists.
fn clean_reason(s: &str) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cut(one_line.trim(), REASON_MAX).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_tricks_are_made_visible() {
        assert_eq!(safe("rm -rf build"), "rm -rf build");
        assert_eq!(safe("ls\u{1b}[2K\rrm -rf ~"), "ls\\u{1b}[2K\\u{d}rm -rf ~");
        assert_eq!(safe("a\u{202e}b"), "a\\u{202e}b");
    }

    #[test]
    fn ages_are_compact() {
        assert_eq!(age(-5), "0s");
        assert_eq!(age(59), "59s");
        assert_eq!(age(60), "1m");
        assert_eq!(age(7200), "2h");
        assert_eq!(age(3 * 86400), "3d");
    }

    #[test]
    fn reasons_are_one_bounded_line() {
        assert_eq!(clean_reason("  use\nmake clean "), "use make clean");
        assert_eq!(clean_reason(&"x".repeat(900)).chars().count(), REASON_MAX);
    }
}
