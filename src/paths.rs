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
}

impl Paths {
    /// Resolves the layout from the process environment.
    pub fn from_env() -> io::Result<Paths> {
        let home = std::env::var_os("DASHCLAW_HOME").filter(|v| !v.is_empty());
        Paths::resolve(home, std::env::var_os("XDG_RUNTIME_DIR"))
    }

    fn resolve(home: Option<OsString>, xdg_runtime: Option<OsString>) -> io::Result<Paths> {
        let (config_file, state_dir, run_dir) = match home {
            Some(home) => {
                let home = absolute(PathBuf::from(home))?;
                (
                    home.join("config.toml"),
                    home.join("state"),
                    home.join("run"),
                )
            }
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
}
