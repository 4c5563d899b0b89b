//! The one error type of the library boundary.

use std::path::PathBuf;

/// Everything app-db can fail with. Messages are lower-case, name the thing at fault and say how
/// to fix it. No variant ever carries a database password: URLs are stored redacted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A database error from SeaORM.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),

    /// A database error from sqlx (the raw connection used for locking and bookkeeping).
    #[error("database error: {0}")]
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
}
