//! `dashclawd mcp`: the MCP server over stdio (see `crate::mcp` and docs/mcp.md).

use std::process::ExitCode;

use anyhow::Result;

#[derive(clap::Args)]
pub struct McpArgs {}

pub fn run(_args: McpArgs) -> Result<ExitCode> {
    crate::mcp::run()
}
