//! Every statement the replica support sends, each one round trip in the simple query
//! protocol (which a transaction pooler carries; rows arrive as text).

use std::time::Duration;

use sqlx::{PgConnection, Row};

use super::WalPosition;

/// The primary's position: insert and flush pointers, the WAL page size and whether commits
/// wait for their WAL to be flushed. `pg_current_wal_*` are open to every role.
const PRIMARY_POSITION_SQL: &str = "select pg_current_wal_insert_lsn()::text as insert_lsn, \
     pg_current_wal_flush_lsn()::text as flush_lsn, \
     current_setting('wal_block_size') as wal_block_size, \
     current_setting('synchronous_commit') as synchronous_commit";

/// A standby's state. `pg_is_wal_replay_paused()` raises an error outside recovery, hence the
/// `case` (evaluated only on a standby).
const STANDBY_STATE_SQL: &str = "select pg_is_in_recovery()::text as in_recovery, \
     pg_last_wal_replay_lsn()::text as replay_lsn, \
     pg_last_wal_receive_lsn()::text as receive_lsn, \
     (case when pg_is_in_recovery() then pg_is_wal_replay_paused() end)::text as paused";

/// What a standby reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StandbyState {
    /// `pg_last_wal_replay_lsn()`: every transaction committed before it is visible there.
    pub replay: WalPosition,
    /// `pg_last_wal_receive_lsn()` (`None` when it has received nothing by streaming).
    pub receive: Option<WalPosition>,
    /// `pg_is_wal_replay_paused()`.
    pub paused: bool,
}

/// Why a server cannot serve as a replica.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProbeError {
    /// It did not answer within the bound.
    Timeout(Duration),
    /// Connecting or querying failed (the message; URL and password not included).
    Failed(String),
    /// It answered, but it is not in recovery: a primary, or a promoted standby.
    NotStandby,
}

impl std::fmt::Display for ProbeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProbeError::Timeout(bound) => write!(
                f,
                "no answer within {bound:?} (DATABASE_CONNECT_TIMEOUT)"
            ),
            ProbeError::Failed(message) => f.write_str(message),
            ProbeError::NotStandby => f.write_str(
                "it is not a standby (pg_is_in_recovery() is false: a primary, or a promoted replica); point DATABASE_READ_URL at hot standbys",
            ),
        }
    }
}

/// The position a read that must see every write committed so far waits for, read on the
/// primary in one round trip.
///
/// With `synchronous_commit` on (PostgreSQL's default) a commit returns only once its WAL is
/// flushed, so the flush pointer is past every commit that has returned, and it is what the
/// primary sends to standbys. With it off, a commit may return before its WAL is flushed:
/// the insert pointer is past it, and reaches standbys once the WAL writer flushes it
/// (`wal_writer_delay`, 200 ms by default). Sessions that turn `synchronous_commit` off for
/// themselves on a server where it is on are not covered.
pub async fn primary_position(conn: &mut PgConnection) -> Result<WalPosition, sqlx::Error> {
    let row = sqlx::raw_sql(PRIMARY_POSITION_SQL).fetch_one(conn).await?;
    let text = |name: &str| -> Result<String, sqlx::Error> { row.try_get::<String, _>(name) };
    let insert = parse(&text("insert_lsn")?)?;
    let flush = parse(&text("flush_lsn")?)?;
    let block: u64 = text("wal_block_size")?.parse().unwrap_or(8192);
    Ok(after_commits(
        insert,
        flush,
        block,
        text("synchronous_commit")? == "off",
    ))
}

/// The pure part of [`primary_position`].
pub fn after_commits(
    insert: WalPosition,
    flush: WalPosition,
    wal_block_size: u64,
    asynchronous_commit: bool,
) -> WalPosition {
    if asynchronous_commit {
        insert.replayable(wal_block_size)
    } else {
        flush
    }
}

/// A standby's replay position, one round trip on `conn`.
pub async fn standby_state(conn: &mut PgConnection) -> Result<StandbyState, ProbeError> {
    let row = sqlx::raw_sql(STANDBY_STATE_SQL)
        .fetch_one(conn)
        .await
        .map_err(|e| ProbeError::Failed(crate::error::describe_sqlx(&e)))?;
    let text = |name: &str| -> Result<Option<String>, ProbeError> {
        row.try_get::<Option<String>, _>(name)
            .map_err(|e| ProbeError::Failed(crate::error::describe_sqlx(&e)))
    };
    if text("in_recovery")?.as_deref() != Some("true") {
        return Err(ProbeError::NotStandby);
    }
    let position = |value: Option<String>| -> Result<Option<WalPosition>, ProbeError> {
        value
            .map(|v| {
                v.parse()
                    .map_err(|e: super::lsn::BadWalPosition| ProbeError::Failed(e.to_string()))
            })
            .transpose()
    };
    let receive = position(text("receive_lsn")?)?;
    // A standby restored from a base backup that has not replayed anything yet reports NULL.
    let replay = position(text("replay_lsn")?)?.unwrap_or_default();
    Ok(StandbyState {
        replay,
        receive,
        paused: text("paused")?.as_deref() == Some("true"),
    })
}

fn parse(text: &str) -> Result<WalPosition, sqlx::Error> {
    text.parse()
        .map_err(|e: super::lsn::BadWalPosition| sqlx::Error::Decode(e.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synchronous_commits_wait_for_the_flush_pointer_and_asynchronous_ones_for_the_insert_pointer()
    {
        let (insert, flush) = (WalPosition(8192 * 3 + 24), WalPosition(8192 * 2 + 80));
        assert_eq!(after_commits(insert, flush, 8192, false), flush);
        // Asynchronous: the insert pointer, moved back to the page boundary it stands after.
        assert_eq!(
            after_commits(insert, flush, 8192, true),
            WalPosition(8192 * 3)
        );
    }

    #[test]
    fn probe_errors_say_what_to_do() {
        assert!(
            ProbeError::NotStandby
                .to_string()
                .contains("DATABASE_READ_URL")
        );
        assert!(
            ProbeError::Timeout(Duration::from_secs(1))
                .to_string()
                .contains("DATABASE_CONNECT_TIMEOUT")
        );
    }
}
