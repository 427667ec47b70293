//! `dashclawd doctor` for Hermes: the managed block in `config.yaml` (or `--hermes-config`),
//! the `pre_tool_call` hook's timeout and `fail_closed`, its consent in Hermes's allowlist, the
//! hook binary, a liveness probe run as Hermes runs it, and the `dashclaw` MCP server.

use std::path::Path;

use serde_json::{json, Value};

use crate::agents::doctor::{
    check_binary, check_mcp, check_timeout, probe, DoctorOptions, Report, Status, PROBE_COMMAND,
};
use crate::install::mcp::McpAgent;
use crate::install::MARKER;

pub(crate) fn run(r: &mut Report, args: &DoctorOptions) -> anyhow::Result<()> {
    let path = match &args.config {
        Some(p) => Some(std::path::absolute(p)?),
        None => super::install::config_path_default().ok(),
    };
    if let Some(p) = path {
        check_hermes(r, &p, args);
        check_mcp(r, McpAgent::Hermes, "mcp.hermes", &p);
    }
    Ok(())
}

fn check_hermes(r: &mut Report, path: &Path, args: &DoctorOptions) {
    use super::install as hm;
    let daemon = args.daemon_version.as_deref();
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    if !text.contains(MARKER) {
        return;
    }
    let id = "agent.hermes";
    let doc = match yaml_rust2::YamlLoader::load_from_str(&text) {
        Ok(docs) if docs.len() == 1 => docs.into_iter().next().unwrap_or(yaml_rust2::Yaml::Null),
        Ok(_) => {
            r.add(
                id,
                Status::Fail,
                format!("{} is not one YAML document", path.display()),
            );
            return;
        }
        Err(e) => {
            r.add(
                id,
                Status::Fail,
                format!("{} is not valid YAML: {e}", path.display()),
            );
            return;
        }
    };
    let entries = hm::entries_of(&doc);
    let Some(pre) = entries
        .iter()
        .find(|e| e.event == "pre_tool_call" && e.command.contains(MARKER))
    else {
        r.add(
            id,
            Status::Fail,
            format!("{}: no DashClaw pre_tool_call hook", path.display()),
        );
        return;
    };
    r.add(id, Status::Ok, format!("hooks in {}", path.display()));
    if pre.timeout > hm::MAX_TIMEOUT_SECS {
        r.add(
            format!("{id}.timeout"),
            Status::Warn,
            format!(
                "timeout {}s: Hermes clamps it to {}s",
                pre.timeout,
                hm::MAX_TIMEOUT_SECS
            ),
        );
    } else {
        check_timeout(r, &format!("{id}.timeout"), Some(pre.timeout as f64));
    }
    if pre.fail_closed {
        // Hermes 0.19.0 does not read the key (a crashed or killed hook fails open there); the
        // hook itself prints Hermes's block JSON on every error of its own.
        r.add(
            format!("{id}.fail_closed"),
            Status::Ok,
            "fail_closed: true (honoured by Hermes versions that support it; 0.19.0 ignores it)",
        );
    } else {
        r.add(
            format!("{id}.fail_closed"),
            Status::Fail,
            "pre_tool_call lacks `fail_closed: true`: a crashed or killed hook lets the call run",
        );
    }
    // Hermes skips an unapproved shell hook in a non-interactive run without a word.
    let auto_accept = doc["hooks_auto_accept"].as_bool() == Some(true);
    let approved = path
        .parent()
        .map(|d| d.join(hm::ALLOWLIST))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .is_some_and(|v| {
            v["approvals"].as_array().into_iter().flatten().any(|a| {
                a["event"] == "pre_tool_call" && a["command"].as_str() == Some(pre.command.as_str())
            })
        });
    if approved || auto_accept {
        r.add(
            format!("{id}.consent"),
            Status::Ok,
            if approved {
                "approved in the Hermes hook allowlist"
            } else {
                "hooks_auto_accept: true"
            },
        );
    } else {
        r.add(
            format!("{id}.consent"),
            Status::Warn,
            "not in the Hermes hook allowlist: headless runs skip the hook (`dashclawd install hermes` approves it)",
        );
    }
    // Hermes splits the command like a shell and runs it without one; our commands quote the
    // same way for both, so `sh -c` runs the same argv.
    let program = pre
        .command
        .strip_prefix("/usr/bin/env ")
        .unwrap_or(&pre.command);
    if check_binary(r, &format!("{id}.binary"), program, daemon) && !args.no_probe {
        let stdin = json!({
            "hook_event_name": "pre_tool_call", "tool_name": "terminal",
            "tool_input": {"command": PROBE_COMMAND}, "session_id": "dashclawd-doctor",
            "cwd": "/", "profile": "default",
            "extra": {"task_id": "dashclawd-doctor", "tool_call_id": "dashclawd-doctor-probe"},
        });
        probe(
            r,
            &format!("{id}.probe"),
            &["sh", "-c", &pre.command],
            &stdin,
        );
    }
}
