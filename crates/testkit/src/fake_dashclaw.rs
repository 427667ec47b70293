//! A fake DashClaw server on 127.0.0.1 for the test suite, following
//! `dashclaw-server-api.md` (§1, §2, §4–§11, §13) in two flavors: the newest server and v2.0.
//!
//! hyper 1 on its own multi-thread tokio runtime, so synchronous tests and `#[tokio::test]`s can
//! both use it: nothing here depends on the caller's runtime, and every method is synchronous.
//! HTTP/1.1 keep-alive and h2c (prior knowledge) are served; accepted TCP connections are counted.
//!
//! Tests steer it with a guard rule (`set_guard`, `set_decision`, `set_answer`), operator actions
//! (`approve`, `deny`, `expire`), switches (`rate_limit`, `set_stream_unavailable`,
//! `set_schema_drift`, …), fault injection (`fault`) and outages (`stop` / `restart` on the same
//! port, keeping all state), and observe it through `requests`, `actions`, `events`,
//! `connections` and `ingested_lines`.
//!
//! Every response is JSON except the Next.js HTML 404 page, the SSE stream and injected faults.

use std::collections::{HashMap, HashSet};
use std::io::{self, Read};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tokio::sync::{broadcast, mpsc, watch};

/// §1: the middleware's `Content-Length` cap on POST/PUT/PATCH.
pub const MAX_BODY: u64 = 2_097_152;
/// §11.2: the decompressed cap of the ingest routes.
pub const INGEST_CAP: usize = 50 << 20;
/// What the fake reads of a body at most (chunked bodies escape the header check).
const READ_CAP: usize = 64 << 20;
const IDEMPOTENCY_WINDOW_MS: u64 = 10 * 60 * 1000;
const REPLAY_MAX_EVENTS: usize = 1000;
const REPLAY_WINDOW_MS: u64 = 600 * 1000;
const APPROVAL_GRACE_S: u64 = 900;
const EXPIRED_MESSAGE: &str =
    "Approval expired: the requesting client stopped waiting before a decision was made";
const ORG: &str = "org_default";
const NEWEST_VERSION: &str = "4.68.0";
const TERMINAL: [&str; 5] = ["completed", "failed", "cancelled", "blocked", "expired"];
const ACTION_STATUSES: [&str; 7] = [
    "running",
    "completed",
    "failed",
    "cancelled",
    "pending",
    "pending_approval",
    "blocked",
];
/// §13: v2.0's statuses on `POST /api/actions` (no `blocked`).
pub const V2_ACTION_STATUSES: [&str; 6] = [
    "running",
    "completed",
    "failed",
    "cancelled",
    "pending",
    "pending_approval",
];
/// The issuer whose tokens the newest flavor verifies (its key lives in the fake).
pub const TRUSTED_ISSUER: &str = "https://idp.fake.test";
/// §13: the v2.0 `action_type` enum of `POST /api/actions`.
pub const V2_ACTION_TYPES: [&str; 20] = [
    "build", "deploy", "post", "apply", "security", "message", "api", "calendar", "research",
    "review", "fix", "refactor", "test", "config", "monitor", "alert", "cleanup", "sync",
    "migrate", "other",
];
const HTML_404: &str = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"/><meta name=\"viewport\" \
content=\"width=device-width\"/><title>404: This page could not be found.</title></head><body><div \
id=\"__next\"><div style=\"font-family:system-ui;height:100vh;text-align:center;display:flex;\
flex-direction:column;align-items:center;justify-content:center\"><h1 class=\"next-error-h1\">404</h1>\
<div><h2>This page could not be found.</h2></div></div></div></body></html>";

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

/// Which server line to emulate (§13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Newest,
    V2,
}

/// The verdict of the guard rule, used by `POST /api/guard` and `POST /api/actions`.
#[derive(Debug, Clone, Default)]
pub struct GuardAnswer {
    /// Sent verbatim, so a test can answer `"frobnicate"`; empty means allow.
    pub decision: String,
    /// Each `"<policy name>: <reason>"`.
    pub reasons: Vec<String>,
    pub warnings: Vec<String>,
    pub matched_policies: Vec<String>,
    /// Overrides the computed risk score.
    pub risk_score: Option<i64>,
    /// `POST /api/guard` answers exactly this (status, JSON text) instead; `POST /api/actions`
    /// then treats the decision as above.
    pub raw: Option<(u16, String)>,
}

impl GuardAnswer {
    pub fn new(decision: &str) -> GuardAnswer {
        GuardAnswer {
            decision: decision.to_owned(),
            ..GuardAnswer::default()
        }
    }
    pub fn allow() -> GuardAnswer {
        GuardAnswer::new("allow")
    }
    pub fn block(reason: &str) -> GuardAnswer {
        GuardAnswer::new("block").reason(reason)
    }
    pub fn require_approval(reason: &str) -> GuardAnswer {
        GuardAnswer::new("require_approval").reason(reason)
    }
    pub fn warn(warning: &str) -> GuardAnswer {
        GuardAnswer::new("warn").warning(warning)
    }
    /// A raw guard reply, e.g. `GuardAnswer::raw(200, r#"{"decision":"frobnicate"}"#)`.
    pub fn raw(status: u16, body: impl Into<String>) -> GuardAnswer {
        GuardAnswer {
            raw: Some((status, body.into())),
            ..GuardAnswer::allow()
        }
    }
    pub fn reason(mut self, reason: &str) -> GuardAnswer {
        self.reasons.push(reason.to_owned());
        self
    }
    pub fn warning(mut self, warning: &str) -> GuardAnswer {
        self.warnings.push(warning.to_owned());
        self
    }
    pub fn policy(mut self, id: &str) -> GuardAnswer {
        self.matched_policies.push(id.to_owned());
        self
    }
    pub fn risk(mut self, score: i64) -> GuardAnswer {
        self.risk_score = Some(score);
        self
    }
    fn decision(&self) -> &str {
        if self.decision.is_empty() {
            "allow"
        } else {
            &self.decision
        }
    }
}

/// A transport-level misbehaviour for requests whose path starts with a prefix.
#[derive(Debug, Clone)]
pub enum Fault {
    /// This status with this body (`content-type: application/json`).
    Status(u16, String),
    /// The Next.js HTML 404 page.
    Html404,
    /// 200 with a body that is not JSON.
    Garbage,
    /// Declares a `Content-Length` larger than it sends, then closes the connection.
    Truncated,
    /// Waits, then answers normally.
    Delay(Duration),
    /// Never answers (until `stop` or drop).
    Hang,
    /// Drops the connection without a response.
    Close,
    /// 200 with an empty body.
    EmptyBody,
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// Without the query string.
    pub path: String,
    /// The raw query string, without `?` (empty when none).
    pub query: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    /// After `x-dashclaw-encoding: gzip` decoding; `None` when not JSON.
    pub body_json: Option<Value>,
    /// Bytes on the wire (0 when refused on the `Content-Length` header alone).
    pub raw_len: usize,
    /// The body after gzip decoding (empty when it did not decode).
    pub body: Vec<u8>,
    /// Which accepted TCP connection carried it (1-based, in accept order).
    pub connection: usize,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A published SSE event.
#[derive(Debug, Clone)]
pub struct Event {
    /// `mem-<n>`.
    pub id: String,
    pub name: String,
    pub data: Value,
    seq: u64,
    at_ms: u64,
}

impl Event {
    /// The `n` of `mem-<n>`: publication order, starting at 1.
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

type GuardRule = Arc<dyn Fn(&Value) -> GuardAnswer + Send + Sync>;

// ---------------------------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------------------------

struct ActionRec {
    row: Map<String, Value>,
    created_ms: u64,
    expires_ms: Option<u64>,
    /// The verdict that gated the row at creation (block / require_approval), for
    /// `executed_despite`.
    gated: Option<String>,
}

#[derive(Default)]
struct IngestSession {
    lines: Vec<String>,
    live_turns: Vec<Value>,
    turn_index: u64,
    last_jsonl_hash: Option<String>,
    seen_uuids: HashSet<String>,
    id: String,
}

struct FaultRule {
    prefix: String,
    fault: Fault,
    remaining: usize,
}

struct State {
    requests: Vec<RecordedRequest>,
    actions: Vec<ActionRec>,
    guard_rule: GuardRule,
    guard_replays: HashMap<String, (u64, Value)>,
    guard_decisions: HashMap<String, Value>,
    action_keys: HashMap<String, String>,
    faults: Vec<FaultRule>,
    rate_limited: usize,
    retry_after_s: u64,
    heartbeat_needs_init: bool,
    policies: Vec<Value>,
    assumptions: Vec<Value>,
    events: Vec<Event>,
    next_event: u64,
    sessions: HashMap<String, IngestSession>,
    stream_unavailable: bool,
    schema_drift: bool,
    sse_heartbeat: Duration,
    health_mode: String,
    /// `POST /api/sessions` rows (the MCP session tools).
    mcp_sessions: HashMap<String, Value>,
    /// Open streams send nothing at all (a dead instance holding its connections).
    streams_frozen: bool,
    identity: IdentityState,
}

/// Agent identity (§1 bearer tokens, §4 signatures, the pairing endpoints).
#[derive(Default)]
struct IdentityState {
    /// `ENFORCE_AGENT_SIGNATURES` (v2.0 production's default).
    enforce_signatures: bool,
    /// agent_id → SPKI PEM of its trusted public key.
    identities: HashMap<String, String>,
    /// id → {id, agent_id, agent_name, public_key, algorithm, status, created_at, approved_at}.
    pairings: Vec<Value>,
}

struct Shared {
    flavor: Flavor,
    api_key: String,
    state: Mutex<State>,
    events_tx: broadcast::Sender<Event>,
    kill_streams: watch::Sender<u64>,
    connections: AtomicUsize,
    active_connections: AtomicUsize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs the guard rule outside the lock (it may be any test closure).
    fn evaluate(&self, body: &Value) -> GuardAnswer {
        let rule = Arc::clone(&self.lock().guard_rule);
        rule(body)
    }
}

impl State {
    fn publish(&mut self, tx: &broadcast::Sender<Event>, name: &str, data: Value) {
        self.next_event += 1;
        let event = Event {
            id: format!("mem-{}", self.next_event),
            name: name.to_owned(),
            data,
            seq: self.next_event,
            at_ms: now_ms(),
        };
        self.events.push(event.clone());
        let _ = tx.send(event);
    }

    fn find(&self, id: &str) -> Option<usize> {
        self.actions
            .iter()
            .position(|a| a.row.get("action_id").and_then(Value::as_str) == Some(id))
    }

    /// §5.1 lazy expiry; true when the row flipped.
    fn lazy_expire(&mut self, tx: &broadcast::Sender<Event>, idx: usize) -> bool {
        let now = now_ms();
        let rec = &mut self.actions[idx];
        let overdue = rec.expires_ms.is_some_and(|e| now > e);
        if overdue && status_of(&rec.row) == "pending_approval" {
            set_expired(&mut rec.row, now);
            let row = Value::Object(rec.row.clone());
            self.publish(tx, "action.updated", row);
            return true;
        }
        false
    }
}

// ---------------------------------------------------------------------------------------------
// The server handle
// ---------------------------------------------------------------------------------------------

struct Listening {
    shutdown: watch::Sender<bool>,
    done: std_mpsc::Receiver<()>,
}

pub struct FakeDashClaw {
    shared: Arc<Shared>,
    port: u16,
    runtime: Option<tokio::runtime::Runtime>,
    listening: Mutex<Option<Listening>>,
}

impl FakeDashClaw {
    /// Binds 127.0.0.1 on an ephemeral port and serves until dropped. Every decision is `allow`
    /// until a test sets a guard rule.
    pub fn start(flavor: Flavor) -> FakeDashClaw {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fake-dashclaw")
            .enable_all()
            .build()
            .expect("fake DashClaw runtime");
        let (events_tx, _) = broadcast::channel(4096);
        let (kill_streams, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            flavor,
            api_key: format!("oc_live_{}", uuid::Uuid::new_v4().simple()),
            state: Mutex::new(State {
                requests: Vec::new(),
                actions: Vec::new(),
                guard_rule: Arc::new(|_| GuardAnswer::allow()),
                guard_replays: HashMap::new(),
                guard_decisions: HashMap::new(),
                action_keys: HashMap::new(),
                faults: Vec::new(),
                rate_limited: 0,
                retry_after_s: 60,
                heartbeat_needs_init: true,
                policies: Vec::new(),
                assumptions: Vec::new(),
                events: Vec::new(),
                next_event: 0,
                sessions: HashMap::new(),
                stream_unavailable: false,
                schema_drift: false,
                sse_heartbeat: Duration::from_secs(15),
                health_mode: "self_host".to_owned(),
                mcp_sessions: HashMap::new(),
                streams_frozen: false,
                identity: IdentityState::default(),
            }),
            events_tx,
            kill_streams,
            connections: AtomicUsize::new(0),
            active_connections: AtomicUsize::new(0),
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let fake = FakeDashClaw {
            shared,
            port,
            runtime: Some(runtime),
            listening: Mutex::new(None),
        };
        fake.listen(listener);
        fake
    }

    fn rt(&self) -> &tokio::runtime::Runtime {
        self.runtime.as_ref().expect("runtime alive")
    }

    fn listen(&self, listener: std::net::TcpListener) {
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (done_tx, done) = std_mpsc::channel();
        let shared = Arc::clone(&self.shared);
        self.rt()
            .spawn(accept_loop(listener, shared, shutdown_rx, done_tx));
        *self.listening.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Listening { shutdown, done });
    }

    pub fn flavor(&self) -> Flavor {
        self.shared.flavor
    }
    pub fn port(&self) -> u16 {
        self.port
    }
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    /// `oc_live_` + 32 hex.
    pub fn api_key(&self) -> String {
        self.shared.api_key.clone()
    }

    // --- outages ---------------------------------------------------------------------------

    /// Stops listening and closes every open connection (streams included); new connections
    /// are refused. All state is kept. Returns once the port is closed.
    pub fn stop(&self) {
        let listening = self
            .listening
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        let Some(listening) = listening else { return };
        let _ = listening.shutdown.send(true);
        let _ = listening.done.recv_timeout(Duration::from_secs(5));
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.shared.active_connections.load(Ordering::SeqCst) > 0 && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Listens again on the same port, with the same state. A no-op while listening.
    pub fn restart(&self) {
        if self
            .listening
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
        {
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match std::net::TcpListener::bind(("127.0.0.1", self.port)) {
                Ok(l) => break l,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("rebind 127.0.0.1:{}: {e}", self.port),
            }
        };
        self.listen(listener);
    }

    // --- the guard rule --------------------------------------------------------------------

    /// The verdict for every guard evaluation (`/api/guard` and `POST /api/actions`), from the
    /// request body after camelCase and alias normalisation.
    pub fn set_guard(&self, rule: impl Fn(&Value) -> GuardAnswer + Send + Sync + 'static) {
        self.shared.lock().guard_rule = Arc::new(rule);
    }
    /// The same answer for every call.
    pub fn set_answer(&self, answer: GuardAnswer) {
        self.set_guard(move |_| answer.clone());
    }
    /// `"allow"`, `"warn"`, `"require_approval"`, `"block"`, or anything else verbatim.
    pub fn set_decision(&self, decision: &str) {
        let answer = match decision {
            "block" => GuardAnswer::block("fake policy: blocked by test"),
            "require_approval" => GuardAnswer::require_approval("fake policy: approval by test"),
            "warn" => GuardAnswer::warn("fake policy: warned by test"),
            other => GuardAnswer::new(other),
        };
        self.set_answer(answer);
    }

    // --- switches --------------------------------------------------------------------------

    /// The next `n` requests (any path, public ones included) get 429 + `Retry-After`.
    pub fn rate_limit(&self, n: usize) {
        self.shared.lock().rate_limited = n;
    }
    /// The `Retry-After` seconds of the 429s (default 60).
    pub fn set_retry_after(&self, secs: u64) {
        self.shared.lock().retry_after_s = secs;
    }
    /// Injects `fault` into the next `times` requests whose path starts with `path_prefix`
    /// (`""` matches all; `usize::MAX` means for ever). Faults come before rate limit and auth.
    pub fn fault(&self, path_prefix: &str, fault: Fault, times: usize) {
        self.shared.lock().faults.push(FaultRule {
            prefix: path_prefix.to_owned(),
            fault,
            remaining: times,
        });
    }
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }
    /// `GET /api/stream` → 503 `Realtime backend unavailable` while set.
    pub fn set_stream_unavailable(&self, unavailable: bool) {
        self.shared.lock().stream_unavailable = unavailable;
    }
    /// Ends every open SSE stream (cleanly, as the server's 30 min limit does).
    pub fn drop_streams(&self) {
        self.shared.kill_streams.send_modify(|n| *n += 1);
    }
    /// The SSE keep-alive interval (default 15 s); applies to streams opened afterwards.
    pub fn set_sse_heartbeat(&self, every: Duration) {
        self.shared.lock().sse_heartbeat = every.max(Duration::from_millis(1));
    }
    /// The v2.0 schema drift of §13: every `PATCH /api/actions/:id` → 500.
    pub fn set_schema_drift(&self, on: bool) {
        self.shared.lock().schema_drift = on;
    }
    /// Whether the next heartbeat gets the lazy-table 503 (on at start).
    pub fn set_heartbeat_needs_init(&self, on: bool) {
        self.shared.lock().heartbeat_needs_init = on;
    }
    /// The newest flavor's `mode` in `/api/health` (default `self_host`; `demo` for demos).
    pub fn set_health_mode(&self, mode: &str) {
        self.shared.lock().health_mode = mode.to_owned();
    }

    /// Open event streams go silent (no events, no keep-alives) while their connections stay
    /// open, as a hung or dead server instance's do.
    pub fn freeze_streams(&self, frozen: bool) {
        self.shared.lock().streams_frozen = frozen;
    }

    // --- agent identity --------------------------------------------------------------------

    /// `ENFORCE_AGENT_SIGNATURES`: `POST /api/actions` must carry a `_signature` that verifies
    /// against the agent's registered key (401 `SIGNATURE_REQUIRED` / `INVALID_AGENT_SIGNATURE`).
    pub fn enforce_signatures(&self, on: bool) {
        self.shared.lock().identity.enforce_signatures = on;
    }

    /// Pairing requests so far (public keys included).
    pub fn pairings(&self) -> Vec<Value> {
        self.shared.lock().identity.pairings.clone()
    }

    /// Approves a pending pairing as an admin would: its key becomes the agent's identity.
    pub fn approve_pairing(&self, id: &str) -> Result<Value, String> {
        approve_pairing(&mut self.shared.lock(), id).map_err(|(_, v)| v.to_string())
    }

    /// The agent ids with a trusted key.
    pub fn identities(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .shared
            .lock()
            .identity
            .identities
            .keys()
            .cloned()
            .collect();
        ids.sort();
        ids
    }

    /// An RS256 JWT from the issuer the newest flavor trusts (`exp` in seconds from now, may
    /// be negative); `iss` other than [`TRUSTED_ISSUER`] gives an untrusted one.
    pub fn mint_token(&self, iss: &str, sub: &str, exp_in_secs: i64) -> String {
        use base64::Engine;
        let now = (now_ms() / 1000) as i64;
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": "fake-1"});
        let claims = json!({"iss": iss, "sub": sub, "aud": "dashclaw", "iat": now, "exp": now + exp_in_secs});
        let b64 = |v: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
        };
        let signing_input = format!("{}.{}", b64(&header), b64(&claims));
        let key = rsa::pkcs1v15::SigningKey::<Sha256>::new(issuer_key().clone());
        let sig = rsa::signature::Signer::sign(&key, signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(rsa::signature::SignatureEncoding::to_bytes(&sig))
        )
    }

    // --- operator side ---------------------------------------------------------------------

    /// Waits up to `limit` for an action to be pending approval; returns its id.
    pub fn wait_pending(&self, limit: Duration) -> Option<String> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Some(a) = self
                .actions()
                .into_iter()
                .find(|a| a["status"] == "pending_approval")
            {
                return a["action_id"].as_str().map(str::to_owned);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Approves a pending action as an operator would (newest: `approved_by = by`).
    pub fn approve(&self, id: &str, by: &str) -> Result<Value, String> {
        self.resolve(id, "allow", None, by)
    }
    /// Denies a pending action: `failed` with `error_message = reason`.
    pub fn deny(&self, id: &str, reason: &str) -> Result<Value, String> {
        self.resolve(id, "deny", Some(reason), "")
    }
    fn resolve(
        &self,
        id: &str,
        decision: &str,
        reasoning: Option<&str>,
        by: &str,
    ) -> Result<Value, String> {
        let sh = &self.shared;
        let mut st = sh.lock();
        resolve_approval(sh, &mut st, id, decision, reasoning, by)
            .map(|(_, v)| v["action"].clone())
            .map_err(|(_, v)| v["error"].as_str().unwrap_or("error").to_owned())
    }
    /// Expires a pending action now (status `expired`), publishing `action.updated`.
    pub fn expire(&self, id: &str) -> Result<Value, String> {
        let sh = &self.shared;
        let mut st = sh.lock();
        let idx = st.find(id).ok_or("Action not found")?;
        if status_of(&st.actions[idx].row) != "pending_approval" {
            return Err("Action is not pending approval".to_owned());
        }
        set_expired(&mut st.actions[idx].row, now_ms());
        let row = Value::Object(st.actions[idx].row.clone());
        st.publish(&sh.events_tx, "action.updated", row.clone());
        Ok(row)
    }
    /// Moves the approval deadline into the past, so the next read expires the row lazily.
    pub fn make_overdue(&self, id: &str) -> bool {
        let mut st = self.shared.lock();
        let Some(idx) = st.find(id) else { return false };
        let past = now_ms().saturating_sub(1000);
        st.actions[idx].expires_ms = Some(past);
        st.actions[idx]
            .row
            .insert("approval_expires_at".into(), json!(iso(past)));
        true
    }
    /// Publishes an arbitrary event (e.g. `agent.heartbeat`).
    pub fn publish(&self, name: &str, data: Value) {
        let sh = &self.shared;
        sh.lock().publish(&sh.events_tx, name, data);
    }

    /// Adds an active policy as an admin would, publishing `policy.updated`; returns its id.
    /// `rules` is stored as a JSON string (a string value is kept as is).
    pub fn add_policy(
        &self,
        name: &str,
        policy_type: &str,
        rules: Value,
        agent_ids: Option<&[&str]>,
    ) -> String {
        let sh = &self.shared;
        let mut st = sh.lock();
        let agent_ids = agent_ids.map(|ids| json!(serde_json::to_string(ids).unwrap_or_default()));
        let rules = match rules {
            Value::String(s) => s,
            other => other.to_string(),
        };
        let policy = new_policy(sh.flavor, name, policy_type, rules, 1, agent_ids);
        let id = policy["id"].as_str().unwrap_or_default().to_owned();
        st.policies.push(policy.clone());
        let change = json!({"policy": policy, "change_type": if sh.flavor == Flavor::V2 { "updated" } else { "created" }});
        st.publish(&sh.events_tx, "policy.updated", change);
        id
    }
    /// Sets `active` (1/0) on a policy, publishing `policy.updated`.
    pub fn set_policy_active(&self, id: &str, active: bool) -> bool {
        let sh = &self.shared;
        let mut st = sh.lock();
        let Some(p) = st.policies.iter_mut().find(|p| p["id"] == id) else {
            return false;
        };
        p["active"] = json!(i64::from(active));
        p["updated_at"] = json!(iso(now_ms()));
        let change = json!({"policy": p.clone(), "change_type": "updated"});
        st.publish(&sh.events_tx, "policy.updated", change);
        true
    }
    /// Deletes a policy, publishing `{policy_id, change_type:"deleted"}`.
    pub fn delete_policy(&self, id: &str) -> bool {
        let sh = &self.shared;
        let mut st = sh.lock();
        let before = st.policies.len();
        st.policies.retain(|p| p["id"] != id);
        if st.policies.len() == before {
            return false;
        }
        let change = json!({"policy_id": id, "change_type": "deleted"});
        st.publish(&sh.events_tx, "policy.updated", change);
        true
    }

    // --- observation -----------------------------------------------------------------------

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }
    /// The requests whose path starts with `path_prefix`.
    pub fn requests_to(&self, path_prefix: &str) -> Vec<RecordedRequest> {
        self.shared
            .lock()
            .requests
            .iter()
            .filter(|r| r.path.starts_with(path_prefix))
            .cloned()
            .collect()
    }
    pub fn reset_requests(&self) {
        self.shared.lock().requests.clear();
    }
    /// Every action row, in creation order.
    pub fn actions(&self) -> Vec<Value> {
        self.shared
            .lock()
            .actions
            .iter()
            .map(|a| Value::Object(a.row.clone()))
            .collect()
    }
    pub fn action(&self, id: &str) -> Option<Value> {
        let st = self.shared.lock();
        st.find(id)
            .map(|i| Value::Object(st.actions[i].row.clone()))
    }
    pub fn policies(&self) -> Vec<Value> {
        self.shared.lock().policies.clone()
    }
    pub fn assumptions(&self) -> Vec<Value> {
        self.shared.lock().assumptions.clone()
    }
    /// TCP connections accepted so far (across restarts).
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }
    /// Every event published so far, in order.
    pub fn events(&self) -> Vec<Event> {
        self.shared.lock().events.clone()
    }
    /// The JSONL lines ingested for a session via ingest-jsonl, in order (skipped re-ingests
    /// add nothing).
    pub fn ingested_lines(&self, session_uuid: &str) -> Vec<String> {
        self.shared
            .lock()
            .sessions
            .get(session_uuid)
            .map(|s| s.lines.clone())
            .unwrap_or_default()
    }
    /// The bodies of the ingest-live appends for a session, in order.
    pub fn live_turns(&self, session_uuid: &str) -> Vec<Value> {
        self.shared
            .lock()
            .sessions
            .get(session_uuid)
            .map(|s| s.live_turns.clone())
            .unwrap_or_default()
    }
}

impl Drop for FakeDashClaw {
    fn drop(&mut self) {
        if let Some(l) = self
            .listening
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = l.shutdown.send(true);
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Connections
// ---------------------------------------------------------------------------------------------

/// Resolves once the generation is told to stop (or its handle is gone).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await.map(|_| ());
}

struct ActiveGuard(Arc<Shared>);
impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.active_connections.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
    done: std_mpsc::Sender<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(_) => {
            let _ = done.send(());
            return;
        }
    };
    let conn_shutdown = shutdown.clone();
    loop {
        tokio::select! {
            _ = stopped(&mut shutdown) => break,
            accepted = listener.accept() => {
                let Ok((sock, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                let _ = sock.set_nodelay(true);
                let conn_no = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
                shared.active_connections.fetch_add(1, Ordering::SeqCst);
                let guard = ActiveGuard(Arc::clone(&shared));
                let shared = Arc::clone(&shared);
                let mut shutdown = conn_shutdown.clone();
                tokio::spawn(async move {
                    let _guard = guard;
                    let svc = service_fn(move |req| handle(Arc::clone(&shared), conn_no, req));
                    let builder = auto::Builder::new(TokioExecutor::new());
                    let conn = builder.serve_connection(TokioIo::new(sock), svc);
                    tokio::select! {
                        _ = conn => {}
                        _ = stopped(&mut shutdown) => {}
                    }
                });
            }
        }
    }
    drop(listener);
    let _ = done.send(());
}

/// The response body: whole, streamed (SSE), or deliberately cut short.
pub enum FakeBody {
    Full(Option<Bytes>),
    Stream(mpsc::Receiver<Bytes>),
    Truncated(Option<Bytes>),
}

impl Body for FakeBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            FakeBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            FakeBody::Stream(rx) => rx.poll_recv(cx).map(|c| c.map(|b| Ok(Frame::data(b)))),
            FakeBody::Truncated(b) => Poll::Ready(Some(match b.take() {
                Some(b) => Ok(Frame::data(b)),
                None => Err(io::Error::other("fault: truncated body")),
            })),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, FakeBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            FakeBody::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            _ => SizeHint::default(),
        }
    }
}

type Resp = Response<FakeBody>;

fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn raw_resp(status: u16, content_type: &str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(FakeBody::Full(Some(body.into())));
    *r.status_mut() = status_code(status);
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert("content-type", v);
    }
    r
}

fn json_resp(status: u16, v: Value) -> Resp {
    raw_resp(status, "application/json", v.to_string())
}

fn err(status: u16, msg: &str) -> Resp {
    json_resp(status, json!({ "error": msg }))
}

fn html_404() -> Resp {
    raw_resp(404, "text/html; charset=utf-8", HTML_404)
}

fn add_header(mut r: Resp, name: &'static str, value: &str) -> Resp {
    if let Ok(v) = value.parse() {
        r.headers_mut().insert(name, v);
    }
    r
}

// ---------------------------------------------------------------------------------------------
// The request pipeline
// ---------------------------------------------------------------------------------------------

struct Ctx {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    raw: Bytes,
    last_event_id_header: Option<String>,
}

impl Ctx {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k) == name).then(|| percent_decode(v))
        })
    }
    /// The body after `x-dashclaw-encoding` decoding.
    fn decoded(&self) -> Result<Vec<u8>, &'static str> {
        match self.header("x-dashclaw-encoding").map(str::trim) {
            Some(e) if e.eq_ignore_ascii_case("gzip") => gunzip(
                &self.raw,
                INGEST_CAP,
                "gzip_body_decode_failed",
                "gzip_body_too_large_after_decode",
            ),
            Some(e) if !e.is_empty() && !e.eq_ignore_ascii_case("identity") => {
                Err("unsupported_encoding")
            }
            _ => Ok(self.raw.to_vec()),
        }
    }
}

async fn handle(
    sh: Arc<Shared>,
    conn_no: usize,
    req: Request<Incoming>,
) -> Result<Resp, io::Error> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let headers: Vec<(String, String)> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let declared: Option<u64> = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.trim().parse().ok());
    let too_large = matches!(method.as_str(), "POST" | "PUT" | "PATCH")
        && declared.is_some_and(|n| n > MAX_BODY);
    let body = Limited::new(req.into_body(), READ_CAP);
    let raw = if too_large {
        // Refused on the header alone; drain what arrives quickly so the client reads the 413.
        let _ = tokio::time::timeout(Duration::from_secs(2), body.collect()).await;
        Bytes::new()
    } else {
        match body.collect().await {
            Ok(c) => c.to_bytes(),
            Err(_) => return Ok(err(400, "Invalid JSON body")),
        }
    };
    let last_event_id_header = headers
        .iter()
        .find(|(k, _)| k == "last-event-id")
        .map(|(_, v)| v.clone());
    let cx = Ctx {
        method,
        path,
        query,
        headers,
        raw,
        last_event_id_header,
    };

    // Record, then find a fault.
    let fault = {
        let decoded = cx.decoded().unwrap_or_default();
        let mut st = sh.lock();
        st.requests.push(RecordedRequest {
            method: cx.method.clone(),
            path: cx.path.clone(),
            query: cx.query.clone(),
            headers: cx.headers.clone(),
            body_json: serde_json::from_slice(&decoded).ok(),
            raw_len: cx.raw.len(),
            body: decoded,
            connection: conn_no,
        });
        let hit = st
            .faults
            .iter_mut()
            .find(|f| f.remaining > 0 && cx.path.starts_with(&f.prefix));
        hit.map(|f| {
            if f.remaining != usize::MAX {
                f.remaining -= 1;
            }
            f.fault.clone()
        })
    };
    match fault {
        None => {}
        Some(Fault::Status(s, b)) => return Ok(raw_resp(s, "application/json", b)),
        Some(Fault::Html404) => return Ok(html_404()),
        Some(Fault::Garbage) => {
            return Ok(raw_resp(200, "application/json", "<<garbage>> not json {"));
        }
        Some(Fault::EmptyBody) => return Ok(raw_resp(200, "application/json", Bytes::new())),
        Some(Fault::Truncated) => {
            let part = Bytes::from_static(b"{\"decision\":\"allow\",\"reasons\":[\"trunc");
            let mut r = Response::new(FakeBody::Truncated(Some(part)));
            r.headers_mut()
                .insert("content-type", "application/json".parse().expect("static"));
            r.headers_mut()
                .insert("content-length", "4096".parse().expect("static"));
            return Ok(r);
        }
        Some(Fault::Delay(d)) => tokio::time::sleep(d).await,
        Some(Fault::Hang) => std::future::pending::<()>().await,
        Some(Fault::Close) => return Err(io::Error::other("fault: close the connection")),
    }

    // Middleware: rate limit, body size, auth.
    if cx.path.starts_with("/api/") {
        let retry_after = {
            let mut st = sh.lock();
            if st.rate_limited > 0 {
                st.rate_limited -= 1;
                Some(st.retry_after_s)
            } else {
                None
            }
        };
        if let Some(secs) = retry_after {
            let r = err(429, "Rate limit exceeded. Please slow down.");
            return Ok(add_header(r, "retry-after", &secs.to_string()));
        }
        if too_large {
            return Ok(json_resp(
                413,
                json!({"error": "Request body too large", "maxBytes": MAX_BODY}),
            ));
        }
        if !is_public(&cx.path) && cx.header("x-api-key") != Some(sh.api_key.as_str()) {
            return Ok(err(401, "Unauthorized - Invalid or missing API key"));
        }
    }
    Ok(route(&sh, &cx))
}

fn is_public(path: &str) -> bool {
    [
        "/api/health",
        "/api/setup/status",
        "/api/docs/raw",
        "/api/prompts",
    ]
    .contains(&path)
        || path.starts_with("/api/auth/")
        || path.starts_with("/api/cron/")
}

fn route(sh: &Arc<Shared>, cx: &Ctx) -> Resp {
    let newest = sh.flavor == Flavor::Newest;
    let path = cx.path.trim_end_matches('/');
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (cx.method.as_str(), segs.as_slice()) {
        ("GET", ["api", "health"]) => health(sh),
        ("POST", ["api", "guard"]) => guard(sh, cx),
        ("POST", ["api", "actions"]) => create_action(sh, cx),
        ("GET", ["api", "actions"]) => list_actions(sh, cx),
        ("POST", ["api", "actions", "assumptions"]) | ("POST", ["api", "assumptions"])
            if newest =>
        {
            assumption(sh, cx)
        }
        ("GET", ["api", "actions", id]) => get_action(sh, id),
        ("PATCH", ["api", "actions", id]) => patch_action(sh, cx, id),
        ("POST", ["api", "actions", id, "outcome"]) if newest => post_outcome(sh, cx, id),
        ("GET", ["api", "actions", id, "outcome"]) if newest => get_outcome(sh, id),
        ("POST", ["api", "actions", id, "approve"]) => approve_route(sh, cx, id),
        ("POST", ["api", "approvals", id]) if newest => approve_route(sh, cx, id),
        ("GET", ["api", "stream"]) => stream(sh, cx),
        ("GET", ["api", "policies"]) => list_policies(sh, cx),
        ("POST", ["api", "policies"]) => create_policy(sh, cx),
        ("POST", ["api", "agents", "heartbeat"]) => heartbeat(sh, cx),
        ("POST", ["api", "pairings"]) => create_pairing(sh, cx),
        ("GET", ["api", "pairings", id]) => get_pairing(sh, id),
        ("POST", ["api", "pairings", id, "approve"]) => match approve_pairing(&mut sh.lock(), id) {
            Ok(v) => json_resp(200, v),
            Err((status, v)) => json_resp(status, v),
        },
        ("POST", ["api", "identities"]) => register_identity(sh, cx),
        ("POST", ["api", "code-sessions", "ingest-live"]) if newest => ingest_live(sh, cx),
        ("POST", ["api", "code-sessions", "ingest-jsonl"]) if newest => ingest_jsonl(sh, cx),
        _ => mcp_routes(sh, cx, &segs).unwrap_or_else(html_404),
    }
}

// ---------------------------------------------------------------------------------------------
// Routes the MCP tools use (`dashclawd mcp`, tests/mcp_protocol.rs); added by the mcp work.
// ---------------------------------------------------------------------------------------------

impl FakeDashClaw {
    /// Sessions created through `POST /api/sessions`.
    pub fn mcp_sessions(&self) -> Vec<Value> {
        self.shared.lock().mcp_sessions.values().cloned().collect()
    }
}

/// The guard decisions ledger, sessions and the operations summary, as upstream's MCP server
/// calls them. `None`: not one of these routes.
fn mcp_routes(sh: &Arc<Shared>, cx: &Ctx, segs: &[&str]) -> Option<Resp> {
    Some(match (cx.method.as_str(), segs) {
        ("GET", ["api", "guard", "decisions"]) => {
            let st = sh.lock();
            let want = |k: &str| cx.param(k).filter(|v| !v.is_empty());
            let (agent, decision, kind) = (want("agent_id"), want("decision"), want("action_type"));
            let limit = want("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(20usize);
            let mut rows: Vec<Value> = st
                .guard_decisions
                .values()
                .filter(|r| {
                    let f = |k: &str, w: &Option<String>| {
                        w.as_deref().is_none_or(|w| r[k].as_str() == Some(w))
                    };
                    f("agent_id", &agent) && f("decision", &decision) && f("action_type", &kind)
                })
                .cloned()
                .collect();
            rows.sort_by(|a, b| b["created_at"].as_str().cmp(&a["created_at"].as_str()));
            rows.truncate(limit);
            json_resp(200, json!({ "decisions": rows }))
        }
        ("POST", ["api", "sessions"]) => {
            let m = match parse_object(&cx.raw) {
                Ok(m) => m,
                Err(r) => return Some(*r),
            };
            if s(&m, "agent_id").is_none() {
                return Some(validation(vec!["agent_id is required".into()]));
            }
            let id = format!("sess_{}", uuid::Uuid::new_v4().simple());
            let mut row = m.clone();
            row.insert("id".into(), json!(id));
            row.insert("status".into(), json!("active"));
            row.insert("started_at".into(), json!(iso(now_ms())));
            sh.lock()
                .mcp_sessions
                .insert(id, Value::Object(row.clone()));
            json_resp(201, json!({ "session": row }))
        }
        ("PATCH", ["api", "sessions", id]) => {
            let m = match parse_object(&cx.raw) {
                Ok(m) => m,
                Err(r) => return Some(*r),
            };
            let mut st = sh.lock();
            let Some(row) = st.mcp_sessions.get_mut(*id) else {
                return Some(err(404, "Session not found"));
            };
            for (k, v) in m {
                row[k] = v;
            }
            row["ended_at"] = json!(iso(now_ms()));
            json_resp(200, json!({ "session": row.clone() }))
        }
        ("GET", ["api", "operations", "summary"]) => {
            let st = sh.lock();
            json_resp(
                200,
                json!({"actions": st.actions.len(), "guard_decisions": st.guard_decisions.len()}),
            )
        }
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, Box<Resp>> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Box::new(validation(vec![
            "body must be a JSON object".into()
        ]))),
        Err(_) => Err(Box::new(err(400, "Invalid JSON body"))),
    }
}

fn validation(details: Vec<String>) -> Resp {
    json_resp(
        400,
        json!({"error": "Validation failed", "details": details}),
    )
}

/// camelCase keys also count as snake_case (§1); `null` means absent unless `keep_nulls`.
fn normalize(m: &mut Map<String, Value>, keep_nulls: bool) {
    let camel: Vec<(String, Value)> = m
        .iter()
        .filter(|(k, _)| k.chars().any(|c| c.is_ascii_uppercase()))
        .map(|(k, v)| {
            let mut snake = String::new();
            for c in k.chars() {
                if c.is_ascii_uppercase() {
                    snake.push('_');
                    snake.push(c.to_ascii_lowercase());
                } else {
                    snake.push(c);
                }
            }
            (snake, v.clone())
        })
        .collect();
    for (k, v) in camel {
        m.entry(k).or_insert(v);
    }
    if !keep_nulls {
        m.retain(|_, v| !v.is_null());
    }
}

struct Validator<'a> {
    m: &'a Map<String, Value>,
    errors: Vec<String>,
}

impl<'a> Validator<'a> {
    fn new(m: &'a Map<String, Value>) -> Validator<'a> {
        Validator {
            m,
            errors: Vec::new(),
        }
    }
    fn present(&self, k: &str) -> Option<&'a Value> {
        self.m.get(k).filter(|v| !v.is_null())
    }
    fn string(&mut self, k: &str, max: usize, required: bool) -> &mut Self {
        match self.present(k) {
            None if required => self.errors.push(format!("{k} is required")),
            None => {}
            Some(Value::String(s)) if required && s.is_empty() => {
                self.errors.push(format!("{k} is required"))
            }
            Some(Value::String(s)) if s.chars().count() > max => self
                .errors
                .push(format!("{k} must be at most {max} characters")),
            Some(Value::String(_)) => {}
            Some(_) => self.errors.push(format!("{k} must be a string")),
        }
        self
    }
    fn int(&mut self, k: &str, min: i64, max: i64) -> &mut Self {
        match self.present(k) {
            None => {}
            Some(v) if v.is_i64() || v.is_u64() => match v.as_i64() {
                Some(n) if (min..=max).contains(&n) => {}
                _ => self
                    .errors
                    .push(format!("{k} must be between {min} and {max}")),
            },
            Some(_) => self.errors.push(format!("{k} must be an integer")),
        }
        self
    }
    fn number(&mut self, k: &str) -> &mut Self {
        match self.present(k) {
            None => {}
            Some(v) if v.as_f64().is_some_and(|n| n >= 0.0) => {}
            Some(_) => self
                .errors
                .push(format!("{k} must be a non-negative number")),
        }
        self
    }
    fn boolean(&mut self, k: &str) -> &mut Self {
        if self.present(k).is_some_and(|v| !v.is_boolean()) {
            self.errors.push(format!("{k} must be a boolean"));
        }
        self
    }
    fn strings(&mut self, k: &str, max_items: usize) -> &mut Self {
        match self.present(k) {
            None => {}
            Some(Value::Array(a))
                if a.len() <= max_items
                    && a.iter()
                        .all(|e| e.as_str().is_some_and(|s| s.chars().count() <= 500)) => {}
            Some(_) => self.errors.push(format!(
                "{k} must be an array of at most {max_items} strings (each ≤500 characters)"
            )),
        }
        self
    }
    fn one_of(&mut self, k: &str, allowed: &[&str]) -> &mut Self {
        if let Some(v) = self.present(k) {
            if !v.as_str().is_some_and(|s| allowed.contains(&s)) {
                self.errors
                    .push(format!("{k} must be one of: {}", allowed.join(", ")));
            }
        }
        self
    }
    fn finish(&mut self) -> Result<(), Box<Resp>> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Box::new(validation(std::mem::take(&mut self.errors))))
        }
    }
}

fn s<'a>(m: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    m.get(k).and_then(Value::as_str)
}

fn status_of(row: &Map<String, Value>) -> &str {
    row.get("status").and_then(Value::as_str).unwrap_or("")
}

fn security() -> Value {
    json!({"clean": true, "findings_count": 0, "critical_count": 0, "categories": []})
}

// ---------------------------------------------------------------------------------------------
// Health, guard, actions
// ---------------------------------------------------------------------------------------------

fn health(sh: &Shared) -> Resp {
    let checks = json!({
        "database": {"status": "healthy"},
        "realtime": {"selected_backend": "memory", "replay_window_seconds": 600, "replay_max_events": 1000},
    });
    match sh.flavor {
        Flavor::V2 => json_resp(
            200,
            json!({"status": "healthy", "version": "2.0.0", "checks": checks}),
        ),
        Flavor::Newest => {
            let mode = sh.lock().health_mode.clone();
            json_resp(
                200,
                json!({"status": "healthy", "version": NEWEST_VERSION, "mode": mode, "checks": checks}),
            )
        }
    }
}

/// §3 step 5 (base score and the `reversible` modifier only).
fn heuristic_risk(m: &Map<String, Value>) -> i64 {
    let base = match s(m, "action_type").unwrap_or("") {
        "security" => 80,
        "deploy" => 75,
        "migrate" => 70,
        "apply" => 60,
        "sync" => 40,
        "api" => 35,
        "config" | "cleanup" => 30,
        "build" | "post" => 25,
        "test" | "message" => 15,
        "monitor" | "alert" | "calendar" | "research" | "review" => 10,
        _ => 20,
    };
    let modifier = if m.get("reversible") == Some(&Value::Bool(false)) {
        15
    } else {
        0
    };
    (base + modifier).min(100)
}

fn hex16() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..16].to_owned()
}

fn hex24() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..24].to_owned()
}

/// The guard result (§2.4 / §13) and the `guard_decisions` row id.
fn guard_result(
    flavor: Flavor,
    answer: &GuardAnswer,
    m: &Map<String, Value>,
    now: u64,
) -> (String, Map<String, Value>) {
    let decision = answer.decision();
    let client = m.get("risk_score").and_then(Value::as_i64);
    let mut r = Map::new();
    r.insert("decision".into(), json!(decision));
    match flavor {
        Flavor::V2 => {
            r.insert("reasons".into(), json!(answer.reasons));
            r.insert("warnings".into(), json!(answer.warnings));
            r.insert("matched_policies".into(), json!(answer.matched_policies));
            r.insert("risk_score".into(), json!(answer.risk_score.or(client)));
            r.insert("evaluated_at".into(), json!(iso(now)));
            (format!("gd_{}", hex24()), r)
        }
        Flavor::Newest => {
            let id = format!("act_gd_{}", hex16());
            let server = heuristic_risk(m);
            let risk = answer
                .risk_score
                .unwrap_or_else(|| server.max(client.unwrap_or(0).clamp(0, 100)));
            let reason = (!answer.reasons.is_empty()).then(|| answer.reasons.join("; "));
            let signals: Vec<&String> = answer.warnings.iter().chain(&answer.reasons).collect();
            r.insert("decision_id".into(), json!(id));
            r.insert("action_id".into(), json!(id));
            r.insert("reason".into(), json!(reason));
            r.insert("reasons".into(), json!(answer.reasons));
            r.insert("warnings".into(), json!(answer.warnings));
            r.insert("signals".into(), json!(signals));
            r.insert("matched_policies".into(), json!(answer.matched_policies));
            r.insert("risk_score".into(), json!(risk));
            r.insert("agent_risk_score".into(), json!(client));
            r.insert(
                "risk_breakdown".into(),
                json!({
                    "base": {"action_type": s(m, "action_type"), "score": server},
                    "modifiers": [], "server_total": server, "template": null,
                    "client_reported": client, "effective": risk, "predictive": null,
                    "final": risk, "evidence_derived": null,
                }),
            );
            r.insert("intent_source".into(), json!("declared"));
            r.insert("verification_status".into(), json!("unverified"));
            r.insert("agent_id".into(), json!(s(m, "agent_id")));
            r.insert("agent_name".into(), json!(s(m, "agent_name")));
            r.insert("evaluated_at".into(), json!(iso(now)));
            (id, r)
        }
    }
}

/// Stores the guard_decisions row and publishes `guard.decision.created`.
fn persist_decision(
    sh: &Shared,
    st: &mut State,
    id: &str,
    result: &Map<String, Value>,
    m: &Map<String, Value>,
    now: u64,
) {
    let row = json!({
        "id": id, "org_id": ORG, "agent_id": s(m, "agent_id"), "agent_name": s(m, "agent_name"),
        "verification_status": result.get("verification_status").cloned().unwrap_or(json!("unverified")),
        "replay_status": null, "jti": null,
        "act_status": null, "act_hash": null, "decision": result.get("decision"),
        "reason": result.get("reason").cloned().unwrap_or(Value::Null),
        "matched_policies": result.get("matched_policies"),
        "context": {"declared_goal": s(m, "declared_goal"), "target": s(m, "target")},
        "risk_score": result.get("risk_score"),
        "agent_risk_score": m.get("risk_score").cloned().unwrap_or(Value::Null),
        "action_type": s(m, "action_type"), "created_at": iso(now), "degraded": false,
    });
    st.guard_decisions.insert(id.to_owned(), row.clone());
    st.publish(&sh.events_tx, "guard.decision.created", row);
}

fn validate_guard(m: &Map<String, Value>) -> Result<(), Box<Resp>> {
    Validator::new(m)
        .string("action_type", 128, true)
        .int("risk_score", 0, 100)
        .string("agent_id", 128, false)
        .string("agent_name", 256, false)
        .string("declared_goal", 2000, false)
        .strings("systems_touched", 50)
        .boolean("reversible")
        .string("target", 1024, false)
        .strings("write_paths", 100)
        .string("content", 50_000, false)
        .string("trigger", 1000, false)
        .string("swarm_id", 128, false)
        .string("idempotency_key", 256, false)
        .int("approval_wait_seconds", 5, 86_400)
        .finish()
}

fn guard(sh: &Shared, cx: &Ctx) -> Resp {
    let newest = sh.flavor == Flavor::Newest;
    let mut m = match parse_object(&cx.raw) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    normalize(&mut m, false);
    if newest {
        for (alias, field) in [("action", "action_type"), ("intent", "declared_goal")] {
            if let Some(v) = m.get(alias).cloned() {
                m.entry(field).or_insert(v);
            }
        }
    }
    if let Err(r) = validate_guard(&m) {
        return *r;
    }
    let verification = if newest {
        let (status, sub) = verify_bearer(cx.header("authorization"));
        if let Some(sub) = sub {
            m.insert("agent_id".into(), json!(sub));
        }
        Some(status)
    } else {
        None
    };
    let key = s(&m, "idempotency_key")
        .filter(|_| newest)
        .map(str::to_owned);
    let now = now_ms();
    if let Some(key) = &key {
        let st = sh.lock();
        if let Some((at, prior)) = st.guard_replays.get(key) {
            if now.saturating_sub(*at) < IDEMPOTENCY_WINDOW_MS {
                return json_resp(200, prior.clone());
            }
        }
    }
    let answer = sh.evaluate(&Value::Object(m.clone()));
    if let Some((status, body)) = &answer.raw {
        return raw_resp(*status, "application/json", body.clone());
    }
    let decision = answer.decision().to_owned();
    let (id, mut result) = guard_result(sh.flavor, &answer, &m, now);
    if let Some(v) = verification {
        result.insert("verification_status".into(), json!(v));
    }
    let mut st = sh.lock();
    persist_decision(sh, &mut st, &id, &result, &m, now);
    if newest && cx.param("record").as_deref() == Some("true") {
        if decision == "block" {
            result.insert("recorded".into(), json!(false));
            result.insert("recorded_error".into(), json!("decision is block"));
        } else if s(&m, "agent_id").is_none() || s(&m, "declared_goal").is_none() {
            result.insert("recorded".into(), json!(false));
            result.insert(
                "recorded_error".into(),
                json!("agent_id and declared_goal are required to record"),
            );
        } else {
            let action_id = format!("act_{}", uuid::Uuid::new_v4());
            let status = if decision == "require_approval" {
                "pending_approval"
            } else {
                "running"
            };
            let mut rec = new_row(sh.flavor, &m, &action_id, status, &result, now);
            rec.row.insert("guard_decision_id".into(), json!(id));
            if decision == "require_approval" {
                rec.gated = Some(decision.clone());
            }
            let row = Value::Object(rec.row.clone());
            st.actions.push(rec);
            st.publish(&sh.events_tx, "action.created", row);
            result.insert("action_id".into(), json!(action_id));
            result.insert("recorded".into(), json!(true));
        }
    }
    if let Some(key) = key {
        let mut prior = Map::new();
        for k in [
            "decision",
            "decision_id",
            "action_id",
            "reason",
            "risk_score",
            "matched_policies",
            "verification_status",
            "agent_id",
            "agent_name",
            "evaluated_at",
        ] {
            prior.insert(k.into(), result.get(k).cloned().unwrap_or(Value::Null));
        }
        prior.insert("idempotent_replay".into(), json!(true));
        st.guard_replays.insert(key, (now, Value::Object(prior)));
    }
    drop(st);
    let status = if !newest && (decision == "block" || decision == "require_approval") {
        403
    } else {
        200
    };
    let r = json_resp(status, Value::Object(result));
    if newest {
        add_header(
            r,
            "server-timing",
            "replay;dur=0, eval;dur=1, record;dur=0, total;dur=1",
        )
    } else {
        r
    }
}

fn json_text_array(m: &Map<String, Value>, k: &str) -> Value {
    m.get(k)
        .filter(|v| v.is_array())
        .map_or(Value::Null, |v| json!(v.to_string()))
}

fn new_row(
    flavor: Flavor,
    m: &Map<String, Value>,
    action_id: &str,
    status: &str,
    decision: &Map<String, Value>,
    now: u64,
) -> ActionRec {
    let get = |k: &str| m.get(k).cloned().unwrap_or(Value::Null);
    let risk = decision
        .get("risk_score")
        .filter(|v| !v.is_null())
        .cloned()
        .unwrap_or_else(|| get("risk_score"));
    let mut row = Map::new();
    row.insert("action_id".into(), json!(action_id));
    row.insert("org_id".into(), json!(ORG));
    for k in [
        "agent_id",
        "agent_name",
        "swarm_id",
        "parent_action_id",
        "action_type",
        "declared_goal",
        "reasoning",
        "authorization_scope",
        "trigger",
    ] {
        row.insert(k.into(), get(k));
    }
    row.insert(
        "systems_touched".into(),
        json_text_array(m, "systems_touched"),
    );
    row.insert("input_summary".into(), get("input_summary"));
    row.insert("status".into(), json!(status));
    row.insert(
        "reversible".into(),
        m.get("reversible")
            .and_then(Value::as_bool)
            .map_or(json!(1), |b| json!(i64::from(b))),
    );
    row.insert("risk_score".into(), risk);
    row.insert("confidence".into(), get("confidence"));
    row.insert("output_summary".into(), get("output_summary"));
    row.insert("side_effects".into(), json_text_array(m, "side_effects"));
    row.insert(
        "artifacts_created".into(),
        json_text_array(m, "artifacts_created"),
    );
    row.insert("error_message".into(), get("error_message"));
    row.insert(
        "timestamp_start".into(),
        m.get("timestamp_start").cloned().unwrap_or(json!(iso(now))),
    );
    for k in [
        "timestamp_end",
        "duration_ms",
        "cost_estimate",
        "tokens_in",
        "tokens_out",
        "model",
    ] {
        row.insert(k.into(), get(k));
    }
    row.insert("signature".into(), Value::Null);
    row.insert("verified".into(), json!(0));
    row.insert("created_at".into(), json!(iso(now)));
    row.insert("updated_at".into(), json!(iso(now)));
    let mut expires_ms = None;
    if flavor == Flavor::Newest {
        if status == "pending_approval" {
            let wait = m
                .get("approval_wait_seconds")
                .and_then(Value::as_u64)
                .unwrap_or(300)
                .clamp(5, 86_400);
            expires_ms = Some(now + (wait + APPROVAL_GRACE_S) * 1000);
        }
        row.insert("approved_by".into(), Value::Null);
        row.insert("approved_at".into(), Value::Null);
        row.insert(
            "approval_expires_at".into(),
            expires_ms.map_or(Value::Null, |e| json!(iso(e))),
        );
        row.insert("approval_grant_used_at".into(), Value::Null);
        row.insert(
            "guard_decision_id".into(),
            decision
                .get("decision_id")
                .cloned()
                .unwrap_or_else(|| get("guard_decision_id")),
        );
        row.insert("session_id".into(), get("session_id"));
        row.insert("idempotency_key".into(), get("idempotency_key"));
        row.insert("outcome_status".into(), json!("pending"));
        for k in [
            "outcome_at",
            "outcome_summary",
            "outcome_error",
            "outcome_progress",
            "created_by",
            "containment_status",
            "containment_ref",
            "act_content_hash",
            "executed_despite",
        ] {
            row.insert(k.into(), Value::Null);
        }
    }
    ActionRec {
        row,
        created_ms: now,
        expires_ms,
        gated: None,
    }
}

fn create_action(sh: &Shared, cx: &Ctx) -> Resp {
    let newest = sh.flavor == Flavor::Newest;
    let mut m = match parse_object(&cx.raw) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    normalize(&mut m, false);
    let mut v = Validator::new(&m);
    v.string("agent_id", 128, true)
        .string("action_type", 128, true)
        .string("declared_goal", 2000, true)
        .string("action_id", 128, false)
        .string("agent_name", 256, false)
        .string("swarm_id", 128, false)
        .string("parent_action_id", 128, false)
        .string("session_id", 128, false)
        .string("guard_decision_id", 64, false)
        .string("reasoning", 4000, false)
        .string("authorization_scope", 1000, false)
        .string("trigger", 1000, false)
        .string("input_summary", 4000, false)
        .string("output_summary", 4000, false)
        .string("error_message", 4000, false)
        .string("model", 128, false)
        .string("idempotency_key", 256, false)
        .strings("systems_touched", 50)
        .strings("side_effects", 50)
        .strings("artifacts_created", 100)
        .one_of("status", &ACTION_STATUSES)
        .boolean("reversible")
        .int("risk_score", 0, 100)
        .int("confidence", 0, 100)
        .int("duration_ms", 0, i64::MAX)
        .int("tokens_in", 0, i64::MAX)
        .int("tokens_out", 0, i64::MAX)
        .int("approval_wait_seconds", 5, 86_400)
        .number("cost_estimate");
    if !newest && s(&m, "action_type").is_some() {
        v.one_of("action_type", &V2_ACTION_TYPES);
    }
    if !newest {
        v.one_of("status", &V2_ACTION_STATUSES);
    }
    if let Err(r) = v.finish() {
        return *r;
    }
    // §4 processing order: identity (JWT), then the signature.
    let verification = if newest {
        let v = verify_bearer(cx.header("authorization"));
        if let Some(sub) = &v.1 {
            m.insert("agent_id".into(), json!(sub));
        }
        Some(v.0)
    } else {
        None
    };
    let signature = match check_signature(sh, &cx.raw, s(&m, "agent_id").unwrap_or("")) {
        Ok(sig) => sig,
        Err(r) => return *r,
    };
    let key = s(&m, "idempotency_key")
        .filter(|_| newest)
        .map(str::to_owned);
    {
        let mut st = sh.lock();
        if let Some(key) = &key {
            if let Some(idx) = st.action_keys.get(key).cloned().and_then(|id| st.find(&id)) {
                st.lazy_expire(&sh.events_tx, idx);
                let row = Value::Object(st.actions[idx].row.clone());
                return json_resp(200, json!({"action": row, "idempotent_replay": true}));
            }
        }
        if let Some(id) = s(&m, "action_id") {
            if st.find(id).is_some() {
                return err(409, "Action with this action_id already exists");
            }
        }
    }
    let answer = sh.evaluate(&Value::Object(m.clone()));
    let decision = answer.decision().to_owned();
    let now = now_ms();
    let (gd_id, result) = guard_result(sh.flavor, &answer, &m, now);
    let action_id = s(&m, "action_id")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("act_{}", uuid::Uuid::new_v4()));
    let mut st = sh.lock();
    if st.find(&action_id).is_some() {
        return err(409, "Action with this action_id already exists");
    }
    persist_decision(sh, &mut st, &gd_id, &result, &m, now);
    let (status, code) = match decision.as_str() {
        "block" => ("blocked", 403),
        "require_approval" => ("pending_approval", 202),
        _ => (s(&m, "status").unwrap_or("running"), 201),
    };
    if code == 403 && !newest {
        return json_resp(
            403,
            json!({"error": "Action blocked by policy", "decision": Value::Object(result)}),
        );
    }
    let mut rec = new_row(sh.flavor, &m, &action_id, status, &result, now);
    if code != 201 {
        rec.gated = Some(decision.clone());
    }
    if let Some((sig, verified)) = &signature {
        rec.row.insert("signature".into(), json!(sig));
        rec.row
            .insert("verified".into(), json!(i64::from(*verified)));
    }
    if let Some(v) = &verification {
        rec.row.insert("verification_status".into(), json!(v));
    }
    let row = Value::Object(rec.row.clone());
    st.actions.push(rec);
    if let Some(key) = key {
        st.action_keys.insert(key, action_id.clone());
    }
    st.publish(&sh.events_tx, "action.created", row.clone());
    drop(st);
    let decision = Value::Object(result);
    if code == 403 {
        return json_resp(
            403,
            json!({"error": "Action blocked by policy", "action": row, "decision": decision}),
        );
    }
    json_resp(
        code,
        json!({"action": row, "action_id": action_id, "decision": decision, "security": security()}),
    )
}

fn list_actions(sh: &Shared, cx: &Ctx) -> Resp {
    let st = sh.lock();
    let filter = |k: &str| cx.param(k).filter(|v| !v.is_empty());
    let (status, agent, kind, exclude) = (
        filter("status"),
        filter("agent_id"),
        filter("action_type"),
        filter("exclude_status"),
    );
    let limit = filter("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(50)
        .min(200);
    let offset = filter("offset")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(0);
    let matching: Vec<Value> = st
        .actions
        .iter()
        .rev()
        .filter(|a| {
            let f = |k: &str, want: &Option<String>| {
                want.as_deref().is_none_or(|w| s(&a.row, k) == Some(w))
            };
            f("status", &status)
                && f("agent_id", &agent)
                && f("action_type", &kind)
                && exclude.as_deref().is_none_or(|x| status_of(&a.row) != x)
        })
        .map(|a| Value::Object(a.row.clone()))
        .collect();
    let total = matching.len();
    let count = |st_name: &str| matching.iter().filter(|r| r["status"] == st_name).count();
    let stats = json!({
        "total": total, "running": count("running"), "completed": count("completed"),
        "failed": count("failed"), "pending_approval": count("pending_approval"),
    });
    let page: Vec<Value> = matching.into_iter().skip(offset).take(limit).collect();
    json_resp(
        200,
        json!({"actions": page, "total": total, "stats": stats, "lastUpdated": iso(now_ms())}),
    )
}

fn get_action(sh: &Shared, id: &str) -> Resp {
    let mut st = sh.lock();
    let Some(idx) = st.find(id) else {
        return err(404, "Action not found");
    };
    st.lazy_expire(&sh.events_tx, idx);
    let row = Value::Object(st.actions[idx].row.clone());
    let assumptions: Vec<Value> = st
        .assumptions
        .iter()
        .filter(|a| a["action_id"] == id)
        .cloned()
        .collect();
    match sh.flavor {
        Flavor::V2 => json_resp(
            200,
            json!({"action": row, "open_loops": [], "assumptions": assumptions}),
        ),
        Flavor::Newest => {
            let gd = row["guard_decision_id"]
                .as_str()
                .and_then(|g| st.guard_decisions.get(g))
                .cloned()
                .unwrap_or(Value::Null);
            json_resp(
                200,
                json!({
                    "action": row, "assumptions": assumptions,
                    "message_summary": {"total": 0, "participants": [], "first_message_at": null, "last_message_at": null},
                    "guard_decision": gd, "agent_defense": null,
                }),
            )
        }
    }
}

const CLOSE_FIELDS: [&str; 3] = ["status", "output_summary", "timestamp_end"];
const OPEN_FIELDS: [&str; 8] = [
    "side_effects",
    "artifacts_created",
    "error_message",
    "duration_ms",
    "cost_estimate",
    "tokens_in",
    "tokens_out",
    "model",
];
const OTHER_PATCH_FIELDS: [&str; 6] = [
    "close_if_running",
    "executed_despite",
    "containment_status",
    "containment_ref",
    "outcome_metadata",
    "claim_execution",
];

fn patch_action(sh: &Shared, cx: &Ctx, id: &str) -> Resp {
    let newest = sh.flavor == Flavor::Newest;
    if sh.lock().schema_drift {
        return json_resp(
            500,
            json!({"error": "Internal server error",
                   "detail": "column \"updated_at\" of relation \"action_records\" does not exist"}),
        );
    }
    let mut m = match parse_object(&cx.raw) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    normalize(&mut m, true);
    let has = |k: &str| m.contains_key(k);
    if !CLOSE_FIELDS
        .iter()
        .chain(&OPEN_FIELDS)
        .chain(&OTHER_PATCH_FIELDS)
        .any(|k| has(k))
    {
        return err(
            400,
            "At least one outcome field is required: status, output_summary, side_effects, \
             artifacts_created, error_message, duration_ms, cost_estimate, tokens_in, tokens_out, \
             model, timestamp_end",
        );
    }
    let mut v = Validator::new(&m);
    v.one_of("status", &ACTION_STATUSES)
        .string("output_summary", 4000, false)
        .string("error_message", 4000, false)
        .string("model", 128, false)
        .strings("side_effects", 50)
        .strings("artifacts_created", 100)
        .int("duration_ms", 0, i64::MAX)
        .int("tokens_in", 0, i64::MAX)
        .int("tokens_out", 0, i64::MAX)
        .number("cost_estimate")
        .boolean("close_if_running");
    if newest {
        v.one_of("executed_despite", &["block", "require_approval"]);
    }
    if let Err(r) = v.finish() {
        return *r;
    }
    let mut st = sh.lock();
    let Some(idx) = st.find(id) else {
        return err(404, "Action not found");
    };
    st.lazy_expire(&sh.events_tx, idx);
    let now = now_ms();
    let rec = &mut st.actions[idx];
    if newest {
        if let Some(what) = s(&m, "executed_despite") {
            if rec.gated.is_none() {
                return err(409, "Action was not gated; executed_despite does not apply");
            }
            if !rec.row.get("executed_despite").is_none_or(Value::is_null) {
                return err(409, "executed_despite is already recorded for this action");
            }
            rec.row.insert("executed_despite".into(), json!(what));
            rec.row
                .insert("executed_despite_at".into(), json!(iso(now)));
            rec.row.insert("updated_at".into(), json!(iso(now)));
            let row = Value::Object(rec.row.clone());
            st.publish(&sh.events_tx, "action.updated", row.clone());
            return json_resp(200, json!({"action": row, "security": security()}));
        }
    }
    let current = status_of(&rec.row).to_owned();
    let close_if_running = m.get("close_if_running") == Some(&Value::Bool(true));
    let has_close = CLOSE_FIELDS.iter().any(|k| has(k));
    if newest && TERMINAL.contains(&current.as_str()) && has_close && !close_if_running {
        return json_resp(
            409,
            json!({"error": "Action is in a terminal state and cannot be modified", "status": current}),
        );
    }
    let apply_close = !newest || current == "running";
    if apply_close {
        for k in CLOSE_FIELDS {
            if let Some(v) = m.get(k).filter(|v| !v.is_null() || k != "status") {
                rec.row.insert(k.into(), v.clone());
            }
        }
    }
    for k in OPEN_FIELDS {
        if let Some(v) = m.get(k) {
            let v = if k == "side_effects" || k == "artifacts_created" {
                json_text_array(&m, k)
            } else {
                v.clone()
            };
            rec.row.insert(k.into(), v);
        }
    }
    if newest {
        if let Some(spawned) = m
            .get("outcome_metadata")
            .and_then(|o| o.get("spawned_agent_uuid"))
        {
            rec.row.insert("spawned_agent_uuid".into(), spawned.clone());
        }
        for k in ["containment_status", "containment_ref"] {
            if let Some(v) = m.get(k) {
                rec.row.insert(k.into(), v.clone());
            }
        }
        let status = status_of(&rec.row).to_owned();
        if apply_close
            && TERMINAL.contains(&status.as_str())
            && rec.row["outcome_status"] == "pending"
        {
            let outcome = if status == "completed" {
                "completed"
            } else {
                "failed"
            };
            rec.row.insert("outcome_status".into(), json!(outcome));
            rec.row.insert("outcome_at".into(), json!(iso(now)));
        }
    }
    rec.row.insert("updated_at".into(), json!(iso(now)));
    let row = Value::Object(rec.row.clone());
    st.publish(&sh.events_tx, "action.updated", row.clone());
    json_resp(200, json!({"action": row, "security": security()}))
}

// ---------------------------------------------------------------------------------------------
// Outcome (§6), approvals (§7), assumptions (§10.2)
// ---------------------------------------------------------------------------------------------

fn outcome_shape(rec: &ActionRec) -> Value {
    let row = &rec.row;
    let status = row
        .get("outcome_status")
        .and_then(Value::as_str)
        .unwrap_or("pending");
    let elapsed = row
        .get("outcome_at")
        .and_then(Value::as_str)
        .and_then(parse_iso)
        .map(|at| at.saturating_sub(rec.created_ms));
    json!({
        "action_id": row.get("action_id"), "status": status,
        "outcome_at": row.get("outcome_at").cloned().unwrap_or(Value::Null),
        "summary": row.get("outcome_summary").cloned().unwrap_or(Value::Null),
        "error_message": row.get("outcome_error").cloned().unwrap_or(Value::Null),
        "progress": row.get("outcome_progress").cloned().unwrap_or(Value::Null),
        "elapsed_ms": elapsed,
    })
}

fn truncate(v: Option<&Value>, max: usize) -> Value {
    match v.and_then(Value::as_str) {
        Some(t) => json!(t.chars().take(max).collect::<String>()),
        None => Value::Null,
    }
}

fn post_outcome(sh: &Shared, cx: &Ctx, id: &str) -> Resp {
    let mut m = match parse_object(&cx.raw) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    normalize(&mut m, false);
    let mut st = sh.lock();
    let Some(idx) = st.find(id) else {
        return err(404, "Action not found");
    };
    let status = s(&m, "status").unwrap_or("").to_owned();
    if !["completed", "partial", "failed"].contains(&status.as_str()) {
        return json_resp(
            400,
            json!({"error": "Invalid status", "details": "status must be one of: completed, partial, failed"}),
        );
    }
    if status == "failed" && s(&m, "error_message").is_none_or(str::is_empty) {
        return err(400, "error_message is required when status is failed");
    }
    if status == "partial" {
        match m.get("progress") {
            Some(p @ Value::Object(_)) if p.to_string().len() <= 8192 => {}
            Some(Value::Object(_)) => return err(400, "progress is too large (max 8 KiB)"),
            _ => {
                return err(
                    400,
                    "progress (an object) is required when status is partial",
                )
            }
        }
    }
    st.lazy_expire(&sh.events_tx, idx);
    let rec = &mut st.actions[idx];
    let lifecycle = status_of(&rec.row).to_owned();
    if ["blocked", "pending_approval", "cancelled", "failed"].contains(&lifecycle.as_str()) {
        return json_resp(
            409,
            json!({"error": format!("Cannot report an outcome for an action in status '{lifecycle}'"),
                   "current_status": lifecycle}),
        );
    }
    let current = rec.row["outcome_status"]
        .as_str()
        .unwrap_or("pending")
        .to_owned();
    if current != "pending" {
        return json_resp(
            409,
            json!({"error": "outcome already set", "current_status": current}),
        );
    }
    let now = now_ms();
    rec.row.insert("outcome_status".into(), json!(status));
    rec.row.insert("outcome_at".into(), json!(iso(now)));
    rec.row
        .insert("outcome_summary".into(), truncate(m.get("summary"), 4000));
    rec.row.insert(
        "outcome_error".into(),
        truncate(m.get("error_message"), 4000),
    );
    rec.row.insert(
        "outcome_progress".into(),
        m.get("progress").cloned().unwrap_or(Value::Null),
    );
    rec.row.insert("updated_at".into(), json!(iso(now)));
    let outcome = outcome_shape(rec);
    st.publish(&sh.events_tx, "action.updated", outcome.clone());
    json_resp(200, json!({"outcome": outcome, "security": security()}))
}

fn get_outcome(sh: &Shared, id: &str) -> Resp {
    let st = sh.lock();
    match st.find(id) {
        Some(idx) => json_resp(200, outcome_shape(&st.actions[idx])),
        None => err(404, "Action not found"),
    }
}

fn set_expired(row: &mut Map<String, Value>, now: u64) {
    row.insert("status".into(), json!("expired"));
    row.insert("error_message".into(), json!(EXPIRED_MESSAGE));
    row.insert("updated_at".into(), json!(iso(now)));
}

type Answer = (u16, Value);

/// §7.1, for the HTTP routes and the test-side operator.
fn resolve_approval(
    sh: &Shared,
    st: &mut State,
    id: &str,
    decision: &str,
    reasoning: Option<&str>,
    by: &str,
) -> Result<Answer, Answer> {
    let newest = sh.flavor == Flavor::Newest;
    if decision != "allow" && decision != "deny" {
        return Err((400, json!({"error": "decision must be 'allow' or 'deny'"})));
    }
    let Some(idx) = st.find(id) else {
        return Err((404, json!({"error": "Action not found"})));
    };
    if newest {
        st.lazy_expire(&sh.events_tx, idx);
        if status_of(&st.actions[idx].row) == "expired" {
            let row = Value::Object(st.actions[idx].row.clone());
            return Err((
                410,
                json!({"error": EXPIRED_MESSAGE, "code": "APPROVAL_EXPIRED", "action": row}),
            ));
        }
    }
    let now = now_ms();
    let rec = &mut st.actions[idx];
    if status_of(&rec.row) != "pending_approval" {
        return Err((400, json!({"error": "Action is not pending approval"})));
    }
    if decision == "allow" {
        rec.row.insert("status".into(), json!("running"));
        if newest {
            rec.row.insert("approved_by".into(), json!(by));
            rec.row.insert("approved_at".into(), json!(iso(now)));
        } else {
            let note = format!("[HITL Decision: ALLOW by ] {}", reasoning.unwrap_or(""));
            let reasoning = match rec.row.get("reasoning").and_then(Value::as_str) {
                Some(r) if !r.is_empty() => format!("{r} {note}"),
                _ => note,
            };
            rec.row
                .insert("reasoning".into(), json!(reasoning.trim_end()));
        }
    } else {
        rec.row.insert("status".into(), json!("failed"));
        let msg = reasoning
            .filter(|r| !r.is_empty())
            .unwrap_or("Denied by human operator");
        rec.row.insert("error_message".into(), json!(msg));
    }
    rec.row.insert("updated_at".into(), json!(iso(now)));
    let row = Value::Object(rec.row.clone());
    st.publish(&sh.events_tx, "action.updated", row.clone());
    Ok((
        200,
        json!({"success": true, "action": row, "security": security()}),
    ))
}

fn approve_route(sh: &Shared, cx: &Ctx, id: &str) -> Resp {
    let mut m = match parse_object(&cx.raw) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    normalize(&mut m, false);
    let decision = s(&m, "decision").unwrap_or("");
    let reasoning = s(&m, "reasoning");
    if sh.flavor == Flavor::V2 && reasoning.is_none() && (decision == "allow" || decision == "deny")
    {
        return json_resp(
            500,
            json!({"error": "Internal server error",
                   "detail": "UNDEFINED_VALUE: Undefined values are not allowed"}),
        );
    }
    let mut st = sh.lock();
    match resolve_approval(sh, &mut st, id, decision, reasoning, "operator") {
        Ok((status, v)) | Err((status, v)) => json_resp(status, v),
    }
}

fn assumption(sh: &Shared, cx: &Ctx) -> Resp {
    let mut m = match parse_object(&cx.raw) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    normalize(&mut m, false);
    if let Err(r) = Validator::new(&m)
        .string("action_id", 128, true)
        .string("assumption", 2000, true)
        .string("basis", 2000, false)
        .string("assumption_id", 128, false)
        .finish()
    {
        return *r;
    }
    let mut st = sh.lock();
    let action_id = s(&m, "action_id").unwrap_or_default();
    if st.find(action_id).is_none() {
        return err(404, "Parent action not found");
    }
    let id = s(&m, "assumption_id")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("asm_{}", uuid::Uuid::new_v4()));
    if st
        .assumptions
        .iter()
        .any(|a| a["assumption_id"] == id.as_str())
    {
        return err(409, "Assumption with this assumption_id already exists");
    }
    let row = json!({
        "assumption_id": id, "org_id": ORG, "action_id": action_id,
        "assumption": s(&m, "assumption"), "basis": s(&m, "basis"),
        "validated": m.get("validated").and_then(Value::as_bool).map_or(0, i64::from),
        "invalidated": m.get("invalidated").and_then(Value::as_bool).map_or(0, i64::from),
        "invalidated_reason": s(&m, "invalidated_reason"), "created_at": iso(now_ms()),
    });
    st.assumptions.push(row.clone());
    json_resp(
        201,
        json!({"assumption": row, "assumption_id": id, "security": security()}),
    )
}

// ---------------------------------------------------------------------------------------------
// SSE (§8)
// ---------------------------------------------------------------------------------------------

fn frame(e: &Event) -> Bytes {
    Bytes::from(format!(
        "id: {}\nevent: {}\ndata: {}\n\n",
        e.id, e.name, e.data
    ))
}

fn stream(sh: &Arc<Shared>, cx: &Ctx) -> Resp {
    let cursor = cx
        .last_event_id_header
        .clone()
        .or_else(|| cx.param("lastEventId"))
        .filter(|c| !c.trim().is_empty());
    let (replay, mut live, heartbeat) = {
        let st = sh.lock();
        if st.stream_unavailable {
            return err(503, "Realtime backend unavailable");
        }
        let replay: Vec<Event> = match &cursor {
            None => Vec::new(),
            Some(c) => {
                let after = c
                    .trim()
                    .strip_prefix("mem-")
                    .and_then(|n| n.parse::<u64>().ok());
                let now = now_ms();
                let window: Vec<&Event> = st
                    .events
                    .iter()
                    .filter(|e| now.saturating_sub(e.at_ms) <= REPLAY_WINDOW_MS)
                    .collect();
                let start = window.len().saturating_sub(REPLAY_MAX_EVENTS);
                window[start..]
                    .iter()
                    .filter(|e| after.is_some_and(|a| e.seq > a))
                    .map(|e| (*e).clone())
                    .collect()
            }
        };
        // Subscribed under the lock: nothing is missed or repeated between replay and live.
        (replay, sh.events_tx.subscribe(), st.sse_heartbeat)
    };
    let replay_error = cursor
        .as_deref()
        .filter(|c| !c.trim().starts_with("mem-") || c.trim()[4..].parse::<u64>().is_err())
        .map(|_| "unrecognised cursor");
    let connected = json!({
        "status": "ok", "orgId": ORG, "backend": "memory", "realtimeStatus": "ok",
        "replayed": replay.len(), "lastEventId": cursor, "replayError": replay_error,
    });
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let mut kill = sh.kill_streams.subscribe();
    let shared = Arc::clone(sh);
    tokio::spawn(async move {
        for e in &replay {
            if tx.send(frame(e)).await.is_err() {
                return;
            }
        }
        let hello = Bytes::from(format!("event: connected\ndata: {connected}\n\n"));
        if tx.send(hello).await.is_err() {
            return;
        }
        let mut tick = tokio::time::interval(heartbeat);
        tick.tick().await;
        loop {
            let chunk = tokio::select! {
                _ = kill.changed() => return,
                _ = tx.closed() => return,
                _ = tick.tick() => Bytes::from_static(b": heartbeat\n\n"),
                e = live.recv() => match e {
                    Ok(e) => frame(&e),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                },
            };
            if shared.lock().streams_frozen {
                continue;
            }
            if tx.send(chunk).await.is_err() {
                return;
            }
        }
    });
    let mut r = Response::new(FakeBody::Stream(rx));
    let h = r.headers_mut();
    h.insert("content-type", "text/event-stream".parse().expect("static"));
    h.insert(
        "cache-control",
        "no-cache, no-transform".parse().expect("static"),
    );
    r
}

// ---------------------------------------------------------------------------------------------
// Policies (§9), heartbeat (§10.1)
// ---------------------------------------------------------------------------------------------

fn new_policy(
    flavor: Flavor,
    name: &str,
    policy_type: &str,
    rules: String,
    active: i64,
    agent_ids: Option<Value>,
) -> Value {
    let now = iso(now_ms());
    let mut p = json!({
        "id": format!("gp_{}", hex24()), "org_id": ORG, "name": name,
        "policy_type": policy_type, "rules": rules, "active": active,
        "created_by": "admin", "created_at": now, "updated_at": now,
    });
    if flavor == Flavor::Newest {
        p["agent_ids"] = agent_ids.unwrap_or(Value::Null);
    }
    p
}

fn list_policies(sh: &Shared, cx: &Ctx) -> Resp {
    let st = sh.lock();
    let agent = cx.param("agent_id").filter(|a| !a.is_empty());
    let policies: Vec<Value> = st
        .policies
        .iter()
        .rev()
        .filter(
            |p| match (&agent, p.get("agent_ids").and_then(Value::as_str)) {
                (None, _) | (_, None) => true,
                (Some(a), Some(ids)) => match serde_json::from_str::<Vec<String>>(ids) {
                    Ok(ids) => ids.is_empty() || ids.contains(a),
                    Err(_) => true,
                },
            },
        )
        .cloned()
        .collect();
    json_resp(200, json!({ "policies": policies }))
}

fn create_policy(sh: &Shared, cx: &Ctx) -> Resp {
    let newest = sh.flavor == Flavor::Newest;
    let mut m = match parse_object(&cx.raw) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    normalize(&mut m, false);
    if let Err(r) = Validator::new(&m)
        .string("name", 256, true)
        .string("policy_type", 64, true)
        .finish()
    {
        return *r;
    }
    let rules = match m.get("rules") {
        Some(Value::String(r)) => r.clone(),
        Some(Value::Object(_)) if newest => m["rules"].to_string(),
        None => return validation(vec!["rules is required".into()]),
        Some(_) if !newest => return err(400, "rules must be a string"),
        Some(_) => return validation(vec!["rules must be an object or a JSON string".into()]),
    };
    if rules.chars().count() > 4000 {
        return validation(vec!["rules must be at most 4000 characters".into()]);
    }
    let active = match m.get("active") {
        Some(Value::Bool(b)) => i64::from(*b),
        Some(v) => i64::from(v.as_i64().unwrap_or(1) != 0),
        None => 1,
    };
    let agent_ids = match m.get("agent_ids") {
        Some(Value::Array(a)) => Some(json!(Value::Array(a.clone()).to_string())),
        Some(Value::String(s)) => Some(json!(s)),
        _ => None,
    };
    let name = s(&m, "name").unwrap_or_default();
    let mut st = sh.lock();
    if st.policies.iter().any(|p| p["name"] == name) {
        return err(409, "A policy with this name already exists");
    }
    let policy = new_policy(
        sh.flavor,
        name,
        s(&m, "policy_type").unwrap_or_default(),
        rules,
        active,
        agent_ids,
    );
    st.policies.push(policy.clone());
    let change_type = if newest { "created" } else { "updated" };
    st.publish(
        &sh.events_tx,
        "policy.updated",
        json!({"policy": policy, "change_type": change_type}),
    );
    json_resp(201, json!({"policy": policy, "policy_id": policy["id"]}))
}

// ---------------------------------------------------------------------------------------------
// Agent identity: bearer tokens (§1, newest), signatures (§4), pairings
// ---------------------------------------------------------------------------------------------

/// The fake issuer's signing key (one per test process; generated once).
fn issuer_key() -> &'static rsa::RsaPrivateKey {
    static KEY: std::sync::OnceLock<rsa::RsaPrivateKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| {
        rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("issuer key")
    })
}

/// §1: `verification_status` of a request, and the token's `sub` when verified.
fn verify_bearer(header: Option<&str>) -> (&'static str, Option<String>) {
    use base64::Engine;
    let Some(token) = header
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
    else {
        return ("unverified", None);
    };
    let parts: Vec<&str> = token.split('.').collect();
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let (Some(h), Some(c), Some(sig)) = (parts.first(), parts.get(1), parts.get(2)) else {
        return ("failed", None);
    };
    let claims: Value = match b64
        .decode(c)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
    {
        Some(v) => v,
        None => return ("failed", None),
    };
    if claims["iss"] != TRUSTED_ISSUER {
        return ("unknown_issuer", None);
    }
    let verifier = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(issuer_key().to_public_key());
    let ok = b64
        .decode(sig)
        .ok()
        .and_then(|s| rsa::pkcs1v15::Signature::try_from(s.as_slice()).ok())
        .is_some_and(|s| {
            rsa::signature::Verifier::verify(&verifier, format!("{h}.{c}").as_bytes(), &s).is_ok()
        });
    if !ok {
        return ("failed", None);
    }
    let now = (now_ms() / 1000) as i64;
    match claims["exp"].as_i64() {
        Some(exp) if exp < now => ("expired", None),
        Some(exp) if exp > now + 24 * 3600 => ("exp_too_far", None),
        Some(_) => ("verified", claims["sub"].as_str().map(str::to_owned)),
        None => ("failed", None),
    }
}

/// Canonical JSON (keys sorted, no spaces), as the server verifies signatures over (§4).
fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        Value::String((*k).clone()),
                        canonical(&m[k.as_str()])
                    )
                })
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

/// §4 step 7: `Ok(Some((signature, verified)))` for a signed body, `Ok(None)` unsigned and not
/// enforced, `Err` the 401.
fn check_signature(
    sh: &Shared,
    raw: &[u8],
    agent_id: &str,
) -> Result<Option<(String, bool)>, Box<Resp>> {
    use base64::Engine;
    let mut body: Value = serde_json::from_slice(raw).unwrap_or(Value::Null);
    let sig = body
        .as_object_mut()
        .and_then(|m| m.remove("_signature"))
        .and_then(|s| s.as_str().map(str::to_owned));
    let st = sh.lock();
    let enforce = st.identity.enforce_signatures;
    let Some(sig) = sig else {
        if enforce {
            return Err(Box::new(json_resp(
                401,
                json!({"error": "Signature required for action records", "code": "SIGNATURE_REQUIRED"}),
            )));
        }
        return Ok(None);
    };
    let verified = st
        .identity
        .identities
        .get(agent_id)
        .and_then(|pem| rsa::pkcs8::DecodePublicKey::from_public_key_pem(pem).ok())
        .is_some_and(|key: rsa::RsaPublicKey| {
            let vk = rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key);
            base64::engine::general_purpose::STANDARD
                .decode(&sig)
                .ok()
                .and_then(|s| rsa::pkcs1v15::Signature::try_from(s.as_slice()).ok())
                .is_some_and(|s| {
                    rsa::signature::Verifier::verify(&vk, canonical(&body).as_bytes(), &s).is_ok()
                })
        });
    if enforce && !verified {
        return Err(Box::new(json_resp(
            401,
            json!({"error": "Invalid agent signature", "code": "INVALID_AGENT_SIGNATURE"}),
        )));
    }
    Ok(Some((sig, verified)))
}

fn create_pairing(sh: &Shared, cx: &Ctx) -> Resp {
    let mut m = match parse_object(&cx.raw) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    normalize(&mut m, false);
    let Some(agent_id) = s(&m, "agent_id").filter(|a| !a.is_empty()) else {
        return err(400, "agent_id is required");
    };
    let key = s(&m, "public_key").unwrap_or("");
    if !(key.contains("BEGIN PUBLIC KEY") && key.contains("END PUBLIC KEY")) {
        return err(400, "public_key must be a PEM public key");
    }
    let id = format!("pair_{}", uuid::Uuid::new_v4());
    let row = json!({
        "id": id, "org_id": ORG, "agent_id": agent_id, "agent_name": s(&m, "agent_name"),
        "public_key": key, "algorithm": s(&m, "algorithm").unwrap_or("RSASSA-PKCS1-v1_5"),
        "status": "pending", "created_at": iso(now_ms()), "approved_at": null,
    });
    sh.lock().identity.pairings.push(row.clone());
    let mut public = row;
    public.as_object_mut().map(|p| p.remove("public_key"));
    json_resp(
        200,
        json!({"pairing": public, "pairing_url": format!("http://fake.test/pair/{id}")}),
    )
}

fn get_pairing(sh: &Shared, id: &str) -> Resp {
    let st = sh.lock();
    match st.identity.pairings.iter().find(|p| p["id"] == id) {
        Some(p) => {
            let mut p = p.clone();
            p.as_object_mut().map(|m| m.remove("public_key"));
            json_resp(200, json!({ "pairing": p }))
        }
        None => err(404, "Pairing not found"),
    }
}

fn approve_pairing(st: &mut State, id: &str) -> Result<Value, Answer> {
    let Some(p) = st.identity.pairings.iter_mut().find(|p| p["id"] == id) else {
        return Err((404, json!({"error": "Pairing not found"})));
    };
    if p["status"] != "pending" {
        return Err((
            409,
            json!({"error": format!("Pairing is not pending (status={})", p["status"])}),
        ));
    }
    p["status"] = json!("approved");
    p["approved_at"] = json!(iso(now_ms()));
    let agent = p["agent_id"].as_str().unwrap_or_default().to_owned();
    let key = p["public_key"].as_str().unwrap_or_default().to_owned();
    st.identity.identities.insert(agent.clone(), key);
    Ok(json!({"identity": {"agent_id": agent, "algorithm": "RSASSA-PKCS1-v1_5"}}))
}

fn register_identity(sh: &Shared, cx: &Ctx) -> Resp {
    let mut m = match parse_object(&cx.raw) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    normalize(&mut m, false);
    let (Some(agent), Some(key)) = (s(&m, "agent_id"), s(&m, "public_key")) else {
        return err(400, "agent_id and public_key are required");
    };
    sh.lock()
        .identity
        .identities
        .insert(agent.to_owned(), key.to_owned());
    json_resp(
        201,
        json!({"identity": {"agent_id": agent, "algorithm": "RSASSA-PKCS1-v1_5"}}),
    )
}

fn heartbeat(sh: &Shared, cx: &Ctx) -> Resp {
    {
        let mut st = sh.lock();
        if st.heartbeat_needs_init {
            st.heartbeat_needs_init = false;
            return json_resp(
                503,
                json!({"error": "Table initialized. Please retry.", "code": "RETRY"}),
            );
        }
    }
    let mut m = match parse_object(&cx.raw) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    normalize(&mut m, false);
    if s(&m, "agent_id").is_none_or(str::is_empty) {
        return err(400, "agent_id is required");
    }
    const STATUSES: [&str; 5] = ["online", "offline", "idle", "busy", "stale"];
    let status = match m.get("status") {
        None => "online",
        Some(v) => match v.as_str().filter(|s| STATUSES.contains(s)) {
            Some(s) => s,
            None => {
                return err(
                    400,
                    "status must be one of online, offline, idle, busy, stale",
                )
            }
        },
    };
    let now = iso(now_ms());
    let mut st = sh.lock();
    let data = json!({
        "agent_id": s(&m, "agent_id"), "status": status, "last_heartbeat_at": now,
        "current_task_id": m.get("current_task_id").cloned().unwrap_or(Value::Null),
    });
    st.publish(&sh.events_tx, "agent.heartbeat", data);
    json_resp(200, json!({"status": "ok", "timestamp": now}))
}

// ---------------------------------------------------------------------------------------------
// Transcript ingest (§11)
// ---------------------------------------------------------------------------------------------

fn ingest_body(cx: &Ctx) -> Result<Map<String, Value>, Box<Resp>> {
    let bytes = cx.decoded().map_err(|code| {
        let status = if code.ends_with("too_large_after_decode") {
            413
        } else {
            400
        };
        Box::new(err(status, code))
    })?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Box::new(err(400, "invalid_body"))),
        Err(_) => Err(Box::new(err(400, "invalid_json"))),
    }
}

/// `{id, slug}` per §11.1's slug rule, or an error response.
fn project(m: &Map<String, Value>, default_host: &str) -> Result<Value, Box<Resp>> {
    let p = m.get("project").and_then(Value::as_object);
    let host = p
        .and_then(|p| p.get("source_host"))
        .and_then(Value::as_str)
        .unwrap_or(default_host);
    if host != "hook" && host != "jsonl" {
        return Err(Box::new(err(400, "invalid_source_host")));
    }
    let slug = match p.and_then(|p| p.get("slug")).and_then(Value::as_str) {
        Some(slug) if !slug.is_empty() => slug.to_owned(),
        _ => p
            .and_then(|p| p.get("cwd"))
            .and_then(Value::as_str)
            .and_then(|cwd| cwd.trim_end_matches('/').rsplit('/').next())
            .filter(|seg| !seg.is_empty())
            .map(|seg| {
                seg.chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                            c
                        } else {
                            '-'
                        }
                    })
                    .take(80)
                    .collect()
            })
            .unwrap_or_else(|| "unknown".to_owned()),
    };
    let id = format!("proj_{}", &sha_hex(slug.as_bytes())[..16]);
    Ok(json!({"id": id, "slug": slug}))
}

fn session_entry<'a>(st: &'a mut State, uuid: &str) -> &'a mut IngestSession {
    st.sessions
        .entry(uuid.to_owned())
        .or_insert_with(|| IngestSession {
            id: format!("cs_{}", &sha_hex(uuid.as_bytes())[..16]),
            ..IngestSession::default()
        })
}

fn ingest_live(sh: &Shared, cx: &Ctx) -> Resp {
    let m = match ingest_body(cx) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let Some(uuid) = s(&m, "session_uuid").filter(|u| !u.is_empty()) else {
        return err(400, "missing_session_uuid");
    };
    let project = match project(&m, "hook") {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let agent_id = m.get("agent_id").cloned().unwrap_or(Value::Null);
    let mut st = sh.lock();
    if m.get("finalize") == Some(&Value::Bool(true)) {
        let found = st.sessions.contains_key(uuid);
        return json_resp(
            200,
            json!({
                "project": project,
                "session": {"session_uuid": uuid, "finalized": true, "found": found,
                            "signals_inserted": 0, "alerts_inserted": 0, "stuck_loops": 0},
                "agent_id": agent_id,
            }),
        );
    }
    let tools = match m.get("tool_calls") {
        None => 0,
        Some(Value::Array(a)) if a.len() <= 64 => a.len(),
        Some(Value::Array(_)) => return err(413, "too_many_tool_calls"),
        Some(_) => return err(400, "invalid_body"),
    };
    let session = session_entry(&mut st, uuid);
    let turn_index = session.turn_index;
    session.turn_index += 1;
    session.live_turns.push(Value::Object(m.clone()));
    let sid = session.id.clone();
    json_resp(
        200,
        json!({
            "project": project,
            "session": {"id": sid, "session_uuid": uuid, "turn_index": turn_index, "inserted_tool_uses": tools},
            "agent_id": agent_id,
        }),
    )
}

fn ingest_jsonl(sh: &Shared, cx: &Ctx) -> Resp {
    let m = match ingest_body(cx) {
        Ok(m) => m,
        Err(r) => return *r,
    };
    let project = match project(&m, "jsonl") {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let lines: Vec<String> = match (m.get("jsonl_lines"), m.get("compressed_jsonl")) {
        (Some(Value::Array(a)), _) => {
            if a.len() > 200_000 {
                return err(413, "jsonl_lines_too_large");
            }
            a.iter()
                .map(|l| {
                    l.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| l.to_string())
                })
                .collect()
        }
        (_, Some(Value::String(b64))) => {
            let Some(gz) = base64_decode(b64) else {
                return err(400, "compressed_jsonl_decode_failed");
            };
            match gunzip(
                &gz,
                INGEST_CAP,
                "compressed_jsonl_decode_failed",
                "compressed_jsonl_too_large_after_decode",
            ) {
                Ok(text) => String::from_utf8_lossy(&text)
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(str::to_owned)
                    .collect(),
                Err(code) if code.ends_with("after_decode") => return err(413, code),
                Err(code) => return err(400, code),
            }
        }
        _ => return err(400, "missing_jsonl_lines"),
    };
    if lines.is_empty() {
        return err(400, "missing_jsonl_lines");
    }
    if lines.len() > 200_000 {
        return err(413, "jsonl_lines_too_large");
    }
    let records: Vec<Option<Value>> = lines
        .iter()
        .map(|l| {
            serde_json::from_str::<Value>(l)
                .ok()
                .filter(Value::is_object)
        })
        .collect();
    let derived = records.iter().flatten().find_map(|r| {
        (r["type"] == "assistant")
            .then(|| r["sessionId"].as_str())
            .flatten()
            .map(str::to_owned)
    });
    let Some(uuid) = derived else {
        return err(400, "no_session_uuid_in_jsonl");
    };
    if s(&m, "session_uuid").is_some_and(|given| given != uuid) {
        return err(400, "mismatched_session_uuid");
    }
    let hash = sha_hex(lines.join("\n").as_bytes());
    let mut st = sh.lock();
    let session = session_entry(&mut st, &uuid);
    let source_mtime = m.get("source_mtime").cloned().unwrap_or(Value::Null);
    let mut out = json!({
        "id": session.id, "session_uuid": uuid, "source_mtime": source_mtime,
        "parser_version": 1, "skipped": false, "reason": null, "inserted_messages": 0,
        "inserted_tool_uses": 0, "signals_inserted": 0, "alerts_inserted": 0,
    });
    let mut parser = json!({
        "jsonl_records": lines.len(), "model_requests": 0, "duplicate_fragments_skipped": 0,
        "parser_skipped": records.iter().filter(|r| r.is_none()).count(), "model_primary": null,
    });
    if session.last_jsonl_hash.as_deref() == Some(hash.as_str()) {
        out["skipped"] = json!(true);
        out["reason"] = json!("unchanged");
        return json_resp(
            200,
            json!({"project": project, "session": out, "parser": parser}),
        );
    }
    session.last_jsonl_hash = Some(hash);
    session.lines.extend(lines.iter().cloned());
    let (mut messages, mut tools, mut requests, mut dups) = (0, 0, 0, 0);
    let mut models: HashMap<String, usize> = HashMap::new();
    for r in records.iter().flatten() {
        if let Some(u) = r["uuid"].as_str() {
            if !session.seen_uuids.insert(u.to_owned()) {
                dups += 1;
                continue;
            }
        }
        if r["type"] == "user" || r["type"] == "assistant" {
            messages += 1;
        }
        if r["type"] == "assistant" {
            requests += 1;
            if let Some(model) = r["message"]["model"].as_str() {
                *models.entry(model.to_owned()).or_default() += 1;
            }
            if let Some(content) = r["message"]["content"].as_array() {
                tools += content.iter().filter(|c| c["type"] == "tool_use").count();
            }
        }
    }
    out["inserted_messages"] = json!(messages);
    out["inserted_tool_uses"] = json!(tools);
    parser["model_requests"] = json!(requests);
    parser["duplicate_fragments_skipped"] = json!(dups);
    parser["model_primary"] = json!(models.into_iter().max_by_key(|(_, n)| *n).map(|(m, _)| m));
    json_resp(
        200,
        json!({"project": project, "session": out, "parser": parser}),
    )
}

// ---------------------------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------------------------

fn gunzip(
    data: &[u8],
    cap: usize,
    bad: &'static str,
    too_large: &'static str,
) -> Result<Vec<u8>, &'static str> {
    let mut out = Vec::new();
    let mut dec = flate2::read::MultiGzDecoder::new(data).take(cap as u64 + 1);
    dec.read_to_end(&mut out).map_err(|_| bad)?;
    if out.len() > cap {
        return Err(too_large);
    }
    Ok(out)
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' | b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'+', _) => out.push(b' '),
            (b'%', Some(v)) => {
                out.push(v);
                i += 2;
            }
            (c, _) => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn sha_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn iso(ms: u64) -> String {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let sod = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60,
        ms % 1000
    )
}

/// The inverse of `iso` (milliseconds since the epoch).
pub fn parse_iso(t: &str) -> Option<u64> {
    let b = t.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[10] != b'T' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| t.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let ms = if b.get(19) == Some(&b'.') {
        num(20..23).unwrap_or(0)
    } else {
        0
    };
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(((days * 86_400 + h * 3600 + mi * 60 + s) * 1000) + ms).ok()
}
