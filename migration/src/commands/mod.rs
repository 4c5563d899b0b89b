//! One file per command; this file dispatches and turns errors into exit codes.

mod baseline;
mod citus_plan;
mod db;
mod down;
mod fresh;
mod generate;
mod generate_v1;
pub mod lint;
mod mark_applied;
mod recording;
mod rehearsal;
mod replicas;
mod seed;
mod status;
mod up;
mod upgrade_folder;
mod verify;

use std::time::Duration;

use app_db::{Error, Migrator, url};

use crate::cli::{Cli, Command, GlobalArgs, LockArgs, PolicyArgs};
use crate::exit;

/// Runs the command and returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    let global = &cli.global;
    let result = match &cli.command {
        Command::Up {
            num,
            dry_run,
            rehearse,
            json,
            policy,
            replicas,
        } => {
            let mode = up::Mode {
                dry_run: *dry_run,
                rehearse: *rehearse,
                json: *json,
            };
            up::run(global, *num, mode, policy, replicas).await
        }
        Command::Status { json } => status::run(global, *json).await,
        Command::CitusPlan { json } => citus_plan::run(global, *json).await,
        Command::Verify {
            allow_pending,
            dir,
            lint,
        } => verify::run(global, *allow_pending, dir.as_deref(), *lint).await,
        Command::Lint {
            tags,
            all,
            dir,
            json,
        } => {
            let selection = if *all {
                lint::Selection::All
            } else if !tags.is_empty() {
                lint::Selection::Tags(tags)
            } else {
                lint::Selection::Pending
            };
            lint::run(global, selection, dir.as_deref(), *json).await
        }
        Command::Down { .. } => down::run(),
        Command::Fresh {
            yes,
            force_remote,
            policy,
        } => fresh::run(global, *yes, *force_remote, policy).await,
        Command::Generate {
            name,
            custom,
            dry_run,
            check,
            allow_drop,
            safe,
            dir,
            rehearse,
            json,
            ddl_lock_timeout,
        } => {
            let mode = generate::Mode {
                custom: *custom,
                dry_run: *dry_run,
                check: *check,
                allow_drop: *allow_drop,
                safe: *safe,
            };
            let rehearsal = rehearse.as_deref().map(|url| generate::Rehearsal {
                url,
                json: *json,
                lock_timeout: Duration::from_millis(*ddl_lock_timeout),
            });
            generate::run(global, name.as_deref(), mode, dir, rehearsal).await
        }
        Command::UpgradeFolder { dry_run, dir } => upgrade_folder::run(dir, *dry_run),
        Command::MarkApplied { tag, verify } => mark_applied::run(global, tag, verify).await,
        Command::Baseline { to, verify } => baseline::run(global, to, verify).await,
        Command::Db { action } => db::run(action).await,
        Command::Seed(args) => seed::run(global, args).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // Causes quoted from the server or a driver could echo a URL: scrub every
            // password this process was given before printing.
            let mut text = e.to_string();
            for secret in [global.database_url.as_deref(), scratch_url(&cli.command)]
                .into_iter()
                .flatten()
                .chain(global.read_urls.iter().map(String::as_str))
            {
                text = url::scrub(secret, &text);
            }
            // Every error ends with a fix; driver and server errors come without one.
            if !text.contains("fix:") {
                text.push_str("\n  fix: rerun with -v for the log; `migration status` shows the database's state");
            }
            eprintln!("error: {text}");
            exit_code(&e)
        }
    }
}

/// The other URL a command was given (besides `-u`), whose password must be scrubbed too.
fn scratch_url(command: &Command) -> Option<&str> {
    match command {
        Command::MarkApplied { verify, .. } | Command::Baseline { verify, .. } => {
            verify.scratch_url.as_deref()
        }
        Command::Generate { rehearse, .. } => rehearse.as_deref(),
        _ => None,
    }
}

/// Drift refusals exit 2, an unusable URL 64 (bad usage), everything else 1.
fn exit_code(e: &Error) -> u8 {
    match e {
        Error::Modified(_)
        | Error::OutOfOrder { .. }
        | Error::OutOfOrderFolders { .. }
        | Error::UpgradeUnmatched { .. }
        | Error::SchemaMismatch { .. } => exit::DRIFT,
        Error::BadUrl { .. } => exit::USAGE,
        _ => exit::ERROR,
    }
}

/// The migrator the global flags and a command's policy describe, for `target` (whose URL's
/// keepalive settings the server's side of the migrating session gets too).
fn migrator(
    global: &GlobalArgs,
    target: &crate::target::Target,
    lock: &LockArgs,
    policy: Option<&PolicyArgs>,
) -> Migrator {
    configured(global, lock, policy)
        .keepalive(target.url().keepalive().copied())
        .watch_blockers(app_db::init::named_options(target.url()))
}

fn configured(global: &GlobalArgs, lock: &LockArgs, policy: Option<&PolicyArgs>) -> Migrator {
    let mut migrator = Migrator::new()
        .bookkeeping(
            global.migrations_schema.clone(),
            global.migrations_table.clone(),
        )
        .lock_timeout(Duration::from_millis(lock.lock_timeout));
    if let Some(policy) = policy {
        migrator = migrator
            .policy(app_db::migrate::Policy {
                allow_modified: policy.allow_modified,
                allow_out_of_order: policy.allow_out_of_order,
            })
            .lock_wait(policy.ddl.policy());
    }
    migrator
}

/// The migrator for read-only commands (no lock is taken, the policy is not consulted).
fn reader(global: &GlobalArgs) -> Migrator {
    configured(global, &LockArgs { lock_timeout: 0 }, None)
}
