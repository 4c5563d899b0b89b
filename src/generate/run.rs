//! Orchestration of `generate`: two scratch databases, the diff, the refusal, the proof.

use std::path::Path;

use entity::supplement::Supplement;
use sea_orm::SchemaBuilder;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use super::desired::build_desired;
use super::model::Schema;
use super::plan::{Plan, diff};
use super::read::read_schema;
use super::safe::{GeneratedMigration, plain, safe_forms};
use crate::Error;
use crate::migrations::Migration;
use crate::recovery::scratch::{ScratchDatabase, ScratchServer};
use crate::sql::execute_raw;

/// Where the migrations come from.
#[derive(Debug, Clone, Copy)]
pub enum Migrations<'a> {
    /// Migrations in memory (e.g. [`crate::MIGRATIONS`]).
    List(&'a [Migration]),
    /// A Drizzle migration folder on disk, read and validated as the build does.
    Folder(&'a Path),
}

impl Migrations<'_> {
    /// The migrations, read (and validated) from the folder if they come from one.
    pub fn load(self) -> Result<Vec<Migration>, Error> {
        match self {
            Migrations::List(list) => Ok(list.to_vec()),
            Migrations::Folder(dir) => Ok(crate::migrations::load_folder(dir)?),
        }
    }
}

/// What `generate` may do.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Accept statements that drop or narrow (tables, columns, enum values, type changes).
    pub allow_drop: bool,
    /// Write the forms that take no long lock on a table with rows ([`super::safe`]) instead
    /// of drizzle-kit's one file.
    pub safe: bool,
}

/// A verified plan and the two schemas it was computed from.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The statements in drizzle-kit's form and order.
    pub plan: Plan,
    /// The files to write: applied in order after the replayed migrations, as the migrator
    /// applies them, they give the desired schema. Empty when nothing changes.
    pub migrations: Vec<GeneratedMigration>,
    /// The schema the migrations produce.
    pub current: Schema,
    /// The schema the entities and the supplement describe.
    pub desired: Schema,
}

/// Computes the migration that brings `migrations` to `entities` + `supplement`, on scratch
/// databases created on `server` (and dropped before returning); their connections get the
/// default TCP keepalives ([`generate_on`] takes the URL's).
///
/// Refuses ([`Error::DropRefused`]) when a statement can lose data and `options.allow_drop`
/// is off; fails ([`Error::GenerateUnverified`]) when the statements, applied to the replayed
/// migrations, do not give the desired schema.
pub async fn generate(
    server: &PgConnectOptions,
    migrations: Migrations<'_>,
    entities: SchemaBuilder,
    supplement: &Supplement,
    options: &Options,
) -> Result<Generated, Error> {
    generate_on(
        &ScratchServer::from(server),
        migrations,
        entities,
        supplement,
        options,
    )
    .await
}

/// [`generate`] on a [`ScratchServer`] (e.g. from a [`crate::url::DbUrl`], whose keepalive
/// parameters its connections then get).
pub async fn generate_on(
    server: &ScratchServer,
    migrations: Migrations<'_>,
    entities: SchemaBuilder,
    supplement: &Supplement,
    options: &Options,
) -> Result<Generated, Error> {
    let owned = migrations.load()?;
    let list: Vec<&Migration> = owned.iter().collect();
    let current_db = ScratchDatabase::create(server).await?;
    let desired_db = match ScratchDatabase::create(server).await {
        Ok(db) => db,
        Err(e) => {
            let _ = current_db.drop().await;
            return Err(e);
        }
    };
    let result = compute(
        &current_db,
        &desired_db,
        &list,
        entities,
        supplement,
        options,
    )
    .await;
    let dropped = (current_db.drop().await, desired_db.drop().await);
    let generated = result?;
    dropped.0?;
    dropped.1?;
    Ok(generated)
}

async fn compute(
    current_db: &ScratchDatabase,
    desired_db: &ScratchDatabase,
    migrations: &[&Migration],
    entities: SchemaBuilder,
    supplement: &Supplement,
    options: &Options,
) -> Result<Generated, Error> {
    let mut conn = current_db.connect().await?;
    ScratchDatabase::replay(&mut conn, migrations).await?;
    let current = read_schema(&mut conn).await?;
    // The folder's layout decides drizzle-kit's default names (0.31's or 1.0's).
    let layout = migrations
        .first()
        .map_or(crate::journal::Layout::Journal, |m| m.layout);
    let mut desired = build_desired(desired_db, entities, supplement, layout).await?;
    if layout == crate::journal::Layout::Folders {
        super::desired::keep_generated_names(&current, &mut desired);
    }
    let plan = diff(&current, &desired);
    plan.refuse_drops(options.allow_drop)?;
    let migrations = match (plan.is_empty(), options.safe) {
        (true, _) => Vec::new(),
        (false, false) => plain(&plan),
        (false, true) => safe_forms(&plan),
    };
    if !migrations.is_empty() {
        prove(&mut conn, &migrations, &desired).await?;
    }
    let _ = conn.close().await;
    Ok(Generated {
        plan,
        migrations,
        current,
        desired,
    })
}

/// A scratch database on `server` holding `migrations` replayed and then `statements` applied
/// and committed: the schema a generated migration leads to, for reading it back (the CLI
/// writes drizzle-kit's snapshot from it). The caller drops it; on error it is already gone.
pub async fn scratch_after(
    server: impl Into<ScratchServer>,
    migrations: Migrations<'_>,
    statements: &[String],
) -> Result<ScratchDatabase, Error> {
    let owned = migrations.load()?;
    let list: Vec<&Migration> = owned.iter().collect();
    let db = ScratchDatabase::create(server).await?;
    let applied = async {
        let mut conn = db.connect().await?;
        ScratchDatabase::replay(&mut conn, &list).await?;
        for statement in statements {
            execute_raw(&mut conn, statement.clone()).await?;
        }
        let _ = conn.close().await;
        Ok::<(), Error>(())
    }
    .await;
    match applied {
        Ok(()) => Ok(db),
        Err(e) => {
            let _ = db.drop().await;
            Err(e)
        }
    }
}

/// Proves `statements` (another writer's SQL for `desired`, e.g. drizzle-kit 1.0's forms): on a
/// scratch database on `server` holding `migrations` replayed, they apply in one transaction
/// and give exactly `desired`; otherwise [`Error::GenerateUnverified`] says what remains.
pub async fn verify_statements(
    server: &ScratchServer,
    migrations: Migrations<'_>,
    statements: &[String],
    desired: &Schema,
) -> Result<(), Error> {
    let owned = migrations.load()?;
    let list: Vec<&Migration> = owned.iter().collect();
    let db = ScratchDatabase::create(server).await?;
    let proved = async {
        let mut conn = db.connect().await?;
        ScratchDatabase::replay(&mut conn, &list).await?;
        let migration = GeneratedMigration {
            suffix: None,
            transaction: true,
            statements: statements.to_vec(),
        };
        let proved = prove(&mut conn, std::slice::from_ref(&migration), desired).await;
        let _ = conn.close().await;
        proved
    }
    .await;
    let dropped = db.drop().await;
    proved?;
    dropped
}

/// Applies the migrations to the replayed ones as the migrator would (a transactional one in a
/// transaction, a no-transaction one statement by statement) and requires the result to
/// equal the desired schema. The scratch database is thrown away afterwards.
async fn prove(
    conn: &mut PgConnection,
    migrations: &[GeneratedMigration],
    desired: &Schema,
) -> Result<(), Error> {
    let all_sql = || {
        migrations
            .iter()
            .map(GeneratedMigration::text)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let failed = |statement: &str, e: sqlx::Error| Error::GenerateUnverified {
        sql: all_sql(),
        remaining: vec![format!(
            "{} failed: {}",
            statement.trim_end(),
            crate::error::describe_sqlx(&e)
        )],
    };
    for migration in migrations {
        if migration.transaction {
            let mut tx = conn.begin().await?;
            for statement in &migration.statements {
                if let Err(e) = execute_raw(&mut tx, statement.clone()).await {
                    let _ = tx.rollback().await;
                    return Err(failed(statement, e));
                }
            }
            tx.commit().await?;
        } else {
            for statement in &migration.statements {
                execute_raw(&mut *conn, statement.clone())
                    .await
                    .map_err(|e| failed(statement, e))?;
            }
        }
    }
    let after = read_schema(&mut *conn).await?;
    let remaining = diff(&after, desired);
    if remaining.is_empty() {
        return Ok(());
    }
    Err(Error::GenerateUnverified {
        sql: all_sql(),
        remaining: remaining.sql(),
    })
}
