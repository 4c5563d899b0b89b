//! A throw-away database on which migrations are replayed, to learn the schema they produce.
//!
//! It is created on the live database's own server by default (`CREATE DATABASE
//! app_db_scratch_<pid>_<nanos>_<n> TEMPLATE template0`), because that server has the same
//! PostgreSQL version and the same extension packages (pgvector) as the database being
//! checked, so the replayed schema is printed by the same catalog code. `template0` keeps it
//! free of anything a customised `template1` holds. The role needs `CREATEDB`; when it lacks it,
//! another server can be named (the CLI's `--scratch-url`).

use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgConnection};

use crate::Error;
use crate::keepalive::Keepalive;
use crate::migrations::Migration;
use crate::sql::{execute_raw, quote_ident};
use crate::url::DbUrl;

/// The server scratch databases are created on: connection options and the TCP keepalives
/// every connection to it gets ([`crate::keepalive`]). From a [`DbUrl`] it carries the URL's
/// keepalive parameters; from bare connection options, the defaults.
#[derive(Clone)]
pub struct ScratchServer {
    options: PgConnectOptions,
    keepalive: Option<Keepalive>,
}

impl ScratchServer {
    /// The connection options (never printed: they hold the password).
    pub fn options(&self) -> &PgConnectOptions {
        &self.options
    }

    /// The keepalive settings of its connections (`None`: `keepalives=0`).
    pub fn keepalive(&self) -> Option<&Keepalive> {
        self.keepalive.as_ref()
    }
}

// By hand: sqlx's `PgConnectOptions` derives Debug, password included.
impl std::fmt::Debug for ScratchServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScratchServer")
            .field("server", &describe(&self.options))
            .field("keepalive", &self.keepalive)
            .finish()
    }
}

impl From<PgConnectOptions> for ScratchServer {
    fn from(options: PgConnectOptions) -> Self {
        Self {
            options,
            keepalive: Some(Keepalive::default()),
        }
    }
}

impl From<&PgConnectOptions> for ScratchServer {
    fn from(options: &PgConnectOptions) -> Self {
        options.clone().into()
    }
}

impl From<&DbUrl> for ScratchServer {
    fn from(url: &DbUrl) -> Self {
        Self {
            options: crate::init::named_options(url),
            keepalive: url.keepalive().copied(),
        }
    }
}

impl From<&ScratchServer> for ScratchServer {
    fn from(server: &ScratchServer) -> Self {
        server.clone()
    }
}

/// A database created for one check; call [`ScratchDatabase::drop`] when done.
pub struct ScratchDatabase {
    server: ScratchServer,
    name: String,
}

// By hand: sqlx's `PgConnectOptions` derives Debug, password included.
impl std::fmt::Debug for ScratchDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScratchDatabase")
            .field("server", &self.server())
            .field("name", &self.name)
            .finish()
    }
}

/// Prefix of every scratch database's name, so a leftover one is easy to recognise.
pub const SCRATCH_PREFIX: &str = "app_db_scratch_";

/// Scratch databases this process has named so far.
static NAMED: AtomicU64 = AtomicU64::new(0);

/// A scratch database's name: the process, the clock and the process's own count. The clock
/// alone does not keep two of one process apart: two threads can read the same nanosecond
/// (it happened to two concurrent `generate` checks), so the count is what makes it unique.
fn scratch_name(pid: u32, nanos: u128, n: u64) -> String {
    format!("{SCRATCH_PREFIX}{pid}_{nanos:x}_{n:x}")
}

impl ScratchDatabase {
    /// Creates an empty database on the server `server` points at (any database of it).
    pub async fn create(server: impl Into<ScratchServer>) -> Result<Self, Error> {
        let server: ScratchServer = server.into();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = scratch_name(
            std::process::id(),
            nanos,
            NAMED.fetch_add(1, Ordering::Relaxed),
        );
        let mut admin = connect(&server).await?;
        let created = execute_raw(
            &mut admin,
            format!("create database {} template template0", quote_ident(&name)),
        )
        .await;
        let _ = admin.close().await;
        match created {
            Ok(_) => Ok(Self { server, name }),
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42501") => {
                Err(Error::Refused {
                    reason: format!(
                        "cannot create the scratch database {name} on {} to replay the migrations: {}",
                        describe(&server.options),
                        e.message()
                    ),
                    fix: "grant the role CREATEDB for the check (ALTER ROLE … CREATEDB), or pass --scratch-url with a server where it may create databases and that has the same extensions (e.g. `migration db url`)".into(),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `postgres://user@host:port` of its server, for messages (never the password).
    pub fn server(&self) -> String {
        let server = &self.server.options;
        format!(
            "postgres://{}@{}:{}",
            server.get_username(),
            server.get_host(),
            server.get_port()
        )
    }

    /// Connection options for the scratch database (for a pool; never printed: they hold the
    /// server's password).
    pub fn options(&self) -> PgConnectOptions {
        self.server
            .options
            .clone()
            .database(&self.name)
            .disable_statement_logging()
    }

    /// The keepalive settings of its connections (`None`: `keepalives=0`); a pool of the
    /// caller's arms its connections with them ([`crate::keepalive::arm`]).
    pub fn keepalive(&self) -> Option<&Keepalive> {
        self.server.keepalive()
    }

    /// A new connection to the scratch database, with its TCP keepalives.
    pub async fn connect(&self) -> Result<PgConnection, Error> {
        connect(&ScratchServer {
            options: self.server.options.clone().database(&self.name),
            keepalive: self.server.keepalive,
        })
        .await
    }

    /// Runs `migrations` in order, as the migrator would (each transactional one in its own
    /// transaction), without any bookkeeping.
    pub async fn replay(conn: &mut PgConnection, migrations: &[&Migration]) -> Result<(), Error> {
        for migration in migrations {
            let statements: Vec<&str> = migration.statements().collect();
            let total = statements.len();
            if migration.transaction {
                let mut tx = conn.begin().await?;
                for (i, sql) in statements.iter().enumerate() {
                    if let Err(e) = execute_raw(&mut tx, (*sql).to_string()).await {
                        let _ = tx.rollback().await;
                        return Err(Error::migration_failed(migration, i + 1, total, sql, e));
                    }
                }
                tx.commit().await?;
            } else {
                for (i, sql) in statements.iter().enumerate() {
                    execute_raw(conn, (*sql).to_string())
                        .await
                        .map_err(|e| Error::migration_failed(migration, i + 1, total, sql, e))?;
                }
            }
        }
        Ok(())
    }

    /// Drops the database (closing any connection still open to it).
    pub async fn drop(self) -> Result<(), Error> {
        let mut admin = connect(&self.server).await?;
        let dropped = execute_raw(
            &mut admin,
            format!(
                "drop database if exists {} with (force)",
                quote_ident(&self.name)
            ),
        )
        .await;
        let _ = admin.close().await;
        dropped.map(|_| ()).map_err(Error::from)
    }
}

/// A connection to `server`, with its TCP keepalives.
async fn connect(server: &ScratchServer) -> Result<PgConnection, Error> {
    // CREATE/DROP DATABASE may take a second; sqlx would log it as a slow statement.
    let options = server.options.clone().disable_statement_logging();
    let before = crate::keepalive::Before::now();
    let mut conn = PgConnection::connect_with(&options)
        .await
        .map_err(|e| Error::Connect {
            url: describe(&options),
            source: e.into(),
        })?;
    crate::keepalive::arm(&mut conn, &options, server.keepalive(), Some(&before)).await;
    Ok(conn)
}

/// `postgres://user@host:port/database`, password-free by construction.
pub(crate) fn describe(options: &PgConnectOptions) -> String {
    format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_names_read_at_the_same_nanosecond_differ_and_fit_an_identifier() {
        let nanos = u128::from(u64::MAX) * 4;
        let first = scratch_name(u32::MAX, nanos, 0);
        let second = scratch_name(u32::MAX, nanos, 1);
        assert_ne!(first, second);
        assert!(first.starts_with(SCRATCH_PREFIX), "{first}");
        // PostgreSQL truncates identifiers past 63 bytes, which would merge names again.
        let longest = scratch_name(u32::MAX, nanos, u64::MAX);
        assert!(longest.len() <= 63, "{longest} is {} bytes", longest.len());
    }
}
