//! Shared helpers of the CLI tests: run the built binary, make temp folders, find psql.

#![allow(dead_code)] // each test file uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Both streams, for assertions about everything printed.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// Runs the built `migration` binary with a clean environment for the variables it reads.
pub fn migration(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_migration"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("APP_DB_MIGRATIONS_SCHEMA")
        .env_remove("APP_DB_MIGRATIONS_TABLE")
        .env_remove("APP_DB_LOCK_TIMEOUT")
        .env_remove("APP_DB_DDL_LOCK_TIMEOUT")
        .env_remove("APP_DB_DDL_RETRY_BUDGET")
        .env_remove("APP_DB_ALLOW_OUT_OF_ORDER")
        .env_remove("APP_DB_ALLOW_MODIFIED")
        .env_remove("DATABASE_READ_URL")
        .env_remove("APP_DB_WAIT_REPLICAS_TIMEOUT")
        .env("APP_DB_LOG", "warn")
        .env("NO_COLOR", "1")
        .output()
        .expect("the migration binary runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Runs the binary against `url` (`-u url` first, then `args`).
pub fn migration_on(url: &str, args: &[&str]) -> Run {
    let mut all = vec!["-u", url];
    all.extend_from_slice(args);
    migration(&all)
}

/// The workspace's real migration folder (never modified by tests: they work on copies).
pub fn migrations_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations")
}

/// A new empty folder under the system temp folder.
pub fn temp_dir(label: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "app-db-cli-{label}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create a temp folder");
    dir
}

/// Copies a folder tree.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("read folder") {
        let entry = entry.expect("folder entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// A temporary copy of the project's migration folder without its last migration
/// (0008_saas_metrics_daily), so the project's entities are one table ahead of it.
pub fn folder_without_last(label: &str) -> PathBuf {
    let dir = temp_dir(label);
    copy_tree(&migrations_dir(), &dir);
    std::fs::remove_file(dir.join("0008_saas_metrics_daily.sql")).expect("remove 0008");
    let journal = dir.join("meta/_journal.json");
    let mut value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&journal).expect("journal")).expect("json");
    value["entries"].as_array_mut().expect("entries").pop();
    std::fs::write(
        &journal,
        serde_json::to_string_pretty(&value).expect("json"),
    )
    .expect("write");
    dir
}
