use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = kring::cli::Cli::parse();
    kring::cli::init_logging(&cli);
    match kring::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kring: {e}");
            ExitCode::FAILURE
        }
    }
}
