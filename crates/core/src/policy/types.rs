//! Policy types and their `rules` (dashclaw-server-api.md §3.1): validation into a typed
//! [`Rule`], with every problem named by field so `lint` can point at it and the evaluator can
//! say why a policy "cannot enforce".

use serde_json::{Map, Value};

use super::glob::Glob;
use super::model::{Origin, Policy, Severity};

/// Which of the three action-type list policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    RequireApproval,
    Block,
    Warn,
}

/// A policy's rules, validated.
#[derive(Debug, Clone)]
pub enum Rule {
    RiskThreshold {
        threshold: f64,
        action: Severity,
    },
    ActionTypes {
        kind: ListKind,
        action_types: Vec<String>,
        target_prefix: Option<String>,
    },
    ProtectedPath {
        globs: Vec<Glob>,
        action: Severity,
    },
    AgentAllowlist {
        allowed: Vec<String>,
        action: Severity,
    },
    RateLimit {
        max_actions: f64,
        window_minutes: u64,
        action: Severity,
    },
    GreenContract {
        required_level: String,
        action_types: Vec<String>,
        action: Severity,
    },
    BranchFreshness {
        action_types: Vec<String>,
        freshness: Vec<String>,
        max_commits_behind: f64,
        action: Severity,
    },
    AllowGrant {
        action_type: String,
        target_prefix: Option<String>,
        /// Unix milliseconds; `None` never expires (a server row without `created_at`).
        expires_at_ms: Option<i64>,
        max_risk: Option<f64>,
    },
    /// A rule of the built-in pack (local type): fires when the classifier reports a finding
    /// of `rule`. In the user's file it can only raise that rule's verdict.
    BuiltinFinding {
        rule: String,
        action: Severity,
    },
    /// Hosts (exact, or `*.suffix`) data may be sent to without `exfil-upload` approval
    /// (local type). Never lowers `exfil-flow`: secrets do not leave for any host.
    EgressAllow {
        hosts: Vec<String>,
    },
}

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

/// The policy types evaluated here.
pub const LOCAL_TYPES: &[&str] = &[
    "risk_threshold",
    "require_approval",
    "block_action_type",
    "warn_action_type",
    "protected_path",
    "agent_allowlist",
    "rate_limit",
    "green_contract",
    "branch_freshness",
    "allow_grant",
    "builtin_finding",
    "egress_allow",
];

/// Rule fields every type accepts.
const COMMON_FIELDS: &[&str] = &["ungrantable", "tests", "shape_exceptions", "description"];

/// Grants without `expires_at` expire this long after `created_at`.
pub const GRANT_DEFAULT_TTL_MS: i64 = 30 * 24 * 60 * 60 * 1000;

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
    if !LOCAL_TYPES.contains(&t) {
        c.errors
            .push(("policy_type".into(), format!("unknown policy_type \"{t}\"")));
        return c;
    }
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
    let known: &[&str] = match t {
        "risk_threshold" => &["threshold", "action"],
        "require_approval" | "block_action_type" | "warn_action_type" => {
            &["action_types", "target_prefix", "action"]
        }
        "protected_path" => &["paths", "action"],
        "agent_allowlist" => &["allowed_action_types", "action"],
        "rate_limit" => &["max_actions", "window_minutes", "action"],
        "green_contract" => &["required_level", "action_types", "action"],
        "branch_freshness" => &["action_types", "freshness", "max_commits_behind", "action"],
        "allow_grant" => &["action_type", "target_prefix", "expires_at", "max_risk"],
        "egress_allow" => &["hosts"],
        _ => &["rule", "action", "suggestion"],
    };
    for k in rules.keys() {
        if !known.contains(&k.as_str()) && !COMMON_FIELDS.contains(&k.as_str()) {
            f.note(k, &format!("not a field of {t}; ignored"));
        }
    }
    const ALL_ACTIONS: &[Severity] = &[
        Severity::Allow,
        Severity::Warn,
        Severity::RequireApproval,
        Severity::Block,
    ];
    let rule = match t {
        "risk_threshold" => {
            let threshold = match f.number("threshold", 0.0, 100.0, "a number 0-100") {
                Some(n) => Some(n),
                None if !rules.contains_key("threshold") => {
                    f.note("threshold", "missing; the server's default 80 applies");
                    Some(80.0)
                }
                None => None,
            };
            let action = f.action(ALL_ACTIONS, Severity::Block);
            threshold
                .zip(action)
                .map(|(threshold, action)| Rule::RiskThreshold { threshold, action })
        }
        "require_approval" | "block_action_type" | "warn_action_type" => {
            let kind = match t {
                "require_approval" => ListKind::RequireApproval,
                "block_action_type" => ListKind::Block,
                _ => ListKind::Warn,
            };
            if rules.contains_key("action") {
                f.note(
                    "action",
                    &format!("ignored: {t} always decides its own verdict"),
                );
            }
            let action_types = f.string_list("action_types", true);
            let target_prefix = f.opt_string("target_prefix", 256);
            action_types
                .zip(target_prefix)
                .map(|(action_types, target_prefix)| Rule::ActionTypes {
                    kind,
                    action_types,
                    // An empty prefix does not narrow (the server tests it for truthiness).
                    target_prefix: target_prefix.filter(|p| !p.is_empty()),
                })
        }
        "protected_path" => {
            let globs = f.string_list("paths", true).and_then(|paths| {
                if let Some(i) = paths.iter().position(|p| p.chars().count() > 256) {
                    f.error(&format!("paths[{i}]"), "longer than 256 characters");
                    return None;
                }
                let globs: Vec<Glob> = paths.iter().filter_map(|p| Glob::new(p)).collect();
                if globs.is_empty() {
                    f.error("paths", "expected at least one non-empty glob");
                    return None;
                }
                Some(globs)
            });
            let action = f.action(ALL_ACTIONS, Severity::RequireApproval);
            globs
                .zip(action)
                .map(|(globs, action)| Rule::ProtectedPath { globs, action })
        }
        "agent_allowlist" => {
            let allowed = f.string_list("allowed_action_types", true);
            let action = f.action(
                &[Severity::Warn, Severity::RequireApproval, Severity::Block],
                Severity::Warn,
            );
            allowed
                .zip(action)
                .map(|(allowed, action)| Rule::AgentAllowlist { allowed, action })
        }
        "rate_limit" => {
            let max_actions = match rules.get("max_actions") {
                None | Some(Value::Null) => {
                    f.note("max_actions", "missing; the server's default 50 applies");
                    Some(50.0)
                }
                Some(_) => f.number("max_actions", f64::MIN_POSITIVE, f64::MAX, "a number > 0"),
            };
            let window_minutes = match rules.get("window_minutes") {
                None | Some(Value::Null) => {
                    f.note("window_minutes", "missing; the server's default 60 applies");
                    Some(60)
                }
                Some(_) => f
                    .number("window_minutes", 1.0, f64::MAX, "a number of minutes >= 1")
                    .map(|w| {
                        if w > 10_080.0 {
                            f.note("window_minutes", "clamped to 10080 (one week)");
                        }
                        // The server takes the integer part, clamped to 1..=10080.
                        (w.trunc() as u64).clamp(1, 10_080)
                    }),
            };
            let action = f.action(ALL_ACTIONS, Severity::Warn);
            match (max_actions, window_minutes, action) {
                (Some(max_actions), Some(window_minutes), Some(action)) => Some(Rule::RateLimit {
                    max_actions,
                    window_minutes,
                    action,
                }),
                _ => None,
            }
        }
        "green_contract" => {
            let level = f.one_of(
                "required_level",
                &["targeted", "package", "workspace", "merge_ready"],
                true,
            );
            let action_types = f.string_list("action_types", true);
            let action = f.action(ALL_ACTIONS, Severity::Block);
            match (level, action_types, action) {
                (Some(required_level), Some(action_types), Some(action)) => {
                    Some(Rule::GreenContract {
                        required_level,
                        action_types,
                        action,
                    })
                }
                _ => None,
            }
        }
        "branch_freshness" => {
            let action_types = f.string_list("action_types", true);
            let freshness = match rules.get("freshness") {
                None | Some(Value::Null) => Some(vec!["stale".into(), "diverged".into()]),
                Some(_) => f.string_list("freshness", false),
            };
            let max_behind = match rules.get("max_commits_behind") {
                None | Some(Value::Null) => Some(0.0),
                Some(_) => f.number("max_commits_behind", 0.0, f64::MAX, "a number >= 0"),
            };
            let action = f.action(ALL_ACTIONS, Severity::Block);
            match (action_types, freshness, max_behind, action) {
                (Some(action_types), Some(freshness), Some(max_commits_behind), Some(action)) => {
                    Some(Rule::BranchFreshness {
                        action_types,
                        freshness,
                        max_commits_behind,
                        action,
                    })
                }
                _ => None,
            }
        }
        "egress_allow" => f.string_list("hosts", true).and_then(|hosts| {
            let bad = hosts.iter().find(|h| {
                h.is_empty()
                    || h.contains(['/', ' ', '@'])
                    || (h.contains('*') && (!h.starts_with("*.") || h[2..].contains('*')))
                    || *h == "*."
            });
            match bad {
                Some(h) => {
                    f.error(
                        "hosts",
                        &format!("\"{h}\" is not a host or `*.domain` glob"),
                    );
                    None
                }
                None => Some(Rule::EgressAllow {
                    hosts: hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
                }),
            }
        }),
        "allow_grant" => {
            let action_type = f.required_string("action_type");
            let target_prefix = f.opt_string("target_prefix", 256);
            let max_risk = match rules.get("max_risk") {
                None | Some(Value::Null) => Some(None),
                Some(_) => f.number("max_risk", 0.0, 100.0, "a number 0-100").map(Some),
            };
            let expires = grant_expiry(&mut f, policy);
            match (action_type, target_prefix, max_risk, expires) {
                (Some(action_type), Some(target_prefix), Some(max_risk), Some(expires_at_ms)) => {
                    Some(Rule::AllowGrant {
                        action_type,
                        target_prefix,
                        expires_at_ms,
                        max_risk,
                    })
                }
                _ => None,
            }
        }
        _ => {
            let rule = f.required_string("rule");
            if let Some(r) = &rule {
                if crate::catalog::by_id(r.as_str()).is_none() {
                    f.error(
                        "rule",
                        &format!("no built-in rule \"{r}\" (see `dashclawd policy list`)"),
                    );
                }
            }
            let action = match (&policy.origin, rules.get("action")) {
                (_, Some(_)) => f.action(ALL_ACTIONS, Severity::Block),
                (Origin::Builtin, None) => Some(Severity::Allow),
                (_, None) => {
                    f.error(
                        "action",
                        "required: the verdict this built-in rule should raise to",
                    );
                    None
                }
            };
            rule.zip(action)
                .map(|(rule, action)| Rule::BuiltinFinding { rule, action })
        }
    };
    c.errors = f.errors;
    c.notes = f.notes;
    c.rule = rule;
    c
}

/// `expires_at`, else `created_at` + 30 days; `Some(None)` = never expires.
fn grant_expiry(f: &mut Fields, policy: &Policy) -> Option<Option<i64>> {
    match f.rules.get("expires_at") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => {
            return match parse_iso_ms(s) {
                Some(ms) => Some(Some(ms)),
                None => {
                    f.error(
                        "expires_at",
                        "expected an ISO 8601 time, e.g. 2026-07-01T00:00:00Z",
                    );
                    None
                }
            }
        }
        Some(_) => {
            f.error(
                "expires_at",
                "expected an ISO 8601 time, e.g. 2026-07-01T00:00:00Z",
            );
            return None;
        }
    }
    match policy.created_at.as_deref().map(parse_iso_ms) {
        Some(Some(c)) => Some(Some(c.saturating_add(GRANT_DEFAULT_TTL_MS))),
        Some(None) => {
            f.error("created_at", "expected an ISO 8601 time");
            None
        }
        // A grant that can never lapse is how grants pile up; the server only has such rows
        // in tests, so only a server row may be ageless.
        None if policy.origin == Origin::Server => Some(None),
        None => {
            f.error(
                "expires_at",
                "required for a grant in a policy file (or set the policy's created_at: grants expire 30 days after it)",
            );
            None
        }
    }
}

struct Fields<'a> {
    rules: &'a Map<String, Value>,
    errors: Vec<(String, String)>,
    notes: Vec<(String, String)>,
}

impl Fields<'_> {
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

    #[test]
    fn defaults_are_the_servers_and_are_noted() {
        let c = compile(&policy("risk_threshold", json!({})));
        assert!(matches!(
            c.rule,
            Some(Rule::RiskThreshold { threshold, action: Severity::Block }) if threshold == 80.0
        ));
        assert_eq!(c.notes[0].0, "rules.threshold");

        let c = compile(&policy(
            "rate_limit",
            json!({"window_minutes": 99999, "typo": 1}),
        ));
        assert!(matches!(
            c.rule,
            Some(Rule::RateLimit { max_actions, window_minutes: 10_080, action: Severity::Warn }) if max_actions == 50.0
        ));
        let fields: Vec<&str> = c.notes.iter().map(|n| n.0.as_str()).collect();
        assert_eq!(
            fields,
            ["rules.typo", "rules.max_actions", "rules.window_minutes"]
        );

        let c = compile(&policy("protected_path", json!({"paths": ["**/.env", ""]})));
        assert!(
            matches!(c.rule, Some(Rule::ProtectedPath { ref globs, action: Severity::RequireApproval }) if globs.len() == 1)
        );
        let c = compile(&policy(
            "agent_allowlist",
            json!({"allowed_action_types": ["a"]}),
        ));
        assert!(matches!(
            c.rule,
            Some(Rule::AgentAllowlist {
                action: Severity::Warn,
                ..
            })
        ));
        let c = compile(&policy(
            "branch_freshness",
            json!({"action_types": ["deploy"]}),
        ));
        assert!(
            matches!(c.rule, Some(Rule::BranchFreshness { ref freshness, action: Severity::Block, .. }) if freshness == &["stale", "diverged"])
        );
        let c = compile(&policy(
            "block_action_type",
            json!({"action_types": ["deploy"], "ungrantable": true}),
        ));
        assert!(c.ungrantable);
    }

    #[test]
    fn grant_expiry_defaults_to_created_at_plus_30_days() {
        let mut p = policy("allow_grant", json!({"action_type": "api"}));
        p.created_at = Some("1970-01-01T00:00:00Z".into());
        assert!(matches!(
            compile(&p).rule,
            Some(Rule::AllowGrant {
                expires_at_ms: Some(GRANT_DEFAULT_TTL_MS),
                ..
            })
        ));
        p.rules = json!({"action_type": "api", "expires_at": "1970-01-02"});
        assert!(matches!(
            compile(&p).rule,
            Some(Rule::AllowGrant {
                expires_at_ms: Some(86_400_000),
                ..
            })
        ));
        // A server row with neither never expires; a file grant must say when it does.
        p.rules = json!({"action_type": "api"});
        p.created_at = None;
        assert!(matches!(
            compile(&p).rule,
            Some(Rule::AllowGrant {
                expires_at_ms: None,
                ..
            })
        ));
        p.origin = Origin::File {
            path: "policies.toml".into(),
            line: 1,
        };
        assert_eq!(compile(&p).errors[0].0, "rules.expires_at");
    }
}
