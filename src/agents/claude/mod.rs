//! Claude Code: command hooks in `settings.json` (agent-hooks.md §1).

mod adapter;
mod doctor;
pub mod install;
pub mod transcript;

use std::path::Path;
use std::process::ExitCode;

pub use adapter::Claude;

use super::doctor::{DoctorOptions, Report};
use super::transcript::{TranscriptFiles, Usage};
use crate::event::Agent;
use crate::guardian::{target, Format, Target};
use crate::install::InstallArgs;

pub struct Integration;

impl super::Integration for Integration {
    fn agent(&self) -> Agent {
        Agent::Claude
    }
    fn names(&self) -> &'static [&'static str] {
        &["claude", "claude-code"]
    }
    fn adapter(&self) -> &'static dyn super::Adapter {
        &Claude
    }
    fn install(&self, args: &InstallArgs) -> anyhow::Result<ExitCode> {
        install::run(args)
    }
    fn watched_files(&self, project: Option<&Path>) -> Vec<Target> {
        let t = |scope, path| target("claude", scope, path, Format::ClaudeJson);
        match project {
            Some(cwd) => vec![
                t("project", cwd.join(".claude/settings.json")),
                t("project-local", cwd.join(".claude/settings.local.json")),
            ],
            None => install::claude_settings_path(crate::install::Scope::User)
                .ok()
                .map(|p| t("user", p))
                .into_iter()
                .chain([t("managed", install::CLAUDE_MANAGED_SETTINGS.into())])
                .collect(),
        }
    }
    fn doctor(&self, report: &mut Report, opts: &DoctorOptions) -> anyhow::Result<()> {
        doctor::run(report, opts)
    }
    fn turn(&self, path: &Path, offset: u64, _full: bool) -> Option<std::io::Result<Usage>> {
        Some(transcript::turn_usage(path, offset))
    }
    fn transcript_metadata(&self, line: &mut serde_json::Map<String, serde_json::Value>) {
        transcript::metadata(line)
    }
    fn transcript_files(&self, env: &dyn Fn(&str) -> Option<String>) -> Option<TranscriptFiles> {
        Some(TranscriptFiles {
            root: transcript::config_dir(env).join("projects"),
            keep: |_| true,
        })
    }
}
