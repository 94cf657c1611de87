use clap::Parser;

/// mimalloc rather than glibc's malloc: a join storm allocates per connection on both
/// runtime threads, and glibc's arenas paid for it in page faults and `mprotect` (see the
/// workspace Cargo.toml and BENCHMARKS.md, "Join storm, third pass").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = plenum::cli::Cli::parse();
    match plenum::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("plenum: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
