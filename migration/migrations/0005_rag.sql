CREATE TYPE "public"."document_source_status" AS ENUM('pending', 'processing', 'ready', 'failed');--> statement-breakpoint
CREATE TABLE "document_source" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" text NOT NULL,
	"created_by" text,
	"kind" text NOT NULL,
	"title" text NOT NULL,
	"uri" text,
	"mime_type" text,
	"content_hash" text,
	"byte_size" bigint,
	"status" "document_source_status" DEFAULT 'pending' NOT NULL,
	"error" text,
	"chunk_count" integer DEFAULT 0 NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "document_source_id_organization_id_unique" UNIQUE("id","organization_id"),
	CONSTRAINT "document_source_kind_check" CHECK ("document_source"."kind" in ('upload', 'url', 'text', 'integration')),
	CONSTRAINT "document_source_byte_size_check" CHECK ("document_source"."byte_size" IS NULL OR "document_source"."byte_size" >= 0),
	CONSTRAINT "document_source_chunk_count_check" CHECK ("document_source"."chunk_count" >= 0)
);
--> statement-breakpoint
CREATE TABLE "document_chunk" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organization_id" text NOT NULL,
	"source_id" uuid NOT NULL,
	"chunk_index" integer NOT NULL,
	"content" text NOT NULL,
	"token_count" integer DEFAULT 0 NOT NULL,
	"embedding" vector(1536) NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "document_chunk_source_id_chunk_index_unique" UNIQUE("source_id","chunk_index"),
	CONSTRAINT "document_chunk_chunk_index_check" CHECK ("document_chunk"."chunk_index" >= 0),
	CONSTRAINT "document_chunk_token_count_check" CHECK ("document_chunk"."token_count" >= 0)
);
--> statement-breakpoint
-- Hand-added (drizzle-kit has no storage option): keep the 6 KB vectors in the heap instead of TOAST.
-- Out-of-line vectors make a sequential scan look almost free to the planner, which then ignores the
-- HNSW index even for large tenants; inline, costs are honest and every exact scan skips detoasting.
ALTER TABLE "document_chunk" ALTER COLUMN "embedding" SET STORAGE PLAIN;--> statement-breakpoint
ALTER TABLE "document_source" ADD CONSTRAINT "document_source_organization_id_organization_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organization"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "document_source" ADD CONSTRAINT "document_source_created_by_user_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "document_chunk" ADD CONSTRAINT "document_chunk_organization_id_organization_id_fk" FOREIGN KEY ("organization_id") REFERENCES "public"."organization"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "document_chunk" ADD CONSTRAINT "document_chunk_source_fk" FOREIGN KEY ("source_id","organization_id") REFERENCES "public"."document_source"("id","organization_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "document_source_organization_id_content_hash_idx" ON "document_source" USING btree ("organization_id","content_hash");--> statement-breakpoint
CREATE INDEX "document_chunk_organization_id_idx" ON "document_chunk" USING btree ("organization_id");--> statement-breakpoint
CREATE INDEX "document_chunk_embedding_idx" ON "document_chunk" USING hnsw ("embedding" vector_cosine_ops);
