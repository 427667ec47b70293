//! The hook's own deadline, kept by an interval timer instead of a second thread.
//!
//! A watchdog thread cost every call a clone, a stack and a malloc arena (about a tenth of the
//! whole allow path). The timer is one `setitimer`; when it fires, its SIGALRM handler answers
//! the agent with async-signal-safe system calls only: everything it writes (the deny line,
//! the spool frame, the file names) was prepared by the main thread beforehand, so the handler
//! neither allocates nor takes a lock. Whoever claims the answer first (the main thread or the
//! handler) answers; the handler returns without a word when the main thread already has.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

/// Set once by whoever answers the agent: the main thread or the timer's handler.
static ANSWERED: AtomicBool = AtomicBool::new(false);
/// What the handler answers; replaced (never freed: the handler may be reading it) as the
/// main thread learns more (the request, where the spool is).
static ANSWER: AtomicPtr<Answer> = AtomicPtr::new(ptr::null_mut());

/// The deadline's answer, prepared in full by the main thread.
pub struct Answer {
    /// Exit code: 2 (deny) for a gating event, 0 for a record event.
    pub code: i32,
    /// The stderr line when nothing is spooled (or the spool failed).
    pub line: Vec<u8>,
    /// A frame to keep for the daemon, with the line to print once it is kept.
    pub spool: Option<Spool>,
}

/// A frame to write to `<dir>/.<name>.tmp`, synced, then renamed to `<dir>/<name>.req`.
pub struct Spool {
    /// The directories to create first, outermost first (mode 0700; existing ones are fine).
    mkdirs: Vec<CString>,
    tmp: CString,
    dst: CString,
    frame: Vec<u8>,
    kept_line: Vec<u8>,
}

impl Spool {
    /// `dirs` are the spool directory and the ancestors the hook may have to create.
    pub fn new(dirs: &[&Path], name: &str, frame: Vec<u8>, kept_line: Vec<u8>) -> Option<Spool> {
        let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).ok();
        let dir = *dirs.last()?;
        Some(Spool {
            mkdirs: dirs.iter().map(|d| c(d)).collect::<Option<_>>()?,
            tmp: c(&dir.join(format!(".{name}.tmp")))?,
            dst: c(&dir.join(format!("{name}.req")))?,
            frame,
            kept_line,
        })
    }

    /// Async-signal-safe: raw system calls on prepared buffers.
    fn write(&self) -> bool {
        // SAFETY: every pointer is a NUL-terminated CString or a live buffer owned by `self`.
        unsafe {
            for d in &self.mkdirs {
                libc::mkdir(d.as_ptr(), 0o700);
            }
            let fd = libc::open(
                self.tmp.as_ptr(),
                libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
                0o600,
            );
            if fd < 0 {
                return false;
            }
            let ok = write_all(fd, &self.frame) && libc::fsync(fd) == 0;
            libc::close(fd);
            if !ok || libc::rename(self.tmp.as_ptr(), self.dst.as_ptr()) != 0 {
                libc::unlink(self.tmp.as_ptr());
                return false;
            }
        }
        true
    }
}

/// Installs the handler (and unblocks SIGALRM, which an agent may have left blocked in the mask
/// we inherit) with the answer to give if the deadline passes before anything else is known.
pub fn install(answer: Answer) {
    set_answer(answer);
    // SAFETY: a plain sigaction with a handler that only makes async-signal-safe calls.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_deadline as *const () as libc::sighandler_t;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        libc::sigaction(libc::SIGALRM, &sa, ptr::null_mut());
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGALRM);
        libc::sigprocmask(libc::SIG_UNBLOCK, &set, ptr::null_mut());
    }
}

/// Replaces the deadline's answer.
pub fn set_answer(answer: Answer) {
    // The previous one is leaked on purpose: the handler may hold it right now, and a hook
    // process replaces it at most twice.
    ANSWER.store(Box::into_raw(Box::new(answer)), Ordering::SeqCst);
}

/// (Re)arms the timer to fire `ms` milliseconds from now.
pub fn arm(ms: u64) {
    let ms = ms.max(1);
    let it = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: libc::timeval {
            tv_sec: (ms / 1000) as libc::time_t,
            tv_usec: ((ms % 1000) * 1000) as libc::suseconds_t,
        },
    };
    // SAFETY: setitimer reads the struct we pass; no old value is asked for.
    unsafe { libc::setitimer(libc::ITIMER_REAL, &it, ptr::null_mut()) };
}

/// Makes the caller the one that answers the agent. False when the handler already has (it
/// then exits the process, so the main thread never sees false in practice).
pub fn claim() -> bool {
    !ANSWERED.swap(true, Ordering::SeqCst)
}

extern "C" fn on_deadline(_sig: libc::c_int) {
    if !claim() {
        return; // the main thread is answering; it exits shortly
    }
    let answer = ANSWER.load(Ordering::SeqCst);
    // SAFETY: set by `set_answer` from a leaked Box, never freed.
    let Some(answer) = (unsafe { answer.as_ref() }) else {
        unsafe { libc::_exit(2) }
    };
    let line = match &answer.spool {
        Some(s) if s.write() => &s.kept_line,
        _ => &answer.line,
    };
    write_all(2, line);
    write_all(2, b"\n");
    // SAFETY: _exit is async-signal-safe and skips atexit handlers the interrupted code may hold.
    unsafe { libc::_exit(answer.code) }
}

fn write_all(fd: libc::c_int, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        // SAFETY: writes from a live slice.
        let n = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return false;
        }
        bytes = &bytes[n as usize..];
    }
    true
}
