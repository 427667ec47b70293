//! The live policy set: the built-in pack, the user's policy file and (later) cached server
//! policies, swapped atomically when the file changes.
//!
//! The hot path takes a read lock just long enough to clone an `Arc`. A watcher thread
//! (`notify` on the file's directory, so creation, deletion, rename-over and editors' temp
//! files are all seen) debounces bursts of events and reloads; a cheap `stat` poll backs it up
//! where events are lost (network filesystems, a directory that does not exist yet, symlinked
//! files). A broken file never replaces a good set: the last good one stays, `last_error` says
//! why, and every decision carries the warning.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;

use super::context::GuardContext;
use super::eval::{evaluate, EvalEnv, Evaluation};
use super::file::load_file;
use super::model::{file_label, FileState, Issue, Level, Policy, PolicySet};
use super::ratelimit::{Clock, RateLimiter, SystemClock};
use crate::event::{Classification, Decision, Finding, HookEvent};

/// Tuning, mostly for tests.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub clock: Arc<dyn Clock>,
    /// Quiet time after the last file event before reloading (editors write in bursts).
    pub debounce: Duration,
    /// How often the file's metadata is checked in case an event was missed.
    pub poll_interval: Duration,
    /// Start the watcher thread at all (`false`: reload only on [`PolicyStore::reload`]).
    pub watch: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            clock: Arc::new(SystemClock),
            debounce: Duration::from_millis(150),
            poll_interval: Duration::from_secs(2),
            watch: true,
        }
    }
}

/// What `dashclawd status` shows about policies.
#[derive(Debug, Clone, Serialize)]
pub struct StoreStatus {
    pub path: Option<PathBuf>,
    pub file: FileState,
    /// Active user and server policies (the built-in pack not counted).
    pub active_policies: usize,
    pub issues: Vec<Issue>,
    pub last_error: Option<String>,
    /// Unix ms of the last successful load of the file.
    pub loaded_at_ms: Option<u64>,
    pub generation: u64,
}

#[derive(Debug)]
enum Msg {
    Changed,
    Stop,
}

/// Identity of the file's current version, to notice changes by polling.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    mtime_ns: i128,
    ctime_ns: i128,
    ino: u64,
    dev: u64,
}

fn fingerprint(path: &Path) -> Option<Fingerprint> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some(Fingerprint {
        len: m.len(),
        mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
        ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
        ino: m.ino(),
        dev: m.dev(),
    })
}

#[derive(Debug, Default)]
struct State {
    /// The file's policies as last loaded successfully; `None` before any success.
    file_good: Option<Vec<Policy>>,
    file_present: bool,
    file_issues: Vec<Issue>,
    server: Vec<Policy>,
    server_issues: Vec<Issue>,
    last_error: Option<String>,
    fingerprint: Option<Fingerprint>,
    loaded_at_ms: Option<u64>,
}

#[derive(Debug)]
struct Shared {
    path: Option<PathBuf>,
    current: RwLock<Arc<PolicySet>>,
    state: Mutex<State>,
    generation: AtomicU64,
    limiter: RateLimiter,
    clock: Arc<dyn Clock>,
}

/// The daemon's policies. Cheap to read from any thread; dropping it stops the watcher.
#[derive(Debug)]
pub struct PolicyStore {
    shared: Arc<Shared>,
    stop: Option<Sender<Msg>>,
    worker: Option<JoinHandle<()>>,
}

impl PolicyStore {
    /// Loads `path` (the daemon passes `<config dir>/policies.toml`) and watches it. Never
    /// fails: a missing file means no user policies, a broken one is reported by
    /// [`last_error`](Self::last_error) and in every decision.
    pub fn open(path: impl Into<PathBuf>) -> PolicyStore {
        PolicyStore::open_with(path, StoreOptions::default())
    }

    pub fn open_with(path: impl Into<PathBuf>, opts: StoreOptions) -> PolicyStore {
        let mut store = PolicyStore::new(Some(path.into()), opts.clock.clone());
        store.shared.reload();
        if !opts.watch {
            return store;
        }
        let (tx, rx) = mpsc::channel();
        let shared = store.shared.clone();
        let watcher_tx = tx.clone();
        let worker = std::thread::Builder::new()
            .name("policy-watch".into())
            .spawn(move || watch_loop(&shared, &watcher_tx, &rx, &opts));
        match worker {
            Ok(handle) => {
                store.stop = Some(tx);
                store.worker = Some(handle);
            }
            Err(e) => {
                tracing::error!(
                    "cannot start the policy file watcher: {e}; policies will not reload"
                );
            }
        }
        store
    }

    /// The built-in pack only, no file.
    pub fn builtin_only() -> PolicyStore {
        let store = PolicyStore::new(None, Arc::new(SystemClock));
        store.shared.rebuild(&store.shared.lock_state());
        store
    }

    fn new(path: Option<PathBuf>, clock: Arc<dyn Clock>) -> PolicyStore {
        PolicyStore {
            shared: Arc::new(Shared {
                path,
                current: RwLock::new(Arc::new(PolicySet::builtin())),
                state: Mutex::new(State::default()),
                generation: AtomicU64::new(0),
                limiter: RateLimiter::new(),
                clock,
            }),
            stop: None,
            worker: None,
        }
    }

    /// The set to evaluate against; hold it for one decision.
    pub fn current(&self) -> Arc<PolicySet> {
        self.shared.current()
    }

    /// Why the file was last rejected (the set in force is then the last good one).
    pub fn last_error(&self) -> Option<String> {
        self.shared.lock_state().last_error.clone()
    }

    /// Bumped on every (re)load attempt and server update.
    pub fn generation(&self) -> u64 {
        self.shared.generation.load(Ordering::SeqCst)
    }

    pub fn path(&self) -> Option<&Path> {
        self.shared.path.as_deref()
    }

    /// Reloads the file now; `Err` is the same message `last_error` then returns.
    pub fn reload(&self) -> Result<(), String> {
        self.shared.reload();
        match self.last_error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Replaces the cached server policies (from [`super::parse_server_policies`]).
    pub fn set_server_policies(&self, policies: Vec<Policy>, issues: Vec<Issue>) {
        let mut st = self.shared.lock_state();
        st.server = policies;
        st.server_issues = issues;
        self.shared.rebuild(&st);
    }

    pub fn status(&self) -> StoreStatus {
        let set = self.current();
        let st = self.shared.lock_state();
        StoreStatus {
            path: self.shared.path.clone(),
            file: set.file.clone(),
            active_policies: set
                .active()
                .filter(|p| p.policy.origin != super::model::Origin::Builtin)
                .count(),
            issues: set.issues.clone(),
            last_error: st.last_error.clone(),
            loaded_at_ms: st.loaded_at_ms,
            generation: self.generation(),
        }
    }

    /// Evaluates one classified event. `agent_id` is the base id (`DASHCLAW_AGENT_ID`, else
    /// [`super::default_agent_id`]); a sub-agent's call becomes `parent:child`.
    /// Hosts of the active `egress_allow` policies, for the classifier's egress allowlist.
    pub fn egress_hosts(&self) -> Vec<String> {
        let set = self.current();
        set.policies
            .iter()
            .filter(|p| p.policy.active)
            .filter_map(|p| {
                let allow = p.rule.as_ref().ok()?.get::<super::types::EgressAllow>()?;
                Some(allow.hosts.clone())
            })
            .flatten()
            .collect()
    }

    pub fn evaluate(&self, event: &HookEvent, c: &Classification, agent_id: &str) -> Evaluation {
        let ctx = GuardContext::from_event(event, c, agent_id);
        self.evaluate_context(&ctx, &c.findings)
    }

    /// Evaluates a guard context directly (counts toward `rate_limit`). Cached server policies
    /// are left to the server.
    pub fn evaluate_context(&self, ctx: &GuardContext, findings: &[Finding]) -> Evaluation {
        self.evaluate_context_with(ctx, findings, false)
    }

    /// As [`evaluate_context`](Self::evaluate_context); `include_server` also applies the
    /// cached server policies (the `local` fallback while the server is unreachable).
    pub fn evaluate_context_with(
        &self,
        ctx: &GuardContext,
        findings: &[Finding],
        include_server: bool,
    ) -> Evaluation {
        let set = self.current();
        let env = EvalEnv {
            now_ms: self.shared.clock.now_ms(),
            rate: Some(&self.shared.limiter),
            include_server,
        };
        evaluate(&set, ctx, findings, &env)
    }

    /// Whether any server policies are cached.
    pub fn has_server_policies(&self) -> bool {
        !self.shared.lock_state().server.is_empty()
    }

    /// [`evaluate`](Self::evaluate)'s decision only.
    pub fn decide(&self, event: &HookEvent, c: &Classification, agent_id: &str) -> Decision {
        self.evaluate(event, c, agent_id).decision
    }
}

impl Drop for PolicyStore {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(Msg::Stop);
        }
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

impl Shared {
    fn current(&self) -> Arc<PolicySet> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn reload(&self) {
        let Some(path) = &self.path else { return };
        let mut st = self.lock_state();
        // Fingerprint first: a change while we read is then seen again by the next poll.
        st.fingerprint = fingerprint(path);
        match load_file(path) {
            Ok(None) => {
                if st.file_present {
                    tracing::info!(path = %path.display(), "policy file removed; no user policies");
                }
                st.file_good = Some(Vec::new());
                st.file_present = false;
                st.file_issues = Vec::new();
                st.last_error = None;
                st.loaded_at_ms = Some(self.clock.now_ms());
            }
            Ok(Some(parsed)) => {
                let issues = parsed.issues();
                for i in issues.iter().filter(|i| i.level == Level::Error) {
                    tracing::warn!("{i}");
                }
                tracing::info!(
                    path = %path.display(),
                    policies = parsed.policies.len(),
                    "policy file loaded"
                );
                st.file_good = Some(parsed.policies);
                st.file_present = true;
                st.file_issues = issues;
                st.last_error = None;
                st.loaded_at_ms = Some(self.clock.now_ms());
            }
            Err(e) => {
                tracing::error!(
                    path = %path.display(),
                    "policy file rejected, {}: {e}",
                    if st.file_good.is_some() {
                        "keeping the last good version"
                    } else {
                        "blocking gated calls until it is fixed"
                    }
                );
                st.last_error = Some(e);
            }
        }
        self.rebuild(&st);
    }

    /// Recomposes the set from the state; the caller holds the state lock, so rebuilds are
    /// serialised and the newest state always wins.
    fn rebuild(&self, st: &State) {
        let mut policies = super::builtin_policies();
        policies.extend(st.file_good.iter().flatten().cloned());
        policies.extend(st.server.iter().cloned());
        let mut issues = st.file_issues.clone();
        issues.extend(st.server_issues.iter().cloned());
        let file = match (&st.last_error, &st.file_good) {
            (Some(e), Some(_)) => FileState::Stale { error: e.clone() },
            (Some(e), None) => FileState::Broken { error: e.clone() },
            (None, _) if st.file_present => FileState::Loaded,
            (None, _) => FileState::Absent,
        };
        if let Some(e) = &st.last_error {
            issues.insert(
                0,
                Issue {
                    level: Level::Error,
                    source: self.path.as_deref().map(file_label),
                    line: None,
                    policy: None,
                    field: None,
                    message: format!("policy file rejected: {e}"),
                },
            );
        }
        let set = Arc::new(PolicySet::new(policies, file, issues));
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = set;
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

/// Watches the file's directory for events naming the file; `None` if that is impossible now
/// (the directory may appear later: the poll retries).
fn start_watcher(path: &Path, tx: &Sender<Msg>) -> Option<notify::RecommendedWatcher> {
    use notify::event::{AccessKind, AccessMode, EventKind};
    use notify::{RecursiveMode, Watcher};
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty())?;
    let name = path.file_name()?.to_owned();
    let tx = tx.clone();
    let handler = move |res: notify::Result<notify::Event>| {
        let relevant = match &res {
            // Our own reads open and close the file; only writes matter.
            Ok(ev) if matches!(ev.kind, EventKind::Access(k) if k != AccessKind::Close(AccessMode::Write)) => {
                false
            }
            Ok(ev) => {
                ev.need_rescan()
                    || ev.paths.is_empty()
                    || ev
                        .paths
                        .iter()
                        .any(|p| p.file_name() == Some(name.as_os_str()))
            }
            Err(_) => true,
        };
        if relevant {
            let _ = tx.send(Msg::Changed);
        }
    };
    let mut w = match notify::recommended_watcher(handler) {
        Ok(w) => w,
        Err(e) => {
            tracing::warn!("cannot watch policy files: {e}; polling instead");
            return None;
        }
    };
    match w.watch(dir, RecursiveMode::NonRecursive) {
        Ok(()) => Some(w),
        Err(e) => {
            tracing::debug!(dir = %dir.display(), "not watching the policy directory yet: {e}");
            None
        }
    }
}

fn watch_loop(shared: &Shared, tx: &Sender<Msg>, rx: &mpsc::Receiver<Msg>, opts: &StoreOptions) {
    let Some(path) = shared.path.clone() else {
        return;
    };
    let mut watcher = start_watcher(&path, tx);
    loop {
        match rx.recv_timeout(opts.poll_interval) {
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            Ok(Msg::Changed) => {
                // Wait for the burst to end: editors truncate, write, rename, chmod.
                loop {
                    match rx.recv_timeout(opts.debounce) {
                        Ok(Msg::Changed) => continue,
                        Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                        Err(RecvTimeoutError::Timeout) => break,
                    }
                }
                shared.reload();
            }
            Err(RecvTimeoutError::Timeout) => {
                if watcher.is_none() {
                    watcher = start_watcher(&path, tx);
                }
                let seen = shared.lock_state().fingerprint.clone();
                if fingerprint(&path) != seen {
                    shared.reload();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
