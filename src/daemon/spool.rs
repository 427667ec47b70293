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
    recover_orphans(&dir_paths.spool_dir, ORPHAN_AGE);
    let mut recorded = 0;
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

/// A client's temp file this old is no longer being written (clients finish in milliseconds).
const ORPHAN_AGE: std::time::Duration = std::time::Duration::from_secs(60);

/// Temp files a client left behind (it died between write and rename, or the disk filled):
/// a complete frame is renamed into place and recorded like any spooled event; an empty or
/// partial one is removed, since the client that wrote it reported the failure itself.
fn recover_orphans(dir: &Path, min_age: std::time::Duration) {
    let Ok(rd) = fs::read_dir(dir) else { return };
    for entry in rd.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_prefix('.').and_then(|n| n.strip_suffix(".tmp")) else {
            continue;
        };
        let old = entry
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age >= min_age);
        if !old {
            continue;
        }
        let path = entry.path();
        let complete = fs::read(&path)
            .ok()
            .is_some_and(|b| !b.is_empty() && Request::decode(&b).is_ok());
        if complete {
            let to = dir.join(format!("{stem}.req"));
            match fs::rename(&path, &to) {
                Ok(()) => tracing::warn!("recovered an orphaned spool file as {}", to.display()),
                Err(e) => tracing::error!("cannot recover {}: {e}", path.display()),
            }
        } else if fs::remove_file(&path).is_ok() {
            tracing::warn!("removed an empty or partial spool file {}", path.display());
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orphaned_temp_files_are_recovered_or_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut req = Request::new(b"{}".to_vec());
        req.set(field::EVENT, "post-tool-use");
        fs::write(dir.path().join(".1-2.tmp"), req.encode()).unwrap();
        fs::write(dir.path().join(".3-4.tmp"), b"").unwrap();
        fs::write(dir.path().join(".5-6.tmp"), &req.encode()[..7]).unwrap();
        // Young files may still be being written: left alone.
        recover_orphans(dir.path(), std::time::Duration::from_secs(3600));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 3);
        recover_orphans(dir.path(), std::time::Duration::ZERO);
        let mut names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["1-2.req"]);
        assert_eq!(pending(dir.path()), 1);
    }
}
