//! pgvector's version, which decides what a search may send to the server.

/// A pgvector release, as `pg_extension.extversion` or a `.control` file spells it (`0.8.1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PgvectorVersion {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Patch version (0 when the text has none).
    pub patch: u32,
}

/// The first release with iterative index scans (`hnsw.iterative_scan`).
pub const ITERATIVE_SCAN: PgvectorVersion = PgvectorVersion::new(0, 8, 0);

impl PgvectorVersion {
    /// `major.minor.patch`.
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Self {
            major,
            minor,
            patch,
        }
    }

    /// Parses `0.8.1` or `0.8`; anything else is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.trim().split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = match parts.next() {
            Some(p) => p.parse().ok()?,
            None => 0,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Self::new(major, minor, patch))
    }

    /// Whether this release has iterative index scans (0.8.0 and later). Before that, setting
    /// `hnsw.iterative_scan` once the library is loaded is an error that aborts the transaction.
    pub fn has_iterative_scan(self) -> bool {
        self >= ITERATIVE_SCAN
    }
}

impl std::fmt::Display for PgvectorVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders_versions() {
        assert_eq!(
            PgvectorVersion::parse("0.8.1"),
            Some(PgvectorVersion::new(0, 8, 1))
        );
        assert_eq!(
            PgvectorVersion::parse("0.7"),
            Some(PgvectorVersion::new(0, 7, 0))
        );
        assert_eq!(PgvectorVersion::parse("0.8.1.2"), None);
        assert_eq!(PgvectorVersion::parse("x"), None);
        assert!(PgvectorVersion::new(0, 6, 2) < PgvectorVersion::new(0, 8, 0));
        assert!(!PgvectorVersion::new(0, 6, 2).has_iterative_scan());
        assert!(PgvectorVersion::new(0, 8, 0).has_iterative_scan());
        assert!(PgvectorVersion::new(0, 10, 0).has_iterative_scan());
        assert_eq!(PgvectorVersion::new(0, 8, 1).to_string(), "0.8.1");
    }
}
