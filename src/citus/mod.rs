//! The sharding plan for Citus (distributed PostgreSQL), checked against the live schema.
//!
//! Citus cannot be installed here, so nothing is distributed: the check reads the catalogs
//! ([`crate::generate::read`]) and applies Citus's documented rules ([`plan()`]) to say where
//! each table would go when distributed by `organization_id`, and which primary keys, unique
//! constraints and foreign keys Citus would refuse. `migration citus-plan` prints it;
//! `tests/citus_plan.rs` keeps the table in docs/scaling.md equal to it.
//!
//! - `plan.rs` — the rules and the placement of each table, with its blockers (pure).
//! - `render.rs` — the Markdown table and the summary (pure).

pub mod plan;
pub mod render;

pub use plan::{Blocker, Placement, Rules, TablePlan, plan};

/// The project's choice: tenants are organizations, and every table of a tenant carries
/// `organization_id` (`organization` itself is distributed by `id`).
pub const PROJECT: Rules = Rules {
    distribution_column: "organization_id",
    tenant_table: "organization",
    tenant_key: "id",
};

/// The plan for the database `conn` is connected to (its `public` schema).
pub async fn read(conn: &mut sqlx::PgConnection) -> Result<Vec<TablePlan>, crate::Error> {
    let schema = crate::generate::read::read_schema(conn).await?;
    Ok(plan(&schema, &PROJECT))
}
