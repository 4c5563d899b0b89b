//! `invitation`: pending invitations to join an organization.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// An invitation sent by `inviter_id` to `email`.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "invitation")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub id: String,
    #[sea_orm(column_type = "Text")]
    pub organization_id: String,
    #[sea_orm(column_type = "Text")]
    pub email: String,
    #[sea_orm(column_type = "Text")]
    pub role: Option<String>,
    /// Better Auth's `pending` / `accepted` / `rejected` / `canceled`, kept as text like upstream.
    #[sea_orm(column_type = "Text", default_value = "pending")]
    pub status: String,
    pub expires_at: DateTime,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub created_at: DateTime,
    #[sea_orm(column_type = "Text")]
    pub inviter_id: String,
    #[sea_orm(belongs_to, from = "organization_id", to = "id", on_delete = "Cascade")]
    pub organization: BelongsTo<super::organization::Entity>,
    #[sea_orm(belongs_to, from = "inviter_id", to = "id", on_delete = "Cascade")]
    pub inviter: BelongsTo<super::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
