//! `roadmap_items`: the public product roadmap and feature requests.

use super::sea_orm_active_enums::RoadmapStatus;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A feature request or roadmap card. Global (not per tenant): every customer sees one roadmap.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "roadmap_items")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        default_expr = "Expr::cust(\"gen_random_uuid()\")"
    )]
    pub id: Uuid,
    /// The requester; `SET NULL` so a request outlives its author's account.
    #[sea_orm(column_type = "Text")]
    pub created_by: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub description: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub category: Option<String>,
    #[sea_orm(default_value = "under_review")]
    pub status: RoadmapStatus,
    /// Sum of `roadmap_votes.value`, maintained by the app for cheap sorting.
    #[sea_orm(default_value = 0)]
    pub vote_score: i32,
    pub shipped_at: Option<DateTimeWithTimeZone>,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub created_at: DateTimeWithTimeZone,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub updated_at: DateTimeWithTimeZone,
    #[sea_orm(belongs_to, from = "created_by", to = "id", on_delete = "SetNull")]
    pub creator: BelongsTo<Option<super::user::Entity>>,
    #[sea_orm(has_many)]
    pub votes: HasMany<super::roadmap_votes::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
