//! `generate <name>`: a migration from the entities' difference to the migration folder, as
//! drizzle-kit writes it; `--custom`: an empty one for hand-written SQL, as drizzle-kit writes it.
//! This file writes drizzle-kit 0.31's journal layout; a drizzle-kit 1.0 folder goes to
//! `generate_v1.rs`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use app_db::generate::{
    Generated, GeneratedMigration, Migrations, Options, entities_by_prefix, render,
};
use app_db::rehearse::{Planned, Report};
use app_db::url::DbUrl;
use app_db::{Error, Migration, Migrator, journal, lint};
use serde_json::{Value, json};

use crate::cli::GlobalArgs;
use crate::exit;
use crate::journal_json;
use crate::snapshot;
use crate::target::Target;

/// drizzle-kit's placeholder for `generate --custom`, written without a trailing newline.
pub const CUSTOM_PLACEHOLDER: &str = "-- Custom SQL migration file, put your code below! --";

/// The module-path prefix of the project's entities (every entity of the `entity` crate).
pub const ENTITIES: &str = "entity::*";

/// The flags of `generate`.
#[derive(Debug, Clone, Copy)]
pub struct Mode {
    pub custom: bool,
    pub dry_run: bool,
    pub check: bool,
    pub allow_drop: bool,
    pub safe: bool,
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
    let loaded = journal::load_dir(dir)?;
    if loaded.layout == journal::Layout::Folders {
        return super::generate_v1::run(global, name, mode, dir, &loaded).await;
    }
    let existing = loaded.migrations.len();
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
    if mode.safe && snapshot::has_snapshots(dir) {
        return Err(refuse_safe_with_snapshots(dir));
    }
    let target = Target::resolve(global).await?;
    let options = Options {
        // --check reports every difference; refusing would hide the drops it must show.
        allow_drop: mode.allow_drop || mode.check,
        safe: mode.safe,
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
        return check(generated, dir, existing);
    }
    let generated = generated?;
    if generated.migrations.is_empty() {
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
            print_rehearsal(&nothing, rehearsal, &[]);
        }
        return Ok(exit::OK);
    }
    let files: Vec<(String, &GeneratedMigration)> = generated
        .migrations
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let name = match &m.suffix {
                Some(suffix) => format!("{name}_{suffix}"),
                None => name.to_string(),
            };
            (format!("{:04}_{name}", existing + i), m)
        })
        .collect();
    let report = lint_files(dir, &files);
    let rehearsed = match rehearsal {
        Some(rehearsal) => {
            let rehearsed = rehearse_plan(global, rehearsal, dir, &files).await?;
            if !json {
                println!("{rehearsed}");
            }
            if !rehearsed.passed() {
                if json {
                    print_rehearsal(&rehearsed, rehearsal, &[]);
                }
                let code = super::rehearsal::verdict(&rehearsed);
                eprintln!("generate: nothing was written");
                return Ok(code);
            }
            Some((rehearsed, rehearsal))
        }
        None => None,
    };
    if mode.dry_run {
        print_sql(&files, json);
        print_findings_as_comments(&report, json);
        let statements: usize = files.iter().map(|(_, m)| m.statements.len()).sum();
        eprintln!(
            "dry run: {} migration(s), {statements} statement(s), verified on scratch databases; nothing written",
            files.len()
        );
        if let Some((rehearsed, rehearsal)) = &rehearsed
            && json
        {
            print_rehearsal(rehearsed, *rehearsal, &[]);
        }
        return Ok(exit::OK);
    }
    // Built before anything is written: a failure here leaves the folder as it was (never for
    // --safe, refused in a folder with snapshots).
    let all_statements: Vec<String> = files
        .iter()
        .flat_map(|(_, m)| m.statements.iter().cloned())
        .collect();
    let snapshot = schema_snapshot(target.url(), dir, &all_statements).await?;
    let added = add_migrations(dir, name, &files, snapshot)?;
    for added in &added {
        print_added(added, dir, json);
    }
    say!(
        json,
        "{} statement(s), verified: applied after the existing migrations they give the entities' schema",
        all_statements.len()
    );
    if json {
        eprint!("{}", report.render());
    } else {
        print!("{}", report.render());
    }
    if !report.passes() && !mode.safe {
        say!(
            json,
            "the lint findings above fail `migration lint` until each statement is rewritten or allowed: `migration generate <name> --safe` writes the safe forms for indexes, foreign keys, CHECKs, NOT NULL and unique constraints"
        );
    }
    let tags: Vec<&str> = added.iter().map(|a| a.tag.as_str()).collect();
    say!(
        json,
        "next: review {}, then build and commit {}",
        tags.iter()
            .map(|t| format!("{t}.sql"))
            .collect::<Vec<_>>()
            .join(", "),
        if tags.len() == 1 { "it" } else { "them" }
    );
    if let Some((rehearsed, rehearsal)) = &rehearsed
        && json
    {
        let written: Vec<PathBuf> = added.iter().map(|a| a.sql_path.clone()).collect();
        print_rehearsal(rehearsed, *rehearsal, &written);
    }
    Ok(exit::OK)
}

/// The rehearsal's JSON, with `written`: the files written (none when nothing was).
fn print_rehearsal(report: &Report, rehearsal: Rehearsal<'_>, written: &[PathBuf]) {
    let database = app_db::url::redact(rehearsal.url);
    let mut value = super::rehearsal::json(report, &database);
    if let Value::Object(map) = &mut value {
        map.insert(
            "written".into(),
            Value::Array(
                written
                    .iter()
                    .map(|p| Value::String(p.display().to_string()))
                    .collect(),
            ),
        );
    }
    println!(
        "{}",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    );
}

/// Rehearses the migrations about to be written on `--rehearse`'s database, after the
/// folder's migrations it has not applied yet, each as `NNNN_<name> (planned)`.
async fn rehearse_plan(
    global: &GlobalArgs,
    rehearsal: Rehearsal<'_>,
    dir: &Path,
    files: &[(String, &GeneratedMigration)],
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
        planned.extend(files.iter().map(|(tag, m)| Planned {
            tag: format!("{tag} (planned)"),
            transaction: m.transaction,
            statements: m.statements.clone(),
        }));
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

/// `--safe` in a folder drizzle-kit (and so drizzle-orm) also works on.
fn refuse_safe_with_snapshots(dir: &Path) -> Error {
    Error::Refused {
        reason: format!(
            "--safe refused: {} carries drizzle-kit snapshots (meta/*_snapshot.json), so the TypeScript app's drizzle-orm runs this folder too, and drizzle-orm's migrator runs every migration inside one transaction: CREATE INDEX CONCURRENTLY fails there, and a VALIDATE right after its NOT VALID would keep the strong lock through the scan",
            dir.display()
        ),
        fix: "generate without --safe (drizzle-kit's forms, which drizzle-orm runs), or apply this folder with app-db only and remove the snapshots; nothing was written".into(),
    }
}

/// The lint of the files about to be written, named as they will be.
fn lint_files(dir: &Path, files: &[(String, &GeneratedMigration)]) -> lint::LintReport {
    let shown = super::lint::shown(dir);
    lint::LintReport {
        migrations: files
            .iter()
            .map(|(tag, m)| {
                let file = shown.join(format!("{tag}.sql"));
                lint::lint_sql(tag, &file.display().to_string(), &m.text(), m.transaction)
            })
            .collect(),
    }
}

/// The SQL on stdout: drizzle-kit's one file as it is; several files each under a comment
/// naming it.
fn print_sql(files: &[(String, &GeneratedMigration)], json: bool) {
    if let [(_, only)] = files {
        say!(json, "{}", only.text());
        return;
    }
    for (i, (tag, m)) in files.iter().enumerate() {
        if i > 0 {
            say!(json, "");
        }
        say!(
            json,
            "-- {tag}.sql ({}):",
            if m.transaction {
                "one transaction"
            } else {
                "no transaction: each statement commits on its own"
            }
        );
        say!(json, "{}", m.text());
    }
}

/// Findings under the SQL as SQL comments, so the output stays valid SQL; nothing when clean.
fn print_findings_as_comments(report: &lint::LintReport, json: bool) {
    if report
        .migrations
        .iter()
        .all(|m| m.findings.is_empty() && m.directives.is_empty() && m.unparsed.is_empty())
    {
        return;
    }
    say!(json, "");
    for line in report.render().lines() {
        say!(json, "-- lint: {line}");
    }
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

/// `--check`: prints what it found (the reconciling SQL on stdout with its lint findings as
/// comments, or the reason generate cannot write it) and returns the exit code. `existing` is
/// the number of migrations in `dir`, to name the file that would be written.
fn check(generated: Result<Generated, Error>, dir: &Path, existing: usize) -> Result<u8, Error> {
    let outcome = check_outcome(generated)?;
    match &outcome {
        Check::Agree => println!("no schema changes"),
        Check::Reconcile(text) => {
            println!("{text}");
            let file = super::lint::shown(dir).join(format!("{existing:04}_<name>.sql"));
            print_findings_as_comments(
                &lint::LintReport {
                    migrations: vec![lint::lint_sql(
                        &format!("{existing:04}_<name>"),
                        &file.display().to_string(),
                        text,
                        true,
                    )],
                },
                false,
            );
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

/// Writes the generated files one after the other (the snapshot, in a folder that has them, with
/// the only one: `--safe` is refused there); if one fails, takes back the ones written before
/// it and restores the journal, so the folder is as it was.
fn add_migrations(
    dir: &Path,
    name: &str,
    files: &[(String, &GeneratedMigration)],
    snapshot: Option<NextSnapshot>,
) -> Result<Vec<Added>, Error> {
    let journal_path = dir.join(journal::JOURNAL_PATH);
    let journal_before = std::fs::read(&journal_path).map_err(|source| Error::Io {
        action: "read",
        path: journal_path.clone(),
        source,
    })?;
    let mut snapshot = snapshot;
    let mut added: Vec<Added> = Vec::new();
    for (_, migration) in files {
        let name = match &migration.suffix {
            Some(suffix) => format!("{name}_{suffix}"),
            None => name.to_string(),
        };
        match add_migration(dir, &name, &migration.text(), snapshot.take()) {
            Ok(done) => added.push(done),
            Err(e) => {
                for done in &added {
                    let _ = std::fs::remove_file(&done.sql_path);
                    if let Some(path) = &done.snapshot_path {
                        let _ = std::fs::remove_file(path);
                    }
                }
                let _ = std::fs::write(&journal_path, &journal_before);
                return Err(e);
            }
        }
    }
    Ok(added)
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
