//! The waiting side of the DDL lock rules: each attempt runs while a second connection names
//! the sessions that block it, and after a lock timeout the run pauses and tries again, or
//! gives up naming them ([`retry::decide`] makes the call).
//!
//! Why a second connection, and why only after a moment: `pg_blocking_pids(pid)` answers only
//! while `pid` waits, and the migrating connection is busy waiting. So while an attempt runs,
//! a sampler sleeps a quarter of the lock timeout (at most 250 ms) and only then, if the
//! attempt still runs, connects (once per run) and asks every period who blocks the migrating
//! backend, keeping the latest answer. An attempt that gets its locks at once, the usual case,
//! opens nothing; one that times out has its blockers already in hand, on its first attempt.
//! The sampler's statement is one simple-protocol message naming the backend pid that the
//! attempt read inside its own transaction, so it works through PgBouncer in transaction mode:
//! any server session may answer it.

use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use super::blocker::{self, Blocker};
use super::migrator::Progress;
use super::retry::{self, Decision, Failure, GiveUp, LockWaitPolicy};
use crate::Error;
use crate::error::LockBudgetSpent;

/// How long the sampler may take to connect before it gives up naming blockers for this run.
const CONNECT_BOUND: Duration = Duration::from_secs(5);

/// Where the sampler connects: the migrator's own server, through the same URL. Its `Debug`
/// shows no password.
#[derive(Clone)]
pub struct WatchTarget(pub PgConnectOptions);

impl std::fmt::Debug for WatchTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "WatchTarget({}:{}/{})",
            self.0.get_host(),
            self.0.get_port(),
            self.0.get_database().unwrap_or_default()
        )
    }
}

/// How often the blockers are sampled while an attempt waits, and how long before the first.
fn sample_period(lock_timeout: Duration) -> Duration {
    if lock_timeout.is_zero() {
        return Duration::from_secs(1);
    }
    (lock_timeout / 4).clamp(Duration::from_millis(25), Duration::from_millis(250))
}

/// The second connection, opened at most once per run.
struct Watch {
    target: Option<WatchTarget>,
    conn: Option<PgConnection>,
    unavailable: bool,
}

impl Watch {
    /// Runs `attempt` while sampling who blocks backend `pid` (0 until the attempt knows it).
    async fn during<F: Future>(
        &mut self,
        pid: &AtomicI32,
        lock_timeout: Duration,
        attempt: F,
    ) -> (F::Output, Vec<Blocker>) {
        let mut seen = Vec::new();
        let period = sample_period(lock_timeout);
        let output = {
            let sampler = self.sample(pid, period, &mut seen);
            tokio::pin!(attempt);
            tokio::pin!(sampler);
            tokio::select! {
                biased;
                output = &mut attempt => output,
                // The sampler never ends on its own; should it, the attempt still completes.
                () = &mut sampler => attempt.await,
            }
        };
        (output, seen)
    }

    async fn sample(&mut self, pid: &AtomicI32, period: Duration, seen: &mut Vec<Blocker>) {
        if self.target.is_none() {
            return std::future::pending().await;
        }
        loop {
            tokio::time::sleep(period).await;
            let backend = pid.load(Ordering::Relaxed);
            if backend == 0 {
                continue;
            }
            let Some(conn) = self.connection().await else {
                return std::future::pending().await;
            };
            match blocker::read(conn, backend).await {
                Ok(blockers) if !blockers.is_empty() => {
                    tracing::debug!(
                        backend,
                        blockers = %blocker::describe(&blockers),
                        "a migration statement waits for a lock"
                    );
                    *seen = blockers;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(error = %crate::error::describe_sqlx(&e), "could not read the blocking sessions; stopped watching");
                    self.conn = None;
                    self.unavailable = true;
                }
            }
        }
    }

    async fn connection(&mut self) -> Option<&mut PgConnection> {
        if self.conn.is_none() && !self.unavailable {
            let target = self.target.as_ref()?;
            match tokio::time::timeout(CONNECT_BOUND, PgConnection::connect_with(&target.0)).await {
                Ok(Ok(conn)) => self.conn = Some(conn),
                Ok(Err(e)) => {
                    tracing::debug!(error = %crate::error::describe_sqlx(&e), "could not open a connection to name the blocking sessions");
                    self.unavailable = true;
                }
                Err(_) => {
                    tracing::debug!(
                        "no connection within {CONNECT_BOUND:?} to name the blocking sessions"
                    );
                    self.unavailable = true;
                }
            }
        }
        self.conn.as_mut()
    }

    async fn close(self) {
        if let Some(conn) = self.conn {
            let _ = conn.close().await;
        }
    }
}

/// The attempts of one run under a [`LockWaitPolicy`]: counts them, watches each, and after a
/// failure decides, logs, pauses, or builds the final error.
pub(crate) struct LockRetries {
    operation: &'static str,
    policy: LockWaitPolicy,
    watch: Watch,
    started: Option<Instant>,
    attempts: u32,
    blockers: Vec<Blocker>,
}

impl LockRetries {
    /// Retries under `policy`, naming blockers through `target` when given.
    pub(crate) fn new(policy: LockWaitPolicy, target: Option<WatchTarget>) -> Self {
        Self {
            operation: "the bookkeeping statements",
            policy,
            watch: Watch {
                target,
                conn: None,
                unavailable: false,
            },
            started: None,
            attempts: 0,
            blockers: Vec::new(),
        }
    }

    /// Names what the attempts do, for the final error when no migration statement failed.
    pub(crate) fn operation(mut self, operation: &'static str) -> Self {
        self.operation = operation;
        self
    }

    /// The policy.
    pub(crate) fn policy(&self) -> &LockWaitPolicy {
        &self.policy
    }

    /// How many attempts ran so far.
    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Time since the first attempt started.
    pub(crate) fn elapsed(&self) -> Duration {
        self.started.map(|s| s.elapsed()).unwrap_or_default()
    }

    /// The blockers seen last, taken (the next attempt starts with none).
    pub(crate) fn take_blockers(&mut self) -> Vec<Blocker> {
        std::mem::take(&mut self.blockers)
    }

    /// Runs one attempt while watching backend `pid` (the attempt stores it once known).
    pub(crate) async fn attempt<F: Future>(&mut self, pid: &AtomicI32, attempt: F) -> F::Output {
        self.started.get_or_insert_with(Instant::now);
        self.attempts += 1;
        let (output, seen) = self
            .watch
            .during(pid, self.policy.lock_timeout, attempt)
            .await;
        if !seen.is_empty() {
            self.blockers = seen;
        }
        output
    }

    /// After a failed attempt: `Ok(())` once it paused, when the attempt should run again;
    /// otherwise the error to return (`error` itself, or the budget's when a lock timeout
    /// spent it).
    pub(crate) async fn after_failure(
        &mut self,
        error: Error,
        progress: &mut (dyn FnMut(Progress<'_>) + Send),
    ) -> Result<(), Error> {
        let failure = if error.is_lock_timeout() {
            Failure::LockTimeout
        } else {
            Failure::Other
        };
        let elapsed = self.elapsed();
        match retry::decide(&self.policy, failure, self.attempts, elapsed, jitter()) {
            Decision::GiveUp(GiveUp::NotRetryable) => Err(error),
            Decision::GiveUp(GiveUp::BudgetSpent) => Err(self.budget_spent(error)),
            Decision::Retry { pause } => {
                let statement = error.statement_preview();
                tracing::warn!(
                    attempt = self.attempts,
                    pause_ms = pause.as_millis() as u64,
                    "{} could not get its lock within {:?} (attempt {}, {:.1} s of the {:?} retry budget used); retrying in {:.1} s; blocked by {}",
                    statement.as_deref().unwrap_or("a migration statement"),
                    self.policy.lock_timeout,
                    self.attempts,
                    elapsed.as_secs_f64(),
                    self.policy.retry_budget,
                    pause.as_secs_f64(),
                    blocker::describe(&self.blockers),
                );
                progress(Progress::LockRetry {
                    attempt: self.attempts,
                    pause,
                    blockers: &self.blockers,
                });
                tokio::time::sleep(pause).await;
                Ok(())
            }
        }
    }

    /// The error once the budget is spent, naming the last blockers seen.
    fn budget_spent(&self, cause: Error) -> Error {
        let failure = match cause {
            Error::MigrationFailed(failure) => Some(*failure),
            _ => None,
        };
        Error::LockBudgetSpent(Box::new(LockBudgetSpent {
            operation: self.operation,
            failure,
            attempts: self.attempts,
            waited: self.elapsed(),
            lock_timeout: self.policy.lock_timeout,
            retry_budget: self.policy.retry_budget,
            blockers: self.blockers.clone(),
        }))
    }

    /// Closes the sampler's connection, if one was opened.
    pub(crate) async fn close(self) {
        self.watch.close().await;
    }
}

/// A number in `[0, 1)`, different in every process and call (the standard library's random
/// hash keys): enough to keep replicas from retrying in step.
fn jitter() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_is_a_quarter_of_the_lock_timeout_within_bounds() {
        let ms = Duration::from_millis;
        assert_eq!(sample_period(ms(2000)), ms(250));
        assert_eq!(sample_period(ms(400)), ms(100));
        assert_eq!(sample_period(ms(40)), ms(25));
        assert_eq!(sample_period(Duration::ZERO), ms(1000));
    }

    #[test]
    fn jitter_stays_in_range_and_varies() {
        let values: Vec<f64> = (0..50).map(|_| jitter()).collect();
        assert!(values.iter().all(|v| (0.0..1.0).contains(v)), "{values:?}");
        assert!(values.windows(2).any(|w| w[0] != w[1]), "{values:?}");
    }
}
