//! Reading complete new lines of an append-only file from a persisted [`Cursor`].
//!
//! Each [`Tailer::read_lines`] opens the file by path, checks that it is still the file the
//! cursor was made for (device and inode, then a hash of its first bytes), and reads at most
//! about `max_bytes` from the cursor's offset. Only lines that end in `\n` are returned; the bytes
//! after the last newline stay unread until the writer finishes the line, so a line written in
//! two pieces is delivered once, whole. Memory is bounded by the chunk size, except for a single
//! line longer than the chunk, which is read whole up to [`MAX_LINE`] and skipped beyond it.

use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// How many leading bytes of the file identify its content (see [`Cursor::head`]).
pub const HEAD_LEN: usize = 4096;
/// The longest line delivered; a longer one is skipped and counted in [`Chunk::oversized`].
pub const MAX_LINE: usize = 16 * 1024 * 1024;

/// A position in one particular file: where to continue, and how to tell that the file at the
/// path is still the one this position belongs to.
///
/// `dev` and `ino` of zero mean "not yet bound to a file" (a fresh cursor); the first read binds
/// it without reporting a reset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Byte offset just past the last delivered line.
    pub offset: u64,
    pub dev: u64,
    pub ino: u64,
    /// First 8 bytes (big-endian) of the SHA-256 of the file's first `head_len` bytes.
    pub head: u64,
    /// `min(HEAD_LEN, offset)`: only bytes already delivered are part of the identity, so an
    /// append never changes it and a rewrite of what we sent does.
    pub head_len: u32,
}

impl Cursor {
    /// A cursor at the start of whatever file is at the path on the first read.
    pub fn start() -> Cursor {
        Cursor::default()
    }

    /// A cursor bound to `file` at `offset` (a position found by another reader).
    pub fn at(file: &File, offset: u64) -> io::Result<Cursor> {
        use std::os::unix::fs::MetadataExt;
        let m = file.metadata()?;
        let head_len = offset.min(HEAD_LEN as u64) as usize;
        Ok(Cursor {
            offset,
            dev: m.dev(),
            ino: m.ino(),
            head: head_hash(file, head_len)?.unwrap_or(0),
            head_len: head_len as u32,
        })
    }

    fn is_bound(&self) -> bool {
        self.dev != 0 || self.ino != 0
    }
}

/// Why a read started over from the beginning of the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reset {
    /// Another file now has the path (different device or inode): rename-over, rotation,
    /// delete and re-create.
    Replaced,
    /// The same file is shorter than the cursor, or its first bytes changed (rewritten in place).
    Truncated,
}

/// One read's worth of complete lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunk {
    /// Complete lines, in file order, without the `\n` (nor a trailing `\r`). Empty lines are
    /// skipped.
    pub lines: Vec<String>,
    /// The cursor just past `lines` (and past any dropped line among them). Persist it only
    /// once the lines are safely delivered.
    pub next: Cursor,
    /// Set when this read started over from offset 0.
    pub reset: Option<Reset>,
    /// Lines dropped because they are not UTF-8.
    pub invalid_utf8: u32,
    /// Lines dropped because they are longer than the tailer's line cap.
    pub oversized: u32,
    /// The read stopped at `max_bytes`: more complete lines may be waiting.
    pub more: bool,
}

/// Reads complete new lines of one file; see the module docs.
///
/// The tailer keeps its own read position, so successive calls return successive chunks. A
/// caller that could not deliver a chunk goes back with [`Tailer::seek`] to the last
/// acknowledged cursor.
#[derive(Debug)]
pub struct Tailer {
    path: PathBuf,
    pos: Cursor,
    max_line: usize,
    /// While skipping an oversized line that has no newline yet: how far it was scanned, so the
    /// next read continues there rather than rescanning megabytes. Not persisted.
    skip_scanned: Option<u64>,
}

/// The error for a transcript that is gone. Its kind is [`io::ErrorKind::NotFound`].
fn missing(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("transcript {} is missing: {e}", path.display()),
    )
}

/// Hash of the file's first `len` bytes; `None` when the file is shorter than that.
fn head_hash(file: &File, len: usize) -> io::Result<Option<u64>> {
    let mut buf = vec![0u8; len];
    let mut filled = 0;
    while filled < len {
        match file.read_at(&mut buf[filled..], filled as u64) {
            Ok(0) => return Ok(None),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let digest = Sha256::digest(&buf);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    Ok(Some(u64::from_be_bytes(first)))
}

/// Reads up to `buf.len()` bytes at `offset`, retrying short reads until EOF. Returns the count.
fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl Tailer {
    /// Tails `path` from `cursor` (`Cursor::start()` for the beginning).
    pub fn new(path: impl Into<PathBuf>, cursor: Cursor) -> Tailer {
        Tailer {
            path: path.into(),
            pos: cursor,
            max_line: MAX_LINE,
            skip_scanned: None,
        }
    }

    /// Lowers (or raises) the longest line delivered; mostly for tests.
    pub fn with_max_line(mut self, max_line: usize) -> Tailer {
        self.max_line = max_line.max(1);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current read position (past everything returned so far).
    pub fn cursor(&self) -> Cursor {
        self.pos
    }

    /// Moves the read position, e.g. back to the last acknowledged cursor after a failed send.
    pub fn seek(&mut self, cursor: Cursor) {
        self.pos = cursor;
        self.skip_scanned = None;
    }

    /// Reads the complete lines after the cursor, about `max_bytes` of them (at least one whole
    /// line when one is complete, even if it is longer). Returns an empty chunk when nothing new
    /// is complete. A missing file is an error of kind [`io::ErrorKind::NotFound`].
    pub fn read_lines(&mut self, max_bytes: usize) -> io::Result<Chunk> {
        let max_bytes = max_bytes.max(1);
        let file = File::open(&self.path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => missing(&self.path, e),
            _ => e,
        })?;
        let meta = file.metadata()?;
        let size = meta.len();
        let mut chunk = Chunk::default();

        let mut pos = self.pos;
        if !pos.is_bound() {
            pos = Cursor {
                dev: meta.dev(),
                ino: meta.ino(),
                ..Cursor::default()
            };
            self.skip_scanned = None;
        } else if (pos.dev, pos.ino) != (meta.dev(), meta.ino()) {
            chunk.reset = Some(Reset::Replaced);
        } else if size < pos.offset
            || (pos.head_len > 0 && head_hash(&file, pos.head_len as usize)? != Some(pos.head))
        {
            chunk.reset = Some(Reset::Truncated);
        }
        if chunk.reset.is_some() {
            pos = Cursor {
                dev: meta.dev(),
                ino: meta.ino(),
                ..Cursor::default()
            };
            self.skip_scanned = None;
        }

        let start = pos.offset;
        let consumed = self.read_from(&file, start, size, max_bytes, &mut chunk)?;
        pos.offset = start + consumed;
        if (pos.head_len as usize) < HEAD_LEN && pos.offset > u64::from(pos.head_len) {
            let len = (pos.offset as usize).min(HEAD_LEN);
            // The file cannot be shorter than what we just read unless it was truncated in
            // between; then the next read notices the mismatch.
            pos.head = head_hash(&file, len)?.unwrap_or(0);
            pos.head_len = len as u32;
        }
        self.pos = pos;
        chunk.next = pos;
        Ok(chunk)
    }

    /// Fills `chunk` from `start`; returns how many bytes were consumed (complete lines only).
    fn read_from(
        &mut self,
        file: &File,
        start: u64,
        size: u64,
        max_bytes: usize,
        chunk: &mut Chunk,
    ) -> io::Result<u64> {
        if let Some(scanned) = self.skip_scanned {
            return self.skip_line(file, start, scanned, max_bytes, chunk);
        }
        // Sized by what the file had at open: a few new bytes cost a few bytes. Anything
        // written since is picked up by the next read.
        let available = usize::try_from(size.saturating_sub(start)).unwrap_or(usize::MAX);
        if available == 0 {
            return Ok(0);
        }
        let mut buf = vec![0u8; max_bytes.min(available)];
        let n = read_full_at(file, &mut buf, start)?;
        buf.truncate(n);
        if let Some(last) = buf.iter().rposition(|&b| b == b'\n') {
            chunk.more = n == max_bytes;
            buf.truncate(last + 1);
            for raw in buf.split(|&b| b == b'\n') {
                self.push_line(raw, chunk);
            }
            return Ok(last as u64 + 1);
        }
        if n < max_bytes {
            // A partial line at the end of the file: wait for its newline.
            return Ok(0);
        }
        // One line longer than the chunk: read on, in chunk-sized steps, until its newline.
        self.long_line(file, start, buf, max_bytes, chunk)
    }

    /// `buf` holds the first `max_bytes` of a line without a newline yet.
    fn long_line(
        &mut self,
        file: &File,
        start: u64,
        mut buf: Vec<u8>,
        max_bytes: usize,
        chunk: &mut Chunk,
    ) -> io::Result<u64> {
        loop {
            if buf.len() > self.max_line {
                let scanned = start + buf.len() as u64;
                drop(buf);
                return self.skip_line(file, start, scanned, max_bytes, chunk);
            }
            let have = buf.len();
            let step = max_bytes.min(self.max_line + 1 - have);
            buf.resize(have + step, 0);
            let n = read_full_at(file, &mut buf[have..], start + have as u64)?;
            buf.truncate(have + n);
            if let Some(i) = buf[have..].iter().position(|&b| b == b'\n') {
                let end = have + i;
                if end > self.max_line {
                    chunk.oversized += 1;
                } else {
                    self.push_line(&buf[..end], chunk);
                }
                chunk.more = true;
                return Ok(end as u64 + 1);
            }
            if n < step {
                // The long line is not finished yet.
                return Ok(0);
            }
        }
    }

    /// Scans (without keeping) an oversized line starting at `start`, from `scanned`, for its
    /// newline; consumes it when found, else remembers how far it got.
    fn skip_line(
        &mut self,
        file: &File,
        start: u64,
        mut scanned: u64,
        max_bytes: usize,
        chunk: &mut Chunk,
    ) -> io::Result<u64> {
        let mut buf = vec![0u8; max_bytes];
        loop {
            let n = read_full_at(file, &mut buf, scanned)?;
            if let Some(i) = buf[..n].iter().position(|&b| b == b'\n') {
                self.skip_scanned = None;
                chunk.oversized += 1;
                chunk.more = true;
                return Ok(scanned + i as u64 + 1 - start);
            }
            scanned += n as u64;
            if n < max_bytes {
                self.skip_scanned = Some(scanned);
                return Ok(0);
            }
        }
    }

    fn push_line(&self, raw: &[u8], chunk: &mut Chunk) {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            return;
        }
        if raw.len() > self.max_line {
            chunk.oversized += 1;
            return;
        }
        match std::str::from_utf8(raw) {
            Ok(s) => chunk.lines.push(s.to_owned()),
            Err(_) => chunk.invalid_utf8 += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn append(path: &Path, data: &[u8]) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(data).unwrap();
    }

    fn read_all(t: &mut Tailer, max: usize) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            let c = t.read_lines(max).unwrap();
            assert!(c.reset.is_none());
            let got = !c.lines.is_empty();
            out.extend(c.lines);
            if !got && !c.more {
                return out;
            }
        }
    }

    #[test]
    fn growing_file_in_order_without_gaps_or_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        append(&path, b"");
        let mut t = Tailer::new(&path, Cursor::start());
        let mut seen = Vec::new();
        let mut next = 0;
        for round in 0..200 {
            // Several lines per append, sometimes with the last one unfinished.
            let mut data = String::new();
            for _ in 0..(round % 5) {
                data.push_str(&format!("{{\"n\":{next}}}\n"));
                next += 1;
            }
            append(&path, data.as_bytes());
            // Tiny and odd chunk sizes exercise the boundaries.
            seen.extend(read_all(&mut t, 7 + round % 13));
        }
        let want: Vec<String> = (0..next).map(|n| format!("{{\"n\":{n}}}")).collect();
        assert_eq!(seen, want);
        // A fresh tailer from the persisted cursor sees nothing new.
        let mut again = Tailer::new(&path, t.cursor());
        assert_eq!(again.read_lines(1024).unwrap().lines, Vec::<String>::new());
    }

    #[test]
    fn a_line_split_across_two_writes_is_delivered_once_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        append(&path, b"{\"a\":1}\n{\"b\":");
        let mut t = Tailer::new(&path, Cursor::start());
        let c = t.read_lines(1024).unwrap();
        assert_eq!(c.lines, ["{\"a\":1}"]);
        assert_eq!(c.next.offset, 8);
        // Nothing complete yet, repeatedly.
        assert!(t.read_lines(1024).unwrap().lines.is_empty());
        assert!(t.read_lines(3).unwrap().lines.is_empty());
        append(&path, b"2}\n");
        let c = t.read_lines(1024).unwrap();
        assert_eq!(c.lines, ["{\"b\":2}"]);
        assert!(t.read_lines(1024).unwrap().lines.is_empty());
    }

    #[test]
    fn truncation_restarts_from_zero() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        append(&path, b"one\ntwo\nthree\n");
        let mut t = Tailer::new(&path, Cursor::start());
        assert_eq!(t.read_lines(1024).unwrap().lines.len(), 3);
        let ino = t.cursor().ino;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        append(&path, b"new\n");
        let c = t.read_lines(1024).unwrap();
        assert_eq!(c.reset, Some(Reset::Truncated));
        assert_eq!(c.lines, ["new"]);
        assert_eq!(c.next.offset, 4);
        assert_eq!(c.next.ino, ino);
        assert_eq!(t.read_lines(1024).unwrap().reset, None);
    }

    #[test]
    fn replacement_by_rename_restarts_from_zero() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        append(&path, b"old 1\nold 2\n");
        let mut t = Tailer::new(&path, Cursor::start());
        assert_eq!(t.read_lines(1024).unwrap().lines, ["old 1", "old 2"]);
        let tmp = dir.path().join("t.jsonl.tmp");
        append(&tmp, b"fresh 1\nfresh 2\nfresh 3\n");
        std::fs::rename(&tmp, &path).unwrap();
        let c = t.read_lines(1024).unwrap();
        assert_eq!(c.reset, Some(Reset::Replaced));
        assert_eq!(c.lines, ["fresh 1", "fresh 2", "fresh 3"]);
        assert_ne!(c.next.ino, 0);
    }

    #[test]
    fn same_size_rewrite_with_a_different_head_is_a_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        append(&path, b"aaaa\nbbbb\n");
        let mut t = Tailer::new(&path, Cursor::start());
        assert_eq!(t.read_lines(1024).unwrap().lines.len(), 2);
        let saved = t.cursor();
        // Same inode, same size, different bytes.
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all_at(b"cccc\ndddd\n", 0).unwrap();
        drop(f);
        let mut t = Tailer::new(&path, saved);
        let c = t.read_lines(1024).unwrap();
        assert_eq!(c.reset, Some(Reset::Truncated));
        assert_eq!(c.lines, ["cccc", "dddd"]);
    }

    #[test]
    fn a_missing_file_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = Tailer::new(dir.path().join("nope.jsonl"), Cursor::start());
        let e = t.read_lines(1024).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
        assert!(e.to_string().contains("nope.jsonl"), "{e}");
    }

    #[test]
    fn a_line_longer_than_the_chunk_is_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let long = "x".repeat(10_000);
        append(&path, format!("short\n{long}").as_bytes());
        let mut t = Tailer::new(&path, Cursor::start());
        assert_eq!(t.read_lines(100).unwrap().lines, ["short"]);
        // Unfinished long line: nothing yet.
        assert!(t.read_lines(100).unwrap().lines.is_empty());
        append(&path, b"\nafter\n");
        let c = t.read_lines(100).unwrap();
        assert_eq!(c.lines, [long]);
        assert_eq!(t.read_lines(100).unwrap().lines, ["after"]);
    }

    #[test]
    fn a_line_over_the_cap_is_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        let huge = "y".repeat(5_000);
        append(&path, format!("a\n{huge}").as_bytes());
        let mut t = Tailer::new(&path, Cursor::start()).with_max_line(1_000);
        assert_eq!(t.read_lines(64).unwrap().lines, ["a"]);
        // Still unfinished: nothing delivered, nothing counted, the cursor stays at its start.
        let c = t.read_lines(64).unwrap();
        assert_eq!((c.lines.len(), c.oversized, c.next.offset), (0, 0, 2));
        append(&path, format!("{huge}\nb\n").as_bytes());
        let mut lines = Vec::new();
        let mut oversized = 0;
        for _ in 0..10 {
            let c = t.read_lines(64).unwrap();
            oversized += c.oversized;
            lines.extend(c.lines);
        }
        assert_eq!(lines, ["b"]);
        assert_eq!(oversized, 1);
        // Within one chunk too.
        append(&path, format!("{}\nc\n", "z".repeat(1_500)).as_bytes());
        let c = t.read_lines(1 << 20).unwrap();
        assert_eq!((c.lines, c.oversized), (vec!["c".to_owned()], 1));
    }

    #[test]
    fn invalid_utf8_lines_are_dropped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.jsonl");
        append(&path, b"good\n\xff\xfebad\n\nalso good\r\n");
        let mut t = Tailer::new(&path, Cursor::start());
        let c = t.read_lines(1024).unwrap();
        assert_eq!(c.lines, ["good", "also good"]);
        assert_eq!(c.invalid_utf8, 1);
        assert_eq!(c.next.offset, std::fs::metadata(&path).unwrap().len());
    }

    #[test]
    fn a_large_file_is_read_in_bounded_chunks() {
        const MIB: usize = 1024 * 1024;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.jsonl");
        let mut f = std::io::BufWriter::new(File::create(&path).unwrap());
        let mut written = 0usize;
        let mut n = 0u64;
        while written < 50 * MIB {
            // Varying lengths, 40 to ~1100 bytes.
            let pad = "p".repeat((n as usize * 37) % 1061);
            let line = format!("{{\"n\":{n},\"pad\":\"{pad}\"}}\n");
            f.write_all(line.as_bytes()).unwrap();
            written += line.len();
            n += 1;
        }
        f.flush().unwrap();
        drop(f);
        let mut t = Tailer::new(&path, Cursor::start());
        let mut expect = 0u64;
        let mut chunks = 0;
        loop {
            let c = t.read_lines(MIB).unwrap();
            let bytes: usize = c.lines.iter().map(|l| l.len() + 1).sum();
            assert!(bytes <= MIB, "chunk of {bytes} bytes");
            if c.lines.is_empty() {
                break;
            }
            chunks += 1;
            for line in &c.lines {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                assert_eq!(v["n"], expect);
                expect += 1;
            }
        }
        assert_eq!(expect, n);
        assert!(chunks >= 50, "{chunks} chunks");
        assert_eq!(t.cursor().offset, written as u64);
    }
}
