//! The process's replica sets, found from the primary's pool, and the functions of the crate
//! root: [`read`], [`read_after`], [`wal_position`].

use std::any::Any;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use sea_orm::{AccessMode, DatabaseConnection, TransactionTrait};
use sqlx::PgConnection;

use super::pools::ReplicaPool;
use super::read::{Read, Served};
use super::{ReplicaSet, WalPosition, probe, wait};
use crate::Error;
use crate::config::Config;
use crate::migrate::Report;

/// Replica sets by their primary pool's target (`user@host:port/database`).
static SETS: LazyLock<Mutex<HashMap<String, ReplicaSet>>> = LazyLock::new(Default::default);

/// The replica set `init()` (or [`crate::init::open`]) attached to this primary pool, if any.
pub fn for_pool(primary: &DatabaseConnection) -> Option<ReplicaSet> {
    let key = crate::rag::facts::pool_key(primary)?;
    SETS.lock().ok()?.get(&key).cloned()
}

fn register(primary: &DatabaseConnection, set: &ReplicaSet) {
    if let (Some(key), Ok(mut sets)) = (crate::rag::facts::pool_key(primary), SETS.lock()) {
        sets.insert(key, set.clone());
    }
}

/// A read-only transaction for read-only work, from the pool [`crate::init()`] created: on a
/// read replica within `APP_DB_MAX_REPLICA_LAG` when `DATABASE_READ_URL` names any, else on
/// the primary. See [`ReplicaSet::read`].
///
/// ```no_run
/// # async fn example() -> Result<(), app_db::Error> {
/// use sea_orm::EntityTrait;
/// let read = app_db::replica::read().await?;
/// let orgs = app_db::organization::Entity::find().all(&read).await?;
/// read.commit().await?;
/// # let _ = orgs; Ok(()) }
/// ```
pub async fn read() -> Result<Read, Error> {
    on_init_pool(None).await
}

/// Read-your-writes: a read-only transaction that sees every write committed before
/// `position` was taken with [`wal_position`], on a replica that has replayed it (waiting up
/// to `APP_DB_READ_AFTER_WAIT` for one), else on the primary.
///
/// ```no_run
/// # async fn example() -> Result<(), app_db::Error> {
/// use sea_orm::{ActiveModelTrait, EntityTrait};
/// # let org: app_db::organization::ActiveModel = todo!();
/// org.insert(app_db::db()?).await?;
/// let written = app_db::replica::wal_position().await?;
/// let read = app_db::replica::read_after(written).await?;
/// let orgs = app_db::organization::Entity::find().all(&read).await?; // includes the new one
/// # let _ = orgs; Ok(()) }
/// ```
pub async fn read_after(position: WalPosition) -> Result<Read, Error> {
    on_init_pool(Some(position)).await
}

/// The primary's WAL position now, to pass to [`read_after`] after a write: one round trip to
/// the primary (see [`probe::primary_position`] for what it covers).
pub async fn wal_position() -> Result<WalPosition, Error> {
    let db = crate::db()?;
    let mut conn = db.get_postgres_connection_pool().acquire().await?;
    Ok(probe::primary_position(&mut conn).await?)
}

async fn on_init_pool(after: Option<WalPosition>) -> Result<Read, Error> {
    let db = crate::db()?;
    match for_pool(db) {
        Some(set) => match after {
            Some(position) => set.read_after(position).await,
            None => set.read().await,
        },
        None => Ok(Read::new(
            db.begin_with_config(None, Some(AccessMode::ReadOnly))
                .await?,
            Served::Primary,
        )),
    }
}

/// For search: a read-only transaction on a replica when `db` is a primary pool with replicas
/// attached, else on `db` itself, as before replicas existed.
pub(crate) async fn begin_read_only<C>(db: &C) -> Result<C::Transaction, Error>
where
    C: TransactionTrait + 'static,
{
    let set = (db as &dyn Any)
        .downcast_ref::<DatabaseConnection>()
        .and_then(for_pool);
    if let Some(set) = set {
        // `C` is `DatabaseConnection` here (the downcast above succeeded), so each pool the
        // router hands over is a `C` too and begins a `C::Transaction`.
        let (txn, _served) = set
            .begin_on(None, |pool| async move {
                match (&pool as &dyn Any).downcast_ref::<C>() {
                    Some(pool) => {
                        pool.begin_with_config(None, Some(AccessMode::ReadOnly))
                            .await
                    }
                    None => Err(sea_orm::DbErr::Custom(
                        "a replica pool is not the caller's connection type".into(),
                    )),
                }
            })
            .await?;
        return Ok(txn);
    }
    Ok(db
        .begin_with_config(None, Some(AccessMode::ReadOnly))
        .await?)
}

/// `init()`'s part: with `DATABASE_READ_URL` set, builds the replica pools, routes reads of
/// `db` through them from now on, and (after migrating, unless `APP_DB_WAIT_REPLICAS` is off)
/// waits until every replica has replayed the primary's position, read on `conn` (the
/// migrating connection's server) right after the migrations.
///
/// Whether or not it waits, no replica serves this process before it has replayed that
/// position.
pub(crate) async fn attach(
    db: &DatabaseConnection,
    conn: &mut PgConnection,
    config: &Config,
    migrated: Option<&Report>,
) -> Result<Option<ReplicaSet>, Error> {
    let urls = config.replicas.configured_urls();
    if urls.is_empty() {
        return Ok(None);
    }
    let replicas = ReplicaPool::open_all(urls, "DATABASE_READ_URL", &config.pool)?;
    let position = probe::primary_position(conn).await?;
    let set = ReplicaSet::new(
        db.clone(),
        replicas,
        config.replicas.clone(),
        config.pool.connect_timeout,
    );
    set.raise_floor(position);
    register(db, &set);
    if let Some(report) = migrated.filter(|_| config.replicas.wait_at_boot) {
        tracing::info!(
            position = %position,
            replicas = set.replicas().len(),
            "waiting for the read replicas to replay the migrations"
        );
        wait::wait_replayed(
            set.replicas(),
            position,
            config.replicas.wait_timeout,
            config.pool.connect_timeout,
            report.position.at,
            "APP_DB_WAIT_REPLICAS_TIMEOUT",
            |_, _| {},
        )
        .await?;
    }
    Ok(Some(set))
}
