//! The database a command runs against: `-u`/`DATABASE_URL`, or the embedded dev server.

use std::time::Duration;

use app_db::embedded::DevServer;
use app_db::url::DbUrl;
use app_db::{Error, url};
use sqlx::PgConnection;

use crate::cli::GlobalArgs;

/// Where a given URL came from, for errors.
const URL_SETTING: &str = "--database-url/DATABASE_URL";
/// What bounds opening a connection, for errors.
const TIMEOUT_SETTING: &str = "--connect-timeout/DATABASE_CONNECT_TIMEOUT (milliseconds)";

/// A database URL parsed once (by the driver's rules), and how long to wait for it. Only its
/// redacted form is ever printed.
pub struct Target {
    url: DbUrl,
    connect_timeout: Duration,
}

impl Target {
    /// The URL given, or the development server's (started if needed; its password-free URL
    /// is printed to stderr so the operator knows where the command went).
    pub async fn resolve(global: &GlobalArgs) -> Result<Self, Error> {
        if let Some(target) = Self::given(global)? {
            return Ok(target);
        }
        let server = DevServer::locate()?;
        let status = server.ensure_running().await?;
        let url = DevServer::url(status.port);
        eprintln!(
            "using the embedded development server: {}",
            url::redact(&url)
        );
        Ok(Self {
            url: DbUrl::parse(&url, "the development server's URL")?,
            connect_timeout: connect_timeout(global),
        })
    }

    /// The URL given with `-u`/`DATABASE_URL`, parsed, or `None` (nothing is started).
    pub fn given(global: &GlobalArgs) -> Result<Option<Self>, Error> {
        match global.database_url.as_deref().filter(|u| !u.is_empty()) {
            Some(raw) => Ok(Some(Self {
                url: DbUrl::parse(raw, URL_SETTING)?,
                connect_timeout: connect_timeout(global),
            })),
            None => Ok(None),
        }
    }

    /// The parsed URL (the host the driver will use, for guards).
    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    /// The URL, password removed.
    pub fn redacted(&self) -> String {
        self.url.redacted().to_string()
    }

    /// A small SeaORM pool (for commands that work through the entities).
    pub async fn pool(&self, max_connections: u32) -> Result<sea_orm::DatabaseConnection, Error> {
        let mut config = app_db::Config::default();
        config.migrate = false;
        config.pool.min = 0;
        config.pool.max = max_connections.max(1);
        config.pool.connect_timeout = self.connect_timeout;
        app_db::init::connect_to(&self.url, &config).await
    }

    /// One connection, within the connect timeout.
    pub async fn connect(&self) -> Result<PgConnection, Error> {
        app_db::init::connect_one(&self.url, self.connect_timeout, TIMEOUT_SETTING).await
    }
}

fn connect_timeout(global: &GlobalArgs) -> Duration {
    Duration::from_millis(global.connect_timeout)
}
