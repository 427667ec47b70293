//! `dashclawd install claude`: wires the hook into Claude Code's settings.json.
//!
//! Idempotent (our entries are recognised by the `dashclaw-hook` command and replaced), keeps
//! every unrelated key and its order, backs the original up once, and writes atomically.
//! Timeouts are in seconds (a millisecond value fails open, agent-hooks.md §1.5) and
//! `onFailure: "block"` makes Claude Code ≥ 2.1.332 block if the hook binary itself dies.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};

use crate::install::{
    commit, home_dir, read_optional, report, sh_quote, InstallArgs, Scope, MARKER,
};

/// The hook entries we add to Claude Code's `hooks`, per event; `@HOOK@` becomes the command.
/// Timeouts are seconds; PreToolUse's stays well above the client's own 10 s deadline. The
/// matcher `*` covers every tool, including ones added after this was written: the daemon lets
/// read-only calls through silently.
const CLAUDE_TEMPLATE: &str = include_str!("../../../hooks/claude/hooks.json");

pub(crate) fn run(args: &InstallArgs) -> Result<ExitCode> {
    let settings = match &args.settings {
        Some(p) => p.clone(),
        None => claude_settings_path(args.scope)?,
    };
    let hook_bin = crate::install::hook_bin(args)?;
    let original = read_optional(&settings)?;
    let mut doc: Value = match &original {
        Some(t) if !t.trim().is_empty() => serde_json::from_str(t).with_context(|| {
            format!(
                "{} is not valid JSON; fix it first (nothing was changed)",
                settings.display()
            )
        })?,
        _ => json!({}),
    };
    let home = std::env::var("DASHCLAW_HOME")
        .ok()
        .filter(|h| !h.is_empty());
    edit_claude_settings(&mut doc, &hook_bin, home.as_deref(), args.uninstall)?;
    let text = if original.is_none() && doc.as_object().is_some_and(|o| o.is_empty()) {
        String::new()
    } else {
        serde_json::to_string_pretty(&doc)? + "\n"
    };
    let outcome = commit(&settings, original.as_deref(), &text, args.dry_run)?;
    report(&outcome, &settings, args.uninstall);
    crate::install::mcp::register(crate::install::mcp::McpAgent::Claude, &settings, args)?;
    Ok(ExitCode::SUCCESS)
}

/// Claude Code's managed (enterprise) settings on Linux.
pub const CLAUDE_MANAGED_SETTINGS: &str = "/etc/claude-code/managed-settings.json";

/// The settings file of a scope (agent-hooks.md §1.1, §1.7).
pub fn claude_settings_path(scope: Scope) -> Result<PathBuf> {
    match scope {
        Scope::User => {
            if let Some(dir) = std::env::var_os("CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
                return Ok(PathBuf::from(dir).join("settings.json"));
            }
            Ok(home_dir()?.join(".claude").join("settings.json"))
        }
        Scope::Project => Ok(std::env::current_dir()?
            .join(".claude")
            .join("settings.json")),
        // Managed settings survive `--bare` and `disableAllHooks`.
        Scope::Managed => Ok(PathBuf::from(CLAUDE_MANAGED_SETTINGS)),
    }
}

/// Removes our previous entries, then (unless uninstalling) adds the current ones.
pub fn edit_claude_settings(
    doc: &mut Value,
    hook_bin: &Path,
    dashclaw_home: Option<&str>,
    uninstall: bool,
) -> Result<()> {
    let root = doc
        .as_object_mut()
        .context("settings.json must be a JSON object")?;
    let hooks = root
        .entry("hooks")
        .or_insert_with(|| Value::Object(Map::new()));
    let hooks = hooks
        .as_object_mut()
        .context("`hooks` in settings.json must be an object")?;
    let template: Map<String, Value> =
        serde_json::from_str(CLAUDE_TEMPLATE).expect("hooks/claude/hooks.json is valid JSON");
    for event in template.keys() {
        if let Some(Value::Array(groups)) = hooks.get_mut(event) {
            for group in groups.iter_mut() {
                if let Some(Value::Array(list)) = group.get_mut("hooks") {
                    list.retain(|h| {
                        !h.get("command")
                            .and_then(Value::as_str)
                            .is_some_and(|c| c.contains(MARKER))
                    });
                }
            }
            groups.retain(|g| {
                g.get("hooks")
                    .and_then(Value::as_array)
                    .is_none_or(|l| !l.is_empty())
            });
            if groups.is_empty() {
                hooks.remove(event);
            }
        }
    }
    if !uninstall {
        let prefix = dashclaw_home
            .map(|h| format!("DASHCLAW_HOME={} ", sh_quote(h)))
            .unwrap_or_default();
        let command = format!("{prefix}{}", sh_quote(&hook_bin.to_string_lossy()));
        for (event, groups) in template {
            let Value::Array(mut groups) = groups else {
                unreachable!("template groups are arrays")
            };
            for group in &mut groups {
                for h in group["hooks"].as_array_mut().into_iter().flatten() {
                    let cmd = h["command"]
                        .as_str()
                        .unwrap_or_default()
                        .replace("@HOOK@", &command);
                    h["command"] = Value::String(cmd);
                }
            }
            match hooks
                .entry(event.clone())
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                Value::Array(existing) => existing.extend(groups),
                _ => bail!("`hooks.{event}` in settings.json must be an array"),
            }
        }
    }
    if hooks.is_empty() {
        root.remove("hooks");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_is_idempotent_and_keeps_unrelated_settings() {
        let mut doc = json!({
            "model": "opus",
            "hooks": { "PreToolUse": [ { "matcher": "Bash", "hooks": [ { "type": "command", "command": "/usr/bin/other-hook" } ] } ] },
            "permissions": { "allow": ["Bash(ls:*)"] }
        });
        let bin = Path::new("/opt/dc/bin/dashclaw-hook");
        edit_claude_settings(&mut doc, bin, None, false).unwrap();
        let once = doc.clone();
        edit_claude_settings(&mut doc, bin, None, false).unwrap();
        assert_eq!(doc, once, "re-running must be a no-op");
        let keys: Vec<_> = doc.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["model", "hooks", "permissions"], "key order kept");
        let pre = doc["hooks"]["PreToolUse"].as_array().unwrap();
        assert_eq!(pre.len(), 2);
        assert_eq!(pre[0]["hooks"][0]["command"], "/usr/bin/other-hook");
        assert_eq!(pre[1]["matcher"], "*");
        assert_eq!(
            pre[1]["hooks"][0]["command"],
            "/opt/dc/bin/dashclaw-hook claude pre-tool-use"
        );
        assert_eq!(pre[1]["hooks"][0]["timeout"], 3660);
        assert_eq!(pre[1]["hooks"][0]["onFailure"], "block");

        edit_claude_settings(&mut doc, bin, None, true).unwrap();
        assert_eq!(
            doc,
            json!({
                "model": "opus",
                "hooks": { "PreToolUse": [ { "matcher": "Bash", "hooks": [ { "type": "command", "command": "/usr/bin/other-hook" } ] } ] },
                "permissions": { "allow": ["Bash(ls:*)"] }
            }),
            "uninstall restores the original"
        );
    }

    #[test]
    fn dashclaw_home_and_odd_paths_are_quoted() {
        let mut doc = json!({});
        edit_claude_settings(
            &mut doc,
            Path::new("/it's here/dashclaw-hook"),
            Some("/home/me/dc home"),
            false,
        )
        .unwrap();
        assert_eq!(
            doc["hooks"]["Stop"][0]["hooks"][0]["command"],
            r"DASHCLAW_HOME='/home/me/dc home' '/it'\''s here/dashclaw-hook' claude stop"
        );
    }
}
