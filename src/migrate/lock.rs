//! The migration lock: a PostgreSQL advisory lock, so that N processes migrating one database
//! at once apply each migration exactly once.
//!
//! The transactional path takes `pg_advisory_xact_lock` as the first statement of the batch's
//! transaction: it is released by COMMIT, ROLLBACK or a dropped connection (kill -9), and it
//! works behind PgBouncer in transaction pooling mode because it lives inside one transaction.
//! Migrations that must run outside a transaction take the session-level `pg_advisory_lock` on a
//! dedicated connection instead (the two conflict with each other, as they must); behind
//! PgBouncer those need `DATABASE_DIRECT_URL`.

use std::time::Duration;

use sqlx::{PgConnection, Row};

use super::driver::Bookkeeping;
use crate::Error;

/// The lock for one bookkeeping table (advisory locks are per database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationLock {
    key: i64,
    timeout: Duration,
}

/// Who holds the lock, from `pg_stat_activity`.
#[derive(Debug, Clone, PartialEq)]
pub struct LockHolder {
    pub pid: i32,
    pub application_name: String,
    pub client_addr: Option<String>,
    pub state: Option<String>,
    /// Seconds since its transaction (or session, for the session lock) started.
    pub held_for_secs: Option<f64>,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "backend pid {}", self.pid)?;
        if !self.application_name.is_empty() {
            write!(f, " ({})", self.application_name)?;
        }
        if let Some(addr) = &self.client_addr {
            write!(f, " from {addr}")?;
        }
        if let Some(state) = &self.state {
            write!(f, ", {state}")?;
        }
        if let Some(secs) = self.held_for_secs {
            write!(f, ", for {secs:.1} s")?;
        }
        Ok(())
    }
}

/// A migrator killed mid-statement (kill -9, a lost pod) leaves its backend running until the
/// statement ends, holding the lock; from PostgreSQL 14 the server can notice the dead client
/// every second instead. The CASE keeps older servers, which lack the setting, working.
macro_rules! client_check {
    ($is_local:literal) => {
        concat!(
            "case when current_setting('server_version_num')::int >= 140000 ",
            "then set_config('client_connection_check_interval', '1000', ",
            $is_local,
            ") end"
        )
    };
}

impl MigrationLock {
    /// The lock guarding `bookkeeping`; `timeout` zero waits forever.
    pub fn new(bookkeeping: &Bookkeeping, timeout: Duration) -> Self {
        Self {
            key: crate::sql::advisory_key(&format!(
                "app-db migrations {}",
                bookkeeping.qualified()
            )),
            timeout,
        }
    }

    /// The advisory lock key.
    pub fn key(&self) -> i64 {
        self.key
    }

    /// The configured timeout.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn timeout_setting(&self) -> String {
        format!("{}ms", self.timeout.as_millis())
    }

    /// Takes the transaction-level lock; the caller has begun a transaction on `conn`.
    /// Returns `Ok(false)` when the timeout expired (the transaction is then aborted).
    pub async fn acquire_in_transaction(
        &self,
        conn: &mut PgConnection,
    ) -> Result<bool, sqlx::Error> {
        // set_config(..., true) is SET LOCAL: the timeout governs this wait only, not the
        // migration's own statements, and ends with the transaction.
        match crate::sql::execute_raw(conn, self.transaction_lock_sql()).await {
            Ok(_) => Ok(true),
            Err(e) if is_lock_timeout(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The lock and the reset of the timeout after it, as one simple-protocol message: one
    /// round trip instead of three (a prepared statement costs two). The server runs the
    /// second statement only if the first succeeded. The values are a number of milliseconds
    /// and an integer, so writing them into the text is safe.
    fn transaction_lock_sql(&self) -> String {
        format!(
            "select set_config('lock_timeout', '{}', true), {}, pg_advisory_xact_lock({}); \
             SET LOCAL lock_timeout TO DEFAULT",
            self.timeout_setting(),
            client_check!("true"),
            self.key
        )
    }

    /// Takes the session-level lock on a dedicated connection (no transaction open).
    /// Returns `Ok(false)` when the timeout expired.
    pub async fn acquire_session(&self, conn: &mut PgConnection) -> Result<bool, sqlx::Error> {
        sqlx::query(SESSION_SETTINGS_SQL)
            .persistent(false)
            .bind(self.timeout_setting())
            .execute(&mut *conn)
            .await?;
        let result = sqlx::query("select pg_advisory_lock($1)")
            .persistent(false)
            .bind(self.key)
            .execute(&mut *conn)
            .await;
        sqlx::raw_sql("SET lock_timeout TO DEFAULT")
            .execute(&mut *conn)
            .await?;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_lock_timeout(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Releases the session-level lock.
    pub async fn release_session(&self, conn: &mut PgConnection) -> Result<(), sqlx::Error> {
        sqlx::query("select pg_advisory_unlock($1)")
            .persistent(false)
            .bind(self.key)
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// Who holds the lock now, if anyone (both lock kinds appear in `pg_locks` the same way).
    pub async fn holder(&self, conn: &mut PgConnection) -> Result<Option<LockHolder>, sqlx::Error> {
        // A bigint advisory key is stored as classid = high 32 bits, objid = low 32 bits, objsubid = 1.
        let sql = "select a.pid, coalesce(a.application_name, '') as application_name, \
                   a.client_addr::text as client_addr, a.state, \
                   extract(epoch from (now() - coalesce(a.xact_start, a.backend_start)))::float8 as held_for \
                   from pg_locks l join pg_stat_activity a on a.pid = l.pid \
                   where l.locktype = 'advisory' and l.granted and l.objsubid = 1 \
                   and l.classid = (($1::bigint >> 32) & 4294967295)::oid and l.objid = ($1::bigint & 4294967295)::oid \
                   and l.database = (select oid from pg_database where datname = current_database()) \
                   limit 1";
        let row = sqlx::query(sql)
            .persistent(false)
            .bind(self.key)
            .fetch_optional(conn)
            .await?;
        row.map(|r| {
            Ok(LockHolder {
                pid: r.try_get("pid")?,
                application_name: r.try_get("application_name")?,
                client_addr: r.try_get("client_addr")?,
                state: r.try_get("state")?,
                held_for_secs: r.try_get("held_for")?,
            })
        })
        .transpose()
    }

    /// The error for an expired wait, naming the holder.
    pub fn timeout_error(&self, holder: Option<LockHolder>) -> Error {
        Error::LockTimeout {
            timeout: self.timeout,
            key: self.key,
            holder: holder.map(|h| h.to_string()),
        }
    }
}

/// The session path's settings, before `pg_advisory_lock`.
const SESSION_SETTINGS_SQL: &str = concat!(
    "select set_config('lock_timeout', $1, false), ",
    client_check!("false")
);

fn is_lock_timeout(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("55P03"))
}
