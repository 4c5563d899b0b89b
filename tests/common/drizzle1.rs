//! Driving the real drizzle-orm and drizzle-kit 1.0 (release candidate rc.5, pinned in
//! `tests/drizzle1-interop/`), beside the 0.x ones of `drizzle.rs`.
//!
//! Included with `#[path]` together with `drizzle.rs` (which installs node projects), as
//! `mod drizzle1`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use super::drizzle::{install_in, repo_root};

/// The node project pinning drizzle-orm and drizzle-kit 1.0.0-rc.5 and pg.
pub fn project_dir() -> PathBuf {
    repo_root().join("tests/drizzle1-interop")
}

/// Makes sure the 1.0 project's `node_modules` matches its lockfile (`npm ci` at most once per
/// process); panics, saying what to install, without node and npm.
pub fn ensure_project() -> &'static Path {
    static READY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match READY.get_or_init(|| install_in(project_dir(), "drizzle1-interop-npm.lock")) {
        Ok(dir) => dir,
        Err(e) => panic!("{e}"),
    }
}

/// `node migrate.mjs migrate <folder> [--first K]` of the 1.0 project against `url`.
pub fn migrate_command(folder: &Path, url: &str, first: Option<usize>) -> Command {
    let dir = ensure_project();
    let mut cmd = Command::new("node");
    cmd.arg(dir.join("migrate.mjs"))
        .arg("migrate")
        .arg(folder)
        .env("DATABASE_URL", url);
    if let Some(k) = first {
        cmd.args(["--first", &k.to_string()]);
    }
    cmd
}

/// drizzle-orm 1.0's `migrate()` on `folder` (or its first `first` migrations) against `url`:
/// `Err` with drizzle's message when it fails.
pub fn migrate(folder: &Path, url: &str, first: Option<usize>) -> Result<(), String> {
    let output = migrate_command(folder, url, first)
        .output()
        .expect("run node");
    outcome(&output)
}

/// `Ok` when the command succeeded, else its output.
pub fn outcome(output: &Output) -> Result<(), String> {
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// The pinned `drizzle-kit` 1.0 executable.
pub fn kit() -> PathBuf {
    ensure_project().join("node_modules/.bin/drizzle-kit")
}

/// `drizzle-kit up --dialect postgresql --out <folder>` (1.0.0-rc.5), run in `folder`'s parent.
pub fn kit_up(folder: &Path) -> Output {
    let parent = folder.parent().expect("a folder with a parent");
    let name = folder.file_name().expect("a folder name");
    Command::new(kit())
        .args(["up", "--dialect", "postgresql", "--out"])
        .arg(name)
        .current_dir(parent)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run drizzle-kit up")
}
