//! Policy types and their `rules` (dashclaw-server-api.md §3.1). Each type is one module under
//! `types/`: its fields, their validation into a typed rule (every problem named by field, so
//! `lint` can point at it and the evaluator can say why a policy "cannot enforce"), its
//! evaluation and an example. [`TYPES`] lists them: adding a type is one module plus one line
//! there (and its row in docs/policies.md, which a test checks).

mod action_types;
mod agent_allowlist;
mod allow_grant;
mod branch_freshness;
mod builtin_finding;
mod egress_allow;
mod green_contract;
mod protected_path;
mod rate_limit;
mod risk_threshold;

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

pub use action_types::{ActionTypes, ListKind};
pub use agent_allowlist::AgentAllowlist;
pub use allow_grant::{AllowGrant, GRANT_DEFAULT_TTL_MS};
pub use branch_freshness::BranchFreshness;
pub use builtin_finding::BuiltinFinding;
pub use egress_allow::EgressAllow;
pub use green_contract::GreenContract;
pub use protected_path::ProtectedPath;
pub use rate_limit::RateLimit;
pub use risk_threshold::RiskThreshold;

use super::context::GuardContext;
use super::eval::EvalEnv;
use super::model::{Policy, Severity};

/// The policy types evaluated here, in the order `policy list` and the docs show them.
pub const TYPES: &[&PolicyType] = &[
    &risk_threshold::TYPE,
    &action_types::TYPE,
    &protected_path::TYPE,
    &agent_allowlist::TYPE,
    &rate_limit::TYPE,
    &green_contract::TYPE,
    &branch_freshness::TYPE,
    &allow_grant::TYPE,
    &builtin_finding::TYPE,
    &egress_allow::TYPE,
];

/// The policy types the server knows but a local evaluator cannot reproduce (§3.2).
pub const SERVER_ONLY_TYPES: &[&str] = &[
    "webhook_check",
    "permission_escalation",
    "non_fabrication",
    "require_evidence",
    "delegation_constraint",
    "deviation_response",
    "behavioral_anomaly",
    "semantic_check",
    "x402_spend_limit",
];

/// One policy type (or a family sharing one shape, like the three action-type lists).
pub struct PolicyType {
    /// The `policy_type` values it compiles.
    pub names: &'static [&'static str],
    /// Its `rules` fields besides [`COMMON_FIELDS`]; others are noted as ignored.
    pub fields: &'static [&'static str],
    /// Validates the rules (read through `Fields`, which collects the problems).
    pub compile: fn(&Policy, &mut Fields) -> Option<Rule>,
    /// `rules` (JSON) of a policy of this type that compiles without an error or a note.
    pub example: &'static str,
}

/// The type named `policy_type`, if it is evaluated here.
pub fn find(policy_type: &str) -> Option<&'static PolicyType> {
    TYPES
        .iter()
        .copied()
        .find(|t| t.names.contains(&policy_type))
}

/// A compiled policy of one of the [`TYPES`]. What every type does per call is
/// [`RuleKind::evaluate`]; the evaluator's other stages (built-in findings, the grant
/// post-pass) and the policy store (egress hosts) ask for their type with [`Rule::get`].
pub trait RuleKind: Any + fmt::Debug + Send + Sync {
    /// This policy's raising result for one call; `None` when it does not fire. Types that act
    /// elsewhere (grants, built-in findings, the egress allowlist) keep the default.
    fn evaluate(
        &self,
        _ctx: &GuardContext,
        _score: f64,
        _env: &EvalEnv,
    ) -> Option<(Severity, String)> {
        None
    }

    /// How many past evaluations per agent the rate counter must keep for this policy.
    fn rate_history(&self) -> Option<usize> {
        None
    }
}

/// A policy's rules, validated. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct Rule(Arc<dyn RuleKind>);

impl Rule {
    pub fn new(kind: impl RuleKind) -> Rule {
        Rule(Arc::new(kind))
    }

    /// The rule as its type, when it is one.
    pub fn get<T: RuleKind>(&self) -> Option<&T> {
        let any: &dyn Any = &*self.0;
        any.downcast_ref()
    }

    pub fn evaluate(
        &self,
        ctx: &GuardContext,
        score: f64,
        env: &EvalEnv,
    ) -> Option<(Severity, String)> {
        self.0.evaluate(ctx, score, env)
    }

    pub fn rate_history(&self) -> Option<usize> {
        self.0.rate_history()
    }
}

/// Rule fields every type accepts.
pub const COMMON_FIELDS: &[&str] = &["ungrantable", "tests", "shape_exceptions", "description"];

/// Every verdict a policy's `action` may name.
const ALL_ACTIONS: &[Severity] = &[
    Severity::Allow,
    Severity::Warn,
    Severity::RequireApproval,
    Severity::Block,
];

/// Result of [`compile`]: `rule` is usable only when `errors` is empty.
#[derive(Debug, Default)]
pub struct Compiled {
    pub rule: Option<Rule>,
    /// `(field, message)`; field `""` means the policy as a whole.
    pub errors: Vec<(String, String)>,
    pub notes: Vec<(String, String)>,
    pub ungrantable: bool,
}

/// Parses `rules` (an object, or the JSON string the server stores) into an object.
pub fn rules_object(rules: &Value) -> Result<Map<String, Value>, String> {
    match rules {
        Value::Null => Ok(Map::new()),
        Value::Object(m) => Ok(m.clone()),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(Value::Null) => Ok(Map::new()),
            Ok(_) => Err("rules is not a JSON object".into()),
            Err(_) => Err("rules is not valid JSON".into()),
        },
        _ => Err("rules is not a JSON object".into()),
    }
}

/// Validates a policy's rules for its type.
pub fn compile(policy: &Policy) -> Compiled {
    let mut c = Compiled::default();
    let t = policy.policy_type.as_str();
    if SERVER_ONLY_TYPES.contains(&t) {
        c.errors.push((
            "policy_type".into(),
            format!("policy_type \"{t}\" is evaluated only by the DashClaw server"),
        ));
        return c;
    }
    let Some(ty) = find(t) else {
        c.errors
            .push(("policy_type".into(), format!("unknown policy_type \"{t}\"")));
        return c;
    };
    let rules = match rules_object(&policy.rules) {
        Ok(r) => r,
        Err(e) => {
            c.errors.push((String::new(), e));
            return c;
        }
    };
    let mut f = Fields {
        rules: &rules,
        errors: Vec::new(),
        notes: Vec::new(),
    };
    c.ungrantable = match rules.get("ungrantable") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            f.error("ungrantable", "expected true or false");
            false
        }
    };
    for k in rules.keys() {
        if !ty.fields.contains(&k.as_str()) && !COMMON_FIELDS.contains(&k.as_str()) {
            f.note(k, &format!("not a field of {t}; ignored"));
        }
    }
    let rule = (ty.compile)(policy, &mut f);
    c.errors = f.errors;
    c.notes = f.notes;
    c.rule = rule;
    c
}

/// Reads one policy's `rules`, collecting every problem by field.
pub struct Fields<'a> {
    rules: &'a Map<String, Value>,
    errors: Vec<(String, String)>,
    notes: Vec<(String, String)>,
}

impl Fields<'_> {
    /// Whether the field is there at all (even as null).
    fn has(&self, key: &str) -> bool {
        self.rules.contains_key(key)
    }

    /// Whether the field is there and not null (null means "the default").
    fn present(&self, key: &str) -> bool {
        !matches!(self.rules.get(key), None | Some(Value::Null))
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.rules.get(key)
    }

    fn error(&mut self, field: &str, msg: &str) {
        self.errors.push((format!("rules.{field}"), msg.to_owned()));
    }

    fn note(&mut self, field: &str, msg: &str) {
        self.notes.push((format!("rules.{field}"), msg.to_owned()));
    }

    fn number(&mut self, key: &str, min: f64, max: f64, what: &str) -> Option<f64> {
        match self.rules.get(key).and_then(Value::as_f64) {
            Some(n) if n.is_finite() && n >= min && n <= max => Some(n),
            _ => {
                self.error(key, &format!("expected {what}"));
                None
            }
        }
    }

    fn string_list(&mut self, key: &str, required: bool) -> Option<Vec<String>> {
        let what = if required {
            "expected a non-empty array of strings"
        } else {
            "expected an array of strings"
        };
        let list = match self.rules.get(key) {
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<String>>>(),
            _ => None,
        };
        match list {
            Some(l) if !(required && l.is_empty()) => Some(l),
            _ => {
                self.error(key, what);
                None
            }
        }
    }

    fn required_string(&mut self, key: &str) -> Option<String> {
        match self.rules.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => {
                self.error(key, "expected a non-empty string");
                None
            }
        }
    }

    /// `Some(None)` when absent.
    fn opt_string(&mut self, key: &str, max_chars: usize) -> Option<Option<String>> {
        match self.rules.get(key) {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(s)) if s.chars().count() <= max_chars => Some(Some(s.clone())),
            Some(Value::String(_)) => {
                self.error(key, &format!("longer than {max_chars} characters"));
                None
            }
            Some(_) => {
                self.error(key, "expected a string");
                None
            }
        }
    }

    fn one_of(&mut self, key: &str, allowed: &[&str], required: bool) -> Option<String> {
        match self.rules.get(key) {
            Some(Value::String(s)) if allowed.contains(&s.as_str()) => Some(s.clone()),
            None if !required => None,
            _ => {
                self.error(key, &format!("expected one of {}", allowed.join(", ")));
                None
            }
        }
    }

    fn action(&mut self, allowed: &[Severity], default: Severity) -> Option<Severity> {
        match self.rules.get("action") {
            None | Some(Value::Null) => Some(default),
            Some(Value::String(s)) => match Severity::parse(s) {
                Some(sev) if allowed.contains(&sev) => Some(sev),
                _ => {
                    let names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
                    self.error("action", &format!("expected one of {}", names.join(", ")));
                    None
                }
            },
            Some(_) => {
                self.error("action", "expected a string");
                None
            }
        }
    }
}

/// Parses an ISO 8601 time (`2026-07-01`, `2026-07-01T12:00:00Z`, fractions, `±hh:mm`) to
/// Unix milliseconds. A time without an offset is taken as UTC.
pub fn parse_iso_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return None;
    }
    let mut ms = days_from_civil(y, mo, d) * 86_400_000;
    let mut rest = &s[10..];
    if rest.is_empty() {
        return Some(ms);
    }
    let sep = rest.as_bytes()[0];
    if !matches!(sep, b'T' | b't' | b' ') || rest.len() < 6 {
        return None;
    }
    let t = &rest[1..];
    let tb = t.as_bytes();
    if tb.get(2) != Some(&b':') {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = t.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let h = digits(0..2)?;
    let mi = digits(3..5)?;
    let mut i = 5;
    let mut sec = 0i64;
    let mut frac_ms = 0i64;
    if tb.get(5) == Some(&b':') {
        sec = digits(6..8)?;
        i = 8;
        if tb.get(8) == Some(&b'.') {
            let digits = t[9..].bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            let frac = &t[9..9 + digits];
            let padded = format!("{:0<3}", &frac[..frac.len().min(3)]);
            frac_ms = padded.parse().ok()?;
            i = 9 + digits;
        }
    }
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    ms += ((h * 60 + mi) * 60 + sec) * 1000 + frac_ms;
    rest = &t[i..];
    let offset_min = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let o = rest[1..].replace(':', "");
            if o.len() != 4 || !o.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            let (oh, om): (i64, i64) = (o[..2].parse().ok()?, o[2..].parse().ok()?);
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 60 + om)
        }
    };
    Some(ms - offset_min * 60_000)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::model::Origin;
    use serde_json::json;

    fn policy(t: &str, rules: Value) -> Policy {
        Policy {
            id: "p1".into(),
            name: "p".into(),
            policy_type: t.into(),
            rules,
            agent_ids: Value::Null,
            active: true,
            created_at: None,
            origin: Origin::Server,
        }
    }

    fn errors(t: &str, rules: Value) -> Vec<String> {
        compile(&policy(t, rules))
            .errors
            .into_iter()
            .map(|(f, m)| format!("{f}: {m}"))
            .collect()
    }

    #[test]
    fn iso_times() {
        assert_eq!(parse_iso_ms("1970-01-01"), Some(0));
        assert_eq!(parse_iso_ms("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_iso_ms("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(parse_iso_ms("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_iso_ms("1970-01-01 00:00"), Some(0));
        assert_eq!(
            parse_iso_ms("2026-03-01T00:00:00.123456-0130"),
            Some(1_772_328_600_123)
        );
        assert_eq!(parse_iso_ms("2024-02-29"), Some(1_709_164_800_000));
        for bad in [
            "",
            "2023-02-29",
            "2026-13-01",
            "tomorrow",
            "2026-01-01T25:00Z",
            "2026-01-01Tx",
        ] {
            assert_eq!(parse_iso_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn rules_may_be_a_json_string_or_an_object() {
        assert!(
            compile(&policy("risk_threshold", json!("{\"threshold\":50}")))
                .errors
                .is_empty()
        );
        assert!(compile(&policy("risk_threshold", json!({"threshold": 50})))
            .errors
            .is_empty());
        assert_eq!(
            errors("risk_threshold", json!("{nope")),
            [": rules is not valid JSON"]
        );
        assert_eq!(
            errors("risk_threshold", json!("[1]")),
            [": rules is not a JSON object"]
        );
        assert_eq!(
            errors("risk_threshold", json!(3)),
            [": rules is not a JSON object"]
        );
    }

    #[test]
    fn unknown_and_server_only_types() {
        assert_eq!(
            errors("frobnicate", json!({})),
            ["policy_type: unknown policy_type \"frobnicate\""]
        );
        assert_eq!(
            errors("webhook_check", json!({})),
            ["policy_type: policy_type \"webhook_check\" is evaluated only by the DashClaw server"]
        );
    }

    #[test]
    fn field_validation() {
        let cases: &[(&str, Value, &str)] = &[
            (
                "risk_threshold",
                json!({"threshold": 101}),
                "rules.threshold: expected a number 0-100",
            ),
            (
                "risk_threshold",
                json!({"threshold": "80"}),
                "rules.threshold: expected a number 0-100",
            ),
            (
                "risk_threshold",
                json!({"threshold": 80, "action": "deny"}),
                "rules.action: expected one of allow, warn, require_approval, block",
            ),
            (
                "risk_threshold",
                json!({"threshold": 80, "action": "allow_contained"}),
                "rules.action: expected one of allow, warn, require_approval, block",
            ),
            (
                "block_action_type",
                json!({}),
                "rules.action_types: expected a non-empty array of strings",
            ),
            (
                "warn_action_type",
                json!({"action_types": []}),
                "rules.action_types: expected a non-empty array of strings",
            ),
            (
                "require_approval",
                json!({"action_types": ["x", 1]}),
                "rules.action_types: expected a non-empty array of strings",
            ),
            (
                "require_approval",
                json!({"action_types": ["x"], "target_prefix": 3}),
                "rules.target_prefix: expected a string",
            ),
            (
                "protected_path",
                json!({"paths": [""]}),
                "rules.paths: expected at least one non-empty glob",
            ),
            (
                "protected_path",
                json!({"paths": ["a".repeat(257)]}),
                "rules.paths[0]: longer than 256 characters",
            ),
            (
                "agent_allowlist",
                json!({"allowed_action_types": ["a"], "action": "allow"}),
                "rules.action: expected one of warn, require_approval, block",
            ),
            (
                "rate_limit",
                json!({"max_actions": 0}),
                "rules.max_actions: expected a number > 0",
            ),
            (
                "rate_limit",
                json!({"window_minutes": 0.5}),
                "rules.window_minutes: expected a number of minutes >= 1",
            ),
            (
                "green_contract",
                json!({"required_level": "gold", "action_types": ["deploy"]}),
                "rules.required_level: expected one of targeted, package, workspace, merge_ready",
            ),
            (
                "green_contract",
                json!({"required_level": "package"}),
                "rules.action_types: expected a non-empty array of strings",
            ),
            (
                "branch_freshness",
                json!({"action_types": ["deploy"], "max_commits_behind": -1}),
                "rules.max_commits_behind: expected a number >= 0",
            ),
            (
                "allow_grant",
                json!({"target_prefix": "x"}),
                "rules.action_type: expected a non-empty string",
            ),
            (
                "allow_grant",
                json!({"action_type": "api", "expires_at": "soon"}),
                "rules.expires_at: expected an ISO 8601 time, e.g. 2026-07-01T00:00:00Z",
            ),
            (
                "allow_grant",
                json!({"action_type": "api", "max_risk": 120}),
                "rules.max_risk: expected a number 0-100",
            ),
            (
                "builtin_finding",
                json!({"rule": "no-such-rule", "action": "block"}),
                "rules.rule: no built-in rule \"no-such-rule\" (see `dashclawd policy list`)",
            ),
            (
                "builtin_finding",
                json!({"rule": "git-clean"}),
                "rules.action: required: the verdict this built-in rule should raise to",
            ),
            (
                "risk_threshold",
                json!({"threshold": 50, "ungrantable": "yes"}),
                "rules.ungrantable: expected true or false",
            ),
        ];
        for (t, rules, want) in cases {
            let got = errors(t, rules.clone());
            assert!(got.iter().any(|e| e == want), "{t} {rules}: {got:?}");
        }
    }

    fn rule<T: RuleKind + Clone>(c: &Compiled) -> T {
        c.rule
            .as_ref()
            .and_then(Rule::get::<T>)
            .cloned()
            .unwrap_or_else(|| panic!("not a {}: {c:?}", std::any::type_name::<T>()))
    }

    #[test]
    fn defaults_are_the_servers_and_are_noted() {
        let c = compile(&policy("risk_threshold", json!({})));
        assert_eq!(
            rule::<RiskThreshold>(&c),
            RiskThreshold {
                threshold: 80.0,
                action: Severity::Block
            }
        );
        assert_eq!(c.notes[0].0, "rules.threshold");

        let c = compile(&policy(
            "rate_limit",
            json!({"window_minutes": 99999, "typo": 1}),
        ));
        assert_eq!(
            rule::<RateLimit>(&c),
            RateLimit {
                max_actions: 50.0,
                window_minutes: 10_080,
                action: Severity::Warn
            }
        );
        let fields: Vec<&str> = c.notes.iter().map(|n| n.0.as_str()).collect();
        assert_eq!(
            fields,
            ["rules.typo", "rules.max_actions", "rules.window_minutes"]
        );

        let c = compile(&policy("protected_path", json!({"paths": ["**/.env", ""]})));
        let p = rule::<ProtectedPath>(&c);
        assert_eq!((p.globs.len(), p.action), (1, Severity::RequireApproval));
        let c = compile(&policy(
            "agent_allowlist",
            json!({"allowed_action_types": ["a"]}),
        ));
        assert_eq!(rule::<AgentAllowlist>(&c).action, Severity::Warn);
        let c = compile(&policy(
            "branch_freshness",
            json!({"action_types": ["deploy"]}),
        ));
        let b = rule::<BranchFreshness>(&c);
        assert_eq!(b.freshness, ["stale", "diverged"]);
        assert_eq!(b.action, Severity::Block);
        let c = compile(&policy(
            "block_action_type",
            json!({"action_types": ["deploy"], "ungrantable": true}),
        ));
        assert!(c.ungrantable);
        assert_eq!(rule::<ActionTypes>(&c).kind, ListKind::Block);
        // A null field means its default, where the server reads it so.
        let c = compile(&policy(
            "rate_limit",
            json!({"max_actions": null, "window_minutes": null}),
        ));
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        assert_eq!(rule::<RateLimit>(&c).window_minutes, 60);
    }

    #[test]
    fn grant_expiry_defaults_to_created_at_plus_30_days() {
        let mut p = policy("allow_grant", json!({"action_type": "api"}));
        p.created_at = Some("1970-01-01T00:00:00Z".into());
        assert_eq!(
            rule::<AllowGrant>(&compile(&p)).expires_at_ms,
            Some(GRANT_DEFAULT_TTL_MS)
        );
        p.rules = json!({"action_type": "api", "expires_at": "1970-01-02"});
        assert_eq!(
            rule::<AllowGrant>(&compile(&p)).expires_at_ms,
            Some(86_400_000)
        );
        // A server row with neither never expires; a file grant must say when it does.
        p.rules = json!({"action_type": "api"});
        p.created_at = None;
        assert_eq!(rule::<AllowGrant>(&compile(&p)).expires_at_ms, None);
        p.origin = Origin::File {
            path: "policies.toml".into(),
            line: 1,
        };
        assert_eq!(compile(&p).errors[0].0, "rules.expires_at");
    }

    #[test]
    fn every_type_has_one_module_a_clean_example_and_a_docs_row() {
        let docs = include_str!("../../../../docs/policies.md");
        let mut seen = Vec::new();
        for ty in TYPES {
            for name in ty.names {
                assert!(!seen.contains(name), "{name} registered twice");
                seen.push(*name);
                assert_eq!(find(name).map(|t| t.names), Some(ty.names));
                assert!(!SERVER_ONLY_TYPES.contains(name), "{name}");
                // The strictest origin: a policy file.
                let mut p = policy(name, serde_json::from_str(ty.example).unwrap());
                p.origin = Origin::File {
                    path: "policies.toml".into(),
                    line: 1,
                };
                let c = compile(&p);
                assert!(
                    c.errors.is_empty() && c.notes.is_empty() && c.rule.is_some(),
                    "{name}: {c:?}"
                );
                assert!(
                    docs.contains(&format!("| `{name}`")),
                    "{name} has no row in docs/policies.md's table"
                );
            }
        }
        assert_eq!(seen.len(), 12);
    }
}
