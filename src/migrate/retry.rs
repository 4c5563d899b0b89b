//! When a migration statement could not get its table lock in time: retry or give up, and how
//! long to pause first. Pure: the I/O loop that runs the attempts is [`super::watch`].
//!
//! Why retries at all: a DDL statement waiting for a lock (an `ALTER TABLE` behind a long
//! report) makes every later query on that table queue behind it. Each attempt therefore waits
//! at most the DDL lock timeout (PostgreSQL's `lock_timeout`, SQLSTATE 55P03 when it expires);
//! then the whole batch rolls back, the queue drains, and the migrator tries again after a
//! pause, until the retry budget is spent. The pause grows so that a long blocker is not
//! hammered, and is jittered so that replicas booting together do not retry in step.

use std::time::Duration;

/// The default DDL lock timeout: what an app query on the migrated table may wait at most
/// behind a waiting migration statement (see docs/cli.md for the choice).
pub const DEFAULT_DDL_LOCK_TIMEOUT: Duration = Duration::from_secs(2);

/// The default retry budget: how long a run keeps retrying before it gives up naming the
/// blockers (a booting replica waits at most this long, plus one attempt).
pub const DEFAULT_DDL_RETRY_BUDGET: Duration = Duration::from_secs(180);

/// The first pause; each later one doubles, up to [`MAX_PAUSE`].
pub const FIRST_PAUSE: Duration = Duration::from_millis(500);

/// The longest pause between two attempts.
pub const MAX_PAUSE: Duration = Duration::from_secs(10);

/// How migration statements wait for their locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockWaitPolicy {
    /// The longest one lock wait of one statement may last (`lock_timeout`). Zero: no bound,
    /// a statement waits for its lock for ever, and every query on the table waits behind it
    /// (PostgreSQL's default; dangerous under traffic).
    pub lock_timeout: Duration,
    /// How long after the first attempt a new attempt may still start, so that its lock wait
    /// ends within the budget. Zero: one attempt, no retry.
    pub retry_budget: Duration,
}

impl Default for LockWaitPolicy {
    fn default() -> Self {
        Self {
            lock_timeout: DEFAULT_DDL_LOCK_TIMEOUT,
            retry_budget: DEFAULT_DDL_RETRY_BUDGET,
        }
    }
}

impl LockWaitPolicy {
    /// The `lock_timeout` setting for statements that queue the app behind them (`0` = none).
    pub fn setting(&self) -> String {
        format!("{}ms", self.lock_timeout.as_millis())
    }

    /// The `lock_timeout` for a statement whose lock waits do not queue the app (`CREATE INDEX
    /// CONCURRENTLY` and its kin, see [`waits_without_blocking_the_app`]): the rest of the
    /// budget, in one wait, because a timed-out concurrent build has done its work for nothing.
    /// At least the DDL lock timeout; `0` (none) when the policy has no bound.
    pub fn concurrent_setting(&self, elapsed: Duration) -> String {
        if self.lock_timeout.is_zero() {
            return "0".into();
        }
        let rest = self.retry_budget.saturating_sub(elapsed);
        format!("{}ms", rest.max(self.lock_timeout).as_millis())
    }
}

/// Why an attempt failed, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// A statement's lock wait exceeded `lock_timeout` (SQLSTATE 55P03): the batch rolled back
    /// and nothing of it remains, so trying again is safe.
    LockTimeout,
    /// Anything else: a real error, never retried.
    Other,
}

/// Why no further attempt is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUp {
    /// The failure is not a lock timeout.
    NotRetryable,
    /// The next attempt could not finish its lock wait within the budget.
    BudgetSpent,
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Pause this long, then run the whole attempt again (re-read, re-plan, apply).
    Retry {
        /// The pause before the next attempt.
        pause: Duration,
    },
    /// Stop and report.
    GiveUp(GiveUp),
}

/// The pause after attempt `attempts` (1-based), before jitter: [`FIRST_PAUSE`] doubling per
/// attempt, capped at [`MAX_PAUSE`].
pub fn growth(attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(16);
    FIRST_PAUSE.saturating_mul(1 << doublings).min(MAX_PAUSE)
}

/// Decides after attempt number `attempts` (1-based) failed with `failure`, `elapsed` after the
/// first attempt started. `jitter` in `[0, 1)` spreads the pause over the upper half of its
/// growth ("equal jitter": at least half the grown pause, so pauses still grow).
///
/// The budget bounds when an attempt may start: the next one starts after the pause and may
/// wait one lock timeout, and both must fit in what is left of the budget. A pause that does
/// not fit is shortened to what does; when not even an immediate attempt fits, give up.
pub fn decide(
    policy: &LockWaitPolicy,
    failure: Failure,
    attempts: u32,
    elapsed: Duration,
    jitter: f64,
) -> Decision {
    if failure != Failure::LockTimeout {
        return Decision::GiveUp(GiveUp::NotRetryable);
    }
    let grown = growth(attempts);
    let jitter = if jitter.is_finite() {
        jitter.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pause = grown / 2 + grown.mul_f64(jitter) / 2;
    let Some(left) = policy
        .retry_budget
        .checked_sub(elapsed)
        .and_then(|left| left.checked_sub(policy.lock_timeout))
    else {
        return Decision::GiveUp(GiveUp::BudgetSpent);
    };
    if left.is_zero() && policy.retry_budget.is_zero() {
        return Decision::GiveUp(GiveUp::BudgetSpent);
    }
    Decision::Retry {
        pause: pause.min(left),
    }
}

/// Whether `statement`'s lock waits leave the app's queries alone: `CREATE INDEX CONCURRENTLY`,
/// `DROP INDEX CONCURRENTLY`, `REINDEX ... CONCURRENTLY` and `REFRESH MATERIALIZED VIEW
/// CONCURRENTLY` take `SHARE UPDATE EXCLUSIVE` (which reads and writes do not conflict with)
/// and then wait for older transactions through their transaction ids, which queues nobody.
/// Such a statement gets the rest of the budget as one wait instead of short retries.
pub fn waits_without_blocking_the_app(statement: &str) -> bool {
    let words = leading_words(statement, 6);
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    match w.as_slice() {
        ["CREATE", "INDEX", "CONCURRENTLY", ..]
        | ["CREATE", "UNIQUE", "INDEX", "CONCURRENTLY", ..]
        | ["DROP", "INDEX", "CONCURRENTLY", ..]
        | ["REFRESH", "MATERIALIZED", "VIEW", "CONCURRENTLY", ..] => true,
        ["REINDEX", ..] => w.contains(&"CONCURRENTLY") || statement_has_concurrently(statement),
        _ => false,
    }
}

/// `REINDEX (CONCURRENTLY) TABLE t` puts the option in parentheses.
fn statement_has_concurrently(statement: &str) -> bool {
    statement.to_ascii_uppercase().contains("CONCURRENTLY")
}

/// The first `n` words of `sql` in upper case, after comments and whitespace.
fn leading_words(sql: &str, n: usize) -> Vec<String> {
    let mut rest = sql;
    let mut words = Vec::new();
    while words.len() < n {
        rest = rest.trim_start();
        if let Some(after) = rest.strip_prefix("--") {
            rest = after.split_once('\n').map_or("", |(_, r)| r);
            continue;
        }
        if let Some(after) = rest.strip_prefix("/*") {
            rest = after.split_once("*/").map_or("", |(_, r)| r);
            continue;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        words.push(rest[..end].to_ascii_uppercase());
        rest = &rest[end..];
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;
    const MS: fn(u64) -> Duration = Duration::from_millis;

    fn policy(lock_timeout: Duration, retry_budget: Duration) -> LockWaitPolicy {
        LockWaitPolicy {
            lock_timeout,
            retry_budget,
        }
    }

    #[test]
    fn pauses_grow_from_half_a_second_and_stop_at_ten() {
        let table = [
            (1, MS(500)),
            (2, S(1)),
            (3, S(2)),
            (4, S(4)),
            (5, S(8)),
            (6, S(10)),
            (40, S(10)),
            (u32::MAX, S(10)),
        ];
        for (attempts, expected) in table {
            assert_eq!(growth(attempts), expected, "after attempt {attempts}");
        }
        assert_eq!(growth(0), MS(500), "attempt 0 is treated as the first");
    }

    #[test]
    fn decisions() {
        let default = LockWaitPolicy::default();
        let retry = |ms| Decision::Retry { pause: MS(ms) };
        // (policy, failure, attempts, elapsed, jitter) -> decision
        let table = [
            // Not a lock timeout: never retried, whatever the budget.
            (
                default,
                Failure::Other,
                1,
                S(0),
                0.0,
                Decision::GiveUp(GiveUp::NotRetryable),
            ),
            // Equal jitter: between half and all of the grown pause.
            (default, Failure::LockTimeout, 1, S(2), 0.0, retry(250)),
            (default, Failure::LockTimeout, 1, S(2), 0.5, retry(375)),
            (default, Failure::LockTimeout, 1, S(2), 0.996, retry(499)),
            (default, Failure::LockTimeout, 3, S(10), 1.0, retry(2000)),
            (default, Failure::LockTimeout, 9, S(60), 0.0, retry(5000)),
            // Bad jitter values fall back to the lower half.
            (default, Failure::LockTimeout, 1, S(2), f64::NAN, retry(250)),
            (default, Failure::LockTimeout, 1, S(2), -3.0, retry(250)),
            // The budget: the next attempt's lock wait must end within it.
            (
                policy(S(2), S(10)),
                Failure::LockTimeout,
                4,
                S(7),
                1.0,
                retry(1000),
            ),
            (
                policy(S(2), S(10)),
                Failure::LockTimeout,
                4,
                S(8),
                1.0,
                retry(0),
            ),
            (
                policy(S(2), S(10)),
                Failure::LockTimeout,
                4,
                MS(8001),
                0.0,
                Decision::GiveUp(GiveUp::BudgetSpent),
            ),
            (
                policy(S(2), S(10)),
                Failure::LockTimeout,
                4,
                S(30),
                0.0,
                Decision::GiveUp(GiveUp::BudgetSpent),
            ),
            // A budget shorter than one lock wait: one attempt only.
            (
                policy(S(2), S(1)),
                Failure::LockTimeout,
                1,
                MS(0),
                0.0,
                Decision::GiveUp(GiveUp::BudgetSpent),
            ),
            // No budget: one attempt only, even without a lock timeout.
            (
                policy(S(2), S(0)),
                Failure::LockTimeout,
                1,
                MS(0),
                0.0,
                Decision::GiveUp(GiveUp::BudgetSpent),
            ),
            (
                policy(S(0), S(0)),
                Failure::LockTimeout,
                1,
                MS(0),
                0.0,
                Decision::GiveUp(GiveUp::BudgetSpent),
            ),
            // No lock timeout of ours (a server-side one fired): the budget still bounds.
            (
                policy(S(0), S(5)),
                Failure::LockTimeout,
                1,
                S(1),
                0.0,
                retry(250),
            ),
            (
                policy(S(0), S(5)),
                Failure::LockTimeout,
                1,
                S(6),
                0.0,
                Decision::GiveUp(GiveUp::BudgetSpent),
            ),
        ];
        for (policy, failure, attempts, elapsed, jitter, expected) in table {
            assert_eq!(
                decide(&policy, failure, attempts, elapsed, jitter),
                expected,
                "{policy:?} {failure:?} after attempt {attempts} at {elapsed:?} (jitter {jitter})"
            );
        }
    }

    #[test]
    fn a_whole_run_within_the_default_budget_retries_about_twenty_times() {
        // Every attempt waits its full lock timeout: the worst case.
        let policy = LockWaitPolicy::default();
        let (mut elapsed, mut attempts) = (Duration::ZERO, 0u32);
        loop {
            elapsed += policy.lock_timeout;
            attempts += 1;
            match decide(&policy, Failure::LockTimeout, attempts, elapsed, 0.5) {
                Decision::Retry { pause } => elapsed += pause,
                Decision::GiveUp(reason) => {
                    assert_eq!(reason, GiveUp::BudgetSpent);
                    break;
                }
            }
        }
        assert!(elapsed <= policy.retry_budget, "{elapsed:?}");
        assert!((15..=25).contains(&attempts), "{attempts} attempts");
    }

    #[test]
    fn concurrent_statements_get_the_rest_of_the_budget() {
        let p = policy(S(2), S(180));
        assert_eq!(p.setting(), "2000ms");
        assert_eq!(p.concurrent_setting(S(0)), "180000ms");
        assert_eq!(p.concurrent_setting(S(100)), "80000ms");
        assert_eq!(
            p.concurrent_setting(S(179)),
            "2000ms",
            "never below one lock wait"
        );
        assert_eq!(p.concurrent_setting(S(500)), "2000ms");
        assert_eq!(policy(S(0), S(180)).concurrent_setting(S(0)), "0");
        assert_eq!(policy(S(0), S(180)).setting(), "0ms");
    }

    #[test]
    fn statements_whose_waits_leave_the_app_alone() {
        let yes = [
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS \"i\" ON \"t\" (\"c\");",
            "create unique index concurrently i on t (c)",
            "-- app-db:no-transaction\n  CREATE INDEX CONCURRENTLY i ON t (c)",
            "/* why */ DROP INDEX CONCURRENTLY IF EXISTS \"i\"",
            "REINDEX INDEX CONCURRENTLY i",
            "REINDEX (VERBOSE, CONCURRENTLY) TABLE t",
            "refresh materialized view concurrently mv",
        ];
        for sql in yes {
            assert!(waits_without_blocking_the_app(sql), "{sql}");
        }
        let no = [
            "CREATE INDEX i ON t (c)",
            "ALTER TABLE \"t\" ADD COLUMN \"concurrently\" text",
            "DROP INDEX i",
            "REINDEX TABLE t",
            "ALTER TABLE t VALIDATE CONSTRAINT c",
            "",
            "-- only a comment",
        ];
        for sql in no {
            assert!(!waits_without_blocking_the_app(sql), "{sql}");
        }
    }
}
