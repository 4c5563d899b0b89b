//! The pure planner: (compiled migrations, rows of `__drizzle_migrations`, policy) → plan.
//!
//! No I/O here; every policy about drift lives in this file and is unit-tested without a
//! database. Matching follows drizzle-orm: a row belongs to the journal entry whose `when`
//! equals the row's `created_at`, and an entry is pending when its `when` is newer than the
//! newest row (drizzle's high-water mark). Unlike drizzle, app-db also compares hashes and
//! notices entries below the high-water mark that were never applied.

use crate::journal::sha256_hex;
use crate::migrations::Migration;

/// One row of `"drizzle"."__drizzle_migrations"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedRow {
    /// The serial id.
    pub id: i32,
    /// SHA-256 hex of the file as it was applied.
    pub hash: String,
    /// The journal `when` of the applied entry (drizzle stores it, not the time of applying).
    pub created_at: Option<i64>,
}

/// What to tolerate. The defaults refuse every kind of drift.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Policy {
    /// Downgrade "modified after it was applied" from an error to a warning.
    pub allow_modified: bool,
    /// Apply entries older than the newest applied row that were never applied, instead of
    /// refusing (drizzle-orm would skip them forever).
    pub allow_out_of_order: bool,
}

/// The state of one compiled migration against the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MigrationState {
    /// A row with the same `created_at` and hash exists.
    Applied {
        /// The row's id.
        row_id: i32,
    },
    /// Newer than the newest applied row: the next `up` applies it.
    Pending,
    /// A row exists but its hash differs from the file's: the file was edited after applying.
    Modified {
        /// The row's id.
        row_id: i32,
        /// The hash stored in the row.
        recorded_hash: String,
        /// Whether the row's hash is the file's with other line endings (CRLF vs LF).
        line_endings_only: bool,
    },
    /// Older than the newest applied row, yet no row of its own: drizzle-orm skips it forever.
    OutOfOrder,
}

impl MigrationState {
    /// A short lower-case name, as `status` prints it.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Applied { .. } => "applied",
            Self::Pending => "pending",
            Self::Modified { .. } => "modified",
            Self::OutOfOrder => "never-applied-out-of-order",
        }
    }
}

/// One migration with its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus<'m> {
    /// The compiled migration.
    pub migration: &'m Migration,
    /// Its state.
    pub state: MigrationState,
}

/// The full comparison of the compiled list with the database, drift included. Never fails:
/// `status` shows it as it is, and [`plan`] turns it into a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment<'m> {
    /// Every compiled migration, in journal order.
    pub migrations: Vec<MigrationStatus<'m>>,
    /// Rows that match no compiled migration: the database is ahead of this binary (normal
    /// during a rolling deploy) or was migrated from another folder.
    pub unknown_rows: Vec<AppliedRow>,
    /// Extra rows for a migration that already has one (drizzle-orm without a lock can write
    /// these when two processes migrate at once).
    pub duplicate_rows: Vec<AppliedRow>,
    /// The newest `created_at` in the table: drizzle's high-water mark.
    pub high_water_mark: Option<i64>,
}

impl<'m> Assessment<'m> {
    /// The migrations in journal order whose state satisfies a predicate.
    fn with<'s>(
        &'s self,
        f: impl Fn(&MigrationState) -> bool + 's,
    ) -> impl Iterator<Item = &'s MigrationStatus<'m>> + 's {
        self.migrations.iter().filter(move |m| f(&m.state))
    }

    /// Whether anything differs from what this binary would have written: modified files,
    /// out-of-order entries, unknown or duplicate rows.
    pub fn has_drift(&self) -> bool {
        !self.unknown_rows.is_empty()
            || !self.duplicate_rows.is_empty()
            || self
                .with(|s| {
                    matches!(
                        s,
                        MigrationState::Modified { .. } | MigrationState::OutOfOrder
                    )
                })
                .next()
                .is_some()
    }

    /// How many migrations are pending.
    pub fn pending_count(&self) -> usize {
        self.with(|s| *s == MigrationState::Pending).count()
    }

    /// The database's position once `applied` (tags) have been applied on top of this
    /// assessment: the last migration in journal order that is applied, and how many are still
    /// pending. What reading the rows again would say, without the round trip.
    pub fn after(&self, applied: &[&str]) -> Position {
        let done = |m: &MigrationStatus<'_>| applied.contains(&m.migration.tag);
        Position {
            at: self
                .migrations
                .iter()
                .rev()
                .find(|m| matches!(m.state, MigrationState::Applied { .. }) || done(m))
                .map(|m| m.migration.tag),
            pending: self
                .migrations
                .iter()
                .filter(|m| m.state == MigrationState::Pending && !done(m))
                .count(),
        }
    }
}

/// Where a database stands after a run (see [`Assessment::after`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    /// The last migration, in journal order, that is applied (`None`: none is).
    pub at: Option<&'static str>,
    /// How many migrations are still pending (beyond a `-n` limit).
    pub pending: usize,
}

/// Compares the compiled migrations with the rows of the bookkeeping table.
pub fn assess<'m>(migrations: &'m [Migration], rows: &[AppliedRow]) -> Assessment<'m> {
    let high_water_mark = rows.iter().filter_map(|r| r.created_at).max();
    let mut claimed = vec![false; rows.len()];
    let mut statuses = Vec::with_capacity(migrations.len());
    let mut duplicate_rows = Vec::new();
    for migration in migrations {
        let mut matching = rows
            .iter()
            .enumerate()
            .filter(|(_, row)| row.created_at == Some(migration.when));
        let state = match matching.next() {
            Some((i, row)) => {
                claimed[i] = true;
                for (j, extra) in matching {
                    claimed[j] = true;
                    duplicate_rows.push(extra.clone());
                }
                if row.hash == migration.hash {
                    MigrationState::Applied { row_id: row.id }
                } else {
                    MigrationState::Modified {
                        row_id: row.id,
                        recorded_hash: row.hash.clone(),
                        line_endings_only: differs_only_in_line_endings(migration.sql, &row.hash),
                    }
                }
            }
            None => match high_water_mark {
                Some(mark) if migration.when <= mark => MigrationState::OutOfOrder,
                _ => MigrationState::Pending,
            },
        };
        statuses.push(MigrationStatus { migration, state });
    }
    let unknown_rows = rows
        .iter()
        .zip(&claimed)
        .filter(|(_, claimed)| !**claimed)
        .map(|(row, _)| row.clone())
        .collect();
    Assessment {
        migrations: statuses,
        unknown_rows,
        duplicate_rows,
        high_water_mark,
    }
}

/// Whether `recorded_hash` is the hash of `sql` with LF and CRLF line endings swapped.
fn differs_only_in_line_endings(sql: &str, recorded_hash: &str) -> bool {
    let lf = sql.replace("\r\n", "\n");
    let crlf = lf.replace('\n', "\r\n");
    [lf, crlf]
        .iter()
        .any(|variant| variant != sql && sha256_hex(variant.as_bytes()) == recorded_hash)
}

/// Something worth telling the operator that does not stop the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// A modified migration, tolerated by [`Policy::allow_modified`].
    Modified {
        tag: String,
        recorded_hash: String,
        file_hash: String,
        line_endings_only: bool,
    },
    /// An out-of-order migration that this run applies ([`Policy::allow_out_of_order`]).
    OutOfOrderApplied { tag: String },
    /// Rows that match no compiled migration.
    UnknownRows { rows: Vec<AppliedRow> },
    /// Several rows for one migration.
    DuplicateRows { rows: Vec<AppliedRow> },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Modified {
                tag,
                recorded_hash,
                file_hash,
                line_endings_only,
            } => {
                write!(
                    f,
                    "migration {tag} was modified after it was applied (recorded {recorded_hash}, file {file_hash})"
                )?;
                if *line_endings_only {
                    write!(f, "; only its line endings differ")?;
                }
                write!(f, "; tolerated by policy")
            }
            Self::OutOfOrderApplied { tag } => {
                write!(
                    f,
                    "applying {tag} out of order: it is older than the newest applied migration"
                )
            }
            Self::UnknownRows { rows } => write!(
                f,
                "{} applied migration(s) are not in this binary (created_at {}): the database is ahead of this build, as during a rolling deploy",
                rows.len(),
                rows.iter()
                    .map(|r| r.created_at.map_or("null".to_string(), |c| c.to_string()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::DuplicateRows { rows } => write!(
                f,
                "{} duplicate bookkeeping row(s) (ids {}): a migration was recorded twice, as drizzle-orm can do without a lock",
                rows.len(),
                rows.iter()
                    .map(|r| r.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// Why the planner refuses to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// Applied migrations whose files changed since.
    Modified(Vec<ModifiedMigration>),
    /// Migrations below the high-water mark that never ran.
    OutOfOrder {
        tags: Vec<String>,
        high_water_mark: i64,
    },
}

/// One modified migration, for [`PlanError::Modified`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModifiedMigration {
    pub tag: String,
    pub recorded_hash: String,
    pub file_hash: String,
    pub line_endings_only: bool,
}

/// What one run does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan<'m> {
    /// The migrations to apply, in journal order.
    pub to_apply: Vec<&'m Migration>,
    /// What the operator should know.
    pub warnings: Vec<Warning>,
}

impl Plan<'_> {
    /// Whether the run has nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.to_apply.is_empty()
    }
}

/// Decides what to apply. `limit` caps how many migrations (in journal order) this run applies.
pub fn plan<'m>(
    assessment: &Assessment<'m>,
    policy: Policy,
    limit: Option<usize>,
) -> Result<Plan<'m>, PlanError> {
    let mut warnings = Vec::new();
    let modified: Vec<ModifiedMigration> = assessment
        .migrations
        .iter()
        .filter_map(|m| match &m.state {
            MigrationState::Modified {
                recorded_hash,
                line_endings_only,
                ..
            } => Some(ModifiedMigration {
                tag: m.migration.tag.to_string(),
                recorded_hash: recorded_hash.clone(),
                file_hash: m.migration.hash.to_string(),
                line_endings_only: *line_endings_only,
            }),
            _ => None,
        })
        .collect();
    if !modified.is_empty() {
        if !policy.allow_modified {
            return Err(PlanError::Modified(modified));
        }
        warnings.extend(modified.into_iter().map(|m| Warning::Modified {
            tag: m.tag,
            recorded_hash: m.recorded_hash,
            file_hash: m.file_hash,
            line_endings_only: m.line_endings_only,
        }));
    }
    let out_of_order: Vec<&Migration> = assessment
        .with(|s| *s == MigrationState::OutOfOrder)
        .map(|m| m.migration)
        .collect();
    if let (false, Some(mark)) = (out_of_order.is_empty(), assessment.high_water_mark) {
        if !policy.allow_out_of_order {
            return Err(PlanError::OutOfOrder {
                tags: out_of_order.iter().map(|m| m.tag.to_string()).collect(),
                high_water_mark: mark,
            });
        }
        warnings.extend(out_of_order.iter().map(|m| Warning::OutOfOrderApplied {
            tag: m.tag.to_string(),
        }));
    }
    if !assessment.unknown_rows.is_empty() {
        warnings.push(Warning::UnknownRows {
            rows: assessment.unknown_rows.clone(),
        });
    }
    if !assessment.duplicate_rows.is_empty() {
        warnings.push(Warning::DuplicateRows {
            rows: assessment.duplicate_rows.clone(),
        });
    }
    // Journal order: out-of-order entries (allowed by policy) run where the journal puts them.
    let to_apply: Vec<&Migration> = assessment
        .with(|s| matches!(s, MigrationState::Pending | MigrationState::OutOfOrder))
        .map(|m| m.migration)
        .take(limit.unwrap_or(usize::MAX))
        .collect();
    Ok(Plan { to_apply, warnings })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leak(s: String) -> &'static str {
        Box::leak(s.into_boxed_str())
    }

    fn migration(idx: u32, when: i64, sql: &str) -> Migration {
        Migration {
            idx,
            tag: leak(format!("{idx:04}_m{idx}")),
            name: leak(crate::journal::timestamp::upgraded_name(
                &format!("{idx:04}_m{idx}"),
                when,
            )),
            layout: crate::journal::Layout::Journal,
            when,
            breakpoints: true,
            transaction: true,
            sql: leak(sql.to_string()),
            hash: leak(sha256_hex(sql.as_bytes())),
        }
    }

    fn folder() -> Vec<Migration> {
        vec![
            migration(0, 1000, "create table a (id int);"),
            migration(1, 2000, "create table b (id int);"),
            migration(2, 3000, "create table c (id int);"),
        ]
    }

    fn row(id: i32, m: &Migration) -> AppliedRow {
        AppliedRow {
            id,
            hash: m.hash.to_string(),
            created_at: Some(m.when),
        }
    }

    fn tags(plan: &Plan<'_>) -> Vec<&'static str> {
        plan.to_apply.iter().map(|m| m.tag).collect()
    }

    #[test]
    fn position_after_a_run_is_what_a_second_read_would_say() {
        let ms = folder();
        let fresh = assess(&ms, &[]);
        assert_eq!(
            fresh.after(&[]),
            Position {
                at: None,
                pending: 3
            }
        );
        // `-n 2` on a fresh database: at the second, one still pending.
        let tags = [ms[0].tag, ms[1].tag];
        let expected = Position {
            at: Some(ms[1].tag),
            pending: 1,
        };
        assert_eq!(fresh.after(&tags), expected);
        let reread = assess(&ms, &[row(1, &ms[0]), row(2, &ms[1])]);
        assert_eq!(reread.after(&[]), expected);
        // The rest on top of the first.
        assert_eq!(
            assess(&ms, &[row(1, &ms[0])]).after(&[ms[1].tag, ms[2].tag]),
            Position {
                at: Some(ms[2].tag),
                pending: 0
            }
        );
    }

    #[test]
    fn empty_database_applies_everything() {
        let ms = folder();
        let a = assess(&ms, &[]);
        assert!(
            a.migrations
                .iter()
                .all(|m| m.state == MigrationState::Pending)
        );
        let p = plan(&a, Policy::default(), None).unwrap();
        assert_eq!(tags(&p), ["0000_m0", "0001_m1", "0002_m2"]);
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn up_to_date_database_has_nothing_to_do() {
        let ms = folder();
        let rows: Vec<_> = ms
            .iter()
            .enumerate()
            .map(|(i, m)| row(i as i32 + 1, m))
            .collect();
        let a = assess(&ms, &rows);
        assert!(!a.has_drift());
        let p = plan(&a, Policy::default(), None).unwrap();
        assert!(p.is_empty());
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn newer_entries_are_pending_and_limit_caps_them() {
        let ms = folder();
        let a = assess(&ms, &[row(1, &ms[0])]);
        assert_eq!(a.pending_count(), 2);
        assert_eq!(
            tags(&plan(&a, Policy::default(), None).unwrap()),
            ["0001_m1", "0002_m2"]
        );
        assert_eq!(
            tags(&plan(&a, Policy::default(), Some(1)).unwrap()),
            ["0001_m1"]
        );
    }

    #[test]
    fn edited_applied_file_is_an_error_naming_both_hashes() {
        let ms = folder();
        let mut edited = row(1, &ms[0]);
        edited.hash = sha256_hex(b"create table a (id bigint);");
        let a = assess(&ms, &[edited.clone(), row(2, &ms[1])]);
        assert!(a.has_drift());
        let err = plan(&a, Policy::default(), None).unwrap_err();
        assert_eq!(
            err,
            PlanError::Modified(vec![ModifiedMigration {
                tag: "0000_m0".into(),
                recorded_hash: edited.hash.clone(),
                file_hash: ms[0].hash.into(),
                line_endings_only: false,
            }])
        );
    }

    #[test]
    fn modified_can_be_downgraded_to_a_warning() {
        let ms = folder();
        let mut edited = row(1, &ms[0]);
        edited.hash = "0".repeat(64);
        let a = assess(&ms, &[edited]);
        let p = plan(
            &a,
            Policy {
                allow_modified: true,
                ..Policy::default()
            },
            None,
        )
        .unwrap();
        assert_eq!(tags(&p), ["0001_m1", "0002_m2"]);
        assert!(matches!(&p.warnings[0], Warning::Modified { tag, .. } if tag == "0000_m0"));
    }

    #[test]
    fn line_ending_only_difference_is_recognised() {
        let ms = vec![migration(
            0,
            1000,
            "create table a (id int);\n--> statement-breakpoint\nselect 1;\n",
        )];
        let crlf_hash = sha256_hex(ms[0].sql.replace('\n', "\r\n").as_bytes());
        let a = assess(
            &ms,
            &[AppliedRow {
                id: 1,
                hash: crlf_hash,
                created_at: Some(1000),
            }],
        );
        assert!(matches!(
            a.migrations[0].state,
            MigrationState::Modified {
                line_endings_only: true,
                ..
            }
        ));
        // And the other way round: the file has CRLF, the database recorded LF.
        let crlf = vec![migration(0, 1000, "select 1;\r\nselect 2;\r\n")];
        let lf_hash = sha256_hex(b"select 1;\nselect 2;\n");
        let a = assess(
            &crlf,
            &[AppliedRow {
                id: 1,
                hash: lf_hash,
                created_at: Some(1000),
            }],
        );
        assert!(matches!(
            a.migrations[0].state,
            MigrationState::Modified {
                line_endings_only: true,
                ..
            }
        ));
    }

    #[test]
    fn entry_below_the_high_water_mark_without_row_is_out_of_order() {
        let ms = folder();
        // 0001 was merged late: 0000 and 0002 are applied, 0001 never was.
        let a = assess(&ms, &[row(1, &ms[0]), row(2, &ms[2])]);
        assert_eq!(a.migrations[1].state, MigrationState::OutOfOrder);
        let err = plan(&a, Policy::default(), None).unwrap_err();
        assert_eq!(
            err,
            PlanError::OutOfOrder {
                tags: vec!["0001_m1".into()],
                high_water_mark: 3000
            }
        );
        let p = plan(
            &a,
            Policy {
                allow_out_of_order: true,
                ..Policy::default()
            },
            None,
        )
        .unwrap();
        assert_eq!(tags(&p), ["0001_m1"]);
        assert_eq!(
            p.warnings,
            vec![Warning::OutOfOrderApplied {
                tag: "0001_m1".into()
            }]
        );
    }

    #[test]
    fn rows_unknown_to_this_binary_only_warn() {
        let ms = folder();
        let ahead = AppliedRow {
            id: 4,
            hash: "f".repeat(64),
            created_at: Some(4000),
        };
        let rows = vec![
            row(1, &ms[0]),
            row(2, &ms[1]),
            row(3, &ms[2]),
            ahead.clone(),
        ];
        let a = assess(&ms, &rows);
        assert_eq!(a.unknown_rows, vec![ahead.clone()]);
        let p = plan(&a, Policy::default(), None).unwrap();
        assert!(p.is_empty());
        assert_eq!(p.warnings, vec![Warning::UnknownRows { rows: vec![ahead] }]);
    }

    #[test]
    fn database_ahead_with_older_binary_does_not_report_out_of_order_for_applied_entries() {
        let ms = folder();
        let rows = vec![
            row(1, &ms[0]),
            row(2, &ms[1]),
            row(3, &ms[2]),
            AppliedRow {
                id: 9,
                hash: "e".repeat(64),
                created_at: Some(9000),
            },
        ];
        let a = assess(&ms, &rows);
        assert!(
            a.migrations
                .iter()
                .all(|m| matches!(m.state, MigrationState::Applied { .. }))
        );
    }

    #[test]
    fn duplicate_rows_are_reported_not_fatal() {
        let ms = folder();
        let rows = vec![row(1, &ms[0]), row(2, &ms[0])];
        let a = assess(&ms, &rows);
        assert_eq!(a.duplicate_rows, vec![row(2, &ms[0])]);
        let p = plan(&a, Policy::default(), None).unwrap();
        assert_eq!(tags(&p), ["0001_m1", "0002_m2"]);
        assert!(matches!(p.warnings[0], Warning::DuplicateRows { .. }));
    }

    #[test]
    fn null_created_at_rows_are_unknown_and_do_not_move_the_mark() {
        let ms = folder();
        let odd = AppliedRow {
            id: 1,
            hash: "a".repeat(64),
            created_at: None,
        };
        let a = assess(&ms, std::slice::from_ref(&odd));
        assert_eq!(a.high_water_mark, None);
        assert_eq!(a.unknown_rows, vec![odd]);
        assert_eq!(a.pending_count(), 3);
    }
}
