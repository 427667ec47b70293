//! Secret redaction applied before anything reaches the local ledger, a log or the server.
//!
//! # How it finds secrets
//!
//! The catalogue (`rules.rs`, about 390 rules) is a table of rules: id, keywords, a bytes regex,
//! an optional entropy floor and placeholder allowlists. Every keyword of every rule goes into
//! one ASCII-case-insensitive Aho-Corasick automaton, so text without any keyword costs one
//! linear scan and comes back borrowed. Each keyword hit runs only the rules owning that keyword,
//! as an *anchored* search starting at the hit (every pattern starts with one of its keywords;
//! the few that cannot declare a `lead`, a bounded distance back to start from), so a failed
//! candidate costs a handful of bytes and a match never reads more than the rule's `max_len`.
//! Regexes are compiled lazily, per rule, on the first hit of one of their keywords.
//!
//! # What it replaces
//!
//! Only the secret part (a capture group named `s…`, else the whole match) becomes
//! `[REDACTED:<rule-id>]`: the password of a URL, the value of `password=…`, the credential
//! after `Bearer`. Overlapping hits merge into one marker so no byte of a detected secret
//! survives; spans are widened to UTF-8 boundaries. Candidates touching an earlier marker are
//! rejected, which makes redaction idempotent.
//!
//! Because a match depends only on the bytes from one before its start to one after its end,
//! [`StreamRedactor`] gives exactly the whole-input result as long as it keeps a carry-over of
//! the longest possible match ([`MAX_WINDOW`]).

mod rules;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{LazyLock, OnceLock};

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex_automata::util::syntax;
use regex_automata::{meta, Anchored, Input};
use serde_json::Value;

use rules::{Builtin, Check, BUILTINS};

/// Start of every replacement; no candidate touching it is ever accepted.
const MARKER_PREFIX: &[u8] = b"[REDACTED:";

/// Longest match any rule may produce (and so the streaming carry-over).
pub const MAX_WINDOW: usize = 64 * 1024;
/// Bytes of already-emitted text a stream keeps for look-behind (`\b`, key names).
const LEFT_CONTEXT: usize = 256;

/// Rule id used for JSON values that are secret because of their key.
const GENERIC_ID: &str = "generic-secret";
/// Rule id used for JSON `Authorization` header values.
const AUTH_HEADER_ID: &str = "authorization-header";

/// Errors from building an [`Engine`] with a user configuration.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("redact rule {id:?}: invalid pattern: {message}")]
    BadPattern { id: String, message: String },
    #[error("redact rule {id:?}: {message}")]
    BadRule { id: String, message: String },
    #[error("redact: unknown rule id {0:?} in `disabled`")]
    UnknownDisabled(String),
}

/// The `[redact]` table of `config.toml`.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedactConfig {
    /// Ids of built-in (or user) rules to switch off.
    pub disabled: Vec<String>,
    /// Extra rules, checked after the built-ins.
    pub rules: Vec<UserRule>,
}

/// A rule from the configuration.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRule {
    /// Used in the marker; `[a-z0-9._-]+`, not the id of a built-in.
    pub id: String,
    #[serde(default)]
    pub description: String,
    /// ASCII literals; the rule runs where one occurs (case-insensitively). The match must start
    /// at most `lead` bytes before the keyword.
    pub keywords: Vec<String>,
    /// Bytes regex (Unicode classes off unless enabled with `(?u)`). A capture group whose name
    /// starts with `s` is the secret; otherwise the whole match is.
    pub pattern: String,
    /// Minimum Shannon entropy (bits per byte) of the secret; 0 = no floor.
    #[serde(default)]
    pub entropy: f32,
    /// How far before a keyword the match may start (default 0: at the keyword).
    #[serde(default)]
    pub lead: usize,
}

/// What a caller may learn about a rule (never anything matched).
#[derive(Debug, Clone)]
pub struct RuleInfo {
    pub id: String,
    pub family: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub entropy: f32,
    pub builtin: bool,
    /// Test template (`«…»` around the secret, `{h:32}` for generated parts); built-ins only.
    #[doc(hidden)]
    pub sample: &'static str,
    /// Near-miss template that must not be reported by this rule; may be empty.
    #[doc(hidden)]
    pub near: &'static str,
}

/// One detection: the byte range of the secret and the rule that named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub range: Range<usize>,
    pub rule: String,
}

struct Rule {
    id: Cow<'static, str>,
    family: Cow<'static, str>,
    description: Cow<'static, str>,
    keywords: Vec<Cow<'static, str>>,
    pattern: Cow<'static, str>,
    entropy: f32,
    check: Check,
    lead: usize,
    max_len: usize,
    /// Extra placeholders for this rule (lowercase).
    allow: &'static [&'static str],
    builtin: Option<&'static Builtin>,
    compiled: OnceLock<Option<Compiled>>,
}

struct Compiled {
    regex: meta::Regex,
    /// Groups holding the secret, in priority order; empty: whole match.
    secret_groups: Vec<usize>,
    bare_group: Option<usize>,
    /// `k`: the key name (from the keyword to the operator) of an assignment rule.
    key_group: Option<usize>,
    /// `op`: the assignment operator, with any closing quote of the key before it.
    op_group: Option<usize>,
    /// `sx`: an XML element's text.
    xml_group: Option<usize>,
}

fn compile(pattern: &str) -> Result<Compiled, String> {
    let regex = meta::Builder::new()
        .configure(
            meta::Config::new()
                .utf8_empty(false)
                // Searches are anchored at keywords; a prefilter would only cost build time.
                .auto_prefilter(false)
                .nfa_size_limit(Some(4 << 20)),
        )
        .syntax(syntax::Config::new().unicode(false).utf8(false))
        .build(pattern)
        .map_err(|e| e.to_string())?;
    let names: Vec<(usize, String)> = regex
        .group_info()
        .pattern_names(regex_automata::PatternID::ZERO)
        .enumerate()
        .filter_map(|(i, n)| n.map(|n| (i, n.to_owned())))
        .collect();
    let secret_groups = names
        .iter()
        .filter(|(_, n)| n.starts_with('s'))
        .map(|(i, _)| *i)
        .collect();
    let group = |name: &str| names.iter().find(|(_, n)| n == name).map(|(i, _)| *i);
    Ok(Compiled {
        regex,
        secret_groups,
        bare_group: group("sb"),
        key_group: group("k"),
        op_group: group("op"),
        xml_group: group("sx"),
    })
}

impl Rule {
    fn from_builtin(b: &'static Builtin) -> Self {
        Rule {
            id: Cow::Borrowed(b.id),
            family: Cow::Borrowed(b.family),
            description: Cow::Borrowed(b.description),
            keywords: b.keywords.iter().map(|k| Cow::Borrowed(*k)).collect(),
            pattern: Cow::Borrowed(b.pattern),
            entropy: b.entropy,
            check: b.check,
            lead: b.lead,
            max_len: b.max_len,
            allow: b.allow,
            builtin: Some(b),
            compiled: OnceLock::new(),
        }
    }

    fn compiled(&self) -> Option<&Compiled> {
        self.compiled
            .get_or_init(|| compile(&self.pattern).ok())
            .as_ref()
    }

    fn info(&self) -> RuleInfo {
        RuleInfo {
            id: self.id.to_string(),
            family: self.family.to_string(),
            description: self.description.to_string(),
            keywords: self.keywords.iter().map(|k| k.to_string()).collect(),
            entropy: self.entropy,
            builtin: self.builtin.is_some(),
            sample: self.builtin.map_or("", |b| b.sample),
            near: self.builtin.map_or("", |b| b.near),
        }
    }
}

/// A compiled rule set. Cheap to share; searches take `&self`.
pub struct Engine {
    rules: Vec<Rule>,
    keywords: AhoCorasick,
    /// Aho-Corasick pattern id → rules owning that keyword.
    keyword_rules: Vec<Vec<u32>>,
    /// Longest `lead + max_len` of any rule: what a stream must carry over.
    carry: usize,
}

static DEFAULT: LazyLock<Engine> = LazyLock::new(Engine::new);
/// The daemon's engine with the user's `[redact]` rules; replaced when config.toml changes.
static CONFIGURED: std::sync::RwLock<Option<&'static Engine>> = std::sync::RwLock::new(None);

/// The engine behind the free functions: the one installed with [`install_default`] (the
/// daemon's, with the user's `[redact]` rules), else the built-in catalogue, built on first use.
pub fn default_engine() -> &'static Engine {
    let configured = *CONFIGURED.read().unwrap_or_else(|p| p.into_inner());
    configured.unwrap_or(&DEFAULT)
}

/// Makes `engine` (`None`: the built-in catalogue) the one behind the free functions; the
/// next redaction uses it. Callers hold `&'static Engine` (streams, log lines in flight), so a
/// replaced engine is never freed: one per applied `[redact]` change, which only an edit of
/// config.toml makes.
pub fn install_default(engine: Option<Engine>) {
    let engine: Option<&'static Engine> = engine.map(|e| &*Box::leak(Box::new(e)));
    *CONFIGURED.write().unwrap_or_else(|p| p.into_inner()) = engine;
}

impl Default for Engine {
    fn default() -> Self {
        Self::new()
    }
}

impl Engine {
    /// The built-in catalogue. Regexes compile lazily (see [`Engine::compile_all`]).
    pub fn new() -> Self {
        let rules = BUILTINS.iter().map(Rule::from_builtin).collect();
        // Built-in keywords are checked by tests, so this cannot fail.
        Self::assemble(rules).unwrap_or_else(|_| Self::empty())
    }

    fn empty() -> Self {
        Engine {
            rules: Vec::new(),
            keywords: AhoCorasick::new(["\u{0}never"]).expect("trivial automaton"),
            keyword_rules: vec![Vec::new()],
            carry: 0,
        }
    }

    /// Built-ins minus `disabled`, plus the user's rules (compiled now, so errors surface here).
    pub fn with_config(config: &RedactConfig) -> Result<Self, Error> {
        let mut rules: Vec<Rule> = BUILTINS.iter().map(Rule::from_builtin).collect();
        for user in &config.rules {
            let fail = |message: String| Error::BadRule {
                id: user.id.clone(),
                message,
            };
            if user.id.is_empty()
                || !user
                    .id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            {
                return Err(fail("id must be non-empty [a-z0-9._-]".into()));
            }
            if rules.iter().any(|r| r.id == user.id) {
                return Err(fail("id already used by another rule".into()));
            }
            if user.keywords.is_empty() {
                return Err(fail("needs at least one keyword".into()));
            }
            if let Some(k) = user.keywords.iter().find(|k| k.is_empty() || !k.is_ascii()) {
                return Err(fail(format!("keyword {k:?} must be non-empty ASCII")));
            }
            if !(0.0..=8.0).contains(&user.entropy) {
                return Err(fail("entropy must be between 0 and 8 bits".into()));
            }
            if user.lead > 1024 {
                return Err(fail("lead must be at most 1024 bytes".into()));
            }
            let compiled = compile(&user.pattern).map_err(|message| Error::BadPattern {
                id: user.id.clone(),
                message,
            })?;
            let lock = OnceLock::new();
            let _ = lock.set(Some(compiled));
            rules.push(Rule {
                id: Cow::Owned(user.id.clone()),
                family: Cow::Borrowed("user"),
                description: Cow::Owned(user.description.clone()),
                keywords: user
                    .keywords
                    .iter()
                    .map(|k| Cow::Owned(k.to_ascii_lowercase()))
                    .collect(),
                pattern: Cow::Owned(user.pattern.clone()),
                entropy: user.entropy,
                check: Check::Plain,
                lead: user.lead,
                max_len: 4096,
                allow: &[],
                builtin: None,
                compiled: lock,
            });
        }
        for id in &config.disabled {
            if !rules.iter().any(|r| r.id == *id) {
                return Err(Error::UnknownDisabled(id.clone()));
            }
        }
        rules.retain(|r| !config.disabled.iter().any(|d| *d == r.id));
        Self::assemble(rules)
    }

    fn assemble(rules: Vec<Rule>) -> Result<Self, Error> {
        if rules.is_empty() {
            return Ok(Self::empty());
        }
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut keyword_rules: Vec<Vec<u32>> = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            for kw in &rule.keywords {
                let kw = kw.to_ascii_lowercase();
                let slot = *index.entry(kw.clone()).or_insert_with(|| {
                    patterns.push(kw);
                    keyword_rules.push(Vec::new());
                    patterns.len() - 1
                });
                if !keyword_rules[slot].contains(&(i as u32)) {
                    keyword_rules[slot].push(i as u32);
                }
            }
        }
        let keywords = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&patterns)
            .map_err(|e| Error::BadRule {
                id: "<keywords>".into(),
                message: e.to_string(),
            })?;
        let carry = rules
            .iter()
            .map(|r| r.lead + r.max_len + 2)
            .max()
            .unwrap_or(0)
            .min(MAX_WINDOW + 2048);
        Ok(Engine {
            rules,
            keywords,
            keyword_rules,
            carry,
        })
    }

    /// Compiles every rule now (the daemon may call this at start to keep first hits fast).
    /// Returns the ids of rules whose pattern does not compile (none for the built-ins).
    pub fn compile_all(&self) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|r| r.compiled().is_none())
            .map(|r| &*r.id)
            .collect()
    }

    /// The active rules, in priority order.
    pub fn rules(&self) -> Vec<RuleInfo> {
        self.rules.iter().map(Rule::info).collect()
    }

    /// Secret spans, sorted, merged, each with the index of the rule naming it.
    fn spans(&self, hay: &[u8]) -> Vec<(Range<usize>, usize)> {
        let mut attempts: Vec<(usize, u32)> = Vec::new();
        for m in self.keywords.find_overlapping_iter(hay) {
            for &rule in &self.keyword_rules[m.pattern().as_usize()] {
                attempts.push((m.start(), rule));
            }
        }
        if attempts.is_empty() {
            return Vec::new();
        }
        attempts.sort_unstable();
        attempts.dedup();
        let mut hits = Vec::new();
        for (at, rule) in attempts {
            if let Some(secret) = self.try_rule(rule as usize, hay, at) {
                hits.push((secret, rule as usize));
            }
        }
        merge(hits)
    }

    /// Runs one rule at one keyword hit; the accepted secret span.
    fn try_rule(&self, index: usize, hay: &[u8], at: usize) -> Option<Range<usize>> {
        let rule = &self.rules[index];
        let compiled = rule.compiled()?;
        let start = at.saturating_sub(rule.lead);
        let end = hay.len().min(at + rule.max_len);
        if start >= end {
            return None;
        }
        let anchored = if rule.lead == 0 {
            Anchored::Yes
        } else {
            Anchored::No
        };
        let input = Input::new(hay).span(start..end).anchored(anchored);
        let mut ctx = Assignment::default();
        let (whole, secret, bare) = if compiled.secret_groups.is_empty() {
            let m = compiled.regex.search(&input)?;
            (m.range(), m.range(), false)
        } else {
            let mut caps = compiled.regex.create_captures();
            compiled.regex.search_captures(&input, &mut caps);
            let whole = caps.get_match()?.range();
            let (group, span) = compiled
                .secret_groups
                .iter()
                .find_map(|&g| caps.get_group(g).map(|s| (g, s)))?;
            let get = |g: Option<usize>| g.and_then(|g| caps.get_group(g)).map(|s| s.range());
            ctx = Assignment {
                key: get(compiled.key_group),
                op: get(compiled.op_group),
                xml: Some(group) == compiled.xml_group,
            };
            (whole, span.range(), Some(group) == compiled.bare_group)
        };
        // A lead rule's match must contain the keyword that triggered it; others find their own.
        if whole.start > at {
            return None;
        }
        let mut secret = widen_to_chars(hay, secret);
        if rule.check == Check::KubeSecret {
            secret.end = kube_block_end(hay, whole.start, &secret);
        }
        // A name that ran into a secret redacted since (`<token>DB_PASSWORD=…`) was judged on
        // bytes a second pass cannot see, so it counts as touching the marker.
        let lo = ctx
            .key
            .as_ref()
            .map_or(whole.start, |key| name_start(hay, key).min(whole.start));
        if secret.is_empty() || touches_marker(hay, lo.min(secret.start), whole.end.max(secret.end))
        {
            return None;
        }
        let value = &hay[secret.clone()];
        if rule.entropy > 0.0 && entropy(value) < rule.entropy {
            return None;
        }
        if !matches!(rule.check, Check::NoPlaceholders | Check::KubeSecret)
            && is_placeholder(value, rule.allow)
        {
            return None;
        }
        if rule.check == Check::Generic
            && !(generic_value(hay, &secret, bare) && assignment_ok(hay, &ctx, &secret, bare))
        {
            return None;
        }
        if rule.check == Check::KubeSecret && !kube_secret_ok(hay, &whole, &secret) {
            return None;
        }
        if rule.check == Check::Token && !token_like(value) {
            return None;
        }
        Some(secret)
    }

    /// All findings in `text`, in order (secret ranges are byte offsets into `text`).
    pub fn find(&self, text: &[u8]) -> Vec<Finding> {
        self.spans(text)
            .into_iter()
            .map(|(range, rule)| Finding {
                range,
                rule: self.rules[rule].id.to_string(),
            })
            .collect()
    }

    /// Ids of the rules that named a finding, each once, in rule order.
    pub fn find_rules(&self, text: &str) -> Vec<&str> {
        let mut seen = vec![false; self.rules.len()];
        for (_, rule) in self.spans(text.as_bytes()) {
            seen[rule] = true;
        }
        self.rules
            .iter()
            .zip(seen)
            .filter(|(_, s)| *s)
            .map(|(r, _)| &*r.id)
            .collect()
    }

    /// Replaces every secret with `[REDACTED:<rule-id>]`; borrowed when nothing matched.
    pub fn redact_str<'t>(&self, text: &'t str) -> Cow<'t, str> {
        match self.redact_bytes(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            // Spans are widened to char boundaries and markers are ASCII.
            Cow::Owned(bytes) => Cow::Owned(
                String::from_utf8(bytes)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            ),
        }
    }

    /// [`Engine::redact_str`] for bytes that may not be UTF-8.
    pub fn redact_bytes<'t>(&self, text: &'t [u8]) -> Cow<'t, [u8]> {
        let spans = self.spans(text);
        if spans.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = Vec::with_capacity(text.len());
        self.write_redacted(text, 0..text.len(), &spans, &mut out);
        Cow::Owned(out)
    }

    fn write_redacted(
        &self,
        text: &[u8],
        range: Range<usize>,
        spans: &[(Range<usize>, usize)],
        out: &mut Vec<u8>,
    ) {
        let mut last = range.start;
        for (span, rule) in spans {
            if span.end <= range.start || span.start >= range.end {
                continue;
            }
            let (s, e) = (span.start.max(range.start), span.end.min(range.end));
            out.extend_from_slice(&text[last..s]);
            // Keep the line count: a key block becomes as many line breaks, then its marker.
            out.extend(text[s..e].iter().filter(|&&b| b == b'\n'));
            out.extend_from_slice(MARKER_PREFIX);
            out.extend_from_slice(self.rules[*rule].id.as_bytes());
            out.push(b']');
            last = e;
        }
        out.extend_from_slice(&text[last..range.end]);
    }

    /// Redacts inside every string value and object key of a JSON document, in place.
    ///
    /// Besides the text rules, a value is secret because of its key: `{"password": "..."}`
    /// and `{"Authorization": "Bearer ..."}` are redacted even when the value alone looks
    /// harmless. The document stays valid: only string contents change.
    pub fn redact_json(&self, value: &mut Value) {
        self.redact_json_at(value, &mut |_, _| {});
    }

    /// [`Engine::redact_json`] that also reports each redaction as (JSON pointer, rule id).
    pub fn redact_json_report(&self, value: &mut Value) -> Vec<(String, String)> {
        let mut found = Vec::new();
        let mut report = |path: &str, rule: &str| found.push((path.to_owned(), rule.to_owned()));
        self.walk(value, &mut String::new(), &mut report);
        found
    }

    fn redact_json_at(&self, value: &mut Value, report: &mut dyn FnMut(&str, &str)) {
        self.walk(value, &mut String::new(), report);
    }

    fn walk(&self, value: &mut Value, path: &mut String, report: &mut dyn FnMut(&str, &str)) {
        match value {
            Value::String(s) => self.redact_string(None, s, path, report),
            Value::Array(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("/{i}"));
                    self.walk(item, path, report);
                    path.truncate(len);
                }
            }
            Value::Object(map) => {
                for (key, item) in map.iter_mut() {
                    let len = path.len();
                    path.push('/');
                    path.push_str(&key.replace('~', "~0").replace('/', "~1"));
                    match item {
                        Value::String(s) => self.redact_string(Some(key), s, path, report),
                        other => self.walk(other, path, report),
                    }
                    path.truncate(len);
                }
                if map.keys().any(|k| !self.spans(k.as_bytes()).is_empty()) {
                    let old = std::mem::take(map);
                    for (key, item) in old {
                        let spans = self.spans(key.as_bytes());
                        for (_, rule) in &spans {
                            report(path, &self.rules[*rule].id);
                        }
                        let base = self.redact_str(&key).into_owned();
                        // Two secret keys may collapse to the same marker; keep both.
                        let mut new_key = base.clone();
                        let mut n = 2;
                        while map.contains_key(&new_key) {
                            new_key = format!("{base}#{n}");
                            n += 1;
                        }
                        map.insert(new_key, item);
                    }
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// Redacts one string value, using its object key (if any) as context.
    fn redact_string(
        &self,
        key: Option<&str>,
        s: &mut String,
        path: &str,
        report: &mut dyn FnMut(&str, &str),
    ) {
        let spans = self.spans(s.as_bytes());
        if !spans.is_empty() {
            for (_, rule) in &spans {
                report(path, &self.rules[*rule].id);
            }
            let mut out = Vec::with_capacity(s.len());
            self.write_redacted(s.as_bytes(), 0..s.len(), &spans, &mut out);
            *s = String::from_utf8(out)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
            return;
        }
        let Some(key) = key else { return };
        if is_auth_header_name(key) {
            if let Some(range) = auth_header_credential(s) {
                report(path, AUTH_HEADER_ID);
                s.replace_range(range, &marker(AUTH_HEADER_ID));
            }
        } else if is_secret_key_name(key)
            && s.chars().count() >= 8
            && !is_placeholder(s.as_bytes(), &[])
            && !s
                .as_bytes()
                .windows(MARKER_PREFIX.len())
                .any(|w| w == MARKER_PREFIX)
        {
            report(path, GENERIC_ID);
            *s = marker(GENERIC_ID);
        }
    }

    /// A streaming redactor over this engine.
    pub fn stream(&self) -> StreamRedactor<'_> {
        StreamRedactor::new(self)
    }
}

fn marker(id: &str) -> String {
    format!("[REDACTED:{id}]")
}

/// Merges overlapping hits so that no byte of any secret survives. The merged span is named
/// after its widest hit (ties: earlier rule), e.g. a GitHub token inside a quoted `password`
/// value stays `generic-secret`, while `password=ghp_...` (equal spans) is `github-pat`.
fn merge(mut hits: Vec<(Range<usize>, usize)>) -> Vec<(Range<usize>, usize)> {
    hits.sort_by_key(|(r, i)| (r.start, std::cmp::Reverse(r.end), *i));
    let mut out: Vec<(Range<usize>, usize, usize)> = Vec::new();
    for (range, rule) in hits {
        let width = range.len();
        match out.last_mut() {
            Some((cur, cur_rule, cur_width)) if range.start < cur.end => {
                cur.end = cur.end.max(range.end);
                if width > *cur_width || (width == *cur_width && rule < *cur_rule) {
                    *cur_rule = rule;
                    *cur_width = width;
                }
            }
            _ => out.push((range, rule, width)),
        }
    }
    out.into_iter().map(|(r, rule, _)| (r, rule)).collect()
}

fn is_continuation(b: u8) -> bool {
    b & 0xC0 == 0x80
}

/// Widens a span outwards so it never cuts a UTF-8 sequence (at most 3 bytes each side).
fn widen_to_chars(hay: &[u8], mut r: Range<usize>) -> Range<usize> {
    for _ in 0..3 {
        if r.start > 0 && r.start < hay.len() && is_continuation(hay[r.start]) {
            r.start -= 1;
        }
    }
    for _ in 0..3 {
        if r.end < hay.len() && is_continuation(hay[r.end]) {
            r.end += 1;
        }
    }
    r
}

/// The candidate overlaps or touches an earlier marker. Markers end in `]`, which is a word
/// boundary the original text did not have; refusing matches next to markers keeps a second
/// pass from finding what the first could not (idempotence).
fn touches_marker(hay: &[u8], lo: usize, hi: usize) -> bool {
    let from = lo.saturating_sub(80);
    let to = (hi + MARKER_PREFIX.len()).min(hay.len());
    let window = &hay[from..to];
    window
        .windows(MARKER_PREFIX.len())
        .enumerate()
        .any(|(i, w)| {
            if w != MARKER_PREFIX {
                return false;
            }
            let start = from + i;
            if start > hi {
                return false;
            }
            // Where does this marker end (one past its `]`)?
            hay[start..]
                .iter()
                .position(|&b| b == b']')
                .is_none_or(|close| start + close + 1 >= lo)
        })
}

/// Shannon entropy in bits per byte.
pub fn entropy(value: &[u8]) -> f32 {
    if value.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in value {
        counts[b as usize] += 1;
    }
    let n = value.len() as f32;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f32 / n;
            -p * p.log2()
        })
        .sum()
}

fn contains_ci(hay: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    hay.len() >= needle.len()
        && hay
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// Placeholders and masked values, which must stay readable: `${VAR}`, `$VAR`, `%VAR%`,
/// `{{ var }}`, `<your-key>`, `your_api_key`, `xxxx…`, `****`, `…EXAMPLE…`, `changeme`.
fn is_placeholder(value: &[u8], extra: &[&str]) -> bool {
    let v = value.trim_ascii();
    let Some(&first) = v.first() else {
        return true;
    };
    if matches!(first, b'$' | b'<') || v.starts_with(b"{{") || v.starts_with(b"#{") {
        return true;
    }
    // `%VAR%` (Windows, NuGet), not a password that happens to start with `%`.
    if first == b'%'
        && v.len() > 2
        && v.last() == Some(&b'%')
        && v[1..v.len() - 1]
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return true;
    }
    if first == b'{' && v.last() == Some(&b'}') {
        return true;
    }
    if v.iter().all(|&b| b == first) || exact_placeholder(v) {
        return true;
    }
    // `sntryu_aaaa…`, `glc_1111…`: a prefix, then one character repeated.
    if let Some(sep) = v.iter().take(16).position(|&b| b == b'_' || b == b'-') {
        let rest = &v[sep + 1..];
        if rest.len() >= 8 && rest.iter().all(|&b| b == rest[0]) {
            return true;
        }
    }
    // A long run of one character (not `A`, which base64 of zero bytes is made of).
    let mut run = 1;
    for w in v.windows(2) {
        run = if w[0] == w[1] && w[0] != b'A' && w[0] != b'=' {
            run + 1
        } else {
            1
        };
        if run >= 12 {
            return true;
        }
    }
    if v.len() >= 5 && v[..5].eq_ignore_ascii_case(b"your ") {
        return true;
    }
    const MARKS: &[&str] = &[
        "xxxx",
        "your_",
        "your-",
        "_here",
        "-here",
        "****",
        "...",
        "\u{2026}",
        "\u{2022}\u{2022}",
        "example",
        "changeme",
        "change_me",
        "change-me",
        "replace_me",
        "replaceme",
        "placeholder",
        "redacted",
        "dummy",
        "0000000000",
        "1234567890",
        "abcdefgh",
    ];
    MARKS.iter().chain(extra).any(|m| contains_ci(v, m))
}

/// Checks for `key = value` assignments that a regex cannot express. In code
/// `token = read_token()` or `secret: SecretString` are expressions and types, not secrets, so
/// a bare value must contain a digit or a symbol, unless it is assigned to an upper-case name as
/// in `.env` files.
fn generic_value(hay: &[u8], secret: &Range<usize>, bare: bool) -> bool {
    let value = &hay[secret.clone()];
    let chars = value.iter().filter(|&&b| !is_continuation(b)).count();
    if chars < 8 {
        return false;
    }
    if !bare {
        return true;
    }
    let next = hay.get(secret.end).copied();
    if matches!(next, Some(b'(' | b'[' | b'<' | b'{'))
        || contains_ci(value, "://")
        || is_path(value)
        || is_code_path(value)
    {
        return false;
    }
    // A digit, a symbol, or both cases in a long value; else a word (`fifo:/myfifo` is a path
    // spec, `CancellationToken` a type) unless assigned to an upper-case name as in `.env`.
    is_env_assignment(hay, secret.start)
        || value.iter().any(|&b| {
            b.is_ascii_digit()
                || !(b.is_ascii_alphanumeric()
                    || matches!(b, b'_' | b'-' | b'.' | b'=' | b':' | b'/'))
        })
        || (value.len() >= 12
            && value.iter().any(u8::is_ascii_uppercase)
            && value.iter().any(u8::is_ascii_lowercase)
            && !is_type_name(value))
}

/// What an assignment rule's regex saw besides the value.
#[derive(Default)]
struct Assignment {
    /// From the keyword to the end of the key name (the name may start before the keyword).
    key: Option<Range<usize>>,
    op: Option<Range<usize>>,
    xml: bool,
}

const NAME_BYTES: &[u8] = b"_.-$@";

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || NAME_BYTES.contains(&b)
}

/// The checks an assignment needs beyond its regex: a key name that names a secret (not
/// `token_count`, `author`), an operator used as an assignment (not `==`, not a function call
/// unless a setter, `,` only in CSV or `("KEY", "value")`), and a value that is not a word, an
/// identifier or a file name.
/// Where the name around a keyword begins: `DB_PASSWORD_PROD`, `mySecretString`.
fn name_start(hay: &[u8], key: &Range<usize>) -> usize {
    let mut start = key.start;
    while start > 0 && key.start - start < 64 && is_name_byte(hay[start - 1]) {
        start -= 1;
    }
    start
}

fn assignment_ok(hay: &[u8], ctx: &Assignment, secret: &Range<usize>, bare: bool) -> bool {
    let Some(key) = &ctx.key else {
        return true;
    };
    let start = name_start(hay, key);
    let name = &hay[start..key.end];
    if !secret_name(name) {
        return false;
    }
    let value = &hay[secret.clone()];
    if ctx.xml {
        // `<nameToken>value</nameToken>`: an element, not a comparison or a generic type.
        return start > 0 && hay[start - 1] == b'<' && value_ok(value, false);
    }
    if let Some(op) = &ctx.op {
        let text = &hay[op.clone()];
        let quoted_key = matches!(text.first(), Some(b'"' | b'\'' | b'`' | b'\\'));
        let trimmed = text.trim_ascii();
        let op_char = trimmed.last().copied();
        let after = hay.get(op.end).copied();
        match op_char {
            // `token == x`, `token => x` is fine (matched as `=>`), `token =~ /re/`.
            Some(b'=') if trimmed.len() == 1 || trimmed.ends_with(b"\"=") => {
                if matches!(after, Some(b'=' | b'~')) {
                    return false;
                }
            }
            Some(b'(') => {
                // `setPassword("…")` is a setter; `getToken("name")`, `secret(x)` are calls.
                let last = name.rsplit(|&b| b == b'.').next().unwrap_or(name);
                if !(last.len() > 3 && last[..3].eq_ignore_ascii_case(b"set")) || bare {
                    return false;
                }
            }
            Some(b',') => {
                if bare {
                    // CSV: `nameToken,value,` with nothing in between.
                    if op.end != secret.start {
                        return false;
                    }
                    if !matches!(hay.get(secret.end), None | Some(b',' | b'\n' | b'\r')) {
                        return false;
                    }
                } else if !quoted_key
                    || hay[secret.clone()].contains(&b' ')
                    || !hay[..start.saturating_sub(1)]
                        .trim_ascii_end()
                        .ends_with(b"(")
                {
                    // `System.setProperty("NAME_TOKEN", "value")`, `put("k", "v")`; not
                    // `log(target: "auth", "password matched")`.
                    return false;
                }
            }
            Some(b':') if bare => {
                // YAML `key: value`, JSON `"key":value`; not `io.jsonwebtoken:jjwt`, `host:port`.
                if !quoted_key && !matches!(after, Some(b' ' | b'\t' | b'\r' | b'\n')) {
                    return false;
                }
                // `let key_buffer: KeyType = …`: a type annotation.
                let rest = hay[secret.end..].trim_ascii_start();
                if rest.starts_with(b"=") && !rest.starts_with(b"==") {
                    return false;
                }
            }
            _ => {}
        }
    }
    value_ok(value, bare)
}

/// Values that are names, words, paths or type names rather than secrets.
fn value_ok(value: &[u8], bare: bool) -> bool {
    if is_type_name(value) || exact_placeholder(value) {
        return false;
    }
    // `auth: trace_id=79de…`: the next `key=value` pair, not this key's value.
    if bare {
        if let Some(eq) = value.iter().position(|&b| b == b'=') {
            let head = &value[..eq];
            if eq + 1 < value.len()
                && (3..=24).contains(&head.len())
                && head.first().is_some_and(u8::is_ascii_lowercase)
                && head.iter().all(|&b| b.is_ascii_lowercase() || b == b'_')
            {
                return false;
            }
        }
    }
    let has_digit = value.iter().any(u8::is_ascii_digit);
    // Code: `quote::quote!`, `sys::FLAGS`, `poly1305::Context`, `x25519_check_private_key_bytes`,
    // `CLIENT_TRAFFIC_SECRET_0`.
    let macro_call = value.ends_with(b"!")
        && value[..value.len() - 1]
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b == b'_' || b == b':');
    if value.windows(2).any(|w| w == b"::") || macro_call || is_identifier(value) {
        return false;
    }
    if !bare {
        // Prose (`"Enter your password"`) and identifiers (`"database_password"`, `"api-token"`).
        const PROSE: &[&str] = &[
            "the", "your", "a", "an", "to", "is", "of", "for", "and", "or", "not", "be", "in",
            "with", "from", "this", "that", "please", "enter", "must", "should", "will", "can",
            "was",
        ];
        if !has_digit
            && value.contains(&b' ')
            && (value.split(|&b| b == b' ').count() <= 2
                || value
                    .split(|&b| b == b' ')
                    .any(|w| PROSE.iter().any(|p| w.eq_ignore_ascii_case(p.as_bytes()))))
        {
            return false;
        }
        // A single lower-case word (`"unsupported"`, `"disabled"`): a state, not a secret.
        if value.iter().all(u8::is_ascii_lowercase) {
            return false;
        }
        // Code in quotes: `'iter, I: Iterator<Item = …>`.
        if value.contains(&b' ') && value.iter().any(|b| b"<>(){}".contains(b)) {
            return false;
        }
        if value
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.".contains(&b))
            && value.iter().filter(|b| b.is_ascii_digit()).count() <= 3
            && value.split(|b| b"_-.".contains(b)).count() > 1
        {
            return false;
        }
        if is_path(value) {
            return false;
        }
    }
    // File names: `keys/server.pem`, `secret.json`.
    const EXT: &[&str] = &[
        ".pem", ".key", ".json", ".txt", ".crt", ".p12", ".pfx", ".yaml", ".yml", ".toml", ".env",
        ".jks", ".cer", ".der", ".gpg", ".asc",
    ];
    if EXT.iter().any(|e| {
        value.len() > e.len() && value[value.len() - e.len()..].eq_ignore_ascii_case(e.as_bytes())
    }) && value
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"_-./".contains(&b))
    {
        return false;
    }
    true
}

/// `snake_case_names`, `SCREAMING_CONSTANTS`, `TLS13_CHACHA20_POLY1305_SHA256`: one case, words
/// joined by `_`, each (or nearly each) starting with three letters. Random keys mix cases or
/// have short runs between underscores.
fn is_identifier(value: &[u8]) -> bool {
    let lower = value.iter().any(u8::is_ascii_lowercase);
    let upper = value.iter().any(u8::is_ascii_uppercase);
    if lower == upper
        || !value
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return false;
    }
    let segments: Vec<&[u8]> = value.split(|&b| b == b'_').collect();
    if segments.len() < 2 || segments.iter().any(|s| s.is_empty()) {
        return false;
    }
    let alpha = |s: &&[u8]| s.len() >= 2 && s.iter().all(u8::is_ascii_alphabetic);
    let wordy = |s: &&&[u8]| s.len() >= 3 && s[..3].iter().all(u8::is_ascii_alphabetic);
    segments.iter().all(alpha)
        || (segments.len() >= 3 && segments.iter().filter(wordy).count() * 4 >= segments.len() * 3)
}

/// A type or class name: the whole value is capitalised words (`SigningKey`,
/// `DecodePrivateKey`), or three or more such words make up three quarters of it
/// (`clm36193:AgencyIdentificationCodeContentType`). Random keys have short runs at most.
fn is_type_name(value: &[u8]) -> bool {
    let (mut words, mut run_start, mut i) = (0, 0, 0);
    while i < value.len() {
        if value[i].is_ascii_uppercase() {
            let lower = value[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_lowercase())
                .count();
            if lower >= 2 {
                if words == 0 {
                    run_start = i;
                }
                words += 1;
                i += 1 + lower;
                let len = i - run_start;
                if (words >= 2 && run_start == 0 && i == value.len())
                    || (words >= 3 && len * 4 >= value.len() * 3)
                {
                    return true;
                }
                continue;
            }
        }
        words = 0;
        i += 1;
    }
    false
}

/// Words of an identifier: `DB_PASSWORD_PROD` → db, password, prod; `mySecretString` → my,
/// secret, string; `APIKey` → api, key.
fn name_words(name: &[u8]) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    for (i, &b) in name.iter().enumerate() {
        if !b.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|j| name[j]);
        let next = name.get(i + 1).copied();
        let boundary = b.is_ascii_uppercase()
            && (prev.is_some_and(|p| p.is_ascii_lowercase() || p.is_ascii_digit())
                || (prev.is_some_and(|p| p.is_ascii_uppercase())
                    && next.is_some_and(|n| n.is_ascii_lowercase())));
        if boundary && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        cur.push(b.to_ascii_lowercase() as char);
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// Does this key name name a secret? A word of it is (or ends with) a secret word
/// (`password`, `dbpassword`, `token`, `creds`, `secret`, `api` + `key`, …), and no word says
/// it is only about the secret (`token_count`, `password_policy`, `key_id`, `secret_name`).
fn secret_name(name: &[u8]) -> bool {
    const EXACT: &[&str] = &[
        "password",
        "passwords",
        "passwd",
        "pwd",
        "pass",
        "pgpass",
        "dbpass",
        "passphrase",
        "passcode",
        "secret",
        "secrets",
        "token",
        "tokens",
        "apikey",
        "apikeys",
        "auth",
        "credential",
        "credentials",
        "creds",
        "cred",
        "privatekey",
        "secretkey",
        "accesskey",
        "clientsecret",
        "masterkey",
        "signingkey",
        "encryptionkey",
        "authkey",
        "apitoken",
        "authtoken",
        "accesstoken",
        "refreshtoken",
        "bearertoken",
        "sessiontoken",
        "apisecret",
        "appsecret",
    ];
    const SUFFIX: &[&str] = &[
        "password",
        "passwd",
        "secret",
        "token",
        "apikey",
        "secretkey",
        "accesskey",
        "privatekey",
        "creds",
        "credentials",
    ];
    // `MYSERVICESECRETSTRING`: no case or separators to split on.
    const INSIDE: &[&str] = &["password", "passwd", "secret", "token", "apikey", "creds"];
    const KEY_BEFORE: &[&str] = &[
        "api",
        "access",
        "private",
        "secret",
        "signing",
        "encryption",
        "master",
        "client",
        "app",
        "auth",
        "account",
        "service",
        "license",
        "write",
        "admin",
        "sdk",
        "server",
        "consumer",
    ];
    const DENY: &[&str] = &[
        "id",
        "ids",
        "name",
        "names",
        "type",
        "types",
        "url",
        "urls",
        "uri",
        "endpoint",
        "file",
        "filename",
        "path",
        "dir",
        "length",
        "len",
        "size",
        "count",
        "max",
        "min",
        "limit",
        "expires",
        "expiry",
        "expiration",
        "ttl",
        "timeout",
        "header",
        "prefix",
        "suffix",
        "format",
        "field",
        "ref",
        "policy",
        "provider",
        "mode",
        "enabled",
        "enable",
        "required",
        "label",
        "placeholder",
        "hint",
        "regex",
        "pattern",
        "version",
        "kind",
        "method",
        "scheme",
        "algorithm",
        "alg",
        "usage",
        "location",
        "public",
        "pub",
        "csrf",
        "xsrf",
        "description",
        "help",
        "message",
        "msg",
        "error",
        "text",
        "title",
        "prompt",
        "column",
        "index",
        "idx",
        "num",
        "number",
        "position",
        "offset",
        "store",
        "manager",
        "reset",
        "hash",
        "hashed",
        "digest",
        "salt",
        "rotation",
        "strength",
        "min",
        "input",
        "form",
        "field",
        "param",
        "params",
        "arn",
        "ref",
        "refs",
        "template",
        "generator",
        "validator",
        "hint",
        "class",
        "helper",
        "option",
        "options",
        "source",
        "env",
        "var",
        "vars",
        "variable",
        "bucket",
        "exchange",
        "budget",
        "usage",
        "estimate",
        "estimated",
        "per",
        "total",
        "used",
        "left",
        "remaining",
        "tokenizer",
        "tokenize",
        "pos",
        "start",
        "end",
        "lifetime",
        "duration",
    ];
    let words = name_words(name);
    if words.iter().any(|w| DENY.contains(&w.as_str())) {
        return false;
    }
    let shouting = !name.iter().any(u8::is_ascii_lowercase);
    words.iter().enumerate().any(|(i, w)| {
        EXACT.contains(&w.as_str())
            || (shouting && INSIDE.iter().any(|s| w.contains(s)))
            || SUFFIX.iter().any(|s| w.len() > s.len() && w.ends_with(s))
            || (w == "key" && i > 0 && KEY_BEFORE.contains(&words[i - 1].as_str()))
    })
}

/// Values that are the name of what they stand for (`username:password`, `secret`, `token`).
fn exact_placeholder(value: &[u8]) -> bool {
    const WORDS: &[&str] = &[
        "password",
        "passwd",
        "pass",
        "pwd",
        "secret",
        "token",
        "username",
        "user",
        "changeit",
        "test",
        "testing",
        "admin",
        "root",
        "apikey",
        "api_key",
        "null",
        "none",
        "undefined",
        "true",
        "false",
    ];
    value
        .split(|&b| matches!(b, b':' | b'@' | b'/' | b'|'))
        .filter(|p| !p.is_empty())
        .all(|p| WORDS.iter().any(|w| p.eq_ignore_ascii_case(w.as_bytes())))
}

/// Where the block under `data:` (starting at `data_at`) ends: before the first line indented
/// no deeper than the `data:` line, or a comment-only tail; trailing blank space excluded.
fn kube_block_end(hay: &[u8], data_at: usize, block: &Range<usize>) -> usize {
    let line_start = hay[..data_at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let indent = |at: usize| {
        hay[at..]
            .iter()
            .take_while(|&&b| b == b' ' || b == b'\t')
            .count()
    };
    let base = indent(line_start);
    let mut end = block.start;
    let mut at = block.start;
    // Lines are separated by real or JSON-escaped line breaks.
    while at < block.end {
        let rest = &hay[at..block.end];
        let (len, sep) = match rest.iter().position(|&b| b == b'\n') {
            Some(p) => (p, 1),
            None => (rest.len(), 0),
        };
        let (len, sep) = match rest[..len].windows(2).position(|w| w == b"\\n") {
            Some(p) => (p, 2),
            None => (len, sep),
        };
        let line = &hay[at..at + len];
        if at > block.start {
            let line_indent = indent(at);
            if line_indent <= base {
                break;
            }
        }
        if !line.trim_ascii().is_empty() && !line.trim_ascii().starts_with(b"#") {
            end = at + len;
        }
        at += len + sep;
    }
    let mut end = end.max(block.start + 1).min(block.end);
    while end > block.start + 1 && matches!(hay[end - 1], b'\r' | b' ' | b'\t') {
        end -= 1;
    }
    end
}

/// A Kubernetes `Secret` manifest's `data:` / `stringData:` block: the document (between `---`
/// lines) says `kind: Secret`, and at least one value is not a template or empty.
fn kube_secret_ok(hay: &[u8], whole: &Range<usize>, secret: &Range<usize>) -> bool {
    // `metadata:` is not `data:`.
    if whole.start > 0
        && hay[whole.start - 1].is_ascii_alphanumeric()
        && !hay[..whole.start].ends_with(b"\\n")
    {
        return false;
    }
    let doc_start = hay[..whole.start]
        .windows(4)
        .rposition(|w| w == b"\n---")
        .map_or(whole.start.saturating_sub(4096), |p| p + 4)
        .max(whole.start.saturating_sub(4096));
    let doc_end = hay[whole.end..]
        .windows(4)
        .position(|w| w == b"\n---")
        .map_or(hay.len().min(whole.end + 4096), |p| whole.end + p);
    let doc = &hay[doc_start..doc_end];
    let is_secret = doc.windows(5).enumerate().any(|(i, w)| {
        w.eq_ignore_ascii_case(b"kind:") && {
            let rest = doc[i + 5..].trim_ascii_start();
            let rest = rest
                .strip_prefix(b"\"")
                .or(rest.strip_prefix(b"'"))
                .unwrap_or(rest);
            rest.len() >= 6
                && rest[..6].eq_ignore_ascii_case(b"secret")
                && !rest.get(6).is_some_and(|b| b.is_ascii_alphanumeric())
        }
    });
    is_secret
        && hay[secret.clone()].split(|&b| b == b'\n').any(|line| {
            // `key: value`, or a continuation line of a block scalar (`.dockercfg: |`).
            let v = match line.iter().position(|&b| b == b':') {
                Some(colon) => line[colon + 1..].trim_ascii(),
                None => line.trim_ascii(),
            };
            let v = v.strip_prefix(b"\"").or(v.strip_prefix(b"'")).unwrap_or(v);
            let v = v.strip_suffix(b"\"").or(v.strip_suffix(b"'")).unwrap_or(v);
            v.len() >= 10 && !is_placeholder(v, &[])
        })
}

/// Credentials in headers are random strings, not words: besides the first character there is
/// an upper-case letter, a digit or a base64 symbol (`Basic authentication` is prose).
fn token_like(value: &[u8]) -> bool {
    value
        .iter()
        .skip(1)
        .any(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b"+=".contains(b))
}

/// `NAME=value` with an upper-case name (`.env` files, shells).
fn is_env_assignment(hay: &[u8], value_start: usize) -> bool {
    let Some(before) = hay[..value_start].strip_suffix(b"=") else {
        return false;
    };
    let name_len = before
        .iter()
        .rev()
        .take(64)
        .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
        .count();
    let name = &before[before.len() - name_len..];
    name.iter().any(u8::is_ascii_uppercase) && !name.iter().any(u8::is_ascii_lowercase)
}

/// `a.b`, `a::b`, `a->b` chains of identifiers: member access, not a value.
fn is_code_path(value: &[u8]) -> bool {
    let Ok(s) = std::str::from_utf8(value) else {
        return false;
    };
    let normalized = s.replace("::", ".").replace("->", ".");
    let is_ident = |p: &str| {
        let mut chars = p.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    };
    // Identifiers read as words: few digits, camelCase at most (random keys have many of both).
    let wordy = |p: &str| {
        let digits = p.bytes().filter(u8::is_ascii_digit).count();
        let upper = p.bytes().filter(u8::is_ascii_uppercase).count();
        digits <= 2 && (upper * 3 <= p.len().max(3) || !p.bytes().any(|b| b.is_ascii_lowercase()))
    };
    normalized.contains('.') && normalized.split('.').all(|p| is_ident(p) && wordy(p))
}

/// `/etc/app/key.pem`, `./secrets/db`, `~/.aws/credentials`: a path, not a base64 value that
/// happens to start with `/`.
fn is_path(value: &[u8]) -> bool {
    (value.starts_with(b"/") || value.starts_with(b"./") || value.starts_with(b"~/"))
        && value
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"_.-/~".contains(&b))
        && (value.iter().filter(|&&b| b == b'/').count() >= 2
            || value.iter().rev().take(6).any(|&b| b == b'.'))
}

/// JSON keys naming a secret: `DB_PASSWORD`, `client_secret`, `apiKey`, `x-api-key`,
/// `GITHUB_TOKEN`, `auth`, `cookie`, `DB_PASSWORD_PROD`; not `max_tokens`, `token_count`,
/// `author` or `authorization` (see [`secret_name`]).
fn is_secret_key_name(key: &str) -> bool {
    key.len() <= 128
        && (secret_name(key.as_bytes())
            || name_words(key.as_bytes())
                .last()
                .is_some_and(|w| w == "cookie"))
}

fn is_auth_header_name(key: &str) -> bool {
    key.eq_ignore_ascii_case("authorization") || key.eq_ignore_ascii_case("proxy-authorization")
}

/// `Bearer <credential>` / `Basic …` / `Token …`: the credential's range.
fn auth_header_credential(s: &str) -> Option<Range<usize>> {
    let trimmed_start = s.len() - s.trim_start().len();
    let rest = &s[trimmed_start..];
    let (scheme, after) = rest.split_once(char::is_whitespace)?;
    if !["bearer", "basic", "token", "digest", "apikey"]
        .iter()
        .any(|w| scheme.eq_ignore_ascii_case(w))
    {
        return None;
    }
    let cred = after.trim();
    if cred.chars().count() < 8 || cred.contains(char::is_whitespace) && scheme != "Digest" {
        return None;
    }
    if is_placeholder(cred.as_bytes(), &[]) {
        return None;
    }
    let start = s.len() - s[trimmed_start + scheme.len()..].trim_start().len();
    Some(start..start + cred.len())
}

/// Streaming redaction with a carry-over: the concatenated output of [`StreamRedactor::push`]
/// and [`StreamRedactor::finish`] equals [`Engine::redact_bytes`] on the whole input, for any
/// chunking. It holds back at most about `2 × MAX_WINDOW` bytes.
pub struct StreamRedactor<'e> {
    engine: &'e Engine,
    /// Unredacted bytes: `buf[..emitted]` is already-written look-behind context.
    buf: Vec<u8>,
    emitted: usize,
    /// Absolute offset of `buf[0]` in the whole input.
    base: usize,
    findings: Vec<Finding>,
}

impl<'e> StreamRedactor<'e> {
    pub fn new(engine: &'e Engine) -> Self {
        StreamRedactor {
            engine,
            buf: Vec::new(),
            emitted: 0,
            base: 0,
            findings: Vec::new(),
        }
    }

    /// Adds input; returns the redacted output that is final so far (maybe empty).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        self.buf.extend_from_slice(chunk);
        let carry = self.engine.carry.max(1);
        // Scan only once enough has accumulated, so each byte is searched a few times at most.
        if self.buf.len() < self.emitted + 2 * carry {
            return Vec::new();
        }
        let spans = self.engine.spans(&self.buf);
        let safe = self.buf.len() - carry;
        let mut cut = safe;
        for (span, _) in spans.iter().rev() {
            if span.start < cut && span.end > cut {
                cut = span.start;
            }
        }
        // Never end a chunk inside a UTF-8 sequence.
        for _ in 0..3 {
            if cut > self.emitted && cut < self.buf.len() && is_continuation(self.buf[cut]) {
                cut -= 1;
            }
        }
        if cut <= self.emitted {
            return Vec::new();
        }
        let out = self.emit(&spans, cut);
        let keep_from = cut.saturating_sub(LEFT_CONTEXT);
        self.buf.drain(..keep_from);
        self.base += keep_from;
        self.emitted = cut - keep_from;
        out
    }

    /// Ends the input; returns the rest of the output.
    pub fn finish(&mut self) -> Vec<u8> {
        let spans = self.engine.spans(&self.buf);
        let end = self.buf.len();
        let out = self.emit(&spans, end);
        self.base += end;
        self.buf.clear();
        self.emitted = 0;
        out
    }

    fn emit(&mut self, spans: &[(Range<usize>, usize)], cut: usize) -> Vec<u8> {
        for (span, rule) in spans {
            if span.start >= self.emitted && span.start < cut {
                self.findings.push(Finding {
                    range: self.base + span.start..self.base + span.end,
                    rule: self.engine.rules[*rule].id.to_string(),
                });
            }
        }
        let mut out = Vec::with_capacity(cut - self.emitted);
        self.engine
            .write_redacted(&self.buf, self.emitted..cut, spans, &mut out);
        out
    }

    /// Findings so far, with byte offsets into the whole input; drains them.
    pub fn take_findings(&mut self) -> Vec<Finding> {
        std::mem::take(&mut self.findings)
    }
}

/// Replace every secret in `text` with `[REDACTED:<rule-id>]`; returns Cow::Borrowed when nothing matched.
pub fn redact_str(text: &str) -> Cow<'_, str> {
    default_engine().redact_str(text)
}

/// Rule ids that matched, for reports and tests (never the secret itself).
///
/// These are the ids that [`redact_str`] writes into its markers, each once, in rule order.
pub fn find_rules(text: &str) -> Vec<&'static str> {
    default_engine().find_rules(text)
}

/// Redact inside every string value (and object key) of a JSON document, in place; the document stays valid.
pub fn redact_json(value: &mut Value) {
    default_engine().redact_json(value);
}
