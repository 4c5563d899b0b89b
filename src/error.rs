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

    /// A query embedding whose length is not the column's dimension.
    #[error(
        "embedding has {found} dimensions but document_chunk.embedding is vector({expected}): \
         embed the query with the model the chunks were embedded with (text-embedding-3-small)"
    )]
    EmbeddingDimension { expected: usize, found: usize },

    /// A query embedding containing NaN or an infinity.
    #[error(
        "embedding value at index {index} is not finite (NaN or infinity): \
         the embedding provider returned a corrupt vector; retry the embedding call"
    )]
    EmbeddingNotFinite { index: usize },

    /// A query embedding of all zeros, which has no direction: its cosine distance to every chunk
    /// is undefined (NaN) and the ranking would be arbitrary.
    #[error(
        "embedding is all zeros, so cosine distance is undefined: check the embedding input text is not empty"
    )]
    EmbeddingZero,

    /// A search parameter outside what pgvector's HNSW index supports.
    #[error("{parameter} = {value} is out of range: use {min}..={max}")]
    SearchParameterOutOfRange {
        parameter: &'static str,
        value: u64,
        min: u64,
        max: u64,
    },
}
