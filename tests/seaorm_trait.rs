//! `Migrator` through SeaORM's `MigratorTrait`, on the Drizzle bookkeeping.

mod common;

use app_db::testing::TestDatabase;
use app_db::{MIGRATIONS, Migrator};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use sea_orm_migration::{MigrationStatus, MigratorTrait};

async fn relation_exists(db: &TestDatabase, name: &str) -> bool {
    let row = db
        .db
        .query_one_raw(Statement::from_sql_and_values(
            db.db.get_database_backend(),
            "select to_regclass($1) is not null as present",
            [name.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<bool>("", "present").unwrap()
}

#[tokio::test]
async fn up_status_and_pending_use_drizzle_bookkeeping() {
    let db = TestDatabase::empty().await.unwrap();
    // Read-only status on a fresh database creates nothing.
    let statuses = Migrator::get_migration_with_status_read_only(&db.db)
        .await
        .unwrap();
    assert_eq!(statuses.len(), MIGRATIONS.len());
    assert!(
        statuses
            .iter()
            .all(|m| m.status() == MigrationStatus::Pending)
    );
    assert!(!relation_exists(&db, "drizzle.__drizzle_migrations").await);

    Migrator::up(&db.db, Some(2)).await.unwrap();
    let applied = Migrator::get_applied_migrations(&db.db).await.unwrap();
    assert_eq!(
        applied
            .iter()
            .map(|m| m.name().to_string())
            .collect::<Vec<_>>(),
        [MIGRATIONS[0].tag, MIGRATIONS[1].tag]
    );

    Migrator::up(&db.db, None).await.unwrap();
    assert!(
        Migrator::get_pending_migrations(&db.db)
            .await
            .unwrap()
            .is_empty()
    );
    Migrator::status(&db.db).await.unwrap();
    let models = Migrator::get_migration_models(&db.db).await.unwrap();
    assert_eq!(models.len(), MIGRATIONS.len());
    assert_eq!(models[0].applied_at, MIGRATIONS[0].when);
    assert!(
        !relation_exists(&db, "seaql_migrations").await,
        "seaql_migrations must never be created"
    );
    let rows = db
        .db
        .query_all_raw(Statement::from_string(
            db.db.get_database_backend(),
            "select hash from drizzle.__drizzle_migrations order by id",
        ))
        .await
        .unwrap();
    let hashes: Vec<String> = rows
        .iter()
        .map(|r| r.try_get("", "hash").unwrap())
        .collect();
    assert_eq!(
        hashes,
        MIGRATIONS
            .iter()
            .map(|m| m.hash.to_string())
            .collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn methods_that_cannot_be_honoured_explain_why() {
    let db = TestDatabase::empty().await.unwrap();
    let down = Migrator::down(&db.db, None).await.unwrap_err().to_string();
    assert!(
        down.contains("forward-only") && down.contains("generate"),
        "{down}"
    );
    assert!(
        Migrator::refresh(&db.db)
            .await
            .unwrap_err()
            .to_string()
            .contains("forward-only")
    );
    assert!(
        Migrator::reset(&db.db)
            .await
            .unwrap_err()
            .to_string()
            .contains("forward-only")
    );
    assert!(
        Migrator::fresh(&db.db)
            .await
            .unwrap_err()
            .to_string()
            .contains("fresh --yes")
    );
    let tx = db.db.begin().await.unwrap();
    let in_tx = Migrator::up(&tx, None).await.unwrap_err().to_string();
    assert!(in_tx.contains("needs a DatabaseConnection"), "{in_tx}");
    tx.rollback().await.unwrap();
    assert!(!relation_exists(&db, "drizzle.__drizzle_migrations").await);
}

// ---------------------------------------------------------------------------------------------
// Configuration from the environment, as init() reads it. Each run is a child process (this
// test binary again) with an environment of its own.

const CHILD_URL: &str = "APP_DB_TEST_SEAORM_URL";

/// Not a test on its own: `Migrator::up` through the trait in a child process, reporting what
/// it applied or the error.
#[tokio::test]
async fn child_trait_up() {
    let Ok(url) = std::env::var(CHILD_URL) else {
        return;
    };
    common::child_started("trait up");
    let db = sea_orm::Database::connect(&url).await.expect("connect");
    match Migrator::up(&db, None).await {
        Ok(()) => {
            let applied = Migrator::get_applied_migrations(&db)
                .await
                .expect("applied migrations");
            println!("\nAPPLIED {}", applied.len());
        }
        Err(e) => println!("\nERROR {}", e.to_string().replace('\n', " ")),
    }
}

/// Runs `child_trait_up` on `db` with `vars` (and no other app-db variable) set.
fn trait_up(db: &TestDatabase, vars: &[(&str, &str)]) -> String {
    let mut cmd = common::rerun_self("child_trait_up");
    cmd.env(CHILD_URL, &db.url);
    for var in [
        "APP_DB_MIGRATIONS_SCHEMA",
        "APP_DB_MIGRATIONS_TABLE",
        "APP_DB_LOCK_TIMEOUT",
        "APP_DB_DDL_LOCK_TIMEOUT",
        "APP_DB_DDL_RETRY_BUDGET",
        "APP_DB_ALLOW_OUT_OF_ORDER",
        "APP_DB_ALLOW_MODIFIED",
        "DATABASE_URL",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    common::succeeded(&cmd.output().expect("run the child"), "the trait's up")
}

const CUSTOM: [(&str, &str); 2] = [
    ("APP_DB_MIGRATIONS_SCHEMA", "ops"),
    ("APP_DB_MIGRATIONS_TABLE", "history"),
];

async fn count(db: &TestDatabase, sql: &str) -> i64 {
    let row = db
        .db
        .query_one_raw(Statement::from_string(db.db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

#[tokio::test]
async fn the_trait_uses_the_configured_bookkeeping_table_and_policy() {
    let db = TestDatabase::empty().await.unwrap();
    let out = trait_up(&db, &CUSTOM);
    assert_eq!(
        common::reported(&out, "APPLIED"),
        Some(MIGRATIONS.len().to_string()),
        "{out}"
    );
    assert_eq!(
        count(&db, "select count(*) as n from ops.history").await,
        MIGRATIONS.len() as i64
    );
    assert!(!relation_exists(&db, "drizzle.__drizzle_migrations").await);

    // An applied file that changed: refused by default, tolerated with APP_DB_ALLOW_MODIFIED.
    db.db
        .execute_unprepared("update ops.history set hash = 'edited' where id = 1")
        .await
        .unwrap();
    let refused = trait_up(&db, &CUSTOM);
    let error = common::reported(&refused, "ERROR").unwrap_or_else(|| panic!("{refused}"));
    assert!(error.contains(MIGRATIONS[0].tag), "{error}");
    let mut allowed = CUSTOM.to_vec();
    allowed.push(("APP_DB_ALLOW_MODIFIED", "1"));
    let out = trait_up(&db, &allowed);
    assert_eq!(
        common::reported(&out, "APPLIED"),
        Some(MIGRATIONS.len().to_string()),
        "{out}"
    );

    // A bad value is named, as init() names it.
    let out = trait_up(&db, &[("APP_DB_ALLOW_MODIFIED", "maybe")]);
    let error = common::reported(&out, "ERROR").unwrap_or_else(|| panic!("{out}"));
    assert!(
        error.contains("APP_DB_ALLOW_MODIFIED=\"maybe\" is not valid"),
        "{error}"
    );
}

#[tokio::test]
async fn the_trait_waits_for_the_lock_as_long_as_configured() {
    let db = TestDatabase::empty().await.unwrap();
    // Hold the lock of the custom table, as another migrator would.
    let key = Migrator::new().bookkeeping("ops", "history").lock().key();
    let holder = db.db.get_postgres_connection_pool();
    let mut holder = holder.acquire().await.unwrap();
    sqlx::query("select pg_advisory_lock($1)")
        .bind(key)
        .execute(&mut *holder)
        .await
        .unwrap();
    let mut vars = CUSTOM.to_vec();
    vars.push(("APP_DB_LOCK_TIMEOUT", "300"));
    let out = trait_up(&db, &vars);
    let error = common::reported(&out, "ERROR").unwrap_or_else(|| panic!("{out}"));
    assert!(
        error.contains("timed out after 300ms") && error.contains("backend pid"),
        "{error}"
    );
    sqlx::query("select pg_advisory_unlock($1)")
        .bind(key)
        .execute(&mut *holder)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_trait_bounds_statement_lock_waits_as_configured() {
    let db = TestDatabase::migrated().await.unwrap();
    let (mut blocker, pid, tag) = common::block_the_last_migration(&db.url).await;
    let out = trait_up(
        &db,
        &[
            ("APP_DB_DDL_LOCK_TIMEOUT", "200"),
            ("APP_DB_DDL_RETRY_BUDGET", "1000"),
        ],
    );
    let error = common::reported(&out, "ERROR").unwrap_or_else(|| panic!("{out}"));
    assert!(
        error.contains(&format!("migration {tag} statement 1 of"))
            && error.contains(&format!("backend pid {pid} (the-blocker)"))
            && error.contains(&format!("pg_terminate_backend({pid})")),
        "{error}"
    );
    sqlx::raw_sql("rollback")
        .execute(&mut blocker)
        .await
        .unwrap();
    let out = trait_up(&db, &[]);
    assert_eq!(
        common::reported(&out, "APPLIED"),
        Some(MIGRATIONS.len().to_string()),
        "{out}"
    );
}
