//! What the entity attributes cannot say about the schema, declared once, for `generate`.
//!
//! SeaORM's attributes describe columns, their types, nullability, defaults, primary keys,
//! single and composite unique keys, plain indexes and foreign keys. The rest of the schema the
//! migrations create lives here: extensions, table CHECK constraints, indexes with a method,
//! operator class, sort order, predicate or a name of their own, `NULLS NOT DISTINCT` uniques,
//! foreign keys whose name is not drizzle's default, and column storage. `generate` applies
//! the entities and this supplement to a scratch database and diffs it with the migrations, so
//! anything missing here shows up as a change to generate (the project's `--check` test fails).
//!
//! Text is written as drizzle-kit writes it (quoted identifiers, `"table"."column"` in
//! expressions): it goes into generated migrations as it stands.

/// The declared supplement of one schema (the `public` schema).
#[derive(Debug, Clone, Copy, Default)]
pub struct Supplement {
    /// Extensions the schema needs, created before any table (`CREATE EXTENSION IF NOT EXISTS`).
    pub extensions: &'static [&'static str],
    /// Table CHECK constraints.
    pub checks: &'static [Check],
    /// Indexes the `indexed` attribute cannot express, or that have a name of their own.
    pub indexes: &'static [Index],
    /// Unique constraints the `unique`/`unique_key` attributes cannot express.
    pub uniques: &'static [Unique],
    /// Foreign keys whose constraint name is not drizzle's default.
    pub foreign_key_names: &'static [ForeignKeyName],
    /// Columns stored `PLAIN` (no TOAST), as `(table, column)`.
    pub plain_storage: &'static [(&'static str, &'static str)],
    /// Renamed columns. SeaORM's `renamed_from` attribute only reaches a SQLite or MySQL
    /// column comment (PostgreSQL's CREATE TABLE has none), so a rename is declared here;
    /// `generate` never guesses one.
    pub renamed_columns: &'static [RenamedColumn],
}

impl Supplement {
    /// Nothing declared.
    pub const EMPTY: Supplement = Supplement {
        extensions: &[],
        checks: &[],
        indexes: &[],
        uniques: &[],
        foreign_key_names: &[],
        plain_storage: &[],
        renamed_columns: &[],
    };
}

/// Column `from` of `table` is now called `to` (`ALTER TABLE … RENAME COLUMN`, keeping its data).
#[derive(Debug, Clone, Copy)]
pub struct RenamedColumn {
    /// The table.
    pub table: &'static str,
    /// The old name (as the migrations have it).
    pub from: &'static str,
    /// The new name (as the entity has it).
    pub to: &'static str,
}

/// `CONSTRAINT "name" CHECK (expression)` on `table`.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// The table.
    pub table: &'static str,
    /// The constraint's name.
    pub name: &'static str,
    /// The boolean expression, e.g. `"subscription"."seats" >= 1`.
    pub expression: &'static str,
}

/// `CREATE [UNIQUE] INDEX "name" ON "table" USING method (keys) [WITH (params)] [WHERE predicate]`.
#[derive(Debug, Clone, Copy)]
pub struct Index {
    /// The table.
    pub table: &'static str,
    /// The index's name.
    pub name: &'static str,
    /// A unique index.
    pub unique: bool,
    /// The access method: `btree`, `hnsw`, `gin`, ….
    pub method: &'static str,
    /// The key list, e.g. `"embedding" vector_cosine_ops` or `"status","vote_score" DESC`.
    pub keys: &'static str,
    /// A partial index's predicate, e.g. `"t"."status" = 'pending'`.
    pub predicate: Option<&'static str>,
    /// Storage parameters in the order drizzle-kit's `.with({ ... })` writes them, e.g.
    /// `&[("m", "16"), ("ef_construction", "64")]` for an HNSW index; empty for none.
    pub with: &'static [(&'static str, &'static str)],
}

/// `CONSTRAINT "name" UNIQUE [NULLS NOT DISTINCT] ("columns")` on `table`.
#[derive(Debug, Clone, Copy)]
pub struct Unique {
    /// The table.
    pub table: &'static str,
    /// The constraint's name.
    pub name: &'static str,
    /// The columns, in order.
    pub columns: &'static [&'static str],
    /// Two NULLs count as equal (PostgreSQL 15+).
    pub nulls_not_distinct: bool,
}

/// The name of the foreign key of `table` over `columns` (as the entity's `belongs_to` declares it).
#[derive(Debug, Clone, Copy)]
pub struct ForeignKeyName {
    /// The referencing table.
    pub table: &'static str,
    /// The referencing columns, in order.
    pub columns: &'static [&'static str],
    /// The constraint's name.
    pub name: &'static str,
}

const fn check(table: &'static str, name: &'static str, expression: &'static str) -> Check {
    Check {
        table,
        name,
        expression,
    }
}

const fn btree(table: &'static str, name: &'static str, keys: &'static str) -> Index {
    Index {
        table,
        name,
        unique: false,
        method: "btree",
        keys,
        predicate: None,
        with: &[],
    }
}

/// The project's supplement: with the entities, the whole schema of `migration/migrations/`.
pub const PROJECT: Supplement = Supplement {
    // 0004: pgvector, before the first vector(1536) column.
    extensions: &["vector"],
    checks: &[
        check(
            "subscription",
            "subscription_seats_check",
            r#""subscription"."seats" >= 1"#,
        ),
        check(
            "subscription",
            "subscription_period_check",
            r#""subscription"."current_period_end" IS NULL OR "subscription"."current_period_start" IS NULL OR "subscription"."current_period_end" > "subscription"."current_period_start""#,
        ),
        check(
            "subscription",
            "subscription_monthly_ai_credits_check",
            r#""subscription"."monthly_ai_credits" >= 0"#,
        ),
        check(
            "ai_usage",
            "ai_usage_tokens_check",
            r#""ai_usage"."input_tokens" >= 0 AND "ai_usage"."output_tokens" >= 0"#,
        ),
        check(
            "ai_usage",
            "ai_usage_credits_used_check",
            r#""ai_usage"."credits_used" >= 0"#,
        ),
        check(
            "ai_usage",
            "ai_usage_cost_check",
            r#""ai_usage"."cost_micro_usd" >= 0"#,
        ),
        check(
            "org_credits",
            "org_credits_balance_check",
            r#""org_credits"."balance" >= 0"#,
        ),
        check(
            "org_credits",
            "org_credits_lifetime_granted_check",
            r#""org_credits"."lifetime_granted" >= 0"#,
        ),
        check(
            "org_credits",
            "org_credits_monthly_allowance_check",
            r#""org_credits"."monthly_allowance" >= 0"#,
        ),
        check(
            "document_source",
            "document_source_kind_check",
            r#""document_source"."kind" in ('upload', 'url', 'text', 'integration')"#,
        ),
        check(
            "document_source",
            "document_source_byte_size_check",
            r#""document_source"."byte_size" IS NULL OR "document_source"."byte_size" >= 0"#,
        ),
        check(
            "document_source",
            "document_source_chunk_count_check",
            r#""document_source"."chunk_count" >= 0"#,
        ),
        check(
            "document_chunk",
            "document_chunk_chunk_index_check",
            r#""document_chunk"."chunk_index" >= 0"#,
        ),
        check(
            "document_chunk",
            "document_chunk_token_count_check",
            r#""document_chunk"."token_count" >= 0"#,
        ),
        check(
            "referrals",
            "referrals_reward_credits_check",
            r#""referrals"."reward_credits" >= 0"#,
        ),
        check(
            "referrals",
            "referrals_not_self_check",
            r#""referrals"."referred_user_id" IS NULL OR "referrals"."referred_user_id" <> "referrals"."referrer_user_id""#,
        ),
        check(
            "waitlist_entries",
            "waitlist_entries_email_lowercase_check",
            r#""waitlist_entries"."email" = lower("waitlist_entries"."email")"#,
        ),
        check(
            "waitlist_entries",
            "waitlist_entries_status_check",
            r#""waitlist_entries"."status" in ('waiting', 'invited', 'joined', 'removed')"#,
        ),
        check(
            "roadmap_votes",
            "roadmap_votes_value_check",
            r#""roadmap_votes"."value" in (-1, 1)"#,
        ),
        check(
            "webhook_endpoints",
            "webhook_endpoints_url_https_check",
            r#""webhook_endpoints"."url" ~ '^https://'"#,
        ),
        check(
            "webhook_endpoints",
            "webhook_endpoints_consecutive_failures_check",
            r#""webhook_endpoints"."consecutive_failures" >= 0"#,
        ),
        check(
            "webhook_deliveries",
            "webhook_deliveries_attempt_check",
            r#""webhook_deliveries"."attempt" >= 0 AND "webhook_deliveries"."attempt" <= 50"#,
        ),
        check(
            "webhook_deliveries",
            "webhook_deliveries_response_status_check",
            r#""webhook_deliveries"."response_status" IS NULL OR ("webhook_deliveries"."response_status" >= 100 AND "webhook_deliveries"."response_status" <= 599)"#,
        ),
        check(
            "announcements",
            "announcements_level_check",
            r#""announcements"."level" in ('info', 'warning', 'critical')"#,
        ),
        check(
            "announcements",
            "announcements_window_check",
            r#""announcements"."ends_at" IS NULL OR "announcements"."ends_at" > "announcements"."starts_at""#,
        ),
        check(
            "feature_flags",
            "feature_flags_key_format_check",
            r#""feature_flags"."key" ~ '^[a-z0-9][a-z0-9_.-]*$'"#,
        ),
        check(
            "feature_flags",
            "feature_flags_rollout_percentage_check",
            r#""feature_flags"."rollout_percentage" >= 0 AND "feature_flags"."rollout_percentage" <= 100"#,
        ),
        check(
            "saas_metrics_daily",
            "saas_metrics_daily_non_negative_check",
            r#""saas_metrics_daily"."mrr_cents" >= 0 AND "saas_metrics_daily"."signups" >= 0 AND "saas_metrics_daily"."active_users" >= 0 AND "saas_metrics_daily"."active_organizations" >= 0 AND "saas_metrics_daily"."new_organizations" >= 0 AND "saas_metrics_daily"."churned_organizations" >= 0 AND "saas_metrics_daily"."trialing_subscriptions" >= 0 AND "saas_metrics_daily"."paying_subscriptions" >= 0 AND "saas_metrics_daily"."ai_tokens" >= 0 AND "saas_metrics_daily"."ai_credits_used" >= 0"#,
        ),
    ],
    // Better Auth's camelCase index names and the `_idx` names of the later migrations are not
    // drizzle's default (`_index`), so every existing index is declared here.
    indexes: &[
        btree("session", "session_userId_idx", r#""user_id""#),
        btree("account", "account_userId_idx", r#""user_id""#),
        btree(
            "verification",
            "verification_identifier_idx",
            r#""identifier""#,
        ),
        btree(
            "member",
            "member_organizationId_idx",
            r#""organization_id""#,
        ),
        btree("member", "member_userId_idx", r#""user_id""#),
        btree(
            "invitation",
            "invitation_organizationId_idx",
            r#""organization_id""#,
        ),
        btree("invitation", "invitation_email_idx", r#""email""#),
        btree(
            "subscription",
            "subscription_organization_id_idx",
            r#""organization_id""#,
        ),
        Index {
            table: "subscription",
            name: "subscription_organization_id_live_unique",
            unique: true,
            method: "btree",
            keys: r#""organization_id""#,
            predicate: Some(
                r#""subscription"."status" in ('incomplete', 'trialing', 'active', 'past_due', 'unpaid', 'paused')"#,
            ),
            with: &[],
        },
        btree(
            "ai_usage",
            "ai_usage_organization_id_created_at_idx",
            r#""organization_id","created_at""#,
        ),
        btree("ai_usage", "ai_usage_user_id_idx", r#""user_id""#),
        btree(
            "document_source",
            "document_source_organization_id_content_hash_idx",
            r#""organization_id","content_hash""#,
        ),
        btree(
            "document_chunk",
            "document_chunk_organization_id_idx",
            r#""organization_id""#,
        ),
        Index {
            table: "document_chunk",
            name: "document_chunk_embedding_idx",
            unique: false,
            method: "hnsw",
            keys: r#""embedding" vector_cosine_ops"#,
            predicate: None,
            with: &[],
        },
        btree(
            "referrals",
            "referrals_referrer_user_id_idx",
            r#""referrer_user_id""#,
        ),
        btree("referrals", "referrals_code_idx", r#""code""#),
        btree(
            "roadmap_items",
            "roadmap_items_status_vote_score_idx",
            r#""status","vote_score" DESC"#,
        ),
        btree("roadmap_votes", "roadmap_votes_user_id_idx", r#""user_id""#),
        btree(
            "webhook_endpoints",
            "webhook_endpoints_organization_id_idx",
            r#""organization_id""#,
        ),
        btree(
            "webhook_deliveries",
            "webhook_deliveries_endpoint_id_created_at_idx",
            r#""endpoint_id","created_at" DESC"#,
        ),
        btree(
            "webhook_deliveries",
            "webhook_deliveries_organization_id_idx",
            r#""organization_id""#,
        ),
        Index {
            table: "webhook_deliveries",
            name: "webhook_deliveries_pending_retry_idx",
            unique: false,
            method: "btree",
            keys: r#""next_attempt_at""#,
            predicate: Some(r#""webhook_deliveries"."status" = 'pending'"#),
            with: &[],
        },
        btree(
            "announcements",
            "announcements_organization_id_starts_at_idx",
            r#""organization_id","starts_at" DESC"#,
        ),
        btree(
            "audit_log",
            "audit_log_organization_id_created_at_idx",
            r#""organization_id","created_at" DESC"#,
        ),
        btree(
            "audit_log",
            "audit_log_actor_user_id_idx",
            r#""actor_user_id""#,
        ),
    ],
    uniques: &[Unique {
        table: "feature_flags",
        name: "feature_flags_organization_id_key_unique",
        columns: &["organization_id", "key"],
        nulls_not_distinct: true,
    }],
    foreign_key_names: &[ForeignKeyName {
        table: "document_chunk",
        columns: &["source_id", "organization_id"],
        name: "document_chunk_source_fk",
    }],
    // 0005: keep the 6 KB vectors in the heap (see the comment in 0005_rag.sql).
    plain_storage: &[("document_chunk", "embedding")],
    renamed_columns: &[],
};
