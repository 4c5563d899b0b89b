//! `init()`: connect, migrate, optionally seed, and keep the pool for the whole process.
//!
//! Every replica of the SaaS binary calls it at start-up. Against an up-to-date database it
//! costs one pooled-connection check and one query after connecting; when migrations are
//! pending, replicas serialise on the migration lock and each migration is applied once.

use once_cell::sync::OnceCell;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use sqlx::Connection;

use crate::Error;
use crate::config::{Config, SeedMode};
use crate::migrate::Report;
use crate::seed::{SeedOutcome, SeedRequest};
use crate::url::DbUrl;

static DB: OnceCell<DatabaseConnection> = OnceCell::new();
static INIT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Reads the configuration from the environment (see [`crate::config`]), connects, migrates,
/// seeds if configured, and keeps the pool for [`db()`].
///
/// With read replicas (`DATABASE_READ_URL`) it also opens a pool per replica, waits until
/// each has replayed the migrations (`APP_DB_WAIT_REPLICAS_TIMEOUT`; [`Error::ReplicasBehind`]
/// names a late one, the migrations staying applied), and from then on
/// [`crate::replica::read`] and `rag::search` on this pool read from them.
///
/// `DATABASE_URL` is required: a deployed binary never starts a database of its own. Set
/// `APP_DB_EMBEDDED=1` to use the embedded development server when no URL is given.
///
/// ```no_run
/// # async fn boot() -> Result<(), app_db::Error> {
/// let db = app_db::init().await?;
/// // later, anywhere in the process:
/// let same = app_db::db()?;
/// # let _ = (db, same); Ok(()) }
/// ```
pub async fn init() -> Result<&'static DatabaseConnection, Error> {
    init_with(Config::from_env()?).await
}

/// [`init()`] with an explicit configuration. A second call returns the pool of the first.
pub async fn init_with(config: Config) -> Result<&'static DatabaseConnection, Error> {
    if let Some(db) = DB.get() {
        return Ok(db);
    }
    let _guard = INIT.lock().await;
    if let Some(db) = DB.get() {
        return Ok(db);
    }
    let (db, _boot) = open(&config).await?;
    Ok(DB.get_or_init(|| db))
}

/// The pool [`init()`] created.
pub fn db() -> Result<&'static DatabaseConnection, Error> {
    DB.get().ok_or(Error::NotInitialized)
}

/// What a boot did.
#[derive(Debug, Clone, Default)]
pub struct Boot {
    /// The migration run, unless migrating is switched off.
    pub migrations: Option<Report>,
    /// The seeding, unless the seed mode is `never`.
    pub seed: Option<SeedOutcome>,
    /// The read replicas (`DATABASE_READ_URL`), now serving reads of the returned pool.
    pub replicas: Option<crate::replica::ReplicaSet>,
}

/// Connects, migrates and seeds as `config` says, without touching the process-wide pool:
/// for tools and tests that need several databases. Read replicas are attached to the
/// returned pool as in [`init()`].
pub async fn open(config: &Config) -> Result<(DatabaseConnection, Boot), Error> {
    let url = DbUrl::parse(&resolve_url(config).await?, "DATABASE_URL")?;
    // The connection that proves the server answers is the one the migrator runs on: a boot
    // opens one connection before the pool's, not two.
    let (db, mut first) = pool_and_first_connection(&url, config).await?;
    let mut boot = Boot::default();
    let migrated = if config.migrate {
        Some(migrate_on(&mut first, &url, config).await)
    } else {
        None
    };
    // Read replicas wait for (and are held to) the primary's position after migrating.
    let replicas = match &migrated {
        Some(Err(_)) => Ok(None),
        _ => {
            let report = migrated.as_ref().and_then(|r| r.as_ref().ok());
            crate::replica::attach(&db, &mut first, config, report).await
        }
    };
    let _ = first.close().await;
    if let Some(report) = migrated {
        boot.migrations = Some(report?);
    }
    boot.replicas = replicas?;
    let request = match config.seed {
        SeedMode::Never => None,
        SeedMode::FirstBoot => Some(SeedRequest::IfNew),
        SeedMode::Always => Some(SeedRequest::Always),
    };
    if let Some(request) = request {
        let (set, migrator) = (&crate::seed::INITIAL, config.migrator());
        let outcome = if boot.migrations.is_some() {
            // The migrator just brought every migration in: no need to check again.
            crate::seed::run_on_migrated(&db, set, request, &migrator).await?
        } else {
            crate::seed::run(&db, set, request, &migrator).await?
        };
        if let SeedOutcome::Changed { .. } = outcome {
            tracing::warn!("{outcome}");
        }
        boot.seed = Some(outcome);
    }
    Ok((db, boot))
}

async fn resolve_url(config: &Config) -> Result<String, Error> {
    if let Some(url) = &config.database_url {
        return Ok(url.clone());
    }
    if !config.embedded {
        return Err(Error::MissingEnv {
            var: "DATABASE_URL",
            fix: "set it to the app's PostgreSQL, e.g. postgres://user:password@host:5432/app; for a local run with the embedded development server set APP_DB_EMBEDDED=1 instead".into(),
        });
    }
    let server = crate::embedded::DevServer::locate()?;
    let status = server.ensure_running().await?;
    let url = crate::embedded::DevServer::url(status.port);
    tracing::info!(url = %crate::url::redact(&url), "using the embedded development server");
    Ok(url)
}

/// Builds the SeaORM pool from the configuration. The URL is parsed once, by the driver's
/// rules ([`DbUrl`]); see [`connect_to`].
pub async fn connect(database_url: &str, config: &Config) -> Result<DatabaseConnection, Error> {
    connect_to(&DbUrl::parse(database_url, "DATABASE_URL")?, config).await
}

/// Builds the pool for a parsed URL. One connection is opened first, bounded by the connect
/// timeout: the pool itself would retry a refused connection until its acquire timeout and then
/// report only "pool timed out", hiding the cause. The pool is built from our own sqlx pool
/// options (SeaORM's `ConnectOptions` lets its acquire timeout override the connect timeout,
/// and logs the URL in a trace span).
pub async fn connect_to(url: &DbUrl, config: &Config) -> Result<DatabaseConnection, Error> {
    let (db, first) = pool_and_first_connection(url, config).await?;
    let _ = first.close().await;
    Ok(db)
}

/// The (lazy) pool and one connection opened first, bounded by the connect timeout: see
/// [`connect_to`].
async fn pool_and_first_connection(
    url: &DbUrl,
    config: &Config,
) -> Result<(DatabaseConnection, sqlx::PgConnection), Error> {
    let first = connect_one(url, config.pool.connect_timeout, "DATABASE_CONNECT_TIMEOUT").await?;
    Ok((lazy_pool(url, &config.pool), first))
}

/// A pool for `url` with the configured bounds, its connections named ([`named_options`]) and
/// given TCP keepalives right after connecting; nothing is opened until it is used. The app's
/// pool and each read replica's pool are built here, so they share every bound.
pub(crate) fn lazy_pool(url: &DbUrl, pool: &crate::config::PoolConfig) -> DatabaseConnection {
    let keepalive_url = url.clone();
    let pool = sqlx::postgres::PgPoolOptions::new()
        // sqlx has no hook before a pooled connect, so the sockets from before are unknown
        // here: the server's view of the client tells concurrent connects apart.
        .after_connect(move |conn, _| {
            let url = keepalive_url.clone();
            Box::pin(async move {
                crate::keepalive::arm(conn, url.options(), url.keepalive(), None).await;
                Ok(())
            })
        })
        .min_connections(pool.min)
        .max_connections(pool.max)
        .idle_timeout(pool.idle_timeout)
        .acquire_timeout(pool.acquire_timeout)
        .connect_lazy_with(named_options(url));
    sea_orm::SqlxPostgresConnector::from_sqlx_postgres_pool(pool)
}

/// One raw connection to `url`, named like the pool's, failing after `timeout` with an error
/// naming `setting` (a server that accepts TCP and never answers would otherwise hang it).
pub async fn connect_one(
    url: &DbUrl,
    timeout: Duration,
    setting: &'static str,
) -> Result<sqlx::PgConnection, Error> {
    let before = crate::keepalive::Before::now();
    match tokio::time::timeout(
        timeout,
        sqlx::PgConnection::connect_with(&named_options(url)),
    )
    .await
    {
        Ok(Ok(mut conn)) => {
            crate::keepalive::arm(&mut conn, url.options(), url.keepalive(), Some(&before)).await;
            Ok(conn)
        }
        Ok(Err(e)) => Err(Error::connect_to(url, e)),
        Err(_) => Err(Error::ConnectTimeout {
            url: url.redacted().to_string(),
            timeout,
            setting,
        }),
    }
}

/// Applies pending migrations on a pooled connection, or on `DATABASE_DIRECT_URL` when set
/// (needed behind PgBouncer in transaction mode for `-- app-db:no-transaction` migrations).
pub async fn migrate(db: &DatabaseConnection, config: &Config) -> Result<Report, Error> {
    match &config.direct_url {
        Some(direct) => migrate_direct(direct, config).await,
        None => {
            let pool = db.get_postgres_connection_pool();
            let mut conn = pool.acquire().await?;
            config
                .migrator()
                .watch_blockers((*pool.connect_options()).clone())
                .run(&mut conn)
                .await
        }
    }
}

/// [`migrate`] on a connection the caller already holds (unless `DATABASE_DIRECT_URL` is set).
async fn migrate_on(
    conn: &mut sqlx::PgConnection,
    url: &DbUrl,
    config: &Config,
) -> Result<Report, Error> {
    match &config.direct_url {
        Some(direct) => migrate_direct(direct, config).await,
        None => {
            let migrator = config
                .migrator()
                .keepalive(url.keepalive().copied())
                .watch_blockers(named_options(url));
            migrator.run(conn).await
        }
    }
}

async fn migrate_direct(direct: &str, config: &Config) -> Result<Report, Error> {
    let direct = DbUrl::parse(direct, "DATABASE_DIRECT_URL")?;
    let mut conn = connect_one(
        &direct,
        config.pool.connect_timeout,
        "DATABASE_CONNECT_TIMEOUT",
    )
    .await?;
    let migrator = config
        .migrator()
        .keepalive(direct.keepalive().copied())
        .watch_blockers(named_options(&direct));
    let report = migrator.run(&mut conn).await;
    let _ = conn.close().await;
    report
}

/// Options for one raw connection to `url` (migrations, tools): named like the pool's
/// connections, and without sqlx's slow-statement logging (migrations and catalog reads take
/// seconds by nature).
pub fn connect_options(url: &str) -> Result<sqlx::postgres::PgConnectOptions, Error> {
    Ok(named_options(&DbUrl::parse(url, "the database URL")?))
}

/// [`connect_options`] for a parsed URL.
pub fn named_options(url: &DbUrl) -> sqlx::postgres::PgConnectOptions {
    let options = sqlx::ConnectOptions::disable_statement_logging(url.options().clone());
    // Unless the URL names the connection, name it so that a held migration lock names its
    // holder in `pg_stat_activity`.
    if options.get_application_name().is_some() {
        options
    } else {
        options.application_name(&application_name())
    }
}

/// `app-db <host> <pid>`, at most 63 bytes (PostgreSQL truncates longer names).
pub fn application_name() -> String {
    let mut buf = [0u8; 64];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it or
    // truncates, and we stop at the first NUL either way.
    let host = if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0 {
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        "unknown-host".to_string()
    };
    at_most_63_bytes(format!("app-db {host} {}", std::process::id()))
}

/// PostgreSQL's `NAMEDATALEN - 1`, cut at a character boundary (a host name may be UTF-8, and
/// `String::truncate` inside a character panics).
fn at_most_63_bytes(mut name: String) -> String {
    name.truncate(name.floor_char_boundary(63));
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_names_are_cut_at_a_character_boundary() {
        let long = format!("app-db x{} 4242", "é".repeat(40));
        let cut = at_most_63_bytes(long.clone());
        assert!(cut.len() <= 63 && long.starts_with(&cut), "{cut}");
        assert_eq!(
            cut.len(),
            62,
            "the 2-byte character across byte 63 is dropped"
        );
        assert_eq!(at_most_63_bytes("app-db h 1".into()), "app-db h 1");
        assert!(application_name().len() <= 63);
    }
}
