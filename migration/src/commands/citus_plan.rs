//! `citus-plan`: the sharding plan for Citus and its blockers, from the live catalogs.

use app_db::Error;
use app_db::citus::{self, Blocker};
use serde_json::json;

use crate::cli::GlobalArgs;
use crate::exit;
use crate::target::Target;

pub async fn run(global: &GlobalArgs, as_json: bool) -> Result<u8, Error> {
    let target = Target::resolve(global).await?;
    let mut conn = target.connect().await?;
    let plan = citus::read(&mut conn).await?;
    if as_json {
        let tables: Vec<_> = plan
            .iter()
            .map(|t| {
                json!({
                    "table": t.table,
                    "placement": match &t.placement {
                        citus::Placement::Distributed { .. } => "distributed",
                        citus::Placement::Reference => "reference",
                        citus::Placement::Local => "local",
                    },
                    "distribution_column": match &t.placement {
                        citus::Placement::Distributed { column } => Some(column.as_str()),
                        _ => None,
                    },
                    "why": t.why,
                    "blockers": t.blockers.iter().map(|b| json!({
                        "kind": kind(b),
                        "text": b.to_string(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let value = json!({ "tables": tables, "summary": citus::render::summary(&plan) });
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string())
        );
    } else {
        print!("{}", citus::render::markdown(&plan));
    }
    Ok(exit::OK)
}

fn kind(blocker: &Blocker) -> &'static str {
    match blocker {
        Blocker::NullableColumn { .. } => "nullable-distribution-column",
        Blocker::PrimaryKey { .. } => "primary-key",
        Blocker::Unique { .. } => "unique",
        Blocker::AcrossTenants { .. } => "unique-across-tenants",
        Blocker::NotColocated { .. } => "foreign-key-not-colocated",
        Blocker::Action { .. } => "foreign-key-action",
        Blocker::ToDistributed { .. } => "foreign-key-to-distributed",
        Blocker::Placement { .. } => "foreign-key-placement",
    }
}
