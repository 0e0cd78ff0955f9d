-- Certificates once per distinct value (db/schema.ts, `certificate`): the mailbox and the read
-- model keep the number. The triggers that copy a mailbox into the read model are made again
-- with the number; their text is 0006's otherwise.
CREATE TABLE `certificate` (
	`id` integer PRIMARY KEY NOT NULL,
	`value` text NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `certificate_value_unique` ON `certificate` (`value`);
--> statement-breakpoint
INSERT INTO certificate (value) SELECT DISTINCT certificate FROM digital_post WHERE certificate IS NOT NULL ORDER BY 1;
--> statement-breakpoint
DROP TRIGGER `person_lookup_person_insert`;
--> statement-breakpoint
DROP TRIGGER `person_lookup_person_update`;
--> statement-breakpoint
DROP TRIGGER `person_lookup_contact_insert`;
--> statement-breakpoint
DROP TRIGGER `person_lookup_contact_update`;
--> statement-breakpoint
DROP TRIGGER `person_lookup_contact_delete`;
--> statement-breakpoint
DROP TRIGGER `person_lookup_post_insert`;
--> statement-breakpoint
DROP TRIGGER `person_lookup_post_update`;
--> statement-breakpoint
DROP TRIGGER `person_lookup_post_delete`;
--> statement-breakpoint
ALTER TABLE `digital_post` ADD `certificate_id` integer REFERENCES certificate(id);
--> statement-breakpoint
UPDATE digital_post SET certificate_id = (SELECT c.id FROM certificate c WHERE c.value = digital_post.certificate) WHERE certificate IS NOT NULL;
--> statement-breakpoint
ALTER TABLE `digital_post` DROP COLUMN `certificate`;
--> statement-breakpoint
ALTER TABLE `person_lookup` ADD `certificate_id` integer;
--> statement-breakpoint
UPDATE person_lookup SET certificate_id = (SELECT c.id FROM certificate c WHERE c.value = person_lookup.certificate) WHERE certificate IS NOT NULL;
--> statement-breakpoint
ALTER TABLE `person_lookup` DROP COLUMN `certificate`;
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
  d.mailbox_address, d.provider_org_number, d.certificate_id
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
  d.mailbox_address, d.provider_org_number, d.certificate_id
FROM person p
  LEFT JOIN contact_point e ON e.person_id = p.id AND e.channel = 'EMAIL'
  LEFT JOIN contact_point m ON m.person_id = p.id AND m.channel = 'MOBILE'
  LEFT JOIN digital_post d ON d.person_id = p.id
WHERE p.id = NEW.id;
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
  d.mailbox_address, d.provider_org_number, d.certificate_id
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
  d.mailbox_address, d.provider_org_number, d.certificate_id
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
  d.mailbox_address, d.provider_org_number, d.certificate_id
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
  d.mailbox_address, d.provider_org_number, d.certificate_id
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
  d.mailbox_address, d.provider_org_number, d.certificate_id
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
  d.mailbox_address, d.provider_org_number, d.certificate_id
FROM person p
  LEFT JOIN contact_point e ON e.person_id = p.id AND e.channel = 'EMAIL'
  LEFT JOIN contact_point m ON m.person_id = p.id AND m.channel = 'MOBILE'
  LEFT JOIN digital_post d ON d.person_id = p.id
WHERE p.id = OLD.person_id;
END;
