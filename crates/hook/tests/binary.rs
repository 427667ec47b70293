//! The hook binary on its own, without a daemon. Also the reason `cargo test` builds
//! `target/<profile>/dashclaw-hook`, which the root package's integration tests (tests/it) run:
//! cargo builds a package's binaries for its integration tests only.

use std::process::{Command, Stdio};

const HOOK: &str = env!("CARGO_BIN_EXE_dashclaw-hook");

#[test]
fn version_names_the_protocol() {
    let out = Command::new(HOOK).arg("--version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text,
        format!(
            "dashclaw-hook {} (protocol v{})\n",
            env!("CARGO_PKG_VERSION"),
            dashclaw_proto::protocol::VERSION
        )
    );
}

/// A broken hook command line is denied (exit 2, one line saying why), never allowed, even for
/// an event that normally never blocks; nothing is read from stdin or sent anywhere.
#[test]
fn a_bad_command_line_fails_closed() {
    for args in [
        &["nosuch", "pre-tool-use"][..],
        &["claude", "post-tool-use", "extra"],
        &[],
    ] {
        let home =
            std::env::temp_dir().join(format!("dashclaw-hook-bin-test-{}", std::process::id()));
        let out = Command::new(HOOK)
            .args(args)
            .env("DASHCLAW_HOME", &home)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("Usage: dashclaw-hook"), "{args:?}: {err}");
        assert!(!home.exists(), "a usage error touched {}", home.display());
    }
}
