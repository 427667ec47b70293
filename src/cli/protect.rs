//! `dashclawd install --protected` (as root): the daemon as a dedicated system user under a
//! system service, its files out of the agent users' reach, and the agents' hooks installed
//! through their managed (root-owned) configuration. docs/security.md has the threat model;
//! `crate::protected` what the hook and the daemon do with the result.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};

use crate::protected::{Conf, BESIDE_HOOK};

const UNIT_TEMPLATE: &str = include_str!("../../platform/systemd/dashclawd-protected.service");
const PLIST_TEMPLATE: &str =
    include_str!("../../platform/launchd/dev.dashclaw.dashclawd.protected.plist");
const CLAUDE_TEMPLATE: &str = include_str!("../../hooks/claude/hooks.json");
const CODEX_TEMPLATE: &str = include_str!("../../hooks/codex/hooks.toml");

#[derive(clap::Args, Debug, Clone)]
pub struct ProtectedArgs {
    /// Install in protected mode (as root): see docs/security.md.
    #[arg(long)]
    pub protected: bool,
    /// protected: where the binaries go (`<prefix>/bin`).
    #[arg(long, default_value = "/usr/local")]
    pub prefix: PathBuf,
    /// protected: directory for hook.conf (the hook reads /etc/dashclaw/hook.conf, or
    /// dashclaw-hook.conf beside itself, which is always written too).
    #[arg(long, default_value = "/etc/dashclaw")]
    pub etc_dir: PathBuf,
    /// protected: the daemon's DASHCLAW_HOME (state, ledger, approvals, config, policies).
    #[arg(long, default_value = "/var/lib/dashclaw")]
    pub service_home: PathBuf,
    /// protected: the socket the agents' hooks connect to.
    #[arg(long, default_value = "/run/dashclaw/dashclawd.sock")]
    pub socket: PathBuf,
    /// protected: the system user the daemon runs as (created if missing).
    #[arg(long, default_value = "dashclaw")]
    pub service_user: String,
    /// protected: the group whose members' agents may use the daemon (created if missing).
    #[arg(long, default_value = "dashclaw-agents")]
    pub agent_group: String,
    /// protected: the group whose members may stop the daemon (created if missing).
    #[arg(long, default_value = "dashclaw-operators")]
    pub operator_group: String,
    /// protected: a user whose agents are governed (added to the agents' group); repeatable.
    #[arg(long)]
    pub agent_user: Vec<String>,
    /// protected: Claude Code's managed settings file.
    #[arg(long, default_value = "/etc/claude-code/managed-settings.json")]
    pub claude_managed_settings: PathBuf,
    /// protected: Codex's managed requirements file.
    #[arg(long, default_value = "/etc/codex/requirements.toml")]
    pub codex_requirements: PathBuf,
    /// protected: where the system unit (or LaunchDaemon plist) goes.
    #[arg(long)]
    pub unit_dir: Option<PathBuf>,
    /// protected: write everything but do not enable or start the service.
    #[arg(long)]
    pub no_start: bool,
}

pub fn install(a: &ProtectedArgs) -> Result<ExitCode> {
    anyhow::ensure!(
        crate::paths::euid() == 0,
        "`dashclawd install --protected` must run as root (it creates a system user and writes root-owned files)"
    );
    let socket_gid = ensure_group(&a.agent_group)?;
    let operator_gid = ensure_group(&a.operator_group)?;
    let (uid, gid) = ensure_user(&a.service_user, &a.service_home)?;
    run(Command::new("usermod").args(["-aG", &a.agent_group, &a.service_user]))?;
    for user in &a.agent_user {
        run(Command::new("usermod").args(["-aG", &a.agent_group, user]))
            .with_context(|| format!("adding {user} to {}", a.agent_group))?;
    }

    // Binaries: root-owned, so neither the service nor an agent user can change them.
    let bin_dir = a.prefix.join("bin");
    root_dir(&bin_dir, 0o755)?;
    let here = std::env::current_exe()?
        .parent()
        .map(Path::to_path_buf)
        .context("locating this binary")?;
    let daemon = bin_dir.join("dashclawd");
    let hook = bin_dir.join("dashclaw-hook");
    for (name, dst) in [("dashclawd", &daemon), ("dashclaw-hook", &hook)] {
        let src = here.join(name);
        if src != *dst {
            let tmp = dst.with_extension("new");
            std::fs::copy(&src, &tmp)
                .with_context(|| format!("copying {} to {}", src.display(), tmp.display()))?;
            std::fs::rename(&tmp, dst)?;
        }
        std::os::unix::fs::chown(dst, Some(0), Some(0))?;
        std::fs::set_permissions(dst, std::fs::Permissions::from_mode(0o755))?;
    }
    let record = crate::client::install_record_path(&daemon);
    let hash = crate::client::sha256_file(&daemon)?;
    root_file(&record, format!("{hash}  dashclawd\n").as_bytes(), 0o644)?;

    // The service's home: its own, private.
    std::fs::create_dir_all(&a.service_home)?;
    std::os::unix::fs::chown(&a.service_home, Some(uid), Some(gid))?;
    std::fs::set_permissions(&a.service_home, std::fs::Permissions::from_mode(0o700))?;
    // The socket's directory (systemd recreates it under /run; without systemd it stays).
    if let Some(dir) = a.socket.parent() {
        std::fs::create_dir_all(dir)?;
        std::os::unix::fs::chown(dir, Some(uid), Some(socket_gid))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o750))?;
    }

    let conf_path = a.etc_dir.join("hook.conf");
    let conf = Conf {
        socket: a.socket.clone(),
        daemon_uid: uid,
        socket_gid,
        operator_gid: Some(operator_gid),
        home: a.service_home.clone(),
        path: conf_path.clone(),
    };
    root_dir(&a.etc_dir, 0o755)?;
    root_file(&conf_path, conf.render().as_bytes(), 0o644)?;
    root_file(&bin_dir.join(BESIDE_HOOK), conf.render().as_bytes(), 0o644)?;

    let service = if cfg!(target_os = "macos") {
        let dir = a
            .unit_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("/Library/LaunchDaemons"));
        let plist = dir.join("dev.dashclaw.dashclawd.plist");
        root_dir(&dir, 0o755)?;
        root_file(
            &plist,
            render_plist(a, &daemon, &conf_path).as_bytes(),
            0o644,
        )?;
        if !a.no_start {
            let _ =
                run(Command::new("launchctl").args(["bootout", "system/dev.dashclaw.dashclawd"]));
            run(Command::new("launchctl")
                .arg("bootstrap")
                .arg("system")
                .arg(&plist))?;
        }
        plist
    } else {
        let dir = a
            .unit_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("/etc/systemd/system"));
        let unit = dir.join("dashclawd.service");
        root_dir(&dir, 0o755)?;
        root_file(&unit, render_unit(a, &daemon, &conf_path).as_bytes(), 0o644)?;
        if !a.no_start && Path::new("/run/systemd/system").exists() {
            run(Command::new("systemctl").arg("daemon-reload"))?;
            run(Command::new("systemctl").args(["enable", "--now", "dashclawd.service"]))?;
        }
        unit
    };

    write_claude_managed(&a.claude_managed_settings, &hook)?;
    write_codex_requirements(&a.codex_requirements, &hook)?;

    println!("DashClaw protected mode installed:");
    println!(
        "  daemon:   {} as user {} (uid {uid})",
        daemon.display(),
        a.service_user
    );
    println!("  service:  {}", service.display());
    println!(
        "  state:    {} (private to {})",
        a.service_home.display(),
        a.service_user
    );
    println!(
        "  socket:   {} (group {})",
        a.socket.display(),
        a.agent_group
    );
    println!(
        "  hook:     {} reading {}",
        hook.display(),
        conf_path.display()
    );
    println!("  claude:   {}", a.claude_managed_settings.display());
    println!("  codex:    {}", a.codex_requirements.display());
    println!(
        "Add the users whose agents are governed to {} (`--agent-user NAME`, or `usermod -aG {} NAME`; they log in again), and operators to {}.",
        a.agent_group, a.agent_group, a.operator_group
    );
    Ok(ExitCode::SUCCESS)
}

/// The unit text for these settings.
pub fn render_unit(a: &ProtectedArgs, daemon: &Path, conf: &Path) -> String {
    let mut dirs = Vec::new();
    match a.socket.parent().and_then(|d| d.strip_prefix("/run").ok()) {
        Some(rel) if !rel.as_os_str().is_empty() => {
            dirs.push(format!("RuntimeDirectory={}", rel.display()));
            dirs.push("RuntimeDirectoryMode=0750".into());
            dirs.push("RuntimeDirectoryPreserve=no".into());
        }
        _ => {
            if let Some(d) = a.socket.parent() {
                dirs.push(format!("ReadWritePaths={}", d.display()));
            }
        }
    }
    match a.service_home.strip_prefix("/var/lib") {
        Ok(rel) if !rel.as_os_str().is_empty() => {
            dirs.push(format!("StateDirectory={}", rel.display()));
            dirs.push("StateDirectoryMode=0700".into());
        }
        _ => dirs.push(format!("ReadWritePaths={}", a.service_home.display())),
    }
    UNIT_TEMPLATE
        .replace("@USER@", &a.service_user)
        .replace("@SOCKET_GROUP@", &a.agent_group)
        .replace("@EXEC@", &daemon.display().to_string())
        .replace("@CONF@", &conf.display().to_string())
        .replace("@HOME@", &a.service_home.display().to_string())
        .replace("@DIRS@", &dirs.join("\n"))
}

fn render_plist(a: &ProtectedArgs, daemon: &Path, conf: &Path) -> String {
    PLIST_TEMPLATE
        .replace("@USER@", &a.service_user)
        .replace("@EXEC@", &daemon.display().to_string())
        .replace("@CONF@", &conf.display().to_string())
        .replace("@HOME@", &a.service_home.display().to_string())
}

/// Claude Code's managed settings: our hooks, and only managed hooks, with bypass mode off
/// (agent-hooks.md §2.7). Other keys an administrator set are kept.
fn write_claude_managed(path: &Path, hook: &Path) -> Result<()> {
    let mut doc: serde_json::Value = match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON; fix it first", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::json!({}),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let hooks: serde_json::Value =
        serde_json::from_str(&CLAUDE_TEMPLATE.replace("@HOOK@", &hook.display().to_string()))
            .context("hooks/claude/hooks.json")?;
    let obj = doc
        .as_object_mut()
        .with_context(|| format!("{} is not a JSON object", path.display()))?;
    obj.insert("hooks".into(), hooks);
    obj.insert("allowManagedHooksOnly".into(), true.into());
    let perms = obj
        .entry("permissions")
        .or_insert_with(|| serde_json::json!({}));
    if let Some(p) = perms.as_object_mut() {
        p.insert("disableBypassPermissionsMode".into(), "disable".into());
    }
    if let Some(dir) = path.parent() {
        root_dir(dir, 0o755)?;
    }
    root_file(
        path,
        format!("{}\n", serde_json::to_string_pretty(&doc)?).as_bytes(),
        0o644,
    )
}

/// Codex's managed requirements: our hooks, managed hooks only, and hooks forced on (without
/// `[features] hooks = true` a user setting turns managed hooks off too; §2.7).
fn write_codex_requirements(path: &Path, hook: &Path) -> Result<()> {
    let mut doc: toml_edit::DocumentMut = match std::fs::read_to_string(path) {
        Ok(text) => text
            .parse()
            .with_context(|| format!("{} is not valid TOML; fix it first", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml_edit::DocumentMut::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let template: toml_edit::DocumentMut = CODEX_TEMPLATE
        .replace("@HOOK@", &hook.display().to_string())
        .parse()
        .context("hooks/codex/hooks.toml")?;
    let mut hooks = toml_edit::Table::new();
    for (k, v) in template.iter() {
        hooks.insert(k, v.clone());
    }
    doc.insert("allow_managed_hooks_only", toml_edit::value(true));
    doc.insert("hooks", toml_edit::Item::Table(hooks));
    if !doc.contains_key("features") {
        doc.insert("features", toml_edit::Item::Table(toml_edit::Table::new()));
    }
    doc["features"]["hooks"] = toml_edit::value(true);
    if let Some(dir) = path.parent() {
        root_dir(dir, 0o755)?;
    }
    root_file(path, doc.to_string().as_bytes(), 0o644)
}

fn root_dir(dir: &Path, mode: u32) -> Result<()> {
    if !dir.exists() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        std::os::unix::fs::chown(dir, Some(0), Some(0))?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// Writes a root-owned file atomically.
fn root_file(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let tmp = path.with_extension("dashclaw-new");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::os::unix::fs::chown(&tmp, Some(0), Some(0))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("running {:?}", cmd.get_program()))?;
    anyhow::ensure!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(())
}

/// `getent <db> <name>` fields, if the entry exists.
fn getent(db: &str, name: &str) -> Option<Vec<String>> {
    let out = Command::new("getent").args([db, name]).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let line = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()?
        .to_string();
    Some(line.split(':').map(str::to_string).collect())
}

fn ensure_group(name: &str) -> Result<u32> {
    if getent("group", name).is_none() {
        run(Command::new("groupadd").args(["--system", name]))?;
    }
    getent("group", name)
        .and_then(|f| f.get(2)?.parse().ok())
        .with_context(|| format!("group {name} has no gid"))
}

fn ensure_user(name: &str, home: &Path) -> Result<(u32, u32)> {
    if getent("passwd", name).is_none() {
        let nologin = ["/usr/sbin/nologin", "/sbin/nologin", "/bin/false"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("/bin/false");
        run(Command::new("useradd")
            .args([
                "--system",
                "--user-group",
                "--no-create-home",
                "--shell",
                nologin,
            ])
            .arg("--home-dir")
            .arg(home)
            .arg(name))?;
    }
    let f = getent("passwd", name).with_context(|| format!("user {name} was not created"))?;
    let num = |i: usize| f.get(i).and_then(|v| v.parse().ok());
    Ok((num(2).context("no uid")?, num(3).context("no gid")?))
}
