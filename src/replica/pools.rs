//! One pool per read replica, with the primary's bounds, and the bounded check of one.

use std::time::Duration;

use sea_orm::DatabaseConnection;

use super::probe::{self, ProbeError, StandbyState};
use crate::Error;
use crate::config::PoolConfig;
use crate::url::DbUrl;

/// One configured read replica: its URL (parsed once, shown only redacted) and its pool.
#[derive(Clone)]
pub struct ReplicaPool {
    url: DbUrl,
    pool: DatabaseConnection,
}

impl ReplicaPool {
    /// A lazy pool for the replica at `raw` (the value of `setting`, named in errors), with
    /// the same settings as the primary's pool: sizes, idle and acquire timeouts, TCP
    /// keepalives, connection names. Nothing is opened here.
    pub fn open(raw: &str, setting: &'static str, pool: &PoolConfig) -> Result<Self, Error> {
        let url = DbUrl::parse(raw, setting)?;
        let pool = crate::init::lazy_pool(&url, pool);
        Ok(Self { url, pool })
    }

    /// [`ReplicaPool::open`] for each URL, in order.
    pub fn open_all(
        urls: &[String],
        setting: &'static str,
        pool: &PoolConfig,
    ) -> Result<Vec<Self>, Error> {
        urls.iter()
            .map(|raw| Self::open(raw, setting, pool))
            .collect()
    }

    /// The replica's URL, password removed.
    pub fn label(&self) -> &str {
        self.url.redacted()
    }

    /// The parsed URL.
    pub fn url(&self) -> &DbUrl {
        &self.url
    }

    /// The replica's pool.
    pub fn pool(&self) -> &DatabaseConnection {
        &self.pool
    }

    /// The replica's replay position, within `bound` (connecting included): a silent server
    /// costs at most `bound`.
    pub async fn state(&self, bound: Duration) -> Result<StandbyState, ProbeError> {
        let check = async {
            let mut conn = self
                .pool
                .get_postgres_connection_pool()
                .acquire()
                .await
                .map_err(|e| self.failed(&e))?;
            probe::standby_state(&mut conn).await.map_err(|e| match e {
                ProbeError::Failed(message) => ProbeError::Failed(self.url.scrub(&message)),
                other => other,
            })
        };
        match tokio::time::timeout(bound, check).await {
            Ok(result) => result,
            Err(_) => Err(ProbeError::Timeout(bound)),
        }
    }

    /// A driver error as a message without the replica's password.
    pub(crate) fn failed(&self, e: &sqlx::Error) -> ProbeError {
        ProbeError::Failed(self.url.scrub(&crate::error::describe_sqlx(e)))
    }
}

impl std::fmt::Debug for ReplicaPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ReplicaPool").field(&self.label()).finish()
    }
}
