//! What a table lock mode keeps the app from doing while a migration holds it (or waits for
//! it): PostgreSQL's conflict table, in the terms of the app's own statements. Pure.

/// What the app cannot do on a relation while `mode` is held on it, in a few words.
pub fn blocks(mode: &str) -> &'static str {
    match mode {
        "AccessExclusiveLock" => "reads and writes",
        "ExclusiveLock" => "writes and SELECT FOR UPDATE/SHARE (plain reads go on)",
        "ShareRowExclusiveLock" | "ShareLock" => "writes (reads go on)",
        "ShareUpdateExclusiveLock" => "other DDL, VACUUM and ANALYZE (reads and writes go on)",
        "RowExclusiveLock" => "CREATE INDEX and stronger DDL (reads and writes go on)",
        "RowShareLock" => "only EXCLUSIVE and ACCESS EXCLUSIVE DDL",
        "AccessShareLock" => "only ACCESS EXCLUSIVE DDL",
        _ => "see PostgreSQL's table-level lock modes",
    }
}

/// Whether the app's reads or writes wait while `mode` is held.
pub fn blocks_the_app(mode: &str) -> bool {
    matches!(
        mode,
        "AccessExclusiveLock" | "ExclusiveLock" | "ShareRowExclusiveLock" | "ShareLock"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_in_the_apps_terms() {
        let table = [
            ("AccessExclusiveLock", "reads and writes", true),
            (
                "ExclusiveLock",
                "writes and SELECT FOR UPDATE/SHARE (plain reads go on)",
                true,
            ),
            ("ShareRowExclusiveLock", "writes (reads go on)", true),
            ("ShareLock", "writes (reads go on)", true),
            (
                "ShareUpdateExclusiveLock",
                "other DDL, VACUUM and ANALYZE (reads and writes go on)",
                false,
            ),
            (
                "RowExclusiveLock",
                "CREATE INDEX and stronger DDL (reads and writes go on)",
                false,
            ),
            (
                "RowShareLock",
                "only EXCLUSIVE and ACCESS EXCLUSIVE DDL",
                false,
            ),
            ("AccessShareLock", "only ACCESS EXCLUSIVE DDL", false),
            (
                "SIReadLock",
                "see PostgreSQL's table-level lock modes",
                false,
            ),
        ];
        for (mode, blocked, app) in table {
            assert_eq!(blocks(mode), blocked, "{mode}");
            assert_eq!(blocks_the_app(mode), app, "{mode}");
        }
    }
}
