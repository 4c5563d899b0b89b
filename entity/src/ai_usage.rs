//! `ai_usage`: one row per metered AI call, per organization.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A metered AI request. Read by (organization_id, created_at) range for usage dashboards.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "ai_usage")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text")]
    pub organization_id: String,
    /// Who triggered it; kept as NULL when the user is deleted so the org's usage totals survive.
    #[sea_orm(column_type = "Text")]
    pub user_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub model: String,
    #[sea_orm(column_type = "Text")]
    pub feature: Option<String>,
    #[sea_orm(default_value = 0)]
    pub input_tokens: i32,
    #[sea_orm(default_value = 0)]
    pub output_tokens: i32,
    #[sea_orm(default_value = 0)]
    pub credits_used: i32,
    /// Provider cost in millionths of a US dollar (integer, no float rounding in sums).
    #[sea_orm(default_value = 0)]
    pub cost_micro_usd: i64,
    /// Idempotency key of the metering event: a retried event cannot be billed twice.
    #[sea_orm(column_type = "Text", unique)]
    pub request_id: Option<String>,
    #[sea_orm(
        column_type = "JsonBinary",
        default_expr = "Expr::cust(\"'{}'::jsonb\")"
    )]
    pub metadata: Json,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub created_at: DateTimeWithTimeZone,
    #[sea_orm(belongs_to, from = "organization_id", to = "id", on_delete = "Cascade")]
    pub organization: BelongsTo<super::organization::Entity>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "SetNull")]
    pub user: BelongsTo<Option<super::user::Entity>>,
}

impl ActiveModelBehavior for ActiveModel {}
