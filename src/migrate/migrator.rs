//! Orchestration: read the bookkeeping, plan, lock, apply, record.
//!
//! The happy path of a boot against an up-to-date database is one round trip: the rows are read
//! without the lock, planned, and nothing is pending. Only when something is pending does the
//! migrator take the lock and read again under it (another process may have just applied the
//! same migrations), so N processes booting together apply each migration exactly once, and a
//! process that waited finds the work done.

use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};

use super::driver::Bookkeeping;
use super::driver_v1::NewRow;
use super::lock::{MigrationLock, SessionLock};
use super::planner::{self, AppliedTable, Assessment, Plan, Policy, Position, TableShape, Warning};
use super::upgrade::RowName;
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
}

/// Progress of a run, for the CLI's per-migration output.
#[derive(Debug, Clone)]
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
}

impl Migrator {
    /// The migrations compiled into this binary, drizzle-orm's default bookkeeping table, a
    /// 60-second lock timeout and a policy that refuses all drift.
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
        MigrationLock::new(&self.bookkeeping, self.lock_timeout).keepalive(self.keepalive)
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
                });
            }
        }
        progress(Progress::WaitingForLock);
        let report = self.run_locked_transaction(conn, limit, progress).await?;
        match report {
            Locked::Done(report) => Ok(report),
            Locked::NeedsSession => self.run_locked_session(conn, limit, progress).await,
        }
    }

    /// The default path: lock, plan and apply inside one transaction.
    async fn run_locked_transaction(
        &self,
        conn: &mut PgConnection,
        limit: Option<usize>,
        progress: &mut (dyn FnMut(Progress<'_>) + Send),
    ) -> Result<Locked, Error> {
        let lock = self.lock();
        let mut tx = conn.begin().await?;
        if !lock.acquire_in_transaction(&mut tx).await? {
            tx.rollback().await?;
            let holder = lock.holder(conn).await.ok().flatten();
            return Err(lock.timeout_error(holder));
        }
        self.bookkeeping.ensure_for(&mut tx, self.layout()).await?;
        let table = self.bookkeeping.read(&mut tx).await?.unwrap_or_default();
        let assessment = planner::assess(self.migrations, &table);
        let plan = match planner::plan(&assessment, self.policy, limit) {
            Ok(plan) => plan,
            Err(e) => {
                tx.rollback().await?;
                return Err(e.into());
            }
        };
        if plan.to_apply.iter().any(|m| !m.transaction) {
            // A migration must run outside any transaction: start over with the session lock.
            tx.rollback().await?;
            return Ok(Locked::NeedsSession);
        }
        if let Err(e) = self
            .update_bookkeeping(&mut tx, plan.upgrade.as_deref(), &plan.repairs)
            .await
        {
            let _ = tx.rollback().await;
            return Err(e);
        }
        let total = plan.to_apply.len();
        let mut applied = Vec::with_capacity(total);
        for (i, migration) in plan.to_apply.iter().enumerate() {
            match self
                .apply(&mut tx, None, migration, i + 1, total, progress)
                .await
            {
                Ok(done) => applied.push(done),
                Err(e) => {
                    // Dropping the transaction would roll back too; say it explicitly.
                    let _ = tx.rollback().await;
                    return Err(e);
                }
            }
        }
        // The rows of the whole batch in one statement, in the same transaction: the same
        // rows, and all-or-nothing as before, for two round trips instead of two per migration.
        let rows: Vec<NewRow<'_>> = plan.to_apply.iter().map(|m| new_row(m)).collect();
        if let Err(e) = self.bookkeeping.record(&mut tx, plan.shape, &rows).await {
            let _ = tx.rollback().await;
            return Err(e.into());
        }
        tx.commit().await?;
        log_warnings(&plan.warnings);
        let tags: Vec<&str> = applied.iter().map(|a| a.tag).collect();
        Ok(Locked::Done(Report {
            position: assessment.after(&tags),
            applied,
            warnings: plan.warnings,
            locked: true,
            upgraded: plan.upgrade.as_ref().map(Vec::len),
            named: plan.repairs.len(),
        }))
    }

    /// The path for plans with a `-- app-db:no-transaction` migration: a session lock, and the
    /// plan split into segments; consecutive transactional migrations share one transaction.
    async fn run_locked_session(
        &self,
        conn: &mut PgConnection,
        limit: Option<usize>,
        progress: &mut (dyn FnMut(Progress<'_>) + Send),
    ) -> Result<Report, Error> {
        let lock = self.lock();
        let Some(session) = lock.acquire_session(conn).await? else {
            let holder = lock.holder(conn).await.ok().flatten();
            return Err(lock.timeout_error(holder));
        };
        let result = self.apply_segments(conn, &session, limit, progress).await;
        // Released on every path; if the connection is broken the server releases it anyway.
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
                let mut tx = conn.begin().await?;
                // A transaction stays on one server session, so one check covers it.
                if let Err(e) = session.check(&mut tx).await {
                    let _ = tx.rollback().await;
                    return Err(e.with_applied_before(&applied));
                }
                for migration in segment {
                    position += 1;
                    match self
                        .apply_and_record(
                            &mut tx, None, shape, migration, position, total, progress,
                        )
                        .await
                    {
                        Ok(done) => applied.push(done),
                        Err(e) => {
                            let _ = tx.rollback().await;
                            return Err(e.with_applied_before(&applied));
                        }
                    }
                }
                tx.commit().await?;
            } else {
                position += 1;
                // Autocommit, one statement at a time, each on the lock's session; recorded
                // only after every one succeeded.
                let done = self
                    .apply_and_record(
                        conn,
                        Some(session),
                        shape,
                        segment[0],
                        position,
                        total,
                        progress,
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
        })
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
    /// Runs one migration's statements and writes its bookkeeping row on `conn`: inside the
    /// caller's transaction, or, for a no-transaction migration (`session` given), each
    /// statement in autocommit on the lock's session and then the row in a transaction of its
    /// own (so the insert's Parse and Bind share a server session even behind a pooler).
    #[allow(clippy::too_many_arguments)]
    async fn apply_and_record(
        &self,
        conn: &mut PgConnection,
        session: Option<&SessionLock>,
        shape: TableShape,
        migration: &'static Migration,
        position: usize,
        total: usize,
        progress: &mut (dyn FnMut(Progress<'_>) + Send),
    ) -> Result<AppliedMigration, Error> {
        let done = self
            .apply(conn, session, migration, position, total, progress)
            .await?;
        match session {
            None => {
                self.bookkeeping
                    .record(conn, shape, &[new_row(migration)])
                    .await?
            }
            Some(session) => {
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
            }
        }
        Ok(done)
    }

    /// Runs one migration's statements (on the lock's session, checked before each, when
    /// `session` is given), reporting progress; the caller records it.
    async fn apply(
        &self,
        conn: &mut PgConnection,
        session: Option<&SessionLock>,
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
        apply_statements(conn, migration, session).await?;
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
/// hold several statements, as drizzle-orm allows), skipping blank pieces. With `session`,
/// each statement is preceded by the check that it runs on the lock's server session.
async fn apply_statements(
    conn: &mut PgConnection,
    migration: &Migration,
    session: Option<&SessionLock>,
) -> Result<(), Error> {
    let statements: Vec<&str> = migration.statements().collect();
    let total = statements.len();
    for (i, statement) in statements.iter().enumerate() {
        if let Some(session) = session {
            session.check(conn).await?;
        }
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
