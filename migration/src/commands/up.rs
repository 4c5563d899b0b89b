//! `up`: apply pending migrations, or print what would run (`--dry-run`).

use std::io::Write;
use std::time::Instant;

use app_db::Error;
use app_db::migrate::Progress;

use crate::cli::{GlobalArgs, PolicyArgs, WaitReplicasArgs};
use crate::exit;
use crate::output::{elapsed, short_hash, when_utc};
use crate::target::Target;

pub async fn run(
    global: &GlobalArgs,
    limit: Option<usize>,
    dry_run: bool,
    policy: &PolicyArgs,
    replicas: &WaitReplicasArgs,
) -> Result<u8, Error> {
    // Before connecting: a missing replica list is a usage error, whatever the database says.
    let replica_pools = if replicas.wait_replicas {
        Some(super::replicas::pools(global, "--wait-replicas")?)
    } else {
        None
    };
    let target = Target::resolve(global).await?;
    let migrator = super::migrator(global, &target, &policy.lock, Some(policy));
    let mut conn = target.connect().await?;
    if dry_run {
        return print_plan(&migrator, &mut conn, limit).await;
    }
    let started = Instant::now();
    // A line is open while a migration runs: its timing ends it, an error starts a new one.
    let mut line_open = false;
    let mut on_progress = |event: Progress<'_>| match event {
        Progress::WaitingForLock => {
            tracing::debug!("taking the migration lock");
        }
        Progress::Started {
            migration,
            position,
            total,
        } => {
            if position == 1 {
                println!("applying {total} migration(s) to {}", target.redacted());
            }
            print!("[{position}/{total}] {} …", migration.tag);
            let _ = std::io::stdout().flush();
            line_open = true;
        }
        Progress::Finished { elapsed: took, .. } => {
            println!(" {}", elapsed(took));
            line_open = false;
        }
    };
    let result = migrator.run_with(&mut conn, limit, &mut on_progress).await;
    if line_open {
        println!(" failed");
    }
    let report = result?;
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    // Where the database stands, from the rows the run read plus what it applied: no second
    // read of the bookkeeping table.
    let at = report.position.at.unwrap_or("(no migration)");
    let pending = report.position.pending;
    if report.applied.is_empty() {
        println!(
            "nothing to apply: the database is at {at}{}",
            if pending > 0 {
                format!(" ({pending} pending beyond -n)")
            } else {
                String::new()
            }
        );
    } else {
        println!(
            "applied {} migration(s) in {}; the database is at {at}{}",
            report.applied.len(),
            elapsed(started.elapsed()),
            if pending > 0 {
                format!(", {pending} still pending")
            } else {
                String::new()
            }
        );
    }
    if let Some(pools) = replica_pools {
        let timeout = std::time::Duration::from_millis(replicas.wait_replicas_timeout);
        super::replicas::wait(global, &mut conn, &pools, timeout, report.position.at).await?;
    }
    Ok(exit::OK)
}

async fn print_plan(
    migrator: &app_db::Migrator,
    conn: &mut sqlx::PgConnection,
    limit: Option<usize>,
) -> Result<u8, Error> {
    let exists = migrator
        .bookkeeping_table()
        .read(conn)
        .await
        .map_err(Error::from)?
        .is_some();
    let (plan, warnings) = migrator.plan(conn, limit).await?;
    println!("-- dry run: nothing is changed");
    if !exists {
        println!(
            "-- the bookkeeping table {} does not exist yet: it would be created",
            migrator.bookkeeping_table().qualified()
        );
    }
    if plan.is_empty() {
        println!("-- nothing to apply: the database is up to date");
    } else {
        let transactional = plan.iter().all(|m| m.transaction);
        println!(
            "-- would apply {} migration(s){}",
            plan.len(),
            if transactional {
                ", in one transaction"
            } else {
                ", in segments (a -- app-db:no-transaction migration runs outside any transaction)"
            }
        );
    }
    let total = plan.len();
    for (i, migration) in plan.iter().enumerate() {
        let statements: Vec<&str> = migration.statements().collect();
        println!();
        println!(
            "-- [{}/{total}] {} (when {} UTC, sha256 {}…, {} statement(s){})",
            i + 1,
            migration.tag,
            when_utc(migration.when),
            short_hash(migration.hash),
            statements.len(),
            if migration.transaction {
                ""
            } else {
                ", outside a transaction"
            }
        );
        for (j, statement) in statements.iter().enumerate() {
            println!("-- statement {}/{}", j + 1, statements.len());
            println!("{}", statement.trim());
        }
        println!(
            "-- then: insert into {} (\"hash\", \"created_at\") values ('{}', {})",
            migrator.bookkeeping_table().qualified(),
            migration.hash,
            migration.when
        );
    }
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    Ok(exit::OK)
}
