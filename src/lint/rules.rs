//! The rule set: every rule squawk 2.68 knows plus app-db's own, each on or off, with app-db's
//! words for why it matters under live traffic and what to write instead. Pure data.
//!
//! docs/cli.md lists the same table (a test keeps the two in step). The principles:
//! - on: a statement that holds a lock which blocks the app for longer than a catalog change
//!   (a scan, a rewrite, an index build), fails on real rows, breaks the release still running
//!   while the new one boots, or breaks app-db's own handling of the file;
//! - off: what app-db itself makes moot (every statement already runs under the migrator's
//!   `lock_timeout`), what only matters at PostgreSQL versions other than 16, and schema design
//!   preferences that are not about running a change under traffic (the entities decide types).

/// Whether a rule is judged, and the words that go with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Findings fail `migration lint` unless allowed.
    On {
        /// Why the statement is dangerous on a table with rows and traffic.
        danger: &'static str,
        /// What to write instead.
        rewrite: &'static str,
        /// Whether a statement on a table created earlier in the same migration is harmless
        /// (no rows, no readers) and therefore not flagged.
        new_table_exempt: bool,
    },
    /// Never reported.
    Off {
        /// Why app-db does not judge it.
        reason: &'static str,
    },
}

/// One rule of the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleSpec {
    /// The rule's name, as `-- app-db:allow` directives and findings spell it.
    pub name: &'static str,
    /// Whether it comes from squawk (else app-db checks it itself).
    pub squawk: bool,
    /// On or off, with the reasons.
    pub state: State,
}

impl RuleSpec {
    /// Whether the rule is judged.
    pub fn is_on(&self) -> bool {
        matches!(self.state, State::On { .. })
    }
}

/// app-db's own rule: `VALIDATE CONSTRAINT` inside a transactional migration.
pub const VALIDATE_IN_TRANSACTION: &str = "validate-constraint-in-transaction";

const fn on(
    name: &'static str,
    danger: &'static str,
    rewrite: &'static str,
    new_table_exempt: bool,
) -> RuleSpec {
    RuleSpec {
        name,
        squawk: true,
        state: State::On {
            danger,
            rewrite,
            new_table_exempt,
        },
    }
}

const fn off(name: &'static str, reason: &'static str) -> RuleSpec {
    RuleSpec {
        name,
        squawk: true,
        state: State::Off { reason },
    }
}

const BREAKS_RUNNING_RELEASE: &str = "every replica migrates at boot, so the new schema is live while replicas of the previous release still serve requests: their queries that use what this removes or renames fail until the last of them is replaced";
const EXPAND_CONTRACT: &str = "expand and contract: first ship a release that no longer uses it, then remove it in a later migration carrying `-- app-db:allow <rule> <which release stopped using it>`";
const COMPAT_OPT_IN: &str = "opt-in in squawk: a compatibility check for consumers of the schema other than the app's own replicas (logical replication subscribers, other services, row-level-security clients); app-db does not judge it";

/// Every rule, squawk's in its own order, then app-db's.
pub static RULES: &[RuleSpec] = &[
    on(
        "require-concurrent-index-creation",
        "CREATE INDEX without CONCURRENTLY holds a SHARE lock on the table for the whole build: every INSERT, UPDATE and DELETE on it waits until the index is complete (minutes on a large table)",
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS in a migration of its own that starts with `-- app-db:no-transaction` (`generate --safe` writes it)",
        true,
    ),
    off(
        "require-concurrent-index-deletion",
        "moot: DROP INDEX holds its ACCESS EXCLUSIVE lock only for a catalog change, and the migrator runs every statement under a short lock_timeout with retries, so the lock queue cannot build up behind it",
    ),
    on(
        "constraint-missing-not-valid",
        "ADD CONSTRAINT checks every existing row while holding the lock it took (ACCESS EXCLUSIVE for a CHECK: no reads or writes; SHARE ROW EXCLUSIVE for a foreign key: no writes) until the scan ends; VALIDATE right after NOT VALID in the same transaction keeps that lock through the scan just the same",
        "ADD CONSTRAINT … NOT VALID (a catalog change), then ALTER TABLE … VALIDATE CONSTRAINT in a `-- app-db:no-transaction` migration, where it scans under a lock that lets reads and writes go on (`generate --safe`)",
        true,
    ),
    on(
        "adding-field-with-default",
        "ADD COLUMN with a volatile default (random(), gen_random_uuid(), clock_timestamp()) or a stored generated column rewrites the whole table under ACCESS EXCLUSIVE: no reads or writes until every row is rewritten",
        "add the column without a default (or with a constant one, which PostgreSQL 11+ stores without a rewrite), set the default for new rows, and backfill existing rows in batches",
        true,
    ),
    on(
        "adding-foreign-key-constraint",
        "a new FOREIGN KEY scans the table to check every row while holding SHARE ROW EXCLUSIVE on both tables: writes to either wait for the whole scan",
        "ADD CONSTRAINT … FOREIGN KEY … NOT VALID, then VALIDATE CONSTRAINT in a `-- app-db:no-transaction` migration (`generate --safe`); for ADD COLUMN … REFERENCES, add the column first and the key NOT VALID after",
        true,
    ),
    on(
        "changing-column-type",
        "SET DATA TYPE rewrites the table and rebuilds its indexes under ACCESS EXCLUSIVE (no reads or writes) unless the change is binary-coercible, and fails on the first real row that does not convert",
        "add a column of the new type, backfill it in batches, move the app to it, drop the old one later; a binary-coercible change (varchar(n) to text or to a longer varchar) does not rewrite: allow it with that reason",
        true,
    ),
    on(
        "adding-not-nullable-field",
        "SET NOT NULL scans the whole table under ACCESS EXCLUSIVE to look for NULLs (no reads or writes meanwhile), and fails on real rows that hold one",
        "ADD CONSTRAINT … CHECK (col IS NOT NULL) NOT VALID, VALIDATE it in a `-- app-db:no-transaction` migration, then SET NOT NULL (PostgreSQL trusts the validated check and skips the scan) and drop the check (`generate --safe`)",
        true,
    ),
    on(
        "adding-serial-primary-key-field",
        "ADD PRIMARY KEY builds its unique index under ACCESS EXCLUSIVE: no reads or writes for the whole build; duplicates or NULLs in real rows fail it",
        "CREATE UNIQUE INDEX CONCURRENTLY in a `-- app-db:no-transaction` migration, then ADD CONSTRAINT … PRIMARY KEY USING INDEX",
        true,
    ),
    on(
        "renaming-column",
        BREAKS_RUNNING_RELEASE,
        "expand and contract: add the new column, write both, backfill, move reads, drop the old one in a later release; or allow it when no running code uses the old name",
        true,
    ),
    on(
        "renaming-table",
        BREAKS_RUNNING_RELEASE,
        "expand and contract (a new table or a view under the old name for one release); or allow it when no running code uses the old name",
        true,
    ),
    on(
        "disallowed-unique-constraint",
        "ADD CONSTRAINT … UNIQUE builds its index under ACCESS EXCLUSIVE: no reads or writes for the whole build; duplicates in real rows fail it",
        "CREATE UNIQUE INDEX CONCURRENTLY in a `-- app-db:no-transaction` migration, then ADD CONSTRAINT … UNIQUE USING INDEX (`generate --safe`)",
        true,
    ),
    on(
        "ban-drop-database",
        "drops a whole database, tables and rows, from a migration every replica runs at boot",
        "never in a migration: drop a database by hand, deliberately",
        false,
    ),
    off(
        "prefer-bigint-over-int",
        "a type preference, not a hazard of running the change: the entities decide column types",
    ),
    off(
        "prefer-bigint-over-smallint",
        "a type preference, not a hazard of running the change: the entities decide column types",
    ),
    off(
        "prefer-identity",
        "a type preference: drizzle's serial is what the entities' auto-increment keys are written as",
    ),
    off(
        "prefer-repack",
        "squawk applies it to PostgreSQL 19 and later only (REPACK does not exist in 16)",
    ),
    on(
        "prefer-robust-stmts",
        "in a `-- app-db:no-transaction` migration every statement commits on its own; when a later one fails, the rerun repeats this one, which then fails because its object already exists (not asked of transactional migrations, which roll back whole, of a VALIDATE CONSTRAINT, which a rerun repeats harmlessly, or of a no-transaction migration's last statement, after which the migration is recorded)",
        "IF NOT EXISTS / IF EXISTS forms (CREATE INDEX CONCURRENTLY IF NOT EXISTS, DROP INDEX CONCURRENTLY IF EXISTS, ADD COLUMN IF NOT EXISTS)",
        false,
    ),
    off(
        "prefer-text-field",
        "a type preference: a longer varchar(n) is a catalog change (no rewrite) on PostgreSQL 16; a narrowing change is flagged by changing-column-type",
    ),
    off(
        "prefer-timestamp-tz",
        "a type preference: the entities decide column types (Better Auth's tables use timestamp)",
    ),
    off(
        "ban-char-field",
        "a type preference, not a hazard of running the change",
    ),
    on(
        "ban-drop-column",
        BREAKS_RUNNING_RELEASE,
        EXPAND_CONTRACT,
        true,
    ),
    on(
        "ban-drop-table",
        BREAKS_RUNNING_RELEASE,
        EXPAND_CONTRACT,
        true,
    ),
    on(
        "ban-drop-not-null",
        "the release still running may read the column as never NULL (a non-Option field) and fail on the first NULL the new release writes",
        "first ship a release whose readers accept NULL, then drop NOT NULL with `-- app-db:allow ban-drop-not-null <that release>`",
        true,
    ),
    on(
        "transaction-nesting",
        "BEGIN, COMMIT or ROLLBACK inside a migration breaks app-db's transaction: a COMMIT makes the statements before it permanent even when a later one fails, and the bookkeeping row no longer commits with them",
        "remove them: a migration is one transaction; statements that must run outside one go in a `-- app-db:no-transaction` migration",
        false,
    ),
    on(
        "adding-required-field",
        "ADD COLUMN … NOT NULL without a default fails on a table with rows, so every replica's boot fails on it, while it passes on the empty scratch databases `generate` proves on",
        "add the column nullable (or with a constant DEFAULT), backfill it, then SET NOT NULL through a validated CHECK (`generate --safe`)",
        true,
    ),
    on(
        "ban-concurrent-index-creation-in-transaction",
        "CREATE INDEX CONCURRENTLY cannot run inside a transaction: the migration fails at boot in every replica",
        "make `-- app-db:no-transaction` the migration's first line (one statement per piece, each IF NOT EXISTS)",
        false,
    ),
    off(
        "unused-ignore",
        "about squawk's own `squawk-ignore` comments, which app-db does not honour: an accepted risk is an `-- app-db:allow <rule> <reason>` line, and app-db reports an allow that matches no finding",
    ),
    on(
        "ban-create-domain-with-constraint",
        "a CHECK on a domain applies to every column of that type in every table; changing it later scans them all under lock, with no per-table NOT VALID step",
        "put the CHECK on the tables (added NOT VALID, then validated, when the table has rows)",
        false,
    ),
    on(
        "ban-alter-domain-with-add-constraint",
        "ALTER DOMAIN … ADD CONSTRAINT checks every column of that domain in every table, holding locks on all of them for the scan",
        "put the CHECK on the tables' columns instead: ADD CONSTRAINT … NOT VALID, then VALIDATE CONSTRAINT in a `-- app-db:no-transaction` migration",
        false,
    ),
    on(
        "ban-truncate-cascade",
        "TRUNCATE … CASCADE also empties every table whose foreign keys lead to this one, recursively, under ACCESS EXCLUSIVE",
        "TRUNCATE exactly the tables meant, named one by one, or DELETE the rows meant",
        false,
    ),
    off(
        "require-timeout-settings",
        "an alias of require-lock-timeout and require-statement-timeout",
    ),
    on(
        "ban-uncommitted-transaction",
        "a BEGIN without its COMMIT leaves app-db's transaction handling in a state it did not choose: the migration's statements and its bookkeeping row no longer commit together",
        "remove BEGIN: a migration is one transaction already",
        false,
    ),
    off(
        "require-enum-value-ordering",
        "not a traffic hazard: an enum's order is the entity's, and `generate` writes BEFORE whenever a new value is not the last",
    ),
    off(
        "require-table-schema",
        "opt-in in squawk; migrations name tables without a schema, as drizzle-kit writes them (the search path is the app's)",
    ),
    on(
        "identifier-too-long",
        "PostgreSQL cuts names to 63 bytes: the object gets another name than the migration wrote, and a later statement naming it in full (drizzle-kit's next diff, a DROP CONSTRAINT) fails on it",
        "a name of at most 63 bytes",
        false,
    ),
    on(
        "require-concurrent-partition-detach",
        "DETACH PARTITION takes ACCESS EXCLUSIVE on the partitioned table: every query on it waits",
        "DETACH PARTITION … CONCURRENTLY in a `-- app-db:no-transaction` migration",
        true,
    ),
    on(
        "require-concurrent-reindex",
        "REINDEX without CONCURRENTLY blocks writes to the table, and reads that would use the index, for the whole rebuild",
        "REINDEX … CONCURRENTLY in a `-- app-db:no-transaction` migration",
        false,
    ),
    off(
        "require-lock-timeout",
        "moot: the migrator runs every statement of every migration under a short lock_timeout and retries (APP_DB_DDL_LOCK_TIMEOUT), so a migration no longer sets its own",
    ),
    off(
        "require-statement-timeout",
        "moot: the statements that hold a strong lock for long are flagged by the rules above; a statement_timeout would cut legitimate long steps (CREATE INDEX CONCURRENTLY, VALIDATE) that block nobody, and the app's wait is bounded by the migrator's lock_timeout",
    ),
    on(
        "ban-duplicate-column-assignments",
        "an UPDATE assigning the same column twice is rejected by PostgreSQL: the migration fails at boot",
        "assign each column once",
        false,
    ),
    on(
        "ban-drop-view",
        BREAKS_RUNNING_RELEASE,
        "CREATE OR REPLACE VIEW to change it; to remove it, ship a release that no longer uses it first, then drop it with an allow",
        false,
    ),
    on(
        "ban-drop-function",
        BREAKS_RUNNING_RELEASE,
        EXPAND_CONTRACT,
        false,
    ),
    on(
        "ban-drop-type",
        BREAKS_RUNNING_RELEASE,
        EXPAND_CONTRACT,
        false,
    ),
    on(
        "ban-drop-default",
        "inserts of the release still running that leave the column out get NULL instead of the default, or fail on NOT NULL",
        "first ship a release that sets the column on every insert, then drop the default with `-- app-db:allow ban-drop-default <that release>`",
        true,
    ),
    off("ban-drop-trigger", COMPAT_OPT_IN),
    on(
        "ban-drop-schema",
        BREAKS_RUNNING_RELEASE,
        EXPAND_CONTRACT,
        false,
    ),
    on(
        "ban-drop-sequence",
        BREAKS_RUNNING_RELEASE,
        EXPAND_CONTRACT,
        false,
    ),
    on(
        "ban-drop-domain",
        BREAKS_RUNNING_RELEASE,
        EXPAND_CONTRACT,
        false,
    ),
    off(
        "ban-drop-constraint",
        "dropping a constraint only relaxes what writes must satisfy, so the release still running keeps working; its lock is a catalog change, bounded by the migrator's lock_timeout (drizzle-kit drops and re-adds constraints to change them)",
    ),
    on(
        "ban-drop-generated-expression",
        "the column stops being computed: rows the new release writes hold whatever was inserted, while the release still running expects computed values",
        EXPAND_CONTRACT,
        true,
    ),
    on(
        "renaming-object",
        BREAKS_RUNNING_RELEASE,
        "create the new object beside the old one, move the app, drop the old one in a later release; or allow it when no running code names it",
        false,
    ),
    on(
        "ban-set-schema",
        BREAKS_RUNNING_RELEASE,
        "create it in the new schema beside the old one and move the app first; or allow it when no running code names it",
        false,
    ),
    on(
        "ban-alter-identity",
        "inserts of the release still running may pass or omit the column in a way the new identity setting rejects",
        "first ship a release whose inserts work under both settings, then change it with an allow",
        true,
    ),
    on(
        "ban-drop-extension",
        "dropping an extension drops its types and functions too (pgvector's vector columns), breaking every query that uses them",
        "never in an app migration: the extension's objects are part of the schema; allow it only when nothing uses it",
        false,
    ),
    off("ban-alter-generated-expression", COMPAT_OPT_IN),
    off(
        "ban-drop-index",
        "opt-in in squawk; an index drop is a catalog change under the migrator's lock_timeout (see require-concurrent-index-deletion)",
    ),
    off("ban-set-default", COMPAT_OPT_IN),
    off("ban-disable-trigger", COMPAT_OPT_IN),
    off("ban-replica-identity", COMPAT_OPT_IN),
    off("ban-drop-policy", COMPAT_OPT_IN),
    off("ban-revoke", COMPAT_OPT_IN),
    off("ban-replace-view-function", COMPAT_OPT_IN),
    off("ban-alter-policy-condition", COMPAT_OPT_IN),
    off("ban-alter-policy-roles", COMPAT_OPT_IN),
    off("ban-create-policy", COMPAT_OPT_IN),
    off("ban-alter-function-options", COMPAT_OPT_IN),
    off("ban-alter-view-options", COMPAT_OPT_IN),
    off("ban-alter-role-options", COMPAT_OPT_IN),
    off("ban-alter-database-options", COMPAT_OPT_IN),
    off("ban-alter-row-level-security", COMPAT_OPT_IN),
    off("ban-new-write-restriction", COMPAT_OPT_IN),
    off(
        "ban-add-enum-value",
        "opt-in in squawk; adding an enum value is a catalog change that breaks nothing running",
    ),
    off("ban-add-composite-attribute", COMPAT_OPT_IN),
    off(
        "ban-add-column",
        "opt-in in squawk; adding a nullable column (or one with a constant default) is a catalog change that breaks nothing running",
    ),
    off("ban-detach-inheritance", COMPAT_OPT_IN),
    off("ban-alter-sequence-values", COMPAT_OPT_IN),
    off("ban-alter-system-options", COMPAT_OPT_IN),
    off("ban-alter-extension", COMPAT_OPT_IN),
    RuleSpec {
        name: VALIDATE_IN_TRANSACTION,
        squawk: false,
        state: State::On {
            danger: "app-db applies every pending transactional migration of a run in one transaction: when the migration that added this constraint NOT VALID (or any statement that locked the table) is pending in the same `up`, the validation scans every row while that strong lock is still held",
            rewrite: "VALIDATE CONSTRAINT in a migration that starts with `-- app-db:no-transaction` (each statement commits on its own; `generate --safe` writes it so)",
            new_table_exempt: true,
        },
    },
];

/// The rule called `name`, if the set has one.
pub fn rule(name: &str) -> Option<&'static RuleSpec> {
    RULES.iter().find(|r| r.name == name)
}

/// The squawk rules that are on, by name.
pub fn squawk_rules_on() -> impl Iterator<Item = &'static str> {
    RULES
        .iter()
        .filter(|r| r.squawk && r.is_on())
        .map(|r| r.name)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn names_are_unique_and_every_squawk_rule_is_listed() {
        let names: BTreeSet<&str> = RULES.iter().map(|r| r.name).collect();
        assert_eq!(names.len(), RULES.len(), "a rule is listed twice");
        let squawk: BTreeSet<String> = enum_iterator::all::<squawk_linter::Rule>()
            .map(|r| r.to_string())
            .collect();
        let listed: BTreeSet<String> = RULES
            .iter()
            .filter(|r| r.squawk)
            .map(|r| r.name.to_string())
            .collect();
        assert_eq!(
            listed, squawk,
            "the rule set must list exactly squawk's rules"
        );
    }

    #[test]
    fn moot_rules_are_off() {
        for name in ["require-lock-timeout", "require-statement-timeout"] {
            assert!(!rule(name).expect("listed").is_on(), "{name}");
        }
        assert!(
            rule("require-concurrent-index-creation")
                .expect("listed")
                .is_on()
        );
        assert!(rule("no-such-rule").is_none());
    }
}
