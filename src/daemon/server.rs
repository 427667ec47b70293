//! The server half of the daemon as one unit that config.toml can replace while it runs.
//!
//! A [`ServerLive`] is everything tied to one `[server]` configuration: the [`Remote`] (HTTP
//! client, settings, signing identities), its background task (line detection, event stream,
//! policy sync, heartbeat, outbox delivery), the transcript shipper; without a server the
//! offline transcript registry; or the reason the configuration is unusable (gating calls are
//! then denied, never run ungoverned).
//!
//! The [`ServerSlot`] holds the one in force behind an `RwLock<Arc<..>>`. A request takes an
//! `Arc` clone of the `Remote` when it starts and finishes on it; the next request sees the new
//! one. A swap builds and checks the new unit first (an unusable configuration keeps the old one
//! running), then installs it and stops the old one's background task. The outbox is one durable
//! store shared by every unit, so what the old server had not taken is delivered to the new one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use serde_json::{json, Value};

use crate::ledger::SyncMode;
use crate::outbox::{Dropped, Outbox};
use crate::policy::PolicyStore;
use crate::remote::{self, Remote, ServerSection, Settings};
use crate::transcript::ship::{Lost, OfflineRegistry, Shipper};

/// Everything that belongs to one `[server]` configuration.
pub struct ServerLive {
    /// The DashClaw server, when one is configured.
    pub remote: Option<Arc<Remote>>,
    /// Why the server part is unusable (half-configured, a key file others can read), if so.
    pub error: Option<String>,
    /// Transcript shipping, when a server is configured.
    pub transcripts: Option<Arc<Shipper>>,
    /// Without a server: the sessions' transcripts, remembered for when one is configured.
    pub offline_transcripts: Option<OfflineRegistry>,
    /// Counts the units installed since the daemon started (1 = the one it started with).
    pub generation: u64,
    task: Option<tokio::task::AbortHandle>,
}

impl Drop for ServerLive {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

#[cfg(test)]
impl ServerLive {
    /// A unit without a server, for tests of what reads one.
    pub fn offline_for_tests() -> ServerLive {
        ServerLive {
            remote: None,
            error: None,
            transcripts: None,
            offline_transcripts: None,
            generation: 1,
            task: None,
        }
    }
}

/// The unit in force, and what every unit shares.
pub struct ServerSlot {
    current: RwLock<Arc<ServerLive>>,
    /// Opened when the first server is configured, then kept: undelivered items outlive a swap.
    outbox: OnceLock<Arc<Outbox>>,
    policies: Arc<PolicyStore>,
    state_dir: PathBuf,
    ledger_sync: SyncMode,
    lost: tokio::sync::mpsc::UnboundedSender<Lost>,
    dropped: tokio::sync::mpsc::UnboundedSender<Dropped>,
    /// The engine's copy of the server's host (always a fine destination for data).
    server_host: Arc<RwLock<Option<String>>>,
    generation: AtomicU64,
    /// One wake-up for whichever delivery loop runs: an item queued through a replaced
    /// `Remote` (a request that started before a swap) still wakes the new loop.
    wake: Arc<tokio::sync::Notify>,
    /// Removed servers' tasks still in their grace period: stopped as soon as another server
    /// is installed, so only one delivery loop ever takes items from the outbox.
    retiring: std::sync::Mutex<Vec<tokio::task::AbortHandle>>,
}

/// The daemon's own environment: it overrides `[server]` (upstream's variables).
pub fn daemon_env(k: &str) -> Option<String> {
    std::env::var(k).ok()
}

impl ServerSlot {
    pub fn new(
        policies: Arc<PolicyStore>,
        state_dir: &Path,
        ledger_sync: SyncMode,
        lost: tokio::sync::mpsc::UnboundedSender<Lost>,
        dropped: tokio::sync::mpsc::UnboundedSender<Dropped>,
        server_host: Arc<RwLock<Option<String>>>,
    ) -> ServerSlot {
        ServerSlot {
            current: RwLock::new(Arc::new(ServerLive {
                remote: None,
                error: None,
                transcripts: None,
                offline_transcripts: None,
                generation: 0,
                task: None,
            })),
            outbox: OnceLock::new(),
            policies,
            state_dir: state_dir.to_path_buf(),
            ledger_sync,
            lost,
            dropped,
            server_host,
            generation: AtomicU64::new(0),
            wake: Arc::default(),
            retiring: Default::default(),
        }
    }

    /// The unit in force now.
    pub fn current(&self) -> Arc<ServerLive> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The server in force now, if any.
    pub fn remote(&self) -> Option<Arc<Remote>> {
        self.current().remote.clone()
    }

    /// Builds the unit for `settings` (resolved from `section` with the daemon's environment;
    /// `None`: no server). An `Err` is a configuration that must not be used. Runs on the
    /// daemon's runtime (it starts the background task and the shipper); nothing serves the
    /// unit before [`ServerSlot::install`].
    pub fn build_from(
        &self,
        settings: Option<Settings>,
        section: &ServerSection,
    ) -> Result<ServerLive, String> {
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let Some(settings) = settings else {
            return Ok(ServerLive {
                remote: None,
                error: None,
                transcripts: None,
                offline_transcripts: OfflineRegistry::open(
                    &self.state_dir,
                    section.code_sessions_enabled(&daemon_env),
                ),
                generation,
                task: None,
            });
        };
        let outbox = match self.outbox.get() {
            Some(o) => o.clone(),
            None => {
                let o = Outbox::open(&self.state_dir.join("outbox.db"), self.ledger_sync)
                    .map(Arc::new)
                    .map_err(|e| format!("{e:#}"))?;
                self.outbox.get_or_init(|| o).clone()
            }
        };
        outbox.set_budget(settings.outbox_budget_bytes);
        let mut r = Remote::new(
            settings,
            outbox,
            self.policies.clone(),
            self.state_dir.join("server-policies.json"),
        )?;
        r.wake = self.wake.clone();
        let r = Arc::new(r);
        // The outbox's dropped-item notices of every unit reach the one ledger writer.
        if let Some(mut rx) = r.take_dropped() {
            let tx = self.dropped.clone();
            tokio::spawn(async move {
                while let Some(d) = rx.recv().await {
                    let _ = tx.send(d);
                }
            });
        }
        let transcripts =
            crate::transcript::ship::start_for_daemon(&self.state_dir, &r, self.lost.clone());
        let task = start_remote_tasks(r.clone());
        Ok(ServerLive {
            remote: Some(r),
            error: None,
            transcripts,
            offline_transcripts: None,
            generation,
            task: Some(task),
        })
    }

    /// A unit for a configuration that cannot be used (at start only: later the old one stays).
    pub fn unusable(&self, error: String) -> ServerLive {
        ServerLive {
            remote: None,
            error: Some(error),
            transcripts: None,
            offline_transcripts: None,
            generation: self.generation.fetch_add(1, Ordering::Relaxed) + 1,
            task: None,
        }
    }

    /// Makes `live` the unit in force and returns the one it replaced, whose background task
    /// is stopped after `grace` (zero: now). A request already running keeps its `Arc<Remote>`
    /// and finishes on the old server.
    pub fn install(&self, live: ServerLive, grace: Duration) -> Arc<ServerLive> {
        let host = live
            .remote
            .as_ref()
            .and_then(|r| crate::engine::url_host(&r.settings.base_url));
        if let Some(r) = &live.remote {
            tracing::info!(
                base_url = r.api.base_url(),
                key = %r.settings.api_key_source,
                generation = live.generation,
                "governing through the DashClaw server"
            );
        }
        let live = Arc::new(live);
        let old = std::mem::replace(
            &mut *self.current.write().unwrap_or_else(|p| p.into_inner()),
            live.clone(),
        );
        *self.server_host.write().unwrap_or_else(|p| p.into_inner()) = host;
        let mut retiring = self.retiring.lock().unwrap_or_else(|p| p.into_inner());
        retiring.retain(|t| !t.is_finished());
        if live.remote.is_some() {
            for t in retiring.drain(..) {
                t.abort();
            }
        }
        if let Some(task) = old.task.clone() {
            if grace.is_zero() {
                task.abort();
            } else {
                // Kept alive (dropping the unit stops its task) until the grace is over.
                let keep = old.clone();
                retiring.push(task.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(grace).await;
                    task.abort();
                    drop(keep);
                });
            }
        }
        drop(retiring);
        if let Some(new) = &live.remote {
            // What failed before (another server, another key, no server) is due at once for
            // the new settings instead of waiting out the old failures' backoff.
            let outbox = new.outbox.clone();
            let wake = new.wake.clone();
            tokio::task::spawn_blocking(move || {
                match outbox.retry_now(crate::engine::now_us() / 1000) {
                    Ok(n) if n > 0 => {
                        tracing::info!(
                            "outbox: {n} items waiting out a retry are due for the new server settings"
                        );
                        wake.notify_one();
                    }
                    Ok(_) => {}
                    Err(e) => tracing::error!("outbox: {e:#}"),
                }
            });
        }
        old
    }
}

/// Whether two resolved settings are the same (keys and tokens compared, never printed).
pub fn same_settings(a: &Settings, b: &Settings) -> bool {
    // Debug prints every plain field and a placeholder for the secrets.
    format!("{a:?}") == format!("{b:?}") && a.api_key == b.api_key && a.auth_token == b.auth_token
}

/// Key and token files the configuration names: their edits count as configuration changes.
pub fn secret_files(section: &ServerSection) -> Vec<PathBuf> {
    let pick = |env: &str, conf: &Option<PathBuf>| {
        daemon_env(env)
            .filter(|v| !v.trim().is_empty())
            .map(PathBuf::from)
            .or_else(|| conf.clone())
    };
    [
        pick("DASHCLAW_API_KEY_FILE", &section.api_key_file),
        pick("DASHCLAW_AUTH_TOKEN_FILE", &section.auth_token_file),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The server's background work in one task (aborting it stops all of it): version detection
/// first, then the stream, the policy cache, the heartbeat and the outbox delivery.
fn start_remote_tasks(r: Arc<Remote>) -> tokio::task::AbortHandle {
    tokio::spawn(async move {
        r.detect_line().await;
        let stream = async {
            if r.settings.event_stream {
                remote::sync::event_stream(r.clone()).await;
            }
        };
        let heartbeat = async {
            if let Some(every) = r.settings.heartbeat {
                remote::sync::heartbeat(r.clone(), every).await;
            }
        };
        tokio::join!(
            stream,
            remote::sync::policy_sync(r.clone()),
            heartbeat,
            remote::deliver::run(r.clone()),
        );
    })
    .abort_handle()
}

/// The non-secret settings of a server, for `status` and the change records.
pub fn describe(live: &ServerLive) -> Value {
    match &live.remote {
        None => json!({"configured": false, "error": live.error}),
        Some(r) => {
            let s = &r.settings;
            json!({
                "configured": true,
                "base_url": s.base_url,
                "api_key": s.api_key_source,
                "agent_id": s.agent_id,
                "unavailable_policy": s.unavailable.as_str(),
                "guard_timeout_ms": s.guard_timeout.as_millis() as u64,
                "connect_timeout_ms": s.connect_timeout.as_millis() as u64,
                "guard_retries": s.guard_retries,
                "approval_timeout_secs": s.approval_timeout.as_secs(),
                "event_stream": s.event_stream,
                "code_sessions": s.code_sessions,
                "code_sessions_full": s.code_sessions_full,
                "auth_token": s.auth_token.as_ref().map(|t| t.describe()),
                "sign_actions": s.sign_actions.as_str(),
            })
        }
    }
}
