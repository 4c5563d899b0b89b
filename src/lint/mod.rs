//! `migration lint`: every migration judged, before it runs, for what it does to a table with
//! rows and traffic.
//!
//! squawk's parser and rules (crate `squawk-linter`, PostgreSQL 16 settings, the file assumed
//! to run in a transaction unless it starts with `-- app-db:no-transaction`) find the
//! statements; [`rules`] says which rules are on and in app-db's words why each matters and
//! what to write instead; [`own_rules`] adds what only app-db knows (one transaction for a
//! run's pending migrations); [`policy`] decides (pure): allowed by an `-- app-db:allow <rule>
//! <reason>` line above the statement ([`crate::journal::allow`]), harmless because the table
//! was created earlier in the same migration, or a failure; [`report`] says it, mapped onto
//! app-db's own statement split.

pub mod check;
pub mod own_rules;
pub mod policy;
pub mod report;
pub mod rules;
pub mod squawk;
pub mod statements;

pub use check::{lint_migrations, lint_pending, lint_sql};
pub use policy::{DirectiveIssue, Verdict};
pub use report::{Finding, LintReport, MigrationLint};
pub use rules::{RULES, RuleSpec, State};
