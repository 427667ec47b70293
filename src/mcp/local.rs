//! The tools and resources served from local state: the policy store (built-in pack, the
//! user's file, the cached server policies), the ledger and the approvals queue. With a server
//! configured, the same tools ask the server first, as upstream does.

use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::{daemon_client, server, DashClawMcp, ToolResult};
use crate::approvals::{self, Approvals, Status};
use crate::ledger;
use crate::policy::{model::Origin, PolicyStore, StoreOptions};

/// How many ledger rows a query looks back through at most.
const LEDGER_WINDOW: i64 = 5000;

impl DashClawMcp {
    /// The local policy set as the daemon would load it, cached server policies included.
    fn local_policies(&self, agent: Option<&str>, limit: usize) -> Value {
        let paths = &self.inner.paths;
        let store = PolicyStore::open_with(
            &paths.policy_file,
            StoreOptions {
                watch: false,
                ..StoreOptions::default()
            },
        );
        let cache = paths.state_dir.join("server-policies.json");
        if let Ok(text) = std::fs::read_to_string(&cache) {
            if let Ok((p, issues)) = crate::policy::parse_server_policies(&text) {
                store.set_server_policies(p, issues);
            }
        }
        let set = store.current();
        let mut counts = json!({"builtin": 0, "file": 0, "server_cached": 0});
        let policies: Vec<Value> = set
            .policies
            .iter()
            .filter(|p| p.policy.active && p.scope.applies_to(agent))
            .inspect(|p| {
                let k = match p.policy.origin {
                    Origin::Builtin => "builtin",
                    Origin::File { .. } => "file",
                    Origin::Server => "server_cached",
                };
                counts[k] = json!(counts[k].as_u64().unwrap_or(0) + 1);
            })
            .take(limit)
            .map(|p| {
                let mut v = serde_json::to_value(&p.policy).unwrap_or(Value::Null);
                v["enforceable"] = json!(p.rule.is_ok());
                if let Err(why) = &p.rule {
                    v["cannot_enforce"] = json!(why);
                }
                v
            })
            .collect();
        json!({
            "policies": policies,
            "counts": counts,
            "policy_file": paths.policy_file,
            "policy_file_error": store.last_error(),
        })
    }

    /// dashclaw_policies_list and `dashclaw://policies`.
    pub(super) async fn policies_list(&self, a: Map<String, Value>) -> ToolResult {
        let limit = a
            .get("limit")
            .and_then(Value::as_u64)
            .filter(|l| *l > 0)
            .unwrap_or(50) as usize;
        let agent = a
            .get("agent_id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        let this = self.clone();
        let agent2 = agent.clone();
        let local =
            tokio::task::spawn_blocking(move || this.local_policies(agent2.as_deref(), limit))
                .await
                .map_err(|e| format!("reading the policies failed: {e}"))?;
        if !self.has_server() {
            return Ok(local);
        }
        // The server's list, as upstream; the local pack and file govern too, so they come
        // along under `local`.
        let mut v = self.get("/api/policies", &[("agent_id", agent)]).await?;
        if let Some(o) = v.as_object_mut() {
            o.insert("local".into(), local);
        }
        Ok(v)
    }

    /// Ledger rows, newest first, that pass `keep`.
    fn ledger_rows(
        &self,
        keep: &dyn Fn(&ledger::Entry) -> bool,
        limit: usize,
    ) -> Result<Vec<Value>, String> {
        let db = &self.inner.paths.ledger_db;
        if !db.exists() {
            return Ok(Vec::new());
        }
        let conn =
            ledger::open_read_only(db).map_err(|e| format!("cannot open the ledger: {e:#}"))?;
        let last = ledger::last_seq(&conn).map_err(|e| format!("ledger: {e:#}"))?;
        let rows = ledger::read_after(&conn, (last - LEDGER_WINDOW).max(0), LEDGER_WINDOW)
            .map_err(|e| format!("ledger: {e:#}"))?;
        Ok(rows
            .iter()
            .rev()
            .filter(|e| keep(e))
            .take(limit)
            .map(|e| {
                let r = &e.record;
                json!({
                    "seq": e.seq, "ts": e.ts, "agent": r.agent,
                    "agent_id": r.outcome.get("agent_id").cloned().unwrap_or(Value::Null),
                    "event": r.event, "tool": r.tool, "session_id": r.session_id,
                    "summary": r.summary, "decision": r.verdict, "enforced": r.enforced,
                    "action_type": r.action_type, "risk_score": r.risk_score,
                    "reasons": r.reasons, "policy": r.policy,
                    "status": r.outcome.get("status").cloned().unwrap_or(Value::Null),
                })
            })
            .collect())
    }

    /// Whether a ledger row belongs to `agent` (the MCP agent id, or the hook's agent name).
    fn row_agent(e: &ledger::Entry, agent: &str) -> bool {
        e.record.outcome.get("agent_id").and_then(Value::as_str) == Some(agent)
            || e.record.agent == agent
    }

    /// dashclaw_decisions_recent.
    pub(super) async fn decisions_recent(&self, a: Map<String, Value>) -> ToolResult {
        let agent = self.agent_id(&a);
        if self.has_server() {
            let get = |k: &str| {
                a.get(k).and_then(|v| match v {
                    Value::String(s) if !s.is_empty() => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
            };
            return self
                .get(
                    "/api/guard/decisions",
                    &[
                        ("agent_id", agent),
                        ("action_type", get("action_type")),
                        ("decision", get("decision")),
                        ("since", get("since")),
                        ("limit", get("limit")),
                    ],
                )
                .await;
        }
        let limit = a
            .get("limit")
            .and_then(Value::as_u64)
            .filter(|l| *l > 0)
            .unwrap_or(20) as usize;
        let action_type = a
            .get("action_type")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let decision = a.get("decision").and_then(Value::as_str).map(str::to_owned);
        let since = match a
            .get("since")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        {
            Some(s) => Some(
                humantime::parse_rfc3339_weak(s)
                    .map_err(|_| format!("since={s:?} is not an ISO timestamp"))?,
            ),
            None => None,
        };
        let this = self.clone();
        let rows = tokio::task::spawn_blocking(move || {
            this.ledger_rows(
                &|e| {
                    let r = &e.record;
                    r.verdict.is_some()
                        && agent.as_deref().is_none_or(|ag| Self::row_agent(e, ag))
                        && action_type
                            .as_deref()
                            .is_none_or(|t| r.action_type.as_deref() == Some(t))
                        && decision
                            .as_deref()
                            .is_none_or(|d| r.verdict.as_deref() == Some(d))
                        && since.is_none_or(|s| {
                            humantime::parse_rfc3339_weak(&e.ts).is_ok_and(|t| t >= s)
                        })
                },
                limit,
            )
        })
        .await
        .map_err(|e| format!("reading the ledger failed: {e}"))??;
        Ok(json!({"decisions": rows, "source": "local ledger"}))
    }

    /// `dashclaw://agent/{agent_id}/history`.
    pub(super) async fn history(&self, agent: &str) -> ToolResult {
        if self.has_server() {
            return self
                .get(
                    "/api/actions",
                    &[
                        ("agent_id", Some(agent.to_owned())),
                        ("limit", Some("50".into())),
                    ],
                )
                .await;
        }
        let this = self.clone();
        let agent = agent.to_owned();
        let rows = tokio::task::spawn_blocking(move || {
            this.ledger_rows(&|e| Self::row_agent(e, &agent), 50)
        })
        .await
        .map_err(|e| format!("reading the ledger failed: {e}"))??;
        Ok(json!({"actions": rows, "source": "local ledger"}))
    }

    /// `dashclaw://status`.
    pub(super) async fn status(&self) -> ToolResult {
        if self.has_server() {
            let health = self.get("/api/health", &[]).await?;
            // Not every server has the summary; health alone still says it is up.
            let operations = self
                .get("/api/operations/summary", &[])
                .await
                .unwrap_or_else(|e| json!({"error": e}));
            return Ok(json!({"health": health, "operations": operations}));
        }
        let paths = self.inner.paths.clone();
        let daemon = tokio::task::spawn_blocking(move || daemon_client::status(&paths))
            .await
            .ok()
            .flatten();
        Ok(json!({
            "health": {"status": if daemon.is_some() { "ok" } else { "daemon not running" }, "mode": "local"},
            "server": {"configured": false, "error": self.inner.server_error},
            "daemon": daemon,
        }))
    }

    /// dashclaw_wait_for_approval: a local approval id (`ap_…`) waits on the local queue;
    /// anything else on the server's action.
    pub(super) async fn wait_for_approval(&self, a: Map<String, Value>) -> ToolResult {
        let id = a
            .get("action_id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or("dashclaw_wait_for_approval needs action_id")?
            .to_owned();
        let timeout = secs(&a, "timeout_seconds", 300.0, 3600.0);
        let interval = secs(&a, "poll_interval_seconds", 3.0, 60.0).max(Duration::from_millis(100));
        let start = Instant::now();
        let local = approvals::parse_id(&id);
        if local.is_none() && !self.has_server() {
            return Err(format!(
                "{id} is not a local approval id (ap_…), and without a DashClaw server there is nothing else to wait on"
            ));
        }
        loop {
            let waited = start.elapsed().as_secs();
            if let Some(lid) = &local {
                let db = self.inner.paths.state_dir.join("approvals.db");
                let lid2 = lid.clone();
                let row = tokio::task::spawn_blocking(move || {
                    let store =
                        Approvals::open(&db).map_err(|e| format!("approvals store: {e:#}"))?;
                    store
                        .get(&lid2, approvals::unix_now())
                        .map_err(|e| format!("approval {lid2}: {e}"))
                })
                .await
                .map_err(|e| format!("approvals store: {e}"))??;
                match row.status {
                    Status::Pending => {}
                    Status::Approved | Status::Used => {
                        return Ok(json!({
                            "approved": true, "denied": false, "denial_reason": null,
                            "action": {"id": row.id, "status": row.status.as_str(), "decided_by": row.decided_by},
                            "waited_seconds": waited,
                            "next": "call dashclaw_guard again with the same action: the approval is used once",
                        }))
                    }
                    other => {
                        return Ok(json!({
                            "approved": false, "denied": true,
                            "denial_reason": row.decision_reason.unwrap_or_else(|| format!("the approval is {}", other.as_str())),
                            "action": {"id": row.id, "status": other.as_str(), "decided_by": row.decided_by},
                            "waited_seconds": waited,
                        }))
                    }
                }
            } else {
                let v = self
                    .get(&format!("/api/actions/{}", server::seg(&id)), &[])
                    .await?;
                let status = v.pointer("/action/status").and_then(Value::as_str);
                if let Some(st) = status.filter(|s| *s != "pending_approval") {
                    let approved = st == "completed" || st == "running";
                    let denied = matches!(st, "failed" | "cancelled");
                    return Ok(json!({
                        "approved": approved, "denied": denied,
                        "denial_reason": denied.then(|| v.pointer("/action/error_message").cloned().unwrap_or(json!(format!("Operator marked action as {st}")))),
                        "action": v.get("action"), "waited_seconds": waited,
                    }));
                }
            }
            if start.elapsed() + interval > timeout {
                return Ok(json!({
                    "approved": false, "timed_out": true,
                    "action": {"id": id, "status": "pending_approval"},
                    "waited_seconds": start.elapsed().as_secs(),
                }));
            }
            tokio::time::sleep(interval).await;
        }
    }
}

fn secs(a: &Map<String, Value>, k: &str, default: f64, max: f64) -> Duration {
    let v = a
        .get(k)
        .and_then(Value::as_f64)
        .filter(|s| s.is_finite() && *s >= 0.0)
        .unwrap_or(default)
        .min(max);
    Duration::from_secs_f64(v)
}
