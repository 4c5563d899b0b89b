//! The one error type of the library boundary.

use std::path::PathBuf;

/// Everything app-db can fail with. Messages are lower-case, name the thing at fault and say how
/// to fix it. No variant ever carries a database password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A database error from SeaORM / sqlx.
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),

    /// An I/O error on a file or folder app-db manages.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
