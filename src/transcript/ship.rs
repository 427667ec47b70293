//! Transcript streaming, the server half: ship each session's sanitized new lines to
//! `POST /api/code-sessions/ingest-jsonl` and move the acknowledged cursor only on a 200.
//!
//! **Store-and-forward is the cursor.** Nothing is copied into a queue: the transcript file is
//! the durable buffer and the acknowledged cursor (`state/transcripts.db`) says how much of it
//! the server has. While the server is down, slow, rate-limiting, or not configured at all, the
//! cursor does not move, so nothing is lost; a restart, a crash (`kill -9`) or an outage resends
//! from the last acknowledged line. The server skips input it has already seen, so a replay is
//! harmless. What can be lost is only what the agent deletes before it was delivered; that is
//! logged with the exact byte range ([`ShipStats::lost_bytes`]).
//!
//! Batching: lines collect per session and are sent after [`Tuning::quiet`] without new lines or
//! once [`Tuning::flush_bytes`] are waiting. Each request is the whole JSON envelope, gzipped,
//! with `x-dashclaw-encoding: gzip`, and is split so that no request exceeds
//! [`Tuning::max_request_bytes`] compressed, 200 000 lines or 50 MiB decompressed.
//!
//! The server derives the session from an `assistant` record's `sessionId` and refuses a batch
//! without one (`no_session_uuid_in_jsonl`), so a Claude batch is only cut after such a record
//! unless it must go (session end, end of a backfill, batch at its limit). A batch the server
//! refuses for good (any 4xx but 401/403/429) is skipped and counted, so one poison line cannot
//! stall a session for ever.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use super::{sanitize_value, Cursor, CursorStore, Mode, Tailer, Watcher};
use crate::event::{Agent, EventKind, HookEvent};
use crate::outbox::Outbox;
use crate::remote::http::{Api, ApiError};

pub const INGEST_JSONL: &str = "/api/code-sessions/ingest-jsonl";
pub const INGEST_LIVE: &str = "/api/code-sessions/ingest-live";
/// The server's line cap per request.
pub const MAX_LINES: usize = 200_000;
/// The server's decompressed cap per request.
pub const MAX_DECODED: usize = 50 * 1024 * 1024;

/// Sizes and times; defaults suit the live path, [`Tuning::backfill`] the bulk path.
#[derive(Debug, Clone)]
pub struct Tuning {
    pub mode: Mode,
    /// Flush after this long without new lines.
    pub quiet: Duration,
    /// Flush at the latest this long after the oldest waiting line arrived.
    pub max_delay: Duration,
    /// Flush once this many (sanitized) bytes wait.
    pub flush_bytes: usize,
    /// Largest compressed request (the server's middleware caps bodies at 2 MiB).
    pub max_request_bytes: usize,
    /// Largest decompressed envelope per request.
    pub max_decoded: usize,
    pub max_lines: usize,
    /// `hook` for live sessions, `jsonl` for backfill.
    pub source_host: &'static str,
}

impl Default for Tuning {
    fn default() -> Tuning {
        Tuning {
            mode: Mode::Metadata,
            // Lines of one model response arrive within a few ms of each other; 100 ms of quiet
            // ends a burst without holding a turn back (p50 delta latency ~110 ms).
            quiet: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            flush_bytes: 256 * 1024,
            max_request_bytes: 1536 * 1024,
            max_decoded: 8 * 1024 * 1024,
            max_lines: MAX_LINES,
            source_host: "hook",
        }
    }
}

impl Tuning {
    /// The live defaults with the environment's overrides: `DASHCLAW_CODE_SESSIONS_CONTENT`
    /// (`metadata`|`full`), `DASHCLAW_TRANSCRIPT_QUIET_MS`, `DASHCLAW_TRANSCRIPT_FLUSH_BYTES`.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Tuning {
        let mut t = Tuning::default();
        if let Some(v) = get("DASHCLAW_CODE_SESSIONS_CONTENT") {
            match Mode::parse(&v) {
                Some(m) => t.mode = m,
                None => tracing::warn!("DASHCLAW_CODE_SESSIONS_CONTENT={v:?} is neither metadata nor full; using metadata"),
            }
        }
        if let Some(ms) = get("DASHCLAW_TRANSCRIPT_QUIET_MS").and_then(|v| v.trim().parse().ok()) {
            t.quiet = Duration::from_millis(ms);
        }
        if let Some(b) = get("DASHCLAW_TRANSCRIPT_FLUSH_BYTES").and_then(|v| v.trim().parse().ok())
        {
            t.flush_bytes = b;
        }
        t
    }

    /// Bulk upload: big batches, `source_host: "jsonl"`.
    pub fn backfill(mode: Mode) -> Tuning {
        Tuning {
            mode,
            flush_bytes: 8 * 1024 * 1024,
            source_host: "jsonl",
            ..Tuning::default()
        }
    }
}

/// One sanitized line and where the file continues after it.
#[derive(Debug, Clone)]
pub struct Line {
    pub text: String,
    pub end: Cursor,
    /// An `assistant` record's `sessionId`: the server derives the session from it.
    pub session_uuid: Option<String>,
    pub tool_use_ids: Vec<String>,
}

/// Sanitizes one raw line; `None` when malformed (the caller counts it).
pub fn prepare(agent: Agent, raw: &str, mode: Mode, end: Cursor) -> Option<Line> {
    let mut v: Value = serde_json::from_str(raw).ok()?;
    // Read what we need before sanitizing: ids survive metadata mode but this is cheaper.
    let session_uuid = (v.get("type").and_then(Value::as_str) == Some("assistant"))
        .then(|| {
            v.get("sessionId")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .flatten();
    let mut tool_use_ids = Vec::new();
    if let Some(blocks) = v.pointer("/message/content").and_then(Value::as_array) {
        for b in blocks {
            if b.get("type").and_then(Value::as_str) == Some("tool_use") {
                if let Some(id) = b.get("id").and_then(Value::as_str) {
                    tool_use_ids.push(id.to_owned());
                }
            }
        }
    }
    if let Some(id) = v.pointer("/payload/call_id").and_then(Value::as_str) {
        tool_use_ids.push(id.to_owned());
    }
    sanitize_value(agent, &mut v, mode).ok()?;
    Some(Line {
        text: v.to_string(),
        end,
        session_uuid,
        tool_use_ids,
    })
}

/// What a request is about.
#[derive(Debug, Clone)]
pub struct Meta {
    pub path: PathBuf,
    pub session: String,
    pub agent: Agent,
    pub cwd: Option<String>,
}

impl Meta {
    /// Upstream's project: the slug is the transcript's directory name for Claude Code
    /// (`projects/<slug>/<session>.jsonl`); otherwise the server derives it from `cwd`.
    pub fn project(&self, source_host: &str) -> Value {
        let mut p = Map::new();
        if self.agent == Agent::Claude {
            if let Some(slug) = self
                .path
                .parent()
                .and_then(Path::file_name)
                .map(|s| s.to_string_lossy().into_owned())
            {
                p.insert("slug".into(), json!(slug));
            }
        }
        if let Some(cwd) = self.cwd.as_ref().filter(|c| !c.is_empty()) {
            p.insert("cwd".into(), json!(cwd));
        }
        p.insert("source_host".into(), json!(source_host));
        Value::Object(p)
    }
}

/// How one attempt at the head of a session's lines went.
#[derive(Debug)]
pub enum Sent {
    /// The server has the first `lines` lines (`bytes` sanitized bytes).
    Acked { lines: usize, bytes: usize },
    /// The server refuses the first `lines` lines for good; skip them.
    Rejected { lines: usize, why: String },
    /// Try again later (`after`: the server's Retry-After).
    Retry {
        after: Option<Duration>,
        why: String,
    },
    /// This server has no ingest routes (v2.0).
    NoRoute,
}

/// Counters for `dashclawd status`.
#[derive(Debug, Default)]
pub struct ShipStats {
    pub sessions_watched: AtomicU64,
    pub bytes_shipped: AtomicU64,
    pub lines_shipped: AtomicU64,
    pub requests: AtomicU64,
    pub dropped_malformed: AtomicU64,
    pub rejected_lines: AtomicU64,
    pub lost_bytes: AtomicU64,
    pub retries: AtomicU64,
    pub disabled: AtomicBool,
    pub lag: Mutex<BTreeMap<String, Lag>>,
    pub last_error: Mutex<Option<String>>,
}

/// How far behind one session is.
#[derive(Debug, Clone, Default)]
pub struct Lag {
    pub path: PathBuf,
    pub acked_offset: u64,
    pub file_size: u64,
    pub pending_lines: usize,
    pub last_ack: Option<Instant>,
}

impl ShipStats {
    pub fn to_json(&self) -> Value {
        let lag = self.lag.lock().unwrap_or_else(|e| e.into_inner());
        let sessions: Vec<Value> = lag
            .iter()
            .map(|(s, l)| {
                json!({
                    "session_id": s,
                    "path": l.path,
                    "acked_offset": l.acked_offset,
                    "bytes_behind": l.file_size.saturating_sub(l.acked_offset),
                    "pending_lines": l.pending_lines,
                    "ms_since_ack": l.last_ack.map(|t| t.elapsed().as_millis() as u64),
                })
            })
            .collect();
        let backlog: u64 = lag
            .values()
            .map(|l| l.file_size.saturating_sub(l.acked_offset))
            .sum();
        json!({
            "enabled": !self.disabled.load(Ordering::Relaxed),
            "sessions_watched": self.sessions_watched.load(Ordering::Relaxed),
            "bytes_shipped": self.bytes_shipped.load(Ordering::Relaxed),
            "lines_shipped": self.lines_shipped.load(Ordering::Relaxed),
            "requests": self.requests.load(Ordering::Relaxed),
            "dropped_malformed": self.dropped_malformed.load(Ordering::Relaxed),
            "rejected_lines": self.rejected_lines.load(Ordering::Relaxed),
            "lost_bytes": self.lost_bytes.load(Ordering::Relaxed),
            "retries": self.retries.load(Ordering::Relaxed),
            "backlog_bytes": backlog,
            "sessions": sessions,
            "last_error": self.last_error.lock().map(|e| e.clone()).unwrap_or_default(),
        })
    }
}

/// Sends batches; shared by the daemon and `dashclawd ingest backfill`.
pub struct Uploader {
    pub api: Api,
    pub outbox: Option<Arc<Outbox>>,
    pub tuning: Tuning,
    pub stats: Arc<ShipStats>,
}

/// gzip of `data`.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(data.len() / 4 + 64),
        flate2::Compression::fast(),
    );
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

impl Uploader {
    /// How many of `lines` the next request carries: within the byte and line limits, and (for
    /// Claude) through the first record that names the session when there is one.
    fn take(&self, meta: &Meta, lines: &VecDeque<Line>, limit: usize) -> usize {
        let mut n = 0;
        let mut bytes = 0;
        for l in lines.iter() {
            if n >= self.tuning.max_lines.min(MAX_LINES) || n >= limit {
                break;
            }
            // A JSON string of JSON: quotes get escaped; budget with headroom.
            let cost = l.text.len() + l.text.len() / 8 + 4;
            if n > 0 && bytes + cost > self.tuning.max_decoded.min(MAX_DECODED - 64 * 1024) {
                break;
            }
            bytes += cost;
            n += 1;
        }
        if meta.agent == Agent::Claude && !lines.iter().take(n).any(|l| l.session_uuid.is_some()) {
            if let Some(i) = lines.iter().position(|l| l.session_uuid.is_some()) {
                n = n.max(i + 1);
            }
        }
        n.max(1).min(lines.len())
    }

    fn envelope(&self, meta: &Meta, lines: &VecDeque<Line>, n: usize) -> Vec<u8> {
        let session_uuid = lines
            .iter()
            .take(n)
            .find_map(|l| l.session_uuid.clone())
            .unwrap_or_else(|| meta.session.clone());
        let ids: HashSet<&str> = lines
            .iter()
            .take(n)
            .flat_map(|l| l.tool_use_ids.iter().map(String::as_str))
            .collect();
        let mut map = Map::new();
        if !ids.is_empty() {
            if let Some(outbox) = &self.outbox {
                match outbox.session_actions(&meta.session, 0) {
                    Ok(actions) => {
                        for (key, id) in actions {
                            if ids.contains(key.as_str()) {
                                map.insert(key, json!(id));
                            }
                        }
                    }
                    Err(e) => tracing::warn!("transcripts: reading the action map: {e:#}"),
                }
            }
        }
        let texts: Vec<&str> = lines.iter().take(n).map(|l| l.text.as_str()).collect();
        let body = json!({
            "project": meta.project(self.tuning.source_host),
            "session_uuid": session_uuid,
            "jsonl_lines": texts,
            "source_file": meta.path.to_string_lossy(),
            "tool_use_action_map": map,
        });
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// Sends the head of `lines` (blocking work on the current thread: call from a blocking
    /// context or `block_in_place`). Never sends more than one request.
    pub async fn send(&self, meta: &Meta, lines: &VecDeque<Line>, mut limit: usize) -> Sent {
        if lines.is_empty() {
            return Sent::Acked { lines: 0, bytes: 0 };
        }
        loop {
            let n = self.take(meta, lines, limit);
            let (body, gz) = tokio::task::block_in_place(|| {
                let body = self.envelope(meta, lines, n);
                let gz = gzip(&body);
                (body.len(), gz)
            });
            if gz.len() > self.tuning.max_request_bytes || body > MAX_DECODED {
                if n > 1 {
                    limit = n / 2;
                    continue;
                }
                return Sent::Rejected {
                    lines: 1,
                    why: format!(
                        "one line is {} bytes compressed, over the {} byte request cap",
                        gz.len(),
                        self.tuning.max_request_bytes
                    ),
                };
            }
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let res = self
                .api
                .call_raw(
                    INGEST_JSONL,
                    gz,
                    &[("x-dashclaw-encoding", "gzip")],
                    Duration::from_secs(60),
                )
                .await;
            return match res {
                Ok(r) if (200..300).contains(&r.status) => {
                    let bytes = lines.iter().take(n).map(|l| l.text.len() + 1).sum();
                    Sent::Acked { lines: n, bytes }
                }
                Ok(r) => Sent::Rejected {
                    lines: n,
                    why: format!("HTTP {}: {}", r.status, r.body),
                },
                Err(ApiError::TooLarge) if n > 1 => {
                    limit = n / 2;
                    continue;
                }
                Err(ApiError::NoRoute) => Sent::NoRoute,
                Err(ApiError::RateLimited(after)) => Sent::Retry {
                    after: Some(after.unwrap_or(Duration::from_secs(60))),
                    why: "rate limited (429)".into(),
                },
                Err(e @ (ApiError::Unauthorized(_) | ApiError::Forbidden(_))) => Sent::Retry {
                    after: Some(Duration::from_secs(60)),
                    why: e.to_string(),
                },
                Err(e) if e.is_transient() => Sent::Retry {
                    after: None,
                    why: e.to_string(),
                },
                Err(e) => Sent::Rejected {
                    lines: n,
                    why: e.to_string(),
                },
            };
        }
    }

    /// `ingest-live {session_uuid, finalize:true, project}`.
    pub async fn finalize(&self, meta: &Meta) -> Result<(), ApiError> {
        let body = json!({
            "session_uuid": meta.session,
            "finalize": true,
            "project": meta.project("hook"),
        });
        let r = self
            .api
            .call(
                reqwest::Method::POST,
                INGEST_LIVE,
                Some(&body),
                Duration::from_secs(20),
            )
            .await?;
        if (200..300).contains(&r.status) || (400..500).contains(&r.status) {
            Ok(())
        } else {
            Err(ApiError::Rejected {
                status: r.status,
                message: r.body.to_string(),
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The daemon's live shipper
// ---------------------------------------------------------------------------------------------

/// What the daemon tells the shipper.
#[derive(Debug)]
enum Msg {
    /// A hook event named this transcript.
    Seen { meta: Meta, ended: bool },
}

/// The daemon's handle: cheap to call from `hook()`.
pub struct Shipper {
    tx: mpsc::UnboundedSender<Msg>,
    pub stats: Arc<ShipStats>,
}

impl Shipper {
    /// Learns a session's transcript from a hook event (never blocks).
    pub fn observe(&self, ev: &HookEvent) {
        // Codex rollouts are not a format the server's JSONL parser reads (it needs Claude's
        // assistant records); their turns go to ingest-live at Stop (remote/deliver.rs).
        if ev.agent == Agent::Codex {
            return;
        }
        let (Some(path), Some(session)) = (&ev.transcript_path, &ev.session_id) else {
            return;
        };
        if path.is_empty() || session.is_empty() {
            return;
        }
        let meta = Meta {
            path: PathBuf::from(path),
            session: session.clone(),
            agent: ev.agent,
            cwd: Some(ev.cwd.clone()),
        };
        let _ = self.tx.send(Msg::Seen {
            meta,
            ended: ev.kind == EventKind::SessionEnd,
        });
    }

    pub fn status(&self) -> Value {
        self.stats.to_json()
    }

    /// Starts the shipper task on the current runtime: resumes the stored sessions, then
    /// follows what hooks report.
    pub fn start(
        uploader: Uploader,
        store: CursorStore,
        lost: Option<mpsc::UnboundedSender<Lost>>,
    ) -> Shipper {
        let stats = uploader.stats.clone();
        let (tx, rx) = mpsc::unbounded_channel();
        let (ctx, crx) = mpsc::unbounded_channel();
        let watcher = Watcher::new(ctx);
        let live = LiveLoop {
            up: uploader,
            store,
            lost,
            watcher,
            sessions: HashMap::new(),
            disabled: false,
        };
        tokio::spawn(live.run(rx, crx));
        Shipper { tx, stats }
    }
}

/// Transcript bytes that were deleted before the server had them, for the ledger.
#[derive(Debug, Clone)]
pub struct Lost {
    pub agent: Agent,
    pub session: String,
    pub path: PathBuf,
    pub from: u64,
    /// `None`: the file was already gone when we looked (at start), its final size unknown.
    pub to: Option<u64>,
}

struct Session {
    meta: Meta,
    tailer: Tailer,
    acked: Cursor,
    pending: VecDeque<Line>,
    pending_bytes: usize,
    last_new: Instant,
    /// When the oldest pending line arrived: a steady trickle must not defer a flush for ever.
    waiting_since: Option<Instant>,
    dirty: bool,
    ended: bool,
    retry_at: Option<Instant>,
    backoff: Duration,
    file_size: u64,
    missing_since: Option<Instant>,
    last_ack: Option<Instant>,
}

struct LiveLoop {
    up: Uploader,
    store: CursorStore,
    lost: Option<mpsc::UnboundedSender<Lost>>,
    watcher: Watcher,
    sessions: HashMap<PathBuf, Session>,
    disabled: bool,
}

/// How long a vanished transcript may stay missing (a rename-over in progress) before what was
/// not delivered is declared lost.
const MISSING_GRACE: Duration = Duration::from_secs(5);
/// Sessions idle longer than this are not resumed at start.
const RESUME_WITHIN_SECS: i64 = 7 * 24 * 3600;

impl LiveLoop {
    async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<Msg>,
        mut changes: mpsc::UnboundedReceiver<PathBuf>,
    ) {
        self.resume();
        loop {
            let busy = self
                .sessions
                .values()
                .any(|s| s.dirty || !s.pending.is_empty() || s.ended || s.missing_since.is_some());
            let tick = if busy {
                Duration::from_millis(20)
            } else {
                Duration::from_secs(1)
            };
            tokio::select! {
                m = rx.recv() => match m {
                    Some(m) => self.on_msg(m),
                    None => return,
                },
                Some(p) = changes.recv() => self.on_change(&p),
                _ = tokio::time::sleep(tick) => {}
            }
            while let Ok(m) = rx.try_recv() {
                self.on_msg(m);
            }
            while let Ok(p) = changes.try_recv() {
                self.on_change(&p);
            }
            if self.disabled {
                continue;
            }
            self.step().await;
        }
    }

    fn resume(&mut self) {
        let now = crate::approvals::unix_now();
        let stored = match self.store.sessions() {
            Ok(s) => s,
            Err(e) => {
                tracing::error!("transcripts: reading the cursor store: {e:#}");
                return;
            }
        };
        for s in stored {
            if now - s.updated_at > RESUME_WITHIN_SECS {
                continue;
            }
            if !s.path.exists() {
                // Deleted while no daemon watched it: whatever followed the acknowledged
                // position never reached the server.
                tracing::warn!(
                    path = %s.path.display(), session = %s.session_id,
                    "transcripts: the transcript is gone; anything after byte {} was never delivered",
                    s.cursor.offset
                );
                if let Some(tx) = &self.lost {
                    let _ = tx.send(Lost {
                        agent: s.agent,
                        session: s.session_id.clone(),
                        path: s.path.clone(),
                        from: s.cursor.offset,
                        to: None,
                    });
                }
                let _ = self.store.remove(&s.path);
                continue;
            }
            let meta = Meta {
                path: s.path.clone(),
                session: s.session_id.clone(),
                agent: s.agent,
                cwd: None,
            };
            self.add(meta, s.cursor);
        }
    }

    fn on_msg(&mut self, m: Msg) {
        let Msg::Seen { meta, ended } = m;
        if let Some(s) = self.sessions.get_mut(&meta.path) {
            s.dirty = true;
            s.ended |= ended;
            if s.meta.cwd.is_none() {
                s.meta.cwd = meta.cwd;
            }
            return;
        }
        if self.disabled {
            return;
        }
        let cursor = match self.store.get(&meta.path) {
            Ok(Some(st)) => st.cursor,
            Ok(None) => {
                // Remember the session now, so a restart resumes it even before the first ack.
                if let Err(e) =
                    self.store
                        .put(&meta.path, &Cursor::start(), &meta.session, meta.agent)
                {
                    tracing::error!("transcripts: cursor store: {e:#}");
                }
                Cursor::start()
            }
            Err(e) => {
                tracing::error!("transcripts: cursor store: {e:#}");
                return;
            }
        };
        let path = meta.path.clone();
        self.add(meta, cursor);
        if let Some(s) = self.sessions.get_mut(&path) {
            s.ended |= ended;
        }
    }

    fn add(&mut self, meta: Meta, cursor: Cursor) {
        let mode = self.watcher.watch(&meta.path);
        tracing::info!(path = %meta.path.display(), session = %meta.session, ?mode, offset = cursor.offset, "transcripts: following");
        self.up
            .stats
            .sessions_watched
            .fetch_add(1, Ordering::Relaxed);
        let tailer = Tailer::new(meta.path.clone(), cursor);
        self.sessions.insert(
            meta.path.clone(),
            Session {
                meta,
                tailer,
                acked: cursor,
                pending: VecDeque::new(),
                pending_bytes: 0,
                last_new: Instant::now(),
                waiting_since: None,
                dirty: true,
                ended: false,
                retry_at: None,
                backoff: Duration::from_millis(250),
                file_size: 0,
                missing_since: None,
                last_ack: None,
            },
        );
    }

    fn on_change(&mut self, p: &Path) {
        if let Some(s) = self.sessions.get_mut(p) {
            s.dirty = true;
        }
    }

    async fn step(&mut self) {
        let paths: Vec<PathBuf> = self.sessions.keys().cloned().collect();
        for path in paths {
            let Some(mut s) = self.sessions.remove(&path) else {
                continue;
            };
            let keep = self.step_one(&mut s).await;
            self.publish_lag(&s);
            if keep {
                self.sessions.insert(path, s);
            } else {
                self.watcher.unwatch(&path);
                self.up
                    .stats
                    .sessions_watched
                    .fetch_sub(1, Ordering::Relaxed);
                if let Ok(mut lag) = self.up.stats.lag.lock() {
                    lag.remove(&s.meta.session);
                }
            }
            if self.disabled {
                return;
            }
        }
    }

    fn publish_lag(&self, s: &Session) {
        if let Ok(mut lag) = self.up.stats.lag.lock() {
            lag.insert(
                s.meta.session.clone(),
                Lag {
                    path: s.meta.path.clone(),
                    acked_offset: s.acked.offset,
                    file_size: s.file_size,
                    pending_lines: s.pending.len(),
                    last_ack: s.last_ack,
                },
            );
        }
    }

    /// Reads, flushes, finishes one session; false when it is done with.
    async fn step_one(&mut self, s: &mut Session) -> bool {
        if s.dirty {
            self.read(s);
        }
        if let Some(since) = s.missing_since {
            if s.pending.is_empty() && since.elapsed() >= MISSING_GRACE {
                let lost = s.file_size.saturating_sub(s.acked.offset);
                self.up.stats.lost_bytes.fetch_add(lost, Ordering::Relaxed);
                tracing::warn!(
                    path = %s.meta.path.display(), session = %s.meta.session,
                    "transcripts: the transcript disappeared; bytes {}..{} ({lost} bytes) were never delivered to the server",
                    s.acked.offset, s.file_size.max(s.acked.offset)
                );
                if let Some(tx) = &self.lost {
                    let _ = tx.send(Lost {
                        agent: s.meta.agent,
                        session: s.meta.session.clone(),
                        path: s.meta.path.clone(),
                        from: s.acked.offset,
                        to: Some(s.file_size.max(s.acked.offset)),
                    });
                }
                let _ = self.store.remove(&s.meta.path);
                return false;
            }
        }
        let now = Instant::now();
        if s.retry_at.is_some_and(|t| now < t) {
            return true;
        }
        let has_carrier =
            s.meta.agent != Agent::Claude || s.pending.iter().any(|l| l.session_uuid.is_some());
        let full = s.pending_bytes >= self.up.tuning.flush_bytes;
        let forced = s.ended || full || s.missing_since.is_some();
        if s.pending.is_empty() {
            s.waiting_since = None;
        }
        let overdue = s
            .waiting_since
            .is_some_and(|t| t.elapsed() >= self.up.tuning.max_delay);
        let due = !s.pending.is_empty()
            && (full || s.ended || overdue || s.last_new.elapsed() >= self.up.tuning.quiet)
            && (has_carrier || forced);
        if due {
            self.flush(s).await;
            if self.disabled {
                return false;
            }
        }
        if s.ended && s.pending.is_empty() && !s.dirty && s.retry_at.is_none() {
            match self.up.finalize(&s.meta).await {
                Ok(()) => {
                    tracing::info!(session = %s.meta.session, "transcripts: session finalized");
                    return false;
                }
                Err(ApiError::NoRoute) => return self.no_route(),
                Err(e) => self.retry_later(s, None, &e.to_string()),
            }
        }
        true
    }

    fn read(&mut self, s: &mut Session) {
        let budget = self.up.tuning.flush_bytes.max(64 * 1024);
        let mode = self.up.tuning.mode;
        tokio::task::block_in_place(|| loop {
            if s.pending_bytes >= budget * 2 {
                // Enough in memory; the rest waits in the file.
                return;
            }
            match s.tailer.read_lines(budget) {
                Ok(chunk) => {
                    s.missing_since = None;
                    if let Ok(m) = std::fs::metadata(&s.meta.path) {
                        s.file_size = m.len();
                    }
                    if let Some(r) = chunk.reset {
                        tracing::warn!(path = %s.meta.path.display(), reset = ?r, "transcripts: the transcript was replaced or truncated; reading it from the start");
                        if s.pending.is_empty() {
                            s.acked = Cursor::start();
                        }
                    }
                    let mut skip = None;
                    if s.pending.is_empty() {
                        s.waiting_since = Some(Instant::now());
                    }
                    let bad = push_chunk(
                        s.meta.agent,
                        mode,
                        &chunk,
                        &mut s.pending,
                        &mut s.pending_bytes,
                        &mut skip,
                    );
                    if bad > 0 {
                        self.up
                            .stats
                            .dropped_malformed
                            .fetch_add(bad, Ordering::Relaxed);
                        tracing::warn!(path = %s.meta.path.display(), dropped = bad, "transcripts: dropped lines that are not JSON objects (or not UTF-8, or too long)");
                    }
                    if !chunk.lines.is_empty() || bad > 0 {
                        s.last_new = Instant::now();
                    }
                    if let Some(c) = skip {
                        s.acked_skip(c);
                    }
                    if !chunk.more {
                        s.dirty = false;
                        return;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    s.dirty = false;
                    s.missing_since.get_or_insert_with(Instant::now);
                    return;
                }
                Err(e) => {
                    tracing::warn!(path = %s.meta.path.display(), "transcripts: reading: {e}");
                    s.dirty = false;
                    return;
                }
            }
        });
    }

    async fn flush(&mut self, s: &mut Session) {
        while !s.pending.is_empty() {
            let has_carrier =
                s.meta.agent != Agent::Claude || s.pending.iter().any(|l| l.session_uuid.is_some());
            let forced = s.ended
                || s.pending_bytes >= self.up.tuning.flush_bytes
                || s.missing_since.is_some();
            if !has_carrier && !forced {
                return;
            }
            match self.up.send(&s.meta, &s.pending, usize::MAX).await {
                Sent::Acked { lines, bytes } => {
                    let st = &self.up.stats;
                    st.lines_shipped.fetch_add(lines as u64, Ordering::Relaxed);
                    st.bytes_shipped.fetch_add(bytes as u64, Ordering::Relaxed);
                    self.advance(s, lines);
                    s.backoff = Duration::from_millis(250);
                    s.retry_at = None;
                }
                Sent::Rejected { lines, why } => {
                    self.up
                        .stats
                        .rejected_lines
                        .fetch_add(lines as u64, Ordering::Relaxed);
                    tracing::warn!(session = %s.meta.session, lines, "transcripts: the server refused lines; skipping them: {why}");
                    self.set_error(&why);
                    self.advance(s, lines);
                }
                Sent::Retry { after, why } => {
                    self.retry_later(s, after, &why);
                    return;
                }
                Sent::NoRoute => {
                    self.no_route();
                    return;
                }
            }
        }
    }

    fn advance(&mut self, s: &mut Session, n: usize) {
        // Lines inside a chunk carry no exact cursor; the acked cursor only moves to a chunk's
        // end, so a partly acked chunk is resent from its start (the server skips duplicates).
        if let Some(c) = pop_front(&mut s.pending, &mut s.pending_bytes, n) {
            s.acked = c;
            s.last_ack = Some(Instant::now());
            if let Err(e) = tokio::task::block_in_place(|| {
                self.store
                    .put(&s.meta.path, &c, &s.meta.session, s.meta.agent)
            }) {
                tracing::error!("transcripts: cursor store: {e:#}");
            }
        }
    }

    fn retry_later(&self, s: &mut Session, after: Option<Duration>, why: &str) {
        let wait = after.unwrap_or(s.backoff);
        s.backoff = (s.backoff * 2).min(Duration::from_secs(30));
        s.retry_at = Some(Instant::now() + wait);
        self.up.stats.retries.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(session = %s.meta.session, ?wait, "transcripts: will retry: {why}");
        self.set_error(why);
    }

    fn no_route(&mut self) -> bool {
        if !self.disabled {
            self.disabled = true;
            self.up.stats.disabled.store(true, Ordering::Relaxed);
            tracing::warn!("transcripts: this DashClaw server has no transcript ingest (an HTML 404 from {INGEST_JSONL}: a v2.0 server); not shipping transcripts to it");
            self.set_error("no ingest route on this server (v2.0)");
        }
        false
    }

    fn set_error(&self, why: &str) {
        if let Ok(mut e) = self.up.stats.last_error.lock() {
            *e = Some(why.to_owned());
        }
    }
}

impl Session {
    /// Every line of a chunk was dropped: nothing to send, but the cursor may move past them
    /// once nothing earlier is pending.
    fn acked_skip(&mut self, next: Cursor) {
        self.acked = next;
    }
}

/// Removes the first `n` lines; returns the cursor to persist: the end of the last removed
/// line that ends a chunk, if any.
pub fn pop_front(pending: &mut VecDeque<Line>, bytes: &mut usize, n: usize) -> Option<Cursor> {
    let mut end = None;
    for _ in 0..n {
        if let Some(l) = pending.pop_front() {
            *bytes = bytes.saturating_sub(l.text.len() + 1);
            if !l.end.is_marker() {
                end = Some(l.end);
            }
        }
    }
    end
}

/// Appends a chunk's lines (sanitized) to `pending`; returns how many were malformed or
/// unreadable. The chunk's end goes on the last pending line (or is returned in `skip` when
/// nothing is pending, for the caller to move its cursor past dropped lines).
pub fn push_chunk(
    agent: Agent,
    mode: Mode,
    chunk: &super::Chunk,
    pending: &mut VecDeque<Line>,
    bytes: &mut usize,
    skip: &mut Option<Cursor>,
) -> u64 {
    let mut bad = u64::from(chunk.invalid_utf8 + chunk.oversized);
    let had = !chunk.lines.is_empty() || bad > 0;
    for raw in &chunk.lines {
        match prepare(agent, raw, mode, MARKER) {
            Some(l) => {
                *bytes += l.text.len() + 1;
                pending.push_back(l);
            }
            None => bad += 1,
        }
    }
    if had {
        match pending.back_mut() {
            Some(last) => last.end = chunk.next,
            None => *skip = Some(chunk.next),
        }
    }
    bad
}

/// The `end` of a line that is not the last of its chunk (see [`LiveLoop::advance`]).
pub const MARKER: Cursor = Cursor {
    offset: u64::MAX,
    dev: 0,
    ino: 0,
    head: 0,
    head_len: 0,
};

trait IsMarker {
    fn is_marker(&self) -> bool;
}

impl IsMarker for Cursor {
    fn is_marker(&self) -> bool {
        *self == MARKER
    }
}

/// The daemon's transcript shipper for `remote`, unless `DASHCLAW_CODE_SESSIONS_ENABLED=0`.
/// Must run inside the daemon's (multi-threaded) runtime.
pub fn start_for_daemon(
    state_dir: &Path,
    remote: &crate::remote::Remote,
    lost: mpsc::UnboundedSender<Lost>,
) -> Option<Arc<Shipper>> {
    let env = |k: &str| std::env::var(k).ok();
    if !remote.settings.code_sessions {
        tracing::info!(
            "transcripts: shipping is off (DASHCLAW_CODE_SESSIONS_ENABLED / code_sessions)"
        );
        return None;
    }
    let store = match CursorStore::open(&state_dir.join("transcripts.db")) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("transcripts: cannot open the cursor store: {e:#}; not shipping");
            return None;
        }
    };
    let up = Uploader {
        api: remote.api.clone(),
        outbox: Some(remote.outbox.clone()),
        tuning: Tuning {
            mode: if remote.settings.code_sessions_full {
                Mode::Full
            } else {
                Mode::Metadata
            },
            ..Tuning::from_env(&env)
        },
        stats: Arc::default(),
    };
    Some(Arc::new(Shipper::start(up, store, Some(lost))))
}

/// Without a server: remembers each session's transcript (acknowledged cursor at the start),
/// so a daemon that later has a server ships it from the beginning (sessions of the last
/// seven days are resumed at start).
pub struct OfflineRegistry {
    store: CursorStore,
    seen: Mutex<HashSet<PathBuf>>,
}

impl OfflineRegistry {
    /// `enabled`: the configuration's `code_sessions` (see `ServerSection`).
    pub fn open(state_dir: &Path, enabled: bool) -> Option<OfflineRegistry> {
        if !enabled {
            return None;
        }
        match CursorStore::open(&state_dir.join("transcripts.db")) {
            Ok(store) => Some(OfflineRegistry {
                store,
                seen: Mutex::new(HashSet::new()),
            }),
            Err(e) => {
                tracing::error!("transcripts: cannot open the cursor store: {e:#}");
                None
            }
        }
    }

    /// Records the event's transcript once (later events of the session change nothing).
    pub fn observe(&self, ev: &HookEvent) {
        // Codex rollouts are not a format the server's JSONL parser reads (it needs Claude's
        // assistant records); their turns go to ingest-live at Stop (remote/deliver.rs).
        if ev.agent == Agent::Codex {
            return;
        }
        let (Some(path), Some(session)) = (&ev.transcript_path, &ev.session_id) else {
            return;
        };
        if path.is_empty() || session.is_empty() {
            return;
        }
        let path = PathBuf::from(path);
        if !self
            .seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(path.clone())
        {
            return;
        }
        let store = &self.store;
        match store.get(&path) {
            Ok(Some(_)) => {}
            Ok(None) => {
                if let Err(e) = store.put(&path, &Cursor::start(), session, ev.agent) {
                    tracing::warn!("transcripts: cannot remember {}: {e:#}", path.display());
                }
            }
            Err(e) => tracing::warn!("transcripts: {e:#}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Chunk;

    fn at(offset: u64) -> Cursor {
        Cursor {
            offset,
            dev: 1,
            ino: 2,
            ..Cursor::default()
        }
    }

    const ASSISTANT: &str = r#"{"type":"assistant","uuid":"a","sessionId":"S","message":{"role":"assistant","content":[{"type":"text","text":"secret reply"},{"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"rm -rf x"}}]}}"#;
    const USER: &str =
        r#"{"type":"user","uuid":"b","sessionId":"S","message":{"role":"user","content":"hi"}}"#;

    #[test]
    fn prepare_finds_the_session_and_tool_ids_and_strips_content() {
        let l = prepare(Agent::Claude, ASSISTANT, Mode::Metadata, at(9)).unwrap();
        assert_eq!(l.session_uuid.as_deref(), Some("S"));
        assert_eq!(l.tool_use_ids, ["toolu_1"]);
        assert!(!l.text.contains("secret reply") && !l.text.contains("rm -rf"));
        let u = prepare(Agent::Claude, USER, Mode::Metadata, at(9)).unwrap();
        assert_eq!(u.session_uuid, None);
        assert!(prepare(Agent::Claude, "nope", Mode::Metadata, at(9)).is_none());
        assert!(prepare(Agent::Claude, "[1]", Mode::Metadata, at(9)).is_none());
    }

    #[test]
    fn only_chunk_ends_move_the_cursor() {
        let mut pending = VecDeque::new();
        let (mut bytes, mut skip) = (0, None);
        let chunk = Chunk {
            lines: vec![USER.into(), "garbage".into(), ASSISTANT.into()],
            next: at(300),
            ..Chunk::default()
        };
        let bad = push_chunk(
            Agent::Claude,
            Mode::Metadata,
            &chunk,
            &mut pending,
            &mut bytes,
            &mut skip,
        );
        assert_eq!((bad, pending.len(), skip), (1, 2, None));
        // Only dropped lines: the cursor rides on the last pending line.
        let dropped = Chunk {
            lines: vec!["junk".into()],
            next: at(400),
            ..Chunk::default()
        };
        push_chunk(
            Agent::Claude,
            Mode::Metadata,
            &dropped,
            &mut pending,
            &mut bytes,
            &mut skip,
        );
        assert_eq!(pop_front(&mut pending, &mut bytes, 1), None);
        assert_eq!(pop_front(&mut pending, &mut bytes, 1), Some(at(400)));
        assert_eq!(bytes, 0);
        // Nothing pending: the caller is told where to skip to.
        push_chunk(
            Agent::Claude,
            Mode::Metadata,
            &Chunk {
                lines: vec!["x".into()],
                next: at(500),
                ..Chunk::default()
            },
            &mut pending,
            &mut bytes,
            &mut skip,
        );
        assert_eq!(skip, Some(at(500)));
    }

    #[test]
    fn claude_project_slug_is_the_transcript_directory() {
        let m = Meta {
            path: "/h/.claude/projects/-work-app/S.jsonl".into(),
            session: "S".into(),
            agent: Agent::Claude,
            cwd: Some("/work/app".into()),
        };
        assert_eq!(
            m.project("hook"),
            json!({"slug": "-work-app", "cwd": "/work/app", "source_host": "hook"})
        );
        let c = Meta {
            agent: Agent::Codex,
            cwd: None,
            ..m
        };
        assert_eq!(c.project("jsonl"), json!({"source_host": "jsonl"}));
    }

    #[test]
    fn env_settings() {
        let env = |k: &str| match k {
            "DASHCLAW_CODE_SESSIONS_CONTENT" => Some("full".to_string()),
            "DASHCLAW_TRANSCRIPT_QUIET_MS" => Some("40".to_string()),
            "DASHCLAW_CODE_SESSIONS_ENABLED" => Some("0".to_string()),
            _ => None,
        };
        let t = Tuning::from_env(&env);
        assert_eq!(t.mode, Mode::Full);
        assert_eq!(t.quiet, Duration::from_millis(40));
        let section = crate::remote::ServerSection {
            code_sessions_content: Some("metadata".into()),
            ..Default::default()
        };
        assert!(!section.code_sessions_enabled(&env), "the environment wins");
        assert!(section.code_sessions_enabled(&|_| None), "on by default");
        assert!(section.code_sessions_full(&env), "the environment wins");
        assert!(!section.code_sessions_full(&|_| None));
        assert!(!gzip(b"").is_empty());
    }
}
