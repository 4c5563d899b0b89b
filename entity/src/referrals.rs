//! `referrals`: who referred whom, and whether it paid out.

use super::sea_orm_active_enums::ReferralStatus;
use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A referral by `referrer_user_id`. `referred_user_id` is unique: a user is referred at most once.
///
/// The referrer side cascades (a deleted referrer's referral history goes with them); the referred
/// side is `SET NULL` so the referrer keeps the record (and any reward) when the referred user leaves.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "referrals")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        default_expr = "Expr::cust(\"gen_random_uuid()\")"
    )]
    pub id: Uuid,
    #[sea_orm(column_type = "Text")]
    pub referrer_user_id: String,
    #[sea_orm(column_type = "Text", unique)]
    pub referred_user_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub code: String,
    #[sea_orm(column_type = "Text")]
    pub referred_email: Option<String>,
    #[sea_orm(default_value = "pending")]
    pub status: ReferralStatus,
    #[sea_orm(default_value = 0)]
    pub reward_credits: i32,
    pub converted_at: Option<DateTimeWithTimeZone>,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub created_at: DateTimeWithTimeZone,
    #[sea_orm(
        belongs_to,
        relation_enum = "Referrer",
        from = "referrer_user_id",
        to = "id",
        on_delete = "Cascade"
    )]
    pub referrer: BelongsTo<super::user::Entity>,
    #[sea_orm(
        belongs_to,
        relation_enum = "Referred",
        from = "referred_user_id",
        to = "id",
        on_delete = "SetNull"
    )]
    pub referred: BelongsTo<Option<super::user::Entity>>,
}

impl ActiveModelBehavior for ActiveModel {}
