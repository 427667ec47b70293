//! config.toml changes applied by a running daemon, with the real binaries and real edits of
//! the file: `[server]` swapped live (calls and the outbox follow the new server), an unusable
//! `[server]` edit keeping the server in force, `[redact]` rules applied to the next ledger
//! record and log line, and every change, a removed server above all, left in the ledger.

use dashclaw_testkit::fake_dashclaw;
use dashclaw_testkit::harness as common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use common::*;
use fake_dashclaw::{FakeDashClaw, Flavor};
use serde_json::Value;

fn status_json(home: &Home) -> Value {
    let out = home.dashclawd(&["status", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn status_text(home: &Home) -> String {
    stdout(&home.dashclawd(&["status"]))
}

/// A 0600 key file for `fake` inside the home.
fn key_file(home: &Home, name: &str, fake: &FakeDashClaw) -> PathBuf {
    let p = home.path().join(name);
    std::fs::write(&p, format!("{}\n", fake.api_key())).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

fn server_config(url: &str, key: &Path, extra: &str) -> String {
    format!(
        "[server]\nbase_url = \"{url}\"\napi_key_file = \"{}\"\nevent_stream = false\n{extra}",
        key.display()
    )
}

/// Writes config.toml the way an editor does (a new file renamed over the old one).
fn write_config(home: &Home, text: &str) {
    let p = home.path().join("config.toml");
    let tmp = home.path().join("config.toml.new");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, &p).unwrap();
}

fn guard_commands(fake: &FakeDashClaw) -> Vec<String> {
    fake.requests_to("/api/guard")
        .iter()
        .filter_map(|r| r.body_json.as_ref())
        .map(|b| b.to_string())
        .collect()
}

/// The configuration changes in the ledger, once there are `n` (the record follows the swap).
fn config_records_n(home: &Home, n: usize) -> Vec<Value> {
    eventually(10, "the configuration change recorded", || {
        config_records(home).len() >= n
    });
    config_records(home)
}

fn config_records(home: &Home) -> Vec<Value> {
    home.ledger()
        .into_iter()
        .filter(|r| {
            r["event"]
                .as_str()
                .is_some_and(|e| e.starts_with("config-"))
        })
        .collect()
}

#[test]
fn a_new_base_url_takes_the_next_call_and_the_waiting_outbox() {
    let a = FakeDashClaw::start(Flavor::Newest);
    let b = FakeDashClaw::start(Flavor::Newest);
    let home = Home::new();
    let key_a = key_file(&home, "a.key", &a);
    let key_b = key_file(&home, "b.key", &b);
    write_config(&home, &server_config(&a.url(), &key_a, ""));
    let _d = home.spawn_daemon();

    let out = home.hook("claude", "pre-tool-use", &bash_event("echo first-to-a"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(guard_commands(&a).iter().any(|c| c.contains("first-to-a")));

    // A goes down: the next call is denied (block) and kept as an orphan for the server.
    a.stop();
    let out = home.hook(
        "claude",
        "pre-tool-use",
        &bash_event("echo orphan-while-a-down"),
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    eventually(15, "the orphan waiting in the outbox", || {
        status_json(&home)["server"]["outbox"]["pending"]
            .as_u64()
            .unwrap_or(0)
            >= 1
    });

    write_config(&home, &server_config(&b.url(), &key_b, ""));
    eventually(10, "server B in force", || {
        status_json(&home)["server"]["base_url"] == b.url().as_str()
    });
    let out = home.hook("claude", "pre-tool-use", &bash_event("echo second-to-b"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(guard_commands(&b).iter().any(|c| c.contains("second-to-b")));
    assert!(!guard_commands(&a).iter().any(|c| c.contains("second-to-b")));

    // What A never took reaches B, without waiting out A's retry backoff.
    eventually(20, "the orphan delivered to B", || {
        b.actions()
            .iter()
            .any(|x| x.to_string().contains("orphan-while-a-down"))
    });
    eventually(10, "the outbox empty", || {
        status_json(&home)["server"]["outbox"]["pending"] == 0
    });

    // The change is in the ledger, the log and status, and B heard of it; never a key.
    // Moving governance to another server is as prominent as removing it: a server that
    // answers "allow" to everything would switch the guard off.
    let recs = config_records_n(&home, 1);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0]["event"], "config-loosened");
    assert!(recs[0]["reasons"][0]
        .as_str()
        .unwrap()
        .contains("REDIRECTED"));
    let text = recs[0].to_string();
    assert!(text.contains(&a.url()) && text.contains(&b.url()), "{text}");
    let s = status_json(&home);
    assert_eq!(
        s["config_reload"]["last_change"]["sections"],
        serde_json::json!(["server"])
    );
    assert!(home.log_text().contains("config.toml applied"));
    eventually(10, "B told of the change", || {
        b.actions().iter().any(|x| {
            x["action_type"] == "security"
                && x["declared_goal"]
                    .as_str()
                    .is_some_and(|g| g.contains("REDIRECTED"))
        })
    });
    let everything = format!(
        "{}{}{}",
        serde_json::to_string(&home.ledger()).unwrap(),
        home.log_text(),
        s
    );
    for key in [a.api_key(), b.api_key()] {
        assert!(!everything.contains(&key), "an API key leaked");
    }

    // Back to A: the replaced server (B) is told directly, the new one (A) through the outbox.
    a.restart();
    write_config(&home, &server_config(&a.url(), &key_a, ""));
    let back = format!("from the DashClaw server {} to {}", b.url(), a.url());
    for (fake, name) in [(&b, "B"), (&a, "A")] {
        eventually(15, &format!("{name} told of the move back"), || {
            fake.actions().iter().any(|x| {
                x["declared_goal"]
                    .as_str()
                    .is_some_and(|g| g.contains(&back))
            })
        });
    }
    assert_eq!(status_json(&home)["server"]["generation"], 3);
}

#[test]
fn an_unusable_server_edit_keeps_the_server_in_force() {
    let a = FakeDashClaw::start(Flavor::Newest);
    let home = Home::new();
    let key_a = key_file(&home, "a.key", &a);
    write_config(&home, &server_config(&a.url(), &key_a, ""));
    let _d = home.spawn_daemon();

    // Not an http(s) URL.
    write_config(&home, &server_config("ftp://example.com", &key_a, ""));
    eventually(10, "the bad URL reported", || {
        status_json(&home)["config_reload"]["reload_error"]
            .as_str()
            .is_some_and(|e| e.contains("[server]") && e.contains("ftp://example.com"))
    });
    let s = status_json(&home);
    assert_eq!(s["server"]["base_url"], a.url().as_str());
    assert!(status_text(&home).contains("edit IGNORED"));
    let out = home.hook("claude", "pre-tool-use", &bash_event("echo still-a"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(guard_commands(&a).iter().any(|c| c.contains("still-a")));

    // A key file others can read, and then one that cannot be read at all.
    let loose = home.path().join("loose.key");
    std::fs::write(&loose, a.api_key()).unwrap();
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    write_config(&home, &server_config(&a.url(), &loose, ""));
    eventually(10, "the readable key file reported", || {
        status_json(&home)["config_reload"]["reload_error"]
            .as_str()
            .is_some_and(|e| e.contains("readable by others"))
    });
    assert_eq!(status_json(&home)["server"]["generation"], 1);
    // Fixing the mode alone (no edit of config.toml) is noticed and the key file applies.
    std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o600)).unwrap();
    eventually(10, "the chmod noticed", || {
        let s = status_json(&home);
        s["config_reload"]["reload_error"].is_null() && s["server"]["generation"] == 2
    });
    let recs = config_records_n(&home, 1);
    assert_eq!(recs[0]["event"], "config-changed");
    assert_eq!(
        recs[0]["outcome"]["changes"][0]["key"],
        "server.api_key_file"
    );
    write_config(
        &home,
        &server_config(&a.url(), &home.path().join("missing.key"), ""),
    );
    eventually(10, "the missing key file reported", || {
        status_json(&home)["config_reload"]["reload_error"]
            .as_str()
            .is_some_and(|e| e.contains("missing.key"))
    });
    let s = status_json(&home);
    assert_eq!(s["server"]["base_url"], a.url().as_str());
    assert_eq!(s["server"]["generation"], 2, "not swapped again: {s}");
    let out = home.hook("claude", "pre-tool-use", &bash_event("echo a-again"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(guard_commands(&a).iter().any(|c| c.contains("a-again")));
    assert_eq!(config_records(&home).len(), 1, "nothing more was applied");
    assert!(home
        .log_text()
        .contains("config.toml edit ignored, the last good configuration stays in force"));

    // A valid edit that loosens the guard-unavailable policy applies, loudly.
    write_config(
        &home,
        &server_config(&a.url(), &key_a, "unavailable_policy = \"allow\"\n"),
    );
    eventually(10, "the loosening applied", || {
        status_json(&home)["server"]["unavailable_policy"] == "allow"
    });
    let recs = config_records_n(&home, 2);
    assert_eq!(recs.len(), 2, "{recs:?}");
    assert_eq!(recs[1]["event"], "config-loosened");
    assert!(recs[1]["reasons"][0]
        .as_str()
        .unwrap()
        .contains("from block to allow"));
    assert!(status_json(&home)["config_reload"]["reload_error"].is_null());
    assert!(status_text(&home).contains("LOOSENED"));
    // With A down the call now runs (allow), as the operator asked.
    a.stop();
    let out = home.hook(
        "claude",
        "pre-tool-use",
        &bash_event("echo allowed-while-down"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_removed_server_is_recorded_prominently_and_told_to_the_old_server() {
    let a = FakeDashClaw::start(Flavor::Newest);
    let home = Home::new();
    let key_a = key_file(&home, "a.key", &a);
    write_config(&home, &server_config(&a.url(), &key_a, ""));
    let _d = home.spawn_daemon();

    // What an agent (or anyone) switching the server off looks like.
    write_config(&home, "log_level = \"info\"\n");
    eventually(10, "no server in force", || {
        status_json(&home)["server"]["configured"] == false
    });
    let recs = config_records_n(&home, 1);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0]["event"], "config-loosened");
    assert!(
        recs[0]["summary"]
            .as_str()
            .unwrap()
            .contains("server.base_url"),
        "{}",
        recs[0]
    );
    assert!(recs[0]["reasons"][0].as_str().unwrap().contains("REMOVED"));
    let s = status_json(&home);
    assert!(s["config_reload"]["last_loosened"]["loosened"][0]
        .as_str()
        .unwrap()
        .contains(&a.url()));
    assert!(status_text(&home).contains("LOOSENED"));
    assert!(home.log_text().contains("config.toml LOOSENED the guard"));
    // The removed server still hears of its removal.
    eventually(15, "A told of its removal", || {
        a.actions().iter().any(|x| {
            x["action_type"] == "security"
                && x["declared_goal"]
                    .as_str()
                    .is_some_and(|g| g.contains("LOOSENED") && g.contains("REMOVED"))
        })
    });
    // Calls are now decided locally.
    let n = a.requests_to("/api/guard").len();
    let out = home.hook("claude", "pre-tool-use", &bash_event("echo local-only"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(a.requests_to("/api/guard").len(), n);
}

#[test]
fn a_custom_redaction_rule_applies_to_the_next_record_and_log_line() {
    let home = Home::new();
    let _d = home.spawn_daemon();
    let before = "acme_q7w8e9r0t1y2u3i4o5p6a7s8d9f0g1h2";
    let after = "acme_z9x8c7v6b5n4m3l2k1j0h9g8f7d6s5a4";
    let out = home.hook(
        "claude",
        "pre-tool-use",
        &bash_event(&format!("echo {before}")),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Precondition: no built-in rule knows this format.
    let ledger = serde_json::to_string(&home.ledger()).unwrap();
    assert!(ledger.contains(before), "{ledger}");

    write_config(
        &home,
        "log_level = \"debug\"\n[[redact.rules]]\nid = \"acme-token\"\nkeywords = [\"acme_\"]\npattern = '(?P<s>acme_[a-z0-9]{32})'\n",
    );
    eventually(10, "the rule in force", || {
        status_json(&home)["config_reload"]["in_force"]["redact"]["rules"]
            == serde_json::json!(["acme-token"])
    });
    let out = home.hook(
        "claude",
        "pre-tool-use",
        &bash_event(&format!("echo {after}")),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let records = home.ledger();
    let last = records
        .iter()
        .rev()
        .find(|r| r["event"] == "pre-tool-use")
        .unwrap();
    let text = last.to_string();
    assert!(!text.contains(after), "{text}");
    assert!(text.contains("[REDACTED:acme-token]"), "{text}");
    assert!(!home.log_text().contains(after));
    let change = config_records_n(&home, 1);
    assert_eq!(change.len(), 1);
    assert!(change[0]["summary"]
        .as_str()
        .unwrap()
        .contains("redact.rules.acme-token"));

    // Switching a rule off is a loosening.
    write_config(&home, "[redact]\ndisabled = [\"github-pat\"]\n");
    eventually(10, "the rule switched off", || {
        config_records(&home)
            .iter()
            .any(|r| r["event"] == "config-loosened")
    });
    let recs = config_records(&home);
    let reasons = recs.last().unwrap()["reasons"].to_string();
    assert!(reasons.contains("github-pat"), "{reasons}");
    assert!(reasons.contains("acme-token"), "{reasons}");
}

#[test]
fn a_rewritten_key_file_takes_effect_without_a_config_edit() {
    let a = FakeDashClaw::start(Flavor::Newest);
    let home = Home::new();
    let key = home.path().join("a.key");
    std::fs::write(&key, "oc_live_not_the_right_key_at_all_000000\n").unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    write_config(&home, &server_config(&a.url(), &key, ""));
    let _d = home.spawn_daemon();
    // The server refuses the key: the call is denied.
    let out = home.hook("claude", "pre-tool-use", &bash_event("echo wrong-key"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    std::fs::write(&key, format!("{}\n", a.api_key())).unwrap();
    eventually(10, "the new key in force", || {
        status_json(&home)["server"]["generation"] == 2
    });
    let out = home.hook("claude", "pre-tool-use", &bash_event("echo right-key"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let recs = config_records_n(&home, 1);
    assert_eq!(
        recs[0]["outcome"]["changes"][0]["key"],
        "server credentials"
    );
    let text = serde_json::to_string(&home.ledger()).unwrap() + &home.log_text();
    assert!(!text.contains(&a.api_key()), "the key leaked");
    assert!(
        !text.contains("oc_live_not_the_right_key"),
        "the old key leaked"
    );
}

#[test]
fn a_call_waiting_on_the_old_server_finishes_there_and_the_next_goes_to_the_new() {
    let a = FakeDashClaw::start(Flavor::Newest);
    let b = FakeDashClaw::start(Flavor::Newest);
    a.set_guard(|body| {
        if body.to_string().contains("terraform") {
            fake_dashclaw::GuardAnswer::require_approval("Infra changes need a human")
        } else {
            fake_dashclaw::GuardAnswer::allow()
        }
    });
    let home = Home::new();
    let key_a = key_file(&home, "a.key", &a);
    let key_b = key_file(&home, "b.key", &b);
    write_config(&home, &server_config(&a.url(), &key_a, ""));
    let _d = home.spawn_daemon();

    let out = std::thread::scope(|s| {
        let hook = s.spawn(|| home.hook("claude", "pre-tool-use", &bash_event("terraform apply")));
        let id = a
            .wait_pending(std::time::Duration::from_secs(10))
            .expect("no pending row on A");
        // The server is switched while the call waits for A's operator.
        write_config(&home, &server_config(&b.url(), &key_b, ""));
        eventually(10, "server B in force", || {
            status_json(&home)["server"]["base_url"] == b.url().as_str()
        });
        let out = home.hook("claude", "pre-tool-use", &bash_event("echo meanwhile-to-b"));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        a.approve(&id, "alice@example.com").unwrap();
        hook.join().unwrap()
    });
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(guard_commands(&b)
        .iter()
        .any(|c| c.contains("meanwhile-to-b")));
    assert!(!guard_commands(&b).iter().any(|c| c.contains("terraform")));
    let rec = home
        .ledger()
        .into_iter()
        .find(|r| {
            r["summary"]
                .as_str()
                .is_some_and(|s| s.contains("terraform"))
        })
        .unwrap();
    assert_eq!(rec["verdict"], "allow", "{rec}");
}

#[test]
fn a_redaction_rule_added_live_covers_what_the_server_receives() {
    let a = FakeDashClaw::start(Flavor::Newest);
    let home = Home::new();
    let key_a = key_file(&home, "a.key", &a);
    write_config(&home, &server_config(&a.url(), &key_a, ""));
    let _d = home.spawn_daemon();
    let rule = "[[redact.rules]]\nid = \"acme-token\"\nkeywords = [\"acme_\"]\npattern = '(?P<s>acme_[a-z0-9]{32})'\n";
    write_config(
        &home,
        &format!("{rule}{}", server_config(&a.url(), &key_a, "")),
    );
    eventually(10, "the rule in force", || {
        status_json(&home)["config_reload"]["in_force"]["redact"]["rules"]
            == serde_json::json!(["acme-token"])
    });
    // The server was not swapped for a [redact] edit.
    assert_eq!(status_json(&home)["server"]["generation"], 1);
    let token = "acme_m1n2b3v4c5x6z7l8k9j0h1g2f3d4s5a6";
    let out = home.hook(
        "claude",
        "pre-tool-use",
        &bash_event(&format!("echo {token}")),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sent = guard_commands(&a);
    assert!(
        sent.iter().any(|c| c.contains("[REDACTED:acme-token]")),
        "{sent:?}"
    );
    assert!(!sent.iter().any(|c| c.contains(token)), "{sent:?}");
}

#[test]
fn a_file_broken_at_start_applies_once_it_is_fixed() {
    let a = FakeDashClaw::start(Flavor::Newest);
    let home = Home::new();
    let key_a = key_file(&home, "a.key", &a);
    write_config(&home, "[server\nbase_url = 3\n");
    let _d = home.spawn_daemon();
    let out = home.hook("claude", "pre-tool-use", &bash_event("echo while-broken"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("configuration is broken"));

    write_config(&home, &server_config(&a.url(), &key_a, ""));
    eventually(10, "the fixed file in force", || {
        let s = status_json(&home);
        s["config_error"].is_null() && s["server"]["base_url"] == a.url().as_str()
    });
    let out = home.hook("claude", "pre-tool-use", &bash_event("echo once-fixed"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(guard_commands(&a).iter().any(|c| c.contains("once-fixed")));
    let recs = config_records_n(&home, 1);
    assert_eq!(recs[0]["outcome"]["changes"][0]["key"], "config.toml");
    assert!(recs[0]["summary"]
        .as_str()
        .unwrap()
        .contains("server.base_url"));
}
