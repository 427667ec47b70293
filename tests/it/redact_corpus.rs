//! Per-rule corpus: generated true positives for every built-in rule, near-miss negatives, and a
//! clean corpus of ordinary code, logs and prose to measure false positives. Prints a table per
//! rule family; `REDACT_WRITE_DOCS=1 cargo test --test redact_corpus` writes it into
//! `docs/redaction.md`.

use crate::redact_support;

use std::collections::BTreeMap;
use std::path::Path;

use dashclaw_sidecar::redact::{default_engine, Engine};
use redact_support::{expand, leaks, truncated, Fill};

const SEEDS: u64 = 25;

#[derive(Default)]
struct Family {
    rules: usize,
    positives: usize,
    detected: usize,
    named: usize,
    negatives: usize,
    negative_hits: usize,
    clean_hits: usize,
}

/// Contexts a secret is seen in: bare sample, inside a log line, inside a JSON string.
fn contexts(sample: &str) -> Vec<String> {
    vec![
        sample.to_owned(),
        format!("2025-03-04T05:06:07.890Z INFO  worker[812]: {sample} (attempt 2)\n"),
        serde_json::to_string(&serde_json::json!({ "tool_output": sample })).unwrap(),
    ]
}

fn clean_corpus() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/redact/clean");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("clean corpus directory")
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn corpus() {
    let engine: &Engine = default_engine();
    let rules = engine.rules();
    let family_of: BTreeMap<String, String> = rules
        .iter()
        .map(|r| (r.id.clone(), r.family.clone()))
        .collect();
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut failures = Vec::new();

    for rule in &rules {
        let fam = families.entry(rule.family.clone()).or_default();
        fam.rules += 1;
        for seed in 0..SEEDS {
            let (sample, secret_range) = expand(rule.sample, Fill::Random(seed * 7919 + 13));
            let secret = &sample[secret_range.clone()];
            assert!(!secret.is_empty(), "{}: sample has no «secret»", rule.id);
            for (i, text) in contexts(&sample).iter().enumerate() {
                fam.positives += 1;
                let out = engine.redact_str(text);
                // In the JSON context the secret is escaped; compare the escaped form.
                let needle = if i == 2 {
                    let q = serde_json::to_string(secret).unwrap();
                    q[1..q.len() - 1].to_owned()
                } else {
                    secret.to_owned()
                };
                // Removed whole: no run of 8 characters of the secret is left.
                let gone = !leaks(&out, &needle, 8);
                let named = out.contains(&format!("[REDACTED:{}]", rule.id));
                fam.detected += usize::from(gone);
                fam.named += usize::from(gone && named);
                let already = failures
                    .iter()
                    .any(|f: &String| f.starts_with(&format!("positive {}:", rule.id)));
                if !(gone && named || already) {
                    failures.push(format!("positive {}: {text:?} -> {out:?}", rule.id));
                }
            }
            // JSON-aware mode keeps the document valid and drops the secret.
            let mut doc = serde_json::json!({ "tool_output": sample.clone() });
            engine.redact_json(&mut doc);
            let s = doc["tool_output"].as_str().unwrap();
            if s.contains(secret) {
                failures.push(format!("json {}: {s:?}", rule.id));
            }
        }
        // Near misses: the rule's own, a truncated key, an `xxxx` placeholder key.
        let mut negatives = vec![];
        if !rule.near.is_empty() {
            negatives.push(rule.near.to_owned());
        }
        // A third of a password is still a password: only fixed-shape keys get truncated.
        if !matches!(rule.family.as_str(), "database" | "auth" | "generic") {
            for seed in 0..5 {
                negatives.push(truncated(rule.sample, seed * 31 + 5));
            }
        }
        if rule.family != "private-key" {
            negatives.push(expand(rule.sample, Fill::Placeholder).0);
        }
        assert!(!negatives.is_empty(), "{}: no look-alike sample", rule.id);
        for text in negatives {
            fam.negatives += 1;
            if engine.find_rules(&text).contains(&rule.id.as_str()) {
                fam.negative_hits += 1;
                failures.push(format!("near miss {}: {text:?}", rule.id));
            }
        }
    }

    let corpus = clean_corpus();
    let total_bytes: usize = corpus.iter().map(|(_, t)| t.len()).sum();
    assert!(
        total_bytes > 300_000,
        "clean corpus is only {total_bytes} bytes"
    );
    let mut clean_lines = Vec::new();
    for (name, text) in &corpus {
        for f in engine.find(text.as_bytes()) {
            let fam = family_of.get(&f.rule).cloned().unwrap_or_default();
            families.entry(fam).or_default().clean_hits += 1;
            let line = text[..f.range.start].matches('\n').count() + 1;
            clean_lines.push(format!("{name}:{line}: {}", f.rule));
        }
    }

    let table = render(&families, rules.len(), total_bytes, corpus.len());
    println!("{table}");
    for l in &clean_lines {
        println!("clean-corpus hit {l}");
    }
    if std::env::var_os("REDACT_WRITE_DOCS").is_some() {
        write_docs("corpus", &table);
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The clean corpus is ordinary text: allow at most one hit per 100 KB.
    assert!(
        clean_lines.len() * 100_000 <= total_bytes,
        "too many false positives in the clean corpus:\n{}",
        clean_lines.join("\n")
    );
}

fn render(families: &BTreeMap<String, Family>, rules: usize, bytes: usize, files: usize) -> String {
    let mut t = format!(
        "Built-in rules: **{rules}**. Positives: {SEEDS} generated keys per rule, each in 3 contexts \
         (bare, log line, JSON string). Clean corpus: {files} files, {:.0} KB.\n\n\
         | family | rules | positives | recall (secret removed) | recall (right rule id) | near misses | near-miss FP rate | clean-corpus hits | clean FP per MB |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        bytes as f64 / 1024.0
    );
    let mb = bytes as f64 / 1e6;
    let mut total = Family::default();
    for (name, f) in families {
        t.push_str(&row(name, f, mb));
        total.rules += f.rules;
        total.positives += f.positives;
        total.detected += f.detected;
        total.named += f.named;
        total.negatives += f.negatives;
        total.negative_hits += f.negative_hits;
        total.clean_hits += f.clean_hits;
    }
    t.push_str(&row("**all**", &total, mb));
    t
}

fn row(name: &str, f: &Family, mb: f64) -> String {
    let pct = |a: usize, b: usize| {
        if b == 0 {
            "-".to_owned()
        } else {
            format!("{:.1}%", 100.0 * a as f64 / b as f64)
        }
    };
    format!(
        "| {name} | {} | {} | {} | {} | {} | {} | {} | {:.2} |\n",
        f.rules,
        f.positives,
        pct(f.detected, f.positives),
        pct(f.named, f.positives),
        f.negatives,
        pct(f.negative_hits, f.negatives),
        f.clean_hits,
        f.clean_hits as f64 / mb
    )
}

/// Replaces the text between `<!-- {tag}:begin -->` and `<!-- {tag}:end -->`.
pub fn write_docs(tag: &str, table: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/redaction.md");
    let doc = std::fs::read_to_string(&path).expect("docs/redaction.md");
    let (begin, end) = (
        format!("<!-- {tag}:begin -->"),
        format!("<!-- {tag}:end -->"),
    );
    let (Some(a), Some(b)) = (doc.find(&begin), doc.find(&end)) else {
        panic!("markers for {tag} missing in docs/redaction.md");
    };
    let new = format!("{}{begin}\n{table}{}", &doc[..a], &doc[b..]);
    std::fs::write(&path, new).unwrap();
}
