//! Building app-db itself with a broken `APP_DB_MIGRATIONS_DIR` fails with the folder's error.
//!
//! The other compile-fail cases use the small `tests/build-check/` crate; this one test checks
//! that app-db's own build.rs is wired the same way. It builds in a target dir of its own
//! (`<target>/real-build`): the shared one is locked by the `cargo test` running us, and a
//! failed build-script run there would make the next `cargo test` recompile app-db and all its
//! dependents. Cargo stops scheduling once the build script fails, so only the build script's
//! dependencies and whatever was already compiling get built: the first run costs some seconds,
//! later ones about one.

use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn building_app_db_with_a_broken_folder_fails() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target: PathBuf = std::env::current_exe()
        .expect("the test binary knows its path")
        .ancestors()
        .nth(3)
        .expect("the test binary lives in <target>/<profile>/deps")
        .join("real-build");
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--package", "app-db", "--lib", "--manifest-path"])
        .arg(root.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        // Relative to the workspace root, to check that resolution too.
        .env(
            "APP_DB_MIGRATIONS_DIR",
            "tests/fixtures/journal/unlisted-file",
        )
        .env("CARGO_TERM_COLOR", "never")
        .output()
        .unwrap_or_else(|error| panic!("cannot run cargo ({error}); this test needs cargo"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the build must fail:\n{stderr}");
    assert!(
        stderr.contains("failed to run custom build command for `app-db"),
        "{stderr}"
    );
    let expected_path = root.join("tests/fixtures/journal/unlisted-file/0002_c.sql");
    assert!(
        stderr.contains(&format!(
            "{} has no entry in meta/_journal.json",
            expected_path.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "folder chosen by APP_DB_MIGRATIONS_DIR=tests/fixtures/journal/unlisted-file"
        ),
        "{stderr}"
    );
}
