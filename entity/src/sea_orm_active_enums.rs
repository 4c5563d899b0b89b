//! Rust mirrors of the PostgreSQL enum types created by the migrations.
//!
//! Each variant's `string_value` is the exact enum label in the database; adding a label needs a
//! migration (`ALTER TYPE ... ADD VALUE`) and a variant here, which the parity test enforces.

use sea_orm::entity::prelude::*;
use serde::{Deserialize, Serialize};

/// `subscription_status`: Stripe's subscription lifecycle, stored verbatim.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(
    rs_type = "String",
    db_type = "Enum",
    enum_name = "subscription_status"
)]
pub enum SubscriptionStatus {
    #[sea_orm(string_value = "incomplete")]
    Incomplete,
    #[sea_orm(string_value = "incomplete_expired")]
    IncompleteExpired,
    #[sea_orm(string_value = "trialing")]
    Trialing,
    #[sea_orm(string_value = "active")]
    Active,
    #[sea_orm(string_value = "past_due")]
    PastDue,
    #[sea_orm(string_value = "canceled")]
    Canceled,
    #[sea_orm(string_value = "unpaid")]
    Unpaid,
    #[sea_orm(string_value = "paused")]
    Paused,
}

/// `document_source_status`: ingestion state of a RAG source.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(
    rs_type = "String",
    db_type = "Enum",
    enum_name = "document_source_status"
)]
pub enum DocumentSourceStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "processing")]
    Processing,
    #[sea_orm(string_value = "ready")]
    Ready,
    #[sea_orm(string_value = "failed")]
    Failed,
}

/// `referral_status`: how far a referral has progressed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "referral_status")]
pub enum ReferralStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "signed_up")]
    SignedUp,
    #[sea_orm(string_value = "converted")]
    Converted,
    #[sea_orm(string_value = "rewarded")]
    Rewarded,
    #[sea_orm(string_value = "expired")]
    Expired,
}

/// `roadmap_status`: public roadmap column of a feature request.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(rs_type = "String", db_type = "Enum", enum_name = "roadmap_status")]
pub enum RoadmapStatus {
    #[sea_orm(string_value = "under_review")]
    UnderReview,
    #[sea_orm(string_value = "planned")]
    Planned,
    #[sea_orm(string_value = "in_progress")]
    InProgress,
    #[sea_orm(string_value = "shipped")]
    Shipped,
    #[sea_orm(string_value = "declined")]
    Declined,
}

/// `webhook_delivery_status`: state of one outbound webhook delivery.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[sea_orm(
    rs_type = "String",
    db_type = "Enum",
    enum_name = "webhook_delivery_status"
)]
pub enum WebhookDeliveryStatus {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    #[sea_orm(string_value = "failed")]
    Failed,
    /// Retries exhausted; the endpoint owner has to replay it by hand.
    #[sea_orm(string_value = "abandoned")]
    Abandoned,
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ActiveEnum, Iterable};

    /// Seed files and APIs spell enum values as the database does.
    fn serde_matches_database<E: ActiveEnum<Value = String> + Iterable + Serialize>() {
        for variant in E::iter() {
            let json = serde_json::to_value(&variant).expect("serialises");
            assert_eq!(json, serde_json::Value::String(variant.to_value()));
        }
    }

    #[test]
    fn serde_names_are_the_database_labels() {
        serde_matches_database::<SubscriptionStatus>();
        serde_matches_database::<DocumentSourceStatus>();
        serde_matches_database::<ReferralStatus>();
        serde_matches_database::<RoadmapStatus>();
        serde_matches_database::<WebhookDeliveryStatus>();
    }
}
