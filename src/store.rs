//! One way to open the daemon's SQLite stores (ledger, outbox, approvals, transcript cursors):
//! created private, WAL, a busy timeout, the chosen `synchronous`, and a schema brought up to
//! date by numbered migrations, with typed errors that name the file.
//!
//! Why one helper: every store needs the same four things right (a file the agent's user cannot
//! read, waiting instead of failing on another process's lock, a schema an older binary refuses
//! rather than misreads, and a full disk told apart from other failures), and four copies had
//! already drifted (two had no migrations, one no `synchronous`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags, TransactionBehavior};
use serde::{Deserialize, Serialize};

/// How long a store waits for another process's lock before giving up (every SQLite store):
/// the daemon, its delivery loop and an admin command may write at once; they wait, not fail.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// `PRAGMA synchronous`: `Normal` keeps fsync off the commit (a process crash loses nothing,
/// a power loss may lose the last commits); `Full` fsyncs every commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    #[default]
    Normal,
    Full,
}

impl SyncMode {
    pub fn pragma(self) -> &'static str {
        match self {
            SyncMode::Normal => "NORMAL",
            SyncMode::Full => "FULL",
        }
    }
}

/// A store's schema: `migrations[i]` takes the file from version `i` to `i + 1`, and
/// `PRAGMA user_version` counts those applied. Append new ones; never edit one that shipped.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    /// What the store is, for messages ("the outbox").
    pub name: &'static str,
    pub migrations: &'static [&'static str],
}

impl Schema {
    pub fn version(&self) -> i64 {
        self.migrations.len() as i64
    }
}

/// Why a store could not be opened or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("creating {}: {source}", path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no {what} at {} yet (the daemon creates it on first use)", path.display())]
    Missing { what: &'static str, path: PathBuf },
    #[error("{} is not a database dashclawd can read (another kind of file, or damaged): {source}", path.display())]
    NotADatabase {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "{} was written by a newer dashclawd (schema {found}, this one knows {known}); upgrade \
         dashclawd", path.display()
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("the disk holding {} is full (or SQLite's size limit was reached): {source}", path.display())]
    DiskFull {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("migrating {} to schema version {version}: {source}", path.display())]
    Migrate {
        path: PathBuf,
        version: i64,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{what} {}: {source}", path.display())]
    Sqlite {
        /// What was being done ("opening", "switching to WAL").
        what: &'static str,
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
}

impl StoreError {
    /// Wraps an SQLite error, telling a full disk and a foreign file apart by their codes.
    pub fn sqlite(what: &'static str, path: &Path, source: rusqlite::Error) -> StoreError {
        let path = path.to_path_buf();
        match source.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::DiskFull { path, source },
            Some(ErrorCode::NotADatabase) => StoreError::NotADatabase { path, source },
            _ => StoreError::Sqlite { what, path, source },
        }
    }

    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::DiskFull { .. } => true,
            StoreError::Create { source, .. } => io_is_disk_full(source),
            StoreError::Migrate { source, .. } | StoreError::Sqlite { source, .. } => {
                sqlite_is_disk_full(source)
            }
            _ => false,
        }
    }
}

/// SQLITE_FULL: a full disk (SQLite maps ENOSPC to it) or the file's page limit.
pub fn sqlite_is_disk_full(e: &rusqlite::Error) -> bool {
    e.sqlite_error_code() == Some(ErrorCode::DiskFull)
}

fn io_is_disk_full(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOSPC) || e.kind() == std::io::ErrorKind::StorageFull
}

/// Whether anything in the error's chain is a full disk: SQLITE_FULL or ENOSPC, by code and
/// type, never by message text.
pub fn is_disk_full(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<StoreError>()
            .is_some_and(StoreError::is_disk_full)
            || c.downcast_ref::<rusqlite::Error>()
                .is_some_and(sqlite_is_disk_full)
            || c.downcast_ref::<std::io::Error>()
                .is_some_and(io_is_disk_full)
    })
}

/// Opens (creating it 0600 if needed) the store at `path` for reading and writing, and
/// migrates its schema. The parent directory must exist.
pub fn open(path: &Path, schema: &Schema, sync: SyncMode) -> Result<Connection, StoreError> {
    create_private(path)?;
    let mut conn = Connection::open(path).map_err(|e| StoreError::sqlite("opening", path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| StoreError::sqlite("opening", path, e))?;
    // The first statement that reads the file: a file that is not SQLite fails here.
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(|e| StoreError::sqlite("switching to WAL", path, e))?;
    conn.pragma_update(None, "synchronous", sync.pragma())
        .map_err(|e| StoreError::sqlite("setting synchronous on", path, e))?;
    migrate(&mut conn, path, schema)?;
    Ok(conn)
}

/// Opens an existing store read-only (admin commands that only look), without creating or
/// migrating it; a file from a newer dashclawd is refused rather than misread.
pub fn open_read_only(path: &Path, schema: &Schema) -> Result<Connection, StoreError> {
    if !path.exists() {
        return Err(StoreError::Missing {
            what: schema.name,
            path: path.to_path_buf(),
        });
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| StoreError::sqlite("opening", path, e))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| StoreError::sqlite("opening", path, e))?;
    let found = user_version(&conn).map_err(|e| StoreError::sqlite("reading", path, e))?;
    if found > schema.version() {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            known: schema.version(),
        });
    }
    Ok(conn)
}

/// Created private before SQLite opens it (SQLite gives the -wal and -shm files the same
/// mode): every store describes what the agent did.
fn create_private(path: &Path) -> Result<(), StoreError> {
    if path.exists() {
        return Ok(());
    }
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map(drop)
        .map_err(|source| StoreError::Create {
            path: path.to_path_buf(),
            source,
        })
}

fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
}

fn migrate(conn: &mut Connection, path: &Path, schema: &Schema) -> Result<(), StoreError> {
    let sql = |what| move |e| StoreError::sqlite(what, path, e);
    // IMMEDIATE: two processes opening a fresh file at once migrate it once.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sql("locking"))?;
    let found = user_version(&tx).map_err(sql("reading"))?;
    let known = schema.version();
    if found > known {
        return Err(StoreError::TooNew {
            path: path.to_path_buf(),
            found,
            known,
        });
    }
    if found == known {
        return Ok(());
    }
    for (i, step) in schema
        .migrations
        .iter()
        .enumerate()
        .skip(found.max(0) as usize)
    {
        tx.execute_batch(step).map_err(|source| {
            if sqlite_is_disk_full(&source) {
                StoreError::DiskFull {
                    path: path.to_path_buf(),
                    source,
                }
            } else {
                StoreError::Migrate {
                    path: path.to_path_buf(),
                    version: i as i64 + 1,
                    source,
                }
            }
        })?;
    }
    tx.pragma_update(None, "user_version", known)
        .map_err(sql("migrating"))?;
    tx.commit().map_err(sql("committing the schema of"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &[&str] = &["CREATE TABLE a (x INTEGER);"];
    const V2: &[&str] = &[
        "CREATE TABLE a (x INTEGER);",
        "ALTER TABLE a ADD COLUMN y TEXT; CREATE TABLE b (z INTEGER);",
    ];

    fn schema(migrations: &'static [&'static str]) -> Schema {
        Schema {
            name: "the test store",
            migrations,
        }
    }

    fn version(conn: &Connection) -> i64 {
        user_version(conn).unwrap()
    }

    #[test]
    fn a_new_store_is_private_wal_with_a_busy_timeout_and_the_latest_schema() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let conn = open(&path, &schema(V2), SyncMode::Full).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let journal: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(journal, "wal");
        let busy: i64 = conn
            .pragma_query_value(None, "busy_timeout", |r| r.get(0))
            .unwrap();
        assert_eq!(busy, BUSY_TIMEOUT.as_millis() as i64);
        let sync: i64 = conn
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "FULL");
        assert_eq!(version(&conn), 2);
        conn.execute("INSERT INTO a (x, y) VALUES (1, 'one')", [])
            .unwrap();
        conn.execute("INSERT INTO b (z) VALUES (2)", []).unwrap();
    }

    #[test]
    fn an_older_file_is_migrated_in_order_keeping_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let old = open(&path, &schema(V1), SyncMode::Normal).unwrap();
        assert_eq!(version(&old), 1);
        old.execute("INSERT INTO a (x) VALUES (7)", []).unwrap();
        drop(old);
        let new = open(&path, &schema(V2), SyncMode::Normal).unwrap();
        assert_eq!(version(&new), 2);
        let row: (i64, Option<String>) = new
            .query_row("SELECT x, y FROM a", [], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap();
        assert_eq!(row, (7, None));
        new.execute("INSERT INTO b (z) VALUES (1)", []).unwrap();
        drop(new);
        // Opening again at the same version runs nothing (the ALTER would fail twice).
        open(&path, &schema(V2), SyncMode::Normal).unwrap();
    }

    #[test]
    fn a_newer_file_is_refused_by_both_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        drop(open(&path, &schema(V2), SyncMode::Normal).unwrap());
        let err = open(&path, &schema(V1), SyncMode::Normal).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::TooNew {
                    found: 2,
                    known: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("upgrade dashclawd"), "{err}");
        let err = open_read_only(&path, &schema(V1)).unwrap_err();
        assert!(matches!(err, StoreError::TooNew { .. }), "{err:?}");
        assert!(open_read_only(&path, &schema(V2)).is_ok());
    }

    #[test]
    fn a_failed_migration_names_its_version_and_leaves_the_file_as_it_was() {
        const BAD: &[&str] = &["CREATE TABLE a (x INTEGER);", "CREATE TABLE a (x INTEGER);"];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        drop(open(&path, &schema(V1), SyncMode::Normal).unwrap());
        let err = open(&path, &schema(BAD), SyncMode::Normal).unwrap_err();
        assert!(
            matches!(err, StoreError::Migrate { version: 2, .. }),
            "{err:?}"
        );
        let conn = open_read_only(&path, &schema(V1)).unwrap();
        assert_eq!(version(&conn), 1);
    }

    #[test]
    fn foreign_missing_and_unreachable_files_are_typed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        std::fs::write(&path, vec![0x5a; 8192]).unwrap();
        let err = open(&path, &schema(V1), SyncMode::Normal).unwrap_err();
        assert!(matches!(err, StoreError::NotADatabase { .. }), "{err:?}");
        assert!(err.to_string().contains(&path.display().to_string()));
        let missing = dir.path().join("none.db");
        let err = open_read_only(&missing, &schema(V1)).unwrap_err();
        assert!(matches!(err, StoreError::Missing { .. }), "{err:?}");
        assert!(!missing.exists(), "a read-only open creates nothing");
        let err = open(
            &dir.path().join("no/dir/s.db"),
            &schema(V1),
            SyncMode::Normal,
        )
        .unwrap_err();
        assert!(matches!(err, StoreError::Create { .. }), "{err:?}");
    }

    #[test]
    fn disk_full_is_told_by_code_through_any_wrapping() {
        let full = || {
            rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
                None,
            )
        };
        let path = Path::new("/x/s.db");
        let e = StoreError::sqlite("writing", path, full());
        assert!(matches!(e, StoreError::DiskFull { .. }));
        assert!(e.is_disk_full());
        // Whatever context a store adds, the chain still says so.
        let wrapped = anyhow::Error::new(full()).context("queueing an event");
        assert!(is_disk_full(&wrapped));
        assert!(is_disk_full(&anyhow::Error::new(e).context("outer")));
        let enospc = anyhow::Error::new(std::io::Error::from_raw_os_error(libc::ENOSPC))
            .context("writing the head file");
        assert!(is_disk_full(&enospc));
        // Other failures are not, even when their text mentions a full disk.
        let busy = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some("database or disk is full".into()),
        );
        assert!(!StoreError::sqlite("writing", path, busy).is_disk_full());
        assert!(!is_disk_full(&anyhow::anyhow!("database or disk is full")));
        // A real one: SQLite's page limit returns the same SQLITE_FULL as a full disk.
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("s.db"), &schema(V1), SyncMode::Normal).unwrap();
        let pages: i64 = conn
            .pragma_query_value(None, "page_count", |r| r.get(0))
            .unwrap();
        conn.pragma_update(None, "max_page_count", pages).unwrap();
        let err = conn
            .execute_batch(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
                 INSERT INTO a (x) SELECT i FROM n;",
            )
            .unwrap_err();
        assert!(sqlite_is_disk_full(&err), "{err:?}");
    }
}
