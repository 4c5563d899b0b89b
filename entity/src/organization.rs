//! `organization`: tenants, from Better Auth 1.6's organization plugin.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A tenant. Almost every per-tenant table points here with `organization_id`.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "organization")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub id: String,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    #[sea_orm(column_type = "Text", unique)]
    pub slug: String,
    #[sea_orm(column_type = "Text")]
    pub logo: Option<String>,
    pub created_at: DateTime,
    /// Free-form JSON serialised by Better Auth into a text column (not jsonb, as upstream).
    #[sea_orm(column_type = "Text")]
    pub metadata: Option<String>,
    #[sea_orm(has_many)]
    pub members: HasMany<super::member::Entity>,
    /// Users of the organization, through `member`.
    #[sea_orm(has_many, via = "member")]
    pub users: HasMany<super::user::Entity>,
    #[sea_orm(has_many)]
    pub invitations: HasMany<super::invitation::Entity>,
    #[sea_orm(has_many)]
    pub subscriptions: HasMany<super::subscription::Entity>,
    #[sea_orm(has_many)]
    pub ai_usages: HasMany<super::ai_usage::Entity>,
    #[sea_orm(has_one)]
    pub credits: HasOne<super::org_credits::Entity>,
    #[sea_orm(has_many)]
    pub document_sources: HasMany<super::document_source::Entity>,
    #[sea_orm(has_many)]
    pub document_chunks: HasMany<super::document_chunk::Entity>,
    #[sea_orm(has_many)]
    pub webhook_endpoints: HasMany<super::webhook_endpoints::Entity>,
    #[sea_orm(has_many)]
    pub webhook_deliveries: HasMany<super::webhook_deliveries::Entity>,
    #[sea_orm(has_many)]
    pub announcements: HasMany<super::announcements::Entity>,
    #[sea_orm(has_many)]
    pub feature_flags: HasMany<super::feature_flags::Entity>,
    #[sea_orm(has_many)]
    pub audit_entries: HasMany<super::audit_log::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
