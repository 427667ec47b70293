//! Who is on the other end of a connection, beyond its uid: control requests (stop, and any
//! later reload or policy change) are honoured only from our own executable run as an admin
//! command, never from an arbitrary process of the same user (a script writing `control stop`
//! to the socket, then binding an impostor in our place).

use std::os::unix::fs::MetadataExt;

/// Whether process `pid` runs the same executable file as this daemon (same device and inode,
/// so a copy or a rebuilt binary at the same path does not count).
///
/// After an upgrade replaced our file, the new `dashclawd` at the same path counts too, so
/// `dashclawd stop` can retire the old daemon: whoever can write that path controls the hook
/// binary beside it anyway.
pub fn runs_our_executable(pid: i32) -> Result<bool, String> {
    let ours = own_identity().map_err(|e| format!("cannot identify our own executable: {e}"))?;
    let theirs = exe_identity(pid)
        .map_err(|e| format!("cannot identify the executable of pid {pid}: {e}"))?;
    if ours == theirs {
        return Ok(true);
    }
    Ok(replaced_by(pid))
}

/// Whether our executable was replaced on disk and `pid` runs what is at its path now.
#[cfg(target_os = "linux")]
fn replaced_by(pid: i32) -> bool {
    let Ok(ours) = std::fs::read_link("/proc/self/exe") else {
        return false;
    };
    let ours = ours.to_string_lossy();
    let Some(path) = ours.strip_suffix(" (deleted)") else {
        return false;
    };
    let (Ok(theirs), Ok(now)) = (
        std::fs::read_link(format!("/proc/{pid}/exe")),
        std::fs::metadata(path),
    ) else {
        return false;
    };
    theirs.as_os_str() == std::ffi::OsStr::new(path)
        && exe_identity(pid).is_ok_and(|id| id == (now.dev(), now.ino()))
}

#[cfg(not(target_os = "linux"))]
fn replaced_by(_pid: i32) -> bool {
    false
}

/// The path of what pid runs, for messages.
pub fn exe_name(pid: i32) -> String {
    #[cfg(target_os = "linux")]
    {
        std::fs::read_link(format!("/proc/{pid}/exe"))
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "an unknown executable".into())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        "an unknown executable".into()
    }
}

#[cfg(target_os = "linux")]
fn own_identity() -> std::io::Result<(u64, u64)> {
    let m = std::fs::metadata("/proc/self/exe")?;
    Ok((m.dev(), m.ino()))
}

#[cfg(target_os = "linux")]
fn exe_identity(pid: i32) -> std::io::Result<(u64, u64)> {
    let m = std::fs::metadata(format!("/proc/{pid}/exe"))?;
    Ok((m.dev(), m.ino()))
}

#[cfg(target_os = "macos")]
fn own_identity() -> std::io::Result<(u64, u64)> {
    let m = std::fs::metadata(std::env::current_exe()?)?;
    Ok((m.dev(), m.ino()))
}

#[cfg(target_os = "macos")]
fn exe_identity(pid: i32) -> std::io::Result<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let mut buf = vec![0u8; libc::PROC_PIDPATHINFO_MAXSIZE as usize];
    // SAFETY: proc_pidpath writes at most the buffer size and returns the length written.
    let n = unsafe { libc::proc_pidpath(pid, buf.as_mut_ptr().cast(), buf.len() as u32) };
    if n <= 0 {
        return Err(std::io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    let m = std::fs::metadata(std::ffi::OsStr::from_bytes(&buf))?;
    Ok((m.dev(), m.ino()))
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn own_identity() -> std::io::Result<(u64, u64)> {
    Err(std::io::Error::other("unsupported platform"))
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn exe_identity(_pid: i32) -> std::io::Result<(u64, u64)> {
    Err(std::io::Error::other("unsupported platform"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn we_run_our_executable_and_a_child_shell_does_not() {
        assert!(runs_our_executable(std::process::id() as i32).unwrap());
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let theirs = runs_our_executable(child.id() as i32);
        let _ = child.kill();
        let _ = child.wait();
        assert!(!theirs.unwrap());
    }
}
