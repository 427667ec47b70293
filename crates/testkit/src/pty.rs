//! Pseudo-terminal helpers: run a command with a pty as its controlling terminal, as a person's
//! shell would (and as an attacker who drives a terminal would), and answer its prompts.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Runs `cmd` on a fresh pseudo-terminal as its controlling terminal, like a person's shell
/// would. `answer` sees the output so far and returns the line to type, once.
pub fn run_in_pty(cmd: Command, answer: impl Fn(&str) -> Option<String>) -> (ExitStatus, String) {
    let mut answered = false;
    run_in_pty_answering(cmd, |out| {
        if answered {
            return None;
        }
        let line = answer(out)?;
        answered = true;
        Some(line)
    })
}

/// Like [`run_in_pty`], but `answer` is asked again after each line it types, with the output
/// since that line: for a sequence of prompts.
pub fn run_in_pty_answering(
    mut cmd: Command,
    mut answer: impl FnMut(&str) -> Option<String>,
) -> (ExitStatus, String) {
    let (mut master, slave) = openpty();
    let stdio = |fd: &OwnedFd| Stdio::from(fd.try_clone().unwrap());
    cmd.stdin(stdio(&slave))
        .stdout(stdio(&slave))
        .stderr(stdio(&slave));
    // SAFETY: setsid and ioctl are async-signal-safe; they make the pty the controlling
    // terminal of the new session, as a login shell has.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    // The Command holds copies of the slave fd: once it and ours are closed, the reader sees
    // EIO exactly when the child has exited and everything it wrote has been read.
    drop(cmd);
    drop(slave);
    let (tx, rx) = mpsc::channel();
    let mut reader = master.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut out = String::new();
    let mut since = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(chunk) => out.push_str(&String::from_utf8_lossy(&chunk)),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        if let Some(line) = answer(&out[since..]) {
            master.write_all(format!("{line}\n").as_bytes()).unwrap();
            since = out.len();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("timed out; output so far:\n{out}");
        }
    }
    (child.wait().unwrap(), out.replace("\r\n", "\n"))
}

pub fn openpty() -> (File, OwnedFd) {
    let (mut master, mut slave) = (-1, -1);
    // SAFETY: openpty writes two fds into the given ints; null name/termios/winsize are allowed.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // Tests run in parallel: another test's child must not inherit these and keep the pty open.
    for fd in [master, slave] {
        // SAFETY: fcntl on fds we own.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // SAFETY: both fds were just opened and are owned by nobody else.
    unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) }
}

/// The code the prompt asks for.
pub fn challenge(out: &str) -> Option<String> {
    let rest = out.split("type the code ").nth(1)?;
    rest.contains("press Enter")
        .then(|| rest.split_whitespace().next().unwrap().to_string())
}
