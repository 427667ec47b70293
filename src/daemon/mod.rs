//! `dashclawd run`: the long-lived daemon.
//!
//! Lifecycle: take the instance lock (one daemon per state directory), clean up a stale socket
//! and pid file, bind the socket (0600 in a 0700 directory), drain the spool, then serve. Each
//! connection is one request: check the peer's uid, read the frame, run the engine, commit the
//! ledger record, answer. The answer is written only after the record is committed, so an
//! acknowledged event is never lost. An auto-started daemon exits after an idle period.

mod durable;
mod hold;
mod peer;
mod reload;
mod server;
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
use crate::remote;

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
    /// Protected mode: a system service for the agent users of a group.
    protected: Option<crate::protected::Conf>,
    /// The DashClaw server part in force (or why there is none); config.toml swaps it.
    server: Arc<server::ServerSlot>,
    ledger: Ledger,
    approvals: Arc<Approvals>,
    engine: EngineState,
    opts: RunOptions,
    /// Milliseconds without requests before an auto-started daemon exits (0: never).
    idle_timeout_ms: AtomicU64,
    started: Instant,
    last_activity_ms: AtomicU64,
    served: AtomicU64,
    shutdown: watch::Sender<bool>,
    /// The configuration the daemon started with, and what the watcher made of later edits.
    started_config: config::Config,
    config_state: reload::ConfigState,
    /// Watches the agents' hook configuration (`guardian.rs`).
    guardian: crate::guardian::Guardian,
}

/// Runs the daemon until it is stopped, idles out or receives SIGTERM/SIGINT. A start that
/// fails leaves its cause for the hook (`durable.rs`).
pub fn run(opts: RunOptions) -> Result<()> {
    durable::before_start(opts.auto_started);
    let result = run_daemon(opts);
    durable::after_run(&result);
    result
}

fn run_daemon(opts: RunOptions) -> Result<()> {
    // Protected mode: the system service names the configuration root wrote.
    let protected = crate::protected::for_daemon().map_err(anyhow::Error::msg)?;
    if let Some(conf) = &protected {
        if std::env::var_os("DASHCLAW_HOME").is_none() {
            // SAFETY: no other thread exists yet (the runtime starts later).
            unsafe { std::env::set_var("DASHCLAW_HOME", &conf.home) };
        }
    }
    let mut paths = Paths::from_env().context("resolving the DashClaw directories")?;
    // Before creating anything: a planted or redirected home must not be used at all.
    paths
        .check_tree(paths::Depth::Daemon)
        .map_err(|e| anyhow::anyhow!("the DashClaw directory is not safe to use: {e}"))?;
    paths.ensure_dirs()?;
    if let Some(conf) = &protected {
        prepare_protected_socket(conf)?;
        paths.socket = conf.socket.clone();
    }
    let config_at_start = reload::before_load(&paths.config_file);
    let loaded = config::load(&paths.config_file);
    let _log_guard = crate::logging::init(&paths, &loaded.config, opts.log_to_stderr)?;
    if let Some(err) = &loaded.error {
        tracing::error!(
            "configuration is broken, gating events will be denied until it is fixed: {err}"
        );
    }

    if let Ok(Some(engine)) = config::redact_engine(&loaded.config) {
        crate::redact::install_default(Some(engine));
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
        return Err(durable::AlreadyRunning(format!(
            "dashclawd is already running (pid {}) for {}",
            pid.trim(),
            paths.socket.display()
        ))
        .into());
    }
    durable::starting(&paths);
    let crash = durable::detect_crash(&paths);
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

    let ledger = Ledger::start_with(
        &paths.ledger_db,
        crate::ledger::LedgerOptions {
            sync: loaded.config.ledger_sync,
            reserve_bytes: loaded.config.disk_reserve_mb.saturating_mul(1 << 20),
        },
    )?;
    if let Some(crash) = &crash {
        tracing::error!("{}", crash["message"].as_str().unwrap_or("crashed"));
        if let Err(e) = ledger.append_blocking(durable::crash_record(crash)) {
            tracing::error!("ledger: cannot record the crash: {e:#}");
        }
    }
    let approvals = Arc::new(Approvals::open(&paths.state_dir.join("approvals.db"))?);
    let idle_timeout = reload::idle_timeout(&opts, &loaded.config);

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("dashclawd")
        .build()
        .context("starting the async runtime")?;
    let result = rt.block_on(async {
        let (shutdown, _) = watch::channel(false);
        let policies = Arc::new(PolicyStore::open(&paths.policy_file));
        let (lost_tx, lost_rx) = tokio::sync::mpsc::unbounded_channel();
        let (dropped_tx, dropped_rx) = tokio::sync::mpsc::unbounded_channel();
        let server_host = Arc::default();
        let slot = Arc::new(server::ServerSlot::new(
            policies.clone(),
            &paths.state_dir,
            loaded.config.ledger_sync,
            lost_tx,
            dropped_tx,
            Arc::clone(&server_host),
        ));
        let first = match remote::Settings::resolve(&loaded.config.server, &server::daemon_env) {
            Ok(settings) => slot
                .build_from(settings, &loaded.config.server)
                .map_err(anyhow::Error::msg)?,
            Err(e) => {
                tracing::error!("DashClaw server configuration: {e}; gating events will be denied");
                slot.unusable(e)
            }
        };
        slot.install(first, Duration::ZERO);
        let guardian = durable::start_guardian(&paths, ledger.clone(), slot.clone());
        let shared = Arc::new(Shared {
            protected: protected.clone(),
            paths: paths.clone(),
            server: slot,
            ledger,
            approvals,
            engine: EngineState {
                config_error: Arc::new(std::sync::RwLock::new(loaded.error.clone())),
                policies,
                protected: engine::Protected::of(&paths),
                egress_allow: Vec::new(),
                sessions: Default::default(),
                server_host,
            },
            opts,
            idle_timeout_ms: AtomicU64::new(idle_timeout_ms(idle_timeout)),
            started: Instant::now(),
            last_activity_ms: AtomicU64::new(0),
            served: AtomicU64::new(0),
            shutdown,
            started_config: loaded.config.clone(),
            config_state: reload::ConfigState::default(),
            guardian,
        });
        tokio::spawn(reload::watch_config(
            shared.clone(),
            loaded.config.clone(),
            config_at_start,
        ));
        tokio::spawn(record_lost_transcripts(shared.clone(), lost_rx));
        tokio::spawn(record_dropped(shared.clone(), dropped_rx));
        // Spooled events are older than anything a client sends now: record them first, before
        // the socket exists, so the ledger stays in arrival order.
        let remote_now = shared.server.remote();
        let drained = spool::drain(
            &shared.paths,
            &shared.ledger,
            &shared.engine,
            remote_now.as_deref(),
        )
        .await;
        drop(remote_now);
        let socket_activated = inherited.is_some();
        let listener = match inherited {
            Some(std_listener) => UnixListener::from_std(std_listener)
                .context("adopting the socket systemd passed in")?,
            None => bind(&paths, protected.as_ref())?,
        };
        // Written whole then renamed: `status` and the hook never read a half-written pid.
        let tmp = paths.pid_file.with_extension("pid.tmp");
        fs::write(&tmp, format!("{}\n", std::process::id()))
            .and_then(|()| fs::rename(&tmp, &paths.pid_file))
            .with_context(|| format!("writing {}", paths.pid_file.display()))?;
        durable::ready(&paths);
        // Events spooled while we were running (a hook that gave up waiting) are picked up too.
        let background = shared.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SPOOL_RESCAN);
            tick.tick().await;
            loop {
                tick.tick().await;
                background.ledger.maintain();
                let remote_now = background.server.remote();
                spool::drain(
                    &background.paths,
                    &background.ledger,
                    &background.engine,
                    remote_now.as_deref(),
                )
                .await;
            }
        });
        tracing::info!(
            pid = std::process::id(),
            socket = %paths.socket.display(),
            auto_started = shared.opts.auto_started,
            spooled_events_recorded = drained,
            "dashclawd ready"
        );
        // On a worker, not on this block_on thread: a connection task spawned by a worker
        // starts on that same worker, so a hook call does not pay a thread hand-off per accept.
        match tokio::spawn(serve(listener, shared)).await {
            Ok(r) => r.map(|()| socket_activated),
            Err(e) => Err(anyhow::anyhow!("the accept loop failed: {e}")),
        }
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
    // The kernel gives connecting clients the credentials of whoever last called listen() on
    // the socket: systemd, until we listen again. The hook trusts only a peer whose executable
    // is dashclawd, so re-listening here is what lets it trust an activated daemon at all
    // (connections queued before this still carry systemd's; the hook retries those).
    // SAFETY: listen(2) on the listening socket we own.
    if unsafe { libc::listen(3, libc::SOMAXCONN) } != 0 {
        tracing::error!(
            "cannot take over the socket passed by systemd ({}); binding our own",
            std::io::Error::last_os_error()
        );
        return None;
    }
    listener.set_nonblocking(true).ok()?;
    tracing::info!("using the socket passed by systemd");
    Some(listener)
}

fn bind(paths: &Paths, protected: Option<&crate::protected::Conf>) -> Result<UnixListener> {
    // Bound under a temporary name, given its owner and mode, then renamed into place: a
    // client (or a test) never sees the real path at the umask's looser mode, even for the
    // instant between bind(2) and chmod(2).
    let mut tmp_name = paths.socket.as_os_str().to_owned();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = std::path::PathBuf::from(tmp_name);
    let _ = fs::remove_file(&tmp);
    let listener =
        UnixListener::bind(&tmp).with_context(|| format!("binding {}", tmp.display()))?;
    let secured = (|| -> Result<()> {
        match protected {
            // The agent users' group may connect; nobody else.
            Some(conf) => {
                std::os::unix::fs::chown(&tmp, None, Some(conf.socket_gid))
                    .with_context(|| format!("chgrp {} {}", conf.socket_gid, tmp.display()))?;
                fs::set_permissions(&tmp, fs::Permissions::from_mode(0o660))
                    .with_context(|| format!("chmod 0660 {}", tmp.display()))?;
            }
            None => fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600))
                .with_context(|| format!("chmod 0600 {}", tmp.display()))?,
        }
        fs::rename(&tmp, &paths.socket)
            .with_context(|| format!("renaming {} to {}", tmp.display(), paths.socket.display()))
    })();
    if let Err(e) = secured {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(listener)
}

/// The protected socket's directory: ours, searchable by the agents' group, writable by
/// nobody else (so no agent user can bind an impostor beside or instead of ours).
fn prepare_protected_socket(conf: &crate::protected::Conf) -> Result<()> {
    let dir = conf
        .socket
        .parent()
        .context("the protected socket path has no directory")?;
    if !dir.exists() {
        paths::create_private_dir(dir)?;
    }
    let meta = fs::symlink_metadata(dir).with_context(|| format!("{}", dir.display()))?;
    use std::os::unix::fs::MetadataExt;
    if meta.file_type().is_symlink() || (meta.uid() != paths::euid() && meta.uid() != 0) {
        anyhow::bail!(
            "{} must be a directory owned by the DashClaw service user or root",
            dir.display()
        );
    }
    if meta.uid() == paths::euid() {
        std::os::unix::fs::chown(dir, None, Some(conf.socket_gid))
            .with_context(|| format!("chgrp {} {}", conf.socket_gid, dir.display()))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o750))
            .with_context(|| format!("chmod 0750 {}", dir.display()))?;
    } else if meta.mode() & 0o022 != 0 {
        anyhow::bail!("{} is writable by others than root", dir.display());
    }
    Ok(())
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
                let limit_ms = shared.idle_timeout_ms.load(Ordering::Relaxed);
                if limit_ms > 0 {
                    let limit = Duration::from_millis(limit_ms);
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
    // In protected mode the socket's group decides who may connect; each caller's uid is
    // recorded with what it asked.
    if cred.uid() != me && shared.protected.is_none() {
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
    let mut req = req;
    if shared.protected.is_some() {
        req.drop_dashclaw_env();
        // The caller's home from the system, not from its environment (the classifier judges
        // `rm -rf ~` by it).
        match crate::protected::home_of(cred.uid()) {
            Some(home) => req.set("env.HOME", home),
            None => req.fields.retain(|(k, _)| k != "env.HOME"),
        }
        req.set(CALLER_UID, cred.uid().to_string());
    }
    let reply = match req.field("control") {
        // The MCP server's guard and record: decided and recorded here, like a hook.
        Some(cmd) if cmd.starts_with("mcp-") => {
            // Only the server itself is held for the call (a swap stops the rest of the unit).
            let (remote, server_error) = {
                let live = shared.server.current();
                (live.remote.clone(), live.error.clone())
            };
            let cx = crate::mcp::gate::DaemonCtx {
                engine: &shared.engine,
                ledger: &shared.ledger,
                remote: remote.as_deref(),
                approvals: &shared.approvals,
                server_error: server_error.as_deref(),
            };
            crate::mcp::gate::serve(cmd, &req.body, cx).await
        }
        Some(cmd) => match control_allowed(cmd, cred.uid(), cred.pid(), shared) {
            Ok(()) => control(cmd, shared),
            Err(msg) => {
                tracing::warn!(peer_pid = ?cred.pid(), "refused control request '{cmd}': {msg}");
                Response::Reject(msg)
            }
        },
        None => hook(&req, shared, received_us, &stream).await,
    };
    stream.write_all(&reply.encode(req.version)).await?;

    Ok(())
}

/// Request field the daemon adds in protected mode: the uid of the connected caller.
const CALLER_UID: &str = "caller_uid";

async fn hook(req: &Request, shared: &Shared, received_us: u64, stream: &UnixStream) -> Response {
    let mut outcome = match engine::evaluate(req, &shared.engine, received_us) {
        Ok(o) => o,
        Err(msg) => return Response::Reject(msg),
    };
    if let Some(cwd) = &outcome.record.cwd {
        shared.guardian.observe_cwd(cwd);
    }
    let caller = shared.protected.as_ref().and(req.field(CALLER_UID));
    if let Some(uid) = caller.and_then(|u| u.parse::<u32>().ok()) {
        // Which agent user asked, from the connection, not from anything the caller sent.
        if !outcome.record.outcome.is_object() {
            outcome.record.outcome = json!({});
        }
        outcome.record.outcome["caller_uid"] = json!(uid);
    }
    // The server in force when the call arrived decides it, even if config.toml switches
    // servers meanwhile; the next call uses the new one.
    let live = shared.server.current();
    let remote = live.remote.clone();
    let server_error = live.error.clone();
    drop(live);
    if outcome.kind.is_gating() && shared.engine.config_error().is_none() {
        server_gate(
            req,
            remote.as_ref(),
            server_error.as_deref(),
            &mut outcome,
            stream,
        )
        .await;
    }
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
    let event_id = outcome.record.event_id.clone();
    match shared.ledger.append(outcome.record).await {
        Ok(_) => {
            if let Some(ev) = &outcome.event {
                let live = shared.server.current();
                if let Some(t) = &live.transcripts {
                    t.observe(ev);
                } else if let Some(t) = &live.offline_transcripts {
                    t.observe(ev);
                }
            }
            if let (Some(remote), Some(ev)) = (&remote, &outcome.event) {
                if !gating {
                    // Durable in the outbox before the hook returns; delivered in the background.
                    let agent_id = request_env(req).agent_id;
                    if let Err(e) =
                        remote::deliver::enqueue_event(remote, ev, &event_id, agent_id.as_deref())
                            .await
                    {
                        tracing::error!("outbox: {e:#}");
                        return Response::Reject(format!(
                            "the outbox could not keep this event for the server ({e:#}); check disk space of {}",
                            shared.paths.state_dir.display()
                        ));
                    }
                }
            }
            shared.served.fetch_add(1, Ordering::Relaxed);
            Response::Final(outcome.rendered)
        }
        Err(e) => {
            tracing::error!("ledger append failed: {e:#}");
            if let (true, Some(why)) = (gating, shared.ledger.refusing()) {
                // The ledger was deleted, replaced or changed under us: say exactly that.
                Response::Reject(why)
            } else if gating {
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

/// The server's part of a gating decision: a configuration mismatch denies, otherwise the
/// guard (and any approval wait) runs and the stricter of its verdict and ours wins.
async fn server_gate(
    req: &Request,
    remote: Option<&Arc<remote::Remote>>,
    server_error: Option<&str>,
    outcome: &mut engine::Outcome,
    stream: &UnixStream,
) {
    if let Some(msg) = server_mismatch(req, remote, server_error) {
        outcome.set_decision(
            crate::event::Decision {
                suggestion: Some(
                    "ask the user to run `dashclawd stop` (the next hook starts it with the hook's environment) or to set [server] in config.toml".into(),
                ),
                ..crate::event::Decision::block(msg, Some("dashclaw:server_config".into()))
            },
            None,
        );
        return;
    }
    let Some(remote) = remote else {
        return;
    };
    let (Some(ev), Some(c)) = (outcome.event.clone(), outcome.classification.clone()) else {
        return;
    };
    let mut env = request_env(req);
    env.local_block = outcome.decision.verdict == crate::event::Verdict::Block;
    env.local_reason = outcome.decision.reasons.first().cloned();
    let version = req.version;
    let mut hold = |n: remote::HoldNotice| {
        let frame = Response::Hold {
            extend_ms: n.extend.as_millis().min(u32::MAX as u128) as u32,
            message: n.message,
        }
        .encode(version);
        // A Hold frame is far smaller than the socket buffer: one non-blocking write.
        if let Err(e) = stream.try_write(&frame) {
            tracing::warn!("cannot tell the hook about the wait: {e}");
        }
    };
    let started = Instant::now();
    // A hook that went away (its deadline, the agent's timeout, the user's Ctrl-C) has denied
    // the call already; stop waiting for it, and record why.
    let mut gate = tokio::select! {
        gate = remote.gate(&ev, &c, &env, &mut hold) => gate,
        () = client_gone(stream) => remote::Gate {
            decision: Some(crate::event::Decision::block(
                "the hook stopped waiting before the server decided (its deadline or the agent's hook timeout)",
                Some("dashclaw:client_gone".into()),
            )),
            notes: Vec::new(),
            ledger: json!({"client_gone": true}),
        },
    };
    gate.ledger["gate_ms"] = json!((started.elapsed().as_secs_f64() * 100_000.0).round() / 100.0);
    outcome.record.outcome = match std::mem::take(&mut outcome.record.outcome) {
        serde_json::Value::Null => json!({ "server": gate.ledger }),
        mut other => {
            other["server"] = gate.ledger;
            other
        }
    };
    if let Some(server) = gate.decision {
        let local = outcome.decision.clone();
        let merged = stricter(local, server);
        outcome.set_decision(merged, None);
    }
    if !gate.notes.is_empty() {
        let mut notes = gate.notes.join("\n").into_bytes();
        if !outcome.rendered.stderr.is_empty() {
            notes.push(b'\n');
        }
        notes.extend_from_slice(&outcome.rendered.stderr);
        outcome.rendered.stderr = notes;
    }
}

/// Transcript bytes deleted before the server had them: the ledger says exactly what was lost.
async fn record_lost_transcripts(
    shared: Arc<Shared>,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<crate::transcript::ship::Lost>,
) {
    while let Some(l) = rx.recv().await {
        let record = crate::ledger::Record {
            event_id: format!("transcript-lost-{}-{}", l.session, l.from),
            agent: l.agent.as_str().into(),
            event: "transcript-lost".into(),
            session_id: Some(l.session.clone()),
            tool: None,
            tool_use_id: None,
            cwd: None,
            summary: crate::redact::redact_str(&match l.to {
                Some(to) => format!(
                    "transcript {} bytes {}..{to} ({} bytes) were deleted before the server had them",
                    l.path.display(),
                    l.from,
                    to - l.from
                ),
                None => format!(
                    "transcript {} was deleted before the server had anything after byte {} (its final size is unknown)",
                    l.path.display(),
                    l.from
                ),
            })
            .into_owned(),
            verdict: None,
            enforced: false,
            intent: None,
            risk_score: None,
            action_type: None,
            reasons: Vec::new(),
            policy: None,
            outcome: json!({"path": l.path, "from": l.from, "to": l.to}),
            client_us: None,
            daemon_us: 0,
            spooled: false,
            ..Default::default()
        };
        if let Err(e) = shared.ledger.append(record).await {
            tracing::error!("ledger: cannot record a transcript loss: {e:#}");
        }
    }
}

/// Outbox items dropped by the disk budget: the ledger says exactly which.
async fn record_dropped(
    shared: Arc<Shared>,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<crate::outbox::Dropped>,
) {
    while let Some(d) = rx.recv().await {
        tracing::warn!("outbox over its disk budget: dropped {}", d.summary);
        let record = crate::ledger::Record {
            event_id: format!("outbox-dropped-{}", d.id),
            agent: "dashclawd".into(),
            event: "outbox-dropped".into(),
            session_id: None,
            tool: None,
            tool_use_id: None,
            cwd: None,
            summary: crate::redact::redact_str(&format!(
                "undelivered {} ({} bytes, queued at {} ms) dropped to stay within the outbox disk budget",
                d.summary, d.bytes, d.created_ms
            ))
            .into_owned(),
            verdict: None,
            enforced: false,
            intent: None,
            risk_score: None,
            action_type: None,
            reasons: Vec::new(),
            policy: None,
            outcome: json!({"kind": d.kind, "dedupe_key": d.dedupe_key, "group": d.group, "bytes": d.bytes}),
            client_us: None,
            daemon_us: 0,
            spooled: false,
            ..Default::default()
        };
        if let Err(e) = shared.ledger.append(record).await {
            tracing::error!("ledger: cannot record a dropped outbox item: {e:#}");
        }
    }
}

/// Resolves when the hook closed its end of the socket. It sends nothing after its request,
/// so readability means end of file.
async fn client_gone(stream: &UnixStream) {
    let mut buf = [0u8; 64];
    loop {
        if stream.readable().await.is_err() {
            return;
        }
        match stream.try_read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {} // nothing is expected; ignore it
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
}

/// The stricter of two decisions; on a tie the server's, with our suggestion if it has none.
fn stricter(
    local: crate::event::Decision,
    server: crate::event::Decision,
) -> crate::event::Decision {
    if local.verdict > server.verdict {
        return local;
    }
    let mut d = server;
    if local.verdict == d.verdict && d.suggestion.is_none() {
        d.suggestion = local.suggestion;
    }
    d
}

/// The hook's environment says DashClaw governs it, but this daemon cannot: deny rather than
/// run ungoverned (the upstream hooks' half-configured hole).
fn server_mismatch(
    req: &Request,
    remote: Option<&Arc<remote::Remote>>,
    server_error: Option<&str>,
) -> Option<String> {
    if let Some(e) = server_error {
        return Some(format!(
            "the DashClaw server configuration is unusable: {e}"
        ));
    }
    let wanted = req
        .env("DASHCLAW_BASE_URL")
        .or(req.env("DASHCLAW_URL"))
        .filter(|u| !u.trim().is_empty())?;
    let wanted_norm =
        remote::config::normalize_base_url(wanted).unwrap_or_else(|_| wanted.to_owned());
    match remote {
        None => Some(format!(
            "this hook is set up for DashClaw at {wanted} (DASHCLAW_BASE_URL), but dashclawd runs without a server (it was started without DASHCLAW_BASE_URL and an API key), so the call cannot be governed"
        )),
        Some(r) if r.api.base_url() != wanted_norm => Some(format!(
            "this hook is set up for DashClaw at {wanted}, but dashclawd governs through {}; they must agree",
            r.api.base_url()
        )),
        Some(_) => None,
    }
}

/// The governance settings the hook's environment carries.
fn request_env(req: &Request) -> remote::RequestEnv {
    let truthy = |v: Option<&str>| matches!(v.map(str::trim), Some("1" | "true" | "yes"));
    remote::RequestEnv {
        agent_id: req
            .env("DASHCLAW_AGENT_ID")
            .filter(|a| !a.is_empty())
            .map(str::to_owned),
        observe: req.env("DASHCLAW_HOOK_MODE") == Some("observe"),
        unavailable: req
            .env("DASHCLAW_GUARD_UNAVAILABLE_POLICY")
            .filter(|v| !v.trim().is_empty())
            .map(remote::Unavailable::parse),
        approval_timeout: req
            .env("DASHCLAW_APPROVAL_TIMEOUT")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(|s| {
                Duration::from_secs_f64(s)
                    .clamp(Duration::from_secs(5), remote::config::MAX_APPROVAL_TIMEOUT)
            }),
        provenance: req.env("DASHCLAW_SUBAGENT_IDENTITY") == Some("provenance"),
        governed_categories: req.env("DASHCLAW_GOVERNED_CATEGORIES").map(str::to_owned),
        require_claims: truthy(req.env("DASHCLAW_REQUIRE_EXECUTION_CLAIMS")),
        local_block: false,
        local_reason: None,
    }
}

/// Reading the status is harmless; everything else that changes the daemon (stop) is honoured
/// only from our own executable, so a script of the same user cannot switch the guard off
/// through the socket.
fn control_allowed(cmd: &str, uid: u32, pid: Option<i32>, shared: &Shared) -> Result<(), String> {
    if cmd == "status" {
        return Ok(());
    }
    if let Some(conf) = &shared.protected {
        // Another user's /proc/<pid>/exe is not ours to read: here the caller's identity is
        // the boundary. Root, the service itself, or a member of the operators' group.
        if uid == 0 || uid == paths::euid() {
            return Ok(());
        }
        let groups = pid
            .map(crate::protected::process_groups)
            .and_then(Result::ok)
            .unwrap_or_default();
        if conf.operator_gid.is_some_and(|g| groups.contains(&g)) {
            return Ok(());
        }
        return Err(format!(
            "the protected dashclawd accepts '{cmd}' only from root or the operators' group; uid {uid} is neither"
        ));
    }
    let Some(pid) = pid else {
        return Err(format!(
            "dashclawd cannot identify the process asking to {cmd}; refused"
        ));
    };
    match peer::runs_our_executable(pid) {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!(
            "dashclawd accepts '{cmd}' only from its own admin command (`dashclawd {cmd}`), not from {} (pid {pid})",
            peer::exe_name(pid)
        )),
        Err(e) => Err(format!("'{cmd}' refused: {e}")),
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
                "idle_timeout_secs": match shared.idle_timeout_ms.load(Ordering::Relaxed) {
                    0 => None,
                    ms => Some(ms / 1000),
                },
                "requests_served": shared.served.load(Ordering::Relaxed),
                "socket": shared.paths.socket,
                "ledger": shared.paths.ledger_db,
                "log_dir": shared.paths.log_dir,
                "config": shared.paths.config_file,
                "config_error": shared.engine.config_error(),
                "config_reload": shared.config_state.status(),
                "ledger_health": shared.ledger.status(),
                "last_crash": durable::last_crash(&shared.paths),
                "guardian": shared.guardian.status(),
                "policies": shared.engine.policies.status(),
                "spool_pending": spool::pending(&shared.paths.spool_dir),
                "server": server_status(shared),
                "transcripts": shared.server.current().transcripts.as_ref().map(|t| t.status()),
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

/// The server part of `dashclawd status`.
fn server_status(shared: &Shared) -> serde_json::Value {
    let live = shared.server.current();
    let Some(r) = &live.remote else {
        return json!({"configured": false, "error": live.error, "generation": live.generation});
    };
    let s = &r.stats;
    let outbox = r.outbox.stats().ok();
    json!({
        "configured": true,
        "generation": live.generation,
        "base_url": r.api.base_url(),
        "api_key": r.settings.api_key_source,
        "line": r.line().as_str(),
        "unavailable_policy": r.settings.unavailable.as_str(),
        "approval_timeout_secs": r.settings.approval_timeout.as_secs(),
        "guard_calls": s.guard_calls.load(Ordering::Relaxed),
        "guard_failures": s.guard_failures.load(Ordering::Relaxed),
        "last_guard_ms": s.last_guard_us.load(Ordering::Relaxed) as f64 / 1000.0,
        "approvals_waited": s.approvals_waited.load(Ordering::Relaxed),
        "event_stream_connected": s.stream_connected.load(Ordering::Relaxed),
        "policies_synced_at_ms": s.policies_synced_at_ms.load(Ordering::Relaxed),
        "server_policies_cached": r.policies.has_server_policies(),
        "delivered": s.delivered.load(Ordering::Relaxed),
        "outbox": outbox.map(|o| json!({
            "pending": o.pending,
            "pending_bytes": o.pending_bytes,
            "oldest_created_ms": o.oldest_created_ms,
            "parked": o.dead,
            "by_kind": o.by_kind,
        })),
        "last_error": s.last_error.lock().map(|e| e.clone()).unwrap_or_default(),
        "last_error_at_ms": s.last_error_ms.load(Ordering::Relaxed),
        "identity": remote::identity_status(r),
    })
}

/// The idle limit as the atomic stores it (0: never).
fn idle_timeout_ms(limit: Option<Duration>) -> u64 {
    limit.map_or(0, |d| (d.as_millis() as u64).max(1))
}
