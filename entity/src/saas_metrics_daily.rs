//! `saas_metrics_daily`: one row of product-wide KPIs per UTC day.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Daily snapshot computed by a nightly job; recomputing a day upserts on the `day` key.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "saas_metrics_daily")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub day: Date,
    /// Monthly recurring revenue in cents.
    #[sea_orm(default_value = 0)]
    pub mrr_cents: i64,
    #[sea_orm(default_value = 0)]
    pub signups: i32,
    #[sea_orm(default_value = 0)]
    pub active_users: i32,
    #[sea_orm(default_value = 0)]
    pub active_organizations: i32,
    #[sea_orm(default_value = 0)]
    pub new_organizations: i32,
    #[sea_orm(default_value = 0)]
    pub churned_organizations: i32,
    #[sea_orm(default_value = 0)]
    pub trialing_subscriptions: i32,
    #[sea_orm(default_value = 0)]
    pub paying_subscriptions: i32,
    #[sea_orm(default_value = 0)]
    pub ai_tokens: i64,
    #[sea_orm(default_value = 0)]
    pub ai_credits_used: i64,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub computed_at: DateTimeWithTimeZone,
}

impl ActiveModelBehavior for ActiveModel {}
