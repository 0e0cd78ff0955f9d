CREATE TABLE `code_log` (
	`id` integer PRIMARY KEY NOT NULL,
	`person_id` text NOT NULL,
	`channel` text NOT NULL,
	`address_key` text NOT NULL,
	`event` text NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `code_log_person_idx` ON `code_log` (`person_id`,`at`);--> statement-breakpoint
CREATE INDEX `code_log_address_idx` ON `code_log` (`address_key`,`at`);--> statement-breakpoint
CREATE INDEX `code_log_at_idx` ON `code_log` (`at`);