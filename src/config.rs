//! `config.toml`: daemon settings. The hook client never reads it (no parsing on the hot path).
//!
//! A broken file does not stop the daemon: it starts with defaults, logs the error, reports it in
//! `dashclawd status`, and denies every gating event with a message naming the file and the
//! problem, because the broken file may have been meant to tighten something.

use std::path::Path;

use serde::Deserialize;

use crate::ledger::SyncMode;
use crate::redact::{Engine, RedactConfig};

#[derive(Debug, Clone, Deserialize)]
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
    /// MiB preallocated beside the ledger (`state/disk-reserve`) and given up when the disk is
    /// full, so records keep landing for a while (0: none).
    pub disk_reserve_mb: u64,
    /// Secret redaction: `disabled = [rule ids]` and extra `[[redact.rules]]`.
    pub redact: RedactConfig,
    /// The DashClaw server (`[server]`); the upstream environment variables override it.
    pub server: crate::remote::ServerSection,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            idle_timeout_secs: 1800,
            ledger_sync: SyncMode::Normal,
            log_level: "info".into(),
            log_keep_days: 7,
            disk_reserve_mb: 8,
            redact: RedactConfig::default(),
            server: crate::remote::ServerSection::default(),
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
            // A bad user rule must not pass silently: the file counts as broken.
            Ok(config) => match redact_engine(&config) {
                Err(e) => Loaded {
                    config: Config::default(),
                    error: Some(format!("{}: {e}", path.display())),
                },
                Ok(_) => Loaded {
                    config,
                    error: None,
                },
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

/// The redaction engine this configuration asks for (`None`: the built-in catalogue as is).
pub fn redact_engine(config: &Config) -> Result<Option<Engine>, crate::redact::Error> {
    if config.redact.disabled.is_empty() && config.redact.rules.is_empty() {
        return Ok(None);
    }
    Engine::with_config(&config.redact).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_means_defaults() {
        let l = load(Path::new("/nonexistent/config.toml"));
        assert_eq!(
            l.config.idle_timeout_secs,
            Config::default().idle_timeout_secs
        );
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

    #[test]
    fn a_bad_user_redaction_rule_breaks_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(
            &p,
            "[[redact.rules]]\nid = \"acme\"\nkeywords = [\"acme_\"]\npattern = \"acme_(\"\n",
        )
        .unwrap();
        assert!(load(&p).error.unwrap().contains("acme"));
        std::fs::write(&p, "[redact]\ndisabled = [\"jwt\"]\n").unwrap();
        assert!(load(&p).error.is_none());
    }
}
