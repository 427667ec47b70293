//! `dashclawd doctor` for Claude Code: the user's (or `--claude-settings`) and the managed
//! settings, each hook's timeout, `onFailure: "block"`, the hook binary, a liveness probe run
//! through `sh -c` as Claude Code runs it, and the `dashclaw` MCP server.

use std::path::Path;

use serde_json::{json, Value};

use crate::agents::doctor::{
    check_binary, check_mcp, check_timeout, probe, DoctorOptions, Report, Status, PROBE_COMMAND,
};
use crate::install::mcp::McpAgent;
use crate::install::{Scope, MARKER};

use super::install::{claude_settings_path, CLAUDE_MANAGED_SETTINGS};

pub(crate) fn run(r: &mut Report, args: &DoctorOptions) -> anyhow::Result<()> {
    let path = match &args.config {
        Some(p) => Some(p.clone()),
        None => claude_settings_path(Scope::User).ok(),
    };
    if let Some(p) = path {
        check_claude(r, "agent.claude", &p, args);
    }
    // Managed settings hold even against `--bare` and `disableAllHooks` (agent-hooks.md §1.7).
    check_claude(
        r,
        "agent.claude_managed",
        Path::new(CLAUDE_MANAGED_SETTINGS),
        args,
    );
    if let Ok(p) = crate::install::mcp::claude_mcp_path(Scope::User, args.config.as_deref()) {
        check_mcp(r, McpAgent::Claude, "mcp.claude", &p);
    }
    Ok(())
}

fn check_claude(r: &mut Report, id: &str, path: &Path, args: &DoctorOptions) {
    let daemon = args.daemon_version.as_deref();
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    let doc: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            if text.contains(MARKER) {
                r.add(
                    id,
                    Status::Fail,
                    format!("{} is not valid JSON: {e}", path.display()),
                );
            }
            return;
        }
    };
    let pre: Vec<&Value> = doc["hooks"]["PreToolUse"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["hooks"].as_array().into_iter().flatten())
        .filter(|h| h["command"].as_str().is_some_and(|c| c.contains(MARKER)))
        .collect();
    let any_ours = text.contains(MARKER);
    if !any_ours {
        return;
    }
    let Some(h) = pre.first() else {
        r.add(
            id,
            Status::Fail,
            format!("{}: no DashClaw PreToolUse hook", path.display()),
        );
        return;
    };
    r.add(id, Status::Ok, format!("hooks in {}", path.display()));
    let command = h["command"].as_str().unwrap_or_default();
    check_timeout(r, &format!("{id}.timeout"), h["timeout"].as_f64());
    if h["onFailure"] != "block" {
        r.add(
            format!("{id}.fail_closed"),
            Status::Fail,
            "PreToolUse lacks \"onFailure\": \"block\": a crashed or killed hook lets the call run",
        );
    } else {
        r.add(format!("{id}.fail_closed"), Status::Ok, "onFailure: block");
    }
    if check_binary(r, &format!("{id}.binary"), command, daemon) && !args.no_probe {
        let stdin = json!({
            "session_id": "dashclawd-doctor", "cwd": "/", "hook_event_name": "PreToolUse",
            "permission_mode": "default", "tool_name": "Bash",
            "tool_input": {"command": PROBE_COMMAND}, "tool_use_id": "dashclawd-doctor-probe",
        });
        // Claude Code runs command hooks through the user's shell.
        probe(r, &format!("{id}.probe"), &["sh", "-c", command], &stdin);
    }
}
