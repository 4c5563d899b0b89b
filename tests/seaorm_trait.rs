//! `Migrator` through SeaORM's `MigratorTrait`, on the Drizzle bookkeeping.

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
