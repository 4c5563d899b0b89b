//! The "after" schema of each drizzle-kit fixture as SeaORM entities, one module per case
//! (`cNN` for `tests/fixtures/generate/NN_*`). `generate` finds them by module path.

// The entities are only read through SeaORM's registry: the macros' query helpers go unused.
#![allow(dead_code)]

/// `organization` (id uuid primary key defaulting to gen_random_uuid(), name text) plus fields.
macro_rules! organization {
    ($($field:tt)*) => {
        pub mod organization {
            use sea_orm::entity::prelude::*;

            #[sea_orm::model]
            #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
            #[sea_orm(table_name = "organization")]
            pub struct Model {
                #[sea_orm(
                    primary_key,
                    auto_increment = false,
                    default_expr = "Expr::cust(\"gen_random_uuid()\")"
                )]
                pub id: Uuid,
                #[sea_orm(column_type = "Text")]
                pub name: String,
                $($field)*
            }

            impl ActiveModelBehavior for ActiveModel {}
        }
    };
}

/// `project` (id uuid primary key, organization_id uuid, name text) plus fields.
macro_rules! project {
    ($($field:tt)*) => {
        pub mod project {
            use sea_orm::entity::prelude::*;

            #[sea_orm::model]
            #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
            #[sea_orm(table_name = "project")]
            pub struct Model {
                #[sea_orm(
                    primary_key,
                    auto_increment = false,
                    default_expr = "Expr::cust(\"gen_random_uuid()\")"
                )]
                pub id: Uuid,
                $($field)*
                #[sea_orm(column_type = "Text")]
                pub name: String,
            }

            impl ActiveModelBehavior for ActiveModel {}
        }
    };
}

/// `document` with a nullable `vector(3)` embedding.
macro_rules! document {
    () => {
        pub mod document {
            use sea_orm::entity::prelude::*;

            #[sea_orm::model]
            #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
            #[sea_orm(table_name = "document")]
            pub struct Model {
                #[sea_orm(
                    primary_key,
                    auto_increment = false,
                    default_expr = "Expr::cust(\"gen_random_uuid()\")"
                )]
                pub id: Uuid,
                pub organization_id: Uuid,
                #[sea_orm(column_type = "Text")]
                pub body: String,
                #[sea_orm(column_type = "Vector(Some(3))")]
                pub embedding: Option<PgVector>,
            }

            impl ActiveModelBehavior for ActiveModel {}
        }
    };
}

/// The `plan` enum with the given values.
macro_rules! plan_enum {
    ($($variant:ident = $value:literal),*) => {
        pub mod plan {
            use sea_orm::entity::prelude::*;

            #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
            #[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "plan")]
            pub enum Plan {
                $(#[sea_orm(string_value = $value)] $variant,)*
            }
        }
        organization! {
            #[sea_orm(default_value = "free")]
            pub plan: super::plan::Plan,
        }
    };
}

pub mod c01 {
    organization! {}
    pub mod project {
        use sea_orm::entity::prelude::*;

        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "project")]
        pub struct Model {
            #[sea_orm(
                primary_key,
                auto_increment = false,
                default_expr = "Expr::cust(\"gen_random_uuid()\")"
            )]
            pub id: Uuid,
            #[sea_orm(column_type = "Text")]
            pub name: String,
            #[sea_orm(default_value = 0)]
            pub position: i32,
            #[sea_orm(column_type = "Text")]
            pub note: Option<String>,
        }

        impl ActiveModelBehavior for ActiveModel {}
    }
}

pub mod c02 {
    organization! {}
}

pub mod c03 {
    organization! {
        #[sea_orm(column_type = "Text")]
        pub logo: Option<String>,
        #[sea_orm(default_value = 1)]
        pub seats: i32,
    }
}

pub mod c04 {
    organization! {}
}

pub mod c05 {
    organization! { pub seats: i64, }
}

pub mod c06 {
    organization! { pub seats: Option<i32>, }
}

pub mod c07 {
    organization! {
        #[sea_orm(column_type = "Text")]
        pub slug: String,
    }
}

pub mod c08 {
    organization! {
        #[sea_orm(column_type = "Text")]
        pub slug: Option<String>,
    }
}

pub mod c09 {
    organization! {
        #[sea_orm(column_type = "Text", default_value = "free")]
        pub plan: String,
    }
}

pub mod c10 {
    organization! {
        #[sea_orm(default_value = 5)]
        pub seats: i32,
    }
}

pub mod c11 {
    organization! {
        #[sea_orm(column_type = "Text")]
        pub plan: String,
    }
}

pub mod c12 {
    organization! {}
    pub mod project {
        use sea_orm::entity::prelude::*;

        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "project")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub id: Uuid,
            #[sea_orm(column_type = "Text")]
            pub name: String,
        }

        impl ActiveModelBehavior for ActiveModel {}
    }
}

pub mod c13 {
    organization! {}
    pub mod member {
        use sea_orm::entity::prelude::*;

        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "member")]
        pub struct Model {
            #[sea_orm(primary_key, auto_increment = false)]
            pub organization_id: Uuid,
            #[sea_orm(primary_key, auto_increment = false)]
            pub user_id: Uuid,
            #[sea_orm(column_type = "Text")]
            pub role: String,
        }

        impl ActiveModelBehavior for ActiveModel {}
    }
}

pub mod c14 {
    organization! {
        #[sea_orm(column_type = "Text", unique)]
        pub slug: String,
    }
}

pub mod c15 {
    organization! {}
    pub mod member {
        use sea_orm::entity::prelude::*;

        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "member")]
        pub struct Model {
            #[sea_orm(
                primary_key,
                auto_increment = false,
                default_expr = "Expr::cust(\"gen_random_uuid()\")"
            )]
            pub id: Uuid,
            #[sea_orm(unique_key = "organization_user")]
            pub organization_id: Uuid,
            #[sea_orm(unique_key = "organization_user")]
            pub user_id: Uuid,
            #[sea_orm(column_type = "Text")]
            pub role: String,
        }

        impl ActiveModelBehavior for ActiveModel {}
    }
}

pub mod c16 {
    organization! {}
    project! {
        pub organization_id: Uuid,
        #[sea_orm(belongs_to, from = "organization_id", to = "id", on_delete = "Cascade")]
        pub organization: BelongsTo<super::organization::Entity>,
    }
}

pub mod c17 {
    organization! {}
    project! {
        pub organization_id: Uuid,
        #[sea_orm(
            belongs_to,
            from = "organization_id",
            to = "id",
            on_delete = "Restrict",
            on_update = "Cascade"
        )]
        pub organization: BelongsTo<super::organization::Entity>,
    }
}

pub mod c18 {
    organization! {}
    project! { pub organization_id: Uuid, }
}

pub mod c19 {
    organization! {}
    project! {
        #[sea_orm(indexed)]
        pub organization_id: Uuid,
    }
}

pub mod c20 {
    organization! {}
    project! { pub organization_id: Uuid, }
}

pub mod c21 {
    use app_db::supplement::{Index, Supplement};

    organization! {}
    project! { pub organization_id: Uuid, }

    /// drizzle's `index("project_org_name_idx").on(…)`: a name of its own.
    pub const SUPPLEMENT: Supplement = Supplement {
        indexes: &[Index {
            table: "project",
            name: "project_org_name_idx",
            unique: false,
            method: "btree",
            keys: r#""organization_id","name""#,
            predicate: None,
            with: &[],
        }],
        ..Supplement::EMPTY
    };
}

pub mod c22 {
    plan_enum!(Free = "free", Pro = "pro");
}

pub mod c23 {
    plan_enum!(Free = "free", Pro = "pro", Enterprise = "enterprise");
}

pub mod c24 {
    plan_enum!(Free = "free", Team = "team", Pro = "pro");
}

pub mod c25 {
    organization! {}
}

pub mod c26 {
    use app_db::supplement::Supplement;

    organization! {}
    document!();

    /// pgvector for the `vector(3)` column.
    pub const SUPPLEMENT: Supplement = Supplement {
        extensions: &["vector"],
        ..Supplement::EMPTY
    };
}

pub mod c27 {
    use app_db::supplement::{Index, Supplement};

    organization! {}
    document!();

    /// drizzle's `index().using("hnsw", t.embedding.op("vector_cosine_ops"))`.
    pub const INDEX: Index = Index {
        table: "document",
        name: "document_embedding_index",
        unique: false,
        method: "hnsw",
        keys: r#""embedding" vector_cosine_ops"#,
        predicate: None,
        with: &[],
    };

    pub const SUPPLEMENT: Supplement = Supplement {
        extensions: &["vector"],
        indexes: &[INDEX],
        ..Supplement::EMPTY
    };
}

pub mod c28 {
    plan_enum!(Free = "free", Pro = "pro");
}

pub mod c29 {
    use app_db::supplement::Supplement;

    pub mod document {
        use sea_orm::entity::prelude::*;

        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
        #[sea_orm(table_name = "document")]
        pub struct Model {
            #[sea_orm(
                primary_key,
                auto_increment = false,
                default_expr = "Expr::cust(\"gen_random_uuid()\")"
            )]
            pub id: Uuid,
            #[sea_orm(column_type = "Text")]
            pub body: String,
            #[sea_orm(column_type = "Vector(Some(4))")]
            pub embedding: Option<PgVector>,
        }

        impl ActiveModelBehavior for ActiveModel {}
    }

    /// pgvector for the `vector(4)` column.
    pub const SUPPLEMENT: Supplement = Supplement {
        extensions: &["vector"],
        ..Supplement::EMPTY
    };
}

pub mod c30 {
    project! { pub organization_id: Uuid, }
}

pub mod c31 {
    project! {}
}

pub mod c32 {
    pub mod verbose {
        use sea_orm::entity::prelude::*;

        /// A keyword, so PostgreSQL prints the type quoted (`"verbose"`). SeaORM writes an
        /// enum column's type unquoted, so a camelCase name (`planTier`) cannot come from an
        /// entity; a keyword that may stand unquoted as a type name can.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
        #[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "verbose")]
        pub enum Verbose {
            #[sea_orm(string_value = "quiet")]
            Quiet,
            #[sea_orm(string_value = "normal")]
            Normal,
        }
    }
    organization! {
        #[sea_orm(default_value = "normal")]
        pub logging: super::verbose::Verbose,
        /// `"verbose"[]`: SeaORM's enum arrays need its `postgres-array` feature, which the
        /// project does not build; the column's type is written as it stands.
        #[sea_orm(column_type = r#"custom("\"verbose\"[]")"#)]
        pub past_logging: Option<String>,
    }
}

pub mod c33 {
    pub mod line_item {
        use sea_orm::entity::prelude::*;

        /// `total_cents` is generated in the migrations (`GENERATED ALWAYS AS … STORED`), which
        /// an entity cannot say: it is a plain column here, and generation is not compared.
        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "line_item")]
        pub struct Model {
            #[sea_orm(
                primary_key,
                auto_increment = false,
                default_expr = "Expr::cust(\"gen_random_uuid()\")"
            )]
            pub id: Uuid,
            pub quantity: i32,
            pub unit_cents: i32,
            pub total_cents: Option<i32>,
            #[sea_orm(column_type = "Text")]
            pub note: Option<String>,
        }

        impl ActiveModelBehavior for ActiveModel {}
    }
}

pub mod c34 {
    organization! {
        #[sea_orm(default_value = 1)]
        pub seats: i64,
    }
}

pub mod c35 {
    use app_db::supplement::{Check, Supplement};

    organization! { pub seats: i32, }

    /// drizzle's `check("organization_seats_positive", sql`${t.seats} > 0`)`.
    pub const SUPPLEMENT: Supplement = Supplement {
        checks: &[Check {
            table: "organization",
            name: "organization_seats_positive",
            expression: r#""organization"."seats" > 0"#,
        }],
        ..Supplement::EMPTY
    };
}

pub mod c36 {
    use app_db::supplement::{Index, Supplement};

    pub mod member {
        use sea_orm::entity::prelude::*;

        #[sea_orm::model]
        #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
        #[sea_orm(table_name = "member")]
        pub struct Model {
            #[sea_orm(
                primary_key,
                auto_increment = false,
                default_expr = "Expr::cust(\"gen_random_uuid()\")"
            )]
            pub id: Uuid,
            #[sea_orm(column_type = "Text")]
            pub email: String,
            pub deleted_at: Option<DateTime>,
        }

        impl ActiveModelBehavior for ActiveModel {}
    }

    /// drizzle's `uniqueIndex("member_email_live_idx").on(t.email).where(…)`.
    pub const SUPPLEMENT: Supplement = Supplement {
        indexes: &[Index {
            table: "member",
            name: "member_email_live_idx",
            unique: true,
            method: "btree",
            keys: r#""email""#,
            predicate: Some(r#""member"."deleted_at" is null"#),
            with: &[],
        }],
        ..Supplement::EMPTY
    };
}

pub mod c37 {
    use app_db::supplement::{RenamedColumn, Supplement};

    organization! {
        #[sea_orm(column_type = "Text")]
        pub headline: Option<String>,
    }

    /// The rename drizzle-kit asks about (answered "rename" in the fixture).
    pub const SUPPLEMENT: Supplement = Supplement {
        renamed_columns: &[RenamedColumn {
            table: "organization",
            from: "title",
            to: "headline",
        }],
        ..Supplement::EMPTY
    };
}

pub mod c38 {
    use app_db::supplement::{Index, Supplement};

    organization! {}
    document!();

    /// c27's index built with other parameters: `.with({ m: 24, ef_construction: 128 })`.
    pub const SUPPLEMENT: Supplement = Supplement {
        indexes: &[Index {
            with: &[("m", "24"), ("ef_construction", "128")],
            ..super::c27::INDEX
        }],
        ..super::c27::SUPPLEMENT
    };
}
