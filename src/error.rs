//! The one error type of the library boundary.

use std::path::PathBuf;
use std::time::Duration;

use crate::migrate::planner::{AppliedRow, ModifiedMigration, PlanError};
use crate::migrations::Migration;

/// Everything app-db can fail with. Messages are lower-case, name the thing at fault and say how
/// to fix it. No variant ever carries a database password: URLs are stored redacted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A database error from SeaORM (a server error shows as SQLSTATE, message, detail, hint).
    #[error("database error: {}", describe_db_err(.0))]
    Database(#[from] sea_orm::DbErr),

    /// A database error from sqlx (the raw connection used for locking and bookkeeping).
    #[error("database error: {}", describe_sqlx(.0))]
    Sqlx(#[from] sqlx::Error),

    /// Could not connect.
    #[error(
        "could not connect to {url}: {source}\n  fix: check that the server runs and that the URL's host, port, user and database are right"
    )]
    Connect {
        /// The URL, password removed.
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A database URL app-db will not use (another scheme, malformed, not a URL).
    #[error("{setting} ({url}) is not a usable PostgreSQL URL: {problem}\n  fix: {fix}")]
    BadUrl {
        /// Where the URL came from (`DATABASE_URL`, `--database-url`, …).
        setting: &'static str,
        /// The URL, password removed (or a placeholder when it is not recognisably a URL).
        url: String,
        /// What is wrong, in a few words.
        problem: String,
        /// What to write instead.
        fix: String,
    },

    /// No connection within the connect timeout (a server that accepts and never answers).
    #[error(
        "could not connect to {url} within {timeout:?}: the server did not answer\n  fix: check that the host is a PostgreSQL server and reachable; to wait longer raise {setting}"
    )]
    ConnectTimeout {
        /// The URL, password removed.
        url: String,
        /// The time waited.
        timeout: Duration,
        /// The setting that bounds it (`DATABASE_CONNECT_TIMEOUT`, `--connect-timeout`).
        setting: &'static str,
    },

    /// An I/O error on a file or folder app-db manages.
    #[error("could not {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// An environment variable has a value app-db cannot use.
    #[error("{var}={value:?} is not valid\n  fix: {fix}")]
    BadEnv {
        var: &'static str,
        value: String,
        fix: String,
    },

    /// A required environment variable is not set.
    #[error("{var} is not set\n  fix: {fix}")]
    MissingEnv { var: &'static str, fix: String },

    /// No PostgreSQL server could be found or provisioned.
    #[error(
        "no PostgreSQL server is available: {reason}\n  fix: one of\n    - set DATABASE_URL (or TEST_DATABASE_URL for tests) to a running PostgreSQL 16 with pgvector, e.g. the docker-compose one: postgres://postgres:postgres@localhost:5432/app\n    - set APP_DB_PG_BIN to the bin folder of a local PostgreSQL installation\n    - install Python 3 with pip, so app-db can fetch its pinned PostgreSQL 16 + pgvector once"
    )]
    NoPostgres { reason: String },

    /// A downloaded file is not what was pinned.
    #[error("{} is not the pinned download: expected {expected}, found {found}\n  fix: delete the cache folder and retry; if it persists the package index served a different file", path.display())]
    ChecksumMismatch {
        path: PathBuf,
        expected: String,
        found: String,
    },

    /// No unprivileged account to run PostgreSQL as (it refuses to run as root).
    #[error(
        "PostgreSQL refuses to run as root and none of these accounts exists: {tried}\n  fix: create one (useradd --system postgres) or set APP_DB_PG_USER to an existing unprivileged account"
    )]
    NoServerAccount { tried: String },

    /// The server account cannot reach a folder it needs.
    #[error("{account} cannot reach {what} at {}\n  fix: give others search permission on every parent folder (chmod o+x) or set APP_DB_CACHE_DIR / APP_DB_DEV_DIR to a folder outside it", path.display())]
    Unreachable {
        what: &'static str,
        path: PathBuf,
        account: String,
    },

    /// initdb failed.
    #[error("initdb failed for {}; its log ends with:\n{log_tail}", data_dir.display())]
    InitDb { data_dir: PathBuf, log_tail: String },

    /// The server did not start.
    #[error("PostgreSQL did not start on {}; its log ends with:\n{log_tail}", data_dir.display())]
    ServerStart { data_dir: PathBuf, log_tail: String },

    /// The server did not stop.
    #[error("PostgreSQL on {} did not stop; its log ends with:\n{log_tail}", data_dir.display())]
    ServerStop { data_dir: PathBuf, log_tail: String },

    /// `db()` was called before `init()` succeeded.
    #[error(
        "the database is not initialised\n  fix: call app_db::init() (or init_with) at start-up, before app_db::db()"
    )]
    NotInitialized,

    /// A seed file does not fit its entity.
    #[error(
        "seed file {path}: {problem}\n  fix: correct the file so every row has the entity's fields with values of the right type"
    )]
    SeedFile { path: &'static str, problem: String },

    /// Seed rows leave a column unset that the database cannot fill in: NOT NULL without a
    /// default in the entity (typically a column just added to it). Raised before anything is
    /// written.
    #[error(
        "seed: column {table}.{column} is NOT NULL without a default, and {} does not set it; nothing was written\n  fix: give `{column}` a default in {entity} (`#[sea_orm(default_value = …)]` or `default_expr = \"…\"`) and run `migration generate`, or {}",
        origin.who(),
        origin.fix(column)
    )]
    SeedColumnUnset {
        /// The entity's module path (`entity::organization`).
        entity: &'static str,
        /// Its table.
        table: &'static str,
        /// The column left unset.
        column: &'static str,
        /// The rows that leave it unset.
        origin: crate::seed::SeedOrigin,
    },

    /// Seeding needs every migration applied.
    #[error("refusing to seed: {} migration(s) not applied yet ({})\n  fix: run `cargo run -p migration -- up` first", unapplied.len(), unapplied.join(", "))]
    SeedNeedsMigrations { unapplied: Vec<String> },

    /// The migration folder is invalid (only at run time; the build catches it first).
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),

    /// Applied migrations whose files changed since they were applied.
    #[error("{}", modified_message(.0))]
    Modified(Vec<ModifiedMigration>),

    /// Migrations older than the newest applied one that never ran.
    #[error(
        "{} never applied, out of order: older than the newest applied migration (created_at {high_water_mark}), so drizzle-orm would skip {} forever\n  fix: if {} independent of the migrations applied after {}, apply {} with --allow-out-of-order (APP_DB_ALLOW_OUT_OF_ORDER=1); otherwise regenerate {} so {} a newer `when` than the applied ones",
        tags.join(", "),
        if tags.len() == 1 { "it" } else { "them" },
        if tags.len() == 1 { "it is" } else { "they are" },
        if tags.len() == 1 { "it" } else { "them" },
        if tags.len() == 1 { "it" } else { "them" },
        if tags.len() == 1 { "it" } else { "them" },
        if tags.len() == 1 { "it gets" } else { "they get" },
    )]
    OutOfOrder {
        tags: Vec<String>,
        high_water_mark: i64,
    },

    /// Migrations of a 1.0 folder that never ran although a later one (in name order) did.
    #[error(
        "{} never applied, out of order: {} before {last_applied}, which is applied; drizzle-orm 1.0 would run {} now, after the migrations it was written before\n  fix: if {} independent of the migrations applied since, apply {} with --allow-out-of-order (APP_DB_ALLOW_OUT_OF_ORDER=1); otherwise rename {} folder to the current UTC time so it sorts after {last_applied}",
        tags.join(", "),
        if tags.len() == 1 { "it sorts" } else { "they sort" },
        if tags.len() == 1 { "it" } else { "them" },
        if tags.len() == 1 { "it is" } else { "they are" },
        if tags.len() == 1 { "it" } else { "them" },
        if tags.len() == 1 { "its" } else { "their" },
    )]
    OutOfOrderFolders {
        tags: Vec<String>,
        last_applied: String,
    },

    /// A drizzle-orm 0.x bookkeeping table with rows that match no migration of the 1.0 folder,
    /// so it cannot be upgraded to drizzle-orm 1.0's shape.
    #[error(
        "cannot upgrade the bookkeeping table to drizzle-orm 1.0's shape: {} row(s) match no migration of this folder (drizzle-orm 1.0 matches a row to the migration of its created_at's second, or else of its hash):\n{}\n  fix: these migrations were applied from a folder this build does not have: build from the folder that has them (a newer checkout, or the TypeScript app's folder converted with `migration upgrade-folder`); if they were removed on purpose, delete their rows after checking the schema; nothing was changed",
        rows.len(),
        rows.iter().map(describe_row).collect::<Vec<_>>().join("\n")
    )]
    UpgradeUnmatched { rows: Vec<AppliedRow> },

    /// A statement of a migration failed.
    #[error("{0}")]
    MigrationFailed(Box<MigrationFailure>),

    /// Another migrator held the lock longer than the timeout.
    #[error(
        "timed out after {timeout:?} waiting for the migration lock (advisory lock {key}){}\n  fix: wait for that migration to finish, or raise APP_DB_LOCK_TIMEOUT; if the holder is stuck, end it with select pg_terminate_backend(<pid>)",
        holder.as_ref().map(|h| format!(", held by {h}")).unwrap_or_else(|| ", whose holder has just released it".into())
    )]
    LockTimeout {
        timeout: Duration,
        key: i64,
        holder: Option<String>,
    },

    /// A migration statement could not get its table lock within the DDL lock timeout, and the
    /// retries within the retry budget did not get it either. Names the blocking sessions.
    #[error("{0}")]
    LockBudgetSpent(Box<LockBudgetSpent>),

    /// A query embedding whose length is not the column's dimension.
    #[error(
        "embedding has {found} dimensions but document_chunk.embedding is vector({expected}): \
         embed the query with the model the chunks were embedded with (text-embedding-3-small)"
    )]
    EmbeddingDimension { expected: usize, found: usize },

    /// A query embedding containing NaN or an infinity.
    #[error(
        "embedding value at index {index} is not finite (NaN or infinity): \
         the embedding provider returned a corrupt vector; retry the embedding call"
    )]
    EmbeddingNotFinite { index: usize },

    /// A query embedding of all zeros, which has no direction: its cosine distance to every chunk
    /// is undefined (NaN) and the ranking would be arbitrary.
    #[error(
        "embedding is all zeros, so cosine distance is undefined: check the embedding input text is not empty"
    )]
    EmbeddingZero,

    /// A search parameter outside what pgvector's HNSW index supports.
    #[error("{parameter} = {value} is out of range: use {min}..={max}")]
    SearchParameterOutOfRange {
        parameter: &'static str,
        value: u64,
        min: u64,
        max: u64,
    },

    /// A tag that names no migration compiled into this binary.
    #[error(
        "no migration {tag:?} in this binary (it knows {})\n  fix: use one of the tags `migration status` lists",
        known_tags(known)
    )]
    UnknownTag {
        /// The tag asked for.
        tag: String,
        /// Every compiled tag, in journal order.
        known: Vec<String>,
    },

    /// Every migration up to the tag already has its bookkeeping row: nothing to record.
    #[error(
        "{tag} and every migration before it are already recorded as applied\n  fix: nothing to do; `migration status` shows the state, `migration up` applies what is pending"
    )]
    AlreadyApplied {
        /// The tag asked for.
        tag: String,
    },

    /// The live schema is not what the migrations produce, so recording them would lie.
    #[error(
        "the database schema differs from what the migrations up to {tag} produce ({count} difference(s); `-` expected by the migrations, `+` found in the database, `~` both but different):\n{diff}\n  fix: make the database match (apply the missing parts by hand, or restore a backup and run `migration up` on it), then retry; nothing was recorded"
    )]
    SchemaMismatch {
        /// The tag whose state was expected.
        tag: String,
        /// How many objects differ.
        count: usize,
        /// The readable difference, one object per line.
        diff: String,
    },

    /// `generate` found statements that drop or narrow data and was not allowed to write them.
    #[error(
        "refusing to generate: {} statement(s) can lose data:\n{}\n  fix: if this is intended, rerun with --allow-drop; a renamed column is declared in entity/src/supplement.rs (`renamed_columns`) instead; nothing was written",
        statements.len(),
        statements.iter().map(|s| format!("    {s}")).collect::<Vec<_>>().join("\n")
    )]
    DropRefused {
        /// Each statement with the reason it can lose data.
        statements: Vec<String>,
    },

    /// The generated SQL, applied to the replayed migrations, does not give the entities'
    /// schema: a generator gap, reported instead of a wrong file.
    #[error(
        "the generated SQL does not reproduce the entities' schema; still different after applying it:\n{}\n  generated:\n{sql}\n  fix: write this change by hand (`migration generate <name> --custom`) and report the gap; nothing was written",
        remaining.iter().map(|s| format!("    {s}")).collect::<Vec<_>>().join("\n")
    )]
    GenerateUnverified {
        /// The SQL that was generated.
        sql: String,
        /// What would still have to change (or the statement that failed).
        remaining: Vec<String>,
    },

    /// Replicas that had not replayed the migrations within the bound: the migrations stay
    /// applied on the primary.
    #[error("{}", replicas_behind_message(.position, .waited, .at.as_deref(), .late, .setting))]
    ReplicasBehind {
        /// The primary's WAL position after migrating, which every replica must replay.
        position: crate::replica::WalPosition,
        /// How long app-db waited.
        waited: Duration,
        /// The migration the database is at.
        at: Option<String>,
        /// Each late replica.
        late: Vec<LateReplica>,
        /// The setting that bounds the wait (`APP_DB_WAIT_REPLICAS_TIMEOUT`, `--wait-replicas-timeout`).
        setting: &'static str,
    },

    /// The command will not do what was asked, for a stated reason.
    #[error("{reason}\n  fix: {fix}")]
    Refused {
        /// Why, in one line.
        reason: String,
        /// What to do instead, in one line.
        fix: String,
    },
}

/// SQLSTATE 55P03 `lock_not_available`: a `lock_timeout` expired.
pub const LOCK_NOT_AVAILABLE: &str = "55P03";

/// Which statement of which migration failed, and what the database said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationFailure {
    /// The migration's tag.
    pub tag: String,
    /// 1-based index of the failing statement.
    pub statement: usize,
    /// How many statements the migration has.
    pub statements: usize,
    /// The first line of the statement, shortened.
    pub preview: String,
    /// The SQLSTATE, when the database reported one.
    pub code: Option<String>,
    /// The database's message.
    pub message: String,
    /// Whether the migration ran in a transaction (so nothing of it remains).
    pub transactional: bool,
    /// What to do about it, for the common cases.
    pub hint: Option<String>,
    /// Migrations committed earlier in the same run (only when the run was split around a
    /// non-transactional migration).
    pub applied_before: Vec<String>,
}

impl std::fmt::Display for MigrationFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "migration {} failed at statement {} of {}",
            self.tag, self.statement, self.statements
        )?;
        if let Some(code) = &self.code {
            write!(f, " (SQLSTATE {code})")?;
        }
        write!(f, ": {}\n  statement: {}\n  ", self.message, self.preview)?;
        if self.transactional {
            write!(
                f,
                "nothing was changed: the batch was rolled back and no bookkeeping row was written"
            )?;
        } else {
            write!(
                f,
                "this migration runs outside a transaction: statements before the failing one stayed applied and no bookkeeping row was written; make them idempotent (IF NOT EXISTS) and rerun, or undo them by hand (e.g. DROP INDEX CONCURRENTLY IF EXISTS for an invalid index)"
            )?;
        }
        if !self.applied_before.is_empty() {
            write!(
                f,
                "\n  committed earlier in this run: {}",
                self.applied_before.join(", ")
            )?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  fix: {hint}")?;
        }
        Ok(())
    }
}

/// A migration that gave up waiting for its table locks: which statement, how long, who
/// blocked it.
#[derive(Debug, Clone, PartialEq)]
pub struct LockBudgetSpent {
    /// What waited, when it was not a migration statement (the bookkeeping statements,
    /// `fresh`'s schema reset).
    pub operation: &'static str,
    /// The statement that timed out last, when it was a migration statement.
    pub failure: Option<MigrationFailure>,
    /// How many attempts ran.
    pub attempts: u32,
    /// From the first attempt's start to giving up.
    pub waited: Duration,
    /// The longest one lock wait could last (`APP_DB_DDL_LOCK_TIMEOUT`).
    pub lock_timeout: Duration,
    /// The retry budget (`APP_DB_DDL_RETRY_BUDGET`).
    pub retry_budget: Duration,
    /// The sessions seen blocking the statement, latest sample (empty: none was seen).
    pub blockers: Vec<crate::migrate::Blocker>,
}

impl std::fmt::Display for LockBudgetSpent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.failure {
            Some(failure) => write!(
                f,
                "migration {} statement {} of {} could not get its lock",
                failure.tag, failure.statement, failure.statements
            )?,
            None => write!(f, "{} could not get their lock", self.operation)?,
        }
        write!(
            f,
            ": {} attempt(s) over {:.1} s, each waiting at most {:?} (APP_DB_DDL_LOCK_TIMEOUT, --ddl-lock-timeout), within the retry budget of {:?} (APP_DB_DDL_RETRY_BUDGET, --ddl-retry-budget)",
            self.attempts,
            self.waited.as_secs_f64(),
            self.lock_timeout,
            self.retry_budget
        )?;
        if let Some(failure) = &self.failure {
            write!(f, "\n  statement: {}", failure.preview)?;
        }
        write!(
            f,
            "\n  blocked by: {}",
            crate::migrate::blocker::describe(&self.blockers)
        )?;
        let transactional = self.failure.as_ref().is_none_or(|f| f.transactional);
        if transactional {
            write!(
                f,
                "\n  nothing was changed: every attempt was rolled back whole and no bookkeeping row was written"
            )?;
        } else {
            write!(
                f,
                "\n  this migration runs outside a transaction: the statements before this one stayed applied and no bookkeeping row was written; they run again on the next `up`, so they must be idempotent (IF NOT EXISTS)"
            )?;
        }
        if let Some(failure) = &self.failure {
            if !failure.applied_before.is_empty() {
                write!(
                    f,
                    "\n  committed earlier in this run: {}",
                    failure.applied_before.join(", ")
                )?;
            }
            if let Some(hint) = &failure.hint {
                write!(f, "\n  note: {hint}")?;
            }
        }
        let ends = if self.blockers.is_empty() {
            "find the sessions holding locks on the statement's tables (pg_locks joined with pg_stat_activity) and end them".to_string()
        } else {
            self.blockers
                .iter()
                .map(|b| b.remedy())
                .collect::<Vec<_>>()
                .join("; ")
        };
        write!(
            f,
            "\n  fix: end the blocking session(s): {ends}; or raise APP_DB_DDL_RETRY_BUDGET (--ddl-retry-budget) to keep retrying longer; then run the migration again"
        )
    }
}

/// A replica that had not replayed a position in time ([`Error::ReplicasBehind`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LateReplica {
    /// Its URL, password removed.
    pub url: String,
    /// How far it had replayed at its last answer (`None`: it never answered).
    pub replayed: Option<crate::replica::WalPosition>,
    /// Why it did not answer, when it did not (URL and password scrubbed).
    pub error: Option<String>,
}

fn replicas_behind_message(
    position: &crate::replica::WalPosition,
    waited: &Duration,
    at: Option<&str>,
    late: &[LateReplica],
    setting: &str,
) -> String {
    let mut text = format!(
        "the migrations are applied on the primary{}, but {} replica(s) had not replayed them (WAL position {position}) after {waited:?}:",
        at.map(|tag| format!(" (the database is at {tag})"))
            .unwrap_or_default(),
        late.len()
    );
    for replica in late {
        text.push_str(&format!("\n    {}: ", replica.url));
        match (&replica.replayed, &replica.error) {
            (Some(replayed), _) => text.push_str(&format!(
                "replayed up to {replayed}, {} bytes short{}",
                position.bytes_after(*replayed),
                replica
                    .error
                    .as_deref()
                    .map(|e| format!(", then stopped answering: {e}"))
                    .unwrap_or_default()
            )),
            (None, Some(error)) => text.push_str(&format!("no answer: {error}")),
            (None, None) => text.push_str("no answer"),
        }
    }
    text.push_str(&format!(
        "\n  fix: nothing to undo, the migrations stay applied; until a replica has replayed them it lacks their tables and columns, and app-db reads the primary instead of it. Check each late replica (on it: select * from pg_stat_wal_receiver; select pg_is_wal_replay_paused()), then run `migration up --wait-replicas` to wait again, or raise {setting}"
    ));
    text
}

/// The tags, shortened to the first and last three when there are many.
fn known_tags(known: &[String]) -> String {
    match known.len() {
        0 => "none: its migration folder is empty".to_string(),
        1..=8 => known.join(", "),
        n => format!(
            "{}, … {}, {} in all",
            known[..3].join(", "),
            known[n - 3..].join(", "),
            n
        ),
    }
}

/// One bookkeeping row for a message: id, created_at with its UTC time, hash.
fn describe_row(row: &AppliedRow) -> String {
    let created_at = match row.created_at {
        Some(ms) => match chrono::DateTime::from_timestamp_millis(ms) {
            Some(time) => format!("{ms} ({})", time.format("%Y-%m-%d %H:%M:%S%.3f UTC")),
            None => ms.to_string(),
        },
        None => "null".to_string(),
    };
    format!(
        "    row id {}: created_at {created_at}, hash {}",
        row.id, row.hash
    )
}

fn modified_message(modified: &[ModifiedMigration]) -> String {
    let mut out = String::new();
    for (i, m) in modified.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!(
            "migration {} was modified after it was applied: the database recorded {}, the file now hashes to {}",
            m.tag, m.recorded_hash, m.file_hash
        ));
        if m.line_endings_only {
            out.push_str(" (only the line endings differ: the file was checked out with CRLF, or the database was migrated from a CRLF checkout)");
        }
    }
    let fix = if modified.iter().all(|m| m.line_endings_only) {
        "check the file out with LF line endings (.gitattributes: *.sql text eol=lf) and rebuild"
    } else {
        "restore the applied version of the file and put the change in a new migration; if the edit is harmless (comments), allow it with --allow-modified (APP_DB_ALLOW_MODIFIED=1)"
    };
    out.push_str(&format!("\n  fix: {fix}"));
    out
}

impl From<PlanError> for Error {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Modified(m) => Self::Modified(m),
            PlanError::OutOfOrder {
                tags,
                high_water_mark,
            } => Self::OutOfOrder {
                tags,
                high_water_mark,
            },
            PlanError::OutOfOrderFolders { tags, last_applied } => {
                Self::OutOfOrderFolders { tags, last_applied }
            }
            PlanError::UpgradeUnmatched { rows } => Self::UpgradeUnmatched { rows },
        }
    }
}

impl Error {
    /// A connection failure, with the URL redacted and the password scrubbed from the cause: the
    /// one way to report one, for the library and the tools built on it.
    pub fn connect(database_url: &str, e: impl std::error::Error + 'static) -> Self {
        let cause = describe_error(&e);
        Error::Connect {
            url: crate::url::redact(database_url),
            source: crate::url::scrub(database_url, &cause).into(),
        }
    }

    /// [`Error::connect`] for a URL already parsed.
    pub fn connect_to(url: &crate::url::DbUrl, e: impl std::error::Error + 'static) -> Self {
        Error::Connect {
            url: url.redacted().to_string(),
            source: url.scrub(&describe_error(&e)).into(),
        }
    }

    /// The error for a failed statement, with a hint for the common cases.
    pub(crate) fn migration_failed(
        migration: &Migration,
        statement: usize,
        statements: usize,
        sql: &str,
        e: sqlx::Error,
    ) -> Self {
        let (code, message) = match &e {
            sqlx::Error::Database(db) => {
                (db.code().map(|c| c.into_owned()), db.message().to_string())
            }
            other => (None, other.to_string()),
        };
        let hint = match code.as_deref() {
            // duplicate_table, duplicate_object, duplicate_column, duplicate_schema, duplicate_function
            Some("42P07" | "42710" | "42701" | "42P06" | "42723") => Some(format!(
                "the database already has what {} creates: was it applied by hand (psql) without a bookkeeping row? `migration status` shows the state; `migration mark-applied {}` records it after verifying the schema (or `migration baseline --to <tag>` for a database with no bookkeeping)",
                migration.tag, migration.tag
            )),
            Some("25001") => Some(format!(
                "this statement cannot run inside a transaction: put `-- app-db:no-transaction` as the first line of {}.sql",
                migration.tag
            )),
            None if matches!(e, sqlx::Error::Io(_)) => Some(
                "the connection to the server broke or went silent (app-db drops a connection that stays silent past its TCP keepalive bound: keepalives_idle, keepalives_interval, keepalives_count and tcp_user_timeout in the URL); the server rolls back what was not committed once it notices; check the network, then `migration status` and rerun `up`".to_string(),
            ),
            _ => None,
        };
        let first_line = sql.trim().lines().next().unwrap_or("").trim();
        let preview = if first_line.chars().count() > 120 {
            format!("{}…", first_line.chars().take(120).collect::<String>())
        } else {
            first_line.to_string()
        };
        Self::MigrationFailed(Box::new(MigrationFailure {
            tag: migration.tag.to_string(),
            statement,
            statements,
            preview,
            code,
            message,
            transactional: migration.transaction,
            hint,
            applied_before: Vec::new(),
        }))
    }

    /// Records which migrations of the run were committed before this failure.
    pub(crate) fn with_applied_before(
        mut self,
        applied: &[crate::migrate::AppliedMigration],
    ) -> Self {
        let tags = || applied.iter().map(|a| a.tag.to_string()).collect();
        match &mut self {
            Self::MigrationFailed(failure) => failure.applied_before = tags(),
            Self::LockBudgetSpent(spent) => {
                if let Some(failure) = &mut spent.failure {
                    failure.applied_before = tags();
                }
            }
            _ => {}
        }
        self
    }

    /// Adds `note` to a failed statement's fix (what the migrator cleaned up after it).
    pub(crate) fn with_note(mut self, note: Option<String>) -> Self {
        if let (Self::MigrationFailed(failure), Some(note)) = (&mut self, note) {
            failure.hint = Some(match failure.hint.take() {
                Some(hint) => format!("{hint}; {note}"),
                None => note,
            });
        }
        self
    }

    /// Whether a statement's lock wait exceeded `lock_timeout` (SQLSTATE 55P03): the one
    /// failure the DDL lock rules retry. The migration lock's own timeout is
    /// [`Error::LockTimeout`], never this.
    pub fn is_lock_timeout(&self) -> bool {
        match self {
            Self::MigrationFailed(failure) => failure.code.as_deref() == Some(LOCK_NOT_AVAILABLE),
            Self::Sqlx(sqlx::Error::Database(db)) => {
                db.code().as_deref() == Some(LOCK_NOT_AVAILABLE)
            }
            _ => false,
        }
    }

    /// `migration <tag> statement <n> of <m>` for a failed migration statement.
    pub(crate) fn statement_preview(&self) -> Option<String> {
        match self {
            Self::MigrationFailed(f) => Some(format!(
                "migration {} statement {} of {} ({})",
                f.tag, f.statement, f.statements, f.preview
            )),
            _ => None,
        }
    }
}

/// A driver error as text: a server error as `SQLSTATE: message` with its detail and hint,
/// without the server's source position (sqlx appends `at line N` of PostgreSQL's own C file).
pub fn describe_sqlx(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => match db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
        {
            Some(pg) => {
                let mut text = format!("{}: {}", pg.code(), pg.message());
                if let Some(detail) = pg.detail() {
                    text.push_str(&format!("; detail: {detail}"));
                }
                if let Some(hint) = pg.hint() {
                    text.push_str(&format!("; hint: {hint}"));
                }
                text
            }
            None => match db.code() {
                Some(code) => format!("{code}: {}", db.message()),
                None => db.message().to_string(),
            },
        },
        // sqlx quotes the offending character of the password.
        sqlx::Error::Configuration(e) if e.to_string().contains("saslprep") => {
            "the user name or password contains a character SCRAM authentication does not allow (SASLprep: e.g. an emoji or a control character)".into()
        }
        other => other.to_string(),
    }
}

/// [`describe_sqlx`] through SeaORM's wrapping.
pub fn describe_db_err(e: &sea_orm::DbErr) -> String {
    use sea_orm::{DbErr, RuntimeErr};
    match e {
        DbErr::Conn(RuntimeErr::SqlxError(inner))
        | DbErr::Exec(RuntimeErr::SqlxError(inner))
        | DbErr::Query(RuntimeErr::SqlxError(inner)) => describe_sqlx(inner),
        other => other.to_string(),
    }
}

/// Any error as text, with driver errors described by [`describe_sqlx`].
fn describe_error(e: &(dyn std::error::Error + 'static)) -> String {
    if let Some(sqlx) = e.downcast_ref::<sqlx::Error>() {
        describe_sqlx(sqlx)
    } else if let Some(db) = e.downcast_ref::<sea_orm::DbErr>() {
        describe_db_err(db)
    } else if let Some(ours) = e.downcast_ref::<Error>() {
        ours.to_string()
    } else {
        e.to_string()
    }
}
