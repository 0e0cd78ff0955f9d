-- The one row of change_counter (see db/schema.pg.ts): the last change number handed out.
-- Started from the change log rather than from 0, so it is right whatever the table holds.
-- (After copying a SQLite register in, set it again to max(change_log.change_number).)
INSERT INTO "change_counter" ("id", "last_change_number")
SELECT 1, coalesce(max("change_number"), 0) FROM "change_log"
ON CONFLICT ("id") DO NOTHING;
