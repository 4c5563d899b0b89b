//! Rehearsal on real data: run the pending migrations (or `generate`'s planned statements)
//! against a database with rows, a staging clone or a restored snapshot, inside a transaction
//! that is always rolled back, and report per statement how long it took, which table locks it
//! took, whether it rewrote a table, how many rows it scanned, and, when it fails on the rows
//! there, how many rows make it fail (issue 17, item 4). Scratch databases prove a migration's
//! SQL; only real rows show `SET NOT NULL` over NULLs, a unique constraint over duplicates, a
//! narrowing type change, or how long an index build holds its lock.
//!
//! - [`run`]: the transaction, the savepoints, the catalog reads around each statement.
//! - [`offending`]: pure: which rows make a recognised statement fail, as a count query.
//! - [`mode`]: pure: what a lock mode keeps the app from doing.
//! - [`report`]: the report, its JSON shape and its text.
//!
//! Statements of `-- app-db:no-transaction` migrations run inside the transaction too:
//! `CREATE INDEX CONCURRENTLY` and its kin without `CONCURRENTLY` (reported as rehearsed in that
//! form: same work, same failures, the plain form's locks), anything else that a transaction
//! refuses is reported as not rehearsed. Nothing is ever committed.

pub mod mode;
pub mod offending;
pub mod report;
pub mod run;

pub use report::{Failure, LockTaken, MigrationReport, Outcome, Report, Scan, StatementReport};
pub use run::{Options, Planned, rehearse};

use sqlx::PgConnection;

use crate::{Error, Migrator};

impl Migrator {
    /// The migrations `run` would apply now (this migrator's policy, at most `limit`), read
    /// without a lock, as statements to rehearse.
    pub async fn pending_for_rehearsal(
        &self,
        conn: &mut PgConnection,
        limit: Option<usize>,
    ) -> Result<Vec<Planned>, Error> {
        let (plan, _) = self.plan(conn, limit).await?;
        Ok(plan.into_iter().map(Planned::from_migration).collect())
    }

    /// The rehearsal settings of this migrator: its DDL lock timeout, its blocker watch.
    pub fn rehearsal_options(&self) -> Options {
        Options {
            lock_timeout: self.lock_wait_policy().lock_timeout,
            watch: self.watch_target(),
        }
    }

    /// Rehearses the pending migrations on `conn` and rolls everything back.
    pub async fn rehearse(
        &self,
        conn: &mut PgConnection,
        limit: Option<usize>,
    ) -> Result<Report, Error> {
        let planned = self.pending_for_rehearsal(conn, limit).await?;
        rehearse(conn, &planned, &self.rehearsal_options()).await
    }
}
