//! The local audit ledger: every decision and every outcome, hash-chained, in SQLite.
//!
//! Why SQLite (WAL): a committed transaction survives a `kill -9` of the daemon at any instant
//! (the WAL is written before the commit returns), torn writes are the library's problem rather
//! than ours, concurrent readers (`dashclawd log --follow`) never block the writer, and later
//! features (outbox, approvals) share the same durable store. `synchronous=NORMAL` keeps commits
//! off fsync: process crashes lose nothing; only a power loss may drop the last commits, and
//! `ledger_sync = "full"` in the config closes that gap at the cost of one fsync per batch.
//!
//! One writer thread owns the connection and commits whatever has queued up in one transaction
//! (group commit), so throughput scales with load while each record is acknowledged only after
//! its commit. Each row stores the record's canonical JSON and
//! `hash = sha256(prev_hash || "\n" || record)`, so an edited, inserted or deleted row breaks the
//! chain for `dashclawd log verify`.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const MAX_BATCH: usize = 512;

/// One ledger entry before it is stored. All free text must already be redacted.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// The hook invocation id; a replayed (spooled) duplicate is stored once.
    pub event_id: String,
    pub agent: String,
    pub event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// What was asked, for humans (`Bash: ls -la`), secret-free.
    pub summary: String,
    /// Only on gating events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
    /// False in observe mode: the verdict was reported, not applied.
    pub enforced: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub risk_score: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Outcome fields of post-tool-use and friends (status, duration), secret-free.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub outcome: Value,
    /// Client start to request received by the daemon, in microseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_us: Option<u64>,
    /// Request received to decision ready, in microseconds.
    pub daemon_us: u64,
    /// Replayed from the client spool after the daemon was unreachable.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub spooled: bool,
}

/// A stored record with its position in the chain.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub seq: i64,
    pub ts: String,
    #[serde(flatten)]
    pub record: Record,
    pub prev_hash: String,
    pub hash: String,
}

/// Hashes what is stored for `seq`: everything but the hashes themselves.
fn chain_hash(prev: &str, seq: i64, ts: &str, record_json: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(b"\n");
    h.update(seq.to_string().as_bytes());
    h.update(b"\n");
    h.update(ts.as_bytes());
    h.update(b"\n");
    h.update(record_json.as_bytes());
    hex::encode(h.finalize())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    #[default]
    Normal,
    Full,
}

pub fn open(path: &Path, sync: SyncMode) -> Result<Connection> {
    // Created private before SQLite opens it: the ledger describes everything the agent did.
    if !path.exists() {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .with_context(|| format!("creating ledger {}", path.display()))?;
    }
    let conn =
        Connection::open(path).with_context(|| format!("opening ledger {}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(
        None,
        "synchronous",
        match sync {
            SyncMode::Normal => "NORMAL",
            SyncMode::Full => "FULL",
        },
    )?;
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS ledger (
            seq       INTEGER PRIMARY KEY,
            ts        TEXT NOT NULL,
            event_id  TEXT NOT NULL UNIQUE,
            record    TEXT NOT NULL,
            prev_hash TEXT NOT NULL,
            hash      TEXT NOT NULL
        );",
    )
    .context("creating the ledger schema")?;
    Ok(conn)
}

/// Opens the ledger for reading without creating it.
pub fn open_read_only(path: &Path) -> Result<Connection> {
    if !path.exists() {
        anyhow::bail!(
            "no ledger at {} yet (the daemon creates it on first use)",
            path.display()
        );
    }
    let conn = Connection::open_with_flags(
        path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .with_context(|| format!("opening ledger {}", path.display()))?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(conn)
}

type Reply = oneshot::Sender<Result<i64, String>>;

/// Handle to the writer thread. Cheap to clone.
#[derive(Clone)]
pub struct Ledger {
    tx: mpsc::Sender<(Record, Reply)>,
    pub path: PathBuf,
}

impl Ledger {
    pub fn start(path: &Path, sync: SyncMode) -> Result<Ledger> {
        let conn = open(path, sync)?;
        let (tx, rx) = mpsc::channel::<(Record, Reply)>();
        std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || writer(conn, rx))
            .context("starting the ledger writer")?;
        Ok(Ledger {
            tx,
            path: path.to_path_buf(),
        })
    }

    /// Appends a record and waits until it is committed. Returns its sequence number (the
    /// existing one when the event id was already recorded).
    pub async fn append(&self, record: Record) -> Result<i64> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send((record, reply))
            .map_err(|_| anyhow::anyhow!("the ledger writer has stopped"))?;
        rx.await
            .map_err(|_| anyhow::anyhow!("the ledger writer has stopped"))?
            .map_err(|e| anyhow::anyhow!("ledger write failed: {e}"))
    }

    /// Blocking variant for synchronous callers (spool drain at start-up).
    pub fn append_blocking(&self, record: Record) -> Result<i64> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send((record, reply))
            .map_err(|_| anyhow::anyhow!("the ledger writer has stopped"))?;
        rx.blocking_recv()
            .map_err(|_| anyhow::anyhow!("the ledger writer has stopped"))?
            .map_err(|e| anyhow::anyhow!("ledger write failed: {e}"))
    }
}

fn writer(mut conn: Connection, rx: mpsc::Receiver<(Record, Reply)>) {
    let mut head = match head(&conn) {
        Ok(h) => h,
        Err(e) => {
            tracing::error!("cannot read the ledger head: {e:#}");
            // Refuse every write rather than fork the chain.
            for (_, reply) in rx {
                let _ = reply.send(Err(format!("ledger unreadable: {e:#}")));
            }
            return;
        }
    };
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let before = head.clone();
        match commit_batch(&mut conn, &mut head, &batch) {
            Ok(seqs) => {
                for ((_, reply), seq) in batch.into_iter().zip(seqs) {
                    let _ = reply.send(Ok(seq));
                }
            }
            Err(e) => {
                head = before;
                tracing::error!("ledger commit failed: {e:#}");
                for (_, reply) in batch {
                    let _ = reply.send(Err(format!("{e:#}")));
                }
            }
        }
    }
}

fn head(conn: &Connection) -> Result<(i64, String)> {
    Ok(conn
        .query_row(
            "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, GENESIS.to_string())))
}

fn commit_batch(
    conn: &mut Connection,
    head: &mut (i64, String),
    batch: &[(Record, Reply)],
) -> Result<Vec<i64>> {
    let tx = conn.transaction()?;
    let mut seqs = Vec::with_capacity(batch.len());
    {
        let mut existing = tx.prepare_cached("SELECT seq FROM ledger WHERE event_id = ?1")?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO ledger (seq, ts, event_id, record, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for (record, _) in batch {
            if let Some(seq) = existing
                .query_row([&record.event_id], |r| r.get::<_, i64>(0))
                .optional()?
            {
                seqs.push(seq);
                continue;
            }
            let seq = head.0 + 1;
            let ts = humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string();
            let json = serde_json::to_string(record)?;
            let hash = chain_hash(&head.1, seq, &ts, &json);
            insert.execute(params![seq, ts, record.event_id, json, head.1, hash])?;
            *head = (seq, hash);
            seqs.push(seq);
        }
    }
    tx.commit()?;
    Ok(seqs)
}

/// Reads entries with `seq > after`, oldest first, at most `limit`.
pub fn read_after(conn: &Connection, after: i64, limit: i64) -> Result<Vec<Entry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, ts, record, prev_hash, hash FROM ledger WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, ts, json, prev_hash, hash) = row?;
        let record: Record = serde_json::from_str(&json)
            .with_context(|| format!("ledger record {seq} is not valid JSON"))?;
        out.push(Entry {
            seq,
            ts,
            record,
            prev_hash,
            hash,
        });
    }
    Ok(out)
}

/// The sequence number of the newest entry (0 when empty).
pub fn last_seq(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM ledger", [], |r| r.get(0))?)
}

/// Result of checking the whole chain.
#[derive(Debug, PartialEq, Eq)]
pub enum Verification {
    Intact { records: i64, head: String },
    Broken { seq: i64, problem: String },
}

/// Recomputes every hash from the stored bytes, in order, streaming.
pub fn verify(conn: &Connection) -> Result<Verification> {
    let mut stmt =
        conn.prepare("SELECT seq, ts, record, prev_hash, hash FROM ledger ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1i64;
    let mut count = 0i64;
    while let Some(r) = rows.next()? {
        let seq: i64 = r.get(0)?;
        let ts: String = r.get(1)?;
        let json: String = r.get(2)?;
        let prev_hash: String = r.get(3)?;
        let hash: String = r.get(4)?;
        if seq != expected_seq {
            return Ok(Verification::Broken {
                seq,
                problem: format!(
                    "expected record {expected_seq}, found {seq} (a record was deleted)"
                ),
            });
        }
        if prev_hash != prev {
            return Ok(Verification::Broken {
                seq,
                problem: "prev_hash does not match the previous record's hash".into(),
            });
        }
        if chain_hash(&prev, seq, &ts, &json) != hash {
            return Ok(Verification::Broken {
                seq,
                problem: "content does not match its hash (the record was altered)".into(),
            });
        }
        prev = hash;
        expected_seq += 1;
        count += 1;
    }
    Ok(Verification::Intact {
        records: count,
        head: prev,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(id: &str) -> Record {
        Record {
            event_id: id.into(),
            agent: "claude".into(),
            event: "pre-tool-use".into(),
            summary: format!("Bash: echo {id}"),
            verdict: Some("allow".into()),
            enforced: true,
            daemon_us: 12,
            ..Record::default()
        }
    }

    #[test]
    fn appends_chain_and_dedupe() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let ledger = Ledger::start(&path, SyncMode::Normal).unwrap();
        assert_eq!(ledger.append_blocking(rec("a")).unwrap(), 1);
        assert_eq!(ledger.append_blocking(rec("b")).unwrap(), 2);
        // A replay of an event already recorded returns its seq and adds nothing.
        assert_eq!(ledger.append_blocking(rec("a")).unwrap(), 1);
        let conn = open_read_only(&path).unwrap();
        let entries = read_after(&conn, 0, 10).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].prev_hash, GENESIS);
        assert_eq!(entries[1].prev_hash, entries[0].hash);
        assert_eq!(entries[1].record, rec("b"));
        assert!(matches!(
            verify(&conn).unwrap(),
            Verification::Intact { records: 2, .. }
        ));
    }

    #[test]
    fn the_chain_continues_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        Ledger::start(&path, SyncMode::Normal)
            .unwrap()
            .append_blocking(rec("a"))
            .unwrap();
        let again = Ledger::start(&path, SyncMode::Full).unwrap();
        assert_eq!(again.append_blocking(rec("b")).unwrap(), 2);
        let conn = open_read_only(&path).unwrap();
        assert!(matches!(
            verify(&conn).unwrap(),
            Verification::Intact { records: 2, .. }
        ));
    }

    #[test]
    fn verify_finds_edits_and_deletions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let ledger = Ledger::start(&path, SyncMode::Normal).unwrap();
        for id in ["a", "b", "c"] {
            ledger.append_blocking(rec(id)).unwrap();
        }
        let conn = Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE ledger SET record = replace(record, 'allow', 'block') WHERE seq = 2",
            [],
        )
        .unwrap();
        assert!(matches!(
            verify(&conn).unwrap(),
            Verification::Broken { seq: 2, .. }
        ));
        conn.execute(
            "UPDATE ledger SET record = replace(record, 'block', 'allow') WHERE seq = 2",
            [],
        )
        .unwrap();
        conn.execute("DELETE FROM ledger WHERE seq = 2", [])
            .unwrap();
        assert!(matches!(
            verify(&conn).unwrap(),
            Verification::Broken { seq: 3, .. }
        ));
    }
}
