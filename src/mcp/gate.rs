//! The daemon's half of the MCP tools: `dashclaw_guard` and `dashclaw_record` (and the session
//! markers) are decided and recorded here, by the daemon that answers the hooks, so an MCP guard
//! and a hook never disagree on the same action and there is one ledger writer.
//!
//! The MCP server sends a control request (`control = mcp-guard | mcp-record`) with the tool's
//! arguments as a JSON body; the answer's stdout is the JSON result. Everything that goes wrong
//! on the guard path turns into a `block` decision naming the cause, never an allow.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::approvals::{self, Approvals, NewRequest};
use crate::engine::{self, EngineState};
use crate::event::{Decision, Verdict};
use crate::ledger::{Ledger, Record};
use crate::policy::GuardContext;
use crate::protocol::{field, Rendered, Request, Response};
use crate::redact::{redact_json, redact_str};
use crate::remote::{guard as rguard, Remote};

/// The control commands this module serves.
pub const GUARD: &str = "mcp-guard";
pub const RECORD: &str = "mcp-record";

/// What the daemon lends the MCP control commands.
pub struct DaemonCtx<'a> {
    pub engine: &'a EngineState,
    pub ledger: &'a Ledger,
    pub remote: Option<&'a Remote>,
    pub approvals: &'a Arc<Approvals>,
    /// Why the server part is unusable, if it is.
    pub server_error: Option<&'a str>,
}

/// Serves one MCP control request.
pub async fn serve(cmd: &str, body: &[u8], cx: DaemonCtx<'_>) -> Response {
    let args = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let out = match cmd {
        GUARD => guard(&args, &cx).await,
        RECORD => record(&args, &cx).await,
        other => return Response::Reject(format!("unknown control command '{other}'")),
    };
    Response::Final(Rendered {
        exit_code: 0,
        stdout: out.to_string().into_bytes(),
        stderr: Vec::new(),
    })
}

fn str_arg<'a>(args: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    args.get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn str_list(args: &Map<String, Value>, k: &str) -> Vec<String> {
    args.get(k)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The stricter of two decisions (ties keep the first).
fn stricter(a: Decision, b: Decision) -> Decision {
    if b.verdict > a.verdict {
        b
    } else {
        a
    }
}

/// The upstream guard arguments that must be there; anything missing blocks.
fn validate_guard(args: &Map<String, Value>) -> Result<(), String> {
    let mut missing = Vec::new();
    for k in ["action_type", "declared_goal"] {
        if str_arg(args, k).is_none() {
            missing.push(format!("{k} (a non-empty string)"));
        }
    }
    match args.get("risk_score").and_then(Value::as_f64) {
        Some(r) if (0.0..=100.0).contains(&r) => {}
        _ => missing.push("risk_score (an integer 0-100)".into()),
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("missing or invalid: {}", missing.join(", ")))
    }
}

/// A Claude Code PreToolUse payload for the concrete act, so the hook engine classifies it
/// exactly as it would classify the agent's own tool call.
fn act_event(args: &Map<String, Value>, cwd: &str) -> Option<Value> {
    let act = args.get("act")?.as_object()?;
    let (tool, input) = match act.get("kind").and_then(Value::as_str)? {
        "shell" => ("Bash", json!({"command": act.get("command")?.as_str()?})),
        "file" => {
            let file = act.get("file")?.as_object()?;
            (
                "Write",
                json!({
                    "file_path": file.get("path")?.as_str()?,
                    "content": file.get("content_excerpt").and_then(Value::as_str).unwrap_or_default(),
                }),
            )
        }
        "http" => {
            let req = act.get("request")?.as_object()?;
            (
                "WebFetch",
                json!({"url": req.get("url")?.as_str()?, "prompt": ""}),
            )
        }
        _ => return None,
    };
    Some(json!({
        "session_id": str_arg(args, "session_id").unwrap_or("mcp"),
        "cwd": cwd,
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": input,
        "tool_use_id": "mcp-guard",
    }))
}

async fn guard(args: &Map<String, Value>, cx: &DaemonCtx<'_>) -> Value {
    let agent_id = str_arg(args, "agent_id").unwrap_or("mcp").to_owned();
    let cwd = str_arg(args, "cwd").unwrap_or("/").to_owned();
    let action_type = str_arg(args, "action_type").unwrap_or("unknown").to_owned();
    let goal = str_arg(args, "declared_goal")
        .unwrap_or_default()
        .to_owned();
    let mut ledger_out = json!({"agent_id": agent_id, "via": "mcp"});
    let mut risk = args
        .get("risk_score")
        .and_then(Value::as_f64)
        .unwrap_or(100.0)
        .clamp(0.0, 100.0) as u8;
    let mut warnings: Vec<String> = Vec::new();
    let mut matched: Vec<String> = Vec::new();
    let mut action_id: Option<String> = None;
    let mut source = "local";

    let mut decision = if let Err(e) = validate_guard(args) {
        Decision {
            suggestion: Some(
                "call dashclaw_guard again with action_type, declared_goal and risk_score".into(),
            ),
            ..Decision::block(
                format!("dashclaw_guard arguments are {e}"),
                Some("mcp:arguments".into()),
            )
        }
    } else if let Some(err) = &cx.engine.config_error() {
        Decision::block(
            format!("the DashClaw configuration is broken: {err}"),
            Some("config".into()),
        )
    } else {
        // The declared action against the same policy store the hooks use.
        let ctx = GuardContext {
            action_type: action_type.clone(),
            agent_id: Some(agent_id.clone()),
            risk_score: Some(f64::from(risk)),
            declared_goal: Some(goal.clone()),
            target: str_arg(args, "target").map(str::to_owned),
            write_paths: str_list(args, "write_paths"),
            systems_touched: str_list(args, "systems_touched"),
            reversible: args.get("reversible").and_then(Value::as_bool),
            ..GuardContext::default()
        };
        let declared = cx.engine.policies.evaluate_context(&ctx, &[]);
        risk = risk.max(declared.risk_score);
        warnings.extend(declared.warnings.iter().cloned());
        matched.extend(declared.matched_policies.iter().cloned());
        let mut d = declared.decision;
        // The concrete act, if any, through the hook engine itself.
        if let Some(ev) = act_event(args, &cwd) {
            let mut req = Request::new(ev.to_string().into_bytes());
            req.set(field::AGENT, "claude");
            req.set(field::EVENT, "pre-tool-use");
            req.set(field::CWD, cwd.as_str());
            req.set(field::EVENT_ID, "mcp-guard");
            req.set(
                &format!("{}DASHCLAW_AGENT_ID", field::ENV_PREFIX),
                agent_id.as_str(),
            );
            match engine::evaluate(&req, cx.engine, engine::now_us()) {
                Ok(out) => {
                    if let Some(c) = &out.classification {
                        risk = risk.max(c.risk_score);
                        ledger_out["act"] = json!({
                            "summary": redact_str(&c.summary),
                            "action_type": c.action_type,
                            "risk_score": c.risk_score,
                        });
                    }
                    if let Some(e) = &out.evaluation {
                        warnings.extend(e.warnings.iter().cloned());
                        matched.extend(e.matched_policies.iter().cloned());
                    }
                    d = stricter(d, out.decision);
                }
                Err(e) => {
                    d = Decision::block(
                        format!("the act could not be evaluated: {e}"),
                        Some("mcp:act".into()),
                    )
                }
            }
        }
        d
    };

    // The server, when one is configured: its verdict and ours, the stricter wins.
    if decision.verdict != Verdict::Block || cx.remote.is_some() {
        let wanted = str_arg(args, "server_url");
        if let Some(msg) = server_mismatch(wanted, cx.remote) {
            decision = stricter(
                decision,
                Decision {
                    suggestion: Some("ask the user to run `dashclawd stop` (the next call starts it with this environment) or to set [server] in config.toml".into()),
                    ..Decision::block(msg, Some("dashclaw:server_config".into()))
                },
            );
        } else if let Some(err) = cx.server_error {
            decision = stricter(
                decision,
                Decision::block(
                    format!("the DashClaw server configuration is unusable: {err}"),
                    Some("dashclaw:server_config".into()),
                ),
            );
        } else if let Some(remote) = cx.remote {
            source = "server";
            let (server, out) = server_guard(remote, args, &agent_id, risk).await;
            ledger_out["server"] = out.clone();
            if let Some(id) = out.get("action_id").and_then(Value::as_str) {
                action_id = Some(id.to_owned());
            }
            if let Some(w) = out.get("warnings").and_then(Value::as_array) {
                warnings.extend(w.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            decision = stricter(server, decision);
        }
    }

    // Offline approvals: the local queue, so `dashclawd approve` answers and
    // dashclaw_wait_for_approval can wait on the id.
    if decision.verdict == Verdict::RequireApproval && cx.remote.is_none() {
        let input = json!({
            "action_type": action_type, "declared_goal": goal,
            "systems_touched": str_list(args, "systems_touched"),
            "target": str_arg(args, "target"), "act": args.get("act"),
        });
        let fp = approvals::fingerprint("mcp", &cwd, "dashclaw_guard", &input);
        let request = NewRequest {
            fingerprint: fp.clone(),
            agent: "mcp".into(),
            session_id: str_arg(args, "session_id").map(str::to_owned),
            cwd: Some(cwd.clone()),
            tool: "dashclaw_guard".into(),
            summary: redact_str(&format!("dashclaw_guard: {action_type}: {goal}")).into_owned(),
            detail: Some({
                let mut d = input.clone();
                redact_json(&mut d);
                d.to_string()
            }),
            reasons: decision
                .reasons
                .iter()
                .map(|r| redact_str(r).into_owned())
                .collect(),
            policy: decision.policy.clone(),
        };
        let store = cx.approvals.clone();
        let held = tokio::task::spawn_blocking(move || {
            let now = approvals::unix_now();
            if let Some(g) = store.take_grant(&fp, now)? {
                return Ok::<_, anyhow::Error>(Err(Decision {
                    verdict: Verdict::Allow,
                    reasons: vec![format!("approved by {} as {}", g.approved_by, g.id)],
                    policy: Some("builtin:operator_approval".into()),
                    suggestion: None,
                }));
            }
            if let Some(d) = store.denied_reason(&fp, now)? {
                return Ok(Err(Decision {
                    suggestion: Some(
                        "do not retry this action; choose another approach or ask the user".into(),
                    ),
                    ..Decision::block(
                        format!(
                            "denied by {} ({}): {}",
                            d.denied_by,
                            d.id,
                            d.reason.as_deref().unwrap_or("no reason given")
                        ),
                        Some("builtin:operator_denial".into()),
                    )
                }));
            }
            Ok(Ok(store.request(&request, now)?.id))
        })
        .await;
        match held {
            Ok(Ok(Ok(id))) => {
                decision.suggestion = Some(format!(
                    "call dashclaw_wait_for_approval with action_id {id}; a person approves with `dashclawd approve {id}`"
                ));
                action_id = Some(id);
            }
            Ok(Ok(Err(d))) => decision = d,
            Ok(Err(e)) => {
                decision = Decision::block(
                    format!("the approvals queue is unusable ({e:#}), so nobody can approve this"),
                    Some("mcp:approvals".into()),
                )
            }
            Err(e) => {
                decision = Decision::block(
                    format!("the approvals queue failed: {e}"),
                    Some("mcp:approvals".into()),
                )
            }
        }
    }
    if let Some(id) = &action_id {
        ledger_out["action_id"] = json!(id);
    }

    let record = Record {
        event_id: format!("mcp-guard-{}", uuid::Uuid::new_v4()),
        agent: "mcp".into(),
        event: "mcp-guard".into(),
        session_id: str_arg(args, "session_id").map(str::to_owned),
        tool: Some("dashclaw_guard".into()),
        tool_use_id: None,
        cwd: Some(cwd),
        summary: redact_str(&format!("dashclaw_guard: {action_type}: {goal}")).into_owned(),
        verdict: Some(decision.verdict.as_str().into()),
        enforced: true,
        intent: None,
        risk_score: Some(risk),
        action_type: Some(action_type.clone()),
        reasons: decision
            .reasons
            .iter()
            .map(|r| redact_str(r).into_owned())
            .collect(),
        policy: decision.policy.clone(),
        outcome: ledger_out,
        client_us: None,
        daemon_us: 0,
        spooled: false,
        ..Default::default()
    };
    if let Err(e) = cx.ledger.append(record).await {
        // Unrecorded means ungoverned: the guard blocks.
        decision = Decision::block(
            format!("the audit ledger could not record this guard call ({e:#})"),
            Some("mcp:ledger".into()),
        );
    }
    matched.dedup();
    json!({
        "decision": decision.verdict.as_str(),
        "reasons": decision.reasons.iter().map(|r| redact_str(r).into_owned()).collect::<Vec<_>>(),
        "warnings": warnings.iter().map(|r| redact_str(r).into_owned()).collect::<Vec<_>>(),
        "policy": decision.policy,
        "suggestion": decision.suggestion,
        "matched_policies": matched,
        "risk_score": risk,
        "action_id": action_id,
        "source": source,
    })
}

/// The MCP server is set up for one DashClaw server and the daemon governs through another
/// (or none): the guard cannot speak for it.
fn server_mismatch(wanted: Option<&str>, remote: Option<&Remote>) -> Option<String> {
    let wanted = wanted?;
    match remote {
        None => Some(format!(
            "the MCP server is set up for DashClaw at {wanted}, but dashclawd runs without a server, so the action cannot be governed"
        )),
        Some(r) if r.api.base_url() != wanted => Some(format!(
            "the MCP server is set up for DashClaw at {wanted}, but dashclawd governs through {}; they must agree",
            r.api.base_url()
        )),
        Some(_) => None,
    }
}

/// The server's guard on the declared action (upstream's MCP body), as a decision plus what
/// the ledger and the agent should see. Failures block, naming the cause.
async fn server_guard(
    remote: &Remote,
    args: &Map<String, Value>,
    agent_id: &str,
    risk: u8,
) -> (Decision, Value) {
    let mut body = json!({
        "action_type": str_arg(args, "action_type"),
        "declared_goal": str_arg(args, "declared_goal").map(|g| g.chars().take(crate::policy::context::DECLARED_GOAL_MAX).collect::<String>()),
        "risk_score": risk,
        "agent_id": agent_id,
    });
    for k in [
        "systems_touched",
        "reversible",
        "target",
        "write_paths",
        "content",
        "tool_name",
        "act",
        "approval_wait_seconds",
    ] {
        if let Some(v) = args.get(k).filter(|v| !v.is_null()) {
            body[k] = v.clone();
        }
    }
    // Goals, targets, content and the act carry command lines and paths: redacted, like
    // everything leaving the machine.
    redact_json(&mut body);
    let resp = remote
        .api
        .call(
            reqwest::Method::POST,
            "/api/guard",
            Some(&body),
            remote.settings.guard_timeout,
        )
        .await;
    let unavailable = |cause: String, tag: &str| {
        (
            Decision {
                suggestion: Some("do not proceed; retry later or ask the user".into()),
                ..Decision::block(
                    format!("DashClaw guard unavailable: the server {cause}; refusing the action"),
                    Some("dashclaw:guard_unavailable".into()),
                )
            },
            json!({"error": tag, "message": cause}),
        )
    };
    let resp = match resp {
        Ok(r) => r,
        Err(e) => return unavailable(e.to_string(), e.tag()),
    };
    match rguard::parse_answer(&resp.body, None, false, true) {
        Ok(a) => {
            let verdict = a.verdict.verdict();
            let mut reasons = a.reasons.clone();
            if reasons.is_empty() && verdict != Verdict::Allow {
                reasons.push(format!("DashClaw server decision: {}", a.verdict.as_str()));
            }
            let d = Decision {
                verdict,
                reasons,
                policy: a.matched_policies.first().map(|p| format!("dashclaw:{p}")),
                suggestion: a.recovery.clone(),
            };
            let id = a.action_id.clone().or_else(|| {
                resp.body
                    .get("action_id")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            });
            (
                d,
                json!({
                    "decision": a.verdict.as_str(),
                    "status": resp.status,
                    "action_id": id,
                    "decision_id": a.decision_id,
                    "warnings": a.warnings,
                    "matched_policies": a.matched_policies,
                    "risk_score": a.risk_score,
                }),
            )
        }
        Err(e) => unavailable(
            format!(
                "answered HTTP {} without a usable decision ({e})",
                resp.status
            ),
            "no_decision",
        ),
    }
}

/// `dashclaw_record` and the session markers: one ledger row, and with a server, the
/// upstream route it belongs to.
async fn record(args: &Map<String, Value>, cx: &DaemonCtx<'_>) -> Value {
    let kind = str_arg(args, "kind").unwrap_or("action");
    let agent_id = str_arg(args, "agent_id").unwrap_or("mcp").to_owned();
    let cwd = str_arg(args, "cwd").map(str::to_owned);
    let action_type = str_arg(args, "action_type").unwrap_or(kind).to_owned();
    let goal = str_arg(args, "declared_goal")
        .or(str_arg(args, "summary"))
        .unwrap_or_default()
        .to_owned();
    let status = str_arg(args, "status").unwrap_or("completed").to_owned();
    let event = match kind {
        "session_start" => "mcp-session-start",
        "session_end" => "mcp-session-end",
        _ => "mcp-record",
    };
    let summary = match kind {
        "session_start" => format!(
            "session started{}",
            str_arg(args, "workspace")
                .map(|w| format!(" in {w}"))
                .unwrap_or_default()
        ),
        "session_end" => format!(
            "session ended ({status}){}",
            if goal.is_empty() {
                String::new()
            } else {
                format!(": {goal}")
            }
        ),
        _ => format!("dashclaw_record: {action_type}: {goal} ({status})"),
    };
    let mut fields = Value::Object(args.clone());
    if let Some(o) = fields.as_object_mut() {
        o.remove("cwd");
        o.remove("kind");
    }
    redact_json(&mut fields);
    let outcome = json!({
        "agent_id": agent_id,
        "via": "mcp",
        "status": status,
        "fields": fields,
    });
    let record = Record {
        event_id: format!("{event}-{}", uuid::Uuid::new_v4()),
        agent: "mcp".into(),
        event: event.into(),
        session_id: str_arg(args, "session_id").map(str::to_owned),
        tool: Some(match kind {
            "session_start" => "dashclaw_session_start".into(),
            "session_end" => "dashclaw_session_end".into(),
            _ => "dashclaw_record".into(),
        }),
        tool_use_id: None,
        cwd,
        summary: redact_str(&summary).into_owned(),
        verdict: None,
        enforced: false,
        intent: None,
        risk_score: args
            .get("risk_score")
            .and_then(Value::as_f64)
            .map(|r| r.clamp(0.0, 100.0) as u8),
        action_type: (kind == "action").then(|| action_type.clone()),
        reasons: Vec::new(),
        policy: None,
        outcome,
        client_us: None,
        daemon_us: 0,
        spooled: false,
        ..Default::default()
    };
    match cx.ledger.append(record).await {
        Ok(seq) => json!({"recorded": true, "ledger_seq": seq}),
        Err(e) => {
            json!({"recorded": false, "error": format!("the audit ledger could not record this ({e:#})")})
        }
    }
}
