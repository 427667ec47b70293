//! `dashclawd doctor` for Codex: the user's (or `--codex-config`) and the managed
//! `config.toml`, each hook's timeout, `[features] hooks`, trust as `codex app-server` reports
//! it (`--fix` trusts), the hook binary, a liveness probe run as `$SHELL -lc` as Codex runs
//! it, and the `dashclaw` MCP server.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::agents::doctor::{
    check_binary, check_mcp, check_timeout, probe, DoctorOptions, Report, Status, PROBE_COMMAND,
};
use crate::install::mcp::McpAgent;
use crate::install::{Scope, MARKER};

use super::install as cx;

pub(crate) fn run(r: &mut Report, args: &DoctorOptions) -> anyhow::Result<()> {
    let path = match &args.config {
        Some(p) => Some(std::path::absolute(p)?),
        None => cx::config_path(Scope::User).ok(),
    };
    for p in path
        .iter()
        .cloned()
        .chain(std::iter::once(PathBuf::from(cx::MANAGED_CONFIG)))
    {
        check_codex(r, &p, args);
    }
    if let Some(p) = path {
        check_mcp(r, McpAgent::Codex, "mcp.codex", &p);
    }
    Ok(())
}

fn check_codex(r: &mut Report, path: &Path, args: &DoctorOptions) {
    let daemon = args.daemon_version.as_deref();
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    if !text.contains(MARKER) {
        return;
    }
    let managed = path == Path::new(cx::MANAGED_CONFIG);
    let id = if managed {
        "agent.codex_managed"
    } else {
        "agent.codex"
    };
    let doc: toml::Table = match toml::from_str(&text) {
        Ok(t) => t,
        Err(e) => {
            r.add(
                id,
                Status::Fail,
                format!("{} is not valid TOML: {e}", path.display()),
            );
            return;
        }
    };
    let pre: Vec<&toml::Value> = doc
        .get("hooks")
        .and_then(|h| h.get("PreToolUse"))
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|g| {
            g.get("hooks")
                .and_then(toml::Value::as_array)
                .into_iter()
                .flatten()
        })
        .filter(|h| {
            h.get("command")
                .and_then(toml::Value::as_str)
                .is_some_and(|c| c.contains(MARKER))
        })
        .collect();
    let Some(h) = pre.first() else {
        r.add(
            id,
            Status::Fail,
            format!("{}: no DashClaw PreToolUse hook", path.display()),
        );
        return;
    };
    r.add(id, Status::Ok, format!("hooks in {}", path.display()));
    let command = h
        .get("command")
        .and_then(toml::Value::as_str)
        .unwrap_or_default();
    let timeout = h
        .get("timeout")
        .and_then(|t| t.as_integer().map(|i| i as f64).or_else(|| t.as_float()));
    check_timeout(r, &format!("{id}.timeout"), timeout);
    if doc
        .get("features")
        .and_then(|f| f.get("hooks"))
        .and_then(toml::Value::as_bool)
        == Some(false)
    {
        r.add(
            format!("{id}.feature"),
            Status::Fail,
            "[features] hooks = false: Codex runs no hooks",
        );
    }
    check_codex_trust(r, &format!("{id}.trust"), path, command, args, managed);
    if check_binary(r, &format!("{id}.binary"), command, daemon) && !args.no_probe {
        let stdin = json!({
            "session_id": "dashclawd-doctor", "turn_id": "dashclawd-doctor", "cwd": "/",
            "hook_event_name": "PreToolUse", "permission_mode": "default", "tool_name": "Bash",
            "tool_input": {"command": PROBE_COMMAND}, "tool_use_id": "dashclawd-doctor-probe",
        });
        // Codex runs hooks as `$SHELL -lc "<command>"` (agent-hooks.md §2.1).
        let shell = std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into());
        probe(r, &format!("{id}.probe"), &[&shell, "-lc", command], &stdin);
    }
}

fn check_codex_trust(
    r: &mut Report,
    id: &str,
    path: &Path,
    command: &str,
    args: &DoctorOptions,
    managed: bool,
) {
    let Some(codex) = cx::find_codex(args.agent_bin.as_deref()) else {
        r.add(
            id,
            if managed { Status::Ok } else { Status::Warn },
            "codex not found: trust is unprovable (pass --codex-bin)",
        );
        return;
    };
    // The installer wrote `<hook command> codex pre-tool-use`; recover the hook part.
    let hook = command
        .strip_suffix(" codex pre-tool-use")
        .unwrap_or(command);
    let expected = cx::expected_hooks(hook);
    let scope = if managed { Scope::Managed } else { Scope::User };
    let source = path.to_string_lossy().into_owned();
    let listed = cx::AppServerEnv::for_config(path, scope)
        .and_then(|env| Ok((cx::list_hooks(&codex, &env)?, env)));
    let (listed, env) = match listed {
        Ok(x) => x,
        Err(e) => {
            r.add(id, Status::Warn, format!("could not ask codex: {e:#}"));
            return;
        }
    };
    let mut problems = cx::verify(&listed, &expected, &source);
    if !problems.is_empty() && args.fix && !managed {
        let trust = cx::to_trust(&listed, &expected, &source);
        let fixed = std::fs::read_to_string(path)
            .map_err(anyhow::Error::from)
            .and_then(|t| cx::set_trusted_hashes(&t, &trust))
            .and_then(|t| crate::install::write_atomic(path, t.as_bytes()));
        if fixed.is_ok() {
            if let Ok(listed) = cx::list_hooks(&codex, &env) {
                problems = cx::verify(&listed, &expected, &source);
            }
        }
    }
    if problems.is_empty() {
        r.add(id, Status::Ok, "Codex reports every DashClaw hook active");
    } else {
        r.add(
            id,
            Status::Fail,
            format!(
                "Codex skips these hooks without a word: {}{}",
                problems.join("; "),
                if args.fix { "" } else { " (--fix trusts them)" }
            ),
        );
    }
}
