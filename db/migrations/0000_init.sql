CREATE TABLE `change_log` (
	`change_number` integer PRIMARY KEY NOT NULL,
	`person_id` text NOT NULL,
	`changed_at` integer NOT NULL,
	`kind` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `change_log_person_idx` ON `change_log` (`person_id`);--> statement-breakpoint
CREATE TABLE `contact_point` (
	`person_id` text NOT NULL,
	`channel` text NOT NULL,
	`address` text NOT NULL,
	`address_key` text NOT NULL,
	`updated_at` integer NOT NULL,
	`last_verified_at` integer,
	`last_validated_at` integer,
	PRIMARY KEY(`person_id`, `channel`),
	FOREIGN KEY (`person_id`) REFERENCES `person`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `contact_point_address_idx` ON `contact_point` (`channel`,`address_key`);--> statement-breakpoint
CREATE TABLE `digital_post` (
	`person_id` text PRIMARY KEY NOT NULL,
	`mailbox_address` text NOT NULL,
	`provider_org_number` text NOT NULL,
	`certificate` text,
	FOREIGN KEY (`person_id`) REFERENCES `person`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `person` (
	`id` text PRIMARY KEY NOT NULL,
	`status` text NOT NULL,
	`reserved` integer DEFAULT false NOT NULL,
	`reserved_at` integer,
	`reservation_updated_at` integer,
	`language` text,
	`language_updated_at` integer,
	`updated_at` integer NOT NULL,
	`change_number` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `person_change_number_idx` ON `person` (`change_number`);