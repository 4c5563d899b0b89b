//! Test support: one PostgreSQL server per test process, a fresh database per test.
//!
//! Each test gets its own database, created with `CREATE DATABASE … TEMPLATE`: `template0` for an
//! empty one, or a migrated template named after the hash of the compiled migrations, built once
//! (under an advisory lock, so processes sharing a server build it once) and reused by every
//! process and run until the migrations change. Tests therefore run in parallel without sharing
//! state. The server is the embedded PostgreSQL 16 + pgvector (started on first use, stopped when
//! the process ends), or the server of `TEST_DATABASE_URL` when that is set (its user needs
//! CREATEDB). On such a shared server, databases left by earlier test processes of this machine
//! that have ended are dropped when the next test process starts.
//!
//! Nothing here skips: when no server can be had, the error says what to install or set.

pub mod pgbouncer;
pub mod standby;

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
    /// The embedded server's cluster (programs, account, folder), for standbys of it.
    cluster: Option<Cluster>,
    /// `app_db_tpl_<hash of the compiled migrations>`.
    migrated_template: String,
    migrated_ready: tokio::sync::OnceCell<()>,
    /// Prefix of this process's database names: `app_db_t_<host>_<pid>_`.
    prefix: String,
    stale_swept: tokio::sync::OnceCell<()>,
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
            return Ok(Self::new(url, None, None));
        }
        let account = ServerAccount::detect()?;
        let binaries = PgBinaries::resolve(&account)?;
        let root = test_root()?;
        sweep_stale(&root);
        let dir = root.join(format!("{}-{}", std::process::id(), nanos()));
        let cluster = Cluster::new(binaries, account, dir)?;
        cluster.init(&ClusterOptions { durable: false })?;
        let server = cluster.start_child()?;
        Ok(Self::new(
            server.url("postgres"),
            Some(server),
            Some(cluster),
        ))
    }

    fn new(admin_url: String, embedded: Option<RunningServer>, cluster: Option<Cluster>) -> Self {
        let mut fingerprint = Vec::new();
        for m in crate::MIGRATIONS {
            fingerprint.extend_from_slice(m.hash.as_bytes());
            fingerprint.push(u8::from(m.transaction));
        }
        let hash = crate::journal::sha256_hex(&fingerprint);
        Self {
            admin_url,
            embedded,
            cluster,
            migrated_template: format!("app_db_tpl_{}", &hash[..16]),
            migrated_ready: Default::default(),
            prefix: format!("app_db_t_{}_{}_", host_id(), std::process::id()),
            stale_swept: Default::default(),
        }
    }

    /// The postmaster's process id, for the embedded server.
    pub fn pid(&self) -> Option<u32> {
        self.embedded.as_ref().map(|s| s.pid)
    }

    /// The embedded server's cluster and port (`None` with `TEST_DATABASE_URL`).
    pub fn embedded_cluster(&self) -> Option<(&Cluster, u16)> {
        match (&self.cluster, &self.embedded) {
            (Some(cluster), Some(server)) => Some((cluster, server.port)),
            _ => None,
        }
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
            .map_err(|e| Error::connect(&self.admin_url, e))
    }

    /// Drops the databases of ended test processes of this machine (a shared server only).
    async fn sweep_stale_databases(&self) -> Result<(), Error> {
        self.stale_swept
            .get_or_try_init(|| async {
                if self.embedded.is_some() {
                    return Ok(());
                }
                let mut admin = self.admin().await?;
                let mine = format!("app_db_t_{}_", host_id());
                let names: Vec<String> = sqlx::query_scalar(
                    "select datname::text from pg_database where starts_with(datname, $1)",
                )
                .bind(&mine)
                .fetch_all(&mut admin)
                .await?;
                for name in names {
                    let pid = name[mine.len()..]
                        .split('_')
                        .next()
                        .and_then(|p| p.parse::<u32>().ok());
                    if pid.is_some_and(|p| {
                        p != std::process::id() && !crate::embedded::cluster::pid_alive(p)
                    }) {
                        execute_raw(
                            &mut admin,
                            format!(
                                "drop database if exists {} with (force)",
                                quote_ident(&name)
                            ),
                        )
                        .await?;
                    }
                }
                admin.close().await?;
                Ok::<(), Error>(())
            })
            .await?;
        Ok(())
    }

    /// Builds the migrated template once per server and set of migrations.
    async fn ensure_migrated_template(&self) -> Result<(), Error> {
        self.migrated_ready
            .get_or_try_init(|| async {
                let mut admin = self.admin().await?;
                let key = crate::sql::advisory_key(&format!(
                    "app-db test template {}",
                    self.migrated_template
                ));
                sqlx::query("select pg_advisory_lock($1)")
                    .bind(key)
                    .execute(&mut admin)
                    .await?;
                let result = self.build_migrated_template(&mut admin).await;
                let unlocked = sqlx::query("select pg_advisory_unlock($1)")
                    .bind(key)
                    .execute(&mut admin)
                    .await;
                result?;
                unlocked?;
                admin.close().await?;
                Ok::<(), Error>(())
            })
            .await?;
        Ok(())
    }

    async fn build_migrated_template(&self, admin: &mut sqlx::PgConnection) -> Result<(), Error> {
        let ready: Option<bool> =
            sqlx::query_scalar("select datistemplate from pg_database where datname = $1")
                .bind(&self.migrated_template)
                .fetch_optional(&mut *admin)
                .await?;
        match ready {
            Some(true) => return Ok(()),
            // A builder died half-way: start over.
            Some(false) => {
                execute_raw(
                    admin,
                    format!(
                        "drop database {} with (force)",
                        quote_ident(&self.migrated_template)
                    ),
                )
                .await?;
            }
            None => {}
        }
        execute_raw(
            admin,
            format!("create database {}", quote_ident(&self.migrated_template)),
        )
        .await?;
        let url = self.url_for(&self.migrated_template);
        let mut conn = sqlx::PgConnection::connect(&url)
            .await
            .map_err(|e| Error::connect(&url, e))?;
        crate::Migrator::new().run(&mut conn).await?;
        // CREATE DATABASE … TEMPLATE refuses while anyone is connected to the template.
        conn.close().await?;
        // The flag marks the template complete; it also keeps it from being dropped by accident.
        execute_raw(
            admin,
            format!(
                "alter database {} with is_template true",
                quote_ident(&self.migrated_template)
            ),
        )
        .await?;
        Ok(())
    }

    /// Creates a new, empty database and connects to it.
    pub async fn fresh_database(&self) -> Result<TestDatabase, Error> {
        self.sweep_stale_databases().await?;
        self.create_from("template0").await
    }

    /// Creates a new database with every compiled migration applied, and connects to it.
    pub async fn migrated_database(&self) -> Result<TestDatabase, Error> {
        self.sweep_stale_databases().await?;
        self.ensure_migrated_template().await?;
        self.create_from(&self.migrated_template).await
    }

    async fn create_from(&self, template: &str) -> Result<TestDatabase, Error> {
        let name = format!("{}{}", self.prefix, NEXT_DB.fetch_add(1, Ordering::Relaxed));
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

/// A short, stable name for this machine, so test processes of several machines can share a
/// server and each sweeps only its own leftovers.
fn host_id() -> String {
    let name = crate::init::application_name();
    // "app-db <host> <pid>": the host part.
    let host = name.split(' ').nth(1).unwrap_or("unknown");
    crate::journal::sha256_hex(host.as_bytes())[..8].to_string()
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
