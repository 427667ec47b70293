//! `dashclawd doctor` for OpenClaw: the plugin as OpenClaw installed it, its enablement, the
//! hook binary it runs, and a probe through the plugin's own `before_tool_call` under Node.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use crate::agents::doctor::{check_binary, DoctorOptions, Report, Status, PROBE_COMMAND};

pub(crate) fn run(r: &mut Report, args: &DoctorOptions) -> anyhow::Result<()> {
    let state = match &args.config {
        Some(p) => Some(std::path::absolute(p)?),
        None => super::install::state_dir().ok(),
    };
    if let Some(p) = state {
        check_openclaw(r, &p, args);
    }
    Ok(())
}

/// OpenClaw: our plugin as OpenClaw installed it (`<state>/extensions/dashclaw-guard/`), its
/// enablement in `openclaw.json`, the hook binary it runs, and a probe through the plugin's own
/// `before_tool_call` handler under Node, exactly the code OpenClaw calls.
fn check_openclaw(r: &mut Report, state: &Path, args: &DoctorOptions) {
    use super::install as oc;
    let daemon = args.daemon_version.as_deref();
    let id = "agent.openclaw";
    let ext = state.join("extensions").join(oc::PLUGIN_ID);
    let config_path = state.join("openclaw.json");
    let config_text = std::fs::read_to_string(&config_path).ok();
    let mentioned = config_text
        .as_deref()
        .is_some_and(|t| t.contains(oc::PLUGIN_ID));
    if !ext.exists() && !mentioned {
        return; // not installed
    }
    let index = ext.join("index.js");
    let Ok(code) = std::fs::read_to_string(&index) else {
        r.add(
            id,
            Status::Fail,
            format!(
                "{} is missing: OpenClaw has no DashClaw plugin to run, every tool call runs                  unguarded (`dashclawd install openclaw`)",
                index.display()
            ),
        );
        return;
    };
    let shipped = oc::FILES
        .iter()
        .find(|(n, _)| *n == "index.js")
        .map(|(_, t)| *t)
        .unwrap_or_default();
    if code == shipped {
        r.add(id, Status::Ok, format!("plugin in {}", ext.display()));
    } else {
        r.add(
            id,
            Status::Warn,
            format!(
                "{} differs from this version's plugin (edited, or an older install):                  re-run `dashclawd install openclaw`",
                index.display()
            ),
        );
    }
    // Enablement: OpenClaw writes plain JSON; a hand-written JSON5 file cannot be read here.
    let enabled_id = format!("{id}.enabled");
    match config_text.as_deref().map(serde_json::from_str::<Value>) {
        None => r.add(
            enabled_id,
            Status::Fail,
            format!(
                "{} is missing: the plugin is not enabled",
                config_path.display()
            ),
        ),
        Some(Err(e)) => r.add(
            enabled_id,
            Status::Warn,
            format!(
                "{} is not plain JSON ({e}): enablement unchecked",
                config_path.display()
            ),
        ),
        Some(Ok(cfg)) => {
            let plugins = &cfg["plugins"];
            let listed = |key: &str| {
                plugins[key]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|v| v == oc::PLUGIN_ID))
            };
            let problem = if plugins["enabled"] == false {
                Some("`plugins.enabled` is false: OpenClaw loads no plugin")
            } else if plugins["entries"][oc::PLUGIN_ID]["enabled"] == false {
                Some("`plugins.entries.dashclaw-guard.enabled` is false")
            } else if listed("deny") {
                Some("`plugins.deny` lists dashclaw-guard")
            } else if plugins["allow"].is_array() && !listed("allow") {
                Some("`plugins.allow` does not list dashclaw-guard")
            } else if plugins["entries"][oc::PLUGIN_ID].is_null() {
                Some("no `plugins.entries.dashclaw-guard`: not installed through OpenClaw")
            } else {
                None
            };
            match problem {
                Some(p) => r.add(
                    enabled_id,
                    Status::Fail,
                    format!(
                        "{p}: every tool call runs unguarded ({})",
                        config_path.display()
                    ),
                ),
                None => r.add(enabled_id, Status::Ok, "enabled in openclaw.json"),
            }
        }
    }
    let settings: Value = std::fs::read_to_string(ext.join(oc::SETTINGS_FILE))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let config_bin = config_text
        .as_deref()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .and_then(|c| {
            c["plugins"]["entries"][oc::PLUGIN_ID]["config"]["hookBin"]
                .as_str()
                .map(str::to_owned)
        });
    let hook_bin = config_bin.or_else(|| settings["hookBin"].as_str().map(str::to_owned));
    let Some(hook_bin) = hook_bin else {
        r.add(
            format!("{id}.binary"),
            Status::Warn,
            "no hook binary configured: the plugin runs `dashclaw-hook` from OpenClaw's PATH",
        );
        return;
    };
    if check_binary(
        r,
        &format!("{id}.binary"),
        &crate::install::sh_quote(&hook_bin),
        daemon,
    ) && !args.no_probe
    {
        probe_openclaw(r, &format!("{id}.probe"), &index);
    }
}

/// Imports the installed plugin under Node and asks its `before_tool_call` handler about a
/// destructive `exec`; prints the handler's answer as JSON.
fn probe_openclaw(r: &mut Report, id: &str, index: &Path) {
    let Some(node) = crate::agents::codex::install::find_on_path("node") else {
        r.add(
            id,
            Status::Warn,
            "unprovable: no `node` on PATH to load the plugin",
        );
        return;
    };
    let script = format!(
        "import({url}).then(async (m) => {{ \
           const v = await m.beforeToolCall(undefined)({{ toolName: 'exec', \
             params: {{ command: {cmd} }}, toolCallId: 'dashclawd-doctor-probe' }}, \
             {{ sessionId: 'dashclawd-doctor', agentId: 'doctor' }}); \
           process.stdout.write(JSON.stringify(v ?? null)); }})",
        url = Value::String(format!("file://{}", index.display())),
        cmd = Value::String(PROBE_COMMAND.into()),
    );
    let out = Command::new(node)
        .args(["--input-type=module", "-e", &script])
        .stdin(Stdio::null())
        .output();
    let out = match out {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            r.add(
                id,
                Status::Warn,
                format!(
                    "unprovable: node could not load the plugin: {}",
                    String::from_utf8_lossy(&o.stderr)
                        .lines()
                        .next()
                        .unwrap_or("")
                ),
            );
            return;
        }
        Err(e) => {
            r.add(
                id,
                Status::Warn,
                format!("unprovable: cannot start node: {e}"),
            );
            return;
        }
    };
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    let reason = answer["blockReason"].as_str().unwrap_or("").to_owned();
    let first = reason.lines().next().unwrap_or("");
    if answer["block"] != true {
        r.add(
            id,
            Status::Fail,
            "executed: the plugin allowed a destructive call (observe mode, or a broken policy)",
        );
    } else if reason.contains("the guard could not run")
        || reason.contains("the guard exited")
        || reason.contains("the guard was killed")
        || reason.contains("gave no verdict")
        || reason.contains("unexpected output")
    {
        // Fail-closed, but for the wrong reason: every call would be blocked the same way.
        r.add(
            id,
            Status::Fail,
            format!("held only because the guard is broken ({first}): every tool call is blocked"),
        );
    } else {
        r.add(
            id,
            Status::Ok,
            format!("held: a destructive call was refused ({first})"),
        );
    }
}
