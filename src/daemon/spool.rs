//! Draining the client spool: record events that hooks could not deliver.
//!
//! Each spooled event is one file holding the exact request frame the client would have sent.
//! It is recorded through the same engine (marked `spooled`) and deleted only after its ledger
//! record is committed. The event id makes a replay of an event that did reach the ledger (the
//! daemon committed it but the answer came too late) a no-op. Unreadable files are moved aside
//! to `spool/bad/`, never deleted.

use std::fs;
use std::path::{Path, PathBuf};

use crate::engine::{self, EngineState};
use crate::ledger::Ledger;
use crate::protocol::{field, Request};

/// Spooled events waiting to be recorded.
pub fn pending(dir: &Path) -> usize {
    list(dir).len()
}

fn list(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "req"))
                .collect()
        })
        .unwrap_or_default();
    // Names start with the client's start time, so this is arrival order.
    files.sort();
    files
}

/// Records every spooled event; returns how many were recorded.
pub async fn drain(
    dir_paths: &crate::paths::Paths,
    ledger: &Ledger,
    state: &EngineState,
    remote: Option<&crate::remote::Remote>,
) -> usize {
    let mut recorded = 0;
    recover_orphans(&dir_paths.spool_dir);
    for path in list(&dir_paths.spool_dir) {
        match drain_one(&path, ledger, state, remote).await {
            Ok(()) => {
                recorded += 1;
                if let Err(e) = fs::remove_file(&path) {
                    tracing::warn!("recorded but cannot remove {}: {e}", path.display());
                }
            }
            Err(DrainError::Unreadable(why)) => {
                tracing::error!(
                    "spooled event {} is unreadable ({why}); moved to spool/bad",
                    path.display()
                );
                let bad = dir_paths.spool_dir.join("bad");
                let _ = crate::paths::create_private_dir(&bad);
                if let Some(name) = path.file_name() {
                    let _ = fs::rename(&path, bad.join(name));
                }
            }
            Err(DrainError::Ledger(e)) => {
                // Keep the file: the next drain retries.
                tracing::error!("cannot record spooled event {}: {e:#}", path.display());
                break;
            }
        }
    }
    recorded
}

/// A hook that died between writing its temp file and renaming it (killed, or a machine crash)
/// leaves `.<name>.tmp`: a complete frame is renamed into place and drained like the rest, an
/// incomplete one goes to `spool/bad/`. Only files older than a hook's write takes are touched.
fn recover_orphans(dir: &Path) {
    let Ok(rd) = fs::read_dir(dir) else {
        return;
    };
    for entry in rd.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
            continue;
        };
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= ORPHAN_AGE);
        if !old {
            continue;
        }
        let path = entry.path();
        let complete = fs::read(&path).is_ok_and(|b| Request::decode(&b).is_ok());
        let to = if complete {
            dir.join(format!("{stem}.req"))
        } else {
            let bad = dir.join("bad");
            let _ = crate::paths::create_private_dir(&bad);
            bad.join(&name)
        };
        tracing::warn!(
            "orphaned spool file {} ({}): moved to {}",
            path.display(),
            if complete { "complete" } else { "incomplete" },
            to.display()
        );
        let _ = fs::rename(&path, &to);
    }
}

/// A hook writes and renames its spool file within milliseconds; older temp files are orphans.
const ORPHAN_AGE: std::time::Duration = std::time::Duration::from_secs(10);

enum DrainError {
    Unreadable(String),
    Ledger(anyhow::Error),
}

async fn drain_one(
    path: &Path,
    ledger: &Ledger,
    state: &EngineState,
    remote: Option<&crate::remote::Remote>,
) -> Result<(), DrainError> {
    let bytes = fs::read(path).map_err(|e| DrainError::Unreadable(e.to_string()))?;
    let mut req = Request::decode(&bytes).map_err(|e| DrainError::Unreadable(e.to_string()))?;
    req.set(field::SPOOLED, "1");
    let outcome =
        engine::evaluate(&req, state, engine::now_us()).map_err(DrainError::Unreadable)?;
    let mut record = outcome.record.clone();
    // The client-side latency of a spooled event measures the outage, not the hook.
    record.client_us = None;
    if let Some(why) = req.field(field::HOOK_DENY) {
        // The hook denied this call itself (the daemon was dead, hung or untrusted): that deny
        // is what happened, whatever the policy would have said.
        record.verdict = Some("block".into());
        record.enforced = true;
        record.reasons = vec![format!("denied by the hook itself: {why}")];
        record.policy = Some("dashclaw:hook_fail_closed".into());
        record.outcome = serde_json::json!({"hook_denied": true});
        ledger.append(record).await.map_err(DrainError::Ledger)?;
        return Ok(());
    }
    let event_id = record.event_id.clone();
    ledger.append(record).await.map_err(DrainError::Ledger)?;
    // The server's share: outcomes and Stop attribution (deduplicated by the event id).
    if let (Some(remote), Some(ev)) = (remote, &outcome.event) {
        let agent_id = req.env("DASHCLAW_AGENT_ID").filter(|a| !a.is_empty());
        crate::remote::deliver::enqueue_event(remote, ev, &event_id, agent_id)
            .await
            .map_err(DrainError::Ledger)?;
    }
    Ok(())
}
