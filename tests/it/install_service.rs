//! `dashclawd service install`: the generated systemd units pass `systemd-analyze verify`, and
//! the launchd plist is a well-formed property list saying what we mean.

use dashclaw_testkit::harness as common;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `service install --dry-run` and returns the files it would write.
fn rendered(platform: &str, extra: &[&str], home: &Path) -> Vec<(PathBuf, String)> {
    let out = Command::new(common::DAEMON)
        .args([
            "service",
            "install",
            "--dry-run",
            "--platform",
            platform,
            "--unit-dir",
        ])
        .arg(home.join("units"))
        .args(extra)
        .env("DASHCLAW_HOME", home.join("dc home"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
    let text = common::stdout(&out);
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("--- ") {
            files.push((PathBuf::from(p), String::new()));
        } else if line.starts_with("would run: ") {
            continue;
        } else if let Some((_, body)) = files.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    files
}

#[test]
fn systemd_units_verify() {
    let home = tempfile::tempdir().unwrap();
    let files = rendered("systemd", &["--socket-activation"], home.path());
    assert_eq!(files.len(), 2);
    let (service_path, service) = &files[0];
    assert!(service_path.ends_with("dashclawd.service"));
    for want in [
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "ReadWritePaths=",
        "UMask=0077",
        " run --quiet",
    ] {
        assert!(service.contains(want), "{want} missing:\n{service}");
    }
    // The home is under the temp dir, which may be /tmp: then a private /tmp would hide it.
    assert!(service.contains("dc home"), "{service}");

    let Some(analyze) = which("systemd-analyze") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "systemd-analyze is required in CI (apt-get install systemd)"
        );
        eprintln!("note: systemd-analyze not found; skipping `systemd-analyze verify`");
        return;
    };
    let dir = home.path().join("units");
    std::fs::create_dir_all(&dir).unwrap();
    for (path, text) in &files {
        std::fs::write(dir.join(path.file_name().unwrap()), text).unwrap();
    }
    for name in ["dashclawd.service", "dashclawd.socket"] {
        let out = Command::new(&analyze)
            .arg("verify")
            .arg(dir.join(name))
            .output()
            .unwrap();
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "systemd-analyze verify {name}:\n{}{}",
            common::stdout(&out),
            common::stderr(&out)
        );
    }
}

#[test]
fn launchd_plist_is_well_formed() {
    let home = tempfile::tempdir().unwrap();
    let files = rendered("launchd", &[], home.path());
    assert_eq!(files.len(), 1);
    let (path, text) = &files[0];
    assert!(path.ends_with("dev.dashclaw.dashclawd.plist"));
    let v = plist::Value::from_reader_xml(text.as_bytes()).expect("well-formed plist");
    let d = v.as_dictionary().expect("a dict at the top");
    assert_eq!(
        d.get("Label").and_then(|l| l.as_string()),
        Some("dev.dashclaw.dashclawd")
    );
    let args: Vec<&str> = d
        .get("ProgramArguments")
        .and_then(|a| a.as_array())
        .unwrap()
        .iter()
        .filter_map(|a| a.as_string())
        .collect();
    assert_eq!(&args[1..], ["run", "--quiet"]);
    assert!(Path::new(args[0]).is_absolute());
    let env = d
        .get("EnvironmentVariables")
        .and_then(|e| e.as_dictionary())
        .unwrap();
    assert!(env
        .get("DASHCLAW_HOME")
        .and_then(|h| h.as_string())
        .is_some_and(|h| h.ends_with("dc home")));
    assert_eq!(
        d.get("Umask").and_then(|u| u.as_signed_integer()),
        Some(0o077)
    );
}

#[test]
fn uninstall_dry_run_touches_nothing() {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(common::DAEMON)
        .args(["service", "uninstall", "--dry-run", "--unit-dir"])
        .arg(home.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", common::stderr(&out));
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}
