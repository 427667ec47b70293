// Dev probe (not committed): each stdin line is a command; prints verdict, rule, command.
use dashclaw_sidecar::classify::{classify_command, ClassifyContext};
use dashclaw_sidecar::event::*;
use dashclaw_sidecar::policy;
use std::io::BufRead;
fn main() {
    let ctx = ClassifyContext::new("/w/proj", Some("/home/u"));
    let want = std::env::args().nth(1).unwrap_or_default(); // "stop" or "allow"
    let mut bad = 0;
    let mut n = 0;
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        n += 1;
        let c = classify_command(&line, &ctx);
        let ev = HookEvent {
            agent: Agent::Claude,
            kind: EventKind::PreToolUse,
            session_id: None,
            cwd: "/w/proj".into(),
            transcript_path: None,
            permission_mode: None,
            subagent: None,
            tool: Some(ToolCall {
                name: "Bash".into(),
                input: serde_json::json!({"command": line}),
                tool_use_id: None,
                action: ToolAction::Shell {
                    command: line.clone(),
                },
            }),
            tool_response: None,
            prompt: None,
            headless: false,
        };
        let d = policy::decide(&ev, &c);
        let stop = matches!(d.verdict, Verdict::Block | Verdict::RequireApproval);
        let ok = match want.as_str() {
            "stop" => stop,
            "allow" => !stop,
            _ => true,
        };
        if !ok {
            bad += 1;
        }
        if !ok || want.is_empty() {
            let rules: Vec<_> = c.findings.iter().map(|f| f.rule).collect();
            println!("{:?}\t{:?}\t{}\t{}", d.verdict, rules, c.risk_score, line);
        }
    }
    eprintln!("{} / {} wrong ({})", bad, n, want);
}
