//! The scenario as entities, shared by `tests/generate.rs` and
//! `migration/tests/generate_interop.rs`: the project's entities with `organization` changed (a new
//! nullable column, or `logo` removed) and a new `invoice` table pointing at `organization`,
//! then two later steps (an enum column, a vector column with an HNSW index, a new enum value).

// The entities are only read through SeaORM's registry: the macros' query helpers go unused.
#![allow(dead_code)]

/// The project's entities with `organization` replaced by the given module's (and extra ones).
macro_rules! project_with {
    ($organization:path $(, $extra:path)*) => {{
        use app_db::*;
        sea_orm::SchemaBuilder::new(sea_orm::Schema::new(sea_orm::DbBackend::Postgres))
            .register(account::Entity)
            .register(ai_usage::Entity)
            .register(announcements::Entity)
            .register(audit_log::Entity)
            .register(document_chunk::Entity)
            .register(document_source::Entity)
            .register(feature_flags::Entity)
            .register(invitation::Entity)
            .register(member::Entity)
            .register(org_credits::Entity)
            .register($organization)
            .register(referrals::Entity)
            .register(roadmap_items::Entity)
            .register(roadmap_votes::Entity)
            .register(saas_metrics_daily::Entity)
            .register(session::Entity)
            .register(subscription::Entity)
            .register(user::Entity)
            .register(verification::Entity)
            .register(waitlist_entries::Entity)
            .register(webhook_deliveries::Entity)
            .register(webhook_endpoints::Entity)
            $(.register($extra))*
    }};
}
pub(crate) use project_with;

/// `organization` as the project has it, with the given fields in place of `logo` (`logo` or
/// nothing) and the given fields at the end.
macro_rules! organization {
    ($module:ident, [$($logo:tt)*], [$($field:tt)*]) => {
        pub mod $module {
            use sea_orm::entity::prelude::*;

            #[sea_orm::model]
            #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
            #[sea_orm(table_name = "organization")]
            pub struct Model {
                #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
                pub id: String,
                #[sea_orm(column_type = "Text")]
                pub name: String,
                #[sea_orm(column_type = "Text", unique)]
                pub slug: String,
                $($logo)*
                pub created_at: DateTime,
                #[sea_orm(column_type = "Text")]
                pub metadata: Option<String>,
                $($field)*
            }

            impl ActiveModelBehavior for ActiveModel {}
        }
    };
}

/// `invoice` (uuid key, organization_id with an index and a cascading foreign key, amount,
/// created_at) plus fields.
macro_rules! invoice {
    ($module:ident, $($field:tt)*) => {
        pub mod $module {
            use sea_orm::entity::prelude::*;

            #[sea_orm::model]
            #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
            #[sea_orm(table_name = "invoice")]
            pub struct Model {
                #[sea_orm(
                    primary_key,
                    auto_increment = false,
                    default_expr = "Expr::cust(\"gen_random_uuid()\")"
                )]
                pub id: Uuid,
                #[sea_orm(column_type = "Text", indexed)]
                pub organization_id: String,
                #[sea_orm(default_value = 0)]
                pub amount_cents: i64,
                #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
                pub created_at: DateTimeWithTimeZone,
                $($field)*
                #[sea_orm(belongs_to, from = "organization_id", to = "id", on_delete = "Cascade")]
                pub organization: BelongsTo<app_db::organization::Entity>,
            }

            impl ActiveModelBehavior for ActiveModel {}
        }
    };
}

organization!(
    organization,
    [
        #[sea_orm(column_type = "Text")]
        pub logo: Option<String>,
    ],
    [
        #[sea_orm(column_type = "Text")]
        pub billing_email: Option<String>,
    ]
);

organization!(organization_without_logo, [], []);

invoice!(invoice,);

/// The `invoice_status` enum with the given values.
macro_rules! invoice_status {
    ($module:ident, $($variant:ident = $value:literal),*) => {
        pub mod $module {
            use sea_orm::entity::prelude::*;

            #[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
            #[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "invoice_status")]
            pub enum InvoiceStatus {
                $(#[sea_orm(string_value = $value)] $variant,)*
            }
        }
    };
}

// Step 2: the enum; step 3: a value added.
invoice_status!(status, Draft = "draft", Paid = "paid");
invoice_status!(
    status_with_void,
    Draft = "draft",
    Paid = "paid",
    Void = "void"
);

invoice!(
    invoice_with_status,
    #[sea_orm(default_value = "draft")]
    pub status: super::status::InvoiceStatus,
    #[sea_orm(column_type = "Vector(Some(3))")]
    pub embedding: Option<PgVector>,
);

invoice!(
    invoice_with_void,
    #[sea_orm(default_value = "draft")]
    pub status: super::status_with_void::InvoiceStatus,
    #[sea_orm(column_type = "Vector(Some(3))")]
    pub embedding: Option<PgVector>,
);

organization!(
    organization_without_logo_with_billing,
    [],
    [
        #[sea_orm(column_type = "Text")]
        pub billing_email: Option<String>,
    ]
);
