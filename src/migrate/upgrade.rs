//! drizzle-orm 1.0's naming of bookkeeping rows that have no `name`, as a pure function.
//!
//! drizzle-orm 1.0 (`up-migrations/pg.js`, `upToV1`) upgrades a 0.x table (`id`, `hash`,
//! `created_at`) before migrating: it adds `name` and `applied_at`, and names every row after a
//! migration of the folder, matched like this, row by row in `id` order:
//!
//! - the row's `created_at` is cut to the second (the last three digits of its text dropped);
//! - exactly one migration has that time (a 1.0 folder's time is to the second): that one,
//!   whatever its hash;
//! - several have it: the first of them (by time, then name) with the row's hash;
//! - none has it: the last migration (same order) with the row's hash;
//! - otherwise the row is unmatched, and drizzle-orm refuses the whole upgrade.
//!
//! app-db applies the same matching, so the names it writes are drizzle-orm's, byte for byte:
//! when it upgrades a 0.x table for a 1.0 folder, and when it names the rows drizzle-orm 0.x
//! left without a name on a 1.0 table (which drizzle-orm 1.0 would otherwise run again).

use std::collections::HashMap;

use super::planner::AppliedRow;
use crate::journal::timestamp::to_the_second;
use crate::migrations::Migration;

/// A bookkeeping row and the name it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowName<'m> {
    /// The row's id.
    pub id: i32,
    /// The migration's drizzle-orm 1.0 name.
    pub name: &'m str,
}

/// The outcome of [`name_rows`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Naming<'m> {
    /// The rows matched, in the order given.
    pub named: Vec<RowName<'m>>,
    /// The rows no migration matches, in the order given.
    pub unmatched: Vec<AppliedRow>,
}

/// Names `rows` (in `id` order) after `migrations` as drizzle-orm 1.0's upgrade does.
pub fn name_rows<'m, 'r>(
    migrations: &'m [Migration],
    rows: impl IntoIterator<Item = &'r AppliedRow>,
) -> Naming<'m> {
    let mut sorted: Vec<&Migration> = migrations.iter().collect();
    sorted.sort_by(|a, b| {
        to_the_second(a.when)
            .cmp(&to_the_second(b.when))
            .then_with(|| a.name.cmp(b.name))
    });
    let mut by_time: HashMap<i64, Vec<&Migration>> = HashMap::new();
    let mut by_hash: HashMap<&str, &Migration> = HashMap::new();
    for migration in sorted {
        by_time
            .entry(to_the_second(migration.when))
            .or_default()
            .push(migration);
        // Later ones overwrite earlier ones, as in drizzle-orm's Map.
        by_hash.insert(migration.hash, migration);
    }
    let mut naming = Naming::default();
    for row in rows {
        let candidates = row
            .created_at
            .and_then(|created_at| by_time.get(&to_the_second(created_at)));
        let matched = match candidates.map(Vec::as_slice) {
            Some([only]) => Some(*only),
            Some(several) if !several.is_empty() => {
                several.iter().find(|m| m.hash == row.hash).copied()
            }
            _ => by_hash.get(row.hash.as_str()).copied(),
        };
        match matched {
            Some(migration) => naming.named.push(RowName {
                id: row.id,
                name: migration.name,
            }),
            None => naming.unmatched.push(row.clone()),
        }
    }
    naming
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Layout;
    use crate::journal::sha256_hex;

    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    fn folder(name: &str, when: i64, sql: &str) -> Migration {
        Migration {
            idx: 0,
            tag: leak(name.to_owned()),
            name: leak(name.to_owned()),
            layout: Layout::Folders,
            when,
            breakpoints: true,
            transaction: true,
            sql: leak(sql.to_owned()),
            hash: leak(sha256_hex(sql.as_bytes())),
        }
    }

    fn row(id: i32, hash: &str, created_at: Option<i64>) -> AppliedRow {
        AppliedRow {
            id,
            hash: hash.to_owned(),
            created_at,
            name: None,
        }
    }

    fn names<'m>(naming: &Naming<'m>) -> Vec<(i32, &'m str)> {
        naming.named.iter().map(|r| (r.id, r.name)).collect()
    }

    #[test]
    fn a_row_takes_the_migration_of_its_second_whatever_its_hash() {
        let ms = [
            folder("20250304101237_auth", 1_741_083_157_000, "a"),
            folder("20250311153002_orgs", 1_741_707_002_000, "b"),
        ];
        // Written by drizzle-orm 0.x with the journal's `when` (milliseconds).
        let rows = [
            row(1, ms[0].hash, Some(1_741_083_157_418)),
            row(2, "edited", Some(1_741_707_002_903)),
        ];
        let naming = name_rows(&ms, &rows);
        assert_eq!(
            names(&naming),
            [(1, "20250304101237_auth"), (2, "20250311153002_orgs")]
        );
        assert!(naming.unmatched.is_empty());
    }

    #[test]
    fn the_hash_breaks_ties_within_a_second() {
        let ms = [
            folder("20250304101237_b", 1_741_083_157_000, "b"),
            folder("20250304101237_a", 1_741_083_157_000, "a"),
        ];
        let rows = [
            row(1, ms[1].hash, Some(1_741_083_157_100)),
            row(2, ms[0].hash, Some(1_741_083_157_200)),
            row(3, "other", Some(1_741_083_157_300)),
        ];
        let naming = name_rows(&ms, &rows);
        assert_eq!(
            names(&naming),
            [(1, "20250304101237_a"), (2, "20250304101237_b")]
        );
        assert_eq!(naming.unmatched, vec![rows[2].clone()]);
    }

    #[test]
    fn without_a_migration_in_its_second_the_hash_decides() {
        let ms = [
            folder("20250304101237_auth", 1_741_083_157_000, "a"),
            folder("20250401000000_again", 1_743_465_600_000, "a"),
        ];
        let rows = [
            row(1, ms[0].hash, Some(5)),
            row(2, ms[0].hash, None),
            row(3, "unknown", Some(1_800_000_000_000)),
        ];
        let naming = name_rows(&ms, &rows);
        // The last migration with that hash, as drizzle-orm's Map keeps the last one.
        assert_eq!(
            names(&naming),
            [(1, "20250401000000_again"), (2, "20250401000000_again")]
        );
        assert_eq!(naming.unmatched, vec![rows[2].clone()]);
    }

    #[test]
    fn journal_migrations_match_by_the_second_of_their_when() {
        let journal = Migration {
            layout: Layout::Journal,
            tag: "0000_auth",
            name: "20250304101237_auth",
            when: 1_741_083_157_418,
            ..folder("x", 0, "a")
        };
        let naming = name_rows(
            std::slice::from_ref(&journal),
            &[row(7, "whatever", Some(1_741_083_157_418))],
        );
        assert_eq!(names(&naming), [(7, "20250304101237_auth")]);
    }
}
