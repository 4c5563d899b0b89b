//! Reading a migration folder from disk (the only I/O of the resolver besides codegen).

use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use super::JOURNAL_PATH;
use super::error::JournalError;
use super::model::{LoadedJournal, SourceFile};
use super::validate::validate;

/// Reads the migration folder `dir` and resolves it with [`validate`]: the same rules, in the
/// same order, as the build-time check.
///
/// Only the `.sql` files directly inside `dir` are read; `meta/` snapshots and other files are
/// left alone. Warnings (CRLF, BOM) are in [`LoadedJournal::warnings`].
///
/// ```no_run
/// use std::path::Path;
///
/// let loaded = app_db::journal::load_dir(Path::new("migration/migrations"))?;
/// for warning in &loaded.warnings {
///     eprintln!("warning: {warning}");
/// }
/// for migration in &loaded.migrations {
///     println!("{} {} {}", migration.idx, migration.tag, migration.hash);
/// }
/// # Ok::<(), app_db::journal::JournalError>(())
/// ```
pub fn load_dir(dir: &Path) -> Result<LoadedJournal, JournalError> {
    let journal_path = dir.join(JOURNAL_PATH);
    let journal = match fs::read(&journal_path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == ErrorKind::NotFound => {
            return Err(JournalError::JournalMissing { path: journal_path });
        }
        Err(source) => {
            return Err(JournalError::Io {
                action: "read migration journal",
                path: journal_path,
                source,
            });
        }
    };
    validate(dir, &journal, read_sql_files(dir)?)
}

/// The `.sql` files directly inside `dir`, with their bytes.
fn read_sql_files(dir: &Path) -> Result<Vec<SourceFile>, JournalError> {
    let io_error = |action, path: &Path| {
        let path = path.to_owned();
        move |source| JournalError::Io {
            action,
            path,
            source,
        }
    };
    let mut files = Vec::new();
    for dir_entry in fs::read_dir(dir).map_err(io_error("list migration folder", dir))? {
        let dir_entry = dir_entry.map_err(io_error("list migration folder", dir))?;
        let path = dir_entry.path();
        // A name that is not UTF-8 cannot be `<tag>.sql` for a JSON tag, but if it ends in
        // `.sql` it must still be reported as unlisted, hence the lossy conversion.
        let name = dir_entry.file_name().to_string_lossy().into_owned();
        // `fs::metadata` follows symlinks, so a symlinked migration is read like a file.
        if !name.ends_with(".sql")
            || !fs::metadata(&path)
                .map_err(io_error("inspect migration file", &path))?
                .is_file()
        {
            continue;
        }
        let bytes = fs::read(&path).map_err(io_error("read migration file", &path))?;
        files.push(SourceFile { name, bytes });
    }
    Ok(files)
}
