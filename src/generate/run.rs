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
    fn load(self) -> Result<Vec<Migration>, Error> {
        match self {
            Migrations::List(list) => Ok(list.to_vec()),
            Migrations::Folder(dir) => load_folder(dir),
        }
    }
}

/// What `generate` may do.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Accept statements that drop or narrow (tables, columns, enum values, type changes).
    pub allow_drop: bool,
}

/// A verified plan and the two schemas it was computed from.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The statements; applying them to the replayed migrations gives the desired schema.
    pub plan: Plan,
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
    let desired = build_desired(desired_db, entities, supplement).await?;
    let plan = diff(&current, &desired);
    plan.refuse_drops(options.allow_drop)?;
    if !plan.is_empty() {
        prove(&mut conn, &plan, &desired).await?;
    }
    let _ = conn.close().await;
    Ok(Generated {
        plan,
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

/// Applies the plan to the replayed migrations (one transaction, as the migrator would) and
/// requires the result to equal the desired schema.
async fn prove(conn: &mut PgConnection, plan: &Plan, desired: &Schema) -> Result<(), Error> {
    let mut tx = conn.begin().await?;
    for statement in &plan.statements {
        if let Err(e) = execute_raw(&mut tx, statement.sql.clone()).await {
            let _ = tx.rollback().await;
            return Err(Error::GenerateUnverified {
                sql: plan.sql().join("\n"),
                remaining: vec![format!(
                    "{} failed: {}",
                    statement.sql.trim_end(),
                    crate::error::describe_sqlx(&e)
                )],
            });
        }
    }
    let after = read_schema(&mut tx).await?;
    tx.rollback().await?;
    let remaining = diff(&after, desired);
    if remaining.is_empty() {
        return Ok(());
    }
    Err(Error::GenerateUnverified {
        sql: plan.sql().join("\n"),
        remaining: remaining.sql(),
    })
}

/// The folder's migrations as [`Migration`]s. Their texts are leaked: `Migration` borrows
/// `'static` text (it describes the compiled-in folder), and a generate run reads one folder.
fn load_folder(dir: &Path) -> Result<Vec<Migration>, Error> {
    let loaded = crate::journal::load_dir(dir)?;
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    Ok(loaded
        .migrations
        .into_iter()
        .map(|m| Migration {
            idx: m.idx,
            tag: leak(m.tag),
            when: m.when,
            breakpoints: m.breakpoints,
            transaction: m.transaction,
            sql: leak(m.sql),
            hash: leak(m.hash),
        })
        .collect())
}
