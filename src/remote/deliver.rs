//! Delivery of the outbox to the server: everything recorded after the fact (action records
//! the guard did not make, orphans, outcomes, Stop token attribution, observe-mode stamps).
//!
//! Each kind knows which answers mean "delivered" (including the server's own duplicate
//! signals: idempotent replays, 409 on a duplicate id or an outcome already set), which mean
//! "try again later" (network trouble, 5xx, 429 with its `Retry-After`, a bad key that may be
//! fixed) and which can never succeed (parked, kept for inspection). Items of one action
//! share a FIFO group, so an outcome never overtakes the record it belongs to.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use super::{guard, iso_now, now_ms, ApiError, Line, Remote};
use crate::event::{EventKind, HookEvent};
use crate::outbox::{Item, NewItem};
use crate::redact::redact_str;

/// What happened to one item.
#[derive(Debug)]
enum Step {
    Done,
    Retry(Duration, String),
    Park(String),
}

/// Items that keep failing transiently are retried at most this often, forever: nothing
/// acknowledged is dropped except by the disk budget.
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// After this many attempts a permanent-looking server error (5xx that never heals, such as
/// the v2.0 PATCH schema drift) is parked instead of retried.
const MAX_SERVER_ERRORS: u32 = 12;
/// Presence reports older than this are dropped instead of sent.
const STALE_PRESENCE: Duration = Duration::from_secs(600);

/// The delivery loop: due items in order, then sleep until the next is due or one is added.
pub async fn run(remote: Arc<Remote>) {
    loop {
        let outbox = remote.outbox.clone();
        let due = tokio::task::spawn_blocking(move || outbox.due(now_ms(), 64)).await;
        let items = match due {
            Ok(Ok(items)) => items,
            Ok(Err(e)) => {
                tracing::error!("outbox: {e:#}");
                tokio::time::sleep(Duration::from_secs(5)).await;
                continue;
            }
            Err(_) => return,
        };
        for item in &items {
            let step = deliver(&remote, item).await;
            // A write that keeps failing is visible in `status` while it is retried.
            if let Step::Retry(_, why) | Step::Park(why) = &step {
                let what = if matches!(step, Step::Park(_)) {
                    "parked"
                } else {
                    "retrying"
                };
                remote.note_error(format!(
                    "outbox {} for {}: {why} ({what}, attempt {})",
                    item.kind,
                    item.payload
                        .get("action_id")
                        .and_then(Value::as_str)
                        .unwrap_or("-"),
                    item.attempts + 1
                ));
            }
            let outbox = remote.outbox.clone();
            let id = item.id;
            let attempts = item.attempts;
            let kind = item.kind.clone();
            let res = tokio::task::spawn_blocking(move || match step {
                Step::Done => outbox.complete(id).map(|_| "done".to_string()),
                Step::Retry(after, why) => {
                    let after = if attempts >= MAX_SERVER_ERRORS * 4 {
                        MAX_BACKOFF
                    } else {
                        after
                    };
                    outbox
                        .retry(id, now_ms() + after.as_millis() as u64, &why)
                        .map(|_| format!("retry in {}s: {why}", after.as_secs()))
                }
                Step::Park(why) => outbox.park(id, &why).map(|_| format!("parked: {why}")),
            })
            .await;
            match res {
                Ok(Ok(what)) if what == "done" => {
                    remote.stats.delivered.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Ok(what)) => tracing::info!(item = id, kind, "{what}"),
                Ok(Err(e)) => tracing::error!("outbox: {e:#}"),
                Err(_) => return,
            }
        }
        if items.len() == 64 {
            continue;
        }
        let outbox = remote.outbox.clone();
        let next = tokio::task::spawn_blocking(move || outbox.next_due_ms())
            .await
            .ok()
            .and_then(|r| r.ok())
            .flatten();
        let sleep = match next {
            Some(at) => Duration::from_millis(at.saturating_sub(now_ms()).clamp(10, 60_000)),
            None => Duration::from_secs(60),
        };
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = remote.wake.notified() => {}
        }
    }
}

fn backoff(attempts: u32) -> Duration {
    let secs = 1u64 << attempts.min(10);
    Duration::from_secs(secs).min(MAX_BACKOFF)
}

/// The common reading of a failure.
fn on_error(e: &ApiError, attempts: u32) -> Step {
    match e {
        ApiError::RateLimited(after) => Step::Retry(
            after
                .unwrap_or(Duration::from_secs(60))
                .max(Duration::from_secs(1)),
            e.to_string(),
        ),
        ApiError::Server { .. } if attempts >= MAX_SERVER_ERRORS => Step::Park(e.to_string()),
        // A bad key may be fixed, an agent paired; keep everything until it is.
        ApiError::Unauthorized(_) | ApiError::Forbidden(_) | ApiError::Signature { .. } => {
            Step::Retry(
                backoff(attempts).max(Duration::from_secs(30)),
                e.to_string(),
            )
        }
        e if e.is_transient() => Step::Retry(backoff(attempts), e.to_string()),
        e => Step::Park(e.to_string()),
    }
}

async fn deliver(remote: &Remote, item: &Item) -> Step {
    let p = &item.payload;
    let action_id = p.get("action_id").and_then(Value::as_str).unwrap_or("");
    match item.kind.as_str() {
        "record" | "orphan" => {
            let mut body = p.get("body").cloned().unwrap_or(Value::Null);
            // Kept while the line was unknown (the server was away): learn it before sending.
            if remote.line() == Line::Unknown {
                remote.detect_line().await;
            }
            guard::for_line(&mut body, remote.line() == Line::V2);
            // Created, pending, replayed, blocked (the row exists), duplicate id (v2.0).
            let mut answer = remote.post_action(&body, Duration::from_secs(10)).await;
            if let Ok(r) = &answer {
                // Only v2.0 refuses our statuses or action types: it is one.
                let refused = r.status == 400
                    && r.body.to_string().contains("must be one of")
                    && remote.line() != Line::V2;
                if refused {
                    remote.set_line(Line::V2);
                    guard::for_line(&mut body, true);
                    answer = remote.post_action(&body, Duration::from_secs(10)).await;
                }
            }
            match answer {
                Ok(r) if [200, 201, 202, 403, 409].contains(&r.status) => Step::Done,
                Ok(r) => Step::Park(format!(
                    "HTTP {}: {}",
                    r.status,
                    guard::truncate(&r.body.to_string(), 300)
                )),
                Err(e) => on_error(&e, item.attempts),
            }
        }
        "outcome" => deliver_outcome(remote, action_id, p, item.attempts).await,
        "close" => deliver_close(remote, action_id, p, item.attempts).await,
        "cancel" => deliver_cancel(remote, action_id, p, item.attempts).await,
        // 409: already stamped; the row has its final word already.
        "despite" => {
            let expect = Expect {
                done: &[200, 409],
                retry_missing: true,
                ..Expect::default()
            };
            let path = format!("/api/actions/{action_id}");
            send(
                remote,
                item.attempts,
                Method::PATCH,
                &path,
                &p["body"],
                expect,
            )
            .await
        }
        "heartbeat" => {
            // Presence is about now: a report that waited out a long outage would lie.
            let created = p.get("created_ms").and_then(Value::as_u64).unwrap_or(0);
            if now_ms().saturating_sub(created) > STALE_PRESENCE.as_millis() as u64 {
                return Step::Done;
            }
            // The first call's 503 RETRY (lazy presence table) is a transient 5xx: retried in 1 s.
            let path = "/api/agents/heartbeat";
            send(
                remote,
                item.attempts,
                Method::POST,
                path,
                &p["body"],
                Expect::default(),
            )
            .await
        }
        // v2.0 has no Code Sessions and no assumptions: nothing to deliver to.
        "ingest-live" => {
            let expect = Expect {
                no_route_done: true,
                ..Expect::default()
            };
            let path = "/api/code-sessions/ingest-live";
            send(
                remote,
                item.attempts,
                Method::POST,
                path,
                &p["body"],
                expect,
            )
            .await
        }
        "assumption" => {
            let expect = Expect {
                done: &[200, 201, 409],
                retry_missing: true,
                no_route_done: true,
            };
            send(
                remote,
                item.attempts,
                Method::POST,
                "/api/assumptions",
                &p["body"],
                expect,
            )
            .await
        }
        other => Step::Park(format!("unknown outbox item kind {other:?}")),
    }
}

/// How one kind of write reads the server's answers.
struct Expect {
    /// Statuses that mean the server has it, its own duplicate signals included.
    done: &'static [u16],
    /// A JSON 404 (the row the write refers to is not there yet) is retried a few times.
    retry_missing: bool,
    /// An HTML 404 (no such route on this server line) means there is nothing to deliver to.
    no_route_done: bool,
}

impl Default for Expect {
    fn default() -> Expect {
        Expect {
            done: &[200],
            retry_missing: false,
            no_route_done: false,
        }
    }
}

/// One write and what its answer means for the item.
async fn send(
    remote: &Remote,
    attempts: u32,
    method: Method,
    path: &str,
    body: &Value,
    expect: Expect,
) -> Step {
    // Ingest may take the server a while (it allows itself 20 s).
    let timeout = Duration::from_secs(if path.contains("/code-sessions/") {
        20
    } else {
        10
    });
    match remote.api.call(method, path, Some(body), timeout).await {
        Ok(r) if expect.done.contains(&r.status) => Step::Done,
        Ok(r) if r.status == 404 && expect.retry_missing && attempts < 5 => {
            Step::Retry(backoff(attempts), "not found (yet)".into())
        }
        Ok(r) => Step::Park(format!(
            "HTTP {}: {}",
            r.status,
            guard::truncate(&r.body.to_string(), 300)
        )),
        Err(ApiError::NoRoute) if expect.no_route_done => Step::Done,
        Err(e) => on_error(&e, attempts),
    }
}

/// A row's lifecycle status now, `None` when it is not there (yet).
async fn row_status(remote: &Remote, action_id: &str) -> Result<Option<String>, ApiError> {
    let r = remote
        .api
        .call(
            Method::GET,
            &format!("/api/actions/{action_id}"),
            None,
            Duration::from_secs(10),
        )
        .await?;
    if r.status != 200 {
        return Ok(None);
    }
    let row = r.body.get("action").unwrap_or(&r.body);
    Ok(row.get("status").and_then(Value::as_str).map(str::to_owned))
}

/// Closing a row the daemon believes still running (Stop), and the turn's token attribution.
///
/// Newest servers apply close fields only to a running row (`close_if_running`), and always
/// take tokens. v2.0 ignores `close_if_running` and overwrites finished rows, so there the row is
/// read first and only a `running` one is closed; v2.0 also drops token fields silently, so a
/// token-only write is not sent at all. A close never carries outcome text of its own over an
/// outcome: the daemon does not queue closes for calls whose outcome it recorded.
async fn deliver_close(remote: &Remote, action_id: &str, p: &Value, attempts: u32) -> Step {
    // Items queued by older versions carried the PATCH body itself.
    let (close, tokens) = match p.get("body") {
        Some(b) => {
            let mut tokens = b.clone();
            let close = b.get("close_if_running").map(
                |_| json!({"status": b.get("status"), "output_summary": b.get("output_summary")}),
            );
            if let Value::Object(m) = &mut tokens {
                for k in [
                    "close_if_running",
                    "status",
                    "output_summary",
                    "timestamp_end",
                ] {
                    m.remove(k);
                }
            }
            (close, Some(tokens))
        }
        None => (
            p.get("close").filter(|c| c.is_object()).cloned(),
            p.get("tokens").filter(|t| t.is_object()).cloned(),
        ),
    };
    let tokens = tokens.filter(|t| t.as_object().is_some_and(|m| !m.is_empty()));
    let line = remote.line();
    let mut body = json!({});
    if let Some(c) = &close {
        if line == Line::Newest {
            body["close_if_running"] = json!(true);
        } else {
            match row_status(remote, action_id).await {
                Ok(Some(s)) if s == "running" => {}
                Ok(Some(_)) => return Step::Done, // finished or pending: not ours to change
                Ok(None) if attempts < 5 => {
                    return Step::Retry(backoff(attempts), "not found (yet)".into())
                }
                Ok(None) => return Step::Park("the action is not on the server".into()),
                Err(e) => return on_error(&e, attempts),
            }
        }
        for (k, v) in c.as_object().into_iter().flatten() {
            if !v.is_null() {
                body[k] = v.clone();
            }
        }
        if line == Line::V2 {
            if let Some(st) = body.get("status").and_then(Value::as_str) {
                let st = guard::v2_status(st).to_owned();
                body["status"] = json!(st);
            }
        }
        body["timestamp_end"] = json!(iso_now());
    }
    if line != Line::V2 {
        for (k, v) in tokens.iter().flat_map(|t| t.as_object()).flatten() {
            body[k] = v.clone();
        }
    }
    if body.as_object().is_none_or(|m| m.is_empty()) {
        return Step::Done;
    }
    let expect = Expect {
        done: &[200, 409],
        retry_missing: true,
        ..Expect::default()
    };
    let path = format!("/api/actions/{action_id}");
    send(remote, attempts, Method::PATCH, &path, &body, expect).await
}

/// A call nobody waits for any more is cancelled where the server would keep it pending for
/// ever (v2.0); newest servers expire it themselves and keep a late approval meaningful.
async fn deliver_cancel(remote: &Remote, action_id: &str, p: &Value, attempts: u32) -> Step {
    if remote.line() == Line::Newest {
        return Step::Done;
    }
    match row_status(remote, action_id).await {
        Ok(Some(s)) if s == "pending_approval" => {}
        Ok(Some(_)) => return Step::Done,
        Ok(None) if attempts < 5 => {
            return Step::Retry(backoff(attempts), "not found (yet)".into())
        }
        Ok(None) => return Step::Done,
        Err(e) => return on_error(&e, attempts),
    }
    let body = json!({
        "status": "cancelled",
        "error_message": p.get("reason").and_then(Value::as_str).unwrap_or("Approval timeout"),
        "timestamp_end": iso_now(),
    });
    let expect = Expect {
        done: &[200, 409],
        ..Expect::default()
    };
    send(
        remote,
        attempts,
        Method::PATCH,
        &format!("/api/actions/{action_id}"),
        &body,
        expect,
    )
    .await
}

/// Newest servers: the one-shot `POST …/outcome` (first writer wins, so a replay is a 409
/// "outcome already set"). v2.0 (HTML 404): the legacy `PATCH` with a status.
async fn deliver_outcome(remote: &Remote, action_id: &str, p: &Value, attempts: u32) -> Step {
    let status = p
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("completed");
    let summary = p.get("summary").and_then(Value::as_str).unwrap_or("");
    if remote.line() != Line::V2 {
        let mut body = json!({"status": status, "summary": summary});
        if status == "failed" {
            body["error_message"] = json!(p
                .get("error")
                .and_then(Value::as_str)
                .filter(|e| !e.is_empty())
                .unwrap_or(summary));
        }
        match remote
            .api
            .call(
                Method::POST,
                &format!("/api/actions/{action_id}/outcome"),
                Some(&body),
                Duration::from_secs(10),
            )
            .await
        {
            Ok(r) if matches!(r.status, 200 | 409) => return Step::Done,
            Ok(r) if r.status == 404 && attempts < 5 => {
                return Step::Retry(backoff(attempts), "action not found yet".into())
            }
            Ok(r) if r.status == 400 => {}
            Ok(r) => return Step::Park(format!("HTTP {}", r.status)),
            Err(ApiError::NoRoute) => remote.set_line(Line::V2),
            Err(e) => return on_error(&e, attempts),
        }
    }
    let mut body = json!({
        "status": status,
        "output_summary": summary,
        "timestamp_end": p.get("at").cloned().unwrap_or_else(|| json!(iso_now())),
    });
    if let Some(m) = p.get("metadata").filter(|m| m.is_object()) {
        body["outcome_metadata"] = m.clone();
    }
    if status == "failed" {
        if let Some(e) = p.get("error").and_then(Value::as_str) {
            body["error_message"] = json!(e);
        }
    }
    match remote
        .api
        .call(
            Method::PATCH,
            &format!("/api/actions/{action_id}"),
            Some(&body),
            Duration::from_secs(10),
        )
        .await
    {
        Ok(r) if matches!(r.status, 200 | 409) => Step::Done,
        Ok(r) if r.status == 404 && attempts < 5 => {
            Step::Retry(backoff(attempts), "action not found yet".into())
        }
        Ok(r) => Step::Park(format!("HTTP {}", r.status)),
        Err(e) => on_error(&e, attempts),
    }
}

/// Turns a record event into outbox items (durable when this returns). The hook is answered
/// only afterwards.
///
/// `agent_id` is the hook environment's `DASHCLAW_AGENT_ID`, if any.
pub async fn enqueue_event(
    remote: &Remote,
    ev: &HookEvent,
    event_id: &str,
    agent_id: Option<&str>,
) -> anyhow::Result<()> {
    let agent_id = agent_id
        .map(str::to_owned)
        .or_else(|| remote.settings.agent_id.clone())
        .unwrap_or_else(|| crate::policy::default_agent_id(ev.agent).to_owned());
    let mut items = match ev.kind {
        EventKind::PostToolUse => outcome_items(remote, ev, event_id).await?,
        EventKind::Stop | EventKind::SessionEnd => stop_items(remote, ev, event_id).await?,
        _ => Vec::new(),
    };
    match ev.kind {
        EventKind::SessionStart | EventKind::PostToolUse => {
            remote
                .active_agents
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(agent_id);
        }
        EventKind::SessionEnd => items.push(NewItem {
            kind: "heartbeat".into(),
            dedupe_key: Some(format!("heartbeat:{event_id}")),
            payload: json!({"created_ms": now_ms(), "body": {
                "agent_id": agent_id, "status": "offline",
                "metadata": {"source": "dashclawd", "session_id": ev.session_id},
            }}),
            not_before_ms: 0,
            group: None,
        }),
        _ => {}
    }
    if items.is_empty() {
        return Ok(());
    }
    let outbox = remote.outbox.clone();
    let dropped =
        tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<crate::outbox::Dropped>> {
            let mut dropped = Vec::new();
            for item in items {
                let e = outbox.enqueue(item, now_ms())?;
                dropped.extend(e.dropped);
            }
            Ok(dropped)
        })
        .await??;
    for d in dropped {
        let _ = remote.dropped.send(d);
    }
    remote.wake.notify_one();
    Ok(())
}

async fn lookup(remote: &Remote, key: String) -> Option<String> {
    let outbox = remote.outbox.clone();
    tokio::task::spawn_blocking(move || outbox.action_for(&key))
        .await
        .ok()
        .and_then(|r| r.ok())
        .flatten()
}

async fn outcome_items(
    remote: &Remote,
    ev: &HookEvent,
    event_id: &str,
) -> anyhow::Result<Vec<NewItem>> {
    let Some(tu) = ev.tool.as_ref().and_then(|t| t.tool_use_id.clone()) else {
        return Ok(Vec::new());
    };
    // Only calls the server knows about have a row to attach to. The mapping is written off
    // the pre-tool-use hot path; a tool that finished within microseconds gets a second look.
    let action_id = match lookup(remote, tu.clone()).await {
        Some(id) => id,
        None => {
            tokio::time::sleep(Duration::from_millis(20)).await;
            match lookup(remote, tu.clone()).await {
                Some(id) => id,
                None => return Ok(Vec::new()),
            }
        }
    };
    let mut items = Vec::new();
    if let Some(despite) = lookup(remote, format!("despite:{tu}")).await {
        if let Some((id, verdict)) = despite.split_once('|') {
            items.push(NewItem {
                kind: "despite".into(),
                dedupe_key: Some(format!("despite:{event_id}")),
                payload: json!({"action_id": id, "body": {"executed_despite": verdict}}),
                not_before_ms: 0,
                group: Some(id.to_owned()),
            });
        }
    }
    // From here on the call has its outcome: Stop must not close it over that.
    let outbox = remote.outbox.clone();
    let key = format!("state:{action_id}");
    let _ =
        tokio::task::spawn_blocking(move || outbox.map_action(&key, "done", None, now_ms())).await;
    let o = extract_outcome(ev.tool_response.as_ref());
    items.push(NewItem {
        kind: "outcome".into(),
        dedupe_key: Some(format!("outcome:{event_id}")),
        payload: json!({
            "action_id": action_id,
            "status": o.status,
            "summary": o.summary,
            "error": o.error,
            "metadata": o.metadata,
            "at": iso_now(),
        }),
        not_before_ms: 0,
        group: Some(action_id),
    });
    Ok(items)
}

struct Outcome {
    status: &'static str,
    summary: String,
    error: Option<String>,
    metadata: Value,
}

/// Upstream's `_extract_outcome` (upstream-python-hooks.md §3.1 step 5), redacted.
fn extract_outcome(resp: Option<&Value>) -> Outcome {
    let resp = match resp {
        None | Some(Value::Null) => json!({}),
        Some(Value::Array(list)) => json!({"content": list}),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(Value::String(s)) => json!({"output": s}),
        Some(other) => json!({"output": other.to_string()}),
    };
    let text_of = |v: &Value| -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Array(blocks) => blocks
                .iter()
                .filter_map(|b| b.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join("\n"),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    };
    let output = resp
        .get("output")
        .or(resp.get("stdout"))
        .or(resp.get("content"))
        .map(text_of)
        .unwrap_or_default();
    let error = resp
        .get("error")
        .map(text_of)
        .filter(|e| !e.is_empty())
        .or_else(|| {
            (resp.get("isError") == Some(&Value::Bool(true))
                || resp.get("is_error") == Some(&Value::Bool(true))
                || resp.get("interrupted") == Some(&Value::Bool(true))
                || resp.get("success") == Some(&Value::Bool(false)))
            .then(|| {
                resp.get("stderr")
                    .map(text_of)
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| output.clone())
            })
        });
    let exit_code = resp
        .get("exit_code")
        .or(resp.get("exitCode"))
        .and_then(Value::as_i64);
    let mut metadata = serde_json::Map::new();
    if let Some(c) = exit_code {
        metadata.insert("exit_code".into(), json!(c));
    }
    let cut = |s: &str| redact_str(&guard::truncate(s, 500)).into_owned();
    let (status, summary, error) = match (&error, exit_code) {
        (Some(e), _) => ("failed", cut(e), Some(cut(e))),
        (None, Some(c)) if c != 0 => {
            let s = if output.is_empty() {
                format!("Process exited with code {c}")
            } else {
                cut(&output)
            };
            ("failed", s.clone(), Some(s))
        }
        _ => ("completed", cut(&output), None),
    };
    if let Some(e) = &error {
        let l = e.to_lowercase();
        let kind = if l.contains("timeout") || l.contains("timed out") {
            "timeout"
        } else if l.contains("permission") || l.contains("denied") {
            "permission"
        } else if l.contains("not found") || l.contains("no such file") {
            "not_found"
        } else {
            "runtime"
        };
        metadata.insert("error_type".into(), json!(kind));
    }
    Outcome {
        status,
        summary,
        error,
        metadata: Value::Object(metadata),
    }
}

/// Stop: close the turn's actions that are still running and split the turn's tokens over
/// them, as upstream's Stop hook does (§3.2 step 6), reading only the transcript's new part.
async fn stop_items(
    remote: &Remote,
    ev: &HookEvent,
    event_id: &str,
) -> anyhow::Result<Vec<NewItem>> {
    let Some(session) = ev.session_id.clone() else {
        return Ok(Vec::new());
    };
    let outbox = remote.outbox.clone();
    let transcript = ev.transcript_path.clone();
    let event_id = event_id.to_owned();
    let agent = ev.agent;
    let ended = ev.kind == EventKind::SessionEnd;
    let cwd = ev.cwd.clone();
    let full_content = remote.settings.code_sessions_full;
    let agent_id = remote
        .settings
        .agent_id
        .clone()
        .unwrap_or_else(|| crate::policy::default_agent_id(ev.agent).to_owned());
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<NewItem>> {
        let since = outbox
            .action_for(&format!("stop-at:{session}"))?
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let offset = outbox
            .action_for(&format!("stop-offset:{session}"))?
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0);
        let now = now_ms();
        let actions: Vec<String> = outbox
            .session_actions(&session, since)?
            .into_iter()
            .map(|(_, id)| id)
            .filter(|id| id.starts_with("act_"))
            .fold(Vec::new(), |mut acc, id| {
                if !acc.contains(&id) {
                    acc.push(id);
                }
                acc
            });
        // The agent's own transcript format, read by its integration (agents/<agent>/).
        let integration = crate::agents::integration_for(agent);
        let usage = transcript
            .as_deref()
            .and_then(|path| integration.turn(std::path::Path::new(path), offset, full_content))
            .and_then(Result::ok)
            .unwrap_or_default();
        outbox.map_action(&format!("stop-at:{session}"), &now.to_string(), None, now)?;
        if let Some(end) = usage.end_offset {
            outbox.map_action(
                &format!("stop-offset:{session}"),
                &end.to_string(),
                None,
                now,
            )?;
        }
        let n = actions.len() as u64;
        let mut items = Vec::new();
        // Codex rollouts are not a format the server's transcript parser reads: the turn goes
        // to ingest-live as a summary instead (the Claude transcript streams to ingest-jsonl).
        if integration.turns_go_live() {
            if let Some(body) = usage.live.clone() {
                let mut body = body;
                body["session_uuid"] = json!(session);
                body["agent_id"] = json!(agent_id);
                body["project"] = live_project(&cwd);
                items.push(NewItem {
                    kind: "ingest-live".into(),
                    dedupe_key: Some(format!("live:{event_id}")),
                    payload: json!({"body": body}),
                    not_before_ms: 0,
                    group: Some(format!("live:{session}")),
                });
            }
            if ended {
                items.push(NewItem {
                    kind: "ingest-live".into(),
                    dedupe_key: Some(format!("finalize:{event_id}")),
                    payload: json!({"body": {
                        "session_uuid": session, "agent_id": agent_id, "finalize": true,
                        "completed": true, "ended_at": iso_now(), "project": live_project(&cwd),
                    }}),
                    not_before_ms: 0,
                    group: Some(format!("live:{session}")),
                });
            }
        }
        for (i, id) in actions.iter().enumerate() {
            let share = |total: u64| total / n + u64::from((i as u64) < total % n);
            let mut tokens = json!({});
            if usage.tokens_in + usage.tokens_out > 0 {
                tokens["tokens_in"] = json!(share(usage.tokens_in));
                tokens["tokens_out"] = json!(share(usage.tokens_out));
            }
            if let Some(m) = &usage.model {
                tokens["model"] = json!(m);
            }
            // Only a call the daemon let run and has no outcome for is closed; a finished,
            // denied or still pending one only gets its share of the tokens.
            let state = outbox.action_for(&format!("state:{id}"))?;
            let close = match state.as_deref() {
                None | Some("running") => json!({
                    "status": "completed",
                    "output_summary": "Auto-closed by Stop hook",
                }),
                Some(_) => Value::Null,
            };
            if close.is_null() && tokens.as_object().is_some_and(|t| t.is_empty()) {
                continue;
            }
            items.push(NewItem {
                kind: "close".into(),
                dedupe_key: Some(format!("close:{event_id}:{id}")),
                payload: json!({"action_id": id, "close": close, "tokens": tokens}),
                not_before_ms: 0,
                group: Some(id.clone()),
            });
        }
        if let Some(first) = actions.first() {
            for a in usage.assumptions.iter().take(5) {
                let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
                    format!("{first}\0{a}").as_bytes(),
                ));
                items.push(NewItem {
                    kind: "assumption".into(),
                    dedupe_key: Some(format!("assumption:{digest}")),
                    payload: json!({"action_id": first, "body": {
                        "action_id": first,
                        "assumption": redact_str(a),
                        "basis": "auto-extracted from session transcript",
                    }}),
                    not_before_ms: 0,
                    group: Some(first.clone()),
                });
            }
        }
        Ok(items)
    })
    .await?
}

/// The server's project for a working directory (§11.1): the last path segment, `[A-Za-z0-9_.-]`
/// kept, others `-`, at most 80 characters.
pub fn live_project(cwd: &str) -> Value {
    let last = cwd.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    let slug: String = last
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(80)
        .collect();
    json!({"slug": if slug.is_empty() { "unknown".to_owned() } else { slug }, "cwd": redact_str(cwd), "source_host": "hook"})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_follow_upstream() {
        let o = extract_outcome(Some(&json!({"stdout": "ok", "exit_code": 0})));
        assert_eq!((o.status, o.summary.as_str()), ("completed", "ok"));
        let o = extract_outcome(Some(&json!({"stdout": "", "exit_code": 3})));
        assert_eq!(o.status, "failed");
        assert_eq!(o.summary, "Process exited with code 3");
        let o = extract_outcome(Some(&json!({"error": "open x: permission denied"})));
        assert_eq!(o.metadata["error_type"], "permission");
        let o = extract_outcome(Some(
            &json!([{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]),
        ));
        assert_eq!(o.summary, "a\nb");
        let secret = "ghp_16C7e42F292c6912E7710c838347Ae178B4a";
        let o = extract_outcome(Some(&json!({"stdout": format!("key {secret}")})));
        assert!(!o.summary.contains(secret), "{}", o.summary);
    }
}
