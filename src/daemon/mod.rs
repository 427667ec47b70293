//! `dashclawd run`: the long-lived daemon.
//!
//! Lifecycle: take the instance lock (one daemon per state directory), clean up a stale socket
//! and pid file, bind the socket (0600 in a 0700 directory), drain the spool, then serve. Each
//! connection is one request: check the peer's uid, read the frame, run the engine, commit the
//! ledger record, answer. The answer is written only after the record is committed, so an
//! acknowledged event is never lost. An auto-started daemon exits after an idle period.

mod hold;
mod spool;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;

use crate::approvals::Approvals;
use crate::config;
use crate::engine::{self, EngineState};
use crate::ledger::Ledger;
use crate::paths::{self, Paths};
use crate::policy::PolicyStore;
use crate::protocol::{self, field, Request, Response};

/// How long a client may take to send its request once connected.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a running daemon looks for newly spooled events.
const SPOOL_RESCAN: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Started by a hook rather than by a person or a service manager: may idle out.
    pub auto_started: bool,
    /// Overrides `idle_timeout_secs` from the config.
    pub idle_timeout_secs: Option<u64>,
    /// Also log to stderr (foreground runs).
    pub log_to_stderr: bool,
}

struct Shared {
    paths: Paths,
    ledger: Ledger,
    approvals: Arc<Approvals>,
    engine: EngineState,
    opts: RunOptions,
    idle_timeout: Option<Duration>,
    started: Instant,
    last_activity_ms: AtomicU64,
    served: AtomicU64,
    shutdown: watch::Sender<bool>,
}

/// Runs the daemon until it is stopped, idles out or receives SIGTERM/SIGINT.
pub fn run(opts: RunOptions) -> Result<()> {
    let paths = Paths::from_env().context("resolving the DashClaw directories")?;
    paths.ensure_dirs()?;
    let loaded = config::load(&paths.config_file);
    let _log_guard = crate::logging::init(&paths, &loaded.config, opts.log_to_stderr)?;
    if let Some(err) = &loaded.error {
        tracing::error!(
            "configuration is broken, gating events will be denied until it is fixed: {err}"
        );
    }

    if let Ok(Some(engine)) = config::redact_engine(&loaded.config) {
        let _ = crate::redact::install_default(engine);
    }

    let lock = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&paths.lock_file)
        .with_context(|| format!("opening {}", paths.lock_file.display()))?;
    if lock.try_lock().is_err() {
        tracing::info!(
            "another dashclawd holds {}; not starting a second one",
            paths.lock_file.display()
        );
        let pid = fs::read_to_string(&paths.pid_file).unwrap_or_default();
        anyhow::bail!(
            "dashclawd is already running (pid {}) for {}",
            pid.trim(),
            paths.socket.display()
        );
    }
    // Socket activation: systemd owns the socket file; we only adopt the listener.
    let inherited = inherited_listener(&paths);
    // We hold the lock, so any socket or pid file left behind belongs to a dead daemon.
    let stale_files: &[&std::path::PathBuf] = if inherited.is_some() {
        &[&paths.pid_file]
    } else {
        &[&paths.socket, &paths.pid_file]
    };
    for stale in stale_files.iter().copied() {
        match fs::remove_file(stale) {
            Ok(()) => tracing::info!("removed stale {}", stale.display()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing stale {}", stale.display())),
        }
    }

    let ledger = Ledger::start(&paths.ledger_db, loaded.config.ledger_sync)?;
    let approvals = Arc::new(Approvals::open(&paths.state_dir.join("approvals.db"))?);
    let idle_secs = opts
        .idle_timeout_secs
        .unwrap_or(loaded.config.idle_timeout_secs);
    let idle_timeout = (opts.auto_started && idle_secs > 0).then(|| Duration::from_secs(idle_secs));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("dashclawd")
        .build()
        .context("starting the async runtime")?;
    let result = rt.block_on(async {
        let (shutdown, _) = watch::channel(false);
        let shared = Arc::new(Shared {
            paths: paths.clone(),
            ledger,
            approvals,
            engine: EngineState {
                config_error: loaded.error.clone(),
                policies: Arc::new(PolicyStore::open(&paths.policy_file)),
                protected: engine::Protected::of(&paths),
            },
            opts,
            idle_timeout,
            started: Instant::now(),
            last_activity_ms: AtomicU64::new(0),
            served: AtomicU64::new(0),
            shutdown,
        });
        // Spooled events are older than anything a client sends now: record them first, before
        // the socket exists, so the ledger stays in arrival order.
        let drained = spool::drain(&shared.paths, &shared.ledger, &shared.engine).await;
        let socket_activated = inherited.is_some();
        let listener = match inherited {
            Some(std_listener) => UnixListener::from_std(std_listener)
                .context("adopting the socket systemd passed in")?,
            None => bind(&paths)?,
        };
        fs::write(&paths.pid_file, format!("{}\n", std::process::id()))
            .with_context(|| format!("writing {}", paths.pid_file.display()))?;
        // Events spooled while we were running (a hook that gave up waiting) are picked up too.
        let background = shared.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SPOOL_RESCAN);
            tick.tick().await;
            loop {
                tick.tick().await;
                spool::drain(&background.paths, &background.ledger, &background.engine).await;
            }
        });
        tracing::info!(
            pid = std::process::id(),
            socket = %paths.socket.display(),
            auto_started = shared.opts.auto_started,
            spooled_events_recorded = drained,
            "dashclawd ready"
        );
        serve(listener, shared).await.map(|()| socket_activated)
    });
    // A socket systemd passed in stays: it keeps listening and starts us again on demand.
    if !matches!(result, Ok(true)) {
        let _ = fs::remove_file(&paths.socket);
    }
    let _ = fs::remove_file(&paths.pid_file);
    tracing::info!("dashclawd stopped");
    drop(lock);
    result.map(|_| ())
}

/// The listening socket systemd passes with socket activation (`LISTEN_PID`/`LISTEN_FDS`, the
/// first fd is 3), if it is meant for us and is the socket we would bind ourselves.
fn inherited_listener(paths: &Paths) -> Option<std::os::unix::net::UnixListener> {
    use std::os::fd::FromRawFd;
    let for_us = std::env::var("LISTEN_PID").ok()?.parse::<u32>().ok()? == std::process::id();
    let fds = std::env::var("LISTEN_FDS").ok()?.parse::<u32>().ok()?;
    // SAFETY: removing variables before any other thread exists (the runtime starts later).
    unsafe {
        std::env::remove_var("LISTEN_PID");
        std::env::remove_var("LISTEN_FDS");
        std::env::remove_var("LISTEN_FDNAMES");
    }
    if !for_us || fds < 1 {
        return None;
    }
    // SAFETY: systemd guarantees fd 3 is an open listening socket owned by this process.
    let listener = unsafe { std::os::unix::net::UnixListener::from_raw_fd(3) };
    let addr = listener.local_addr().ok()?;
    if addr.as_pathname() != Some(paths.socket.as_path()) {
        tracing::error!(
            "systemd passed a socket at {:?}, not {}; ignoring it and binding our own",
            addr.as_pathname(),
            paths.socket.display()
        );
        return None;
    }
    // SAFETY: fd 3 is ours; mark it close-on-exec so children do not inherit it.
    unsafe {
        libc::fcntl(3, libc::F_SETFD, libc::FD_CLOEXEC);
    }
    listener.set_nonblocking(true).ok()?;
    tracing::info!("using the socket passed by systemd");
    Some(listener)
}

fn bind(paths: &Paths) -> Result<UnixListener> {
    let listener = UnixListener::bind(&paths.socket)
        .with_context(|| format!("binding {}", paths.socket.display()))?;
    fs::set_permissions(&paths.socket, fs::Permissions::from_mode(0o600))
        .with_context(|| format!("chmod 0600 {}", paths.socket.display()))?;
    Ok(listener)
}

async fn serve(listener: UnixListener, shared: Arc<Shared>) -> Result<()> {
    let mut shutdown = shared.shutdown.subscribe();
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut idle_tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    shared.last_activity_ms.store(shared.started.elapsed().as_millis() as u64, Ordering::Relaxed);
                    let shared = shared.clone();
                    tokio::spawn(async move {
                        if let Err(e) = handle(stream, &shared).await {
                            tracing::warn!("connection: {e:#}");
                        }
                    });
                }
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::error!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = sigterm.recv() => { tracing::info!("SIGTERM"); break; }
            _ = sigint.recv() => { tracing::info!("SIGINT"); break; }
            _ = shutdown.changed() => { tracing::info!("stop requested"); break; }
            _ = idle_tick.tick() => {
                if let Some(limit) = shared.idle_timeout {
                    let last = Duration::from_millis(shared.last_activity_ms.load(Ordering::Relaxed));
                    if shared.started.elapsed().saturating_sub(last) >= limit {
                        tracing::info!("idle for {}s, exiting", limit.as_secs());
                        break;
                    }
                }
            }
        }
    }
    Ok(())
}

async fn handle(mut stream: UnixStream, shared: &Shared) -> Result<()> {
    let cred = stream.peer_cred().context("reading peer credentials")?;
    let me = paths::euid();
    if cred.uid() != me {
        tracing::warn!(peer_uid = cred.uid(), peer_pid = ?cred.pid(), "refused a connection from another user");
        let msg = format!(
            "dashclawd of uid {me} refuses requests from uid {}; each user runs their own daemon",
            cred.uid()
        );
        stream
            .write_all(&Response::Reject(msg).encode(protocol::VERSION))
            .await?;
        return Ok(());
    }
    let bytes = match tokio::time::timeout(READ_TIMEOUT, read_request(&mut stream)).await {
        Ok(Ok(Some(bytes))) => bytes,
        Ok(Ok(None)) => return Ok(()), // connected and closed: someone checking we are up
        Ok(Err(e)) => return Err(e),
        Err(_) => anyhow::bail!("client sent no complete request within {READ_TIMEOUT:?}"),
    };
    let received_us = engine::now_us();
    let req = match Request::decode(&bytes) {
        Ok(r) => r,
        Err(e) => {
            let reject = Response::Reject(format!("dashclawd could not read the request: {e}"));
            stream.write_all(&reject.encode(protocol::VERSION)).await?;
            return Ok(());
        }
    };
    if let Err(msg) = protocol::check_version(req.version) {
        tracing::warn!("{msg}");
        stream
            .write_all(&Response::Reject(msg).encode(protocol::VERSION))
            .await?;
        return Ok(());
    }
    let reply = match req.field("control") {
        Some(cmd) => control(cmd, shared),
        None => hook(&req, shared, received_us).await,
    };
    stream.write_all(&reply.encode(req.version)).await?;

    Ok(())
}

async fn hook(req: &Request, shared: &Shared, received_us: u64) -> Response {
    let mut outcome = match engine::evaluate(req, &shared.engine, received_us) {
        Ok(o) => o,
        Err(msg) => return Response::Reject(msg),
    };
    if outcome.needs_local_approval() {
        let store = shared.approvals.clone();
        outcome = match tokio::task::spawn_blocking(move || {
            hold::resolve(&store, &mut outcome);
            outcome
        })
        .await
        {
            Ok(o) => o,
            Err(e) => return Response::Reject(format!("approvals gate failed: {e}")),
        };
    }
    let gating = outcome
        .event
        .as_ref()
        .map(|e| e.kind.is_gating())
        .unwrap_or_else(|| req.field(field::EVENT) == Some("pre-tool-use"));
    // The answer waits for the commit: nothing acknowledged may be lost.
    match shared.ledger.append(outcome.record).await {
        Ok(_) => {
            shared.served.fetch_add(1, Ordering::Relaxed);
            Response::Final(outcome.rendered)
        }
        Err(e) => {
            tracing::error!("ledger append failed: {e:#}");
            if gating {
                Response::Reject(format!(
                    "the audit ledger could not record this call ({e:#}); check disk space and permissions of {}",
                    shared.paths.ledger_db.display()
                ))
            } else {
                // The client spools the event and the daemon retries when it next starts.
                Response::Reject(format!("ledger write failed: {e:#}"))
            }
        }
    }
}

fn control(cmd: &str, shared: &Shared) -> Response {
    match cmd {
        "status" => {
            let status = json!({
                "pid": std::process::id(),
                "version": env!("CARGO_PKG_VERSION"),
                "protocol": protocol::VERSION,
                "uptime_secs": shared.started.elapsed().as_secs(),
                "auto_started": shared.opts.auto_started,
                "idle_timeout_secs": shared.idle_timeout.map(|d| d.as_secs()),
                "requests_served": shared.served.load(Ordering::Relaxed),
                "socket": shared.paths.socket,
                "ledger": shared.paths.ledger_db,
                "log_dir": shared.paths.log_dir,
                "config": shared.paths.config_file,
                "config_error": shared.engine.config_error,
                "policies": shared.engine.policies.status(),
                "spool_pending": spool::pending(&shared.paths.spool_dir),
            });
            Response::Final(protocol::Rendered {
                exit_code: 0,
                stdout: status.to_string().into_bytes(),
                stderr: Vec::new(),
            })
        }
        "stop" => {
            let _ = shared.shutdown.send(true);
            Response::Final(protocol::Rendered {
                exit_code: 0,
                stdout: b"stopping\n".to_vec(),
                stderr: Vec::new(),
            })
        }
        other => Response::Reject(format!("unknown control command '{other}'")),
    }
}

/// Reads one whole request frame, enforcing the protocol's size limits before allocating.
/// Reads as much as the socket has each time (usually the whole frame in one call). `None` when
/// the peer closed without sending anything: a liveness probe, not an error.
async fn read_request(stream: &mut UnixStream) -> Result<Option<Vec<u8>>> {
    let mut buf = Vec::with_capacity(16 * 1024);
    fill(stream, &mut buf, 10).await?;
    if buf.is_empty() {
        return Ok(None);
    }
    anyhow::ensure!(buf.len() >= 10, "connection closed mid-request");
    let fields_len = u32::from_le_bytes(buf[6..10].try_into().expect("4 bytes")) as usize;
    if &buf[..4] != protocol::MAGIC || fields_len > 64 * 1024 {
        anyhow::bail!("not a dashclaw request");
    }
    let head = 10 + fields_len + 4;
    fill(stream, &mut buf, head).await?;
    anyhow::ensure!(buf.len() >= head, "connection closed mid-request");
    let body_len = u32::from_le_bytes(buf[head - 4..head].try_into().expect("4 bytes")) as usize;
    if body_len > protocol::MAX_BODY {
        anyhow::bail!("request body of {body_len} bytes exceeds the limit");
    }
    fill(stream, &mut buf, head + body_len).await?;
    anyhow::ensure!(
        buf.len() >= head + body_len,
        "connection closed mid-request"
    );
    Ok(Some(buf))
}

/// Reads until `buf` holds at least `want` bytes or the peer closes.
async fn fill(stream: &mut UnixStream, buf: &mut Vec<u8>, want: usize) -> Result<()> {
    while buf.len() < want {
        buf.reserve(want - buf.len());
        if stream.read_buf(buf).await.context("reading the request")? == 0 {
            break;
        }
    }
    Ok(())
}
