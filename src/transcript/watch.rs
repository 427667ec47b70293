//! "This transcript may have new data": `notify` events for a set of files, with a stat poll
//! where events are unavailable.
//!
//! Each file's parent directory is watched (non-recursively, shared by every file in it), so a
//! file that is replaced by rename, deleted and re-created, or does not exist yet is still seen.
//! If the platform watcher cannot be created, or a directory cannot be watched (missing
//! directory, inotify's `max_user_watches` exhausted: ENOSPC), that file is polled instead: its
//! metadata is compared every `poll_interval`. A report is only a hint; the reader (the
//! [`super::Tailer`]) decides what, if anything, is new, so spurious and duplicate reports are
//! harmless and none are coalesced here.

use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecursiveMode, Watcher as _};
use tokio::sync::mpsc::UnboundedSender;

/// Default interval of the stat poll.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How a file is being watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchMode {
    /// Platform events on its directory.
    Notify,
    /// Periodic stat.
    Poll,
}

/// What a poll compares: identity, size and modification time; `None` while missing.
type Stamp = Option<(u64, u64, u64, i64, i64)>;

fn stamp(path: &Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    Some((m.dev(), m.ino(), m.len(), m.mtime(), m.mtime_nsec()))
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Files reached through notify events: directory → file name → the path as given.
#[derive(Default)]
struct Routes {
    dirs: HashMap<PathBuf, HashMap<OsString, PathBuf>>,
}

/// Watches transcripts; dropping it stops everything.
pub struct Watcher {
    tx: UnboundedSender<PathBuf>,
    routes: Arc<Mutex<Routes>>,
    /// The platform watcher; `None` when it could not be created (or polling was forced).
    /// Never locked by the event handler, so calling into it cannot deadlock with an event.
    notify: Mutex<Option<notify::RecommendedWatcher>>,
    polled: Arc<Mutex<HashMap<PathBuf, Stamp>>>,
    stop: Option<mpsc::Sender<()>>,
    poller: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Watches with platform events where possible, polling every second otherwise.
    pub fn new(tx: UnboundedSender<PathBuf>) -> Watcher {
        Watcher::with_poll_interval(tx, DEFAULT_POLL_INTERVAL)
    }

    /// [`Watcher::new`] with another poll interval for the fallback.
    pub fn with_poll_interval(tx: UnboundedSender<PathBuf>, poll_interval: Duration) -> Watcher {
        let w = Watcher::build(tx, poll_interval);
        let routes = Arc::clone(&w.routes);
        let events = w.tx.clone();
        let handler = move |res: notify::Result<notify::Event>| route(&routes, &events, res);
        match notify::recommended_watcher(handler) {
            Ok(n) => *lock(&w.notify) = Some(n),
            Err(e) => tracing::warn!("cannot watch transcripts with file events: {e}; polling"),
        }
        w
    }

    /// Polls every file, never using platform events (tests, and filesystems without events).
    pub fn force_poll(tx: UnboundedSender<PathBuf>, poll_interval: Duration) -> Watcher {
        Watcher::build(tx, poll_interval)
    }

    fn build(tx: UnboundedSender<PathBuf>, poll_interval: Duration) -> Watcher {
        let polled: Arc<Mutex<HashMap<PathBuf, Stamp>>> = Arc::default();
        let (stop, stopped) = mpsc::channel::<()>();
        let poller = {
            let polled = Arc::clone(&polled);
            let tx = tx.clone();
            std::thread::Builder::new()
                .name("transcript-poll".into())
                .spawn(move || poll_loop(&polled, &tx, &stopped, poll_interval))
                .map_err(|e| tracing::warn!("cannot start the transcript poll thread: {e}"))
                .ok()
        };
        Watcher {
            tx,
            routes: Arc::default(),
            notify: Mutex::new(None),
            polled,
            stop: Some(stop),
            poller,
        }
    }

    /// Starts reporting `path` (idempotent). Returns how it is watched.
    pub fn watch(&self, path: &Path) -> WatchMode {
        if lock(&self.polled).contains_key(path) {
            return WatchMode::Poll;
        }
        let (Some(dir), Some(name)) = (parent_dir(path), path.file_name()) else {
            return self.poll(path);
        };
        {
            let mut routes = lock(&self.routes);
            if let Some(files) = routes.dirs.get_mut(&dir) {
                files.insert(name.to_owned(), path.to_owned());
                return WatchMode::Notify;
            }
        }
        let mut notify = lock(&self.notify);
        let Some(watcher) = notify.as_mut() else {
            return self.poll(path);
        };
        // Routed before the watch starts so that no event in between is lost.
        lock(&self.routes)
            .dirs
            .entry(dir.clone())
            .or_default()
            .insert(name.to_owned(), path.to_owned());
        match watcher.watch(&dir, RecursiveMode::NonRecursive) {
            Ok(()) => WatchMode::Notify,
            Err(e) => {
                tracing::debug!(dir = %dir.display(), "cannot watch, polling instead: {e}");
                let mut routes = lock(&self.routes);
                if let Some(files) = routes.dirs.get_mut(&dir) {
                    files.remove(name);
                    if files.is_empty() {
                        routes.dirs.remove(&dir);
                    }
                }
                drop(routes);
                drop(notify);
                self.poll(path)
            }
        }
    }

    fn poll(&self, path: &Path) -> WatchMode {
        lock(&self.polled)
            .entry(path.to_owned())
            .or_insert_with(|| stamp(path));
        WatchMode::Poll
    }

    /// Stops reporting `path`; its directory is unwatched with its last file.
    pub fn unwatch(&self, path: &Path) {
        if lock(&self.polled).remove(path).is_some() {
            return;
        }
        let (Some(dir), Some(name)) = (parent_dir(path), path.file_name()) else {
            return;
        };
        let now_empty = {
            let mut routes = lock(&self.routes);
            let Some(files) = routes.dirs.get_mut(&dir) else {
                return;
            };
            files.remove(name);
            files.is_empty() && routes.dirs.remove(&dir).is_some()
        };
        if now_empty {
            if let Some(w) = lock(&self.notify).as_mut() {
                let _ = w.unwatch(&dir);
            }
        }
    }

    /// How many files are watched, by either means.
    pub fn watched_count(&self) -> usize {
        let routed: usize = lock(&self.routes).dirs.values().map(HashMap::len).sum();
        routed + lock(&self.polled).len()
    }

    /// How many of them are polled.
    pub fn polled_count(&self) -> usize {
        lock(&self.polled).len()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.poller.take() {
            let _ = t.join();
        }
    }
}

/// The directory to watch for `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> Option<PathBuf> {
    match path.parent() {
        Some(d) if d.as_os_str().is_empty() => Some(PathBuf::from(".")),
        Some(d) => Some(d.to_owned()),
        None => None,
    }
}

/// The notify handler: reports the watched files an event names.
fn route(
    routes: &Mutex<Routes>,
    tx: &UnboundedSender<PathBuf>,
    res: notify::Result<notify::Event>,
) {
    let routes = lock(routes);
    let everything = || {
        routes
            .dirs
            .values()
            .flat_map(|files| files.values().cloned())
            .collect::<Vec<_>>()
    };
    let hits: Vec<PathBuf> = match res {
        // Reads (ours included) open and close files; only writes matter.
        Ok(ev) if matches!(ev.kind, EventKind::Access(k) if k != AccessKind::Close(AccessMode::Write)) => {
            Vec::new()
        }
        // Lost events: anything may have changed.
        Ok(ev) if ev.need_rescan() || ev.paths.is_empty() => everything(),
        Ok(ev) => {
            let mut seen = HashSet::new();
            ev.paths
                .iter()
                .filter_map(|p| {
                    let files = routes.dirs.get(p.parent()?)?;
                    files.get(p.file_name()?).cloned()
                })
                .filter(|p| seen.insert(p.clone()))
                .collect()
        }
        Err(_) => everything(),
    };
    drop(routes);
    for path in hits {
        let _ = tx.send(path);
    }
}

fn poll_loop(
    polled: &Mutex<HashMap<PathBuf, Stamp>>,
    tx: &UnboundedSender<PathBuf>,
    stop: &mpsc::Receiver<()>,
    interval: Duration,
) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(interval) {
        let paths: Vec<PathBuf> = lock(polled).keys().cloned().collect();
        for path in paths {
            let now = stamp(&path);
            let changed = match lock(polled).get_mut(&path) {
                Some(seen) if *seen != now => {
                    *seen = now;
                    now.is_some()
                }
                _ => false,
            };
            if changed {
                let _ = tx.send(path);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

    fn append(path: &Path, data: &[u8]) {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap()
            .write_all(data)
            .unwrap();
    }

    /// Waits up to 5 s for a report of `path`.
    fn expect_report(rx: &mut UnboundedReceiver<PathBuf>, path: &Path) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            match rx.try_recv() {
                Ok(p) if p == path => return,
                Ok(_) => {}
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        panic!("no report for {}", path.display());
    }

    fn drain(rx: &mut UnboundedReceiver<PathBuf>) -> Vec<PathBuf> {
        std::thread::sleep(Duration::from_millis(200));
        let mut out = Vec::new();
        while let Ok(p) = rx.try_recv() {
            out.push(p);
        }
        out
    }

    #[test]
    fn notify_reports_an_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        let other = dir.path().join("other.jsonl");
        append(&path, b"1\n");
        let (tx, mut rx) = unbounded_channel();
        let w = Watcher::new(tx);
        assert_eq!(w.watch(&path), WatchMode::Notify);
        assert_eq!(w.watch(&path), WatchMode::Notify);
        assert_eq!(w.watched_count(), 1);
        drain(&mut rx);
        append(&path, b"2\n");
        expect_report(&mut rx, &path);
        // A sibling that is not watched is not reported.
        drain(&mut rx);
        append(&other, b"x\n");
        assert!(!drain(&mut rx).contains(&other));
        // Replacement by rename is seen too.
        let tmp = dir.path().join("s.tmp");
        append(&tmp, b"new\n");
        std::fs::rename(&tmp, &path).unwrap();
        expect_report(&mut rx, &path);
        // Reading the file does not report it.
        drain(&mut rx);
        let _ = std::fs::read(&path).unwrap();
        assert!(drain(&mut rx).is_empty());
        w.unwatch(&path);
        assert_eq!(w.watched_count(), 0);
        append(&path, b"3\n");
        assert!(drain(&mut rx).is_empty());
    }

    #[test]
    fn forced_poll_reports_an_append() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.jsonl");
        append(&path, b"1\n");
        let (tx, mut rx) = unbounded_channel();
        let w = Watcher::force_poll(tx, Duration::from_millis(20));
        assert_eq!(w.watch(&path), WatchMode::Poll);
        assert_eq!((w.watched_count(), w.polled_count()), (1, 1));
        assert!(drain(&mut rx).is_empty(), "nothing changed yet");
        append(&path, b"2\n");
        expect_report(&mut rx, &path);
        w.unwatch(&path);
        assert_eq!(w.watched_count(), 0);
    }

    #[test]
    fn an_unwatchable_directory_falls_back_to_polling() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("later").join("s.jsonl");
        let (tx, mut rx) = unbounded_channel();
        let w = Watcher::with_poll_interval(tx, Duration::from_millis(20));
        assert_eq!(w.watch(&path), WatchMode::Poll);
        assert_eq!(w.polled_count(), 1);
        std::fs::create_dir(dir.path().join("later")).unwrap();
        append(&path, b"1\n");
        expect_report(&mut rx, &path);
    }
}
