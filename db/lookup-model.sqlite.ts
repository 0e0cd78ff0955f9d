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

/** Derives `address_use` and `person_lookup` from scratch from person, contact_point and digital_post. */
export const REBUILD_LOOKUP_MODEL = `
DELETE FROM address_use;
DELETE FROM person_lookup;
INSERT INTO address_use (channel, address_key, active_people)
SELECT cp.channel, cp.address_key, count(*) FROM contact_point cp JOIN person p ON p.id = cp.person_id
WHERE p.status = 'ACTIVE' GROUP BY cp.channel, cp.address_key;
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
ORDER BY p.id;`;
