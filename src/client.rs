//! `dashclaw-hook`: the process the agent starts for every hook event.
//!
//! It must start fast and never fail open, so it is std-only apart from `libc`: read stdin
//! (bounded), frame it, send it over the Unix socket, print what the daemon rendered. On a gating
//! event (pre-tool-use) every failure is a deny: exit 2 with one line on stderr saying what failed
//! and how to fix it. On the other events the agent must never be blocked, but nothing is lost: an
//! event the daemon did not acknowledge goes to the spool, which the daemon drains when it starts.
//!
//! A watchdog thread enforces the client's own deadline, so a hung daemon, a stdin that never
//! closes or anything else that stalls still ends in a deny well before the agent's hook timeout
//! (which would fail open).

use std::io::{self, Read, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::event::{Agent, EventKind};
use crate::paths::{self, Paths};
use crate::protocol::{self, field, ProtoError, Request, Response};

/// Default deadline for a gating event; the installer sets the agent's hook timeout well above.
const DEFAULT_DEADLINE_MS: u64 = 10_000;
/// Non-gating events wait this long for the daemon before falling back to the spool.
const DEFAULT_RECORD_DEADLINE_MS: u64 = 2_000;
/// Upper bound on what a daemon `Hold` may extend the deadline to (an approval wait).
const DEFAULT_MAX_HOLD_MS: u64 = 3_600_000;
const PREFIX: &str = "[DashClaw]";

/// Set once by whichever thread (main or watchdog) gets to answer the agent.
static ANSWERED: AtomicBool = AtomicBool::new(false);
/// Absolute deadline in Unix milliseconds; a daemon `Hold` moves it.
static DEADLINE_MS: AtomicU64 = AtomicU64::new(u64::MAX);
/// The encoded request, kept so the watchdog can spool it on expiry.
static PENDING: OnceLock<Mutex<Option<Vec<u8>>>> = OnceLock::new();

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
    DEADLINE_MS.store(t0 as u64 + inv.deadline_ms, Ordering::SeqCst);
    spawn_watchdog(gating);

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
    if !gating {
        *pending().lock().unwrap_or_else(|p| p.into_inner()) = Some(frame.clone());
    }

    let paths = match Paths::from_env() {
        Ok(p) => p,
        Err(e) => fail(
            gating,
            &format!("cannot resolve the DashClaw state directory: {e}"),
        ),
    };
    match exchange(&paths, &frame, inv.max_hold_ms) {
        Ok(Answer::Final(r)) => answer_and_exit(r.exit_code, &r.stdout, &r.stderr),
        Ok(Answer::Reject(msg)) => fail(gating, &msg),
        Err(msg) => fail(gating, &msg),
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

/// Connects (starting the daemon when needed), sends the frame and reads the answer.
fn exchange(paths: &Paths, frame: &[u8], max_hold_ms: u64) -> Result<Answer, String> {
    let mut stream = connect(paths)?;
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
    loop {
        match UnixStream::connect(&paths.socket) {
            Ok(s) => {
                check_peer(&s, paths)?;
                return Ok(s);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
                ) =>
            {
                if !started {
                    start_daemon(paths)?;
                    started = true;
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

/// The process answering on the socket must run as us: checked on the connection itself
/// (SO_PEERCRED), so swapping the socket file after a check cannot fool it.
fn check_peer(stream: &UnixStream, paths: &Paths) -> Result<(), String> {
    let uid = peer_uid(stream).map_err(|e| {
        format!(
            "cannot identify the process behind {}: {e}",
            paths.socket.display()
        )
    })?;
    let me = paths::euid();
    if uid != me {
        return Err(format!(
            "the daemon answering on {} runs as uid {uid}, not as you (uid {me}); refusing to trust it — stop it, or set DASHCLAW_HOME to a directory you own",
            paths.socket.display()
        ));
    }
    Ok(())
}

/// The uid of the process on the other end of a connected Unix socket.
#[cfg(target_os = "linux")]
pub fn peer_uid(stream: &UnixStream) -> io::Result<u32> {
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
    Ok(cred.uid)
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
fn start_daemon(paths: &Paths) -> Result<(), String> {
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
        return Ok(()); // another hook is starting it right now
    }
    // Someone may have started it between our failed connect and the lock.
    if UnixStream::connect(&paths.socket).is_ok() {
        return Ok(());
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
    cmd.spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    // Held until this process exits, so concurrent hooks do not spawn more daemons.
    std::mem::forget(lock);
    Ok(())
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

/// Deadline enforcement independent of where the main thread is stuck.
fn spawn_watchdog(gating: bool) {
    std::thread::spawn(move || loop {
        let deadline = DEADLINE_MS.load(Ordering::SeqCst);
        let now = now_ms();
        if now >= deadline {
            fail(gating, &deadline_message());
        }
        std::thread::sleep(Duration::from_millis((deadline - now).min(50)));
    });
}

fn deadline_message() -> String {
    "dashclawd did not answer within the hook deadline (DASHCLAW_HOOK_DEADLINE_MS); check `dashclawd status`, or raise the deadline".into()
}

/// The failure path: deny on a gating event; otherwise spool the event and let the agent go on.
fn fail(gating: bool, msg: &str) -> ! {
    if gating {
        deny_exit(msg);
    }
    let frame = pending().lock().unwrap_or_else(|p| p.into_inner()).take();
    let note = match frame.map(|f| spool(&f)) {
        Some(Ok(path)) => format!(
            "{PREFIX} {msg}; the event was kept in {} and is recorded when the daemon starts",
            path.display()
        ),
        Some(Err(e)) => format!("{PREFIX} {msg}; and spooling the event failed: {e}"),
        None => format!("{PREFIX} {msg}"),
    };
    answer_and_exit(0, b"", note.as_bytes());
}

fn deny_exit(msg: &str) -> ! {
    let line = format!(
        "{PREFIX} Blocked: {msg}. This call was NOT run because the governance hook could not decide (fail-closed)."
    );
    answer_and_exit(2, b"", line.as_bytes());
}

/// Writes the agent-facing answer exactly once, then exits.
fn answer_and_exit(code: u8, stdout: &[u8], stderr: &[u8]) -> ! {
    if ANSWERED.swap(true, Ordering::SeqCst) {
        // The other thread is answering; let it finish and exit.
        loop {
            std::thread::park();
        }
    }
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
    let name = format!("{}-{}", now_us(), std::process::id());
    let tmp = paths.spool_dir.join(format!(".{name}.tmp"));
    let dst = paths.spool_dir.join(format!("{name}.req"));
    write_synced(&tmp, frame)?;
    std::fs::rename(&tmp, &dst)?;
    Ok(dst)
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn pending() -> &'static Mutex<Option<Vec<u8>>> {
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
