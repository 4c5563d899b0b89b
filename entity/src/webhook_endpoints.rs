//! `webhook_endpoints`: an organization's outbound webhook targets.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// An HTTPS endpoint (CHECK) that receives the organization's events.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        default_expr = "Expr::cust(\"gen_random_uuid()\")"
    )]
    pub id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub organization_id: String,
    #[sea_orm(column_type = "Text")]
    pub url: String,
    #[sea_orm(column_type = "Text")]
    pub description: Option<String>,
    /// Signing secret (HMAC); never logged.
    #[sea_orm(column_type = "Text")]
    pub secret: String,
    /// Subscribed event types, a JSON array of strings (`[]` = none).
    #[sea_orm(
        column_type = "JsonBinary",
        default_expr = "Expr::cust(\"'[]'::jsonb\")"
    )]
    pub events: Json,
    #[sea_orm(default_value = true)]
    pub enabled: bool,
    /// Reset on success; the dispatcher disables the endpoint past a threshold.
    #[sea_orm(default_value = 0)]
    pub consecutive_failures: i32,
    pub disabled_at: Option<DateTimeWithTimeZone>,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub created_at: DateTimeWithTimeZone,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub updated_at: DateTimeWithTimeZone,
    #[sea_orm(belongs_to, from = "organization_id", to = "id", on_delete = "Cascade")]
    pub organization: BelongsTo<super::organization::Entity>,
    #[sea_orm(has_many)]
    pub deliveries: HasMany<super::webhook_deliveries::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
