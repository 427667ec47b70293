//! The integration tests: one test binary, so the suite links the daemon, the test kit and the
//! fake servers once. One module per area; `cargo test --test it <module>::` runs one of them.
//! Shared support lives in crates/testkit (harness, fake servers, where the binaries are).

mod approvals_cli;
mod approvals_flow;
mod catalog;
mod classify_fuzz;
mod classify_table;
mod config_reload;
mod doctor;
mod durability;
mod durability_soak;
mod e2e_claude;
mod e2e_codex;
mod e2e_hermes;
mod e2e_mcp;
mod e2e_openclaw;
mod fake_dashclaw_selftest;
mod guardian;
mod hook_client;
mod install_claude;
mod install_codex;
mod install_hermes;
mod install_scopes;
mod install_service;
mod mcp_install;
mod mcp_protocol;
mod openclaw_plugin;
mod policy_file;
mod protected_mode;
mod red_team;
mod redact_corpus;
mod redact_parity;
mod redact_props;
mod redact_support;
mod redact_syntax;
mod redact_wild;
mod self_protection;
mod server_approvals;
mod server_gate;
mod server_lines;
mod server_outbox;
mod transcript_ingest;
mod verdicts;
mod workspace;
