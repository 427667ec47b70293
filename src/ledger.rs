//! The local audit ledger: every decision and every outcome, hash-chained, in SQLite.
//!
//! Why SQLite (WAL): a committed transaction survives a `kill -9` of the daemon at any instant
//! (the WAL is written before the commit returns), torn writes are the library's problem rather
//! than ours, concurrent readers (`dashclawd log --follow`) never block the writer, and later
//! features (outbox, approvals) share the same durable store. `synchronous=NORMAL` keeps commits
//! off fsync: process crashes lose nothing; only a power loss may drop the last commits, and
//! `ledger_sync = "full"` in the config closes that gap at the cost of one fsync per batch.
//!
//! One writer holds the connection behind a lock. A caller that finds it free commits its
//! record itself (a lone hook call pays no thread hand-off); callers that find it busy queue, and
//! the writer thread commits whatever has queued up in one transaction (group commit), so
//! throughput scales with load while each record is acknowledged only after its commit. Each row stores the record's canonical JSON and
//! `hash = sha256(prev_hash || "\n" || record)`, so an edited, inserted or deleted row breaks the
//! chain for `dashclawd log verify`.
//!
//! The chain alone cannot show a truncated tail or a ledger replaced wholesale, so the head is
//! also anchored outside the database: `ledger.head` (seq + hash, one in-place block write) is rewritten
//! after every commit batch. On start the daemon compares the two; a ledger that is shorter,
//! emptied or a different chain gets a `ledger-reset` entry naming the old head, which
//! `log verify` and `status` report. While running, the writer checks before every batch that
//! the file it writes is still the one at the path (device/inode, not unlinked) and that nobody
//! else moved the tail; on a mismatch it refuses every write (gating calls are denied) until
//! the daemon is restarted.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{mpsc, Arc, Mutex};

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
    /// Every built-in rule the classifier raised (the decision's `policy` names the winner).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// The commands as graded: unwrapped and folded (`[python3 code] rm -rf /`), redacted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
    /// Exfiltration flows: source, sink and destination.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flows: Vec<Value>,
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

use crate::store::Schema;
pub use crate::store::SyncMode;
use crate::util::time;

/// The ledger's one table. Idempotent: it also runs at every open (below).
const LEDGER_TABLE: &str = "CREATE TABLE IF NOT EXISTS ledger (
    seq       INTEGER PRIMARY KEY,
    ts        TEXT NOT NULL,
    event_id  TEXT NOT NULL UNIQUE,
    record    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);";

/// The ledger's schema (see [`crate::store`]); files from before versioning are at 0.
pub const SCHEMA: Schema = Schema {
    name: "ledger",
    migrations: &[LEDGER_TABLE],
};

pub fn open(path: &Path, sync: SyncMode) -> Result<Connection> {
    let conn = crate::store::open(path, &SCHEMA, sync)?;
    // A file swapped for a database that claims the version but has no table (an emptied or
    // planted ledger) gets the table back, so the start-up check records a reset instead of
    // every later write failing.
    conn.execute_batch(LEDGER_TABLE)
        .context("creating the ledger schema")?;
    Ok(conn)
}

/// Opens the ledger for reading without creating it.
pub fn open_read_only(path: &Path) -> Result<Connection> {
    Ok(crate::store::open_read_only(path, &SCHEMA)?)
}

type Reply = oneshot::Sender<Result<i64, String>>;

/// Where the chain head is anchored outside the database: `ledger.head` beside the ledger.
pub fn head_path(ledger: &Path) -> PathBuf {
    ledger.with_extension("head")
}

/// The content of `ledger.head`: the last committed record as the daemon wrote it, and every
/// reset it has found, so `status` still reports one after later restarts.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct HeadFile {
    pub seq: i64,
    pub hash: String,
    /// Unix ms of the write.
    pub written_ms: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resets: Vec<ResetNote>,
}

/// A ledger found emptied, truncated or replaced when the daemon started.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResetNote {
    /// The `ledger-reset` entry that records it.
    pub seq: i64,
    pub summary: String,
}

/// Reads `ledger.head`; `None` when there is none.
pub fn read_head_file(path: &Path) -> Result<Option<HeadFile>> {
    match std::fs::read(path) {
        // A head file created but never written (a crash right at the first start).
        Ok(bytes) if bytes.iter().all(|b| *b == 0) => Ok(None),
        Ok(bytes) => serde_json::from_slice(bytes.trim_ascii_end())
            .map(Some)
            .with_context(|| format!("{} is not a ledger head file", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The head file's fixed size: every update is one `pwrite` of a whole block at offset 0 into
/// a file kept open, because a temp file + rename per commit batch cost more than the commit
/// itself (measured on this machine: ~0.65 ms for a rename, ~0.03 ms for the pwrite). A reader that races an
/// update or a torn write after a power loss sees unparseable JSON, which `log verify` reports.
const HEAD_FILE_SIZE: usize = 4096;
/// Resets kept in the head file (the ledger holds every one).
const HEAD_FILE_RESETS: usize = 8;

/// Writes `head` into the open head file; in `full` sync mode it is fsynced, as the ledger's
/// own commit is.
fn write_head_file(file: &std::fs::File, head: &HeadFile, sync: SyncMode) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    let mut head = head.clone();
    let keep = head.resets.len().saturating_sub(HEAD_FILE_RESETS);
    head.resets.drain(..keep);
    let mut buf = serde_json::to_vec(&head).map_err(std::io::Error::other)?;
    while buf.len() >= HEAD_FILE_SIZE {
        // Only overlong reset summaries can get here: drop the oldest.
        if head.resets.is_empty() {
            return Err(std::io::Error::other("head record too large"));
        }
        head.resets.remove(0);
        buf = serde_json::to_vec(&head).map_err(std::io::Error::other)?;
    }
    buf.resize(HEAD_FILE_SIZE - 1, b' ');
    buf.push(b'\n');
    file.write_all_at(&buf, 0)?;
    if sync == SyncMode::Full {
        file.sync_data()?;
    }
    Ok(())
}

/// Opens (creating, 0600, preallocated) the head file for in-place updates.
fn open_head_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .mode(0o600)
        .open(path)?;
    if f.metadata()?.len() != HEAD_FILE_SIZE as u64 {
        // Exactly one block (a longer foreign file would leave a tail after ours), with real
        // blocks now, so a later update never needs space on a full disk.
        f.set_len(HEAD_FILE_SIZE as u64)?;
        {
            use std::os::fd::AsRawFd;
            // SAFETY: posix_fallocate(3) on our own open file.
            unsafe { libc::posix_fallocate(f.as_raw_fd(), 0, HEAD_FILE_SIZE as libc::off_t) };
        }
    }
    Ok(f)
}

/// Space set aside on the ledger's file system (a preallocated file) and given back when a
/// commit fails for lack of space, so the records of a full disk still land.
#[derive(Debug)]
pub struct Reserve {
    pub path: PathBuf,
    pub bytes: u64,
}

impl Reserve {
    /// Creates the reserve if it is missing and the file system has room for it to spare.
    pub fn ensure(&self) -> std::io::Result<bool> {
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::OpenOptionsExt;
        if self.bytes == 0 {
            return Ok(false);
        }
        if std::fs::metadata(&self.path).is_ok_and(|m| m.len() >= self.bytes) {
            return Ok(true);
        }
        // Only take space that is really free: twice the reserve, so we do not fill the disk.
        if free_bytes(self.path.parent().unwrap_or(Path::new("."))) < self.bytes.saturating_mul(2) {
            return Ok(false);
        }
        let f = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .mode(0o600)
            .open(&self.path)?;
        // SAFETY: plain posix_fallocate(3) on a file we own; real blocks, not a sparse file.
        let rc = unsafe { libc::posix_fallocate(f.as_raw_fd(), 0, self.bytes as libc::off_t) };
        if rc != 0 {
            drop(f);
            let _ = std::fs::remove_file(&self.path);
            return Err(std::io::Error::from_raw_os_error(rc));
        }
        Ok(true)
    }

    /// Gives the space back; true when there was some to give.
    pub fn release(&self) -> bool {
        std::fs::remove_file(&self.path).is_ok()
    }
}

/// Free bytes for an unprivileged user on the file system holding `dir`.
pub fn free_bytes(dir: &Path) -> u64 {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return 0;
    };
    // SAFETY: statvfs(3) into a zeroed struct with a NUL-terminated path.
    unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        if libc::statvfs(c.as_ptr(), &mut st) != 0 {
            return 0;
        }
        (st.f_bavail as u64).saturating_mul(st.f_frsize as u64)
    }
}

/// What the daemon knows about its ledger, for `status` and the writer.
#[derive(Debug)]
struct Health {
    /// Set when the writer refuses to write (the file was replaced under it); sticky.
    refusing: Mutex<Option<String>>,
    /// Resets found at start, now and earlier (from the head file).
    resets: Mutex<Vec<ResetNote>>,
    head: Mutex<(i64, String)>,
    sync: AtomicU8,
    reserve: Option<Reserve>,
    /// When the reserve was last given up for a commit (Unix ms), while it is not back.
    reserve_used_ms: Mutex<Option<u64>>,
    head_file_error: Mutex<Option<String>>,
}

/// Options of [`Ledger::start_with`].
#[derive(Debug, Clone, Default)]
pub struct LedgerOptions {
    pub sync: SyncMode,
    /// Bytes to preallocate beside the ledger for a full disk (0: none).
    pub reserve_bytes: u64,
}

/// Handle to the writer. Cheap to clone.
#[derive(Clone)]
pub struct Ledger {
    tx: mpsc::Sender<(Record, Reply)>,
    /// The writer's state; whoever holds the lock commits (see [`Ledger::append`]).
    writer: Arc<Mutex<Writer>>,
    pub path: PathBuf,
    health: Arc<Health>,
}

/// The file the writer opened, to notice it being unlinked or replaced.
struct Identity {
    file: std::fs::File,
    dev: u64,
    ino: u64,
    /// The largest size seen: SQLite never shrinks the main file here (no auto-vacuum, no
    /// VACUUM), so a smaller one was truncated by someone else.
    len: std::cell::Cell<u64>,
}

impl Identity {
    fn of(path: &Path) -> Result<Identity> {
        let file = std::fs::File::open(path)
            .with_context(|| format!("opening {} to watch it", path.display()))?;
        let m = file.metadata()?;
        Ok(Identity {
            dev: m.dev(),
            ino: m.ino(),
            len: std::cell::Cell::new(m.len()),
            file,
        })
    }

    /// `Err(reason)` when the path no longer names the file we write.
    fn check(&self, path: &Path) -> std::result::Result<(), String> {
        let gone = |what: &str| {
            format!(
                "the audit ledger {} was {what} while dashclawd was running, so nothing more can be recorded in it; restart the daemon (`dashclawd stop`) and check `dashclawd log verify`",
                path.display()
            )
        };
        match self.file.metadata() {
            Ok(m) if m.nlink() == 0 => return Err(gone("deleted")),
            Ok(m) if m.len() < self.len.get() => {
                return Err(gone(&format!(
                    "truncated (from {} to {} bytes)",
                    self.len.get(),
                    m.len()
                )))
            }
            Ok(m) => self.len.set(m.len()),
            Err(e) => return Err(gone(&format!("made unreadable ({e})"))),
        }
        match std::fs::metadata(path) {
            Ok(m) if m.dev() == self.dev && m.ino() == self.ino => Ok(()),
            Ok(_) => Err(gone("replaced by another file")),
            Err(_) => Err(gone("deleted")),
        }
    }
}

impl Ledger {
    pub fn start(path: &Path, sync: SyncMode) -> Result<Ledger> {
        Ledger::start_with(
            path,
            LedgerOptions {
                sync,
                reserve_bytes: 0,
            },
        )
    }

    /// Opens the ledger, checks it against its head file (recording a reset when it was
    /// emptied, truncated or replaced), and starts the writer thread.
    pub fn start_with(path: &Path, opts: LedgerOptions) -> Result<Ledger> {
        let mut conn = open(path, opts.sync)?;
        let identity = Identity::of(path)?;
        let head_file = head_path(path);
        let (mut known, head_file_error) = match read_head_file(&head_file) {
            Ok(h) => (h, None),
            // An unreadable head is itself a finding: report it and start a fresh one.
            Err(e) => (None, Some(format!("{e:#}"))),
        };
        let mut current = head(&conn)?;
        let mut resets = known.as_ref().map(|k| k.resets.clone()).unwrap_or_default();
        if let Some(k) = known.take() {
            if let Some(note) = compare_with_head(&conn, path, &k, &current)? {
                let record = reset_record(&note, &k, &current);
                let seqs = commit_batch(&mut conn, &mut current, std::iter::once(&record))
                    .context("recording the ledger reset")?;
                tracing::error!("{note}");
                resets.push(ResetNote {
                    seq: seqs[0],
                    summary: note,
                });
            }
        }
        let reserve = (opts.reserve_bytes > 0).then(|| Reserve {
            path: path.with_file_name("disk-reserve"),
            bytes: opts.reserve_bytes,
        });
        if let Some(r) = &reserve {
            if let Err(e) = r.ensure() {
                tracing::warn!("cannot preallocate {}: {e}", r.path.display());
            }
        }
        let health = Arc::new(Health {
            refusing: Mutex::new(None),
            resets: Mutex::new(resets),
            head: Mutex::new(current.clone()),
            sync: AtomicU8::new(opts.sync as u8),
            reserve,
            reserve_used_ms: Mutex::new(None),
            head_file_error: Mutex::new(head_file_error),
        });
        let head_fd = match open_head_file(&head_file) {
            Ok(f) => Some(f),
            Err(e) => {
                *health
                    .head_file_error
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) =
                    Some(format!("writing {}: {e}", head_file.display()));
                None
            }
        };
        let writer_state = Writer {
            conn,
            path: path.to_path_buf(),
            head_fd,
            head_file,
            identity,
            health: health.clone(),
            head: current,
            sync: opts.sync,
        };
        writer_state.write_head();
        let writer = Arc::new(Mutex::new(writer_state));
        let (tx, rx) = mpsc::channel::<(Record, Reply)>();
        let thread_writer = writer.clone();
        std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || Writer::run(&thread_writer, rx))
            .context("starting the ledger writer")?;
        Ok(Ledger {
            tx,
            writer,
            path: path.to_path_buf(),
            health,
        })
    }

    /// Appends a record and waits until it is committed. Returns its sequence number (the
    /// existing one when the event id was already recorded).
    pub async fn append(&self, record: Record) -> Result<i64> {
        if let Some(done) = self.commit_here(&record) {
            return done;
        }
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
        if let Some(done) = self.commit_here(&record) {
            return done;
        }
        let (reply, rx) = oneshot::channel();
        self.tx
            .send((record, reply))
            .map_err(|_| anyhow::anyhow!("the ledger writer has stopped"))?;
        rx.blocking_recv()
            .map_err(|_| anyhow::anyhow!("the ledger writer has stopped"))?
            .map_err(|e| anyhow::anyhow!("ledger write failed: {e}"))
    }

    /// Commits on the caller's thread when no one else is writing: a lone hook call then pays
    /// no hand-off to the writer thread and back (two wake-ups, a good part of the allow path
    /// on a VM). `None` when the writer is busy: the caller queues, and the writer thread
    /// commits what queued up in one transaction.
    fn commit_here(&self, record: &Record) -> Option<Result<i64>> {
        let mut writer = match self.writer.try_lock() {
            Ok(w) => w,
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return None,
        };
        Some(
            writer
                .commit(&[record])
                .map(|seqs| seqs[0])
                .map_err(|e| anyhow::anyhow!("ledger write failed: {e}")),
        )
    }

    /// Applies a changed `ledger_sync` from the next commit batch on (config reload).
    pub fn set_sync(&self, sync: SyncMode) {
        self.health.sync.store(sync as u8, Ordering::Relaxed);
    }

    /// The last committed (seq, hash): what an outside anchor (the server heartbeat) carries.
    pub fn head(&self) -> (i64, String) {
        self.health
            .head
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Why the writer refuses to write, if it does.
    pub fn refusing(&self) -> Option<String> {
        self.health
            .refusing
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Puts the disk reserve back once there is room again (called periodically).
    pub fn maintain(&self) {
        if let Some(r) = &self.health.reserve {
            if let Ok(true) = r.ensure() {
                let mut used = self
                    .health
                    .reserve_used_ms
                    .lock()
                    .unwrap_or_else(|p| p.into_inner());
                if used.take().is_some() {
                    tracing::info!("disk space is back: the ledger's reserve is in place again");
                }
            }
        }
    }

    /// The ledger part of `dashclawd status`.
    pub fn status(&self) -> Value {
        let h = &self.health;
        let lock = |m: &Mutex<Option<String>>| m.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let head = h.head.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let resets = h.resets.lock().unwrap_or_else(|p| p.into_inner()).clone();
        serde_json::json!({
            "path": self.path,
            "records": head.0,
            "head": head.1,
            "head_file": head_path(&self.path),
            "head_file_error": lock(&h.head_file_error),
            "refusing": lock(&h.refusing),
            "resets": resets,
            "reserve_bytes": h.reserve.as_ref().map(|r| r.bytes),
            "reserve_in_place": h.reserve.as_ref().map(|r| std::fs::metadata(&r.path).is_ok()),
            "reserve_used_ms": *h.reserve_used_ms.lock().unwrap_or_else(|p| p.into_inner()),
        })
    }
}

/// Compares the database with the head the daemon last wrote; `Some(why)` when they disagree.
fn compare_with_head(
    conn: &Connection,
    path: &Path,
    known: &HeadFile,
    current: &(i64, String),
) -> Result<Option<String>> {
    if known.seq <= 0 {
        return Ok(None);
    }
    let short = |h: &str| h.get(..16).unwrap_or(h).to_string();
    let when = time::iso_seconds(time::at_ms(known.written_ms));
    if current.0 < known.seq {
        let what = if current.0 == 0 {
            "emptied or replaced by a new one".to_string()
        } else {
            format!(
                "truncated: it ends at record {} but it held {} records",
                current.0, known.seq
            )
        };
        return Ok(Some(format!(
            "the ledger {} was {what} (the last head the daemon wrote, at {when}, was record {} with hash {}…)",
            path.display(),
            known.seq,
            short(&known.hash)
        )));
    }
    let stored: Option<String> = conn
        .query_row("SELECT hash FROM ledger WHERE seq = ?1", [known.seq], |r| {
            r.get(0)
        })
        .optional()?;
    if stored.as_deref() != Some(known.hash.as_str()) {
        return Ok(Some(format!(
            "the ledger {} was replaced: its record {} is not the one the daemon wrote at {when} (hash {}…)",
            path.display(),
            known.seq,
            short(&known.hash)
        )));
    }
    Ok(None)
}

/// The entry that opens a ledger found reset, naming the head it should have had.
fn reset_record(note: &str, known: &HeadFile, found: &(i64, String)) -> Record {
    Record {
        event_id: format!("ledger-reset-{}", crate::util::id::local_id()),
        agent: "dashclawd".into(),
        event: "ledger-reset".into(),
        summary: crate::redact::redact_str(note).into_owned(),
        enforced: false,
        outcome: serde_json::json!({
            "old_head": {"seq": known.seq, "hash": known.hash, "written_ms": known.written_ms},
            "found": {"seq": found.0, "hash": found.1},
        }),
        ..Record::default()
    }
}

/// The writer's state: the writer thread owns the loop, whoever holds the lock commits.
struct Writer {
    conn: Connection,
    path: PathBuf,
    head_file: PathBuf,
    head_fd: Option<std::fs::File>,
    identity: Identity,
    health: Arc<Health>,
    head: (i64, String),
    sync: SyncMode,
}

impl Writer {
    fn run(writer: &Mutex<Writer>, rx: mpsc::Receiver<(Record, Reply)>) {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(item) => batch.push(item),
                    Err(_) => break,
                }
            }
            let records: Vec<&Record> = batch.iter().map(|(r, _)| r).collect();
            let result = writer
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .commit(&records);
            match result {
                Ok(seqs) => {
                    for ((_, reply), seq) in batch.into_iter().zip(seqs) {
                        let _ = reply.send(Ok(seq));
                    }
                }
                Err(e) => {
                    for (_, reply) in batch {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
            }
        }
    }

    /// One batch: identity and tail checks, the transaction, then the head file.
    fn commit(&mut self, batch: &[&Record]) -> std::result::Result<Vec<i64>, String> {
        if let Some(why) = self.health.refusing.lock().ok().and_then(|r| r.clone()) {
            return Err(why);
        }
        if let Err(why) = self.identity.check(&self.path) {
            return Err(self.refuse(why));
        }
        let wanted = if self.health.sync.load(Ordering::Relaxed) == SyncMode::Full as u8 {
            SyncMode::Full
        } else {
            SyncMode::Normal
        };
        if wanted != self.sync {
            match self
                .conn
                .pragma_update(None, "synchronous", wanted.pragma())
            {
                Ok(()) => self.sync = wanted,
                Err(e) => tracing::error!("cannot switch ledger_sync: {e}"),
            }
        }
        let before = self.head.clone();
        let mut result = self.try_commit(batch);
        if matches!(&result, Err(e) if is_disk_full(e)) {
            if let Some(r) = self.health.reserve.as_ref().filter(|r| r.release()) {
                tracing::error!(
                    "the disk holding {} is full: gave up the {}-byte reserve to keep recording",
                    self.path.display(),
                    r.bytes
                );
                *self
                    .health
                    .reserve_used_ms
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(time::now_ms());
                self.head = before.clone();
                result = self.try_commit(batch);
            }
        }
        match result {
            Ok(seqs) => {
                *self.health.head.lock().unwrap_or_else(|p| p.into_inner()) = self.head.clone();
                self.write_head();
                Ok(seqs)
            }
            Err(e) => {
                self.head = before;
                if let Some(Tampered(why)) = e.downcast_ref::<Tampered>() {
                    return Err(self.refuse(why.clone()));
                }
                tracing::error!("ledger commit failed: {e:#}");
                Err(format!("{e:#}"))
            }
        }
    }

    fn try_commit(&mut self, batch: &[&Record]) -> Result<Vec<i64>> {
        commit_batch(&mut self.conn, &mut self.head, batch.iter().copied()).map_err(|e| {
            match e.downcast::<Tampered>() {
                Ok(Tampered(found)) => Tampered(format!(
                    "the audit ledger {} was changed by another process ({found}); nothing more is recorded until the daemon is restarted (`dashclawd stop`); check `dashclawd log verify`",
                    self.path.display()
                ))
                .into(),
                Err(e) => e,
            }
        })
    }

    fn refuse(&self, why: String) -> String {
        let mut r = self
            .health
            .refusing
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if r.is_none() {
            tracing::error!("{why}");
            *r = Some(why.clone());
        }
        why
    }

    fn write_head(&self) {
        let head = HeadFile {
            seq: self.head.0,
            hash: self.head.1.clone(),
            written_ms: time::now_ms(),
            resets: self
                .health
                .resets
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        };
        let mut err = self
            .health
            .head_file_error
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let written = match &self.head_fd {
            Some(f) => write_head_file(f, &head, self.sync),
            None => Err(std::io::Error::other("not open")),
        };
        match written {
            Ok(()) => {
                // An earlier write failure is over; an unreadable file found at start stays.
                if err.as_deref().is_some_and(|e| e.starts_with("writing")) {
                    *err = None;
                }
            }
            Err(e) => {
                if err.is_none() {
                    tracing::error!("cannot write {}: {e}", self.head_file.display());
                }
                *err = Some(format!("writing {}: {e}", self.head_file.display()));
            }
        }
    }
}

/// The ledger was changed under the writer by someone else.
#[derive(Debug)]
struct Tampered(String);

impl std::fmt::Display for Tampered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Tampered {}

pub use crate::store::is_disk_full;

/// False for a file that is not (or no longer) a ledger: empty, or a database without the table.
fn has_table(conn: &Connection) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ledger'",
            [],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn head(conn: &Connection) -> Result<(i64, String)> {
    if !has_table(conn)? {
        return Ok((0, GENESIS.to_string()));
    }
    Ok(conn
        .query_row(
            "SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .unwrap_or((0, GENESIS.to_string())))
}

fn commit_batch<'a>(
    conn: &mut Connection,
    head: &mut (i64, String),
    batch: impl Iterator<Item = &'a Record>,
) -> Result<Vec<i64>> {
    // IMMEDIATE: take the write lock up front, so a lock held by another process is waited for
    // (busy timeout) instead of failing at once when a read transaction tries to upgrade.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    // Someone else wrote or deleted rows: the chain we hold is no longer the file's.
    let actual = self::head(&tx)?;
    if actual != *head {
        return Err(Tampered(format!(
            "its last record is #{}, this daemon wrote #{}",
            actual.0, head.0
        ))
        .into());
    }
    let mut seqs = Vec::new();
    {
        let mut existing = tx.prepare_cached("SELECT seq FROM ledger WHERE event_id = ?1")?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO ledger (seq, ts, event_id, record, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?;
        for record in batch {
            if let Some(seq) = existing
                .query_row([&record.event_id], |r| r.get::<_, i64>(0))
                .optional()?
            {
                seqs.push(seq);
                continue;
            }
            let seq = head.0 + 1;
            let ts = time::iso_now_micros();
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
    if !has_table(conn)? {
        return Ok(Vec::new());
    }
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
    if !has_table(conn)? {
        return Ok(0);
    }
    Ok(conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM ledger", [], |r| r.get(0))?)
}

/// Result of checking the whole chain.
#[derive(Debug, PartialEq, Eq)]
pub enum Verification {
    /// The chain holds; `resets` are the `ledger-reset` entries in it (seq, summary).
    Intact {
        records: i64,
        head: String,
        resets: Vec<(i64, String)>,
    },
    Broken {
        seq: i64,
        problem: String,
    },
}

/// Recomputes every hash from the stored bytes, in order, streaming.
pub fn verify(conn: &Connection) -> Result<Verification> {
    if !has_table(conn)? {
        return Ok(Verification::Intact {
            records: 0,
            head: GENESIS.to_string(),
            resets: Vec::new(),
        });
    }
    let mut stmt =
        conn.prepare("SELECT seq, ts, record, prev_hash, hash FROM ledger ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1i64;
    let mut count = 0i64;
    let mut resets = Vec::new();
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
        // Inside a JSON string a quote is escaped, so only the field itself matches.
        if json.contains("\"event\":\"ledger-reset\"") {
            let summary = serde_json::from_str::<Record>(&json)
                .map(|r| r.summary)
                .unwrap_or_default();
            resets.push((seq, summary));
        }
        prev = hash;
        expected_seq += 1;
        count += 1;
    }
    Ok(Verification::Intact {
        records: count,
        head: prev,
        resets,
    })
}

/// Compares the ledger with its head file: `Ok(None)` when the database still holds the head
/// the daemon last wrote, `Ok(Some(problem))` when it is shorter or a different chain.
pub fn check_head_file(conn: &Connection, ledger: &Path) -> Result<Option<String>> {
    let Some(known) = read_head_file(&head_path(ledger))? else {
        return Ok(None);
    };
    let current = head(conn)?;
    compare_with_head(conn, ledger, &known, &current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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

    fn resets(path: &Path) -> Vec<(i64, String)> {
        match verify(&open_read_only(path).unwrap()).unwrap() {
            Verification::Intact { resets, .. } => resets,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_head_file_follows_every_commit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let ledger = Ledger::start(&path, SyncMode::Normal).unwrap();
        ledger.append_blocking(rec("a")).unwrap();
        ledger.append_blocking(rec("b")).unwrap();
        let head = read_head_file(&head_path(&path)).unwrap().unwrap();
        let conn = open_read_only(&path).unwrap();
        let entries = read_after(&conn, 0, 10).unwrap();
        assert_eq!(
            (head.seq, head.hash.as_str()),
            (2, entries[1].hash.as_str())
        );
        assert_eq!(check_head_file(&conn, &path).unwrap(), None);
    }

    #[test]
    fn an_emptied_ledger_starts_with_an_entry_naming_the_old_head() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let ledger = Ledger::start(&path, SyncMode::Normal).unwrap();
        for id in ["a", "b", "c"] {
            ledger.append_blocking(rec(id)).unwrap();
        }
        let old = read_head_file(&head_path(&path)).unwrap().unwrap();
        drop(ledger);
        std::thread::sleep(Duration::from_millis(50));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        // Before any daemon starts, verify against the head file already says so.
        Connection::open(&path).unwrap().execute_batch("CREATE TABLE ledger (seq INTEGER PRIMARY KEY, ts TEXT, event_id TEXT, record TEXT, prev_hash TEXT, hash TEXT)").unwrap();
        let problem = check_head_file(&open_read_only(&path).unwrap(), &path).unwrap();
        assert!(problem.unwrap().contains("emptied"));
        let again = Ledger::start(&path, SyncMode::Normal).unwrap();
        assert_eq!(again.append_blocking(rec("d")).unwrap(), 2);
        let conn = open_read_only(&path).unwrap();
        let first = &read_after(&conn, 0, 1).unwrap()[0];
        assert_eq!(first.record.event, "ledger-reset");
        assert_eq!(first.record.outcome["old_head"]["seq"], 3);
        assert_eq!(first.record.outcome["old_head"]["hash"], old.hash.as_str());
        let r = resets(&path);
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(r[0].1.contains("emptied"), "{r:?}");
        // Remembered in the head file and in status across later restarts.
        drop(again);
        let third = Ledger::start(&path, SyncMode::Normal).unwrap();
        assert_eq!(third.status()["resets"].as_array().unwrap().len(), 1);
        assert_eq!(resets(&path).len(), 1);
    }

    #[test]
    fn a_truncated_or_replaced_ledger_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let ledger = Ledger::start(&path, SyncMode::Normal).unwrap();
        for id in ["a", "b", "c", "d"] {
            ledger.append_blocking(rec(id)).unwrap();
        }
        drop(ledger);
        std::thread::sleep(Duration::from_millis(50));
        // The tail cut off: the chain itself still verifies.
        Connection::open(&path)
            .unwrap()
            .execute("DELETE FROM ledger WHERE seq > 2", [])
            .unwrap();
        let conn = open_read_only(&path).unwrap();
        assert!(matches!(
            verify(&conn).unwrap(),
            Verification::Intact { records: 2, .. }
        ));
        assert!(check_head_file(&conn, &path)
            .unwrap()
            .unwrap()
            .contains("truncated"));
        let again = Ledger::start(&path, SyncMode::Normal).unwrap();
        assert_eq!(again.append_blocking(rec("e")).unwrap(), 4);
        assert!(resets(&path)[0].1.contains("truncated"));
        drop(again);
        std::thread::sleep(Duration::from_millis(50));
        // A different chain of the same length: record 4 is not the one written.
        let c = Connection::open(&path).unwrap();
        c.execute("DELETE FROM ledger", []).unwrap();
        drop(c);
        let other = dir.path().join("other.db");
        let forged = Ledger::start(&other, SyncMode::Normal).unwrap();
        for id in ["x", "y", "z", "w"] {
            forged.append_blocking(rec(id)).unwrap();
        }
        drop(forged);
        std::thread::sleep(Duration::from_millis(50));
        Connection::open(&other)
            .unwrap()
            .pragma_update(None, "journal_mode", "DELETE")
            .unwrap();
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        std::fs::copy(&other, &path).unwrap();
        let conn = open_read_only(&path).unwrap();
        let problem = check_head_file(&conn, &path).unwrap().unwrap();
        assert!(
            problem.contains("replaced") || problem.contains("emptied"),
            "{problem}"
        );
    }

    #[test]
    fn a_ledger_unlinked_under_the_writer_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let ledger = Ledger::start(&path, SyncMode::Normal).unwrap();
        ledger.append_blocking(rec("a")).unwrap();
        std::fs::remove_file(&path).unwrap();
        let err = ledger.append_blocking(rec("b")).unwrap_err().to_string();
        assert!(err.contains("deleted"), "{err}");
        // Sticky, even if a file appears again at the path.
        std::fs::write(&path, b"").unwrap();
        let err = ledger.append_blocking(rec("c")).unwrap_err().to_string();
        assert!(err.contains("deleted"), "{err}");
        assert!(ledger.refusing().is_some());
    }

    #[test]
    fn rows_written_by_another_process_stop_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let ledger = Ledger::start(&path, SyncMode::Normal).unwrap();
        ledger.append_blocking(rec("a")).unwrap();
        ledger.append_blocking(rec("b")).unwrap();
        Connection::open(&path)
            .unwrap()
            .execute("DELETE FROM ledger WHERE seq = 2", [])
            .unwrap();
        let err = ledger.append_blocking(rec("c")).unwrap_err().to_string();
        assert!(err.contains("changed by another process"), "{err}");
    }

    #[test]
    fn a_lock_held_by_another_connection_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let ledger = Ledger::start(&path, SyncMode::Normal).unwrap();
        ledger.append_blocking(rec("a")).unwrap();
        let holder = Connection::open(&path).unwrap();
        holder.execute_batch("BEGIN IMMEDIATE").unwrap();
        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(700));
            holder.execute_batch("ROLLBACK").unwrap();
        });
        let t = std::time::Instant::now();
        assert_eq!(ledger.append_blocking(rec("b")).unwrap(), 2);
        assert!(
            t.elapsed() >= Duration::from_millis(600),
            "{:?}",
            t.elapsed()
        );
        release.join().unwrap();
    }

    #[test]
    fn commits_with_the_head_file_stay_cheap() {
        // The head file is on the hot path; one batch per call is the worst case.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let ledger = Ledger::start(&path, SyncMode::Normal).unwrap();
        let n = 300;
        let t = std::time::Instant::now();
        for i in 0..n {
            ledger.append_blocking(rec(&format!("e{i}"))).unwrap();
        }
        let per = t.elapsed() / n;
        let t = std::time::Instant::now();
        let head = read_head_file(&head_path(&path)).unwrap().unwrap();
        let f = open_head_file(&head_path(&path)).unwrap();
        for _ in 0..n {
            write_head_file(&f, &head, SyncMode::Normal).unwrap();
        }
        let head_only = t.elapsed() / n;
        eprintln!("sequential commit incl. head file: {per:?}; head file alone: {head_only:?}");
        assert!(per < Duration::from_millis(20), "{per:?}");
    }

    #[test]
    fn the_reserve_is_taken_given_back_and_only_from_spare_space() {
        let dir = tempfile::tempdir().unwrap();
        let r = Reserve {
            path: dir.path().join("disk-reserve"),
            bytes: 1 << 20,
        };
        assert!(r.ensure().unwrap());
        assert_eq!(std::fs::metadata(&r.path).unwrap().len(), 1 << 20);
        assert!(r.release());
        assert!(!r.path.exists());
        assert!(!r.release());
        // Never more than half of what is free.
        let greedy = Reserve {
            path: dir.path().join("greedy"),
            bytes: free_bytes(dir.path()),
        };
        assert!(!greedy.ensure().unwrap());
        assert!(!greedy.path.exists());
    }

    #[test]
    fn a_ledger_truncated_in_place_under_the_writer_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.db");
        let ledger = Ledger::start(&path, SyncMode::Normal).unwrap();
        ledger.append_blocking(rec("a")).unwrap();
        // `: > ledger.db`: same file, same inode, no content.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        let err = ledger.append_blocking(rec("b")).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
    }
}
