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
    let mut last: Vec<Option<Result<WalPosition, ProbeError>>> = vec![None; replicas.len()];
    let mut pending: Vec<usize> = (0..replicas.len()).collect();
    let mut pause = FIRST_PAUSE;
    while !pending.is_empty() {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let mut checks = JoinSet::new();
        for &index in &pending {
            let replica = replicas[index].clone();
            let bound = check_bound.min(remaining).max(Duration::from_millis(1));
            checks.spawn(async move { (index, replica.state(bound).await) });
        }
        while let Some(joined) = checks.join_next().await {
            let Ok((index, state)) = joined else { continue };
            let answer = state.map(|s| s.replay);
            if matches!(answer, Ok(replay) if replay >= target) {
                on_replayed(index, started.elapsed());
                tracing::debug!(
                    replica = %replicas[index].label(),
                    position = %target,
                    elapsed = ?started.elapsed(),
                    "replica has replayed the migrations"
                );
                pending.retain(|i| *i != index);
            } else {
                tracing::debug!(replica = %replicas[index].label(), ?answer, position = %target, "replica not there yet");
            }
            last[index] = Some(answer);
        }
        if pending.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            return Err(Error::ReplicasBehind {
                position: target,
                waited: started.elapsed(),
                at: at.map(str::to_string),
                late: pending
                    .iter()
                    .map(|&index| late(&replicas[index], last[index].as_ref()))
                    .collect(),
                setting,
            });
        }
        tokio::time::sleep(pause.min(deadline.saturating_duration_since(Instant::now()))).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
    Ok(())
}

fn late(replica: &ReplicaPool, last: Option<&Result<WalPosition, ProbeError>>) -> LateReplica {
    let (replayed, error) = match last {
        Some(Ok(replay)) => (Some(*replay), None),
        Some(Err(e)) => (None, Some(e.to_string())),
        None => (None, None),
    };
    LateReplica {
        url: replica.label().to_string(),
        replayed,
        error,
    }
}
