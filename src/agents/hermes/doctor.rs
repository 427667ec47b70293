//! `dashclawd doctor` for Hermes: the managed block in `config.yaml` (or `--hermes-config`),
//! the guard plugin that gates calls (present, this version's, enabled), the record hooks'
//! consent in Hermes's allowlist, the hook binary, a liveness probe running the plugin's
//! command as the plugin runs it, and the `dashclaw` MCP server.

use std::path::Path;

use serde_json::{json, Value};

use crate::agents::doctor::{
    check_binary, check_mcp, probe, DoctorOptions, Report, Status, PROBE_COMMAND,
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
    // Gating is the plugin's: Hermes ignores a failed shell hook (see plugin/__init__.py).
    let plugin = path
        .parent()
        .unwrap_or(Path::new("."))
        .join("plugins")
        .join(hm::PLUGIN_NAME);
    let init = plugin.join("__init__.py");
    let installed = std::fs::read_to_string(&init).ok();
    let Some((command, redact)) = installed.as_deref().and_then(hm::plugin_commands) else {
        r.add(
            id,
            Status::Fail,
            format!(
                "{} is missing or not DashClaw's: nothing gates Hermes's tool calls \
                 (`dashclawd install hermes`)",
                init.display()
            ),
        );
        return;
    };
    // This version's plugin for the commands it carries, byte for byte.
    let intact = hm::plugin_files(&command, redact.as_deref())
        .iter()
        .any(|(n, t)| *n == "__init__.py" && installed.as_deref() == Some(t.as_str()));
    if intact {
        r.add(
            id,
            Status::Ok,
            format!(
                "hooks in {}, guard plugin in {}{}",
                path.display(),
                plugin.display(),
                if redact.is_some() {
                    " (with tool-result redaction)"
                } else {
                    ""
                }
            ),
        );
    } else {
        r.add(
            id,
            Status::Warn,
            format!(
                "{} differs from this version's plugin (edited, or an older install): re-run \
                 `dashclawd install hermes`",
                init.display()
            ),
        );
    }
    let listed = |key: &str| {
        doc["plugins"][key]
            .as_vec()
            .is_some_and(|v| v.iter().any(|p| p.as_str() == Some(hm::PLUGIN_NAME)))
    };
    if listed("enabled") && !listed("disabled") {
        r.add(
            format!("{id}.fail_closed"),
            Status::Ok,
            "the guard plugin is enabled: a crashed, killed or missing guard blocks the call",
        );
    } else {
        r.add(
            format!("{id}.fail_closed"),
            Status::Fail,
            format!(
                "`{}` is not in `plugins.enabled` (or is in `plugins.disabled`): every tool call \
                 runs unguarded",
                hm::PLUGIN_NAME
            ),
        );
    }
    let entries: Vec<_> = hm::entries_of(&doc)
        .into_iter()
        .filter(|e| e.command.contains(MARKER))
        .collect();
    if entries.iter().any(|e| e.event == "pre_tool_call") {
        r.add(
            format!("{id}.stale"),
            Status::Warn,
            "a shell pre_tool_call hook of an older install is still there: each call is \
             checked twice; re-run `dashclawd install hermes`",
        );
    }
    // Hermes skips an unapproved shell hook in a non-interactive run without a word: the
    // session and prompt records would be missing.
    let auto_accept = doc["hooks_auto_accept"].as_bool() == Some(true);
    let approvals: Vec<(String, String)> = path
        .parent()
        .map(|d| d.join(hm::ALLOWLIST))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .map(|v| {
            v["approvals"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|a| {
                    (
                        a["event"].as_str().unwrap_or("").to_owned(),
                        a["command"].as_str().unwrap_or("").to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let approved = !entries.is_empty()
        && entries
            .iter()
            .all(|e| approvals.contains(&(e.event.clone(), e.command.clone())));
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
            "not in the Hermes hook allowlist: headless runs skip the record hooks (`dashclawd install hermes` approves them)",
        );
    }
    // The plugin splits the command like a shell and runs it without one; our commands quote
    // the same way for both, so `sh -c` runs the same argv.
    let program = command.strip_prefix("/usr/bin/env ").unwrap_or(&command);
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
            &["sh", "-c", &format!("{command} hermes pre-tool-use")],
            &stdin,
        );
    }
}
