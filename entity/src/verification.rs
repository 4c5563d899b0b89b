//! `verification`: Better Auth 1.6 one-time values (email verification, password reset).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A short-lived verification value keyed by `identifier`.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "verification")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub id: String,
    #[sea_orm(column_type = "Text")]
    pub identifier: String,
    #[sea_orm(column_type = "Text")]
    pub value: String,
    pub expires_at: DateTime,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub created_at: DateTime,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub updated_at: DateTime,
}

impl ActiveModelBehavior for ActiveModel {}
