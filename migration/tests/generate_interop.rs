//! Folders written by `generate` are applied by drizzle-orm's own migrator (node,
//! `tests/drizzle-interop/`) exactly as by app-db's.
//!
//! A copy of the project's folder gets three migrations from `app_db::generate`, written by
//! the CLI's own writer: `migration generate <name> --custom --dir <copy>` makes the file and
//! its journal entry (the CLI's `add_migration` and journal rendering), and the file is given
//! the generated SQL as `generate <name>` writes it (`render::file_text`). (The built CLI's
//! schema-change `generate` compares the project's own entities; these steps need the
//! scenario's.) The steps: the issue's scenario (a new nullable column on `organization`, a new
//! `invoice` table with a foreign key and an index), then an enum column with a vector column
//! and its HNSW index (declared in the supplement), then a new enum value and a dropped column
//! (`allow_drop`). The folder is applied by drizzle-orm on one fresh database, by app-db on
//! another, and by app-db up to the project's own migrations then drizzle-orm for the
//! generated ones on a third: all three must end with the same `__drizzle_migrations` rows (id,
//! hash, created_at) and the same `pg_dump --schema-only`.
//!
//! Needs Node.js 20+ and npm: the pinned packages are installed with `npm ci`.

mod common;
#[path = "../../tests/common/drizzle.rs"]
mod drizzle;
#[path = "../../tests/generate_cases/scenario.rs"]
mod scenario;

use std::path::Path;

use app_db::generate::{Migrations, Options, generate, render};
use app_db::journal::{JOURNAL_PATH, sha256_hex};
use app_db::migrations::MIGRATIONS_DIR;
use app_db::supplement::{Index, PROJECT, Supplement};
use app_db::testing::{TestDatabase, TestServer};
use app_db::{MIGRATIONS, Migrator};
use scenario::project_with;
use sea_orm::SchemaBuilder;
use serde_json::Value;
use sqlx::Connection;

/// The journal's entries as `(tag, when)`.
fn journal_entries(dir: &Path) -> Vec<(String, i64)> {
    let path = dir.join(JOURNAL_PATH);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let journal: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not a journal: {e}", path.display()));
    journal["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["tag"].as_str().expect("tag").to_string(),
                e["when"].as_i64().expect("when"),
            )
        })
        .collect()
}

/// Adds migration `name` holding `statements` with the CLI's writer: `generate <name>
/// --custom` writes the file and the journal entry, the file then gets the statements as
/// `generate <name>` writes them.
fn add_migration(dir: &Path, name: &str, statements: &[String]) {
    let before = journal_entries(dir).len();
    let run = common::migration(&[
        "generate",
        name,
        "--custom",
        "--dir",
        dir.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(run.code, 0, "generate {name} --custom: {run:?}");
    let entries = journal_entries(dir);
    assert_eq!(
        entries.len(),
        before + 1,
        "one journal entry added: {run:?}"
    );
    let (tag, _) = entries.last().expect("the new entry");
    assert_eq!(tag, &format!("{before:04}_{name}"));
    let file = dir.join(format!("{tag}.sql"));
    assert!(
        run.stdout.contains(&file.display().to_string()),
        "the CLI names the file it wrote: {run:?}"
    );
    std::fs::write(&file, render::file_text(statements)).expect("write the statements");
}

/// A copy of the project's folder (SQL files and `meta/`) in a new directory.
fn copy_of_project_folder() -> std::path::PathBuf {
    let dir = drizzle::scratch_dir("generate-interop");
    let source = Path::new(MIGRATIONS_DIR);
    for sub in ["", "meta"] {
        std::fs::create_dir_all(dir.join(sub)).expect("create the copy");
        for entry in std::fs::read_dir(source.join(sub)).expect("read the project's folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_file() {
                std::fs::copy(&path, dir.join(sub).join(path.file_name().expect("a name")))
                    .expect("copy a migration file");
            }
        }
    }
    dir
}

/// The project's supplement plus the HNSW index of `invoice.embedding`.
fn supplement_with_invoice_index() -> &'static Supplement {
    let mut indexes = PROJECT.indexes.to_vec();
    indexes.push(Index {
        table: "invoice",
        name: "invoice_embedding_index",
        unique: false,
        method: "hnsw",
        keys: r#""embedding" vector_cosine_ops"#,
        predicate: None,
        with: &[],
    });
    Box::leak(Box::new(Supplement {
        indexes: Box::leak(indexes.into_boxed_slice()),
        ..PROJECT
    }))
}

/// One `generate` run on the folder: the statements, or the panic message naming the step.
async fn generate_on(
    dir: &Path,
    entities: SchemaBuilder,
    supplement: &Supplement,
    allow_drop: bool,
) -> Vec<String> {
    let server = TestServer::get().expect("a PostgreSQL server for the tests");
    let options = server.admin_url().parse().expect("the test server's URL");
    generate(
        &options,
        Migrations::Folder(dir),
        entities,
        supplement,
        &Options {
            allow_drop,
            ..Options::default()
        },
    )
    .await
    .unwrap_or_else(|e| panic!("generate on {}: {e}", dir.display()))
    .plan
    .sql()
}

use drizzle::{BookkeepingRow, EndState, end_state, first_difference};

#[tokio::test]
async fn generated_folders_apply_alike_with_drizzle_orm_and_app_db() {
    let dir = copy_of_project_folder();
    let final_entities = || {
        project_with!(
            scenario::organization_without_logo_with_billing::Entity,
            scenario::invoice_with_void::Entity
        )
    };
    let supplement = supplement_with_invoice_index();

    let steps: [(&str, SchemaBuilder, &Supplement, bool, Vec<&str>); 3] = [
        (
            "add_invoice",
            project_with!(scenario::organization::Entity, scenario::invoice::Entity),
            &PROJECT,
            false,
            vec![
                "CREATE TABLE \"invoice\" (\n\t\"id\" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,\n\t\"organization_id\" text NOT NULL,\n\t\"amount_cents\" bigint DEFAULT 0 NOT NULL,\n\t\"created_at\" timestamp with time zone DEFAULT now() NOT NULL\n);\n",
                "ALTER TABLE \"organization\" ADD COLUMN \"billing_email\" text;",
                "ALTER TABLE \"invoice\" ADD CONSTRAINT \"invoice_organization_id_organization_id_fk\" FOREIGN KEY (\"organization_id\") REFERENCES \"public\".\"organization\"(\"id\") ON DELETE cascade ON UPDATE no action;",
                "CREATE INDEX \"invoice_organization_id_index\" ON \"invoice\" USING btree (\"organization_id\");",
            ],
        ),
        (
            "invoice_status_embedding",
            project_with!(
                scenario::organization::Entity,
                scenario::invoice_with_status::Entity
            ),
            supplement,
            false,
            vec![
                "CREATE TYPE \"public\".\"invoice_status\" AS ENUM('draft', 'paid');",
                "ALTER TABLE \"invoice\" ADD COLUMN \"status\" \"invoice_status\" DEFAULT 'draft' NOT NULL;",
                "ALTER TABLE \"invoice\" ADD COLUMN \"embedding\" vector(3);",
                "CREATE INDEX \"invoice_embedding_index\" ON \"invoice\" USING hnsw (\"embedding\" vector_cosine_ops);",
            ],
        ),
        (
            "void_drop_logo",
            final_entities(),
            supplement,
            true,
            vec![
                "ALTER TYPE \"public\".\"invoice_status\" ADD VALUE 'void';",
                "ALTER TABLE \"organization\" DROP COLUMN \"logo\";",
            ],
        ),
    ];
    for (name, entities, supplement, allow_drop, expected) in steps {
        let statements = generate_on(&dir, entities, supplement, allow_drop).await;
        assert_eq!(statements, expected, "{name}");
        add_migration(&dir, name, &statements);
    }
    // The folder now describes the final entities: nothing left to generate.
    let again = generate_on(&dir, final_entities(), supplement, false).await;
    assert!(again.is_empty(), "left to generate: {again:?}");

    let migrations = drizzle::load_static(&dir);
    assert_eq!(migrations.len(), MIGRATIONS.len() + 3);

    let by_drizzle = TestDatabase::empty().await.expect("a database");
    drizzle::drizzle_migrate(&dir, &by_drizzle.url, None);
    let expected = end_state(&by_drizzle.url).await;
    // The rows are drizzle's: the hash of each file's bytes and the journal's `when`.
    let files: Vec<BookkeepingRow> = journal_entries(&dir)
        .iter()
        .zip(1..)
        .map(|((tag, when), id)| {
            let sql = std::fs::read(dir.join(format!("{tag}.sql"))).expect("read");
            (id, sha256_hex(&sql), Some(*when))
        })
        .collect();
    assert_eq!(expected.rows, files, "drizzle-orm's rows");
    for object in [
        "CREATE TABLE public.invoice",
        "billing_email text",
        "CREATE TYPE public.invoice_status AS ENUM (\n    'draft',\n    'paid',\n    'void'\n);",
        "embedding public.vector(3)",
        "USING hnsw (embedding public.vector_cosine_ops)",
        "REFERENCES public.organization(id) ON DELETE CASCADE",
    ] {
        assert!(
            expected.dump.contains(object),
            "drizzle-orm's schema lacks {object:?}:\n{}",
            expected.dump
        );
    }
    assert!(
        !expected.dump.contains("logo"),
        "logo was dropped:\n{}",
        expected.dump
    );

    let by_app_db = TestDatabase::empty().await.expect("a database");
    let mut conn = connect(&by_app_db.url).await;
    let report = Migrator::with_migrations(migrations)
        .run(&mut conn)
        .await
        .expect("app-db applies the generated folder");
    assert_eq!(report.applied.len(), migrations.len());
    assert_same(&expected, &end_state(&by_app_db.url).await, "app-db alone");

    // A database of the project as it is (app-db's compiled migrations), upgraded by
    // drizzle-orm with the generated ones.
    let upgraded = TestDatabase::empty().await.expect("a database");
    let mut conn = connect(&upgraded.url).await;
    Migrator::with_migrations(MIGRATIONS)
        .run(&mut conn)
        .await
        .expect("app-db applies the project's migrations");
    drizzle::drizzle_migrate(&dir, &upgraded.url, None);
    assert_same(
        &expected,
        &end_state(&upgraded.url).await,
        "app-db for the project's migrations, then drizzle-orm",
    );

    std::fs::remove_dir_all(&dir).expect("remove the folder");
}

async fn connect(url: &str) -> sqlx::PgConnection {
    sqlx::PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect to the test database: {e}"))
}

fn assert_same(expected: &EndState, got: &EndState, how: &str) {
    assert_eq!(
        got.rows, expected.rows,
        "{how}: __drizzle_migrations differs from drizzle-orm's"
    );
    assert!(
        got.dump == expected.dump,
        "{how}: the schema differs from drizzle-orm's (expected: drizzle-orm)\n{}",
        first_difference(&expected.dump, &got.dump)
    );
}
