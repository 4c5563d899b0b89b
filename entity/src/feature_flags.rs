//! `feature_flags`: global flags and per-organization overrides.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A flag. `organization_id` NULL is the global default; a row with an organization overrides it.
///
/// (organization_id, key) is `UNIQUE NULLS NOT DISTINCT` (PostgreSQL 15+): with the default
/// NULLS DISTINCT, any number of global rows with the same key would be accepted.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "feature_flags")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        default_expr = "Expr::cust(\"gen_random_uuid()\")"
    )]
    pub id: Uuid,
    #[sea_orm(column_type = "Text", unique_key = "organization_key")]
    pub organization_id: Option<String>,
    /// Lower-case dotted/underscored identifier (CHECK), e.g. `rag.hybrid_search`.
    #[sea_orm(column_type = "Text", unique_key = "organization_key")]
    pub key: String,
    #[sea_orm(default_value = false)]
    pub enabled: bool,
    /// 0..=100 (CHECK).
    #[sea_orm(default_value = 100)]
    pub rollout_percentage: i16,
    #[sea_orm(column_type = "Text")]
    pub description: Option<String>,
    #[sea_orm(
        column_type = "JsonBinary",
        default_expr = "Expr::cust(\"'{}'::jsonb\")"
    )]
    pub metadata: Json,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub created_at: DateTimeWithTimeZone,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub updated_at: DateTimeWithTimeZone,
    #[sea_orm(belongs_to, from = "organization_id", to = "id", on_delete = "Cascade")]
    pub organization: BelongsTo<Option<super::organization::Entity>>,
}

impl ActiveModelBehavior for ActiveModel {}
