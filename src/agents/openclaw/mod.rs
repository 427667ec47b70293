//! OpenClaw: our in-process plugin (`hooks/openclaw/`), installed through OpenClaw's own CLI
//! (agent-hooks.md §4).

mod adapter;
mod doctor;
pub mod install;

use std::process::ExitCode;

pub use adapter::Openclaw;

use super::doctor::{DoctorOptions, Report};
use crate::event::Agent;
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
    fn doctor(&self, report: &mut Report, opts: &DoctorOptions) -> anyhow::Result<()> {
        doctor::run(report, opts)
    }
}
