//! `dashclawd service install|uninstall|status`: run the daemon under the user's service manager
//! (a systemd user unit on Linux, a launchd agent on macOS). Optional: without a service, hooks
//! auto-start the daemon on demand. Templates live in `platform/`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result};

use crate::paths::Paths;

const SERVICE_TEMPLATE: &str = include_str!("../../platform/systemd/dashclawd.service");
const SOCKET_TEMPLATE: &str = include_str!("../../platform/systemd/dashclawd.socket");
const PLIST_TEMPLATE: &str = include_str!("../../platform/launchd/dev.dashclaw.dashclawd.plist");
const UNIT: &str = "dashclawd.service";
const SOCKET_UNIT: &str = "dashclawd.socket";
const LABEL: &str = "dev.dashclaw.dashclawd";

#[derive(clap::Args)]
pub struct ServiceArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Write the unit (or plist), then enable and start it.
    Install(Opts),
    /// Stop, disable and remove it.
    Uninstall(Opts),
    /// Show whether it is installed and running.
    Status(Opts),
}

#[derive(clap::Args, Clone)]
struct Opts {
    /// Print what would be written and run, change nothing.
    #[arg(long)]
    dry_run: bool,
    /// systemd or launchd (default: this OS's).
    #[arg(long, value_enum)]
    platform: Option<Platform>,
    /// systemd: also install dashclawd.socket (needs a daemon that accepts LISTEN_FDS).
    #[arg(long)]
    socket_activation: bool,
    /// Path of dashclawd for the unit (default: this binary).
    #[arg(long)]
    daemon_bin: Option<PathBuf>,
    /// Directory for the unit files (default: ~/.config/systemd/user or ~/Library/LaunchAgents).
    #[arg(long)]
    unit_dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Platform {
    Systemd,
    Launchd,
}

impl Platform {
    fn native() -> Platform {
        if cfg!(target_os = "macos") {
            Platform::Launchd
        } else {
            Platform::Systemd
        }
    }
}

pub fn run(args: ServiceArgs) -> Result<ExitCode> {
    match args.action {
        Action::Install(o) => install(&o),
        Action::Uninstall(o) => uninstall(&o),
        Action::Status(o) => status(&o),
    }
}

/// What the unit needs to know about this installation.
pub struct Layout {
    pub exec: PathBuf,
    pub config_dir: PathBuf,
    pub state_dir: PathBuf,
    pub run_dir: PathBuf,
    pub log_dir: PathBuf,
    pub socket: PathBuf,
    pub dashclaw_home: Option<String>,
}

impl Layout {
    pub fn from_env(daemon_bin: Option<&Path>) -> Result<Layout> {
        let exec = match daemon_bin {
            Some(p) => std::path::absolute(p)?,
            None => std::env::current_exe()?,
        };
        let paths = Paths::from_env()?;
        Ok(Layout {
            exec,
            config_dir: paths
                .config_file
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            state_dir: paths.state_dir,
            run_dir: paths.run_dir,
            log_dir: paths.log_dir,
            socket: paths.socket,
            dashclaw_home: std::env::var("DASHCLAW_HOME")
                .ok()
                .filter(|h| !h.is_empty()),
        })
    }
}

/// Quotes a value for a systemd unit line (`"…"` with `\` and `"` escaped, `%` doubled).
fn systemd_quote(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('%', "%%");
    format!("\"{escaped}\"")
}

fn under_tmp(p: &Path) -> bool {
    p.starts_with("/tmp") || p.starts_with("/var/tmp")
}

/// The `dashclawd.service` text for this layout.
pub fn render_service(l: &Layout) -> String {
    // `-` lets the unit start before a directory exists (the daemon creates them).
    let rw: Vec<String> = [&l.config_dir, &l.state_dir, &l.run_dir]
        .iter()
        .map(|p| format!("-{}", systemd_quote(&p.to_string_lossy())))
        .collect();
    let env = match &l.dashclaw_home {
        Some(h) => format!(
            "Environment={}",
            systemd_quote(&format!("DASHCLAW_HOME={h}"))
        ),
        None => String::new(),
    };
    // A private /tmp would hide a socket that lives under /tmp from the hooks.
    let private_tmp = if [&l.run_dir, &l.state_dir].iter().any(|p| under_tmp(p)) {
        "# PrivateTmp is off: the DashClaw directories live under /tmp.".to_string()
    } else {
        "PrivateTmp=yes".to_string()
    };
    let exec = l.exec.to_string_lossy();
    // ExecStart's first word may not be quoted in old systemd; quote only when needed.
    let exec = if exec.contains(char::is_whitespace) || exec.contains('"') {
        systemd_quote(&exec)
    } else {
        exec.replace('%', "%%")
    };
    SERVICE_TEMPLATE
        .replace("@EXEC@", &exec)
        .replace("@ENVIRONMENT@", &env)
        .replace("@RW_PATHS@", &rw.join(" "))
        .replace("@PRIVATE_TMP@", &private_tmp)
}

pub fn render_socket(l: &Layout) -> String {
    SOCKET_TEMPLATE.replace("@SOCKET@", &l.socket.to_string_lossy())
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The launchd agent plist for this layout.
pub fn render_plist(l: &Layout) -> String {
    let env = match &l.dashclaw_home {
        Some(h) => format!(
            "    <key>DASHCLAW_HOME</key>\n    <string>{}</string>",
            xml_escape(h)
        ),
        None => String::new(),
    };
    let log = l.log_dir.join("launchd.err");
    PLIST_TEMPLATE
        .replace("@EXEC@", &xml_escape(&l.exec.to_string_lossy()))
        .replace("@ENVIRONMENT@", &env)
        .replace("@LOG@", &xml_escape(&log.to_string_lossy()))
}

fn unit_dir(o: &Opts, platform: Platform) -> Result<PathBuf> {
    if let Some(d) = &o.unit_dir {
        return Ok(d.clone());
    }
    let home = crate::install::home_dir()?;
    Ok(match platform {
        Platform::Systemd => match std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
            Some(c) => PathBuf::from(c).join("systemd/user"),
            None => home.join(".config/systemd/user"),
        },
        Platform::Launchd => home.join("Library/LaunchAgents"),
    })
}

/// The files this platform installs: (path, contents).
fn files(o: &Opts, platform: Platform, l: &Layout) -> Result<Vec<(PathBuf, String)>> {
    let dir = unit_dir(o, platform)?;
    Ok(match platform {
        Platform::Systemd => {
            let mut v = vec![(dir.join(UNIT), render_service(l))];
            if o.socket_activation {
                v.push((dir.join(SOCKET_UNIT), render_socket(l)));
            }
            v
        }
        Platform::Launchd => vec![(dir.join(format!("{LABEL}.plist")), render_plist(l))],
    })
}

/// Runs a service-manager command, or prints it in a dry run. Failures are reported, not fatal:
/// the files are in place and the command can be repeated by hand.
fn manager(dry_run: bool, argv: &[&str]) -> bool {
    if dry_run {
        println!("would run: {}", argv.join(" "));
        return true;
    }
    match Command::new(argv[0]).args(&argv[1..]).status() {
        Ok(s) if s.success() => true,
        Ok(s) => {
            eprintln!("dashclawd: `{}` failed ({s})", argv.join(" "));
            false
        }
        Err(e) => {
            eprintln!("dashclawd: cannot run `{}`: {e}", argv[0]);
            false
        }
    }
}

fn uid() -> u32 {
    // SAFETY: getuid(2) cannot fail.
    unsafe { libc::getuid() }
}

fn install(o: &Opts) -> Result<ExitCode> {
    let platform = o.platform.unwrap_or_else(Platform::native);
    let layout = Layout::from_env(o.daemon_bin.as_deref())?;
    let files = files(o, platform, &layout)?;
    for (path, text) in &files {
        if o.dry_run {
            println!("--- {}\n{text}", path.display());
            continue;
        }
        crate::install::write_atomic(path, text.as_bytes())?;
        println!("wrote {}", path.display());
    }
    if !o.dry_run {
        for d in [&layout.state_dir, &layout.run_dir] {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
        }
    }
    let ok = match platform {
        Platform::Systemd => {
            let target = if o.socket_activation {
                SOCKET_UNIT
            } else {
                UNIT
            };
            manager(o.dry_run, &["systemctl", "--user", "daemon-reload"])
                && manager(
                    o.dry_run,
                    &["systemctl", "--user", "enable", "--now", target],
                )
        }
        Platform::Launchd => {
            let domain = format!("gui/{}", uid());
            let plist = files[0].0.to_string_lossy().into_owned();
            // bootout first so a re-install picks up the new plist; it fails if not loaded.
            if !o.dry_run {
                let _ = Command::new("launchctl")
                    .args(["bootout", &domain, &plist])
                    .status();
            }
            manager(o.dry_run, &["launchctl", "bootstrap", &domain, &plist])
        }
    };
    if !ok {
        eprintln!(
            "dashclawd: the service files are written but the service is not running; hooks still auto-start the daemon"
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

fn uninstall(o: &Opts) -> Result<ExitCode> {
    let platform = o.platform.unwrap_or_else(Platform::native);
    let dir = unit_dir(o, platform)?;
    match platform {
        Platform::Systemd => {
            // Both units, whether or not socket activation was chosen at install time.
            manager(
                o.dry_run,
                &["systemctl", "--user", "disable", "--now", SOCKET_UNIT, UNIT],
            );
            for name in [UNIT, SOCKET_UNIT] {
                remove(o.dry_run, &dir.join(name))?;
            }
            manager(o.dry_run, &["systemctl", "--user", "daemon-reload"]);
        }
        Platform::Launchd => {
            let plist = dir.join(format!("{LABEL}.plist"));
            let domain = format!("gui/{}", uid());
            manager(
                o.dry_run,
                &["launchctl", "bootout", &domain, &plist.to_string_lossy()],
            );
            remove(o.dry_run, &plist)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn remove(dry_run: bool, path: &Path) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    if dry_run {
        println!("would remove {}", path.display());
        return Ok(());
    }
    std::fs::remove_file(path).with_context(|| format!("removing {}", path.display()))?;
    println!("removed {}", path.display());
    Ok(())
}

fn status(o: &Opts) -> Result<ExitCode> {
    let platform = o.platform.unwrap_or_else(Platform::native);
    let layout = Layout::from_env(o.daemon_bin.as_deref())?;
    let mut installed = false;
    for (path, want) in files(o, platform, &layout)? {
        match std::fs::read_to_string(&path) {
            Ok(have) if have == want => {
                installed = true;
                println!("{}: installed", path.display());
            }
            Ok(_) => {
                installed = true;
                println!(
                    "{}: installed, but differs from what `service install` writes now",
                    path.display()
                );
            }
            Err(_) => println!("{}: not installed", path.display()),
        }
    }
    if o.dry_run {
        return Ok(ExitCode::SUCCESS);
    }
    let active = match platform {
        Platform::Systemd => Command::new("systemctl")
            .args(["--user", "is-active", "--quiet", UNIT])
            .status()
            .is_ok_and(|s| s.success()),
        Platform::Launchd => Command::new("launchctl")
            .args(["print", &format!("gui/{}/{LABEL}", uid())])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success()),
    };
    println!(
        "service: {}",
        if active { "running" } else { "not running" }
    );
    Ok(if installed && active {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `DASHCLAW_HOME` layout of paths.rs.
    fn layout(home: &str) -> Layout {
        let h = PathBuf::from(home);
        Layout {
            exec: PathBuf::from("/opt/dc/bin/dashclawd"),
            config_dir: h.clone(),
            state_dir: h.join("state"),
            run_dir: h.join("run"),
            log_dir: h.join("state/logs"),
            socket: h.join("run/dashclawd.sock"),
            dashclaw_home: Some(home.into()),
        }
    }

    #[test]
    fn service_has_hardening_and_write_paths() {
        let unit = render_service(&layout("/home/me/.dc"));
        assert!(unit.contains("ExecStart=/opt/dc/bin/dashclawd run --quiet"));
        assert!(unit.contains("ProtectSystem=strict"));
        assert!(unit.contains("NoNewPrivileges=yes"));
        assert!(unit.contains("PrivateTmp=yes"));
        assert!(
            unit.contains(
                r#"ReadWritePaths=-"/home/me/.dc" -"/home/me/.dc/state" -"/home/me/.dc/run""#
            ),
            "{unit}"
        );
        assert!(unit.contains(r#"Environment="DASHCLAW_HOME=/home/me/.dc""#));
        for placeholder in ["@EXEC@", "@ENVIRONMENT@", "@RW_PATHS@", "@PRIVATE_TMP@"] {
            assert!(!unit.contains(placeholder), "{unit}");
        }
        let tmp = render_service(&layout("/tmp/dc"));
        assert!(!tmp.contains("PrivateTmp=yes"), "{tmp}");
    }

    #[test]
    fn plist_escapes_values() {
        let p = render_plist(&layout("/Users/me/a&b"));
        assert!(p.contains("<string>/Users/me/a&amp;b</string>"), "{p}");
        assert!(!p.contains('@'));
    }
}
