//! `audit_log`: the security audit trail.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// One audited action. Both foreign keys are `SET NULL`: the trail must outlive the actor and the
/// organization it describes (retention is a separate, explicit job).
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(column_type = "Text")]
    pub organization_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub actor_user_id: Option<String>,
    /// Dotted verb, e.g. `member.role_changed`.
    #[sea_orm(column_type = "Text")]
    pub action: String,
    #[sea_orm(column_type = "Text")]
    pub target_type: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub target_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub ip_address: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub user_agent: Option<String>,
    #[sea_orm(
        column_type = "JsonBinary",
        default_expr = "Expr::cust(\"'{}'::jsonb\")"
    )]
    pub metadata: Json,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub created_at: DateTimeWithTimeZone,
    #[sea_orm(belongs_to, from = "organization_id", to = "id", on_delete = "SetNull")]
    pub organization: BelongsTo<Option<super::organization::Entity>>,
    #[sea_orm(belongs_to, from = "actor_user_id", to = "id", on_delete = "SetNull")]
    pub actor: BelongsTo<Option<super::user::Entity>>,
}

impl ActiveModelBehavior for ActiveModel {}
