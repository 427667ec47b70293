//! `dashclawd install <agent>`: wires `dashclaw-hook` into an agent's own configuration.
//!
//! Every installer is idempotent (our entries are recognised by the `dashclaw-hook` command and
//! replaced in place), keeps every unrelated setting and comment, backs the original up once
//! (`<file>.dashclaw-backup`), writes atomically, and prints a diff instead with `--dry-run`.
//! The templates live in `hooks/<agent>/`. Each agent's installer is in
//! `agents/<agent>/install.rs`, reached through its `Integration`; this module is what they
//! share: arguments, scopes, backups, atomic writes, `--dry-run` diffs and MCP registration.

pub mod mcp;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use crate::agents::{integration_named, INTEGRATIONS};

/// The substring that marks a hook entry as ours, in every agent's configuration.
pub const MARKER: &str = "dashclaw-hook";

/// Which configuration layer to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Scope {
    /// The user's own configuration (default).
    #[default]
    User,
    /// The current project's configuration.
    Project,
    /// The system-wide, administrator-managed layer (needs root; cannot be switched off by the
    /// user).
    Managed,
}

#[derive(Debug, Clone, Default)]
pub struct InstallArgs {
    pub agent: String,
    /// The configuration file to edit instead of the scope's default.
    pub settings: Option<PathBuf>,
    pub scope: Scope,
    pub dry_run: bool,
    pub uninstall: bool,
    pub hook_bin: Option<PathBuf>,
    /// Codex only: the `codex` binary used to trust the hooks (default: `codex` on PATH).
    pub codex_bin: Option<PathBuf>,
    /// Do not register `dashclawd mcp` as the agent's `dashclaw` MCP server.
    pub no_mcp: bool,
    /// OpenClaw only: the `openclaw` CLI that installs the plugin (default: `openclaw` on PATH).
    pub openclaw_bin: Option<PathBuf>,
}

pub fn run(args: InstallArgs) -> Result<ExitCode> {
    let Some(integration) = integration_named(&args.agent) else {
        let supported: Vec<&str> = INTEGRATIONS.iter().map(|i| i.names()[0]).collect();
        bail!(
            "installing into '{}' is not supported; supported: {}",
            args.agent,
            supported.join(", ")
        )
    };
    if args.uninstall {
        integration.uninstall(&args)
    } else {
        integration.install(&args)
    }
}

/// The hook binary to write into the configuration: `--hook-bin`, else the one beside us.
pub(crate) fn hook_bin(args: &InstallArgs) -> Result<PathBuf> {
    match &args.hook_bin {
        Some(p) => Ok(std::path::absolute(p)?),
        None => Ok(std::env::current_exe()?
            .parent()
            .context("locating the binary directory")?
            .join("dashclaw-hook")),
    }
}

/// The command an agent runs: `[DASHCLAW_HOME=…] /abs/dashclaw-hook`, quoted for `sh`.
pub(crate) fn hook_command(hook_bin: &Path) -> String {
    let home = std::env::var("DASHCLAW_HOME")
        .ok()
        .filter(|h| !h.is_empty());
    let prefix = home
        .map(|h| format!("DASHCLAW_HOME={} ", sh_quote(&h)))
        .unwrap_or_default();
    format!("{prefix}{}", sh_quote(&hook_bin.to_string_lossy()))
}

pub(crate) fn home_dir() -> Result<PathBuf> {
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(h));
    }
    let base = directories::BaseDirs::new().context("cannot determine the home directory")?;
    Ok(base.home_dir().to_path_buf())
}

/// Quotes a word for the POSIX shell agents run hook commands through.
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+=:,@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Reads a configuration file; `None` when it does not exist yet.
pub(crate) fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// What an installer does with the new text of a file.
pub(crate) enum Outcome {
    DryRun,
    Unchanged,
    Written,
}

/// Prints a diff (`--dry-run`), or backs the original up once and writes `new` atomically.
pub(crate) fn commit(
    path: &Path,
    original: Option<&str>,
    new: &str,
    dry_run: bool,
) -> Result<Outcome> {
    let old = original.unwrap_or("");
    if dry_run {
        if old == new {
            println!("{}: no change", path.display());
        } else {
            print!("{}", unified_diff(path, old, new));
        }
        return Ok(Outcome::DryRun);
    }
    if original == Some(new) || (original.is_none() && new.is_empty()) {
        return Ok(Outcome::Unchanged);
    }
    if let Some(orig) = original {
        let backup = sibling(path, ".dashclaw-backup");
        if !backup.exists() {
            std::fs::write(&backup, orig)
                .with_context(|| format!("writing backup {}", backup.display()))?;
        }
    }
    write_atomic(path, new.as_bytes())?;
    Ok(Outcome::Written)
}

pub(crate) fn unified_diff(path: &Path, old: &str, new: &str) -> String {
    let name = path.display().to_string();
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&name, &format!("{name} (after)"))
        .to_string()
}

/// `path` with `suffix` appended to its file name (`config.toml` → `config.toml.dashclaw-tmp`).
pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    path.with_file_name(name)
}

/// Temp file + rename beside the target, keeping the original's permissions.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = sibling(path, ".dashclaw-tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    if let Ok(meta) = std::fs::metadata(path) {
        let _ = std::fs::set_permissions(&tmp, meta.permissions());
    }
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

pub(crate) fn report(outcome: &Outcome, path: &Path, uninstall: bool) {
    match outcome {
        Outcome::DryRun => {}
        Outcome::Unchanged => println!("{} already up to date", path.display()),
        Outcome::Written => println!(
            "{} DashClaw hooks in {}",
            if uninstall { "removed" } else { "installed" },
            path.display()
        ),
    }
}
