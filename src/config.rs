//! Configuration of `init()`, read from the environment in this one place.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `DATABASE_URL` | required | the app's database |
//! | `DATABASE_DIRECT_URL` | `DATABASE_URL` | a direct (non-PgBouncer) URL for migrating |
//! | `DATABASE_POOL_MIN` | 2 | idle connections kept open |
//! | `DATABASE_POOL_MAX` | 10 | pool size |
//! | `DATABASE_POOL_IDLE_TIMEOUT` | 30000 | ms before an idle connection closes (0: never) |
//! | `DATABASE_POOL_ACQUIRE_TIMEOUT` | 30000 | ms to wait for a pooled connection |
//! | `DATABASE_CONNECT_TIMEOUT` | 10000 | ms to open one connection (then the boot fails naming it) |
//! | `APP_DB_MIGRATE` | true | migrate at boot |
//! | `APP_DB_SEED` | never | `never`, `first-boot` or `always` |
//! | `APP_DB_LOCK_TIMEOUT` | 60000 | ms to wait for another migrator (0: forever) |
//! | `APP_DB_DDL_LOCK_TIMEOUT` | 2000 | ms one migration statement may wait for a table lock (0: forever, and the app's queries on the table with it) |
//! | `APP_DB_DDL_RETRY_BUDGET` | 180000 | ms to keep retrying after lock timeouts before giving up naming the blockers (0: one attempt) |
//! | `APP_DB_ALLOW_OUT_OF_ORDER` | false | apply never-applied entries older than the newest applied one |
//! | `APP_DB_ALLOW_MODIFIED` | false | only warn when an applied file changed |
//! | `APP_DB_MIGRATIONS_SCHEMA` / `APP_DB_MIGRATIONS_TABLE` | drizzle / __drizzle_migrations | the bookkeeping table |
//! | `APP_DB_EMBEDDED` | false | with no `DATABASE_URL`, use the embedded development server |
//! | `DATABASE_READ_URL` | none | read replicas, comma-separated URLs ([`ReplicaConfig`]) |
//! | `APP_DB_MAX_REPLICA_LAG` | 16MB | skip a replica more WAL than this behind the primary |
//! | `APP_DB_READ_AFTER_WAIT` | 200 | ms a read after a write waits for a replica to replay it |
//! | `APP_DB_REPLICA_CHECK_INTERVAL` | 1000 | ms between two measurements of replica lag |
//! | `APP_DB_WAIT_REPLICAS` | true | `init()` waits for the replicas to replay the migrations |
//! | `APP_DB_WAIT_REPLICAS_TIMEOUT` | 60000 | ms that wait may take before `init()` fails |

use std::time::Duration;

use crate::Error;
use crate::migrate::driver::{DEFAULT_SCHEMA, DEFAULT_TABLE};
use crate::migrate::{LockWaitPolicy, Policy};

/// When `init()` inserts the initial data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SeedMode {
    /// Never (the default: production data is not demo data).
    #[default]
    Never,
    /// Once per database: the first boot that finds no record of the seed set.
    FirstBoot,
    /// At every boot, idempotently (re-applies a changed seed set).
    Always,
}

/// Connection pool settings (pg-pool's names and defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// Idle connections kept open.
    pub min: u32,
    /// Pool size.
    pub max: u32,
    /// How long an idle connection stays open; `None` keeps it.
    pub idle_timeout: Option<Duration>,
    /// How long to wait for a pooled connection.
    pub acquire_timeout: Duration,
    /// How long to wait for a new connection.
    pub connect_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            min: 2,
            max: 10,
            idle_timeout: Some(Duration::from_millis(30_000)),
            acquire_timeout: Duration::from_millis(30_000),
            connect_timeout: Duration::from_millis(10_000),
        }
    }
}

/// Read replicas: where they are and how reads use them (see [`crate::replica`]). With no URL,
/// nothing changes: every read goes to `DATABASE_URL`.
#[derive(Clone, PartialEq, Eq)]
pub struct ReplicaConfig {
    pub(crate) urls: Vec<String>,
    /// Skip a replica that has more than this many bytes of WAL left to replay
    /// (`APP_DB_MAX_REPLICA_LAG`).
    pub max_lag_bytes: u64,
    /// How long a read after a write ([`crate::replica::read_after`]) waits for a replica to
    /// replay the write before it reads the primary (`APP_DB_READ_AFTER_WAIT`).
    pub read_after_wait: Duration,
    /// How long a lag measurement is reused (`APP_DB_REPLICA_CHECK_INTERVAL`).
    pub check_interval: Duration,
    /// Whether `init()` waits for every replica to replay the migrations
    /// (`APP_DB_WAIT_REPLICAS`).
    pub wait_at_boot: bool,
    /// The bound of that wait (`APP_DB_WAIT_REPLICAS_TIMEOUT`).
    pub wait_timeout: Duration,
    /// A replica that failed is first retried after this, then after twice as long each time.
    pub retry_first: Duration,
    /// The longest time between two retries of a failed replica.
    pub retry_max: Duration,
}

/// Default of [`ReplicaConfig::max_lag_bytes`]: one WAL segment.
pub const DEFAULT_MAX_REPLICA_LAG: u64 = 16 * 1024 * 1024;

impl Default for ReplicaConfig {
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            max_lag_bytes: DEFAULT_MAX_REPLICA_LAG,
            read_after_wait: Duration::from_millis(200),
            check_interval: Duration::from_millis(1_000),
            wait_at_boot: true,
            wait_timeout: Duration::from_millis(60_000),
            retry_first: Duration::from_secs(1),
            retry_max: Duration::from_secs(30),
        }
    }
}

impl ReplicaConfig {
    /// Sets the replicas' URLs (replacing any).
    pub fn urls<S: Into<String>>(mut self, urls: impl IntoIterator<Item = S>) -> Self {
        self.urls = urls.into_iter().map(Into::into).collect();
        self
    }

    /// The replicas' URLs (they may hold passwords: print them through [`crate::url::redact`]).
    pub fn configured_urls(&self) -> &[String] {
        &self.urls
    }
}

impl std::fmt::Debug for ReplicaConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let urls: Vec<String> = self.urls.iter().map(|u| crate::url::redact(u)).collect();
        f.debug_struct("ReplicaConfig")
            .field("urls", &urls)
            .field("max_lag_bytes", &self.max_lag_bytes)
            .field("read_after_wait", &self.read_after_wait)
            .field("check_interval", &self.check_interval)
            .field("wait_at_boot", &self.wait_at_boot)
            .field("wait_timeout", &self.wait_timeout)
            .field("retry_first", &self.retry_first)
            .field("retry_max", &self.retry_max)
            .finish()
    }
}

/// Everything `init_with` needs. Build it with [`Config::from_env`] or by hand.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    pub(crate) database_url: Option<String>,
    pub(crate) direct_url: Option<String>,
    /// Pool settings.
    pub pool: PoolConfig,
    /// Whether to migrate at boot.
    pub migrate: bool,
    /// When to seed.
    pub seed: SeedMode,
    /// How long to wait for another migrator.
    pub lock_timeout: Duration,
    /// How migration statements wait for table locks (`APP_DB_DDL_LOCK_TIMEOUT`,
    /// `APP_DB_DDL_RETRY_BUDGET`).
    pub lock_wait: LockWaitPolicy,
    /// Which drift to tolerate.
    pub policy: Policy,
    /// The bookkeeping schema (drizzle-orm's `migrationsSchema`).
    pub migrations_schema: String,
    /// The bookkeeping table (drizzle-orm's `migrationsTable`).
    pub migrations_table: String,
    /// Use the embedded development server when there is no URL.
    pub embedded: bool,
    /// Read replicas.
    pub replicas: ReplicaConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: None,
            direct_url: None,
            pool: PoolConfig::default(),
            migrate: true,
            seed: SeedMode::Never,
            lock_timeout: crate::migrate::migrator::DEFAULT_LOCK_TIMEOUT,
            lock_wait: LockWaitPolicy::default(),
            policy: Policy::default(),
            migrations_schema: DEFAULT_SCHEMA.to_string(),
            migrations_table: DEFAULT_TABLE.to_string(),
            embedded: false,
            replicas: ReplicaConfig::default(),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field(
                "database_url",
                &self.database_url.as_deref().map(crate::url::redact),
            )
            .field(
                "direct_url",
                &self.direct_url.as_deref().map(crate::url::redact),
            )
            .field("pool", &self.pool)
            .field("migrate", &self.migrate)
            .field("seed", &self.seed)
            .field("lock_timeout", &self.lock_timeout)
            .field("lock_wait", &self.lock_wait)
            .field("policy", &self.policy)
            .field("migrations_schema", &self.migrations_schema)
            .field("migrations_table", &self.migrations_table)
            .field("embedded", &self.embedded)
            .field("replicas", &self.replicas)
            .finish()
    }
}

impl Config {
    /// Reads every variable of the table above from the process environment.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (testable without touching the environment).
    /// Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let defaults = Self::default();
        let pool_defaults = PoolConfig::default();
        // Whole milliseconds; `zero`, when given, says what 0 means for this variable.
        let ms_meaning =
            |var: &'static str, default: Duration, zero: Option<&str>| -> Result<Duration, Error> {
                match get(var) {
                    None => Ok(default),
                    Some(v) => v
                        .trim()
                        .parse::<u64>()
                        .map(Duration::from_millis)
                        .map_err(|_| Error::BadEnv {
                            var,
                            value: v,
                            fix: match zero {
                                None => format!(
                                    "give a whole number of milliseconds, 0 or more (default {})",
                                    default.as_millis()
                                ),
                                Some(zero) => format!(
                                    "give a whole number of milliseconds (default {}; 0 {zero})",
                                    default.as_millis()
                                ),
                            },
                        }),
                }
            };
        let ms = |var: &'static str, default: Duration| ms_meaning(var, default, None);
        let ddl =
            |var: &'static str, default: Duration, zero: &str| ms_meaning(var, default, Some(zero));
        let count = |var: &'static str, default: u32| -> Result<u32, Error> {
            match get(var) {
                None => Ok(default),
                Some(v) => v.trim().parse::<u32>().map_err(|_| Error::BadEnv {
                    var,
                    value: v,
                    fix: format!(
                        "give a whole number of connections, 0 or more (default {default})"
                    ),
                }),
            }
        };
        let flag = |var: &'static str, default: bool| -> Result<bool, Error> {
            match get(var) {
                None => Ok(default),
                Some(v) => parse_bool(&v).ok_or(Error::BadEnv {
                    var,
                    value: v,
                    fix: "use true or false (also 1/0, yes/no, on/off)".into(),
                }),
            }
        };
        let min = count("DATABASE_POOL_MIN", pool_defaults.min)?;
        let max = count("DATABASE_POOL_MAX", pool_defaults.max)?;
        if max == 0 {
            return Err(Error::BadEnv {
                var: "DATABASE_POOL_MAX",
                value: max.to_string(),
                fix: "the pool needs at least 1 connection".into(),
            });
        }
        if min > max {
            return Err(Error::BadEnv {
                var: "DATABASE_POOL_MIN",
                value: min.to_string(),
                fix: format!(
                    "it must not exceed DATABASE_POOL_MAX ({max}): lower it or raise DATABASE_POOL_MAX"
                ),
            });
        }
        let positive_ms = |var: &'static str, default: Duration| -> Result<Duration, Error> {
            let value = ms(var, default)?;
            if value.is_zero() {
                return Err(Error::BadEnv {
                    var,
                    value: "0".into(),
                    fix: format!(
                        "give at least 1 millisecond (default {})",
                        default.as_millis()
                    ),
                });
            }
            Ok(value)
        };
        let replica_defaults = ReplicaConfig::default();
        let idle = ms(
            "DATABASE_POOL_IDLE_TIMEOUT",
            pool_defaults.idle_timeout.unwrap_or_default(),
        )?;
        let seed = match get("APP_DB_SEED") {
            None => SeedMode::Never,
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "never" => SeedMode::Never,
                "first-boot" | "first_boot" | "once" => SeedMode::FirstBoot,
                "always" => SeedMode::Always,
                _ => {
                    return Err(Error::BadEnv {
                        var: "APP_DB_SEED",
                        value: v,
                        fix: "use never, first-boot or always".into(),
                    });
                }
            },
        };
        Ok(Self {
            database_url: get("DATABASE_URL"),
            direct_url: get("DATABASE_DIRECT_URL"),
            pool: PoolConfig {
                min,
                max,
                // pg-pool's idleTimeoutMillis = 0 disables the timeout; same here.
                idle_timeout: (!idle.is_zero()).then_some(idle),
                acquire_timeout: ms(
                    "DATABASE_POOL_ACQUIRE_TIMEOUT",
                    pool_defaults.acquire_timeout,
                )?,
                connect_timeout: ms("DATABASE_CONNECT_TIMEOUT", pool_defaults.connect_timeout)?,
            },
            migrate: flag("APP_DB_MIGRATE", defaults.migrate)?,
            seed,
            lock_timeout: ms("APP_DB_LOCK_TIMEOUT", defaults.lock_timeout)?,
            lock_wait: LockWaitPolicy {
                lock_timeout: ddl(
                    "APP_DB_DDL_LOCK_TIMEOUT",
                    defaults.lock_wait.lock_timeout,
                    "waits for ever, and the app's queries on the table wait behind it",
                )?,
                retry_budget: ddl(
                    "APP_DB_DDL_RETRY_BUDGET",
                    defaults.lock_wait.retry_budget,
                    "makes one attempt, no retry",
                )?,
            },
            policy: Policy {
                allow_out_of_order: flag("APP_DB_ALLOW_OUT_OF_ORDER", false)?,
                allow_modified: flag("APP_DB_ALLOW_MODIFIED", false)?,
            },
            migrations_schema: get("APP_DB_MIGRATIONS_SCHEMA")
                .unwrap_or(defaults.migrations_schema),
            migrations_table: get("APP_DB_MIGRATIONS_TABLE").unwrap_or(defaults.migrations_table),
            embedded: flag("APP_DB_EMBEDDED", false)?,
            replicas: ReplicaConfig {
                urls: get("DATABASE_READ_URL")
                    .map(|v| split_read_urls(&v))
                    .unwrap_or_default(),
                max_lag_bytes: match get("APP_DB_MAX_REPLICA_LAG") {
                    None => DEFAULT_MAX_REPLICA_LAG,
                    Some(v) => parse_bytes(&v).ok_or(Error::BadEnv {
                        var: "APP_DB_MAX_REPLICA_LAG",
                        value: v,
                        fix: "give an amount of WAL in bytes, or with a unit: 64kB, 16MB, 1GB (default 16MB)".into(),
                    })?,
                },
                read_after_wait: ms("APP_DB_READ_AFTER_WAIT", replica_defaults.read_after_wait)?,
                check_interval: positive_ms(
                    "APP_DB_REPLICA_CHECK_INTERVAL",
                    replica_defaults.check_interval,
                )?,
                wait_at_boot: flag("APP_DB_WAIT_REPLICAS", replica_defaults.wait_at_boot)?,
                wait_timeout: positive_ms(
                    "APP_DB_WAIT_REPLICAS_TIMEOUT",
                    replica_defaults.wait_timeout,
                )?,
                ..replica_defaults
            },
        })
    }

    /// Sets the read replicas' URLs (`DATABASE_READ_URL`).
    pub fn read_urls<S: Into<String>>(mut self, urls: impl IntoIterator<Item = S>) -> Self {
        self.replicas = self.replicas.urls(urls);
        self
    }

    /// Sets the database URL.
    pub fn database_url(mut self, url: impl Into<String>) -> Self {
        self.database_url = Some(url.into());
        self
    }

    /// Sets a direct URL for migrating (bypassing a transaction-mode pooler).
    pub fn direct_url(mut self, url: impl Into<String>) -> Self {
        self.direct_url = Some(url.into());
        self
    }

    /// The database URL, password removed, for messages.
    pub fn redacted_url(&self) -> Option<String> {
        self.database_url.as_deref().map(crate::url::redact)
    }

    /// The migrator these settings describe.
    pub fn migrator(&self) -> crate::Migrator {
        crate::Migrator::new()
            .bookkeeping(
                self.migrations_schema.clone(),
                self.migrations_table.clone(),
            )
            .lock_timeout(self.lock_timeout)
            .lock_wait(self.lock_wait)
            .policy(self.policy)
    }
}

/// `DATABASE_READ_URL`'s list: URLs separated by commas (a comma inside a password must be
/// percent-encoded as `%2C`), blanks ignored.
pub fn split_read_urls(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|url| !url.is_empty())
        .map(str::to_string)
        .collect()
}

/// An amount of bytes, bare or with PostgreSQL's memory units (`kB`, `MB`, `GB`, `TB`, powers
/// of 1024; any case, a space allowed before the unit).
pub fn parse_bytes(value: &str) -> Option<u64> {
    let value = value.trim();
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: u64 = number.parse().ok()?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1 << 10,
        "mb" => 1 << 20,
        "gb" => 1 << 30,
        "tb" => 1 << 40,
        _ => return None,
    };
    number.checked_mul(factor)
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(vars: &[(&str, &str)]) -> Result<Config, Error> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_the_seed() {
        let c = from(&[]).unwrap();
        assert_eq!(c.pool.min, 2);
        assert_eq!(c.pool.max, 10);
        assert_eq!(c.pool.idle_timeout, Some(Duration::from_millis(30_000)));
        assert!(c.migrate);
        assert_eq!(c.seed, SeedMode::Never);
        assert_eq!(c.migrations_schema, "drizzle");
        assert_eq!(c.migrations_table, "__drizzle_migrations");
        assert_eq!(c.lock_wait.lock_timeout, Duration::from_secs(2));
        assert_eq!(c.lock_wait.retry_budget, Duration::from_secs(180));
        assert_eq!(c.migrator().lock_wait_policy(), c.lock_wait);
    }

    #[test]
    fn ddl_lock_settings_are_read_and_bad_ones_named() {
        let c = from(&[
            ("APP_DB_DDL_LOCK_TIMEOUT", " 750 "),
            ("APP_DB_DDL_RETRY_BUDGET", "0"),
        ])
        .unwrap();
        assert_eq!(c.lock_wait.lock_timeout, Duration::from_millis(750));
        assert_eq!(c.lock_wait.retry_budget, Duration::ZERO);
        assert_eq!(c.migrator().lock_wait_policy(), c.lock_wait);
        for (var, value) in [
            ("APP_DB_DDL_LOCK_TIMEOUT", "2s"),
            ("APP_DB_DDL_LOCK_TIMEOUT", "-1"),
            ("APP_DB_DDL_RETRY_BUDGET", "3 minutes"),
        ] {
            let e = from(&[(var, value)]).unwrap_err().to_string();
            assert!(
                e.contains(&format!("{var}={value:?}"))
                    && e.contains("whole number of milliseconds"),
                "{e}"
            );
        }
        let e = from(&[("APP_DB_DDL_LOCK_TIMEOUT", "x")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("default 2000") && e.contains("waits for ever"),
            "{e}"
        );
    }

    #[test]
    fn values_are_read() {
        let c = from(&[
            ("DATABASE_URL", "postgres://u:p@h/db"),
            ("DATABASE_POOL_MIN", "0"),
            ("DATABASE_POOL_MAX", "3"),
            ("DATABASE_POOL_IDLE_TIMEOUT", "0"),
            ("APP_DB_MIGRATE", "off"),
            ("APP_DB_SEED", "first-boot"),
            ("APP_DB_LOCK_TIMEOUT", "1500"),
            ("APP_DB_ALLOW_OUT_OF_ORDER", "1"),
        ])
        .unwrap();
        assert_eq!((c.pool.min, c.pool.max, c.pool.idle_timeout), (0, 3, None));
        assert!(!c.migrate);
        assert_eq!(c.seed, SeedMode::FirstBoot);
        assert_eq!(c.lock_timeout, Duration::from_millis(1500));
        assert!(c.policy.allow_out_of_order && !c.policy.allow_modified);
    }

    #[test]
    fn bad_values_name_the_variable_and_the_fix() {
        let e = from(&[("DATABASE_POOL_MAX", "abc")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("DATABASE_POOL_MAX=\"abc\"") && e.contains("whole number"),
            "{e}"
        );
        let e = from(&[("DATABASE_POOL_MIN", "5"), ("DATABASE_POOL_MAX", "3")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("DATABASE_POOL_MIN") && e.contains("must not exceed DATABASE_POOL_MAX (3)"),
            "{e}"
        );
        let e = from(&[("DATABASE_POOL_IDLE_TIMEOUT", "-5")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("DATABASE_POOL_IDLE_TIMEOUT") && e.contains("0 or more"),
            "{e}"
        );
        let e = from(&[("APP_DB_SEED", "sometimes")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("never, first-boot or always"), "{e}");
        let e = from(&[("DATABASE_POOL_MAX", "0")]).unwrap_err().to_string();
        assert!(e.contains("at least 1"), "{e}");
    }

    #[test]
    fn replica_settings_are_read() {
        let c = from(&[]).unwrap();
        assert!(c.replicas.urls.is_empty());
        assert_eq!(c.replicas.max_lag_bytes, 16 * 1024 * 1024);
        let c = from(&[
            (
                "DATABASE_READ_URL",
                " postgres://r1/app ,, postgres://u:p%2Cw@r2/app ",
            ),
            ("APP_DB_MAX_REPLICA_LAG", "64kB"),
            ("APP_DB_READ_AFTER_WAIT", "0"),
            ("APP_DB_REPLICA_CHECK_INTERVAL", "250"),
            ("APP_DB_WAIT_REPLICAS", "no"),
            ("APP_DB_WAIT_REPLICAS_TIMEOUT", "5000"),
        ])
        .unwrap();
        assert_eq!(
            c.replicas.urls,
            ["postgres://r1/app", "postgres://u:p%2Cw@r2/app"]
        );
        assert_eq!(c.replicas.max_lag_bytes, 65_536);
        assert_eq!(c.replicas.read_after_wait, Duration::ZERO);
        assert_eq!(c.replicas.check_interval, Duration::from_millis(250));
        assert!(!c.replicas.wait_at_boot);
        assert_eq!(c.replicas.wait_timeout, Duration::from_secs(5));
        let e = from(&[("APP_DB_MAX_REPLICA_LAG", "16 parsecs")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("APP_DB_MAX_REPLICA_LAG=\"16 parsecs\"") && e.contains("16MB"),
            "{e}"
        );
        let e = from(&[("APP_DB_REPLICA_CHECK_INTERVAL", "0")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("at least 1 millisecond"), "{e}");
    }

    #[test]
    fn byte_amounts_take_postgres_units() {
        for (text, bytes) in [
            ("0", Some(0)),
            ("1048576", Some(1 << 20)),
            ("64kB", Some(64 << 10)),
            ("16MB", Some(16 << 20)),
            ("16 mb", Some(16 << 20)),
            ("1GB", Some(1 << 30)),
            ("2TB", Some(2 << 40)),
            ("", None),
            ("MB", None),
            ("1.5MB", None),
            ("-1", None),
            ("10 parsecs", None),
            ("99999999999999999999", None),
            ("9999999999TB", None),
        ] {
            assert_eq!(parse_bytes(text), bytes, "{text:?}");
        }
    }

    #[test]
    fn debug_output_hides_the_password() {
        let c = from(&[
            ("DATABASE_URL", "postgres://app:hunter2@db/app"),
            ("DATABASE_READ_URL", "postgres://app:hunter3@r1/app"),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("hunter3"),
            "{shown}"
        );
        assert!(shown.contains("app:***@r1"), "{shown}");
        assert!(shown.contains("app:***@db"));
    }
}
