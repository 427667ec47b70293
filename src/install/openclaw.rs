//! `dashclawd install openclaw`: OpenClaw can block a tool only from a TypeScript plugin
//! (agent-hooks.md §4), so this writes our plugin (`hooks/openclaw/`, embedded in the binary)
//! beside DashClaw's config and prints how to enable it with OpenClaw's own CLI. OpenClaw's
//! configuration file itself is not edited: its format is not part of our spec.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};

use super::{commit, read_optional, InstallArgs};

/// The plugin's files, relative to its directory.
pub const FILES: &[(&str, &str)] = &[
    (
        "package.json",
        include_str!("../../hooks/openclaw/package.json"),
    ),
    (
        "openclaw.plugin.json",
        include_str!("../../hooks/openclaw/openclaw.plugin.json"),
    ),
    ("index.js", include_str!("../../hooks/openclaw/index.js")),
    ("README.md", include_str!("../../hooks/openclaw/README.md")),
];

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

pub(super) fn run(args: &InstallArgs) -> Result<ExitCode> {
    let dir = plugin_dir(args)?;
    let hook_bin = super::hook_bin(args)?;
    if args.uninstall {
        for (name, _) in FILES {
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
        println!("then: openclaw plugins uninstall {PLUGIN_ID}");
        return Ok(ExitCode::SUCCESS);
    }
    for (name, text) in FILES {
        let p = dir.join(name);
        let original = read_optional(&p)?;
        commit(&p, original.as_deref(), text, args.dry_run)?;
    }
    print!("{}", instructions(&dir, &hook_bin));
    Ok(ExitCode::SUCCESS)
}

/// What the user runs to enable the plugin.
pub fn instructions(dir: &Path, hook_bin: &Path) -> String {
    format!(
        "DashClaw OpenClaw plugin: {dir}\n\
         enable it with:\n  openclaw plugins install {dir}\n\
         and point it at the hook binary (default: dashclaw-hook on PATH) under\n  \
         plugins.entries.{PLUGIN_ID}.config.hookBin = \"{bin}\"\n\
         every tool call then asks DashClaw first; any failure or a 15 s stall blocks the call.\n",
        dir = dir.display(),
        bin = hook_bin.display(),
    )
}
