//! `generate` through the library API, on a real PostgreSQL: the project's own entities are a
//! fixed point of its migrations; the issue's scenario (a new column and a new table, then
//! nothing; a dropped column refused); declared renames; enum value removal; composite uniques.

use app_db::generate::{Generated, Migrations, Options, entities_by_prefix, generate, render};
use app_db::supplement::{PROJECT, Supplement};
use app_db::testing::TestServer;
use app_db::{Error, MIGRATIONS, Migration};
use scenario::project_with;
use sea_orm::SchemaBuilder;

#[path = "generate_cases/scenario.rs"]
mod scenario;

async fn run(
    migrations: &[Migration],
    entities: SchemaBuilder,
    supplement: &Supplement,
    allow_drop: bool,
) -> Result<Generated, Error> {
    let server = TestServer::get().expect("a PostgreSQL server for the tests");
    let options = server.admin_url().parse().expect("the test server's URL");
    generate(
        &options,
        Migrations::List(migrations),
        entities,
        supplement,
        &Options {
            allow_drop,
            ..Options::default()
        },
    )
    .await
}

/// A migration holding `statements` as drizzle-kit would write them, after `previous`.
fn migration(previous: &[Migration], statements: &[String]) -> Migration {
    let idx = previous.len() as u32;
    Migration {
        idx,
        tag: Box::leak(format!("{idx:04}_generated").into_boxed_str()),
        name: "",
        layout: app_db::migrations::Layout::Journal,
        when: previous.last().map_or(0, |m| m.when + 1),
        breakpoints: true,
        transaction: true,
        sql: Box::leak(render::file_text(statements).into_boxed_str()),
        hash: "",
    }
}

#[tokio::test]
async fn the_project_is_a_fixed_point_of_its_migrations() {
    let generated = run(MIGRATIONS, entities_by_prefix("entity::*"), &PROJECT, false)
        .await
        .expect("generate on the project");
    assert!(
        generated.plan.is_empty(),
        "entities and migrations disagree:\n{}",
        generated.plan.sql().join("\n")
    );
    // Not vacuous: both sides hold the whole schema.
    assert_eq!(generated.current.tables.len(), 22);
    assert!(
        generated
            .current
            .tables
            .keys()
            .eq(generated.desired.tables.keys())
    );
    assert_eq!(generated.desired.enums.len(), 5);
}

#[tokio::test]
async fn a_new_column_and_table_give_one_migration_then_nothing() {
    let desired = || project_with!(scenario::organization::Entity, scenario::invoice::Entity);
    let generated = run(MIGRATIONS, desired(), &PROJECT, false)
        .await
        .expect("generate the change");
    assert_eq!(
        generated.plan.sql(),
        vec![
            "CREATE TABLE \"invoice\" (\n\t\"id\" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,\n\t\"organization_id\" text NOT NULL,\n\t\"amount_cents\" bigint DEFAULT 0 NOT NULL,\n\t\"created_at\" timestamp with time zone DEFAULT now() NOT NULL\n);\n",
            "ALTER TABLE \"organization\" ADD COLUMN \"billing_email\" text;",
            "ALTER TABLE \"invoice\" ADD CONSTRAINT \"invoice_organization_id_organization_id_fk\" FOREIGN KEY (\"organization_id\") REFERENCES \"public\".\"organization\"(\"id\") ON DELETE cascade ON UPDATE no action;",
            "CREATE INDEX \"invoice_organization_id_index\" ON \"invoice\" USING btree (\"organization_id\");",
        ]
    );
    // The new file replays after the others on a fresh database, and then nothing is left.
    let mut all = MIGRATIONS.to_vec();
    all.push(migration(MIGRATIONS, &generated.plan.sql()));
    let again = run(&all, desired(), &PROJECT, false)
        .await
        .expect("generate again");
    assert!(again.plan.is_empty(), "{:?}", again.plan.sql());
}

#[tokio::test]
async fn dropping_a_column_is_refused_without_allow_drop_and_names_it() {
    let desired = || project_with!(scenario::organization_without_logo::Entity);
    let refused = run(MIGRATIONS, desired(), &PROJECT, false)
        .await
        .expect_err("a dropped column must be refused");
    let message = refused.to_string();
    assert!(matches!(refused, Error::DropRefused { .. }), "{message}");
    assert!(
        message.contains("ALTER TABLE \"organization\" DROP COLUMN \"logo\";"),
        "{message}"
    );
    assert!(message.contains("--allow-drop"), "{message}");
    let allowed = run(MIGRATIONS, desired(), &PROJECT, true)
        .await
        .expect("allowed with allow_drop");
    assert_eq!(
        allowed.plan.sql(),
        vec!["ALTER TABLE \"organization\" DROP COLUMN \"logo\";"]
    );
}

mod small {
    /// Version 1: `team` with `title`, a `tier` enum of three values.
    pub mod v1 {
        pub mod tier {
            use sea_orm::entity::prelude::*;

            #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
            #[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "tier")]
            pub enum Tier {
                #[sea_orm(string_value = "free")]
                Free,
                #[sea_orm(string_value = "legacy")]
                Legacy,
                #[sea_orm(string_value = "pro")]
                Pro,
            }
        }

        pub mod team {
            use sea_orm::entity::prelude::*;

            #[sea_orm::model]
            #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
            #[sea_orm(table_name = "team")]
            pub struct Model {
                #[sea_orm(primary_key, auto_increment = true)]
                pub id: i32,
                #[sea_orm(column_type = "Text")]
                pub title: String,
                #[sea_orm(column_type = "Text")]
                pub region: String,
                #[sea_orm(default_value = "free")]
                pub tier: super::tier::Tier,
            }

            impl ActiveModelBehavior for ActiveModel {}
        }
    }

    /// `team.title` is now `team.name`.
    pub const RENAMED: app_db::supplement::Supplement = app_db::supplement::Supplement {
        renamed_columns: &[app_db::supplement::RenamedColumn {
            table: "team",
            from: "title",
            to: "name",
        }],
        ..app_db::supplement::Supplement::EMPTY
    };

    /// Version 2: `title` renamed to `name` (declared in [`RENAMED`]), `legacy` removed from `tier`, a
    /// composite unique over (name, region).
    pub mod v2 {
        pub mod tier {
            use sea_orm::entity::prelude::*;

            #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
            #[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "tier")]
            pub enum Tier {
                #[sea_orm(string_value = "free")]
                Free,
                #[sea_orm(string_value = "pro")]
                Pro,
            }
        }

        pub mod team {
            use sea_orm::entity::prelude::*;

            #[sea_orm::model]
            #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
            #[sea_orm(table_name = "team")]
            pub struct Model {
                #[sea_orm(primary_key, auto_increment = true)]
                pub id: i32,
                #[sea_orm(
                    column_type = "Text",
                    renamed_from = "title",
                    unique_key = "name_region"
                )]
                pub name: String,
                #[sea_orm(column_type = "Text", unique_key = "name_region")]
                pub region: String,
                #[sea_orm(default_value = "free")]
                pub tier: super::tier::Tier,
            }

            impl ActiveModelBehavior for ActiveModel {}
        }
    }
}

#[tokio::test]
async fn renames_enum_value_removal_and_composite_uniques() {
    let none = Supplement::default();
    let v1 = run(
        &[],
        entities_by_prefix("generate::small::v1::*"),
        &none,
        false,
    )
    .await
    .expect("v1 from nothing");
    assert_eq!(
        v1.plan.sql(),
        vec![
            "CREATE TYPE \"public\".\"tier\" AS ENUM('free', 'legacy', 'pro');",
            "CREATE TABLE \"team\" (\n\t\"id\" serial PRIMARY KEY NOT NULL,\n\t\"title\" text NOT NULL,\n\t\"region\" text NOT NULL,\n\t\"tier\" \"tier\" DEFAULT 'free' NOT NULL\n);\n",
        ]
    );
    let history = vec![migration(&[], &v1.plan.sql())];
    // Removing an enum value can fail on rows holding it: refused without allow_drop.
    let refused = run(
        &history,
        entities_by_prefix("generate::small::v2::*"),
        &small::RENAMED,
        false,
    )
    .await
    .expect_err("removing an enum value must be refused");
    assert!(refused.to_string().contains("'legacy'"), "{refused}");
    let v2 = run(
        &history,
        entities_by_prefix("generate::small::v2::*"),
        &small::RENAMED,
        true,
    )
    .await
    .expect("v2 with allow_drop");
    assert_eq!(
        v2.plan.sql(),
        vec![
            "ALTER TABLE \"team\" RENAME COLUMN \"title\" TO \"name\";",
            "ALTER TABLE \"team\" ALTER COLUMN \"tier\" SET DATA TYPE text;",
            "ALTER TABLE \"team\" ALTER COLUMN \"tier\" SET DEFAULT 'free'::text;",
            "DROP TYPE \"public\".\"tier\";",
            "CREATE TYPE \"public\".\"tier\" AS ENUM('free', 'pro');",
            "ALTER TABLE \"team\" ALTER COLUMN \"tier\" SET DEFAULT 'free'::\"public\".\"tier\";",
            "ALTER TABLE \"team\" ALTER COLUMN \"tier\" SET DATA TYPE \"public\".\"tier\" USING \"tier\"::\"public\".\"tier\";",
            "ALTER TABLE \"team\" ADD CONSTRAINT \"team_name_region_unique\" UNIQUE(\"name\",\"region\");",
        ]
    );
    let mut all = history.clone();
    all.push(migration(&history, &v2.plan.sql()));
    let again = run(
        &all,
        entities_by_prefix("generate::small::v2::*"),
        &small::RENAMED,
        false,
    )
    .await
    .expect("v2 again");
    assert!(again.plan.is_empty(), "{:?}", again.plan.sql());
}

/// The HNSW index's operator class changes (cosine → L2): the index is rebuilt. The catalogs
/// print an index key without its operator class, so this is compared in parts.
#[tokio::test]
async fn a_changed_operator_class_rebuilds_the_index() {
    let indexes: Vec<app_db::supplement::Index> = PROJECT
        .indexes
        .iter()
        .map(|i| match i.name {
            "document_chunk_embedding_idx" => app_db::supplement::Index {
                keys: r#""embedding" vector_l2_ops"#,
                ..*i
            },
            _ => *i,
        })
        .collect();
    let supplement = Supplement {
        indexes: Box::leak(indexes.into_boxed_slice()),
        ..PROJECT
    };
    let generated = run(
        MIGRATIONS,
        entities_by_prefix("entity::*"),
        &supplement,
        false,
    )
    .await
    .expect("generate the index change");
    assert_eq!(
        generated.plan.sql(),
        vec![
            "DROP INDEX \"document_chunk_embedding_idx\";",
            "CREATE INDEX \"document_chunk_embedding_idx\" ON \"document_chunk\" USING hnsw (\"embedding\" vector_l2_ops);",
        ]
    );
}
