//! Every entity under a table-named alias, e.g. `use entity::prelude::*; Organization::find()`.

pub use super::account::Entity as Account;
pub use super::ai_usage::Entity as AiUsage;
pub use super::announcements::Entity as Announcements;
pub use super::audit_log::Entity as AuditLog;
pub use super::document_chunk::Entity as DocumentChunk;
pub use super::document_source::Entity as DocumentSource;
pub use super::feature_flags::Entity as FeatureFlags;
pub use super::invitation::Entity as Invitation;
pub use super::member::Entity as Member;
pub use super::org_credits::Entity as OrgCredits;
pub use super::organization::Entity as Organization;
pub use super::referrals::Entity as Referrals;
pub use super::roadmap_items::Entity as RoadmapItems;
pub use super::roadmap_votes::Entity as RoadmapVotes;
pub use super::saas_metrics_daily::Entity as SaasMetricsDaily;
pub use super::session::Entity as Session;
pub use super::subscription::Entity as Subscription;
pub use super::user::Entity as User;
pub use super::verification::Entity as Verification;
pub use super::waitlist_entries::Entity as WaitlistEntries;
pub use super::webhook_deliveries::Entity as WebhookDeliveries;
pub use super::webhook_endpoints::Entity as WebhookEndpoints;
