/// mimalloc rather than glibc's malloc: a join storm allocates per connection on both
/// runtime threads, and glibc's arenas paid for it in page faults and `mprotect` (see the
/// workspace Cargo.toml and BENCHMARKS.md, "Join storm, third pass").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = match plenum::cli::parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version are answers; a usage error fails with status 1 like every
            // other failure of plenum (clap's own 2 is "the join was refused" for `plenum bot`).
            let _ = e.print();
            return if e.use_stderr() {
                std::process::ExitCode::FAILURE
            } else {
                std::process::ExitCode::SUCCESS
            };
        }
    };
    match plenum::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("plenum: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
