//! `dashclawd install hermes`: shell hooks in Hermes's `config.yaml` (agent-hooks.md §3.2).
//!
//! YAML cannot be edited in place without losing comments, so our entries live in one managed
//! block between marker comments, appended to the file; the rest of the file is never rewritten,
//! and uninstall gives it back byte for byte. Hermes reads a single top-level `hooks:` mapping,
//! so a file that already has its own `hooks:` outside our block is refused, unchanged, with the
//! lines to merge by hand.
//!
//! Hermes silently skips an unapproved shell hook in a non-interactive run, so the installer also
//! approves exactly our `(event, command)` pairs in `shell-hooks-allowlist.json` beside the config,
//! rather than turning on `hooks_auto_accept` (which would approve anyone's hooks).
//!
//! The result is parsed as YAML (yaml-rust2) before anything is written.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use yaml_rust2::{Yaml, YamlLoader};

use crate::install::{
    commit, home_dir, hook_command, read_optional, report, sh_quote, InstallArgs, Scope,
};

/// The template; only the lines between the markers are written.
pub const TEMPLATE: &str = include_str!("../../../hooks/hermes/hooks.yaml");
pub const BEGIN: &str = "# >>> dashclaw hooks (managed) >>>";
pub const END: &str = "# <<< dashclaw hooks <<<";
/// Written right after [`BEGIN`] when we had to end the user's last line to append the block.
const ADDED_NEWLINE: &str = "# (dashclaw ended the line above; uninstall takes that back)";
/// Hermes's consent file, beside `config.yaml`.
pub const ALLOWLIST: &str = "shell-hooks-allowlist.json";
/// Hermes's upper bound for a shell hook's timeout, in seconds.
pub const MAX_TIMEOUT_SECS: i64 = 300;
/// Template lines written only without tool-result redaction.
const PLAIN_PREFIX: &str = "#@plain ";
/// The guard plugin (hooks/hermes/plugin/), copied to `plugins/<PLUGIN_NAME>/` beside the
/// config: Hermes honours a failed guard only from an in-process `pre_tool_call`, and lets only
/// a plugin replace a tool result.
pub const PLUGIN_NAME: &str = "dashclaw-guard";
/// The plugin's name before it gated calls (redaction only); removed by the installer.
const LEGACY_PLUGIN_NAME: &str = "dashclaw-redact";
pub const PLUGIN_FILES: &[(&str, &str)] = &[
    (
        "plugin.yaml",
        include_str!("../../../hooks/hermes/plugin/plugin.yaml"),
    ),
    (
        "__init__.py",
        include_str!("../../../hooks/hermes/plugin/__init__.py"),
    ),
];

/// One hook entry we write, as Hermes will read it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub event: String,
    pub command: String,
    pub timeout: i64,
    pub fail_closed: bool,
}

/// `$HERMES_HOME`, else `~/.hermes`.
pub fn hermes_home() -> Result<PathBuf> {
    match std::env::var_os("HERMES_HOME").filter(|h| !h.is_empty()) {
        Some(h) => Ok(PathBuf::from(h)),
        None => Ok(home_dir()?.join(".hermes")),
    }
}

pub fn config_path_default() -> Result<PathBuf> {
    Ok(hermes_home()?.join("config.yaml"))
}

/// The command Hermes runs for `hook_bin`. Hermes splits it like a shell but runs no shell, so a
/// `VAR=value` prefix has to go through `/usr/bin/env`.
pub fn hermes_command(hook_bin: &Path, extra_env: &[(&str, &str)]) -> String {
    let plain = sh_quote(&hook_bin.to_string_lossy());
    let full = hook_command(hook_bin);
    let mut env: Vec<String> = Vec::new();
    if let Some(assignment) = full
        .strip_suffix(&plain)
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        env.push(assignment.to_owned());
    }
    env.extend(
        extra_env
            .iter()
            .map(|(k, v)| format!("{k}={}", sh_quote(v))),
    );
    if env.is_empty() {
        plain
    } else {
        format!("/usr/bin/env {} {plain}", env.join(" "))
    }
}

/// The managed block for `command`; with `redact_command` (redaction on) the plugin records
/// tool results, so no `post_tool_call` hook is registered.
pub fn block(command: &str, redact_command: Option<&str>, added_newline: bool) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in TEMPLATE.lines() {
        if line == BEGIN {
            inside = true;
            out.push_str(line);
            out.push('\n');
            if added_newline {
                out.push_str(ADDED_NEWLINE);
                out.push('\n');
            }
            continue;
        }
        if !inside {
            continue;
        }
        let line = match (line.strip_prefix(PLAIN_PREFIX), redact_command) {
            (Some(rest), None) => rest,
            (Some(_), Some(_)) => continue,
            (None, _) => line,
        };
        match line.split_once("command: ") {
            Some((lead, value)) => {
                let value = value.replace("@HOOK@", command);
                out.push_str(lead);
                out.push_str("command: ");
                out.push_str(&yaml_quote(&value));
            }
            None => out.push_str(line),
        }
        out.push('\n');
        if line == END {
            break;
        }
    }
    out
}

/// A YAML double-quoted scalar.
fn yaml_quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            '\t' => q.push_str("\\t"),
            c if c.is_control() => q.push_str(&format!("\\u{:04x}", c as u32)),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

/// Where the managed block sits: byte range, and whether it carries [`ADDED_NEWLINE`].
struct Found {
    start: usize,
    end: usize,
    added_newline: bool,
}

fn find_block(text: &str) -> Result<Option<Found>> {
    let mut begin = Vec::new();
    let mut end = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare == BEGIN {
            begin.push(offset);
        } else if bare == END {
            end.push(offset + line.len());
        }
        offset += line.len();
    }
    match (begin.as_slice(), end.as_slice()) {
        ([], []) => Ok(None),
        ([b], [e]) if b < e => Ok(Some(Found {
            start: *b,
            end: *e,
            added_newline: text[*b..*e].lines().nth(1) == Some(ADDED_NEWLINE),
        })),
        _ => bail!(
            "the DashClaw block is damaged (the markers `{BEGIN}` and `{END}` must appear once each, in that order); fix or remove it by hand"
        ),
    }
}

/// Parses `text` as a single YAML document whose top level is a mapping (or nothing).
fn parse_top(text: &str) -> Result<Option<Yaml>> {
    let docs =
        YamlLoader::load_from_str(text).map_err(|e| anyhow::anyhow!("not valid YAML: {e}"))?;
    match docs.as_slice() {
        [] => Ok(None),
        [Yaml::Null] => Ok(None),
        [doc @ Yaml::Hash(_)] => Ok(Some(doc.clone())),
        [_] => bail!("the top level is not a mapping, so hooks cannot be added"),
        _ => bail!("the file holds several YAML documents; Hermes reads one"),
    }
}

/// Adds (or replaces) our block in Hermes's `config.yaml` text, or removes it. Pure: the text
/// in, the new text out; an error means nothing may be written.
pub fn edit_hermes_config(
    text: &str,
    command: &str,
    redact_command: Option<&str>,
    uninstall: bool,
) -> Result<String> {
    let found = find_block(text)?;
    let (before, after, added_newline) = match &found {
        Some(f) => (&text[..f.start], &text[f.end..], f.added_newline),
        None => (text, "", false),
    };
    let outside = format!("{before}{after}");
    let top = parse_top(&outside)?;
    if let Some(doc) = &top {
        if !doc["hooks"].is_badvalue() {
            bail!(
                "it already has a `hooks:` section outside the DashClaw block, and Hermes reads only one; \
                 merge the entries of hooks/hermes/hooks.yaml into yours by hand \
                 (`dashclawd install hermes --dry-run` on a copy without your `hooks:` shows them)"
            );
        }
        if !uninstall && !doc["plugins"].is_badvalue() {
            bail!(
                "it already has a `plugins:` section outside the DashClaw block, and the guard \
                 needs `{PLUGIN_NAME}` in `plugins.enabled` (Hermes ignores a failed shell hook, \
                 so only the plugin blocks when the guard fails); move your `plugins:` entries \
                 out, install, then merge them into the block's `plugins:` by hand"
            );
        }
    }
    if uninstall {
        let before = if added_newline {
            before.strip_suffix('\n').unwrap_or(before)
        } else {
            before
        };
        return Ok(format!("{before}{after}"));
    }
    let (before, added_newline) = match &found {
        Some(_) => (before.to_owned(), added_newline),
        None if before.is_empty() || before.ends_with('\n') => (before.to_owned(), false),
        None => (format!("{before}\n"), true),
    };
    let new = format!(
        "{before}{}{after}",
        block(command, redact_command, added_newline)
    );
    verify(&new, &expected_entries(command, redact_command))?;
    Ok(new)
}

/// The entries the block yields, in template order.
pub fn expected_entries(command: &str, redact_command: Option<&str>) -> Vec<Entry> {
    let text = block(command, redact_command, false);
    let Ok(Some(doc)) = parse_top(&text) else {
        return Vec::new();
    };
    entries_of(&doc)
}

/// Every hook entry of a parsed config, `(event, command, timeout, fail_closed)`.
pub fn entries_of(doc: &Yaml) -> Vec<Entry> {
    let mut out = Vec::new();
    let Some(hooks) = doc["hooks"].as_hash() else {
        return out;
    };
    for (event, list) in hooks {
        let Some(event) = event.as_str() else {
            continue;
        };
        for e in list.as_vec().into_iter().flatten() {
            let Some(command) = e["command"].as_str() else {
                continue;
            };
            out.push(Entry {
                event: event.to_owned(),
                command: command.to_owned(),
                timeout: e["timeout"].as_i64().unwrap_or(60),
                fail_closed: e["fail_closed"]
                    .as_bool()
                    .or_else(|| e["failClosed"].as_bool())
                    .unwrap_or(false),
            });
        }
    }
    out
}

/// The written text parses and holds exactly what we meant to write.
fn verify(text: &str, want: &[Entry]) -> Result<()> {
    let doc = parse_top(text)
        .context("the result would not be valid YAML")?
        .context("the result has no content")?;
    let got = entries_of(&doc);
    if got != want || want.is_empty() {
        bail!("the result does not read back as the DashClaw hooks (got {got:?})");
    }
    Ok(())
}

/// Adds our `(event, command)` approvals to Hermes's allowlist (dropping stale ones of ours), or
/// removes them. Other approvals are kept as they are.
pub fn edit_allowlist(text: Option<&str>, entries: &[Entry], uninstall: bool) -> Result<String> {
    let mut doc: Value = match text.map(str::trim) {
        None | Some("") => json!({"approvals": []}),
        Some(t) => {
            serde_json::from_str(t).context("the Hermes hook allowlist is not valid JSON")?
        }
    };
    let Some(obj) = doc.as_object_mut() else {
        bail!("the Hermes hook allowlist is not a JSON object");
    };
    let approvals = obj.entry("approvals").or_insert_with(|| json!([]));
    let Some(list) = approvals.as_array_mut() else {
        bail!("`approvals` in the Hermes hook allowlist is not a list");
    };
    let ours = |e: &Value| {
        e.get("command")
            .and_then(Value::as_str)
            .is_some_and(|c| c.contains(crate::install::MARKER))
    };
    let wanted = |e: &Value| {
        entries.iter().any(|w| {
            e.get("event").and_then(Value::as_str) == Some(w.event.as_str())
                && e.get("command").and_then(Value::as_str) == Some(w.command.as_str())
        })
    };
    list.retain(|e| !ours(e) || (!uninstall && wanted(e)));
    if !uninstall {
        for w in entries {
            let present = list.iter().any(|e| {
                e.get("event").and_then(Value::as_str) == Some(w.event.as_str())
                    && e.get("command").and_then(Value::as_str) == Some(w.command.as_str())
            });
            if !present {
                list.push(json!({"event": w.event, "command": w.command}));
            }
        }
    }
    let mut out = serde_json::to_string_pretty(&doc)?;
    out.push('\n');
    Ok(out)
}

/// The guard plugin's files for the gating hook `command` and, with redaction on,
/// `redact_command`, as written to `plugins/dashclaw-guard/`.
pub fn plugin_files(command: &str, redact_command: Option<&str>) -> Vec<(&'static str, String)> {
    // A JSON string is a valid Python string literal; `None` switches that part off.
    let py = |c: Option<String>| {
        c.and_then(|c| serde_json::to_string(&c).ok())
            .unwrap_or_else(|| "None".into())
    };
    let pre = py(Some(format!("{command} hermes pre-tool-use")));
    let redact = py(redact_command.map(|c| format!("{c} hermes post-tool-use")));
    PLUGIN_FILES
        .iter()
        .map(|(name, text)| {
            let text = text
                .replace("@PRE_COMMAND@", &pre)
                .replace("@REDACT_COMMAND@", &redact);
            (*name, text)
        })
        .collect()
}

/// The hook commands an installed plugin runs, read back from its `__init__.py`: the gating
/// one (`PRE_COMMAND`, `None` when that is not our plugin) and the redacting one, if any.
pub fn plugin_commands(init_py: &str) -> Option<(String, Option<String>)> {
    let value = |key: &str, suffix: &str| -> Option<Option<String>> {
        let line = init_py.lines().find_map(|l| l.strip_prefix(key))?.trim();
        if line == "None" {
            return Some(None);
        }
        let command: String = serde_json::from_str(line).ok()?;
        Some(command.strip_suffix(suffix).map(str::to_owned))
    };
    let pre = value("PRE_COMMAND = ", " hermes pre-tool-use")??;
    let redact = value("REDACT_COMMAND = ", " hermes post-tool-use")?;
    Some((pre, redact))
}

/// Removes our plugin files from `dir` (and `dir` if that empties it).
fn remove_plugin(dir: &Path, dry_run: bool) -> Result<()> {
    for (name, _) in PLUGIN_FILES {
        let p = dir.join(name);
        if p.exists() {
            if dry_run {
                println!("would remove {}", p.display());
            } else {
                std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
            }
        }
    }
    if !dry_run {
        // Only if empty: Python may have left __pycache__, which goes with it.
        let _ = std::fs::remove_dir_all(dir.join("__pycache__"));
        let _ = std::fs::remove_dir(dir);
    }
    Ok(())
}

/// Writes the guard plugin beside `config` (removes it on uninstall).
fn sync_plugin(
    config: &Path,
    command: &str,
    redact_command: Option<&str>,
    args: &InstallArgs,
) -> Result<()> {
    let plugins = config
        .parent()
        .context("the config file has no directory")?
        .join("plugins");
    let dir = plugins.join(PLUGIN_NAME);
    let legacy = plugins.join(LEGACY_PLUGIN_NAME);
    if legacy.join("__init__.py").is_file() {
        remove_plugin(&legacy, args.dry_run)?;
    }
    match (!args.uninstall).then_some(command) {
        Some(cmd) => {
            for (name, text) in plugin_files(cmd, redact_command) {
                let p = dir.join(name);
                let original = read_optional(&p)?;
                if args.dry_run {
                    commit(&p, original.as_deref(), &text, true)?;
                } else if original.as_deref() != Some(text.as_str()) {
                    // Our own file: no backup, so uninstall leaves an empty directory.
                    crate::install::write_atomic(&p, text.as_bytes())?;
                }
            }
            if !args.dry_run {
                println!(
                    "guard plugin in {}{}",
                    dir.display(),
                    if redact_command.is_some() {
                        " (with tool-result redaction)"
                    } else {
                        ""
                    }
                );
            }
        }
        None => remove_plugin(&dir, args.dry_run)?,
    }
    Ok(())
}

pub(crate) fn run(args: &InstallArgs) -> Result<ExitCode> {
    let path = match &args.settings {
        Some(p) => std::path::absolute(p)?,
        None if args.scope == Scope::User => config_path_default()?,
        None => bail!("Hermes has only a user configuration; pass --config FILE for another one"),
    };
    let hook_bin = crate::install::hook_bin(args)?;
    let command = hermes_command(&hook_bin, &[]);
    let redact = std::env::var("DASHCLAW_REDACT_TOOL_RESULTS").is_ok_and(|v| v.trim() == "1");
    let redact_command =
        redact.then(|| hermes_command(&hook_bin, &[("DASHCLAW_REDACT_TOOL_RESULTS", "1")]));
    let allow_path = path
        .parent()
        .map(|d| d.join(ALLOWLIST))
        .context("the config file has no directory")?;

    // Work out both files before writing either.
    let original = read_optional(&path)?;
    let text = edit_hermes_config(
        original.as_deref().unwrap_or(""),
        &command,
        redact_command.as_deref(),
        args.uninstall,
    )
    .with_context(|| format!("{} (nothing was changed)", path.display()))?;
    let allow_original = read_optional(&allow_path)?;
    let entries = expected_entries(&command, redact_command.as_deref());
    let allow_text = if args.uninstall && allow_original.is_none() {
        None
    } else {
        Some(
            edit_allowlist(allow_original.as_deref(), &entries, args.uninstall)
                .with_context(|| format!("{} (nothing was changed)", allow_path.display()))?,
        )
    };

    let outcome = commit(&path, original.as_deref(), &text, args.dry_run)?;
    report(&outcome, &path, args.uninstall);
    crate::install::mcp::register(crate::install::mcp::McpAgent::Hermes, &path, args)?;
    sync_plugin(&path, &command, redact_command.as_deref(), args)?;
    if let Some(allow_text) = allow_text {
        // An allowlist that only holds what we added goes away with us.
        let empty =
            serde_json::from_str::<Value>(&allow_text).is_ok_and(|v| v == json!({"approvals": []}));
        if args.uninstall && empty && !args.dry_run && allow_original.is_some() {
            let backup = crate::install::sibling(&allow_path, ".dashclaw-backup");
            if !backup.exists() {
                std::fs::remove_file(&allow_path)
                    .with_context(|| format!("removing {}", allow_path.display()))?;
                println!("removed {}", allow_path.display());
                return Ok(ExitCode::SUCCESS);
            }
        }
        let outcome = commit(
            &allow_path,
            allow_original.as_deref(),
            &allow_text,
            args.dry_run,
        )?;
        if !args.dry_run {
            match outcome {
                crate::install::Outcome::Written if args.uninstall => {
                    println!(
                        "removed the DashClaw hook approvals from {}",
                        allow_path.display()
                    )
                }
                crate::install::Outcome::Written => println!(
                    "approved the DashClaw hooks in {} (so headless runs do not skip them)",
                    allow_path.display()
                ),
                _ => {}
            }
        }
    }
    if !args.uninstall && !args.dry_run {
        println!(
            "check with `hermes hooks list` / `hermes hooks doctor` and `dashclawd doctor --hermes-config {}`",
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
