//! `dashclawd mcp`: DashClaw's MCP tools and resources over stdio (the official Rust SDK,
//! `rmcp`), compatible with the upstream `@dashclaw/mcp-server`: the same 29 tools in 10 groups
//! and 6 read-only resources, with the same names, descriptions and input schemas
//! (`catalog.json`).
//!
//! Local first: guard and record go through the daemon that answers the hooks ([`gate`]), so
//! both always agree and there is one ledger; policies, recent decisions, approvals and sessions
//! work without a server. With a server configured, the other tools call its REST routes with
//! the daemon's own settings and HTTP client; without one they say they need one.
//! docs/mcp.md has the table.

pub mod daemon_client;
pub mod gate;
mod local;
pub mod probe;
mod server;

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, Implementation,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
    ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::{json, Map, Value};

use crate::config;
use crate::paths::Paths;
use crate::remote::{Api, Settings};

/// The upstream tool and resource definitions (names, descriptions, input schemas).
const CATALOG: &str = include_str!("catalog.json");

/// The tools that work without a server.
pub const OFFLINE_TOOLS: &[&str] = &[
    "dashclaw_guard",
    "dashclaw_record",
    "dashclaw_policies_list",
    "dashclaw_decisions_recent",
    "dashclaw_wait_for_approval",
    "dashclaw_session_start",
    "dashclaw_session_end",
];

/// The catalog: `tools` (each with its upstream `group`) and `resources` (static ones carry
/// `uri`, templates `uriTemplate`).
pub fn catalog() -> Value {
    serde_json::from_str(CATALOG).expect("catalog.json is valid JSON (checked by a unit test)")
}

/// What a tool call produced: JSON for the agent, or an error message (a tool error).
type ToolResult = Result<Value, String>;

/// The server's connection, when one is configured.
struct ServerConn {
    api: Api,
}

struct Inner {
    paths: Paths,
    server: Option<ServerConn>,
    /// Why the server settings are unusable (half-configured, a readable key file).
    server_error: Option<String>,
    /// `DASHCLAW_AGENT_ID` / `[server] agent_id`: wins over what the model passes.
    agent_id: Option<String>,
    /// Set by dashclaw_session_start; stamped on later records.
    session: Mutex<Option<String>>,
    cwd: String,
    tool_timeout: Duration,
    tools: ListToolsResult,
    resources: ListResourcesResult,
    templates: ListResourceTemplatesResult,
}

/// The MCP server.
#[derive(Clone)]
pub struct DashClawMcp {
    inner: Arc<Inner>,
}

impl DashClawMcp {
    /// Reads config.toml and the environment the way the daemon does.
    pub fn from_env() -> Result<DashClawMcp> {
        let paths = Paths::from_env().context("resolving the DashClaw directories")?;
        let loaded = config::load(&paths.config_file);
        let env = |k: &str| std::env::var(k).ok();
        let (server, server_error) = match Settings::resolve(&loaded.config.server, &env) {
            Ok(None) => (None, None),
            Ok(Some(settings)) => match Api::new(&settings) {
                Ok(api) => (Some(ServerConn { api }), None),
                Err(e) => (None, Some(e)),
            },
            Err(e) => (None, Some(e)),
        };
        let agent_id = env("DASHCLAW_AGENT_ID")
            .filter(|a| !a.trim().is_empty())
            .or_else(|| loaded.config.server.agent_id.clone());
        let tool_timeout = env("DASHCLAW_MCP_TIMEOUT")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(Duration::from_secs(10));
        let cat = catalog();
        let tools = cat["tools"]
            .as_array()
            .map(|t| {
                t.iter()
                    .map(|t| {
                        let mut t = t.clone();
                        if let Some(o) = t.as_object_mut() {
                            o.remove("group");
                        }
                        t
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let (templates, statics): (Vec<Value>, Vec<Value>) = cat["resources"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .partition(|r| r.get("uriTemplate").is_some());
        Ok(DashClawMcp {
            inner: Arc::new(Inner {
                paths,
                server,
                server_error,
                agent_id,
                session: Mutex::new(None),
                cwd: std::env::current_dir()
                    .map(|d| d.to_string_lossy().into_owned())
                    .unwrap_or_else(|_| "/".into()),
                tool_timeout,
                tools: serde_json::from_value(json!({ "tools": tools }))
                    .context("the tool catalog")?,
                resources: serde_json::from_value(json!({ "resources": statics }))
                    .context("the resource catalog")?,
                templates: serde_json::from_value(json!({ "resourceTemplates": templates }))
                    .context("the resource template catalog")?,
            }),
        })
    }

    /// The agent id for a call: the configured one wins over the model's.
    fn agent_id(&self, args: &Map<String, Value>) -> Option<String> {
        self.inner.agent_id.clone().or_else(|| {
            args.get("agent_id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        })
    }

    fn session(&self) -> Option<String> {
        self.inner
            .session
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn set_session(&self, s: Option<String>) {
        *self.inner.session.lock().unwrap_or_else(|p| p.into_inner()) = s;
    }

    /// Runs one tool.
    pub async fn call(&self, name: &str, args: Map<String, Value>) -> ToolResult {
        match name {
            "dashclaw_guard" => Ok(self.guard(args).await),
            "dashclaw_record" => self.record(args).await,
            "dashclaw_policies_list" => self.policies_list(args).await,
            "dashclaw_decisions_recent" => self.decisions_recent(args).await,
            "dashclaw_wait_for_approval" => self.wait_for_approval(args).await,
            "dashclaw_session_start" => self.session_start(args).await,
            "dashclaw_session_end" => self.session_end(args).await,
            other => self.server_tool(other, args).await,
        }
    }

    /// Sends a control request to the daemon off the async threads.
    async fn daemon(&self, cmd: &'static str, body: Value) -> Result<Value, String> {
        let paths = self.inner.paths.clone();
        tokio::task::spawn_blocking(move || daemon_client::call(&paths, cmd, &body))
            .await
            .map_err(|e| format!("the daemon call failed: {e}"))?
    }

    /// The arguments as the daemon gets them: the resolved agent id, the session, our cwd and
    /// the server this process is configured for (the daemon refuses to guard for another).
    fn daemon_args(&self, mut args: Map<String, Value>) -> Value {
        match self.agent_id(&args) {
            Some(a) => args.insert("agent_id".into(), json!(a)),
            None => args.remove("agent_id"),
        };
        if !args.contains_key("session_id") {
            if let Some(s) = self.session() {
                args.insert("session_id".into(), json!(s));
            }
        }
        args.insert("cwd".into(), json!(self.inner.cwd));
        if let Some(s) = &self.inner.server {
            args.insert("server_url".into(), json!(s.api.base_url()));
        }
        Value::Object(args)
    }

    /// dashclaw_guard: always a decision; anything that goes wrong is a `block`.
    async fn guard(&self, args: Map<String, Value>) -> Value {
        let body = self.daemon_args(args);
        match self.daemon(gate::GUARD, body).await {
            Ok(v) if v.get("decision").and_then(Value::as_str).is_some() => v,
            Ok(v) => blocked(format!("dashclawd answered without a decision: {v}")),
            Err(e) => blocked(format!("the guard could not be answered: {e}")),
        }
    }

    /// dashclaw_record: the ledger (through the daemon), then the server's audit trail.
    async fn record(&self, args: Map<String, Value>) -> ToolResult {
        for k in ["action_type", "declared_goal", "status"] {
            if args
                .get(k)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(format!("dashclaw_record needs {k}"));
            }
        }
        let mut body = self.daemon_args(args.clone());
        body["kind"] = json!("action");
        let local = self.daemon(gate::RECORD, body).await;
        let local = match local {
            Ok(v) if v["recorded"] == json!(true) => v,
            Ok(v) => {
                return Err(format!(
                    "not recorded: {}",
                    v["error"].as_str().unwrap_or("dashclawd gave no reason")
                ))
            }
            Err(e) => return Err(format!("not recorded: {e}")),
        };
        if self.inner.server.is_none() {
            return Ok(
                json!({"recorded": true, "where": "local ledger", "ledger_seq": local["ledger_seq"]}),
            );
        }
        let mut srv = Map::new();
        for (k, v) in &args {
            if !v.is_null() {
                srv.insert(k.clone(), v.clone());
            }
        }
        srv.entry("risk_score").or_insert(json!(30));
        if let Some(a) = self.agent_id(&args) {
            srv.insert("agent_id".into(), json!(a));
        }
        if !srv.contains_key("session_id") {
            if let Some(s) = self.session() {
                srv.insert("session_id".into(), json!(s));
            }
        }
        match self.post("/api/actions", &Value::Object(srv)).await {
            Ok(mut v) => {
                if let Some(o) = v.as_object_mut() {
                    o.insert("ledger_seq".into(), local["ledger_seq"].clone());
                }
                Ok(v)
            }
            Err(e) => Err(format!(
                "recorded in the local ledger (#{}), but {e}",
                local["ledger_seq"]
            )),
        }
    }

    async fn session_start(&self, args: Map<String, Value>) -> ToolResult {
        if args
            .get("agent_id")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
            && self.inner.agent_id.is_none()
        {
            return Err("dashclaw_session_start needs agent_id".into());
        }
        let result = if self.inner.server.is_some() {
            let mut body = args.clone();
            if let Some(a) = self.agent_id(&args) {
                body.insert("agent_id".into(), json!(a));
            }
            self.post("/api/sessions", &Value::Object(body)).await?
        } else {
            json!({"session": {"id": format!("sess_{}", uuid::Uuid::new_v4().simple()), "status": "active", "local": true}})
        };
        let id = result
            .pointer("/session/id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(id) = &id {
            self.set_session(Some(id.clone()));
            let mut body = self.daemon_args(args);
            body["kind"] = json!("session_start");
            body["session_id"] = json!(id);
            if let Err(e) = self.daemon(gate::RECORD, body).await {
                tracing::warn!("session start not in the ledger: {e}");
            }
        }
        Ok(result)
    }

    async fn session_end(&self, args: Map<String, Value>) -> ToolResult {
        let Some(id) = args
            .get("session_id")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return Err("dashclaw_session_end needs session_id".into());
        };
        let result = if self.inner.server.is_some() {
            let mut body = args.clone();
            body.remove("session_id");
            self.call_server(
                reqwest::Method::PATCH,
                &format!("/api/sessions/{}", server::seg(&id)),
                Some(&Value::Object(body)),
            )
            .await?
        } else {
            json!({"session": {"id": id, "status": args.get("status"), "local": true}})
        };
        if self.session().as_deref() == Some(id.as_str()) {
            self.set_session(None);
        }
        let mut body = self.daemon_args(args);
        body["kind"] = json!("session_end");
        if let Err(e) = self.daemon(gate::RECORD, body).await {
            tracing::warn!("session end not in the ledger: {e}");
        }
        Ok(result)
    }

    /// The error for a server tool when no server is configured.
    fn needs_server(&self, what: &str) -> String {
        match &self.inner.server_error {
            Some(e) => format!("{what} needs a DashClaw server, and the server configuration is unusable: {e}"),
            None => format!(
                "{what} needs a DashClaw server: none is configured (set DASHCLAW_BASE_URL and DASHCLAW_API_KEY, or [server] in config.toml). Offline, these tools work: {}",
                OFFLINE_TOOLS.join(", ")
            ),
        }
    }

    /// Reads one resource.
    pub async fn read(&self, uri: &str) -> Result<Value, ErrorData> {
        let res = if uri == "dashclaw://policies" {
            self.policies_list(Map::new()).await
        } else if uri == "dashclaw://status" {
            self.status().await
        } else if let Some(agent) = uri
            .strip_prefix("dashclaw://agent/")
            .and_then(|r| r.strip_suffix("/history"))
            .filter(|a| !a.is_empty() && !a.contains('/'))
        {
            let agent = server::unescape(agent);
            self.history(&agent).await
        } else if uri == "dashclaw://capabilities" {
            self.get("/api/capabilities", &[]).await
        } else if uri == "dashclaw://code-sessions/projects" {
            self.get("/api/code-sessions/projects", &[]).await
        } else if let Some(id) = uri
            .strip_prefix("dashclaw://code-sessions/sessions/")
            .filter(|i| !i.is_empty() && !i.contains('/'))
        {
            let id = server::seg(&server::unescape(id));
            self.get(&format!("/api/code-sessions/sessions/{id}"), &[])
                .await
        } else {
            return Err(ErrorData::resource_not_found(
                format!("no DashClaw resource {uri}"),
                None,
            ));
        };
        res.map_err(|e| ErrorData::internal_error(format!("{uri}: {e}"), None))
    }
}

/// A guard result that blocks, with its reason.
fn blocked(reason: String) -> Value {
    json!({
        "decision": "block",
        "reasons": [reason],
        "warnings": [],
        "suggestion": "do not proceed; check `dashclawd status`, or ask the user",
        "source": "local",
    })
}

fn text_result(text: String, is_error: bool) -> CallToolResult {
    serde_json::from_value(json!({
        "content": [{"type": "text", "text": text}],
        "isError": is_error,
    }))
    .expect("a text tool result deserializes")
}

impl ServerHandler for DashClawMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .build(),
        )
        .with_server_info(Implementation::new("dashclaw", env!("CARGO_PKG_VERSION")))
        .with_instructions(
            "DashClaw governance. Call dashclaw_guard before risky actions and follow its decision \
             (block: do not proceed; require_approval: call dashclaw_wait_for_approval); record \
             significant actions with dashclaw_record.",
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(self.inner.tools.clone())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = request.name.to_string();
        if !self
            .inner
            .tools
            .tools
            .iter()
            .any(|t| t.name == name.as_str())
        {
            return Err(ErrorData::invalid_params(
                format!("unknown tool {name}"),
                None,
            ));
        }
        let args = request.arguments.unwrap_or_default();
        let result = match self.call(&name, args).await {
            Ok(v) => text_result(v.to_string(), false),
            Err(e) => text_result(json!({ "error": e }).to_string(), true),
        };
        Ok(result.into())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(self.inner.resources.clone())
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(self.inner.templates.clone())
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let v = self.read(&request.uri).await?;
        let r: ReadResourceResult = serde_json::from_value(json!({
            "contents": [{"uri": request.uri, "mimeType": "application/json", "text": v.to_string()}]
        }))
        .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        Ok(r.into())
    }
}

/// `dashclawd mcp`: serves until the client closes stdin.
pub fn run() -> Result<ExitCode> {
    let server = DashClawMcp::from_env()?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("dashclawd-mcp")
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let running = server
            .serve(rmcp::transport::stdio())
            .await
            .map_err(|e| anyhow::anyhow!("MCP initialization failed: {e}"))?;
        running
            .waiting()
            .await
            .map_err(|e| anyhow::anyhow!("MCP server: {e}"))?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_has_the_upstream_shape() {
        let cat = catalog();
        let tools = cat["tools"].as_array().unwrap();
        assert_eq!(tools.len(), 29);
        let groups: std::collections::BTreeSet<_> =
            tools.iter().map(|t| t["group"].as_str().unwrap()).collect();
        assert_eq!(groups.len(), 10);
        for t in tools {
            assert!(t["name"].as_str().unwrap().starts_with("dashclaw_"));
            assert_eq!(t["inputSchema"]["type"], "object");
            for r in t["inputSchema"]["required"]
                .as_array()
                .into_iter()
                .flatten()
            {
                assert!(t["inputSchema"]["properties"]
                    .get(r.as_str().unwrap())
                    .is_some());
            }
        }
        assert_eq!(cat["resources"].as_array().unwrap().len(), 6);
        for name in OFFLINE_TOOLS {
            assert!(tools.iter().any(|t| t["name"] == *name), "{name}");
        }
    }
}
