CREATE TABLE `lookup_index_state` (
	`id` integer PRIMARY KEY NOT NULL,
	`indexed_through` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `lookup_person` (
	`person_id` text NOT NULL,
	`request_id` integer NOT NULL,
	`scopes` text,
	PRIMARY KEY(`person_id`, `request_id`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `lookup_request` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`looked_up_at` integer NOT NULL,
	`agency_org_number` text NOT NULL,
	`supplier_org_number` text,
	`scopes` text NOT NULL,
	`person_ids` text NOT NULL,
	`person_scopes` text
);
--> statement-breakpoint
-- The old per-person rows become requests again: one per agency, supplier, instant and scopes, in their order.
INSERT INTO `lookup_request` (`looked_up_at`, `agency_org_number`, `supplier_org_number`, `scopes`, `person_ids`, `person_scopes`)
SELECT `looked_up_at`, `agency_org_number`, `supplier_org_number`, `scopes`, json_group_array(DISTINCT `person_id`), NULL
FROM `lookup_audit` GROUP BY `looked_up_at`, `agency_org_number`, `supplier_org_number`, `scopes` ORDER BY min(`id`);
--> statement-breakpoint
-- Nothing indexed yet: the indexer derives lookup_person from the start at the next open.
INSERT INTO `lookup_index_state` (`id`, `indexed_through`) VALUES (1, 0);
--> statement-breakpoint
DROP TABLE `lookup_audit`;
--> statement-breakpoint
CREATE VIEW `lookup_audit` AS
SELECT r.`id`, j.value AS `person_id`, r.`agency_org_number`, r.`supplier_org_number`, r.`looked_up_at`,
  coalesce(json_extract(r.`person_scopes`, '$."' || j.value || '"'), r.`scopes`) AS `scopes`
FROM `lookup_request` r, json_each(r.`person_ids`) j;
