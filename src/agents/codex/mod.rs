//! Codex: command hooks in `config.toml`, trusted through `codex app-server` (agent-hooks.md
//! §2).

mod adapter;
mod doctor;
pub mod install;
pub mod transcript;

use std::path::Path;
use std::process::ExitCode;

pub use adapter::Codex;

use super::doctor::{DoctorOptions, Report};
use super::transcript::{TranscriptFiles, Usage};
use crate::event::Agent;
use crate::guardian::{target, Format, Target};
use crate::install::InstallArgs;

pub struct Integration;

impl super::Integration for Integration {
    fn agent(&self) -> Agent {
        Agent::Codex
    }
    fn names(&self) -> &'static [&'static str] {
        &["codex"]
    }
    fn adapter(&self) -> &'static dyn super::Adapter {
        &Codex
    }
    fn install(&self, args: &InstallArgs) -> anyhow::Result<ExitCode> {
        install::run(args)
    }
    fn watched_files(&self, project: Option<&Path>) -> Vec<Target> {
        use crate::install::Scope;
        let t = |scope, path| target("codex", scope, path, Format::CodexToml);
        match project {
            Some(cwd) => vec![t("project", cwd.join(".codex/config.toml"))],
            None => [("user", Scope::User), ("managed", Scope::Managed)]
                .into_iter()
                .filter_map(|(name, scope)| install::config_path(scope).ok().map(|p| t(name, p)))
                .collect(),
        }
    }
    fn doctor(&self, report: &mut Report, opts: &DoctorOptions) -> anyhow::Result<()> {
        doctor::run(report, opts)
    }
    fn turn(&self, path: &Path, offset: u64, full: bool) -> Option<std::io::Result<Usage>> {
        Some(transcript::codex_turn(path, offset, full))
    }
    fn turns_go_live(&self) -> bool {
        true
    }
    fn transcript_metadata(&self, line: &mut serde_json::Map<String, serde_json::Value>) {
        transcript::metadata(line)
    }
    fn transcript_files(&self, env: &dyn Fn(&str) -> Option<String>) -> Option<TranscriptFiles> {
        Some(TranscriptFiles {
            root: transcript::codex_home(env).join("sessions"),
            keep: |name| name.starts_with("rollout-"),
        })
    }
    fn transcript_session(&self, path: &Path) -> String {
        transcript::session_of(path)
    }
}
