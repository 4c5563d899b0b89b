//! One pool per read replica, with the primary's bounds, and the bounded check of one.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;
use sqlx::PgConnection;

use super::probe::{self, ProbeError, StandbyState};
use crate::Error;
use crate::config::PoolConfig;
use crate::url::DbUrl;

/// One configured read replica: its URL (parsed once, shown only redacted), its pool, and the
/// one connection its checks run on.
#[derive(Clone)]
pub struct ReplicaPool {
    url: DbUrl,
    pool: DatabaseConnection,
    /// Checks run on a connection of their own, not the pool's: the pool retries a refused
    /// connection until its acquire timeout (it takes refusal for a server starting up), while
    /// a check must learn at once that a replica is gone.
    checker: Arc<tokio::sync::Mutex<Option<PgConnection>>>,
}

impl ReplicaPool {
    /// A lazy pool for the replica at `raw` (the value of `setting`, named in errors), with
    /// the same settings as the primary's pool: sizes, idle and acquire timeouts, TCP
    /// keepalives, connection names. Nothing is opened here.
    pub fn open(raw: &str, setting: &'static str, pool: &PoolConfig) -> Result<Self, Error> {
        let url = DbUrl::parse(raw, setting)?;
        let pool = crate::init::lazy_pool(&url, pool);
        Ok(Self {
            url,
            pool,
            checker: Arc::default(),
        })
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
    /// costs at most `bound`, a refusing one nothing. The check's connection is kept for the
    /// next check, and dropped when a check fails.
    pub async fn state(&self, bound: Duration) -> Result<StandbyState, ProbeError> {
        let mut checker = self.checker.lock().await;
        let check = async {
            if checker.is_none() {
                let conn = crate::init::connect_one(&self.url, bound, "DATABASE_CONNECT_TIMEOUT")
                    .await
                    .map_err(|e| match e {
                        crate::Error::ConnectTimeout { timeout, .. } => {
                            ProbeError::Timeout(timeout)
                        }
                        // Its message names the (redacted) URL, which every caller shows anyway.
                        crate::Error::Connect { source, .. } => {
                            ProbeError::Failed(self.url.scrub(&source.to_string()))
                        }
                        other => ProbeError::Failed(self.url.scrub(&other.to_string())),
                    })?;
                *checker = Some(conn);
            }
            let Some(conn) = checker.as_mut() else {
                return Err(ProbeError::Failed("no connection".into()));
            };
            probe::standby_state(conn).await.map_err(|e| match e {
                ProbeError::Failed(message) => ProbeError::Failed(self.url.scrub(&message)),
                other => other,
            })
        };
        let answer = match tokio::time::timeout(bound, check).await {
            Ok(result) => result,
            Err(_) => Err(ProbeError::Timeout(bound)),
        };
        if answer.is_err() {
            // Broken, silent or pointing at a primary: start afresh next time.
            *checker = None;
        }
        answer
    }
}

impl std::fmt::Debug for ReplicaPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ReplicaPool").field(&self.label()).finish()
    }
}
