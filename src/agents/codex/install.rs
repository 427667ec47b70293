//! `dashclawd install codex`: hook tables in Codex's `config.toml` (agent-hooks.md §2.1, §2.4).
//!
//! The file is edited with `toml_edit`, so comments, ordering and unrelated settings survive.
//! Our groups are recognised by their `dashclaw-hook` command and replaced in place, which keeps
//! the positional trust keys (`<file>:<event>:<group>:<handler>`) of everyone else's hooks stable.
//!
//! Codex silently skips an untrusted user or project hook, so installing is not enough: for
//! those scopes we ask `codex app-server` (`hooks/list`) for each hook's current hash, persist it
//! as `[hooks.state."<key>"] trusted_hash`, and list again to prove every hook is trusted and
//! enabled. The managed layer (`/etc/codex/config.toml`) needs no trust.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::{json, Value};
use toml_edit::{DocumentMut, Item, Table};

use crate::install::{
    commit, home_dir, hook_command, read_optional, report, InstallArgs, Scope, MARKER,
};

/// Our hook groups per event, `@HOOK@` standing for the command.
pub const TEMPLATE: &str = include_str!("../../../hooks/codex/hooks.toml");
/// The system layer Codex treats as managed (trusted without hashes).
pub const MANAGED_CONFIG: &str = "/etc/codex/config.toml";
/// How long `codex app-server` may take to answer `hooks/list`.
const APP_SERVER_TIMEOUT: Duration = Duration::from_secs(60);
/// Marks a `[features] hooks` value we wrote, so uninstall can put back what was there.
const FEATURE_ADDED: &str = " # added by dashclaw";
const FEATURE_WAS_FALSE: &str = " # dashclaw: was false";

/// One handler we expect in the file, as `hooks/list` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    /// PascalCase, as in the TOML (`PreToolUse`).
    pub event: String,
    pub matcher: Option<String>,
    pub command: String,
    pub timeout: i64,
}

/// The handlers the template yields for `command`, in template order.
pub fn expected_hooks(command: &str) -> Vec<Expected> {
    let Ok(doc) = TEMPLATE.parse::<DocumentMut>() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (event, item) in doc.iter() {
        for group in item.as_array_of_tables().into_iter().flatten() {
            let matcher = group
                .get("matcher")
                .and_then(Item::as_str)
                .map(str::to_owned);
            for h in group
                .get("hooks")
                .and_then(Item::as_array_of_tables)
                .into_iter()
                .flatten()
            {
                out.push(Expected {
                    event: event.to_owned(),
                    matcher: matcher.clone(),
                    command: h
                        .get("command")
                        .and_then(Item::as_str)
                        .unwrap_or_default()
                        .replace("@HOOK@", command),
                    timeout: h.get("timeout").and_then(Item::as_integer).unwrap_or(600),
                });
            }
        }
    }
    out
}

/// The config file of a scope.
pub fn config_path(scope: Scope) -> Result<PathBuf> {
    Ok(match scope {
        Scope::User => codex_home()?.join("config.toml"),
        Scope::Project => std::env::current_dir()?.join(".codex").join("config.toml"),
        Scope::Managed => PathBuf::from(MANAGED_CONFIG),
    })
}

/// `$CODEX_HOME`, else `~/.codex`.
pub fn codex_home() -> Result<PathBuf> {
    match std::env::var_os("CODEX_HOME").filter(|h| !h.is_empty()) {
        Some(h) => Ok(PathBuf::from(h)),
        None => Ok(home_dir()?.join(".codex")),
    }
}

pub(crate) fn run(args: &InstallArgs) -> Result<ExitCode> {
    let path = match &args.settings {
        Some(p) => std::path::absolute(p)?,
        None => config_path(args.scope)?,
    };
    let source = path.to_string_lossy().into_owned();
    let command = hook_command(&crate::install::hook_bin(args)?);
    let original = read_optional(&path)?;
    let text = edit_codex_config(
        original.as_deref().unwrap_or(""),
        &command,
        &source,
        args.uninstall,
    )
    .with_context(|| format!("{} (nothing was changed)", path.display()))?;
    let outcome = commit(&path, original.as_deref(), &text, args.dry_run)?;
    report(&outcome, &path, args.uninstall);
    crate::install::mcp::register(crate::install::mcp::McpAgent::Codex, &path, args)?;
    // Codex keeps the trust of a project's hooks in the user's config (a project cannot trust
    // itself), so that is where ours go, and where uninstall takes them from.
    let trust_path = match args.scope {
        Scope::Project => config_path(Scope::User)?,
        _ => path.clone(),
    };
    if args.uninstall {
        if args.scope == Scope::Project && !args.dry_run {
            if let Some(user) = read_optional(&trust_path)? {
                let kept = remove_trust_for_source(&user, &source)?;
                if kept != user {
                    crate::install::write_atomic(&trust_path, kept.as_bytes())?;
                    println!(
                        "removed the DashClaw hook trust from {}",
                        trust_path.display()
                    );
                }
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let managed = args.scope == Scope::Managed;
    if args.dry_run {
        if !managed {
            println!("(then: trust the hooks through `codex app-server` hooks/list and verify)");
        }
        return Ok(ExitCode::SUCCESS);
    }

    let expected = expected_hooks(&command);
    let codex = match find_codex(args.codex_bin.as_deref()) {
        Some(c) => c,
        None if managed => {
            println!(
                "codex not found on PATH: could not verify the hooks (the managed layer needs no trust)"
            );
            return Ok(ExitCode::SUCCESS);
        }
        None => {
            loud(&[
                format!("the hooks were written to {source} but are NOT ACTIVE:"),
                "Codex silently skips untrusted hooks, and trusting them needs the codex binary,"
                    .into(),
                "which is not on PATH. Re-run with --codex-bin /path/to/codex, or install into the"
                    .into(),
                "managed layer with --scope managed (as root).".into(),
            ]);
            return Ok(ExitCode::FAILURE);
        }
    };
    let env = AppServerEnv::for_config(&path, args.scope)?;
    let listed = list_hooks(&codex, &env)
        .with_context(|| format!("asking {} for its hooks", codex.display()))?;
    if !managed {
        let trust = to_trust(&listed, &expected, &source);
        if !trust.is_empty() {
            let current = read_optional(&trust_path)?.unwrap_or_default();
            let trusted = set_trusted_hashes(&current, &trust)?;
            crate::install::write_atomic(&trust_path, trusted.as_bytes())?;
            println!(
                "trusted {} DashClaw hook(s) of {} in {}",
                trust.len(),
                source,
                trust_path.display()
            );
        }
    }
    let listed = list_hooks(&codex, &env)?;
    let problems = verify(&listed, &expected, &source);
    if !problems.is_empty() {
        let mut lines = vec![format!(
            "the DashClaw hooks in {source} are NOT ACTIVE in Codex ({}):",
            codex.display()
        )];
        lines.extend(problems.into_iter().map(|p| format!("  - {p}")));
        if args.scope == Scope::Project {
            lines.push(format!(
                "Codex reads a project's .codex/config.toml only once you trust the project \
                 (`[projects.\"{}\"] trust_level = \"trusted\"` in {}; codex asks on first run).",
                env.cwd.display(),
                trust_path.display()
            ));
        }
        lines.push(
            "tool calls are NOT governed until this is fixed; `dashclawd doctor` re-checks.".into(),
        );
        loud(&lines);
        return Ok(ExitCode::FAILURE);
    }
    println!(
        "verified: Codex reports all {} DashClaw hooks {}",
        expected.len(),
        if managed { "managed" } else { "trusted" }
    );
    Ok(ExitCode::SUCCESS)
}

fn loud(lines: &[String]) {
    eprintln!("dashclawd: ERROR ===============================================================");
    for l in lines {
        eprintln!("dashclawd: {l}");
    }
    eprintln!("dashclawd: =====================================================================");
}

/// `PreToolUse` → `pre_tool_use`, as in trust keys.
pub fn snake(event: &str) -> String {
    let mut out = String::new();
    for (i, c) in event.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `PreToolUse` → `preToolUse`, as `hooks/list` names events.
pub fn camel(event: &str) -> String {
    let mut c = event.chars();
    match c.next() {
        Some(f) => f.to_ascii_lowercase().to_string() + c.as_str(),
        None => String::new(),
    }
}

fn is_ours(handler: &Table) -> bool {
    handler
        .get("command")
        .and_then(Item::as_str)
        .is_some_and(|c| c.contains(MARKER))
}

/// Adds (or with `uninstall` removes) our hook groups in `text`, a Codex `config.toml`.
/// `source` is the file's absolute path, which Codex uses in trust keys.
pub fn edit_codex_config(
    text: &str,
    command: &str,
    source: &str,
    uninstall: bool,
) -> Result<String> {
    let mut doc: DocumentMut = text.parse().context("not valid TOML; fix it first")?;
    let template: DocumentMut = TEMPLATE.parse().context("hooks/codex/hooks.toml")?;
    let events: Vec<String> = template.iter().map(|(k, _)| k.to_owned()).collect();

    if !doc.contains_key("hooks") {
        if uninstall {
            return Ok(restore_feature(doc, uninstall));
        }
        let mut t = Table::new();
        t.set_implicit(true);
        doc.insert("hooks", Item::Table(t));
    }
    let hooks = doc["hooks"]
        .as_table_mut()
        .context("`hooks` must be a table")?;
    // Trust-key renames caused by removing groups: (old key prefix, new key prefix).
    let mut rekeys: Vec<(String, Option<String>)> = Vec::new();

    for event in &events {
        let want = template[event.as_str()]
            .as_array_of_tables()
            .cloned()
            .unwrap_or_default();
        let mut want = want;
        for group in want.iter_mut() {
            // Template comments and positions stay in the template: inserted tables go after
            // their siblings, with one blank line before each group.
            group.decor_mut().clear();
            group.decor_mut().set_prefix("\n");
            group.set_position(None);
            if let Some(handlers) = group
                .get_mut("hooks")
                .and_then(Item::as_array_of_tables_mut)
            {
                for h in handlers.iter_mut() {
                    h.decor_mut().clear();
                    h.decor_mut().set_prefix("");
                    h.set_position(None);
                    let cmd = h
                        .get("command")
                        .and_then(Item::as_str)
                        .unwrap_or_default()
                        .replace("@HOOK@", command);
                    h["command"] = toml_edit::value(cmd);
                }
            }
        }
        if !hooks.contains_key(event) {
            if !uninstall {
                hooks.insert(event, Item::ArrayOfTables(want));
            }
            continue;
        }
        let groups = hooks[event.as_str()]
            .as_array_of_tables_mut()
            .with_context(|| {
                format!("`hooks.{event}` must be an array of tables ([[hooks.{event}]])")
            })?;
        let snake_event = snake(event);
        // Walk back to front so removals do not shift the indices still to visit.
        let mut kept_ours = None;
        let mut remove = Vec::new();
        for gi in (0..groups.len()).rev() {
            let Some(group) = groups.get_mut(gi) else {
                continue;
            };
            let Some(handlers) = group
                .get_mut("hooks")
                .and_then(Item::as_array_of_tables_mut)
            else {
                continue;
            };
            let ours: Vec<usize> = (0..handlers.len())
                .filter(|&hi| handlers.get(hi).is_some_and(is_ours))
                .collect();
            if ours.is_empty() {
                continue;
            }
            if ours.len() == handlers.len() && !uninstall && kept_ours.is_none() {
                kept_ours = Some(gi);
                continue;
            }
            for &hi in ours.iter().rev() {
                handlers.remove(hi);
                rekeys.push((format!("{source}:{snake_event}:{gi}:{hi}"), None));
            }
            if handlers.is_empty() {
                remove.push(gi);
            }
        }
        // `kept_ours` is the first all-ours group (the walk is backwards, the last hit wins).
        for &gi in &remove {
            groups.remove(gi);
            let later = groups.len() + 1;
            for g in gi + 1..later {
                rekeys.push((
                    format!("{source}:{snake_event}:{g}:"),
                    Some(format!("{source}:{snake_event}:{}:", g - 1)),
                ));
            }
        }
        if !uninstall {
            let desired = want.get(0).cloned().unwrap_or_default();
            match kept_ours {
                Some(gi) => {
                    let idx = gi - remove.iter().filter(|&&r| r < gi).count();
                    if let Some(existing) = groups.get_mut(idx) {
                        if !same_group(existing, &desired) {
                            *existing = desired;
                        }
                    }
                }
                None => groups.push(desired),
            }
        }
        if groups.is_empty() {
            hooks.remove(event);
        }
    }
    apply_rekeys(hooks, &rekeys);
    if hooks.is_empty() {
        doc.remove("hooks");
    }
    let out = restore_feature(doc, uninstall);
    // A new file starts with its first table, not with the blank line that separates groups.
    Ok(if text.trim().is_empty() {
        out.trim_start().to_owned()
    } else {
        out
    })
}

/// Whether a group already says what the template says (so an unchanged file stays byte-equal).
fn same_group(a: &Table, b: &Table) -> bool {
    let norm = |t: &Table| -> Value {
        let handlers: Vec<Value> = t
            .get("hooks")
            .and_then(Item::as_array_of_tables)
            .into_iter()
            .flatten()
            .map(|h| {
                json!({
                    "type": h.get("type").and_then(Item::as_str),
                    "command": h.get("command").and_then(Item::as_str),
                    "timeout": h.get("timeout").and_then(Item::as_integer),
                    "keys": h.len(),
                })
            })
            .collect();
        json!({
            "matcher": t.get("matcher").and_then(Item::as_str),
            "keys": t.len(),
            "hooks": handlers,
        })
    };
    norm(a) == norm(b)
}

/// Drops the trust entries of removed handlers and renumbers those of groups that moved up.
fn apply_rekeys(hooks: &mut Table, rekeys: &[(String, Option<String>)]) {
    if rekeys.is_empty() {
        return;
    }
    let Some(state) = hooks.get_mut("state").and_then(Item::as_table_like_mut) else {
        return;
    };
    for (old, new) in rekeys {
        let keys: Vec<String> = state.iter().map(|(k, _)| k.to_owned()).collect();
        match new {
            None => {
                state.remove(old);
            }
            Some(new) => {
                for k in keys.iter().filter(|k| k.starts_with(old.as_str())) {
                    if let Some(item) = state.remove(k) {
                        let renamed = format!("{new}{}", &k[old.len()..]);
                        state.insert(&renamed, item);
                    }
                }
            }
        }
    }
    if state.is_empty() {
        hooks.remove("state");
    }
}

/// `[features] hooks = true` on install; on uninstall, what was there before.
fn restore_feature(mut doc: DocumentMut, uninstall: bool) -> String {
    let marker = |item: &Item| -> Option<String> {
        item.as_value()
            .and_then(|v| v.decor().suffix())
            .and_then(|s| s.as_str())
            .map(str::to_owned)
    };
    if uninstall {
        if let Some(features) = doc.get_mut("features").and_then(Item::as_table_like_mut) {
            match features.get("hooks").and_then(marker).as_deref() {
                Some(FEATURE_ADDED) => {
                    features.remove("hooks");
                }
                Some(FEATURE_WAS_FALSE) => {
                    features.insert("hooks", toml_edit::value(false));
                }
                _ => {}
            }
            if features.is_empty() {
                doc.remove("features");
            }
        }
        return doc.to_string();
    }
    if !doc.contains_key("features") {
        doc.insert("features", Item::Table(Table::new()));
    }
    if let Some(features) = doc["features"].as_table_like_mut() {
        let (on, was) = match features.get("hooks") {
            None => (false, FEATURE_ADDED),
            Some(v) => (v.as_bool() == Some(true), FEATURE_WAS_FALSE),
        };
        if !on {
            let mut v = toml_edit::Value::from(true);
            v.decor_mut().set_suffix(was);
            features.insert("hooks", Item::Value(v));
        }
    }
    // A `features = { ... }` inline table or a non-table `features` is left alone: Codex
    // enables hooks by default, and the verification below catches a disabled feature.
    doc.to_string()
}

/// Drops every `[hooks.state."<source>:…"]` entry (the trust of the hooks in `source`).
pub fn remove_trust_for_source(text: &str, source: &str) -> Result<String> {
    let mut doc: DocumentMut = text.parse().context("not valid TOML")?;
    let prefix = format!("{source}:");
    if let Some(hooks) = doc.get_mut("hooks").and_then(Item::as_table_mut) {
        if let Some(state) = hooks.get_mut("state").and_then(Item::as_table_like_mut) {
            let ours: Vec<String> = state
                .iter()
                .map(|(k, _)| k.to_owned())
                .filter(|k| k.starts_with(&prefix))
                .collect();
            for k in ours {
                state.remove(&k);
            }
            if state.is_empty() {
                hooks.remove("state");
            }
        }
        if hooks.is_empty() {
            doc.remove("hooks");
        }
    }
    Ok(doc.to_string())
}

/// Sets `[hooks.state."<key>"] trusted_hash = "<hash>"` for each entry, keeping the rest.
pub fn set_trusted_hashes(text: &str, entries: &[(String, String)]) -> Result<String> {
    let mut doc: DocumentMut = text.parse().context("not valid TOML")?;
    let hooks = doc
        .entry("hooks")
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_mut()
        .context("`hooks` must be a table")?;
    let state = hooks
        .entry("state")
        .or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        })
        .as_table_like_mut()
        .context("`hooks.state` must be a table")?;
    for (key, hash) in entries {
        if !state.contains_key(key) {
            state.insert(key, Item::Table(Table::new()));
        }
        let entry = state
            .get_mut(key)
            .and_then(Item::as_table_like_mut)
            .with_context(|| format!("`hooks.state.\"{key}\"` must be a table"))?;
        entry.insert("trusted_hash", toml_edit::value(hash.as_str()));
    }
    Ok(doc.to_string())
}

/// One hook as `codex app-server` `hooks/list` reports it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListedHook {
    pub key: String,
    pub event_name: String,
    pub command: String,
    pub matcher: Option<String>,
    pub timeout_sec: Option<i64>,
    pub source_path: String,
    pub current_hash: String,
    pub trust_status: String,
    pub enabled: bool,
}

impl ListedHook {
    fn from_json(v: &Value) -> ListedHook {
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        ListedHook {
            key: s("key"),
            event_name: s("eventName"),
            command: s("command"),
            matcher: v["matcher"].as_str().map(str::to_owned),
            timeout_sec: v["timeoutSec"].as_i64(),
            source_path: s("sourcePath"),
            current_hash: s("currentHash"),
            trust_status: s("trustStatus"),
            enabled: v["enabled"].as_bool().unwrap_or(false),
        }
    }

    pub fn active(&self) -> bool {
        self.enabled && matches!(self.trust_status.as_str(), "trusted" | "managed")
    }
}

/// Parses a `hooks/list` result (`result.data[].hooks[]`).
pub fn parse_hooks_list(result: &Value) -> Vec<ListedHook> {
    result["data"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|d| d["hooks"].as_array().into_iter().flatten())
        .map(ListedHook::from_json)
        .collect()
}

fn same_file(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

fn matches_expected(h: &ListedHook, e: &Expected, source: &str) -> bool {
    h.event_name == camel(&e.event)
        && h.command == e.command
        && same_file(&h.source_path, source)
        && h.matcher.as_deref().filter(|m| !m.is_empty()) == e.matcher.as_deref()
}

/// The `(key, hash)` pairs to trust: exactly our handlers, exactly as the template wrote them
/// (a hand-edited entry is not trusted behind the user's back).
pub fn to_trust(
    listed: &[ListedHook],
    expected: &[Expected],
    source: &str,
) -> Vec<(String, String)> {
    listed
        .iter()
        .filter(|h| h.trust_status != "trusted" && h.trust_status != "managed")
        .filter(|h| !h.current_hash.is_empty() && !h.key.is_empty())
        .filter(|h| {
            expected
                .iter()
                .any(|e| matches_expected(h, e, source) && h.timeout_sec == Some(e.timeout))
        })
        .map(|h| (h.key.clone(), h.current_hash.clone()))
        .collect()
}

/// What keeps our hooks from running, one line each; empty when every one is active.
pub fn verify(listed: &[ListedHook], expected: &[Expected], source: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for e in expected {
        match listed.iter().find(|h| matches_expected(h, e, source)) {
            None => problems.push(format!(
                "{}: Codex does not list the hook `{}` from {source}",
                e.event, e.command
            )),
            Some(h) if !h.enabled => problems.push(format!(
                "{}: disabled ([hooks.state.\"{}\"] enabled = false)",
                e.event, h.key
            )),
            Some(h) if !h.active() => problems.push(format!(
                "{}: trust status is `{}`, so Codex skips it without a word",
                e.event, h.trust_status
            )),
            Some(h) if h.timeout_sec.is_some_and(|t| t < e.timeout) => problems.push(format!(
                "{}: timeout {}s is below {}s",
                e.event,
                h.timeout_sec.unwrap_or_default(),
                e.timeout
            )),
            Some(_) => {}
        }
    }
    problems
}

/// The environment `codex app-server` needs to see the same layers the user's Codex sees.
#[derive(Debug, Clone)]
pub struct AppServerEnv {
    pub codex_home: Option<PathBuf>,
    pub cwd: PathBuf,
}

impl AppServerEnv {
    /// For a user config, `CODEX_HOME` is the file's directory (so `--config` works for any
    /// home); for a project config, the session cwd is the project.
    pub fn for_config(path: &Path, scope: Scope) -> Result<AppServerEnv> {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Ok(match scope {
            Scope::User if path.file_name().is_some_and(|n| n == "config.toml") => AppServerEnv {
                codex_home: Some(dir),
                cwd: std::env::current_dir()?,
            },
            Scope::Project => AppServerEnv {
                codex_home: None,
                cwd: dir.parent().map(Path::to_path_buf).unwrap_or(dir),
            },
            _ => AppServerEnv {
                codex_home: None,
                cwd: std::env::current_dir()?,
            },
        })
    }
}

/// `codex` from `--codex-bin`, else the first one on PATH.
pub fn find_codex(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return p.is_file().then(|| p.to_path_buf());
    }
    find_on_path("codex")
}

pub fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Asks `codex app-server` (JSON-RPC, one object per line) for the hooks it would run.
pub fn list_hooks(codex: &Path, env: &AppServerEnv) -> Result<Vec<ListedHook>> {
    let mut cmd = Command::new(codex);
    cmd.arg("app-server")
        .current_dir(&env.cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(h) = &env.codex_home {
        cmd.env("CODEX_HOME", h);
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {} app-server", codex.display()))?;
    let cwd = env.cwd.to_string_lossy();
    let requests = [
        json!({"id": 1, "method": "initialize", "params": {"clientInfo": {"name": "dashclawd", "version": env!("CARGO_PKG_VERSION")}}}),
        json!({"method": "initialized"}),
        json!({"id": 2, "method": "hooks/list", "params": {"cwds": [cwd]}}),
    ];
    let mut stdin = child.stdin.take().context("app-server stdin")?;
    let stdout = child.stdout.take().context("app-server stdout")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut answer = Err(anyhow::anyhow!(
        "codex app-server ended without answering hooks/list"
    ));
    for r in &requests {
        if writeln!(stdin, "{r}").is_err() {
            break;
        }
    }
    let _ = stdin.flush();
    let started = Instant::now();
    loop {
        let left = APP_SERVER_TIMEOUT.saturating_sub(started.elapsed());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let Ok(v) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if v["id"] != 2 {
                    continue;
                }
                answer = match v.get("error") {
                    Some(err) => Err(anyhow::anyhow!("hooks/list failed: {err}")),
                    None => Ok(parse_hooks_list(&v["result"])),
                };
                break;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                answer = Err(anyhow::anyhow!(
                    "codex app-server did not answer hooks/list within {APP_SERVER_TIMEOUT:?}"
                ));
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: &str = "/h/.codex/config.toml";
    const CMD: &str = "/opt/dc/dashclaw-hook";

    #[test]
    fn names() {
        assert_eq!(snake("PreToolUse"), "pre_tool_use");
        assert_eq!(camel("UserPromptSubmit"), "userPromptSubmit");
    }

    #[test]
    fn template_has_every_event_with_second_timeouts() {
        let e = expected_hooks(CMD);
        let events: Vec<_> = e.iter().map(|e| e.event.as_str()).collect();
        assert_eq!(
            events,
            [
                "PreToolUse",
                "PostToolUse",
                "Stop",
                "SessionStart",
                "UserPromptSubmit"
            ]
        );
        assert_eq!(e[0].command, "/opt/dc/dashclaw-hook codex pre-tool-use");
        assert_eq!(e[0].matcher.as_deref(), Some("Bash|apply_patch|mcp__.*"));
        assert!(e[0].timeout >= 3610 && e[0].timeout < 86_400);
    }

    #[test]
    fn removing_a_group_renumbers_later_trust_keys() {
        let text = format!(
            "[[hooks.PreToolUse]]\nmatcher = \"Bash\"\n[[hooks.PreToolUse.hooks]]\ntype = \"command\"\ncommand = \"{CMD} codex pre-tool-use\"\n\n\
             [[hooks.PreToolUse]]\nmatcher = \"Bash\"\n[[hooks.PreToolUse.hooks]]\ntype = \"command\"\ncommand = \"/usr/bin/mine\"\n\n\
             [hooks.state.\"{SRC}:pre_tool_use:0:0\"]\ntrusted_hash = \"sha256:ours\"\n\n\
             [hooks.state.\"{SRC}:pre_tool_use:1:0\"]\ntrusted_hash = \"sha256:mine\"\n"
        );
        let out = edit_codex_config(&text, CMD, SRC, true).unwrap();
        assert!(!out.contains("sha256:ours"), "{out}");
        assert!(
            out.contains(&format!(
                "\"{SRC}:pre_tool_use:0:0\"]\ntrusted_hash = \"sha256:mine\""
            )),
            "{out}"
        );
        assert!(out.contains("/usr/bin/mine"));
    }

    #[test]
    fn trust_only_our_exact_entries() {
        let e = expected_hooks(CMD);
        let mut ours = ListedHook {
            key: format!("{SRC}:pre_tool_use:0:0"),
            event_name: "preToolUse".into(),
            command: e[0].command.clone(),
            matcher: e[0].matcher.clone(),
            timeout_sec: Some(e[0].timeout),
            source_path: SRC.into(),
            current_hash: "sha256:abc".into(),
            trust_status: "untrusted".into(),
            enabled: true,
        };
        let tampered = ListedHook {
            command: "/tmp/evil dashclaw-hook".into(),
            key: format!("{SRC}:pre_tool_use:1:0"),
            ..ours.clone()
        };
        let t = to_trust(&[ours.clone(), tampered], &e, SRC);
        assert_eq!(t, vec![(ours.key.clone(), "sha256:abc".to_string())]);
        let problems = verify(&[ours.clone()], &e, SRC);
        assert_eq!(problems.len(), e.len(), "{problems:?}");
        ours.trust_status = "trusted".into();
        assert_eq!(verify(&[ours], &e, SRC).len(), e.len() - 1);
    }

    #[test]
    fn set_trusted_hashes_adds_state_tables() {
        let out = set_trusted_hashes(
            "# mine\nmodel = \"x\"\n",
            &[(format!("{SRC}:stop:0:0"), "sha256:1".into())],
        )
        .unwrap();
        assert!(out.starts_with("# mine\nmodel = \"x\"\n"), "{out}");
        assert!(
            out.contains(&format!(
                "[hooks.state.\"{SRC}:stop:0:0\"]\ntrusted_hash = \"sha256:1\""
            )),
            "{out}"
        );
    }

    #[test]
    fn parse_a_hooks_list_answer() {
        let v: Value = serde_json::from_str(r#"{"data":[{"cwd":"/w","hooks":[{"key":"k","eventName":"preToolUse","command":"c","matcher":null,"timeoutSec":30,"sourcePath":"/s","currentHash":"sha256:x","trustStatus":"untrusted","enabled":true}]}]}"#).unwrap();
        let l = parse_hooks_list(&v);
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].timeout_sec, Some(30));
        assert!(!l[0].active());
        assert!(parse_hooks_list(&json!("garbage")).is_empty());
    }
}
