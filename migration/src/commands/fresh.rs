//! `fresh`: DANGER, drop the app's schemas and the bookkeeping table, then apply everything.

use std::time::Instant;

use app_db::Error;
use app_db::recovery::{ensure_this_machine, reset_schemas};
use app_db::url::DbUrl;

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
    let target = match Target::given(global)? {
        Some(target) => {
            refuse_remote(target.url(), force_remote)?;
            target
        }
        None => Target::resolve(global).await?,
    };
    let migrator = super::migrator(global, &target, &policy.lock, Some(policy));
    let mut conn = target.connect().await?;
    // A loopback URL can still be a tunnel or a proxy to a production server: ask the server.
    if !force_remote {
        ensure_this_machine(&mut conn, target.url(), "fresh").await?;
    }
    let started = Instant::now();
    let reset = reset_schemas(&mut conn, &global.database_schema, &migrator).await?;
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

/// `fresh` wipes data: refuse a server on another machine unless `--force-remote` says so. The
/// host is the one the driver will use (`?host=`, `?hostaddr=`, `PGHOST` and all), read from
/// the same parse that connects.
fn refuse_remote(url: &DbUrl, force_remote: bool) -> Result<(), Error> {
    if url.is_loopback() || force_remote {
        return Ok(());
    }
    Err(Error::Refused {
        reason: format!(
            "fresh refuses a database on another machine: {} connects to {}",
            url.redacted(),
            url.options().get_host()
        ),
        fix: "check the URL is the one you mean to wipe, then add --force-remote".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(raw: &str) -> bool {
        let url = DbUrl::parse(raw, "DATABASE_URL").unwrap();
        assert!(
            refuse_remote(&url, true).is_ok(),
            "--force-remote allows {raw}"
        );
        refuse_remote(&url, false).is_err()
    }

    #[test]
    fn remote_hosts_are_refused_however_they_are_named() {
        assert!(refused("postgres://app:pw@db.internal/app"));
        assert!(refused("postgres://app@localhost/app?hostaddr=10.0.0.5"));
        assert!(refused(
            "postgres://app@127.0.0.1/app?host=127.0.0.1&host=db.internal"
        ));
        assert!(refused("postgres://app@localhost/app?host=db.internal"));
    }

    #[test]
    fn local_servers_are_allowed() {
        assert!(!refused("postgres://app:pw@127.0.0.1:5432/app"));
        assert!(!refused("postgres://app@localhost/app"));
        assert!(!refused(
            "postgres://app@db.internal/app?hostaddr=127.0.0.1"
        ));
        assert!(!refused("postgres://app@[::1]/app"));
    }

    #[test]
    fn the_refusal_hides_the_password() {
        let url = DbUrl::parse("postgres://app:p%23ss@db.internal/app", "X").unwrap();
        let e = refuse_remote(&url, false).unwrap_err().to_string();
        assert!(!e.contains("p%23ss") && !e.contains("p#ss"), "{e}");
        assert!(
            e.contains("db.internal") && e.contains("--force-remote"),
            "{e}"
        );
    }
}
