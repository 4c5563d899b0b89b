//! `upgrade-folder`: converts a journal folder (drizzle-kit 0.x) to drizzle-kit 1.0's folder
//! layout, with the result of `drizzle-kit up` 1.0.0-rc.5, never half-converted.
//!
//! What `drizzle-kit up` does, and so what this writes: each journal entry becomes the folder
//! `<YYYYMMDDHHMMSS of when, UTC>_<tag after its first _>` holding the entry's file as
//! `migration.sql` (byte for byte) and its `meta/NNNN_snapshot.json` converted to snapshot
//! format 9 as `snapshot.json`; `meta/` goes. `drizzle-kit up` refuses an entry whose folder
//! would sort before its parent's (entries less than a second apart), changing nothing.
//!
//! Unlike `drizzle-kit up`, which moves files inside the folder one by one, the new folder is
//! written beside the old one (`<dir>.upgrade-partial`), checked with the build's own rules,
//! renamed `<dir>.upgrade-ready` once complete, and swapped in with two renames (the old folder
//! passes through `<dir>.upgrade-journal` and is then deleted). Whatever interrupts it, a rerun
//! finishes the conversion or starts it over; the folder is never left half-converted.
//! app-db also refuses any two entries in one second (drizzle-kit only those whose folder
//! names would sort wrongly): drizzle-orm 1.0 matches old bookkeeping rows to migrations by
//! second, and the build refuses two folders with one time.

use std::collections::BTreeSet;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use app_db::Error;
use app_db::journal::{self, Layout, LoadedJournal, MigrationFile, timestamp};

use crate::exit;
use crate::snapshot::v9;

/// Where the new folder is written, until it is complete.
const PARTIAL: &str = "upgrade-partial";
/// The complete new folder, before the swap.
const READY: &str = "upgrade-ready";
/// The old folder during the swap.
const OLD: &str = "upgrade-journal";

pub fn run(dir: &Path, dry_run: bool) -> Result<u8, Error> {
    let sibling = |suffix: &str| sibling(dir, suffix);
    let (partial, ready, old) = (sibling(PARTIAL), sibling(READY), sibling(OLD));

    // A previous run that was interrupted: finish it, or start over.
    if !dry_run && exists(&partial)? {
        remove_dir(&partial)?;
        eprintln!(
            "removed {}, left by an interrupted conversion; converting again",
            partial.display()
        );
    }
    if exists(&ready)? {
        if exists(dir)? {
            // The swap had not started: the old folder is intact; convert it again.
            if !dry_run {
                remove_dir(&ready)?;
            }
        } else if exists(&old)? {
            if dry_run {
                println!(
                    "dry run: an interrupted conversion would be finished: {} becomes {}",
                    ready.display(),
                    dir.display()
                );
                return Ok(exit::OK);
            }
            rename(&ready, dir)?;
            remove_dir(&old)?;
            println!(
                "finished an interrupted conversion: {} is in the drizzle-kit 1.0 layout",
                dir.display()
            );
            return Ok(exit::OK);
        } else {
            return Err(Error::Refused {
                reason: format!(
                    "found {} (a converted folder) but neither {} nor {}",
                    ready.display(),
                    dir.display(),
                    old.display()
                ),
                fix: format!(
                    "if {} is the conversion of your folder, rename it to {}; otherwise delete it and run upgrade-folder again",
                    ready.display(),
                    dir.display()
                ),
            });
        }
    }

    let loaded = journal::load_dir(dir)?;
    if loaded.layout == Layout::Folders {
        if exists(&old)? && !dry_run {
            // Swapped, not yet cleaned up.
            remove_dir(&old)?;
        }
        println!(
            "{} is already in the drizzle-kit 1.0 layout ({} migration(s)): nothing to do",
            dir.display(),
            loaded.migrations.len()
        );
        return Ok(exit::OK);
    }
    if exists(&old)? {
        return Err(Error::Refused {
            reason: format!(
                "{} exists beside the journal folder {}",
                old.display(),
                dir.display()
            ),
            fix: format!(
                "it is the journal folder of an earlier conversion that was put back by hand: compare it with {}, delete it, and run upgrade-folder again",
                dir.display()
            ),
        });
    }

    let plan = plan(dir, &loaded)?;
    let snapshots = read_snapshots(dir, &loaded)?;
    let converted = match &snapshots {
        Some(snapshots) => Some(v9::convert_chain(snapshots).map_err(|e| Error::Refused {
            reason: format!(
                "cannot convert the snapshots of {} to snapshot format 9: {e}",
                dir.display()
            ),
            fix: "nothing was changed; convert the folder with `drizzle-kit up` (drizzle-kit 1.0), or remove meta/*_snapshot.json if no drizzle-kit reads this folder".into(),
        })?),
        None => None,
    };

    if dry_run {
        println!(
            "dry run: {} would become the drizzle-kit 1.0 layout:",
            dir.display()
        );
        for (migration, folder) in loaded.migrations.iter().zip(&plan) {
            println!("  {}.sql → {folder}/migration.sql", migration.tag);
        }
        println!(
            "  {}",
            if converted.is_some() {
                "meta/NNNN_snapshot.json → <folder>/snapshot.json (snapshot format 9); meta/ removed"
            } else {
                "no snapshots (meta/ holds only the journal); meta/ removed"
            }
        );
        return Ok(exit::OK);
    }

    write_partial(dir, &partial, &loaded, &plan, converted.as_deref())?;
    check_partial(&partial, &loaded, &plan)?;
    rename(&partial, &ready)?;
    rename(dir, &old)?;
    rename(&ready, dir)?;
    remove_dir(&old)?;

    println!(
        "converted {} to the drizzle-kit 1.0 layout: {} migration(s){}",
        dir.display(),
        plan.len(),
        if converted.is_some() {
            ", snapshots in format 9"
        } else {
            ""
        }
    );
    for (migration, folder) in loaded.migrations.iter().zip(&plan) {
        println!("  {} → {folder}", migration.tag);
    }
    println!(
        "next: rebuild (the build embeds the new layout); on each database the next `migration up` (or init()) upgrades the bookkeeping table to drizzle-orm 1.0's shape, naming its rows after these folders, as drizzle-orm 1.0 does"
    );
    Ok(exit::OK)
}

/// The 1.0 folder name of each entry, refusing entries in one second (pure).
fn plan(dir: &Path, loaded: &LoadedJournal) -> Result<Vec<String>, Error> {
    let used: BTreeSet<i64> = loaded
        .migrations
        .iter()
        .map(|m| m.when.div_euclid(1000))
        .collect();
    for pair in loaded.migrations.windows(2) {
        let (parent, child) = (&pair[0], &pair[1]);
        if parent.when.div_euclid(1000) == child.when.div_euclid(1000) {
            return Err(same_second(dir, parent, child, &used));
        }
    }
    Ok(loaded.migrations.iter().map(|m| m.name.clone()).collect())
}

/// The refusal for two entries in one second, with a fix that keeps old bookkeeping rows
/// matchable.
fn same_second(
    dir: &Path,
    parent: &MigrationFile,
    child: &MigrationFile,
    used: &BTreeSet<i64>,
) -> Error {
    let second = parent.when.div_euclid(1000);
    let (earlier, later) = (second - 1, second + 1);
    let suggestion = if !used.contains(&earlier) && !used.contains(&later) {
        format!(
            "e.g. `when` {} for {} and {} for {} (each in a second of its own, in the same order)",
            earlier * 1000 + parent.when.rem_euclid(1000),
            parent.tag,
            later * 1000 + child.when.rem_euclid(1000),
            child.tag
        )
    } else {
        "each in a second no other entry uses, in the same order".to_string()
    };
    Error::Refused {
        reason: format!(
            "journal entries {} and {} of {} are less than a second apart (when {} and {}): drizzle-kit 1.0 names each folder after the second of its entry's `when`, and both would be {}_…; nothing was changed",
            parent.tag,
            child.tag,
            dir.join(journal::JOURNAL_PATH).display(),
            parent.when,
            child.when,
            timestamp::folder_timestamp(parent.when)
        ),
        fix: format!(
            "in meta/_journal.json move both entries out of that second, {suggestion}, then run upgrade-folder again; moving only {} (what drizzle-kit suggests) would make drizzle-orm 1.0 match a database's old row of {} to {} (one migration left in that second) and run {} again",
            child.tag, child.tag, parent.tag, child.tag
        ),
    }
}

/// The drizzle-kit snapshot of every entry (`meta/<prefix>_snapshot.json`, prefix = the tag
/// before its first `_`, as drizzle-kit looks it up), `None` when the folder has none at all.
fn read_snapshots(dir: &Path, loaded: &LoadedJournal) -> Result<Option<Vec<v9::Source>>, Error> {
    let meta = dir.join("meta");
    let any = fs::read_dir(&meta)
        .map_err(io("list", &meta))?
        .filter_map(Result::ok)
        .any(|entry| {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            !name.starts_with('_') && name.ends_with(".json")
        });
    if !any {
        return Ok(None);
    }
    let mut sources = Vec::with_capacity(loaded.migrations.len());
    for migration in &loaded.migrations {
        let prefix = migration.tag.split('_').next().unwrap_or(&migration.tag);
        let path = meta.join(format!("{prefix}_snapshot.json"));
        let text = fs::read_to_string(&path).map_err(|source| {
            if source.kind() == ErrorKind::NotFound {
                Error::Refused {
                    reason: format!(
                        "{} has drizzle-kit snapshots but not {} (entry {}); drizzle-kit up refuses such a folder too (\"No snapshot was found\")",
                        dir.display(),
                        path.display(),
                        migration.tag
                    ),
                    fix: "restore the snapshot from version control, or remove every meta/*_snapshot.json if no drizzle-kit reads this folder; nothing was changed".into(),
                }
            } else {
                io("read", &path)(source)
            }
        })?;
        sources.push(v9::Source { path, text });
    }
    Ok(Some(sources))
}

/// Writes the whole new folder into `partial`.
fn write_partial(
    dir: &Path,
    partial: &Path,
    loaded: &LoadedJournal,
    plan: &[String],
    snapshots: Option<&[String]>,
) -> Result<(), Error> {
    create_dir(partial)?;
    for (i, (migration, folder)) in loaded.migrations.iter().zip(plan).enumerate() {
        let target = partial.join(folder);
        create_dir(&target)?;
        // The bytes of the file, not the text read: migration.sql must hash the same.
        let bytes = fs::read(&migration.path).map_err(io("read", &migration.path))?;
        write_file(&target.join(journal::MIGRATION_SQL), &bytes)?;
        if let Some(snapshots) = snapshots {
            write_file(
                &target.join(journal::layout_v1::SNAPSHOT_JSON),
                snapshots[i].as_bytes(),
            )?;
        }
        sync_dir(&target)?;
    }
    // Everything else in the folder stays (a README, other folders); the .sql files and meta/
    // are what was converted.
    for entry in fs::read_dir(dir).map_err(io("list", dir))? {
        let entry = entry.map_err(io("list", dir))?;
        let name = entry.file_name();
        let text = name.to_string_lossy();
        if text == "meta" || text.ends_with(".sql") {
            continue;
        }
        copy_tree(&entry.path(), &partial.join(&name))?;
    }
    sync_dir(partial)
}

/// The new folder must be what the build reads as the same migrations, in the 1.0 layout.
fn check_partial(partial: &Path, loaded: &LoadedJournal, plan: &[String]) -> Result<(), Error> {
    let converted = journal::load_dir(partial).map_err(|e| Error::Refused {
        reason: format!(
            "the converted folder {} does not pass the build's rules: {e}",
            partial.display()
        ),
        fix: "nothing was changed in the journal folder; report this, and convert with `drizzle-kit up` meanwhile".into(),
    })?;
    let same = converted.layout == Layout::Folders
        && converted.migrations.len() == loaded.migrations.len()
        && converted
            .migrations
            .iter()
            .zip(&loaded.migrations)
            .zip(plan)
            .all(|((new, old), folder)| {
                new.tag == *folder && new.name == old.name && new.hash == old.hash
            });
    if same {
        Ok(())
    } else {
        Err(Error::Refused {
            reason: format!(
                "the converted folder {} does not hold the journal's migrations in order",
                partial.display()
            ),
            fix: "nothing was changed in the journal folder; report this, and convert with `drizzle-kit up` meanwhile".into(),
        })
    }
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let name = dir
        .file_name()
        .map_or_else(|| "migrations".into(), |n| n.to_string_lossy().into_owned());
    dir.with_file_name(format!("{name}.{suffix}"))
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_owned();
    move |source| Error::Io {
        action,
        path,
        source,
    }
}

fn exists(path: &Path) -> Result<bool, Error> {
    match fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(io("inspect", path)(e)),
    }
}

fn remove_dir(path: &Path) -> Result<(), Error> {
    fs::remove_dir_all(path).map_err(io("remove", path))
}

fn create_dir(path: &Path) -> Result<(), Error> {
    fs::create_dir(path).map_err(io("create", path))
}

fn rename(from: &Path, to: &Path) -> Result<(), Error> {
    fs::rename(from, to).map_err(io("rename", from))?;
    if let Some(parent) = to.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let mut file = fs::File::create(path).map_err(io("create", path))?;
    file.write_all(bytes).map_err(io("write", path))?;
    file.sync_all().map_err(io("sync", path))
}

/// Makes a folder's entries durable (the renames and files in it survive a power cut).
fn sync_dir(path: &Path) -> Result<(), Error> {
    fs::File::open(path)
        .and_then(|dir| dir.sync_all())
        .map_err(io("sync", path))
}

fn copy_tree(from: &Path, to: &Path) -> Result<(), Error> {
    let metadata = fs::metadata(from).map_err(io("inspect", from))?;
    if metadata.is_dir() {
        create_dir(to)?;
        for entry in fs::read_dir(from).map_err(io("list", from))? {
            let entry = entry.map_err(io("list", from))?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
        Ok(())
    } else {
        let bytes = fs::read(from).map_err(io("read", from))?;
        write_file(to, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(idx: u32, tag: &str, when: i64) -> MigrationFile {
        MigrationFile {
            idx,
            tag: tag.to_owned(),
            name: timestamp::upgraded_name(tag, when),
            layout: Layout::Journal,
            when,
            breakpoints: true,
            sql: "SELECT 1;".to_owned(),
            hash: String::new(),
            path: PathBuf::from(format!("/m/{tag}.sql")),
            transaction: true,
        }
    }

    fn loaded(files: Vec<MigrationFile>) -> LoadedJournal {
        LoadedJournal {
            layout: Layout::Journal,
            migrations: files,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn folders_are_named_as_drizzle_kit_up_names_them() {
        let names = plan(
            Path::new("/m"),
            &loaded(vec![
                file(0, "0000_auth", 1_741_083_157_418),
                file(1, "0001_organizations", 1_741_707_602_903),
            ]),
        )
        .expect("a second apart");
        assert_eq!(
            names,
            ["20250304101237_auth", "20250311154002_organizations"]
        );
    }

    #[test]
    fn entries_in_one_second_are_refused_with_a_fix_for_both() {
        let error = plan(
            Path::new("/m"),
            &loaded(vec![
                file(0, "0000_before", 1_795_635_013_263),
                file(1, "0001_after", 1_795_635_013_980),
            ]),
        )
        .expect_err("one second");
        let text = error.to_string();
        assert!(
            text.contains("0000_before and 0001_after of /m/meta/_journal.json are less than a second apart (when 1795635013263 and 1795635013980)"),
            "{text}"
        );
        assert!(
            text.contains("`when` 1795635012263 for 0000_before and 1795635014980 for 0001_after"),
            "{text}"
        );
        assert!(text.contains("nothing was changed"), "{text}");
    }

    #[test]
    fn work_folders_sit_beside_the_folder() {
        assert_eq!(
            sibling(Path::new("/repo/migration/migrations"), PARTIAL),
            PathBuf::from("/repo/migration/migrations.upgrade-partial")
        );
    }
}
