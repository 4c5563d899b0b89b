//! `sea_orm_migration::MigratorTrait` for [`Migrator`], backed by the Drizzle bookkeeping.
//!
//! SeaORM code can call `Migrator::up(&db, None)` and `Migrator::status(&db)` as with any SeaORM
//! migrator; nothing here ever creates `seaql_migrations`. What the trait cannot honour:
//!
//! - `down`, `refresh`, `reset`: Drizzle migrations are forward-only (no down SQL exists); these
//!   return an error that says to add a fix-up migration.
//! - `fresh`: dropping every object of the database is left to the CLI's `fresh --yes`, whose
//!   name and confirmation carry the danger; the trait method returns an error pointing there.
//! - `up` and `status` on a `DatabaseTransaction`: the migrator takes its own lock and
//!   transaction, so it needs a `DatabaseConnection`; a transaction gets an error.
//! - Configuration: the trait's methods are static, so they read the same environment as
//!   `init()` through [`Config::from_env`]: `APP_DB_MIGRATIONS_SCHEMA`/`APP_DB_MIGRATIONS_TABLE`
//!   (the bookkeeping table), `APP_DB_LOCK_TIMEOUT`, the DDL lock rules
//!   (`APP_DB_DDL_LOCK_TIMEOUT`, `APP_DB_DDL_RETRY_BUDGET`; the blocking sessions are named
//!   through a second connection of the pool's server) and the drift policy
//!   (`APP_DB_ALLOW_OUT_OF_ORDER`, `APP_DB_ALLOW_MODIFIED`). A bad value is an error naming it.
//! - `get_migration_models` maps rows to `seaql_migrations::Model { version: tag, applied_at:
//!   created_at }` (the journal `when`, in milliseconds); rows unknown to this binary are left
//!   out (logged), as the planner treats them as a warning, not an error.

use sea_orm::sea_query::{Alias, IntoIden};
use sea_orm::{ConnectionTrait, DatabaseExecutor, DbErr, DynIden, Statement};
use sea_orm_migration::{
    IntoSchemaManagerConnection, MigrationName, MigrationTrait, MigratorTrait, SchemaManager,
    seaql_migrations,
};

use super::Migrator;
use super::driver::{Bookkeeping, DEFAULT_TABLE};
use super::planner::{self, AppliedRow, AppliedTable, TableShape};
use crate::config::Config;
use crate::journal::Layout;
use crate::migrations::{MIGRATIONS, MIGRATIONS_LAYOUT, Migration};

/// One compiled Drizzle migration seen as a SeaORM migration (name = tag).
#[derive(Debug, Clone, Copy)]
pub struct DrizzleMigration(pub &'static Migration);

impl MigrationName for DrizzleMigration {
    // SeaORM's name is what `status` calls the migration: its tag (the folder name in a 1.0
    // folder, where tag and drizzle's `name` are the same).
    #[allow(clippy::misnamed_getters)]
    fn name(&self) -> &str {
        self.0.tag
    }
}

#[async_trait::async_trait]
impl MigrationTrait for DrizzleMigration {
    /// Runs the file's statements. The bookkeeping row is the migrator's business: call
    /// `Migrator::up`, not this, to migrate a database.
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let conn = manager.get_connection();
        for statement in self.0.statements() {
            conn.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(forward_only())
    }

    fn use_transaction(&self) -> Option<bool> {
        Some(self.0.transaction)
    }
}

fn forward_only() -> DbErr {
    DbErr::Migration(
        "Drizzle migrations are forward-only: there is no down SQL to run.\n  fix: add a new migration that undoes the change (cargo run -p migration -- generate <name> --custom)".into(),
    )
}

fn to_db_err(e: crate::Error) -> DbErr {
    match e {
        crate::Error::Database(db) => db,
        other => DbErr::Migration(other.to_string()),
    }
}

/// Checks for the table before reading it: `db` may be the caller's transaction, which a
/// missing-table error would abort (the raw driver can use the error itself instead).
async fn read_rows<C: ConnectionTrait>(
    db: &C,
    bookkeeping: &Bookkeeping,
) -> Result<Option<AppliedTable>, DbErr> {
    let exists = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "select to_regclass($1) is not null as present",
            [bookkeeping.qualified().into()],
        ))
        .await?
        .map(|row| row.try_get::<bool>("", "present"))
        .transpose()?
        .unwrap_or(false);
    if !exists {
        return Ok(None);
    }
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            bookkeeping.select_sql(),
        ))
        .await?;
    // The same statement and reading as the driver's (`Bookkeeping::read`).
    let mut table = AppliedTable::drizzle0(Vec::with_capacity(rows.len()));
    for r in &rows {
        if r.try_get::<bool>("", "has_name")? {
            table.shape = Some(TableShape::Drizzle1);
        }
        let Some(id) = r.try_get::<Option<i32>>("", "id")? else {
            continue;
        };
        table.rows.push(AppliedRow {
            id,
            hash: r.try_get("", "hash")?,
            created_at: r.try_get("", "created_at")?,
            name: r.try_get("", "name")?,
        });
    }
    Ok(Some(table))
}

/// The migrator `init()` would use: bookkeeping table, lock timeout and policy from the
/// environment, parsed by [`Config::from_env`].
fn configured() -> Result<Migrator, DbErr> {
    Config::from_env()
        .map(|config| config.migrator())
        .map_err(|e| DbErr::Custom(e.to_string()))
}

/// The configured bookkeeping table.
fn bookkeeping() -> Result<Bookkeeping, DbErr> {
    configured().map(|m| m.bookkeeping_table().clone())
}

/// The compiled migrations against the configured bookkeeping table (no rows when it is
/// missing).
async fn assess_db<C: ConnectionTrait>(db: &C) -> Result<planner::Assessment<'static>, DbErr> {
    let table = read_rows(db, &bookkeeping()?).await?.unwrap_or_default();
    Ok(planner::assess(MIGRATIONS, &table))
}

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        MIGRATIONS
            .iter()
            .map(|m| Box::new(DrizzleMigration(m)) as Box<dyn MigrationTrait>)
            .collect()
    }

    /// The configured table's name (the default one when the environment is invalid: this
    /// method cannot fail, and every method that touches the database reports the bad value).
    fn migration_table_name() -> DynIden {
        match bookkeeping() {
            Ok(b) => Alias::new(b.table()).into_iden(),
            Err(_) => Alias::new(DEFAULT_TABLE).into_iden(),
        }
    }

    /// Creates drizzle's schema and table if missing (no DDL when they exist), in the shape of
    /// the compiled folder's drizzle-orm (0.x for a journal folder, 1.0 for a 1.0 folder).
    async fn install<C>(db: &C) -> Result<(), DbErr>
    where
        C: ConnectionTrait,
    {
        let bookkeeping = bookkeeping()?;
        if read_rows(db, &bookkeeping).await?.is_none() {
            let create = match MIGRATIONS_LAYOUT {
                Layout::Journal => bookkeeping.create_sql(),
                Layout::Folders => bookkeeping.create_v1_sql(),
            };
            db.execute_unprepared(&create).await?;
        }
        Ok(())
    }

    async fn get_migration_models<C>(db: &C) -> Result<Vec<seaql_migrations::Model>, DbErr>
    where
        C: ConnectionTrait,
    {
        let assessment = assess_db(db).await?;
        for row in &assessment.unknown_rows {
            tracing::warn!(id = row.id, created_at = ?row.created_at, "bookkeeping row unknown to this binary");
        }
        Ok(assessment
            .migrations
            .iter()
            .filter_map(|status| match status.state {
                planner::MigrationState::Applied { .. }
                | planner::MigrationState::Modified { .. } => Some(seaql_migrations::Model {
                    version: status.migration.tag.to_string(),
                    applied_at: status.migration.when,
                }),
                _ => None,
            })
            .collect())
    }

    async fn get_migration_with_status_read_only<C>(
        db: &C,
    ) -> Result<Vec<sea_orm_migration::Migration>, DbErr>
    where
        C: ConnectionTrait,
    {
        // Without the table everything is pending; with it, reading needs no DDL (install is a
        // no-op then), so the regular path is read-only too.
        if read_rows(db, &bookkeeping()?).await?.is_none() {
            return Ok(Self::get_migration_files());
        }
        Self::get_migration_with_status(db).await
    }

    /// Logs one line per migration with app-db's states (modified and out-of-order included).
    async fn status<C>(db: &C) -> Result<(), DbErr>
    where
        C: ConnectionTrait,
    {
        let assessment = assess_db(db).await?;
        for status in &assessment.migrations {
            tracing::info!(
                "Migration '{}'... {}",
                status.migration.tag,
                status.state.label()
            );
        }
        for row in &assessment.unknown_rows {
            tracing::info!(
                "Row {} (created_at {:?})... unknown-in-db",
                row.id,
                row.created_at
            );
        }
        Ok(())
    }

    async fn fresh<'c, C>(_db: C) -> Result<(), DbErr>
    where
        C: IntoSchemaManagerConnection<'c>,
    {
        Err(DbErr::Migration(
            "fresh drops every object of the database and is not offered through the SeaORM trait.\n  fix: run `cargo run -p migration -- fresh --yes` deliberately".into(),
        ))
    }

    async fn refresh<'c, C>(_db: C) -> Result<(), DbErr>
    where
        C: IntoSchemaManagerConnection<'c>,
    {
        Err(forward_only())
    }

    async fn reset<'c, C>(_db: C) -> Result<(), DbErr>
    where
        C: IntoSchemaManagerConnection<'c>,
    {
        Err(forward_only())
    }

    async fn up<'c, C>(db: C, steps: Option<u32>) -> Result<(), DbErr>
    where
        C: IntoSchemaManagerConnection<'c>,
    {
        match db.into_database_executor() {
            DatabaseExecutor::Connection(conn) => {
                let pool = conn.get_postgres_connection_pool();
                let mut raw = pool.acquire().await.map_err(|e| DbErr::Conn(sea_orm::RuntimeErr::Internal(e.to_string())))?;
                let limit = steps.map(|n| n as usize);
                let migrator = configured()?.watch_blockers((*pool.connect_options()).clone());
                migrator.run_with(&mut raw, limit, &mut |_| {}).await.map(|_| ()).map_err(to_db_err)
            }
            _ => Err(DbErr::Migration(
                "app-db's migrator takes its own lock and transaction, so it needs a DatabaseConnection, not a transaction.\n  fix: call Migrator::up(&db, None) with the pool".into(),
            )),
        }
    }

    async fn down<'c, C>(_db: C, _steps: Option<u32>) -> Result<(), DbErr>
    where
        C: IntoSchemaManagerConnection<'c>,
    {
        Err(forward_only())
    }
}
