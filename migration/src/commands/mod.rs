//! One file per command.

mod db;
mod seed;
mod up;

use crate::cli::{Cli, Command};
use crate::exit;

/// Runs the command and returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Db { action } => db::run(action).await,
        Command::Up => up::run(cli.global).await,
        Command::Seed(args) => seed::run(cli.global, args).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            exit::ERROR
        }
    }
}
