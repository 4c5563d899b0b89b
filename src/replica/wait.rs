//! Waiting until every replica has replayed a position: after migrating, so that no code that
//! needs the new schema reads a replica that does not have it yet.

use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::WalPosition;
use super::pools::ReplicaPool;
use super::probe::ProbeError;
use crate::Error;
use crate::error::LateReplica;

/// The first pause between two rounds of checks; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(5);
/// The longest pause between two rounds of checks.
const MAX_PAUSE: Duration = Duration::from_millis(200);
/// The least time a check is given, also in the last round before the deadline.
const MIN_CHECK: Duration = Duration::from_millis(100);

/// Waits until each replica's `pg_last_wal_replay_lsn()` has reached `target`, checking all of
/// those still behind at once, each check bounded by `check_bound` (a silent replica costs at
/// most that per round). `on_replayed(index, elapsed)` is called once per replica as it gets
/// there.
///
/// # Errors
/// [`Error::ReplicasBehind`] once `timeout` has passed, naming each replica still behind with
/// its position or why it did not answer; `at` (the migration the database is at) and
/// `setting` (what bounds the wait) go into its message.
pub async fn wait_replayed(
    replicas: &[ReplicaPool],
    target: WalPosition,
    timeout: Duration,
    check_bound: Duration,
    at: Option<&str>,
    setting: &'static str,
    mut on_replayed: impl FnMut(usize, Duration),
) -> Result<(), Error> {
    let started = Instant::now();
    let deadline = started + timeout;
    // What each replica last said: how far it had replayed, and why its last check failed.
    let mut replayed: Vec<Option<WalPosition>> = vec![None; replicas.len()];
    let mut errors: Vec<Option<ProbeError>> = vec![None; replicas.len()];
    let mut pending: Vec<usize> = (0..replicas.len()).collect();
    let mut pause = FIRST_PAUSE;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let mut checks = JoinSet::new();
        for &index in &pending {
            let replica = replicas[index].clone();
            // The last round still gives a replica a fair chance to answer.
            let bound = check_bound.min(remaining.max(MIN_CHECK));
            checks.spawn(async move { (index, replica.state(bound).await) });
        }
        while let Some(joined) = checks.join_next().await {
            let Ok((index, answer)) = joined else {
                continue;
            };
            match answer {
                Ok(state) => {
                    replayed[index] = Some(state.replay);
                    errors[index] = None;
                    if state.replay >= target {
                        on_replayed(index, started.elapsed());
                        tracing::debug!(
                            replica = %replicas[index].label(),
                            position = %target,
                            elapsed = ?started.elapsed(),
                            "replica has replayed the migrations"
                        );
                        pending.retain(|i| *i != index);
                    }
                }
                Err(e) => {
                    tracing::debug!(replica = %replicas[index].label(), error = %e, "replica did not answer");
                    errors[index] = Some(e);
                }
            }
        }
        if pending.is_empty() {
            return Ok(());
        }
        if deadline.saturating_duration_since(Instant::now()) < MIN_CHECK {
            return Err(Error::ReplicasBehind {
                position: target,
                waited: started.elapsed(),
                at: at.map(str::to_string),
                late: pending
                    .iter()
                    .map(|&index| LateReplica {
                        url: replicas[index].label().to_string(),
                        replayed: replayed[index],
                        error: errors[index].as_ref().map(ToString::to_string),
                    })
                    .collect(),
                setting,
            });
        }
        tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}
