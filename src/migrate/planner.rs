//! The pure planner: (compiled migrations, the bookkeeping table, policy) → plan.
//!
//! No I/O here; every policy about drift lives in this file and is unit-tested without a
//! database. Matching follows drizzle-orm, in the version the folder and table belong to:
//!
//! - a journal folder on a drizzle-orm 0.x table (or none): as drizzle-orm 0.x, a row belongs
//!   to the journal entry whose `when` equals the row's `created_at`, and an entry is pending
//!   when its `when` is newer than the newest row (drizzle's high-water mark);
//! - a 1.0 folder, or any folder on a drizzle-orm 1.0 table (with `name`): as drizzle-orm 1.0,
//!   a row belongs to the migration of its `name`, and a migration is pending when no row has
//!   its name. Rows without a name are named as drizzle-orm 1.0's upgrade names them
//!   ([`upgrade::name_rows`]): all rows of a 0.x table a 1.0 folder upgrades, and the rows
//!   drizzle-orm 0.x wrote on a 1.0 table, which drizzle-orm 1.0 would otherwise run again.
//!
//! Unlike drizzle, app-db also compares hashes and notices migrations older than applied ones
//! that never ran.

use super::upgrade::{self, RowName};
use crate::journal::{Layout, sha256_hex};
use crate::migrations::Migration;

/// One row of `"drizzle"."__drizzle_migrations"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedRow {
    /// The serial id.
    pub id: i32,
    /// SHA-256 hex of the file as it was applied.
    pub hash: String,
    /// The journal `when` or 1.0 folder time of the applied migration (drizzle stores it, not
    /// the time of applying).
    pub created_at: Option<i64>,
    /// drizzle-orm 1.0's `name` (the folder name); `None` on a 0.x table, or when the row was
    /// written without one (by drizzle-orm 0.x on a 1.0 table).
    pub name: Option<String>,
}

/// The columns of the bookkeeping table, i.e. which drizzle-orm wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableShape {
    /// drizzle-orm 0.x: `id`, `hash`, `created_at`.
    Drizzle0,
    /// drizzle-orm 1.0: also `name` and `applied_at` (drizzle-orm 1.0 tells them apart by
    /// `name`).
    Drizzle1,
}

impl TableShape {
    /// A short name, as `status --json` prints it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Drizzle0 => "drizzle-0",
            Self::Drizzle1 => "drizzle-1",
        }
    }
}

/// The bookkeeping table as read: its shape (`None`: it does not exist) and its rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppliedTable {
    /// Its columns; `None` when there is no table yet.
    pub shape: Option<TableShape>,
    /// Its rows, in `id` order.
    pub rows: Vec<AppliedRow>,
}

impl AppliedTable {
    /// A table of drizzle-orm 0.x's shape holding `rows` (tests, tools).
    pub fn drizzle0(rows: Vec<AppliedRow>) -> Self {
        Self {
            shape: Some(TableShape::Drizzle0),
            rows,
        }
    }

    /// A table of drizzle-orm 1.0's shape holding `rows` (tests, tools).
    pub fn drizzle1(rows: Vec<AppliedRow>) -> Self {
        Self {
            shape: Some(TableShape::Drizzle1),
            rows,
        }
    }
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
    /// Older than an applied migration, yet no row of its own: drizzle-orm 0.x skips it forever
    /// (a journal folder: older than the newest row), drizzle-orm 1.0 runs it after newer ones
    /// (a 1.0 folder: before an applied migration in name order).
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
    /// The folder's layout.
    pub layout: Layout,
    /// The table as read (`None`: not created yet).
    pub shape: Option<TableShape>,
    /// A 0.x table a 1.0 folder upgrades to drizzle-orm 1.0's shape, as drizzle-orm 1.0 does:
    /// every row's name (`unmatched` lists the rows it cannot name).
    pub upgrade: Option<Vec<RowName<'m>>>,
    /// Rows of a 1.0 table without a name (written by drizzle-orm 0.x) that app-db names.
    pub repairs: Vec<RowName<'m>>,
    /// Rows of a 0.x table that match no migration of the 1.0 folder: drizzle-orm 1.0 refuses
    /// to upgrade such a table, and so does app-db.
    pub unmatched: Vec<AppliedRow>,
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

    /// Whether the next run changes the bookkeeping table itself: upgrading it to drizzle-orm
    /// 1.0's shape, or naming rows that have no name.
    pub fn bookkeeping_update(&self) -> bool {
        self.upgrade.is_some() || !self.repairs.is_empty()
    }

    /// The shape the table has after the next run: drizzle-orm 1.0's for a 1.0 folder or an
    /// existing 1.0 table, drizzle-orm 0.x's otherwise.
    pub fn shape_after(&self) -> TableShape {
        if self.layout == Layout::Folders || self.shape == Some(TableShape::Drizzle1) {
            TableShape::Drizzle1
        } else {
            TableShape::Drizzle0
        }
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

/// Compares the compiled migrations with the bookkeeping table.
///
/// The layout is the migrations' (a list is of one layout; an empty one counts as a journal).
pub fn assess<'m>(migrations: &'m [Migration], table: &AppliedTable) -> Assessment<'m> {
    let layout = migrations.first().map_or(Layout::Journal, |m| m.layout);
    let rows = &table.rows;
    let high_water_mark = rows.iter().filter_map(|r| r.created_at).max();
    let by_name = layout == Layout::Folders || table.shape == Some(TableShape::Drizzle1);
    let mut upgrade = None;
    let mut repairs = Vec::new();
    let mut unmatched = Vec::new();
    let mut names: Vec<Option<&str>> = rows.iter().map(|r| r.name.as_deref()).collect();
    if by_name {
        let naming = upgrade::name_rows(migrations, rows.iter().filter(|r| r.name.is_none()));
        for named in &naming.named {
            if let Some(i) = rows.iter().position(|r| r.id == named.id) {
                names[i] = Some(named.name);
            }
        }
        if table.shape == Some(TableShape::Drizzle0) {
            upgrade = Some(naming.named);
            unmatched = naming.unmatched;
        } else {
            repairs = naming.named;
        }
    }
    let belongs = |i: usize, row: &AppliedRow, migration: &Migration| {
        if by_name {
            names[i] == Some(migration.name)
        } else {
            row.created_at == Some(migration.when)
        }
    };

    let mut claimed = vec![false; rows.len()];
    let mut states = Vec::with_capacity(migrations.len());
    let mut duplicate_rows = Vec::new();
    for migration in migrations {
        let mut matching = rows
            .iter()
            .enumerate()
            .filter(|(i, row)| belongs(*i, row, migration));
        let state = match matching.next() {
            Some((i, row)) => {
                claimed[i] = true;
                for (j, extra) in matching {
                    claimed[j] = true;
                    duplicate_rows.push(extra.clone());
                }
                Some(if row.hash == migration.hash {
                    MigrationState::Applied { row_id: row.id }
                } else {
                    MigrationState::Modified {
                        row_id: row.id,
                        recorded_hash: row.hash.clone(),
                        line_endings_only: differs_only_in_line_endings(migration.sql, &row.hash),
                    }
                })
            }
            None => None,
        };
        states.push(state);
    }
    // A migration without a row: a 1.0 folder compares names, so "older" means before an
    // applied migration in the folder's order; a journal folder keeps drizzle-orm 0.x's
    // high-water mark, which is what drizzle-orm 0.x would skip.
    let last_applied = states.iter().rposition(Option::is_some);
    let statuses = migrations
        .iter()
        .zip(states)
        .enumerate()
        .map(|(position, (migration, state))| {
            let state = state.unwrap_or_else(|| {
                let older = match layout {
                    Layout::Folders => last_applied.is_some_and(|last| position < last),
                    Layout::Journal => high_water_mark.is_some_and(|mark| migration.when <= mark),
                };
                if older {
                    MigrationState::OutOfOrder
                } else {
                    MigrationState::Pending
                }
            });
            MigrationStatus { migration, state }
        })
        .collect();
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
        layout,
        shape: table.shape,
        upgrade,
        repairs,
        unmatched,
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
    /// Migrations below the high-water mark that never ran (a journal folder).
    OutOfOrder {
        tags: Vec<String>,
        high_water_mark: i64,
    },
    /// Migrations of a 1.0 folder that never ran, before an applied one in name order.
    OutOfOrderFolders {
        tags: Vec<String>,
        last_applied: String,
    },
    /// A 0.x table whose rows a 1.0 folder cannot all name, so it cannot be upgraded.
    UpgradeUnmatched { rows: Vec<AppliedRow> },
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
    /// The migrations to apply, in order.
    pub to_apply: Vec<&'m Migration>,
    /// What the operator should know.
    pub warnings: Vec<Warning>,
    /// Upgrade the 0.x table to drizzle-orm 1.0's shape first, naming these rows.
    pub upgrade: Option<Vec<RowName<'m>>>,
    /// Name these rows of the 1.0 table first.
    pub repairs: Vec<RowName<'m>>,
    /// The table's shape once the run is done: which rows the run writes.
    pub shape: TableShape,
}

impl Plan<'_> {
    /// Whether the run has nothing to do: nothing to apply, no bookkeeping to update.
    pub fn is_empty(&self) -> bool {
        self.to_apply.is_empty() && self.upgrade.is_none() && self.repairs.is_empty()
    }
}

/// Decides what to apply. `limit` caps how many migrations (in journal order) this run applies.
pub fn plan<'m>(
    assessment: &Assessment<'m>,
    policy: Policy,
    limit: Option<usize>,
) -> Result<Plan<'m>, PlanError> {
    let mut warnings = Vec::new();
    if assessment.upgrade.is_some() && !assessment.unmatched.is_empty() {
        return Err(PlanError::UpgradeUnmatched {
            rows: assessment.unmatched.clone(),
        });
    }
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
    if !out_of_order.is_empty() {
        if !policy.allow_out_of_order {
            let tags = out_of_order.iter().map(|m| m.tag.to_string()).collect();
            return Err(match assessment.layout {
                Layout::Folders => PlanError::OutOfOrderFolders {
                    tags,
                    last_applied: assessment
                        .migrations
                        .iter()
                        .rev()
                        .find(|m| {
                            matches!(
                                m.state,
                                MigrationState::Applied { .. } | MigrationState::Modified { .. }
                            )
                        })
                        .map_or_else(String::new, |m| m.migration.tag.to_string()),
                },
                Layout::Journal => PlanError::OutOfOrder {
                    tags,
                    high_water_mark: assessment.high_water_mark.unwrap_or_default(),
                },
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
    Ok(Plan {
        to_apply,
        warnings,
        upgrade: assessment.upgrade.clone(),
        repairs: assessment.repairs.clone(),
        shape: assessment.shape_after(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The journal layout's tests run against a 0.x table, as before drizzle 1.0.
    fn assess<'m>(ms: &'m [Migration], rows: &[AppliedRow]) -> Assessment<'m> {
        super::assess(ms, &AppliedTable::drizzle0(rows.to_vec()))
    }

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
            name: None,
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
                name: None,
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
                name: None,
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
            name: None,
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
                name: None,
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
            name: None,
        };
        let a = assess(&ms, std::slice::from_ref(&odd));
        assert_eq!(a.high_water_mark, None);
        assert_eq!(a.unknown_rows, vec![odd]);
        assert_eq!(a.pending_count(), 3);
    }

    // drizzle 1.0: by name.

    /// A 1.0 folder: `20250101000000_m0`, … one day apart.
    fn folders() -> Vec<Migration> {
        (0..3)
            .map(|idx: u32| {
                let when = 1_735_689_600_000 + i64::from(idx) * 86_400_000;
                let name = leak(format!(
                    "{}_m{idx}",
                    crate::journal::timestamp::folder_timestamp(when)
                ));
                let sql = leak(format!("create table t{idx} (id int);"));
                Migration {
                    idx,
                    tag: name,
                    name,
                    layout: Layout::Folders,
                    when,
                    breakpoints: true,
                    transaction: true,
                    sql,
                    hash: leak(sha256_hex(sql.as_bytes())),
                }
            })
            .collect()
    }

    fn named(id: i32, m: &Migration) -> AppliedRow {
        AppliedRow {
            name: Some(m.name.to_string()),
            ..row(id, m)
        }
    }

    fn v1(rows: &[AppliedRow]) -> AppliedTable {
        AppliedTable::drizzle1(rows.to_vec())
    }

    #[test]
    fn a_1_0_folder_on_a_new_database_creates_drizzle_1_s_table() {
        let ms = folders();
        let a = super::assess(&ms, &AppliedTable::default());
        assert_eq!(a.pending_count(), 3);
        assert_eq!(a.shape_after(), TableShape::Drizzle1);
        let p = plan(&a, Policy::default(), None).unwrap();
        assert_eq!(p.to_apply.len(), 3);
        assert_eq!((p.upgrade, p.repairs.len()), (None, 0));
        assert_eq!(p.shape, TableShape::Drizzle1);
    }

    #[test]
    fn a_1_0_table_is_read_by_name() {
        let ms = folders();
        // created_at is no longer what matches: a row with another created_at but the name is
        // applied, as drizzle-orm 1.0 sees it.
        let mut first = named(1, &ms[0]);
        first.created_at = Some(42);
        let a = super::assess(&ms, &v1(&[first]));
        assert_eq!(a.migrations[0].state, MigrationState::Applied { row_id: 1 });
        assert_eq!(a.pending_count(), 2);
        assert!(!a.has_drift() && !a.bookkeeping_update());
        let p = plan(&a, Policy::default(), None).unwrap();
        assert_eq!(p.to_apply.len(), 2);
        assert_eq!(p.shape, TableShape::Drizzle1);
        // An edited file is still caught, by name.
        let mut edited = named(1, &ms[0]);
        edited.hash = "0".repeat(64);
        let a = super::assess(&ms, &v1(&[edited]));
        assert!(matches!(
            plan(&a, Policy::default(), None),
            Err(PlanError::Modified(_))
        ));
    }

    #[test]
    fn a_0_x_table_is_upgraded_by_a_1_0_folder() {
        let ms = folders();
        // drizzle-orm 0.x wrote the journal's `when`, in the same second as the folder's time.
        let rows: Vec<AppliedRow> = ms[..2]
            .iter()
            .zip(1..)
            .map(|(m, id)| AppliedRow {
                created_at: Some(m.when + 418),
                ..row(id, m)
            })
            .collect();
        let a = super::assess(&ms, &AppliedTable::drizzle0(rows));
        assert_eq!(
            a.upgrade,
            Some(vec![
                RowName {
                    id: 1,
                    name: ms[0].name
                },
                RowName {
                    id: 2,
                    name: ms[1].name
                }
            ])
        );
        assert_eq!(a.migrations[1].state, MigrationState::Applied { row_id: 2 });
        assert_eq!(a.pending_count(), 1);
        let p = plan(&a, Policy::default(), None).unwrap();
        assert_eq!(p.to_apply.len(), 1);
        assert!(p.upgrade.is_some() && p.shape == TableShape::Drizzle1);
        // Nothing pending: the upgrade alone still makes the plan non-empty.
        let all: Vec<AppliedRow> = ms.iter().zip(1..).map(|(m, id)| row(id, m)).collect();
        let a = super::assess(&ms, &AppliedTable::drizzle0(all));
        let p = plan(&a, Policy::default(), None).unwrap();
        assert!(p.to_apply.is_empty() && !p.is_empty());
    }

    #[test]
    fn an_upgrade_with_rows_no_migration_matches_is_refused() {
        let ms = folders();
        let stranger = AppliedRow {
            id: 2,
            hash: "f".repeat(64),
            created_at: Some(1_900_000_000_000),
            name: None,
        };
        let a = super::assess(
            &ms,
            &AppliedTable::drizzle0(vec![row(1, &ms[0]), stranger.clone()]),
        );
        assert_eq!(a.unmatched, vec![stranger.clone()]);
        assert_eq!(
            plan(&a, Policy::default(), None).unwrap_err(),
            PlanError::UpgradeUnmatched {
                rows: vec![stranger]
            }
        );
    }

    #[test]
    fn a_1_0_migration_before_an_applied_one_is_out_of_order() {
        let ms = folders();
        let a = super::assess(&ms, &v1(&[named(1, &ms[0]), named(2, &ms[2])]));
        assert_eq!(a.migrations[1].state, MigrationState::OutOfOrder);
        assert_eq!(
            plan(&a, Policy::default(), None).unwrap_err(),
            PlanError::OutOfOrderFolders {
                tags: vec![ms[1].tag.to_string()],
                last_applied: ms[2].tag.to_string(),
            }
        );
        let allowed = Policy {
            allow_out_of_order: true,
            ..Policy::default()
        };
        assert_eq!(tags(&plan(&a, allowed, None).unwrap()), [ms[1].tag]);
    }

    #[test]
    fn rows_without_a_name_on_a_1_0_table_are_named() {
        let ms = folders();
        // drizzle-orm 0.x ran ms[1] on a 1.0 table: no name.
        let a = super::assess(&ms, &v1(&[named(1, &ms[0]), row(2, &ms[1])]));
        assert_eq!(
            a.repairs,
            vec![RowName {
                id: 2,
                name: ms[1].name
            }]
        );
        assert_eq!(a.migrations[1].state, MigrationState::Applied { row_id: 2 });
        let p = plan(&a, Policy::default(), None).unwrap();
        assert_eq!(p.repairs.len(), 1);
        assert_eq!(tags(&p), [ms[2].tag]);
        // A nameless row that matches nothing stays unknown and is not named.
        let stray = AppliedRow {
            id: 3,
            hash: "e".repeat(64),
            created_at: Some(1_900_000_000_000),
            name: None,
        };
        let a = super::assess(&ms, &v1(&[named(1, &ms[0]), stray.clone()]));
        assert!(a.repairs.is_empty());
        assert_eq!(a.unknown_rows, vec![stray]);
    }

    #[test]
    fn a_journal_folder_on_a_1_0_table_matches_names_and_writes_them() {
        let ms = folder();
        // drizzle-orm 1.0 (after `drizzle-kit up`) applied ms[0]: its created_at is the
        // second of `when`, its name the converted folder's; drizzle-orm 0.x then applied
        // ms[1] without a name.
        let applied_by_1_0 = AppliedRow {
            created_at: Some(0),
            name: Some(ms[0].name.to_string()),
            ..row(1, &ms[0])
        };
        let a = super::assess(&ms, &v1(&[applied_by_1_0, row(2, &ms[1])]));
        assert_eq!(a.layout, Layout::Journal);
        assert_eq!(a.migrations[0].state, MigrationState::Applied { row_id: 1 });
        assert_eq!(a.migrations[1].state, MigrationState::Applied { row_id: 2 });
        assert_eq!(a.repairs.len(), 1);
        let p = plan(&a, Policy::default(), None).unwrap();
        assert_eq!(tags(&p), ["0002_m2"]);
        assert_eq!(p.shape, TableShape::Drizzle1);
    }

    #[test]
    fn a_journal_folder_on_a_0_x_table_plans_as_before() {
        let ms = folder();
        let a = super::assess(&ms, &AppliedTable::drizzle0(vec![row(1, &ms[0])]));
        assert_eq!((a.upgrade.clone(), a.repairs.len()), (None, 0));
        let p = plan(&a, Policy::default(), None).unwrap();
        assert_eq!(p.shape, TableShape::Drizzle0);
        let p = plan(
            &super::assess(&ms, &AppliedTable::default()),
            Policy::default(),
            None,
        )
        .unwrap();
        assert_eq!(p.shape, TableShape::Drizzle0);
    }
}
