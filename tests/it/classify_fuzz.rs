//! Property tests: the shell parser, the classifier and the hook-input decoder never panic and
//! stay fast on any input. `DASHCLAW_FUZZ_CASES` sets the cases per property (default 10,000;
//! the two properties give the suite's 20k). The slowest input seen is printed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use dashclaw_sidecar::agents::{adapter_for, HookContext};
use dashclaw_sidecar::classify::{classify, classify_command, shell, ClassifyContext};
use dashclaw_sidecar::event::{Agent, EventKind};
use dashclaw_sidecar::policy;
use proptest::prelude::*;

static SLOWEST_NS: AtomicU64 = AtomicU64::new(0);
static SLOWEST: Mutex<String> = Mutex::new(String::new());
/// Per-input ceiling; generous for debug builds on a loaded CI box.
const LIMIT_MS: u128 = 250;

fn cases() -> u32 {
    std::env::var("DASHCLAW_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

/// One call of each path before timing, so lazy initialisation (regex sets, policy pack) is not
/// reported as the slowest input.
fn warm() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let ctx = ClassifyContext::new("/w", Some("/home/u"));
        let hctx = HookContext::default();
        let body = br#"{"tool_name":"Write","tool_input":{"file_path":"a","content":"x"}}"#;
        if let Ok(ev) = adapter_for(Agent::Claude).normalize(EventKind::PreToolUse, body, &hctx) {
            let _ = policy::decide(&ev, &classify(&ev, &ctx));
        }
        let _ = classify_command("ls | grep x", &ctx);
    });
}

/// A slow first timing is re-measured twice and the fastest kept, so a preemption on a busy
/// machine is not reported as the input's cost.
fn settle(first: u128, mut again: impl FnMut()) -> u128 {
    if first < 2_000_000 {
        return first;
    }
    let mut best = first;
    for _ in 0..2 {
        let t = Instant::now();
        again();
        best = best.min(t.elapsed().as_nanos());
    }
    best
}

fn record(input: &str, ns: u64) {
    if ns > SLOWEST_NS.fetch_max(ns, Ordering::Relaxed) {
        if let Ok(mut s) = SLOWEST.lock() {
            *s = input.chars().take(120).collect();
        }
    }
}

const TOKENS: &[&str] = &[
    " ",
    " ",
    " ",
    "\n",
    ";",
    "&&",
    "||",
    "|",
    "|&",
    "&",
    "(",
    ")",
    "{ ",
    " }",
    "$(",
    "`",
    "<(",
    ">(",
    "${",
    "}",
    "$((",
    "))",
    "'",
    "\"",
    "\\",
    "$'\\x72'",
    "<",
    ">",
    ">>",
    "2>&1",
    "&>",
    "<<",
    "<<-",
    "<<<",
    "EOF",
    "'EOF'",
    "rm",
    "-rf",
    "/",
    "~",
    "sudo",
    "env",
    "-S",
    "bash",
    "-c",
    "sh",
    "eval",
    "ssh",
    "host",
    "xargs",
    "find",
    "-exec",
    "-delete",
    "\\;",
    "git",
    "push",
    "--force",
    "curl",
    "x",
    "base64",
    "-d",
    "$IFS",
    "$D",
    "D=/",
    "alias",
    "x=rm",
    "{rm,-rf,/}",
    "kill",
    "dashclawd",
    ".claude/settings.json",
    "case",
    "in",
    "esac",
    "if",
    "then",
    "fi",
    "for",
    "do",
    "done",
    "[[",
    "]]",
    "f()",
    "function",
    "#",
    "é",
    "р",
    "\u{E0001}",
    "\t",
    "=",
    "$",
    "!",
    "kubectl",
    "delete",
    "ns",
    "psql",
    "DROP TABLE t",
    "python3",
    "-",
    "source",
    ".",
    "./x.sh",
];

fn shellish() -> impl Strategy<Value = String> {
    prop_oneof![
        // token soup
        prop::collection::vec(prop::sample::select(TOKENS), 0..60).prop_map(|v| v.concat()),
        // nesting amplifiers, sometimes unclosed
        (
            prop::sample::select(
                &[
                    "$(",
                    "(",
                    "{ ",
                    "\"$(",
                    "`",
                    "<(",
                    "${x:-",
                    "$((",
                    "a=(",
                    "case x in x) "
                ][..]
            ),
            1usize..400,
            any::<bool>()
        )
            .prop_map(|(open, n, close)| {
                let closer = match open {
                    "$(" | "(" | "<(" | "\"$(" | "a=(" => ")",
                    "{ " => "; }",
                    "`" => "`",
                    "${x:-" => "}",
                    "$((" => "))",
                    _ => ";; esac",
                };
                let mut s = open.repeat(n) + "rm -rf /";
                if close {
                    s.push_str(&closer.repeat(n));
                }
                s
            }),
        // arbitrary text, including control bytes
        ".{0,200}",
        prop::collection::vec(any::<u8>(), 0..200)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}

fn hook_json() -> impl Strategy<Value = Vec<u8>> {
    let tool = prop::sample::select(
        &[
            "Bash",
            "Write",
            "Edit",
            "MultiEdit",
            "Read",
            "apply_patch",
            "WebFetch",
            "Task",
            "mcp__a__b",
            "Weird",
            "NotebookEdit",
            "Glob",
        ][..],
    );
    prop_oneof![
        (tool.clone(), shellish(), shellish()).prop_map(|(t, a, b)| {
            serde_json::to_vec(&serde_json::json!({
                "session_id": "s", "cwd": "/w", "hook_event_name": "PreToolUse",
                "tool_name": t,
                "tool_input": {"command": a, "file_path": b, "content": a, "new_string": b,
                               "edits": [{"new_string": a}], "url": b, "patch": a},
            }))
            .unwrap_or_default()
        }),
        prop::collection::vec(any::<u8>(), 0..300),
        (tool, prop::collection::vec(any::<u8>(), 0..50)).prop_map(|(t, junk)| {
            let mut v =
                format!("{{\"tool_name\":\"{t}\",\"tool_input\":{{\"command\":").into_bytes();
            v.extend(junk);
            v
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn parser_and_classifier_never_panic(src in shellish()) {
        warm();
        let ctx = ClassifyContext::new("/w", Some("/home/u"));
        let t = Instant::now();
        let _ = shell::parse(&src);
        let c = classify_command(&src, &ctx);
        let ns = settle(t.elapsed().as_nanos(), || { let _ = shell::parse(&src); let _ = classify_command(&src, &ctx); });
        record(&src, ns as u64);
        prop_assert!(ns / 1_000_000 < LIMIT_MS, "{src:?} took {ns} ns");
        prop_assert!(c.risk_score <= 100);
        prop_assert!(c.findings.len() <= 33 && c.commands.len() <= 64);
        // Never a silent allow for what we could not parse.
        if shell::parse(&src).is_err() {
            prop_assert!(c.findings.iter().any(|f| f.verdict >= dashclaw_sidecar::event::Verdict::RequireApproval));
        }
    }

    #[test]
    fn hook_decoder_never_panics(body in hook_json()) {
        let ctx = HookContext { cwd: "/w".into(), env: vec![("HOME".into(), "/home/u".into())] };
        let cctx = ClassifyContext::new("/w", Some("/home/u"));
        warm();
        let t = Instant::now();
        if let Ok(ev) = adapter_for(Agent::Claude).normalize(EventKind::PreToolUse, &body, &ctx) {
            let c = classify(&ev, &cctx);
            let _ = policy::decide(&ev, &c);
        }
        let ns = settle(t.elapsed().as_nanos(), || {
            if let Ok(ev) = adapter_for(Agent::Claude).normalize(EventKind::PreToolUse, &body, &ctx) {
                let _ = policy::decide(&ev, &classify(&ev, &cctx));
            }
        });
        record(&String::from_utf8_lossy(&body), ns as u64);
        prop_assert!(ns / 1_000_000 < LIMIT_MS, "took {ns} ns");
    }
}

#[test]
fn zz_report_slowest() {
    // Runs after the properties when tests are single-threaded; informative only.
    let ns = SLOWEST_NS.load(Ordering::Relaxed);
    if ns > 0 {
        eprintln!(
            "slowest input: {:.3} ms: {:?}",
            ns as f64 / 1e6,
            SLOWEST.lock().map(|s| s.clone()).unwrap_or_default()
        );
    }
}
