//! OpenClaw: our in-process plugin (`hooks/openclaw/`), installed through OpenClaw's own CLI
//! (agent-hooks.md §4).

mod adapter;
mod doctor;
pub mod install;

use std::path::Path;
use std::process::ExitCode;

pub use adapter::Openclaw;

use super::doctor::{DoctorOptions, Report};
use crate::event::Agent;
use crate::guardian::{target, Format, Target};
use crate::install::InstallArgs;

pub struct Integration;

impl super::Integration for Integration {
    fn agent(&self) -> Agent {
        Agent::Openclaw
    }
    fn names(&self) -> &'static [&'static str] {
        &["openclaw"]
    }
    fn adapter(&self) -> &'static dyn super::Adapter {
        &Openclaw
    }
    fn install(&self, args: &InstallArgs) -> anyhow::Result<ExitCode> {
        install::run(args)
    }
    fn watched_files(&self, project: Option<&Path>) -> Vec<Target> {
        let (None, Ok(dir)) = (project, install::plugin_dir(&InstallArgs::default())) else {
            return Vec::new();
        };
        ["index.js", "openclaw.plugin.json"]
            .into_iter()
            .map(|file| target("openclaw", "plugin", dir.join(file), Format::WholeFile))
            .collect()
    }
    fn doctor(&self, report: &mut Report, opts: &DoctorOptions) -> anyhow::Result<()> {
        doctor::run(report, opts)
    }
}
