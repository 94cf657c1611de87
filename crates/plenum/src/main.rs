use clap::Parser;

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
