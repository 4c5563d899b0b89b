//! `verify`: fail a deploy pipeline on drift (exit 2), with `--lint` on a lint finding not
//! allowed in a pending migration (exit 2), or, unless allowed, on pending migrations (exit 3).

use std::path::Path;

use app_db::migrate::MigrationState;
use app_db::migrations::{MIGRATIONS_DIR, MIGRATIONS_LAYOUT};
use app_db::{Error, MIGRATIONS, journal};

use crate::cli::GlobalArgs;
use crate::exit;
use crate::target::Target;

pub async fn run(
    global: &GlobalArgs,
    allow_pending: bool,
    dir: Option<&Path>,
    lint: bool,
) -> Result<u8, Error> {
    let mut problems = folder_problems(dir)?;
    let target = Target::resolve(global).await?;
    let migrator = super::reader(global);
    let mut conn = target.connect().await?;
    let rows = migrator.applied_rows(&mut conn).await?;
    let assessment = migrator.assess(&rows);
    for s in &assessment.migrations {
        match &s.state {
            MigrationState::Modified {
                recorded_hash,
                line_endings_only,
                ..
            } => problems.push(format!(
                "{} was modified after it was applied (recorded {recorded_hash}, file {}){}",
                s.migration.tag,
                s.migration.hash,
                if *line_endings_only {
                    "; only its line endings differ"
                } else {
                    ""
                }
            )),
            MigrationState::OutOfOrder => problems.push(match assessment.layout {
                journal::Layout::Journal => format!(
                    "{} was never applied and is older than the newest applied migration (drizzle-orm would skip it forever)",
                    s.migration.tag
                ),
                journal::Layout::Folders => format!(
                    "{} was never applied and sorts before an applied migration (drizzle-orm 1.0 would run it after the migrations it was written before)",
                    s.migration.tag
                ),
            }),
            MigrationState::Applied { .. } | MigrationState::Pending => {}
        }
    }
    for row in &assessment.unknown_rows {
        problems.push(format!(
            "bookkeeping row {} (created_at {}) matches no migration of this binary",
            row.id,
            row.created_at.map_or("null".into(), |c| c.to_string())
        ));
    }
    for row in &assessment.duplicate_rows {
        problems.push(format!(
            "bookkeeping row {} duplicates another row for the same migration",
            row.id
        ));
    }
    let mut pending: Vec<&str> = assessment
        .migrations
        .iter()
        .filter(|s| s.state == MigrationState::Pending)
        .map(|s| s.migration.tag)
        .collect();
    // A table the next `up` upgrades or names rows in is not yet what drizzle-orm 1.0 expects:
    // as pending as a migration.
    if assessment.upgrade.is_some() {
        pending.push("(the bookkeeping table's upgrade to drizzle-orm 1.0's shape)");
    } else if !assessment.repairs.is_empty() {
        pending.push("(names for bookkeeping rows written without one)");
    }
    let applied = assessment
        .migrations
        .iter()
        .filter(|s| matches!(s.state, MigrationState::Applied { .. }))
        .count();
    println!(
        "{}: {} migration(s) compiled in, {applied} applied, {} pending",
        target.redacted(),
        MIGRATIONS.len(),
        pending.len()
    );
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("drift: {p}");
        }
        eprintln!(
            "error: {} drift problem(s) found\n  fix: `migration status` shows every migration's state; restore modified files and add changes as new migrations, rebuild from the current folder, or record out-of-band applies with `migration mark-applied <tag>`",
            problems.len()
        );
        return Ok(exit::DRIFT);
    }
    if lint {
        // Only what is still to run: applied migrations are history and never re-judged.
        let to_run = super::lint::not_applied(&migrator, &rows);
        let report =
            app_db::lint::lint_pending(to_run, &super::lint::shown(Path::new(MIGRATIONS_DIR)));
        super::lint::print(&report, false);
        if !report.passes() {
            eprintln!(
                "error: the pending migrations have lint findings that are not allowed\n  fix: rewrite each statement as its fix says (`migration generate --safe` writes the safe forms), or accept the risk with `-- app-db:allow <rule> <reason>` on the line above it"
            );
            return Ok(exit::LINT);
        }
    }
    if !pending.is_empty() && !allow_pending {
        eprintln!(
            "error: {} migration(s) pending: {}\n  fix: run `migration up`, or pass --allow-pending when pending migrations are expected (before a deploy migrates)",
            pending.len(),
            pending.join(", ")
        );
        return Ok(exit::PENDING);
    }
    println!("ok: no drift");
    Ok(exit::OK)
}

/// Compares the folder on disk with the migrations compiled in. The default folder is skipped
/// when it does not exist (a deployed binary); a folder given with --dir must exist.
fn folder_problems(dir: Option<&Path>) -> Result<Vec<String>, Error> {
    let (dir, explicit) = match dir {
        Some(dir) => (dir, true),
        None => (Path::new(MIGRATIONS_DIR), false),
    };
    if !dir.exists() {
        if explicit {
            return Err(Error::Refused {
                reason: format!("the migration folder {} does not exist", dir.display()),
                fix: "pass --dir the migration folder (the one holding meta/_journal.json, or the <YYYYMMDDHHMMSS>_<name>/ folders)".into(),
            });
        }
        println!(
            "folder {} not found: comparing the database only",
            dir.display()
        );
        return Ok(Vec::new());
    }
    let loaded = match journal::load_dir(dir) {
        Ok(loaded) => loaded,
        Err(e) => {
            return Ok(vec![format!(
                "the folder {} is not a valid migration folder any more: {e}",
                dir.display()
            )]);
        }
    };
    let mut problems = Vec::new();
    let stale = "the binary was built from another version of the folder: rebuild";
    if loaded.layout != MIGRATIONS_LAYOUT {
        return Ok(vec![format!(
            "the folder {} is in the {} layout, the binary was built from the {} layout (converted since?): {stale}",
            dir.display(),
            loaded.layout.label(),
            MIGRATIONS_LAYOUT.label()
        )]);
    }
    for compiled in MIGRATIONS {
        match loaded.migrations.iter().find(|m| m.tag == compiled.tag) {
            None => problems.push(format!(
                "{} is compiled in but no longer in {} ({stale})",
                compiled.tag,
                dir.display()
            )),
            Some(file) if file.hash != compiled.hash => problems.push(format!(
                "{} differs from the compiled file (sha256 {} vs {}; {stale})",
                file.path.display(),
                file.hash,
                compiled.hash
            )),
            Some(file) if file.when != compiled.when || file.idx != compiled.idx => {
                problems.push(format!(
                    "{}'s journal entry in {} differs from the compiled one (idx {} when {} vs idx {} when {}; {stale})",
                    compiled.tag,
                    dir.display(),
                    file.idx,
                    file.when,
                    compiled.idx,
                    compiled.when
                ))
            }
            Some(_) => {}
        }
    }
    for file in &loaded.migrations {
        if !MIGRATIONS.iter().any(|m| m.tag == file.tag) {
            problems.push(format!(
                "{} is in {} but not compiled in ({stale})",
                file.tag,
                dir.display()
            ));
        }
    }
    if problems.is_empty() {
        println!(
            "folder {} matches the {} compiled migration(s)",
            dir.display(),
            MIGRATIONS.len()
        );
    }
    Ok(problems)
}
