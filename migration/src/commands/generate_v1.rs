//! `generate` into a drizzle-kit 1.0 folder: the new migration as drizzle-kit 1.0.0-rc.5's
//! `generate` writes it, `<YYYYMMDDHHMMSS>_<name>/migration.sql` (its statements, order and
//! forms) and, where the folder keeps snapshots, `snapshot.json` (format 9).
//!
//! The schema comparison, the refusal of drops and the names are `generate`'s
//! (`app_db::generate`, with drizzle-kit 1.0's default names for a 1.0 folder); the statements
//! are drizzle-kit 1.0's for that change (`snapshot::v9::generate`), proved on a scratch
//! database like 0.31's before anything is written.

use std::path::{Path, PathBuf};

use app_db::Error;
use app_db::generate::{Migrations, Options, entities_by_prefix, render, verify_statements};
use app_db::journal::{LoadedJournal, MIGRATION_SQL, layout_v1::SNAPSHOT_JSON, timestamp};
use serde_json::Value;

use super::generate::{CUSTOM_PLACEHOLDER, ENTITIES, Mode};
use crate::cli::GlobalArgs;
use crate::exit;
use crate::journal_json;
use crate::snapshot::v9;
use crate::target::Target;

pub async fn run(
    global: &GlobalArgs,
    name: &str,
    mode: Mode,
    dir: &Path,
    loaded: &LoadedJournal,
) -> Result<u8, Error> {
    let snapshots = read_snapshots(dir, loaded)?;
    let id = uuid::Uuid::new_v4().to_string();
    if mode.safe {
        return Err(Error::Refused {
            reason: format!(
                "--safe refused: {} is a drizzle-kit 1.0 folder, which the TypeScript app's drizzle-orm 1.0 runs too, and its migrator runs every pending migration inside one transaction: CREATE INDEX CONCURRENTLY fails there, and a VALIDATE right after its NOT VALID would keep the strong lock through the scan",
                dir.display()
            ),
            fix: "generate without --safe (drizzle-kit 1.0's forms, which drizzle-orm 1.0 runs); nothing was written".into(),
        });
    }
    if mode.custom {
        let snapshot = match &snapshots {
            Some(snapshots) => {
                Some(v9::generate::custom_snapshot(snapshots, &id).map_err(refused(dir))?)
            }
            None => None,
        };
        let folder = write(dir, loaded, name, CUSTOM_PLACEHOLDER, snapshot.as_ref())?;
        println!("created {}", folder.join(MIGRATION_SQL).display());
        println!(
            "next: write your SQL below the placeholder comment, then build: until then the build rejects it (a migration with no statement)"
        );
        return Ok(exit::OK);
    }
    let target = Target::resolve(global).await?;
    // The URL's keepalive settings reach the scratch connections too.
    let server: app_db::recovery::ScratchServer = target.url().into();
    let generated = app_db::generate::generate_on(
        &server,
        Migrations::Folder(dir),
        entities_by_prefix(ENTITIES),
        &app_db::supplement::PROJECT,
        &Options {
            allow_drop: mode.allow_drop || mode.check,
            safe: false,
        },
    )
    .await?;
    if generated.plan.is_empty() {
        println!("no schema changes");
        return Ok(exit::OK);
    }
    let migration = v9::generate::migration(
        snapshots.as_deref(),
        &generated.current,
        &generated.desired,
        &id,
    )
    .map_err(refused(dir))?;
    verify_statements(
        &server,
        Migrations::Folder(dir),
        &migration.statements,
        &generated.desired,
    )
    .await?;
    let text = render::file_text(&migration.statements);
    if mode.check {
        println!("{text}");
        eprintln!(
            "the entities and the migrations disagree: the SQL above (drizzle-kit 1.0's, verified on scratch databases) reconciles them\n  fix: run `migration generate <name>` and commit the new migration"
        );
        return Ok(exit::DRIFT);
    }
    if mode.dry_run {
        println!("{text}");
        eprintln!(
            "dry run: {} statement(s) in drizzle-kit 1.0's forms, verified on scratch databases; nothing written",
            migration.statements.len()
        );
        return Ok(exit::OK);
    }
    let folder = write(dir, loaded, name, &text, migration.snapshot.as_ref())?;
    println!("created {}", folder.join(MIGRATION_SQL).display());
    if migration.snapshot.is_some() {
        println!(
            "created {} (snapshot format 9)",
            folder.join(SNAPSHOT_JSON).display()
        );
    }
    println!(
        "{} statement(s) in drizzle-kit 1.0's forms, verified: applied after the existing migrations they give the entities' schema",
        migration.statements.len()
    );
    println!(
        "next: review {}, then build and commit it",
        folder.join(MIGRATION_SQL).display()
    );
    Ok(exit::OK)
}

fn refused(dir: &Path) -> impl Fn(String) -> Error + '_ {
    move |reason| {
        Error::Refused {
        reason: format!("cannot write drizzle-kit 1.0's migration into {}: {reason}", dir.display()),
        fix: "nothing was written; write this migration with drizzle-kit 1.0 (`drizzle-kit generate`)".into(),
    }
    }
}

/// Every migration's `snapshot.json` text with its folder, in order; `None` when the folder
/// keeps none; a folder where only some have one is refused (its history is broken).
fn read_snapshots(
    dir: &Path,
    loaded: &LoadedJournal,
) -> Result<Option<Vec<(String, String)>>, Error> {
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for migration in &loaded.migrations {
        let path = dir.join(&migration.tag).join(SNAPSHOT_JSON);
        match std::fs::read_to_string(&path) {
            Ok(text) => found.push((migration.tag.clone(), text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                missing.push(migration.tag.clone())
            }
            Err(source) => {
                return Err(Error::Io {
                    action: "read",
                    path,
                    source,
                });
            }
        }
    }
    match (found.is_empty(), missing.first()) {
        (true, _) => Ok(None),
        (false, None) => Ok(Some(found)),
        (false, Some(first)) => Err(Error::Refused {
            reason: format!(
                "{} has snapshots, but not {}/{SNAPSHOT_JSON}, so its state cannot be rebuilt",
                dir.display(),
                first
            ),
            fix: "restore the snapshot from version control (drizzle-kit needs it too); nothing was written".into(),
        }),
    }
}

/// drizzle-kit 1.0's folder name: the UTC second of now, or one second after the newest
/// folder's if that is later (`prepareMigrationMetadata`), then `_<name>`.
fn folder_name(loaded: &LoadedJournal, name: &str, now_ms: i64) -> String {
    let after_last = loaded
        .migrations
        .iter()
        .map(|m| m.when + 1000)
        .max()
        .unwrap_or(i64::MIN);
    format!(
        "{}_{name}",
        timestamp::folder_timestamp(now_ms.max(after_last))
    )
}

/// Writes the new migration folder: built beside the folder's others under a dot-name and
/// renamed into place at the end, so the build never sees half of it.
fn write(
    dir: &Path,
    loaded: &LoadedJournal,
    name: &str,
    sql: &str,
    snapshot: Option<&Value>,
) -> Result<PathBuf, Error> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    let folder = dir.join(folder_name(loaded, name, now));
    let staging = dir.join(format!(
        ".{}.partial",
        folder.file_name().unwrap_or_default().to_string_lossy()
    ));
    let io = |action: &'static str, path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    };
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir(&staging).map_err(io("create", &staging))?;
    let written = (|| {
        std::fs::write(staging.join(MIGRATION_SQL), sql)
            .map_err(io("write", &staging.join(MIGRATION_SQL)))?;
        if let Some(snapshot) = snapshot {
            let text = journal_json::render(snapshot).map_err(|e| Error::Refused {
                reason: format!("cannot render the snapshot: {e}"),
                fix: "report this; nothing was written".into(),
            })?;
            std::fs::write(staging.join(SNAPSHOT_JSON), text)
                .map_err(io("write", &staging.join(SNAPSHOT_JSON)))?;
        }
        std::fs::rename(&staging, &folder).map_err(io("rename", &staging))
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }
    Ok(folder)
}

#[cfg(test)]
mod tests {
    use super::*;
    use app_db::journal::{Layout, MigrationFile};

    #[test]
    fn the_folder_is_named_after_now_or_a_second_after_the_newest() {
        let file = |when: i64| MigrationFile {
            idx: 0,
            tag: String::new(),
            name: String::new(),
            layout: Layout::Folders,
            when,
            breakpoints: true,
            sql: String::new(),
            hash: String::new(),
            path: PathBuf::new(),
            transaction: true,
        };
        let loaded = LoadedJournal {
            layout: Layout::Folders,
            migrations: vec![file(1_741_083_157_000)],
            warnings: Vec::new(),
        };
        assert_eq!(
            folder_name(&loaded, "x", 1_800_000_000_000),
            "20270115080000_x"
        );
        // The clock is behind the newest folder: one second after it.
        assert_eq!(folder_name(&loaded, "x", 5), "20250304101238_x");
    }
}
