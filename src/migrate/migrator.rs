//! Orchestration: read the bookkeeping, plan, lock, apply, record.
//!
//! The happy path of a boot against an up-to-date database is one round trip: the rows are read
//! without the lock, planned, and nothing is pending. Only when something is pending does the
//! migrator take the lock and read again under it (another process may have just applied the
//! same migrations), so N processes booting together apply each migration exactly once, and a
//! process that waited finds the work done.
//!
//! Every migration statement runs under the DDL lock timeout ([`LockWaitPolicy`]): a statement
//! that cannot get its table lock in time fails with SQLSTATE 55P03, the whole attempt rolls
//! back (lock, bookkeeping and all), and the run tries again after a pause, re-reading and
//! re-planning under the lock as a first attempt does, until the retry budget is spent
//! ([`super::watch`]). No app query waits behind a migration statement for longer than about
//! the lock timeout.

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use super::blocker::Blocker;
use super::concurrent;
use super::driver::Bookkeeping;
use super::driver_v1::NewRow;
use super::lock::{MigrationLock, SessionLock};
use super::planner::{self, AppliedTable, Assessment, Plan, Policy, Position, TableShape, Warning};
use super::retry::{self, LockWaitPolicy};
use super::upgrade::RowName;
use super::watch::{LockRetries, WatchTarget};
use crate::Error;
use crate::journal::Layout;
use crate::migrations::{MIGRATIONS, Migration};

/// How long to wait for another migrator by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the compiled Drizzle migrations against PostgreSQL with drizzle-orm's bookkeeping.
///
/// ```no_run
/// # async fn example() -> Result<(), app_db::Error> {
/// use sqlx::Connection;
/// let mut conn = sqlx::PgConnection::connect("postgres://postgres@127.0.0.1/app").await?;
/// let report = app_db::Migrator::new().run(&mut conn).await?;
/// println!("applied {} migration(s)", report.applied.len());
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Migrator {
    migrations: &'static [Migration],
    bookkeeping: Bookkeeping,
    lock_timeout: Duration,
    policy: Policy,
    keepalive: Option<crate::keepalive::Keepalive>,
    lock_wait: LockWaitPolicy,
    watch: Option<WatchTarget>,
}

impl Default for Migrator {
    fn default() -> Self {
        Self::new()
    }
}

/// One migration this run applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// Its tag.
    pub tag: &'static str,
    /// How long its statements took.
    pub elapsed: Duration,
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The migrations applied, in order.
    pub applied: Vec<AppliedMigration>,
    /// Drift tolerated by policy, unknown rows.
    pub warnings: Vec<Warning>,
    /// Whether the run had to take the lock (false: the fast path found nothing to do).
    pub locked: bool,
    /// Where the database stands after the run, from the rows read under the lock plus what
    /// the run applied.
    pub position: Position,
    /// The bookkeeping rows named when the run upgraded a 0.x table to drizzle-orm 1.0's shape
    /// (`None`: no upgrade).
    pub upgraded: Option<usize>,
    /// Rows of a 1.0 table without a name (written by drizzle-orm 0.x) that the run named.
    pub named: usize,
    /// How many attempts the run made under the DDL lock rules (0 on the fast path; more than
    /// one when a statement's lock wait timed out and the run tried again).
    pub lock_attempts: u32,
}

/// Progress of a run, for the CLI's per-migration output.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// The lock is being requested (another process may hold it).
    WaitingForLock,
    /// A migration starts: position (1-based) and count in this run.
    Started {
        migration: &'a Migration,
        position: usize,
        total: usize,
    },
    /// A migration's statements all ran.
    Finished {
        migration: &'a Migration,
        elapsed: Duration,
    },
    /// A statement could not get its lock within the DDL lock timeout: the attempt was rolled
    /// back, and the run tries again after `pause`.
    LockRetry {
        /// The attempt that timed out (1-based).
        attempt: u32,
        /// The pause before the next attempt.
        pause: Duration,
        /// The sessions seen blocking it (empty when none was seen).
        blockers: &'a [Blocker],
    },
}

impl Migrator {
    /// The migrations compiled into this binary, drizzle-orm's default bookkeeping table, a
    /// 60-second lock timeout, the default DDL lock rules ([`LockWaitPolicy::default`]) and a
    /// policy that refuses all drift.
    pub fn new() -> Self {
        Self::with_migrations(MIGRATIONS)
    }

    /// Another list of migrations (tests, tools).
    pub fn with_migrations(migrations: &'static [Migration]) -> Self {
        Self {
            migrations,
            bookkeeping: Bookkeeping::default(),
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            policy: Policy::default(),
            keepalive: Some(crate::keepalive::Keepalive::default()),
            lock_wait: LockWaitPolicy::default(),
            watch: None,
        }
    }

    /// drizzle-orm's `migrationsSchema` and `migrationsTable` options.
    pub fn bookkeeping(mut self, schema: impl Into<String>, table: impl Into<String>) -> Self {
        self.bookkeeping = Bookkeeping::new(schema, table);
        self
    }

    /// How long to wait for another migrator; zero waits forever.
    pub fn lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// The TCP keepalive bounds for the server's side of the migrating session, set with the
    /// lock (default [`crate::keepalive::Keepalive::default`]; `None` keeps the server's). Pass
    /// the URL's ([`crate::url::DbUrl::keepalive`]) so both ends agree.
    pub fn keepalive(mut self, keepalive: Option<crate::keepalive::Keepalive>) -> Self {
        self.keepalive = keepalive;
        self
    }

    /// The longest one lock wait of one migration statement may last (PostgreSQL's
    /// `lock_timeout`; default 2 s). While a statement waits, every later query on its table
    /// waits behind it, so this is what an app query can wait at most. Zero removes the bound:
    /// a statement then waits for ever, and the app's queries on the table with it.
    pub fn ddl_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_wait.lock_timeout = timeout;
        self
    }

    /// How long the run keeps retrying after lock timeouts before it gives up naming the
    /// blocking sessions (default 3 minutes; zero: one attempt).
    pub fn ddl_retry_budget(mut self, budget: Duration) -> Self {
        self.lock_wait.retry_budget = budget;
        self
    }

    /// Both DDL lock settings at once.
    pub fn lock_wait(mut self, policy: LockWaitPolicy) -> Self {
        self.lock_wait = policy;
        self
    }

    /// The DDL lock settings.
    pub fn lock_wait_policy(&self) -> LockWaitPolicy {
        self.lock_wait
    }

    /// Where to open the second connection that names the sessions blocking a statement's
    /// lock (the same server; `pg_blocking_pids` answers only while the statement waits, and
    /// the migrating connection is busy waiting). Opened only when an attempt waits; without
    /// it the blockers are reported as unknown. `init()` and the CLI set it.
    pub fn watch_blockers(mut self, options: PgConnectOptions) -> Self {
        self.watch = Some(WatchTarget(options));
        self
    }

    /// Where blockers are watched from, if set.
    pub fn watch_target(&self) -> Option<WatchTarget> {
        self.watch.clone()
    }

    /// What drift to tolerate.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// The migrations this migrator runs, in order.
    pub fn migration_list(&self) -> &'static [Migration] {
        self.migrations
    }

    /// The layout of the migrations (a journal when there are none).
    pub fn layout(&self) -> Layout {
        self.migrations
            .first()
            .map_or(Layout::Journal, |m| m.layout)
    }

    /// The bookkeeping table.
    pub fn bookkeeping_table(&self) -> &Bookkeeping {
        &self.bookkeeping
    }

    /// The lock this migrator takes.
    pub fn lock(&self) -> MigrationLock {
        MigrationLock::new(&self.bookkeeping, self.lock_timeout)
            .keepalive(self.keepalive)
            .ddl_lock_timeout(self.lock_wait.lock_timeout)
    }

    /// The attempts of one run under this migrator's DDL lock rules.
    pub(crate) fn lock_retries(&self) -> LockRetries {
        LockRetries::new(self.lock_wait, self.watch.clone())
    }

    /// The bookkeeping table: its shape and rows (no shape and no rows when it does not
    /// exist). Read-only, no lock.
    pub async fn applied_rows(&self, conn: &mut PgConnection) -> Result<AppliedTable, Error> {
        Ok(self.bookkeeping.read(conn).await?.unwrap_or_default())
    }

    /// Compares the compiled migrations with the database, without changing anything.
    pub fn assess<'m>(&'m self, table: &AppliedTable) -> Assessment<'m> {
        planner::assess(self.migrations, table)
    }

    /// What `run` would apply now, under this migrator's policy (a dry run: no lock, no change).
    pub async fn plan(
        &self,
        conn: &mut PgConnection,
        limit: Option<usize>,
    ) -> Result<(Vec<&'static Migration>, Vec<Warning>), Error> {
        let rows = self.applied_rows(conn).await?;
        let assessment = planner::assess(self.migrations, &rows);
        let plan = planner::plan(&assessment, self.policy, limit).map_err(Error::from)?;
        Ok((plan.to_apply, plan.warnings))
    }

    /// Applies every pending migration.
    pub async fn run(&self, conn: &mut PgConnection) -> Result<Report, Error> {
        self.run_with(conn, None, &mut |_| {}).await
    }

    /// Applies at most `limit` pending migrations, reporting progress.
    pub async fn run_with(
        &self,
        conn: &mut PgConnection,
        limit: Option<usize>,
        progress: &mut (dyn FnMut(Progress<'_>) + Send),
    ) -> Result<Report, Error> {
        // Fast path: one round trip, no lock, nothing written.
        if let Some(table) = self.bookkeeping.read(conn).await? {
            let assessment = planner::assess(self.migrations, &table);
            let plan = planner::plan(&assessment, self.policy, limit).map_err(Error::from)?;
            if plan.is_empty() {
                log_warnings(&plan.warnings);
                return Ok(Report {
                    applied: Vec::new(),
                    warnings: plan.warnings,
                    locked: false,
                    position: assessment.after(&[]),
                    upgraded: None,
                    named: 0,
                    lock_attempts: 0,
                });
            }
        }
        progress(Progress::WaitingForLock);
        let mut retries = self.lock_retries();
        let result = self.run_locked(conn, limit, progress, &mut retries).await;
        retries.close().await;
        result
    }

    /// Attempts under the DDL lock rules: each attempt is the whole locked run; after a lock
    /// timeout it is rolled back whole and, after a pause, run again from the start.
    async fn run_locked(
        &self,
        conn: &mut PgConnection,
        limit: Option<usize>,
        progress: &mut (dyn FnMut(Progress<'_>) + Send),
        retries: &mut LockRetries,
    ) -> Result<Report, Error> {
        loop {
            let pid = AtomicI32::new(0);
            let attempt = retries
                .attempt(
                    &pid,
                    self.run_locked_transaction(conn, limit, progress, &pid),
                )
                .await;
            match attempt {
                Ok(Locked::Done(mut report)) => {
                    report.lock_attempts = retries.attempts();
                    return Ok(report);
                }
                Ok(Locked::NeedsSession) => {
                    let mut report = self
                        .run_locked_session(conn, limit, progress, retries)
                        .await?;
                    report.lock_attempts = retries.attempts();
                    return Ok(report);
                }
                Err(e) => retries.after_failure(e, progress).await?,
            }
        }
    }

    /// The default path: lock, plan and apply inside one transaction; the backend it runs on
    /// goes to `pid` once the lock is held (for naming what blocks it).
    async fn run_locked_transaction(
        &self,
        conn: &mut PgConnection,
        limit: Option<usize>,
        progress: &mut (dyn FnMut(Progress<'_>) + Send),
        pid: &AtomicI32,
    ) -> Result<Locked, Error> {
        let lock = self.lock();
        let mut tx = conn.begin().await?;
        let Some(backend) = lock.acquire_in_transaction(&mut tx).await? else {
            tx.rollback().await?;
            let holder = lock.holder(conn).await.ok().flatten();
            return Err(lock.timeout_error(holder));
        };
        pid.store(backend, Ordering::Relaxed);
        let result = self
            .apply_locked_transaction(&mut tx, limit, progress)
            .await;
        match result {
            Ok(Locked::Done(report)) => {
                tx.commit().await?;
                Ok(Locked::Done(report))
            }
            other => {
                // Dropping the transaction would roll back too; say it explicitly.
                let _ = tx.rollback().await;
                other
            }
        }
    }

    /// Inside the locked transaction: read, plan, apply, record (the caller commits).
    async fn apply_locked_transaction(
        &self,
        tx: &mut PgConnection,
        limit: Option<usize>,
        progress: &mut (dyn FnMut(Progress<'_>) + Send),
    ) -> Result<Locked, Error> {
        self.bookkeeping.ensure_for(&mut *tx, self.layout()).await?;
        let table = self.bookkeeping.read(&mut *tx).await?.unwrap_or_default();
        let assessment = planner::assess(self.migrations, &table);
        let plan = planner::plan(&assessment, self.policy, limit)?;
        if plan.to_apply.iter().any(|m| !m.transaction) {
            // A migration must run outside any transaction: start over with the session lock.
            return Ok(Locked::NeedsSession);
        }
        self.update_bookkeeping(&mut *tx, plan.upgrade.as_deref(), &plan.repairs)
            .await?;
        let total = plan.to_apply.len();
        let mut applied = Vec::with_capacity(total);
        for (i, migration) in plan.to_apply.iter().enumerate() {
            applied.push(
                self.apply(&mut *tx, migration, i + 1, total, progress)
                    .await?,
            );
        }
        // The rows of the whole batch in one statement, in the same transaction: the same
        // rows, and all-or-nothing as before, for two round trips instead of two per migration.
        let rows: Vec<NewRow<'_>> = plan.to_apply.iter().map(|m| new_row(m)).collect();
        self.bookkeeping.record(&mut *tx, plan.shape, &rows).await?;
        log_warnings(&plan.warnings);
        let tags: Vec<&str> = applied.iter().map(|a| a.tag).collect();
        Ok(Locked::Done(Report {
            position: assessment.after(&tags),
            applied,
            warnings: plan.warnings,
            locked: true,
            upgraded: plan.upgrade.as_ref().map(Vec::len),
            named: plan.repairs.len(),
            lock_attempts: 0,
        }))
    }

    /// The path for plans with a `-- app-db:no-transaction` migration: a session lock, and the
    /// plan split into segments; consecutive transactional migrations share one transaction.
    async fn run_locked_session(
        &self,
        conn: &mut PgConnection,
        limit: Option<usize>,
        progress: &mut (dyn FnMut(Progress<'_>) + Send),
        retries: &mut LockRetries,
    ) -> Result<Report, Error> {
        let lock = self.lock();
        let Some(session) = lock.acquire_session(conn).await? else {
            let holder = lock.holder(conn).await.ok().flatten();
            return Err(lock.timeout_error(holder));
        };
        let result = self
            .apply_segments(conn, &session, limit, progress, retries)
            .await;
        // Released on every path, with the session's settings put back; if the connection is
        // broken the server releases it anyway.
        let released = session.release(conn).await;
        let report = result?;
        released?;
        Ok(report)
    }

    async fn apply_segments(
        &self,
        conn: &mut PgConnection,
        session: &SessionLock,
        limit: Option<usize>,
        progress: &mut (dyn FnMut(Progress<'_>) + Send),
        retries: &mut LockRetries,
    ) -> Result<Report, Error> {
        session.check(conn).await?;
        self.bookkeeping.ensure_for(conn, self.layout()).await?;
        session.check(conn).await?;
        let table = self.bookkeeping.read(conn).await?.unwrap_or_default();
        let assessment = planner::assess(self.migrations, &table);
        let plan = planner::plan(&assessment, self.policy, limit)?;
        if plan.upgrade.is_some() || !plan.repairs.is_empty() {
            // The table's own changes come first, in a transaction of their own.
            let mut tx = conn.begin().await?;
            let updated = async {
                session.check(&mut tx).await?;
                self.update_bookkeeping(&mut tx, plan.upgrade.as_deref(), &plan.repairs)
                    .await
            }
            .await;
            match updated {
                Ok(()) => tx.commit().await?,
                Err(e) => {
                    let _ = tx.rollback().await;
                    return Err(e);
                }
            }
        }
        let Plan {
            to_apply,
            warnings,
            upgrade,
            repairs,
            shape,
        } = plan;
        let total = to_apply.len();
        let mut applied = Vec::with_capacity(total);
        let mut position = 0;
        for segment in segments(&to_apply) {
            if segment[0].transaction {
                // The segment is one attempt: a lock timeout rolls it back whole and it runs
                // again (the session lock keeps other migrators out meanwhile).
                let done = loop {
                    let pid = AtomicI32::new(session.backend_pid());
                    let attempt = retries
                        .attempt(
                            &pid,
                            self.apply_segment_in_transaction(
                                conn, session, shape, segment, position, total, progress,
                            ),
                        )
                        .await;
                    match attempt {
                        Ok(done) => break done,
                        Err(e) => retries
                            .after_failure(e, progress)
                            .await
                            .map_err(|e| e.with_applied_before(&applied))?,
                    }
                };
                position += segment.len();
                applied.extend(done);
            } else {
                position += 1;
                // Autocommit, one statement at a time, each on the lock's session; recorded
                // only after every one succeeded.
                let done = self
                    .apply_outside_transaction(
                        conn, session, shape, segment[0], position, total, progress, retries,
                    )
                    .await
                    .map_err(|e| e.with_applied_before(&applied))?;
                applied.push(done);
            }
        }
        log_warnings(&warnings);
        let tags: Vec<&str> = applied.iter().map(|a| a.tag).collect();
        Ok(Report {
            position: assessment.after(&tags),
            applied,
            warnings,
            locked: true,
            upgraded: upgrade.as_ref().map(Vec::len),
            named: repairs.len(),
            lock_attempts: 0,
        })
    }

    /// One run of consecutive transactional migrations in a transaction of their own, on the
    /// lock's session; positions count from `before + 1`.
    #[allow(clippy::too_many_arguments)]
    async fn apply_segment_in_transaction(
        &self,
        conn: &mut PgConnection,
        session: &SessionLock,
        shape: TableShape,
        segment: &[&'static Migration],
        before: usize,
        total: usize,
        progress: &mut (dyn FnMut(Progress<'_>) + Send),
    ) -> Result<Vec<AppliedMigration>, Error> {
        let mut tx = conn.begin().await?;
        let result = async {
            // A transaction stays on one server session, so one check covers it.
            session.check(&mut tx).await?;
            let mut done = Vec::with_capacity(segment.len());
            for (k, migration) in segment.iter().enumerate() {
                done.push(
                    self.apply(&mut tx, migration, before + k + 1, total, progress)
                        .await?,
                );
                self.bookkeeping
                    .record(&mut tx, shape, &[new_row(migration)])
                    .await?;
            }
            Ok::<_, Error>(done)
        }
        .await;
        match result {
            Ok(done) => {
                tx.commit().await?;
                Ok(done)
            }
            Err(e) => {
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }

    /// Upgrades a 0.x table to drizzle-orm 1.0's shape (`upgrade`), and names the rows of a 1.0
    /// table that have none (`repairs`); inside the caller's transaction, under the lock.
    pub(crate) async fn update_bookkeeping(
        &self,
        conn: &mut PgConnection,
        upgrade: Option<&[RowName<'_>]>,
        repairs: &[RowName<'_>],
    ) -> Result<(), Error> {
        if let Some(names) = upgrade {
            self.bookkeeping.upgrade(conn, names).await?;
            tracing::info!(
                rows = names.len(),
                "upgraded {} to drizzle-orm 1.0's shape (name, applied_at), as drizzle-orm 1.0 does",
                self.bookkeeping.qualified()
            );
        }
        if !repairs.is_empty() {
            self.bookkeeping.repair(conn, repairs).await?;
            tracing::info!(
                rows = ?repairs.iter().map(|r| r.id).collect::<Vec<_>>(),
                "named bookkeeping rows written without a name (by drizzle-orm 0.x), so drizzle-orm 1.0 does not run them again"
            );
        }
        Ok(())
    }
}

/// The row recording `migration`.
fn new_row(migration: &Migration) -> NewRow<'_> {
    NewRow {
        hash: migration.hash,
        created_at: migration.when,
        name: migration.name,
    }
}

impl Migrator {
    /// A `-- app-db:no-transaction` migration: each statement in autocommit on the lock's
    /// session, then its row in a transaction of its own (so the insert's Parse and Bind share
    /// a server session even behind a pooler).
    ///
    /// Each statement is one attempt under the DDL lock rules: a lock timeout changed nothing
    /// (one statement in autocommit is atomic), so the same statement runs again after the
    /// pause; the statements before it stay applied. A statement whose lock waits queue no app
    /// query (`CREATE INDEX CONCURRENTLY` and kin, [`retry::waits_without_blocking_the_app`])
    /// gets the rest of the budget as one wait instead, since a timed-out concurrent build
    /// loses its work; the INVALID index a failed concurrent build leaves is dropped.
    #[allow(clippy::too_many_arguments)]
    async fn apply_outside_transaction(
        &self,
        conn: &mut PgConnection,
        session: &SessionLock,
        shape: TableShape,
        migration: &'static Migration,
        position: usize,
        total: usize,
        progress: &mut (dyn FnMut(Progress<'_>) + Send),
        retries: &mut LockRetries,
    ) -> Result<AppliedMigration, Error> {
        progress(Progress::Started {
            migration,
            position,
            total,
        });
        let started = Instant::now();
        let statements: Vec<&str> = migration.statements().collect();
        let policy = *retries.policy();
        for (i, statement) in statements.iter().enumerate() {
            let concurrent = retry::waits_without_blocking_the_app(statement);
            loop {
                session.check(conn).await?;
                let setting = if concurrent {
                    policy.concurrent_setting(retries.elapsed())
                } else {
                    policy.setting()
                };
                session.set_lock_timeout(conn, &setting).await?;
                let invalid_before = if concurrent {
                    concurrent::invalid_indexes(conn).await?
                } else {
                    Vec::new()
                };
                let pid = AtomicI32::new(session.backend_pid());
                let result = retries
                    .attempt(&pid, run_outside_transaction(conn, statement))
                    .await;
                let Err(e) = result else { break };
                let mut error =
                    Error::migration_failed(migration, i + 1, statements.len(), statement, e);
                if concurrent {
                    session.set_lock_timeout(conn, &policy.setting()).await?;
                    let note = concurrent::drop_new_invalid(conn, &invalid_before).await;
                    error = error.with_note(note);
                }
                retries.after_failure(error, progress).await?;
            }
        }
        session.set_lock_timeout(conn, &policy.setting()).await?;
        let elapsed = started.elapsed();
        progress(Progress::Finished { migration, elapsed });
        let mut tx = conn.begin().await?;
        let recorded = async {
            session.check(&mut tx).await?;
            self.bookkeeping
                .record(&mut tx, shape, &[new_row(migration)])
                .await?;
            Ok::<_, Error>(())
        }
        .await;
        match recorded {
            Ok(()) => tx.commit().await?,
            Err(e) => {
                let _ = tx.rollback().await;
                return Err(e);
            }
        }
        Ok(AppliedMigration {
            tag: migration.tag,
            elapsed,
        })
    }

    /// Runs one migration's statements inside the caller's transaction, reporting progress;
    /// the caller records it.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        migration: &'static Migration,
        position: usize,
        total: usize,
        progress: &mut (dyn FnMut(Progress<'_>) + Send),
    ) -> Result<AppliedMigration, Error> {
        progress(Progress::Started {
            migration,
            position,
            total,
        });
        let started = Instant::now();
        apply_statements(conn, migration).await?;
        let elapsed = started.elapsed();
        progress(Progress::Finished { migration, elapsed });
        Ok(AppliedMigration {
            tag: migration.tag,
            elapsed,
        })
    }
}

enum Locked {
    Done(Report),
    NeedsSession,
}

/// Runs of consecutive transactional migrations; each non-transactional one stands alone.
fn segments<'a>(plan: &'a [&'static Migration]) -> Vec<&'a [&'static Migration]> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, m) in plan.iter().enumerate() {
        if !m.transaction {
            if start < i {
                out.push(&plan[start..i]);
            }
            out.push(&plan[i..=i]);
            start = i + 1;
        }
    }
    if start < plan.len() {
        out.push(&plan[start..]);
    }
    out
}

/// Runs a migration's statements in order, through the simple query protocol (a piece may
/// hold several statements, as drizzle-orm allows), skipping blank pieces.
async fn apply_statements(conn: &mut PgConnection, migration: &Migration) -> Result<(), Error> {
    let statements: Vec<&str> = migration.statements().collect();
    let total = statements.len();
    for (i, statement) in statements.iter().enumerate() {
        if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(*statement))
            .execute(&mut *conn)
            .await
        {
            return Err(Error::migration_failed(
                migration,
                i + 1,
                total,
                statement,
                e,
            ));
        }
    }
    Ok(())
}

/// One statement of a no-transaction migration, in autocommit. A concurrent build first drops
/// an INVALID index of its own name that an earlier failed build left, so that `IF NOT EXISTS`
/// does not keep it and a plain `CREATE` does not fail on it.
async fn run_outside_transaction(
    conn: &mut PgConnection,
    statement: &str,
) -> Result<(), sqlx::Error> {
    if let Some((name, table)) = concurrent::built_index(statement) {
        concurrent::drop_invalid_leftover(conn, &name, &table).await?;
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

fn log_warnings(warnings: &[Warning]) {
    for w in warnings {
        tracing::warn!("{w}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(idx: u32, transaction: bool) -> &'static Migration {
        Box::leak(Box::new(Migration {
            idx,
            tag: Box::leak(format!("{idx:04}_x").into_boxed_str()),
            name: "",
            layout: crate::journal::Layout::Journal,
            when: i64::from(idx),
            breakpoints: true,
            transaction,
            sql: "select 1",
            hash: "",
        }))
    }

    #[test]
    fn segments_isolate_non_transactional_migrations() {
        let plan = [
            m(0, true),
            m(1, true),
            m(2, false),
            m(3, true),
            m(4, false),
            m(5, false),
        ];
        let sizes: Vec<Vec<u32>> = segments(&plan)
            .iter()
            .map(|s| s.iter().map(|m| m.idx).collect())
            .collect();
        assert_eq!(sizes, vec![vec![0, 1], vec![2], vec![3], vec![4], vec![5]]);
        assert!(segments(&[]).is_empty());
    }
}
