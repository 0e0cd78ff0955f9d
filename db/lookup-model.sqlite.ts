/**
 * The SQLite lookup read model's rebuild (db/schema.ts: `address_use`, `person_lookup`),
 * for a bulk load that drops the triggers of migration 0006 for speed and derives both
 * tables once at its end (db/seed/bulk.ts). The same SQL as that migration's backfill.
 */

/** The triggers that keep the read model in step (all of them: `sqlite_master` names). */
export const LOOKUP_MODEL_TRIGGERS = [
  'person_lookup_person_insert',
  'person_lookup_person_update',
  'person_lookup_person_delete',
  'person_lookup_person_deleted',
  'person_lookup_contact_insert',
  'person_lookup_contact_update',
  'person_lookup_contact_delete',
  'person_lookup_post_insert',
  'person_lookup_post_update',
  'person_lookup_post_delete',
  'address_use_insert',
  'address_use_update',
];

/**
 * Derives `address_use` and `person_lookup` from scratch from person, contact_point and
 * digital_post: the same SQL as migration 0006's backfill. Each step reads its tables in key
 * order (a national load is millions of rows; random probes are what made it slow):
 * - `address_use` scans contact_point in its own order (NOT INDEXED: the address index's
 *   order would probe `person` at random for every row) and groups with a sorter;
 * - `person_lookup` is written in id order with every active person's flags 0, which is
 *   right unless another active person shares the address; a person who is not active
 *   counts every active user of the address, so theirs is probed;
 * - then only the shared addresses (`active_people > 1`, few) set the flags of the active
 *   people using them (CROSS JOIN: from address_use to contact_point, not the reverse).
 * The result is row for row what the triggers keep (test/integration/duplicate-flag.test.ts).
 */
export const REBUILD_LOOKUP_MODEL = `
DELETE FROM address_use;
DELETE FROM person_lookup;
INSERT INTO address_use (channel, address_key, active_people)
SELECT cp.channel, cp.address_key, count(*) FROM contact_point cp NOT INDEXED JOIN person p ON p.id = cp.person_id
WHERE p.status = 'ACTIVE' GROUP BY cp.channel, cp.address_key;
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
UPDATE person_lookup SET email_duplicated = 1 WHERE status = 'ACTIVE' AND id IN (
  SELECT cp.person_id FROM address_use u CROSS JOIN contact_point cp ON cp.channel = u.channel AND cp.address_key = u.address_key
  WHERE u.channel = 'EMAIL' AND u.active_people > 1);
UPDATE person_lookup SET mobile_duplicated = 1 WHERE status = 'ACTIVE' AND id IN (
  SELECT cp.person_id FROM address_use u CROSS JOIN contact_point cp ON cp.channel = u.channel AND cp.address_key = u.address_key
  WHERE u.channel = 'MOBILE' AND u.active_people > 1);`;
