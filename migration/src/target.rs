//! The database a command runs against: `-u`/`DATABASE_URL`, or the embedded dev server.

use app_db::embedded::DevServer;
use app_db::{Error, url};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use crate::cli::GlobalArgs;

/// A resolved database URL. The URL may hold a password: only [`Target::redacted`] is printed.
pub struct Target {
    url: String,
}

impl Target {
    /// The URL given, or the development server's (started if needed; its password-free URL
    /// is printed to stderr so the operator knows where the command went).
    pub async fn resolve(global: &GlobalArgs) -> Result<Self, Error> {
        if let Some(url) = global.database_url.as_deref().filter(|u| !u.is_empty()) {
            return Ok(Self {
                url: url.to_string(),
            });
        }
        let server = DevServer::locate()?;
        let status = server.ensure_running().await?;
        let url = DevServer::url(status.port);
        eprintln!(
            "using the embedded development server: {}",
            url::redact(&url)
        );
        Ok(Self { url })
    }

    /// The URL, password removed.
    pub fn redacted(&self) -> String {
        url::redact(&self.url)
    }

    /// Connection options, named so a held migration lock names its holder.
    pub fn options(&self) -> Result<PgConnectOptions, Error> {
        app_db::init::connect_options(&self.url)
    }

    /// A small SeaORM pool (for commands that work through the entities).
    pub async fn pool(&self, max_connections: u32) -> Result<sea_orm::DatabaseConnection, Error> {
        let mut config = app_db::Config::default().database_url(self.url.clone());
        config.migrate = false;
        config.pool.min = 0;
        config.pool.max = max_connections.max(1);
        app_db::init::connect(&self.url, &config).await
    }

    /// One connection.
    pub async fn connect(&self) -> Result<PgConnection, Error> {
        let options = self.options()?;
        PgConnection::connect_with(&options)
            .await
            .map_err(|e| Error::connect(&self.url, e))
    }
}
