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
        config_error: config::load(&paths.config_file).error,
        policies: Arc::new(PolicyStore::open_with(
            &paths.policy_file,
            StoreOptions {
                watch: false,
                ..StoreOptions::default()
            },
        )),
        protected: crate::engine::Protected::of(&paths),
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
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(ExitCode::SUCCESS)
}
