//! `generate`: a migration from the difference between the entities and the migrations.
//!
//! The current schema is the migrations replayed on one scratch database; the desired schema
//! is the entities plus the declared supplement ([`entity::supplement`]) applied to a second
//! one, so PostgreSQL prints both sides in its normal form. [`read`] turns each into a
//! [`model::Schema`]; [`plan::diff`] (pure) turns the two into drizzle-kit's statements;
//! [`run::generate`] refuses drops without `allow_drop` and applies the statements to the
//! replayed database, accepting them only if the result equals the desired schema. With
//! `safe`, [`safe::safe_forms`] cuts the plan into the forms that take no long lock on a table
//! with rows, and those are what is applied and proved.

pub mod casts;
pub mod desired;
pub mod model;
pub mod plan;
pub mod read;
pub mod render;
pub mod run;
pub mod safe;

pub use desired::entities_by_prefix;
pub use plan::{Plan, Statement, diff};
pub use run::{
    Generated, Migrations, Options, generate, generate_on, scratch_after, verify_statements,
};
pub use safe::GeneratedMigration;
