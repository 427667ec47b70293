//! The tools that talk to the DashClaw server: its REST routes as upstream's MCP server calls
//! them, with the daemon's settings and HTTP client. Every failure is a tool error naming the
//! cause (unreachable, timeout, bad key, HTTP status and the server's message).

use reqwest::Method;
use serde_json::{json, Map, Value};

use super::{DashClawMcp, ToolResult};

/// One path segment, percent-encoded (ids come from the model).
pub fn seg(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` in a URI path segment (resource URIs).
pub fn unescape(s: &str) -> String {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query(params: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> = params
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", seg(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

fn s(args: &Map<String, Value>, k: &str) -> Option<String> {
    match args.get(k)? {
        Value::String(v) if !v.is_empty() => Some(v.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn required(args: &Map<String, Value>, tool: &str, keys: &[&str]) -> Result<(), String> {
    for k in keys {
        if args.get(*k).is_none_or(|v| v.is_null() || v == &json!("")) {
            return Err(format!("{tool} needs {k}"));
        }
    }
    Ok(())
}

impl DashClawMcp {
    /// One request to the server; non-2xx answers and transport failures are errors naming
    /// the cause.
    pub(super) async fn call_server(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> ToolResult {
        let Some(conn) = &self.inner.server else {
            return Err(self.needs_server(path));
        };
        let base = conn.api.base_url();
        // Like everything leaving the machine: secrets redacted.
        let body = body.map(|b| {
            let mut b = b.clone();
            crate::redact::redact_json(&mut b);
            b
        });
        match conn
            .api
            .call(method.clone(), path, body.as_ref(), self.inner.tool_timeout)
            .await
        {
            Ok(r) if (200..300).contains(&r.status) => Ok(r.body),
            Ok(r) => {
                let msg = r
                    .body
                    .get("error")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
                    .unwrap_or_else(|| r.body.to_string());
                Err(format!(
                    "the DashClaw server at {base} rejected {method} {} (HTTP {}: {msg})",
                    path.split('?').next().unwrap_or(path),
                    r.status
                ))
            }
            Err(e) => Err(format!(
                "the DashClaw server at {base} {e} ({method} {})",
                path.split('?').next().unwrap_or(path)
            )),
        }
    }

    pub(super) async fn get(&self, path: &str, params: &[(&str, Option<String>)]) -> ToolResult {
        self.call_server(Method::GET, &format!("{path}{}", query(params)), None)
            .await
    }

    pub(super) async fn post(&self, path: &str, body: &Value) -> ToolResult {
        self.call_server(Method::POST, path, Some(body)).await
    }

    pub(super) fn has_server(&self) -> bool {
        self.inner.server.is_some()
    }

    /// The tools that exist only with a server.
    pub(super) async fn server_tool(&self, name: &str, a: Map<String, Value>) -> ToolResult {
        if !self.has_server() {
            return Err(self.needs_server(name));
        }
        let agent = self.agent_id(&a);
        match name {
            "dashclaw_invoke" => {
                required(&a, name, &["capability_id", "declared_goal"])?;
                let id = s(&a, "capability_id").unwrap_or_default();
                self.post(
                    &format!("/api/capabilities/{}/invoke", seg(&id)),
                    &json!({"agent_id": agent, "declared_goal": a.get("declared_goal"), "payload": a.get("payload")}),
                )
                .await
            }
            "dashclaw_capabilities_list" => {
                self.get(
                    "/api/capabilities",
                    &[
                        ("category", s(&a, "category")),
                        ("risk_level", s(&a, "risk_level")),
                        ("search", s(&a, "search")),
                        ("limit", s(&a, "limit")),
                    ],
                )
                .await
            }
            "dashclaw_optimal_files_preview" => {
                required(&a, name, &["session_id"])?;
                let id = s(&a, "session_id").unwrap_or_default();
                self.post(
                    &format!(
                        "/api/code-sessions/sessions/{}/optimal-files/preview",
                        seg(&id)
                    ),
                    &json!({}),
                )
                .await
            }
            "dashclaw_optimal_files_manifest" => {
                required(&a, name, &["session_id", "selections"])?;
                let id = s(&a, "session_id").unwrap_or_default();
                self.post(
                    &format!(
                        "/api/code-sessions/sessions/{}/optimal-files/manifest",
                        seg(&id)
                    ),
                    &json!({"selections": a.get("selections").cloned().unwrap_or(json!([]))}),
                )
                .await
            }
            "dashclaw_handoff_create" => {
                required(&a, name, &["bundle"])?;
                self.post(
                    "/api/handoffs",
                    &json!({"agent_id": agent, "project_id": a.get("project_id"), "bundle": a.get("bundle")}),
                )
                .await
            }
            "dashclaw_handoff_latest" => {
                match self
                    .get(
                        "/api/handoffs/latest",
                        &[("agent_id", agent), ("project_id", s(&a, "project_id"))],
                    )
                    .await
                {
                    // Upstream answers null when nothing is waiting.
                    Err(e) if e.contains("HTTP 404") => Ok(Value::Null),
                    other => other,
                }
            }
            "dashclaw_handoff_consume" => {
                required(&a, name, &["id"])?;
                let id = s(&a, "id").unwrap_or_default();
                self.post(
                    &format!("/api/handoffs/{}/consume", seg(&id)),
                    &json!({"session_id": a.get("session_id")}),
                )
                .await
            }
            "dashclaw_secret_list" => self.get("/api/secrets", &[("agent_id", agent)]).await,
            "dashclaw_secret_due" => {
                self.get(
                    "/api/secrets/rotation-due",
                    &[("within_days", s(&a, "within_days")), ("agent_id", agent)],
                )
                .await
            }
            "dashclaw_secret_mark_rotated" => {
                required(&a, name, &["id"])?;
                let id = s(&a, "id").unwrap_or_default();
                self.call_server(
                    Method::PATCH,
                    &format!("/api/secrets/{}", seg(&id)),
                    Some(&json!({"last_rotated_at": crate::remote::iso_now()})),
                )
                .await
            }
            "dashclaw_skill_scan" => {
                required(&a, name, &["skill_name", "files"])?;
                self.post(
                    "/api/skills/scan",
                    &json!({"skill_name": a.get("skill_name"), "files": a.get("files")}),
                )
                .await
            }
            "dashclaw_loop_add" => {
                required(&a, name, &["action_id", "loop_type", "description"])?;
                self.post(
                    "/api/actions/loops",
                    &json!({
                        "action_id": a.get("action_id"), "loop_type": a.get("loop_type"),
                        "description": a.get("description"), "priority": a.get("priority"),
                        "owner": a.get("owner"),
                    }),
                )
                .await
            }
            "dashclaw_loop_list" => {
                self.get(
                    "/api/actions/loops",
                    &[
                        ("action_id", s(&a, "action_id")),
                        ("status", s(&a, "status")),
                        ("priority", s(&a, "priority")),
                        ("agent_id", agent),
                        ("from", s(&a, "from")),
                        ("to", s(&a, "to")),
                    ],
                )
                .await
            }
            "dashclaw_loop_close" => {
                required(&a, name, &["id"])?;
                let id = s(&a, "id").unwrap_or_default();
                self.call_server(
                    Method::PATCH,
                    &format!("/api/actions/loops/{}", seg(&id)),
                    Some(&json!({
                        "status": "resolved",
                        "resolution": s(&a, "resolution").unwrap_or_else(|| "Closed by agent via dashclaw_loop_close".into()),
                    })),
                )
                .await
            }
            "dashclaw_assumption_record" => {
                required(&a, name, &["action_id", "assumption"])?;
                self.post(
                    "/api/assumptions",
                    &json!({"action_id": a.get("action_id"), "assumption": a.get("assumption"), "basis": a.get("basis")}),
                )
                .await
            }
            "dashclaw_learning_log" => {
                required(&a, name, &["decision"])?;
                self.post(
                    "/api/learning",
                    &json!({"agent_id": agent, "decision": a.get("decision"), "context": a.get("context"), "outcome": a.get("outcome")}),
                )
                .await
            }
            "dashclaw_learning_query" => {
                let limit = a
                    .get("limit")
                    .and_then(Value::as_u64)
                    .filter(|l| *l > 0)
                    .unwrap_or(10) as usize;
                let mut v = self
                    .get(
                        "/api/learning",
                        &[
                            ("agent_id", agent),
                            ("q", s(&a, "query")),
                            ("limit", s(&a, "limit")),
                        ],
                    )
                    .await?;
                // Older servers ignore q and limit: narrow here too.
                if let Some(list) = v.get_mut("decisions").and_then(Value::as_array_mut) {
                    if let Some(q) = s(&a, "query").map(|q| q.to_lowercase()) {
                        list.retain(|d| {
                            format!(
                                "{} {}",
                                d["decision"].as_str().unwrap_or(""),
                                d["context"].as_str().unwrap_or("")
                            )
                            .to_lowercase()
                            .contains(&q)
                        });
                    }
                    list.truncate(limit);
                }
                Ok(v)
            }
            "dashclaw_inbox_list" => {
                self.get(
                    "/api/messages",
                    &[
                        ("agent_id", agent),
                        (
                            "direction",
                            Some(s(&a, "direction").unwrap_or_else(|| "inbox".into())),
                        ),
                        (
                            "unread",
                            (a.get("unread") == Some(&json!(true))).then(|| "true".into()),
                        ),
                        ("type", s(&a, "type")),
                        ("limit", s(&a, "limit")),
                    ],
                )
                .await
            }
            "dashclaw_messages_mark_read" => {
                required(&a, name, &["message_ids"])?;
                self.call_server(
                    Method::PATCH,
                    "/api/messages",
                    Some(&json!({"message_ids": a.get("message_ids"), "action": "read", "agent_id": agent})),
                )
                .await
            }
            "dashclaw_behavior_suggestions" => {
                self.get("/api/behavior/suggestions", &[("agent_id", agent)])
                    .await
            }
            "dashclaw_posture" => {
                let posture = self.get("/api/posture", &[]).await?;
                let findings = self
                    .get(
                        "/api/posture/findings",
                        &[("dimension", s(&a, "dimension"))],
                    )
                    .await?;
                Ok(json!({
                    "score": posture.get("score"), "status": posture.get("status"),
                    "cappedBy": posture.get("cappedBy"), "dimensions": posture.get("dimensions"),
                    "summary": posture.get("summary"), "findings": findings.get("findings"),
                    "counts": findings.get("counts"),
                }))
            }
            "dashclaw_posture_next" => {
                let findings = self.get("/api/posture/findings", &[]).await?;
                let next = findings
                    .get("findings")
                    .and_then(Value::as_array)
                    .and_then(|f| f.first().cloned())
                    .unwrap_or(Value::Null);
                Ok(json!({ "next": next }))
            }
            other => Err(format!("unknown tool {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_encoded_and_decoded() {
        assert_eq!(seg("act_1"), "act_1");
        assert_eq!(seg("../x y"), "..%2Fx%20y");
        assert_eq!(unescape("a%2Fb%20c"), "a/b c");
        assert_eq!(unescape("100%"), "100%");
        assert_eq!(query(&[("a", Some("x&y".into())), ("b", None)]), "?a=x%26y");
    }
}
