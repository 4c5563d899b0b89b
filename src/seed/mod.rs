//! Seeds: the initial data of a fresh environment, and demo data at scale.
//!
//! - [`set`]: the seed files compiled into the binary and their insertion through the entities.
//! - `columns`: which columns of an entity seed rows must set ([`SeedOrigin`] names the rows
//!   that do not); `placeholder`: stand-ins for the columns a seed row leaves out.
//! - [`record`]: which sets a database has received, and their hashes.
//! - [`synthetic`]: deterministic random data (PRNG, embeddings).
//! - [`demo`]: synthetic organizations with users, usage and embedded document chunks.
//! - [`vector_index`]: the HNSW index dropped and rebuilt around a bulk load, in one transaction.
//!
//! A set runs once per database: the first run inserts it and records its hash; later runs are
//! no-ops. A set whose files changed since is reported and re-applied (idempotently: rows are
//! upserted by primary key) only when asked. Seeding refuses a database whose migrations are not
//! all applied, since the files describe the current schema.

mod columns;
pub mod demo;
mod placeholder;
pub mod record;
pub mod set;
pub mod synthetic;
pub mod vector_index;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, Statement, TransactionTrait};

use crate::Error;
use crate::migrate::{MigrationState, Migrator};
pub use columns::SeedOrigin;
pub use record::SeedRecord;
pub use set::{Conflict, INITIAL, SeedFile, SeedSet};

/// What to do with a seed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedRequest {
    /// Apply the set if this database never received it (first boot, `seed`).
    IfNew,
    /// Also re-apply it when its files changed since it was recorded (`seed --update`).
    UpdateIfChanged,
    /// Re-apply it every time, upserting every row (`APP_DB_SEED=always`).
    Always,
}

/// What a seed call did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeedOutcome {
    /// The set was inserted (or upserted) and recorded: rows written.
    Applied { rows: u64 },
    /// The database already has this exact set.
    AlreadyApplied,
    /// The database has an older version of the set; nothing was changed.
    Changed { recorded: String, current: String },
}

impl std::fmt::Display for SeedOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Applied { rows } => write!(f, "seeded: {rows} row(s) written"),
            Self::AlreadyApplied => write!(f, "already seeded with this seed set: nothing to do"),
            Self::Changed { recorded, current } => write!(
                f,
                "the seed set changed since it was applied (recorded {}, now {}); nothing was changed: run `seed --update` to upsert it",
                short_hash(recorded),
                short_hash(current)
            ),
        }
    }
}

/// The first 12 bytes of a hash for messages, cut at a character boundary: the recorded hash
/// is read from the database, where anyone could have written anything.
fn short_hash(hash: &str) -> &str {
    &hash[..hash.floor_char_boundary(12)]
}

/// Seeds `set` into the database as `request` says, in one transaction, holding a lock so that
/// replicas booting together seed once. `migrator` names the bookkeeping: its migrations must
/// all be applied, and the seed record is kept in its schema (`drizzle` by default).
pub async fn run(
    db: &DatabaseConnection,
    set: &SeedSet,
    request: SeedRequest,
    migrator: &Migrator,
) -> Result<SeedOutcome, Error> {
    ensure_migrated(db, migrator).await?;
    run_on_migrated(db, set, request, migrator).await
}

/// [`run`] without the check that every migration is applied: for callers that just migrated
/// (`init()`), so a boot does not read the bookkeeping twice.
pub async fn run_on_migrated(
    db: &DatabaseConnection,
    set: &SeedSet,
    request: SeedRequest,
    migrator: &Migrator,
) -> Result<SeedOutcome, Error> {
    let schema = migrator.bookkeeping_table().schema();
    let record = SeedRecord::new(schema);
    let current = set.hash();
    // Most boots find the set recorded: answer without a transaction or a lock.
    if request == SeedRequest::IfNew
        && let Some(recorded) = record.recorded(db, set.name).await?
    {
        return Ok(already(recorded, current));
    }
    // Every row is read and checked before the transaction: a file that does not fit its
    // entity (a required column just added to it, say) fails with nothing written or locked.
    set.check()?;
    let txn = db.begin().await?;
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "select pg_advisory_xact_lock($1)",
        [seed_lock_key(schema, set.name).into()],
    ))
    .await?;
    record.ensure(&txn).await?;
    // Read again under the lock: another replica may have just seeded.
    let conflict = match (request, record.recorded(&txn, set.name).await?) {
        (_, None) => Conflict::Keep,
        (SeedRequest::IfNew, Some(recorded)) => {
            txn.rollback().await?;
            return Ok(already(recorded, current));
        }
        (SeedRequest::UpdateIfChanged, Some(recorded)) if recorded == current => {
            txn.rollback().await?;
            return Ok(SeedOutcome::AlreadyApplied);
        }
        (SeedRequest::UpdateIfChanged | SeedRequest::Always, Some(_)) => Conflict::Update,
    };
    let mut rows = 0;
    for file in set.files {
        rows += set::insert_file(&txn, file, conflict).await?;
    }
    record.record(&txn, set.name, &current).await?;
    txn.commit().await?;
    Ok(SeedOutcome::Applied { rows })
}

fn already(recorded: String, current: String) -> SeedOutcome {
    if recorded == current {
        SeedOutcome::AlreadyApplied
    } else {
        SeedOutcome::Changed { recorded, current }
    }
}

fn seed_lock_key(schema: &str, set: &str) -> i64 {
    crate::sql::advisory_key(&format!("app-db seeds {schema} {set}"))
}

/// Refuses a database where migrations of `migrator` are pending or never applied.
pub async fn ensure_migrated(db: &DatabaseConnection, migrator: &Migrator) -> Result<(), Error> {
    let mut conn = db.get_postgres_connection_pool().acquire().await?;
    let rows = migrator.applied_rows(&mut conn).await?;
    let assessment = migrator.assess(&rows);
    let unapplied: Vec<String> = assessment
        .migrations
        .iter()
        .filter(|m| {
            matches!(
                m.state,
                MigrationState::Pending | MigrationState::OutOfOrder
            )
        })
        .map(|m| m.migration.tag.to_string())
        .collect();
    if unapplied.is_empty() {
        Ok(())
    } else {
        Err(Error::SeedNeedsMigrations { unapplied })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_hash_of_any_shape_is_shown_without_panicking() {
        assert_eq!(short_hash("0123456789abcdef"), "0123456789ab");
        assert_eq!(short_hash("abc"), "abc");
        assert_eq!(short_hash(""), "");
        // 11 ASCII bytes, then a 3-byte character across byte 12.
        assert_eq!(short_hash("0123456789a密码"), "0123456789a");
        let outcome = SeedOutcome::Changed {
            recorded: "ééééééé".into(),
            current: "x".into(),
        };
        assert!(outcome.to_string().contains("recorded éééééé, now x"));
    }
}
