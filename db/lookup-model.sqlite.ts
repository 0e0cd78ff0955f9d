/**
 * The SQLite lookup read model (db/schema.ts: `address_use`, `person_lookup`) kept by bulk
 * writes that set the triggers of migration 0006 aside for speed: the seed into an empty
 * register derives both tables once at its end (`REBUILD_LOOKUP_MODEL`, db/seed/bulk.ts, the
 * same SQL as that migration's backfill); the bulk import retracts and derives the people it
 * writes, set-based (`retractStagedLookupModel`, `deriveStagedLookupModel`,
 * src/store/sqlite/bulk-import.ts).
 */
import type Database from 'better-sqlite3';

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
 * `address_use` of the whole register, and `temp.lookup_shared`: the people whose point on a
 * channel shares its address with another active person (the only ones whose flag is set).
 * Triggers set aside, `address_use` empty, `contact_point_address_idx` in place. Each step
 * reads in key order (a national register is millions of rows; random probes and sorts of
 * every point are what made it slow):
 * - every point counted per address straight from the address index (already sorted: no
 *   sort, no probe of `person`), less the points of people who are not active (a scan of
 *   `person` for them; they are few), an address only they hold left out;
 * - an address with more than one active user flags every point on it; one with exactly one
 *   flags the people on it who are not active (the one active user is someone else).
 */
/**
 * The read model emptied before it is derived for the whole register. With nobody in the
 * register `address_use` may still hold rows: the triggers count an address down to 0 when
 * its last person goes, and leave the row.
 */
const CLEAR_LOOKUP_MODEL = `DELETE FROM address_use; DELETE FROM person_lookup;`;

const DERIVE_ADDRESS_USE = `
DROP TABLE IF EXISTS temp.lookup_inactive_use;
DROP TABLE IF EXISTS temp.lookup_shared;
CREATE TEMP TABLE lookup_inactive_use (channel text NOT NULL, address_key text NOT NULL, n integer NOT NULL, PRIMARY KEY (channel, address_key)) WITHOUT ROWID;
INSERT INTO temp.lookup_inactive_use
SELECT cp.channel, cp.address_key, count(*) FROM person p CROSS JOIN contact_point cp ON cp.person_id = p.id WHERE p.status <> 'ACTIVE' GROUP BY 1, 2;
INSERT INTO address_use (channel, address_key, active_people)
SELECT a.channel, a.address_key, a.n - coalesce((SELECT i.n FROM temp.lookup_inactive_use i WHERE i.channel = a.channel AND i.address_key = a.address_key), 0)
FROM (SELECT channel, address_key, count(*) AS n FROM contact_point INDEXED BY contact_point_address_idx GROUP BY channel, address_key) a WHERE true;
DELETE FROM address_use WHERE active_people = 0 AND (channel, address_key) IN (SELECT channel, address_key FROM temp.lookup_inactive_use);
DROP TABLE temp.lookup_inactive_use;
CREATE TEMP TABLE lookup_shared (id text NOT NULL, channel text NOT NULL, PRIMARY KEY (id, channel)) WITHOUT ROWID;
INSERT INTO temp.lookup_shared
SELECT cp.person_id, cp.channel FROM address_use u CROSS JOIN contact_point cp INDEXED BY contact_point_address_idx ON cp.channel = u.channel AND cp.address_key = u.address_key
WHERE u.active_people > 1
UNION ALL
SELECT p.id, cp.channel FROM person p CROSS JOIN contact_point cp ON cp.person_id = p.id CROSS JOIN address_use u ON u.channel = cp.channel AND u.address_key = cp.address_key
WHERE p.status <> 'ACTIVE' AND u.active_people = 1
ORDER BY 1, 2;`;

/** A `person_lookup` duplicate flag from `temp.lookup_shared`: null without a point on the channel. */
const sharedFlag = (id: string, channel: 'EMAIL' | 'MOBILE', address: string) =>
  `iif(${address} IS NULL, NULL, EXISTS (SELECT 1 FROM temp.lookup_shared x WHERE x.id = ${id} AND x.channel = '${channel}'))`;

/**
 * Derives `address_use` and `person_lookup` from scratch from person, contact_point and
 * digital_post (`DERIVE_ADDRESS_USE`, then every person's row in id order, the tables joined
 * by their keys). Triggers set aside, `contact_point_address_idx` in place. The result is
 * row for row what the triggers keep (test/integration/duplicate-flag.test.ts).
 */
export const REBUILD_LOOKUP_MODEL = `
${CLEAR_LOOKUP_MODEL}
${DERIVE_ADDRESS_USE}
INSERT INTO person_lookup
SELECT p.id, p.status, p.reserved, p.reserved_at, p.reservation_updated_at, p.language, p.language_updated_at, p.updated_at, p.change_number,
  e.address, e.address_key, e.updated_at, e.last_verified_at, e.last_validated_at, ${sharedFlag('p.id', 'EMAIL', 'e.address')},
  m.address, m.address_key, m.updated_at, m.last_verified_at, m.last_validated_at, ${sharedFlag('p.id', 'MOBILE', 'm.address')},
  d.mailbox_address, d.provider_org_number, d.certificate_id
FROM person p
  LEFT JOIN contact_point e ON e.person_id = p.id AND e.channel = 'EMAIL'
  LEFT JOIN contact_point m ON m.person_id = p.id AND m.channel = 'MOBILE'
  LEFT JOIN digital_post d ON d.person_id = p.id
ORDER BY p.id;
DROP TABLE temp.lookup_shared;`;

/**
 * The secondary indexes whose keys a bulk write brings in random order (person ids by change
 * number, addresses): cheaper to build once, sorted, at its end than row by row.
 */
export const DEFERRED_INDEXES = ['change_log_person_idx', 'contact_point_address_idx', 'person_change_number_idx'];

/**
 * Drops the named indexes and triggers of the connection's main database, inside the
 * caller's transaction, for a bulk write that builds the indexes once at its end and keeps
 * the read model itself; returns how to create each group again (the same SQL).
 */
export function setAside(sqlite: Database.Database, indexes: readonly string[], triggers: readonly string[]): { indexes: () => void; triggers: () => void } {
  const schema = (type: 'index' | 'trigger', names: readonly string[]) =>
    names.length === 0
      ? []
      : (sqlite.prepare(`select name, sql from sqlite_master where type = ? and name in (${names.map(() => '?').join(', ')})`).all(type, ...names) as { name: string; sql: string }[]);
  const droppedIndexes = schema('index', indexes);
  const droppedTriggers = schema('trigger', triggers);
  for (const index of droppedIndexes) sqlite.exec(`drop index "${index.name}"`);
  for (const trigger of droppedTriggers) sqlite.exec(`drop trigger "${trigger.name}"`);
  return {
    indexes: () => droppedIndexes.forEach((index) => sqlite.exec(index.sql)),
    triggers: () => droppedTriggers.forEach((trigger) => sqlite.exec(trigger.sql)),
  };
}

/**
 * Both channels of a staged person's row `s`, EMAIL first (the order of contact_point's key):
 * `from ... s cross join ${CHANNELS} c`, then `byChannel(email column, mobile column)`.
 */
export const CHANNELS = `(select 'EMAIL' as channel union all select 'MOBILE')`;
export const byChannel = (email: string, mobile: string) => `iif(c.channel = 'EMAIL', s.${email}, s.${mobile})`;

/**
 * The read model's part of a set-based write of the people in `temp.<people>` (one wide
 * staging row each, with its change number, in id order), before their rows change: the
 * active people their current contact points count for, per address
 * (`temp.lookup_retracted`), which `deriveStagedLookupModel` takes off again. The triggers
 * must be set aside (`setAside`).
 */
export function retractStagedLookupModel(sqlite: Database.Database, people: string): void {
  sqlite.exec(`drop table if exists temp.lookup_retracted;
    create temp table lookup_retracted (channel text not null, address_key text not null, n integer not null, primary key (channel, address_key)) without rowid;
    -- CROSS JOIN: the people in id order, probing person and contact_point by key in that order
    -- (left to itself SQLite scans contact_point by address and probes the people at random).
    insert into temp.lookup_retracted
      select cp.channel, cp.address_key, count(*) from temp.${people} s cross join person p on p.id = s.id cross join contact_point cp on cp.person_id = s.id
      where p.status = 'ACTIVE' group by cp.channel, cp.address_key order by 1, 2;`);
}

/**
 * The read model after a set-based write of the people in `temp.<people>` (see
 * `retractStagedLookupModel`, called before it unless the register was `empty`), row for row
 * what the triggers would keep:
 * - `address_use` takes the net change of active people per address (their new active
 *   points less the retracted ones), in key order;
 * - their `person_lookup` rows are written from the staged rows in id order, a channel's
 *   flag set when another active person holds the address (found by reading their points in
 *   address order beside `address_use`, not by a probe per person);
 * - other people on an address whose count crossed 0, 1 or 2 get their flag again, as the
 *   `address_use` triggers do.
 * Into an `empty` register, the people written are the whole register: `address_use` and
 * the shared points are derived from the register's tables as `REBUILD_LOOKUP_MODEL` does
 * (`DERIVE_ADDRESS_USE`), which needs `contact_point_address_idx` in place.
 */
export function deriveStagedLookupModel(sqlite: Database.Database, people: string, empty: boolean): void {
  if (empty) sqlite.exec(CLEAR_LOOKUP_MODEL + DERIVE_ADDRESS_USE);
  else {
    sqlite.exec(`drop table if exists temp.lookup_points; drop table if exists temp.lookup_delta; drop table if exists temp.lookup_crossed; drop table if exists temp.lookup_shared;
      create temp table lookup_points (channel text not null, address_key text not null, id text not null, active integer not null, primary key (channel, address_key, id)) without rowid;
      insert into temp.lookup_points
        select c.channel, ${byChannel('email_key', 'mobile_key')}, s.id, s.status = 'ACTIVE' from temp.${people} s cross join ${CHANNELS} c
        where ${byChannel('email_key', 'mobile_key')} is not null order by 1, 2, 3;
      create temp table lookup_delta (channel text not null, address_key text not null, d integer not null, primary key (channel, address_key)) without rowid;
      insert into temp.lookup_delta
        select channel, address_key, sum(d) from (
          select channel, address_key, 1 as d from temp.lookup_points where active
          union all select channel, address_key, -n from temp.lookup_retracted)
        group by channel, address_key having sum(d) <> 0 order by 1, 2;
      create temp table lookup_crossed as
        select x.channel, x.address_key from temp.lookup_delta x left join address_use u on u.channel = x.channel and u.address_key = x.address_key
        where min(coalesce(u.active_people, 0), 2) <> min(coalesce(u.active_people, 0) + x.d, 2);
      insert into address_use (channel, address_key, active_people) select channel, address_key, d from temp.lookup_delta where true
        on conflict (channel, address_key) do update set active_people = active_people + excluded.active_people;
      create temp table lookup_shared (id text not null, channel text not null, primary key (id, channel)) without rowid;
      insert into temp.lookup_shared
        select p.id, p.channel from temp.lookup_points p join address_use u on u.channel = p.channel and u.address_key = p.address_key
        where u.active_people - p.active > 0;`);
  }
  sqlite.exec(`
    insert or replace into person_lookup
      select s.id, s.status, s.reserved, s.reserved_at, s.reservation_updated_at, s.language, s.language_updated_at, s.updated_at, s.change_number,
        s.email_address, s.email_key, s.email_updated_at, s.email_verified_at, s.email_validated_at, ${sharedFlag('s.id', 'EMAIL', 's.email_address')},
        s.mobile_address, s.mobile_key, s.mobile_updated_at, s.mobile_verified_at, s.mobile_validated_at, ${sharedFlag('s.id', 'MOBILE', 's.mobile_address')},
        s.mailbox_address, s.provider_org_number, s.certificate
      from temp.${people} s;`);
  if (!empty) {
    for (const [channel, column] of [
      ['EMAIL', 'email'],
      ['MOBILE', 'mobile'],
    ]) {
      sqlite.exec(`update person_lookup set ${column}_duplicated =
          coalesce((select u.active_people from address_use u where u.channel = '${channel}' and u.address_key = person_lookup.${column}_address_key), 0) - (status = 'ACTIVE') > 0
        where id in (select cp.person_id from temp.lookup_crossed x cross join contact_point cp on cp.channel = x.channel and cp.address_key = x.address_key where x.channel = '${channel}');`);
    }
  }
  sqlite.exec(`drop table temp.lookup_shared; drop table if exists temp.lookup_points; drop table if exists temp.lookup_delta;
    drop table if exists temp.lookup_crossed; drop table if exists temp.lookup_retracted;`);
}
