//! Test support: one PostgreSQL server per test process, a fresh database per test.
//!
//! Each test gets its own database, created with `CREATE DATABASE … TEMPLATE` from a template
//! prepared once per process, so tests run in parallel without sharing state. The server is
//! the embedded PostgreSQL 16 + pgvector (started on first use, stopped when the process ends),
//! or the server of `TEST_DATABASE_URL` when that is set (its user needs CREATEDB).
//!
//! Nothing here skips: when no server can be had, the error says what to install or set.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use sea_orm::{ConnectOptions, Database, DatabaseConnection};
use sqlx::Connection;

use crate::Error;
use crate::embedded::{Cluster, ClusterOptions, PgBinaries, RunningServer, ServerAccount};
use crate::sql::{execute_raw, quote_ident};

/// The server this process's tests use.
#[derive(Debug)]
pub struct TestServer {
    /// URL of the server's maintenance database, password-free for the embedded server.
    admin_url: String,
    embedded: Option<RunningServer>,
    /// Template databases are per process, so processes sharing a server never collide.
    template: String,
    template_ready: tokio::sync::OnceCell<()>,
    migrated_template: String,
    migrated_ready: tokio::sync::OnceCell<()>,
}

static SERVER: OnceLock<Result<TestServer, String>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

impl TestServer {
    /// The process's server, started on first use.
    pub fn get() -> Result<&'static TestServer, Error> {
        SERVER
            .get_or_init(|| Self::start().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| Error::NoPostgres {
                reason: format!("the test server could not start: {e}"),
            })
    }

    fn start() -> Result<Self, Error> {
        if let Some(url) = std::env::var("TEST_DATABASE_URL")
            .ok()
            .filter(|v| !v.is_empty())
        {
            return Ok(Self::new(url, None));
        }
        let account = ServerAccount::detect()?;
        let binaries = PgBinaries::resolve(&account)?;
        let root = test_root()?;
        sweep_stale(&root);
        let dir = root.join(format!("{}-{}", std::process::id(), nanos()));
        let cluster = Cluster::new(binaries, account, dir)?;
        cluster.init(&ClusterOptions { durable: false })?;
        let server = cluster.start_child()?;
        Ok(Self::new(server.url("postgres"), Some(server)))
    }

    fn new(admin_url: String, embedded: Option<RunningServer>) -> Self {
        let pid = std::process::id();
        Self {
            admin_url,
            embedded,
            template: format!("app_db_tpl_{pid}"),
            template_ready: Default::default(),
            migrated_template: format!("app_db_tpl_{pid}_migrated"),
            migrated_ready: Default::default(),
        }
    }

    /// The postmaster's process id, for the embedded server.
    pub fn pid(&self) -> Option<u32> {
        self.embedded.as_ref().map(|s| s.pid)
    }

    /// The URL of `database` on this server (same credentials as the admin URL).
    pub fn url_for(&self, database: &str) -> String {
        replace_database(&self.admin_url, database)
    }

    /// The admin URL (for `TEST_DATABASE_URL` it may hold a password: do not print it).
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    async fn admin(&self) -> Result<sqlx::PgConnection, Error> {
        sqlx::PgConnection::connect(&self.admin_url)
            .await
            .map_err(|e| Error::Connect {
                url: crate::url::redact(&self.admin_url),
                source: e.into(),
            })
    }

    async fn ensure_template(&self) -> Result<(), Error> {
        self.template_ready
            .get_or_try_init(|| async {
                let mut admin = self.admin().await?;
                execute_raw(
                    &mut admin,
                    format!("drop database if exists {}", quote_ident(&self.template)),
                )
                .await?;
                execute_raw(
                    &mut admin,
                    format!("create database {}", quote_ident(&self.template)),
                )
                .await?;
                admin.close().await?;
                Ok::<(), Error>(())
            })
            .await?;
        Ok(())
    }

    async fn ensure_migrated_template(&self) -> Result<(), Error> {
        self.migrated_ready
            .get_or_try_init(|| async {
                let mut admin = self.admin().await?;
                execute_raw(
                    &mut admin,
                    format!(
                        "drop database if exists {}",
                        quote_ident(&self.migrated_template)
                    ),
                )
                .await?;
                execute_raw(
                    &mut admin,
                    format!("create database {}", quote_ident(&self.migrated_template)),
                )
                .await?;
                admin.close().await?;
                let url = self.url_for(&self.migrated_template);
                let mut conn =
                    sqlx::PgConnection::connect(&url)
                        .await
                        .map_err(|e| Error::Connect {
                            url: crate::url::redact(&url),
                            source: e.into(),
                        })?;
                crate::Migrator::new().run(&mut conn).await?;
                // CREATE DATABASE … TEMPLATE refuses while anyone is connected to the template.
                conn.close().await?;
                Ok::<(), Error>(())
            })
            .await?;
        Ok(())
    }

    /// Creates a new, empty database and connects to it.
    pub async fn fresh_database(&self) -> Result<TestDatabase, Error> {
        self.ensure_template().await?;
        self.create_from(&self.template).await
    }

    /// Creates a new database with every compiled migration applied, and connects to it.
    pub async fn migrated_database(&self) -> Result<TestDatabase, Error> {
        self.ensure_migrated_template().await?;
        self.create_from(&self.migrated_template).await
    }

    async fn create_from(&self, template: &str) -> Result<TestDatabase, Error> {
        let name = format!(
            "app_db_t_{}_{}_{}",
            std::process::id(),
            NEXT_DB.fetch_add(1, Ordering::Relaxed),
            nanos() % 1_000_000
        );
        let mut admin = self.admin().await?;
        execute_raw(
            &mut admin,
            format!(
                "create database {} template {}",
                quote_ident(&name),
                quote_ident(template)
            ),
        )
        .await?;
        admin.close().await?;
        let url = self.url_for(&name);
        let mut options = ConnectOptions::new(url.clone());
        options
            .max_connections(5)
            .min_connections(0)
            .sqlx_logging(false);
        let db = Database::connect(options).await?;
        Ok(TestDatabase { name, url, db })
    }
}

/// A database of its own for one test.
#[derive(Debug)]
pub struct TestDatabase {
    /// The database's name.
    pub name: String,
    /// Its URL (carries the `TEST_DATABASE_URL` password if there is one: do not print it).
    pub url: String,
    /// A small pool connected to it.
    pub db: DatabaseConnection,
}

impl TestDatabase {
    /// A fresh, empty database on the process's test server.
    pub async fn empty() -> Result<Self, Error> {
        TestServer::get()?.fresh_database().await
    }

    /// A fresh database with every compiled migration applied (copied from a template that is
    /// migrated once per process).
    pub async fn migrated() -> Result<Self, Error> {
        TestServer::get()?.migrated_database().await
    }
}

fn replace_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let authority = before_query.split('/').next().unwrap_or(before_query);
    match query {
        Some(q) => format!("{scheme}://{authority}/{database}?{q}"),
        None => format!("{scheme}://{authority}/{database}"),
    }
}

fn test_root() -> Result<PathBuf, Error> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    let root = std::env::temp_dir().join(format!("app-db-test-{euid}"));
    std::fs::create_dir_all(&root).map_err(|source| Error::Io {
        action: "create folder",
        path: root.clone(),
        source,
    })?;
    Ok(root)
}

/// Removes clusters of test processes that have ended (their servers died with them).
fn sweep_stale(root: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || crate::embedded::cluster::pid_alive(pid) {
            continue;
        }
        let postmaster = entry.path().join("data").join("postmaster.pid");
        let server_alive = std::fs::read_to_string(&postmaster)
            .ok()
            .and_then(|t| t.lines().next().and_then(|l| l.trim().parse::<u32>().ok()))
            .is_some_and(crate::embedded::cluster::pid_alive);
        if !server_alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn database_is_replaced_in_urls() {
        assert_eq!(
            replace_database("postgres://u:p@h:1/postgres", "x"),
            "postgres://u:p@h:1/x"
        );
        assert_eq!(
            replace_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
        assert_eq!(replace_database("postgres://u@h", "x"), "postgres://u@h/x");
    }
}
