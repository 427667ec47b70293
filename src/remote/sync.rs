//! Background work against the server: the event stream (SSE, §8), the policy cache (§9) and
//! the presence heartbeat (§10.1).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use super::{now_ms, Remote};

/// Follows `GET /api/stream`, resuming with `Last-Event-ID`, and reconnecting with backoff.
pub async fn event_stream(remote: Arc<Remote>) {
    let mut last_id: Option<String> = None;
    let mut backoff = Duration::from_secs(1);
    loop {
        match follow(&remote, &mut last_id).await {
            Ok(()) => backoff = Duration::from_secs(1), // the server closed it (every 30 min)
            Err(e) => {
                tracing::debug!("event stream: {e}");
                if remote.stats.stream_connected.load(Ordering::Relaxed) {
                    remote.note_error(format!("event stream: {e}"));
                }
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        }
        remote
            .stats
            .stream_connected
            .store(false, Ordering::Relaxed);
        tokio::time::sleep(backoff).await;
    }
}

async fn follow(remote: &Remote, last_id: &mut Option<String>) -> Result<(), String> {
    let mut req = remote
        .api
        .client()
        .get(remote.api.url("/api/stream"))
        .header("accept", "text/event-stream")
        .header("cache-control", "no-cache");
    if let Some(id) = last_id.as_deref() {
        req = req.header("last-event-id", id);
    }
    let mut resp = tokio::time::timeout(remote.settings.connect_timeout * 3, req.send())
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|e| e.to_string())?;
    if !resp.status().is_success() {
        return Err(format!("HTTP {}", resp.status()));
    }
    remote.stats.stream_connected.store(true, Ordering::Relaxed);
    let mut parser = SseParser::default();
    let mut quiet_since = tokio::time::Instant::now();
    loop {
        // Keep-alives alone do not prove the server serves: after a quiet spell, ask it.
        if quiet_since.elapsed() >= remote.settings.stream_idle {
            probe(remote).await?;
            quiet_since = tokio::time::Instant::now();
        }
        // The server sends a heartbeat comment every 15 s; silence for longer is a dead link.
        let idle = remote.settings.stream_idle;
        let chunk = tokio::time::timeout(idle, resp.chunk())
            .await
            .map_err(|_| {
                format!(
                    "no data or heartbeat for {}s: the server instance is gone",
                    idle.as_secs()
                )
            })?
            .map_err(|e| e.to_string())?;
        let Some(chunk) = chunk else {
            return Ok(());
        };
        for ev in parser.push(&chunk) {
            quiet_since = tokio::time::Instant::now();
            if let Some(id) = ev.id {
                *last_id = Some(id);
            }
            dispatch(remote, &ev.event, &ev.data);
        }
    }
}

/// `GET /api/health` while the stream only carries keep-alives: a server that no longer
/// answers (while something keeps the stream's connection open) ends the stream.
async fn probe(remote: &Remote) -> Result<(), String> {
    match remote
        .api
        .call(Method::GET, "/api/health", None, Duration::from_secs(5))
        .await
    {
        // Only "not serving" counts; an odd answer from a proxy is not worth a reconnect.
        Err(
            e @ (super::ApiError::Unreachable(_)
            | super::ApiError::Timeout(_)
            | super::ApiError::Dns(_)
            | super::ApiError::Tls(_)
            | super::ApiError::Truncated(_)
            | super::ApiError::Server { .. }),
        ) => Err(format!(
            "the stream is open but the server {e} (health check)"
        )),
        Ok(_) | Err(_) => Ok(()),
    }
}

fn dispatch(remote: &Remote, event: &str, data: &str) {
    match event {
        // Only approval waiters care, and only about updates; the stream carries every event of
        // the org, so skip the parse when nobody waits.
        "action.updated" if remote.events.receiver_count() > 0 => {
            if let Ok(v) = serde_json::from_str::<Value>(data) {
                let _ = remote.events.send(v);
            }
        }
        "policy.updated" => remote.policy_changed.notify_one(),
        _ => {}
    }
}

/// One server-sent event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

/// An incremental `text/event-stream` parser: frames may arrive split anywhere.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    cur: SseEvent,
    has_data: bool,
}

impl SseParser {
    pub fn push(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=pos).collect();
            let line = String::from_utf8_lossy(&line);
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                if self.has_data || !self.cur.event.is_empty() {
                    let mut ev = std::mem::take(&mut self.cur);
                    if ev.event.is_empty() {
                        ev.event = "message".into();
                    }
                    out.push(ev);
                }
                self.has_data = false;
                continue;
            }
            if line.starts_with(':') {
                continue; // a comment (`: heartbeat`)
            }
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (line, ""),
            };
            match field {
                "id" => self.cur.id = Some(value.to_owned()),
                "event" => self.cur.event = value.to_owned(),
                "data" => {
                    if self.has_data {
                        self.cur.data.push('\n');
                    }
                    self.cur.data.push_str(value);
                    self.has_data = true;
                }
                _ => {}
            }
        }
        out
    }
}

/// Loads the on-disk cache, then refreshes `GET /api/policies` periodically and whenever the
/// stream reports a change.
pub async fn policy_sync(remote: Arc<Remote>) {
    if let Ok(text) = tokio::fs::read_to_string(&remote.cache_file).await {
        match crate::policy::parse_server_policies(&text) {
            Ok((p, issues)) => {
                tracing::info!("{} cached server policies loaded", p.len());
                remote.policies.set_server_policies(p, issues);
            }
            Err(e) => tracing::warn!("ignoring the server policy cache: {e}"),
        }
    }
    loop {
        if let Err(e) = refresh_policies(&remote).await {
            tracing::warn!("policy sync: {e}");
        }
        tokio::select! {
            _ = tokio::time::sleep(remote.settings.policy_refresh) => {}
            _ = remote.policy_changed.notified() => {
                // The server's own cache converges within 3 s; a short pause batches bursts.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// One policy fetch: parsed, cached atomically on disk (0600), installed.
pub async fn refresh_policies(remote: &Remote) -> Result<usize, String> {
    let resp = remote
        .api
        .call(Method::GET, "/api/policies", None, Duration::from_secs(10))
        .await
        .map_err(|e| format!("the server {e}"))?;
    if resp.status != 200 {
        return Err(format!("GET /api/policies answered HTTP {}", resp.status));
    }
    let text = resp.body.to_string();
    let (policies, issues) = crate::policy::parse_server_policies(&text)?;
    let n = policies.len();
    let path = remote.cache_file.clone();
    let write = tokio::task::spawn_blocking(move || write_private(&path, text.as_bytes())).await;
    if let Ok(Err(e)) = write {
        tracing::warn!("cannot cache server policies: {e}");
    }
    remote.policies.set_server_policies(policies, issues);
    remote
        .stats
        .policies_synced_at_ms
        .store(now_ms(), Ordering::Relaxed);
    Ok(n)
}

fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Reports presence for the agents that made calls since the last beat.
pub async fn heartbeat(remote: Arc<Remote>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let agents: Vec<String> = std::mem::take(
            &mut *remote
                .active_agents
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        )
        .into_iter()
        .collect();
        for agent in agents {
            let body =
                json!({"agent_id": agent, "status": "online", "metadata": {"source": "dashclawd"}});
            for attempt in 0..2 {
                match remote
                    .api
                    .call(
                        Method::POST,
                        "/api/agents/heartbeat",
                        Some(&body),
                        Duration::from_secs(5),
                    )
                    .await
                {
                    // The presence table is created lazily; the first call asks for a retry.
                    Err(super::ApiError::Server { status: 503, .. }) if attempt == 0 => {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    Err(e) => {
                        tracing::debug!("heartbeat for {agent}: {e}");
                        break;
                    }
                    Ok(_) => break,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_frames_split_anywhere_are_parsed() {
        let text = b": heartbeat\n\nid: mem-1\nevent: action.updated\ndata: {\"action_id\":\"a\"}\n\nevent: connected\ndata: {}\n\n";
        for split in 0..text.len() {
            let mut p = SseParser::default();
            let mut evs = p.push(&text[..split]);
            evs.extend(p.push(&text[split..]));
            assert_eq!(evs.len(), 2, "split at {split}");
            assert_eq!(evs[0].id.as_deref(), Some("mem-1"));
            assert_eq!(evs[0].event, "action.updated");
            assert_eq!(evs[0].data, "{\"action_id\":\"a\"}");
            assert_eq!(evs[1].event, "connected");
            assert_eq!(evs[1].id, None);
        }
    }
}
