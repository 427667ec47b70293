//! Throughput of the secret engine, single-threaded: (a) ordinary code and prose, (b) keyword-dense
//! logs, and the compile time of the full rule set. `cargo bench --bench redact`;
//! `REDACT_WRITE_DOCS=1 cargo bench --bench redact` also writes the table into docs/redaction.md.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use dashclaw_sidecar::redact::Engine;

fn corpus_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/redact/clean")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn ordinary(target: usize) -> String {
    let unit: String = [
        "sidecar_sources.rs.txt",
        "client.py",
        "server.js",
        "prose.md",
        "sidecar_readme.md",
    ]
    .iter()
    .map(|f| corpus_file(f))
    .collect();
    unit.repeat(target / unit.len() + 1)
}

/// Logs where nearly every line carries `token=`, `key`, `secret`, `password`, `auth`:
/// mostly harmless values, one real-looking credential every 16 lines.
fn keyword_dense(target: usize) -> String {
    let mut out = String::with_capacity(target + 256);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut rnd = |n: usize| {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWYZabcdefghijklmnopqrstuvwyz0123456789";
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                A[(x % A.len() as u64) as usize] as char
            })
            .collect::<String>()
    };
    let mut i = 0u64;
    while out.len() < target {
        i += 1;
        let line = match i % 16 {
            0 => format!("ts={i} level=warn msg=\"retry\" token=ghp_{} key=user:{i}\n", rnd(36)),
            1 => format!("ts={i} level=info token_count={i} max_tokens=4096 api_key=${{API_KEY}} auth=ok\n"),
            2 => format!("ts={i} level=debug key=session:{i} secret_ref=vault:/kv/app/db password_len=12\n"),
            3 => format!("ts={i} level=info msg=\"token refreshed\" token_type=Bearer expires_in=3600 key_id={i}\n"),
            4 => format!("ts={i} level=info authorization=present api-key=redacted-by-client secret=*****\n"),
            5 => format!("ts={i} level=debug cache key=\"tokens:{i}\" hit=true keys=128 keyspace=main\n"),
            6 => format!("ts={i} level=info password policy ok; secret rotation scheduled; token store healthy\n"),
            7 => format!("ts={i} level=error auth failed for key {i}: invalid token (expired)\n"),
            _ => format!("ts={i} level=info token=t{i} key=k{i} secret=false password=unset auth=none api_key=none\n"),
        };
        out.push_str(&line);
    }
    out
}

fn throughput(engine: &Engine, text: &str) -> (f64, usize) {
    // Warm up (also compiles the rules this text triggers).
    let findings = engine.find(text.as_bytes()).len();
    let mut best = Duration::MAX;
    for _ in 0..7 {
        let start = Instant::now();
        black_box(engine.redact_bytes(black_box(text.as_bytes())));
        best = best.min(start.elapsed());
    }
    (text.len() as f64 / 1e6 / best.as_secs_f64(), findings)
}

fn main() {
    // Compile time: automaton + every regex, on a fresh engine each time; median of 7.
    let mut builds = Vec::new();
    let mut fulls = Vec::new();
    for _ in 0..7 {
        let start = Instant::now();
        let engine = Engine::new();
        builds.push(start.elapsed());
        assert!(engine.compile_all().is_empty());
        fulls.push(start.elapsed());
    }
    builds.sort();
    fulls.sort();
    let engine = Engine::new();
    let rules = engine.rules().len();

    let a = ordinary(8 << 20);
    let b = keyword_dense(4 << 20);
    let (mbs_a, found_a) = throughput(&engine, &a);
    let (mbs_b, found_b) = throughput(&engine, &b);

    // Streaming: the same text pushed in 64 KiB chunks.
    let start = Instant::now();
    let mut s = engine.stream();
    let mut n = 0;
    for chunk in a.as_bytes().chunks(64 * 1024) {
        n += s.push(chunk).len();
    }
    n += s.finish().len();
    black_box(n);
    let mbs_stream = a.len() as f64 / 1e6 / start.elapsed().as_secs_f64();

    let table = format!(
        "| measurement | result | target |\n|---|---:|---:|\n\
         | (a) ordinary code and prose, {:.1} MB, `redact_bytes` | **{mbs_a:.0} MB/s** ({found_a} findings) | ≥ 200 MB/s |\n\
         | (a) same, `StreamRedactor`, 64 KiB chunks | {mbs_stream:.0} MB/s | |\n\
         | (b) keyword-dense logs, {:.1} MB | **{mbs_b:.0} MB/s** ({found_b} findings) | ≥ 50 MB/s |\n\
         | engine build ({rules} rules: keyword automaton, lazy regexes), median | {:.1} ms | |\n\
         | full compile (automaton + all {rules} regexes), median | **{:.1} ms** | < 100 ms |\n",
        a.len() as f64 / 1e6,
        b.len() as f64 / 1e6,
        builds[builds.len() / 2].as_secs_f64() * 1e3,
        fulls[fulls.len() / 2].as_secs_f64() * 1e3,
    );
    println!("{table}");
    if std::env::var_os("REDACT_WRITE_DOCS").is_some() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/redaction.md");
        let doc = std::fs::read_to_string(&path).expect("docs/redaction.md");
        let (begin, end) = ("<!-- bench:begin -->", "<!-- bench:end -->");
        if let (Some(x), Some(y)) = (doc.find(begin), doc.find(end)) {
            let new = format!("{}{begin}\n{table}{}", &doc[..x], &doc[y..]);
            std::fs::write(&path, new).expect("write docs");
        }
    }
}
