//! The user's policy file (`policies.toml`, format in docs/policies.md): parsing with
//! positions, loading, and `lint`.
//!
//! Two kinds of problem, on purpose:
//! - the file as a whole is broken (TOML syntax, unknown keys, a policy without a name, ...):
//!   nothing from it can be trusted, so the store keeps the last good version;
//! - a policy's `rules` are wrong (unknown type, bad field): that policy alone "cannot
//!   enforce", exactly as a server policy would, and every decision it applies to says so.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Number, Value};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::model::{file_label, Issue, Level, LoadedPolicy, Origin, Policy, Scope, Severity};
use super::tests_spec as testing;

/// An example hook event with the verdict it must get (`[[example]]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub name: String,
    /// The agent's tool name (`Bash`, `Write`, `mcp__x__y`, ...).
    pub tool: String,
    /// The tool's input, as the agent sends it.
    pub input: Value,
    pub agent_id: Option<String>,
    pub agent_type: Option<String>,
    pub cwd: Option<String>,
    pub expect: Severity,
    pub line: usize,
}

/// A parsed file: policies in file order, with where each field was written.
#[derive(Debug, Clone)]
pub struct ParsedFile {
    pub path: PathBuf,
    pub policies: Vec<Policy>,
    pub examples: Vec<Example>,
    positions: Vec<Positions>,
    /// Problems in `[[example]]` tables: they never stop the policies from loading.
    pub example_issues: Vec<Issue>,
}

/// Field path (`rules.threshold`, `rules.tests[0].expect`) → line.
#[derive(Debug, Clone, Default)]
struct Positions {
    start: usize,
    fields: HashMap<String, usize>,
}

impl Positions {
    /// The line of a field, else of its nearest written ancestor, else of the policy.
    fn line_of(&self, field: &str) -> usize {
        let mut f = field;
        loop {
            if let Some(&l) = self.fields.get(f) {
                return l;
            }
            match f.rfind(['.', '[']) {
                Some(i) => f = &f[..i],
                None => return self.start,
            }
        }
    }
}

/// What `lint` found.
#[derive(Debug, Clone)]
pub struct LintReport {
    pub path: PathBuf,
    /// No file there (not an error: there are simply no user policies).
    pub missing: bool,
    pub policies: usize,
    pub issues: Vec<Issue>,
}

impl LintReport {
    pub fn errors(&self) -> usize {
        self.issues
            .iter()
            .filter(|i| i.level == Level::Error)
            .count()
    }
}

struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Lines(starts)
    }
    fn of(&self, offset: usize) -> usize {
        match self.0.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

/// Parses a policy file. `Err` lists why the file as a whole cannot be used.
pub fn parse_file(path: &Path, text: &str) -> Result<ParsedFile, Vec<Issue>> {
    let label = file_label(path);
    let lines = Lines::new(text);
    let issue =
        |line: Option<usize>, policy: Option<&str>, field: Option<&str>, msg: String| Issue {
            level: Level::Error,
            source: Some(label.clone()),
            line,
            policy: policy.map(str::to_owned),
            field: field.map(str::to_owned),
            message: msg,
        };
    let root = match DeTable::parse(text) {
        Ok(t) => t,
        Err(e) => {
            let line = e.span().map(|s| lines.of(s.start));
            let msg = e.message().trim().to_owned();
            return Err(vec![issue(
                line,
                None,
                None,
                format!("not valid TOML: {msg}"),
            )]);
        }
    };
    let mut errors = Vec::new();
    let mut out = ParsedFile {
        path: path.to_owned(),
        policies: Vec::new(),
        examples: Vec::new(),
        positions: Vec::new(),
        example_issues: Vec::new(),
    };
    for (key, value) in root.get_ref().iter() {
        let k: &str = key.get_ref();
        let line = lines.of(key.span().start);
        let tables = match value.get_ref() {
            DeValue::Array(a) if a.iter().all(|t| t.get_ref().is_table()) => a,
            _ if k == "policy" || k == "example" => {
                errors.push(issue(
                    Some(line),
                    None,
                    Some(k),
                    format!("expected [[{k}]] tables"),
                ));
                continue;
            }
            _ => {
                errors.push(issue(
                    Some(line),
                    None,
                    Some(k),
                    "unknown top-level key (expected [[policy]] or [[example]] tables)".into(),
                ));
                continue;
            }
        };
        match k {
            "policy" => {
                for t in tables.iter() {
                    let DeValue::Table(table) = t.get_ref() else {
                        continue;
                    };
                    let start = lines.of(t.span().start);
                    match read_policy(path, table, start, &lines, &label) {
                        Ok((p, pos)) => {
                            out.policies.push(p);
                            out.positions.push(pos);
                        }
                        Err(mut e) => errors.append(&mut e),
                    }
                }
            }
            "example" => {
                for t in tables.iter() {
                    let DeValue::Table(table) = t.get_ref() else {
                        continue;
                    };
                    let start = lines.of(t.span().start);
                    match read_example(table, start, &lines, &label) {
                        Ok(ex) => out.examples.push(ex),
                        Err(e) => out.example_issues.push(e),
                    }
                }
            }
            _ => {
                errors.push(issue(
                    Some(line),
                    None,
                    Some(k),
                    "unknown top-level key (expected [[policy]] or [[example]] tables)".into(),
                ));
            }
        }
    }
    // Names and ids must be unique: reasons and matched_policies name them.
    for (i, p) in out.policies.iter().enumerate() {
        let line = out.positions[i].start;
        if out.policies[..i].iter().any(|q| q.name == p.name) {
            errors.push(issue(
                Some(line),
                Some(&p.name),
                Some("name"),
                "another policy already has this name".into(),
            ));
        } else if out.policies[..i].iter().any(|q| q.id == p.id) {
            errors.push(issue(
                Some(line),
                Some(&p.name),
                Some("id"),
                format!("another policy already has id \"{}\"", p.id),
            ));
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        errors.sort_by_key(|i| i.line);
        Err(errors)
    }
}

const POLICY_KEYS: &[&str] = &[
    "id",
    "name",
    "policy_type",
    "active",
    "agent_ids",
    "rules",
    "created_at",
    "description",
];

fn read_policy(
    path: &Path,
    table: &DeTable,
    start: usize,
    lines: &Lines,
    label: &str,
) -> Result<(Policy, Positions), Vec<Issue>> {
    let mut pos = Positions {
        start,
        fields: HashMap::new(),
    };
    let mut fields: HashMap<&str, (Value, usize)> = HashMap::new();
    let mut errors: Vec<(usize, &str, String)> = Vec::new();
    for (key, value) in table.iter() {
        let k: &str = key.get_ref();
        let line = lines.of(key.span().start);
        if !POLICY_KEYS.contains(&k) {
            errors.push((
                line,
                "",
                format!("unknown key \"{k}\" in [[policy]] (rule fields go in [policy.rules])"),
            ));
            continue;
        }
        let v = to_json(value, k, lines, &mut pos.fields);
        pos.fields.insert(k.to_owned(), line);
        fields.insert(k, (v, line));
    }
    let text = |k: &str| {
        fields
            .get(k)
            .and_then(|(v, _)| v.as_str())
            .map(str::to_owned)
    };
    let name = text("name").filter(|n| !n.trim().is_empty());
    let shown = name.clone();
    let mut need_string = |k: &'static str, required: bool| -> Option<String> {
        match fields.get(k) {
            Some((Value::String(s), _)) if !s.trim().is_empty() => Some(s.clone()),
            Some((_, line)) => {
                errors.push((*line, k, "expected a non-empty string".into()));
                None
            }
            None if required => {
                errors.push((start, k, "missing".into()));
                None
            }
            None => None,
        }
    };
    let name_checked = need_string("name", true);
    let policy_type = need_string("policy_type", true);
    let id = need_string("id", false);
    let created_at = match fields.get("created_at") {
        None => None,
        Some((Value::String(s), line)) => {
            if super::types::parse_iso_ms(s).is_none() {
                errors.push((*line, "created_at", "expected an ISO 8601 time".into()));
            }
            Some(s.clone())
        }
        Some((_, line)) => {
            errors.push((*line, "created_at", "expected an ISO 8601 time".into()));
            None
        }
    };
    let active = match fields.get("active") {
        None => true,
        Some((Value::Bool(b), _)) => *b,
        Some((Value::Number(n), _)) if n.as_i64() == Some(0) => false,
        Some((Value::Number(n), _)) if n.as_i64() == Some(1) => true,
        Some((_, line)) => {
            errors.push((*line, "active", "expected true or false".into()));
            true
        }
    };
    let agent_ids = fields
        .get("agent_ids")
        .map_or(Value::Null, |(v, _)| v.clone());
    if let (Scope::Malformed(why), Some((_, line))) =
        (Scope::from_value(&agent_ids), fields.get("agent_ids"))
    {
        errors.push((
            *line,
            "agent_ids",
            format!("{why} (expected e.g. [\"claude-code\"])"),
        ));
    }
    let rules = fields
        .get("rules")
        .map_or(Value::Object(Map::new()), |(v, _)| v.clone());
    if !errors.is_empty() {
        return Err(errors
            .into_iter()
            .map(|(line, field, message)| Issue {
                level: Level::Error,
                source: Some(label.to_owned()),
                line: Some(line),
                policy: shown.clone(),
                field: (!field.is_empty()).then(|| field.to_owned()),
                message,
            })
            .collect());
    }
    let name = name_checked.unwrap_or_default();
    Ok((
        Policy {
            id: id.unwrap_or_else(|| format!("local:{name}")),
            name,
            policy_type: policy_type.unwrap_or_default(),
            rules,
            agent_ids,
            active,
            created_at,
            origin: Origin::File {
                path: path.to_owned(),
                line: start,
            },
        },
        pos,
    ))
}

const EXAMPLE_KEYS: &[&str] = &[
    "name",
    "tool",
    "input",
    "command",
    "agent_id",
    "agent_type",
    "cwd",
    "expect",
];

fn read_example(
    table: &DeTable,
    start: usize,
    lines: &Lines,
    label: &str,
) -> Result<Example, Issue> {
    let mut scratch = HashMap::new();
    let mut fields: HashMap<&str, (Value, usize)> = HashMap::new();
    let err = |line: usize, field: &str, message: String| Issue {
        level: Level::Error,
        source: Some(label.to_owned()),
        line: Some(line),
        policy: None,
        field: Some(format!("example.{field}")),
        message,
    };
    for (key, value) in table.iter() {
        let k: &str = key.get_ref();
        let line = lines.of(key.span().start);
        if !EXAMPLE_KEYS.contains(&k) {
            return Err(err(line, k, "unknown key in [[example]]".into()));
        }
        fields.insert(k, (to_json(value, k, lines, &mut scratch), line));
    }
    let s = |k: &str| {
        fields
            .get(k)
            .and_then(|(v, _)| v.as_str())
            .map(str::to_owned)
    };
    let line = |k: &str| fields.get(k).map_or(start, |(_, l)| *l);
    let name = s("name").unwrap_or_else(|| format!("example at line {start}"));
    let (tool, input) = match (s("command"), s("tool")) {
        (Some(cmd), None) => ("Bash".to_owned(), serde_json::json!({ "command": cmd })),
        (None, Some(tool)) => match fields.get("input") {
            Some((v @ Value::Object(_), _)) => (tool, v.clone()),
            None => (tool, Value::Object(Map::new())),
            Some((_, l)) => {
                return Err(err(
                    *l,
                    "input",
                    "expected a table (the tool's input)".into(),
                ))
            }
        },
        (Some(_), Some(_)) => {
            return Err(err(
                line("command"),
                "command",
                "give either command or tool + input, not both".into(),
            ))
        }
        (None, None) => {
            return Err(err(
                start,
                "tool",
                "missing: give command = \"...\" or tool = \"...\" with input".into(),
            ))
        }
    };
    let expect = match s("expect").as_deref().map(Severity::parse) {
        Some(Some(sev)) => sev,
        _ => {
            return Err(err(
                line("expect"),
                "expect",
                "expected one of allow, warn, allow_contained, require_approval, block".into(),
            ))
        }
    };
    Ok(Example {
        name,
        tool,
        input,
        agent_id: s("agent_id"),
        agent_type: s("agent_type"),
        cwd: s("cwd"),
        expect,
        line: start,
    })
}

/// TOML → JSON, recording where each nested field was written.
fn to_json(
    v: &Spanned<DeValue>,
    path: &str,
    lines: &Lines,
    at: &mut HashMap<String, usize>,
) -> Value {
    at.insert(path.to_owned(), lines.of(v.span().start));
    match v.get_ref() {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix())
            .map(Value::from)
            .unwrap_or_else(|_| {
                i.as_str()
                    .parse::<f64>()
                    .ok()
                    .and_then(Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }),
        // NaN and infinities have no JSON form: `null` fails every number check.
        DeValue::Float(f) => f
            .as_str()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or(Value::Null, Value::Number),
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(d) => Value::String(d.to_string()),
        DeValue::Array(a) => Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, e)| to_json(e, &format!("{path}[{i}]"), lines, at))
                .collect(),
        ),
        DeValue::Table(t) => Value::Object(
            t.iter()
                .map(|(k, e)| {
                    let key: &str = k.get_ref();
                    let child = format!("{path}.{key}");
                    at.insert(child.clone(), lines.of(k.span().start));
                    let v = to_json(e, &child, lines, at);
                    // The key's line is the more useful one for a value spanning lines.
                    at.insert(child, lines.of(k.span().start));
                    (key.to_owned(), v)
                })
                .collect(),
        ),
    }
}

impl ParsedFile {
    /// Per-policy problems (cannot-enforce errors and warnings) and test-definition problems,
    /// each at the line of its field.
    pub fn issues(&self) -> Vec<Issue> {
        let label = file_label(&self.path);
        let mut out = Vec::new();
        for (p, pos) in self.policies.iter().zip(&self.positions) {
            let loaded = LoadedPolicy::new(p.clone());
            let compiled = super::types::compile(p);
            let mut push = |level: Level, field: &str, message: String| {
                let field = if field.is_empty() {
                    None
                } else {
                    Some(field.to_owned())
                };
                out.push(Issue {
                    level,
                    source: Some(label.clone()),
                    line: Some(field.as_deref().map_or(pos.start, |f| pos.line_of(f))),
                    policy: Some(p.name.clone()),
                    field,
                    message,
                });
            };
            for (field, msg) in &compiled.errors {
                push(Level::Error, field, msg.clone());
            }
            for (field, msg) in &loaded.notes {
                push(Level::Warning, field, msg.clone());
            }
            if !p.active {
                continue;
            }
            if let Ok(rules) = super::types::rules_object(&p.rules) {
                for (field, msg) in testing::parse_tests(&rules).1 {
                    push(Level::Error, &field, msg);
                }
            }
        }
        out.extend(self.example_issues.iter().cloned());
        out
    }
}

/// Lints a policy file given as text.
pub fn lint_str(path: &Path, text: &str) -> LintReport {
    match parse_file(path, text) {
        Ok(parsed) => LintReport {
            path: path.to_owned(),
            missing: false,
            policies: parsed.policies.len(),
            issues: parsed.issues(),
        },
        Err(issues) => LintReport {
            path: path.to_owned(),
            missing: false,
            policies: 0,
            issues,
        },
    }
}

/// Lints the policy file at `path`; a missing file is reported as such, not as an error.
pub fn lint_file(path: &Path) -> LintReport {
    match std::fs::read(path) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => lint_str(path, &text),
            Err(_) => LintReport {
                path: path.to_owned(),
                missing: false,
                policies: 0,
                issues: vec![Issue {
                    level: Level::Error,
                    source: Some(file_label(path)),
                    line: None,
                    policy: None,
                    field: None,
                    message: "not valid UTF-8".into(),
                }],
            },
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => LintReport {
            path: path.to_owned(),
            missing: true,
            policies: 0,
            issues: Vec::new(),
        },
        Err(e) => LintReport {
            path: path.to_owned(),
            missing: false,
            policies: 0,
            issues: vec![Issue {
                level: Level::Error,
                source: Some(file_label(path)),
                line: None,
                policy: None,
                field: None,
                message: format!("cannot read it: {e}"),
            }],
        },
    }
}

/// Loads the file for enforcement: `Ok(None)` when there is none, `Err` with a one-line
/// explanation when it is broken.
pub fn load_file(path: &Path) -> Result<Option<ParsedFile>, String> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: cannot read it: {e}", path.display())),
    };
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{}: not valid UTF-8", path.display()))?;
    parse_file(path, &text).map(Some).map_err(|issues| {
        let mut msg: Vec<String> = issues.iter().take(3).map(|i| i.to_string()).collect();
        if issues.len() > 3 {
            msg.push(format!(
                "and {} more (`dashclawd policy lint`)",
                issues.len() - 3
            ));
        }
        msg.join("; ")
    })
}

#[cfg(test)]
mod tests;
