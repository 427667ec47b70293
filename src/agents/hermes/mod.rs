//! Hermes Agent: the `dashclaw-guard` plugin gates every tool call fail-closed (and redacts
//! tool results when asked); shell hooks in `config.yaml`, approved in its consent allowlist,
//! record the rest (agent-hooks.md §3).

mod adapter;
mod doctor;
pub mod install;

use std::path::Path;
use std::process::ExitCode;

pub use adapter::{redaction_enabled, Hermes, EVENTS, REDACT_ENV};

use super::doctor::{DoctorOptions, Report};
use crate::event::Agent;
use crate::guardian::{target, Format, Target};
use crate::install::InstallArgs;

pub struct Integration;

impl super::Integration for Integration {
    fn agent(&self) -> Agent {
        Agent::Hermes
    }
    fn names(&self) -> &'static [&'static str] {
        &["hermes"]
    }
    fn adapter(&self) -> &'static dyn super::Adapter {
        &Hermes
    }
    fn install(&self, args: &InstallArgs) -> anyhow::Result<ExitCode> {
        install::run(args)
    }
    fn watched_files(&self, project: Option<&Path>) -> Vec<Target> {
        let (None, Ok(config)) = (project, install::config_path_default()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        // The guard plugin gates Hermes's calls; the config only enables it.
        if let Some(dir) = config.parent() {
            let plugin = dir.join("plugins").join(install::PLUGIN_NAME);
            for file in ["__init__.py", "plugin.yaml"] {
                out.push(target(
                    "hermes",
                    "plugin",
                    plugin.join(file),
                    Format::WholeFile,
                ));
            }
        }
        out.push(target("hermes", "user", config, Format::Lines));
        out
    }
    fn doctor(&self, report: &mut Report, opts: &DoctorOptions) -> anyhow::Result<()> {
        doctor::run(report, opts)
    }
}
