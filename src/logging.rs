//! Daemon logging: `tracing` into daily-rolled files under the state directory's `logs/`.
//!
//! Log lines never carry hook payloads, only ids, verdicts and errors; and every line passes
//! through the secret redactor on its way out, in case an error message quotes one.

use anyhow::{Context, Result};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::prelude::*;
use tracing_subscriber::{reload, EnvFilter, Registry};

use crate::config::Config;
use crate::paths::Paths;

/// Installs the global subscriber; keep the guard alive so buffered lines are flushed on exit.
pub fn init(paths: &Paths, config: &Config, to_stderr: bool) -> Result<WorkerGuard> {
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("dashclawd")
        .filename_suffix("log")
        .max_log_files(config.log_keep_days.max(1))
        .build(&paths.log_dir)
        .with_context(|| format!("opening the log directory {}", paths.log_dir.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(RedactingWriter(appender));
    let filter = || {
        EnvFilter::try_from_env("DASHCLAW_LOG")
            .or_else(|_| EnvFilter::try_new(&config.log_level))
            .unwrap_or_else(|_| EnvFilter::new("info"))
    };
    // One global filter, reloadable, so a changed `log_level` applies without a restart.
    let (filter_layer, handle) = reload::Layer::new(filter());
    let file_layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false);
    let stderr_layer = to_stderr.then(|| {
        tracing_subscriber::fmt::layer().with_writer(|| RedactingWriter(std::io::stderr()))
    });
    let _ = HANDLE.set(handle);
    tracing_subscriber::registry()
        .with(filter_layer)
        .with(file_layer)
        .with(stderr_layer)
        .try_init()
        .ok();
    Ok(guard)
}

static HANDLE: std::sync::OnceLock<reload::Handle<EnvFilter, Registry>> =
    std::sync::OnceLock::new();

/// Applies a new `log_level` (config reload). `DASHCLAW_LOG`, when set, still wins.
pub fn set_level(level: &str) -> Result<()> {
    if std::env::var_os("DASHCLAW_LOG").is_some() {
        return Ok(());
    }
    let Some(h) = HANDLE.get() else {
        return Ok(());
    };
    let f = EnvFilter::try_new(level).with_context(|| format!("log_level {level:?}"))?;
    h.reload(f).context("applying log_level")
}

/// Redacts each formatted log line before it reaches the file or stderr: a secret that slips into
/// an error message (a URL with a password, a token echoed back by a tool) is never written.
struct RedactingWriter<W>(W);

impl<W: std::io::Write> std::io::Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // tracing's fmt layer writes one whole event per call, so a secret is not split.
        self.0
            .write_all(&crate::redact::default_engine().redact_bytes(buf))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    #[test]
    fn log_lines_are_redacted() {
        let mut out = Vec::new();
        let token = format!("ghp_{}", "a1B2c3D4e5".repeat(4).get(..36).unwrap());
        writeln!(
            super::RedactingWriter(&mut out),
            "ERROR cannot reach https://user:hunter2hunter2@example.com token={token}"
        )
        .unwrap();
        let line = String::from_utf8(out).unwrap();
        assert!(
            !line.contains("hunter2hunter2") && !line.contains(&token),
            "{line}"
        );
        assert!(line.contains("[REDACTED:"), "{line}");
    }
}
