//! The MCP server's line to the daemon: one control request per guard or record, over the same
//! socket (and the same peer checks) as the hooks. A missing daemon is started the way a hook
//! starts it.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::paths::{self, Paths};
use crate::protocol::{self, Request, Response};

/// How long a guard may take in the daemon (the server's guard and its retries included).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(120);
/// How long to wait for an auto-started daemon's socket.
const START_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends `cmd` with `body` and returns the daemon's JSON answer. `Err` names the cause.
pub fn call(paths: &Paths, cmd: &str, body: &Value) -> Result<Value, String> {
    let mut stream = connect_or_start(paths)?;
    stream
        .set_read_timeout(Some(ANSWER_TIMEOUT))
        .map_err(|e| format!("socket: {e}"))?;
    let mut req = Request::new(body.to_string().into_bytes());
    req.set("control", cmd);
    protocol::write_frame(&mut stream, &req.encode())
        .map_err(|e| format!("cannot send the request to dashclawd: {e}"))?;
    loop {
        match Response::read_from(&mut stream, protocol::VERSION) {
            Ok(Response::Final(r)) => {
                return serde_json::from_slice(&r.stdout)
                    .map_err(|e| format!("dashclawd sent an unreadable answer: {e}"))
            }
            Ok(Response::Hold { .. }) => continue,
            Ok(Response::Reject(msg)) => return Err(format!("dashclawd refused: {msg}")),
            Err(e) => return Err(format!("no answer from dashclawd: {e}")),
        }
    }
}

fn connect(paths: &Paths) -> io::Result<UnixStream> {
    // A socket another user owns could answer anything: refuse it, as the hook client does.
    let meta = std::fs::metadata(&paths.socket)?;
    if meta.uid() != paths::euid() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} belongs to uid {}, not to us",
                paths.socket.display(),
                meta.uid()
            ),
        ));
    }
    UnixStream::connect(&paths.socket)
}

fn connect_or_start(paths: &Paths) -> Result<UnixStream, String> {
    match connect(paths) {
        Ok(s) => return Ok(s),
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            return Err(format!("refusing the daemon socket: {e}"))
        }
        Err(_) => {}
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find dashclawd: {e}"))?;
    paths
        .ensure_dirs()
        .map_err(|e| format!("cannot create the DashClaw directories: {e}"))?;
    // The hooks' spawn lock: whoever holds it is starting the daemon; the others only wait.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&paths.spawn_lock)
        .map_err(|e| format!("cannot open {}: {e}", paths.spawn_lock.display()))?;
    if lock.try_lock().is_ok() && connect(paths).is_err() {
        let mut cmd = Command::new(exe);
        cmd.args(["run", "--auto-started"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: setsid is async-signal-safe; the daemon leaves the agent's session, so the
        // agent stopping its MCP server does not stop the daemon the hooks share.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                Ok(())
            });
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start dashclawd: {e}"))?;
        // We outlive an idle daemon: reap it when it exits.
        std::thread::spawn(move || {
            let _ = child.wait();
        });
    }
    let deadline = Instant::now() + START_TIMEOUT;
    let _lock = lock;
    loop {
        match connect(paths) {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() >= deadline => {
                return Err(format!(
                    "dashclawd did not come up within {}s ({e}); see `dashclawd status`",
                    START_TIMEOUT.as_secs()
                ))
            }
            Err(_) => std::thread::sleep(Duration::from_millis(25)),
        }
    }
}

/// The daemon's `status` control answer, if it is running (never starts it).
pub fn status(paths: &Paths) -> Option<Value> {
    let mut stream = connect(paths).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let mut req = Request::new(Vec::new());
    req.set("control", "status");
    protocol::write_frame(&mut stream, &req.encode()).ok()?;
    match Response::read_from(&mut stream, protocol::VERSION).ok()? {
        Response::Final(r) => serde_json::from_slice(&r.stdout).ok(),
        _ => None,
    }
}
