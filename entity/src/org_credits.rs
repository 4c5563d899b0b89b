//! `org_credits`: the AI credit balance of an organization (one row per organization).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// Credit balance. The primary key is the organization id, so there is exactly one row per tenant;
/// `balance >= 0` is a CHECK, so an overdraft fails in the database rather than going negative.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "org_credits")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub organization_id: String,
    #[sea_orm(default_value = 0)]
    pub balance: i64,
    #[sea_orm(default_value = 0)]
    pub lifetime_granted: i64,
    #[sea_orm(default_value = 0)]
    pub monthly_allowance: i32,
    pub period_resets_at: Option<DateTimeWithTimeZone>,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub updated_at: DateTimeWithTimeZone,
    #[sea_orm(belongs_to, from = "organization_id", to = "id", on_delete = "Cascade")]
    pub organization: BelongsTo<super::organization::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
