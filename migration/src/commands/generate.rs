//! `generate <name>`: a migration from the entities' difference to the migration folder, as
//! drizzle-kit writes it; `--custom`: an empty one for hand-written SQL, as drizzle-kit writes it.

use std::path::Path;

use app_db::generate::{Generated, Migrations, Options, entities_by_prefix, render};
use app_db::{Error, journal};
use serde_json::{Value, json};

use crate::cli::GlobalArgs;
use crate::exit;
use crate::journal_json;
use crate::snapshot;
use crate::target::Target;

/// drizzle-kit's placeholder for `generate --custom`, written without a trailing newline.
pub const CUSTOM_PLACEHOLDER: &str = "-- Custom SQL migration file, put your code below! --";

/// The module-path prefix of the project's entities (every entity of the `entity` crate).
const ENTITIES: &str = "entity::*";

/// The flags of `generate`.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    pub custom: bool,
    pub dry_run: bool,
    pub check: bool,
    pub allow_drop: bool,
}

pub async fn run(
    global: &GlobalArgs,
    name: Option<&str>,
    mode: Mode,
    dir: &Path,
) -> Result<u8, Error> {
    let name = name.unwrap_or_default();
    if !mode.check {
        check_name(name)?;
    }
    // The same rules as the build: adding to a folder the build rejects would only hide why.
    journal::load_dir(dir)?;
    if mode.custom {
        let snapshot = custom_snapshot(dir)?;
        let added = add_migration(dir, name, CUSTOM_PLACEHOLDER, snapshot)?;
        print_added(&added, dir);
        println!(
            "next: write your SQL below the placeholder comment, then build: until then the build rejects {}.sql (a migration with no statement)",
            added.tag
        );
        return Ok(exit::OK);
    }
    let target = Target::resolve(global).await?;
    let options = Options {
        // --check reports every difference; refusing would hide the drops it must show.
        allow_drop: mode.allow_drop || mode.check,
    };
    let generated = app_db::generate::generate_on(
        &target.url().into(),
        Migrations::Folder(dir),
        entities_by_prefix(ENTITIES),
        &app_db::supplement::PROJECT,
        &options,
    )
    .await;
    if mode.check {
        return check(generated);
    }
    let generated = generated?;
    let statements = generated.plan.sql();
    if statements.is_empty() {
        println!("no schema changes");
        return Ok(exit::OK);
    }
    let text = render::file_text(&statements);
    if mode.dry_run {
        println!("{text}");
        eprintln!(
            "dry run: {} statement(s), verified on scratch databases; nothing written",
            statements.len()
        );
        return Ok(exit::OK);
    }
    // Built before anything is written: a failure here leaves the folder as it was.
    let snapshot = schema_snapshot(target.url(), dir, &statements).await?;
    let added = add_migration(dir, name, &text, snapshot)?;
    print_added(&added, dir);
    println!(
        "{} statement(s), verified: applied after the existing migrations they give the entities' schema",
        statements.len()
    );
    println!("next: review {}.sql, then build and commit it", added.tag);
    Ok(exit::OK)
}

/// What `--check` found.
#[derive(Debug)]
enum Check {
    /// The folder gives the entities' schema.
    Agree,
    /// They disagree; this SQL (verified) reconciles them.
    Reconcile(String),
    /// They disagree in a way generate cannot write SQL for; why.
    Inexpressible(Error),
}

impl Check {
    /// Any disagreement is drift (2), whether or not generate can express it.
    fn code(&self) -> u8 {
        match self {
            Check::Agree => exit::OK,
            Check::Reconcile(_) | Check::Inexpressible(_) => exit::DRIFT,
        }
    }
}

/// `--check`'s reading of a generate run: only a failure to compare the two (no database, a
/// folder or a supplement that does not apply) stays an error (exit 1).
fn check_outcome(generated: Result<Generated, Error>) -> Result<Check, Error> {
    match generated {
        Ok(generated) if generated.plan.is_empty() => Ok(Check::Agree),
        Ok(generated) => Ok(Check::Reconcile(render::file_text(&generated.plan.sql()))),
        Err(e @ Error::GenerateUnverified { .. }) => Ok(Check::Inexpressible(e)),
        Err(e) => Err(e),
    }
}

/// `--check`: prints what it found (the reconciling SQL on stdout, or the reason generate
/// cannot write it) and returns the exit code.
fn check(generated: Result<Generated, Error>) -> Result<u8, Error> {
    let outcome = check_outcome(generated)?;
    match &outcome {
        Check::Agree => println!("no schema changes"),
        Check::Reconcile(text) => {
            println!("{text}");
            eprintln!(
                "the entities and the migrations disagree: the SQL above (verified on scratch databases) reconciles them\n  fix: run `migration generate <name>` and commit the new migration"
            );
        }
        Check::Inexpressible(e) => eprintln!(
            "the entities and the migrations disagree, and generate cannot write the SQL that reconciles them: {e}"
        ),
    }
    Ok(outcome.code())
}

fn check_name(name: &str) -> Result<(), Error> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(Error::Refused {
            reason: format!("{name:?} is not a usable migration name"),
            fix: "use letters, digits, _ and - only, e.g. add_invoice_index".into(),
        });
    }
    Ok(())
}

/// What [`add_migration`] wrote.
struct Added {
    sql_path: std::path::PathBuf,
    snapshot_path: Option<std::path::PathBuf>,
    tag: String,
    idx: usize,
    when: i64,
}

fn print_added(added: &Added, dir: &Path) {
    let journal_path = dir.join(journal::JOURNAL_PATH);
    println!("created {}", added.sql_path.display());
    if let Some(path) = &added.snapshot_path {
        println!("created {} (drizzle-kit's snapshot chain)", path.display());
    }
    println!(
        "added {} to {} (idx {}, when {})",
        added.tag,
        journal_path.display(),
        added.idx,
        added.when
    );
}

/// The `when` of a new entry: now, but later than every existing entry, because drizzle-orm
/// applies an entry only if its `when` is newer than the last applied one.
fn next_when(last_when: Option<i64>, now: i64) -> Result<i64, Error> {
    match last_when {
        None => Ok(now),
        Some(last) => match last.checked_add(1) {
            Some(next) => Ok(now.max(next)),
            None => Err(Error::Refused {
                reason: format!(
                    "the journal's last \"when\" is {last}, so no later timestamp exists for a new migration"
                ),
                fix: "correct that entry's \"when\" (epoch milliseconds) in meta/_journal.json; if it was applied, its created_at in the bookkeeping table holds the same value".into(),
            }),
        },
    }
}

/// A snapshot to write next to a new migration, and the `id` of the one it chains onto.
struct NextSnapshot {
    snapshot: Value,
    prev_id: String,
}

/// Writes `NNNN_<name>.sql` with `contents`, its journal entry and, in a folder that has
/// drizzle-kit snapshots, `snapshot` as `meta/NNNN_snapshot.json`, as drizzle-kit does; on a
/// failure, removes what it wrote. Returns the file's path, the tag, the idx and the `when`.
fn add_migration(
    dir: &Path,
    name: &str,
    contents: &str,
    snapshot: Option<NextSnapshot>,
) -> Result<Added, Error> {
    let journal_path = dir.join(journal::JOURNAL_PATH);
    let text = std::fs::read_to_string(&journal_path).map_err(|source| Error::Io {
        action: "read",
        path: journal_path.clone(),
        source,
    })?;
    let mut value: Value = serde_json::from_str(&text).map_err(|e| Error::Refused {
        reason: format!("{} is not JSON: {e}", journal_path.display()),
        fix: "restore the journal from version control".into(),
    })?;
    let Some(entries) = value.get_mut("entries").and_then(Value::as_array_mut) else {
        return Err(Error::Refused {
            reason: format!("{} has no \"entries\" array", journal_path.display()),
            fix: "restore the journal from version control".into(),
        });
    };
    let idx = entries.len();
    let tag = format!("{idx:04}_{name}");
    let last_when = entries
        .iter()
        .filter_map(|e| e.get("when").and_then(Value::as_i64))
        .max();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let when = next_when(last_when, now)?;
    entries.push(json!({
        "idx": idx,
        "version": "7",
        "when": when,
        "tag": tag,
        "breakpoints": true,
    }));
    let sql_path = dir.join(format!("{tag}.sql"));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&sql_path)
        .map_err(|source| Error::Io {
            action: "create",
            path: sql_path.clone(),
            source,
        })?;
    std::io::Write::write_all(&mut file, contents.as_bytes()).map_err(|source| Error::Io {
        action: "write",
        path: sql_path.clone(),
        source,
    })?;
    drop(file);
    // A folder carrying drizzle-kit snapshots gets the next one, so that its chain stays
    // valid for drizzle-kit.
    let snapshot_path = match snapshot {
        Some(next) => match snapshot::write_snapshot(dir, idx, next.snapshot, &next.prev_id) {
            Ok(path) => Some(path),
            Err(e) => {
                let _ = std::fs::remove_file(&sql_path);
                return Err(e);
            }
        },
        None => None,
    };
    // Replace the journal in one rename, so a crash never leaves half a journal.
    let tmp = journal_path.with_extension("json.tmp");
    let written = journal_json::render(&value)
        .map_err(std::io::Error::other)
        .and_then(|text| std::fs::write(&tmp, text))
        .and_then(|()| std::fs::rename(&tmp, &journal_path));
    if let Err(source) = written {
        // A file without a journal entry fails the build; take it back.
        let _ = std::fs::remove_file(&sql_path);
        let _ = std::fs::remove_file(&tmp);
        if let Some(path) = &snapshot_path {
            let _ = std::fs::remove_file(path);
        }
        return Err(Error::Io {
            action: "write",
            path: journal_path,
            source,
        });
    }
    Ok(Added {
        sql_path,
        snapshot_path,
        tag,
        idx,
        when,
    })
}

/// The newest snapshot of a folder with drizzle-kit snapshots and its `id`; `None` without.
fn previous(dir: &Path) -> Result<Option<(Value, String)>, Error> {
    if !snapshot::has_snapshots(dir) {
        return Ok(None);
    }
    let (_, previous) = snapshot::previous_snapshot(dir)?;
    let prev_id = previous["id"].as_str().unwrap_or_default().to_string();
    Ok(Some((previous, prev_id)))
}

/// In a folder with drizzle-kit snapshots, the snapshot drizzle-kit's `generate --custom`
/// writes: the newest one again, chained onto it. `None` without snapshots.
fn custom_snapshot(dir: &Path) -> Result<Option<NextSnapshot>, Error> {
    Ok(previous(dir)?.map(|(previous, prev_id)| NextSnapshot {
        snapshot: snapshot::custom_snapshot(&previous),
        prev_id,
    }))
}

/// In a folder with drizzle-kit snapshots, the snapshot of the schema after the new
/// migration: read from a scratch database holding the folder's migrations and `statements`
/// (the verified SQL), so it describes what the files produce. `None` without snapshots.
async fn schema_snapshot(
    server: &app_db::url::DbUrl,
    dir: &Path,
    statements: &[String],
) -> Result<Option<NextSnapshot>, Error> {
    let Some((_, prev_id)) = previous(dir)? else {
        return Ok(None);
    };
    let db = app_db::generate::scratch_after(server, Migrations::Folder(dir), statements).await?;
    let read = async {
        let mut conn = db.connect().await?;
        let snapshot = snapshot::snapshot_from_database(&mut conn, "public").await;
        let _ = sqlx::Connection::close(conn).await;
        snapshot
    }
    .await;
    let dropped = db.drop().await;
    let snapshot = read?;
    dropped?;
    Ok(Some(NextSnapshot { snapshot, prev_id }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_calls_every_disagreement_drift_and_only_failures_errors() {
        let unverified = Error::GenerateUnverified {
            sql: "ALTER TABLE \"t\" ALTER COLUMN \"c\" SET DATA TYPE text;".into(),
            remaining: vec!["cannot alter type of a column used by a view or rule".into()],
        };
        let outcome = check_outcome(Err(unverified)).expect("a disagreement, not an error");
        assert!(matches!(outcome, Check::Inexpressible(_)), "{outcome:?}");
        assert_eq!(outcome.code(), exit::DRIFT);
        let failure = Error::Refused {
            reason: "the entity supplement does not apply".into(),
            fix: "correct it".into(),
        };
        assert!(check_outcome(Err(failure)).is_err());
    }

    #[test]
    fn when_is_later_than_every_entry_and_never_overflows() {
        assert_eq!(next_when(None, 5).ok(), Some(5));
        assert_eq!(next_when(Some(3), 5).ok(), Some(5));
        assert_eq!(next_when(Some(9), 5).ok(), Some(10));
        let err = next_when(Some(i64::MAX), 5).expect_err("no later when exists");
        assert!(err.to_string().contains("9223372036854775807"), "{err}");
        assert!(err.to_string().contains("fix:"), "{err}");
    }
}
