//! The Drizzle-compatible migrator.
//!
//! - [`planner`]: the pure decision (what is applied, pending, modified, out of order, unknown).
//! - [`driver`]: every bookkeeping SQL statement, matching drizzle-orm's; [`driver_v1`] those of
//!   drizzle-orm 1.0's table shape.
//! - [`upgrade`]: drizzle-orm 1.0's naming of rows without a name (the 0.x → 1.0 upgrade).
//! - [`lock`]: the advisory lock that makes concurrent migrators safe.
//! - [`retry`]: the pure DDL lock-wait policy (lock timeout, retry budget, pauses).
//! - [`concurrent`]: the INVALID index a failed concurrent build leaves, dropped.
//! - [`blocker`]: the sessions that block a statement's lock, shown without their values.
//! - [`watch`]: the attempts under that policy, watched by a second connection.
//! - [`migrator`]: orchestration, the entry point.
//! - [`seaorm`]: `sea_orm_migration::MigratorTrait` for [`Migrator`], on the same bookkeeping.

pub mod blocker;
pub mod concurrent;
pub mod driver;
pub mod driver_v1;
pub mod lock;
pub mod migrator;
pub mod planner;
pub mod retry;
pub mod seaorm;
pub mod upgrade;
pub mod watch;

pub use blocker::Blocker;
pub use driver::Bookkeeping;
pub use lock::{LockHolder, MigrationLock, SessionLock};
pub use migrator::{AppliedMigration, Migrator, Progress, Report};
pub use planner::{
    AppliedRow, AppliedTable, Assessment, MigrationState, MigrationStatus, Policy, Position,
    TableShape, Warning,
};
pub use retry::LockWaitPolicy;
pub use upgrade::RowName;
pub use watch::WatchTarget;
