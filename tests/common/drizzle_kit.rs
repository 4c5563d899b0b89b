//! Driving the real drizzle-kit 0.31 (pinned in `tests/drizzle-interop/`): `generate`,
//! `generate --custom` and `check`, offline (none of them connects to a database).
//!
//! Included with `#[path]` next to `drizzle.rs`, which the includer must name `drizzle`:
//! ```ignore
//! #[path = "common/drizzle.rs"]
//! mod drizzle;
//! #[path = "common/drizzle_kit.rs"]
//! mod drizzle_kit;
//! ```
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use super::drizzle::ensure_node_project;

/// The generate fixtures: drizzle-kit's output per change class (see its README.md).
pub fn fixtures_dir() -> PathBuf {
    super::drizzle::repo_root().join("tests/fixtures/generate")
}

/// Every class folder of the generate fixtures, in name order.
pub fn fixture_classes() -> Vec<PathBuf> {
    let dir = fixtures_dir();
    let mut classes: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("folder entry").path())
        .filter(|p| p.is_dir())
        .collect();
    classes.sort();
    classes
}

/// A text file, or a panic naming it.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A JSON file, or a panic naming it.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// drizzle-kit joins statements with this marker and a newline.
pub const BREAKPOINT: &str = "--> statement-breakpoint";

/// The installed drizzle-kit executable; panics (never skips) saying what to run if the
/// pinned packages cannot be installed or drizzle-kit is missing from them.
pub fn kit() -> PathBuf {
    let dir = ensure_node_project();
    let kit = dir.join("node_modules/.bin/drizzle-kit");
    assert!(
        kit.is_file(),
        "{} is missing: run `npm ci` in {} (drizzle-kit 0.31.11 is pinned in its package-lock.json)",
        kit.display(),
        dir.display()
    );
    kit
}

/// What one drizzle-kit run printed, for error messages.
fn describe(what: &str, out: &std::process::Output) -> String {
    format!(
        "{what} ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `drizzle-kit <args>` run in the parent of `out` with `--out <out's name>`.
///
/// drizzle-kit 0.31 reads an absolute `--out` back as `./<path>`, so the folder is always
/// given relative to the working directory. stdin is empty, so a rename prompt fails instead
/// of waiting, unless `answers` names a file of answers: then drizzle-kit runs in a
/// pseudo-terminal and `answer-prompts.py` presses the keys it names (needs `python3`). The
/// schema files import `drizzle-orm/pg-core`, found through `NODE_PATH`.
fn run(out: &Path, args: &[&str], answers: Option<&Path>) -> Result<std::process::Output, String> {
    let kit = kit();
    let parent = out
        .parent()
        .ok_or_else(|| format!("{} has no parent folder", out.display()))?;
    let name = out
        .file_name()
        .ok_or_else(|| format!("{} has no folder name", out.display()))?;
    let node_modules = kit
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("{} is not in node_modules/.bin", kit.display()))?;
    std::fs::create_dir_all(parent).map_err(|e| format!("create {}: {e}", parent.display()))?;
    let mut command = match answers {
        Some(answers) => {
            let driver = node_modules
                .parent()
                .ok_or("node_modules has no parent folder")?
                .join("answer-prompts.py");
            let mut c = Command::new("python3");
            c.arg(driver).arg(answers).arg(&kit);
            c
        }
        None => Command::new(&kit),
    };
    command
        .args(args)
        .arg("--dialect")
        .arg("postgresql")
        .arg("--out")
        .arg(name)
        .current_dir(parent)
        .env("NODE_PATH", node_modules)
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            format!(
                "cannot run {} (python3 for answered prompts): {e}",
                kit.display()
            )
        })
}

/// The number of journal entries in `out`, 0 when there is no journal yet.
fn entry_count(out: &Path) -> Result<usize, String> {
    let path = out.join("meta/_journal.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(0);
    };
    let journal: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(journal["entries"].as_array().map_or(0, Vec::len))
}

/// The path of the file of the journal's last entry in `out`.
fn last_file(out: &Path) -> Result<PathBuf, String> {
    let path = out.join("meta/_journal.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let journal: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let tag = journal["entries"]
        .as_array()
        .and_then(|entries| entries.last())
        .and_then(|entry| entry["tag"].as_str())
        .ok_or_else(|| format!("{} has no last entry with a tag", path.display()))?;
    Ok(out.join(format!("{tag}.sql")))
}

/// `drizzle-kit generate --schema <schema_ts> --out <out> --name <name>`: the path of the SQL
/// file it wrote, or `None` when it found no schema changes.
///
/// drizzle-kit exits 0 after some failures (an unreadable snapshot, for one), so success is
/// a new journal entry whose file exists.
pub fn generate(schema_ts: &Path, out: &Path, name: &str) -> Result<Option<PathBuf>, String> {
    generate_answering(schema_ts, out, name, None)
}

/// [`generate`], answering drizzle-kit's rename prompts from `answers` (see [`run`]).
pub fn generate_answering(
    schema_ts: &Path,
    out: &Path,
    name: &str,
    answers: Option<&Path>,
) -> Result<Option<PathBuf>, String> {
    let before = entry_count(out)?;
    let schema = schema_ts.to_str().ok_or("schema path is not UTF-8")?;
    let output = run(
        out,
        &["generate", "--schema", schema, "--name", name],
        answers,
    )?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if output.status.success()
        && entry_count(out)? == before
        && stdout.contains("No schema changes")
    {
        return Ok(None);
    }
    let file =
        last_file(out).map_err(|e| describe(&format!("drizzle-kit generate: {e}"), &output))?;
    if !output.status.success() || entry_count(out)? != before + 1 || !file.is_file() {
        return Err(describe(
            "drizzle-kit generate wrote no new migration",
            &output,
        ));
    }
    Ok(Some(file))
}

/// `drizzle-kit generate --custom`: the path of the placeholder file it wrote. drizzle-kit
/// still reads the schema (`schema_ts`), though it writes the previous snapshot again.
pub fn custom(schema_ts: &Path, out: &Path, name: &str) -> Result<PathBuf, String> {
    let before = entry_count(out)?;
    let schema = schema_ts.to_str().ok_or("schema path is not UTF-8")?;
    let output = run(
        out,
        &["generate", "--custom", "--schema", schema, "--name", name],
        None,
    )?;
    let file = last_file(out)
        .map_err(|e| describe(&format!("drizzle-kit generate --custom: {e}"), &output))?;
    if !output.status.success() || entry_count(out)? != before + 1 || !file.is_file() {
        return Err(describe(
            "drizzle-kit generate --custom wrote nothing",
            &output,
        ));
    }
    Ok(file)
}

/// `drizzle-kit check --out <out>`: Ok when drizzle-kit accepts the folder's snapshots (valid,
/// latest version, no two pointing at the same parent), else what it printed.
///
/// drizzle-kit reports problems on stdout and may exit 0 anyway; its only success message is
/// "Everything's fine".
pub fn check(out: &Path) -> Result<(), String> {
    let output = run(out, &["check"], None)?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if output.status.success() && stdout.contains("Everything's fine") {
        Ok(())
    } else {
        Err(describe("drizzle-kit check rejected the folder", &output))
    }
}

/// The statements of a drizzle-kit SQL file: the text split on the breakpoint marker, each
/// piece trimmed, empty pieces dropped.
pub fn statements(sql: &str) -> Vec<String> {
    sql.split(BREAKPOINT)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}
