//! [`ReplicaSet`]: the primary's pool, one pool per replica, and what the router knows about
//! each replica. It gathers the facts ([`super::probe`]) and asks [`super::route`] where each
//! read goes.
//!
//! What a read costs:
//! - Usually nothing beyond its own `BEGIN READ ONLY` … `COMMIT`: the lag measured at the last
//!   check is reused for [`ReplicaConfig::check_interval`] (1 s by default).
//! - Once per interval, the read that finds the measurement stale renews it first: one round
//!   trip to the primary (its WAL position) and one to each replica that answered last time,
//!   all at once (so the slowest of them); reads meanwhile use the previous measurement. A
//!   replica that does not answer within the connect timeout is marked down: that read waits
//!   the connect timeout, once.
//! - A replica whose pool stays busy (every connection in use) past the connect timeout when
//!   a read begins counts as failed too: the read goes elsewhere rather than queue.
//! - A replica marked down is retried in the background, after 1 s, then 2, 4 … up to 30 s
//!   ([`route::retry_after`]); no read waits for it.
//! - A read after a write whose position no usable replica has replayed yet checks them again
//!   every few milliseconds, for at most [`ReplicaConfig::read_after_wait`], then reads the
//!   primary.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{AccessMode, DatabaseConnection, DbErr, TransactionTrait};
use tokio::task::JoinSet;

use super::WalPosition;
use super::pools::ReplicaPool;
use super::probe::{self, ProbeError, StandbyState};
use super::read::{Read, Served};
use super::route::{self, Health, Request, Route, Skip};
use crate::Error;
use crate::config::ReplicaConfig;

/// How often a read after a write checks the replicas again while it waits.
const RECHECK_PAUSE: Duration = Duration::from_millis(5);

/// The read replicas of one primary, and the router that spreads reads over them.
///
/// Built by `init()` from `DATABASE_READ_URL`; [`crate::replica::read`] uses the one `init()`
/// built. Cloning shares it.
#[derive(Clone)]
pub struct ReplicaSet {
    inner: Arc<Inner>,
}

struct Inner {
    primary: DatabaseConnection,
    replicas: Vec<ReplicaPool>,
    config: ReplicaConfig,
    /// Bounds each check of a replica and each `BEGIN` on one.
    connect_timeout: Duration,
    state: Mutex<State>,
    /// Held while the measurement is renewed, so concurrent reads renew it once.
    renewing: tokio::sync::Mutex<()>,
    turn: AtomicUsize,
}

struct State {
    measured_at: Option<Instant>,
    primary: WalPosition,
    floor: WalPosition,
    slots: Vec<Slot>,
}

#[derive(Clone, Debug)]
enum Slot {
    Unchecked,
    Up {
        standby: StandbyState,
        primary: WalPosition,
    },
    Down {
        failures: u32,
        retry_at: Instant,
        error: String,
        retrying: bool,
    },
}

/// One replica as the router sees it, for status pages and tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaView {
    /// Its URL, password removed.
    pub url: String,
    /// What the router knows.
    pub health: Health,
    /// Whether its replay is paused (`pg_is_wal_replay_paused()`), when it answered.
    pub paused: Option<bool>,
}

impl ReplicaSet {
    /// A router over `replicas` for the primary pool `primary`; `connect_timeout` bounds every
    /// check of a replica and every `BEGIN` on one. Nothing is opened here.
    pub fn new(
        primary: DatabaseConnection,
        replicas: Vec<ReplicaPool>,
        config: ReplicaConfig,
        connect_timeout: Duration,
    ) -> Self {
        let slots = vec![Slot::Unchecked; replicas.len()];
        Self {
            inner: Arc::new(Inner {
                primary,
                replicas,
                config,
                connect_timeout,
                state: Mutex::new(State {
                    measured_at: None,
                    primary: WalPosition::default(),
                    floor: WalPosition::default(),
                    slots,
                }),
                renewing: tokio::sync::Mutex::new(()),
                turn: AtomicUsize::new(0),
            }),
        }
    }

    /// The primary's pool.
    pub fn primary(&self) -> &DatabaseConnection {
        &self.inner.primary
    }

    /// The replicas, in configuration order.
    pub fn replicas(&self) -> &[ReplicaPool] {
        &self.inner.replicas
    }

    /// What the router knows about each replica now (no I/O).
    pub fn view(&self) -> Vec<ReplicaView> {
        let now = Instant::now();
        let state = self.lock();
        self.inner
            .replicas
            .iter()
            .zip(&state.slots)
            .map(|(replica, slot)| ReplicaView {
                url: replica.label().to_string(),
                health: health(slot, now),
                paused: match slot {
                    Slot::Up { standby, .. } => Some(standby.paused),
                    _ => None,
                },
            })
            .collect()
    }

    /// A read-only transaction on a replica within the lag bound, else on the primary.
    pub async fn read(&self) -> Result<Read, Error> {
        self.read_with(None).await
    }

    /// A read-only transaction that sees every write committed before `position` was read
    /// ([`ReplicaSet::wal_position`]): on a replica that has replayed it (waiting up to
    /// [`ReplicaConfig::read_after_wait`] for one to get there), else on the primary.
    pub async fn read_after(&self, position: WalPosition) -> Result<Read, Error> {
        self.read_with(Some(position)).await
    }

    async fn read_with(&self, after: Option<WalPosition>) -> Result<Read, Error> {
        let (txn, served) = self
            .begin_on(after, |pool| async move {
                pool.begin_with_config(None, Some(AccessMode::ReadOnly))
                    .await
            })
            .await?;
        Ok(Read::new(txn, served))
    }

    /// The primary's WAL position now: pass it to [`ReplicaSet::read_after`] after a write.
    /// One round trip to the primary.
    pub async fn wal_position(&self) -> Result<WalPosition, Error> {
        let mut conn = self
            .inner
            .primary
            .get_postgres_connection_pool()
            .acquire()
            .await?;
        Ok(probe::primary_position(&mut conn).await?)
    }

    /// From now on no replica serves before it has replayed `floor` (set at boot to the
    /// primary's position after migrating).
    pub fn raise_floor(&self, floor: WalPosition) {
        let mut state = self.lock();
        state.floor = state.floor.max(floor);
    }

    /// Opens something (`begin`, given a pool) on the server the router picks, trying the
    /// next choice when a replica fails: at most the connect timeout per replica, then it is
    /// marked down and retried later. The primary's failure is returned as it is.
    pub(crate) async fn begin_on<T, F, Fut>(
        &self,
        after: Option<WalPosition>,
        begin: F,
    ) -> Result<(T, Served), Error>
    where
        F: Fn(DatabaseConnection) -> Fut,
        Fut: Future<Output = Result<T, DbErr>>,
    {
        if self.inner.replicas.is_empty() {
            return Ok((begin(self.inner.primary.clone()).await?, Served::Primary));
        }
        self.renew_if_stale().await;
        self.retry_due();
        let started = Instant::now();
        let turn = self.inner.turn.fetch_add(1, Ordering::Relaxed);
        loop {
            let (healths, floor) = {
                let now = Instant::now();
                let state = self.lock();
                let healths: Vec<Health> = state.slots.iter().map(|s| health(s, now)).collect();
                (healths, state.floor)
            };
            let request = Request {
                max_lag_bytes: self.inner.config.max_lag_bytes,
                after,
                floor,
                may_wait: started.elapsed() < self.inner.config.read_after_wait,
                turn,
            };
            match route::route(&healths, &request) {
                Route::Replica { index, skipped } => {
                    let replica = &self.inner.replicas[index];
                    match tokio::time::timeout(
                        self.inner.connect_timeout,
                        begin(replica.pool().clone()),
                    )
                    .await
                    {
                        Ok(Ok(opened)) => {
                            tracing::debug!(
                                replica = %replica.label(),
                                lag_bytes = ?healths[index].lag_bytes(),
                                after = ?after.map(|a| a.to_string()),
                                skipped = %self.describe(&skipped),
                                "read served by a replica"
                            );
                            let served = Served::Replica {
                                index,
                                url: replica.label().to_string(),
                            };
                            return Ok((opened, served));
                        }
                        Ok(Err(e)) => {
                            let message = replica.url().scrub(&crate::error::describe_db_err(&e));
                            self.mark_down(index, message);
                        }
                        Err(_) => self.mark_down(
                            index,
                            ProbeError::Timeout(self.inner.connect_timeout).to_string(),
                        ),
                    }
                }
                Route::Wait { indexes, .. } => {
                    self.check(&indexes).await;
                    tokio::time::sleep(RECHECK_PAUSE).await;
                }
                Route::Primary { skipped } => {
                    tracing::debug!(
                        after = ?after.map(|a| a.to_string()),
                        waited = ?after.map(|_| started.elapsed()),
                        skipped = %self.describe(&skipped),
                        "read served by the primary"
                    );
                    let opened = begin(self.inner.primary.clone()).await?;
                    return Ok((opened, Served::Primary));
                }
            }
        }
    }

    /// Renews the lag measurement when it is older than the check interval: the primary's
    /// position, then every replica not marked down, all at once.
    async fn renew_if_stale(&self) {
        if self.is_fresh() {
            return;
        }
        // While another read renews it, a read with an earlier measurement uses that one
        // rather than wait (a silent replica makes the renewal last the connect timeout).
        let _renewing = match self.inner.renewing.try_lock() {
            Ok(guard) => guard,
            Err(_) if self.lock().measured_at.is_some() => return,
            Err(_) => self.inner.renewing.lock().await,
        };
        if self.is_fresh() {
            return;
        }
        match self.wal_position_within(self.inner.connect_timeout).await {
            Ok(position) => self.lock().primary = position,
            // Reads may still go to replicas; their lag is then measured against the last
            // known position.
            Err(e) => tracing::warn!(
                error = %e,
                "could not read the primary's WAL position; replica lag is measured against the last one read"
            ),
        }
        let indexes: Vec<usize> = {
            let state = self.lock();
            (0..state.slots.len())
                .filter(|&i| !matches!(state.slots[i], Slot::Down { .. }))
                .collect()
        };
        self.check(&indexes).await;
        self.lock().measured_at = Some(Instant::now());
    }

    fn is_fresh(&self) -> bool {
        self.lock()
            .measured_at
            .is_some_and(|at| at.elapsed() < self.inner.config.check_interval)
    }

    async fn wal_position_within(&self, bound: Duration) -> Result<WalPosition, Error> {
        match tokio::time::timeout(bound, self.wal_position()).await {
            Ok(result) => result,
            Err(_) => Err(Error::Refused {
                reason: format!("the primary did not answer within {bound:?}"),
                fix: "check the primary; raise DATABASE_CONNECT_TIMEOUT if it is only slow".into(),
            }),
        }
    }

    /// Checks these replicas at once and records what each answered.
    async fn check(&self, indexes: &[usize]) {
        let mut checks = JoinSet::new();
        for &index in indexes {
            let replica = self.inner.replicas[index].clone();
            let bound = self.inner.connect_timeout;
            checks.spawn(async move { (index, replica.state(bound).await) });
        }
        while let Some(joined) = checks.join_next().await {
            if let Ok((index, answer)) = joined {
                self.record(index, answer);
            }
        }
    }

    /// Starts a background check of each replica whose retry time has come.
    fn retry_due(&self) {
        let now = Instant::now();
        let due: Vec<usize> = {
            let mut state = self.lock();
            state
                .slots
                .iter_mut()
                .enumerate()
                .filter_map(|(index, slot)| match slot {
                    Slot::Down {
                        retry_at, retrying, ..
                    } if *retry_at <= now && !*retrying => {
                        *retrying = true;
                        Some(index)
                    }
                    _ => None,
                })
                .collect()
        };
        for index in due {
            let set = self.clone();
            tokio::spawn(async move {
                let replica = set.inner.replicas[index].clone();
                let answer = replica.state(set.inner.connect_timeout).await;
                set.record(index, answer);
            });
        }
    }

    fn record(&self, index: usize, answer: Result<StandbyState, ProbeError>) {
        match answer {
            Ok(standby) => {
                let mut state = self.lock();
                let primary = state.primary;
                if matches!(state.slots[index], Slot::Down { .. }) {
                    tracing::info!(
                        replica = %self.inner.replicas[index].label(),
                        replay = %standby.replay,
                        "replica answers again: it serves reads once within the lag bound"
                    );
                }
                state.slots[index] = Slot::Up { standby, primary };
            }
            Err(e) => self.mark_down(index, e.to_string()),
        }
    }

    fn mark_down(&self, index: usize, error: String) {
        let mut state = self.lock();
        let failures = match &state.slots[index] {
            Slot::Down { failures, .. } => failures.saturating_add(1),
            _ => 1,
        };
        let wait = route::retry_after(
            failures,
            self.inner.config.retry_first,
            self.inner.config.retry_max,
        );
        tracing::warn!(
            replica = %self.inner.replicas[index].label(),
            error = %error,
            failures,
            retry_in = ?wait,
            "replica skipped: reads go to the other replicas or the primary until it answers again"
        );
        state.slots[index] = Slot::Down {
            failures,
            retry_at: Instant::now() + wait,
            error,
            retrying: false,
        };
    }

    fn describe(&self, skipped: &[(usize, Skip)]) -> String {
        if skipped.is_empty() {
            return "none".into();
        }
        skipped
            .iter()
            .map(|(index, why)| format!("{}: {why}", self.inner.replicas[*index].label()))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is plain data, consistent after every assignment: a panic elsewhere
        // while holding the lock leaves nothing half-written.
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn health(slot: &Slot, now: Instant) -> Health {
    match slot {
        Slot::Unchecked => Health::Unchecked,
        Slot::Up { standby, primary } => Health::Up {
            replay: standby.replay,
            primary: *primary,
        },
        Slot::Down {
            failures,
            retry_at,
            error,
            ..
        } => Health::Down {
            retry_in: retry_at.saturating_duration_since(now),
            failures: *failures,
            error: error.clone(),
        },
    }
}

impl std::fmt::Debug for ReplicaSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicaSet")
            .field("replicas", &self.inner.replicas)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}
