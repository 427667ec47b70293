//! The decision pipeline, one direction only: request → adapter normalizes → classify → policy →
//! adapter renders, plus the ledger record describing it. Pure: no I/O, so the daemon and
//! `dashclawd check` run exactly the same code.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde_json::{json, Value};

use crate::agents::{adapter_for, HookContext, RenderOptions};
use crate::classify::{self, ClassifyContext};
use crate::event::{Agent, Classification, Decision, EventKind, HookEvent, Verdict};
use crate::ledger::Record;
use crate::paths::Paths;
use crate::policy::{default_agent_id, Evaluation, PolicyStore};
use crate::protocol::{field, Rendered, Request};
use crate::redact::redact_str;

/// Daemon-wide state the pipeline reads.
#[derive(Debug, Clone)]
pub struct EngineState {
    /// Set when config.toml is broken: every gating event is denied with this message.
    pub config_error: Option<String>,
    /// The built-in pack plus the user's policy file (hot-reloaded by the store).
    pub policies: Arc<PolicyStore>,
    /// Our own files, which no agent may change (self-protection).
    pub protected: Protected,
}

/// What self-protection guards beyond the classifier's built-in patterns.
#[derive(Debug, Clone, Default)]
pub struct Protected {
    /// Config, state and run directories (ledger, approvals, socket, policies).
    pub dirs: Vec<PathBuf>,
    /// The installed `dashclawd` and `dashclaw-hook`.
    pub bins: Vec<PathBuf>,
}

impl Protected {
    /// The locations of this installation: its directories and the binaries beside this one.
    pub fn of(paths: &Paths) -> Protected {
        let mut dirs = vec![paths.state_dir.clone(), paths.run_dir.clone()];
        if let Some(config_dir) = paths.config_file.parent() {
            dirs.push(config_dir.to_path_buf());
        }
        if let Some(sock_dir) = paths.socket.parent() {
            dirs.push(sock_dir.to_path_buf());
        }
        dirs.sort();
        dirs.dedup();
        let bins = std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|d| d.to_path_buf()))
            .map(|d| vec![d.join("dashclawd"), d.join("dashclaw-hook")])
            .unwrap_or_default();
        Protected { dirs, bins }
    }
}

impl Default for EngineState {
    fn default() -> Self {
        EngineState {
            config_error: None,
            policies: Arc::new(PolicyStore::builtin_only()),
            protected: Protected::default(),
        }
    }
}

/// Everything the pipeline produced for one request.
#[derive(Debug)]
pub struct Outcome {
    pub agent: Agent,
    pub kind: EventKind,
    pub event: Option<HookEvent>,
    pub classification: Option<Classification>,
    /// The policy evaluation behind the decision (gating events that parsed).
    pub evaluation: Option<Evaluation>,
    /// Only meaningful on gating events; records carry an allow.
    pub decision: Decision,
    pub opts: RenderOptions,
    pub rendered: Rendered,
    pub record: Record,
}

/// Runs the pipeline. `Err` is a request the daemon cannot serve at all (unknown agent or event),
/// which the client turns into a deny.
pub fn evaluate(req: &Request, state: &EngineState, received_us: u64) -> Result<Outcome, String> {
    let started = Instant::now();
    let agent_name = req.field(field::AGENT).unwrap_or_default();
    let agent = Agent::parse(agent_name).ok_or_else(|| format!("unknown agent '{agent_name}'"))?;
    let kind_name = req.field(field::EVENT).unwrap_or_default();
    let kind = EventKind::parse(kind_name).ok_or_else(|| format!("unknown event '{kind_name}'"))?;
    let ctx = HookContext {
        cwd: req.field(field::CWD).unwrap_or_default().to_string(),
        env: req
            .fields
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix(field::ENV_PREFIX)
                    .map(|k| (k.to_string(), v.clone()))
            })
            .collect(),
    };
    let adapter = adapter_for(agent);
    let normalized = adapter.normalize(kind, &req.body, &ctx);

    let mut evaluation = None;
    let (event, classification, decision) = match normalized {
        Ok(ev) => {
            let classification = ev.tool.as_ref().map(|_| {
                let workspace = ctx
                    .env("DASHCLAW_WORKSPACE")
                    .or(ctx.env("CLAUDE_PROJECT_DIR"))
                    .unwrap_or(&ev.cwd);
                classify::classify(
                    &ev,
                    &ClassifyContext {
                        protected_dirs: &state.protected.dirs,
                        dashclaw_bins: &state.protected.bins,
                        ..ClassifyContext::new(workspace, ctx.env("HOME"))
                    },
                )
            });
            let decision = match (&state.config_error, &classification) {
                (Some(err), _) if kind.is_gating() => Decision {
                    suggestion: Some("fix the file (`dashclawd status` shows the error) and retry".into()),
                    ..Decision::block(format!("the DashClaw configuration is broken: {err}"), Some("config".into()))
                },
                (_, Some(c)) if kind.is_gating() => {
                    let agent_id = ctx
                        .env("DASHCLAW_AGENT_ID")
                        .filter(|id| !id.is_empty())
                        .unwrap_or(default_agent_id(agent));
                    let e = state.policies.evaluate(&ev, c, agent_id);
                    let decision = e.decision.clone();
                    evaluation = Some(e);
                    decision
                }
                _ => Decision::allow(),
            };
            (Some(ev), classification, decision)
        }
        Err(e) if kind.is_gating() => (
            None,
            None,
            Decision {
                suggestion: Some("retry the call; if it keeps failing, check the hook command and the agent version".into()),
                ..Decision::block(
                    format!("the hook received a tool payload it could not parse: {e}"),
                    Some("payload".into()),
                )
            },
        ),
        Err(e) => {
            tracing::warn!(agent = agent.as_str(), event = kind.as_str(), "unparseable record event: {e}");
            (None, None, Decision::allow())
        }
    };

    let opts = RenderOptions {
        observe: ctx.env("DASHCLAW_HOOK_MODE") == Some("observe"),
        held: None,
        redact_tool_results: crate::agents::hermes::redaction_enabled(&ctx),
    };
    let rendered = adapter.render(kind, event.as_ref(), &decision, &opts);
    let daemon_us = started.elapsed().as_micros() as u64;
    let record = build_record(
        req,
        agent,
        kind,
        event.as_ref(),
        classification.as_ref(),
        &decision,
        !opts.observe,
        Latency {
            received_us,
            daemon_us,
        },
    );
    Ok(Outcome {
        agent,
        kind,
        event,
        classification,
        evaluation,
        decision,
        opts,
        rendered,
        record,
    })
}

impl Outcome {
    /// Whether a require-approval verdict here needs the local approvals queue: it gates, it is
    /// enforced, and the agent cannot put the question to the user itself.
    pub fn needs_local_approval(&self) -> bool {
        self.kind.is_gating()
            && !self.opts.observe
            && self.decision.verdict == Verdict::RequireApproval
            && self
                .event
                .as_ref()
                .is_some_and(|ev| !adapter_for(self.agent).can_ask(ev))
    }

    /// Replaces the decision (after the approvals queue had its say) and renders it again.
    pub fn set_decision(&mut self, decision: Decision, held: Option<String>) {
        self.opts.held = held;
        self.rendered =
            adapter_for(self.agent).render(self.kind, self.event.as_ref(), &decision, &self.opts);
        self.record.verdict = Some(decision.verdict.as_str().to_string());
        self.record.reasons = decision
            .reasons
            .iter()
            .map(|r| redact_str(r).into_owned())
            .collect();
        self.record.policy = decision.policy.clone();
        if let Some(id) = &self.opts.held {
            self.record.outcome = json!({ "held": id });
        }
        self.decision = decision;
    }
}

struct Latency {
    /// Unix microseconds when the daemon had read the whole request.
    received_us: u64,
    daemon_us: u64,
}

#[allow(clippy::too_many_arguments)]
fn build_record(
    req: &Request,
    agent: Agent,
    kind: EventKind,
    event: Option<&HookEvent>,
    c: Option<&Classification>,
    d: &Decision,
    enforced: bool,
    latency: Latency,
) -> Record {
    let red = |s: &str| redact_str(s).into_owned();
    let summary = match (c, event) {
        (Some(c), _) => red(&c.summary),
        (None, Some(ev)) => kind_summary(ev),
        (None, None) => format!("unparseable payload ({} bytes)", req.body.len()),
    };
    let gating = kind.is_gating();
    Record {
        event_id: req
            .field(field::EVENT_ID)
            .map(str::to_owned)
            .unwrap_or_else(|| format!("anon-{}", uuid_like())),
        agent: agent.as_str().into(),
        event: kind.as_str().into(),
        session_id: event.and_then(|e| e.session_id.clone()),
        tool: event.and_then(|e| e.tool.as_ref().map(|t| t.name.clone())),
        tool_use_id: event.and_then(|e| e.tool.as_ref().and_then(|t| t.tool_use_id.clone())),
        cwd: event.map(|e| e.cwd.clone()),
        summary,
        verdict: gating.then(|| d.verdict.as_str().to_string()),
        enforced,
        intent: c.map(|c| c.intent.as_str().to_string()),
        risk_score: c.map(|c| c.risk_score),
        action_type: c.map(|c| c.action_type.to_string()),
        reasons: if gating {
            d.reasons.iter().map(|r| red(r)).collect()
        } else {
            Vec::new()
        },
        policy: if gating { d.policy.clone() } else { None },
        outcome: event.map(outcome_of).unwrap_or(Value::Null),
        client_us: req
            .field(field::CLIENT_START_US)
            .and_then(|t| t.parse::<u64>().ok())
            .map(|t0| latency.received_us.saturating_sub(t0)),
        daemon_us: latency.daemon_us,
        spooled: req.field(field::SPOOLED) == Some("1"),
    }
}

/// What a record event says about how things went; never raw content.
fn outcome_of(ev: &HookEvent) -> Value {
    match ev.kind {
        EventKind::PostToolUse => {
            let resp = ev.tool_response.as_ref();
            let failed = resp.is_some_and(|r| {
                r.get("interrupted") == Some(&Value::Bool(true))
                    || r.get("is_error") == Some(&Value::Bool(true))
                    || r.get("success") == Some(&Value::Bool(false))
            });
            json!({
                "status": if failed { "failed" } else { "completed" },
                "response_bytes": resp.map(|r| r.to_string().len()).unwrap_or(0),
            })
        }
        EventKind::UserPromptSubmit => {
            json!({ "prompt_chars": ev.prompt.as_deref().map(|p| p.chars().count()).unwrap_or(0) })
        }
        _ => Value::Null,
    }
}

fn kind_summary(ev: &HookEvent) -> String {
    match ev.kind {
        EventKind::Stop => "turn ended".into(),
        EventKind::SessionStart => "session started".into(),
        EventKind::SessionEnd => "session ended".into(),
        EventKind::UserPromptSubmit => "prompt submitted".into(),
        _ => ev.kind.as_str().into(),
    }
}

pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

fn uuid_like() -> String {
    format!("{:x}-{:x}", now_us(), std::process::id())
}
