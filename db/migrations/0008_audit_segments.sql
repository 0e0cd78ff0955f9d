-- lookup_person in segments (db/schema.ts): the key leads with the segment, so the indexer
-- writes only into the newest segment's part of the tree, whatever the size of the log.
CREATE TABLE `lookup_segment` (
	`segment` integer PRIMARY KEY NOT NULL,
	`first_request` integer NOT NULL,
	`last_request` integer NOT NULL,
	`rows` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `__new_lookup_person` (
	`segment` integer NOT NULL,
	`person_id` text NOT NULL,
	`request_id` integer NOT NULL,
	`scopes` text,
	PRIMARY KEY(`segment`, `person_id`, `request_id`)
) WITHOUT ROWID;
--> statement-breakpoint
-- What is indexed so far becomes segment 0, in key order. The indexer goes on writing
-- into it until it holds its share of rows (src/store/audit-record.ts), like any other.
INSERT INTO `__new_lookup_person` (`segment`, `person_id`, `request_id`, `scopes`)
SELECT 0, `person_id`, `request_id`, `scopes` FROM `lookup_person` ORDER BY `person_id`, `request_id`;
--> statement-breakpoint
INSERT INTO `lookup_segment` (`segment`, `first_request`, `last_request`, `rows`)
SELECT 0, min(`request_id`), max(max(`request_id`), (SELECT `indexed_through` FROM `lookup_index_state` WHERE `id` = 1)), count(*)
FROM `lookup_person` HAVING count(*) > 0;
--> statement-breakpoint
DROP TABLE `lookup_person`;
--> statement-breakpoint
ALTER TABLE `__new_lookup_person` RENAME TO `lookup_person`;
