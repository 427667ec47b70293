//! `config.toml` followed while the daemon runs.
//!
//! The file (and the API key and bearer token files it names) is polled with a `stat` every
//! half second. A valid edit applies at once: `ledger_sync`, `log_level`, `idle_timeout_secs`,
//! `[redact]` (a new engine behind the free redaction functions) and `[server]` (a new server
//! unit built, checked and swapped in, `server.rs`). An edit that cannot be used changes
//! nothing: a broken file, a `[server]` that does not resolve (half-configured, a key file that
//! is unreadable or readable by others, a URL that is not http(s)) keeps the last good
//! configuration in force and is reported in `status`, `doctor` and the log. A file broken at
//! start (defaults in force, every gating call denied) applies once it is fixed. Only
//! `log_keep_days` and `disk_reserve_mb` wait for a restart (see README "Configuration").
//!
//! Every applied change is recorded in the ledger (`config-changed`, or `config-loosened` when
//! it removes the server, loosens the guard-unavailable policy, switches redaction rules off,
//! stops transcript shipping or weakens ledger durability), in the log, in `status`, and, with a
//! server, as a security record for the server. Old and new values of settings are shown; keys
//! and tokens never are (they live in files or the environment, and the token command is only
//! said to have changed).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use super::server::{self, ServerLive};
use crate::config::{self, Config};
use crate::remote::{Remote, Settings, Unavailable};

/// How long a removed server's delivery keeps going, so it still hears of its own removal.
const REMOVED_SERVER_GRACE: Duration = Duration::from_secs(10);

/// What the config watcher knows, for `status` and `doctor`.
#[derive(Debug, Default)]
pub struct ConfigState {
    inner: Mutex<ConfigInner>,
}

#[derive(Debug, Default)]
struct ConfigInner {
    /// The last edit that could not be used (the previous configuration stays in force).
    reload_error: Option<String>,
    /// Settings changed in the file that apply only after a restart.
    restart_pending: Vec<String>,
    /// Unix ms of the last change applied.
    applied_ms: Option<u64>,
    reloads: u64,
    /// The settings now in force.
    in_force: Option<Value>,
    /// The last change applied (what the ledger recorded).
    last_change: Option<Value>,
    /// The last change that loosened something, kept until the daemon restarts.
    last_loosened: Option<Value>,
    changes_applied: u64,
}

impl ConfigState {
    pub fn status(&self) -> Value {
        let i = self.lock();
        json!({
            "reload_error": i.reload_error,
            "restart_pending": i.restart_pending,
            "applied_ms": i.applied_ms,
            "reloads": i.reloads,
            "in_force": i.in_force,
            "changes_applied": i.changes_applied,
            "last_change": i.last_change,
            "last_loosened": i.last_loosened,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ConfigInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn reject(&self, err: String) {
        tracing::error!(
            "config.toml edit ignored, the last good configuration stays in force: {err}"
        );
        self.lock().reload_error = Some(err);
    }
}

/// Size, mtime, ctime (a `chmod` of a key file counts) and inode of a file.
type FileStamp = (u64, i64, i64, u64);
type Fingerprint = Vec<Option<FileStamp>>;

fn fingerprint(paths: &[PathBuf]) -> Fingerprint {
    paths
        .iter()
        .map(|p| {
            fs::metadata(p).ok().map(|m| {
                (
                    m.len(),
                    m.mtime() * 1_000_000_000 + m.mtime_nsec(),
                    m.ctime() * 1_000_000_000 + m.ctime_nsec(),
                    m.ino(),
                )
            })
        })
        .collect()
}

/// What config.toml looked like before the daemon read it at start: an edit made while the
/// daemon starts is then seen as a change.
pub fn before_load(path: &Path) -> Option<FileStamp> {
    fingerprint(&[path.to_path_buf()]).pop().flatten()
}

fn watched(path: &Path, c: &Config) -> Vec<PathBuf> {
    let mut v = vec![path.to_path_buf()];
    v.extend(server::secret_files(&c.server));
    v
}

/// The idle limit a configuration asks for (only an auto-started daemon idles out, and a
/// `--idle-timeout` on the command line wins).
pub fn idle_timeout(opts: &super::RunOptions, c: &Config) -> Option<Duration> {
    let secs = opts.idle_timeout_secs.unwrap_or(c.idle_timeout_secs);
    (opts.auto_started && secs > 0).then(|| Duration::from_secs(secs))
}

/// Polls `config.toml` and applies what changed (see the module comment).
pub async fn watch_config(
    shared: Arc<super::Shared>,
    started_with: Config,
    at_start: Option<FileStamp>,
) {
    let path = shared.paths.config_file.clone();
    // What the file said last time it was good, to tell what an edit changed.
    let mut good = started_with;
    // The key files to watch are those of the last file that parsed, even if its [server] was
    // refused: fixing a key file's mode is then noticed.
    let mut parsed = good.clone();
    let mut seen = fingerprint(&watched(&path, &parsed));
    seen[0] = at_start;
    shared.config_state.lock().in_force = Some(in_force(&good, &shared.server.current()));
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tick.tick().await;
        let now = fingerprint(&watched(&path, &parsed));
        if now == seen {
            continue;
        }
        seen = now;
        let loaded = config::load(&path);
        if let Some(err) = loaded.error {
            shared.config_state.reject(err);
            continue;
        }
        let new = loaded.config;
        if format!("{:?}", new.server) != format!("{:?}", parsed.server) {
            parsed = new.clone();
            // Stamps of the new key files, so the next tick compares like with like (the
            // file's own stamp stays the one taken before it was read).
            let file_stamp = seen[0];
            seen = fingerprint(&watched(&path, &parsed));
            seen[0] = file_stamp;
        }
        // A file broken at start left the defaults in force and every gating call denied; the
        // fixed file is applied like any edit, against those defaults.
        let fixed = shared.engine.config_error();
        // [server] first: a configuration that cannot be used changes nothing at all.
        let old_live = shared.server.current();
        let resolved = match Settings::resolve(&new.server, &server::daemon_env) {
            Ok(r) => r,
            Err(e) => {
                shared
                    .config_state
                    .reject(format!("[server]: {e}; the server in force stays"));
                continue;
            }
        };
        let new_live = if needs_swap(&old_live, resolved.as_ref(), &new) {
            match shared.server.build_from(resolved, &new.server) {
                Ok(l) => Some(l),
                Err(e) => {
                    shared
                        .config_state
                        .reject(format!("[server]: {e}; the server in force stays"));
                    continue;
                }
            }
        } else {
            None
        };
        let redact_changed = format!("{:?}", good.redact) != format!("{:?}", new.redact);
        let redact_engine = if redact_changed {
            match config::redact_engine(&new) {
                Ok(e) => Some(e),
                Err(e) => {
                    // `load` already compiled it; only a race with another edit gets here.
                    shared.config_state.reject(format!("[redact]: {e}"));
                    continue;
                }
            }
        } else {
            None
        };

        // Everything checked: apply.
        if new.ledger_sync != good.ledger_sync {
            shared.ledger.set_sync(new.ledger_sync);
            tracing::info!("config: ledger_sync is now {:?}", new.ledger_sync);
        }
        if new.log_level != good.log_level {
            if let Err(e) = crate::logging::set_level(&new.log_level) {
                tracing::error!("config: {e:#}");
            }
        }
        if let Some(engine) = redact_engine {
            crate::redact::install_default(engine);
            tracing::info!("config: [redact] applied; the next redaction uses it");
        }
        let idle = super::idle_timeout_ms(idle_timeout(&shared.opts, &new));
        shared.idle_timeout_ms.store(idle, Ordering::Relaxed);
        let swapped = new_live.map(|live| {
            let grace = if live.remote.is_none() && old_live.remote.is_some() {
                REMOVED_SERVER_GRACE
            } else {
                Duration::ZERO
            };
            shared.server.install(live, grace);
            shared.server.current()
        });

        let mut pending = Vec::new();
        for (key, changed) in restart_only_changes(&shared.started_config, &new) {
            if changed {
                pending.push(key.to_owned());
            }
        }
        if !pending.is_empty() {
            tracing::warn!(
                "config: {} changed; restart the daemon (`dashclawd stop`) to apply",
                pending.join(", ")
            );
        }
        if fixed.is_some() {
            *shared
                .engine
                .config_error
                .write()
                .unwrap_or_else(|p| p.into_inner()) = None;
            tracing::warn!("config.toml is fixed: gating calls are decided again");
        }
        let live_now = shared.server.current();
        let mut change = describe_change(&good, &new, &old_live, swapped.as_deref());
        if let Some(was) = fixed {
            let c = change.get_or_insert_with(|| {
                json!({"at_ms": crate::engine::now_us() / 1000, "sections": [], "changes": [], "loosened": []})
            });
            if let Some(list) = c["changes"].as_array_mut() {
                list.insert(
                    0,
                    json!({"key": "config.toml", "old": crate::redact::redact_str(&format!("broken, every gating call denied: {was}")), "new": "fixed, applied"}),
                );
            }
        }
        {
            let mut st = shared.config_state.lock();
            st.reload_error = None;
            st.reloads += 1;
            st.applied_ms = Some(crate::engine::now_us() / 1000);
            st.restart_pending = pending.clone();
            st.in_force = Some(in_force(&new, &live_now));
        }
        if let Some(change) = change {
            record_change(&shared, change, &old_live, &live_now, &pending).await;
        }
        drop(old_live);
        good = new;
    }
}

/// Whether the server unit must be rebuilt for `resolved`.
fn needs_swap(old: &ServerLive, resolved: Option<&Settings>, new: &Config) -> bool {
    match (&old.remote, resolved) {
        (Some(r), Some(s)) => !server::same_settings(&r.settings, s),
        (None, None) => {
            // A start-time error cleared, or the offline transcript registry switched.
            old.error.is_some()
                || old.offline_transcripts.is_some()
                    != new.server.code_sessions_enabled(&server::daemon_env)
        }
        _ => true,
    }
}

/// The settings in force, for `status`.
fn in_force(c: &Config, live: &ServerLive) -> Value {
    json!({
        "ledger_sync": c.ledger_sync,
        "log_level": c.log_level,
        "idle_timeout_secs": c.idle_timeout_secs,
        "redact": redact_view(c),
        "server": server::describe(live),
        "server_generation": live.generation,
    })
}

fn redact_view(c: &Config) -> Value {
    json!({
        "disabled": c.redact.disabled,
        "rules": c.redact.rules.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
    })
}

/// Settings read only at start, compared with what the daemon started with. Both need the
/// component they configure rebuilt: the rolling log appender keeps its file count, the ledger
/// writer owns its preallocated reserve.
fn restart_only_changes(started: &Config, new: &Config) -> [(&'static str, bool); 2] {
    [
        ("log_keep_days", started.log_keep_days != new.log_keep_days),
        (
            "disk_reserve_mb",
            started.disk_reserve_mb != new.disk_reserve_mb,
        ),
    ]
}

/// The file's settings as `key → value`, without `[redact]` (compared rule by rule).
fn flat(c: &Config) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    m.insert("idle_timeout_secs".into(), json!(c.idle_timeout_secs));
    m.insert("ledger_sync".into(), json!(c.ledger_sync));
    m.insert("log_level".into(), json!(c.log_level));
    m.insert("log_keep_days".into(), json!(c.log_keep_days));
    m.insert("disk_reserve_mb".into(), json!(c.disk_reserve_mb));
    if let Ok(Value::Object(server)) = serde_json::to_value(&c.server) {
        for (k, v) in server {
            m.insert(format!("server.{k}"), v);
        }
    }
    m
}

/// Keys whose value is never shown, only that it changed (a token command may carry a token).
const UNSHOWN: &[&str] = &["server.auth_token_command"];

/// What an applied edit changed, with the loosenings named; `None` when nothing did.
fn describe_change(
    old: &Config,
    new: &Config,
    old_live: &ServerLive,
    new_live: Option<&ServerLive>,
) -> Option<Value> {
    let mut changes = Vec::new();
    let (a, b) = (flat(old), flat(new));
    for key in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
        let (va, vb) = (
            a.get(key).cloned().unwrap_or(Value::Null),
            b.get(key).cloned().unwrap_or(Value::Null),
        );
        if va == vb {
            continue;
        }
        changes.push(if UNSHOWN.contains(&key.as_str()) {
            json!({"key": key, "changed": true})
        } else {
            json!({"key": key, "old": va, "new": vb})
        });
    }
    let rules = |c: &Config| -> BTreeMap<String, String> {
        c.redact
            .rules
            .iter()
            .map(|r| (r.id.clone(), format!("{r:?}")))
            .collect()
    };
    let (ra, rb) = (rules(old), rules(new));
    for (id, def) in &rb {
        match ra.get(id) {
            None => changes
                .push(json!({"key": format!("redact.rules.{id}"), "old": null, "new": "added"})),
            Some(d) if d != def => changes.push(
                json!({"key": format!("redact.rules.{id}"), "old": "defined", "new": "changed"}),
            ),
            _ => {}
        }
    }
    for id in ra.keys().filter(|id| !rb.contains_key(*id)) {
        changes
            .push(json!({"key": format!("redact.rules.{id}"), "old": "defined", "new": "removed"}));
    }
    if old.redact.disabled != new.redact.disabled {
        changes.push(json!({"key": "redact.disabled", "old": old.redact.disabled, "new": new.redact.disabled}));
    }
    let mut loosened = Vec::new();
    if let Some(new_live) = new_live {
        match (&old_live.remote, &new_live.remote) {
            (Some(r), None) => loosened.push(format!(
                "the DashClaw server {} was REMOVED: calls are no longer governed or recorded by a server",
                r.settings.base_url
            )),
            (Some(r), Some(n)) => {
                // A server that answers "allow" to everything would wave every call through.
                if r.settings.base_url != n.settings.base_url {
                    loosened.push(format!(
                        "governance REDIRECTED from the DashClaw server {} to {}: the new server now decides governed calls",
                        r.settings.base_url, n.settings.base_url
                    ));
                }
                if rank(n.settings.unavailable) < rank(r.settings.unavailable) {
                    loosened.push(format!(
                        "guard-unavailable policy loosened from {} to {}",
                        r.settings.unavailable.as_str(),
                        n.settings.unavailable.as_str()
                    ));
                }
                if r.settings.code_sessions && !n.settings.code_sessions {
                    loosened.push("transcript shipping to the server switched off".into());
                }
            }
            _ => {}
        }
        if old_live
            .remote
            .as_ref()
            .map(|r| r.settings.base_url.as_str())
            != new_live
                .remote
                .as_ref()
                .map(|r| r.settings.base_url.as_str())
            && !changes.iter().any(|c| c["key"] == "server.base_url")
        {
            changes.push(json!({"key": "server in force", "old": server_url(&old_live.remote), "new": server_url(&new_live.remote)}));
        }
        if changes.is_empty() && new_live.remote.is_some() {
            // Same file, new key or token file content.
            changes.push(json!({"key": "server credentials", "changed": true}));
        }
    }
    let server_edited = changes
        .iter()
        .any(|c| c["key"].as_str().is_some_and(|k| k.starts_with("server.")));
    let note = (server_edited && new_live.is_none()).then_some(
        "the server in force is unchanged: the daemon's environment (DASHCLAW_*) overrides [server], or the edit resolves to the same settings",
    );
    let newly_disabled: Vec<&String> = new
        .redact
        .disabled
        .iter()
        .filter(|d| !old.redact.disabled.contains(d))
        .collect();
    if !newly_disabled.is_empty() {
        loosened.push(format!(
            "redaction rules switched off: {}",
            newly_disabled
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let removed_rules: Vec<&String> = ra.keys().filter(|id| !rb.contains_key(*id)).collect();
    if !removed_rules.is_empty() {
        loosened.push(format!(
            "custom redaction rules removed: {}",
            removed_rules
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if old.ledger_sync == crate::ledger::SyncMode::Full
        && new.ledger_sync != crate::ledger::SyncMode::Full
    {
        loosened.push("ledger_sync lowered from full (power-loss safe) to normal".into());
    }
    if changes.is_empty() {
        return None;
    }
    let mut sections: Vec<&str> = changes
        .iter()
        .filter_map(|c| c["key"].as_str())
        .map(|k| {
            if k.starts_with("server") {
                "server"
            } else if k.starts_with("redact") {
                "redact"
            } else {
                "top level"
            }
        })
        .collect();
    sections.dedup();
    sections.sort();
    sections.dedup();
    let mut change = json!({
        "at_ms": crate::engine::now_us() / 1000,
        "sections": sections,
        "changes": changes,
        "loosened": loosened,
    });
    if let Some(note) = note {
        change["note"] = json!(note);
    }
    if let Some(new_live) = new_live {
        change["server"] = json!({
            "before": server::describe(old_live),
            "after": server::describe(new_live),
        });
    }
    // Belt and braces: values are settings, but a value is text someone typed.
    crate::redact::redact_json(&mut change);
    Some(change)
}

fn server_url(r: &Option<Arc<Remote>>) -> Value {
    r.as_ref()
        .map(|r| json!(r.settings.base_url))
        .unwrap_or(Value::Null)
}

/// How strict a guard-unavailable policy is: `local` still enforces the cached server policies.
fn rank(u: Unavailable) -> u8 {
    match u {
        Unavailable::Block => 3,
        Unavailable::Local => 2,
        Unavailable::Warn => 1,
        Unavailable::Allow => 0,
    }
}

/// One line per change, for the ledger summary and the log.
fn summarize(change: &Value) -> String {
    let items: Vec<String> = change["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let key = c["key"].as_str().unwrap_or("?");
            if c["changed"] == Value::Bool(true) {
                format!("{key} changed")
            } else {
                format!("{key}: {} → {}", c["old"], c["new"])
            }
        })
        .collect();
    let mut s = format!("config.toml applied: {}", items.join("; "));
    if let Some(note) = change["note"].as_str() {
        s.push_str(&format!(" ({note})"));
    }
    if s.chars().count() > 600 {
        s = s.chars().take(600).collect::<String>() + "…";
    }
    s
}

/// The ledger entry, the log line, `status` and the server's security record of one change.
async fn record_change(
    shared: &super::Shared,
    mut change: Value,
    old_live: &ServerLive,
    new_live: &ServerLive,
    pending: &[String],
) {
    let loosened: Vec<String> = change["loosened"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l.as_str().map(str::to_owned))
        .collect();
    change["restart_pending"] = json!(pending);
    let summary = summarize(&change);
    let at_ms = change["at_ms"].as_u64().unwrap_or(0);
    {
        let mut st = shared.config_state.lock();
        st.changes_applied += 1;
        st.last_change = Some(change.clone());
        if !loosened.is_empty() {
            st.last_loosened = Some(change.clone());
        }
    }
    if loosened.is_empty() {
        tracing::info!("{summary}");
    } else {
        tracing::error!(
            "config.toml LOOSENED the guard: {}. {summary}",
            loosened.join("; ")
        );
    }
    let event = if loosened.is_empty() {
        "config-changed"
    } else {
        "config-loosened"
    };
    let event_id = format!("config-{at_ms}-{}", uuid::Uuid::new_v4().simple());
    let record = crate::ledger::Record {
        event_id: event_id.clone(),
        agent: "dashclawd".into(),
        event: event.into(),
        summary: summary.clone(),
        reasons: loosened.clone(),
        outcome: change.clone(),
        ..Default::default()
    };
    if let Err(e) = shared.ledger.append(record).await {
        tracing::error!("ledger: cannot record a configuration change: {e:#}");
    }
    // The server hears of it too: the new one, or a removed one during its grace period.
    let Some(r) = new_live.remote.as_ref().or(old_live.remote.as_ref()) else {
        return;
    };
    let action_id = format!("act_{}", uuid::Uuid::new_v4());
    let goal = if loosened.is_empty() {
        summary
    } else {
        format!(
            "config.toml LOOSENED the guard: {}. {summary}",
            loosened.join("; ")
        )
    };
    let body = json!({
        "action_id": action_id,
        "agent_id": r.settings.agent_id.clone().unwrap_or_else(|| "dashclawd".into()),
        "action_type": "security",
        "declared_goal": goal.chars().take(1900).collect::<String>(),
        "status": "completed",
        "risk_score": if loosened.is_empty() { 30 } else { 80 },
        "systems_touched": [shared.paths.config_file],
        "metadata": {"source": "dashclawd", "event": event, "loosened": loosened, "sections": change["sections"]},
        "timestamp_start": humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
    });
    let item = crate::outbox::NewItem {
        kind: "record".into(),
        dedupe_key: Some(format!("record:{event_id}")),
        payload: json!({"action_id": action_id, "body": body}),
        not_before_ms: 0,
        group: Some(action_id),
    };
    // A server that was replaced hears of it directly (best effort; the outbox now delivers to
    // the new one).
    if let (Some(old), Some(new)) = (&old_live.remote, &new_live.remote) {
        if !loosened.is_empty() && old.settings.base_url != new.settings.base_url {
            let old = old.clone();
            let mut body = body.clone();
            body["action_id"] = json!(format!("act_{}", uuid::Uuid::new_v4()));
            tokio::spawn(async move {
                crate::remote::guard::for_line(&mut body, old.line() == crate::remote::Line::V2);
                match old.post_action(&body, Duration::from_secs(5)).await {
                    Ok(r) if r.status < 300 => {}
                    Ok(r) => tracing::warn!(
                        "the replaced server {} refused the record of the change: HTTP {}",
                        old.settings.base_url,
                        r.status
                    ),
                    Err(e) => tracing::warn!(
                        "the replaced server {} did not take the record of the change: {e}",
                        old.settings.base_url
                    ),
                }
            });
        }
    }
    match r.outbox.enqueue(item, crate::engine::now_us() / 1000) {
        Ok(e) => {
            for d in e.dropped {
                let _ = r.dropped.send(d);
            }
            r.wake.notify_one();
        }
        Err(e) => tracing::error!("outbox: cannot queue the configuration change: {e:#}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offline() -> ServerLive {
        ServerLive::offline_for_tests()
    }

    fn parse(text: &str) -> Config {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn a_token_command_is_only_said_to_have_changed() {
        let old = parse("[server]\nauth_token_command = \"echo tok_old_secret\"\n");
        let new = parse("[server]\nauth_token_command = \"echo tok_new_secret\"\n");
        let c = describe_change(&old, &new, &offline(), None).unwrap();
        let text = c.to_string();
        assert!(!text.contains("tok_old_secret") && !text.contains("tok_new_secret"));
        assert_eq!(c["changes"][0]["key"], "server.auth_token_command");
        assert_eq!(c["changes"][0]["changed"], true);
        // Without a swap the record says why the server in force did not change.
        assert!(c["note"].as_str().unwrap().contains("unchanged"));
    }

    #[test]
    fn switching_redaction_or_durability_off_is_a_loosening() {
        let old = parse(
            "ledger_sync = \"full\"\n[[redact.rules]]\nid = \"acme\"\nkeywords = [\"acme_\"]\npattern = 'acme_[a-z]{8}'\n",
        );
        let new = parse("[redact]\ndisabled = [\"jwt\"]\n");
        let c = describe_change(&old, &new, &offline(), None).unwrap();
        let loosened = c["loosened"].to_string();
        assert!(loosened.contains("jwt"), "{loosened}");
        assert!(loosened.contains("acme"), "{loosened}");
        assert!(loosened.contains("ledger_sync"), "{loosened}");
        assert_eq!(c["sections"], json!(["redact", "top level"]));
        // Tightening back is a change, not a loosening.
        let c = describe_change(&new, &old, &offline(), None).unwrap();
        assert_eq!(c["loosened"], json!([]));
        assert!(describe_change(&old, &old, &offline(), None).is_none());
    }

    #[test]
    fn unavailable_policies_are_ranked_from_block_to_allow() {
        let order = [
            Unavailable::Block,
            Unavailable::Local,
            Unavailable::Warn,
            Unavailable::Allow,
        ];
        for w in order.windows(2) {
            assert!(rank(w[0]) > rank(w[1]), "{w:?}");
        }
    }
}
