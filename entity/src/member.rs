//! `member`: membership of a user in an organization, with a role.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A user's membership in one organization. Unique per (organization, user): a product decision
/// on top of Better Auth, which only checks this in application code.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "member")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub id: String,
    #[sea_orm(column_type = "Text", unique_key = "organization_user")]
    pub organization_id: String,
    #[sea_orm(column_type = "Text", unique_key = "organization_user")]
    pub user_id: String,
    /// Better Auth roles (`owner`, `admin`, `member`, or custom ones): plain text, not an enum,
    /// because the plugin lets the app define roles.
    #[sea_orm(column_type = "Text", default_value = "member")]
    pub role: String,
    pub created_at: DateTime,
    #[sea_orm(belongs_to, from = "organization_id", to = "id", on_delete = "Cascade")]
    pub organization: BelongsTo<super::organization::Entity>,
    #[sea_orm(belongs_to, from = "user_id", to = "id", on_delete = "Cascade")]
    pub user: BelongsTo<super::user::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
