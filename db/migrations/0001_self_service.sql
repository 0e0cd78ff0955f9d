CREATE TABLE `lookup_audit` (
	`id` integer PRIMARY KEY NOT NULL,
	`person_id` text NOT NULL,
	`agency_org_number` text NOT NULL,
	`looked_up_at` integer NOT NULL,
	`scopes` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `lookup_audit_person_idx` ON `lookup_audit` (`person_id`,`id`);--> statement-breakpoint
CREATE TABLE `verification_code` (
	`person_id` text NOT NULL,
	`channel` text NOT NULL,
	`address` text NOT NULL,
	`code_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer NOT NULL,
	`failed_attempts` integer DEFAULT 0 NOT NULL,
	PRIMARY KEY(`person_id`, `channel`),
	FOREIGN KEY (`person_id`) REFERENCES `person`(`id`) ON UPDATE no action ON DELETE cascade
);
