//! The migration lock: a PostgreSQL advisory lock, so that N processes migrating one database
//! at once apply each migration exactly once.
//!
//! The transactional path takes `pg_advisory_xact_lock` as the first statement of the batch's
//! transaction: it is released by COMMIT, ROLLBACK or a dropped connection (kill -9), and it
//! works behind PgBouncer in transaction pooling mode because it lives inside one transaction.
//! Migrations that must run outside a transaction take the session-level `pg_advisory_lock` on a
//! dedicated connection instead (the two conflict with each other, as they must); behind
//! PgBouncer those need `DATABASE_DIRECT_URL`. The session lock is a [`SessionLock`], tied to
//! the backend it was taken on: every later step checks it still runs there, so a transaction
//! pooler, which moves statements between server sessions, is refused instead of silently
//! leaving the lock behind on a session other clients then get.

use std::time::Duration;

use sqlx::{PgConnection, Row};

use super::driver::Bookkeeping;
use crate::Error;
use crate::keepalive::Keepalive;

/// The lock for one bookkeeping table (advisory locks are per database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationLock {
    key: i64,
    timeout: Duration,
    ddl_lock_timeout: Duration,
    keepalive: Option<Keepalive>,
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
            ddl_lock_timeout: super::retry::DEFAULT_DDL_LOCK_TIMEOUT,
            keepalive: Some(Keepalive::default()),
        }
    }

    /// The `lock_timeout` the migration's own statements run under once the lock is held
    /// (zero: none, PostgreSQL's default). See [`super::retry`].
    pub fn ddl_lock_timeout(mut self, timeout: Duration) -> Self {
        self.ddl_lock_timeout = timeout;
        self
    }

    /// The TCP keepalive bounds the lock statement gives the server's side of the session
    /// (`None`: the server's own settings). The default is [`Keepalive::default`].
    pub fn keepalive(mut self, keepalive: Option<Keepalive>) -> Self {
        self.keepalive = keepalive;
        self
    }

    /// The `, set_config(...)` calls for the server's keepalive settings, or nothing.
    fn keepalive_sql(&self, is_local: bool) -> String {
        self.keepalive
            .map(|k| format!(", {}", k.server_settings_sql(is_local)))
            .unwrap_or_default()
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
    /// Returns the backend pid the transaction runs on, or `Ok(None)` when the timeout expired
    /// (the transaction is then aborted). From then on the transaction's statements run under
    /// the DDL lock timeout.
    pub async fn acquire_in_transaction(
        &self,
        conn: &mut PgConnection,
    ) -> Result<Option<i32>, sqlx::Error> {
        // set_config(..., true) is SET LOCAL: the lock's timeout governs this wait only, and
        // the DDL lock timeout after it ends with the transaction.
        let rows = match sqlx::raw_sql(sqlx::AssertSqlSafe(self.transaction_lock_sql()))
            .fetch_all(&mut *conn)
            .await
        {
            Ok(rows) => rows,
            Err(e) if is_lock_timeout(&e) => return Ok(None),
            Err(e) => return Err(e),
        };
        let pid = rows
            .iter()
            .find_map(|row| row.try_get::<String, _>("pid").ok())
            .and_then(|pid| pid.parse().ok())
            .ok_or_else(|| {
                sqlx::Error::Protocol("the lock statement returned no backend pid".into())
            })?;
        Ok(Some(pid))
    }

    /// The lock, then the DDL lock timeout and the backend pid, as one simple-protocol message:
    /// one round trip (a prepared statement costs two). The server runs the second statement
    /// only if the first succeeded. The values are numbers of milliseconds and an integer, so
    /// writing them into the text is safe.
    fn transaction_lock_sql(&self) -> String {
        format!(
            "select set_config('lock_timeout', '{}', true), {}{}, pg_advisory_xact_lock({}); \
             select set_config('lock_timeout', '{}ms', true), pg_backend_pid()::text as pid",
            self.timeout_setting(),
            client_check!("true"),
            self.keepalive_sql(true),
            self.key,
            self.ddl_lock_timeout.as_millis()
        )
    }

    /// Takes the session-level lock on a dedicated connection (no transaction open), tied to
    /// the server session it was taken on. `Ok(None)` when the timeout expired.
    ///
    /// A pooler in transaction mode (PgBouncer) hands each transaction, and each autocommit
    /// statement, whatever server session is free, so a session lock would stay on a session
    /// other clients then use. Every statement here therefore uses the simple query protocol
    /// (the extended one's Parse and Bind can land on different sessions), and the lock is
    /// taken only if the statement runs on the session a first statement ran on: when they
    /// differ the error says to migrate on a direct connection, and nothing is held.
    pub async fn acquire_session(
        &self,
        conn: &mut PgConnection,
    ) -> Result<Option<SessionLock>, Error> {
        let (pid, restore) = backend_pid_and_settings(conn).await?;
        let sql = session_lock_sql(
            pid,
            self.key,
            &self.timeout_setting(),
            &self.keepalive_sql(false),
        );
        let locked = match sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut *conn)
            .await
        {
            Ok(row) => row.try_get::<Option<String>, _>("locked")?,
            Err(e) if is_lock_timeout(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let lock = SessionLock {
            pid,
            key: self.key,
            restore,
        };
        let Some(now) = locked else {
            return Err(lock.moved_error(None));
        };
        let now: i32 = now.parse().map_err(|_| {
            Error::Sqlx(sqlx::Error::Protocol(format!(
                "backend pid {now:?} is not a number"
            )))
        })?;
        if now != pid {
            return Err(lock.moved_error(Some(now)));
        }
        // The migration's statements run under the DDL lock timeout, on the session that holds
        // the lock; `release` puts the session's own settings back.
        lock.check(conn).await?;
        lock.set_lock_timeout(conn, &format!("{}ms", self.ddl_lock_timeout.as_millis()))
            .await?;
        Ok(Some(lock))
    }

    /// Who holds the lock now, if anyone (both lock kinds appear in `pg_locks` the same way).
    /// Asked after a failed wait, outside any transaction: the simple query protocol (the key
    /// is a number written into the text) keeps the answer right behind a transaction pooler.
    pub async fn holder(&self, conn: &mut PgConnection) -> Result<Option<LockHolder>, sqlx::Error> {
        // A bigint advisory key is stored as classid = high 32 bits, objid = low 32 bits, objsubid = 1.
        let sql = format!(
            "select a.pid, coalesce(a.application_name, '') as application_name, \
             a.client_addr::text as client_addr, a.state, \
             extract(epoch from (now() - coalesce(a.xact_start, a.backend_start)))::float8 as held_for \
             from pg_locks l join pg_stat_activity a on a.pid = l.pid \
             where l.locktype = 'advisory' and l.granted and l.objsubid = 1 \
             and l.classid = (({key}::bigint >> 32) & 4294967295)::oid and l.objid = ({key}::bigint & 4294967295)::oid \
             and l.database = (select oid from pg_database where datname = current_database()) \
             limit 1",
            key = self.key
        );
        let row = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
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

/// The session path's lock statement: settings and lock only on the session `pid` (an
/// `offset 0` subquery is evaluated before the lock, and not merged into the outer query).
/// `locked` is that session's pid as text, or null when the statement ran on another.
fn session_lock_sql(pid: i32, key: i64, timeout: &str, keepalive: &str) -> String {
    format!(
        "select case when pg_backend_pid() = {pid} then \
         (select pg_advisory_lock({key})::text || pg_backend_pid() \
          from (select set_config('lock_timeout', '{timeout}', false), {check}{keepalive} offset 0) settings) \
         end as locked",
        check = client_check!("false")
    )
}

/// The settings the session path changes, put back when it releases the lock.
const SESSION_SETTINGS: &str = "'lock_timeout', 'client_connection_check_interval', \
    'tcp_keepalives_idle', 'tcp_keepalives_interval', 'tcp_keepalives_count', 'tcp_user_timeout'";

/// The backend pid and the `set_config` calls that restore the settings the session path
/// changes (quoted by the server), read in one statement before anything changes.
async fn backend_pid_and_settings(conn: &mut PgConnection) -> Result<(i32, String), Error> {
    let sql = format!(
        "select pg_backend_pid()::text as pid, \
         (select string_agg(format('set_config(%L, %L, false)', name, current_setting(name)), ', ') \
          from pg_settings where name in ({SESSION_SETTINGS})) as restore"
    );
    let row = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .fetch_one(&mut *conn)
        .await?;
    let text: String = row.try_get("pid")?;
    let restore: Option<String> = row.try_get("restore")?;
    let pid = text.parse().map_err(|_| {
        Error::Sqlx(sqlx::Error::Protocol(format!(
            "backend pid {text:?} is not a number"
        )))
    })?;
    Ok((pid, restore.unwrap_or_default()))
}

async fn backend_pid(conn: &mut PgConnection) -> Result<i32, Error> {
    let row = sqlx::raw_sql("select pg_backend_pid()::text as pid")
        .fetch_one(&mut *conn)
        .await?;
    let text: String = row.try_get("pid")?;
    text.parse().map_err(|_| {
        Error::Sqlx(sqlx::Error::Protocol(format!(
            "backend pid {text:?} is not a number"
        )))
    })
}

/// The session-level lock, held by one server session (backend pid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionLock {
    pid: i32,
    key: i64,
    /// `set_config` calls restoring the session's settings as they were before the lock.
    restore: String,
}

impl SessionLock {
    /// The backend that holds the lock.
    pub fn backend_pid(&self) -> i32 {
        self.pid
    }

    /// Fails unless `conn`'s next statement runs on the session that holds the lock. Call it
    /// before every step of the session path; inside a transaction it holds for the whole
    /// transaction (a pooler keeps a transaction on one session).
    pub async fn check(&self, conn: &mut PgConnection) -> Result<(), Error> {
        let now = backend_pid(conn).await?;
        if now == self.pid {
            return Ok(());
        }
        // The lock stays on a session this connection cannot reach again: end that session
        // if it is idle, so a pooler does not hand a lock-holding session to other clients.
        let end = format!(
            "select pg_terminate_backend(pid) from pg_stat_activity where pid = {} and state = 'idle'",
            self.pid
        );
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(end))
            .execute(&mut *conn)
            .await;
        Err(self.moved_error(Some(now)))
    }

    /// Sets the session's `lock_timeout` (`setting` is a number of milliseconds with its unit,
    /// built by app-db) for the statements that follow.
    pub async fn set_lock_timeout(
        &self,
        conn: &mut PgConnection,
        setting: &str,
    ) -> Result<(), Error> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "select set_config('lock_timeout', '{setting}', false)"
        )))
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Releases the lock (after checking the session) and puts back the session's settings
    /// as they were before the lock was taken (the connection may return to a pool).
    pub async fn release(&self, conn: &mut PgConnection) -> Result<(), Error> {
        self.check(conn).await?;
        let restore = if self.restore.is_empty() {
            String::new()
        } else {
            format!(", {}", self.restore)
        };
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "select pg_advisory_unlock({}){restore}",
            self.key
        )))
        .execute(conn)
        .await?;
        Ok(())
    }

    fn moved_error(&self, now: Option<i32>) -> Error {
        let seen = now.map_or_else(
            || "another server session".to_string(),
            |now| format!("backend pid {now}"),
        );
        Error::Refused {
            reason: format!(
                "a -- app-db:no-transaction migration needs the migration lock on one server session for its whole run, but this connection's statements ran on backend pid {} and then on {seen}: it goes through a pooler in transaction mode (PgBouncer); nothing more was applied",
                self.pid
            ),
            fix: "migrate on a direct connection to PostgreSQL: set DATABASE_DIRECT_URL for init(), or run the CLI with -u <direct URL> (migrations without the directive work through the pooler)".into(),
        }
    }
}

fn is_lock_timeout(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.code().as_deref() == Some("55P03"))
}
