//! `dashclaw-hook`: the process the agent starts for every hook event.
//!
//! It must start fast and never fail open, so it is std-only apart from `libc`: read stdin
//! (bounded), frame it, send it over the Unix socket, print what the daemon rendered. On a gating
//! event (pre-tool-use) every failure is a deny: exit 2 with one line on stderr saying what failed
//! and how to fix it. On the other events the agent must never be blocked, but nothing is lost: an
//! event the daemon did not acknowledge goes to the spool, which the daemon drains when it starts.
//!
//! An interval timer enforces the client's own deadline (deadline.rs), so a hung daemon, a stdin
//! that never closes or anything else that stalls still ends in a deny well before the agent's
//! hook timeout (which would fail open).

use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dashclaw_proto::event::{Agent, EventKind};
use dashclaw_proto::paths::{self, Paths};
use dashclaw_proto::protected;
use dashclaw_proto::protocol::{self, field, ProtoError, Request, Response};

mod deadline;

/// Default deadline for a gating event; the installer sets the agent's hook timeout well above.
const DEFAULT_DEADLINE_MS: u64 = 10_000;
/// Non-gating events wait this long for the daemon before falling back to the spool.
const DEFAULT_RECORD_DEADLINE_MS: u64 = 2_000;
/// Upper bound on what a daemon `Hold` may extend the deadline to (an approval wait).
const DEFAULT_MAX_HOLD_MS: u64 = 3_600_000;
const PREFIX: &str = "[DashClaw]";

/// Absolute deadline in Unix milliseconds; a daemon `Hold` moves it.
static DEADLINE_MS: AtomicU64 = AtomicU64::new(u64::MAX);
/// The request, kept so a failure on the main thread can spool it (a record event) or spool a
/// record of its own deny (a gating event); the deadline's handler has its own prepared copy.
static PENDING: OnceLock<Mutex<Option<Request>>> = OnceLock::new();
/// Start of this invocation, Unix ms (a daemon start error older than this is stale).
static STARTED_MS: AtomicU64 = AtomicU64::new(0);

struct Invocation {
    agent: Agent,
    event: EventKind,
    deadline_ms: u64,
    max_hold_ms: u64,
}

/// Entry point of the `dashclaw-hook` binary.
pub fn main() -> ! {
    let t0 = now_ms_f();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let inv = match parse_args(&args) {
        Ok(inv) => inv,
        Err(Usage::Print(text)) => {
            print!("{text}");
            std::process::exit(0)
        }
        Err(Usage::Bad(msg)) => {
            // A broken hook command is an installation error: refuse rather than guess, even for
            // events that normally never block, so it gets noticed.
            deny_exit(&format!(
                "{msg}. Usage: dashclaw-hook <claude|codex|hermes|openclaw> <pre-tool-use|post-tool-use|stop|session-start|session-end|user-prompt-submit>"
            ));
        }
    };
    let gating = inv.event.is_gating();
    STARTED_MS.store(t0 as u64, Ordering::SeqCst);
    DEADLINE_MS.store(t0 as u64 + inv.deadline_ms, Ordering::SeqCst);
    deadline::install(deadline_answer(gating, None));
    deadline::arm(inv.deadline_ms);

    let body = match read_stdin_bounded(protocol::MAX_BODY) {
        Ok(b) => b,
        Err(StdinError::TooLarge) => {
            if gating {
                fail(
                    gating,
                    &format!(
                        "the hook input exceeds {} MiB, so this call was not governed; split the change into smaller steps",
                        protocol::MAX_BODY >> 20
                    ),
                );
            }
            // A record event too large to forward is noted rather than silently dropped.
            br#"{"dashclaw_note":"hook input exceeded the size limit and was dropped"}"#.to_vec()
        }
        Err(StdinError::Io(e)) => fail(
            gating,
            &format!("cannot read the hook input from stdin: {e}"),
        ),
    };
    if body.iter().all(u8::is_ascii_whitespace) {
        if gating {
            fail(
                gating,
                "the hook received an empty payload on stdin, so this call was not governed; check the hook command in the agent's settings",
            );
        }
        answer_and_exit(0, b"", b"");
    }

    let mut req = Request::new(body);
    req.set(field::AGENT, inv.agent.as_str());
    req.set(field::EVENT, inv.event.as_str());
    if let Ok(cwd) = std::env::current_dir() {
        req.set(field::CWD, cwd.to_string_lossy());
    }
    req.set(field::PID, std::process::id().to_string());
    req.set(field::CLIENT_START_US, format!("{}", (t0 * 1000.0) as u64));
    req.set(field::EVENT_ID, event_id(t0));
    protocol::forward_env(&mut req);
    let frame = req.encode();
    *pending().lock().unwrap_or_else(|p| p.into_inner()) = Some(req);

    // Protected mode: a root-owned configuration says where the daemon is; nothing in our
    // environment can change that, and nothing is written on the agent user's side.
    let stream = match protected::for_hook() {
        Ok(Some(conf)) => {
            pending().lock().unwrap_or_else(|p| p.into_inner()).take();
            connect_protected(&conf)
        }
        Ok(None) => connect_user_mode(gating),
        Err(msg) => {
            pending().lock().unwrap_or_else(|p| p.into_inner()).take();
            fail(gating, &msg)
        }
    };
    let answer = stream.and_then(|s| exchange(s, &frame, inv.max_hold_ms));
    match answer {
        Ok(Answer::Final(r)) => {
            if gating {
                if let Err(why) = check_gating_answer(&r) {
                    fail(gating, &why);
                }
            }
            answer_and_exit(r.exit_code, &r.stdout, &r.stderr)
        }
        Ok(Answer::Reject(msg)) => fail(gating, &msg),
        Err(msg) => fail(gating, &msg),
    }
}

/// User mode: our own daemon beneath our own (checked) DashClaw directory, started on demand.
fn connect_user_mode(gating: bool) -> Result<UnixStream, String> {
    let paths = match Paths::from_env() {
        Ok(p) => p,
        Err(e) => fail(
            gating,
            &format!("cannot resolve the DashClaw state directory: {e}"),
        ),
    };
    // A home someone else planted or can change decides nothing (its policies, its ledger).
    if let Err(e) = paths.check_tree(paths::Depth::Hook) {
        // Nothing goes to a spool in a tree we do not trust.
        pending().lock().unwrap_or_else(|p| p.into_inner()).take();
        fail(
            gating,
            &format!("the DashClaw directory is not safe to use: {e}"),
        );
    }
    if let Some(req) = pending().lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
        deadline::set_answer(deadline_answer(gating, Some((req, &paths))));
    }
    connect(&paths)
}

/// Protected mode: the system service's socket; the peer must run as the service's uid and
/// the socket's directory must be root's or the service's, so no agent user can put a socket
/// there. Never starts a daemon: the service manager does.
fn connect_protected(conf: &protected::Conf) -> Result<UnixStream, String> {
    if let Some(dir) = conf.socket.parent() {
        let meta = std::fs::metadata(dir).map_err(|e| {
            format!(
                "the protected dashclawd service is not running ({}: {e}); ask an administrator to start it (`systemctl start dashclawd`)",
                dir.display()
            )
        })?;
        if (meta.uid() != 0 && meta.uid() != conf.daemon_uid) || meta.mode() & 0o022 != 0 {
            return Err(format!(
                "the socket directory {} is not controlled by root or the DashClaw service (owner uid {}, mode {:o}); refusing to trust it",
                dir.display(),
                meta.uid(),
                meta.mode() & 0o7777
            ));
        }
    }
    let stream = UnixStream::connect(&conf.socket).map_err(|e| {
        format!(
            "cannot reach the protected dashclawd service at {} ({e}); ask an administrator to check it (`systemctl status dashclawd`)",
            conf.socket.display()
        )
    })?;
    let uid = peer_uid(&stream).map_err(|e| {
        format!(
            "cannot identify the process behind {}: {e}",
            conf.socket.display()
        )
    })?;
    if uid != conf.daemon_uid {
        return Err(format!(
            "the process answering on {} runs as uid {uid}, not as the DashClaw service (uid {}, {}); refusing to trust it",
            conf.socket.display(),
            conf.daemon_uid,
            conf.path.display()
        ));
    }
    Ok(stream)
}

/// Only two answers to a gating event mean anything: exit 0 (allow; stdout empty or the agent's
/// JSON) and exit 2 with a reason. Agents treat every other exit code, and a deny without a
/// reason, as "the hook failed, go ahead", so those become our deny.
fn check_gating_answer(r: &protocol::Rendered) -> Result<(), String> {
    let blank = |b: &[u8]| b.iter().all(u8::is_ascii_whitespace);
    if !blank(&r.stdout) && !json::is_valid(&r.stdout) {
        return Err(format!(
            "dashclawd answered exit {} with output that is not valid JSON, so the answer was not trusted",
            r.exit_code
        ));
    }
    match r.exit_code {
        0 => Ok(()),
        2 if !blank(&r.stderr) => Ok(()),
        2 => Err(
            "dashclawd answered deny (exit 2) without a reason, so the answer was not trusted"
                .into(),
        ),
        n => Err(format!(
            "dashclawd answered exit {n}, which is neither allow (0) nor deny (2)"
        )),
    }
}

enum Usage {
    Print(String),
    Bad(String),
}

fn parse_args(args: &[String]) -> Result<Invocation, Usage> {
    let mut positional = Vec::new();
    let mut deadline = env_u64("DASHCLAW_HOOK_DEADLINE_MS");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--version" | "-V" => {
                return Err(Usage::Print(format!(
                    "dashclaw-hook {} (protocol v{})\n",
                    env!("CARGO_PKG_VERSION"),
                    protocol::VERSION
                )))
            }
            "--help" | "-h" => {
                return Err(Usage::Print(
                    "dashclaw-hook <agent> <event> [--deadline-ms N]\n\
                     Reads the agent's hook JSON on stdin, asks dashclawd, prints the verdict.\n\
                     agents: claude codex hermes openclaw\n\
                     events: pre-tool-use post-tool-use stop session-start session-end user-prompt-submit\n"
                        .into(),
                ))
            }
            "--deadline-ms" => {
                deadline = it.next().and_then(|v| v.parse().ok());
                if deadline.is_none() {
                    return Err(Usage::Bad("--deadline-ms needs a number".into()));
                }
            }
            other => positional.push(other),
        }
    }
    let [agent, event] = positional[..] else {
        return Err(Usage::Bad(format!(
            "expected 2 arguments, got {}",
            positional.len()
        )));
    };
    let agent =
        Agent::parse(agent).ok_or_else(|| Usage::Bad(format!("unknown agent '{agent}'")))?;
    let event =
        EventKind::parse(event).ok_or_else(|| Usage::Bad(format!("unknown event '{event}'")))?;
    let default = if event.is_gating() {
        DEFAULT_DEADLINE_MS
    } else {
        DEFAULT_RECORD_DEADLINE_MS
    };
    Ok(Invocation {
        agent,
        event,
        deadline_ms: deadline.unwrap_or(default).max(1),
        max_hold_ms: env_u64("DASHCLAW_HOOK_MAX_HOLD_MS").unwrap_or(DEFAULT_MAX_HOLD_MS),
    })
}

enum Answer {
    Final(protocol::Rendered),
    Reject(String),
}

/// Sends the frame and reads the answer.
fn exchange(mut stream: UnixStream, frame: &[u8], max_hold_ms: u64) -> Result<Answer, String> {
    let _ = stream.set_write_timeout(Some(remaining()));
    if let Err(e) = protocol::write_frame(&mut stream, frame) {
        // A daemon that refuses us answers and hangs up without reading: its reason is still
        // in the socket, and it says more than the broken pipe.
        let _ = stream.set_read_timeout(Some(remaining().min(Duration::from_millis(200))));
        if let Ok(Response::Reject(msg)) = Response::read_from(&mut &stream, protocol::VERSION) {
            return Ok(Answer::Reject(msg));
        }
        return Err(format!(
            "sending the event to dashclawd failed ({e}); see `dashclawd status` and its log"
        ));
    }
    let hold_cap = now_ms() + max_hold_ms;
    // Buffered: a frame is several small fields, one recv instead of five.
    let mut reader = io::BufReader::with_capacity(16 * 1024, &stream);
    loop {
        let _ = stream.set_read_timeout(Some(remaining()));
        match Response::read_from(&mut reader, protocol::VERSION) {
            Ok(Response::Final(r)) => return Ok(Answer::Final(r)),
            Ok(Response::Reject(msg)) => return Ok(Answer::Reject(msg)),
            Ok(Response::Hold { extend_ms, message }) => {
                let until = (now_ms() + extend_ms as u64).min(hold_cap);
                DEADLINE_MS.fetch_max(until, Ordering::SeqCst);
                deadline::arm(remaining().as_millis() as u64);
                if !message.is_empty() {
                    // Tells the human (agents show hook stderr in verbose views) why it waits.
                    let _ = writeln!(io::stderr(), "{PREFIX} {message}");
                }
            }
            Err(ProtoError::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(deadline_message());
            }
            Err(ProtoError::Eof) => {
                return Err("dashclawd closed the connection before answering (did it crash or get killed?); see `dashclawd status` and its log".into())
            }
            Err(e @ ProtoError::Version { .. }) => {
                return Err(format!("{e}; restart the daemon with `dashclawd stop` so the matching build starts"))
            }
            Err(e) => return Err(format!("bad reply from dashclawd: {e}")),
        }
    }
}

fn connect(paths: &Paths) -> Result<UnixStream, String> {
    check_socket_dir(paths)?;
    let mut started = false;
    let mut child: Option<std::process::Child> = None;
    let mut child_exited_ms: Option<u64> = None;
    let mut exit_note = String::new();
    let since = STARTED_MS.load(Ordering::SeqCst).saturating_sub(1000);
    let mut impostor_since: Option<u64> = None;
    loop {
        match UnixStream::connect(&paths.socket) {
            Ok(s) => match check_peer(&s, paths) {
                Ok(()) => return Ok(s),
                // Not dashclawd's executable behind the socket. Under socket activation that is
                // the service manager (or the activator before its exec) until the daemon takes
                // the socket over: ask again for a moment. Only a match is ever accepted.
                Err(Peer::NotDaemon(msg)) => {
                    let now = now_ms();
                    let since = *impostor_since.get_or_insert(now);
                    if now >= since + PEER_SETTLE_MS
                        || now + 20 >= DEADLINE_MS.load(Ordering::SeqCst)
                    {
                        return Err(msg);
                    }
                    drop(s);
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(Peer::Refused(msg)) => return Err(msg),
            },
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
                ) =>
            {
                if !started {
                    child = start_daemon(paths)?;
                    started = true;
                }
                // A daemon that cannot start says why in one line: deny with it now rather
                // than at the deadline.
                if let Some(cause) = start_error(paths, since) {
                    return Err(format!(
                        "dashclawd could not start: {cause} (from {}; its log is in {})",
                        paths.start_error.display(),
                        paths.log_dir.display()
                    ));
                }
                if child_exited_ms.is_none() {
                    if let Some(Ok(Some(status))) = child.as_mut().map(|c| c.try_wait()) {
                        child_exited_ms = Some(now_ms());
                        exit_note = format!(" ({status})");
                    }
                }
                // It exited without a cause on file: give a concurrent start (it may have lost
                // the instance lock to one) a moment to bind, then say so.
                if let Some(at) = child_exited_ms {
                    if now_ms() >= at + 500 {
                        return Err(format!(
                            "dashclawd exited right after starting{} and left no cause in {}; run `dashclawd run` to see why (its log is in {})",
                            exit_note,
                            paths.start_error.display(),
                            paths.log_dir.display()
                        ));
                    }
                }
                if now_ms() >= DEADLINE_MS.load(Ordering::SeqCst) {
                    return Err(format!(
                        "dashclawd is not running and did not start in time (socket {}); start it with `dashclawd run` and check its log in {}",
                        paths.socket.display(),
                        paths.log_dir.display()
                    ));
                }
                std::thread::sleep(Duration::from_millis(3));
            }
            Err(e) => {
                return Err(format!(
                    "cannot connect to dashclawd at {}: {e}",
                    paths.socket.display()
                ))
            }
        }
    }
}

/// Whoever can write the socket's directory can put a daemon there that allows everything.
fn check_socket_dir(paths: &Paths) -> Result<(), String> {
    let me = paths::euid();
    if let Some(dir) = paths.socket.parent() {
        if let Ok(meta) = std::fs::symlink_metadata(dir) {
            if meta.uid() != me || meta.mode() & 0o077 != 0 {
                return Err(format!(
                    "the socket directory {} is not private to you (owner uid {}, mode {:o}); remove it, or set DASHCLAW_HOME to a directory you own",
                    dir.display(),
                    meta.uid(),
                    meta.mode() & 0o777
                ));
            }
        }
    }
    Ok(())
}

/// The process answering on the socket must run as us and run the real `dashclawd`: checked
/// on the connection itself (SO_PEERCRED / LOCAL_PEERPID), so swapping the socket file after a
/// check cannot fool it, and a script of ours bound to the path (an impostor answering "allow")
/// is refused by its executable.
/// How long a peer that is not dashclawd is asked again before the hook gives up: long enough
/// for a socket-activated daemon to start and take the socket over.
const PEER_SETTLE_MS: u64 = 2_000;

/// Why the process behind the socket is not trusted.
enum Peer {
    /// Its executable is not dashclawd (yet, under socket activation).
    NotDaemon(String),
    /// Anything else: another user, no dashclawd to compare with, a changed binary.
    Refused(String),
}

fn check_peer(stream: &UnixStream, paths: &Paths) -> Result<(), Peer> {
    let (uid, pid) = peer_cred(stream).map_err(|e| {
        Peer::Refused(format!(
            "cannot identify the process behind {}: {e}",
            paths.socket.display()
        ))
    })?;
    let me = paths::euid();
    if uid != me {
        return Err(Peer::Refused(format!(
            "the daemon answering on {} runs as uid {uid}, not as you (uid {me}); refusing to trust it — stop it, or set DASHCLAW_HOME to a directory you own",
            paths.socket.display()
        )));
    }
    let expected = daemon_binary().ok_or_else(|| {
        Peer::Refused(format!(
            "cannot tell whether the process on {} (pid {pid}) is dashclawd: no dashclawd beside dashclaw-hook or on PATH; install both binaries together",
            paths.socket.display()
        ))
    })?;
    let want = std::fs::metadata(&expected)
        .map_err(|e| Peer::Refused(format!("cannot read {}: {e}", expected.display())))?;
    let got = peer_exe_metadata(pid).map_err(|e| {
        Peer::Refused(format!(
            "cannot identify the executable of pid {pid} behind {}: {e}",
            paths.socket.display()
        ))
    })?;
    if (got.dev(), got.ino()) != (want.dev(), want.ino()) {
        return Err(Peer::NotDaemon(format!(
            "the process answering on {} (pid {pid}, {}) is not {}; refusing to trust it — if dashclawd was upgraded, restart it with `dashclawd stop`, otherwise find and stop that process",
            paths.socket.display(),
            peer_exe_name(pid),
            expected.display()
        )));
    }
    verify_install_record(&expected, &want, paths).map_err(Peer::Refused)
}

/// The pid and uid of the process on the other end of a connected Unix socket.
#[cfg(target_os = "linux")]
fn peer_cred(stream: &UnixStream) -> io::Result<(u32, i32)> {
    let cred = ucred(stream)?;
    Ok((cred.uid, cred.pid))
}

#[cfg(target_os = "linux")]
fn ucred(stream: &UnixStream) -> io::Result<libc::ucred> {
    use std::os::fd::AsRawFd;
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `cred`, a plain C struct we own.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(cred)
}

#[cfg(target_os = "linux")]
fn peer_exe_metadata(pid: i32) -> io::Result<std::fs::Metadata> {
    // stat() through the magic link reaches the inode the process runs, even a deleted one.
    std::fs::metadata(format!("/proc/{pid}/exe"))
}

#[cfg(target_os = "linux")]
fn peer_exe_name(pid: i32) -> String {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "unknown executable".into())
}

#[cfg(target_os = "macos")]
fn peer_cred(stream: &UnixStream) -> io::Result<(u32, i32)> {
    use std::os::fd::AsRawFd;
    let uid = peer_uid(stream)?;
    let mut pid: libc::pid_t = 0;
    let mut len = std::mem::size_of::<libc::pid_t>() as libc::socklen_t;
    // SAFETY: getsockopt writes at most `len` bytes into `pid`.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_LOCAL,
            libc::LOCAL_PEERPID,
            (&mut pid as *mut libc::pid_t).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((uid, pid))
}

#[cfg(target_os = "macos")]
fn peer_exe_path(pid: i32) -> io::Result<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let mut buf = vec![0u8; libc::PROC_PIDPATHINFO_MAXSIZE as usize];
    // SAFETY: proc_pidpath writes at most the buffer size and returns the length written.
    let n = unsafe { libc::proc_pidpath(pid, buf.as_mut_ptr().cast(), buf.len() as u32) };
    if n <= 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(&buf)))
}

#[cfg(target_os = "macos")]
fn peer_exe_metadata(pid: i32) -> io::Result<std::fs::Metadata> {
    std::fs::metadata(peer_exe_path(pid)?)
}

#[cfg(target_os = "macos")]
fn peer_exe_name(pid: i32) -> String {
    peer_exe_path(pid)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "unknown executable".into())
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn peer_cred(_stream: &UnixStream) -> io::Result<(u32, i32)> {
    Err(io::Error::other(
        "peer process identification is not supported on this platform",
    ))
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn peer_exe_metadata(_pid: i32) -> io::Result<std::fs::Metadata> {
    Err(io::Error::other("unsupported platform"))
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn peer_exe_name(_pid: i32) -> String {
    "unknown executable".into()
}

/// The installer records `sha256(dashclawd)` in `dashclawd.sha256` beside it. When the record
/// exists the binary must match it: an in-place overwrite keeps the inode, so the stat
/// comparison alone would not see it. The file is hashed only when its identity (dev, inode,
/// size, ctime: a write always moves ctime, and only root can set it back) differs from what
/// the last check cached in the private run directory, so the hot path is one small read.
fn verify_install_record(
    bin: &Path,
    meta: &std::fs::Metadata,
    paths: &Paths,
) -> Result<(), String> {
    let record_path = install_record_path(bin);
    let record = match std::fs::read_to_string(&record_path) {
        Ok(r) => r,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("cannot read {}: {e}", record_path.display())),
    };
    let want = record
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    if want.len() != 64 || !want.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!(
            "{} is not a sha256 record; reinstall DashClaw (install-scripts/install.sh writes it)",
            record_path.display()
        ));
    }
    let identity = format!(
        "{} {} {} {} {} {want}",
        meta.dev(),
        meta.ino(),
        meta.size(),
        meta.ctime(),
        meta.ctime_nsec()
    );
    let cache = paths.run_dir.join("daemon-verified");
    if std::fs::read_to_string(&cache).is_ok_and(|c| c.trim() == identity) {
        return Ok(());
    }
    let got = sha256_file(bin).map_err(|e| format!("cannot hash {}: {e}", bin.display()))?;
    if got != want {
        return Err(format!(
            "{} does not match its install record {} (sha256 {got}, recorded {want}); it was changed after installation — reinstall DashClaw",
            bin.display(),
            record_path.display()
        ));
    }
    // Best effort: a missing cache only costs the next call a hash.
    let tmp = paths
        .run_dir
        .join(format!(".daemon-verified.{}", std::process::id()));
    if std::fs::write(&tmp, format!("{identity}\n")).is_ok() {
        let _ = std::fs::rename(&tmp, &cache);
    }
    Ok(())
}

/// `<dir>/dashclawd.sha256` for `<dir>/dashclawd`.
pub fn install_record_path(bin: &Path) -> PathBuf {
    let mut name = bin.file_name().unwrap_or_default().to_os_string();
    name.push(".sha256");
    bin.with_file_name(name)
}

/// Hex sha256 of a file's content.
pub fn sha256_file(path: &Path) -> io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex_lower(&h.finalize()))
}

fn hex_lower(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// The uid of the process on the other end of a connected Unix socket.
#[cfg(target_os = "linux")]
pub fn peer_uid(stream: &UnixStream) -> io::Result<u32> {
    ucred(stream).map(|c| c.uid)
}

/// The uid of the process on the other end of a connected Unix socket.
#[cfg(not(target_os = "linux"))]
pub fn peer_uid(stream: &UnixStream) -> io::Result<u32> {
    use std::os::fd::AsRawFd;
    let (mut uid, mut gid) = (0, 0);
    // SAFETY: getpeereid writes the two ids of the connected peer.
    if unsafe { libc::getpeereid(stream.as_raw_fd(), &mut uid, &mut gid) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(uid)
}

/// Starts `dashclawd run --auto-started` detached, once across concurrent hooks: the client that
/// wins the spawn lock starts it and keeps the lock until it exits; the others only wait for the
/// socket. The daemon's own lock file is the final guard against a double start.
fn start_daemon(paths: &Paths) -> Result<Option<std::process::Child>, String> {
    paths
        .ensure_dirs()
        .map_err(|e| format!("cannot prepare the DashClaw directories: {e}"))?;
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&paths.spawn_lock)
        .map_err(|e| format!("cannot open {}: {e}", paths.spawn_lock.display()))?;
    if lock.try_lock().is_err() {
        return Ok(None); // another hook is starting it right now
    }
    // Someone may have started it between our failed connect and the lock.
    if UnixStream::connect(&paths.socket).is_ok() {
        return Ok(None);
    }
    let bin = daemon_binary().ok_or_else(|| {
        "dashclawd is not running and its binary was not found beside dashclaw-hook or on PATH; install both binaries together".to_string()
    })?;
    let mut cmd = Command::new(&bin);
    cmd.arg("run")
        .arg("--auto-started")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: setsid is async-signal-safe; it detaches the daemon from the agent's session and
    // process group so the agent killing its hook does not take the daemon along.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    // Held until this process exits, so concurrent hooks do not spawn more daemons.
    std::mem::forget(lock);
    Ok(Some(child))
}

/// The cause a daemon that failed at start left behind, if it is from this attempt (written
/// after `since_ms`): one line, bounded.
fn start_error(paths: &Paths, since_ms: u64) -> Option<String> {
    let meta = std::fs::metadata(&paths.start_error).ok()?;
    let written_ms = meta
        .modified()
        .ok()?
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis() as u64;
    if written_ms < since_ms {
        return None;
    }
    let mut text = String::new();
    std::fs::File::open(&paths.start_error)
        .ok()?
        .take(2048)
        .read_to_string(&mut text)
        .ok()?;
    let line: String = text
        .lines()
        .find(|l| !l.trim().is_empty())?
        .chars()
        .filter(|c| !c.is_control())
        .take(500)
        .collect();
    Some(line.trim().to_string())
}

fn daemon_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("DASHCLAW_DAEMON_BIN") {
        return Some(PathBuf::from(p));
    }
    if let Some(beside) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("dashclawd")))
        .filter(|p| p.is_file())
    {
        return Some(beside);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("dashclawd"))
        .find(|p| p.is_file())
}

enum StdinError {
    TooLarge,
    Io(io::Error),
}

fn read_stdin_bounded(max: usize) -> Result<Vec<u8>, StdinError> {
    let mut buf = Vec::with_capacity(8 * 1024);
    let n = io::stdin()
        .lock()
        .take(max as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(StdinError::Io)?;
    if n > max {
        return Err(StdinError::TooLarge);
    }
    Ok(buf)
}

/// What the deadline's handler answers: the same as `fail` with the deadline message would,
/// prepared now because the handler may neither allocate nor lock.
fn deadline_answer(gating: bool, spool: Option<(&Request, &Paths)>) -> deadline::Answer {
    let msg = deadline_message();
    let (code, line) = if gating {
        (2, deny_line(&msg))
    } else {
        (0, format!("{PREFIX} {msg}; and spooling the event failed"))
    };
    let spool = spool.and_then(|(req, paths)| {
        let frame = if gating {
            deny_record(req, &msg).encode()
        } else {
            req.encode()
        };
        let name = spool_name();
        let kept = if gating {
            line.clone()
        } else {
            format!(
                "{PREFIX} {msg}; the event was kept in {} and is recorded when the daemon starts",
                paths.spool_dir.join(format!("{name}.req")).display()
            )
        };
        // The spool directory and the ancestors `create_private_dir` would make, outermost first.
        let mut dirs: Vec<&Path> = paths.spool_dir.ancestors().take(4).collect();
        dirs.reverse();
        deadline::Spool::new(&dirs, &name, frame, kept.into_bytes())
    });
    let line = if gating || spool.is_some() {
        line
    } else {
        format!("{PREFIX} {msg}")
    };
    deadline::Answer {
        code,
        line: line.into_bytes(),
        spool,
    }
}

fn deadline_message() -> String {
    "dashclawd did not answer within the hook deadline (DASHCLAW_HOOK_DEADLINE_MS); check `dashclawd status`, or raise the deadline".into()
}

/// The failure path: deny on a gating event (and spool a record of that deny, so the ledger
/// shows it once the daemon is back); otherwise spool the event and let the agent go on.
/// Whichever thread gets here first does all of it, and the process exits only after the
/// spool file is renamed into place: the other thread waits for the exit.
fn fail(gating: bool, msg: &str) -> ! {
    claim_answer();
    let req = pending().lock().unwrap_or_else(|p| p.into_inner()).take();
    if gating {
        if let Some(req) = req {
            let _ = spool(&deny_record(&req, msg).encode());
        }
        write_and_exit(2, b"", deny_line(msg).as_bytes());
    }
    let note = match req.map(|r| spool(&r.encode())) {
        Some(Ok(path)) => format!(
            "{PREFIX} {msg}; the event was kept in {} and is recorded when the daemon starts",
            path.display()
        ),
        Some(Err(e)) => format!("{PREFIX} {msg}; and spooling the event failed: {e}"),
        None => format!("{PREFIX} {msg}"),
    };
    write_and_exit(0, b"", note.as_bytes());
}

/// The record of the hook's own deny of `req`, spooled for the ledger. Its own id: the daemon
/// may have recorded (and allowed) the original just as we gave up, and this record must not be
/// dropped as a duplicate of it.
fn deny_record(req: &Request, msg: &str) -> Request {
    let mut req = req.clone();
    let id = req.field(field::EVENT_ID).unwrap_or("").to_string();
    req.set(field::EVENT_ID, format!("{id}-hook-deny"));
    req.set(field::HOOK_DENY, msg);
    req
}

fn deny_line(msg: &str) -> String {
    format!(
        "{PREFIX} Blocked: {msg}. This call was NOT run because the governance hook could not decide (fail-closed)."
    )
}

fn deny_exit(msg: &str) -> ! {
    claim_answer();
    write_and_exit(2, b"", deny_line(msg).as_bytes());
}

/// Writes the agent-facing answer exactly once, then exits.
fn answer_and_exit(code: u8, stdout: &[u8], stderr: &[u8]) -> ! {
    claim_answer();
    write_and_exit(code, stdout, stderr)
}

/// Makes the main thread the one that answers. Should the deadline's handler have claimed the
/// answer first, it exits the process itself, so getting here means we won; the loop is only
/// there so no path could ever answer twice.
fn claim_answer() {
    if !deadline::claim() {
        loop {
            std::thread::park();
        }
    }
}

fn write_and_exit(code: u8, stdout: &[u8], stderr: &[u8]) -> ! {
    let mut out = io::stdout().lock();
    let _ = out.write_all(stdout);
    let _ = out.flush();
    let mut err = io::stderr().lock();
    let _ = err.write_all(stderr);
    if !stderr.is_empty() && !stderr.ends_with(b"\n") {
        let _ = err.write_all(b"\n");
    }
    let _ = err.flush();
    std::process::exit(code as i32)
}

/// Writes the frame to `<spool>/<time>-<pid>.req` atomically (temp file, then rename).
fn spool(frame: &[u8]) -> io::Result<PathBuf> {
    let paths = Paths::from_env()?;
    paths::create_private_dir(&paths.spool_dir)?;
    let name = spool_name();
    let tmp = paths.spool_dir.join(format!(".{name}.tmp"));
    let dst = paths.spool_dir.join(format!("{name}.req"));
    write_synced(&tmp, frame)?;
    std::fs::rename(&tmp, &dst)?;
    Ok(dst)
}

/// `<time>-<pid>`: unique per hook process and ordered by time.
fn spool_name() -> String {
    format!("{}-{}", now_us(), std::process::id())
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn pending() -> &'static Mutex<Option<Request>> {
    PENDING.get_or_init(|| Mutex::new(None))
}

fn remaining() -> Duration {
    let left = DEADLINE_MS
        .load(Ordering::SeqCst)
        .saturating_sub(now_ms())
        .max(1);
    Duration::from_millis(left)
}

fn event_id(t0: f64) -> String {
    format!("{:x}-{:x}", (t0 * 1000.0) as u64, std::process::id())
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok())
}

fn now_ms_f() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

fn now_ms() -> u64 {
    now_ms_f() as u64
}

fn now_us() -> u64 {
    (now_ms_f() * 1000.0) as u64
}

/// A JSON syntax check (RFC 8259) without a JSON library: the hook only needs to know that what
/// it passes to the agent parses, not what it says.
mod json {
    const MAX_DEPTH: usize = 128;

    pub fn is_valid(bytes: &[u8]) -> bool {
        let mut p = Parser { b: bytes, i: 0 };
        p.ws();
        if !p.value(0) {
            return false;
        }
        p.ws();
        p.i == p.b.len() && std::str::from_utf8(bytes).is_ok()
    }

    struct Parser<'a> {
        b: &'a [u8],
        i: usize,
    }

    impl Parser<'_> {
        fn peek(&self) -> Option<u8> {
            self.b.get(self.i).copied()
        }

        fn ws(&mut self) {
            while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                self.i += 1;
            }
        }

        fn lit(&mut self, word: &[u8]) -> bool {
            if self.b[self.i..].starts_with(word) {
                self.i += word.len();
                true
            } else {
                false
            }
        }

        fn value(&mut self, depth: usize) -> bool {
            if depth > MAX_DEPTH {
                return false;
            }
            match self.peek() {
                Some(b'{') => self.object(depth),
                Some(b'[') => self.array(depth),
                Some(b'"') => self.string(),
                Some(b't') => self.lit(b"true"),
                Some(b'f') => self.lit(b"false"),
                Some(b'n') => self.lit(b"null"),
                Some(b'-' | b'0'..=b'9') => self.number(),
                _ => false,
            }
        }

        fn object(&mut self, depth: usize) -> bool {
            self.i += 1;
            self.ws();
            if self.peek() == Some(b'}') {
                self.i += 1;
                return true;
            }
            loop {
                self.ws();
                if !self.string() {
                    return false;
                }
                self.ws();
                if self.peek() != Some(b':') {
                    return false;
                }
                self.i += 1;
                self.ws();
                if !self.value(depth + 1) {
                    return false;
                }
                self.ws();
                match self.peek() {
                    Some(b',') => self.i += 1,
                    Some(b'}') => {
                        self.i += 1;
                        return true;
                    }
                    _ => return false,
                }
            }
        }

        fn array(&mut self, depth: usize) -> bool {
            self.i += 1;
            self.ws();
            if self.peek() == Some(b']') {
                self.i += 1;
                return true;
            }
            loop {
                self.ws();
                if !self.value(depth + 1) {
                    return false;
                }
                self.ws();
                match self.peek() {
                    Some(b',') => self.i += 1,
                    Some(b']') => {
                        self.i += 1;
                        return true;
                    }
                    _ => return false,
                }
            }
        }

        fn string(&mut self) -> bool {
            if self.peek() != Some(b'"') {
                return false;
            }
            self.i += 1;
            while let Some(c) = self.peek() {
                self.i += 1;
                match c {
                    b'"' => return true,
                    b'\\' => match self.peek() {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                        Some(b'u') => {
                            let hex = self.b.get(self.i + 1..self.i + 5);
                            if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                                return false;
                            }
                            self.i += 5;
                        }
                        _ => return false,
                    },
                    0..=0x1f => return false,
                    _ => {}
                }
            }
            false
        }

        fn number(&mut self) -> bool {
            let digits = |p: &mut Self| {
                let start = p.i;
                while matches!(p.peek(), Some(b'0'..=b'9')) {
                    p.i += 1;
                }
                p.i > start
            };
            if self.peek() == Some(b'-') {
                self.i += 1;
            }
            if self.peek() == Some(b'0') {
                self.i += 1;
            } else if !digits(self) {
                return false;
            }
            if self.peek() == Some(b'.') {
                self.i += 1;
                if !digits(self) {
                    return false;
                }
            }
            if matches!(self.peek(), Some(b'e' | b'E')) {
                self.i += 1;
                if matches!(self.peek(), Some(b'+' | b'-')) {
                    self.i += 1;
                }
                if !digits(self) {
                    return false;
                }
            }
            true
        }
    }

    #[cfg(test)]
    mod tests {
        use super::is_valid;

        #[test]
        fn accepts_json_and_refuses_the_rest() {
            for ok in [
                r#"{}"#,
                r#"{"hookSpecificOutput":{"permissionDecision":"ask","n":[1,-2.5e3,true,null]}}"#,
                " [\"a\\u00e9\\n\"] ",
                "0",
            ] {
                assert!(is_valid(ok.as_bytes()), "{ok}");
            }
            for bad in [
                "",
                "{",
                "allow",
                "{\"a\":}",
                "[1,]",
                "01",
                "{\"a\" 1}",
                "\"\u{1}\"",
                "{} x",
            ] {
                assert!(!is_valid(bad.as_bytes()), "{bad}");
            }
            assert!(!is_valid("[".repeat(1000).as_bytes()));
        }
    }
}
