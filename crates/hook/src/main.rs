//! The hook binary agents run; all logic is in the `dashclaw_hook` library (client.rs).
fn main() {
    dashclaw_hook::main()
}
