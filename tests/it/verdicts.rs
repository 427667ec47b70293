//! Verdict tables: `tests/data/verdicts/*.tsv`, one case a line, run through the same
//! classifier and built-in pack the daemon uses.
//!
//! Line format: `<expect>[:<rule>]<TAB><call>`, `#` comments. `<expect>` is
//! `stop` (require_approval or block), `let` (allow or warn: the call runs), `block`,
//! `approve`, `warn` or `allow`. `<rule>` must be among the rules raised. `<call>` is a Bash
//! command, or `@<Tool> <json input>` for any other tool (`@mcp__x__run {"command":"ls"}`).
//! Every file names its theme; every rule has must-stop cases and must-let look-alikes.
//! `DASHCLAW_VERDICTS_FILE=path` runs one file instead (a table being written).

use dashclaw_sidecar::classify::{classify, ClassifyContext};
use dashclaw_sidecar::event::{Agent, EventKind, HookEvent, Verdict};
use dashclaw_sidecar::policy;
use serde_json::{json, Value};

const WS: &str = "/w/proj";
const HOME: &str = "/home/u";

fn event(call: &str) -> HookEvent {
    let (name, input) = match call.strip_prefix('@') {
        Some(rest) => {
            let (name, json) = rest.split_once(' ').unwrap_or((rest, "{}"));
            let v: Value =
                serde_json::from_str(json).unwrap_or_else(|e| panic!("bad JSON in {call}: {e}"));
            (name.to_owned(), v)
        }
        None => ("Bash".to_owned(), json!({ "command": call })),
    };
    let body = json!({
        "session_id": "verdicts",
        "cwd": WS,
        "hook_event_name": "PreToolUse",
        "tool_name": name,
        "tool_input": input,
        "tool_use_id": "t1",
    });
    // The real Claude Code adapter resolves the tool into a tool kind.
    let adapter = dashclaw_sidecar::agents::adapter_for(Agent::Claude);
    adapter
        .normalize(
            EventKind::PreToolUse,
            body.to_string().as_bytes(),
            &dashclaw_sidecar::agents::HookContext::default(),
        )
        .unwrap_or_else(|e| panic!("{call}: {e}"))
}

fn matches(expect: &str, v: Verdict) -> bool {
    match expect {
        "stop" => v >= Verdict::RequireApproval,
        "let" => v <= Verdict::Warn,
        "block" => v == Verdict::Block,
        "approve" => v == Verdict::RequireApproval,
        "warn" => v == Verdict::Warn,
        "allow" => v == Verdict::Allow,
        other => panic!("unknown expectation {other}"),
    }
}

#[test]
fn verdict_tables() {
    let ctx = ClassifyContext::new(WS, Some(HOME));
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/verdicts");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/data/verdicts")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tsv"))
        .collect();
    files.sort();
    // Working on one table (or a scratch file of new cases): `DASHCLAW_VERDICTS_FILE=path`.
    if let Some(only) = std::env::var_os("DASHCLAW_VERDICTS_FILE") {
        files = vec![std::path::PathBuf::from(only)];
    }
    let (mut total, mut failures) = (0usize, Vec::new());
    let mut per_file = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        let (mut n, mut bad) = (0usize, 0usize);
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (head, call) = line
                .split_once('\t')
                .unwrap_or_else(|| panic!("{}:{}: no TAB", f.display(), i + 1));
            let (expect, rule) = head
                .split_once(':')
                .map_or((head, None), |(e, r)| (e, Some(r)));
            // `\n` in a command is a newline; `@Tool {json}` keeps JSON's own escapes.
            let call = if call.starts_with('@') {
                call.to_owned()
            } else {
                call.replace("\\n", "\n")
            };
            let ev = event(&call);
            let c = classify(&ev, &ctx);
            let d = policy::decide(&ev, &c);
            let rules: Vec<&str> = c.findings.iter().map(|f| f.rule).collect();
            n += 1;
            let ok = matches(expect, d.verdict) && rule.is_none_or(|r| rules.contains(&r));
            if !ok {
                bad += 1;
                failures.push(format!(
                    "{}:{}: want {head}, got {} {rules:?}: {call}",
                    f.file_name().unwrap().to_string_lossy(),
                    i + 1,
                    d.verdict.as_str()
                ));
            }
        }
        total += n;
        per_file.push(format!(
            "{:<22} {n:>5} cases {bad:>3} wrong",
            f.file_name().unwrap().to_string_lossy()
        ));
    }
    println!("{}\n{total} cases", per_file.join("\n"));
    assert!(total > 0);
    assert!(
        failures.is_empty(),
        "{} of {total} wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
