//! The outbox: a durable store-and-forward queue for everything that must reach the server.
//!
//! Outcomes, Stop token attribution, heartbeats, assumptions, governed calls recorded while the
//! server was down and transcript batches are first committed here; the hook is answered only
//! after that commit, and the delivery loop (`remote/`) sends them with retries. So a daemon
//! killed at any instant, or a server away for hours, loses nothing that was acknowledged.
//!
//! Guarantees:
//! - [`Outbox::enqueue`] returns after the insert committed (SQLite WAL: it survives `kill -9`;
//!   with `SyncMode::Full` also a power loss).
//! - An item with a `dedupe_key` is stored once: a replay (a spooled hook event drained after the
//!   daemon did handle it) returns the first id, also after that item was delivered or parked.
//! - Items of one `group` are handed out strictly in id order: only the group's oldest item is
//!   ever due, so a failing head holds its group back, never another group.
//! - The payload bytes stay under a budget; over it the OLDEST items go, and each one dropped is
//!   returned so the caller can record exactly what was lost.
//!
//! One connection behind a mutex: writes are small and callers run them on blocking threads.
//! Payloads sit on disk until delivered, so free text in them must already be redacted. All
//! times are unix milliseconds passed in by the caller, so tests control the clock.

use anyhow::{Context, Result};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::store::{Schema, SyncMode};

/// The file's name inside the state directory.
pub const FILE_NAME: &str = "outbox.db";
/// Default cap on the pending payload bytes.
pub const DEFAULT_BUDGET: u64 = 256 * 1024 * 1024;
/// Parked (dead) items kept for inspection; older ones are deleted.
pub const DEAD_KEEP: i64 = 1000;
/// Dedupe keys of delivered items remembered so a late replay stays a no-op (besides
/// [`Outbox::forget_before`]): enough for hours of busy agents, bounded if nobody cleans up.
pub const DELIVERED_KEYS_KEEP: i64 = 50_000;
/// Longest stored error text, in characters.
pub const ERROR_MAX_CHARS: usize = 500;

/// The outbox's schema (see [`crate::store`]).
pub const SCHEMA: Schema = Schema {
    name: "outbox",
    migrations: MIGRATIONS,
};

/// Schema migrations, applied in order in one transaction; `user_version` counts those applied.
/// Append new ones, never edit one that shipped.
const MIGRATIONS: &[&str] = &[
    // 1. AUTOINCREMENT so an id is never reused: the delivery loop may still hold the id of an
    // item the budget dropped, and its `complete` must not hit a newer item.
    "CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY AUTOINCREMENT,
        kind            TEXT NOT NULL,
        dedupe_key      TEXT UNIQUE,
        grp             TEXT,
        payload         TEXT NOT NULL,
        bytes           INTEGER NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        created_ms      INTEGER NOT NULL,
        next_attempt_ms INTEGER NOT NULL,
        last_error      TEXT
    );
    CREATE INDEX outbox_group ON outbox (grp, id) WHERE grp IS NOT NULL;
    CREATE INDEX outbox_loose_due ON outbox (next_attempt_ms) WHERE grp IS NULL;
    -- Running totals kept by triggers, so the budget check on every enqueue is one row read
    -- rather than a SUM over the whole queue, and stays right whoever deletes.
    CREATE TABLE totals (
        one   INTEGER PRIMARY KEY CHECK (one = 1),
        items INTEGER NOT NULL,
        bytes INTEGER NOT NULL
    );
    INSERT INTO totals (one, items, bytes) VALUES (1, 0, 0);
    CREATE TRIGGER outbox_added AFTER INSERT ON outbox BEGIN
        UPDATE totals SET items = items + 1, bytes = bytes + NEW.bytes;
    END;
    CREATE TRIGGER outbox_removed AFTER DELETE ON outbox BEGIN
        UPDATE totals SET items = items - 1, bytes = bytes - OLD.bytes;
    END;
    CREATE TABLE dead (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        id         INTEGER NOT NULL,
        kind       TEXT NOT NULL,
        dedupe_key TEXT,
        grp        TEXT,
        payload    TEXT NOT NULL,
        bytes      INTEGER NOT NULL,
        attempts   INTEGER NOT NULL,
        created_ms INTEGER NOT NULL,
        parked_ms  INTEGER NOT NULL,
        error      TEXT NOT NULL
    );
    CREATE INDEX dead_key ON dead (dedupe_key) WHERE dedupe_key IS NOT NULL;
    CREATE TABLE delivered (
        seq        INTEGER PRIMARY KEY,
        dedupe_key TEXT NOT NULL UNIQUE,
        id         INTEGER NOT NULL,
        created_ms INTEGER NOT NULL
    );
    CREATE INDEX delivered_created ON delivered (created_ms);
    CREATE TABLE actions (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        key        TEXT NOT NULL UNIQUE,
        action_id  TEXT NOT NULL,
        session_id TEXT,
        created_ms INTEGER NOT NULL
    );
    CREATE INDEX actions_session ON actions (session_id, seq);
    CREATE INDEX actions_created ON actions (created_ms);",
];

/// Something to send. The payload must already be redacted.
#[derive(Debug, Clone, PartialEq)]
pub struct NewItem {
    /// What it is for the delivery loop: "outcome", "stop", "heartbeat", "orphan",
    /// "assumption", "ingest", ...
    pub kind: String,
    /// Unique when present: enqueueing the same key again returns the first item's id.
    pub dedupe_key: Option<String>,
    pub payload: Value,
    /// Earliest delivery, unix ms.
    pub not_before_ms: u64,
    /// FIFO group (an action, a transcript session): its items are delivered strictly in order.
    /// `None` means independent of everything else.
    pub group: Option<String>,
}

/// The answer to [`Outbox::enqueue`].
#[derive(Debug, Clone, PartialEq)]
pub struct Enqueued {
    pub id: i64,
    /// False when the dedupe key was already known (pending, delivered or parked): nothing new
    /// was stored and `id` is the first item's.
    pub created: bool,
    /// Older items deleted to stay under the budget, oldest first.
    pub dropped: Vec<Dropped>,
}

/// An item deleted unsent because the outbox was over its budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dropped {
    pub id: i64,
    pub kind: String,
    pub dedupe_key: Option<String>,
    pub group: Option<String>,
    pub bytes: u64,
    pub created_ms: u64,
    /// `kind key` for a ledger entry saying what was lost.
    pub summary: String,
}

/// A pending item as handed to the delivery loop.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    pub id: i64,
    pub kind: String,
    pub dedupe_key: Option<String>,
    pub group: Option<String>,
    pub payload: Value,
    /// Failed attempts so far.
    pub attempts: u32,
    pub created_ms: u64,
    pub next_attempt_ms: u64,
    pub last_error: Option<String>,
}

/// A permanently failed item, kept for `dashclawd status` and inspection.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadItem {
    pub id: i64,
    pub kind: String,
    pub dedupe_key: Option<String>,
    pub group: Option<String>,
    pub payload: Value,
    /// Attempts including the one that failed for good.
    pub attempts: u32,
    pub created_ms: u64,
    /// Wall clock when it was parked.
    pub parked_ms: u64,
    pub error: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutboxStats {
    pub pending: u64,
    pub pending_bytes: u64,
    pub oldest_created_ms: Option<u64>,
    pub dead: u64,
    pub by_kind: BTreeMap<String, u64>,
}

/// The outbox store. Share it behind an `Arc`; every method blocks on SQLite, so async callers
/// use `spawn_blocking`.
pub struct Outbox {
    conn: Mutex<Connection>,
    path: PathBuf,
    budget: AtomicU64,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox").field("path", &self.path).finish()
    }
}

impl Outbox {
    /// Opens (creating it 0600 if needed) the outbox at `path`, migrating its schema. The parent
    /// directory must exist.
    pub fn open(path: &Path, sync: SyncMode) -> Result<Outbox> {
        let conn = crate::store::open(path, &SCHEMA, sync)
            .with_context(|| format!("opening the outbox {}", path.display()))?;
        Ok(Outbox {
            conn: Mutex::new(conn),
            path: path.to_path_buf(),
            budget: AtomicU64::new(DEFAULT_BUDGET),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Caps the pending payload bytes; applies from the next enqueue.
    pub fn set_budget(&self, max_bytes: u64) {
        self.budget.store(max_bytes, Ordering::Relaxed);
    }

    pub fn budget(&self) -> u64 {
        self.budget.load(Ordering::Relaxed)
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite half-written (transactions roll
        // back on drop), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores an item; it is committed when this returns. A known dedupe key stores nothing and
    /// returns the first id. Over the budget, the oldest other items are dropped and reported.
    pub fn enqueue(&self, item: NewItem, now_ms: u64) -> Result<Enqueued> {
        let kind = item.kind.clone();
        self.try_enqueue(item, now_ms).map_err(|e| {
            if crate::store::is_disk_full(&e) {
                e.context(format!(
                    "the outbox {} is full (no space left on the device, or SQLite's size \
                     limit): the {kind} event was not queued",
                    self.path.display()
                ))
            } else {
                e.context(format!(
                    "queueing a {kind} event in the outbox {}",
                    self.path.display()
                ))
            }
        })
    }

    fn try_enqueue(&self, item: NewItem, now_ms: u64) -> Result<Enqueued> {
        let payload = serde_json::to_string(&item.payload).context("serializing the payload")?;
        let mut conn = self.conn();
        // IMMEDIATE takes the write lock first, so "is this key known, else insert" cannot
        // interleave with another connection doing the same.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if let Some(key) = &item.dedupe_key {
            if let Some(id) = known_key(&tx, key)? {
                tx.commit()?;
                return Ok(Enqueued {
                    id,
                    created: false,
                    dropped: Vec::new(),
                });
            }
        }
        tx.execute(
            "INSERT INTO outbox (kind, dedupe_key, grp, payload, bytes, created_ms, next_attempt_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                item.kind,
                item.dedupe_key,
                item.group,
                payload,
                payload.len() as i64,
                ms_to_sql(now_ms),
                ms_to_sql(item.not_before_ms)
            ],
        )?;
        let id = tx.last_insert_rowid();
        let dropped = enforce_budget(&tx, id, ms_to_sql(self.budget()))?;
        tx.commit()?;
        Ok(Enqueued {
            id,
            created: true,
            dropped,
        })
    }

    /// Items ready to send at `now_ms`, oldest first: due, and the oldest pending item of their
    /// group (items without a group are each their own).
    ///
    /// Nothing is leased: an item stays due until `complete`, `retry` or `park`, so one delivery
    /// loop must not hand the same item to two senders.
    pub fn due(&self, now_ms: u64, limit: usize) -> Result<Vec<Item>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, kind, dedupe_key, grp, payload, attempts, created_ms, next_attempt_ms,
                    last_error
             FROM outbox
             WHERE next_attempt_ms <= ?1
               AND id IN (SELECT id FROM outbox WHERE grp IS NULL AND next_attempt_ms <= ?1
                          UNION ALL
                          SELECT MIN(id) FROM outbox WHERE grp IS NOT NULL GROUP BY grp)
             ORDER BY id LIMIT ?2",
        )?;
        let rows = stmt.query_map(
            params![ms_to_sql(now_ms), limit.min(i64::MAX as usize) as i64],
            item_from_row,
        )?;
        let mut out = Vec::new();
        for row in rows {
            let (item, json) = row.context("reading the outbox")?;
            out.push(with_payload(item, &json)?);
        }
        Ok(out)
    }

    /// When the next item becomes due (possibly in the past), for the delivery loop's sleep.
    /// Only group heads count: a later item of a group waits for its head anyway.
    pub fn next_due_ms(&self) -> Result<Option<u64>> {
        let conn = self.conn();
        let ms: Option<i64> = conn.query_row(
            "SELECT MIN(next_attempt_ms) FROM outbox
             WHERE grp IS NULL
                OR id IN (SELECT MIN(id) FROM outbox WHERE grp IS NOT NULL GROUP BY grp)",
            [],
            |r| r.get(0),
        )?;
        Ok(ms.map(ms_from_sql))
    }

    /// The item was delivered: delete it. Its dedupe key is remembered so a late replay stays a
    /// no-op. False when it was no longer there (dropped by the budget meanwhile).
    pub fn complete(&self, id: i64) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let gone: Option<(Option<String>, i64)> = tx
            .query_row(
                "DELETE FROM outbox WHERE id = ?1 RETURNING dedupe_key, created_ms",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((key, created_ms)) = gone else {
            tx.commit()?;
            return Ok(false);
        };
        if let Some(key) = key {
            tx.execute(
                "INSERT OR REPLACE INTO delivered (dedupe_key, id, created_ms) VALUES (?1, ?2, ?3)",
                params![key, id, created_ms],
            )?;
            tx.execute(
                "DELETE FROM delivered WHERE seq <= (SELECT MAX(seq) FROM delivered) - ?1",
                [DELIVERED_KEYS_KEEP],
            )?;
        }
        tx.commit()?;
        Ok(true)
    }

    /// A failed attempt worth repeating: count it, keep the error (cut to
    /// [`ERROR_MAX_CHARS`]) and try again at `next_attempt_ms`. False when the item is gone.
    pub fn retry(&self, id: i64, next_attempt_ms: u64, error: &str) -> Result<bool> {
        let changed = self.conn().execute(
            "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?2, last_error = ?3
             WHERE id = ?1",
            params![id, ms_to_sql(next_attempt_ms), cut_error(error)],
        )?;
        Ok(changed == 1)
    }

    /// A permanent failure (the server will never accept it): move the item to the dead table,
    /// which keeps the newest [`DEAD_KEEP`]. Its group moves on. False when the item is gone.
    pub fn park(&self, id: i64, error: &str) -> Result<bool> {
        let parked_ms = ms_to_sql(crate::util::time::now_ms());
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let moved = tx.execute(
            "INSERT INTO dead (id, kind, dedupe_key, grp, payload, bytes, attempts, created_ms,
                               parked_ms, error)
             SELECT id, kind, dedupe_key, grp, payload, bytes, attempts + 1, created_ms, ?2, ?3
             FROM outbox WHERE id = ?1",
            params![id, parked_ms, cut_error(error)],
        )?;
        if moved == 0 {
            tx.commit()?;
            return Ok(false);
        }
        tx.execute("DELETE FROM outbox WHERE id = ?1", [id])?;
        tx.execute(
            "DELETE FROM dead WHERE seq <= (SELECT MAX(seq) FROM dead) - ?1",
            [DEAD_KEEP],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// Parked items, most recently parked first.
    pub fn dead_items(&self, limit: usize) -> Result<Vec<DeadItem>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT id, kind, dedupe_key, grp, payload, attempts, created_ms, parked_ms, error
             FROM dead ORDER BY seq DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit.min(i64::MAX as usize) as i64], |r| {
            Ok((
                DeadItem {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    dedupe_key: r.get(2)?,
                    group: r.get(3)?,
                    payload: Value::Null,
                    attempts: r.get(5)?,
                    created_ms: ms_from_sql(r.get(6)?),
                    parked_ms: ms_from_sql(r.get(7)?),
                    error: r.get(8)?,
                },
                r.get::<_, String>(4)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (mut item, json) = row.context("reading the outbox's dead items")?;
            item.payload = serde_json::from_str(&json)
                .with_context(|| format!("dead outbox item {} is not valid JSON", item.id))?;
            out.push(item);
        }
        Ok(out)
    }

    pub fn stats(&self) -> Result<OutboxStats> {
        let conn = self.conn();
        let (pending, pending_bytes): (i64, i64) =
            conn.query_row("SELECT items, bytes FROM totals", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
        let oldest: Option<i64> =
            conn.query_row("SELECT MIN(created_ms) FROM outbox", [], |r| r.get(0))?;
        let dead: i64 = conn.query_row("SELECT COUNT(*) FROM dead", [], |r| r.get(0))?;
        let mut by_kind = BTreeMap::new();
        let mut stmt = conn.prepare_cached("SELECT kind, COUNT(*) FROM outbox GROUP BY kind")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (kind, n) = row?;
            by_kind.insert(kind, n.max(0) as u64);
        }
        Ok(OutboxStats {
            pending: pending.max(0) as u64,
            pending_bytes: pending_bytes.max(0) as u64,
            oldest_created_ms: oldest.map(ms_from_sql),
            dead: dead.max(0) as u64,
            by_kind,
        })
    }

    /// Remembers the server's action id for a governed call (by tool-use id, or a local key when
    /// the agent gives none), so its outcome can be attached later. Mapping a key again replaces
    /// the action id and refreshes its time but keeps its place in the session's order.
    pub fn map_action(
        &self,
        key: &str,
        action_id: &str,
        session_id: Option<&str>,
        now_ms: u64,
    ) -> Result<()> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "INSERT INTO actions (key, action_id, session_id, created_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (key) DO UPDATE SET action_id = excluded.action_id,
                 session_id = COALESCE(excluded.session_id, session_id),
                 created_ms = excluded.created_ms",
        )?;
        stmt.execute(params![key, action_id, session_id, ms_to_sql(now_ms)])?;
        Ok(())
    }

    pub fn action_for(&self, key: &str) -> Result<Option<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached("SELECT action_id FROM actions WHERE key = ?1")?;
        Ok(stmt.query_row([key], |r| r.get(0)).optional()?)
    }

    /// `(key, action_id)` of a session's actions mapped at or after `since_ms`, in the order
    /// they were first mapped (for Stop attribution).
    pub fn session_actions(
        &self,
        session_id: &str,
        since_ms: u64,
    ) -> Result<Vec<(String, String)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT key, action_id FROM actions WHERE session_id = ?1 AND created_ms >= ?2
             ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![session_id, ms_to_sql(since_ms)], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Cleanup: forgets action mappings last mapped before `ms`, and the remembered dedupe keys
    /// of delivered items created before `ms`. Returns how many rows went.
    pub fn forget_before(&self, ms: u64) -> Result<usize> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut n = tx.execute("DELETE FROM actions WHERE created_ms < ?1", [ms_to_sql(ms)])?;
        n += tx.execute(
            "DELETE FROM delivered WHERE created_ms < ?1",
            [ms_to_sql(ms)],
        )?;
        tx.commit()?;
        Ok(n)
    }

    /// Items waiting out a retry backoff become due at `now_ms`: a different server now takes
    /// them (config.toml changed `[server]`), the old one's failures say nothing about it.
    /// Items that never failed keep their `not_before`.
    pub fn retry_now(&self, now_ms: u64) -> Result<usize> {
        Ok(self.conn().execute(
            "UPDATE outbox SET next_attempt_ms = ?1 WHERE attempts > 0 AND next_attempt_ms > ?1",
            [ms_to_sql(now_ms)],
        )?)
    }
}

/// The id of a pending, delivered or parked item with this dedupe key.
fn known_key(conn: &Connection, key: &str) -> rusqlite::Result<Option<i64>> {
    conn.query_row(
        "SELECT id FROM outbox WHERE dedupe_key = ?1
         UNION ALL SELECT id FROM delivered WHERE dedupe_key = ?1
         UNION ALL SELECT id FROM dead WHERE dedupe_key = ?1
         LIMIT 1",
        [key],
        |r| r.get(0),
    )
    .optional()
}

/// Deletes the oldest items other than `keep` until the payload total is within `budget`.
fn enforce_budget(conn: &Connection, keep: i64, budget: i64) -> Result<Vec<Dropped>> {
    let mut total: i64 = conn.query_row("SELECT bytes FROM totals", [], |r| r.get(0))?;
    if total <= budget {
        return Ok(Vec::new());
    }
    let mut dropped = Vec::new();
    {
        let mut stmt = conn.prepare_cached(
            "SELECT id, kind, dedupe_key, grp, bytes, created_ms FROM outbox
             WHERE id != ?1 ORDER BY id",
        )?;
        let mut rows = stmt.query([keep])?;
        while total > budget {
            let Some(r) = rows.next()? else { break };
            let kind: String = r.get(1)?;
            let dedupe_key: Option<String> = r.get(2)?;
            let bytes: i64 = r.get(4)?;
            total -= bytes;
            dropped.push(Dropped {
                id: r.get(0)?,
                summary: match &dedupe_key {
                    Some(key) => format!("{kind} {key}"),
                    None => format!("{kind} (no key)"),
                },
                kind,
                dedupe_key,
                group: r.get(3)?,
                bytes: bytes.max(0) as u64,
                created_ms: ms_from_sql(r.get(5)?),
            });
        }
    }
    // Deleted after the scan: changing a table while a statement walks it is undefined order.
    let mut delete = conn.prepare_cached("DELETE FROM outbox WHERE id = ?1")?;
    for d in &dropped {
        delete.execute([d.id])?;
    }
    Ok(dropped)
}

/// An item with its payload still as stored text.
fn item_from_row(r: &Row<'_>) -> rusqlite::Result<(Item, String)> {
    Ok((
        Item {
            id: r.get(0)?,
            kind: r.get(1)?,
            dedupe_key: r.get(2)?,
            group: r.get(3)?,
            payload: Value::Null,
            attempts: r.get(5)?,
            created_ms: ms_from_sql(r.get(6)?),
            next_attempt_ms: ms_from_sql(r.get(7)?),
            last_error: r.get(8)?,
        },
        r.get(4)?,
    ))
}

fn with_payload(mut item: Item, json: &str) -> Result<Item> {
    item.payload = serde_json::from_str(json)
        .with_context(|| format!("outbox item {} is not valid JSON", item.id))?;
    Ok(item)
}

fn cut_error(error: &str) -> &str {
    crate::util::text::clip_chars(error, ERROR_MAX_CHARS)
}

// SQLite integers are i64; times past year 292 million are clamped rather than wrapped.
fn ms_to_sql(ms: u64) -> i64 {
    ms.min(i64::MAX as u64) as i64
}

fn ms_from_sql(ms: i64) -> u64 {
    ms.max(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T0: u64 = 1_700_000_000_000;

    fn store() -> (tempfile::TempDir, Outbox) {
        let dir = tempfile::tempdir().unwrap();
        let o = Outbox::open(&dir.path().join(FILE_NAME), SyncMode::Normal).unwrap();
        (dir, o)
    }

    fn item(kind: &str, key: Option<&str>, group: Option<&str>) -> NewItem {
        NewItem {
            kind: kind.into(),
            dedupe_key: key.map(Into::into),
            payload: json!({ "kind": kind, "key": key }),
            not_before_ms: T0,
            group: group.map(Into::into),
        }
    }

    fn ids(items: &[Item]) -> Vec<i64> {
        items.iter().map(|i| i.id).collect()
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Outbox>();
    }

    #[test]
    fn items_round_trip_compact() {
        let (_d, o) = store();
        let mut new = item("outcome", Some("tu_1"), Some("act_1"));
        new.payload = json!({ "status": "ok", "nested": { "a": [1, 2] } });
        let e = o.enqueue(new.clone(), T0).unwrap();
        assert!(e.created);
        let due = o.due(T0, 10).unwrap();
        assert_eq!(
            due,
            vec![Item {
                id: e.id,
                kind: "outcome".into(),
                dedupe_key: Some("tu_1".into()),
                group: Some("act_1".into()),
                payload: new.payload.clone(),
                attempts: 0,
                created_ms: T0,
                next_attempt_ms: T0,
                last_error: None,
            }]
        );
        let bytes = o.stats().unwrap().pending_bytes;
        assert_eq!(
            bytes,
            r#"{"status":"ok","nested":{"a":[1,2]}}"#.len() as u64
        );
    }

    #[test]
    fn a_dedupe_key_is_stored_once_even_after_delivery_or_parking() {
        let (_d, o) = store();
        let first = o.enqueue(item("outcome", Some("k1"), None), T0).unwrap();
        let again = o
            .enqueue(item("outcome", Some("k1"), None), T0 + 5)
            .unwrap();
        assert_eq!((again.id, again.created), (first.id, false));
        assert_eq!(o.stats().unwrap().pending, 1);
        // Items without a key are never deduplicated.
        let a = o.enqueue(item("heartbeat", None, None), T0).unwrap();
        let b = o.enqueue(item("heartbeat", None, None), T0).unwrap();
        assert!(a.created && b.created && a.id != b.id);

        // A replay after delivery is still a no-op...
        assert!(o.complete(first.id).unwrap());
        let late = o
            .enqueue(item("outcome", Some("k1"), None), T0 + 9)
            .unwrap();
        assert_eq!((late.id, late.created), (first.id, false));
        // ...and so is one after the server refused it for good.
        let p = o.enqueue(item("stop", Some("k2"), None), T0).unwrap();
        assert!(o.park(p.id, "400 bad request").unwrap());
        let again = o.enqueue(item("stop", Some("k2"), None), T0).unwrap();
        assert_eq!((again.id, again.created), (p.id, false));
        // Once forgotten, the key may be queued again.
        assert_eq!(o.forget_before(T0 + 1).unwrap(), 1);
        assert!(
            o.enqueue(item("outcome", Some("k1"), None), T0)
                .unwrap()
                .created
        );
    }

    #[test]
    fn a_group_is_delivered_in_order_and_a_failing_head_blocks_only_its_group() {
        let (_d, o) = store();
        let a1 = o.enqueue(item("outcome", None, Some("a")), T0).unwrap().id;
        let b1 = o.enqueue(item("outcome", None, Some("b")), T0).unwrap().id;
        let a2 = o.enqueue(item("outcome", None, Some("a")), T0).unwrap().id;
        let free = o.enqueue(item("heartbeat", None, None), T0).unwrap().id;
        let b2 = o.enqueue(item("outcome", None, Some("b")), T0).unwrap().id;
        assert_eq!(ids(&o.due(T0, 10).unwrap()), vec![a1, b1, free]);
        assert_eq!(ids(&o.due(T0, 2).unwrap()), vec![a1, b1]);

        // a's head fails and is rescheduled: a2 must wait behind it; b and free go on.
        assert!(o.retry(a1, T0 + 60_000, "503").unwrap());
        assert!(o.complete(b1).unwrap());
        assert!(o.complete(free).unwrap());
        assert_eq!(ids(&o.due(T0 + 1, 10).unwrap()), vec![b2]);
        assert_eq!(o.next_due_ms().unwrap(), Some(T0));
        assert!(o.complete(b2).unwrap());
        assert_eq!(o.due(T0 + 1, 10).unwrap(), vec![]);
        // a2 was due long ago but is not the head, so the loop sleeps until a1's retry.
        assert_eq!(o.next_due_ms().unwrap(), Some(T0 + 60_000));
        assert_eq!(ids(&o.due(T0 + 60_000, 10).unwrap()), vec![a1]);
        assert!(o.complete(a1).unwrap());
        assert_eq!(ids(&o.due(T0 + 60_000, 10).unwrap()), vec![a2]);
        assert!(o.complete(a2).unwrap());
        assert_eq!(o.next_due_ms().unwrap(), None);
    }

    #[test]
    fn not_before_delays_delivery() {
        let (_d, o) = store();
        let mut later = item("ingest", None, None);
        later.not_before_ms = T0 + 5_000;
        let id = o.enqueue(later, T0).unwrap().id;
        assert_eq!(o.due(T0 + 4_999, 10).unwrap(), vec![]);
        assert_eq!(o.next_due_ms().unwrap(), Some(T0 + 5_000));
        assert_eq!(ids(&o.due(T0 + 5_000, 10).unwrap()), vec![id]);
    }

    #[test]
    fn retry_counts_the_attempt_and_schedules_later() {
        let (_d, o) = store();
        let id = o.enqueue(item("outcome", None, None), T0).unwrap().id;
        assert!(o.retry(id, T0 + 1_000, "connection refused").unwrap());
        assert_eq!(o.due(T0 + 999, 10).unwrap(), vec![]);
        let long = "é".repeat(ERROR_MAX_CHARS + 20);
        assert!(o.retry(id, T0 + 3_000, &long).unwrap());
        let due = o.due(T0 + 3_000, 10).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].attempts, 2);
        assert_eq!(due[0].next_attempt_ms, T0 + 3_000);
        let err = due[0].last_error.as_deref().unwrap();
        assert_eq!(err.chars().count(), ERROR_MAX_CHARS);
        // Gone items answer false rather than erroring: the budget may have dropped them.
        assert!(o.complete(id).unwrap());
        assert!(!o.retry(id, T0, "x").unwrap());
        assert!(!o.complete(id).unwrap());
        assert!(!o.park(id, "x").unwrap());
    }

    #[test]
    fn park_moves_to_dead_unblocks_the_group_and_keeps_the_newest() {
        let (_d, o) = store();
        let head = o
            .enqueue(item("orphan", Some("o1"), Some("g")), T0)
            .unwrap()
            .id;
        let next = o
            .enqueue(item("orphan", Some("o2"), Some("g")), T0)
            .unwrap()
            .id;
        o.retry(head, T0, "timeout").unwrap();
        assert!(o.park(head, "400: unknown action").unwrap());
        assert_eq!(ids(&o.due(T0, 10).unwrap()), vec![next]);
        let dead = o.dead_items(10).unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].id, head);
        assert_eq!(dead[0].kind, "orphan");
        assert_eq!(dead[0].dedupe_key.as_deref(), Some("o1"));
        assert_eq!(dead[0].group.as_deref(), Some("g"));
        assert_eq!(dead[0].payload, json!({ "kind": "orphan", "key": "o1" }));
        assert_eq!(dead[0].attempts, 2);
        assert_eq!(dead[0].error, "400: unknown action");
        let s = o.stats().unwrap();
        assert_eq!((s.pending, s.dead), (1, 1));

        for _ in 0..DEAD_KEEP + 5 {
            let id = o.enqueue(item("heartbeat", None, None), T0).unwrap().id;
            o.park(id, "bad").unwrap();
        }
        assert_eq!(o.stats().unwrap().dead, DEAD_KEEP as u64);
        let dead = o.dead_items(usize::MAX).unwrap();
        assert_eq!(dead.len(), DEAD_KEEP as usize);
        // Newest first, and the oldest (the orphan) is among those deleted.
        assert!(dead[0].id > dead[1].id);
        assert!(dead.iter().all(|d| d.id != head));
    }

    #[test]
    fn over_budget_the_oldest_go_and_are_reported_exactly() {
        let (_d, o) = store();
        let sized = |key: &str, group: Option<&str>| NewItem {
            kind: "ingest".into(),
            dedupe_key: Some(key.into()),
            // 100 bytes of compact JSON: {"p":"<92 x>"}
            payload: json!({ "p": "x".repeat(92) }),
            not_before_ms: T0,
            group: group.map(Into::into),
        };
        o.set_budget(350);
        let a = o.enqueue(sized("a", Some("s1")), T0).unwrap();
        let b = o.enqueue(sized("b", None), T0 + 1).unwrap();
        let c = o.enqueue(sized("c", Some("s1")), T0 + 2).unwrap();
        assert!(a.dropped.is_empty() && b.dropped.is_empty() && c.dropped.is_empty());
        assert_eq!(o.stats().unwrap().pending_bytes, 300);

        let d = o.enqueue(sized("d", None), T0 + 3).unwrap();
        assert_eq!(
            d.dropped,
            vec![Dropped {
                id: a.id,
                kind: "ingest".into(),
                dedupe_key: Some("a".into()),
                group: Some("s1".into()),
                bytes: 100,
                created_ms: T0,
                summary: "ingest a".into(),
            }]
        );
        assert_eq!(o.stats().unwrap().pending_bytes, 300);
        // The group's next item became its head.
        assert_eq!(ids(&o.due(T0 + 3, 10).unwrap()), vec![b.id, c.id, d.id]);

        // An item bigger than the budget is still kept; everything older goes, oldest first.
        let mut huge = sized("e", None);
        huge.payload = json!({ "p": "x".repeat(992) });
        let e = o.enqueue(huge, T0 + 4).unwrap();
        assert_eq!(
            e.dropped.iter().map(|d| d.id).collect::<Vec<_>>(),
            vec![b.id, c.id, d.id]
        );
        assert_eq!(e.dropped[1].summary, "ingest c");
        let s = o.stats().unwrap();
        assert_eq!((s.pending, s.pending_bytes), (1, 1000));
        assert_eq!(ids(&o.due(T0 + 4, 10).unwrap()), vec![e.id]);

        // The next insert pushes that one out in turn.
        let f = o.enqueue(item("heartbeat", None, None), T0).unwrap();
        assert_eq!(f.dropped.len(), 1);
        assert_eq!(
            (f.dropped[0].id, f.dropped[0].summary.as_str()),
            (e.id, "ingest e")
        );
        // A smaller budget applies from the next enqueue.
        o.set_budget(10);
        let g = o.enqueue(item("heartbeat", None, None), T0).unwrap();
        assert_eq!(g.dropped.len(), 1);
        assert_eq!(
            (g.dropped[0].id, g.dropped[0].summary.as_str()),
            (f.id, "heartbeat (no key)")
        );

        // Ids are never reused, even of the newest item: a late `complete` for a dropped or
        // delivered id cannot hit a newer item.
        o.set_budget(DEFAULT_BUDGET);
        assert!(o.complete(g.id).unwrap());
        assert!(o.enqueue(item("heartbeat", None, None), T0).unwrap().id > g.id);
    }

    #[test]
    fn stats_count_by_kind_and_track_the_oldest() {
        let (_d, o) = store();
        assert_eq!(o.stats().unwrap(), OutboxStats::default());
        o.enqueue(item("outcome", Some("1"), None), T0 + 10)
            .unwrap();
        let hb = o.enqueue(item("heartbeat", None, None), T0 + 5).unwrap().id;
        o.enqueue(item("outcome", Some("2"), None), T0 + 20)
            .unwrap();
        let stop = o.enqueue(item("stop", None, None), T0 + 30).unwrap().id;
        o.park(stop, "nope").unwrap();
        let s = o.stats().unwrap();
        assert_eq!(s.pending, 3);
        assert_eq!(s.dead, 1);
        assert_eq!(s.oldest_created_ms, Some(T0 + 5));
        assert_eq!(
            s.by_kind,
            BTreeMap::from([("heartbeat".into(), 1), ("outcome".into(), 2)])
        );
        let expected: i64 = o
            .conn()
            .query_row("SELECT SUM(bytes) FROM outbox", [], |r| r.get(0))
            .unwrap();
        assert_eq!(s.pending_bytes, expected as u64);
        o.complete(hb).unwrap();
        assert_eq!(o.stats().unwrap().oldest_created_ms, Some(T0 + 10));
    }

    #[test]
    fn action_mapping() {
        let (_d, o) = store();
        assert_eq!(o.action_for("tu_1").unwrap(), None);
        o.map_action("tu_2", "act_b", Some("s1"), T0).unwrap();
        o.map_action("tu_1", "act_a", Some("s1"), T0 + 1).unwrap();
        o.map_action("local:9", "act_c", None, T0 + 2).unwrap();
        o.map_action("tu_3", "act_d", Some("s2"), T0 + 3).unwrap();
        o.map_action("tu_4", "act_e", Some("s1"), T0 + 10).unwrap();
        assert_eq!(o.action_for("tu_1").unwrap().as_deref(), Some("act_a"));
        assert_eq!(o.action_for("local:9").unwrap().as_deref(), Some("act_c"));
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            o.session_actions("s1", 0).unwrap(),
            pairs(&[("tu_2", "act_b"), ("tu_1", "act_a"), ("tu_4", "act_e")])
        );
        assert_eq!(
            o.session_actions("s1", T0 + 1).unwrap(),
            pairs(&[("tu_1", "act_a"), ("tu_4", "act_e")])
        );
        // Re-mapping replaces the id, keeps the order and the session.
        o.map_action("tu_2", "act_b2", None, T0 + 11).unwrap();
        assert_eq!(
            o.session_actions("s1", 0).unwrap(),
            pairs(&[("tu_2", "act_b2"), ("tu_1", "act_a"), ("tu_4", "act_e")])
        );
        assert_eq!(o.forget_before(T0 + 3).unwrap(), 2);
        assert_eq!(o.action_for("tu_1").unwrap(), None);
        assert_eq!(o.action_for("local:9").unwrap(), None);
        assert_eq!(o.action_for("tu_3").unwrap().as_deref(), Some("act_d"));
        assert_eq!(
            o.session_actions("s1", 0).unwrap(),
            pairs(&[("tu_2", "act_b2"), ("tu_4", "act_e")])
        );
    }

    #[test]
    fn the_file_is_private_and_survives_an_unclosed_process() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let o = Outbox::open(&path, SyncMode::Normal).unwrap();
        let a = o
            .enqueue(item("outcome", Some("k"), Some("g")), T0)
            .unwrap()
            .id;
        let b = o.enqueue(item("heartbeat", None, None), T0).unwrap().id;
        o.retry(a, T0 + 7, "boom").unwrap();
        o.map_action("tu", "act", Some("s"), T0).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // No close, no checkpoint: what is on disk is the WAL as a killed process leaves it.
        std::mem::forget(o);
        let o = Outbox::open(&path, SyncMode::Full).unwrap();
        let due = o.due(T0 + 7, 10).unwrap();
        assert_eq!(ids(&due), vec![a, b]);
        assert_eq!(due[0].attempts, 1);
        assert_eq!(due[0].last_error.as_deref(), Some("boom"));
        assert_eq!(o.action_for("tu").unwrap().as_deref(), Some("act"));
        assert!(
            !o.enqueue(item("outcome", Some("k"), None), T0)
                .unwrap()
                .created
        );
    }

    /// Child half of `survives_kill_9`: enqueues, reports each id after `enqueue` returned, then
    /// SIGKILLs itself. Does nothing unless the parent set the variable.
    #[test]
    #[ignore = "run by survives_kill_9 in a child process"]
    fn kill_9_child() {
        let Some(path) = std::env::var_os("DASHCLAW_OUTBOX_KILL_TEST") else {
            return;
        };
        let o = Outbox::open(Path::new(&path), SyncMode::Normal).unwrap();
        for i in 0..20 {
            let id = o
                .enqueue(item("outcome", Some(&format!("k{i}")), Some("g")), T0)
                .unwrap()
                .id;
            println!("enqueued {id}");
        }
        unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    }

    #[test]
    fn survives_kill_9() {
        use std::os::unix::process::ExitStatusExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "outbox::tests::kill_9_child",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("DASHCLAW_OUTBOX_KILL_TEST", &path)
            .output()
            .unwrap();
        assert_eq!(out.status.signal(), Some(libc::SIGKILL), "{out:?}");
        let acked: Vec<i64> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split("enqueued ").nth(1))
            .map(|id| id.trim().parse().unwrap())
            .collect();
        assert_eq!(acked.len(), 20, "{out:?}");
        let o = Outbox::open(&path, SyncMode::Normal).unwrap();
        let mut found = Vec::new();
        // One group: drain it in order.
        while let Some(head) = o.due(T0, 1).unwrap().pop() {
            found.push(head.id);
            o.complete(head.id).unwrap();
        }
        assert_eq!(found, acked);
    }

    #[test]
    fn another_connection_sees_committed_items() {
        let (dir, o) = store();
        let id = o
            .enqueue(item("assumption", Some("as1"), None), T0)
            .unwrap()
            .id;
        let path = dir.path().join(FILE_NAME);
        let seen = std::thread::spawn(move || {
            let other = Outbox::open(&path, SyncMode::Normal).unwrap();
            let due = ids(&other.due(T0, 10).unwrap());
            // And the other way round: its write is the same key, so it dedupes.
            let again = other
                .enqueue(item("assumption", Some("as1"), None), T0)
                .unwrap();
            (due, again.id, again.created)
        })
        .join()
        .unwrap();
        assert_eq!(seen, (vec![id], id, false));
        assert_eq!(o.stats().unwrap().pending, 1);
    }

    #[test]
    fn an_empty_file_is_migrated_and_a_newer_schema_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, b"").unwrap();
        let o = Outbox::open(&path, SyncMode::Normal).unwrap();
        let v: i64 = o
            .conn()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
        o.enqueue(item("heartbeat", None, None), T0).unwrap();
        drop(o);
        // Reopening at the current version migrates nothing and keeps the data.
        let o = Outbox::open(&path, SyncMode::Normal).unwrap();
        assert_eq!(o.stats().unwrap().pending, 1);
        o.conn().pragma_update(None, "user_version", 99).unwrap();
        drop(o);
        let err = format!("{:#}", Outbox::open(&path, SyncMode::Normal).err().unwrap());
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("newer dashclawd"), "{err}");
    }

    #[test]
    fn a_file_that_is_not_sqlite_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        let err = format!("{:#}", Outbox::open(&path, SyncMode::Normal).err().unwrap());
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("not a database"), "{err}");
        // A missing parent directory is reported, not created.
        let missing = dir.path().join("no/such/dir").join(FILE_NAME);
        let err = format!(
            "{:#}",
            Outbox::open(&missing, SyncMode::Normal).err().unwrap()
        );
        assert!(err.contains(&missing.display().to_string()), "{err}");
    }

    #[test]
    fn a_full_disk_is_an_error_not_a_panic() {
        let (_d, o) = store();
        o.enqueue(item("heartbeat", None, None), T0).unwrap();
        // SQLite's page limit returns the same SQLITE_FULL as a full disk.
        let pages: i64 = o
            .conn()
            .pragma_query_value(None, "page_count", |r| r.get(0))
            .unwrap();
        o.conn()
            .pragma_update(None, "max_page_count", pages + 1)
            .unwrap();
        let mut big = item("ingest", Some("big"), None);
        big.payload = json!({ "p": "x".repeat(256 * 1024) });
        let err = format!("{:#}", o.enqueue(big.clone(), T0).err().unwrap());
        assert!(err.contains("is full"), "{err}");
        assert!(err.contains("ingest"), "{err}");
        assert!(err.contains(FILE_NAME), "{err}");
        // Nothing half-written, and the store works again once there is room.
        assert_eq!(o.stats().unwrap().pending, 1);
        o.conn()
            .pragma_update(None, "max_page_count", 1_073_741_823)
            .unwrap();
        assert!(o.enqueue(big, T0).unwrap().created);
        assert_eq!(o.stats().unwrap().pending, 2);
    }
}
