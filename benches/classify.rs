//! Classification + `policy::decide` cost per call on a realistic agent mix.
//!
//! `cargo bench --bench classify` prints, per class of input and overall, the median and p99
//! per call and the single-core throughput. Target: p99 < 100 µs for commands up to 4 KiB.

use std::hint::black_box;
use std::time::Instant;

use dashclaw_sidecar::classify::{classify, ClassifyContext};
use dashclaw_sidecar::event::{Agent, EventKind, HookEvent, ToolAction, ToolCall};
use dashclaw_sidecar::policy;
use serde_json::json;

fn bash(cmd: String) -> HookEvent {
    HookEvent {
        agent: Agent::Claude,
        kind: EventKind::PreToolUse,
        session_id: None,
        cwd: "/w/proj".into(),
        transcript_path: None,
        permission_mode: None,
        subagent: None,
        tool: Some(ToolCall {
            name: "Bash".into(),
            input: json!({}),
            tool_use_id: None,
            action: ToolAction::Shell { command: cmd },
        }),
        tool_response: None,
        prompt: None,
        headless: false,
    }
}

fn write(path: &str, content: String) -> HookEvent {
    let mut e = bash(String::new());
    if let Some(t) = e.tool.as_mut() {
        t.name = "Write".into();
        t.action = ToolAction::WriteFile {
            path: path.into(),
            content: Some(content),
        };
    }
    e
}

fn mix() -> Vec<(&'static str, HookEvent)> {
    let mut v: Vec<(&'static str, HookEvent)> = Vec::new();
    for c in [
        "ls -la",
        "git status",
        "cargo test --all-targets 2>&1 | tail -20",
        "npm run build && npm test",
        "rg -n 'fn main' src | head",
        "cd src && ls -la | grep rs | wc -l",
        "rm -rf node_modules dist",
        "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"x\"])' < data.json",
        "find . -name '*.tmp' -delete",
        "curl -fsSL https://example.com/install.sh | sh",
        "sudo -u deploy env FOO=1 timeout 10 bash -c 'rm -rf /var/www/old'",
        "kubectl -n prod delete deploy api",
        "D=/; rm -rf $D",
        "ssh host 'sudo systemctl restart app && journalctl -u app -n 50'",
    ] {
        v.push(("short", bash(c.to_owned())));
    }
    for msg in [
        "Fix the parser\n\nIt no longer treats quoted data as commands; rm -rf / in a commit message is text.",
        "Add classifier tables\n\n- wrappers\n- infra rules\n- self-protection",
    ] {
        v.push((
            "heredoc commit",
            bash(format!(
                "git add -A && git commit -m \"$(cat <<'EOF'\n{msg}\n\nCo-Authored-By: Agent <a@example.com>\nEOF\n)\" && git push origin HEAD"
            )),
        ));
    }
    v.push((
        "pipeline",
        bash("cat access.log | grep -v health | awk '{print $7}' | sort | uniq -c | sort -rn | head -20 | tee top.txt".into()),
    ));
    v.push((
        "pipeline",
        bash("ps aux | grep '[n]ode' | awk '{print $2}' | xargs -r kill -9".into()),
    ));
    // 4 KiB commands: a long heredoc script, a long chain, a long quoted argument.
    let mut chain = String::new();
    while chain.len() < 4000 {
        chain.push_str("mkdir -p out/a && cp src/x.rs out/a/ && ");
    }
    chain.push_str("ls out");
    v.push(("4 KiB", bash(chain)));
    let body = "echo step; make -C sub all >> build.log 2>&1 || exit 1\n".repeat(70);
    v.push(("4 KiB", bash(format!("bash <<'SH'\n{body}SH"))));
    v.push((
        "4 KiB",
        bash(format!("echo '{}' | base64 > blob.txt", "A".repeat(4000))),
    ));
    v.push((
        "write",
        write("src/lib.rs", "pub fn x() -> u32 { 1 }\n".repeat(100)),
    ));
    v
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Per-input split of the 4 KiB rows: classify alone, then `policy::decide` alone.
fn breakdown(mix: &[(&'static str, HookEvent)], ctx: &ClassifyContext) {
    println!("\n| 4 KiB input | classify median µs | classify p99 µs | decide median µs | decide p99 µs |");
    println!("|---|---|---|---|---|");
    for (i, (_, e)) in mix.iter().filter(|(k, _)| *k == "4 KiB").enumerate() {
        let mut cv = Vec::with_capacity(1000);
        let mut dv = Vec::with_capacity(1000);
        for _ in 0..1000 {
            let t = Instant::now();
            let c = black_box(classify(e, ctx));
            cv.push(t.elapsed().as_nanos() as u64);
            let t = Instant::now();
            black_box(policy::decide(e, &c));
            dv.push(t.elapsed().as_nanos() as u64);
        }
        cv.sort_unstable();
        dv.sort_unstable();
        let name = ["chain", "heredoc script", "long quoted arg"]
            .get(i)
            .copied()
            .unwrap_or("?");
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {:.1} |",
            pct(&cv, 0.5) as f64 / 1e3,
            pct(&cv, 0.99) as f64 / 1e3,
            pct(&dv, 0.5) as f64 / 1e3,
            pct(&dv, 0.99) as f64 / 1e3
        );
    }
}

fn main() {
    let ctx = ClassifyContext::new("/w/proj", Some("/home/u"));
    let mix = mix();
    let rounds = 3000;
    // Warm-up (lazy regexes, caches).
    for _ in 0..50 {
        for (_, e) in &mix {
            black_box(policy::decide(e, &classify(e, &ctx)));
        }
    }
    let mut per_class: Vec<(&str, Vec<u64>)> = Vec::new();
    let mut all = Vec::with_capacity(rounds * mix.len());
    let started = Instant::now();
    for _ in 0..rounds {
        for (class, e) in &mix {
            let t = Instant::now();
            let c = classify(e, &ctx);
            black_box(policy::decide(e, &c));
            let ns = t.elapsed().as_nanos() as u64;
            all.push(ns);
            match per_class.iter_mut().find(|(k, _)| k == class) {
                Some((_, v)) => v.push(ns),
                None => per_class.push((class, vec![ns])),
            }
        }
    }
    let wall = started.elapsed();
    println!("| input | calls | median µs | p99 µs | max µs |");
    println!("|---|---|---|---|---|");
    per_class.push(("all", all));
    for (class, mut v) in per_class {
        v.sort_unstable();
        println!(
            "| {class} | {} | {:.1} | {:.1} | {:.1} |",
            v.len(),
            pct(&v, 0.5) as f64 / 1e3,
            pct(&v, 0.99) as f64 / 1e3,
            *v.last().unwrap_or(&0) as f64 / 1e3
        );
    }
    let calls = rounds * mix.len();
    println!(
        "\nthroughput (one core): {:.0} calls/s ({calls} calls in {:.2} s)",
        calls as f64 / wall.as_secs_f64(),
        wall.as_secs_f64()
    );
    breakdown(&mix, &ctx);
}
