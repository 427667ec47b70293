//! Acknowledged transcript cursors, one per transcript file, in SQLite (`state/transcripts.db`).
//!
//! A cursor is stored only after the server acknowledged the lines before it, so a crash or a
//! failed upload resends rather than loses. The store is its own file (WAL, 0600) so that it
//! never contends with the ledger's writer thread. Paths are stored as raw bytes: a transcript
//! path need not be UTF-8.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use anyhow::{anyhow, Result};
use rusqlite::{params, Connection, OptionalExtension, Row};

use super::tail::Cursor;
use crate::event::Agent;

/// The store's schema (see [`crate::store`]).
pub const SCHEMA: crate::store::Schema = crate::store::Schema {
    name: "transcript cursor store",
    migrations: &[
        // 1. `IF NOT EXISTS`: files from before the shared helper already say version 1.
        "CREATE TABLE IF NOT EXISTS transcripts (
            path       BLOB PRIMARY KEY,
            session_id TEXT NOT NULL,
            agent      TEXT NOT NULL,
            offset     INTEGER NOT NULL,
            dev        INTEGER NOT NULL,
            ino        INTEGER NOT NULL,
            head       INTEGER NOT NULL,
            head_len   INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS transcripts_session ON transcripts (session_id);",
    ],
};

/// A stored cursor with the session it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub path: PathBuf,
    pub cursor: Cursor,
    pub session_id: String,
    pub agent: Agent,
    /// Unix seconds of the last `put`.
    pub updated_at: i64,
}

/// The cursor database; cheap to share (`&self` methods, one connection behind a mutex).
pub struct CursorStore {
    conn: Mutex<Connection>,
}

impl CursorStore {
    /// Opens (creating, private) the database at `path`.
    pub fn open(path: &Path) -> Result<CursorStore> {
        let conn = crate::store::open(path, &SCHEMA, crate::store::SyncMode::Normal)?;
        Ok(CursorStore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The acknowledged cursor of `path`, if any.
    pub fn get(&self, path: &Path) -> Result<Option<Stored>> {
        self.conn()
            .query_row(
                "SELECT path, session_id, agent, offset, dev, ino, head, head_len, updated_at
                 FROM transcripts WHERE path = ?1",
                params![path.as_os_str().as_bytes()],
                from_row,
            )
            .optional()?
            .map(Raw::stored)
            .transpose()
    }

    /// Records that everything before `cursor` in `path` was acknowledged by the server.
    pub fn put(&self, path: &Path, cursor: &Cursor, session_id: &str, agent: Agent) -> Result<()> {
        self.conn().execute(
            "INSERT INTO transcripts
                (path, session_id, agent, offset, dev, ino, head, head_len, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (path) DO UPDATE SET
                session_id = excluded.session_id, agent = excluded.agent,
                offset = excluded.offset, dev = excluded.dev, ino = excluded.ino,
                head = excluded.head, head_len = excluded.head_len,
                updated_at = excluded.updated_at",
            params![
                path.as_os_str().as_bytes(),
                session_id,
                agent.as_str(),
                // SQLite integers are i64; the casts round-trip every u64 bit pattern.
                cursor.offset as i64,
                cursor.dev as i64,
                cursor.ino as i64,
                cursor.head as i64,
                i64::from(cursor.head_len),
                crate::approvals::unix_now(),
            ],
        )?;
        Ok(())
    }

    /// Every stored transcript, oldest update first (what to resume after a restart).
    pub fn sessions(&self) -> Result<Vec<Stored>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT path, session_id, agent, offset, dev, ino, head, head_len, updated_at
             FROM transcripts ORDER BY updated_at, rowid",
        )?;
        let rows = stmt.query_map([], from_row)?;
        rows.map(|r| r?.stored()).collect()
    }

    /// Forgets `path`; true if it was stored.
    pub fn remove(&self, path: &Path) -> Result<bool> {
        let n = self.conn().execute(
            "DELETE FROM transcripts WHERE path = ?1",
            params![path.as_os_str().as_bytes()],
        )?;
        Ok(n > 0)
    }
}

/// A row as stored, before the agent name is checked.
struct Raw {
    path: Vec<u8>,
    session_id: String,
    agent: String,
    cursor: Cursor,
    updated_at: i64,
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Raw> {
    Ok(Raw {
        path: row.get(0)?,
        session_id: row.get(1)?,
        agent: row.get(2)?,
        cursor: Cursor {
            offset: row.get::<_, i64>(3)? as u64,
            dev: row.get::<_, i64>(4)? as u64,
            ino: row.get::<_, i64>(5)? as u64,
            head: row.get::<_, i64>(6)? as u64,
            head_len: row.get::<_, i64>(7)? as u32,
        },
        updated_at: row.get(8)?,
    })
}

impl Raw {
    fn stored(self) -> Result<Stored> {
        let agent = Agent::parse(&self.agent)
            .ok_or_else(|| anyhow!("unknown agent {:?} in the transcripts store", self.agent))?;
        Ok(Stored {
            path: PathBuf::from(OsString::from_vec(self.path)),
            cursor: self.cursor,
            session_id: self.session_id,
            agent,
            updated_at: self.updated_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("transcripts.db");
        let store = CursorStore::open(&db).unwrap();
        assert_eq!(
            std::fs::metadata(&db).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let a = PathBuf::from("/home/u/.claude/projects/-w/s1.jsonl");
        let b = PathBuf::from(OsString::from_vec(b"/tmp/r\xffollout.jsonl".to_vec()));
        assert_eq!(store.get(&a).unwrap(), None);
        let c1 = Cursor {
            offset: 1234,
            dev: 2049,
            ino: u64::MAX - 1,
            head: 0xDEAD_BEEF_CAFE_F00D,
            head_len: 1234,
        };
        store.put(&a, &c1, "s1", Agent::Claude).unwrap();
        store
            .put(&b, &Cursor::default(), "s2", Agent::Codex)
            .unwrap();
        let got = store.get(&a).unwrap().unwrap();
        assert_eq!(
            (&got.path, got.cursor, &*got.session_id, got.agent),
            (&a, c1, "s1", Agent::Claude)
        );
        let c2 = Cursor {
            offset: 5000,
            head_len: 4096,
            ..c1
        };
        store.put(&a, &c2, "s1", Agent::Claude).unwrap();
        drop(store);

        let store = CursorStore::open(&db).unwrap();
        assert_eq!(store.get(&a).unwrap().unwrap().cursor, c2);
        let all = store.sessions().unwrap();
        assert_eq!(all.len(), 2);
        assert!(all.iter().any(|s| s.path == b && s.agent == Agent::Codex));
        assert!(store.remove(&a).unwrap());
        assert!(!store.remove(&a).unwrap());
        assert_eq!(store.get(&a).unwrap(), None);
        assert_eq!(store.sessions().unwrap().len(), 1);
    }
}
