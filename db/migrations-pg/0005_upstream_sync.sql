CREATE TABLE "upstream_sync" (
	"id" smallint PRIMARY KEY NOT NULL,
	"upstream" text NOT NULL,
	"position" bigint NOT NULL,
	"latest" bigint NOT NULL,
	"last_success_at" timestamp with time zone,
	CONSTRAINT "upstream_sync_single_row" CHECK ("upstream_sync"."id" = 1)
);
