//! `dashclawd check`: the decision for one event, computed in-process by the same engine the
//! daemon runs, printed as one JSON object. Nothing is executed and nothing is recorded.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::json;

use std::sync::Arc;

use crate::config;
use crate::engine::{self, EngineState};
use crate::paths::Paths;
use crate::policy::{PolicyStore, StoreOptions};
use crate::protocol::{self, field, Request};
use crate::redact::redact_str;

#[derive(clap::Args)]
pub struct CheckArgs {
    /// A shell command, checked as a Claude Code Bash PreToolUse (instead of reading stdin).
    #[arg(long)]
    command: Option<String>,
    /// The agent whose hook JSON is on stdin.
    #[arg(long, default_value = "claude")]
    agent: String,
    /// The hook event the stdin JSON belongs to.
    #[arg(long, default_value = "pre-tool-use")]
    event: String,
    /// Working directory to assume (default: the current one).
    #[arg(long)]
    cwd: Option<String>,
    /// Print the trace of the verdict for a person instead of JSON: the commands as graded
    /// (unwrapped and folded), every rule with its explanation, flows, path facts and the score.
    #[arg(long)]
    explain: bool,
}

pub fn run(args: CheckArgs) -> Result<ExitCode> {
    let cwd = match args.cwd {
        Some(c) => c,
        None => std::env::current_dir()?.to_string_lossy().into_owned(),
    };
    let body = match &args.command {
        Some(cmd) => json!({
            "session_id": "dashclawd-check",
            "cwd": cwd,
            "hook_event_name": "PreToolUse",
            "tool_name": "Bash",
            "tool_input": { "command": cmd },
            "tool_use_id": "dashclawd-check",
        })
        .to_string()
        .into_bytes(),
        None => {
            let mut buf = Vec::new();
            std::io::stdin()
                .take(protocol::MAX_BODY as u64 + 1)
                .read_to_end(&mut buf)
                .context("reading the hook event from stdin")?;
            anyhow::ensure!(
                buf.len() <= protocol::MAX_BODY,
                "the event exceeds {} MiB",
                protocol::MAX_BODY >> 20
            );
            buf
        }
    };
    let mut req = Request::new(body);
    req.set(field::AGENT, args.agent.as_str());
    req.set(field::EVENT, args.event.as_str());
    req.set(field::CWD, cwd);
    req.set(field::EVENT_ID, "dashclawd-check");
    protocol::forward_env(&mut req);

    let paths = Paths::from_env()?;
    let state = EngineState {
        config_error: Arc::new(std::sync::RwLock::new(
            config::load(&paths.config_file).error,
        )),
        policies: Arc::new(PolicyStore::open_with(
            &paths.policy_file,
            StoreOptions {
                watch: false,
                ..StoreOptions::default()
            },
        )),
        protected: crate::engine::Protected::of(&paths),
        ..EngineState::default()
    };
    let out = engine::evaluate(&req, &state, engine::now_us()).map_err(anyhow::Error::msg)?;
    let c = out.classification.as_ref();
    let report = json!({
        "decision": out.decision.verdict.as_str(),
        "intent": c.map(|c| c.intent.as_str()),
        "risk_score": c.map(|c| c.risk_score),
        "action_type": c.map(|c| c.action_type),
        "reversible": c.map(|c| c.reversible),
        "reasons": out.decision.reasons,
        "policy": out.decision.policy,
        "suggestion": out.decision.suggestion,
        "summary": out.record.summary,
        "targets": c.map(|c| &c.targets),
        "commands": c.map(|c| c.commands.iter().map(|x| redact_str(x).into_owned()).collect::<Vec<_>>()),
        "risk_factors": c.map(|c| &c.risk_factors),
        "findings": c.map(|c| &c.findings),
        "matched_policies": out.evaluation.as_ref().map(|e| &e.matched_policies),
        "warnings": out.evaluation.as_ref().map(|e| &e.warnings),
        "cannot_enforce": out.evaluation.as_ref().map(|e| &e.cannot_enforce),
        "policy_risk_score": out.evaluation.as_ref().map(|e| e.risk_score),
        "policy_file_error": state.policies.last_error(),
        "agent_output": {
            "exit_code": out.rendered.exit_code,
            "stdout": String::from_utf8_lossy(&out.rendered.stdout),
            "stderr": String::from_utf8_lossy(&out.rendered.stderr),
        },
    });
    if args.explain {
        super::emit(&explain(&out))?;
        return Ok(ExitCode::SUCCESS);
    }
    super::emit(&(serde_json::to_string_pretty(&report)? + "\n"))?;
    Ok(ExitCode::SUCCESS)
}

/// A linter-style trace of one verdict.
fn explain(out: &engine::Outcome) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let d = &out.decision;
    let _ = writeln!(
        s,
        "verdict: {}{}",
        d.verdict.as_str(),
        d.policy
            .as_deref()
            .map(|p| format!(" ({p})"))
            .unwrap_or_default()
    );
    let _ = writeln!(s, "call: {}", out.record.summary);
    let Some(c) = out.classification.as_ref() else {
        return s;
    };
    if !c.commands.is_empty() {
        let _ = writeln!(s, "\ncommands as graded (wrappers removed, values folded; [origin] says where each came from):");
        for cmd in &c.commands {
            let _ = writeln!(s, "  {}", redact_str(cmd));
        }
    }
    if !c.targets.is_empty() {
        let _ = writeln!(
            s,
            "\npath and resource facts: {}",
            c.targets
                .iter()
                .map(|t| redact_str(t).into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if c.findings.is_empty() {
        let _ = writeln!(s, "\nno rule fired.");
    } else {
        let _ = writeln!(s, "\nrules:");
        for f in &c.findings {
            let rule = crate::catalog::by_id(f.rule);
            let _ = writeln!(
                s,
                "  {} [{}, {}]: {}",
                f.rule,
                rule.map_or("?", |r| r.family.as_str()),
                f.verdict.as_str(),
                redact_str(&f.reason)
            );
            if let Some(r) = rule {
                let _ = writeln!(s, "    why: {}", r.explanation);
                let _ = writeln!(s, "    instead: {}", r.suggestion);
            }
            if let Some(flow) = &f.flow {
                let _ = writeln!(
                    s,
                    "    flow: {} -> {} -> {}",
                    flow.source.as_deref().unwrap_or("(local data)"),
                    flow.sink,
                    redact_str(&flow.destination)
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "\nintent {}, action type {}, risk {}: {}",
        c.intent.as_str(),
        c.action_type,
        c.risk_score,
        c.risk_factors.join("; ")
    );
    if let Some(e) = &out.evaluation {
        if !e.matched_policies.is_empty() {
            let _ = writeln!(s, "policies matched: {}", e.matched_policies.join(", "));
        }
    }
    let stderr = String::from_utf8_lossy(&out.rendered.stderr);
    if !stderr.trim().is_empty() {
        let _ = writeln!(
            s,
            "\nthe agent sees (exit {}):\n{}",
            out.rendered.exit_code,
            stderr.trim_end()
        );
    }
    s
}
