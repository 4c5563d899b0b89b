//! `user`: Better Auth 1.6 users (table `"user"`, a reserved word, always quoted).

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// A person who can sign in. Owned by Better Auth; the app only reads it and hangs data off its id.
#[sea_orm::model]
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize, Deserialize)]
#[sea_orm(table_name = "user")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub id: String,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    #[sea_orm(column_type = "Text", unique)]
    pub email: String,
    #[sea_orm(default_value = false)]
    pub email_verified: bool,
    #[sea_orm(column_type = "Text")]
    pub image: Option<String>,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub created_at: DateTime,
    #[sea_orm(default_expr = "Expr::cust(\"now()\")")]
    pub updated_at: DateTime,
    #[sea_orm(has_many)]
    pub sessions: HasMany<super::session::Entity>,
    #[sea_orm(has_many)]
    pub accounts: HasMany<super::account::Entity>,
    #[sea_orm(has_many)]
    pub memberships: HasMany<super::member::Entity>,
    /// Organizations the user belongs to, through `member`.
    #[sea_orm(has_many, via = "member")]
    pub organizations: HasMany<super::organization::Entity>,
    /// Invitations this user sent (`invitation.inviter_id`).
    #[sea_orm(has_many)]
    pub sent_invitations: HasMany<super::invitation::Entity>,
    #[sea_orm(has_many)]
    pub ai_usages: HasMany<super::ai_usage::Entity>,
    #[sea_orm(has_many)]
    pub document_sources: HasMany<super::document_source::Entity>,
    /// Referrals where this user is the referrer.
    #[sea_orm(has_many, relation_enum = "ReferralsMade", via_rel = "Referrer")]
    pub referrals_made: HasMany<super::referrals::Entity>,
    /// The referral (at most one, by a unique constraint) that brought this user in.
    #[sea_orm(has_many, relation_enum = "ReferralsReceived", via_rel = "Referred")]
    pub referrals_received: HasMany<super::referrals::Entity>,
    #[sea_orm(has_many)]
    pub roadmap_items: HasMany<super::roadmap_items::Entity>,
    #[sea_orm(has_many)]
    pub roadmap_votes: HasMany<super::roadmap_votes::Entity>,
    #[sea_orm(has_many)]
    pub announcements: HasMany<super::announcements::Entity>,
    #[sea_orm(has_many)]
    pub audit_entries: HasMany<super::audit_log::Entity>,
}

impl ActiveModelBehavior for ActiveModel {}
