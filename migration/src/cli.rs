//! The command-line grammar.

use std::path::PathBuf;

use clap::builder::BoolishValueParser;
use clap::{Args, Parser, Subcommand};

/// app-db: run the Drizzle migration folder compiled into this binary against PostgreSQL.
///
/// With no database URL, commands use the embedded development server (PostgreSQL 16 +
/// pgvector, started on demand; see `db --help`). Exit codes: 0 ok, 1 error, 2 drift found,
/// 3 pending migrations (verify), 64 bad usage.
#[derive(Debug, Parser)]
#[command(name = "migration", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command takes.
#[derive(Args)]
pub struct GlobalArgs {
    /// Database URL; the embedded development server when absent (its password-free URL is
    /// printed to stderr).
    #[arg(
        short = 'u',
        long = "database-url",
        env = "DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// The app's schema: what `fresh` drops and recreates, and what `mark-applied`/`baseline`
    /// compare (besides the schemas the migrations create). Repeat for several.
    #[arg(
        short = 's',
        long = "database-schema",
        global = true,
        default_value = "public",
        action = clap::ArgAction::Append
    )]
    pub database_schema: Vec<String>,
    /// Schema of the bookkeeping table (drizzle-orm's `migrationsSchema`).
    #[arg(
        long,
        env = "APP_DB_MIGRATIONS_SCHEMA",
        global = true,
        default_value = app_db::migrate::driver::DEFAULT_SCHEMA
    )]
    pub migrations_schema: String,
    /// Name of the bookkeeping table (drizzle-orm's `migrationsTable`).
    #[arg(
        long,
        env = "APP_DB_MIGRATIONS_TABLE",
        global = true,
        default_value = app_db::migrate::driver::DEFAULT_TABLE
    )]
    pub migrations_table: String,
    /// Milliseconds to wait for a connection to open: a server that accepts and never answers
    /// makes the command fail after this instead of hanging.
    #[arg(
        long,
        value_name = "MS",
        env = "DATABASE_CONNECT_TIMEOUT",
        global = true,
        default_value_t = 10_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub connect_timeout: u64,
    /// A read replica (a hot standby of the database), for `status` and `up --wait-replicas`.
    /// Repeat, or separate URLs with commas (percent-encode a comma in a password as %2C).
    #[arg(
        long = "read-url",
        value_name = "URL",
        env = "DATABASE_READ_URL",
        global = true,
        hide_env_values = true,
        value_delimiter = ',',
        action = clap::ArgAction::Append
    )]
    pub read_urls: Vec<String>,
    /// More log output (-v info, -vv debug).
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
}

// By hand, so that the URL's password never reaches a `{:?}`.
impl std::fmt::Debug for GlobalArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlobalArgs")
            .field(
                "database_url",
                &self.database_url.as_deref().map(app_db::url::redact),
            )
            .field("database_schema", &self.database_schema)
            .field("migrations_schema", &self.migrations_schema)
            .field("migrations_table", &self.migrations_table)
            .field(
                "read_urls",
                &self
                    .read_urls
                    .iter()
                    .map(|u| app_db::url::redact(u))
                    .collect::<Vec<_>>(),
            )
            .field("connect_timeout", &self.connect_timeout)
            .field("verbose", &self.verbose)
            .finish()
    }
}

// By hand, so that the scratch server's password never reaches a `{:?}`.
impl std::fmt::Debug for VerifyArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyArgs")
            .field("dry_run", &self.dry_run)
            .field(
                "scratch_url",
                &self.scratch_url.as_deref().map(app_db::url::redact),
            )
            .field("lock", &self.lock)
            .finish()
    }
}

/// How long to wait for another migrator.
#[derive(Debug, Clone, Copy, Args)]
pub struct LockArgs {
    /// Milliseconds to wait for the migration lock held by another migrator; 0 waits forever.
    #[arg(
        long,
        value_name = "MS",
        env = "APP_DB_LOCK_TIMEOUT",
        default_value_t = 60_000
    )]
    pub lock_timeout: u64,
}

/// How migration statements wait for table locks.
#[derive(Debug, Clone, Copy, Args)]
pub struct DdlArgs {
    /// Milliseconds one migration statement may wait for a table lock; past it the attempt is
    /// rolled back and retried, so the app's queries queued behind it go through. 0 waits for
    /// ever (and the app's queries on the table with it).
    #[arg(
        long,
        value_name = "MS",
        env = "APP_DB_DDL_LOCK_TIMEOUT",
        default_value_t = 2_000
    )]
    pub ddl_lock_timeout: u64,
    /// Milliseconds to keep retrying after lock timeouts before giving up, naming the blocking
    /// sessions; 0 makes one attempt.
    #[arg(
        long,
        value_name = "MS",
        env = "APP_DB_DDL_RETRY_BUDGET",
        default_value_t = 180_000
    )]
    pub ddl_retry_budget: u64,
}

impl DdlArgs {
    /// The library's policy for these flags.
    pub fn policy(&self) -> app_db::migrate::LockWaitPolicy {
        app_db::migrate::LockWaitPolicy {
            lock_timeout: std::time::Duration::from_millis(self.ddl_lock_timeout),
            retry_budget: std::time::Duration::from_millis(self.ddl_retry_budget),
        }
    }
}

/// Which drift to tolerate when applying.
#[derive(Debug, Clone, Copy, Args)]
pub struct PolicyArgs {
    /// Apply never-applied migrations older than the newest applied one (drizzle-orm would
    /// skip them forever) instead of refusing.
    #[arg(
        long,
        env = "APP_DB_ALLOW_OUT_OF_ORDER",
        value_parser = BoolishValueParser::new(),
        default_value_t = false,
        num_args = 0..=1,
        default_missing_value = "true",
        hide_env_values = true
    )]
    pub allow_out_of_order: bool,
    /// Only warn when an applied migration's file changed since it was applied.
    #[arg(
        long,
        env = "APP_DB_ALLOW_MODIFIED",
        value_parser = BoolishValueParser::new(),
        default_value_t = false,
        num_args = 0..=1,
        default_missing_value = "true",
        hide_env_values = true
    )]
    pub allow_modified: bool,
    #[command(flatten)]
    pub lock: LockArgs,
    #[command(flatten)]
    pub ddl: DdlArgs,
}

/// Waiting for read replicas after migrating.
#[derive(Debug, Clone, Copy, Args)]
pub struct WaitReplicasArgs {
    /// After migrating, wait until every read replica (--read-url/DATABASE_READ_URL) has
    /// replayed the migrations, so that code deployed next never reads a replica without them.
    #[arg(long, conflicts_with = "dry_run")]
    pub wait_replicas: bool,
    /// Milliseconds --wait-replicas waits before it fails naming the late replica (the
    /// migrations stay applied).
    #[arg(
        long,
        value_name = "MS",
        env = "APP_DB_WAIT_REPLICAS_TIMEOUT",
        default_value_t = 60_000,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub wait_replicas_timeout: u64,
}

/// Where `mark-applied` and `baseline` replay the migrations.
#[derive(Clone, Args)]
pub struct VerifyArgs {
    /// Check the schema and say what would be recorded, without writing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// A server to create the scratch database on (any database URL of it), when the target
    /// database's role may not CREATE DATABASE. It should have the same PostgreSQL version and
    /// extensions. Default: the target database's own server.
    #[arg(long, value_name = "URL", hide_env_values = true)]
    pub scratch_url: Option<String>,
    #[command(flatten)]
    pub lock: LockArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending migrations (all, or the first N), with per-migration timings.
    #[command(
        after_help = "Examples:\n  migration up --dry-run                  (prints the plan and every statement)\n  migration -u <staging> up --rehearse    (runs them on real rows, rolls back, reports)"
    )]
    Up {
        /// Apply at most N pending migrations.
        #[arg(short = 'n', long = "num", value_name = "N")]
        num: Option<usize>,
        /// Print the plan and the SQL it would run, statement by statement; change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Run the pending migrations in a transaction that is always rolled back and report,
        /// per statement, its time, the locks it took, whether it rewrote a table, and the
        /// rows that make it fail. For a staging clone or a restored snapshot (-u). Exit 1
        /// when a statement fails there.
        #[arg(long, conflicts_with = "dry_run")]
        rehearse: bool,
        /// With --rehearse: print the report as JSON (the shape in docs/cli.md).
        #[arg(long, requires = "rehearse")]
        json: bool,
        #[command(flatten)]
        policy: PolicyArgs,
        #[command(flatten)]
        replicas: WaitReplicasArgs,
    },
    /// Where each table would go on Citus (distributed by organization_id, reference, local)
    /// and which primary keys, unique constraints and foreign keys Citus would refuse, read
    /// from the database's catalogs. Changes nothing; Citus itself is not needed.
    #[command(
        name = "citus-plan",
        after_help = "Example: migration citus-plan --json | jq '.tables[] | select(.blockers != [])'"
    )]
    CitusPlan {
        /// Print JSON instead of a Markdown table.
        #[arg(long)]
        json: bool,
    },
    /// One row per migration: tag, when, state and applied hash, plus rows unknown to this binary.
    #[command(after_help = "Example: migration status --json | jq '.pending'")]
    Status {
        /// Print the stable JSON shape documented in docs/cli.md instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Exit 2 on any drift (modified files, out-of-order entries, unknown or duplicate rows, a
    /// migration folder on disk that differs from the compiled one) or, with --lint, on a lint
    /// finding in a pending migration that is not allowed; exit 3 if migrations are pending,
    /// unless --allow-pending.
    #[command(
        after_help = "Example (deploy pipeline, before migrating): migration verify --allow-pending --lint"
    )]
    Verify {
        /// Pending migrations are fine (exit 0): use before `up`; without it, verify asserts
        /// the database is exactly at this binary's last migration.
        #[arg(long)]
        allow_pending: bool,
        /// The migration folder to compare with the compiled migrations. Default: the folder
        /// compiled in, when it exists on this machine (skipped otherwise).
        #[arg(long, value_name = "PATH")]
        dir: Option<PathBuf>,
        /// Also lint the pending migrations (as `migration lint` does) and exit 2 when a
        /// finding is not allowed: the CI gate before `up`.
        #[arg(long)]
        lint: bool,
    },
    /// Judge migrations for what they do to a table with rows and traffic (squawk's rules plus
    /// app-db's; docs/cli.md lists the rule set): the ones pending on the database by default,
    /// every one with --all, or the TAGs given. Exit 2 when a finding is not allowed, 0 when
    /// clean. Accept a risk with `-- app-db:allow <rule> <reason>` on the line above the
    /// statement.
    #[command(
        after_help = "Examples:\n  migration lint                          (the migrations pending on -u/DATABASE_URL: the CI gate)\n  migration lint 0009_add_invoice_index   (these migrations, no database)\n  migration lint --all                    (every migration, applied history included: a report)"
    )]
    Lint {
        /// Migrations to lint, by tag (e.g. 0009_add_invoice_index); no database is read.
        #[arg(value_name = "TAG", conflicts_with = "all")]
        tags: Vec<String>,
        /// Every migration, applied ones included. Applied migrations are history: never edit
        /// one to add an allow (its hash would change); this is a report.
        #[arg(long)]
        all: bool,
        /// Lint the migration folder at PATH instead of the migrations compiled in.
        #[arg(long, value_name = "PATH")]
        dir: Option<PathBuf>,
        /// Print the JSON shape documented in docs/cli.md instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Refuses: Drizzle migrations are forward-only (write a fix-up migration instead).
    Down {
        /// Accepted for compatibility with sea-orm-migration; ignored.
        #[arg(short = 'n', long = "num", value_name = "N")]
        num: Option<usize>,
    },
    /// DANGER: drop the app's schemas (-s, default public) and the bookkeeping table, then
    /// apply every migration. Refuses without --yes, and without --force-remote when the URL's
    /// host or the server itself (its address, port and backend process) is not this machine.
    #[command(after_help = "Example: migration fresh --yes")]
    Fresh {
        /// Confirm that every table, type and row in the app's schemas may be deleted.
        #[arg(long)]
        yes: bool,
        /// Allow a database that is not on this machine: a remote host, or a loopback URL that
        /// the server shows to be a tunnel, proxy or container in front of another server.
        #[arg(long)]
        force_remote: bool,
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// Create a migration from the difference between the entities (plus the declared
    /// supplement) and the migration folder, in drizzle-kit's SQL, verified on scratch
    /// databases before it is written; or, with --custom, an empty one for hand-written SQL.
    #[command(
        after_help = "Examples:\n  migration generate add_invoice             (writes NNNN_add_invoice.sql + journal entry)\n  migration generate add_invoice --dry-run   (prints the SQL, writes nothing)\n  migration generate add_invoice --safe      (concurrent indexes, NOT VALID + VALIDATE: no long locks)\n  migration generate add_invoice --rehearse <staging URL>   (tries it on real rows first)\n  migration generate --check                 (CI: exit 2 when entities and migrations disagree)\n  migration generate add_invoice_index --custom"
    )]
    Generate {
        /// The migration's name; the file becomes NNNN_<name>.sql (letters, digits, _ and -).
        #[arg(required_unless_present = "check")]
        name: Option<String>,
        /// Write drizzle-kit's custom-migration placeholder for hand-written SQL instead of a diff.
        #[arg(long, conflicts_with_all = ["dry_run", "check", "allow_drop"])]
        custom: bool,
        /// Print the SQL that would be written; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write nothing; exit 2 and print the reconciling SQL when the entities and the
        /// migrations disagree, 0 when they agree.
        #[arg(long, conflicts_with = "dry_run")]
        check: bool,
        /// Accept statements that drop or narrow data (tables, columns, enum values, type
        /// changes); without it they are refused and listed.
        #[arg(long)]
        allow_drop: bool,
        /// Write the forms that take no long lock on a table with rows: indexes built
        /// CONCURRENTLY and constraints added NOT VALID then validated, in `-- app-db:no-transaction`
        /// migrations of their own (several files). Refused in a folder with drizzle-kit
        /// snapshots, which drizzle-orm runs too.
        #[arg(long, conflicts_with_all = ["custom", "check"])]
        safe: bool,
        /// The migration folder to diff against and write into.
        #[arg(long, value_name = "PATH", default_value = app_db::migrations::MIGRATIONS_DIR)]
        dir: PathBuf,
        /// Before writing, rehearse the new statements on this database (after the folder's
        /// migrations it has not applied yet), in a transaction that is always rolled back;
        /// write nothing when a statement fails on its rows. A staging clone or a snapshot.
        #[arg(
            long,
            value_name = "URL",
            conflicts_with_all = ["custom", "check"],
            hide_env_values = true
        )]
        rehearse: Option<String>,
        /// With --rehearse: print the rehearsal as JSON on stdout (other output goes to stderr).
        #[arg(long, requires = "rehearse")]
        json: bool,
        /// With --rehearse: milliseconds each rehearsed statement may wait for a table lock.
        #[arg(
            long,
            value_name = "MS",
            env = "APP_DB_DDL_LOCK_TIMEOUT",
            default_value_t = 2_000
        )]
        ddl_lock_timeout: u64,
    },
    /// Convert the migration folder from drizzle-kit 0.x's journal layout to drizzle-kit 1.0's
    /// `<YYYYMMDDHHMMSS>_<name>/migration.sql` folders, as `drizzle-kit up` does, writing the new
    /// folder beside the old one and swapping them at the end (a rerun after an interruption
    /// finishes the conversion).
    #[command(
        after_help = "Examples:\n  migration upgrade-folder --dry-run   (prints the new names, writes nothing)\n  migration upgrade-folder             (converts migration/migrations; then rebuild)"
    )]
    UpgradeFolder {
        /// Print what each migration becomes; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// The migration folder to convert.
        #[arg(long, value_name = "PATH", default_value = app_db::migrations::MIGRATIONS_DIR)]
        dir: PathBuf,
    },
    /// Record TAG and every earlier migration without a row as applied, without running them,
    /// after verifying that the live schema is exactly what they produce (replayed on a scratch
    /// database). For migrations applied by hand (psql).
    #[command(after_help = "Example: migration mark-applied 0003_ai_usage_credits --dry-run")]
    MarkApplied {
        /// The migration's tag, e.g. 0003_ai_usage_credits (see `migration status`).
        tag: String,
        #[command(flatten)]
        verify: VerifyArgs,
    },
    /// Record every migration up to --to as applied on a database that has no bookkeeping
    /// rows yet, after verifying its schema as mark-applied does.
    #[command(after_help = "Example: migration baseline --to 0005_rag")]
    Baseline {
        /// The last migration the database already has, e.g. 0005_rag.
        #[arg(long = "to", value_name = "TAG")]
        to: String,
        #[command(flatten)]
        verify: VerifyArgs,
    },
    /// Insert the initial data (once per database), or demo data at scale with --demo.
    #[command(
        after_help = "Examples:\n  migration seed                      (the initial set, once per database)\n  migration seed --update             (re-apply a changed initial set)\n  migration seed --demo --orgs 100    (10,000 embedded chunks)"
    )]
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_a_password() {
        // Every URL the command line takes, with a password in each form a secret can take.
        for (command, extra) in [
            ("mark-applied", vec!["0000_auth"]),
            ("baseline", vec!["--to", "0000_auth"]),
        ] {
            let mut args = vec![
                "migration",
                "-u",
                "postgres://app:Main-Pw-1@db/app?sslpassword=Key-Pass-2",
                command,
            ];
            args.extend(extra);
            args.extend([
                "--scratch-url",
                "postgres://scratch:Scratch-Pw-3@db/app?sslpassword=Key-Pass-4&password=Query-Pw-5",
            ]);
            let cli = Cli::try_parse_from(&args).expect("the arguments parse");
            let shown = format!("{cli:?}");
            for secret in [
                "Main-Pw-1",
                "Key-Pass-2",
                "Scratch-Pw-3",
                "Key-Pass-4",
                "Query-Pw-5",
            ] {
                assert!(!shown.contains(secret), "{command}: {secret} in {shown}");
            }
            assert!(shown.contains("scratch:***@db"), "{shown}");
        }
    }
}
