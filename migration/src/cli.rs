//! The command-line grammar.

use clap::{Args, Parser, Subcommand};

/// app-db: run the Drizzle migration folder compiled into this binary against PostgreSQL.
///
/// With no database URL, commands use the embedded development server (PostgreSQL 16 +
/// pgvector, started on demand; see `db --help`).
#[derive(Debug, Parser)]
#[command(name = "migration", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Database URL; the embedded development server when absent.
    #[arg(
        short = 'u',
        long = "database-url",
        env = "DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// More log output (-v info, -vv debug).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations.
    Up,
    /// Manage the embedded development server.
    Db {
        #[command(subcommand)]
        action: DbAction,
    },
}

#[derive(Debug, Subcommand)]
pub enum DbAction {
    /// Create (first time) and start the development server; prints its URL.
    Start,
    /// Stop the development server.
    Stop,
    /// Say whether the development server runs, where, and on which port.
    Status,
    /// Print the development server's URL (starting it if needed), e.g. for psql "$(…)".
    Url,
}
