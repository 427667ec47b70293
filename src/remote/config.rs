//! Where the DashClaw server is and how to talk to it: `[server]` in config.toml, overridden by
//! the upstream hooks' environment variables (upstream-python-hooks.md §6) so users can switch.
//!
//! The API key comes from `DASHCLAW_API_KEY`, or from a file (`DASHCLAW_API_KEY_FILE` or
//! `api_key_file`) that only its owner can read. It is never written inline in config.toml, and
//! [`ApiKey`] never prints itself.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// `[server]` in config.toml. Every field is optional; the environment overrides each. It holds
/// no secret (keys and tokens live in files or the environment), so it may be printed.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// `https://dashclaw.example.com` (env `DASHCLAW_BASE_URL`, else `DASHCLAW_URL`).
    pub base_url: Option<String>,
    /// A file holding the API key, mode 0600 (env `DASHCLAW_API_KEY_FILE`).
    pub api_key_file: Option<PathBuf>,
    /// Default agent id when the hook's environment has no `DASHCLAW_AGENT_ID`.
    pub agent_id: Option<String>,
    /// One guard attempt's budget, connect included (env `DASHCLAW_GUARD_TIMEOUT`, seconds).
    pub guard_timeout_ms: Option<u64>,
    /// TCP + TLS connect budget (env `DASHCLAW_GUARD_CONNECT_TIMEOUT`, seconds).
    pub connect_timeout_ms: Option<u64>,
    /// Extra guard attempts on transient failures (env `DASHCLAW_GUARD_RETRIES`).
    pub guard_retries: Option<u32>,
    /// How long a call waits for a human approval (env `DASHCLAW_APPROVAL_TIMEOUT`, seconds).
    pub approval_timeout_secs: Option<u64>,
    /// `block` (default), `warn`, `allow` or `local` (env `DASHCLAW_GUARD_UNAVAILABLE_POLICY`).
    pub unavailable_policy: Option<String>,
    /// v2.0 servers record no `approved_by`: count pending_approval → running as approved.
    pub approved_on_running: Option<bool>,
    /// How often cached server policies are refreshed (seconds).
    pub policy_refresh_secs: Option<u64>,
    /// Presence heartbeat interval while agents are active (seconds; 0 disables).
    pub heartbeat_secs: Option<u64>,
    /// Disk budget of the outbox (MiB); the oldest undelivered events are dropped beyond it.
    pub outbox_budget_mib: Option<f64>,
    /// Use the server's event stream (SSE) for approvals and policy changes.
    pub event_stream: Option<bool>,
    /// Stream session transcripts to Code Sessions (env `DASHCLAW_CODE_SESSIONS_ENABLED`).
    pub code_sessions: Option<bool>,
    /// `metadata` (default) or `full` transcript content (env `DASHCLAW_CODE_SESSIONS_CONTENT`).
    pub code_sessions_content: Option<String>,
    /// A file holding the OIDC bearer token (mode 0600; env `DASHCLAW_AUTH_TOKEN_FILE`; the
    /// token itself only from the environment, `DASHCLAW_AUTH_TOKEN`).
    pub auth_token_file: Option<PathBuf>,
    /// A command printing a fresh OIDC bearer token (run with `sh -c`; env
    /// `DASHCLAW_AUTH_TOKEN_COMMAND`); re-run before the token's `exp`.
    pub auth_token_command: Option<String>,
    /// Agent signatures on `POST /api/actions`: `auto` (default: once the server asks, or once
    /// the agent's key is paired), `always`, `never`.
    pub sign_actions: Option<String>,
    /// The event stream is dropped after this long without a byte (the server's keep-alive is
    /// every 15 s), seconds.
    pub stream_idle_secs: Option<u64>,
}

impl ServerSection {
    /// Whether transcripts are streamed: the environment, else the file, else on.
    pub fn code_sessions_enabled(&self, env: &dyn Fn(&str) -> Option<String>) -> bool {
        match env("DASHCLAW_CODE_SESSIONS_ENABLED").map(|v| v.trim().to_ascii_lowercase()) {
            Some(v) if !v.is_empty() => !matches!(v.as_str(), "0" | "false" | "no" | "off"),
            _ => self.code_sessions.unwrap_or(true),
        }
    }

    /// Whether transcript content is sent in full (`full`) rather than metadata only.
    pub fn code_sessions_full(&self, env: &dyn Fn(&str) -> Option<String>) -> bool {
        env("DASHCLAW_CODE_SESSIONS_CONTENT")
            .filter(|v| !v.trim().is_empty())
            .or_else(|| self.code_sessions_content.clone())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("full"))
    }
}

/// The API key. Debug and Display print a placeholder, so it cannot leak through a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey(key.into())
    }

    /// The key itself, for the `x-api-key` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// What to do when the guard cannot give a verdict (unreachable, bad key, garbage, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// Deny (the default; upstream's `block`).
    Block,
    /// Let the call run with a warning; upstream's `warn`.
    Warn,
    /// Let the call run; upstream's `allow`.
    Allow,
    /// Evaluate the cached server policies locally (tighten-only) and go by that.
    Local,
}

impl Unavailable {
    /// Upstream: anything but `allow` or `warn` means `block`.
    pub fn parse(s: &str) -> Unavailable {
        match s.trim().to_ascii_lowercase().as_str() {
            "warn" => Unavailable::Warn,
            "allow" => Unavailable::Allow,
            "local" => Unavailable::Local,
            _ => Unavailable::Block,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Unavailable::Block => "block",
            Unavailable::Warn => "warn",
            Unavailable::Allow => "allow",
            Unavailable::Local => "local",
        }
    }
}

/// The resolved server settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Without a trailing `/`.
    pub base_url: String,
    pub api_key: ApiKey,
    /// Where the key came from, for `status` (`env DASHCLAW_API_KEY` or a file path).
    pub api_key_source: String,
    pub agent_id: Option<String>,
    pub guard_timeout: Duration,
    pub connect_timeout: Duration,
    pub guard_retries: u32,
    pub approval_timeout: Duration,
    pub unavailable: Unavailable,
    pub approved_on_running: bool,
    pub policy_refresh: Duration,
    pub heartbeat: Option<Duration>,
    pub outbox_budget_bytes: u64,
    pub event_stream: bool,
    /// Stream transcripts to Code Sessions.
    pub code_sessions: bool,
    /// Send transcript content in full, not metadata only.
    pub code_sessions_full: bool,
    /// Where the bearer token comes from, if any.
    pub auth_token: Option<TokenSetting>,
    pub sign_actions: SignMode,
    pub stream_idle: Duration,
}

/// The OIDC bearer token (newest servers verify it; `verification_status` in the answers).
#[derive(Clone, PartialEq, Eq)]
pub enum TokenSetting {
    /// A fixed token (env `DASHCLAW_AUTH_TOKEN` or a 0600 file).
    Fixed { token: ApiKey, source: String },
    /// A command printing the token.
    Command(String),
}

impl fmt::Debug for TokenSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

impl TokenSetting {
    /// For `status`: where it comes from, never the token.
    pub fn describe(&self) -> String {
        match self {
            TokenSetting::Fixed { source, .. } => source.clone(),
            TokenSetting::Command(c) => {
                format!("command {:?}", c.chars().take(80).collect::<String>())
            }
        }
    }
}

/// When `POST /api/actions` carries the agent's `_signature` (§4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignMode {
    Auto,
    Always,
    Never,
}

impl SignMode {
    pub fn parse(s: &str) -> Result<SignMode, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Ok(SignMode::Auto),
            "always" | "true" | "on" => Ok(SignMode::Always),
            "never" | "false" | "off" => Ok(SignMode::Never),
            other => Err(format!(
                "[server] sign_actions = {other:?}: expected auto, always or never"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SignMode::Auto => "auto",
            SignMode::Always => "always",
            SignMode::Never => "never",
        }
    }
}

/// Upstream's default is 30 s, which the spec calls short; the SDKs wait 300 s.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest approval wait we accept: below the hook client's one-hour hold cap.
pub const MAX_APPROVAL_TIMEOUT: Duration = Duration::from_secs(3500);

impl Settings {
    /// Resolves the settings from config.toml's section and an environment lookup (the
    /// daemon's own environment). `Ok(None)`: no server configured, the daemon runs offline.
    /// `Err`: a configuration that must not silently run ungoverned (half-configured, a key
    /// file others can read, a URL that is not http(s)).
    pub fn resolve(
        section: &ServerSection,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Option<Settings>, String> {
        let env_nonempty = |k: &str| {
            env(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let base_url = env_nonempty("DASHCLAW_BASE_URL")
            .or_else(|| env_nonempty("DASHCLAW_URL"))
            .or_else(|| section.base_url.clone().filter(|u| !u.trim().is_empty()));
        let key = match env_nonempty("DASHCLAW_API_KEY") {
            Some(k) => Some((ApiKey::new(k), "env DASHCLAW_API_KEY".to_owned())),
            None => match env_nonempty("DASHCLAW_API_KEY_FILE")
                .map(PathBuf::from)
                .or_else(|| section.api_key_file.clone())
            {
                Some(path) => Some((read_key_file(&path)?, path.display().to_string())),
                None => None,
            },
        };
        let (base_url, (api_key, api_key_source)) = match (base_url, key) {
            (None, None) => return Ok(None),
            (Some(_), None) => {
                return Err(
                    "DashClaw is half-configured: DASHCLAW_BASE_URL is set but no API key \
                     (set DASHCLAW_API_KEY, DASHCLAW_API_KEY_FILE or [server] api_key_file)"
                        .into(),
                )
            }
            (None, Some(_)) => {
                return Err("DashClaw is half-configured: an API key is set but no \
                     DASHCLAW_BASE_URL (or [server] base_url)"
                    .into())
            }
            (Some(u), Some(k)) => (u, k),
        };
        let base_url = normalize_base_url(&base_url)?;
        let secs = |k: &str| -> Result<Option<f64>, String> {
            match env_nonempty(k) {
                None => Ok(None),
                Some(v) => v
                    .parse::<f64>()
                    .ok()
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(Some)
                    .ok_or_else(|| format!("{k}={v:?} is not a number of seconds")),
            }
        };
        let dur =
            |env_key: &str, conf_ms: Option<u64>, default: Duration| -> Result<Duration, String> {
                Ok(match secs(env_key)? {
                    Some(s) => Duration::from_secs_f64(s),
                    None => conf_ms.map(Duration::from_millis).unwrap_or(default),
                })
            };
        let guard_timeout = dur(
            "DASHCLAW_GUARD_TIMEOUT",
            section.guard_timeout_ms,
            Duration::from_secs(5),
        )?
        .max(Duration::from_millis(100));
        let connect_timeout = dur(
            "DASHCLAW_GUARD_CONNECT_TIMEOUT",
            section.connect_timeout_ms,
            Duration::from_secs(2),
        )?
        .max(Duration::from_millis(50));
        let approval_timeout = dur(
            "DASHCLAW_APPROVAL_TIMEOUT",
            section.approval_timeout_secs.map(|s| s * 1000),
            DEFAULT_APPROVAL_TIMEOUT,
        )?
        .clamp(Duration::from_secs(5), MAX_APPROVAL_TIMEOUT);
        let guard_retries = match env_nonempty("DASHCLAW_GUARD_RETRIES") {
            Some(v) => v
                .parse::<u32>()
                .map_err(|_| format!("DASHCLAW_GUARD_RETRIES={v:?} is not a count"))?,
            None => section.guard_retries.unwrap_or(0),
        }
        .min(5);
        let unavailable = env_nonempty("DASHCLAW_GUARD_UNAVAILABLE_POLICY")
            .or_else(|| section.unavailable_policy.clone())
            .map(|s| Unavailable::parse(&s))
            .unwrap_or(Unavailable::Block);
        Ok(Some(Settings {
            base_url,
            api_key,
            api_key_source,
            agent_id: env_nonempty("DASHCLAW_AGENT_ID").or_else(|| section.agent_id.clone()),
            guard_timeout,
            connect_timeout,
            guard_retries,
            approval_timeout,
            unavailable,
            approved_on_running: section.approved_on_running.unwrap_or(true),
            policy_refresh: Duration::from_secs(section.policy_refresh_secs.unwrap_or(60).max(5)),
            heartbeat: match section.heartbeat_secs.unwrap_or(60) {
                0 => None,
                s => Some(Duration::from_secs(s.max(10))),
            },
            outbox_budget_bytes: (section
                .outbox_budget_mib
                .filter(|m| m.is_finite() && *m > 0.0)
                .unwrap_or(256.0)
                * 1048576.0) as u64,
            event_stream: section.event_stream.unwrap_or(true),
            code_sessions: section.code_sessions_enabled(env),
            code_sessions_full: section.code_sessions_full(env),
            auth_token: match (
                env_nonempty("DASHCLAW_AUTH_TOKEN"),
                env_nonempty("DASHCLAW_AUTH_TOKEN_FILE")
                    .map(PathBuf::from)
                    .or_else(|| section.auth_token_file.clone()),
                env_nonempty("DASHCLAW_AUTH_TOKEN_COMMAND").or_else(|| {
                    section
                        .auth_token_command
                        .clone()
                        .filter(|c| !c.trim().is_empty())
                }),
            ) {
                (Some(t), _, _) => Some(TokenSetting::Fixed {
                    token: ApiKey::new(t),
                    source: "env DASHCLAW_AUTH_TOKEN".into(),
                }),
                (None, Some(path), _) => Some(TokenSetting::Fixed {
                    token: read_key_file(&path)
                        .map_err(|e| e.replace("API key", "bearer token"))?,
                    source: path.display().to_string(),
                }),
                (None, None, Some(cmd)) => Some(TokenSetting::Command(cmd)),
                (None, None, None) => None,
            },
            sign_actions: SignMode::parse(section.sign_actions.as_deref().unwrap_or("auto"))?,
            stream_idle: Duration::from_secs(section.stream_idle_secs.unwrap_or(45).clamp(2, 600)),
        }))
    }
}

/// `https://host[:port][/prefix]` without a trailing slash; anything else is an error.
pub fn normalize_base_url(raw: &str) -> Result<String, String> {
    let url = raw.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| format!("DASHCLAW_BASE_URL {url:?} is not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!(
            "DASHCLAW_BASE_URL {url:?} must be an http:// or https:// URL with a host"
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("DASHCLAW_BASE_URL must not carry credentials; use the API key".into());
    }
    Ok(url.to_owned())
}

/// Reads a key file, refusing one that others can read (the key is an admin credential).
fn read_key_file(path: &Path) -> Result<ApiKey, String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("cannot read the API key file {}: {e}", path.display()))?;
    if meta.mode() & 0o077 != 0 {
        return Err(format!(
            "the API key file {} is readable by others (mode {:o}); run `chmod 600 {}`",
            path.display(),
            meta.mode() & 0o777,
            path.display()
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the API key file {}: {e}", path.display()))?;
    let key = text.trim();
    if key.is_empty() {
        return Err(format!("the API key file {} is empty", path.display()));
    }
    if key.contains(char::is_whitespace) {
        return Err(format!(
            "the API key file {} must hold the key alone on one line",
            path.display()
        ));
    }
    Ok(ApiKey::new(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::os::unix::fs::PermissionsExt;

    fn resolve(env: &[(&str, &str)], section: &ServerSection) -> Result<Option<Settings>, String> {
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::resolve(section, &|k| env.get(k).cloned())
    }

    #[test]
    fn nothing_configured_means_offline() {
        assert!(resolve(&[], &ServerSection::default()).unwrap().is_none());
    }

    #[test]
    fn upstream_variables_are_honoured() {
        let s = resolve(
            &[
                ("DASHCLAW_URL", "https://d.example.com/"),
                ("DASHCLAW_API_KEY", "oc_live_abc"),
                ("DASHCLAW_GUARD_TIMEOUT", "2.5"),
                ("DASHCLAW_APPROVAL_TIMEOUT", "30"),
                ("DASHCLAW_GUARD_UNAVAILABLE_POLICY", "nonsense"),
                ("DASHCLAW_AGENT_ID", "ci-bot"),
            ],
            &ServerSection::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.base_url, "https://d.example.com");
        assert_eq!(s.api_key.expose(), "oc_live_abc");
        assert_eq!(s.guard_timeout, Duration::from_millis(2500));
        assert_eq!(s.approval_timeout, Duration::from_secs(30));
        assert_eq!(
            s.unavailable,
            Unavailable::Block,
            "unknown values mean block"
        );
        assert_eq!(s.agent_id.as_deref(), Some("ci-bot"));
        // BASE_URL wins over URL.
        let s = resolve(
            &[
                ("DASHCLAW_BASE_URL", "http://a:3000"),
                ("DASHCLAW_URL", "http://b"),
                ("DASHCLAW_API_KEY", "k"),
            ],
            &ServerSection::default(),
        )
        .unwrap()
        .unwrap();
        assert_eq!(s.base_url, "http://a:3000");
    }

    #[test]
    fn half_configured_is_an_error_not_a_silent_allow() {
        let e = resolve(
            &[("DASHCLAW_BASE_URL", "http://a")],
            &ServerSection::default(),
        )
        .unwrap_err();
        assert!(e.contains("half-configured"), "{e}");
        let e = resolve(&[("DASHCLAW_API_KEY", "k")], &ServerSection::default()).unwrap_err();
        assert!(e.contains("DASHCLAW_BASE_URL"), "{e}");
    }

    #[test]
    fn key_file_must_be_private_and_never_prints() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, "oc_live_secret\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let section = ServerSection {
            base_url: Some("https://x.example".into()),
            api_key_file: Some(file.clone()),
            ..ServerSection::default()
        };
        let e = resolve(&[], &section).unwrap_err();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let s = resolve(&[], &section).unwrap().unwrap();
        assert_eq!(s.api_key.expose(), "oc_live_secret");
        let shown = format!("{s:?} {}", s.api_key);
        assert!(!shown.contains("oc_live_secret"), "{shown}");
    }

    #[test]
    fn bad_urls_are_rejected() {
        for url in ["ftp://x", "not a url", "https://user:pw@x.example"] {
            assert!(
                resolve(
                    &[("DASHCLAW_BASE_URL", url), ("DASHCLAW_API_KEY", "k")],
                    &ServerSection::default()
                )
                .is_err(),
                "{url}"
            );
        }
    }

    #[test]
    fn identity_settings_resolve_and_the_token_never_prints() {
        let base = [
            ("DASHCLAW_BASE_URL", "https://x.example"),
            ("DASHCLAW_API_KEY", "k"),
        ];
        let s = resolve(&base, &ServerSection::default()).unwrap().unwrap();
        assert_eq!(s.sign_actions, SignMode::Auto);
        assert!(s.auth_token.is_none());
        assert_eq!(s.stream_idle, Duration::from_secs(45));
        let section = ServerSection {
            sign_actions: Some("sometimes".into()),
            ..ServerSection::default()
        };
        assert!(resolve(&base, &section)
            .unwrap_err()
            .contains("sign_actions"));
        let section = ServerSection {
            auth_token_command: Some("print-token".into()),
            sign_actions: Some("always".into()),
            ..ServerSection::default()
        };
        let s = resolve(&base, &section).unwrap().unwrap();
        assert_eq!(s.sign_actions, SignMode::Always);
        assert_eq!(
            s.auth_token,
            Some(TokenSetting::Command("print-token".into()))
        );
        // The environment's token wins, and never shows.
        let mut env = base.to_vec();
        env.push(("DASHCLAW_AUTH_TOKEN", "eyJsecret.token.value"));
        let s = resolve(&env, &section).unwrap().unwrap();
        assert!(
            matches!(&s.auth_token, Some(TokenSetting::Fixed { token, .. }) if token.expose() == "eyJsecret.token.value")
        );
        assert!(!format!("{s:?}").contains("eyJsecret"));
        // A token file others can read is refused.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tok");
        std::fs::write(&file, "t0k\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let section = ServerSection {
            auth_token_file: Some(file),
            ..ServerSection::default()
        };
        let e = resolve(&base, &section).unwrap_err();
        assert!(e.contains("bearer token") && e.contains("chmod 600"), "{e}");
    }
}
