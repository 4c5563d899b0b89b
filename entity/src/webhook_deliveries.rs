//! `webhook_deliveries`: the delivery log and retry queue of outbound webhooks.

use super::sea_orm_active_enums::WebhookDeliveryStatus;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One event sent (or to be sent) to one endpoint. The retry worker polls
/// `status = 'pending' ORDER BY next_attempt_at` through a partial index on exactly that.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub endpoint_id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub organization_id: String,
    #[sea_orm(column_type = "Text")]
    pub event_type: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    #[sea_orm(default_value = "pending")]
    pub status: WebhookDeliveryStatus,
    /// Attempts made so far, 0..=50 (CHECK).
    #[sea_orm(default_value = 0)]
    pub attempt: i32,
    /// HTTP status of the last attempt, 100..=599 (CHECK).
    pub response_status: Option<i32>,
    #[sea_orm(column_type = "Text")]
    pub response_body: Option<String>,
    pub next_attempt_at: Option<DateTimeWithTimeZone>,
    pub delivered_at: Option<DateTimeWithTimeZone>,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub created_at: DateTimeWithTimeZone,
    #[sea_orm(belongs_to, from = "endpoint_id", to = "id", on_delete = "Cascade")]
    pub endpoint: BelongsTo<super::webhook_endpoints::Entity>,
    #[sea_orm(belongs_to, from = "organization_id", to = "id", on_delete = "Cascade")]
    pub organization: BelongsTo<super::organization::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
