//! `config.toml`: daemon settings. The hook client never reads it (no parsing on the hot path).
//!
//! A broken file does not stop the daemon: it starts with defaults, logs the error, reports it in
//! `dashclawd status`, and denies every gating event with a message naming the file and the
//! problem, because the broken file may have been meant to tighten something.

use std::path::Path;

use serde::Deserialize;

use crate::ledger::SyncMode;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Seconds without any request after which a daemon that a hook auto-started exits.
    /// 0 keeps it running. A daemon started by hand or by a service manager never idles out.
    pub idle_timeout_secs: u64,
    /// `normal` (survives a daemon crash) or `full` (also survives power loss; one fsync per batch).
    pub ledger_sync: SyncMode,
    /// `tracing` filter for the daemon's log file, e.g. `info` or `dashclaw_sidecar=debug`.
    pub log_level: String,
    /// How many rolled daily log files to keep.
    pub log_keep_days: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            idle_timeout_secs: 1800,
            ledger_sync: SyncMode::Normal,
            log_level: "info".into(),
            log_keep_days: 7,
        }
    }
}

/// The configuration in force, and the error that made us fall back to defaults, if any.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub config: Config,
    pub error: Option<String>,
}

pub fn load(path: &Path) -> Loaded {
    match std::fs::read_to_string(path) {
        Ok(text) => match toml::from_str::<Config>(&text) {
            Ok(config) => Loaded {
                config,
                error: None,
            },
            Err(e) => Loaded {
                config: Config::default(),
                error: Some(format!("{}: {}", path.display(), e.to_string().trim())),
            },
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Loaded::default(),
        Err(e) => Loaded {
            config: Config::default(),
            error: Some(format!("cannot read {}: {e}", path.display())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_means_defaults() {
        let l = load(Path::new("/nonexistent/config.toml"));
        assert_eq!(l.config, Config::default());
        assert!(l.error.is_none());
    }

    #[test]
    fn broken_file_is_reported_with_its_location() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(&p, "idle_timeout_secs = \"soon\"\n").unwrap();
        let l = load(&p);
        let err = l.error.unwrap();
        assert!(err.contains("config.toml"), "{err}");
        assert!(err.contains("idle_timeout_secs"), "{err}");
        std::fs::write(&p, "idle_timout_secs = 5\n").unwrap();
        assert!(load(&p).error.unwrap().contains("unknown field"));
    }

    #[test]
    fn values_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(&p, "idle_timeout_secs = 5\nledger_sync = \"full\"\n").unwrap();
        let l = load(&p);
        assert_eq!(l.config.idle_timeout_secs, 5);
        assert_eq!(l.config.ledger_sync, SyncMode::Full);
    }
}
