//! Reading a script the command is about to run (script-then-execute, upstream §4.5).
//!
//! Bounded: only regular files, at most [`MAX_SCRIPT`] bytes, opened non-blocking so a FIFO
//! swapped in after the check cannot stall the daemon.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;

pub(crate) const MAX_SCRIPT: u64 = 256 * 1024;

pub(crate) fn read(path: &str) -> Result<String, &'static str> {
    let meta = std::fs::metadata(path).map_err(|_| "missing")?;
    if !meta.is_file() {
        return Err("not a regular file");
    }
    if meta.len() > MAX_SCRIPT {
        return Err("too large");
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|_| "unreadable")?;
    let meta = file.metadata().map_err(|_| "unreadable")?;
    if !meta.is_file() {
        return Err("not a regular file");
    }
    let mut buf = Vec::new();
    File::take(file, MAX_SCRIPT + 1)
        .read_to_end(&mut buf)
        .map_err(|_| "unreadable")?;
    if buf.len() as u64 > MAX_SCRIPT {
        return Err("too large");
    }
    // A compiled program (`/bin/sh` is dash) is not a script: nothing here to read.
    if buf[..buf.len().min(8192)].contains(&0) {
        return Err("binary");
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Shell by extension (`.sh`, `.bash`, …), by shebang, or by having no extension and no other
/// shebang.
pub(crate) fn is_shell_script(path: &str, content: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    let first = content.lines().next().unwrap_or("");
    if let Some(bang) = first.strip_prefix("#!") {
        let prog = bang
            .split_whitespace()
            .flat_map(|w| w.rsplit('/').next())
            .find(|w| *w != "env" && !w.starts_with('-'))
            .unwrap_or("");
        return matches!(
            prog,
            "sh" | "bash" | "zsh" | "dash" | "ksh" | "ash" | "mksh"
        );
    }
    match base.rsplit_once('.') {
        Some((_, ext)) => matches!(ext, "sh" | "bash" | "zsh" | "ksh" | "command"),
        None => true,
    }
}

/// A raw disk device written by an interpreter script (upstream grades it 100).
pub(crate) fn writes_raw_device(content: &str) -> bool {
    [
        "/dev/sd",
        "/dev/nvme",
        "/dev/hd",
        "/dev/vd",
        "/dev/xvd",
        "/dev/mmcblk",
        "/dev/disk",
        "PhysicalDrive",
    ]
    .iter()
    .any(|d| content.contains(d))
}
