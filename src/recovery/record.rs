//! `mark-applied` and `baseline`: record migrations that were applied out of band, after
//! proving the live schema is exactly what they produce.
//!
//! The proof: replay, on a [`ScratchDatabase`], every migration the database will count as
//! applied once the rows are written (those already recorded plus those being recorded), read
//! both schemas from the catalogs and require them to be equal. Only then are the rows written,
//! each exactly as drizzle-orm writes it (`hash`, `created_at` = the journal `when`), in journal
//! order, under the migration lock, after reading the bookkeeping and the live schema again
//! under that lock: the first comparison runs without it (replaying takes a while), so another
//! migrator may have changed either in between.

use sqlx::{Connection, PgConnection};

use super::catalog::{self, SchemaSnapshot};
use super::diff::SchemaDiff;
use super::scratch::{ScratchDatabase, ScratchServer, describe};
use crate::Error;
use crate::migrate::driver_v1::NewRow;
use crate::migrate::planner::{self, AppliedTable, MigrationState, ModifiedMigration};
use crate::migrate::{Assessment, Migrator};
use crate::migrations::Migration;

/// How many lines of a schema difference an error shows.
const DIFF_LINES: usize = 60;

/// What to compare and where to replay.
#[derive(Clone)]
pub struct RecordOptions {
    /// The app's schemas (the CLI's `-s`, default `public`). Schemas the migrations create are
    /// compared too; other schemas of the database are not.
    pub app_schemas: Vec<String>,
    /// The server to create the scratch database on; the live database's server when `None`.
    pub scratch_server: Option<ScratchServer>,
    /// Verify only: write nothing.
    pub dry_run: bool,
}

impl Default for RecordOptions {
    fn default() -> Self {
        Self {
            app_schemas: vec!["public".to_string()],
            scratch_server: None,
            dry_run: false,
        }
    }
}

/// What a recording did (or, for a dry run, would do).
#[derive(Debug, Clone)]
pub struct RecordReport {
    /// The migrations recorded, in journal order.
    pub recorded: Vec<&'static Migration>,
    /// How many schema objects were compared and found equal.
    pub compared_objects: usize,
    /// The schemas compared.
    pub schemas: Vec<String>,
    /// The scratch database the migrations were replayed on (dropped since).
    pub scratch_database: String,
    /// Its server, password-free.
    pub scratch_server: String,
    /// Whether nothing was written.
    pub dry_run: bool,
}

/// Records out-of-band applies for one migrator (its migrations and bookkeeping table).
pub struct Recorder<'a> {
    migrator: &'a Migrator,
    live: ScratchServer,
    options: RecordOptions,
}

// By hand: sqlx's `PgConnectOptions` derives Debug, password included.
impl std::fmt::Debug for RecordOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordOptions")
            .field("app_schemas", &self.app_schemas)
            .field(
                "scratch_server",
                &self.scratch_server.as_ref().map(|s| describe(s.options())),
            )
            .field("dry_run", &self.dry_run)
            .finish()
    }
}

impl std::fmt::Debug for Recorder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("migrator", self.migrator)
            .field("live", &describe(self.live.options()))
            .field("options", &self.options)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    MarkApplied,
    Baseline,
}

impl<'a> Recorder<'a> {
    /// `live` describes the database `conn` is connected to (the scratch database goes on its
    /// server unless [`RecordOptions::scratch_server`] names another). From a
    /// [`crate::url::DbUrl`], the scratch connections get the URL's TCP keepalives.
    pub fn new(
        migrator: &'a Migrator,
        live: impl Into<ScratchServer>,
        options: RecordOptions,
    ) -> Self {
        Self {
            migrator,
            live: live.into(),
            options,
        }
    }

    /// Records `tag` and every migration before it that has no row yet, after verifying the
    /// schema. Refuses when a recorded migration's file changed ([`Error::Modified`]), when all
    /// of them are recorded already ([`Error::AlreadyApplied`]) and when the schema differs
    /// ([`Error::SchemaMismatch`]).
    pub async fn mark_applied(
        &self,
        conn: &mut PgConnection,
        tag: &str,
    ) -> Result<RecordReport, Error> {
        self.record(conn, tag, Mode::MarkApplied).await
    }

    /// Records every migration up to `tag` on a database that has no bookkeeping rows yet,
    /// after verifying the schema; refuses ([`Error::Refused`]) when it has rows.
    pub async fn baseline(
        &self,
        conn: &mut PgConnection,
        tag: &str,
    ) -> Result<RecordReport, Error> {
        self.record(conn, tag, Mode::Baseline).await
    }

    async fn record(
        &self,
        conn: &mut PgConnection,
        tag: &str,
        mode: Mode,
    ) -> Result<RecordReport, Error> {
        let migrations = self.migrator.migration_list();
        let Some(target) = migrations.iter().position(|m| m.tag == tag) else {
            return Err(Error::UnknownTag {
                tag: tag.to_string(),
                known: migrations.iter().map(|m| m.tag.to_string()).collect(),
            });
        };
        let rows = self.migrator.applied_rows(conn).await?;
        self.check_rows(&rows, tag, mode)?;
        let assessment = planner::assess(self.migrator.migration_list(), &rows);
        let to_record = unrecorded_up_to(&assessment, target);
        if to_record.is_empty() {
            return Err(Error::AlreadyApplied {
                tag: tag.to_string(),
            });
        }
        // What the database will claim to be once the rows exist, in journal order.
        let replay: Vec<&'static Migration> = assessment
            .migrations
            .iter()
            .filter(|s| {
                s.migration.idx as usize <= target
                    || matches!(s.state, MigrationState::Applied { .. })
            })
            .map(|s| s.migration)
            .collect();
        let (mut report, expected) = self.verify(conn, &replay, tag).await?;
        report.recorded = to_record.clone();
        if self.options.dry_run {
            return Ok(report);
        }
        self.write(conn, tag, mode, &to_record, &expected, &report.schemas)
            .await?;
        Ok(report)
    }

    /// Refuses what the rows make unsafe: any row for baseline, modified files for both.
    fn check_rows(&self, table: &AppliedTable, tag: &str, mode: Mode) -> Result<(), Error> {
        let bookkeeping = self.migrator.bookkeeping_table().qualified();
        if mode == Mode::Baseline && !table.rows.is_empty() {
            return Err(Error::Refused {
                reason: format!(
                    "{bookkeeping} already has {} row(s): baseline is for a database without bookkeeping",
                    table.rows.len()
                ),
                fix: format!(
                    "record out-of-band applies on this database with `migration mark-applied {tag}` (it verifies the schema the same way)"
                ),
            });
        }
        let assessment = planner::assess(self.migrator.migration_list(), table);
        // A 0.x table the 1.0 folder cannot name is refused, as `up` refuses it.
        if assessment.upgrade.is_some() && !assessment.unmatched.is_empty() {
            return Err(planner::PlanError::UpgradeUnmatched {
                rows: assessment.unmatched,
            }
            .into());
        }
        let modified: Vec<ModifiedMigration> = assessment
            .migrations
            .iter()
            .filter_map(|s| match &s.state {
                MigrationState::Modified {
                    recorded_hash,
                    line_endings_only,
                    ..
                } => Some(ModifiedMigration {
                    tag: s.migration.tag.to_string(),
                    recorded_hash: recorded_hash.clone(),
                    file_hash: s.migration.hash.to_string(),
                    line_endings_only: *line_endings_only,
                }),
                _ => None,
            })
            .collect();
        // A replay of the edited file proves nothing about what the database ran.
        if !modified.is_empty() {
            return Err(Error::Modified(modified));
        }
        Ok(())
    }

    async fn verify(
        &self,
        conn: &mut PgConnection,
        replay: &[&'static Migration],
        tag: &str,
    ) -> Result<(RecordReport, SchemaSnapshot), Error> {
        let server = self
            .options
            .scratch_server
            .clone()
            .unwrap_or_else(|| self.live.clone());
        let scratch = ScratchDatabase::create(&server).await?;
        let compared = self.compare(conn, &scratch, replay).await;
        let scratch_database = scratch.name().to_string();
        let scratch_server = scratch.server();
        if let Err(e) = scratch.drop().await {
            tracing::warn!(
                "could not drop the scratch database {scratch_database}: {e}; drop it by hand"
            );
        }
        let (diff, expected, schemas) = compared?;
        check_equal(&diff, tag)?;
        let report = RecordReport {
            recorded: Vec::new(),
            compared_objects: expected.len(),
            schemas,
            scratch_database,
            scratch_server,
            dry_run: self.options.dry_run,
        };
        Ok((report, expected))
    }

    /// The live schema, as compared: the app's schemas, without the bookkeeping table.
    async fn live_schema(
        &self,
        live: &mut PgConnection,
        schemas: &[String],
    ) -> Result<SchemaSnapshot, Error> {
        Ok(SchemaSnapshot::read(live, schemas)
            .await?
            .without_bookkeeping(self.migrator.bookkeeping_table()))
    }

    async fn compare(
        &self,
        live: &mut PgConnection,
        scratch: &ScratchDatabase,
        replay: &[&'static Migration],
    ) -> Result<(SchemaDiff, SchemaSnapshot, Vec<String>), Error> {
        let bookkeeping = self.migrator.bookkeeping_table();
        let mut conn = scratch.connect().await?;
        let result = async {
            ScratchDatabase::replay(&mut conn, replay).await?;
            let mut schemas = self.options.app_schemas.clone();
            for schema in catalog::user_schemas(&mut conn).await? {
                if !schemas.contains(&schema) && schema != bookkeeping.schema() {
                    schemas.push(schema);
                }
            }
            let expected = SchemaSnapshot::read(&mut conn, &schemas)
                .await?
                .without_bookkeeping(bookkeeping);
            let found = self.live_schema(live, &schemas).await?;
            Ok::<_, Error>((SchemaDiff::between(&expected, &found), expected, schemas))
        }
        .await;
        let _ = conn.close().await;
        result
    }

    async fn write(
        &self,
        conn: &mut PgConnection,
        tag: &str,
        mode: Mode,
        planned: &[&'static Migration],
        expected: &SchemaSnapshot,
        schemas: &[String],
    ) -> Result<(), Error> {
        let bookkeeping = self.migrator.bookkeeping_table();
        let lock = self.migrator.lock();
        let mut tx = conn.begin().await?;
        if lock.acquire_in_transaction(&mut tx).await?.is_none() {
            tx.rollback().await?;
            let holder = lock.holder(conn).await.ok().flatten();
            return Err(lock.timeout_error(holder));
        }
        bookkeeping
            .ensure_for(&mut tx, self.migrator.layout())
            .await?;
        // Another migrator may have run while the schema was being compared.
        let table = bookkeeping.read(&mut tx).await?.unwrap_or_default();
        let assessment = planner::assess(self.migrator.migration_list(), &table);
        let changed = match mode {
            Mode::Baseline => !table.rows.is_empty(),
            Mode::MarkApplied => {
                let target = planned.last().map_or(0, |m| m.idx as usize);
                unrecorded_up_to(&assessment, target) != planned
            }
        };
        if changed {
            tx.rollback().await?;
            return Err(Error::Refused {
                reason: format!(
                    "{} changed while the schema was being verified (another migrator ran?); nothing was recorded",
                    bookkeeping.qualified()
                ),
                fix: format!(
                    "run `migration status`, then retry `mark-applied {tag}` if it still applies"
                ),
            });
        }
        // Nor can the schema change under the lock: compare it once more, against the replay.
        let found = match self.live_schema(&mut tx, schemas).await {
            Ok(found) => found,
            Err(e) => {
                let _ = tx.rollback().await;
                return Err(e);
            }
        };
        if let Err(e) = check_equal(&SchemaDiff::between(expected, &found), tag) {
            tx.rollback().await?;
            return Err(e);
        }
        // The rows as drizzle-orm of the table's shape writes them: a 1.0 folder upgrades a 0.x
        // table first (as `up` does), and rows drizzle-orm 0.x left without a name get theirs.
        if assessment.upgrade.is_some() && !assessment.unmatched.is_empty() {
            tx.rollback().await?;
            return Err(planner::PlanError::UpgradeUnmatched {
                rows: assessment.unmatched,
            }
            .into());
        }
        if let Err(e) = self
            .migrator
            .update_bookkeeping(&mut tx, assessment.upgrade.as_deref(), &assessment.repairs)
            .await
        {
            let _ = tx.rollback().await;
            return Err(e);
        }
        let rows: Vec<NewRow<'_>> = planned
            .iter()
            .map(|m| NewRow {
                hash: m.hash,
                created_at: m.when,
                name: m.name,
            })
            .collect();
        bookkeeping
            .record(&mut tx, assessment.shape_after(), &rows)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// The refusal when the live schema is not the replayed one.
fn check_equal(diff: &SchemaDiff, tag: &str) -> Result<(), Error> {
    if diff.is_empty() {
        return Ok(());
    }
    Err(Error::SchemaMismatch {
        tag: tag.to_string(),
        count: diff.len(),
        diff: diff.render(DIFF_LINES),
    })
}

/// Migrations up to `target` (journal index, inclusive) that have no row yet.
fn unrecorded_up_to(assessment: &Assessment<'static>, target: usize) -> Vec<&'static Migration> {
    assessment
        .migrations
        .iter()
        .filter(|s| s.migration.idx as usize <= target)
        .filter(|s| {
            matches!(
                s.state,
                MigrationState::Pending | MigrationState::OutOfOrder
            )
        })
        .map(|s| s.migration)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::postgres::PgConnectOptions;

    #[test]
    fn debug_output_hides_passwords() {
        let options = RecordOptions {
            scratch_server: Some(ScratchServer::from(
                "postgres://app:Hunter2Secret@db:5432/app"
                    .parse::<PgConnectOptions>()
                    .expect("valid URL"),
            )),
            ..RecordOptions::default()
        };
        let migrator = Migrator::new();
        let live: PgConnectOptions = "postgres://app:Hunter2Secret@db/app"
            .parse()
            .expect("valid URL");
        let shown = format!("{:?}", Recorder::new(&migrator, live, options));
        assert!(!shown.contains("Hunter2Secret"), "{shown}");
        assert!(shown.contains("postgres://app@db:5432/app"), "{shown}");
    }
}
