//! The wire protocol between `dashclaw-hook` and `dashclawd` over the Unix socket.
//!
//! Std only: the hook client links this module and nothing heavier. Frames are length-prefixed
//! binary so neither side needs a JSON parser to frame a message, and the hook's stdin travels as
//! opaque bytes (the daemon parses it).
//!
//! ```text
//! request  := MAGIC u16:version u32:fields_len fields u32:body_len body
//! fields   := { u8:key_len key u32:val_len val }*        (unknown keys are ignored)
//! response := MAGIC u16:version u8:kind payload
//!   kind 1 Final   u8:exit_code u32:len stdout u32:len stderr
//!   kind 2 Hold    u32:extend_ms u32:len message          (daemon is legitimately waiting, e.g. an approval)
//!   kind 3 Reject  u32:len message                        (the daemon cannot serve this request)
//! ```
//!
//! Compatibility: the client sends its version; the daemon serves every version in
//! `MIN_SUPPORTED..=VERSION` and answers in the client's version. A client newer than the daemon
//! gets a `Reject`, whose layout never changes, so the client can print why and deny.
//! All integers are little-endian.

use std::io::{self, Read, Write};

pub const MAGIC: &[u8; 4] = b"DCLW";
/// Version spoken by this build.
pub const VERSION: u16 = 1;
/// Oldest client version this daemon still serves.
pub const MIN_SUPPORTED: u16 = 1;

/// Upper bound for a request body (the hook's stdin). Tool inputs carry whole files, so this is
/// generous; anything larger is refused before it reaches the socket.
pub const MAX_BODY: usize = 16 * 1024 * 1024;
const MAX_FIELDS: usize = 64 * 1024;
const MAX_OUTPUT: usize = 1024 * 1024;

const KIND_FINAL: u8 = 1;
const KIND_HOLD: u8 = 2;
const KIND_REJECT: u8 = 3;

/// Header field names. Keys starting with `env.` carry an environment variable of the hook process.
pub mod field {
    pub const AGENT: &str = "agent";
    pub const EVENT: &str = "event";
    pub const CWD: &str = "cwd";
    pub const PID: &str = "pid";
    /// Unix time in microseconds when the client's `main` started, for latency accounting.
    pub const CLIENT_START_US: &str = "t0";
    /// Unique per hook invocation; lets the daemon drop a spooled duplicate of an event it already has.
    pub const EVENT_ID: &str = "id";
    /// Present (value "1") when the event is replayed from the spool rather than live.
    pub const SPOOLED: &str = "spooled";
    /// Set by the hook on the spooled copy of a call it denied itself (daemon dead, hung or
    /// untrusted): why. The daemon records the deny when it drains the spool.
    pub const HOOK_DENY: &str = "hook_deny";
    pub const ENV_PREFIX: &str = "env.";
}

/// Environment variables the client forwards to the daemon. Secrets (`DASHCLAW_API_KEY`) are
/// deliberately absent: the daemon reads credentials from its own configuration.
pub const FORWARDED_ENV: &[&str] = &[
    "DASHCLAW_AGENT_ID",
    "DASHCLAW_HOOK_MODE",
    "DASHCLAW_WORKSPACE",
    "DASHCLAW_PERMISSION_MODE",
    "DASHCLAW_REDACT_TOOL_RESULTS",
    // Per-install governance settings of the upstream hooks (never the API key).
    "DASHCLAW_BASE_URL",
    "DASHCLAW_URL",
    "DASHCLAW_GUARD_UNAVAILABLE_POLICY",
    "DASHCLAW_APPROVAL_TIMEOUT",
    "DASHCLAW_SUBAGENT_IDENTITY",
    "DASHCLAW_GOVERNED_CATEGORIES",
    "DASHCLAW_REQUIRE_EXECUTION_CLAIMS",
    "CLAUDE_PROJECT_DIR",
    "CLAUDE_CODE_ENTRYPOINT",
    "CLAUDE_CODE_SESSION_ID",
    "CODEX_HOME",
    "HERMES_HOME",
    "HOME",
];

/// Copies the forwarded environment variables of this process into `req`.
pub fn forward_env(req: &mut Request) {
    for name in FORWARDED_ENV {
        if let Some(v) = std::env::var_os(name) {
            req.set(&format!("{}{name}", field::ENV_PREFIX), v.to_string_lossy());
        }
    }
}

/// A hook request as it travels over the socket.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Request {
    pub version: u16,
    pub fields: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn new(body: Vec<u8>) -> Request {
        Request {
            version: VERSION,
            fields: Vec::new(),
            body,
        }
    }

    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        match self.fields.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.fields.push((key.to_string(), value)),
        }
    }

    /// Drops the forwarded `DASHCLAW_*` settings: in protected mode the agent user's
    /// environment must not steer the daemon (observe mode, another server, an agent id).
    pub fn drop_dashclaw_env(&mut self) {
        let prefix = format!("{}DASHCLAW_", field::ENV_PREFIX);
        self.fields.retain(|(k, _)| !k.starts_with(&prefix));
    }

    pub fn env(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.strip_prefix(field::ENV_PREFIX) == Some(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut fields = Vec::new();
        for (k, v) in &self.fields {
            // Keys are ours and short; a longer one is a programming error, truncated rather than
            // corrupting the frame.
            let k = &k.as_bytes()[..k.len().min(255)];
            fields.push(k.len() as u8);
            fields.extend_from_slice(k);
            put_u32(&mut fields, v.len() as u32);
            fields.extend_from_slice(v.as_bytes());
        }
        let mut out = Vec::with_capacity(14 + fields.len() + self.body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.version.to_le_bytes());
        put_u32(&mut out, fields.len() as u32);
        out.extend_from_slice(&fields);
        put_u32(&mut out, self.body.len() as u32);
        out.extend_from_slice(&self.body);
        out
    }

    /// Reads one request. The version is returned as sent; the caller decides whether it can
    /// serve it (see [`check_version`]).
    pub fn read_from(r: &mut impl Read) -> Result<Request, ProtoError> {
        let version = read_preamble(r)?;
        let fields_len = read_u32(r)? as usize;
        if fields_len > MAX_FIELDS {
            return Err(ProtoError::TooLarge("header", fields_len));
        }
        let raw = read_exact_vec(r, fields_len)?;
        let fields = decode_fields(&raw)?;
        let body_len = read_u32(r)? as usize;
        if body_len > MAX_BODY {
            return Err(ProtoError::TooLarge("body", body_len));
        }
        let body = read_exact_vec(r, body_len)?;
        Ok(Request {
            version,
            fields,
            body,
        })
    }

    /// Decodes a complete request held in memory (used for spooled events).
    pub fn decode(bytes: &[u8]) -> Result<Request, ProtoError> {
        let mut cursor = bytes;
        let req = Request::read_from(&mut cursor)?;
        if !cursor.is_empty() {
            return Err(ProtoError::Malformed("trailing bytes after request"));
        }
        Ok(req)
    }
}

fn decode_fields(mut raw: &[u8]) -> Result<Vec<(String, String)>, ProtoError> {
    let mut fields = Vec::new();
    while !raw.is_empty() {
        let klen = raw[0] as usize;
        raw = &raw[1..];
        let key = take(&mut raw, klen)?;
        let vlen = u32::from_le_bytes(take(&mut raw, 4)?.try_into().expect("4 bytes")) as usize;
        let val = take(&mut raw, vlen)?;
        fields.push((
            String::from_utf8_lossy(key).into_owned(),
            String::from_utf8_lossy(val).into_owned(),
        ));
    }
    Ok(fields)
}

fn take<'a>(raw: &mut &'a [u8], n: usize) -> Result<&'a [u8], ProtoError> {
    if raw.len() < n {
        return Err(ProtoError::Malformed("field runs past the header"));
    }
    let (head, tail) = raw.split_at(n);
    *raw = tail;
    Ok(head)
}

/// What the client prints and how it exits.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rendered {
    pub exit_code: u8,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// One daemon → client frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    Final(Rendered),
    /// The daemon is waiting on something legitimate (a human approval); the client extends its
    /// deadline by `extend_ms` from now, up to its own hard cap, and keeps reading.
    Hold {
        extend_ms: u32,
        message: String,
    },
    Reject(String),
}

impl Response {
    pub fn encode(&self, version: u16) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&version.to_le_bytes());
        match self {
            Response::Final(r) => {
                out.push(KIND_FINAL);
                out.push(r.exit_code);
                put_bytes(&mut out, &r.stdout);
                put_bytes(&mut out, &r.stderr);
            }
            Response::Hold { extend_ms, message } => {
                out.push(KIND_HOLD);
                put_u32(&mut out, *extend_ms);
                put_bytes(&mut out, message.as_bytes());
            }
            Response::Reject(msg) => {
                out.push(KIND_REJECT);
                put_bytes(&mut out, msg.as_bytes());
            }
        }
        out
    }

    /// Reads one response frame; `expect_version` is the version the client sent.
    pub fn read_from(r: &mut impl Read, expect_version: u16) -> Result<Response, ProtoError> {
        let version = read_preamble(r)?;
        let mut kind = [0u8; 1];
        r.read_exact(&mut kind).map_err(ProtoError::from_io)?;
        // A Reject is readable whatever its version; everything else must be in ours.
        if kind[0] != KIND_REJECT && version != expect_version {
            return Err(ProtoError::Version {
                ours: expect_version,
                theirs: version,
            });
        }
        match kind[0] {
            KIND_FINAL => {
                let mut code = [0u8; 1];
                r.read_exact(&mut code).map_err(ProtoError::from_io)?;
                let stdout = read_bytes(r, MAX_OUTPUT)?;
                let stderr = read_bytes(r, MAX_OUTPUT)?;
                Ok(Response::Final(Rendered {
                    exit_code: code[0],
                    stdout,
                    stderr,
                }))
            }
            KIND_HOLD => {
                let extend_ms = read_u32(r)?;
                let message = String::from_utf8_lossy(&read_bytes(r, MAX_OUTPUT)?).into_owned();
                Ok(Response::Hold { extend_ms, message })
            }
            KIND_REJECT => Ok(Response::Reject(
                String::from_utf8_lossy(&read_bytes(r, MAX_OUTPUT)?).into_owned(),
            )),
            _ => Err(ProtoError::Malformed("unknown response kind")),
        }
    }
}

/// Whether a daemon of this build can serve a client speaking `client_version`.
pub fn check_version(client_version: u16) -> Result<(), String> {
    if client_version > VERSION {
        Err(format!(
            "dashclaw-hook speaks protocol v{client_version} but the running dashclawd only v{VERSION}; \
             restart the daemon with the new build: `dashclawd stop` (the next hook starts it again)"
        ))
    } else if client_version < MIN_SUPPORTED {
        Err(format!(
            "dashclaw-hook speaks protocol v{client_version}, older than this dashclawd supports \
             (v{MIN_SUPPORTED}..v{VERSION}); reinstall the hooks from the same build"
        ))
    } else {
        Ok(())
    }
}

#[derive(Debug)]
pub enum ProtoError {
    /// The peer closed the connection before a whole frame arrived.
    Eof,
    Io(io::Error),
    BadMagic,
    Version {
        ours: u16,
        theirs: u16,
    },
    TooLarge(&'static str, usize),
    Malformed(&'static str),
}

impl ProtoError {
    fn from_io(e: io::Error) -> ProtoError {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            ProtoError::Eof
        } else {
            ProtoError::Io(e)
        }
    }
}

impl std::fmt::Display for ProtoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProtoError::Eof => f.write_str("connection closed mid-frame"),
            ProtoError::Io(e) => write!(f, "{e}"),
            ProtoError::BadMagic => f.write_str("not a dashclaw frame"),
            ProtoError::Version { ours, theirs } => {
                write!(
                    f,
                    "protocol version mismatch (we speak v{ours}, peer v{theirs})"
                )
            }
            ProtoError::TooLarge(what, n) => write!(f, "{what} of {n} bytes exceeds the limit"),
            ProtoError::Malformed(what) => write!(f, "malformed frame: {what}"),
        }
    }
}

impl std::error::Error for ProtoError {}

fn read_preamble(r: &mut impl Read) -> Result<u16, ProtoError> {
    let mut head = [0u8; 6];
    r.read_exact(&mut head).map_err(ProtoError::from_io)?;
    if &head[..4] != MAGIC {
        return Err(ProtoError::BadMagic);
    }
    Ok(u16::from_le_bytes([head[4], head[5]]))
}

fn read_u32(r: &mut impl Read) -> Result<u32, ProtoError> {
    let mut b = [0u8; 4];
    r.read_exact(&mut b).map_err(ProtoError::from_io)?;
    Ok(u32::from_le_bytes(b))
}

fn read_bytes(r: &mut impl Read, max: usize) -> Result<Vec<u8>, ProtoError> {
    let len = read_u32(r)? as usize;
    if len > max {
        return Err(ProtoError::TooLarge("payload", len));
    }
    read_exact_vec(r, len)
}

fn read_exact_vec(r: &mut impl Read, len: usize) -> Result<Vec<u8>, ProtoError> {
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf).map_err(ProtoError::from_io)?;
    Ok(buf)
}

fn put_u32(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len() as u32);
    out.extend_from_slice(b);
}

/// Writes a whole frame with one `write_all` so it is never interleaved.
pub fn write_frame(w: &mut impl Write, frame: &[u8]) -> io::Result<()> {
    w.write_all(frame)?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trips() {
        let mut req = Request::new(br#"{"tool_name":"Bash"}"#.to_vec());
        req.set(field::AGENT, "claude");
        req.set(field::EVENT, "pre-tool-use");
        req.set("env.HOME", "/home/ü");
        let bytes = req.encode();
        assert_eq!(Request::decode(&bytes).unwrap(), req);
    }

    #[test]
    fn responses_round_trip() {
        for resp in [
            Response::Final(Rendered {
                exit_code: 2,
                stdout: b"{}".to_vec(),
                stderr: b"blocked".to_vec(),
            }),
            Response::Hold {
                extend_ms: 30_000,
                message: "waiting".into(),
            },
            Response::Reject("nope".into()),
        ] {
            let bytes = resp.encode(VERSION);
            assert_eq!(Response::read_from(&mut &bytes[..], VERSION).unwrap(), resp);
        }
    }

    #[test]
    fn truncated_frames_are_errors_not_panics() {
        let mut req = Request::new(b"body".to_vec());
        req.set(field::AGENT, "claude");
        let bytes = req.encode();
        for cut in 0..bytes.len() {
            assert!(Request::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let resp = Response::Final(Rendered::default()).encode(VERSION);
        for cut in 0..resp.len() {
            assert!(Response::read_from(&mut &resp[..cut], VERSION).is_err());
        }
    }

    #[test]
    fn a_final_frame_in_another_version_is_a_mismatch() {
        let bytes = Response::Final(Rendered::default()).encode(VERSION + 1);
        assert!(matches!(
            Response::read_from(&mut &bytes[..], VERSION),
            Err(ProtoError::Version { .. })
        ));
        // A Reject stays readable across versions so the client can explain.
        let bytes = Response::Reject("old daemon".into()).encode(VERSION + 1);
        assert!(Response::read_from(&mut &bytes[..], VERSION).is_ok());
    }

    #[test]
    fn oversize_lengths_are_refused_before_allocation() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&VERSION.to_le_bytes());
        bytes.extend_from_slice(&0u32.to_le_bytes());
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            Request::decode(&bytes),
            Err(ProtoError::TooLarge("body", _))
        ));
    }

    #[test]
    fn version_policy() {
        assert!(check_version(VERSION).is_ok());
        assert!(check_version(VERSION + 1)
            .unwrap_err()
            .contains("dashclawd stop"));
    }
}
