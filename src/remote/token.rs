//! The OIDC bearer token for newest servers (`Authorization: Bearer`, dashclaw-server-api.md §1):
//! a fixed one, or one a command prints, cached until shortly before its `exp`.
//!
//! The token is a credential: it is only ever put in a sensitive header, never logged, never in
//! the ledger. A command that fails or hangs (10 s) leaves the call without a token (the server
//! then reports `unverified`), and the failure is reported in `status` without the token.

use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;

use super::config::{ApiKey, TokenSetting};

/// A token without a readable `exp` is fetched again after this long.
const OPAQUE_TTL: Duration = Duration::from_secs(300);
/// Refreshed this long before its `exp`.
const EARLY: Duration = Duration::from_secs(60);
const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest token accepted from a command.
const MAX_TOKEN: usize = 16 << 10;

#[derive(Debug)]
pub struct TokenSource {
    setting: TokenSetting,
    cache: Mutex<Option<(ApiKey, Instant)>>,
    last_error: Mutex<Option<String>>,
}

impl TokenSource {
    pub fn new(setting: TokenSetting) -> TokenSource {
        TokenSource {
            setting,
            cache: Mutex::new(None),
            last_error: Mutex::new(None),
        }
    }

    pub fn describe(&self) -> String {
        self.setting.describe()
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Forgets a cached token (the server said it expired).
    pub fn invalidate(&self) {
        *self.cache.lock().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// The token to send now, if one can be had.
    pub async fn get(&self) -> Option<ApiKey> {
        let cmd = match &self.setting {
            TokenSetting::Fixed { token, .. } => return Some(token.clone()),
            TokenSetting::Command(cmd) => cmd.clone(),
        };
        if let Some((t, until)) = &*self.cache.lock().unwrap_or_else(|p| p.into_inner()) {
            if Instant::now() < *until {
                return Some(t.clone());
            }
        }
        let got = tokio::task::spawn_blocking(move || run_command(&cmd))
            .await
            .unwrap_or_else(|e| Err(format!("token command task: {e}")));
        match got {
            Ok(token) => {
                let ttl = ttl_of(&token);
                let key = ApiKey::new(token);
                *self.cache.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((key.clone(), Instant::now() + ttl));
                *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
                Some(key)
            }
            Err(e) => {
                tracing::warn!("auth_token_command: {e}");
                *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                None
            }
        }
    }
}

/// How long a token may be reused: until a minute before its JWT `exp`.
fn ttl_of(token: &str) -> Duration {
    match jwt_exp(token) {
        Some(exp) => {
            let now = crate::util::time::now_secs().max(0) as u64;
            Duration::from_secs(exp.saturating_sub(now)).saturating_sub(EARLY)
        }
        None => OPAQUE_TTL,
    }
}

/// The `exp` claim of a JWT, read without verifying it (the server verifies).
pub fn jwt_exp(token: &str) -> Option<u64> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("exp")?.as_u64()
}

/// Runs the command with `sh -c`, bounded in time and output; its stdout (trimmed) is the token.
fn run_command(cmd: &str) -> Result<String, String> {
    use std::process::{Command, Stdio};
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot run the token command: {e}"))?;
    let mut out = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = (&mut out).take(MAX_TOKEN as u64 + 1).read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "the token command did not finish within {}s",
                    COMMAND_TIMEOUT.as_secs()
                ));
            }
            Err(e) => return Err(format!("waiting for the token command: {e}")),
        }
    };
    let buf = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!("the token command failed ({status})"));
    }
    if buf.len() > MAX_TOKEN {
        return Err("the token command printed more than 16 KiB".into());
    }
    let text = String::from_utf8(buf).map_err(|_| "the token command printed non-UTF-8")?;
    let token = text.trim();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err("the token command must print the token alone on one line".into());
    }
    Ok(token.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_read_from_a_jwt_payload() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let t = format!(
            "{}.{}.sig",
            b64(r#"{"alg":"RS256"}"#),
            b64(r#"{"exp":2000000000}"#)
        );
        assert_eq!(jwt_exp(&t), Some(2_000_000_000));
        assert_eq!(jwt_exp("opaque-token"), None);
        assert_eq!(ttl_of("opaque"), OPAQUE_TTL);
    }

    #[tokio::test]
    async fn a_command_token_is_cached_and_failures_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let count = dir.path().join("n");
        let cmd = format!("echo x >> {}; echo tok-123", count.display());
        let src = TokenSource::new(TokenSetting::Command(cmd));
        assert_eq!(src.get().await.unwrap().expose(), "tok-123");
        assert_eq!(src.get().await.unwrap().expose(), "tok-123");
        assert_eq!(std::fs::read_to_string(&count).unwrap().lines().count(), 1);
        src.invalidate();
        src.get().await.unwrap();
        assert_eq!(std::fs::read_to_string(&count).unwrap().lines().count(), 2);
        let bad = TokenSource::new(TokenSetting::Command("exit 3".into()));
        assert!(bad.get().await.is_none());
        assert!(bad.last_error().unwrap().contains("failed"));
    }
}
