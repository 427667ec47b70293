//! The guard call: the request body the upstream pretool hook sends (upstream-python-hooks.md
//! §2.4–2.5, dashclaw-server-api.md §2.2) built from a normalized event, and the reading of the
//! answer on both server lines (§2.4, §13).

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::event::{Classification, HookEvent, ToolAction, ToolCall, Verdict};
use crate::policy::GuardContext;
use crate::redact::{redact_json, redact_str};

/// Tool families of upstream's catalog (§2.3): which calls go to the server at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Execution,
    FileIo,
    Search,
    Orchestration,
    System,
    Interactive,
    Mcp,
    Unknown,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Execution => "execution",
            Category::FileIo => "file_io",
            Category::Search => "search",
            Category::Orchestration => "orchestration",
            Category::System => "system",
            Category::Interactive => "interactive",
            Category::Mcp => "mcp",
            Category::Unknown => "unknown",
        }
    }

    /// Upstream's default governed set: search and system tools never reach the server.
    /// `DASHCLAW_GOVERNED_CATEGORIES` (a comma list or `all`) overrides it.
    pub fn governed(self, setting: Option<&str>) -> bool {
        match setting.map(str::trim).filter(|s| !s.is_empty()) {
            None => !matches!(self, Category::Search | Category::System),
            Some(s) if s.eq_ignore_ascii_case("all") => true,
            Some(list) => list.split(',').any(|c| c.trim() == self.as_str()),
        }
    }
}

/// `(category, required_permission)` of a tool call.
pub fn category(tool: &ToolCall) -> (Category, &'static str) {
    match &tool.action {
        ToolAction::Shell { .. } => (Category::Execution, "danger"),
        ToolAction::WriteFile { .. } => (Category::FileIo, "workspace_write"),
        ToolAction::ReadFile { .. } | ToolAction::Fetch { .. } => (Category::Search, "readonly"),
        ToolAction::Subagent => (Category::Orchestration, "danger"),
        ToolAction::Mcp { .. } => (Category::Mcp, "workspace_write"),
        ToolAction::Other => match tool.name.as_str() {
            "apply_patch" | "TodoWrite" => (Category::FileIo, "workspace_write"),
            "REPL" => (Category::Execution, "danger"),
            "TaskCreate" | "TaskStop" | "TaskUpdate" => {
                (Category::Orchestration, "workspace_write")
            }
            "Workflow" | "Skill" | "RemoteTrigger" | "CronCreate" | "CronDelete" | "TeamCreate"
            | "TeamDelete" | "EnterWorktree" | "ExitWorktree" => {
                (Category::Orchestration, "danger")
            }
            "EnterPlanMode" | "ExitPlanMode" | "Sleep" | "StructuredOutput" | "Config" => {
                (Category::System, "allow")
            }
            "AskUserQuestion" | "SendUserMessage" | "SendMessage" => {
                (Category::Interactive, "prompt")
            }
            "ToolSearch" | "LSP" | "TaskGet" | "TaskList" | "TaskOutput" | "CronList" => {
                (Category::Search, "readonly")
            }
            _ => (Category::Unknown, "workspace_write"),
        },
    }
}

/// What the guard body needs beyond the event and its classification.
#[derive(Debug, Clone)]
pub struct GuardInputs<'a> {
    /// The base agent id (`DASHCLAW_AGENT_ID`, `[server] agent_id`, else the agent's default).
    pub agent_id: &'a str,
    /// `DASHCLAW_SUBAGENT_IDENTITY=provenance` keeps the parent id for sub-agent calls.
    pub provenance: bool,
    pub observe: bool,
    pub approval_wait_secs: u64,
    /// Categories left out of governance, when the user narrowed them.
    pub ungoverned: Vec<&'static str>,
}

/// The guard request body (also the base of `POST /api/actions`).
pub fn body(ev: &HookEvent, c: &Classification, inp: &GuardInputs) -> Value {
    let ctx = GuardContext::from_event(ev, c, inp.agent_id);
    let tool = ev.tool.as_ref();
    let (cat, perm) = tool
        .map(category)
        .unwrap_or((Category::Unknown, "workspace_write"));
    let harness = match ev.agent {
        crate::event::Agent::Claude => "claude-code",
        other => other.as_str(),
    };
    let mut b = Map::new();
    b.insert("action_type".into(), json!(ctx.action_type));
    let agent_id = if inp.provenance {
        inp.agent_id.to_owned()
    } else {
        ctx.agent_id
            .clone()
            .unwrap_or_else(|| inp.agent_id.to_owned())
    };
    b.insert("agent_id".into(), json!(agent_id));
    // Goals carry command lines and paths: redacted, like everything leaving the machine.
    if let Some(goal) = &ctx.declared_goal {
        b.insert("declared_goal".into(), json!(redact_str(goal)));
    }
    b.insert("risk_score".into(), json!(c.risk_score));
    b.insert("reversible".into(), json!(c.reversible));
    b.insert("systems_touched".into(), json!(ctx.systems_touched));
    if let Some(t) = &ctx.target {
        b.insert("target".into(), json!(redact_str(t)));
    }
    if !ctx.write_paths.is_empty() {
        let paths: Vec<String> = ctx
            .write_paths
            .iter()
            .take(100)
            .map(|p| redact_str(p).into_owned())
            .collect();
        b.insert("write_paths".into(), json!(paths));
    }
    if let Some(tool) = tool {
        b.insert(
            "tool".into(),
            json!({"name": tool.name, "category": cat.as_str(), "required_permission": perm}),
        );
    }
    b.insert("intel".into(), intel(ev, c, perm));
    b.insert(
        "approval_wait_seconds".into(),
        json!(inp.approval_wait_secs.clamp(5, 86_400)),
    );
    b.insert(
        "enforcement_mode".into(),
        json!(if inp.observe { "observe" } else { "enforce" }),
    );
    if !inp.ungoverned.is_empty() {
        b.insert("ungoverned_categories".into(), json!(inp.ungoverned));
    }
    b.insert("harness".into(), json!(harness));
    if let Some(sid) = &ev.session_id {
        b.insert("harness_session_id".into(), json!(truncate(sid, 200)));
    }
    if let Some(sub) = &ev.subagent {
        let kind = sub.agent_type.as_deref().unwrap_or("subagent");
        b.insert(
            "agent_name".into(),
            json!(format!("{}/{kind}", inp.agent_id)),
        );
        b.insert("trigger".into(), json!(format!("subagent:{kind}")));
        if let Some(id) = &sub.id {
            b.insert("subagent_uuid".into(), json!(truncate(id, 200)));
        }
    }
    if ev.subagent.is_some() || matches!(tool.map(|t| &t.action), Some(ToolAction::Subagent)) {
        if let Some(sid) = &ev.session_id {
            b.insert("swarm_id".into(), json!(truncate(sid, 128)));
        }
    }
    if let Some(act) = tool.and_then(act) {
        b.insert("act".into(), act);
    }
    if let Some(content) = tool.and_then(|t| match &t.action {
        ToolAction::WriteFile {
            content: Some(c), ..
        } => Some(c),
        _ => None,
    }) {
        // Upstream sends this unscrubbed for the server's secret scan; we never send secrets.
        b.insert(
            "content".into(),
            json!(redact_str(&truncate(content, 50_000))),
        );
    }
    if let Some(tu) = tool.and_then(|t| t.tool_use_id.as_deref()) {
        b.insert(
            "idempotency_key".into(),
            json!(idempotency_key(&ctx.action_type, &agent_id, tu)),
        );
    }
    if !inp.observe {
        b.insert("client_capabilities".into(), json!(["execution_claims"]));
        b.insert("claim_execution".into(), json!(true));
        b.insert("attempt_id".into(), json!(crate::util::id::uuid()));
    }
    Value::Object(b)
}

/// Upstream's key: SHA-256 of the sorted `k=v` parts joined by `|` (§2.2 step 7), so a retried
/// hook for the same tool call is one decision on the server.
pub fn idempotency_key(action_type: &str, agent_id: &str, tool_use_id: &str) -> String {
    let text = format!("action_type={action_type}|agent_id={agent_id}|tool_use_id={tool_use_id}");
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn intel(ev: &HookEvent, c: &Classification, perm: &str) -> Value {
    let mut m = Map::new();
    match ev.tool.as_ref().map(|t| &t.action) {
        Some(ToolAction::Shell { .. }) => {
            m.insert(
                "bash".into(),
                json!({"intent": c.intent.as_str(), "risk_score": c.risk_score, "reversible": c.reversible,
                       "findings": c.findings.iter().map(|f| f.rule).collect::<Vec<_>>()}),
            );
        }
        Some(ToolAction::WriteFile { path, content }) => {
            m.insert(
                "file".into(),
                json!({"resolved_path": redact_str(path),
                       "size_bytes": content.as_ref().map(|c| c.len()).unwrap_or(0),
                       "sensitive_path": c.findings.iter().any(|f| f.rule.contains("sensitive"))}),
            );
        }
        Some(ToolAction::Mcp { server, .. }) => {
            m.insert("mcp".into(), json!({"server": server}));
        }
        _ => {}
    }
    m.insert("tool".into(), json!({"required_permission": perm}));
    if let Some(sub) = &ev.subagent {
        m.insert(
            "subagent".into(),
            json!({"agent_id": sub.id, "agent_type": sub.agent_type}),
        );
    }
    Value::Object(m)
}

/// The `act` evidence (§2.2), scrubbed: shell commands and file writes only, like upstream.
fn act(tool: &ToolCall) -> Option<Value> {
    let mut act = match &tool.action {
        ToolAction::Shell { command } => {
            json!({"kind": "shell", "command": truncate(command, 8192)})
        }
        ToolAction::WriteFile { path, content } if !path.is_empty() => {
            let content = content.as_deref().unwrap_or("");
            json!({"kind": "file", "file": {
                "path": truncate(path, 1024),
                "content_excerpt": truncate(content, 4096),
                "bytes": content.len(),
            }})
        }
        _ => return None,
    };
    redact_json(&mut act);
    Some(act)
}

/// The verdict as the server spelled it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerVerdict {
    Allow,
    Warn,
    RequireApproval,
    Block,
    /// We never declare the capability, so a server should not send it; treated as
    /// require_approval (the server's own fallback without the capability).
    AllowContained,
    /// A verdict this build does not know: upstream treats it as require_approval.
    Unknown(String),
}

impl ServerVerdict {
    pub fn parse(s: &str) -> ServerVerdict {
        match s {
            "allow" => ServerVerdict::Allow,
            "warn" => ServerVerdict::Warn,
            "require_approval" => ServerVerdict::RequireApproval,
            "block" => ServerVerdict::Block,
            "allow_contained" => ServerVerdict::AllowContained,
            other => ServerVerdict::Unknown(other.to_owned()),
        }
    }

    pub fn verdict(&self) -> Verdict {
        match self {
            ServerVerdict::Allow => Verdict::Allow,
            ServerVerdict::Warn => Verdict::Warn,
            ServerVerdict::Block => Verdict::Block,
            ServerVerdict::RequireApproval
            | ServerVerdict::AllowContained
            | ServerVerdict::Unknown(_) => Verdict::RequireApproval,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            ServerVerdict::Allow => "allow",
            ServerVerdict::Warn => "warn",
            ServerVerdict::RequireApproval => "require_approval",
            ServerVerdict::Block => "block",
            ServerVerdict::AllowContained => "allow_contained",
            ServerVerdict::Unknown(s) => s,
        }
    }
}

/// What we read from a guard answer.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardAnswer {
    pub verdict: ServerVerdict,
    pub reasons: Vec<String>,
    pub warnings: Vec<String>,
    pub matched_policies: Vec<String>,
    /// The action record to wait on and attach outcomes to: only when the server says it
    /// recorded one (`recorded:true`); never the decision id.
    pub action_id: Option<String>,
    /// `act_gd_…` on newest servers.
    pub decision_id: Option<String>,
    /// Whether this server understood `?record=true` (the answer has a `recorded` field).
    pub record_supported: bool,
    pub risk_score: Option<i64>,
    pub degraded: bool,
    /// `recovery.suggestion` plus up to 5 steps.
    pub recovery: Option<String>,
    /// A secret-scan finding labels, when the server saw one.
    pub secret_labels: Vec<String>,
    /// Execution claims (claim protocol 1): `Ok(true)` means the server wants a separate claim
    /// (`PATCH` with `claim_execution`) before the call runs; `Err` is the reason to refuse it.
    pub claim: Result<bool, String>,
    pub idempotent_replay: bool,
    /// Newest servers: who the bearer token says we are (`verified`, `unverified`, `expired`,
    /// `failed`, `unknown_issuer`, `exp_too_far`); absent on v2.0.
    pub verification_status: Option<String>,
}

impl GuardAnswer {
    /// An answer with just this verdict: no reasons, no row, no claim (v2.0's shape).
    pub fn of(verdict: ServerVerdict) -> GuardAnswer {
        GuardAnswer {
            verdict,
            reasons: Vec::new(),
            warnings: Vec::new(),
            matched_policies: Vec::new(),
            action_id: None,
            decision_id: None,
            record_supported: false,
            risk_score: None,
            degraded: false,
            recovery: None,
            secret_labels: Vec::new(),
            claim: Ok(false),
            idempotent_replay: false,
            verification_status: None,
        }
    }
}

/// Reads a guard answer (HTTP 200, or 403 with a verdict on v2.0). `Err` is a protocol
/// failure: the body has no verdict at all.
pub fn parse_answer(
    body: &Value,
    sent_attempt: Option<&str>,
    require_claims: bool,
    enforce: bool,
) -> Result<GuardAnswer, String> {
    let verdict = match body.get("decision") {
        Some(Value::String(s)) if !s.is_empty() => ServerVerdict::parse(s),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err("the guard's answer has no verdict (`decision` is missing)".into())
        }
        Some(other) => ServerVerdict::Unknown(other.to_string()),
    };
    let strings = |k: &str| -> Vec<String> {
        body.get(k)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(|s| truncate(s, 500))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut reasons = strings("reasons");
    if reasons.is_empty() {
        if let Some(r) = body
            .get("reason")
            .and_then(Value::as_str)
            .filter(|r| !r.is_empty())
        {
            reasons.push(truncate(r, 500));
        }
    }
    let recorded = body.get("recorded");
    let action_id = match recorded {
        Some(Value::Bool(true)) => body
            .get("action_id")
            .and_then(Value::as_str)
            .filter(|id| !id.starts_with("act_gd_"))
            .map(str::to_owned),
        _ => None,
    };
    let recovery = body.get("recovery").and_then(|r| {
        let mut text = r
            .get("suggestion")
            .and_then(Value::as_str)
            .map(|s| truncate(s, 500))
            .unwrap_or_default();
        if let Some(steps) = r.get("steps").and_then(Value::as_array) {
            for s in steps.iter().filter_map(Value::as_str).take(5) {
                if !text.is_empty() {
                    text.push_str("; ");
                }
                text.push_str(&truncate(s, 300));
            }
        }
        (!text.is_empty()).then_some(text)
    });
    let secret_labels = body
        .get("secret_scan")
        .filter(|s| s.get("detected") == Some(&Value::Bool(true)))
        .and_then(|s| s.get("findings"))
        .and_then(Value::as_array)
        .map(|f| {
            f.iter()
                .filter_map(|x| {
                    x.get("category")
                        .or(x.get("pattern"))
                        .and_then(Value::as_str)
                })
                .map(|l| {
                    l.chars()
                        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                        .take(32)
                        .collect()
                })
                .collect()
        })
        .unwrap_or_default();
    let claim = claim_check(
        body,
        &verdict,
        action_id.as_deref(),
        sent_attempt,
        require_claims,
        enforce,
    );
    Ok(GuardAnswer {
        verdict,
        reasons,
        warnings: strings("warnings"),
        matched_policies: strings("matched_policies"),
        action_id,
        decision_id: body
            .get("decision_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        record_supported: recorded.is_some(),
        risk_score: body.get("risk_score").and_then(Value::as_i64),
        degraded: body.get("degraded") == Some(&Value::Bool(true)),
        recovery,
        secret_labels,
        claim,
        idempotent_replay: body.get("idempotent_replay") == Some(&Value::Bool(true)),
        verification_status: body
            .get("verification_status")
            .and_then(Value::as_str)
            .map(|v| truncate(v, 32)),
    })
}

/// Claim protocol 1 (upstream-python-hooks.md §2.8), folded into the guard call.
fn claim_check(
    body: &Value,
    verdict: &ServerVerdict,
    action_id: Option<&str>,
    sent_attempt: Option<&str>,
    require: bool,
    enforce: bool,
) -> Result<bool, String> {
    if !enforce || *verdict == ServerVerdict::Block {
        return Ok(false);
    }
    let required = body.get("execution_claim_required");
    let protocol = body.get("claim_protocol");
    let supported = required == Some(&Value::Bool(true)) && protocol == Some(&json!(1));
    if !supported {
        if require || required.is_some() || protocol.is_some() {
            return Err("this DashClaw server does not support execution-claim protocol 1".into());
        }
        return Ok(false); // a legacy server: no claims
    }
    if !matches!(verdict, ServerVerdict::Allow | ServerVerdict::Warn) {
        // The claim is made once the call may run (after an approval).
        return Ok(true);
    }
    let Some(claimed) = body.get("claimed") else {
        return Ok(true); // not folded: claim with a PATCH
    };
    let ok = claimed == &Value::Bool(true)
        && body.get("attempt_id").and_then(Value::as_str) == sent_attempt
        && action_id.is_some();
    if ok {
        Ok(false)
    } else {
        Err(
            "execution claim failed or returned an ambiguous response; do not retry automatically"
                .into(),
        )
    }
}

/// The first `max_chars` characters, owned (for JSON bodies).
pub(crate) fn truncate(s: &str, max_chars: usize) -> String {
    crate::util::text::clip_chars(s, max_chars).to_owned()
}

/// The 20 action types a v2.0 server accepts on `POST /api/actions` (§13).
pub const V2_ACTION_TYPES: [&str; 20] = [
    "build", "deploy", "post", "apply", "security", "message", "api", "calendar", "research",
    "review", "fix", "refactor", "test", "config", "monitor", "alert", "cleanup", "sync",
    "migrate", "other",
];

/// The statuses a v2.0 server accepts on `POST /api/actions` (§13); `blocked` is newest only.
pub const V2_STATUSES: [&str; 6] = [
    "running",
    "completed",
    "failed",
    "cancelled",
    "pending",
    "pending_approval",
];

/// `status` as a v2.0 server accepts it: a denied call is a `failed` record there (its reason
/// goes in `error_message`), anything unknown too.
pub fn v2_status(s: &str) -> &str {
    if V2_STATUSES.contains(&s) {
        s
    } else {
        "failed"
    }
}

/// An action record body as the server line takes it: v2.0 gets the 20-value action type enum
/// and its six statuses. Idempotent, so it can run at enqueue and again at delivery (a record
/// kept while the line was unknown).
pub fn for_line(body: &mut Value, v2: bool) {
    if !v2 {
        return;
    }
    if let Some(t) = body.get("action_type").and_then(Value::as_str) {
        let t = v2_action_type(t).to_owned();
        body["action_type"] = Value::String(t);
    }
    if let Some(st) = body.get("status").and_then(Value::as_str) {
        let st = v2_status(st).to_owned();
        body["status"] = Value::String(st);
    }
}

/// `action_type` as a v2.0 server accepts it.
pub fn v2_action_type(t: &str) -> &str {
    if V2_ACTION_TYPES.contains(&t) {
        t
    } else {
        "other"
    }
}

#[cfg(test)]
mod line_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_are_mapped_for_v2_only_and_idempotently() {
        let mut b = json!({"action_type": "spend", "status": "blocked"});
        for_line(&mut b, false);
        assert_eq!(b, json!({"action_type": "spend", "status": "blocked"}));
        for_line(&mut b, true);
        assert_eq!(b, json!({"action_type": "other", "status": "failed"}));
        for_line(&mut b, true);
        assert_eq!(b, json!({"action_type": "other", "status": "failed"}));
        for s in V2_STATUSES {
            assert_eq!(v2_status(s), s);
        }
        let mut p = json!({"action_type": "deploy", "status": "pending_approval"});
        for_line(&mut p, true);
        assert_eq!(
            p,
            json!({"action_type": "deploy", "status": "pending_approval"})
        );
    }
}
