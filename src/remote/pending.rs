//! Actions waiting for a human on the server: cancelling the ones nobody will wait for any more,
//! and listing them for `dashclawd approvals`.
//!
//! A call whose approval wait timed out (or whose hook went away) was denied to the agent, but
//! its row is still `pending_approval`. Newest servers expire it themselves
//! (`approval_expires_at` = our wait + 15 min grace, so a late approval still lets the identical
//! retry through, §7.3/§7.4); v2.0 never does, so there the daemon cancels it (a `cancel` item
//! in the outbox: re-read the row, and only a row still pending becomes `cancelled`).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::outbox::{NewItem, Outbox};

/// The outbox payload of a `cancel` item.
pub fn cancel_payload(action_id: &str, waited: Duration) -> Value {
    json!({
        "action_id": action_id,
        "reason": format!(
            "Approval timeout after {}s: the agent stopped waiting and the call did not run",
            waited.as_secs()
        ),
    })
}

/// Cancels the row when dropped armed: the approval wait was abandoned (the hook went away).
pub struct LeftPending {
    outbox: Arc<Outbox>,
    wake: Arc<tokio::sync::Notify>,
    id: String,
    armed: bool,
}

impl LeftPending {
    pub fn new(outbox: Arc<Outbox>, wake: Arc<tokio::sync::Notify>, id: &str) -> LeftPending {
        LeftPending {
            outbox,
            wake,
            id: id.to_owned(),
            armed: true,
        }
    }

    pub fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for LeftPending {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        // One small SQLite write on a rare path.
        let mut payload = cancel_payload(&self.id, Duration::ZERO);
        payload["reason"] =
            json!("the agent's hook stopped waiting for the approval; the call did not run");
        let item = NewItem {
            kind: "cancel".into(),
            dedupe_key: Some(format!("cancel:{}", self.id)),
            payload,
            not_before_ms: 0,
            group: Some(self.id.clone()),
        };
        let now = super::now_ms();
        if let Err(e) = self
            .outbox
            .map_action(&format!("state:{}", self.id), "pending", None, now)
            .and_then(|_| self.outbox.enqueue(item, now).map(|_| ()))
        {
            tracing::error!("outbox: cannot keep the cancel of {}: {e:#}", self.id);
        }
        self.wake.notify_one();
    }
}

/// `dashclawd approvals`: the actions pending approval on the configured server, printed after
/// the local requests (one JSON object per line with `json`, marked `"source": "server"`).
/// Silent without a server; a server that cannot answer is one line on stderr, never a failure
/// of the local listing.
pub fn print_server_pending(json_lines: bool) {
    let Ok(paths) = crate::paths::Paths::from_env() else {
        return;
    };
    let loaded = crate::config::load(&paths.config_file);
    let settings = match super::Settings::resolve(&loaded.config.server, &|k| std::env::var(k).ok())
    {
        Ok(Some(s)) => s,
        Ok(None) => return,
        Err(e) => {
            eprintln!("dashclawd: server approvals not listed: {e}");
            return;
        }
    };
    let Ok(api) = super::Api::new(&settings) else {
        return;
    };
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let rows = match rt.block_on(fetch(&api)) {
        Ok(rows) => rows,
        Err(e) => {
            eprintln!(
                "dashclawd: pending approvals on {} not listed: the server {e}",
                api.base_url()
            );
            return;
        }
    };
    let v2 = rt.block_on(is_v2(&api));
    let link = |id: &str| {
        if v2 {
            format!("{}/actions/{id}", api.base_url())
        } else {
            format!("{}/replay/{id}", api.base_url())
        }
    };
    if json_lines {
        for r in &rows {
            let id = text(r, "action_id");
            println!(
                "{}",
                json!({"source": "server", "id": id, "status": "pending", "agent": text(r, "agent_id"),
                       "action_type": text(r, "action_type"), "summary": text(r, "declared_goal"),
                       "created_at": text(r, "created_at"), "url": link(&id)})
            );
        }
        return;
    }
    println!(
        "\n{} action(s) pending approval on the DashClaw server {}",
        rows.len(),
        api.base_url()
    );
    for r in &rows {
        let id = text(r, "action_id");
        println!(
            "{:<42} {:<16} {:<10} {}  {}",
            id,
            cut(&text(r, "agent_id"), 16),
            cut(&text(r, "action_type"), 10),
            cut(&text(r, "declared_goal"), 60),
            link(&id)
        );
    }
    if !rows.is_empty() {
        println!("decide one with `dashclawd approve act_…` or `dashclawd deny act_…` in a terminal, or on the dashboard");
    }
}

async fn fetch(api: &super::Api) -> Result<Vec<Value>, super::ApiError> {
    let r = api
        .call(
            reqwest::Method::GET,
            "/api/actions?status=pending_approval&limit=200",
            None,
            Duration::from_secs(5),
        )
        .await?;
    Ok(r.body
        .get("actions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .into_iter()
        // The list filter is the server's; a row that is not pending is not ours to show.
        .filter(|a| a.get("status").and_then(Value::as_str) == Some("pending_approval"))
        .collect())
}

async fn is_v2(api: &super::Api) -> bool {
    api.call(
        reqwest::Method::GET,
        "/api/health",
        None,
        Duration::from_secs(3),
    )
    .await
    .ok()
    .and_then(|r| {
        r.body
            .get("version")
            .and_then(Value::as_str)
            .map(|v| v.starts_with("2."))
    })
    .unwrap_or(false)
}

/// A server field for a terminal: control characters (escape sequences) removed.
fn text(row: &Value, k: &str) -> String {
    row.get(k)
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}

fn cut(s: &str, n: usize) -> String {
    crate::util::text::ellipsize(s, n).into_owned()
}
