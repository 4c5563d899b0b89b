//! `waitlist_entries`: the pre-launch email waitlist.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A waitlist signup. `email` is stored lower-cased (CHECK) and unique, so the same address in a
/// different case cannot sign up twice, without an expression index the entity could not describe.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "waitlist_entries")]
pub struct Model {
    #[sea_orm(
        primary_key,
        auto_increment = false,
        default_expr = "Expr::cust(\"gen_random_uuid()\")"
    )]
    pub id: Uuid,
    #[sea_orm(column_type = "Text", unique)]
    pub email: String,
    #[sea_orm(column_type = "Text")]
    pub source: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub referral_code: Option<String>,
    /// `waiting`, `invited`, `joined` or `removed` (CHECK).
    #[sea_orm(column_type = "Text", default_value = "waiting")]
    pub status: String,
    pub invited_at: Option<DateTimeWithTimeZone>,
    #[sea_orm(
        column_type = "JsonBinary",
        default_expr = "Expr::cust(\"'{}'::jsonb\")"
    )]
    pub metadata: Json,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub created_at: DateTimeWithTimeZone,
}

impl ActiveModelBehavior for ActiveModel {}
