CREATE TABLE `address_use` (
	`channel` text NOT NULL,
	`address_key` text NOT NULL,
	`active_people` integer NOT NULL,
	PRIMARY KEY(`channel`, `address_key`)
) WITHOUT ROWID;
--> statement-breakpoint
CREATE TABLE `person_lookup` (
	`id` text PRIMARY KEY NOT NULL,
	`status` text NOT NULL,
	`reserved` integer NOT NULL,
	`reserved_at` integer,
	`reservation_updated_at` integer,
	`language` text,
	`language_updated_at` integer,
	`updated_at` integer NOT NULL,
	`change_number` integer NOT NULL,
	`email_address` text,
	`email_address_key` text,
	`email_updated_at` integer,
	`email_last_verified_at` integer,
	`email_last_validated_at` integer,
	`email_duplicated` integer,
	`mobile_address` text,
	`mobile_address_key` text,
	`mobile_updated_at` integer,
	`mobile_last_verified_at` integer,
	`mobile_last_validated_at` integer,
	`mobile_duplicated` integer,
	`mailbox_address` text,
	`provider_org_number` text,
	`certificate` text
) WITHOUT ROWID;
--> statement-breakpoint
-- Derived from what is there already; from here on the triggers keep both in step with every write.
INSERT INTO address_use (channel, address_key, active_people)
SELECT cp.channel, cp.address_key, count(*) FROM contact_point cp NOT INDEXED JOIN person p ON p.id = cp.person_id
WHERE p.status = 'ACTIVE' GROUP BY cp.channel, cp.address_key;
--> statement-breakpoint
INSERT INTO person_lookup
SELECT p.id, p.status, p.reserved, p.reserved_at, p.reservation_updated_at, p.language, p.language_updated_at, p.updated_at, p.change_number,
  e.address, e.address_key, e.updated_at, e.last_verified_at, e.last_validated_at,
  CASE WHEN e.person_id IS NULL THEN NULL WHEN p.status = 'ACTIVE' THEN 0 ELSE coalesce((SELECT u.active_people FROM address_use u WHERE u.channel = 'EMAIL' AND u.address_key = e.address_key), 0) > 0 END,
  m.address, m.address_key, m.updated_at, m.last_verified_at, m.last_validated_at,
  CASE WHEN m.person_id IS NULL THEN NULL WHEN p.status = 'ACTIVE' THEN 0 ELSE coalesce((SELECT u.active_people FROM address_use u WHERE u.channel = 'MOBILE' AND u.address_key = m.address_key), 0) > 0 END,
  d.mailbox_address, d.provider_org_number, d.certificate
FROM person p
  LEFT JOIN contact_point e ON e.person_id = p.id AND e.channel = 'EMAIL'
  LEFT JOIN contact_point m ON m.person_id = p.id AND m.channel = 'MOBILE'
  LEFT JOIN digital_post d ON d.person_id = p.id
ORDER BY p.id;
--> statement-breakpoint
UPDATE person_lookup SET email_duplicated = 1 WHERE status = 'ACTIVE' AND id IN (
  SELECT cp.person_id FROM address_use u CROSS JOIN contact_point cp ON cp.channel = u.channel AND cp.address_key = u.address_key
  WHERE u.channel = 'EMAIL' AND u.active_people > 1);
--> statement-breakpoint
UPDATE person_lookup SET mobile_duplicated = 1 WHERE status = 'ACTIVE' AND id IN (
  SELECT cp.person_id FROM address_use u CROSS JOIN contact_point cp ON cp.channel = u.channel AND cp.address_key = u.address_key
  WHERE u.channel = 'MOBILE' AND u.active_people > 1);
--> statement-breakpoint
CREATE TRIGGER `person_lookup_person_insert` AFTER INSERT ON `person` BEGIN
INSERT INTO address_use (channel, address_key, active_people)
  SELECT channel, address_key, 1 FROM contact_point WHERE person_id = NEW.id AND NEW.status = 'ACTIVE'
  ON CONFLICT DO UPDATE SET active_people = active_people + 1;
DELETE FROM person_lookup WHERE id = NEW.id;
INSERT INTO person_lookup
SELECT p.id, p.status, p.reserved, p.reserved_at, p.reservation_updated_at, p.language, p.language_updated_at, p.updated_at, p.change_number,
  e.address, e.address_key, e.updated_at, e.last_verified_at, e.last_validated_at,
  CASE WHEN e.person_id IS NULL THEN NULL ELSE coalesce((SELECT u.active_people FROM address_use u WHERE u.channel = 'EMAIL' AND u.address_key = e.address_key), 0) - (p.status = 'ACTIVE') > 0 END,
  m.address, m.address_key, m.updated_at, m.last_verified_at, m.last_validated_at,
  CASE WHEN m.person_id IS NULL THEN NULL ELSE coalesce((SELECT u.active_people FROM address_use u WHERE u.channel = 'MOBILE' AND u.address_key = m.address_key), 0) - (p.status = 'ACTIVE') > 0 END,
  d.mailbox_address, d.provider_org_number, d.certificate
FROM person p
  LEFT JOIN contact_point e ON e.person_id = p.id AND e.channel = 'EMAIL'
  LEFT JOIN contact_point m ON m.person_id = p.id AND m.channel = 'MOBILE'
  LEFT JOIN digital_post d ON d.person_id = p.id
WHERE p.id = NEW.id;
END;
--> statement-breakpoint
CREATE TRIGGER `person_lookup_person_update` AFTER UPDATE ON `person` BEGIN
INSERT INTO address_use (channel, address_key, active_people)
  SELECT channel, address_key, 1 FROM contact_point WHERE person_id = NEW.id AND NEW.status = 'ACTIVE' AND OLD.status <> 'ACTIVE'
  ON CONFLICT DO UPDATE SET active_people = active_people + 1;
UPDATE address_use SET active_people = active_people - 1
  WHERE OLD.status = 'ACTIVE' AND NEW.status <> 'ACTIVE'
    AND (channel, address_key) IN (SELECT channel, address_key FROM contact_point WHERE person_id = NEW.id);
DELETE FROM person_lookup WHERE id = NEW.id;
INSERT INTO person_lookup
SELECT p.id, p.status, p.reserved, p.reserved_at, p.reservation_updated_at, p.language, p.language_updated_at, p.updated_at, p.change_number,
  e.address, e.address_key, e.updated_at, e.last_verified_at, e.last_validated_at,
  CASE WHEN e.person_id IS NULL THEN NULL ELSE coalesce((SELECT u.active_people FROM address_use u WHERE u.channel = 'EMAIL' AND u.address_key = e.address_key), 0) - (p.status = 'ACTIVE') > 0 END,
  m.address, m.address_key, m.updated_at, m.last_verified_at, m.last_validated_at,
  CASE WHEN m.person_id IS NULL THEN NULL ELSE coalesce((SELECT u.active_people FROM address_use u WHERE u.channel = 'MOBILE' AND u.address_key = m.address_key), 0) - (p.status = 'ACTIVE') > 0 END,
  d.mailbox_address, d.provider_org_number, d.certificate
FROM person p
  LEFT JOIN contact_point e ON e.person_id = p.id AND e.channel = 'EMAIL'
  LEFT JOIN contact_point m ON m.person_id = p.id AND m.channel = 'MOBILE'
  LEFT JOIN digital_post d ON d.person_id = p.id
WHERE p.id = NEW.id;
END;
--> statement-breakpoint
CREATE TRIGGER `person_lookup_person_delete` BEFORE DELETE ON `person` BEGIN
DELETE FROM contact_point WHERE person_id = OLD.id;
DELETE FROM digital_post WHERE person_id = OLD.id;
DELETE FROM person_lookup WHERE id = OLD.id;
END;
--> statement-breakpoint
CREATE TRIGGER `person_lookup_person_deleted` AFTER DELETE ON `person` BEGIN
DELETE FROM person_lookup WHERE id = OLD.id;
END;
--> statement-breakpoint
CREATE TRIGGER `person_lookup_contact_insert` AFTER INSERT ON `contact_point` BEGIN
INSERT INTO address_use (channel, address_key, active_people)
  SELECT NEW.channel, NEW.address_key, 1 WHERE (SELECT status FROM person WHERE id = NEW.person_id) = 'ACTIVE'
  ON CONFLICT DO UPDATE SET active_people = active_people + 1;
DELETE FROM person_lookup WHERE id = NEW.person_id;
INSERT INTO person_lookup
SELECT p.id, p.status, p.reserved, p.reserved_at, p.reservation_updated_at, p.language, p.language_updated_at, p.updated_at, p.change_number,
  e.address, e.address_key, e.updated_at, e.last_verified_at, e.last_validated_at,
  CASE WHEN e.person_id IS NULL THEN NULL ELSE coalesce((SELECT u.active_people FROM address_use u WHERE u.channel = 'EMAIL' AND u.address_key = e.address_key), 0) - (p.status = 'ACTIVE') > 0 END,
  m.address, m.address_key, m.updated_at, m.last_verified_at, m.last_validated_at,
  CASE WHEN m.person_id IS NULL THEN NULL ELSE coalesce((SELECT u.active_people FROM address_use u WHERE u.channel = 'MOBILE' AND u.address_key = m.address_key), 0) - (p.status = 'ACTIVE') > 0 END,
  d.mailbox_address, d.provider_org_number, d.certificate
FROM person p
  LEFT JOIN contact_point e ON e.person_id = p.id AND e.channel = 'EMAIL'
  LEFT JOIN contact_point m ON m.person_id = p.id AND m.channel = 'MOBILE'
  LEFT JOIN digital_post d ON d.person_id = p.id
WHERE p.id = NEW.person_id;
END;
--> statement-breakpoint
CREATE TRIGGER `person_lookup_contact_update` AFTER UPDATE ON `contact_point` BEGIN
UPDATE address_use SET active_people = active_people - 1
  WHERE channel = OLD.channel AND address_key = OLD.address_key
    AND (OLD.channel <> NEW.channel OR OLD.address_key <> NEW.address_key) AND (SELECT status FROM person WHERE id = OLD.person_id) = 'ACTIVE';
INSERT INTO address_use (channel, address_key, active_people)
  SELECT NEW.channel, NEW.address_key, 1
  WHERE (OLD.channel <> NEW.channel OR OLD.address_key <> NEW.address_key) AND (SELECT status FROM person WHERE id = NEW.person_id) = 'ACTIVE'
  ON CONFLICT DO UPDATE SET active_people = active_people + 1;
DELETE FROM person_lookup WHERE id = NEW.person_id;
INSERT INTO person_lookup
SELECT p.id, p.status, p.reserved, p.reserved_at, p.reservation_updated_at, p.language, p.language_updated_at, p.updated_at, p.change_number,
  e.address, e.address_key, e.updated_at, e.last_verified_at, e.last_validated_at,
  CASE WHEN e.person_id IS NULL THEN NULL ELSE coalesce((SELECT u.active_people FROM address_use u WHERE u.channel = 'EMAIL' AND u.address_key = e.address_key), 0) - (p.status = 'ACTIVE') > 0 END,
  m.address, m.address_key, m.updated_at, m.last_verified_at, m.last_validated_at,
  CASE WHEN m.person_id IS NULL THEN NULL ELSE coalesce((SELECT u.active_people FROM address_use u WHERE u.channel = 'MOBILE' AND u.address_key = m.address_key), 0) - (p.status = 'ACTIVE') > 0 END,
  d.mailbox_address, d.provider_org_number, d.certificate
FROM person p
  LEFT JOIN contact_point e ON e.person_id = p.id AND e.channel = 'EMAIL'
  LEFT JOIN contact_point m ON m.person_id = p.id AND m.channel = 'MOBILE'
  LEFT JOIN digital_post d ON d.person_id = p.id
WHERE p.id = NEW.person_id;
END;
--> statement-breakpoint
CREATE TRIGGER `person_lookup_contact_delete` AFTER DELETE ON `contact_point` BEGIN
UPDATE address_use SET active_people = active_people - 1
  WHERE channel = OLD.channel AND address_key = OLD.address_key AND (SELECT status FROM person WHERE id = OLD.person_id) = 'ACTIVE';
DELETE FROM person_lookup WHERE id = OLD.person_id;
INSERT INTO person_lookup
SELECT p.id, p.status, p.reserved, p.reserved_at, p.reservation_updated_at, p.language, p.language_updated_at, p.updated_at, p.change_number,
  e.address, e.address_key, e.updated_at, e.last_verified_at, e.last_validated_at,
  CASE WHEN e.person_id IS NULL THEN NULL ELSE coalesce((SELECT u.active_people FROM address_use u WHERE u.channel = 'EMAIL' AND u.address_key = e.address_key), 0) - (p.status = 'ACTIVE') > 0 END,
  m.address, m.address_key, m.updated_at, m.last_verified_at, m.last_validated_at,
  CASE WHEN m.person_id IS NULL THEN NULL ELSE coalesce((SELECT u.active_people FROM address_use u WHERE u.channel = 'MOBILE' AND u.address_key = m.address_key), 0) - (p.status = 'ACTIVE') > 0 END,
  d.mailbox_address, d.provider_org_number, d.certificate
FROM person p
  LEFT JOIN contact_point e ON e.person_id = p.id AND e.channel = 'EMAIL'
  LEFT JOIN contact_point m ON m.person_id = p.id AND m.channel = 'MOBILE'
  LEFT JOIN digital_post d ON d.person_id = p.id
WHERE p.id = OLD.person_id;
END;
--> statement-breakpoint
CREATE TRIGGER `person_lookup_post_insert` AFTER INSERT ON `digital_post` BEGIN
DELETE FROM person_lookup WHERE id = NEW.person_id;
INSERT INTO person_lookup
SELECT p.id, p.status, p.reserved, p.reserved_at, p.reservation_updated_at, p.language, p.language_updated_at, p.updated_at, p.change_number,
  e.address, e.address_key, e.updated_at, e.last_verified_at, e.last_validated_at,
  CASE WHEN e.person_id IS NULL THEN NULL ELSE coalesce((SELECT u.active_people FROM address_use u WHERE u.channel = 'EMAIL' AND u.address_key = e.address_key), 0) - (p.status = 'ACTIVE') > 0 END,
  m.address, m.address_key, m.updated_at, m.last_verified_at, m.last_validated_at,
  CASE WHEN m.person_id IS NULL THEN NULL ELSE coalesce((SELECT u.active_people FROM address_use u WHERE u.channel = 'MOBILE' AND u.address_key = m.address_key), 0) - (p.status = 'ACTIVE') > 0 END,
  d.mailbox_address, d.provider_org_number, d.certificate
FROM person p
  LEFT JOIN contact_point e ON e.person_id = p.id AND e.channel = 'EMAIL'
  LEFT JOIN contact_point m ON m.person_id = p.id AND m.channel = 'MOBILE'
  LEFT JOIN digital_post d ON d.person_id = p.id
WHERE p.id = NEW.person_id;
END;
--> statement-breakpoint
CREATE TRIGGER `person_lookup_post_update` AFTER UPDATE ON `digital_post` BEGIN
DELETE FROM person_lookup WHERE id = NEW.person_id;
INSERT INTO person_lookup
SELECT p.id, p.status, p.reserved, p.reserved_at, p.reservation_updated_at, p.language, p.language_updated_at, p.updated_at, p.change_number,
  e.address, e.address_key, e.updated_at, e.last_verified_at, e.last_validated_at,
  CASE WHEN e.person_id IS NULL THEN NULL ELSE coalesce((SELECT u.active_people FROM address_use u WHERE u.channel = 'EMAIL' AND u.address_key = e.address_key), 0) - (p.status = 'ACTIVE') > 0 END,
  m.address, m.address_key, m.updated_at, m.last_verified_at, m.last_validated_at,
  CASE WHEN m.person_id IS NULL THEN NULL ELSE coalesce((SELECT u.active_people FROM address_use u WHERE u.channel = 'MOBILE' AND u.address_key = m.address_key), 0) - (p.status = 'ACTIVE') > 0 END,
  d.mailbox_address, d.provider_org_number, d.certificate
FROM person p
  LEFT JOIN contact_point e ON e.person_id = p.id AND e.channel = 'EMAIL'
  LEFT JOIN contact_point m ON m.person_id = p.id AND m.channel = 'MOBILE'
  LEFT JOIN digital_post d ON d.person_id = p.id
WHERE p.id = NEW.person_id;
END;
--> statement-breakpoint
CREATE TRIGGER `person_lookup_post_delete` AFTER DELETE ON `digital_post` BEGIN
DELETE FROM person_lookup WHERE id = OLD.person_id;
INSERT INTO person_lookup
SELECT p.id, p.status, p.reserved, p.reserved_at, p.reservation_updated_at, p.language, p.language_updated_at, p.updated_at, p.change_number,
  e.address, e.address_key, e.updated_at, e.last_verified_at, e.last_validated_at,
  CASE WHEN e.person_id IS NULL THEN NULL ELSE coalesce((SELECT u.active_people FROM address_use u WHERE u.channel = 'EMAIL' AND u.address_key = e.address_key), 0) - (p.status = 'ACTIVE') > 0 END,
  m.address, m.address_key, m.updated_at, m.last_verified_at, m.last_validated_at,
  CASE WHEN m.person_id IS NULL THEN NULL ELSE coalesce((SELECT u.active_people FROM address_use u WHERE u.channel = 'MOBILE' AND u.address_key = m.address_key), 0) - (p.status = 'ACTIVE') > 0 END,
  d.mailbox_address, d.provider_org_number, d.certificate
FROM person p
  LEFT JOIN contact_point e ON e.person_id = p.id AND e.channel = 'EMAIL'
  LEFT JOIN contact_point m ON m.person_id = p.id AND m.channel = 'MOBILE'
  LEFT JOIN digital_post d ON d.person_id = p.id
WHERE p.id = OLD.person_id;
END;
--> statement-breakpoint
CREATE TRIGGER `address_use_insert` AFTER INSERT ON `address_use` BEGIN
UPDATE person_lookup SET email_duplicated = (NEW.active_people - (status = 'ACTIVE') > 0)
  WHERE NEW.channel = 'EMAIL' AND id IN (SELECT person_id FROM contact_point WHERE channel = 'EMAIL' AND address_key = NEW.address_key);
UPDATE person_lookup SET mobile_duplicated = (NEW.active_people - (status = 'ACTIVE') > 0)
  WHERE NEW.channel = 'MOBILE' AND id IN (SELECT person_id FROM contact_point WHERE channel = 'MOBILE' AND address_key = NEW.address_key);
END;
--> statement-breakpoint
CREATE TRIGGER `address_use_update` AFTER UPDATE ON `address_use`
WHEN (OLD.active_people <= 1) <> (NEW.active_people <= 1) OR (OLD.active_people = 0) <> (NEW.active_people = 0) BEGIN
UPDATE person_lookup SET email_duplicated = (NEW.active_people - (status = 'ACTIVE') > 0)
  WHERE NEW.channel = 'EMAIL' AND id IN (SELECT person_id FROM contact_point WHERE channel = 'EMAIL' AND address_key = NEW.address_key);
UPDATE person_lookup SET mobile_duplicated = (NEW.active_people - (status = 'ACTIVE') > 0)
  WHERE NEW.channel = 'MOBILE' AND id IN (SELECT person_id FROM contact_point WHERE channel = 'MOBILE' AND address_key = NEW.address_key);
END;
