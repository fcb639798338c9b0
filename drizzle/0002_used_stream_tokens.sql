CREATE TABLE "used_stream_tokens" (
	"token_id" text PRIMARY KEY NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "used_stream_tokens_expires_at_idx" ON "used_stream_tokens" USING btree ("expires_at");