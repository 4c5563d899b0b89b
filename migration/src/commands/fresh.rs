//! `fresh`: DANGER, drop the app's schemas and the bookkeeping table, then apply everything.

use std::time::Instant;

use app_db::recovery::reset_schemas;
use app_db::{Error, url};

use crate::cli::{GlobalArgs, PolicyArgs};
use crate::exit;
use crate::output::elapsed;
use crate::target::Target;

pub async fn run(
    global: &GlobalArgs,
    yes: bool,
    force_remote: bool,
    policy: &PolicyArgs,
) -> Result<u8, Error> {
    let schemas = global.database_schema.join(", ");
    // Both refusals happen before connecting (or starting the dev server).
    if !yes {
        return Err(Error::Refused {
            reason: format!(
                "fresh deletes every table, type and row in the schema(s) {schemas} and the bookkeeping table, and was not confirmed"
            ),
            fix: "add --yes if this database's data may be lost".into(),
        });
    }
    if let Some(given) = global.database_url.as_deref().filter(|u| !u.is_empty())
        && !url::is_loopback(given)
        && !force_remote
    {
        return Err(Error::Refused {
            reason: format!(
                "fresh refuses a database on another machine: {}",
                url::redact(given)
            ),
            fix: "check the URL is the one you mean to wipe, then add --force-remote".into(),
        });
    }
    let target = Target::resolve(global).await?;
    let migrator = super::migrator(global, &policy.lock, Some(policy));
    let mut conn = target.connect().await?;
    let started = Instant::now();
    let reset = reset_schemas(
        &mut conn,
        &global.database_schema,
        migrator.bookkeeping_table(),
    )
    .await?;
    println!(
        "dropped and recreated {} on {} ({} table(s), view(s) and type(s) with their data){}; dropped {}",
        if reset.recreated.is_empty() {
            "no schema".to_string()
        } else {
            reset.recreated.join(", ")
        },
        target.redacted(),
        reset.dropped_objects,
        if reset.created.is_empty() {
            String::new()
        } else {
            format!("; created {}", reset.created.join(", "))
        },
        migrator.bookkeeping_table().qualified()
    );
    let report = migrator.run(&mut conn).await?;
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    for applied in &report.applied {
        println!("applied {} in {}", applied.tag, elapsed(applied.elapsed));
    }
    println!(
        "fresh: applied {} migration(s) in {}",
        report.applied.len(),
        elapsed(started.elapsed())
    );
    Ok(exit::OK)
}
