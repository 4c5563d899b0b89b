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
    /// Insert the initial data (once per database), or demo data at scale with --demo.
    Seed(SeedArgs),
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

/// `seed` options.
#[derive(Debug, Args)]
pub struct SeedArgs {
    /// Re-apply the initial seed set if its files changed since it was applied (rows are
    /// upserted by primary key; nothing is deleted).
    #[arg(long, conflicts_with = "demo")]
    pub update: bool,
    /// Generate deterministic demo organizations instead of the initial set.
    #[arg(long)]
    pub demo: bool,
    /// Demo organizations to create (ids demo-00000, demo-00001, ...).
    #[arg(long, default_value_t = 10, requires = "demo")]
    pub orgs: u32,
    /// Users (and memberships) per demo organization.
    #[arg(long, default_value_t = 5, requires = "demo")]
    pub users_per_org: u32,
    /// ai_usage rows per demo organization.
    #[arg(long, default_value_t = 50, requires = "demo")]
    pub usage_per_org: u32,
    /// Document sources per demo organization.
    #[arg(long, default_value_t = 2, requires = "demo")]
    pub sources_per_org: u32,
    /// Embedded chunks per document source.
    #[arg(long, default_value_t = 50, requires = "demo")]
    pub chunks_per_source: u32,
    /// The seed all demo data derives from (same seed, same rows).
    #[arg(long, default_value_t = 42, requires = "demo")]
    pub seed: u64,
}
