CREATE TABLE `upstream_sync` (
	`id` integer PRIMARY KEY NOT NULL,
	`upstream` text NOT NULL,
	`position` integer NOT NULL,
	`latest` integer NOT NULL,
	`last_success_at` integer
);
