//! Daemon logging: `tracing` into daily-rolled files under the state directory's `logs/`.
//!
//! Log lines never carry hook payloads, only ids, verdicts and errors; anything free-form that
//! might hold a secret goes through `redact` first.

use anyhow::{Context, Result};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::prelude::*;
use tracing_subscriber::EnvFilter;

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
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = || {
        EnvFilter::try_from_env("DASHCLAW_LOG")
            .or_else(|_| EnvFilter::try_new(&config.log_level))
            .unwrap_or_else(|_| EnvFilter::new("info"))
    };
    let file_layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_filter(filter());
    let stderr_layer = to_stderr.then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter())
    });
    tracing_subscriber::registry()
        .with(file_layer)
        .with(stderr_layer)
        .try_init()
        .ok();
    Ok(guard)
}
