//! The [`Integration`] trait and the registry every agent-wide loop goes through.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::doctor::{DoctorOptions, Report};
use super::transcript::{TranscriptFiles, Usage};
use super::Adapter;
use crate::event::Agent;
use crate::install::InstallArgs;

/// Everything DashClaw knows about one agent. Each lives in `agents/<agent>/mod.rs`.
pub trait Integration: Sync {
    fn agent(&self) -> Agent;

    /// The names `dashclawd install <name>` accepts; the first is the canonical one.
    fn names(&self) -> &'static [&'static str];

    /// The hook adapter: normalize, render, the agent's tool-name table.
    fn adapter(&self) -> &'static dyn Adapter;

    /// `dashclawd install <agent>` (and `--uninstall`, `--dry-run`, `--scope`), with the
    /// shared machinery of `crate::install` (backups, diffs, MCP registration, scopes).
    fn install(&self, args: &InstallArgs) -> Result<ExitCode>;

    /// `dashclawd install <agent> --uninstall`.
    fn uninstall(&self, args: &InstallArgs) -> Result<ExitCode> {
        self.install(&InstallArgs {
            uninstall: true,
            ..args.clone()
        })
    }

    /// The files the hook guardian (`crate::guardian`) watches for this agent's hooks: the
    /// user's and system-wide ones, or with `project` those of that project directory.
    fn watched_files(&self, project: Option<&Path>) -> Vec<crate::guardian::Target> {
        let _ = project;
        Vec::new()
    }

    /// This agent's `dashclawd doctor` checks, added to `report`. An agent that is not
    /// installed adds nothing.
    fn doctor(&self, report: &mut Report, opts: &DoctorOptions) -> Result<()>;

    /// One turn of the agent's own transcript from byte `offset` (token usage, model,
    /// assumptions; the `ingest-live` summary where the server cannot read the file itself),
    /// or `None` when we read no transcript of this agent.
    fn turn(&self, path: &Path, offset: u64, full_content: bool) -> Option<std::io::Result<Usage>> {
        let _ = (path, offset, full_content);
        None
    }

    /// Where the agent keeps its transcripts (`env` reads the environment), or `None` when we
    /// read no transcript of this agent.
    fn transcript_files(&self, env: &dyn Fn(&str) -> Option<String>) -> Option<TranscriptFiles> {
        let _ = env;
        None
    }

    /// The session id a transcript's file name carries (by default its stem).
    fn transcript_session(&self, path: &Path) -> String {
        path.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Reduces one line of the agent's transcript to its metadata, in place, for
    /// [`crate::transcript::sanitize`]'s metadata mode (secrets are redacted after, in every
    /// mode). By default only the strings of [`crate::transcript::sanitize::METADATA_KEYS`]
    /// survive.
    fn transcript_metadata(&self, line: &mut serde_json::Map<String, serde_json::Value>) {
        crate::transcript::sanitize::blank_map_except(
            line,
            crate::transcript::sanitize::METADATA_KEYS,
        );
    }

    /// Whether [`Self::turn`]'s `ingest-live` summary is how this agent's turns reach the
    /// server (its transcript is not a format the server's parser reads), finalized at the
    /// session's end.
    fn turns_go_live(&self) -> bool {
        false
    }
}

/// Every agent DashClaw integrates with. `install`, `doctor`, the engine and delivery find
/// agents only here.
pub static INTEGRATIONS: &[&dyn Integration] = &[
    &super::claude::Integration,
    &super::codex::Integration,
    &super::hermes::Integration,
    &super::openclaw::Integration,
];

/// The integration of `agent`.
pub fn integration_for(agent: Agent) -> &'static dyn Integration {
    INTEGRATIONS
        .iter()
        .copied()
        .find(|i| i.agent() == agent)
        // The registry covers every `Agent` (tests::every_agent_has_one_integration).
        .expect("every Agent has an integration")
}

/// The integration `dashclawd install <name>` means.
pub fn integration_named(name: &str) -> Option<&'static dyn Integration> {
    INTEGRATIONS
        .iter()
        .copied()
        .find(|i| i.names().contains(&name))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `Agent` variant: the exhaustive match stops the build when a variant is added
    /// without being listed here, and the test then fails until it has an integration.
    fn all_agents() -> Vec<Agent> {
        let every = |a: Agent| match a {
            Agent::Claude | Agent::Codex | Agent::Hermes | Agent::Openclaw => a,
        };
        [Agent::Claude, Agent::Codex, Agent::Hermes, Agent::Openclaw]
            .into_iter()
            .map(every)
            .collect()
    }

    #[test]
    fn every_agent_has_one_integration() {
        for agent in all_agents() {
            let n = INTEGRATIONS.iter().filter(|i| i.agent() == agent).count();
            assert_eq!(n, 1, "{agent:?} has {n} integrations");
            let i = integration_for(agent);
            assert_eq!(i.agent(), agent);
            assert_eq!(i.adapter().agent(), agent, "{agent:?}'s adapter");
            // The canonical install name is the agent's own name, and every name parses back.
            assert_eq!(i.names()[0], agent.as_str());
            for name in i.names() {
                assert_eq!(Agent::parse(name), Some(agent), "{name}");
                assert_eq!(integration_named(name).map(|i| i.agent()), Some(agent));
            }
        }
        assert_eq!(INTEGRATIONS.len(), all_agents().len());
        assert!(integration_named("cursor").is_none());
    }

    #[test]
    fn the_guardian_watches_every_agents_hook_files_under_its_name() {
        let all = crate::guardian::default_targets();
        for i in INTEGRATIONS {
            let mine = i.watched_files(None);
            assert!(!mine.is_empty(), "{:?} watches nothing", i.agent());
            assert!(mine.iter().all(|t| t.agent == i.agent().as_str()));
            assert!(mine.iter().all(|t| all.contains(t)));
            let project = i.watched_files(Some(std::path::Path::new("/w")));
            assert!(
                project.iter().all(|t| t.path.starts_with("/w")),
                "{project:?}"
            );
        }
    }

    #[test]
    fn only_agents_that_can_rewrite_a_result_ask_for_redaction() {
        let ctx = crate::agents::HookContext {
            env: vec![(crate::agents::hermes::REDACT_ENV.into(), "1".into())],
            ..Default::default()
        };
        for i in INTEGRATIONS {
            assert_eq!(
                i.adapter().redact_tool_results(&ctx),
                i.agent() == Agent::Hermes,
                "{:?}",
                i.agent()
            );
        }
    }
}
