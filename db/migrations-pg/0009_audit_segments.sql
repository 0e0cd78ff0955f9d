-- lookup_person in segments (db/schema.pg.ts): the key leads with the segment, so the
-- indexer writes only into the newest segment's part of the index, whatever the size of
-- the log. Each request names the segment its rows went into (null: not indexed yet),
-- which replaces the `indexed` flag.
CREATE TABLE "lookup_segment" (
	"segment" integer PRIMARY KEY NOT NULL,
	"rows" bigint NOT NULL
);
--> statement-breakpoint
-- What is indexed so far becomes segment 0. The indexer goes on writing into it until it
-- holds its share of rows (src/store/audit-record.ts), like any other.
ALTER TABLE "lookup_person" ADD COLUMN "segment" integer NOT NULL DEFAULT 0;--> statement-breakpoint
ALTER TABLE "lookup_person" ALTER COLUMN "segment" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "lookup_person" DROP CONSTRAINT "lookup_person_person_id_request_id_pk";--> statement-breakpoint
ALTER TABLE "lookup_person" ADD CONSTRAINT "lookup_person_segment_person_id_request_id_pk" PRIMARY KEY("segment","person_id","request_id");--> statement-breakpoint
INSERT INTO "lookup_segment" ("segment", "rows") SELECT 0, count(*) FROM "lookup_person" HAVING count(*) > 0;--> statement-breakpoint
ALTER TABLE "lookup_request" ADD COLUMN "segment" integer;--> statement-breakpoint
UPDATE "lookup_request" SET "segment" = 0 WHERE "indexed";--> statement-breakpoint
DROP INDEX "lookup_request_unindexed_idx";--> statement-breakpoint
ALTER TABLE "lookup_request" DROP COLUMN "indexed";--> statement-breakpoint
CREATE INDEX "lookup_request_unindexed_idx" ON "lookup_request" USING btree ("id") WHERE "lookup_request"."segment" is null;
