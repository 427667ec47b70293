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
            // Why it is not running, when a start failed or it crashed.
            let start_error = paths.run_dir.join("daemon-start-error");
            if let Ok(cause) = std::fs::read_to_string(&start_error) {
                eprintln!("dashclawd: the last start failed: {}", cause.trim());
            }
            if let Ok(bytes) = std::fs::read(paths.state_dir.join("last-crash.json")) {
                let crash: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                for (_, what) in findings(&serde_json::json!({ "last_crash": crash })) {
                    eprintln!("dashclawd: {what}");
                }
            }
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
        if let Some(w) = v["guardian"]["watched"].as_array() {
            let names: Vec<String> = w
                .iter()
                .map(|t| {
                    format!(
                        "{} {}",
                        t["agent"].as_str().unwrap_or("?"),
                        t["scope"].as_str().unwrap_or("?")
                    )
                })
                .collect();
            println!(
                "  hooks:    {} configuration files watched{}",
                names.len(),
                if names.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", names.join(", "))
                }
            );
        }
        for (level, what) in findings(&v) {
            println!(
                "  {}: {what}",
                if level == Level::Fail {
                    "PROBLEM"
                } else {
                    "note"
                }
            );
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

/// How serious a finding in the daemon's status is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Warn,
    Fail,
}

/// What in the daemon's status a person must know about: a ledger that refuses writes or was
/// reset, a full disk, a config edit that was ignored or waits for a restart, the last crash,
/// hooks that were changed. Shared by `status` and `doctor`.
pub fn findings(v: &Value) -> Vec<(Level, String)> {
    let mut out = Vec::new();
    let ms = |x: &Value| {
        x.as_u64()
            .map(|ms| {
                humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_millis(ms))
                    .to_string()
            })
            .unwrap_or_else(|| "?".into())
    };
    let l = &v["ledger_health"];
    if let Some(why) = l["refusing"].as_str() {
        out.push((
            Level::Fail,
            format!("ledger refuses writes, gating events are denied: {why}"),
        ));
    }
    if let Some(resets) = l["resets"].as_array() {
        for r in resets.iter().rev().take(3) {
            out.push((
                Level::Fail,
                format!(
                    "ledger was RESET (record {}): {}",
                    r["seq"],
                    r["summary"].as_str().unwrap_or("")
                ),
            ));
        }
    }
    if let Some(e) = l["head_file_error"].as_str() {
        out.push((Level::Warn, format!("ledger head file: {e}")));
    }
    if !l["reserve_used_ms"].is_null() {
        out.push((
            Level::Fail,
            format!(
                "the disk holding the ledger was FULL at {}: its reserve is used up until space is freed",
                ms(&l["reserve_used_ms"])
            ),
        ));
    }
    if l["reserve_in_place"] == Value::Bool(false) && l["reserve_used_ms"].is_null() {
        out.push((
            Level::Warn,
            format!(
                "no disk reserve beside the ledger (less than twice its {} bytes are free): a full disk loses record events sooner",
                l["reserve_bytes"]
            ),
        ));
    }
    let c = &v["config_reload"];
    if let Some(e) = c["reload_error"].as_str() {
        out.push((
            Level::Fail,
            format!("config.toml edit IGNORED, the last good configuration is in force: {e}"),
        ));
    }
    if let Some(p) = c["restart_pending"].as_array().filter(|p| !p.is_empty()) {
        let keys: Vec<&str> = p.iter().filter_map(Value::as_str).collect();
        out.push((
            Level::Warn,
            format!(
                "config.toml changed {}; restart the daemon (`dashclawd stop`) to apply",
                keys.join(", ")
            ),
        ));
    }
    if let Some(l) = c["last_loosened"].as_object() {
        let what: Vec<&str> = l["loosened"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        out.push((
            Level::Fail,
            format!(
                "config.toml LOOSENED the guard at {}: {} (recorded in the ledger as config-loosened)",
                ms(&l["at_ms"]),
                what.join("; ")
            ),
        ));
    }
    if let Some(last) = c["last_change"].as_object() {
        let keys: Vec<&str> = last["changes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["key"].as_str())
            .collect();
        out.push((
            Level::Warn,
            format!(
                "config.toml change applied live at {} ({} since start): {}",
                ms(&last["at_ms"]),
                c["changes_applied"],
                keys.join(", ")
            ),
        ));
    }
    let crash = &v["last_crash"];
    if crash.is_object() {
        out.push((
            Level::Warn,
            format!(
                "last crash {}: {}{}",
                ms(&crash["at_ms"]),
                crash["message"].as_str().unwrap_or("?"),
                crash["location"]
                    .as_str()
                    .filter(|l| !l.is_empty())
                    .map(|l| format!(" at {l}"))
                    .unwrap_or_default()
            ),
        ));
    }
    if let Some(changes) = v["guardian"]["changes"].as_array() {
        for c in changes.iter().rev().take(5) {
            out.push((
                Level::Fail,
                format!(
                    "hooks changed at {}: {}",
                    ms(&c["at_ms"]),
                    c["summary"].as_str().unwrap_or("")
                ),
            ));
        }
    }
    out
}
