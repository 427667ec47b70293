//! `dashclawd status` and `dashclawd stop`: control requests over the daemon's own socket, so
//! the same peer-uid check protects them.

use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use serde_json::Value;

use crate::paths::Paths;
use crate::protocol::{self, Request, Response};

fn request(paths: &Paths, cmd: &str) -> Result<Vec<u8>> {
    // Protected mode: the system service's socket, as the hooks use it.
    let socket = match crate::protected::for_hook().map_err(anyhow::Error::msg)? {
        Some(conf) => conf.socket,
        None => paths.socket.clone(),
    };
    let mut stream = UnixStream::connect(&socket).with_context(|| {
        format!(
            "dashclawd is not running (no answer on {})",
            socket.display()
        )
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut req = Request::new(Vec::new());
    req.set("control", cmd);
    protocol::write_frame(&mut stream, &req.encode())?;
    match Response::read_from(&mut stream, protocol::VERSION)? {
        Response::Final(r) => Ok(r.stdout),
        Response::Reject(msg) => anyhow::bail!("dashclawd refused: {msg}"),
        Response::Hold { .. } => anyhow::bail!("unexpected hold from dashclawd"),
    }
}

pub fn status(json: bool) -> Result<ExitCode> {
    let paths = Paths::from_env()?;
    let out = match request(&paths, "status") {
        Ok(out) => out,
        Err(e) => {
            eprintln!("dashclawd: {e:#}");
            eprintln!(
                "hint: hooks start it on demand; to start it now run `dashclawd run` (logs in {})",
                paths.log_dir.display()
            );
            return Ok(ExitCode::from(3));
        }
    };
    let v: Value = serde_json::from_slice(&out).context("dashclawd sent an unreadable status")?;
    if json {
        println!("{v}");
    } else {
        println!(
            "dashclawd {} running (pid {}, up {}s, protocol v{})",
            v["version"].as_str().unwrap_or("?"),
            v["pid"],
            v["uptime_secs"],
            v["protocol"]
        );
        println!("  socket:   {}", v["socket"].as_str().unwrap_or(""));
        println!("  ledger:   {}", v["ledger"].as_str().unwrap_or(""));
        println!("  logs:     {}", v["log_dir"].as_str().unwrap_or(""));
        println!("  served:   {} requests", v["requests_served"]);
        println!("  spool:    {} pending", v["spool_pending"]);
        match v["idle_timeout_secs"].as_u64() {
            Some(s) => println!("  lifetime: auto-started, exits after {s}s idle"),
            None => println!("  lifetime: runs until stopped"),
        }
        let pol = &v["policies"];
        match pol["last_error"].as_str() {
            Some(err) => println!(
                "  policies: {} BROKEN: {err}",
                pol["path"].as_str().unwrap_or("")
            ),
            None => println!(
                "  policies: {} active from {}",
                pol["active_policies"],
                pol["path"].as_str().unwrap_or("")
            ),
        }
        match v["config_error"].as_str() {
            Some(err) => println!("  config:   BROKEN, gating events are denied: {err}"),
            None => println!("  config:   {} (ok)", v["config"].as_str().unwrap_or("")),
        }
        print_server(&v["server"]);
        let t = &v["transcripts"];
        if t.is_object() {
            let lag = t["sessions"]
                .as_array()
                .and_then(|s| s.iter().filter_map(|x| x["ms_since_ack"].as_u64()).max());
            println!(
                "  transcripts: {} sessions watched, {} lines / {} bytes shipped, backlog {} bytes{}{}",
                t["sessions_watched"],
                t["lines_shipped"],
                t["bytes_shipped"],
                t["backlog_bytes"],
                lag.map(|ms| format!(", oldest ack {ms} ms ago")).unwrap_or_default(),
                if t["enabled"] == Value::Bool(false) { " (the server has no ingest: off)" } else { "" },
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The server lines of the human status.
fn print_server(s: &Value) {
    if s["configured"] != Value::Bool(true) {
        match s["error"].as_str() {
            Some(e) => println!("  server:   UNUSABLE, gating events are denied: {e}"),
            None => println!("  server:   none (offline: local policies, local approvals)"),
        }
        return;
    }
    println!(
        "  server:   {} ({} line, key from {}, unavailable policy {})",
        s["base_url"].as_str().unwrap_or("?"),
        s["line"].as_str().unwrap_or("?"),
        s["api_key"].as_str().unwrap_or("?"),
        s["unavailable_policy"].as_str().unwrap_or("?"),
    );
    println!(
        "  guard:    {} calls, {} failed, last {:.1} ms; {} approval waits; event stream {}",
        s["guard_calls"],
        s["guard_failures"],
        s["last_guard_ms"].as_f64().unwrap_or(0.0),
        s["approvals_waited"],
        if s["event_stream_connected"] == Value::Bool(true) {
            "connected"
        } else {
            "down"
        },
    );
    let o = &s["outbox"];
    println!(
        "  outbox:   {} pending ({} bytes), {} parked, {} delivered",
        o["pending"], o["pending_bytes"], o["parked"], s["delivered"]
    );
    if let Some(e) = s["last_error"].as_str() {
        println!("  last server error: {e}");
    }
}

pub fn stop() -> Result<ExitCode> {
    let paths = Paths::from_env()?;
    match request(&paths, "stop") {
        Ok(_) => {
            // Wait for the daemon to be gone (its pid file is removed last; with socket
            // activation the socket itself stays) so a following start does not race it.
            for _ in 0..200 {
                if !paths.pid_file.exists() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(25));
            }
            println!("dashclawd stopped");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("dashclawd: {e:#}");
            Ok(ExitCode::from(3))
        }
    }
}
