//! Registers `dashclawd mcp` as the `dashclaw` MCP server in an agent's MCP configuration,
//! beside its hooks: Claude Code (`~/.claude.json` `mcpServers`, a project's `.mcp.json`, or
//! the managed `managed-mcp.json`), Codex (`[mcp_servers.dashclaw]` in config.toml) and Hermes
//! (`mcp_servers:` in config.yaml, a marker-delimited entry). Idempotent, uninstallable, with
//! the same backup and `--dry-run` rules as the hooks; `--no-mcp` skips it.
//!
//! An existing `dashclaw` entry (the upstream `@dashclaw/mcp-server`) is replaced: both serve
//! the same tool names, and two servers of one name cannot coexist.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};

use super::{commit, home_dir, read_optional, InstallArgs, Outcome, Scope};

/// The server's name in every agent's configuration (tools appear as `mcp__dashclaw__…`).
pub const SERVER_NAME: &str = "dashclaw";
/// Hermes: the lines around our entry.
pub const HERMES_BEGIN: &str = "# >>> dashclaw mcp (managed) >>>";
pub const HERMES_END: &str = "# <<< dashclaw mcp <<<";

/// Which agent's MCP configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McpAgent {
    Claude,
    Codex,
    Hermes,
}

/// What the agent runs: this `dashclawd`, `mcp`, and the DashClaw home when one is set.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerCommand {
    pub command: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

impl ServerCommand {
    pub fn current() -> Result<ServerCommand> {
        let exe = std::env::current_exe().context("locating dashclawd")?;
        let env = std::env::var("DASHCLAW_HOME")
            .ok()
            .filter(|h| !h.is_empty())
            .map(|h| vec![("DASHCLAW_HOME".to_owned(), h)])
            .unwrap_or_default();
        Ok(ServerCommand {
            command: exe.to_string_lossy().into_owned(),
            args: vec!["mcp".into()],
            env,
        })
    }

    fn env_json(&self) -> Value {
        Value::Object(
            self.env
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect(),
        )
    }
}

/// Whether a configured command is ours (a `dashclawd … mcp`), so uninstall leaves others alone.
pub fn is_ours(command: &str, args: &[String]) -> bool {
    Path::new(command)
        .file_name()
        .is_some_and(|n| n == "dashclawd")
        && args.first().map(String::as_str) == Some("mcp")
}

/// The MCP configuration file for Claude Code: `~/.claude.json` (or `$CLAUDE_CONFIG_DIR`'s) for
/// the user, `.mcp.json` in the project, `managed-mcp.json` for the managed layer; with an
/// explicit settings file, the `.claude.json` beside it.
pub fn claude_mcp_path(scope: Scope, settings: Option<&Path>) -> Result<PathBuf> {
    if let Some(s) = settings {
        let dir = s.parent().unwrap_or(Path::new("."));
        return Ok(std::path::absolute(dir)?.join(".claude.json"));
    }
    Ok(match scope {
        Scope::User => match std::env::var_os("CLAUDE_CONFIG_DIR").filter(|d| !d.is_empty()) {
            Some(dir) => PathBuf::from(dir).join(".claude.json"),
            None => home_dir()?.join(".claude.json"),
        },
        Scope::Project => std::env::current_dir()?.join(".mcp.json"),
        Scope::Managed => PathBuf::from("/etc/claude-code/managed-mcp.json"),
    })
}

/// The installers' one call: registers (or with `--uninstall` removes) the MCP server for
/// `agent`. `config` is the file the hooks went into (Codex and Hermes keep MCP there too).
pub(crate) fn register(agent: McpAgent, config: &Path, args: &InstallArgs) -> Result<()> {
    if args.no_mcp {
        return Ok(());
    }
    let cmd = ServerCommand::current()?;
    let path = match agent {
        McpAgent::Claude => claude_mcp_path(args.scope, args.settings.as_deref())?,
        McpAgent::Codex | McpAgent::Hermes => config.to_path_buf(),
    };
    let original = read_optional(&path)?;
    let old = original.as_deref().unwrap_or("");
    let new = match agent {
        McpAgent::Claude => edit_claude(old, &cmd, args.uninstall),
        McpAgent::Codex => edit_codex(old, &cmd, args.uninstall),
        McpAgent::Hermes => edit_hermes(old, &cmd, args.uninstall),
    }
    .with_context(|| format!("{} (the MCP server was not registered)", path.display()))?;
    // Claude Code gives `managed-mcp.json` exclusive control over MCP servers whenever it
    // exists, even empty: a managed file our uninstall leaves without servers is removed, or
    // every user's MCP servers would stop loading.
    let emptied = agent == McpAgent::Claude
        && args.uninstall
        && args.scope == Scope::Managed
        && serde_json::from_str::<Value>(&new).ok().is_some_and(|v| {
            v.get("mcpServers")
                .is_none_or(|m| m.as_object().is_some_and(|o| o.is_empty()))
        });
    if emptied && original.is_some() {
        if !args.dry_run {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
            println!("removed {} (no MCP servers left in it)", path.display());
        }
        return Ok(());
    }
    match commit(&path, original.as_deref(), &new, args.dry_run)? {
        Outcome::DryRun => {}
        Outcome::Unchanged => println!("{}: MCP server already up to date", path.display()),
        Outcome::Written => println!(
            "{} the `{SERVER_NAME}` MCP server ({} mcp) in {}",
            if args.uninstall {
                "removed"
            } else {
                "registered"
            },
            cmd.command,
            path.display()
        ),
    }
    Ok(())
}

/// Claude Code: `mcpServers.dashclaw` in a JSON file that may hold much else (`~/.claude.json`
/// is Claude Code's own state), every other key kept in order.
pub fn edit_claude(text: &str, cmd: &ServerCommand, uninstall: bool) -> Result<String> {
    let mut doc: Value = if text.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(text).context("not valid JSON; fix it first")?
    };
    let root = doc.as_object_mut().context("must be a JSON object")?;
    let servers = root
        .entry("mcpServers")
        .or_insert_with(|| Value::Object(Map::new()))
        .as_object_mut()
        .context("`mcpServers` must be an object")?;
    if uninstall {
        let ours = servers.get(SERVER_NAME).is_some_and(|e| {
            let args: Vec<String> = e["args"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            is_ours(e["command"].as_str().unwrap_or(""), &args)
        });
        if ours {
            servers.remove(SERVER_NAME);
        }
        if servers.is_empty() {
            root.remove("mcpServers");
        }
    } else {
        let mut entry = json!({"type": "stdio", "command": cmd.command, "args": cmd.args});
        if !cmd.env.is_empty() {
            entry["env"] = cmd.env_json();
        }
        servers.insert(SERVER_NAME.into(), entry);
    }
    if text.trim().is_empty() && doc.as_object().is_some_and(|o| o.is_empty()) {
        return Ok(String::new());
    }
    Ok(serde_json::to_string_pretty(&doc)? + "\n")
}

/// Codex: `[mcp_servers.dashclaw]` (comments and formatting elsewhere kept).
pub fn edit_codex(text: &str, cmd: &ServerCommand, uninstall: bool) -> Result<String> {
    use toml_edit::{value, Array, DocumentMut, InlineTable, Item, Table};
    let mut doc: DocumentMut = text.parse().context("not valid TOML; fix it first")?;
    if uninstall {
        let ours = doc
            .get("mcp_servers")
            .and_then(|s| s.get(SERVER_NAME))
            .is_some_and(|e| {
                let args: Vec<String> = e
                    .get("args")
                    .and_then(Item::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str())
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                is_ours(e.get("command").and_then(Item::as_str).unwrap_or(""), &args)
            });
        if ours {
            if let Some(t) = doc.get_mut("mcp_servers").and_then(Item::as_table_like_mut) {
                t.remove(SERVER_NAME);
                if t.is_empty() {
                    doc.remove("mcp_servers");
                }
            }
        }
        return Ok(doc.to_string());
    }
    if doc.get("mcp_servers").is_none() {
        let mut t = Table::new();
        t.set_implicit(true);
        doc.insert("mcp_servers", Item::Table(t));
    }
    let servers = doc["mcp_servers"]
        .as_table_like_mut()
        .context("`mcp_servers` must be a table")?;
    let mut entry = Table::new();
    entry.insert("command", value(cmd.command.as_str()));
    let mut args = Array::new();
    for a in &cmd.args {
        args.push(a.as_str());
    }
    entry.insert("args", value(args));
    if !cmd.env.is_empty() {
        let mut env = InlineTable::new();
        for (k, v) in &cmd.env {
            env.insert(k, v.as_str().into());
        }
        entry.insert("env", value(env));
    }
    servers.insert(SERVER_NAME, Item::Table(entry));
    Ok(doc.to_string())
}

/// Hermes: our entry between markers under the top-level `mcp_servers:` (added when absent);
/// every other byte of the file is kept.
pub fn edit_hermes(text: &str, cmd: &ServerCommand, uninstall: bool) -> Result<String> {
    // Drop our previous entry (markers included).
    let mut lines: Vec<&str> = Vec::new();
    let mut inside = false;
    let mut seen = 0;
    for line in text.lines() {
        let bare = line.trim();
        if bare == HERMES_BEGIN {
            if inside {
                bail!("the DashClaw MCP block is damaged (`{HERMES_BEGIN}` twice); fix or remove it by hand");
            }
            inside = true;
            seen += 1;
            continue;
        }
        if bare == HERMES_END {
            if !inside {
                bail!("the DashClaw MCP block is damaged (`{HERMES_END}` without its start); fix or remove it by hand");
            }
            inside = false;
            continue;
        }
        if !inside {
            lines.push(line);
        }
    }
    if inside || seen > 1 {
        bail!("the DashClaw MCP block is damaged (the markers `{HERMES_BEGIN}` and `{HERMES_END}` must appear once each, in that order); fix or remove it by hand");
    }
    // A server list emptied by the uninstall: drop a bare `mcp_servers:` we would leave behind
    // only if we had added it (it is inside our markers then, so it is gone already).
    let trailing_newline = text.ends_with('\n') || text.is_empty();
    if uninstall {
        let mut out = lines.join("\n");
        if trailing_newline && !out.is_empty() {
            out.push('\n');
        }
        if yaml_rust2::YamlLoader::load_from_str(&out).is_err() {
            bail!("removing the DashClaw MCP block would leave invalid YAML (entries were added inside it?); remove it by hand");
        }
        return Ok(out);
    }
    let key_line = lines.iter().position(|l| l.starts_with("mcp_servers:"));
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let entry = |indent: &str| -> Vec<String> {
        let mut e = vec![
            format!("{indent}{HERMES_BEGIN}"),
            format!("{indent}{SERVER_NAME}:"),
            format!("{indent}  command: {}", q(&cmd.command)),
            format!(
                "{indent}  args: [{}]",
                cmd.args.iter().map(|a| q(a)).collect::<Vec<_>>().join(", ")
            ),
        ];
        if !cmd.env.is_empty() {
            e.push(format!("{indent}  env:"));
            for (k, v) in &cmd.env {
                e.push(format!("{indent}    {k}: {}", q(v)));
            }
        }
        e.push(format!("{indent}{HERMES_END}"));
        e
    };
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    match key_line {
        None => {
            out.push(HERMES_BEGIN.to_owned());
            out.push("mcp_servers:".to_owned());
            let mut e = entry("  ");
            // The markers are already around the whole block.
            e.remove(0);
            e.pop();
            out.extend(e);
            out.push(HERMES_END.to_owned());
        }
        Some(i) => {
            let rest = lines[i]["mcp_servers:".len()..].trim();
            if !(rest.is_empty() || rest.starts_with('#')) {
                bail!("`mcp_servers:` is written inline ({rest}); turn it into an indented block to let the installer add DashClaw");
            }
            // The children's indentation, from the first child line.
            let indent = lines[i + 1..]
                .iter()
                .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                .map(|l| &l[..l.len() - l.trim_start().len()])
                .filter(|ind| !ind.is_empty())
                .unwrap_or("  ")
                .to_owned();
            if lines[i + 1..]
                .iter()
                .take_while(|l| {
                    l.trim().is_empty()
                        || l.starts_with(char::is_whitespace)
                        || l.trim_start().starts_with('#')
                })
                .any(|l| {
                    l.trim_start().starts_with(&format!("{SERVER_NAME}:"))
                        && l.starts_with(&indent)
                        && !l[indent.len()..].starts_with(char::is_whitespace)
                })
            {
                // Another `dashclaw` server (the upstream one) in the user's own lines: two of
                // one name would be invalid YAML, and editing their lines is theirs to do.
                bail!("mcp_servers already has a `{SERVER_NAME}` entry that is not ours; remove it (or run with --no-mcp) and install again");
            }
            let e = entry(&indent);
            out.splice(i + 1..i + 1, e);
        }
    }
    let mut s = out.join("\n");
    s.push('\n');
    // What we wrote must parse, and say what we mean.
    let docs = yaml_rust2::YamlLoader::load_from_str(&s).map_err(|e| {
        anyhow::anyhow!("the result would not be valid YAML ({e}); nothing was changed")
    })?;
    let got = docs.first().map(|d| {
        d["mcp_servers"][SERVER_NAME]["command"]
            .as_str()
            .map(str::to_owned)
    });
    if got.flatten().as_deref() != Some(cmd.command.as_str()) {
        bail!("could not add the DashClaw entry under mcp_servers; nothing was changed");
    }
    Ok(s)
}

/// The `dashclaw` MCP server an agent's configuration starts, if one is registered (any
/// command: `doctor` checks the upstream server too). `Err`: the file cannot be read as its
/// format.
pub fn configured(agent: McpAgent, path: &Path) -> Result<Option<ServerCommand>> {
    let Some(text) = read_optional(path)? else {
        return Ok(None);
    };
    let strings = |v: Option<&Value>| -> Vec<String> {
        v.and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let from_json = |e: &Value| -> Option<ServerCommand> {
        Some(ServerCommand {
            command: e.get("command")?.as_str()?.to_owned(),
            args: strings(e.get("args")),
            env: e
                .get("env")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                        .collect()
                })
                .unwrap_or_default(),
        })
    };
    Ok(match agent {
        McpAgent::Claude => {
            if text.trim().is_empty() {
                return Ok(None);
            }
            let v: Value = serde_json::from_str(&text).context("not valid JSON")?;
            v.get("mcpServers")
                .and_then(|s| s.get(SERVER_NAME))
                .and_then(from_json)
        }
        McpAgent::Codex => {
            let v: toml::Value = toml::from_str(&text).context("not valid TOML")?;
            let j = serde_json::to_value(&v)?;
            j.get("mcp_servers")
                .and_then(|s| s.get(SERVER_NAME))
                .and_then(from_json)
        }
        McpAgent::Hermes => {
            let docs = yaml_rust2::YamlLoader::load_from_str(&text)
                .map_err(|e| anyhow::anyhow!("not valid YAML: {e}"))?;
            let Some(d) = docs.first() else {
                return Ok(None);
            };
            let e = &d["mcp_servers"][SERVER_NAME];
            e["command"].as_str().map(|c| ServerCommand {
                command: c.to_owned(),
                args: e["args"]
                    .as_vec()
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                env: e["env"]
                    .as_hash()
                    .map(|h| {
                        h.iter()
                            .filter_map(|(k, v)| {
                                Some((k.as_str()?.to_owned(), v.as_str()?.to_owned()))
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd() -> ServerCommand {
        ServerCommand {
            command: "/opt/dc/dashclawd".into(),
            args: vec!["mcp".into()],
            env: vec![("DASHCLAW_HOME".into(), "/h o/me".into())],
        }
    }

    #[test]
    fn claude_entry_is_added_once_and_removed() {
        let orig = r#"{"numStartups": 3, "mcpServers": {"other": {"command": "x"}}}"#;
        let once = edit_claude(orig, &cmd(), false).unwrap();
        let twice = edit_claude(&once, &cmd(), false).unwrap();
        assert_eq!(once, twice);
        let v: Value = serde_json::from_str(&once).unwrap();
        assert_eq!(v["mcpServers"]["dashclaw"]["args"], json!(["mcp"]));
        assert_eq!(
            v["mcpServers"]["dashclaw"]["env"]["DASHCLAW_HOME"],
            "/h o/me"
        );
        assert_eq!(v["numStartups"], 3);
        let back: Value = serde_json::from_str(&edit_claude(&once, &cmd(), true).unwrap()).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(orig).unwrap());
        // Someone else's `dashclaw` survives an uninstall.
        let theirs =
            r#"{"mcpServers": {"dashclaw": {"command": "npx", "args": ["@dashclaw/mcp-server"]}}}"#;
        assert!(edit_claude(theirs, &cmd(), true).unwrap().contains("npx"));
    }

    #[test]
    fn codex_table_is_added_once_and_removed() {
        let orig = "# mine\nmodel = \"o3\"\n\n[mcp_servers.other]\ncommand = \"x\"\n";
        let once = edit_codex(orig, &cmd(), false).unwrap();
        assert_eq!(once, edit_codex(&once, &cmd(), false).unwrap());
        let v: toml::Value = toml::from_str(&once).unwrap();
        assert_eq!(
            v["mcp_servers"]["dashclaw"]["command"].as_str(),
            Some("/opt/dc/dashclawd")
        );
        assert_eq!(v["mcp_servers"]["other"]["command"].as_str(), Some("x"));
        assert!(once.starts_with("# mine\n"));
        assert_eq!(edit_codex(&once, &cmd(), true).unwrap(), orig);
    }

    #[test]
    fn hermes_entry_goes_under_existing_or_new_mcp_servers() {
        let fresh = "model: x\n";
        let once = edit_hermes(fresh, &cmd(), false).unwrap();
        assert_eq!(once, edit_hermes(&once, &cmd(), false).unwrap());
        assert_eq!(edit_hermes(&once, &cmd(), true).unwrap(), fresh);

        let theirs = "mcp_servers:\n    time:\n        command: uvx\n# tail\nother: 1\n";
        let once = edit_hermes(theirs, &cmd(), false).unwrap();
        let d = &yaml_rust2::YamlLoader::load_from_str(&once).unwrap()[0];
        assert_eq!(d["mcp_servers"]["time"]["command"].as_str(), Some("uvx"));
        assert_eq!(
            d["mcp_servers"]["dashclaw"]["env"]["DASHCLAW_HOME"].as_str(),
            Some("/h o/me")
        );
        assert_eq!(d["other"].as_i64(), Some(1));
        assert_eq!(edit_hermes(&once, &cmd(), true).unwrap(), theirs);

        let upstream = "mcp_servers:\n  dashclaw:\n    command: npx\n";
        assert!(edit_hermes(upstream, &cmd(), false).is_err());
        assert!(edit_hermes("mcp_servers: {}\n", &cmd(), false).is_err());
    }
}
