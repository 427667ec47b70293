//! The daemon as the agent side of a DashClaw server (dashclaw-server-api.md): the guard call
//! on every governed pre-tool event, approvals, and everything recorded afterwards.
//!
//! - [`config`]: where the server is, the key, the upstream environment variables.
//! - [`http`]: one pooled client and the failure taxonomy.
//! - [`guard`]: the guard request body and the reading of its answer.
//! - [`approval`]: waiting for a human on the right action id (event stream + polling).
//! - [`deliver`]: the outbox delivery loop (outcomes, token attribution, orphans, heartbeats).
//! - [`sync`]: the event stream, policy sync and the presence heartbeat.
//!
//! The server is authoritative, local policies still apply: the stricter verdict wins. When
//! the server cannot give a verdict, the call is denied (or handled per
//! `DASHCLAW_GUARD_UNAVAILABLE_POLICY`) with a reason naming the cause, and the call is kept
//! as an orphan in the outbox until the server takes it.

pub mod approval;
pub mod config;
pub mod deliver;
pub mod guard;
pub mod http;
pub mod identity;
pub mod pending;
pub mod plan;
pub mod sync;
pub mod token;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};
use tokio::sync::{broadcast, Notify};

use crate::event::{Classification, Decision, HookEvent, Verdict};
use crate::outbox::{NewItem, Outbox};
use crate::policy::PolicyStore;
use crate::util::text::clip_chars;

pub use config::{ApiKey, ServerSection, Settings, Unavailable};
use guard::{GuardAnswer, GuardInputs, ServerVerdict};
pub use http::{Api, ApiError};
use plan::strip_claims;

/// Which server line we talk to (§13); learned from `/api/health` and from answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    Unknown = 0,
    Newest = 1,
    V2 = 2,
}

impl Line {
    fn from_u8(v: u8) -> Line {
        match v {
            1 => Line::Newest,
            2 => Line::V2,
            _ => Line::Unknown,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Line::Unknown => "unknown",
            Line::Newest => "newest",
            Line::V2 => "v2.0",
        }
    }
}

/// Counters for `dashclawd status`.
#[derive(Debug, Default)]
pub struct Stats {
    pub guard_calls: AtomicU64,
    pub guard_failures: AtomicU64,
    pub last_guard_us: AtomicU64,
    pub approvals_waited: AtomicU64,
    pub stream_connected: AtomicBool,
    pub policies_synced_at_ms: AtomicU64,
    pub delivered: AtomicU64,
    pub last_error: Mutex<Option<String>>,
    /// When `last_error` was set (unix ms).
    pub last_error_ms: AtomicU64,
    /// `verification_status` of the guard answers (newest servers), counted per value.
    pub verification: Mutex<std::collections::BTreeMap<String, u64>>,
    pub last_verification: Mutex<Option<String>>,
}

/// The connection to one DashClaw server, shared by every request.
#[derive(Debug)]
pub struct Remote {
    pub settings: Settings,
    pub api: Api,
    line: AtomicU8,
    /// A guard call asked `/api/health` itself because background detection had not answered
    /// yet (once per daemon, so a server without a version is not probed on every call).
    line_probed: std::sync::atomic::AtomicBool,
    pub outbox: Arc<Outbox>,
    pub policies: Arc<PolicyStore>,
    /// `action.updated` rows from the event stream, for approval waiters.
    pub events: broadcast::Sender<Value>,
    /// Wakes the delivery loop after an enqueue.
    pub wake: Arc<Notify>,
    /// Wakes the policy sync (a `policy.updated` event).
    pub policy_changed: Notify,
    pub stats: Stats,
    /// Agent ids seen recently, for the presence heartbeat.
    pub active_agents: Mutex<BTreeSet<String>>,
    pub cache_file: std::path::PathBuf,
    /// The agents' signing keys and pairings (`state/identity/`).
    pub identities: identity::Identities,
    /// Items the outbox dropped to stay within its disk budget; the daemon records each in the
    /// ledger.
    pub dropped: tokio::sync::mpsc::UnboundedSender<crate::outbox::Dropped>,
    dropped_rx: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<crate::outbox::Dropped>>>,
}

/// What the per-request environment says about governance (the hook's own env vars).
#[derive(Debug, Clone, Default)]
pub struct RequestEnv {
    pub agent_id: Option<String>,
    pub observe: bool,
    pub unavailable: Option<Unavailable>,
    pub approval_timeout: Option<Duration>,
    pub provenance: bool,
    pub governed_categories: Option<String>,
    pub require_claims: bool,
    /// The local decision already blocks: the server is still asked (its audit trail), but a
    /// server approval is not waited for, since no approval could make the call run.
    pub local_block: bool,
    /// Why the local decision blocks, for the server's record of the call.
    pub local_reason: Option<String>,
}

impl RequestEnv {
    /// The local denial as the server may see it (secret-redacted).
    fn local_denial(&self) -> String {
        match &self.local_reason {
            Some(r) => format!(
                "denied by a local dashclawd policy: {}",
                crate::redact::redact_str(clip_chars(r, 1000))
            ),
            None => "denied by a local dashclawd policy".into(),
        }
    }
}

/// The server's part in one gating decision.
#[derive(Debug, Clone)]
pub struct Gate {
    /// `None`: the call is not governed by the server (search tools and the like).
    pub decision: Option<Decision>,
    /// Extra stderr lines for the agent (warnings, secret-scan notes, degraded notes).
    pub notes: Vec<String>,
    /// For the ledger: what the server said or why it could not.
    pub ledger: Value,
}

/// A wait the client must be told about before it starts.
pub struct HoldNotice {
    pub extend: Duration,
    pub message: String,
}

impl Remote {
    pub fn new(
        settings: Settings,
        outbox: Arc<Outbox>,
        policies: Arc<PolicyStore>,
        cache_file: std::path::PathBuf,
    ) -> Result<Remote, String> {
        let api = Api::new(&settings)?;
        let (events, _) = broadcast::channel(256);
        let (dropped, dropped_rx) = tokio::sync::mpsc::unbounded_channel();
        let identity_dir = cache_file
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join("identity");
        Ok(Remote {
            identities: identity::Identities::new(identity_dir, settings.sign_actions),
            dropped,
            dropped_rx: Mutex::new(Some(dropped_rx)),
            settings,
            api,
            line: AtomicU8::new(Line::Unknown as u8),
            line_probed: std::sync::atomic::AtomicBool::new(false),
            outbox,
            policies,
            events,
            wake: Arc::new(Notify::new()),
            policy_changed: Notify::new(),
            stats: Stats::default(),
            active_agents: Mutex::new(BTreeSet::new()),
            cache_file,
        })
    }

    /// The receiver of dropped-item notices (once).
    pub fn take_dropped(
        &self,
    ) -> Option<tokio::sync::mpsc::UnboundedReceiver<crate::outbox::Dropped>> {
        self.dropped_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    pub fn line(&self) -> Line {
        Line::from_u8(self.line.load(Ordering::Relaxed))
    }

    pub fn set_line(&self, line: Line) {
        if self.line() != line {
            tracing::info!("DashClaw server line: {}", line.as_str());
        }
        self.line.store(line as u8, Ordering::Relaxed);
    }

    /// Reads `/api/health` (public) to tell a v2.0 server from a newer one.
    pub async fn detect_line(&self) {
        let url = self.api.url("/api/health");
        let resp = self
            .api
            .client()
            .get(url)
            .timeout(self.settings.guard_timeout)
            .send()
            .await;
        let Ok(resp) = resp else { return };
        let Ok(bytes) = resp.bytes().await else {
            return;
        };
        let Ok(body) = serde_json::from_slice::<Value>(&bytes) else {
            return;
        };
        match body.get("version").and_then(Value::as_str) {
            Some(v) if v.starts_with("2.") => self.set_line(Line::V2),
            Some(_) => self.set_line(Line::Newest),
            None => {}
        }
        if body.get("mode").and_then(Value::as_str) == Some("demo") {
            tracing::warn!(
                "DASHCLAW_BASE_URL points to a demo-mode instance ({}); decisions there are not real governance",
                self.api.base_url()
            );
        }
    }

    pub fn note_error(&self, msg: String) {
        *self
            .stats
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(msg);
        self.stats.last_error_ms.store(now_ms(), Ordering::Relaxed);
    }

    /// Where an operator approves an action on this server line's dashboard (§13).
    pub fn approval_link(&self, id: &str) -> String {
        match self.line() {
            Line::V2 => format!(
                "{base}/actions/{id} (or {base}/approvals)",
                base = self.api.base_url()
            ),
            _ => format!("{}/replay/{id}", self.api.base_url()),
        }
    }

    /// `POST /api/actions`, signed when the agent's identity says so or the server asks for it
    /// (a 401 `SIGNATURE_REQUIRED` is answered once more, signed, when the agent has a key).
    pub async fn post_action(
        &self,
        body: &Value,
        timeout: Duration,
    ) -> Result<http::ApiResponse, ApiError> {
        let mut body = body.clone();
        let agent = body
            .get("agent_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned();
        let mode = self.identities.mode();
        let mut signed = false;
        if self.identities.should_sign(&agent, self.api.base_url()) {
            match self.identities.sign_body(&mut body) {
                Ok(()) => signed = true,
                Err(e) if mode == config::SignMode::Always => {
                    return Err(ApiError::Signature {
                        code: "NO_SIGNING_KEY".into(),
                        message: e,
                    })
                }
                Err(e) => tracing::warn!("not signing the action record: {e}"),
            }
        }
        match self
            .api
            .call(Method::POST, "/api/actions", Some(&body), timeout)
            .await
        {
            Err(ApiError::Signature { code, message })
                if code == "SIGNATURE_REQUIRED" && mode != config::SignMode::Never =>
            {
                self.identities.set_server_requires();
                if signed {
                    return Err(ApiError::Signature { code, message });
                }
                if let Err(e) = self.identities.sign_body(&mut body) {
                    return Err(ApiError::Signature { code, message: e });
                }
                self.api
                    .call(Method::POST, "/api/actions", Some(&body), timeout)
                    .await
            }
            other => other,
        }
    }

    /// What the daemon knows of an action's life (`running`, `blocked`, `denied`, `pending`,
    /// `done`), so Stop closes only what it knows is still running.
    pub async fn set_state(&self, action_id: &str, state: &'static str) {
        let outbox = self.outbox.clone();
        let key = format!("state:{action_id}");
        drop(tokio::task::spawn_blocking(move || {
            if let Err(e) = outbox.map_action(&key, state, None, now_ms()) {
                tracing::error!("outbox: cannot keep the state of {key}: {e:#}");
            }
        }));
    }

    /// Queues an item for one action (its FIFO group) and wakes the delivery loop.
    async fn enqueue_for(&self, kind: &str, action_id: &str, dedupe: String, payload: Value) {
        let item = NewItem {
            kind: kind.to_owned(),
            dedupe_key: Some(dedupe),
            payload,
            not_before_ms: 0,
            group: Some(action_id.to_owned()),
        };
        let outbox = self.outbox.clone();
        match tokio::task::spawn_blocking(move || outbox.enqueue(item, now_ms())).await {
            Ok(Ok(e)) => {
                for d in e.dropped {
                    let _ = self.dropped.send(d);
                }
                self.wake.notify_one();
            }
            Ok(Err(e)) => tracing::error!("outbox: cannot keep a {kind} for {action_id}: {e:#}"),
            Err(e) => tracing::error!("outbox task: {e}"),
        }
    }

    fn note_verification(&self, status: Option<&str>) {
        let Some(v) = status else { return };
        *self
            .stats
            .verification
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(v.to_owned())
            .or_default() += 1;
        *self
            .stats
            .last_verification
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(v.to_owned());
        if v == "expired" {
            if let Some(t) = self.api.token_source() {
                t.invalidate();
            }
        }
    }

    /// The guard call for one classified gating event, including the approval wait when the
    /// server asks for one. `hold` is called before any long wait so the hook client extends
    /// its deadline.
    pub async fn gate(
        &self,
        ev: &HookEvent,
        c: &Classification,
        env: &RequestEnv,
        hold: &mut (dyn FnMut(HoldNotice) + Send),
    ) -> Gate {
        let Some(tool) = &ev.tool else {
            return Gate::skipped();
        };
        let (category, _) = guard::category(tool);
        if !category.governed(env.governed_categories.as_deref()) {
            return Gate::skipped();
        }
        let agent_id = env
            .agent_id
            .clone()
            .or_else(|| self.settings.agent_id.clone())
            .unwrap_or_else(|| crate::policy::default_agent_id(ev.agent).to_owned());
        self.active_agents
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(agent_id.clone());
        let approval_timeout = env
            .approval_timeout
            .unwrap_or(self.settings.approval_timeout)
            .min(approval_cap(ev.agent));
        let ungoverned = ungoverned_categories(env.governed_categories.as_deref());
        let body = guard::body(
            ev,
            c,
            &GuardInputs {
                agent_id: &agent_id,
                provenance: env.provenance,
                observe: env.observe,
                approval_wait_secs: approval_timeout.as_secs(),
                ungoverned,
            },
        );
        let started = Instant::now();
        let answer = self.guard_call(&body, env).await;
        self.stats
            .last_guard_us
            .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        self.stats.guard_calls.fetch_add(1, Ordering::Relaxed);
        let guard_ms = started.elapsed().as_secs_f64() * 1000.0;
        let answer = match answer {
            Ok(a) => a,
            Err(failure) => {
                self.stats.guard_failures.fetch_add(1, Ordering::Relaxed);
                self.note_error(failure.clone());
                return self
                    .unavailable(ev, c, &body, env, &agent_id, failure)
                    .await;
            }
        };
        let mut gate = self
            .after_answer(ev, &body, env, answer, approval_timeout, hold)
            .await;
        gate.ledger["guard_ms"] = json!((guard_ms * 100.0).round() / 100.0);
        gate
    }

    /// One guard exchange with the configured retries. `Err` is the cause, worded for the
    /// agent ("guard at <BASE> is unauthorized - …").
    async fn guard_call(&self, body: &Value, env: &RequestEnv) -> Result<GuardAnswer, String> {
        // The first call after start may beat background detection: learn the line first,
        // so a v2.0 server is not sent the newer query.
        if self.line() == Line::Unknown && !self.line_probed.swap(true, Ordering::Relaxed) {
            self.detect_line().await;
        }
        let path = if self.line() == Line::V2 {
            "/api/guard"
        } else {
            "/api/guard?record=true"
        };
        let attempts = self.settings.guard_retries + 1;
        let mut last = None;
        for attempt in 0..attempts {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(400 << (attempt - 1).min(4))).await;
            }
            match self
                .api
                .call(Method::POST, path, Some(body), self.settings.guard_timeout)
                .await
            {
                Ok(resp)
                    if resp.status == 200
                        || (resp.status == 403 && resp.body.get("decision").is_some()) =>
                {
                    if resp.status == 403 {
                        self.set_line(Line::V2);
                    }
                    let sent_attempt = body.get("attempt_id").and_then(Value::as_str);
                    let parsed = guard::parse_answer(
                        &resp.body,
                        sent_attempt,
                        env.require_claims,
                        !env.observe,
                    );
                    return parsed.map_err(|e| self.cause(&format!("answered, but {e}")));
                }
                Ok(resp) if resp.status == 403 => {
                    let msg = resp
                        .body
                        .get("error")
                        .and_then(Value::as_str)
                        .unwrap_or("forbidden")
                        .to_owned();
                    return Err(self.cause(&ApiError::Forbidden(msg).to_string()));
                }
                Ok(resp) if resp.status == 400 => {
                    let msg = resp.body.get("error").and_then(Value::as_str).unwrap_or("");
                    if msg.starts_with("Input rejected") {
                        // The server's prompt-injection scan: a verdict, not a failure.
                        return Ok(GuardAnswer {
                            reasons: vec![msg.to_owned()],
                            matched_policies: vec!["builtin:prompt_injection_scan".into()],
                            ..GuardAnswer::of(ServerVerdict::Block)
                        });
                    }
                    return Err(self.cause(
                        &ApiError::Rejected {
                            status: 400,
                            message: format!(
                                "{msg} {}",
                                resp.body
                                    .get("details")
                                    .map(|d| d.to_string())
                                    .unwrap_or_default()
                            )
                            .trim()
                            .to_owned(),
                        }
                        .to_string(),
                    ));
                }
                Ok(resp) => {
                    return Err(self.cause(&format!(
                        "answered HTTP {} where a verdict was expected",
                        resp.status
                    )))
                }
                Err(e) if e.is_transient() && !matches!(e, ApiError::RateLimited(_)) => {
                    last = Some(e);
                }
                Err(e) => return Err(self.cause_of(&e, attempt + 1)),
            }
        }
        let e = last.unwrap_or(ApiError::Unreachable("no attempt".into()));
        Err(self.cause_of(&e, attempts))
    }

    fn cause(&self, what: &str) -> String {
        format!("guard at {} {what}", self.api.base_url())
    }

    fn cause_of(&self, e: &ApiError, attempts: u32) -> String {
        match e {
            ApiError::Unauthorized(_) | ApiError::Forbidden(_) => self.cause(&e.to_string()),
            _ => self.cause(&format!("{e} after {attempts} attempt(s)")),
        }
    }

    /// The guard gave no verdict: apply the unavailable policy, keep the call as an orphan
    /// (the decisions are [`plan::unavailable`]'s).
    async fn unavailable(
        &self,
        ev: &HookEvent,
        c: &Classification,
        body: &Value,
        env: &RequestEnv,
        agent_id: &str,
        failure: String,
    ) -> Gate {
        let policy = env.unavailable.unwrap_or(self.settings.unavailable);
        let cached = plan::needs_cached(policy, env.observe).then(|| {
            let ctx = crate::policy::GuardContext::from_event(ev, c, agent_id);
            plan::Cached {
                decision: self
                    .policies
                    .evaluate_context_with(&ctx, &c.findings, true)
                    .decision,
                has_server_policies: self.policies.has_server_policies(),
            }
        });
        let orphan = plan::unavailable(
            &failure,
            policy,
            env.observe,
            cached,
            body,
            plan::Fresh::generate(),
        );
        let plan::OwnRecord {
            action_id,
            dedupe,
            body: record,
        } = orphan.record;
        self.enqueue_record("orphan", &action_id, dedupe, record, ev)
            .await;
        self.set_state(&action_id, orphan.state).await;
        Gate {
            decision: Some(orphan.decision),
            notes: orphan.notes,
            ledger: orphan.ledger,
        }
    }

    /// Runs the [`plan::after_answer`] for the server's verdict: records the action when the
    /// server did not, then waits for an approval or claims execution when the plan says so.
    async fn after_answer(
        &self,
        ev: &HookEvent,
        body: &Value,
        env: &RequestEnv,
        answer: GuardAnswer,
        approval_timeout: Duration,
        hold: &mut (dyn FnMut(HoldNotice) + Send),
    ) -> Gate {
        let denial = env.local_denial();
        let tool_use = ev.tool.as_ref().and_then(|t| t.tool_use_id.clone());
        let local = plan::Local {
            observe: env.observe,
            local_block: env.local_block,
            denial: &denial,
            tool_use_id: tool_use.as_deref(),
        };
        let plan = plan::after_answer(&answer, &local, body, self.line(), plan::Fresh::generate());
        if let Some(line) = plan.line {
            self.set_line(line);
        }
        self.note_verification(answer.verification_status.as_deref());
        let plan::Plan {
            notes,
            ledger,
            mut decision,
            record,
            map_to,
            state,
            close,
            despite,
            next,
            ..
        } = plan;
        if let Some(r) = record {
            self.enqueue_record("record", &r.action_id, r.dedupe, r.body, ev)
                .await;
        }
        if let Some(id) = &map_to {
            self.map_action(ev, id).await;
        }
        if let Some((id, state)) = &state {
            self.set_state(id, state).await;
        }
        if let Some(c) = close {
            self.enqueue_for("close", &c.action_id, c.dedupe, c.payload)
                .await;
        }
        if let Some((key, value)) = despite {
            let outbox = self.outbox.clone();
            let _ = tokio::task::spawn_blocking(move || {
                outbox.map_action(&key, &value, None, now_ms())
            })
            .await;
        }
        match next {
            plan::Next::Answer => {}
            plan::Next::Claim {
                action_id,
                set_state,
            } => {
                let state = match self.claim(&action_id, body).await {
                    Ok(()) => "running",
                    Err(e) => {
                        decision = Decision::block(e, Some(plan::CLAIM_POLICY.into()));
                        "blocked"
                    }
                };
                if set_state {
                    self.set_state(&action_id, state).await;
                }
            }
            plan::Next::Approval {
                action_id,
                known_pending,
            } => {
                return self
                    .approval(
                        ev,
                        body,
                        &answer,
                        action_id,
                        known_pending,
                        approval_timeout,
                        hold,
                        Gate {
                            decision: Some(decision),
                            notes,
                            ledger,
                        },
                    )
                    .await;
            }
        }
        Gate {
            decision: Some(decision),
            notes,
            ledger,
        }
    }

    /// The approval wait of a gated call: the pending row (created first when the server made
    /// none), the hold notice, the wait, and the state and claim that follow.
    #[allow(clippy::too_many_arguments)]
    async fn approval(
        &self,
        ev: &HookEvent,
        body: &Value,
        answer: &GuardAnswer,
        action_id: Option<String>,
        known_pending: bool,
        approval_timeout: Duration,
        hold: &mut (dyn FnMut(HoldNotice) + Send),
        gate: Gate,
    ) -> Gate {
        let Gate {
            decision,
            notes,
            mut ledger,
        } = gate;
        let mut decision = decision.unwrap_or_else(Decision::allow);
        let mut known_pending = known_pending;
        let id = match action_id {
            Some(id) => id,
            None => match self.create_pending(body).await {
                Ok(Created::Pending(id)) => {
                    known_pending = true;
                    self.map_action(ev, &id).await;
                    id
                }
                Ok(Created::Running(id)) => {
                    // The server's authoritative re-evaluation allowed it after all.
                    self.map_action(ev, &id).await;
                    self.set_state(&id, "running").await;
                    ledger["action_id"] = json!(id);
                    decision = Decision::allow();
                    return Gate {
                        decision: Some(decision),
                        notes,
                        ledger,
                    };
                }
                Ok(Created::Blocked(reason)) => {
                    ledger["create"] = json!("blocked");
                    return Gate {
                        decision: Some(Decision::block(reason, decision.policy.clone())),
                        notes,
                        ledger,
                    };
                }
                Err(e) => {
                    ledger["create_error"] = json!(e);
                    return Gate {
                        decision: Some(Decision {
                            verdict: Verdict::Block,
                            reasons: vec![format!(
                                "approval required, but the approval request could not be created: {e}"
                            )],
                            policy: decision.policy.clone(),
                            suggestion: Some("retry later or ask the user to check `dashclawd status`".into()),
                        }),
                        notes,
                        ledger,
                    };
                }
            },
        };
        ledger["action_id"] = json!(id);
        let reason = decision.reasons.first().cloned().unwrap_or_default();
        hold(HoldNotice {
            extend: approval_timeout + Duration::from_secs(5),
            message: format!(
                "Approval required: {reason}. Action ID: {id}. Approve at {} or with `dashclawd approve {id}` in a terminal. Waiting for approval... ({}s timeout, then blocking)",
                self.approval_link(&id),
                approval_timeout.as_secs()
            ),
        });
        self.stats.approvals_waited.fetch_add(1, Ordering::Relaxed);
        // A hook that goes away mid-wait drops this future: the row is then cancelled too.
        let mut left = pending::LeftPending::new(self.outbox.clone(), self.wake.clone(), &id);
        let outcome = approval::wait(self, &id, approval_timeout, known_pending).await;
        left.disarm();
        match &outcome {
            // Set below, once a claim (if any) says whether it runs: state writes are
            // detached, so each action gets exactly one on this path.
            approval::Approval::Approved { .. } => {}
            approval::Approval::TimedOut => {
                self.set_state(&id, "pending").await;
                self.enqueue_for(
                    "cancel",
                    &id,
                    format!("cancel:{id}"),
                    pending::cancel_payload(&id, approval_timeout),
                )
                .await;
            }
            _ => self.set_state(&id, "denied").await,
        }
        ledger["approval"] = json!(outcome.tag());
        decision = outcome.decision(&id, &decision, approval_timeout);
        if decision.verdict == Verdict::Allow && matches!(answer.claim, Ok(true)) {
            if let Err(e) = self.claim(&id, body).await {
                decision = Decision::block(e, decision.policy.clone());
            }
        }
        if matches!(outcome, approval::Approval::Approved { .. }) {
            // Approved but refused its claim: not run, so Stop must not close it.
            let state = if decision.verdict == Verdict::Allow {
                "running"
            } else {
                "blocked"
            };
            self.set_state(&id, state).await;
        }
        Gate {
            decision: Some(decision),
            notes,
            ledger,
        }
    }

    /// `POST /api/actions` with `status: pending_approval`, synchronously: the approval wait
    /// needs the record's id (never the guard decision id).
    async fn create_pending(&self, body: &Value) -> Result<Created, String> {
        let mut record = body.clone();
        strip_claims(&mut record);
        if let Value::Object(m) = &mut record {
            m.insert("status".into(), json!("pending_approval"));
        }
        guard::for_line(&mut record, self.line() == Line::V2);
        let resp = self
            .post_action(&record, self.settings.guard_timeout)
            .await
            .map_err(|e| format!("the server {e}"))?;
        let id = resp
            .body
            .get("action_id")
            .or_else(|| resp.body.get("action").and_then(|a| a.get("action_id")))
            .and_then(Value::as_str)
            .map(str::to_owned);
        match (resp.status, id) {
            (202, Some(id)) => Ok(Created::Pending(id)),
            (200 | 201, Some(id)) => {
                let status = resp
                    .body
                    .get("action")
                    .and_then(|a| a.get("status"))
                    .and_then(Value::as_str)
                    .unwrap_or("running");
                if status == "pending_approval" {
                    Ok(Created::Pending(id))
                } else {
                    Ok(Created::Running(id))
                }
            }
            (403, _) => Ok(Created::Blocked(
                resp.body
                    .get("decision")
                    .and_then(|d| d.get("reasons"))
                    .and_then(Value::as_array)
                    .and_then(|r| r.first())
                    .and_then(Value::as_str)
                    .unwrap_or("Action blocked by policy")
                    .to_owned(),
            )),
            (status, _) => Err(format!(
                "the server answered HTTP {status} without an action id: {}",
                clip_chars(&resp.body.to_string(), 200)
            )),
        }
    }

    /// Claim protocol 1 without a folded result: exactly one `PATCH … {claim_execution}`.
    async fn claim(&self, action_id: &str, body: &Value) -> Result<(), String> {
        let attempt = crate::util::id::uuid();
        let mut patch = json!({
            "claim_execution": true,
            "attempt_id": attempt,
            "agent_id": body.get("agent_id"),
        });
        if let Some(act) = body.get("act") {
            patch["act"] = act.clone();
        }
        let resp = self
            .api
            .call(
                Method::PATCH,
                &format!("/api/actions/{action_id}"),
                Some(&patch),
                self.settings.guard_timeout,
            )
            .await;
        match resp {
            Ok(r)
                if r.body.get("claimed") == Some(&Value::Bool(true))
                    && r.body.get("attempt_id").and_then(Value::as_str) == Some(&attempt) =>
            {
                Ok(())
            }
            _ => Err("execution claim failed or returned an ambiguous response; do not retry automatically".into()),
        }
    }

    /// Puts an action record (or an orphan) in the outbox, mapped for later outcomes.
    async fn enqueue_record(
        &self,
        kind: &str,
        action_id: &str,
        dedupe: Option<String>,
        mut record: Value,
        ev: &HookEvent,
    ) {
        guard::for_line(&mut record, self.line() == Line::V2);
        self.map_action(ev, action_id).await;
        let item = NewItem {
            kind: kind.to_owned(),
            dedupe_key: dedupe,
            payload: json!({"action_id": action_id, "body": record}),
            not_before_ms: 0,
            group: Some(action_id.to_owned()),
        };
        let outbox = self.outbox.clone();
        match tokio::task::spawn_blocking(move || outbox.enqueue(item, now_ms())).await {
            Ok(Ok(e)) => {
                for d in e.dropped {
                    let _ = self.dropped.send(d);
                }
                self.wake.notify_one()
            }
            Ok(Err(e)) => {
                tracing::error!("outbox: cannot keep the action record {action_id}: {e:#}")
            }
            Err(e) => tracing::error!("outbox task: {e}"),
        }
    }

    /// Maps the call's tool_use_id to its action, for the outcome that follows. Not awaited:
    /// the ledger already holds the decision with the action id, so this index is off the hot
    /// path (it cost about a quarter of a millisecond per governed call); a crash in the
    /// microseconds before it lands only leaves that call's outcome unattached, which the
    /// server's own sweep then marks `lost_confirmation`.
    async fn map_action(&self, ev: &HookEvent, action_id: &str) {
        let Some(tu) = ev.tool.as_ref().and_then(|t| t.tool_use_id.clone()) else {
            return;
        };
        let outbox = self.outbox.clone();
        let session = ev.session_id.clone();
        let id = action_id.to_owned();
        // Detached: dropping the handle does not cancel the write.
        drop(tokio::task::spawn_blocking(move || {
            if let Err(e) = outbox.map_action(&tu, &id, session.as_deref(), now_ms()) {
                tracing::error!("outbox: cannot map {tu} to {id}: {e:#}");
            }
        }));
    }
}

enum Created {
    Pending(String),
    Running(String),
    Blocked(String),
}

impl Gate {
    fn skipped() -> Gate {
        Gate {
            decision: None,
            notes: Vec::new(),
            ledger: json!({"governed": false}),
        }
    }
}

/// The identity part of `dashclawd status`: bearer token source (never the token), what the
/// guard answers said about it, and the signing state.
pub fn identity_status(r: &Remote) -> Value {
    let keys = identity::list(r.identities.dir());
    json!({
        "auth_token": r.api.token_source().map(|t| t.describe()),
        "auth_token_error": r.api.token_source().and_then(|t| t.last_error()),
        "verification_status": r.stats.last_verification.lock().map(|v| v.clone()).unwrap_or_default(),
        "verification_counts": r.stats.verification.lock().map(|v| v.clone()).unwrap_or_default(),
        "sign_actions": r.identities.mode().as_str(),
        "server_requires_signatures": r.identities.server_requires(),
        "keys": keys.iter().map(|(id, p)| json!({
            "agent_id": id,
            "pairing": p.as_ref().map(|p| p.status.clone()),
        })).collect::<Vec<_>>(),
    })
}

/// The longest approval wait an agent's hook timeout allows (the installer's values), minus
/// a margin for the guard call itself.
pub fn approval_cap(agent: crate::event::Agent) -> Duration {
    match agent {
        // Hermes clamps hook timeouts to 300 s.
        crate::event::Agent::Hermes => Duration::from_secs(280),
        _ => config::MAX_APPROVAL_TIMEOUT,
    }
}

fn ungoverned_categories(setting: Option<&str>) -> Vec<&'static str> {
    use guard::Category::*;
    if setting.is_none_or(|s| s.trim().is_empty()) {
        return Vec::new();
    }
    [Execution, Orchestration, FileIo, Interactive, Mcp]
        .into_iter()
        .filter(|c| !c.governed(setting))
        .map(|c| c.as_str())
        .collect()
}

pub use crate::util::time::{iso_now, now_ms};
