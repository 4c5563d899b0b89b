//! `lint`: judge migrations for what they do to tables with rows and traffic (exit 2 when a
//! finding is not allowed).

use std::path::{Path, PathBuf};

use app_db::migrate::MigrationState;
use app_db::migrations::{MIGRATIONS_DIR, load_folder};
use app_db::{Error, MIGRATIONS, Migration, Migrator, lint};

use crate::cli::GlobalArgs;
use crate::exit;
use crate::target::Target;

/// Which migrations to lint.
#[derive(Debug, Clone, Copy)]
pub enum Selection<'a> {
    /// Those not applied on the database (pending or out of order).
    Pending,
    /// Every one.
    All,
    /// These tags.
    Tags(&'a [String]),
}

pub async fn run(
    global: &GlobalArgs,
    selection: Selection<'_>,
    dir: Option<&Path>,
    as_json: bool,
) -> Result<u8, Error> {
    let (migrations, folder): (&'static [Migration], PathBuf) = match dir {
        Some(dir) => (
            Box::leak(load_folder(dir)?.into_boxed_slice()),
            dir.to_path_buf(),
        ),
        None => (MIGRATIONS, PathBuf::from(MIGRATIONS_DIR)),
    };
    let shown = shown(&folder);
    let report = match selection {
        Selection::All => lint::lint_migrations(migrations, &shown),
        Selection::Tags(tags) => lint::lint_migrations(by_tags(migrations, tags)?, &shown),
        Selection::Pending => {
            let target = Target::resolve(global).await?;
            let migrator = Migrator::with_migrations(migrations).bookkeeping(
                global.migrations_schema.clone(),
                global.migrations_table.clone(),
            );
            let mut conn = target.connect().await?;
            let rows = migrator.applied_rows(&mut conn).await?;
            let pending = not_applied(&migrator, &rows);
            if pending.is_empty() && !as_json {
                println!(
                    "no migration pending on {}: nothing to lint (`migration lint --all` judges every migration, applied ones included)",
                    target.redacted()
                );
                return Ok(exit::OK);
            }
            lint::lint_pending(pending, &shown)
        }
    };
    print(&report, as_json);
    Ok(if report.passes() {
        exit::OK
    } else {
        exit::LINT
    })
}

/// The migrations `migrator` would still apply: pending, or never applied out of order.
pub fn not_applied(
    migrator: &Migrator,
    rows: &app_db::migrate::AppliedTable,
) -> Vec<&'static Migration> {
    app_db::migrate::planner::assess(migrator.migration_list(), rows)
        .migrations
        .iter()
        .filter(|s| {
            matches!(
                s.state,
                MigrationState::Pending | MigrationState::OutOfOrder
            )
        })
        .map(|s| s.migration)
        .collect()
}

/// Prints a report as text or JSON on stdout.
pub fn print(report: &lint::LintReport, as_json: bool) {
    if as_json {
        let value = report.to_json();
        println!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_else(|_| value.to_string())
        );
    } else {
        print!("{}", report.render());
    }
}

fn by_tags<'m>(migrations: &'m [Migration], tags: &[String]) -> Result<Vec<&'m Migration>, Error> {
    tags.iter()
        .map(|tag| {
            migrations
                .iter()
                .find(|m| m.tag == tag || format!("{}.sql", m.tag) == *tag)
                .ok_or_else(|| Error::UnknownTag {
                    tag: tag.clone(),
                    known: migrations.iter().map(|m| m.tag.to_string()).collect(),
                })
        })
        .collect()
}

/// The folder as the user would write it: relative to the working directory when inside it.
pub fn shown(folder: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| folder.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| folder.to_path_buf())
}
