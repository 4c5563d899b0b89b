//! The Drizzle-compatible migrator.
//!
//! - [`planner`]: the pure decision (what is applied, pending, modified, out of order, unknown).
//! - [`driver`]: every bookkeeping SQL statement, matching drizzle-orm's.
//! - [`lock`]: the advisory lock that makes concurrent migrators safe.
//! - [`migrator`]: orchestration, the entry point.
//! - [`seaorm`]: `sea_orm_migration::MigratorTrait` for [`Migrator`], on the same bookkeeping.

pub mod driver;
pub mod lock;
pub mod migrator;
pub mod planner;
pub mod seaorm;

pub use driver::Bookkeeping;
pub use lock::{LockHolder, MigrationLock, SessionLock};
pub use migrator::{AppliedMigration, Migrator, Progress, Report};
pub use planner::{
    AppliedRow, Assessment, MigrationState, MigrationStatus, Policy, Position, Warning,
};
