//! `generate <name>`: a migration from the entities' difference to the migration folder, as
//! drizzle-kit writes it; `--custom`: an empty one for hand-written SQL, as drizzle-kit writes it.

use std::path::Path;
use std::time::Duration;

use app_db::generate::{Migrations, Options, entities_by_prefix, render};
use app_db::rehearse::{Planned, Report};
use app_db::url::DbUrl;
use app_db::{Error, Migration, Migrator, journal};
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

/// `--rehearse URL`: where to try the new statements on real rows before writing them.
#[derive(Clone, Copy)]
pub struct Rehearsal<'a> {
    pub url: &'a str,
    pub json: bool,
    pub lock_timeout: Duration,
}

/// Prints to stdout, or to stderr when stdout carries the rehearsal's JSON.
macro_rules! say {
    ($json:expr, $($arg:tt)*) => {
        if $json { eprintln!($($arg)*) } else { println!($($arg)*) }
    };
}

pub async fn run(
    global: &GlobalArgs,
    name: Option<&str>,
    mode: Mode,
    dir: &Path,
    rehearsal: Option<Rehearsal<'_>>,
) -> Result<u8, Error> {
    let json = rehearsal.is_some_and(|r| r.json);
    let name = name.unwrap_or_default();
    if !mode.check {
        check_name(name)?;
    }
    // The same rules as the build: adding to a folder the build rejects would only hide why.
    journal::load_dir(dir)?;
    if mode.custom {
        let snapshot = custom_snapshot(dir)?;
        let added = add_migration(dir, name, CUSTOM_PLACEHOLDER, snapshot)?;
        print_added(&added, dir, false);
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
    let generated = app_db::generate::generate(
        &target.options()?,
        Migrations::Folder(dir),
        entities_by_prefix(ENTITIES),
        &app_db::supplement::PROJECT,
        &options,
    )
    .await?;
    let statements = generated.plan.sql();
    if statements.is_empty() {
        say!(json, "no schema changes");
        if let Some(rehearsal) = rehearsal.filter(|r| r.json) {
            let nothing = Report {
                rolled_back: true,
                lock_timeout_ms: u64::try_from(rehearsal.lock_timeout.as_millis())
                    .unwrap_or(u64::MAX),
                migrations: Vec::new(),
                statements: 0,
                failed: 0,
                not_rehearsed: 0,
            };
            print_rehearsal(&nothing, rehearsal, None);
        }
        return Ok(exit::OK);
    }
    let text = render::file_text(&statements);
    let mut written = None;
    let report = match rehearsal {
        Some(rehearsal) if !mode.check => {
            let report = rehearse_plan(global, rehearsal, dir, name, &statements).await?;
            if !json {
                println!("{report}");
            }
            if !report.passed() {
                if json {
                    print_rehearsal(&report, rehearsal, None);
                }
                let code = super::rehearsal::verdict(&report);
                eprintln!("generate: nothing was written");
                return Ok(code);
            }
            Some((report, rehearsal))
        }
        _ => None,
    };
    if mode.check {
        println!("{text}");
        eprintln!(
            "the entities and the migrations disagree: the SQL above (verified on scratch databases) reconciles them\n  fix: run `migration generate <name>` and commit the new migration"
        );
        return Ok(exit::DRIFT);
    }
    if mode.dry_run {
        say!(json, "{text}");
        eprintln!(
            "dry run: {} statement(s), verified on scratch databases; nothing written",
            statements.len()
        );
    } else {
        // Built before anything is written: a failure here leaves the folder as it was.
        let snapshot = schema_snapshot(&target.options()?, dir, &statements).await?;
        let added = add_migration(dir, name, &text, snapshot)?;
        print_added(&added, dir, json);
        say!(
            json,
            "{} statement(s), verified: applied after the existing migrations they give the entities' schema",
            statements.len()
        );
        say!(
            json,
            "next: review {}.sql, then build and commit it",
            added.tag
        );
        written = Some(added.sql_path);
    }
    if let Some((report, rehearsal)) = &report
        && json
    {
        print_rehearsal(report, *rehearsal, written.as_deref());
    }
    Ok(exit::OK)
}

/// The rehearsal's JSON, with `written`: the file written, or null.
fn print_rehearsal(report: &Report, rehearsal: Rehearsal<'_>, written: Option<&Path>) {
    let database = app_db::url::redact(rehearsal.url);
    let mut value = super::rehearsal::json(report, &database);
    if let Value::Object(map) = &mut value {
        map.insert(
            "written".into(),
            written.map_or(Value::Null, |p| Value::String(p.display().to_string())),
        );
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    );
}

/// Rehearses `statements` on `--rehearse`'s database, after the folder's migrations it has
/// not applied yet, as the migration `NNNN_<name> (planned)`.
async fn rehearse_plan(
    global: &GlobalArgs,
    rehearsal: Rehearsal<'_>,
    dir: &Path,
    name: &str,
    statements: &[String],
) -> Result<Report, Error> {
    let url = DbUrl::parse(rehearsal.url, "--rehearse")?;
    let mut conn = app_db::init::connect_one(
        &url,
        Duration::from_millis(global.connect_timeout),
        "--connect-timeout/DATABASE_CONNECT_TIMEOUT (milliseconds)",
    )
    .await?;
    // The migrator borrows its list for the program's life; a generate run reads one folder.
    let folder: &'static [Migration] =
        Box::leak(Migrations::Folder(dir).load()?.into_boxed_slice());
    let migrator = Migrator::with_migrations(folder)
        .bookkeeping(
            global.migrations_schema.clone(),
            global.migrations_table.clone(),
        )
        .ddl_lock_timeout(rehearsal.lock_timeout)
        .watch_blockers(app_db::init::named_options(&url));
    let result = async {
        let mut planned = migrator.pending_for_rehearsal(&mut conn, None).await?;
        planned.push(Planned {
            tag: format!("{:04}_{name} (planned)", folder.len()),
            transaction: true,
            statements: statements.to_vec(),
        });
        if !rehearsal.json {
            println!(
                "rehearsing {} migration(s) on {} in a transaction that is rolled back",
                planned.len(),
                url.redacted()
            );
        }
        app_db::rehearse::rehearse(&mut conn, &planned, &migrator.rehearsal_options()).await
    }
    .await;
    let _ = sqlx::Connection::close(conn).await;
    result
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

fn print_added(added: &Added, dir: &Path, json: bool) {
    let journal_path = dir.join(journal::JOURNAL_PATH);
    say!(json, "created {}", added.sql_path.display());
    if let Some(path) = &added.snapshot_path {
        say!(
            json,
            "created {} (drizzle-kit's snapshot chain)",
            path.display()
        );
    }
    say!(
        json,
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
    server: &sqlx::postgres::PgConnectOptions,
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
    fn when_is_later_than_every_entry_and_never_overflows() {
        assert_eq!(next_when(None, 5).ok(), Some(5));
        assert_eq!(next_when(Some(3), 5).ok(), Some(5));
        assert_eq!(next_when(Some(9), 5).ok(), Some(10));
        let err = next_when(Some(i64::MAX), 5).expect_err("no later when exists");
        assert!(err.to_string().contains("9223372036854775807"), "{err}");
        assert!(err.to_string().contains("fix:"), "{err}");
    }
}
