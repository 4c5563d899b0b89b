CREATE TABLE "saas_metrics_daily" (
	"day" date PRIMARY KEY NOT NULL,
	"mrr_cents" bigint DEFAULT 0 NOT NULL,
	"signups" integer DEFAULT 0 NOT NULL,
	"active_users" integer DEFAULT 0 NOT NULL,
	"active_organizations" integer DEFAULT 0 NOT NULL,
	"new_organizations" integer DEFAULT 0 NOT NULL,
	"churned_organizations" integer DEFAULT 0 NOT NULL,
	"trialing_subscriptions" integer DEFAULT 0 NOT NULL,
	"paying_subscriptions" integer DEFAULT 0 NOT NULL,
	"ai_tokens" bigint DEFAULT 0 NOT NULL,
	"ai_credits_used" bigint DEFAULT 0 NOT NULL,
	"computed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "saas_metrics_daily_non_negative_check" CHECK ("saas_metrics_daily"."mrr_cents" >= 0 AND "saas_metrics_daily"."signups" >= 0 AND "saas_metrics_daily"."active_users" >= 0 AND "saas_metrics_daily"."active_organizations" >= 0 AND "saas_metrics_daily"."new_organizations" >= 0 AND "saas_metrics_daily"."churned_organizations" >= 0 AND "saas_metrics_daily"."trialing_subscriptions" >= 0 AND "saas_metrics_daily"."paying_subscriptions" >= 0 AND "saas_metrics_daily"."ai_tokens" >= 0 AND "saas_metrics_daily"."ai_credits_used" >= 0)
);
