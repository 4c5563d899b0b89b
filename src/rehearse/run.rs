//! The rehearsal itself: every planned statement, in order, inside one transaction that is
//! always rolled back, each under a savepoint so that one failure does not hide the next.
//! Around each statement the catalogs are read twice (its own backend's `pg_locks`, every
//! relation's `relfilenode`, `pg_stat_xact_user_tables`' sequential reads), so the report
//! says which locks it took, which tables it rewrote and how many rows it scanned.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::AtomicI32;
use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection, Row};

use super::mode;
use super::offending::offending_rows;
use super::report::{Failure, LockTaken, MigrationReport, Outcome, Report, Scan, StatementReport};
use crate::Error;
use crate::migrate::retry::{self, LockWaitPolicy};
use crate::migrate::watch::{LockRetries, WatchTarget};
use crate::migrations::Migration;
use crate::sql::execute_raw;

/// A migration to rehearse: a compiled or folder migration, or a planned one (`generate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    /// Its tag.
    pub tag: String,
    /// False for a `-- app-db:no-transaction` migration.
    pub transaction: bool,
    /// Its statements, in order.
    pub statements: Vec<String>,
}

impl Planned {
    /// The statements of `migration`, as the migrator would run them.
    pub fn from_migration(migration: &Migration) -> Self {
        Self {
            tag: migration.tag.to_string(),
            transaction: migration.transaction,
            statements: migration.statements().map(str::to_string).collect(),
        }
    }
}

/// How the rehearsal runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The `lock_timeout` of every statement (the migrator's DDL lock timeout): on a database
    /// with traffic a rehearsal queues the app no longer than a migration would. Zero: none.
    pub lock_timeout: Duration,
    /// Where to name the sessions that block a statement (see [`crate::Migrator::watch_blockers`]).
    pub watch: Option<WatchTarget>,
}

const SAVEPOINT: &str = "app_db_rehearsal";

/// Runs `planned` on `conn` and rolls everything back, whatever happens.
pub async fn rehearse(
    conn: &mut PgConnection,
    planned: &[Planned],
    options: &Options,
) -> Result<Report, Error> {
    let policy = LockWaitPolicy {
        lock_timeout: options.lock_timeout,
        retry_budget: Duration::ZERO,
    };
    let mut retries = LockRetries::new(policy, options.watch.clone());
    let mut tx = conn.begin().await?;
    let result = rehearse_in(&mut tx, planned, &policy, &mut retries).await;
    // Always: a rehearsal leaves nothing behind.
    let rolled_back = tx.rollback().await;
    retries.close().await;
    let report = result?;
    rolled_back?;
    Ok(report)
}

async fn rehearse_in(
    tx: &mut PgConnection,
    planned: &[Planned],
    policy: &LockWaitPolicy,
    retries: &mut LockRetries,
) -> Result<Report, Error> {
    let backend: i32 = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "select set_config('lock_timeout', '{}', true), pg_backend_pid() as pid",
        policy.setting()
    )))
    .fetch_one(&mut *tx)
    .await?
    .try_get("pid")?;
    let pid = AtomicI32::new(backend);
    let mut report = Report {
        rolled_back: true,
        lock_timeout_ms: u64::try_from(policy.lock_timeout.as_millis()).unwrap_or(u64::MAX),
        migrations: Vec::with_capacity(planned.len()),
        statements: 0,
        failed: 0,
        not_rehearsed: 0,
    };
    for migration in planned {
        let mut statements = Vec::with_capacity(migration.statements.len());
        for (i, sql) in migration.statements.iter().enumerate() {
            let rehearsed_as = (!migration.transaction)
                .then(|| without_concurrently(sql))
                .flatten();
            let form = rehearsed_as.clone().unwrap_or_else(|| sql.clone());
            let after_failure = report.failed > 0 || report.not_rehearsed > 0;
            let statement = rehearse_statement(tx, &form, &pid, retries).await?;
            report.statements += 1;
            match statement.outcome {
                Outcome::Ok => {}
                Outcome::Failed => report.failed += 1,
                Outcome::NotRehearsed => report.not_rehearsed += 1,
            }
            statements.push(StatementReport {
                index: i + 1,
                sql: preview(sql),
                rehearsed_as: rehearsed_as.map(|form| preview(&form)),
                after_failure,
                ..statement
            });
        }
        report.migrations.push(MigrationReport {
            tag: migration.tag.clone(),
            transaction: migration.transaction,
            statements,
        });
    }
    Ok(report)
}

/// One statement under a savepoint, with what the catalogs say about it.
async fn rehearse_statement(
    tx: &mut PgConnection,
    sql: &str,
    pid: &AtomicI32,
    retries: &mut LockRetries,
) -> Result<StatementReport, Error> {
    let before = relations(tx).await?;
    let held = own_locks(tx).await?;
    execute_raw(tx, format!("savepoint {SAVEPOINT}")).await?;
    let started = Instant::now();
    let result = retries
        .attempt(
            pid,
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(&mut *tx),
        )
        .await;
    // Microseconds are all a time on a busy server is good for.
    let elapsed_ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1e3;
    let mut statement = StatementReport {
        index: 0,
        sql: String::new(),
        rehearsed_as: None,
        outcome: Outcome::Ok,
        elapsed_ms,
        locks: Vec::new(),
        rewrites: Vec::new(),
        rows_scanned: Vec::new(),
        error: None,
        after_failure: false,
    };
    match result {
        Ok(_) => {
            execute_raw(tx, format!("release savepoint {SAVEPOINT}")).await?;
            let after = relations(tx).await?;
            let now_held = own_locks(tx).await?;
            statement.locks = new_locks(&held, &now_held, &before, &after);
            for (oid, rel) in &after {
                let Some(old) = before.get(oid) else { continue };
                if matches!(rel.kind, 'r' | 'm') && rel.filenode != old.filenode {
                    statement.rewrites.push(rel.name.clone());
                }
                if rel.seq_read > old.seq_read {
                    statement.rows_scanned.push(Scan {
                        relation: rel.name.clone(),
                        rows: rel.seq_read - old.seq_read,
                    });
                }
            }
            statement.rewrites.sort();
            statement
                .rows_scanned
                .sort_by(|a, b| a.relation.cmp(&b.relation));
        }
        Err(e) => {
            execute_raw(tx, format!("rollback to savepoint {SAVEPOINT}")).await?;
            execute_raw(tx, format!("release savepoint {SAVEPOINT}")).await?;
            let (sqlstate, message) = match &e {
                sqlx::Error::Database(db) => {
                    (db.code().map(|c| c.into_owned()), db.message().to_string())
                }
                other => (None, other.to_string()),
            };
            let blockers = retries.take_blockers();
            if sqlstate.as_deref() == Some("25001") {
                statement.outcome = Outcome::NotRehearsed;
                statement.error = Some(Failure {
                    sqlstate,
                    message: format!(
                        "{message}: it cannot run inside the rehearsal's transaction, so nothing of it was tried"
                    ),
                    offending_rows: None,
                    offending: None,
                    blockers,
                });
                return Ok(statement);
            }
            statement.outcome = Outcome::Failed;
            let mut failure = Failure {
                sqlstate,
                message,
                offending_rows: None,
                offending: None,
                blockers,
            };
            let lock_timeout =
                failure.sqlstate.as_deref() == Some(crate::error::LOCK_NOT_AVAILABLE);
            if let (false, Some(offending)) = (lock_timeout, offending_rows(sql)) {
                failure.offending_rows = count(tx, &offending.count_sql).await?;
                failure.offending = Some(offending.what);
            }
            statement.error = Some(failure);
        }
    }
    Ok(statement)
}

/// Runs a count under a savepoint of its own: `None` if it fails (it is a best effort).
async fn count(tx: &mut PgConnection, sql: &str) -> Result<Option<i64>, Error> {
    execute_raw(tx, format!("savepoint {SAVEPOINT}_count")).await?;
    let counted = sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&mut *tx)
        .await
        .and_then(|row| row.try_get::<i64, _>(0));
    match counted {
        Ok(n) => {
            execute_raw(tx, format!("release savepoint {SAVEPOINT}_count")).await?;
            Ok(Some(n))
        }
        Err(e) => {
            tracing::debug!(error = %crate::error::describe_sqlx(&e), "could not count the offending rows");
            execute_raw(tx, format!("rollback to savepoint {SAVEPOINT}_count")).await?;
            execute_raw(tx, format!("release savepoint {SAVEPOINT}_count")).await?;
            Ok(None)
        }
    }
}

/// A relation outside the system schemas.
#[derive(Debug, Clone)]
struct Relation {
    name: String,
    kind: char,
    filenode: i64,
    seq_read: i64,
}

async fn relations(tx: &mut PgConnection) -> Result<HashMap<i64, Relation>, Error> {
    let rows = sqlx::raw_sql(
        "select c.oid::int8 as oid, c.oid::regclass::text as name, c.relkind::text as kind, \
         c.relfilenode::int8 as filenode, coalesce(s.seq_tup_read, 0)::int8 as seq_read \
         from pg_class c join pg_namespace n on n.oid = c.relnamespace \
         left join pg_stat_xact_user_tables s on s.relid = c.oid \
         where n.nspname not in ('pg_catalog', 'information_schema') \
         and n.nspname not like 'pg\\_toast%' and n.nspname not like 'pg\\_temp%'",
    )
    .fetch_all(&mut *tx)
    .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get("kind")?;
            Ok((
                r.try_get("oid")?,
                Relation {
                    name: r.try_get("name")?,
                    kind: kind.chars().next().unwrap_or('?'),
                    filenode: r.try_get("filenode")?,
                    seq_read: r.try_get("seq_read")?,
                },
            ))
        })
        .collect()
}

/// The relation locks this backend holds: (relation oid, mode).
async fn own_locks(tx: &mut PgConnection) -> Result<BTreeSet<(i64, String)>, Error> {
    let rows = sqlx::raw_sql(
        "select relation::int8 as oid, mode from pg_locks \
         where pid = pg_backend_pid() and locktype = 'relation' and granted",
    )
    .fetch_all(&mut *tx)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("oid")?, r.try_get("mode")?)))
        .collect()
}

/// The locks held now and not before, on relations outside the system schemas.
fn new_locks(
    held: &BTreeSet<(i64, String)>,
    now: &BTreeSet<(i64, String)>,
    before: &HashMap<i64, Relation>,
    after: &HashMap<i64, Relation>,
) -> Vec<LockTaken> {
    let mut locks: Vec<LockTaken> = now
        .difference(held)
        .filter_map(|(oid, lock_mode)| {
            let relation = after.get(oid).or_else(|| before.get(oid))?;
            Some(LockTaken {
                relation: relation.name.clone(),
                kind: kind_name(relation.kind).into(),
                mode: lock_mode.clone(),
                blocks: mode::blocks(lock_mode).into(),
                blocks_the_app: mode::blocks_the_app(lock_mode),
                new_relation: !before.contains_key(oid),
            })
        })
        .collect();
    locks.sort_by(|a, b| {
        (a.new_relation, &a.kind != "table", &a.relation, &a.mode).cmp(&(
            b.new_relation,
            &b.kind != "table",
            &b.relation,
            &b.mode,
        ))
    });
    locks
}

fn kind_name(kind: char) -> &'static str {
    match kind {
        'r' => "table",
        'p' => "partitioned table",
        'i' | 'I' => "index",
        'S' => "sequence",
        'v' => "view",
        'm' => "materialized view",
        'f' => "foreign table",
        'c' => "composite type",
        _ => "relation",
    }
}

/// The statement without `CONCURRENTLY`, for a statement a transaction refuses only for that
/// word (`CREATE INDEX CONCURRENTLY` and kin); `None` for every other statement.
pub fn without_concurrently(sql: &str) -> Option<String> {
    if !retry::waits_without_blocking_the_app(sql) {
        return None;
    }
    let upper = sql.to_ascii_uppercase();
    let mut from = 0;
    while let Some(found) = upper[from..].find("CONCURRENTLY") {
        let start = from + found;
        let end = start + "CONCURRENTLY".len();
        let word_char = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
        if !word_char(sql[..start].chars().next_back()) && !word_char(sql[end..].chars().next()) {
            let rest = sql[end..].strip_prefix(' ').unwrap_or(&sql[end..]);
            return Some(format!("{}{rest}", &sql[..start]));
        }
        from = end;
    }
    None
}

/// The statement's first line that is not a comment, at most 200 characters.
fn preview(sql: &str) -> String {
    let line = sql
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("--"))
        .unwrap_or("");
    if line.chars().count() > 200 {
        format!("{}…", line.chars().take(199).collect::<String>())
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_forms_are_rehearsed_without_the_word() {
        assert_eq!(
            without_concurrently(
                "-- app-db:no-transaction\nCREATE INDEX CONCURRENTLY IF NOT EXISTS \"i\" ON \"t\" (\"c\");"
            )
            .as_deref(),
            Some("-- app-db:no-transaction\nCREATE INDEX IF NOT EXISTS \"i\" ON \"t\" (\"c\");")
        );
        assert_eq!(
            without_concurrently("drop index concurrently i").as_deref(),
            Some("drop index i")
        );
        assert_eq!(without_concurrently("CREATE INDEX i ON t (c)"), None);
        assert_eq!(without_concurrently("VACUUM t"), None);
    }

    #[test]
    fn previews_skip_comments_and_stay_short() {
        assert_eq!(
            preview("-- app-db:no-transaction\n\nALTER TABLE t ADD c int;\n"),
            "ALTER TABLE t ADD c int;"
        );
        let long = format!("SELECT {}", "x, ".repeat(100));
        assert_eq!(preview(&long).chars().count(), 200);
    }
}
