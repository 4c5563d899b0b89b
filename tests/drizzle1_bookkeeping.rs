//! drizzle-orm 1.0's bookkeeping shape, written by app-db alone against real PostgreSQL: a new
//! table, the upgrade of a 0.x table (all or nothing, refusing rows it cannot name), rows
//! without a name on a 1.0 table, and a journal folder on a 1.0 table. The same rows as the
//! real drizzle-orm 1.0 writes are checked in `drizzle1_interop.rs`.

mod common;

use app_db::testing::TestDatabase;
use app_db::{Error, Migrator};
use common::{
    AnyRow, any_rows, bookkeeping_columns, connect, list, migration, schema_fingerprint, three,
    upgraded, upgraded_all,
};

fn columns(
    expected: &[(&str, &str, &str, Option<&str>)],
) -> Vec<(String, String, String, Option<String>)> {
    expected
        .iter()
        .map(|(a, b, c, d)| {
            (
                a.to_string(),
                b.to_string(),
                c.to_string(),
                d.map(str::to_string),
            )
        })
        .collect()
}

/// drizzle-orm 1.0's table, as `information_schema` shows it.
fn drizzle1_columns() -> Vec<(String, String, String, Option<String>)> {
    columns(&[
        (
            "id",
            "integer",
            "NO",
            Some("nextval('drizzle.__drizzle_migrations_id_seq'::regclass)"),
        ),
        ("hash", "text", "NO", None),
        ("created_at", "bigint", "YES", None),
        ("name", "text", "YES", None),
        (
            "applied_at",
            "timestamp with time zone",
            "YES",
            Some("now()"),
        ),
    ])
}

#[tokio::test]
async fn a_1_0_folder_creates_drizzle_1_s_table_and_writes_names() {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = connect(&db.url).await;
    let ms = list(upgraded_all(&three()));
    let report = Migrator::with_migrations(ms).run(&mut conn).await.unwrap();
    assert_eq!(report.applied.len(), 3);
    assert_eq!(report.upgraded, None);
    assert_eq!(bookkeeping_columns(&mut conn).await, drizzle1_columns());
    let expected: Vec<AnyRow> = ms
        .iter()
        .zip(1..)
        .map(|(m, id)| {
            (
                id,
                m.hash.to_string(),
                Some(m.when),
                Some(m.name.to_string()),
                true,
            )
        })
        .collect();
    assert_eq!(any_rows(&mut conn).await, expected);
    // created_at is the folder's time, to the second.
    assert_eq!(expected[0].2, Some(1_699_999_999_000 + 1_000));
    let again = Migrator::with_migrations(ms).run(&mut conn).await.unwrap();
    assert!(again.applied.is_empty() && !again.locked);
}

#[tokio::test]
async fn a_0_x_table_is_upgraded_as_drizzle_orm_1_does() {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = connect(&db.url).await;
    let journal = list(three());
    Migrator::with_migrations(&journal[..2])
        .run(&mut conn)
        .await
        .unwrap();
    let v1 = list(upgraded_all(journal));
    let report = Migrator::with_migrations(v1).run(&mut conn).await.unwrap();
    assert_eq!(report.upgraded, Some(2));
    assert_eq!(
        report.applied.iter().map(|a| a.tag).collect::<Vec<_>>(),
        [v1[2].tag]
    );
    assert_eq!(bookkeeping_columns(&mut conn).await, drizzle1_columns());
    // The 0.x rows keep their created_at (the journal's `when`), get the folder's name and
    // applied_at NULL, as drizzle-orm 1.0's upgrade leaves them; the new row is drizzle-orm
    // 1.0's.
    assert_eq!(
        any_rows(&mut conn).await,
        vec![
            (
                1,
                journal[0].hash.into(),
                Some(journal[0].when),
                Some(v1[0].name.into()),
                false
            ),
            (
                2,
                journal[1].hash.into(),
                Some(journal[1].when),
                Some(v1[1].name.into()),
                false
            ),
            (
                3,
                v1[2].hash.into(),
                Some(v1[2].when),
                Some(v1[2].name.into()),
                true
            ),
        ]
    );
}

#[tokio::test]
async fn the_upgrade_and_the_batch_are_all_or_nothing() {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = connect(&db.url).await;
    let journal = list(three());
    Migrator::with_migrations(&journal[..2])
        .run(&mut conn)
        .await
        .unwrap();
    let before_rows = any_rows(&mut conn).await;
    let before_schema = schema_fingerprint(&mut conn).await;
    let mut v1 = upgraded_all(&journal[..2]);
    v1.push(upgraded(&migration(
        2,
        1_700_000_200_000,
        "CREATE TABLE \"c\" (\"id\" int);\n--> statement-breakpoint\nSELECT 1/0;\n",
    )));
    let err = Migrator::with_migrations(list(v1))
        .run(&mut conn)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MigrationFailed(_)), "{err}");
    assert_eq!(any_rows(&mut conn).await, before_rows);
    assert_eq!(schema_fingerprint(&mut conn).await, before_schema);
    assert_eq!(
        bookkeeping_columns(&mut conn).await.len(),
        3,
        "the table keeps drizzle-orm 0.x's shape"
    );
}

#[tokio::test]
async fn an_upgrade_refuses_rows_it_cannot_name_listing_them() {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = connect(&db.url).await;
    let journal = list(three());
    Migrator::with_migrations(journal)
        .run(&mut conn)
        .await
        .unwrap();
    let before_rows = any_rows(&mut conn).await;
    // A 1.0 folder that lacks the second migration: its row matches nothing.
    let v1 = list(vec![upgraded(&journal[0]), upgraded(&journal[2])]);
    let err = Migrator::with_migrations(v1)
        .run(&mut conn)
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::UpgradeUnmatched { .. }), "{message}");
    assert!(
        message.contains(&format!(
            "row id 2: created_at {} (2023-11-14 22:15:00.000 UTC), hash {}",
            journal[1].when, journal[1].hash
        )),
        "{message}"
    );
    assert!(message.contains("nothing was changed"), "{message}");
    assert_eq!(any_rows(&mut conn).await, before_rows);
    assert_eq!(bookkeeping_columns(&mut conn).await.len(), 3);
}

#[tokio::test]
async fn rows_drizzle_orm_0_x_left_without_a_name_get_theirs() {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = connect(&db.url).await;
    let journal = list(three());
    let v1 = list(upgraded_all(journal));
    Migrator::with_migrations(&v1[..1])
        .run(&mut conn)
        .await
        .unwrap();
    // What drizzle-orm 0.45 does on a 1.0 table: its own insert, no name.
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE \"b\" (\"id\" serial PRIMARY KEY, \"a_id\" integer REFERENCES \"a\"(\"id\"));\n\
         insert into drizzle.__drizzle_migrations (\"hash\", \"created_at\") values ('{}', {})",
        journal[1].hash, journal[1].when
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    let report = Migrator::with_migrations(v1).run(&mut conn).await.unwrap();
    assert_eq!(report.named, 1);
    assert_eq!(report.applied.len(), 1, "only the third runs");
    let rows = any_rows(&mut conn).await;
    assert_eq!(rows[1].3.as_deref(), Some(v1[1].name));
    assert!(rows.iter().all(|row| row.3.is_some()), "{rows:?}");
}

#[tokio::test]
async fn a_journal_folder_on_a_1_0_table_writes_the_converted_names() {
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = connect(&db.url).await;
    let journal = list(three());
    let v1 = list(upgraded_all(journal));
    Migrator::with_migrations(&v1[..1])
        .run(&mut conn)
        .await
        .unwrap();
    let report = Migrator::with_migrations(journal)
        .run(&mut conn)
        .await
        .unwrap();
    assert_eq!(report.applied.len(), 2);
    assert_eq!(
        any_rows(&mut conn).await,
        vec![
            (
                1,
                v1[0].hash.into(),
                Some(v1[0].when),
                Some(v1[0].name.into()),
                true
            ),
            // The journal's `when`, as drizzle-orm 0.x writes it, and the name drizzle-kit up
            // gives the entry, so drizzle-orm 1.0 on the converted folder finds it applied.
            (
                2,
                journal[1].hash.into(),
                Some(journal[1].when),
                Some(v1[1].name.into()),
                true
            ),
            (
                3,
                journal[2].hash.into(),
                Some(journal[2].when),
                Some(v1[2].name.into()),
                true
            ),
        ]
    );
    let report = Migrator::with_migrations(v1).run(&mut conn).await.unwrap();
    assert!(report.applied.is_empty() && !report.locked);
}

/// `mark-applied` with a 1.0 folder on a 0.x table: the table is upgraded as `up` upgrades it,
/// and the recorded rows are drizzle-orm 1.0's, after the schema was verified.
#[tokio::test]
async fn mark_applied_with_a_1_0_folder_writes_drizzle_orm_1_rows() {
    use app_db::recovery::{RecordOptions, Recorder};
    let db = TestDatabase::empty().await.unwrap();
    let mut conn = connect(&db.url).await;
    let journal = list(three());
    Migrator::with_migrations(&journal[..1])
        .run(&mut conn)
        .await
        .unwrap();
    for m in &journal[1..] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(m.sql))
            .execute(&mut conn)
            .await
            .expect("applied by hand");
    }
    let v1 = list(upgraded_all(journal));
    let migrator = Migrator::with_migrations(v1);
    let options: sqlx::postgres::PgConnectOptions = db.url.parse().unwrap();
    let recorder = Recorder::new(&migrator, options, RecordOptions::default());
    let report = recorder
        .mark_applied(&mut conn, v1[2].tag)
        .await
        .expect("recorded");
    assert_eq!(report.recorded.len(), 2);
    assert_eq!(bookkeeping_columns(&mut conn).await, drizzle1_columns());
    assert_eq!(
        any_rows(&mut conn).await,
        vec![
            (
                1,
                journal[0].hash.into(),
                Some(journal[0].when),
                Some(v1[0].name.into()),
                false
            ),
            (
                2,
                v1[1].hash.into(),
                Some(v1[1].when),
                Some(v1[1].name.into()),
                true
            ),
            (
                3,
                v1[2].hash.into(),
                Some(v1[2].when),
                Some(v1[2].name.into()),
                true
            ),
        ]
    );
    let again = migrator.run(&mut conn).await.unwrap();
    assert!(again.applied.is_empty() && !again.locked);
}
