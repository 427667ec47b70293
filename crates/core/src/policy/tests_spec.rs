//! A policy's own tests (`rules.tests`: `[{name, input:{…guard context…}, expect:{decision}}]`),
//! read when the file is parsed so `policy lint` reports a malformed test; running them (with
//! the agent adapters for the file's `[[example]]` events) is the root package's `policy test`.

use serde_json::{Map, Value};

use super::context::GuardContext;
use super::model::Severity;

/// One `rules.tests` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyTest {
    pub name: String,
    pub input: GuardContext,
    pub expect: Severity,
}

/// Reads `rules.tests`; problems come back as `(field, message)`.
pub fn parse_tests(rules: &Map<String, Value>) -> (Vec<PolicyTest>, Vec<(String, String)>) {
    let mut tests = Vec::new();
    let mut errors = Vec::new();
    let list = match rules.get("tests") {
        None | Some(Value::Null) => return (tests, errors),
        Some(Value::Array(a)) => a,
        Some(_) => {
            errors.push(("rules.tests".into(), "expected an array of tests".into()));
            return (tests, errors);
        }
    };
    for (i, t) in list.iter().enumerate() {
        let at = format!("rules.tests[{i}]");
        let Some(t) = t.as_object() else {
            errors.push((at, "expected {name, input, expect}".into()));
            continue;
        };
        let name = t
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("test #{}", i + 1), str::to_owned);
        let input = match t.get("input") {
            Some(v @ Value::Object(_)) => match serde_json::from_value::<GuardContext>(v.clone()) {
                Ok(ctx) => ctx,
                Err(e) => {
                    errors.push((format!("{at}.input"), format!("not a guard context: {e}")));
                    continue;
                }
            },
            _ => {
                errors.push((
                    format!("{at}.input"),
                    "expected an object of guard-request fields".into(),
                ));
                continue;
            }
        };
        let decision = t.get("expect").and_then(|e| match e {
            Value::Object(o) => o.get("decision").and_then(Value::as_str),
            // A bare string is a common shorthand; accept it.
            Value::String(s) => Some(s.as_str()),
            _ => None,
        });
        match decision.and_then(Severity::parse) {
            Some(expect) => tests.push(PolicyTest {
                name,
                input,
                expect,
            }),
            None => errors.push((
                format!("{at}.expect.decision"),
                "expected one of allow, warn, allow_contained, require_approval, block".into(),
            )),
        }
    }
    (tests, errors)
}
