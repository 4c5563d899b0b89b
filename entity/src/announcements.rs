//! `announcements`: in-app banners, global or for one organization.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// An announcement shown between `starts_at` and `ends_at`. `organization_id` NULL means every
/// tenant sees it.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "announcements")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        default_expr = "Expr::cust(\"gen_random_uuid()\")"
    )]
    pub id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub organization_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub created_by: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    /// `info`, `warning` or `critical` (CHECK).
    #[sea_orm(column_type = "Text", default_value = "info")]
    pub level: String,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub starts_at: DateTimeWithTimeZone,
    pub ends_at: Option<DateTimeWithTimeZone>,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub created_at: DateTimeWithTimeZone,
    #[sea_orm(belongs_to, from = "organization_id", to = "id", on_delete = "Cascade")]
    pub organization: BelongsTo<Option<super::organization::Entity>>,
    #[sea_orm(belongs_to, from = "created_by", to = "id", on_delete = "SetNull")]
    pub creator: BelongsTo<Option<super::user::Entity>>,
}

impl ActiveModelBehavior for ActiveModel {}
