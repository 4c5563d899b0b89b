//! Reading a migration folder from disk (the only I/O of the resolver besides codegen).

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::error::JournalError;
use super::layout::{Listing, Subfolder, resolve};
use super::model::{LoadedJournal, SourceFile};
use super::{JOURNAL_PATH, MIGRATION_SQL};

/// Reads the migration folder `dir`, in either layout, and resolves it with
/// [`resolve`]: the same rules, in the same order, as the build-time check.
///
/// Only the `.sql` files directly inside `dir`, the journal, and each sub-folder's
/// `migration.sql` are read; snapshots and other files are only listed. Warnings (CRLF, BOM)
/// are in [`LoadedJournal::warnings`].
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
    resolve(dir, read_listing(dir)?)
}

/// What [`resolve`] decides on: the journal, the files directly inside `dir` (bytes of the
/// `.sql` ones), and each folder inside it with its files (bytes of `migration.sql`).
pub fn read_listing(dir: &Path) -> Result<Listing, JournalError> {
    let mut listing = Listing::default();
    for (name, path, kind) in entries(dir).map_err(|error| match error {
        Failure::NotFound => JournalError::FolderMissing {
            path: dir.to_owned(),
        },
        Failure::Io(action, path, source) => JournalError::Io {
            action,
            path,
            source,
        },
    })? {
        match kind {
            Kind::Folder if name == "meta" => {
                listing.meta = true;
                let journal_path = dir.join(JOURNAL_PATH);
                match fs::read(&journal_path) {
                    Ok(bytes) => listing.journal = Some(bytes),
                    Err(error) if error.kind() == ErrorKind::NotFound => {}
                    Err(source) => return Err(io("read migration journal", &journal_path)(source)),
                }
            }
            Kind::Folder => {
                let mut folder = Subfolder {
                    name,
                    ..Subfolder::default()
                };
                for (inner, inner_path, inner_kind) in
                    entries(&path).map_err(|error| error.into_journal(&path))?
                {
                    match inner_kind {
                        Kind::Folder => folder.folders.push(inner),
                        Kind::File => {
                            let bytes = if inner == MIGRATION_SQL {
                                fs::read(&inner_path)
                                    .map_err(io("read migration file", &inner_path))?
                            } else {
                                Vec::new()
                            };
                            folder.files.push(SourceFile { name: inner, bytes });
                        }
                    }
                }
                listing.folders.push(folder);
            }
            Kind::File => {
                let bytes = if name.ends_with(".sql") {
                    fs::read(&path).map_err(io("read migration file", &path))?
                } else {
                    Vec::new()
                };
                listing.files.push(SourceFile { name, bytes });
            }
        }
    }
    Ok(listing)
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> JournalError {
    let path = path.to_owned();
    move |source| JournalError::Io {
        action,
        path,
        source,
    }
}

enum Kind {
    File,
    Folder,
}

enum Failure {
    NotFound,
    Io(&'static str, PathBuf, std::io::Error),
}

impl Failure {
    fn into_journal(self, dir: &Path) -> JournalError {
        match self {
            Self::NotFound => JournalError::Io {
                action: "list migration folder",
                path: dir.to_owned(),
                source: ErrorKind::NotFound.into(),
            },
            Self::Io(action, path, source) => JournalError::Io {
                action,
                path,
                source,
            },
        }
    }
}

/// The entries of `dir`: name, path, and whether it is a folder (symlinks followed, so a
/// symlinked migration is read like a file). A name that is not UTF-8 is converted lossily: it
/// cannot be a JSON tag or a 1.0 name, and must still be reported.
fn entries(dir: &Path) -> Result<Vec<(String, PathBuf, Kind)>, Failure> {
    let read = match fs::read_dir(dir) {
        Ok(read) => read,
        Err(error) if error.kind() == ErrorKind::NotFound => return Err(Failure::NotFound),
        Err(error) => return Err(Failure::Io("list migration folder", dir.to_owned(), error)),
    };
    let mut found = Vec::new();
    for entry in read {
        let entry =
            entry.map_err(|error| Failure::Io("list migration folder", dir.to_owned(), error))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let metadata = fs::metadata(&path)
            .map_err(|error| Failure::Io("inspect migration file", path.clone(), error))?;
        let kind = if metadata.is_dir() {
            Kind::Folder
        } else if metadata.is_file() {
            Kind::File
        } else {
            continue;
        };
        found.push((name, path, kind));
    }
    Ok(found)
}
