//! SeaORM 2.0 entities for every table of the app-db schema, one module per table.
//!
//! All entities use SeaORM 2.0's dense format (`#[sea_orm::model]` with `BelongsTo` / `HasMany`
//! fields). They mirror `migration/migrations/*.sql` exactly; `tests/schema_parity.rs` compares
//! them with the live catalogs after migrating, so changing one side alone fails the build's tests.

pub mod prelude;
pub mod sea_orm_active_enums;
pub mod supplement;

pub mod account;
pub mod ai_usage;
pub mod announcements;
pub mod audit_log;
pub mod document_chunk;
pub mod document_source;
pub mod feature_flags;
pub mod invitation;
pub mod member;
pub mod org_credits;
pub mod organization;
pub mod referrals;
pub mod roadmap_items;
pub mod roadmap_votes;
pub mod saas_metrics_daily;
pub mod session;
pub mod subscription;
pub mod user;
pub mod verification;
pub mod waitlist_entries;
pub mod webhook_deliveries;
pub mod webhook_endpoints;
