//! The operating-system account the PostgreSQL server runs as.
//!
//! PostgreSQL refuses to start as root, and CI runs as root. When this process is root the
//! server runs as `APP_DB_PG_USER` (default `postgres`, else `nobody`); otherwise it runs as
//! the current user. Everything the server reads (binaries) or writes (data folder) must be
//! reachable by that account, which [`ServerAccount::check_reachable`] verifies up front so the
//! failure names the folder instead of surfacing as a cryptic initdb error.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::Error;

/// Who the server runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerAccount {
    /// The current (non-root) user.
    Current,
    /// An unprivileged account the root process switches to for initdb and postgres.
    Switch { name: String, uid: u32, gid: u32 },
}

impl ServerAccount {
    /// The account to use from this process: the current user unless it is root.
    pub fn detect() -> Result<Self, Error> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        let euid = unsafe { libc::geteuid() };
        if euid != 0 {
            return Ok(Self::Current);
        }
        let wanted = std::env::var("APP_DB_PG_USER")
            .ok()
            .filter(|v| !v.is_empty());
        let passwd = std::fs::read_to_string("/etc/passwd").map_err(|source| Error::Io {
            action: "read",
            path: PathBuf::from("/etc/passwd"),
            source,
        })?;
        let candidates: Vec<&str> = match &wanted {
            Some(name) => vec![name.as_str()],
            None => vec!["postgres", "nobody"],
        };
        for name in &candidates {
            if let Some((uid, gid)) = lookup_passwd(&passwd, name) {
                if uid == 0 {
                    continue;
                }
                return Ok(Self::Switch {
                    name: (*name).to_string(),
                    uid,
                    gid,
                });
            }
        }
        Err(Error::NoServerAccount {
            tried: candidates.join(", "),
        })
    }

    /// The uid and gid to switch to, if any.
    pub fn ids(&self) -> Option<(u32, u32)> {
        match self {
            Self::Current => None,
            Self::Switch { uid, gid, .. } => Some((*uid, *gid)),
        }
    }

    /// A name for messages.
    pub fn name(&self) -> String {
        match self {
            Self::Current => "the current user".to_string(),
            Self::Switch { name, .. } => format!("the `{name}` account"),
        }
    }

    /// Applies the account to a command that starts initdb, postgres or pg_ctl.
    pub fn apply(&self, cmd: &mut std::process::Command) {
        use std::os::unix::process::CommandExt;
        if let Some((uid, gid)) = self.ids() {
            cmd.uid(uid).gid(gid);
            // Keep the root's HOME out of the server's environment; it cannot read it.
            cmd.env_remove("HOME");
        }
    }

    /// Makes `dir` (created if missing) owned by the account, so the server can write there.
    pub fn own_dir(&self, dir: &Path) -> Result<(), Error> {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            action: "create folder",
            path: dir.to_path_buf(),
            source,
        })?;
        if let Some((uid, gid)) = self.ids() {
            std::os::unix::fs::chown(dir, Some(uid), Some(gid)).map_err(|source| Error::Io {
                action: "change owner of",
                path: dir.to_path_buf(),
                source,
            })?;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(
                |source| Error::Io {
                    action: "set permissions of",
                    path: dir.to_path_buf(),
                    source,
                },
            )?;
        }
        Ok(())
    }

    /// Whether the account can walk down to `path` (every ancestor searchable by it).
    pub fn can_reach(&self, path: &Path) -> bool {
        let Some((uid, gid)) = self.ids() else {
            return true;
        };
        let mut current = Some(path);
        while let Some(p) = current {
            if let Ok(meta) = std::fs::metadata(p) {
                let mode = meta.mode();
                let searchable = if meta.uid() == uid {
                    mode & 0o100 != 0
                } else if meta.gid() == gid {
                    mode & 0o010 != 0
                } else {
                    mode & 0o001 != 0
                };
                if meta.is_dir() && !searchable {
                    return false;
                }
            }
            current = p.parent();
        }
        true
    }

    /// Fails with a message naming the folder when the account cannot reach it.
    pub fn check_reachable(&self, path: &Path, what: &'static str) -> Result<(), Error> {
        if self.can_reach(path) {
            Ok(())
        } else {
            Err(Error::Unreachable {
                what,
                path: path.to_path_buf(),
                account: self.name(),
            })
        }
    }
}

fn lookup_passwd(passwd: &str, name: &str) -> Option<(u32, u32)> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        if fields.next()? != name {
            return None;
        }
        let _password = fields.next()?;
        let uid = fields.next()?.parse().ok()?;
        let gid = fields.next()?.parse().ok()?;
        Some((uid, gid))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_lookup_reads_uid_and_gid() {
        let passwd =
            "root:x:0:0:root:/root:/bin/bash\npostgres:x:101:104::/var/lib/postgresql:/bin/bash\n";
        assert_eq!(lookup_passwd(passwd, "postgres"), Some((101, 104)));
        assert_eq!(lookup_passwd(passwd, "post"), None);
        assert_eq!(lookup_passwd(passwd, "nobody"), None);
    }
}
