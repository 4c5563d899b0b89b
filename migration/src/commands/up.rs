//! `up`: apply pending migrations, or print what would run (`--dry-run`).

use std::io::Write;
use std::time::Instant;

use app_db::Error;
use app_db::migrate::{Progress, TableShape};

use crate::cli::{GlobalArgs, PolicyArgs, WaitReplicasArgs};
use crate::exit;
use crate::output::{elapsed, short_hash, when_utc};
use crate::target::Target;

/// What `up` does besides applying.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    pub dry_run: bool,
    pub rehearse: bool,
    pub json: bool,
}

pub async fn run(
    global: &GlobalArgs,
    limit: Option<usize>,
    mode: Mode,
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
    if mode.dry_run {
        return print_plan(&migrator, &mut conn, limit).await;
    }
    if mode.rehearse {
        let planned = migrator.pending_for_rehearsal(&mut conn, limit).await?;
        if !mode.json {
            if planned.is_empty() {
                println!("nothing to rehearse: the database is up to date");
                return Ok(exit::OK);
            }
            println!(
                "rehearsing {} migration(s) on {} in a transaction that is rolled back",
                planned.len(),
                target.redacted()
            );
        }
        let report =
            app_db::rehearse::rehearse(&mut conn, &planned, &migrator.rehearsal_options()).await?;
        return Ok(super::rehearsal::print(
            &report,
            &target.redacted(),
            mode.json,
        ));
    }
    let started = Instant::now();
    // A line is open while a migration runs: its timing ends it, an error starts a new one.
    let mut line_open = false;
    let mut announced = false;
    let mut on_progress = |event: Progress<'_>| match event {
        Progress::WaitingForLock => {
            tracing::debug!("taking the migration lock");
        }
        Progress::Started {
            migration,
            position,
            total,
        } => {
            if !announced {
                println!("applying {total} migration(s) to {}", target.redacted());
                announced = true;
            }
            print!("[{position}/{total}] {} …", migration.tag);
            let _ = std::io::stdout().flush();
            line_open = true;
        }
        Progress::Finished { elapsed: took, .. } => {
            println!(" {}", elapsed(took));
            line_open = false;
        }
        Progress::LockRetry { attempt, pause, .. } => {
            // The blockers are in the log line the library writes (stderr).
            let retry = format!(
                "lock timeout (attempt {attempt}): rolled back, retrying in {:.1} s",
                pause.as_secs_f64()
            );
            if line_open {
                println!(" {retry}");
            } else {
                println!("{retry}");
            }
            line_open = false;
        }
        _ => {}
    };
    let result = migrator.run_with(&mut conn, limit, &mut on_progress).await;
    if line_open {
        println!(" failed");
    }
    let report = result?;
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    if let Some(rows) = report.upgraded {
        println!(
            "upgraded {} to drizzle-orm 1.0's shape (name, applied_at), naming its {rows} row(s), as drizzle-orm 1.0 does",
            migrator.bookkeeping_table().qualified()
        );
    }
    if report.named > 0 {
        println!(
            "named {} bookkeeping row(s) written without a name (by drizzle-orm 0.x), so drizzle-orm 1.0 does not run them again",
            report.named
        );
    }
    // Where the database stands, from the rows the run read plus what it applied: no second
    // read of the bookkeeping table.
    let at = report.position.at.unwrap_or("(no migration)");
    let pending = report.position.pending;
    if report.applied.is_empty() && report.upgraded.is_none() && report.named == 0 {
        println!(
            "nothing to apply: the database is at {at}{}",
            if pending > 0 {
                format!(" ({pending} pending beyond -n)")
            } else {
                String::new()
            }
        );
    } else if !report.applied.is_empty() {
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
    let bookkeeping = migrator.bookkeeping_table();
    let table = bookkeeping.read(conn).await.map_err(Error::from)?;
    let exists = table.is_some();
    let assessment = migrator.assess(&table.unwrap_or_default());
    let (plan, warnings) = migrator.plan(conn, limit).await?;
    println!("-- dry run: nothing is changed");
    if !exists {
        println!(
            "-- the bookkeeping table {} does not exist yet: it would be created ({}'s shape)",
            bookkeeping.qualified(),
            match assessment.shape_after() {
                TableShape::Drizzle0 => "drizzle-orm 0.x",
                TableShape::Drizzle1 => "drizzle-orm 1.0",
            }
        );
    }
    if let Some(names) = &assessment.upgrade {
        println!(
            "-- the bookkeeping table would be upgraded to drizzle-orm 1.0's shape first, as drizzle-orm 1.0 does:"
        );
        println!("{};", bookkeeping.upgrade_columns_sql());
        for row in names {
            println!(
                "-- row id {} gets name '{}' and applied_at NULL",
                row.id, row.name
            );
        }
    }
    for row in &assessment.repairs {
        println!(
            "-- row id {} (written without a name) would be named '{}'",
            row.id, row.name
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
        match assessment.shape_after() {
            TableShape::Drizzle0 => println!(
                "-- then: insert into {} (\"hash\", \"created_at\") values ('{}', {})",
                bookkeeping.qualified(),
                migration.hash,
                migration.when
            ),
            TableShape::Drizzle1 => println!(
                "-- then: insert into {} (\"hash\", \"created_at\", \"name\") values ('{}', {}, '{}')",
                bookkeeping.qualified(),
                migration.hash,
                migration.when,
                migration.name
            ),
        }
    }
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    Ok(exit::OK)
}
