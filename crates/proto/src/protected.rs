//! Protected mode: the daemon runs as a dedicated system user under a system service, and the
//! hook of every agent user talks to it through a group-reachable socket.
//!
//! `dashclawd install --protected` writes `hook.conf`, a root-owned file that tells the hook
//! where the daemon's socket is and which uid the daemon runs as. The hook looks for it at
//! `/etc/dashclaw/hook.conf`, then beside its own binary (`dashclaw-hook.conf`, for installs
//! under another prefix); only a file owned by root and writable by nobody else counts, and
//! when it counts no environment variable changes anything it says. The hook then trusts the
//! peer by uid (an agent user can neither run as the service user nor read its
//! `/proc/<pid>/exe`), never auto-starts a daemon and never writes a spool.
//!
//! The daemon is told by its service (`DASHCLAW_PROTECTED=<path of hook.conf>`, in the unit
//! root wrote) and then binds the configured socket for the agents' group (0660), records each
//! caller's uid, and accepts stop only from root, its own uid or the operators' group.
//!
//! Std only: the hook links this.

use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Where the installer writes the hook configuration.
pub const HOOK_CONF: &str = "/etc/dashclaw/hook.conf";
/// The same beside the hook binary, for installs under another prefix.
pub const BESIDE_HOOK: &str = "dashclaw-hook.conf";
/// The daemon's environment variable naming the configuration (set by the system service).
pub const DAEMON_ENV: &str = "DASHCLAW_PROTECTED";

/// What `hook.conf` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conf {
    /// The daemon's socket.
    pub socket: PathBuf,
    /// The uid the daemon runs as; the hook trusts only a peer with this uid.
    pub daemon_uid: u32,
    /// The group whose members may connect (agent users).
    pub socket_gid: u32,
    /// Members of this group may stop the daemon (with root and the daemon's own uid).
    pub operator_gid: Option<u32>,
    /// The daemon's DASHCLAW_HOME (state, ledger, approvals), private to the service user.
    pub home: PathBuf,
    /// The file this was read from.
    pub path: PathBuf,
}

impl Conf {
    /// Parses `key = value` lines; `#` starts a comment. Unknown keys are errors, so a typo
    /// cannot silently fall back to something weaker.
    pub fn parse(text: &str, path: &Path) -> Result<Conf, String> {
        let (mut socket, mut uid, mut gid, mut op, mut home) = (None, None, None, None, None);
        for (n, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(format!(
                    "{} line {}: expected key = value",
                    path.display(),
                    n + 1
                ));
            };
            let (k, v) = (k.trim(), v.trim().trim_matches('"'));
            let num = |v: &str| {
                v.parse::<u32>()
                    .map_err(|_| format!("{} line {}: {k} must be a number", path.display(), n + 1))
            };
            match k {
                "socket" => socket = Some(PathBuf::from(v)),
                "daemon_uid" => uid = Some(num(v)?),
                "socket_gid" => gid = Some(num(v)?),
                "operator_gid" => op = Some(num(v)?),
                "home" => home = Some(PathBuf::from(v)),
                other => {
                    return Err(format!(
                        "{} line {}: unknown key '{other}'",
                        path.display(),
                        n + 1
                    ))
                }
            }
        }
        let missing = |k: &str| format!("{} has no '{k}'", path.display());
        let socket = socket.ok_or_else(|| missing("socket"))?;
        let home = home.ok_or_else(|| missing("home"))?;
        if !socket.is_absolute() || !home.is_absolute() {
            return Err(format!(
                "{}: socket and home must be absolute paths",
                path.display()
            ));
        }
        Ok(Conf {
            socket,
            daemon_uid: uid.ok_or_else(|| missing("daemon_uid"))?,
            socket_gid: gid.ok_or_else(|| missing("socket_gid"))?,
            operator_gid: op,
            home,
            path: path.to_path_buf(),
        })
    }

    /// The text the installer writes.
    pub fn render(&self) -> String {
        let mut s = format!(
            "# DashClaw protected mode: written by `dashclawd install --protected`. Root-owned;\n\
             # the hook trusts only the daemon described here and ignores DASHCLAW_* variables.\n\
             socket = {}\n\
             daemon_uid = {}\n\
             socket_gid = {}\n\
             home = {}\n",
            self.socket.display(),
            self.daemon_uid,
            self.socket_gid,
            self.home.display()
        );
        if let Some(op) = self.operator_gid {
            s.push_str(&format!("operator_gid = {op}\n"));
        }
        s
    }
}

/// The hook's view: `Ok(None)` in user mode, the configuration in protected mode, and an error
/// (a deny) when a configuration exists but cannot be trusted or read: a protected install must
/// not degrade to user mode because someone broke its file.
pub fn for_hook() -> Result<Option<Conf>, String> {
    let mut candidates = vec![PathBuf::from(HOOK_CONF)];
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        candidates.push(dir.join(BESIDE_HOOK));
    }
    for path in candidates {
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let trusted = meta.is_file() && meta.uid() == 0 && meta.mode() & 0o022 == 0;
        if !trusted {
            if path == Path::new(HOOK_CONF) {
                return Err(format!(
                    "{} is not a root-owned file writable only by root, so protected mode cannot trust it; an administrator must fix it (`chown root:root`, `chmod 644`)",
                    path.display()
                ));
            }
            // Beside a user-owned hook: a user-mode install; the file means nothing.
            continue;
        }
        let mut text = String::new();
        std::fs::File::open(&path)
            .and_then(|f| f.take(64 * 1024).read_to_string(&mut text))
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        return Conf::parse(&text, &path).map(Some);
    }
    Ok(None)
}

/// The daemon's view: the configuration its service names, if any.
pub fn for_daemon() -> Result<Option<Conf>, String> {
    let Some(path) = std::env::var_os(DAEMON_ENV).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let path = PathBuf::from(path);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {} ({DAEMON_ENV}): {e}", path.display()))?;
    Conf::parse(&text, &path).map(Some)
}

/// The groups (primary and supplementary) of process `pid`, from `/proc/<pid>/status`.
pub fn process_groups(pid: i32) -> io::Result<Vec<u32>> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let mut groups = Vec::new();
    for line in status.lines() {
        if let Some(rest) = line.strip_prefix("Gid:") {
            // real, effective, saved, filesystem: the effective one counts.
            if let Some(g) = rest.split_whitespace().nth(1).and_then(|g| g.parse().ok()) {
                groups.push(g);
            }
        } else if let Some(rest) = line.strip_prefix("Groups:") {
            groups.extend(
                rest.split_whitespace()
                    .filter_map(|g| g.parse::<u32>().ok()),
            );
        }
    }
    Ok(groups)
}

/// The home directory of `uid` from the user database.
pub fn home_of(uid: u32) -> Option<String> {
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid out-parameter; getpwuid_r fills it with pointers
    // into `buf`, which outlives every use below.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: buffer and out-pointers are valid for the sizes given.
    let rc = unsafe {
        libc::getpwuid_r(
            uid,
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() || pwd.pw_dir.is_null() {
        return None;
    }
    // SAFETY: pw_dir points to a NUL-terminated string inside `buf`.
    let dir = unsafe { std::ffi::CStr::from_ptr(pwd.pw_dir) };
    Some(dir.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strict_keys() {
        let c = Conf {
            socket: "/run/dashclaw/dashclawd.sock".into(),
            daemon_uid: 990,
            socket_gid: 991,
            operator_gid: Some(992),
            home: "/var/lib/dashclaw".into(),
            path: "/etc/dashclaw/hook.conf".into(),
        };
        let back = Conf::parse(&c.render(), Path::new("/etc/dashclaw/hook.conf")).unwrap();
        assert_eq!(back, c);
        let p = Path::new("x");
        assert!(Conf::parse(
            "socket = /s\nhome=/h\ndaemon_uid=1\nsocket_gid=2\nmode=open\n",
            p
        )
        .unwrap_err()
        .contains("unknown key 'mode'"));
        assert!(Conf::parse("socket = s\nhome=/h\ndaemon_uid=1\nsocket_gid=2\n", p).is_err());
        assert!(Conf::parse("socket = /s\nhome=/h\nsocket_gid=2\n", p)
            .unwrap_err()
            .contains("daemon_uid"));
    }

    #[test]
    fn root_has_a_home() {
        assert!(home_of(0).is_some_and(|h| h.starts_with('/')));
    }

    #[test]
    fn our_groups_are_read() {
        let groups = process_groups(std::process::id() as i32).unwrap();
        // SAFETY: getegid cannot fail.
        assert!(groups.contains(&unsafe { libc::getegid() }));
    }
}
