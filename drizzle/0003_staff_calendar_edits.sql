CREATE TABLE "calendar_feeds" (
	"calendar_id" text PRIMARY KEY NOT NULL,
	"sync_token" text,
	"last_synced_at" timestamp with time zone,
	"lease_owner" text,
	"lease_until" timestamp with time zone,
	"sync_requests" integer DEFAULT 0 NOT NULL,
	"synced_requests" integer DEFAULT 0 NOT NULL,
	"channel_id" text,
	"channel_resource_id" text,
	"channel_token_digest" text,
	"channel_expires_at" timestamp with time zone,
	"channel_owner" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "calendar_feeds_channel_id_unique" UNIQUE("channel_id")
);
--> statement-breakpoint
ALTER TABLE "appointments" ADD COLUMN "calendar_conflict_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "appointments" ADD COLUMN "calendar_conflict_detail" text;--> statement-breakpoint
CREATE INDEX "appointments_calendar_conflict_idx" ON "appointments" USING btree ("calendar_conflict_at") WHERE "appointments"."calendar_conflict_at" IS NOT NULL;