//! Read replicas (`--read-url`/`DATABASE_READ_URL`): `up --wait-replicas` and the replica
//! part of `status`.

use std::time::{Duration, Instant};

use app_db::replica::probe::{self, ProbeError, StandbyState};
use app_db::replica::{ReplicaPool, WalPosition, wait};
use app_db::{Error, PoolConfig};
use serde_json::{Value, json};
use sqlx::PgConnection;

use crate::cli::GlobalArgs;
use crate::output::elapsed;

/// Where replica URLs come from, for errors.
const SETTING: &str = "--read-url/DATABASE_READ_URL";

/// The replicas given, each with a small lazy pool bounded like the command's connection;
/// `flag` (the option that needs them) is named when none is given.
pub fn pools(global: &GlobalArgs, flag: &str) -> Result<Vec<ReplicaPool>, Error> {
    let urls = urls(global);
    if urls.is_empty() {
        return Err(Error::Refused {
            reason: format!("{flag} needs the read replicas, and none is given"),
            fix: "pass --read-url <URL> (repeatable, or comma-separated) or set DATABASE_READ_URL"
                .into(),
        });
    }
    ReplicaPool::open_all(&urls, SETTING, &pool_config(global))
}

fn urls(global: &GlobalArgs) -> Vec<String> {
    global
        .read_urls
        .iter()
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .collect()
}

fn pool_config(global: &GlobalArgs) -> PoolConfig {
    let bound = connect_timeout(global);
    PoolConfig {
        min: 0,
        max: 1,
        idle_timeout: None,
        acquire_timeout: bound,
        connect_timeout: bound,
    }
}

fn connect_timeout(global: &GlobalArgs) -> Duration {
    Duration::from_millis(global.connect_timeout)
}

/// Waits until every replica has replayed the primary's position read on `conn` now (right
/// after `up`), printing each replica as it gets there.
pub async fn wait(
    global: &GlobalArgs,
    conn: &mut PgConnection,
    pools: &[ReplicaPool],
    timeout: Duration,
    at: Option<&str>,
) -> Result<(), Error> {
    let position = probe::primary_position(conn).await?;
    println!(
        "waiting up to {} for {} replica(s) to replay WAL position {position}",
        elapsed(timeout),
        pools.len()
    );
    let started = Instant::now();
    wait::wait_replayed(
        pools,
        position,
        timeout,
        connect_timeout(global),
        at,
        "--wait-replicas-timeout/APP_DB_WAIT_REPLICAS_TIMEOUT",
        |index, took| {
            println!(
                "  {}: replayed after {}",
                pools[index].label(),
                elapsed(took)
            )
        },
    )
    .await?;
    println!(
        "every replica has replayed the migrations ({})",
        elapsed(started.elapsed())
    );
    Ok(())
}

/// One replica in `status`.
pub struct Report {
    url: String,
    answer: Result<StandbyState, ProbeError>,
    lag_bytes: Option<u64>,
}

/// The primary's position (read on `conn`) and each replica's state, when replicas are given.
pub async fn reports(
    global: &GlobalArgs,
    conn: &mut PgConnection,
) -> Result<Option<(WalPosition, Vec<Report>)>, Error> {
    if urls(global).is_empty() {
        return Ok(None);
    }
    let pools = pools(global, "status")?;
    let primary = probe::primary_position(conn).await?;
    let mut reports = Vec::new();
    for pool in &pools {
        let answer = pool.state(connect_timeout(global)).await;
        let lag_bytes = answer.as_ref().ok().map(|s| primary.bytes_after(s.replay));
        reports.push(Report {
            url: pool.label().to_string(),
            answer,
            lag_bytes,
        });
    }
    Ok(Some((primary, reports)))
}

fn state_label(answer: &Result<StandbyState, ProbeError>) -> &'static str {
    match answer {
        Ok(state) if state.paused => "replay-paused",
        Ok(_) => "streaming",
        Err(ProbeError::NotStandby) => "not-a-standby",
        Err(_) => "unreachable",
    }
}

/// `wal_position` and `replicas` of `status --json` (docs/cli.md).
pub fn json_fields(reports: Option<&(WalPosition, Vec<Report>)>) -> (Value, Value) {
    let Some((primary, reports)) = reports else {
        return (Value::Null, json!([]));
    };
    let replicas: Vec<Value> = reports
        .iter()
        .map(|r| {
            let state = r.answer.as_ref().ok();
            json!({
                "url": r.url,
                "state": state_label(&r.answer),
                "replay_position": state.map(|s| s.replay.to_string()),
                "receive_position": state.and_then(|s| s.receive).map(|p| p.to_string()),
                "replay_paused": state.map(|s| s.paused),
                "lag_bytes": r.lag_bytes,
                "error": r.answer.as_ref().err().map(ToString::to_string),
            })
        })
        .collect();
    (json!(primary.to_string()), json!(replicas))
}

/// The replica lines of `status`.
pub fn print(reports: Option<&(WalPosition, Vec<Report>)>) {
    let Some((primary, reports)) = reports else {
        return;
    };
    println!("primary WAL position {primary}");
    for r in reports {
        match &r.answer {
            Ok(state) => println!(
                "replica {}: {}, replayed up to {}, {} byte(s) behind",
                r.url,
                state_label(&r.answer),
                state.replay,
                r.lag_bytes.unwrap_or(0)
            ),
            Err(e) => println!("replica {}: {}: {e}", r.url, state_label(&r.answer)),
        }
    }
}
