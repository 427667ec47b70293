//! Hermes Agent: the `dashclaw-guard` plugin gates every tool call fail-closed (and redacts
//! tool results when asked); shell hooks in `config.yaml`, approved in its consent allowlist,
//! record the rest (agent-hooks.md §3).

mod adapter;
mod doctor;
pub mod install;

use std::process::ExitCode;

pub use adapter::{redaction_enabled, Hermes, EVENTS, REDACT_ENV};

use super::doctor::{DoctorOptions, Report};
use crate::event::Agent;
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
    fn doctor(&self, report: &mut Report, opts: &DoctorOptions) -> anyhow::Result<()> {
        doctor::run(report, opts)
    }
}
