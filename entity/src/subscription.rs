//! `subscription`: the billing state of an organization, mirrored from Stripe.

use super::sea_orm_active_enums::SubscriptionStatus;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One Stripe subscription of an organization. At most one *live* subscription per organization
/// (a partial unique index in 0002_billing); canceled ones stay as history.
///
/// The organization foreign key is `ON DELETE RESTRICT`: billing history must not vanish with an
/// accidental organization delete; the offboarding job cancels in Stripe and removes these rows first.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "subscription")]
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
    pub plan: String,
    #[sea_orm(default_value = "incomplete")]
    pub status: SubscriptionStatus,
    #[sea_orm(column_type = "Text")]
    pub stripe_customer_id: Option<String>,
    #[sea_orm(column_type = "Text", unique)]
    pub stripe_subscription_id: Option<String>,
    /// At least 1 (CHECK).
    #[sea_orm(default_value = 1)]
    pub seats: i32,
    pub trial_ends_at: Option<DateTimeWithTimeZone>,
    pub current_period_start: Option<DateTimeWithTimeZone>,
    pub current_period_end: Option<DateTimeWithTimeZone>,
    #[sea_orm(default_value = false)]
    pub cancel_at_period_end: bool,
    pub canceled_at: Option<DateTimeWithTimeZone>,
    #[sea_orm(
        column_type = "JsonBinary",
        default_expr = "Expr::cust(\"'{}'::jsonb\")"
    )]
    pub metadata: Json,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub created_at: DateTimeWithTimeZone,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub updated_at: DateTimeWithTimeZone,
    /// AI credits granted each billing period (added in 0003_ai_usage_credits).
    #[sea_orm(default_value = 0)]
    pub monthly_ai_credits: i32,
    #[sea_orm(
        belongs_to,
        from = "organization_id",
        to = "id",
        on_delete = "Restrict"
    )]
    pub organization: BelongsTo<super::organization::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
