//! `dashclawd install openclaw`: OpenClaw can block a tool only from an in-process plugin
//! (agent-hooks.md §4), so this writes our plugin (`hooks/openclaw/`, embedded in the binary)
//! beside DashClaw's config, plus `dashclaw.json` (the absolute hook binary and the environment
//! it needs), and has OpenClaw's own CLI install it: `openclaw plugins install DIR --force
//! --accept-capabilities` copies it to `~/.openclaw/extensions/dashclaw-guard/` and enables it
//! in OpenClaw's config, which we never edit ourselves. Without an `openclaw` CLI (on PATH or
//! `--openclaw-bin`) the files are written and the command to run is printed.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{bail, Context, Result};
use serde_json::json;

use crate::install::{commit, read_optional, InstallArgs};

/// The plugin's files, relative to its directory.
pub const FILES: &[(&str, &str)] = &[
    (
        "package.json",
        include_str!("../../../hooks/openclaw/package.json"),
    ),
    (
        "openclaw.plugin.json",
        include_str!("../../../hooks/openclaw/openclaw.plugin.json"),
    ),
    ("index.js", include_str!("../../../hooks/openclaw/index.js")),
    (
        "README.md",
        include_str!("../../../hooks/openclaw/README.md"),
    ),
];

/// Written beside the plugin by the installer: `{"hookBin", "env"}`, read by index.js.
pub const SETTINGS_FILE: &str = "dashclaw.json";

/// The plugin id in `openclaw.plugin.json` and `plugins.entries.<id>`.
pub const PLUGIN_ID: &str = "dashclaw-guard";

/// Where the plugin goes: `--config DIR`, else `openclaw-plugin/` beside DashClaw's config.
pub fn plugin_dir(args: &InstallArgs) -> Result<PathBuf> {
    match &args.settings {
        Some(p) => Ok(std::path::absolute(p)?),
        None => {
            let paths = crate::paths::Paths::from_env()?;
            Ok(paths
                .config_file
                .parent()
                .context("DashClaw's config file has no directory")?
                .join("openclaw-plugin"))
        }
    }
}

/// OpenClaw's state directory, where installed plugins live: `$OPENCLAW_STATE_DIR`, else
/// `~/.openclaw`.
pub fn state_dir() -> Result<PathBuf> {
    match std::env::var_os("OPENCLAW_STATE_DIR").filter(|d| !d.is_empty()) {
        Some(d) => Ok(PathBuf::from(d)),
        None => Ok(crate::install::home_dir()?.join(".openclaw")),
    }
}

/// The installed copy of our plugin.
pub fn installed_dir() -> Result<PathBuf> {
    Ok(state_dir()?.join("extensions").join(PLUGIN_ID))
}

/// `dashclaw.json` for `hook_bin`: the binary, and DASHCLAW_HOME when the install runs with one
/// (as the other agents get it in their hook command).
pub fn settings_json(hook_bin: &Path) -> String {
    let mut env = serde_json::Map::new();
    if let Some(h) = std::env::var("DASHCLAW_HOME")
        .ok()
        .filter(|h| !h.is_empty())
    {
        env.insert("DASHCLAW_HOME".into(), json!(h));
    }
    let mut out = serde_json::to_string_pretty(&json!({
        "hookBin": hook_bin.to_string_lossy(),
        "env": env,
    }))
    .unwrap_or_default();
    out.push('\n');
    out
}

pub fn find_openclaw(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return p.is_file().then(|| p.to_path_buf());
    }
    crate::agents::codex::install::find_on_path("openclaw")
}

/// Runs `openclaw <args>`; its output is shown only when it fails.
fn openclaw(bin: &Path, args: &[&str]) -> Result<()> {
    let out = Command::new(bin)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "`openclaw {}` failed ({}):\n{}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

pub(crate) fn run(args: &InstallArgs) -> Result<ExitCode> {
    let dir = plugin_dir(args)?;
    let hook_bin = crate::install::hook_bin(args)?;
    let cli = find_openclaw(args.openclaw_bin.as_deref());
    if args.openclaw_bin.is_some() && cli.is_none() {
        bail!(
            "--openclaw-bin {}: no such file",
            args.openclaw_bin
                .as_deref()
                .unwrap_or(Path::new(""))
                .display()
        );
    }
    let settings = settings_json(&hook_bin);
    let files = FILES
        .iter()
        .map(|(n, t)| (*n, t.to_string()))
        .chain(std::iter::once((SETTINGS_FILE, settings)));
    if args.uninstall {
        match (&cli, args.dry_run) {
            (Some(_), true) => {
                println!("would run: openclaw plugins uninstall {PLUGIN_ID} --force")
            }
            (Some(cli), false) if installed_dir()?.exists() => {
                openclaw(cli, &["plugins", "uninstall", PLUGIN_ID, "--force"])?;
                println!("uninstalled the {PLUGIN_ID} plugin from OpenClaw");
            }
            (Some(_), false) => {}
            (None, _) => println!("then: openclaw plugins uninstall {PLUGIN_ID}"),
        }
        for (name, _) in files {
            let p = dir.join(name);
            if args.dry_run {
                println!("would remove {}", p.display());
            } else if p.exists() {
                std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
            }
        }
        if !args.dry_run {
            let _ = std::fs::remove_dir(&dir);
            println!(
                "removed the DashClaw OpenClaw plugin from {}",
                dir.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    for (name, text) in files {
        let p = dir.join(name);
        let original = read_optional(&p)?;
        commit(&p, original.as_deref(), &text, args.dry_run)?;
    }
    let dir_s = dir.to_string_lossy().into_owned();
    match (&cli, args.dry_run) {
        (Some(_), true) => {
            println!("would run: openclaw plugins install {dir_s} --force --accept-capabilities")
        }
        (Some(cli), false) => {
            // `--force`: the source is a local path (OpenClaw asks before installing one, and
            // overwrites an older copy only when forced); `--accept-capabilities`: the consent
            // OpenClaw wants for a plugin outside its catalogue. Both are what running this
            // installer asked for.
            openclaw(
                cli,
                &[
                    "plugins",
                    "install",
                    &dir_s,
                    "--force",
                    "--accept-capabilities",
                ],
            )?;
            let copy = installed_dir()?;
            let ok = std::fs::read_to_string(copy.join("index.js"))
                .is_ok_and(|t| t == include_str!("../../../hooks/openclaw/index.js"))
                && copy.join(SETTINGS_FILE).is_file();
            if !ok {
                bail!(
                    "`openclaw plugins install` reported success but {} does not hold the plugin \
                     (is OPENCLAW_STATE_DIR set differently for OpenClaw?)",
                    copy.display()
                );
            }
            println!(
                "installed and enabled the DashClaw plugin in OpenClaw ({}); every tool call \
                 now asks {} first, and any failure or a 15 s stall blocks the call",
                copy.display(),
                hook_bin.display()
            );
        }
        (None, _) => print!("{}", instructions(&dir)),
    }
    Ok(ExitCode::SUCCESS)
}

/// What the user runs to enable the plugin when no `openclaw` CLI was found.
pub fn instructions(dir: &Path) -> String {
    format!(
        "DashClaw OpenClaw plugin written to {dir}, but no `openclaw` CLI was found \
         (on PATH or --openclaw-bin); enable it with:\n  \
         openclaw plugins install {dir} --force --accept-capabilities\n\
         or re-run this installer with --openclaw-bin PATH.\n",
        dir = dir.display(),
    )
}
