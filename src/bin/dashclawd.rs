//! The daemon and admin commands; all logic is in `dashclaw_sidecar::cli`.
fn main() -> std::process::ExitCode {
    dashclaw_sidecar::cli::main()
}
