//! A tiny fake HTTP/1.1 server on 127.0.0.1 for the fake model APIs (fake_anthropic.rs,
//! fake_openai.rs): they supply only the routing and the API-specific answers.
//!
//! By hand with std only: one thread per connection, `Content-Length` bodies (the clients never
//! send chunked ones, nor compressed ones), one response per connection (`connection: close`).
//! Every well-formed request is kept in memory, in arrival order, so a test can read what the
//! client sent.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Bodies larger than this are refused rather than buffered.
const MAX_BODY: usize = 64 << 20;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Without the query string.
    pub path: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What the handler answers; sent with `content-length`, `cache-control: no-cache` and
/// `connection: close`.
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            content_type,
            body: body.into(),
        }
    }

    pub fn json(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response::new(status, "application/json", body)
    }

    /// A complete server-sent event stream.
    pub fn sse(events: impl Into<Vec<u8>>) -> Response {
        Response::new(200, "text/event-stream", events)
    }
}

type Handler = dyn Fn(&Request) -> Response + Send + Sync;

pub struct FakeHttp {
    port: u16,
    log: Arc<Mutex<Vec<Request>>>,
    stopping: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl FakeHttp {
    /// Binds an ephemeral port and serves until dropped: `handler` answers every request that
    /// parses (after it is logged), `bad_request` renders the 400 for one that does not.
    pub fn start(
        bad_request: fn(&str) -> Response,
        handler: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) -> FakeHttp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let stopping = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let acceptor = {
            let log = Arc::clone(&log);
            let stopping = Arc::clone(&stopping);
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(conn) = conn else { continue };
                    let log = Arc::clone(&log);
                    let handler = Arc::clone(&handler);
                    std::thread::spawn(move || serve(conn, &log, bad_request, &*handler));
                }
            })
        };
        FakeHttp {
            port,
            log,
            stopping,
            acceptor: Some(acceptor),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Sends `request` verbatim on a fresh connection and returns the whole reply; for the
    /// servers' own tests.
    pub fn raw(&self, request: &str) -> String {
        let mut conn = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        conn.write_all(request.as_bytes()).expect("write");
        let mut reply = String::new();
        conn.read_to_string(&mut reply).expect("read the reply");
        reply
    }
}

impl Drop for FakeHttp {
    fn drop(&mut self) {
        // `incoming()` blocks in accept; a throwaway connection lets the thread see the flag.
        self.stopping.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    conn: TcpStream,
    log: &Mutex<Vec<Request>>,
    bad_request: fn(&str) -> Response,
    handler: &Handler,
) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(30)));
    let mut out = match conn.try_clone() {
        Ok(c) => c,
        Err(_) => return,
    };
    let response = match read_request(BufReader::new(conn)) {
        Ok(Some(req)) => {
            log.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(req.clone());
            handler(&req)
        }
        Ok(None) => return, // closed without a request (e.g. the shutdown poke)
        Err(msg) => bad_request(&msg),
    };
    let _ = respond(&mut out, &response);
    let _ = out.flush();
    let _ = out.shutdown(Shutdown::Write);
}

fn read_request(mut r: impl BufRead) -> Result<Option<Request>, String> {
    let mut line = String::new();
    if r.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(format!("bad request line {line:?}"));
    };
    let path = target.split('?').next().unwrap_or("").to_string();
    let method = method.to_string();

    let mut headers = Vec::new();
    loop {
        line.clear();
        if r.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            return Err("connection closed inside the headers".into());
        }
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let len = match headers.iter().find(|(k, _)| k == "content-length") {
        Some((_, v)) => v
            .parse::<usize>()
            .map_err(|_| format!("bad content-length {v:?}"))?,
        None => 0,
    };
    if len > MAX_BODY {
        return Err(format!("body of {len} bytes is too large"));
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).map_err(|e| e.to_string())?;
    if headers
        .iter()
        .any(|(k, v)| k == "content-encoding" && v != "identity")
    {
        return Err("compressed request bodies are not supported".into());
    }
    Ok(Some(Request {
        method,
        path,
        headers,
        body,
    }))
}

fn respond(out: &mut TcpStream, response: &Response) -> std::io::Result<()> {
    let status = response.status;
    let reason = match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Status",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: {}\r\ncontent-length: {}\r\n\
         cache-control: no-cache\r\nconnection: close\r\n\r\n",
        response.content_type,
        response.body.len()
    );
    out.write_all(head.as_bytes())?;
    out.write_all(&response.body)
}
