//! `session`: Better Auth 1.6 sessions, plus the organization plugin's active organization.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A signed-in session. Deleted with its user.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "session")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub id: String,
    pub expires_at: DateTime,
    #[sea_orm(column_type = "Text", unique)]
    pub token: String,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub created_at: DateTime,
    pub updated_at: DateTime,
    #[sea_orm(column_type = "Text")]
    pub ip_address: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub user_agent: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub user_id: String,
    /// Set by the organization plugin. Deliberately not a foreign key, as in Better Auth: a
    /// deleted organization leaves a stale id that the plugin ignores.
    #[sea_orm(column_type = "Text")]
    pub active_organization_id: Option<String>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: BelongsTo<super::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
