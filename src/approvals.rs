//! Local approvals: the queue that stands in for a DashClaw server's operator approval.
//!
//! When a call needs approval and the agent cannot ask the user itself, the daemon records a
//! pending request here and denies the call, telling the model which command a human should run.
//! A person approves or denies it at a terminal (`dashclawd approve <id>`, see
//! `cli/approvals.rs`). An approval is a grant for ONE identical retry within
//! [`GRANT_WINDOW_SECS`], the same rule as the server's operator-approval grant.
//!
//! "Identical" is decided by [`fingerprint`]. Rows are never deleted: expired and used requests
//! stay for audit. The store is its own SQLite file (WAL, 0600) rather than a table in the
//! ledger so the admin commands can write it without going through the ledger's writer thread.
//!
//! All times are unix seconds and every method takes `now`, so tests control the clock.

use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use anyhow::Result;
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// How long after the approval the identical retry may run (the server's rule, §3 step 13).
pub const GRANT_WINDOW_SECS: i64 = 15 * 60;
/// How long a denial keeps answering identical retries with the operator's reason.
pub const DENIAL_WINDOW_SECS: i64 = 15 * 60;
/// How long a request waits for a human before it expires.
pub const DEFAULT_PENDING_TTL: Duration = Duration::from_secs(60 * 60);
/// Longest stored `detail`, in bytes: enough for any command, bounded for huge file writes.
pub const DETAIL_MAX: usize = 64 * 1024;

/// The store's schema (see [`crate::store`]).
pub const SCHEMA: crate::store::Schema = crate::store::Schema {
    name: "approvals store",
    migrations: &[
        // 1. `IF NOT EXISTS`: files from before the shared helper were created by this same
        // statement and already say version 1.
        "CREATE TABLE IF NOT EXISTS approvals (
            id              TEXT PRIMARY KEY,
            fingerprint     TEXT NOT NULL,
            agent           TEXT NOT NULL,
            session_id      TEXT,
            cwd             TEXT,
            tool            TEXT NOT NULL,
            summary         TEXT NOT NULL,
            detail          TEXT,
            reasons         TEXT NOT NULL,
            policy          TEXT,
            status          TEXT NOT NULL,
            created_at      INTEGER NOT NULL,
            expires_at      INTEGER NOT NULL,
            decided_at      INTEGER,
            decided_by      TEXT,
            decision_reason TEXT,
            used_at         INTEGER
        );
        CREATE INDEX IF NOT EXISTS approvals_fp ON approvals (fingerprint, status);
        CREATE INDEX IF NOT EXISTS approvals_status ON approvals (status, created_at);",
    ],
};
/// Lower-case letters and digits without the look-alikes l, o, 0 and 1: 32 symbols, 5 bits each.
const ID_ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
const ID_PREFIX: &str = "ap_";
const ID_LEN: usize = 8;

/// Seconds since the Unix epoch.
pub use crate::util::time::now_secs as unix_now;

/// Tool-input fields that are the model's commentary, not part of what runs. Leaving them out of
/// the fingerprint lets a retry whose prose differs ("Delete the build dir" vs "Remove build
/// output") match the approved call; everything that changes what executes stays in. The list is
/// per agent and tool because the same name means content elsewhere (an MCP tool's
/// `description` may be the text of the issue it creates).
fn commentary_fields(agent: &str, tool: &str) -> &'static [&'static str] {
    match (agent, tool) {
        // Claude Code's Bash `description` is the one-line label shown in the UI.
        ("claude", "Bash") => &["description"],
        // Task/Agent `description` is the 3-5 word label; `prompt` is what the sub-agent runs.
        ("claude", "Task" | "Agent") => &["description"],
        _ => &[],
    }
}

/// The identity of a tool call for approvals: sha256 (hex) of a canonical JSON form of the
/// agent, the working directory, the tool name and its input (object keys sorted at every
/// level, no whitespace), so key order and the model's commentary fields do not matter.
///
/// The working directory is part of it because relative paths resolve against it: approving
/// `rm -rf build` in one project must not let the same text run in another. The session is not:
/// a headless agent's retry (`claude -p` run again) is a new session.
pub fn fingerprint(agent: &str, cwd: &str, tool_name: &str, tool_input: &Value) -> String {
    let skip = commentary_fields(agent, tool_name);
    let input = match tool_input {
        Value::Object(map) if !skip.is_empty() => Value::Object(
            map.iter()
                .filter(|(k, _)| !skip.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    };
    let mut material = String::from("dashclaw-approval/v1\n");
    canonical_json(
        &serde_json::json!({
            "agent": agent,
            "cwd": cwd,
            "tool": tool_name,
            "input": input,
        }),
        &mut material,
    );
    hex::encode(Sha256::digest(material.as_bytes()))
}

/// JSON with object keys sorted recursively and no whitespace. Strings and numbers use
/// serde_json's own formatting, which is deterministic for a given value.
fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Where a request is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting for a human.
    Pending,
    /// Approved; the grant has not been used yet and its window is open.
    Approved,
    /// Approved and consumed by the retry.
    Used,
    /// Approved, but no retry came within the grant window.
    Lapsed,
    Denied,
    /// Nobody decided within the pending TTL.
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Used => "used",
            Status::Lapsed => "lapsed",
            Status::Denied => "denied",
            Status::Expired => "expired",
        }
    }

    fn parse(s: &str) -> Option<Status> {
        [
            Status::Pending,
            Status::Approved,
            Status::Used,
            Status::Lapsed,
            Status::Denied,
            Status::Expired,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// How a decided status reads after "ap_x is already ...".
    fn described(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Used => "approved and its retry has run",
            Status::Lapsed => "approved, but the retry never came within 15 minutes",
            Status::Denied => "denied",
            Status::Expired => "expired",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request to hold. Free text (summary, detail, reasons) must already be redacted.
#[derive(Debug, Clone, Default)]
pub struct NewRequest {
    pub fingerprint: String,
    pub agent: String,
    pub session_id: Option<String>,
    pub cwd: Option<String>,
    pub tool: String,
    /// One line for lists (`Bash: rm -rf build`).
    pub summary: String,
    /// The full (redacted) tool input, shown to the approver: the summary is cut at 300
    /// characters and a human must see everything they approve. Cut at [`DETAIL_MAX`].
    pub detail: Option<String>,
    pub reasons: Vec<String>,
    pub policy: Option<String>,
}

/// The answer to [`Approvals::request`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: String,
    /// False when an identical request was already pending and is returned instead.
    pub created: bool,
    pub expires_at: i64,
}

/// A consumed approval: the retry may run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub id: String,
    pub approved_by: String,
    pub reason: Option<String>,
    pub approved_at: i64,
}

/// A recent denial of the same call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    pub id: String,
    pub denied_by: String,
    pub reason: Option<String>,
    pub denied_at: i64,
}

/// One stored request, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApprovalRow {
    pub id: String,
    pub status: Status,
    pub agent: String,
    pub session_id: Option<String>,
    pub cwd: Option<String>,
    pub tool: String,
    pub summary: String,
    pub detail: Option<String>,
    pub reasons: Vec<String>,
    pub policy: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub decided_at: Option<i64>,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
    pub used_at: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    Pending,
    All,
}

/// Why an approve or deny did not happen.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error("'{0}' is not an approval id (ids look like ap_7kq2mx9d)")]
    BadId(String),
    #[error("no such request {0}")]
    NotFound(String),
    #[error("{0} expired before anyone decided; if the agent retries, a new request is queued")]
    Expired(String),
    #[error("{id} is already {}", status.described())]
    Decided { id: String, status: Status },
    #[error("approvals database: {0}")]
    Db(#[from] rusqlite::Error),
}

/// Normalizes an id a human typed: surrounding space, upper case and a missing `ap_` prefix are
/// forgiven; anything else that is not `ap_` + 8 id characters is `None`.
pub fn parse_id(input: &str) -> Option<String> {
    let s = input.trim().to_ascii_lowercase();
    let body = s.strip_prefix(ID_PREFIX).unwrap_or(&s);
    (body.len() == ID_LEN && body.bytes().all(|b| ID_ALPHABET.contains(&b)))
        .then(|| format!("{ID_PREFIX}{body}"))
}

/// `n` random symbols of the id alphabet, from the OS random source.
pub fn random_code(n: usize) -> Result<String> {
    crate::util::id::random_code(n, ID_ALPHABET)
}

/// The approvals store. Cheap to share behind an `Arc`; calls are rare, so one connection
/// behind a mutex is enough. Other processes (the admin commands) may use the same file.
pub struct Approvals {
    conn: Mutex<Connection>,
    pending_ttl: i64,
}

impl Approvals {
    /// Opens (creating it 0600 if needed) the store at `path`. The parent directory must exist.
    pub fn open(path: &Path) -> Result<Approvals> {
        // It names what the agent tried to do and who let it: created private, like every store.
        let conn = crate::store::open(path, &SCHEMA, crate::store::SyncMode::Normal)?;
        Ok(Approvals {
            conn: Mutex::new(conn),
            pending_ttl: DEFAULT_PENDING_TTL.as_secs() as i64,
        })
    }

    /// Sets how long a request waits for a human before it expires.
    pub fn with_pending_ttl(mut self, ttl: Duration) -> Approvals {
        self.pending_ttl = ttl.as_secs().min(i64::MAX as u64) as i64;
        self
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll
        // back on drop), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Holds a call for a human. An identical request (same fingerprint) that is still pending
    /// is returned instead of queueing a duplicate, so a retrying agent gets the same id.
    pub fn request(&self, req: &NewRequest, now: i64) -> Result<Pending> {
        let mut conn = self.conn();
        // IMMEDIATE takes the write lock first, so "look for a pending one, else insert" cannot
        // interleave with another process doing the same.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        sweep(&tx, now)?;
        let existing = tx
            .query_row(
                "SELECT id, expires_at FROM approvals WHERE fingerprint = ?1 AND status = 'pending'
                 ORDER BY created_at DESC, rowid DESC LIMIT 1",
                [&req.fingerprint],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)),
            )
            .optional()?;
        if let Some((id, expires_at)) = existing {
            tx.commit()?;
            return Ok(Pending {
                id,
                created: false,
                expires_at,
            });
        }
        let expires_at = now.saturating_add(self.pending_ttl);
        let reasons = serde_json::to_string(&req.reasons)?;
        let detail = req.detail.as_deref().map(cut_detail);
        // 40 random bits: a collision is unlikely but not impossible, so retry on one.
        for _ in 0..8 {
            let id = format!("{ID_PREFIX}{}", random_code(ID_LEN)?);
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO approvals (id, fingerprint, agent, session_id, cwd, tool,
                    summary, detail, reasons, policy, status, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'pending', ?11, ?12)",
                params![
                    id,
                    req.fingerprint,
                    req.agent,
                    req.session_id,
                    req.cwd,
                    req.tool,
                    req.summary,
                    detail,
                    reasons,
                    req.policy,
                    now,
                    expires_at
                ],
            )?;
            if inserted == 1 {
                tx.commit()?;
                return Ok(Pending {
                    id,
                    created: true,
                    expires_at,
                });
            }
        }
        anyhow::bail!("could not allocate a unique approval id")
    }

    /// Consumes the grant for `fingerprint`, if a human approved that call within the last
    /// [`GRANT_WINDOW_SECS`] and no retry has used it yet. Exactly one caller gets it, even
    /// across processes.
    pub fn take_grant(&self, fingerprint: &str, now: i64) -> Result<Option<Grant>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        sweep(&tx, now)?;
        let found = tx
            .query_row(
                "SELECT id, decided_by, decision_reason, decided_at FROM approvals
                 WHERE fingerprint = ?1 AND status = 'approved' AND used_at IS NULL
                   AND decided_at > ?2
                 ORDER BY decided_at DESC, rowid DESC LIMIT 1",
                params![fingerprint, now - GRANT_WINDOW_SECS],
                |r| {
                    Ok(Grant {
                        id: r.get(0)?,
                        approved_by: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                        reason: r.get(2)?,
                        approved_at: r.get(3)?,
                    })
                },
            )
            .optional()?;
        let Some(grant) = found else {
            tx.commit()?;
            return Ok(None);
        };
        let changed = tx.execute(
            "UPDATE approvals SET status = 'used', used_at = ?2 WHERE id = ?1 AND status = 'approved'",
            params![grant.id, now],
        )?;
        tx.commit()?;
        // Always 1 under the write lock; the check keeps "exactly once" independent of that.
        Ok((changed == 1).then_some(grant))
    }

    /// The operator's denial of this call, when the newest request with this fingerprint was
    /// denied within [`DENIAL_WINDOW_SECS`]: the retry is denied quoting it instead of queueing
    /// a new request.
    pub fn denied_reason(&self, fingerprint: &str, now: i64) -> Result<Option<Denial>> {
        let conn = self.conn();
        let newest = conn
            .query_row(
                "SELECT id, status, decided_by, decision_reason, decided_at FROM approvals
                 WHERE fingerprint = ?1 ORDER BY created_at DESC, rowid DESC LIMIT 1",
                [fingerprint],
                |r| {
                    Ok((
                        r.get::<_, String>(1)?,
                        Denial {
                            id: r.get(0)?,
                            denied_by: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
                            reason: r.get(3)?,
                            denied_at: r.get::<_, Option<i64>>(4)?.unwrap_or(i64::MIN),
                        },
                    ))
                },
            )
            .optional()?;
        Ok(newest.and_then(|(status, d)| {
            (status == "denied" && d.denied_at > now - DENIAL_WINDOW_SECS).then_some(d)
        }))
    }

    /// Requests, newest first. Expired and lapsed rows are brought up to date first.
    pub fn list(&self, filter: Filter, now: i64) -> Result<Vec<ApprovalRow>> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        sweep(&tx, now)?;
        let sql = match filter {
            Filter::Pending => {
                "SELECT * FROM approvals WHERE status = 'pending' ORDER BY created_at DESC, rowid DESC"
            }
            Filter::All => "SELECT * FROM approvals ORDER BY created_at DESC, rowid DESC",
        };
        let rows = {
            let mut stmt = tx.prepare(sql)?;
            let rows = stmt.query_map([], row_from_sql)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        };
        tx.commit()?;
        Ok(rows)
    }

    /// One request by id (as a human typed it).
    pub fn get(&self, id: &str, now: i64) -> Result<ApprovalRow, DecideError> {
        let id = parse_id(id).ok_or_else(|| DecideError::BadId(id.to_string()))?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        sweep(&tx, now)?;
        let row = tx
            .query_row("SELECT * FROM approvals WHERE id = ?1", [&id], row_from_sql)
            .optional()?;
        tx.commit()?;
        row.ok_or(DecideError::NotFound(id))
    }

    /// Approves a pending request: the next identical call within the grant window runs, once.
    pub fn approve(
        &self,
        id: &str,
        approver: &str,
        reason: Option<&str>,
        now: i64,
    ) -> Result<ApprovalRow, DecideError> {
        self.decide(id, Status::Approved, approver, reason, now)
    }

    /// Denies a pending request: identical retries within the denial window are denied with
    /// `reason`.
    pub fn deny(
        &self,
        id: &str,
        approver: &str,
        reason: Option<&str>,
        now: i64,
    ) -> Result<ApprovalRow, DecideError> {
        self.decide(id, Status::Denied, approver, reason, now)
    }

    fn decide(
        &self,
        id: &str,
        to: Status,
        approver: &str,
        reason: Option<&str>,
        now: i64,
    ) -> Result<ApprovalRow, DecideError> {
        let id = parse_id(id).ok_or_else(|| DecideError::BadId(id.to_string()))?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        sweep(&tx, now)?;
        let status = tx
            .query_row("SELECT status FROM approvals WHERE id = ?1", [&id], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .ok_or_else(|| DecideError::NotFound(id.clone()))?;
        match Status::parse(&status) {
            Some(Status::Pending) => {}
            Some(Status::Expired) => {
                // The sweep may just have expired it: keep that.
                tx.commit()?;
                return Err(DecideError::Expired(id));
            }
            Some(status) => return Err(DecideError::Decided { id, status }),
            None => {
                return Err(DecideError::Db(rusqlite::Error::InvalidColumnType(
                    0,
                    format!("status '{status}'"),
                    rusqlite::types::Type::Text,
                )))
            }
        }
        tx.execute(
            "UPDATE approvals SET status = ?2, decided_at = ?3, decided_by = ?4, decision_reason = ?5
             WHERE id = ?1 AND status = 'pending'",
            params![id, to.as_str(), now, approver, reason],
        )?;
        let row = tx.query_row("SELECT * FROM approvals WHERE id = ?1", [&id], row_from_sql)?;
        tx.commit()?;
        Ok(row)
    }
}

/// Brings time-based states up to date: pending past its TTL → expired; approved and unused past
/// the grant window → lapsed. Rows stay for audit.
fn sweep(conn: &Connection, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE approvals SET status = 'expired' WHERE status = 'pending' AND expires_at <= ?1",
        [now],
    )?;
    conn.execute(
        "UPDATE approvals SET status = 'lapsed'
         WHERE status = 'approved' AND used_at IS NULL AND decided_at <= ?1",
        [now - GRANT_WINDOW_SECS],
    )?;
    Ok(())
}

fn cut_detail(detail: &str) -> String {
    let kept = crate::util::text::clip_bytes(detail, DETAIL_MAX);
    if kept.len() == detail.len() {
        return detail.to_string();
    }
    format!(
        "{kept}\n… [{} more bytes not shown]",
        detail.len() - kept.len()
    )
}

fn row_from_sql(r: &Row<'_>) -> rusqlite::Result<ApprovalRow> {
    let status: String = r.get("status")?;
    let reasons: String = r.get("reasons")?;
    Ok(ApprovalRow {
        id: r.get("id")?,
        status: Status::parse(&status).ok_or_else(|| {
            rusqlite::Error::InvalidColumnType(0, "status".into(), rusqlite::types::Type::Text)
        })?,
        agent: r.get("agent")?,
        session_id: r.get("session_id")?,
        cwd: r.get("cwd")?,
        tool: r.get("tool")?,
        summary: r.get("summary")?,
        detail: r.get("detail")?,
        // A hand-edited column should not make the whole list unreadable.
        reasons: serde_json::from_str(&reasons).unwrap_or_else(|_| vec![reasons]),
        policy: r.get("policy")?,
        created_at: r.get("created_at")?,
        expires_at: r.get("expires_at")?,
        decided_at: r.get("decided_at")?,
        decided_by: r.get("decided_by")?,
        decision_reason: r.get("decision_reason")?,
        used_at: r.get("used_at")?,
    })
}

/// The approval passphrase: something the person knows and the agent does not. A code shown
/// on the terminal proves nothing (a process that drives the terminal reads it), a passphrase
/// does. Stored as an argon2id PHC string (`state/approval-passphrase`, 0600); when it exists,
/// `dashclawd approve` and `deny` need it, typed at the controlling terminal without echo.
pub mod passphrase {
    use std::io::{Read, Write};
    use std::os::unix::fs::OpenOptionsExt;
    use std::path::{Path, PathBuf};

    use anyhow::{Context, Result};
    use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
    use argon2::Argon2;

    /// Shortest passphrase accepted: it only has to resist guessing by a process that can try
    /// it at argon2's pace, not an offline attacker with the hash (who can read the store).
    pub const MIN_LEN: usize = 8;

    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("approval-passphrase")
    }

    pub fn is_set(state_dir: &Path) -> bool {
        path(state_dir).exists()
    }

    /// Hashes and stores `pass` (argon2id, random salt), replacing any earlier one atomically.
    pub fn set(state_dir: &Path, pass: &str) -> Result<()> {
        anyhow::ensure!(
            pass.chars().count() >= MIN_LEN,
            "the passphrase must have at least {MIN_LEN} characters"
        );
        let mut salt = [0u8; 16];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut salt))
            .context("reading /dev/urandom")?;
        let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
        let hash = Argon2::default()
            .hash_password(pass.as_bytes(), &salt)
            .map_err(|e| anyhow::anyhow!("hashing the passphrase: {e}"))?
            .to_string();
        crate::paths::create_private_dir(state_dir)?;
        let dst = path(state_dir);
        let tmp = state_dir.join(format!(".approval-passphrase.{}", std::process::id()));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(format!("{hash}\n").as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &dst).with_context(|| format!("writing {}", dst.display()))?;
        Ok(())
    }

    /// Removes the passphrase (after the caller verified the current one).
    pub fn remove(state_dir: &Path) -> Result<()> {
        let p = path(state_dir);
        std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))
    }

    /// Whether `pass` is the stored passphrase. A store that is not a valid argon2id hash is
    /// an error, never a match.
    pub fn verify(state_dir: &Path, pass: &str) -> Result<bool> {
        let p = path(state_dir);
        let stored =
            std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))?;
        let parsed = PasswordHash::new(stored.trim())
            .map_err(|e| anyhow::anyhow!("{} is not a passphrase hash: {e}", p.display()))?;
        anyhow::ensure!(
            parsed.algorithm.as_str() == "argon2id",
            "{} is not an argon2id hash",
            p.display()
        );
        Ok(Argon2::default()
            .verify_password(pass.as_bytes(), &parsed)
            .is_ok())
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::os::unix::fs::PermissionsExt;

        #[test]
        fn set_verify_and_a_private_file() {
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path();
            assert!(!is_set(dir));
            assert!(set(dir, "short").is_err());
            set(dir, "correct horse battery").unwrap();
            assert!(is_set(dir));
            let meta = std::fs::metadata(path(dir)).unwrap();
            assert_eq!(meta.permissions().mode() & 0o777, 0o600);
            let stored = std::fs::read_to_string(path(dir)).unwrap();
            assert!(stored.starts_with("$argon2id$"), "{stored}");
            assert!(!stored.contains("correct horse"));
            assert!(verify(dir, "correct horse battery").unwrap());
            assert!(!verify(dir, "correct horse batter").unwrap());
            std::fs::write(path(dir), "plain text\n").unwrap();
            assert!(verify(dir, "plain text").is_err());
        }
    }
}

/// Whether an AI agent is among the ancestors of this process: Claude Code, Codex, Hermes or
/// OpenClaw, as their own executables or as node/python running them. Walks the parent chain
/// (`/proc/<pid>/stat` on Linux, `ps` elsewhere) and looks at each process's name, executable
/// and first arguments, so unsetting `CLAUDECODE` does not hide the agent. Returns a description
/// of the first agent found.
pub fn agent_ancestor() -> Option<String> {
    ancestry::agent_ancestor_of(std::process::id() as i32)
}

pub mod ancestry {
    /// Executable or script names of the agents.
    const AGENT_NAMES: &[&str] = &[
        "claude",
        "claude-code",
        "codex",
        "codex-cli",
        "hermes",
        "hermes-agent",
        "openclaw",
    ];
    /// Path fragments of the agents' packages, for interpreters running them.
    const AGENT_PATHS: &[&str] = &[
        "@anthropic-ai/claude-code",
        "@openai/codex",
        "hermes-agent",
        "hermes_agent",
        "node_modules/openclaw",
    ];

    /// Whether one name or argument names an agent.
    pub fn names_agent(s: &str) -> bool {
        let lower = s.to_ascii_lowercase();
        let base = lower.rsplit('/').next().unwrap_or(&lower);
        let stem = base
            .strip_suffix(".js")
            .or_else(|| base.strip_suffix(".mjs"))
            .or_else(|| base.strip_suffix(".cjs"))
            .or_else(|| base.strip_suffix(".py"))
            .unwrap_or(base);
        AGENT_NAMES.contains(&stem) || AGENT_PATHS.iter().any(|p| lower.contains(p))
    }

    /// A process as far as the check needs it.
    #[derive(Debug, Clone)]
    pub struct Proc {
        pub pid: i32,
        pub ppid: i32,
        pub comm: String,
        pub exe: Option<String>,
        pub args: Vec<String>,
    }

    impl Proc {
        pub fn is_agent(&self) -> bool {
            names_agent(&self.comm)
                || self.exe.as_deref().is_some_and(names_agent)
                // argv[0] and the script an interpreter runs; later arguments are data (an
                // editor opening `claude.md` is not Claude).
                || self.args.iter().take(3).any(|a| !a.starts_with('-') && names_agent(a))
        }
    }

    #[cfg(target_os = "linux")]
    pub fn read(pid: i32) -> Option<Proc> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // comm is in parentheses and may itself contain ") ": the last one ends it.
        let open = stat.find('(')?;
        let close = stat.rfind(')')?;
        let comm = stat[open + 1..close].to_string();
        let ppid = stat[close + 1..].split_whitespace().nth(1)?.parse().ok()?;
        let exe = std::fs::read_link(format!("/proc/{pid}/exe"))
            .ok()
            .map(|p| p.to_string_lossy().into_owned());
        let args = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|b| {
                b.split(|c| *c == 0)
                    .filter(|a| !a.is_empty())
                    .take(4)
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect()
            })
            .unwrap_or_default();
        Some(Proc {
            pid,
            ppid,
            comm,
            exe,
            args,
        })
    }

    #[cfg(not(target_os = "linux"))]
    pub fn read(pid: i32) -> Option<Proc> {
        let out = std::process::Command::new("ps")
            .args(["-o", "ppid=", "-o", "comm=", "-p", &pid.to_string()])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.trim();
        let (ppid, comm) = line.split_once(char::is_whitespace)?;
        let args_out = std::process::Command::new("ps")
            .args(["-o", "args=", "-p", &pid.to_string()])
            .output()
            .ok()?;
        let args = String::from_utf8_lossy(&args_out.stdout)
            .split_whitespace()
            .take(4)
            .map(str::to_string)
            .collect();
        Some(Proc {
            pid,
            ppid: ppid.trim().parse().ok()?,
            comm: comm.trim().to_string(),
            exe: None,
            args,
        })
    }

    /// The first agent among the ancestors of `pid` (not `pid` itself).
    pub fn agent_ancestor_of(pid: i32) -> Option<String> {
        let mut cur = read(pid)?.ppid;
        // Bounded: a parent chain is short, and a loop must not hang the check.
        for _ in 0..64 {
            if cur <= 1 {
                return None;
            }
            let p = read(cur)?;
            if p.is_agent() {
                return Some(format!(
                    "{} (pid {}{})",
                    p.comm,
                    p.pid,
                    p.exe
                        .as_deref()
                        .map(|e| format!(", {e}"))
                        .unwrap_or_default()
                ));
            }
            cur = p.ppid;
        }
        None
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn agent_names_and_packages() {
            for yes in [
                "claude",
                "/home/u/.local/bin/claude",
                "/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js",
                "codex",
                "/usr/lib/node_modules/@openai/codex/bin/codex.js",
                "hermes",
                "openclaw",
                "/opt/hermes-agent/venv/bin/python",
            ] {
                assert!(names_agent(yes), "{yes}");
            }
            for no in [
                "bash",
                "node",
                "claude.md",
                "dashclawd",
                "clauded",
                "/tmp/codex-notes",
            ] {
                assert!(!names_agent(no), "{no}");
            }
        }

        #[cfg(target_os = "linux")]
        #[test]
        fn finds_an_agent_parent_and_not_an_ordinary_one() {
            // `sh` renamed `claude` by a symlink: the kernel names the process after the link.
            let tmp = tempfile::tempdir().unwrap();
            let claude = tmp.path().join("claude");
            std::os::unix::fs::symlink("/bin/sh", &claude).unwrap();
            let mut child = std::process::Command::new(&claude)
                .args(["-c", "sleep 5 & wait"])
                .spawn()
                .unwrap();
            let parent = child.id() as i32;
            let mut grandchild = None;
            for _ in 0..200 {
                let kids =
                    std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
                        .unwrap_or_default();
                if let Some(k) = kids.split_whitespace().next() {
                    grandchild = k.parse::<i32>().ok();
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let found = grandchild.and_then(agent_ancestor_of);
            let _ = child.kill();
            let _ = child.wait();
            assert!(found.is_some_and(|f| f.starts_with("claude")), "not found");
            assert_eq!(agent_ancestor_of(std::process::id() as i32), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::{Arc, Barrier};

    const T0: i64 = 1_700_000_000;

    fn store() -> (tempfile::TempDir, Approvals) {
        let dir = tempfile::tempdir().unwrap();
        let a = Approvals::open(&dir.path().join("approvals.db")).unwrap();
        (dir, a)
    }

    fn req(command: &str) -> NewRequest {
        NewRequest {
            fingerprint: fingerprint("claude", "/w", "Bash", &json!({ "command": command })),
            agent: "claude".into(),
            session_id: Some("s1".into()),
            cwd: Some("/w".into()),
            tool: "Bash".into(),
            summary: format!("Bash: {command}"),
            detail: Some(json!({ "command": command }).to_string()),
            reasons: vec!["needs a human".into()],
            policy: Some("builtin:test".into()),
        }
    }

    #[test]
    fn fingerprint_ignores_key_order_at_every_level() {
        let a: Value =
            serde_json::from_str(r#"{"a":1,"b":{"x":[{"p":1,"q":2}],"y":"z"}}"#).unwrap();
        let b: Value =
            serde_json::from_str(r#"{"b":{"y":"z","x":[{"q":2,"p":1}]},"a":1}"#).unwrap();
        assert_eq!(
            fingerprint("codex", "/w", "t", &a),
            fingerprint("codex", "/w", "t", &b)
        );
        let mut out = String::new();
        canonical_json(&b, &mut out);
        assert_eq!(out, r#"{"a":1,"b":{"x":[{"p":1,"q":2}],"y":"z"}}"#);
        // Array order is meaningful.
        let c = json!({"a":1,"b":{"x":[{"p":1,"q":2}],"y":"z","w":[2,1]}});
        let d = json!({"a":1,"b":{"x":[{"p":1,"q":2}],"y":"z","w":[1,2]}});
        assert_ne!(
            fingerprint("codex", "/w", "t", &c),
            fingerprint("codex", "/w", "t", &d)
        );
    }

    #[test]
    fn fingerprint_covers_what_runs_and_skips_commentary() {
        let fp = |agent, cwd, tool, input: Value| fingerprint(agent, cwd, tool, &input);
        let base = fp(
            "claude",
            "/w",
            "Bash",
            json!({"command":"rm -rf build","description":"Delete build"}),
        );
        assert_eq!(base.len(), 64);
        assert_eq!(
            base,
            fp(
                "claude",
                "/w",
                "Bash",
                json!({"description":"Remove output","command":"rm -rf build"})
            )
        );
        assert_eq!(
            base,
            fp("claude", "/w", "Bash", json!({"command":"rm -rf build"}))
        );
        for other in [
            fp("claude", "/w", "Bash", json!({"command":"rm -rf build2"})),
            fp(
                "claude",
                "/elsewhere",
                "Bash",
                json!({"command":"rm -rf build"}),
            ),
            fp("codex", "/w", "Bash", json!({"command":"rm -rf build"})),
            fp(
                "claude",
                "/w",
                "Bash",
                json!({"command":"rm -rf build","run_in_background":true}),
            ),
        ] {
            assert_ne!(base, other);
        }
        // Elsewhere `description` may be the content itself.
        assert_ne!(
            fp(
                "claude",
                "/w",
                "mcp__jira__create",
                json!({"description":"a"})
            ),
            fp(
                "claude",
                "/w",
                "mcp__jira__create",
                json!({"description":"b"})
            )
        );
    }

    #[test]
    fn identical_pending_requests_are_deduplicated() {
        let (_d, a) = store();
        let first = a.request(&req("rm -rf build"), T0).unwrap();
        assert!(first.created);
        assert!(parse_id(&first.id).as_deref() == Some(first.id.as_str()));
        assert_eq!(first.expires_at, T0 + 3600);
        let again = a.request(&req("rm -rf build"), T0 + 60).unwrap();
        assert_eq!(
            again,
            Pending {
                created: false,
                ..first.clone()
            }
        );
        let other = a.request(&req("rm -rf dist"), T0 + 60).unwrap();
        assert!(other.created);
        assert_ne!(other.id, first.id);
        assert_eq!(a.list(Filter::Pending, T0 + 60).unwrap().len(), 2);
    }

    #[test]
    fn approve_grants_exactly_one_retry() {
        let (_d, a) = store();
        let r = req("rm -rf build");
        let p = a.request(&r, T0).unwrap();
        assert_eq!(a.take_grant(&r.fingerprint, T0 + 1).unwrap(), None);
        let row = a.approve(&p.id, "alice", Some("ok"), T0 + 10).unwrap();
        assert_eq!(row.status, Status::Approved);
        assert_eq!(row.decided_by.as_deref(), Some("alice"));
        // Another call does not use it.
        assert_eq!(
            a.take_grant(&req("rm -rf dist").fingerprint, T0 + 20)
                .unwrap(),
            None
        );
        let g = a.take_grant(&r.fingerprint, T0 + 20).unwrap().unwrap();
        assert_eq!(
            g,
            Grant {
                id: p.id.clone(),
                approved_by: "alice".into(),
                reason: Some("ok".into()),
                approved_at: T0 + 10
            }
        );
        assert_eq!(a.take_grant(&r.fingerprint, T0 + 21).unwrap(), None);
        let row = a.get(&p.id, T0 + 22).unwrap();
        assert_eq!(row.status, Status::Used);
        assert_eq!(row.used_at, Some(T0 + 20));
        // The next identical call queues a fresh request.
        assert!(a.request(&r, T0 + 30).unwrap().created);
    }

    #[test]
    fn concurrent_retries_consume_a_grant_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("approvals.db");
        let a = Approvals::open(&path).unwrap();
        let r = req("rm -rf build");
        let p = a.request(&r, T0).unwrap();
        a.approve(&p.id, "alice", None, T0 + 1).unwrap();
        // Separate connections, as the daemon and another process would have.
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (path, fp, barrier) = (path.clone(), r.fingerprint.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let a = Approvals::open(&path).unwrap();
                    barrier.wait();
                    a.take_grant(&fp, T0 + 2).unwrap()
                })
            })
            .collect();
        let granted: Vec<_> = handles
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect();
        assert_eq!(granted.len(), 1, "{granted:?}");
        assert_eq!(granted[0].id, p.id);

        // The same with threads sharing one store.
        let shared = Arc::new(a);
        let r2 = req("rm -rf dist");
        let p2 = shared.request(&r2, T0).unwrap();
        shared.approve(&p2.id, "alice", None, T0 + 1).unwrap();
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (a, fp) = (shared.clone(), r2.fingerprint.clone());
                std::thread::spawn(move || a.take_grant(&fp, T0 + 2).unwrap())
            })
            .collect();
        let n = handles
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .count();
        assert_eq!(n, 1);
    }

    #[test]
    fn a_grant_lasts_fifteen_minutes_from_the_approval() {
        let (_d, a) = store();
        let r = req("rm -rf build");
        let p = a.request(&r, T0).unwrap();
        // Approved late in the pending TTL: the window counts from the approval.
        a.approve(&p.id, "alice", None, T0 + 3000).unwrap();
        assert_eq!(
            a.take_grant(&r.fingerprint, T0 + 3000 + GRANT_WINDOW_SECS)
                .unwrap(),
            None
        );
        assert_eq!(
            a.get(&p.id, T0 + 3000 + GRANT_WINDOW_SECS).unwrap().status,
            Status::Lapsed
        );

        let r2 = req("rm -rf dist");
        let p2 = a.request(&r2, T0).unwrap();
        a.approve(&p2.id, "alice", None, T0 + 100).unwrap();
        assert!(a
            .take_grant(&r2.fingerprint, T0 + 100 + GRANT_WINDOW_SECS - 1)
            .unwrap()
            .is_some());
    }

    #[test]
    fn pending_requests_expire_and_stay_for_audit() {
        let dir = tempfile::tempdir().unwrap();
        let a = Approvals::open(&dir.path().join("approvals.db"))
            .unwrap()
            .with_pending_ttl(Duration::from_secs(600));
        let r = req("rm -rf build");
        let p = a.request(&r, T0).unwrap();
        assert_eq!(p.expires_at, T0 + 600);
        assert!(matches!(
            a.approve(&p.id, "alice", None, T0 + 600),
            Err(DecideError::Expired(id)) if id == p.id
        ));
        assert!(a.list(Filter::Pending, T0 + 600).unwrap().is_empty());
        let all = a.list(Filter::All, T0 + 600).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].status, Status::Expired);
        // A retry after expiry queues a new request with a new id.
        let again = a.request(&r, T0 + 601).unwrap();
        assert!(again.created);
        assert_ne!(again.id, p.id);
    }

    #[test]
    fn a_recent_denial_answers_retries_with_the_reason() {
        let (_d, a) = store();
        let r = req("rm -rf build");
        let p = a.request(&r, T0).unwrap();
        assert_eq!(a.denied_reason(&r.fingerprint, T0).unwrap(), None);
        a.deny(&p.id, "bob", Some("use make clean"), T0 + 5)
            .unwrap();
        let d = a.denied_reason(&r.fingerprint, T0 + 60).unwrap().unwrap();
        assert_eq!(d.id, p.id);
        assert_eq!(d.denied_by, "bob");
        assert_eq!(d.reason.as_deref(), Some("use make clean"));
        assert_eq!(a.take_grant(&r.fingerprint, T0 + 60).unwrap(), None);
        assert_eq!(
            a.denied_reason(&r.fingerprint, T0 + 5 + DENIAL_WINDOW_SECS)
                .unwrap(),
            None
        );
        assert_eq!(
            a.denied_reason(&req("other").fingerprint, T0 + 60).unwrap(),
            None
        );
        // A newer request (after the window) supersedes the denial.
        let fresh = a.request(&r, T0 + 5 + DENIAL_WINDOW_SECS).unwrap();
        assert!(fresh.created);
        assert_eq!(
            a.denied_reason(&r.fingerprint, T0 + 6 + DENIAL_WINDOW_SECS)
                .unwrap(),
            None
        );
    }

    #[test]
    fn approve_and_deny_only_pending_requests() {
        let (_d, a) = store();
        let p = a.request(&req("rm -rf build"), T0).unwrap();
        let msg = |e: DecideError| e.to_string();
        assert_eq!(
            msg(a.approve("ap_zzzzzzzz", "al", None, T0).unwrap_err()),
            "no such request ap_zzzzzzzz"
        );
        assert_eq!(
            msg(a.approve("ap_x", "al", None, T0).unwrap_err()),
            "'ap_x' is not an approval id (ids look like ap_7kq2mx9d)"
        );
        assert!(matches!(
            a.deny("rm -rf /; ap_", "al", None, T0),
            Err(DecideError::BadId(_))
        ));
        // Typed sloppily: upper case, spaces, no prefix.
        let typed = format!("  {}  ", p.id.trim_start_matches("ap_").to_uppercase());
        a.approve(&typed, "al", None, T0 + 1).unwrap();
        assert_eq!(
            msg(a.approve(&p.id, "al", None, T0 + 2).unwrap_err()),
            format!("{} is already approved", p.id)
        );
        assert_eq!(
            msg(a.deny(&p.id, "al", None, T0 + 2).unwrap_err()),
            format!("{} is already approved", p.id)
        );
        let q = a.request(&req("rm -rf dist"), T0).unwrap();
        a.deny(&q.id, "al", None, T0 + 1).unwrap();
        assert_eq!(
            msg(a.approve(&q.id, "al", None, T0 + 2).unwrap_err()),
            format!("{} is already denied", q.id)
        );
        assert!(matches!(
            a.get("ap_zzzzzzzz", T0),
            Err(DecideError::NotFound(_))
        ));
    }

    #[test]
    fn the_store_is_private_and_survives_reopening() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("approvals.db");
        let p = Approvals::open(&path)
            .unwrap()
            .request(&req("rm -rf build"), T0)
            .unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let a = Approvals::open(&path).unwrap();
        let row = a.get(&p.id, T0 + 1).unwrap();
        assert_eq!(row.summary, "Bash: rm -rf build");
        assert_eq!(row.reasons, vec!["needs a human".to_string()]);
        assert_eq!(row.status, Status::Pending);
    }

    #[test]
    fn huge_details_are_cut_with_a_marker() {
        let (_d, a) = store();
        let mut r = req("x");
        r.detail = Some("é".repeat(DETAIL_MAX));
        let p = a.request(&r, T0).unwrap();
        let detail = a.get(&p.id, T0).unwrap().detail.unwrap();
        assert!(detail.len() < DETAIL_MAX + 100);
        assert!(detail.ends_with(&format!("[{} more bytes not shown]", DETAIL_MAX)));
    }

    #[test]
    fn ids_are_short_typeable_and_validated() {
        let code = random_code(ID_LEN).unwrap();
        assert_eq!(code.len(), 8);
        assert!(parse_id(&format!("ap_{code}")).is_some());
        for bad in [
            "",
            "ap_",
            "ap_abcdefg",
            "ap_abcdefghj",
            "ap_abcdefg0",
            "ap_abc defg",
            "ap_ébcdefg",
        ] {
            assert_eq!(parse_id(bad), None, "{bad}");
        }
    }
}
