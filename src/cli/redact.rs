//! `dashclawd redact [FILE]`: the secret engine on a file or stdin, without a daemon. Text mode
//! streams (constant memory); `--json` redacts inside string values and keys of a JSON document
//! (or JSON Lines) and keeps it valid; `--report` lists rule ids and byte offsets (JSON pointers
//! with `--json`), never the secret; `--check` exits 1 when anything was found (for CI).

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::redact::{default_engine, Engine, RedactConfig};

#[derive(clap::Args)]
pub struct RedactArgs {
    /// File to read (default: stdin). Output goes to stdout.
    file: Option<PathBuf>,
    /// Treat the input as JSON (or JSON Lines): redact inside string values and keys.
    #[arg(long)]
    json: bool,
    /// Print findings (rule id and byte offsets, or JSON pointers with --json) instead of the
    /// redacted text.
    #[arg(long)]
    report: bool,
    /// Exit with status 1 when a secret was found (the output is still written).
    #[arg(long)]
    check: bool,
    /// TOML file with extra rules and disabled ids (the fields of the `[redact]` table).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Rule id to switch off (repeatable).
    #[arg(long = "disable", value_name = "RULE_ID")]
    disable: Vec<String>,
    /// List the active rules and exit.
    #[arg(long)]
    list_rules: bool,
}

pub fn run(args: RedactArgs) -> Result<ExitCode> {
    let custom;
    let engine: &Engine = if args.rules.is_some() || !args.disable.is_empty() {
        let mut config = match &args.rules {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str::<RedactConfig>(&text)
                    .with_context(|| format!("parsing {}", path.display()))?
            }
            None => RedactConfig::default(),
        };
        config.disabled.extend(args.disable.iter().cloned());
        custom = Engine::with_config(&config)?;
        &custom
    } else {
        default_engine()
    };

    let stdout = io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    if args.list_rules {
        for rule in engine.rules() {
            writeln!(out, "{}\t{}\t{}", rule.id, rule.family, rule.description)?;
        }
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }

    let mut input: Box<dyn Read> = match &args.file {
        Some(path) => {
            Box::new(File::open(path).with_context(|| format!("opening {}", path.display()))?)
        }
        None => Box::new(io::stdin().lock()),
    };
    let found = if args.json {
        run_json(engine, &mut input, &mut out, args.report)?
    } else {
        run_text(engine, &mut input, &mut out, args.report)?
    };
    out.flush()?;
    Ok(if args.check && found > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Streams the input through a [`crate::redact::StreamRedactor`]; returns the number of findings.
fn run_text(
    engine: &Engine,
    input: &mut dyn Read,
    out: &mut dyn Write,
    report: bool,
) -> Result<usize> {
    let mut stream = engine.stream();
    let mut buf = vec![0u8; 256 * 1024];
    let mut found = 0;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("reading input"),
        };
        let chunk = stream.push(&buf[..n]);
        found += emit(&mut stream, out, &chunk, report)?;
    }
    let chunk = stream.finish();
    found += emit(&mut stream, out, &chunk, report)?;
    Ok(found)
}

fn emit(
    stream: &mut crate::redact::StreamRedactor<'_>,
    out: &mut dyn Write,
    chunk: &[u8],
    report: bool,
) -> Result<usize> {
    let findings = stream.take_findings();
    if report {
        for f in &findings {
            writeln!(out, "{}\t{}-{}", f.rule, f.range.start, f.range.end)?;
        }
    } else {
        out.write_all(chunk)?;
    }
    Ok(findings.len())
}

/// One JSON document, or JSON Lines when the whole input is not one document.
fn run_json(
    engine: &Engine,
    input: &mut dyn Read,
    out: &mut dyn Write,
    report: bool,
) -> Result<usize> {
    let mut text = String::new();
    input
        .read_to_string(&mut text)
        .context("reading input (JSON must be UTF-8)")?;
    let mut found = 0;
    let mut one =
        |line: Option<usize>, mut doc: serde_json::Value, out: &mut dyn Write| -> Result<()> {
            let findings = engine.redact_json_report(&mut doc);
            found += findings.len();
            if report {
                for (pointer, rule) in findings {
                    match line {
                        Some(l) => writeln!(out, "{rule}\tline {l}\t{pointer}")?,
                        None => writeln!(out, "{rule}\t{pointer}")?,
                    }
                }
            } else {
                serde_json::to_writer(&mut *out, &doc)?;
                writeln!(out)?;
            }
            Ok(())
        };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(doc) => one(None, doc, out)?,
        Err(whole) => {
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let doc = serde_json::from_str(line).map_err(|e| {
                    anyhow::anyhow!(
                        "input is neither JSON ({whole}) nor JSON Lines (line {}: {e})",
                        i + 1
                    )
                })?;
                one(Some(i + 1), doc, out)?;
            }
        }
    }
    Ok(found)
}
