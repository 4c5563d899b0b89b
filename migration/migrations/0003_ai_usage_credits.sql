CREATE TABLE "ai_usage" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"organization_id" text NOT NULL,
	"user_id" text,
	"model" text NOT NULL,
	"feature" text,
	"input_tokens" integer DEFAULT 0 NOT NULL,
	"output_tokens" integer DEFAULT 0 NOT NULL,
	"credits_used" integer DEFAULT 0 NOT NULL,
	"cost_micro_usd" bigint DEFAULT 0 NOT NULL,
	"request_id" text,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ai_usage_request_id_unique" UNIQUE("request_id"),
	CONSTRAINT "ai_usage_tokens_check" CHECK ("ai_usage"."input_tokens" >= 0 AND "ai_usage"."output_tokens" >= 0),
	CONSTRAINT "ai_usage_credits_used_check" CHECK ("ai_usage"."credits_used" >= 0),
	CONSTRAINT "ai_usage_cost_check" CHECK ("ai_usage"."cost_micro_usd" >= 0)
);
--> statement-breakpoint
CREATE TABLE "org_credits" (
	"organization_id" text PRIMARY KEY NOT NULL,
	"balance" bigint DEFAULT 0 NOT NULL,
	"lifetime_granted" bigint DEFAULT 0 NOT NULL,
	"monthly_allowance" integer DEFAULT 0 NOT NULL,
	"period_resets_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "org_credits_balance_check" CHECK ("org_credits"."balance" >= 0),
	CONSTRAINT "org_credits_lifetime_granted_check" CHECK ("org_credits"."lifetime_granted" >= 0),
	CONSTRAINT "org_credits_monthly_allowance_check" CHECK ("org_credits"."monthly_allowance" >= 0)
);
--> statement-breakpoint
ALTER TABLE "subscription" ADD COLUMN "monthly_ai_credits" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "subscription" ADD CONSTRAINT "subscription_monthly_ai_credits_check" CHECK ("subscription"."monthly_ai_credits" >= 0);--> statement-breakpoint
ALTER TABLE "ai_usage" ADD CONSTRAINT "ai_usage_organization_id_organization_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organization"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ai_usage" ADD CONSTRAINT "ai_usage_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "org_credits" ADD CONSTRAINT "org_credits_organization_id_organization_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organization"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ai_usage_organization_id_created_at_idx" ON "ai_usage" USING btree ("organization_id","created_at");--> statement-breakpoint
CREATE INDEX "ai_usage_user_id_idx" ON "ai_usage" USING btree ("user_id");
