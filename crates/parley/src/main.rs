//! The `parley` binary: command line, configuration, start-up and shutdown.

mod backup_cmd;
mod cli;
mod demo;
mod doctor;
mod import_cmd;
mod sso_cmd;
mod story_cmd;

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("parley: {e:#}");
            ExitCode::FAILURE
        }
    }
}
