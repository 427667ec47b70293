//! The daemon and admin commands; all logic is in `dashclaw_sidecar::cli`.

// Classification allocates many short-lived strings per call; mimalloc's thread-local free
// lists cost about half of glibc's malloc/free per call and keep the tail flatter (see the
// README's benchmark notes).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    dashclaw_sidecar::cli::main()
}
