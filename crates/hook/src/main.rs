//! The hook binary agents run; all logic is in `dashclaw_sidecar::client`.
fn main() {
    dashclaw_sidecar::client::main()
}
