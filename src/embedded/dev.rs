//! The persistent development server: one cluster inside the project folder, reused across
//! runs, managed by `cargo run -p migration -- db start|stop|status|url`.
//!
//! Folder: `APP_DB_DEV_DIR`, else `<workspace>/.app-db` (git-ignored). When this process is
//! root and the server account cannot enter the project folder (a checkout under `/root`), the
//! cluster lives in the cache folder instead, under a name derived from the project path.

use std::fs::File;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::binaries::cache_dir;
use super::{Cluster, ClusterOptions, PgBinaries, ServerAccount};
use crate::Error;

/// The database the development server serves.
pub const DEV_DATABASE: &str = "app";

/// The development cluster.
#[derive(Debug)]
pub struct DevServer {
    cluster: Cluster,
    root: PathBuf,
}

/// What [`DevServer::ensure_running`] found or did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevStatus {
    /// The port on 127.0.0.1.
    pub port: u16,
    /// Whether this call started it.
    pub started: bool,
    /// Whether this call created the cluster.
    pub created: bool,
}

impl DevServer {
    /// Locates the development cluster (creating its folder, not the cluster).
    pub fn locate() -> Result<Self, Error> {
        let account = ServerAccount::detect()?;
        let root = dev_root(&account)?;
        let binaries = PgBinaries::resolve(&account)?;
        let cluster = Cluster::new(binaries, account, root.clone())?;
        Ok(Self { cluster, root })
    }

    /// The cluster's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The server log.
    pub fn log_path(&self) -> PathBuf {
        self.cluster.log_path()
    }

    /// The port it listens on, if it is running.
    pub fn running_port(&self) -> Option<u16> {
        self.cluster.running_port()
    }

    /// The password-free URL of the development database on `port`.
    pub fn url(port: u16) -> String {
        super::cluster::local_url(port, DEV_DATABASE)
    }

    /// Creates the cluster if needed and starts it if it is not running. Safe when several
    /// processes call it at once: they serialise on a lock in the cluster folder.
    pub async fn ensure_running(&self) -> Result<DevStatus, Error> {
        let lock_path = self.root.join(".lock");
        let lock = File::create(&lock_path).map_err(|source| Error::Io {
            action: "create",
            path: lock_path.clone(),
            source,
        })?;
        // Blocking is fine: only CLI processes of one developer contend for it, briefly.
        lock.lock().map_err(|source| Error::Io {
            action: "lock",
            path: lock_path.clone(),
            source,
        })?;
        if let Some(port) = self.cluster.running_port() {
            return Ok(DevStatus {
                port,
                started: false,
                created: false,
            });
        }
        let created = !self.cluster.is_initialized();
        if created {
            self.cluster.init(&ClusterOptions { durable: true })?;
        }
        let port = self.preferred_port()?;
        self.cluster.start_daemon(port)?;
        std::fs::write(self.root.join("port"), port.to_string()).map_err(|source| Error::Io {
            action: "write",
            path: self.root.join("port"),
            source,
        })?;
        create_dev_database(port).await?;
        Ok(DevStatus {
            port,
            started: true,
            created,
        })
    }

    /// Stops the server if it runs; returns whether it was running.
    pub fn stop(&self) -> Result<bool, Error> {
        if self.cluster.running_port().is_none() {
            return Ok(false);
        }
        self.cluster.stop_daemon()?;
        Ok(true)
    }

    /// The port used last time if it is still free (so a saved URL keeps working), else a new one.
    fn preferred_port(&self) -> Result<u16, Error> {
        let saved = std::fs::read_to_string(self.root.join("port"))
            .ok()
            .and_then(|s| s.trim().parse::<u16>().ok());
        if let Some(port) = saved
            && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
        {
            return Ok(port);
        }
        super::cluster::free_port()
    }
}

async fn create_dev_database(port: u16) -> Result<(), Error> {
    use sqlx::Connection;
    let admin = super::cluster::local_url(port, "postgres");
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .map_err(|e| Error::connect(&admin, e))?;
    let exists: Option<i32> = sqlx::query_scalar("select 1 from pg_database where datname = $1")
        .bind(DEV_DATABASE)
        .fetch_optional(&mut conn)
        .await?;
    if exists.is_none() {
        crate::sql::execute_raw(
            &mut conn,
            format!("create database {}", crate::sql::quote_ident(DEV_DATABASE)),
        )
        .await?;
    }
    let _ = conn.close().await;
    Ok(())
}

fn dev_root(account: &ServerAccount) -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("APP_DB_DEV_DIR").filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(dir);
        return Ok(if dir.is_absolute() {
            dir
        } else {
            workspace_root().join(dir)
        });
    }
    let in_project = workspace_root().join(".app-db");
    if account.can_reach(&in_project) {
        return Ok(in_project);
    }
    let digest = Sha256::digest(workspace_root().to_string_lossy().as_bytes());
    let short: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let fallback = cache_dir()?.join("dev").join(short);
    tracing::info!(
        project = %in_project.display(),
        used = %fallback.display(),
        "the server account cannot enter the project folder; keeping the dev cluster in the cache"
    );
    Ok(fallback)
}

/// The workspace root this binary was built from.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
