//! The test kit of the workspace: where the binaries are ([`bins`]), the harness for tests that
//! run them against a private `DASHCLAW_HOME` ([`harness`]), the fake DashClaw server
//! ([`fake_dashclaw`]), the fake model APIs the real agents talk to ([`fake_anthropic`],
//! [`fake_openai`], [`fake_chat`], over [`http`]), the real-agent E2E harness ([`agent_e2e`]) and a
//! pseudo-terminal driver ([`pty`]). A dev-dependency of the root package: compiled once for
//! the one integration test binary (tests/it) and the benches.

pub mod agent_e2e;
pub mod bins;
pub mod fake_anthropic;
pub mod fake_chat;
pub mod fake_dashclaw;
pub mod fake_openai;
pub mod harness;
pub mod http;
pub mod pty;

pub use bins::{Bin, DAEMON, HOOK};
