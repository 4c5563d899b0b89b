//! What a rehearsal found, per statement: the stable JSON shape (`--json`, documented in
//! docs/cli.md) and the text the CLI prints.

use std::fmt::Write as _;

use serde::Serialize;

use crate::migrate::Blocker;

/// The whole rehearsal.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Always true: the rehearsal's transaction was rolled back.
    pub rolled_back: bool,
    /// The `lock_timeout` every statement ran under, in milliseconds (0: none).
    pub lock_timeout_ms: u64,
    /// The rehearsed migrations, in order.
    pub migrations: Vec<MigrationReport>,
    /// How many statements ran.
    pub statements: usize,
    /// How many failed.
    pub failed: usize,
    /// How many could not be rehearsed inside a transaction.
    pub not_rehearsed: usize,
}

/// One migration.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationReport {
    /// Its tag (a planned migration: `NNNN_<name> (planned)`).
    pub tag: String,
    /// False for a `-- app-db:no-transaction` migration.
    pub transaction: bool,
    /// Its statements, in order.
    pub statements: Vec<StatementReport>,
}

/// What happened to a statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// It ran.
    Ok,
    /// It failed on this database (its effects were rolled back to the savepoint before it).
    Failed,
    /// It cannot run inside a transaction, so it was not rehearsed.
    NotRehearsed,
}

/// One statement.
#[derive(Debug, Clone, Serialize)]
pub struct StatementReport {
    /// 1-based position in its migration.
    pub index: usize,
    /// Its first line, at most 200 characters.
    pub sql: String,
    /// The form actually run, when it differs (`CREATE INDEX CONCURRENTLY` is rehearsed
    /// without `CONCURRENTLY`, which a transaction refuses).
    pub rehearsed_as: Option<String>,
    /// What happened.
    pub outcome: Outcome,
    /// How long it ran, in milliseconds (on this database's data: the time its locks are held
    /// in production is about this).
    pub elapsed_ms: f64,
    /// The table locks it took that the transaction did not hold yet (held until commit).
    pub locks: Vec<LockTaken>,
    /// Existing tables it rewrote (their `relfilenode` changed): a full copy under its lock.
    pub rewrites: Vec<String>,
    /// Rows it read by sequential scan, per existing table (e.g. `SET NOT NULL`'s check).
    pub rows_scanned: Vec<Scan>,
    /// The failure, when it failed or was not rehearsed.
    pub error: Option<Failure>,
    /// Whether an earlier statement of the rehearsal failed (this one may fail because of it).
    pub after_failure: bool,
}

/// A table lock a statement took.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockTaken {
    /// The relation, schema-qualified where needed.
    pub relation: String,
    /// `table`, `index`, `sequence`, `view`, …
    pub kind: String,
    /// PostgreSQL's mode name (`AccessExclusiveLock`, …).
    pub mode: String,
    /// What the app cannot do on the relation meanwhile.
    pub blocks: String,
    /// Whether it blocks the app's reads or writes.
    pub blocks_the_app: bool,
    /// Whether the relation was created by the rehearsal itself (no reader can be waiting).
    pub new_relation: bool,
}

/// Rows a statement read by sequential scan from one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scan {
    /// The table.
    pub relation: String,
    /// Rows read.
    pub rows: i64,
}

/// Why a statement failed on this database.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// The SQLSTATE.
    pub sqlstate: Option<String>,
    /// The server's message (without its detail, which can quote row values).
    pub message: String,
    /// How many rows make it fail, where that can be counted.
    pub offending_rows: Option<i64>,
    /// What was counted.
    pub offending: Option<String>,
    /// For a lock timeout: the sessions that held the lock.
    pub blockers: Vec<Blocker>,
}

impl Report {
    /// Whether every statement ran.
    pub fn passed(&self) -> bool {
        self.failed == 0 && self.not_rehearsed == 0
    }
}

fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn duration(ms: f64) -> String {
    if ms >= 1000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total = self.migrations.len();
        for (i, migration) in self.migrations.iter().enumerate() {
            writeln!(
                f,
                "[{}/{total}] {}{}",
                i + 1,
                migration.tag,
                if migration.transaction {
                    ""
                } else {
                    " (-- app-db:no-transaction)"
                }
            )?;
            for statement in &migration.statements {
                write!(f, "{statement}")?;
            }
        }
        let timeout = if self.lock_timeout_ms == 0 {
            "no lock timeout".to_string()
        } else {
            format!("lock timeout {} ms", self.lock_timeout_ms)
        };
        write!(
            f,
            "rehearsal: {} statement(s), {} failed, {} not rehearsed ({timeout}); rolled back: nothing was changed",
            self.statements, self.failed, self.not_rehearsed
        )
    }
}

impl std::fmt::Display for StatementReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "  {}. {}", self.index, self.sql)?;
        if let Some(form) = &self.rehearsed_as {
            writeln!(f, "     rehearsed as: {form}")?;
        }
        let mut line = String::new();
        match self.outcome {
            Outcome::Ok => {
                let _ = write!(line, "ok in {}", duration(self.elapsed_ms));
            }
            Outcome::Failed => {
                let _ = write!(line, "FAILED after {}", duration(self.elapsed_ms));
            }
            Outcome::NotRehearsed => line.push_str("NOT REHEARSED"),
        }
        if let Some(error) = &self.error {
            let _ = write!(
                line,
                ": {}{}",
                error
                    .sqlstate
                    .as_deref()
                    .map(|s| format!("{s} "))
                    .unwrap_or_default(),
                error.message
            );
        }
        if self.after_failure && self.outcome != Outcome::Ok {
            line.push_str(" (an earlier statement failed: this may follow from it)");
        }
        writeln!(f, "     {line}")?;
        if let Some(error) = &self.error {
            match (error.offending_rows, &error.offending) {
                (Some(n), Some(what)) => {
                    writeln!(f, "     offending rows: {} ({what})", thousands(n))?
                }
                (None, Some(what)) => writeln!(f, "     offending rows: not counted ({what})")?,
                _ => {}
            }
            for blocker in &error.blockers {
                writeln!(f, "     blocked by: {blocker}")?;
            }
        }
        for lock in &self.locks {
            writeln!(
                f,
                "     lock: {} on {} {}{}",
                lock.mode,
                lock.kind,
                lock.relation,
                if lock.new_relation {
                    " (new: nobody waits on it)".to_string()
                } else {
                    format!(": blocks {}", lock.blocks)
                }
            )?;
        }
        for table in &self.rewrites {
            writeln!(f, "     rewrote {table} (a full copy under its lock)")?;
        }
        for scan in &self.rows_scanned {
            writeln!(
                f,
                "     scanned {} row(s) of {}",
                thousands(scan.rows),
                scan.relation
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_durations_read_well() {
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(-1234), "-1,234");
        assert_eq!(duration(0.42), "0.4 ms");
        assert_eq!(duration(12.4), "12 ms");
        assert_eq!(duration(1830.0), "1.8 s");
    }

    #[test]
    fn a_failed_statement_shows_its_count_and_a_lock_what_it_blocks() {
        let statement = StatementReport {
            index: 1,
            sql: "ALTER TABLE \"t\" ADD COLUMN \"c\" text NOT NULL;".into(),
            rehearsed_as: None,
            outcome: Outcome::Failed,
            elapsed_ms: 3.0,
            locks: vec![],
            rewrites: vec![],
            rows_scanned: vec![],
            error: Some(Failure {
                sqlstate: Some("23502".into()),
                message: "column \"c\" of relation \"t\" contains null values".into(),
                offending_rows: Some(1200),
                offending: Some("existing rows".into()),
                blockers: vec![],
            }),
            after_failure: false,
        };
        let text = statement.to_string();
        assert!(text.contains("FAILED after 3.0 ms: 23502 column"), "{text}");
        assert!(
            text.contains("offending rows: 1,200 (existing rows)"),
            "{text}"
        );
        let ok = StatementReport {
            outcome: Outcome::Ok,
            error: None,
            locks: vec![LockTaken {
                relation: "t".into(),
                kind: "table".into(),
                mode: "ShareLock".into(),
                blocks: "writes (reads go on)".into(),
                blocks_the_app: true,
                new_relation: false,
            }],
            rewrites: vec!["t".into()],
            ..statement
        };
        let text = ok.to_string();
        assert!(
            text.contains("lock: ShareLock on table t: blocks writes (reads go on)"),
            "{text}"
        );
        assert!(text.contains("rewrote t"), "{text}");
    }
}
