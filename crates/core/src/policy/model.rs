//! Policies in DashClaw's own shape (dashclaw-server-api.md §9), where they came from, and the
//! loaded, compiled set the evaluator reads.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;
use serde_json::Value;

use super::types::{compile, BuiltinFinding, Compiled, Rule};
use crate::event::Verdict;

/// The server's severity order (§3). `allow_contained` exists only there: locally it is
/// treated as `require_approval`, the nearest stricter verdict we can render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Allow,
    Warn,
    AllowContained,
    RequireApproval,
    Block,
}

impl Severity {
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "allow" => Severity::Allow,
            "warn" => Severity::Warn,
            "allow_contained" => Severity::AllowContained,
            "require_approval" => Severity::RequireApproval,
            "block" => Severity::Block,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Allow => "allow",
            Severity::Warn => "warn",
            Severity::AllowContained => "allow_contained",
            Severity::RequireApproval => "require_approval",
            Severity::Block => "block",
        }
    }

    pub fn to_verdict(self) -> Verdict {
        match self {
            Severity::Allow => Verdict::Allow,
            Severity::Warn => Verdict::Warn,
            // We cannot run a call "contained", so it has to be approved.
            Severity::AllowContained | Severity::RequireApproval => Verdict::RequireApproval,
            Severity::Block => Verdict::Block,
        }
    }

    pub fn from_verdict(v: Verdict) -> Severity {
        match v {
            Verdict::Allow => Severity::Allow,
            Verdict::Warn => Severity::Warn,
            Verdict::RequireApproval => Severity::RequireApproval,
            Verdict::Block => Severity::Block,
        }
    }
}

/// Where a policy came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// The built-in default pack.
    Builtin,
    /// The user's policy file; `line` is where its `[[policy]]` starts.
    File { path: PathBuf, line: usize },
    /// A DashClaw server's `GET /api/policies` (cached).
    Server,
}

/// One policy, in DashClaw's shape. `rules` and `agent_ids` are kept as received (an object or
/// the JSON string the server sends) and interpreted when the set is built, so a bad value is
/// reported against the policy instead of dropping it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    pub id: String,
    pub name: String,
    pub policy_type: String,
    pub rules: Value,
    /// `null`/absent, an array of strings, or a JSON string holding one.
    pub agent_ids: Value,
    pub active: bool,
    /// ISO time; an `allow_grant` without `expires_at` expires 30 days after it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    pub origin: Origin,
}

/// To whom a policy applies (§3 step 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "agents", rename_all = "snake_case")]
pub enum Scope {
    All,
    Agents(Vec<String>),
    /// `agent_ids` could not be read: the policy is skipped (and reported).
    Malformed(String),
}

impl Scope {
    pub fn from_value(v: &Value) -> Scope {
        let parsed;
        let v = match v {
            Value::String(s) if s.trim().is_empty() => return Scope::All,
            Value::String(s) => match serde_json::from_str::<Value>(s) {
                Ok(p) => {
                    parsed = p;
                    &parsed
                }
                Err(_) => return Scope::Malformed("agent_ids is not valid JSON".into()),
            },
            v => v,
        };
        match v {
            Value::Null => Scope::All,
            Value::Array(items) if items.is_empty() => Scope::All,
            Value::Array(items) => {
                let ids: Option<Vec<String>> = items
                    .iter()
                    .map(|i| i.as_str().map(str::to_owned))
                    .collect();
                match ids {
                    Some(ids) => Scope::Agents(ids),
                    None => Scope::Malformed("agent_ids is not an array of strings".into()),
                }
            }
            _ => Scope::Malformed("agent_ids is not an array of strings".into()),
        }
    }

    /// Whether the policy applies to `agent_id` (a `parent:child` id also matches `parent`).
    /// Without an agent id only unscoped policies apply.
    pub fn applies_to(&self, agent_id: Option<&str>) -> bool {
        match self {
            Scope::All => true,
            Scope::Malformed(_) => false,
            Scope::Agents(ids) => agent_id.is_some_and(|a| {
                let base = a.find(':').filter(|&i| i > 0).map(|i| &a[..i]);
                ids.iter().any(|id| id == a || Some(id.as_str()) == base)
            }),
        }
    }
}

/// How bad a load or lint finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// The policy (or file) cannot be enforced as written.
    Error,
    /// Enforced, but probably not as meant (a default applied, a value clamped).
    Warning,
}

/// One problem found while loading or linting, with enough position to fix it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issue {
    pub level: Level,
    /// `policies.toml` or the server; `None` for built-ins.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Dotted path of the field, e.g. `rules.threshold`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for Issue {
    /// `policies.toml:12: policy "no-prod" field rules.threshold: expected a number 0-100`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.source, self.line) {
            (Some(s), Some(l)) => write!(f, "{s}:{l}: ")?,
            (Some(s), None) => write!(f, "{s}: ")?,
            _ => {}
        }
        if self.level == Level::Warning {
            f.write_str("warning: ")?;
        }
        match (&self.policy, &self.field) {
            (Some(p), Some(field)) => write!(f, "policy \"{p}\" field {field}: ")?,
            (Some(p), None) => write!(f, "policy \"{p}\": ")?,
            (None, Some(field)) => write!(f, "field {field}: ")?,
            (None, None) => {}
        }
        f.write_str(&self.message)
    }
}

/// A policy with its scope and compiled rules.
#[derive(Debug, Clone)]
pub struct LoadedPolicy {
    pub policy: Policy,
    pub scope: Scope,
    /// `Err(why)`: active but cannot be enforced; every decision it applies to says so.
    pub rule: Result<Rule, String>,
    pub ungrantable: bool,
    /// Defaults applied and other warnings, by field.
    pub notes: Vec<(String, String)>,
}

impl LoadedPolicy {
    pub fn new(policy: Policy) -> LoadedPolicy {
        let scope = Scope::from_value(&policy.agent_ids);
        let Compiled {
            rule,
            errors,
            notes,
            ungrantable,
        } = compile(&policy);
        let rule = match rule {
            Some(r) if errors.is_empty() => Ok(r),
            _ => Err(errors
                .iter()
                .map(|(field, msg)| {
                    // Type errors already read as a sentence of their own.
                    if field.is_empty() || field == "policy_type" {
                        msg.clone()
                    } else {
                        format!("{field}: {msg}")
                    }
                })
                .collect::<Vec<_>>()
                .join("; ")),
        };
        LoadedPolicy {
            policy,
            scope,
            rule,
            ungrantable,
            notes,
        }
    }

    /// The exact warning the server gives for a policy it cannot run.
    pub fn cannot_enforce(&self, why: &str) -> String {
        format!(
            "Policy \"{}\" ({}) is ACTIVE but cannot enforce: {why}",
            self.policy.name, self.policy.id
        )
    }

    /// Why this active policy cannot run, if it cannot (bad rules or bad scope).
    pub fn cannot_enforce_reason(&self) -> Option<&str> {
        if !self.policy.active {
            return None;
        }
        match (&self.rule, &self.scope) {
            (Err(why), _) => Some(why),
            (_, Scope::Malformed(why)) => Some(why),
            _ => None,
        }
    }
}

/// The state of the user's policy file behind a set.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FileState {
    /// No file given, or none on disk.
    Absent,
    Loaded,
    /// The file is broken; the policies are the last good version. Every decision says so.
    Stale {
        error: String,
    },
    /// The file is broken and there is no good version: every gating decision is blocked
    /// until it is fixed, as with a broken `config.toml`.
    Broken {
        error: String,
    },
}

/// Everything the evaluator needs, immutable once built (the store swaps whole sets).
#[derive(Debug, Clone)]
pub struct PolicySet {
    /// In evaluation order: the built-in pack, then the file, then server policies.
    pub policies: Vec<LoadedPolicy>,
    pub file: FileState,
    /// Load-time problems, for `status` and `lint`.
    pub issues: Vec<Issue>,
    /// The largest `rate_limit.max_actions`, so the rate counter keeps just enough history.
    pub(crate) rate_history: usize,
    /// Indices of the `builtin_finding` policies by the rule they name, in load order: the
    /// evaluator looks up each finding's rule instead of scanning every policy per finding.
    by_finding: std::collections::HashMap<String, Vec<usize>>,
    /// Indices of every other policy (per-call types, and any that cannot be enforced), in
    /// load order.
    per_call: Vec<usize>,
    /// Whether the built-in pack is part of this set.
    pub(crate) has_pack: bool,
}

impl PolicySet {
    /// Builds a set from policies in evaluation order.
    pub fn new(policies: Vec<Policy>, file: FileState, mut issues: Vec<Issue>) -> PolicySet {
        let policies: Vec<LoadedPolicy> = policies.into_iter().map(LoadedPolicy::new).collect();
        // File policies arrive with field-level issues from the file loader already.
        for p in policies
            .iter()
            .filter(|p| !matches!(p.policy.origin, Origin::File { .. }))
        {
            let source = match &p.policy.origin {
                Origin::Builtin => None,
                Origin::File { .. } => None,
                Origin::Server => Some("server".to_owned()),
            };
            if let Some(why) = p.cannot_enforce_reason() {
                issues.push(Issue {
                    level: Level::Error,
                    source: source.clone(),
                    line: None,
                    policy: Some(p.policy.name.clone()),
                    field: None,
                    message: p.cannot_enforce(why),
                });
            }
        }
        let rate_history = policies
            .iter()
            .filter(|p| p.policy.active)
            .filter_map(|p| p.rule.as_ref().ok()?.rate_history())
            .max()
            .unwrap_or(0);
        let mut by_finding: std::collections::HashMap<String, Vec<usize>> =
            std::collections::HashMap::new();
        let mut per_call = Vec::new();
        for (i, p) in policies.iter().enumerate() {
            let finding = p.rule.as_ref().ok().and_then(Rule::get::<BuiltinFinding>);
            if let Some(f) = finding {
                by_finding.entry(f.rule.clone()).or_default().push(i);
            }
            // A malformed scope is reported per call, whatever the type.
            if finding.is_none() || matches!(p.scope, Scope::Malformed(_)) {
                per_call.push(i);
            }
        }
        let has_pack = policies.iter().any(|p| p.policy.origin == Origin::Builtin);
        PolicySet {
            policies,
            file,
            issues,
            rate_history,
            by_finding,
            per_call,
            has_pack,
        }
    }

    /// The `builtin_finding` policies naming `rule`, in load order.
    pub(crate) fn for_finding(&self, rule: &str) -> impl Iterator<Item = &LoadedPolicy> {
        self.by_finding
            .get(rule)
            .into_iter()
            .flatten()
            .map(|&i| &self.policies[i])
    }

    /// The policies evaluated on every call (everything but `builtin_finding`), in load order.
    pub(crate) fn per_call(&self) -> impl Iterator<Item = &LoadedPolicy> {
        self.per_call.iter().map(|&i| &self.policies[i])
    }

    /// The built-in pack alone.
    pub fn builtin() -> PolicySet {
        PolicySet::new(super::builtin_policies(), FileState::Absent, Vec::new())
    }

    pub fn active(&self) -> impl Iterator<Item = &LoadedPolicy> {
        self.policies.iter().filter(|p| p.policy.active)
    }
}

pub(crate) fn file_label(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Reads `GET /api/policies` (`{"policies":[…]}`, or a bare array). Every entry becomes a
/// policy, inactive ones included (the evaluator skips them); an entry that is not even an
/// object is an error in the list, never silently dropped.
pub fn parse_server_policies(json: &str) -> Result<(Vec<Policy>, Vec<Issue>), String> {
    let doc: Value = serde_json::from_str(json).map_err(|e| format!("not JSON: {e}"))?;
    let list = match &doc {
        Value::Array(a) => a,
        Value::Object(o) => match o.get("policies") {
            Some(Value::Array(a)) => a,
            _ => return Err("expected {\"policies\": [...]}".into()),
        },
        _ => return Err("expected {\"policies\": [...]}".into()),
    };
    let mut policies = Vec::with_capacity(list.len());
    let mut issues = Vec::new();
    for (i, item) in list.iter().enumerate() {
        let Some(obj) = item.as_object() else {
            issues.push(Issue {
                level: Level::Error,
                source: Some("server".into()),
                line: None,
                policy: None,
                field: Some(format!("policies[{i}]")),
                message: "not an object; ignored".into(),
            });
            continue;
        };
        let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
        let id = text("id").unwrap_or_else(|| format!("(policy #{i} without id)"));
        let name = text("name").unwrap_or_else(|| id.clone());
        // `active` is 0/1 on the wire; accept a boolean too. Anything else counts as active,
        // so a garbled flag cannot switch a policy off unnoticed.
        let active = match obj.get("active") {
            Some(Value::Number(n)) => n.as_f64() != Some(0.0),
            Some(Value::Bool(b)) => *b,
            _ => true,
        };
        policies.push(Policy {
            id,
            name,
            // A missing type is reported as unknown, i.e. "cannot enforce".
            policy_type: text("policy_type").unwrap_or_default(),
            rules: obj.get("rules").cloned().unwrap_or(Value::Null),
            agent_ids: obj.get("agent_ids").cloned().unwrap_or(Value::Null),
            active,
            created_at: text("created_at"),
            origin: Origin::Server,
        });
    }
    Ok((policies, issues))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn severity_order_is_the_servers() {
        use Severity::*;
        let mut v = vec![Block, Allow, RequireApproval, Warn, AllowContained];
        v.sort();
        assert_eq!(v, [Allow, Warn, AllowContained, RequireApproval, Block]);
        assert_eq!(AllowContained.to_verdict(), Verdict::RequireApproval);
        for s in v {
            assert_eq!(Severity::parse(s.as_str()), Some(s));
        }
        assert_eq!(Severity::parse("deny"), None);
    }

    #[test]
    fn agent_scoping() {
        let scope = |v: Value| Scope::from_value(&v);
        // null, empty, `[]` (also as JSON strings): everyone, even without an agent id
        for v in [
            json!(null),
            json!([]),
            json!(""),
            json!("[]"),
            json!("null"),
        ] {
            assert_eq!(scope(v.clone()), Scope::All, "{v}");
            assert!(scope(v).applies_to(None));
        }
        let s = scope(json!("[\"claude-code\",\"ci-bot\"]"));
        assert!(s.applies_to(Some("claude-code")));
        assert!(s.applies_to(Some("ci-bot")));
        assert!(s.applies_to(Some("claude-code:explore")), "child inherits");
        assert!(!s.applies_to(Some("claude")));
        assert!(!s.applies_to(Some("claude-code-2")));
        assert!(
            !s.applies_to(Some("x:claude-code")),
            "only the parent is inherited"
        );
        assert!(!s.applies_to(None), "scoped policies need an agent id");
        // A child can be scoped on its own, without the parent.
        let s = scope(json!(["claude-code:explore"]));
        assert!(s.applies_to(Some("claude-code:explore")));
        assert!(!s.applies_to(Some("claude-code")));
        assert!(!s.applies_to(Some("claude-code:plan")));
        // `:x` has no parent part.
        assert!(!scope(json!([""])).applies_to(Some(":x")));
        // Malformed: skipped for everyone (and reported).
        for v in [json!("[oops"), json!("{\"a\":1}"), json!([1, 2]), json!(7)] {
            let s = scope(v.clone());
            assert!(matches!(s, Scope::Malformed(_)), "{v}");
            assert!(!s.applies_to(Some("claude-code")));
        }
    }

    #[test]
    fn server_policy_list() {
        let body = json!({"policies": [
            {"id": "gp_1", "org_id": "o", "name": "no deploys", "policy_type": "block_action_type",
             "rules": "{\"action_types\":[\"deploy\"]}", "active": 1, "agent_ids": null,
             "created_at": "2026-01-01T00:00:00Z"},
            {"id": "gp_2", "name": "off", "policy_type": "risk_threshold", "rules": "{}", "active": 0},
            42
        ]})
        .to_string();
        let (ps, issues) = parse_server_policies(&body).unwrap();
        assert_eq!(ps.len(), 2);
        assert_eq!(issues.len(), 1);
        assert_eq!(
            issues[0].to_string(),
            "server: field policies[2]: not an object; ignored"
        );
        assert!(ps[0].active && !ps[1].active);
        assert_eq!(ps[0].rules, json!("{\"action_types\":[\"deploy\"]}"));
        let set = PolicySet::new(ps, FileState::Absent, issues);
        assert!(set.policies[0].rule.is_ok());
        assert!(parse_server_policies("[]").unwrap().0.is_empty());
        assert!(parse_server_policies("{\"x\":1}").is_err());
        assert!(parse_server_policies("nope").is_err());
    }
}
