//! Where everything lives on disk.
//!
//! Paths come from the `directories` crate (XDG on Linux, `~/Library` on macOS). Setting
//! `DASHCLAW_HOME=<dir>` puts everything beneath one directory instead, which is what tests and
//! multi-profile users want. Both the hook client and the daemon resolve paths through this module
//! so they always agree on the socket.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// `sun_path` is 108 bytes on Linux (104 on macOS) including the NUL terminator.
const MAX_SOCKET_PATH: usize = 103;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub config_file: PathBuf,
    /// The user's policies, beside config.toml.
    pub policy_file: PathBuf,
    pub state_dir: PathBuf,
    pub log_dir: PathBuf,
    pub spool_dir: PathBuf,
    pub ledger_db: PathBuf,
    /// Private (0700) directory holding the socket, pid and lock files.
    pub run_dir: PathBuf,
    pub socket: PathBuf,
    pub pid_file: PathBuf,
    pub lock_file: PathBuf,
    /// Clients hold this while one of them starts the daemon, so 50 concurrent hooks start one.
    pub spawn_lock: PathBuf,
    /// One line a daemon that fails at start leaves for the hook, which denies with it at once.
    pub start_error: PathBuf,
    /// `DASHCLAW_HOME` when set: everything lives beneath it.
    pub home: Option<PathBuf>,
}

impl Paths {
    /// Resolves the layout from the process environment.
    pub fn from_env() -> io::Result<Paths> {
        let home = std::env::var_os("DASHCLAW_HOME").filter(|v| !v.is_empty());
        Paths::resolve(home, std::env::var_os("XDG_RUNTIME_DIR"))
    }

    fn resolve(home: Option<OsString>, xdg_runtime: Option<OsString>) -> io::Result<Paths> {
        let home = home.map(|h| absolute(PathBuf::from(h))).transpose()?;
        let (config_file, state_dir, run_dir) = match &home {
            Some(home) => (
                home.join("config.toml"),
                home.join("state"),
                home.join("run"),
            ),
            None => {
                let dirs = directories::ProjectDirs::from("dev", "dashclaw", "dashclaw")
                    .ok_or_else(|| io::Error::other("cannot determine the home directory"))?;
                let state = dirs
                    .state_dir()
                    .unwrap_or_else(|| dirs.data_local_dir())
                    .to_path_buf();
                // `runtime_dir` needs XDG_RUNTIME_DIR; without it the socket lives in the state dir.
                let run = match (dirs.runtime_dir(), xdg_runtime) {
                    (Some(r), Some(_)) => r.to_path_buf(),
                    _ => state.join("run"),
                };
                (dirs.config_dir().join("config.toml"), state, run)
            }
        };
        let mut socket = run_dir.join("dashclawd.sock");
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            socket = short_socket_path(&run_dir);
        }
        Ok(Paths {
            policy_file: config_file.with_file_name("policies.toml"),
            config_file,
            log_dir: state_dir.join("logs"),
            spool_dir: state_dir.join("spool"),
            ledger_db: state_dir.join("ledger.db"),
            pid_file: run_dir.join("dashclawd.pid"),
            lock_file: run_dir.join("dashclawd.lock"),
            spawn_lock: run_dir.join("spawn.lock"),
            start_error: run_dir.join("daemon-start-error"),
            home,
            state_dir,
            run_dir,
            socket,
        })
    }

    /// Creates the state directories (0700) and the private run directory; verifies the run
    /// directory and, when the socket lives elsewhere, the socket's directory too.
    pub fn ensure_dirs(&self) -> io::Result<()> {
        for dir in [&self.state_dir, &self.log_dir, &self.spool_dir] {
            create_private_dir(dir)?;
        }
        create_private_dir(&self.run_dir)?;
        check_private_dir(&self.run_dir)?;
        if let Some(sock_dir) = self.socket.parent() {
            if sock_dir != self.run_dir {
                create_private_dir(sock_dir)?;
                check_private_dir(sock_dir)?;
            }
        }
        Ok(())
    }
}

fn absolute(p: PathBuf) -> io::Result<PathBuf> {
    if p.is_absolute() {
        Ok(p)
    } else {
        Ok(std::env::current_dir()?.join(p))
    }
}

/// A deterministic short socket path for deep homes: `/tmp/dashclaw-<uid>/<hash>.sock`.
fn short_socket_path(run_dir: &Path) -> PathBuf {
    // FNV-1a is enough to keep distinct homes apart; this is not a security boundary (the
    // directory's ownership and mode are).
    let mut h: u64 = 0xcbf29ce484222325;
    for b in run_dir.as_os_str().as_encoded_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    PathBuf::from(format!("/tmp/dashclaw-{}", euid())).join(format!("{h:016x}.sock"))
}

pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Creates `dir` (and parents) with mode 0700 if missing.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", dir.display())))
}

/// Refuses a directory that another user owns or that others can enter: whoever controls the
/// socket's directory could put a fake daemon there that allows everything.
pub fn check_private_dir(dir: &Path) -> io::Result<()> {
    let meta = fs::symlink_metadata(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
    if !meta.is_dir() {
        return Err(io::Error::other(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    if meta.uid() != euid() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} is owned by uid {}, not by you (uid {}); remove it or set DASHCLAW_HOME",
                dir.display(),
                meta.uid(),
                euid()
            ),
        ));
    }
    if meta.mode() & 0o077 != 0 {
        // Our own directory with loose permissions: tighten rather than refuse.
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// A path in the DashClaw tree that cannot be trusted: someone else could have planted or
/// rewritten what the daemon reads (policies, config) or redirected what it writes (the ledger).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsafe {
    pub path: PathBuf,
    pub why: String,
    pub fix: String,
}

impl std::fmt::Display for Unsafe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}; {}", self.path.display(), self.why, self.fix)
    }
}

impl std::error::Error for Unsafe {}

/// How deep [`Paths::check_tree`] goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// The roots, their ancestors and the top entries (config, policies, state, run): a
    /// handful of `lstat`s, cheap enough for every hook call.
    Hook,
    /// Also every file the daemon opens: the databases and their WAL files, spool, logs, run.
    Daemon,
}

impl Paths {
    /// The directories the tree hangs from: `DASHCLAW_HOME`, or the config, state and run
    /// directories of the platform layout.
    pub fn roots(&self) -> Vec<PathBuf> {
        match &self.home {
            Some(h) => vec![h.clone()],
            None => {
                let mut roots = Vec::new();
                for p in [
                    self.config_file.parent().map(Path::to_path_buf),
                    Some(self.state_dir.clone()),
                    Some(self.run_dir.clone()),
                ]
                .into_iter()
                .flatten()
                {
                    if !roots.iter().any(|r: &PathBuf| p.starts_with(r)) {
                        roots.push(p);
                    }
                }
                roots
            }
        }
    }

    /// Refuses a tree another user could have planted or can change: every root and each of
    /// its ancestors must belong to us or root and be writable by nobody else (a sticky
    /// directory such as /tmp excepted); every entry we use must be ours, not group or world
    /// writable, and not a symlink leading out of the tree. Missing entries are fine (we
    /// create them private).
    pub fn check_tree(&self, depth: Depth) -> Result<(), Unsafe> {
        let me = euid();
        let roots = self.roots();
        let mut real_roots = Vec::with_capacity(roots.len());
        for root in &roots {
            real_roots.push(check_root(root, me)?);
        }
        let mut entries: Vec<PathBuf> = vec![
            self.config_file.clone(),
            self.policy_file.clone(),
            self.state_dir.clone(),
            self.run_dir.clone(),
        ];
        if depth == Depth::Daemon {
            for dir in [&self.state_dir, &self.run_dir] {
                entries.extend(list_dir(dir));
            }
            for dir in [&self.spool_dir, &self.log_dir] {
                entries.extend(list_dir(dir));
            }
        }
        for entry in &entries {
            check_entry(entry, &real_roots, me)?;
        }
        Ok(())
    }
}

fn list_dir(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

/// Checks a root and its ancestors; returns the root's real path (symlinks resolved).
fn check_root(root: &Path, me: u32) -> Result<PathBuf, Unsafe> {
    // A root given as a symlink is the user's choice, but the link itself must be theirs.
    if let Ok(meta) = fs::symlink_metadata(root) {
        if meta.file_type().is_symlink() && meta.uid() != me && meta.uid() != 0 {
            return Err(Unsafe {
                path: root.to_path_buf(),
                why: format!("is a symlink owned by uid {}, not by you", meta.uid()),
                fix: "point DASHCLAW_HOME at a directory you own".into(),
            });
        }
    }
    // The nearest existing ancestor, resolved; the missing rest we create ourselves.
    let mut existing = root.to_path_buf();
    let mut missing = Vec::new();
    let real = loop {
        match fs::canonicalize(&existing) {
            Ok(r) => break r,
            Err(_) => match (existing.parent(), existing.file_name()) {
                (Some(parent), Some(name)) => {
                    missing.push(name.to_os_string());
                    existing = parent.to_path_buf();
                }
                _ => break existing.clone(),
            },
        }
    };
    let mut dir = Some(real.as_path());
    let mut first = true;
    while let Some(d) = dir {
        let Ok(meta) = fs::symlink_metadata(d) else {
            break;
        };
        let owner_ok = meta.uid() == me || meta.uid() == 0;
        let sticky = meta.mode() & 0o1000 != 0;
        // The root itself must be ours; its ancestors may be root's.
        let is_root = first && missing.is_empty();
        if is_root && meta.uid() != me {
            return Err(Unsafe {
                path: d.to_path_buf(),
                why: format!(
                    "belongs to uid {}, not to you (uid {me}): whoever owns it controls the policies DashClaw reads and where its ledger goes",
                    meta.uid()
                ),
                fix: "set DASHCLAW_HOME to a new directory you own (or remove this one)".into(),
            });
        }
        if !owner_ok {
            return Err(Unsafe {
                path: d.to_path_buf(),
                why: format!(
                    "(an ancestor of the DashClaw directory {}) belongs to uid {}, who could replace everything beneath it",
                    root.display(),
                    meta.uid()
                ),
                fix: "keep DashClaw's directories under a directory only you and root control".into(),
            });
        }
        if meta.mode() & 0o022 != 0 && (is_root || !sticky) {
            return Err(Unsafe {
                path: d.to_path_buf(),
                why: format!(
                    "is writable by {} (mode {:o}), so others could replace what DashClaw reads",
                    if meta.mode() & 0o002 != 0 {
                        "everyone"
                    } else {
                        "its group"
                    },
                    meta.mode() & 0o7777
                ),
                fix: format!("run `chmod go-w {}`", d.display()),
            });
        }
        first = false;
        dir = d.parent();
    }
    let mut full = real;
    for name in missing.into_iter().rev() {
        full.push(name);
    }
    Ok(full)
}

/// One file or directory of the tree.
fn check_entry(path: &Path, real_roots: &[PathBuf], me: u32) -> Result<(), Unsafe> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(_) => return Ok(()),
    };
    let meta = if meta.file_type().is_symlink() {
        let target = fs::canonicalize(path).map_err(|e| Unsafe {
            path: path.to_path_buf(),
            why: format!("is a symlink that does not resolve ({e})"),
            fix: format!("remove it: `rm {}`", path.display()),
        })?;
        if !real_roots.iter().any(|r| target.starts_with(r)) {
            return Err(Unsafe {
                path: path.to_path_buf(),
                why: format!(
                    "is a symlink leading out of the DashClaw directory (to {})",
                    target.display()
                ),
                fix: format!(
                    "remove the link (`rm {}`) so DashClaw recreates it privately",
                    path.display()
                ),
            });
        }
        fs::metadata(&target).map_err(|e| Unsafe {
            path: target.clone(),
            why: format!("cannot be read ({e})"),
            fix: "check its permissions".into(),
        })?
    } else {
        meta
    };
    if meta.uid() != me {
        return Err(Unsafe {
            path: path.to_path_buf(),
            why: format!(
                "belongs to uid {}, not to you (uid {me}), so it could have been planted",
                meta.uid()
            ),
            fix: format!(
                "check its content, then remove it or `chown {me} {}`",
                path.display()
            ),
        });
    }
    if meta.mode() & 0o022 != 0 {
        return Err(Unsafe {
            path: path.to_path_buf(),
            why: format!(
                "is writable by {} (mode {:o})",
                if meta.mode() & 0o002 != 0 {
                    "everyone"
                } else {
                    "its group"
                },
                meta.mode() & 0o7777
            ),
            fix: format!(
                "check its content, then run `chmod go-w {}`",
                path.display()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashclaw_home_puts_everything_beneath_it() {
        let p = Paths::resolve(Some("/srv/dc".into()), None).unwrap();
        assert_eq!(p.config_file, PathBuf::from("/srv/dc/config.toml"));
        assert_eq!(p.socket, PathBuf::from("/srv/dc/run/dashclawd.sock"));
        assert_eq!(p.ledger_db, PathBuf::from("/srv/dc/state/ledger.db"));
        assert_eq!(p.spool_dir, PathBuf::from("/srv/dc/state/spool"));
        assert_eq!(p.log_dir, PathBuf::from("/srv/dc/state/logs"));
    }

    #[test]
    fn deep_homes_get_a_short_socket_path() {
        let deep = format!("/{}", "d".repeat(150));
        let p = Paths::resolve(Some(deep.clone().into()), None).unwrap();
        assert!(p.socket.as_os_str().len() <= MAX_SOCKET_PATH);
        assert!(p.socket.starts_with(format!("/tmp/dashclaw-{}", euid())));
        // Stable for the same home, distinct for another.
        let again = Paths::resolve(Some(deep.clone().into()), None).unwrap();
        assert_eq!(p.socket, again.socket);
        let other = Paths::resolve(Some(format!("/{}", "e".repeat(150)).into()), None).unwrap();
        assert_ne!(p.socket, other.socket);
        // Lock and pid files have no length limit and stay beneath the home.
        assert!(p.lock_file.starts_with(&deep));
    }

    #[test]
    fn a_directory_others_can_enter_is_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        fs::create_dir(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        check_private_dir(&dir).unwrap();
        assert_eq!(fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    }

    fn home() -> (tempfile::TempDir, Paths) {
        let tmp = tempfile::tempdir().unwrap();
        let p = Paths::resolve(Some(tmp.path().join("dc").into()), None).unwrap();
        p.ensure_dirs().unwrap();
        (tmp, p)
    }

    #[test]
    fn a_private_home_passes_and_a_missing_one_too() {
        let (_t, p) = home();
        p.check_tree(Depth::Daemon).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let fresh = Paths::resolve(Some(tmp.path().join("a/b").into()), None).unwrap();
        fresh.check_tree(Depth::Hook).unwrap();
    }

    #[test]
    fn writable_files_and_dirs_are_refused_with_the_fix() {
        let (_t, p) = home();
        fs::write(&p.policy_file, "").unwrap();
        fs::set_permissions(&p.policy_file, fs::Permissions::from_mode(0o664)).unwrap();
        let e = p.check_tree(Depth::Hook).unwrap_err();
        assert_eq!(e.path, p.policy_file);
        assert!(e.to_string().contains("chmod go-w"), "{e}");
        fs::set_permissions(&p.policy_file, fs::Permissions::from_mode(0o644)).unwrap();
        let home = p.home.clone().unwrap();
        fs::set_permissions(&home, fs::Permissions::from_mode(0o777)).unwrap();
        let e = p.check_tree(Depth::Hook).unwrap_err();
        assert_eq!(e.path, home);
    }

    #[test]
    fn symlinks_out_of_the_tree_are_refused_inside_it_allowed() {
        let (t, p) = home();
        let elsewhere = t.path().join("elsewhere");
        fs::create_dir(&elsewhere).unwrap();
        fs::remove_dir_all(&p.run_dir).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &p.run_dir).unwrap();
        let e = p.check_tree(Depth::Hook).unwrap_err();
        assert!(e.why.contains("out of the DashClaw directory"), "{e}");
        fs::remove_file(&p.run_dir).unwrap();
        let inside = p.home.clone().unwrap().join("run-real");
        fs::create_dir(&inside).unwrap();
        std::os::unix::fs::symlink(&inside, &p.run_dir).unwrap();
        p.check_tree(Depth::Hook).unwrap();
        // A database linked elsewhere is caught by the daemon's deeper check.
        let db = t.path().join("ledger.db");
        fs::write(&db, "").unwrap();
        std::os::unix::fs::symlink(&db, &p.ledger_db).unwrap();
        p.check_tree(Depth::Hook).unwrap();
        assert!(p.check_tree(Depth::Daemon).is_err());
    }
}
