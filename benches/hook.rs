//! `cargo bench --bench hook`: what the hook path costs on this machine, end to end.
//!
//! Not a test: it prints a Markdown report and exits non-zero only when the product misbehaved
//! (a hook call that did not allow, a failed request, a ledger that lost decisions), never because
//! a target was missed, since the numbers depend on the machine.
//!
//! 1. Wall time of `dashclaw-hook claude pre-tool-use` on the allow path against a warm daemon,
//!    interleaved with `/bin/true`, `dashclaw-hook --version` (process start-up without the
//!    daemon) and a bare socket round trip (the daemon without any process start-up), so machine
//!    noise hits every row alike and the rows together show where the time goes.
//! 2. Peak RSS of those processes: their own (VmHWM at a ptrace exit stop) and `ru_maxrss` from
//!    `wait4`, which also counts the spawner's footprint.
//! 3. Daemon throughput with K concurrent clients, one request per connection like the hook, with
//!    the CPU each decision costs the daemon and the clients.
//! 4. The ledger afterwards: every decision must be in it.
//!
//! Knobs (environment): `BENCH_N` (3000 measured hook calls), `BENCH_WARMUP` (200),
//! `BENCH_HOOK_BIN` (the hook to measure; default the profile's own build),
//! `BENCH_SECS` (3 per concurrency level), `BENCH_K` (`2,8,32`).

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use dashclaw_sidecar::protocol::{self, field, Request, Response};

use dashclaw_testkit::DAEMON;
use dashclaw_testkit::HOOK;
const TRUE: &str = "/bin/true";

/// Targets printed next to the numbers.
const TARGET_RATIO: f64 = 2.5;
const TARGET_P99_MS: f64 = 5.0;
const TARGET_RATE: f64 = 20_000.0;
const TARGET_EXTRA_RSS_KIB: i64 = 512;

type Res<T> = Result<T, String>;

/// The binaries as install.sh leaves them: side by side in one directory with the install
/// record, so every hook call pays the full peer check (uid, executable by dev/inode, record).
static INSTALLED: OnceLock<(String, String)> = OnceLock::new();

fn hook_bin() -> &'static str {
    &INSTALLED.get().expect("installed").0
}

fn daemon_bin() -> &'static str {
    &INSTALLED.get().expect("installed").1
}

fn install(dir: &Path) -> Res<()> {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).map_err(|e| e.to_string())?;
    let (hook, daemon) = (bin.join("dashclaw-hook"), bin.join("dashclawd"));
    // `BENCH_HOOK_BIN` measures another build of the hook, e.g. the static one install.sh makes.
    let hook_src = std::env::var("BENCH_HOOK_BIN").unwrap_or_else(|_| HOOK.to_string());
    std::fs::copy(&hook_src, &hook).map_err(|e| format!("copying {hook_src}: {e}"))?;
    std::fs::copy(DAEMON, &daemon).map_err(|e| format!("copying {DAEMON}: {e}"))?;
    let hash = dashclaw_sidecar::client::sha256_file(&daemon).map_err(|e| e.to_string())?;
    std::fs::write(bin.join("dashclawd.sha256"), format!("{hash}  dashclawd\n"))
        .map_err(|e| e.to_string())?;
    INSTALLED
        .set((hook.display().to_string(), daemon.display().to_string()))
        .map_err(|_| "installed twice".to_string())
}

struct Config {
    n: usize,
    warmup: usize,
    secs: f64,
    ks: Vec<usize>,
}

impl Config {
    fn from_env() -> Res<Config> {
        let ks = std::env::var("BENCH_K").unwrap_or_else(|_| "2,8,32".into());
        let ks = ks
            .split(',')
            .map(|k| k.trim().parse::<usize>().ok().filter(|&k| k > 0))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                format!("BENCH_K must be a comma list of positive numbers, got {ks:?}")
            })?;
        let n = env_num("BENCH_N", 3000)?;
        if n == 0 {
            return Err("BENCH_N must be at least 1".into());
        }
        Ok(Config {
            n,
            warmup: env_num("BENCH_WARMUP", 200)?,
            secs: env_num("BENCH_SECS", 3.0)?,
            ks,
        })
    }
}

fn env_num<T: std::str::FromStr>(name: &str, default: T) -> Res<T> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .map_err(|_| format!("{name} must be a number, got {v:?}")),
        Err(_) => Ok(default),
    }
}

// ---------------------------------------------------------------------------------------------
// The private DashClaw home and its daemon, torn down on every exit path (including a panic,
// which may abort rather than unwind under the release profile, so Drop alone is not enough).

struct Home {
    dir: PathBuf,
    daemon: Mutex<Option<Child>>,
    cleaned: AtomicBool,
}

static HOME: OnceLock<Home> = OnceLock::new();

impl Home {
    fn create() -> Res<&'static Home> {
        // Short path under /tmp: the socket must fit in sun_path without the product's fallback.
        let stamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = PathBuf::from(format!("/tmp/dcb{}-{stamp:x}", std::process::id()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|e| format!("creating {}: {e}", dir.display()))?;
        install(&dir)?;
        let home = Home {
            dir,
            daemon: Mutex::new(None),
            cleaned: AtomicBool::new(false),
        };
        HOME.set(home)
            .map_err(|_| "home created twice".to_string())?;
        let home = HOME.get().expect("just set");
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            home.cleanup();
            previous(info);
        }));
        Ok(home)
    }

    fn socket(&self) -> PathBuf {
        self.dir.join("run/dashclawd.sock")
    }

    /// The same environment for every child, so hook and baseline are started alike.
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("DASHCLAW_HOME", &self.dir)
            .env("HOME", &self.dir)
            .current_dir(&self.dir);
        cmd
    }

    fn dashclawd(&self, args: &[&str]) -> Res<String> {
        let out = self
            .command(daemon_bin())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("running dashclawd {args:?}: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "dashclawd {args:?} failed ({}): {}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    fn start_daemon(&self) -> Res<u32> {
        let err_path = self.dir.join("daemon.stderr");
        let err_file = std::fs::File::create(&err_path).map_err(|e| e.to_string())?;
        let child = self
            .command(daemon_bin())
            .args(["run", "--quiet"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err_file)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", daemon_bin()))?;
        let pid = child.id();
        *self.daemon.lock().unwrap_or_else(|p| p.into_inner()) = Some(child);
        let started = Instant::now();
        // A real (control) request rather than a bare connect, which the daemon logs as a
        // warning and would spoil the log check at the end.
        while !status_answers(&self.socket()) {
            let exited = self
                .daemon
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || started.elapsed() > Duration::from_secs(10) {
                return Err(format!(
                    "dashclawd did not come up ({}); its stderr: {}",
                    exited.map_or("no socket after 10 s".into(), |s| s.to_string()),
                    std::fs::read_to_string(&err_path).unwrap_or_default()
                ));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(pid)
    }

    /// Stops the daemon and removes the directory; safe to call more than once.
    fn cleanup(&self) {
        if self.cleaned.swap(true, Ordering::SeqCst) {
            return;
        }
        let child = self.daemon.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut child) = child {
            let _ = self
                .command(daemon_bin())
                .arg("stop")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            let until = Instant::now() + Duration::from_secs(5);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
            }
            if matches!(child.try_wait(), Ok(None)) {
                eprintln!("dashclawd did not stop within 5 s; killing it");
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------------------
// One measured process invocation: spawn, write stdin fully, close it, drain both pipes, wait4.

struct Invocation {
    wall: Duration,
    /// Peak resident set in KiB, as the kernel accounted it for this child.
    maxrss_kib: i64,
    code: i32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn invoke(cmd: &mut Command, stdin: &[u8]) -> Res<Invocation> {
    let t0 = Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
    let pid = child.id() as libc::pid_t;
    let mut input = child.stdin.take().expect("stdin is piped");
    // A process that never reads stdin (/bin/true, --version) may be gone already: not an error.
    // The payload is far below the pipe buffer, so this never blocks.
    match input.write_all(stdin) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(format!("stdin: {e}")),
        _ => {}
    }
    drop(input);
    let pipes = drain(
        child.stdout.take().expect("stdout is piped"),
        child.stderr.take().expect("stderr is piped"),
    );
    // Reap even when draining failed, so no zombie is left behind.
    let (code, rusage) = wait4(pid).map_err(|e| format!("wait4: {e}"))?;
    let wall = t0.elapsed();
    let (stdout, stderr) = pipes.map_err(|e| format!("reading the child's output: {e}"))?;
    Ok(Invocation {
        wall,
        maxrss_kib: rusage.ru_maxrss,
        code,
        stdout,
        stderr,
    })
}

/// Reads stdout and stderr to EOF together (poll), so a chatty stderr cannot deadlock us.
fn drain(
    mut out: impl Read + AsRawFd,
    mut err: impl Read + AsRawFd,
) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut bufs = (Vec::new(), Vec::new());
    let mut open = [true, true];
    let mut chunk = [0u8; 4096];
    while open[0] || open[1] {
        let fd = |i: usize, raw: i32| if open[i] { raw } else { -1 }; // poll skips negative fds
        let mut fds = [
            libc::pollfd {
                fd: fd(0, out.as_raw_fd()),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: fd(1, err.as_raw_fd()),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        // SAFETY: `fds` is a valid array of two pollfd for the duration of the call.
        if unsafe { libc::poll(fds.as_mut_ptr(), 2, -1) } < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if fds[0].revents != 0 {
            match out.read(&mut chunk)? {
                0 => open[0] = false,
                n => bufs.0.extend_from_slice(&chunk[..n]),
            }
        }
        if fds[1].revents != 0 {
            match err.read(&mut chunk)? {
                0 => open[1] = false,
                n => bufs.1.extend_from_slice(&chunk[..n]),
            }
        }
    }
    Ok(bufs)
}

/// `wait4` rather than `Child::wait`: it also hands back the child's rusage (peak RSS).
fn wait4(pid: libc::pid_t) -> io::Result<(i32, libc::rusage)> {
    let mut status = 0;
    // SAFETY: rusage is plain data; all-zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: valid pointers to locals; `pid` is our own unreaped child.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    Ok((code, usage))
}

/// Peak RSS of the exec'd program alone and its private (anonymous) part, in KiB, read from
/// /proc at its ptrace exit stop, while its memory still exists. `ru_maxrss` cannot tell this: exec keeps the high-water mark of the
/// address space it replaces, which under posix_spawn/vfork is the spawner's (here, this bench).
fn exit_hwm(mut cmd: Command, stdin: &[u8]) -> Res<(u64, u64)> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: ptrace(TRACEME) only touches the calling (child) process; no allocation.
    unsafe {
        cmd.pre_exec(|| {
            if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("spawn under ptrace: {e}"))?;
    let pid = child.id() as libc::pid_t;
    let ptrace = |req, data: usize| {
        // SAFETY: `pid` is our stopped tracee; `data` is an integer argument, never dereferenced.
        if unsafe { libc::ptrace(req, pid, 0, data) } == -1 {
            Err(format!("ptrace: {}", io::Error::last_os_error()))
        } else {
            Ok(())
        }
    };
    let wait = || -> Res<i32> {
        let mut status = 0;
        // SAFETY: valid pointer to a local; `pid` is our child.
        while unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(format!("waitpid: {e}"));
            }
        }
        Ok(status)
    };
    // The tracee stops with SIGTRAP right after execve succeeded.
    let status = wait()?;
    if !libc::WIFSTOPPED(status) {
        return Err(format!(
            "tracee did not stop after exec (status {status:#x})"
        ));
    }
    let opts = (libc::PTRACE_O_TRACEEXIT | libc::PTRACE_O_EXITKILL) as usize;
    ptrace(libc::PTRACE_SETOPTIONS, opts)?;
    let mut input = child.stdin.take().expect("stdin is piped");
    match input.write_all(stdin) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(format!("stdin: {e}")),
        _ => {}
    }
    drop(input);
    ptrace(libc::PTRACE_CONT, 0)?;
    let exit_stop = libc::SIGTRAP | (libc::PTRACE_EVENT_EXIT << 8);
    let mut hwm = None;
    loop {
        let status = wait()?;
        if libc::WIFEXITED(status) {
            if libc::WEXITSTATUS(status) != 0 {
                return Err(format!("exited {}", libc::WEXITSTATUS(status)));
            }
            break;
        }
        if libc::WIFSIGNALED(status) {
            return Err(format!("killed by signal {}", libc::WTERMSIG(status)));
        }
        if status >> 8 == exit_stop {
            hwm =
                proc_status_kib(pid as u32, "VmHWM:").zip(proc_status_kib(pid as u32, "RssAnon:"));
            ptrace(libc::PTRACE_CONT, 0)?;
        } else {
            // Any other stop is a signal on its way to the tracee: deliver it unchanged.
            ptrace(libc::PTRACE_CONT, libc::WSTOPSIG(status) as usize)?;
        }
    }
    hwm.ok_or_else(|| "no VmHWM at the exit stop".to_string())
}

/// A `Key:   123 kB` line of /proc/<pid>/status.
fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// utime + stime of a process or thread (`/proc/<pid>/stat` or `/proc/<pid>/task/<tid>/stat`).
fn cpu_time(stat_path: &Path) -> Option<Duration> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // Fields after the parenthesised command name (which may contain spaces); utime and stime are
    // fields 14 and 15 of the whole line.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Some(Duration::from_nanos(ticks * 1_000_000_000 / hz))
}

/// CPU used so far by the daemon as a whole and by its ledger writer thread.
fn daemon_cpu(pid: u32) -> (Option<Duration>, Option<Duration>) {
    let total = cpu_time(Path::new(&format!("/proc/{pid}/stat")));
    let writer = std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()
        .and_then(|tasks| {
            tasks.flatten().find(|t| {
                std::fs::read_to_string(t.path().join("comm"))
                    .is_ok_and(|c| c.trim() == "ledger-writer")
            })
        })
        .and_then(|t| cpu_time(&t.path().join("stat")));
    (total, writer)
}

/// CPU used so far by this process, all threads (including finished ones).
fn own_cpu() -> Duration {
    // SAFETY: rusage is plain data; getrusage fills it.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

// ---------------------------------------------------------------------------------------------
// The hook's conversation with the daemon, done in-process (no spawn).

fn frame(body: &[u8], cwd: &str, id: &str) -> Vec<u8> {
    let mut req = Request::new(body.to_vec());
    req.set(field::AGENT, "claude");
    req.set(field::EVENT, "pre-tool-use");
    req.set(field::CWD, cwd);
    req.set(field::EVENT_ID, id);
    req.encode()
}

/// Whether the daemon answers a `status` control request.
fn status_answers(socket: &Path) -> bool {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return false;
    };
    let mut req = Request::new(Vec::new());
    req.set("control", "status");
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    protocol::write_frame(&mut stream, &req.encode()).is_ok()
        && matches!(
            Response::read_from(&mut stream, protocol::VERSION),
            Ok(Response::Final(_))
        )
}

/// One request on a fresh connection, read exactly the way the hook reads it (unbuffered).
fn round_trip(socket: &Path, frame: &[u8]) -> Res<()> {
    let mut stream = UnixStream::connect(socket).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    protocol::write_frame(&mut stream, frame).map_err(|e| format!("send: {e}"))?;
    match Response::read_from(&mut stream, protocol::VERSION) {
        Ok(Response::Final(r)) if r.exit_code == 0 && r.stdout.is_empty() => Ok(()),
        Ok(Response::Final(r)) => Err(format!(
            "not an allow: exit {}, stdout {:?}, stderr {:?}",
            r.exit_code,
            String::from_utf8_lossy(&r.stdout),
            String::from_utf8_lossy(&r.stderr)
        )),
        Ok(other) => Err(format!("unexpected response {other:?}")),
        Err(e) => Err(format!("reading the response: {e}")),
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics and formatting.

struct Stats {
    n: usize,
    median: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

/// Nearest-rank percentiles over durations in milliseconds.
fn stats(samples: &[Duration]) -> Stats {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let pick = |p: f64| {
        if ms.is_empty() {
            return f64::NAN;
        }
        let rank = ((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len());
        ms[rank - 1]
    };
    Stats {
        n: ms.len(),
        median: pick(0.5),
        p90: pick(0.9),
        p99: pick(0.99),
        max: pick(1.0),
    }
}

fn ms(v: f64) -> String {
    if v < 1.0 {
        format!("{:.0} µs", v * 1e3)
    } else {
        format!("{v:.2} ms")
    }
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

fn median_i64(v: &mut [i64]) -> i64 {
    v.sort_unstable();
    v.get(v.len().saturating_sub(1) / 2).copied().unwrap_or(0)
}

fn machine(load_before: &str) -> String {
    let nproc = Command::new("nproc")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| {
            std::thread::available_parallelism().map_or("?".into(), |n| n.to_string())
        });
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "Machine: nproc={nproc}, CPU: {cpu}, Linux {}; load average before / after: {} / {}",
        kernel.trim(),
        load_before,
        loadavg()
    )
}

/// The 1-minute load average: others' work on the machine shows up in the tails.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

// ---------------------------------------------------------------------------------------------

fn main() -> ExitCode {
    let result = Config::from_env().and_then(|cfg| {
        let home = Home::create()?;
        let outcome = run(&cfg, home);
        home.cleanup();
        outcome
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs every phase and prints the report; `Ok(false)` when the product misbehaved under load.
fn run(cfg: &Config, home: &Home) -> Res<bool> {
    let load_before = loadavg();
    let daemon_pid = home.start_daemon()?;
    let socket = home.socket();
    let cwd = home.dir.to_string_lossy().into_owned();
    // What Claude Code sends for a read-only Bash call.
    let body = serde_json::json!({
        "session_id": "3f1c2a9e-bench",
        "transcript_path": format!("{cwd}/transcript.jsonl"),
        "cwd": cwd,
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {
            "command": "git status --short",
            "description": "Show working tree status"
        },
        "tool_use_id": "toolu_01BenchReadOnly"
    })
    .to_string()
    .into_bytes();

    // Rows of the first table, in the order each round runs them.
    let names = [
        "`dashclaw-hook claude pre-tool-use`",
        "`/bin/true` (spawn baseline)",
        "`dashclaw-hook --version` (start-up, no daemon)",
        "socket round trip, no process (in-bench client)",
    ];
    let commands = || {
        let piped = |mut cmd: Command| {
            cmd.stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            cmd
        };
        let mut hook = piped(home.command(hook_bin()));
        hook.args(["claude", "pre-tool-use"]);
        let mut version = piped(home.command(hook_bin()));
        version.arg("--version");
        [hook, piped(home.command(TRUE)), version]
    };

    // Phase 1: one call of every kind per round, so machine noise hits every row alike.
    let mut cmds = commands();
    let mut wall: [Vec<Duration>; 4] = Default::default();
    let mut maxrss: [Vec<i64>; 3] = Default::default();
    let mut hook_calls = 0u64;
    let mut socket_requests = 0u64;
    for round in 0..cfg.warmup + cfg.n {
        let keep = round >= cfg.warmup;
        for (i, cmd) in cmds.iter_mut().enumerate() {
            let inv = invoke(cmd, &body).map_err(|e| format!("{}: {e}", names[i]))?;
            if i == 0 {
                hook_calls += 1;
                if inv.code != 0 || !inv.stdout.is_empty() {
                    return Err(format!(
                        "hook call {round} did not take the allow path: exit {}, stdout {:?}, stderr:\n{}",
                        inv.code,
                        String::from_utf8_lossy(&inv.stdout),
                        String::from_utf8_lossy(&inv.stderr)
                    ));
                }
            } else if inv.code != 0 {
                return Err(format!("{} exited {}", names[i], inv.code));
            }
            if keep {
                wall[i].push(inv.wall);
                maxrss[i].push(inv.maxrss_kib);
            }
        }
        let started = Instant::now();
        round_trip(&socket, &frame(&body, &cwd, &format!("bench-rt-{round}")))
            .map_err(|e| format!("socket round trip {round}: {e}"))?;
        if keep {
            wall[3].push(started.elapsed());
        }
        socket_requests += 1;
    }
    let bench_hwm = proc_status_kib(std::process::id(), "VmHWM:");
    let breakdown = hook_breakdown(home, cfg.n);

    // Phase 2: the programs' own peak RSS, read at their exit under ptrace (slow, so few runs).
    let mut hwm: [Vec<i64>; 3] = Default::default();
    let mut anon: [Vec<i64>; 3] = Default::default();
    let mut hwm_error = None;
    'rss: for _ in 0..15 {
        for (i, cmd) in commands().into_iter().enumerate() {
            match exit_hwm(cmd, &body) {
                Ok((peak, private)) => {
                    hwm[i].push(peak as i64);
                    anon[i].push(private as i64);
                }
                Err(e) => {
                    hwm_error = Some(format!("{}: {e}", names[i]));
                    break 'rss;
                }
            }
            hook_calls += u64::from(i == 0);
        }
    }

    // Phase 3: concurrent clients straight at the socket.
    let mut tput = Vec::new();
    let mut failures = Vec::new();
    for &k in &cfg.ks {
        let r = throughput(
            &socket,
            &body,
            &cwd,
            k,
            Duration::from_secs_f64(cfg.secs),
            daemon_pid,
        );
        socket_requests += r.ok + r.errors;
        if let Some(e) = &r.first_error {
            failures.push(format!("K={k}: {} failed requests, first: {e}", r.errors));
        }
        tput.push((k, r));
    }

    // Phase 4: the ledger must hold every decision that was answered.
    let daemon_mem =
        proc_status_kib(daemon_pid, "VmHWM:").zip(proc_status_kib(daemon_pid, "VmRSS:"));
    let verify = home.dashclawd(&["log", "verify"])?;
    let verify = verify.trim();
    let records: Option<u64> = verify
        .strip_prefix("ledger intact: ")
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok());
    // A failed request may or may not have been committed before it failed.
    let sent = hook_calls + socket_requests;
    let answered = sent - tput.iter().map(|(_, r)| r.errors).sum::<u64>();
    let ledger_ok = records.is_some_and(|r| r >= answered && r <= sent);
    let db = home.dir.join("state/ledger.db");
    let file_len = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let db_bytes = file_len(&db) + file_len(&db.with_extension("db-wal"));
    let complaints = daemon_complaints(&home.dir.join("state/logs"));

    // Report.
    println!("{}", machine(&load_before));
    println!();
    println!(
        "Hook path, allow (`git status --short`), warm daemon; {} rounds after {} warm-up, each round runs every row once, interleaved:",
        cfg.n, cfg.warmup
    );
    println!();
    println!("| Call | n | median | p90 | p99 | max |");
    println!("|---|---:|---:|---:|---:|---:|");
    let all: Vec<Stats> = wall.iter().map(|w| stats(w)).collect();
    for (name, s) in names.iter().zip(&all) {
        println!(
            "| {name} | {} | {} | {} | {} | {} |",
            s.n,
            ms(s.median),
            ms(s.p90),
            ms(s.p99),
            ms(s.max)
        );
    }
    let (h, t) = (&all[0], &all[1]);
    let ratio = h.median / t.median;
    println!();
    println!(
        "- hook / `/bin/true` at the median: **{ratio:.2}x** (target ≤ {TARGET_RATIO}x: {})",
        verdict(ratio <= TARGET_RATIO)
    );
    println!(
        "- hook p99: **{}** (target < {TARGET_P99_MS} ms: {})",
        ms(h.p99),
        verdict(h.p99 < TARGET_P99_MS)
    );
    if let Some((client, daemon)) = breakdown {
        println!(
            "- from the ledger (median of the measured hook calls): hook `main` → request read by the daemon {}, decision {}",
            ms(client / 1e3),
            ms(daemon / 1e3)
        );
    }

    println!();
    println!("Peak RSS in KiB (median / max):");
    println!();
    println!("| Process | own peak (VmHWM at exit, ptrace) | private part (RssAnon at exit) | `ru_maxrss` from `wait4` |");
    println!("|---|---:|---:|---:|");
    let mut own = [0i64; 3];
    for i in 0..3 {
        let pair = |v: &mut Vec<i64>| match v.iter().copied().max() {
            Some(max) => format!("{} / {max}", median_i64(v)),
            None => "n/a".into(),
        };
        own[i] = median_i64(&mut hwm[i]);
        println!(
            "| {} | {} | {} | {} |",
            names[i],
            pair(&mut hwm[i]),
            pair(&mut anon[i]),
            pair(&mut maxrss[i])
        );
    }
    if let Some((peak, now)) = daemon_mem {
        println!("| `dashclawd` after the run (VmHWM; VmRSS {now}) | {peak} | | |");
    }
    println!();
    match &hwm_error {
        None => {
            let extra = own[0] - own[1];
            println!(
                "- hook's own peak minus `/bin/true`'s: **{extra} KiB** (target: well under 1 MB, read as < {TARGET_EXTRA_RSS_KIB} KiB: {}); mostly file-backed pages (binary, libc, libgcc_s) shared with other processes, see the private column",
                verdict(extra < TARGET_EXTRA_RSS_KIB)
            )
        }
        Some(e) => println!("- own peak RSS not measured: {e}"),
    }
    if let Some(b) = bench_hwm {
        println!(
            "- `ru_maxrss` is not the child's own footprint: exec keeps the high-water mark of the address space it replaces, which under posix_spawn (vfork) is the spawner's; this bench's VmHWM was {b} KiB"
        );
    }

    println!();
    println!(
        "Daemon throughput: K client threads in this process, one request per connection (like the hook), {} s per K, every decision committed to the ledger before the answer; CPU per decision from /proc (daemon) and getrusage (clients):",
        cfg.secs
    );
    println!();
    println!("| Clients K | decisions | decisions/s | median | p99 | max | errors | daemon CPU/decision | of which ledger writer | client CPU/decision |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let per = |d: Option<Duration>, n: u64| match d {
        Some(d) if n > 0 => format!("{:.0} µs", d.as_secs_f64() * 1e6 / n as f64),
        _ => "n/a".into(),
    };
    for (k, r) in &tput {
        let s = stats(&r.latencies);
        println!(
            "| {k} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} |",
            r.ok,
            r.rate(),
            ms(s.median),
            ms(s.p99),
            ms(s.max),
            r.errors,
            per(r.daemon_cpu, r.ok),
            per(r.writer_cpu, r.ok),
            per(Some(r.client_cpu), r.ok),
        );
    }
    let best = tput.iter().map(|(_, r)| r.rate()).fold(0.0, f64::max);
    println!();
    println!(
        "- best rate **{best:.0} decisions/s** (target ≥ {TARGET_RATE:.0}: {}); clients and daemon share the same {} cores",
        verdict(best >= TARGET_RATE),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    // CPU bounds: what the cores allow at the measured cost per decision.
    if let Some((k, r)) = tput.iter().max_by(|a, b| a.1.rate().total_cmp(&b.1.rate())) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        if let Some(d) = r.daemon_cpu.filter(|_| r.ok > 0) {
            let daemon = d.as_secs_f64() / r.ok as f64;
            let client = r.client_cpu.as_secs_f64() / r.ok as f64;
            println!(
                "- CPU bound at K={k}: {cores:.0} cores / (daemon + client CPU per decision) = {:.0}/s; the daemon alone, with free clients elsewhere, would top out at {:.0}/s",
                cores / (daemon + client),
                cores / daemon
            );
        }
    }

    println!();
    println!(
        "Ledger after the run: `{verify}`; decisions answered: {answered} ({hook_calls} hook calls + {socket_requests} socket requests{}) → {}",
        if answered == sent { "" } else { ", minus failed ones" },
        if ledger_ok { "every decision recorded" } else { "MISMATCH" }
    );

    if let Some(r) = records.filter(|&r| r > 0) {
        println!(
            "- on disk: ledger.db + WAL {:.1} MiB, {} bytes per record",
            db_bytes as f64 / (1 << 20) as f64,
            db_bytes / r
        );
    }
    println!(
        "- daemon log: {} warning/error lines{}",
        complaints.len(),
        complaints
            .first()
            .map_or(String::new(), |l| format!(", first: `{}`", l.trim()))
    );

    for f in &failures {
        eprintln!("throughput failure: {f}");
    }
    if !ledger_ok {
        eprintln!("the ledger does not hold every answered decision (or is broken): {verify}");
    }
    Ok(failures.is_empty() && ledger_ok)
}

/// WARN and ERROR lines of the daemon's log files: a clean run should have none.
fn daemon_complaints(log_dir: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    for entry in std::fs::read_dir(log_dir).into_iter().flatten().flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        lines.extend(
            text.lines()
                .filter(|l| l.contains("WARN") || l.contains("ERROR"))
                .map(str::to_string),
        );
    }
    lines
}

/// Medians of `client_us` and `daemon_us` over the newest hook records (not ours: `bench-` ids).
fn hook_breakdown(home: &Home, n: usize) -> Option<(f64, f64)> {
    let out = home
        .dashclawd(&["log", "--json", "-n", &(2 * n).to_string()])
        .ok()?;
    let (mut client, mut daemon) = (Vec::new(), Vec::new());
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        if v["event_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("bench-"))
        {
            continue;
        }
        client.push(v["client_us"].as_i64()?);
        daemon.push(v["daemon_us"].as_i64()?);
    }
    if client.is_empty() {
        return None;
    }
    Some((
        median_i64(&mut client) as f64,
        median_i64(&mut daemon) as f64,
    ))
}

struct Throughput {
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    latencies: Vec<Duration>,
    elapsed: Duration,
    daemon_cpu: Option<Duration>,
    writer_cpu: Option<Duration>,
    client_cpu: Duration,
}

impl Throughput {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }
}

/// K threads hammer the socket until `span` is over; the clock stops when the last one is done.
fn throughput(
    socket: &Path,
    body: &[u8],
    cwd: &str,
    k: usize,
    span: Duration,
    daemon_pid: u32,
) -> Throughput {
    let barrier = std::sync::Barrier::new(k + 1);
    let deadline = OnceLock::<Instant>::new();
    let (daemon0, writer0, client0) = {
        let (d, w) = daemon_cpu(daemon_pid);
        (d, w, own_cpu())
    };
    let (per_thread, elapsed) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..k)
            .map(|t| {
                let (barrier, deadline) = (&barrier, &deadline);
                s.spawn(move || {
                    let mut lat = Vec::with_capacity(1 << 16);
                    let (mut errors, mut first_error) = (0u64, None);
                    barrier.wait();
                    let end = *deadline.get().expect("set before the barrier opens");
                    let mut i = 0u64;
                    while Instant::now() < end {
                        let f = frame(body, cwd, &format!("bench-k{k}-{t}-{i}"));
                        i += 1;
                        let started = Instant::now();
                        match round_trip(socket, &f) {
                            Ok(()) => lat.push(started.elapsed()),
                            Err(e) => {
                                errors += 1;
                                first_error.get_or_insert(e);
                                if errors >= 100 {
                                    break; // something is broken; no point hammering on
                                }
                            }
                        }
                    }
                    (lat, errors, first_error)
                })
            })
            .collect();
        let start = Instant::now();
        let _ = deadline.set(start + span);
        barrier.wait();
        let results: Vec<_> = workers
            .into_iter()
            .map(|w| w.join().expect("client thread panicked"))
            .collect();
        (results, start.elapsed())
    });
    let (daemon1, writer1) = daemon_cpu(daemon_pid);
    let diff = |a: Option<Duration>, b: Option<Duration>| Some(b?.saturating_sub(a?));
    let mut out = Throughput {
        ok: 0,
        errors: 0,
        first_error: None,
        latencies: Vec::new(),
        elapsed,
        daemon_cpu: diff(daemon0, daemon1),
        writer_cpu: diff(writer0, writer1),
        client_cpu: own_cpu().saturating_sub(client0),
    };
    for (lat, errors, first_error) in per_thread {
        out.ok += lat.len() as u64;
        out.errors += errors;
        if out.first_error.is_none() {
            out.first_error = first_error;
        }
        out.latencies.extend(lat);
    }
    out
}
