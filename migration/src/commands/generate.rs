//! `generate <name> --custom`: a new hand-written migration, as drizzle-kit writes it.

use std::path::Path;

use app_db::{Error, journal};
use serde_json::{Value, json};

use crate::exit;
use crate::journal_json;
use crate::snapshot;

/// drizzle-kit's placeholder for `generate --custom`, written without a trailing newline.
pub const CUSTOM_PLACEHOLDER: &str = "-- Custom SQL migration file, put your code below! --";

pub fn run(name: &str, custom: bool, dir: &Path) -> Result<u8, Error> {
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
    if !custom {
        return Err(Error::Refused {
            reason: "generating a migration from a schema diff is not supported yet".into(),
            fix: format!(
                "write the SQL yourself: `migration generate {name} --custom`, or run drizzle-kit generate in the TypeScript app"
            ),
        });
    }
    // The same rules as the build: adding to a folder the build rejects would only hide why.
    journal::load_dir(dir)?;
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
    // drizzle-orm applies an entry only if its `when` is newer than the last applied one.
    let when = last_when.map_or(now, |last| now.max(last + 1));
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
    std::io::Write::write_all(&mut file, CUSTOM_PLACEHOLDER.as_bytes()).map_err(|source| {
        Error::Io {
            action: "write",
            path: sql_path.clone(),
            source,
        }
    })?;
    drop(file);
    // A folder carrying drizzle-kit snapshots gets the one drizzle-kit writes for --custom,
    // so that its chain stays valid for drizzle-kit.
    let snapshot_path = match custom_snapshot(dir, idx) {
        Ok(path) => path,
        Err(e) => {
            let _ = std::fs::remove_file(&sql_path);
            return Err(e);
        }
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
    println!("created {}", sql_path.display());
    if let Some(path) = &snapshot_path {
        println!("created {} (drizzle-kit's snapshot chain)", path.display());
    }
    println!(
        "added {tag} to {} (idx {idx}, when {when})",
        journal_path.display()
    );
    println!(
        "next: write your SQL below the placeholder comment, then build: until then the build rejects {tag}.sql (a migration with no statement)"
    );
    Ok(exit::OK)
}

/// In a folder with drizzle-kit snapshots, writes the snapshot of entry `idx` as drizzle-kit's
/// `generate --custom` does: the newest one again, chained onto it. `None` without snapshots.
fn custom_snapshot(dir: &Path, idx: usize) -> Result<Option<std::path::PathBuf>, Error> {
    if !snapshot::has_snapshots(dir) {
        return Ok(None);
    }
    let (_, previous) = snapshot::previous_snapshot(dir)?;
    let prev_id = previous["id"].as_str().unwrap_or_default().to_string();
    let custom = snapshot::custom_snapshot(&previous);
    snapshot::write_snapshot(dir, idx, custom, &prev_id).map(Some)
}
