/**
 * Writing whole entries many at a time (the import, the tests' `put`, the seed): the rows
 * `replacePerson` writes in the SQLite store, as a handful of multi-row statements over
 * `unnest` arrays instead of a handful per person.
 */
import type { ChangeKind } from '../../domain/change-kind';
import { addressKey } from '../../domain/contact-address';
import type { PersonRecord } from '../types';
import type { CountingClient } from './executor';

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** The columns of a batch, one array per column (text[] for timestamps: ISO 8601, cast in SQL). */
interface Columns {
  person: { id: string[]; status: string[]; reserved: boolean[]; reservedAt: (string | null)[]; reservationUpdatedAt: (string | null)[]; language: (string | null)[]; languageUpdatedAt: (string | null)[]; updatedAt: string[] };
  contact: { personId: string[]; channel: string[]; address: string[]; addressKey: string[]; updatedAt: string[]; lastVerifiedAt: (string | null)[]; lastValidatedAt: (string | null)[] };
  post: { personId: string[]; mailboxAddress: string[]; providerOrgNumber: string[]; certificate: (string | null)[] };
}

/** Address keys as `replacePerson` has them: the lower-cased email, the E.164 mobile as it is. */
function toColumns(records: readonly PersonRecord[]): Columns {
  const c: Columns = {
    person: { id: [], status: [], reserved: [], reservedAt: [], reservationUpdatedAt: [], language: [], languageUpdatedAt: [], updatedAt: [] },
    contact: { personId: [], channel: [], address: [], addressKey: [], updatedAt: [], lastVerifiedAt: [], lastValidatedAt: [] },
    post: { personId: [], mailboxAddress: [], providerOrgNumber: [], certificate: [] },
  };
  for (const r of records) {
    const p = c.person;
    p.id.push(r.id);
    p.status.push(r.status);
    p.reserved.push(r.reserved);
    p.reservedAt.push(iso(r.reservedAt));
    p.reservationUpdatedAt.push(iso(r.reservationUpdatedAt));
    p.language.push(r.language);
    p.languageUpdatedAt.push(iso(r.languageUpdatedAt));
    p.updatedAt.push(r.updatedAt.toISOString());
    for (const [channel, point] of [
      ['EMAIL', r.email],
      ['MOBILE', r.mobile],
    ] as const) {
      if (!point) continue;
      c.contact.personId.push(r.id);
      c.contact.channel.push(channel);
      c.contact.address.push(point.address);
      c.contact.addressKey.push(addressKey(channel, point.address));
      c.contact.updatedAt.push(point.updatedAt.toISOString());
      c.contact.lastVerifiedAt.push(iso(point.lastVerifiedAt));
      c.contact.lastValidatedAt.push(iso(point.lastValidatedAt));
    }
    if (r.digitalPost) {
      c.post.personId.push(r.id);
      c.post.mailboxAddress.push(r.digitalPost.mailboxAddress);
      c.post.providerOrgNumber.push(r.digitalPost.providerOrgNumber);
      c.post.certificate.push(r.digitalPost.certificate);
    }
  }
  return c;
}

const PERSON_UNNEST = `unnest($1::text[], $2::text[], $3::boolean[], $4::timestamptz[], $5::timestamptz[], $6::text[], $7::timestamptz[], $8::timestamptz[])`;
const personValues = (p: Columns['person']) => [p.id, p.status, p.reserved, p.reservedAt, p.reservationUpdatedAt, p.language, p.languageUpdatedAt, p.updatedAt];

async function insertContactsAndPosts(q: CountingClient, c: Columns): Promise<void> {
  if (c.contact.personId.length > 0) {
    const k = c.contact;
    await q.query(
      `insert into contact_point (person_id, channel, address, address_key, updated_at, last_verified_at, last_validated_at)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[])`,
      [k.personId, k.channel, k.address, k.addressKey, k.updatedAt, k.lastVerifiedAt, k.lastValidatedAt],
    );
  }
  if (c.post.personId.length > 0) {
    const d = c.post;
    // The certificates into the register (each value once), and the mailboxes with their ids.
    await q.query(`insert into certificate (value) select distinct v from unnest($1::text[]) as v where v is not null on conflict (certificate_digest(value)) do nothing`, [
      d.certificate,
    ]);
    await q.query(
      `insert into digital_post (person_id, mailbox_address, provider_org_number, certificate_id)
       select u.person_id, u.mailbox_address, u.provider_org_number, c.id
       from unnest($1::text[], $2::text[], $3::text[], $4::text[]) as u(person_id, mailbox_address, provider_org_number, certificate)
         left join certificate c on certificate_digest(c.value) = certificate_digest(u.certificate)`,
      [d.personId, d.mailboxAddress, d.providerOrgNumber, d.certificate],
    );
  }
}

/**
 * Replaces whole entries, inside the caller's transaction, which holds the people's locks.
 * Every record takes the next change number in the order given (a person given twice takes
 * two, and keeps the last record's content and number, as `replacePerson` one by one
 * would). The numbers are taken last, in one statement with their change-log rows and the
 * people's `change_number`, so the counter is held only from there to the commit.
 * Returns the numbers, in the order of `records`.
 */
export async function replacePeopleIn(q: CountingClient, records: readonly PersonRecord[], kind: ChangeKind, at: Date): Promise<number[]> {
  if (records.length === 0) return [];
  const lastOf = new Map<string, PersonRecord>();
  for (const record of records) {
    lastOf.delete(record.id); // keep the order of last occurrences
    lastOf.set(record.id, record);
  }
  const c = toColumns([...lastOf.values()]);
  const ids = c.person.id;
  await q.query('delete from contact_point where person_id = any($1::text[])', [ids]);
  await q.query('delete from digital_post where person_id = any($1::text[])', [ids]);
  // A new person's change_number is a placeholder until the numbering statement below.
  await q.query(
    `insert into person (id, status, reserved, reserved_at, reservation_updated_at, language, language_updated_at, updated_at, change_number)
     select *, 0 from ${PERSON_UNNEST}
     on conflict (id) do update set status = excluded.status, reserved = excluded.reserved, reserved_at = excluded.reserved_at,
       reservation_updated_at = excluded.reservation_updated_at, language = excluded.language,
       language_updated_at = excluded.language_updated_at, updated_at = excluded.updated_at`,
    personValues(c.person),
  );
  await insertContactsAndPosts(q, c);
  const { rows } = await q.query<{ first: number }>(
    `with taken as (
       update change_counter set last_change_number = last_change_number + cardinality($1::text[]) where id = 1
       returning last_change_number - cardinality($1::text[]) as base
     ), logged as (
       insert into change_log (change_number, person_id, changed_at, kind)
       select taken.base + t.ord, t.id, $2::timestamptz, $3::text from taken, unnest($1::text[]) with ordinality as t(id, ord)
       returning change_number, person_id
     ), newest as (
       select person_id, max(change_number) as change_number from logged group by person_id
     ), stamped as (
       update person set change_number = newest.change_number from newest where person.id = newest.person_id
       returning 1
     )
     select base + 1 as first from taken`,
    [records.map((r) => r.id), at.toISOString(), kind],
  );
  const first = rows[0]?.first;
  if (first === undefined) throw new Error('change_counter has no row: the PostgreSQL migrations (db/migrations-pg) were not applied');
  return records.map((_, i) => first + i);
}

/**
 * Inserts new entries (the seed into an empty register), inside the caller's transaction,
 * which holds the bulk lock. The batch takes one range of change numbers first (nobody
 * else writes meanwhile), so each person row is written once, with its number. Returns the
 * first number.
 */
export async function insertNewPeopleIn(q: CountingClient, records: readonly PersonRecord[], kind: ChangeKind, at: Date): Promise<number> {
  const c = toColumns(records);
  const ids = c.person.id;
  // The read model's triggers stand aside for this transaction; the batch derives it below, set-based.
  await q.query(`select set_config('krr.bulk_load', 'on', true)`);
  const { rows } = await q.query<{ base: number }>(
    'update change_counter set last_change_number = last_change_number + $1 where id = 1 returning last_change_number - $1 as base',
    [ids.length],
  );
  const base = rows[0]?.base;
  if (base === undefined) throw new Error('change_counter has no row: the PostgreSQL migrations (db/migrations-pg) were not applied');
  await q.query(
    `insert into change_log (change_number, person_id, changed_at, kind)
     select $2::bigint + t.ord, t.id, $3::timestamptz, $4::text from unnest($1::text[]) with ordinality as t(id, ord)`,
    [ids, base, at.toISOString(), kind],
  );
  await q.query(
    `insert into person (id, status, reserved, reserved_at, reservation_updated_at, language, language_updated_at, updated_at, change_number)
     select u.id, u.status, u.reserved, u.reserved_at, u.reservation_updated_at, u.language, u.language_updated_at, u.updated_at, $9::bigint + u.ord
     from ${PERSON_UNNEST} with ordinality
       as u(id, status, reserved, reserved_at, reservation_updated_at, language, language_updated_at, updated_at, ord)`,
    [...personValues(c.person), base],
  );
  await insertContactsAndPosts(q, c);
  await deriveLookupModel(q, 'unnest($1::text[]) as ids(id)', [ids]);
  return base + 1;
}

/**
 * What the read model's triggers (migration 0007) would have done for new people, set-based:
 * their `person_lookup` rows, and their active addresses counted into `address_use`. Only
 * for people that have no `person_lookup` row and are not counted (a bulk load under
 * krr.bulk_load: new people, or people whose old state the caller took out first).
 * `ids`: a FROM item naming the people as `ids(id)`, with its parameters; null: the people
 * are the whole register (a load into an empty one, whose keys may be set aside): the read
 * model is emptied, every row is read, and nothing is upserted.
 */
export async function deriveLookupModel(q: CountingClient, ids: string | null, params: unknown[] = []): Promise<void> {
  const people = ids === null ? 'person p' : `${ids} join person p on p.id = ids.id`;
  // The whole register: derived anew. With nobody in it `address_use` may still hold rows
  // (the triggers count an address down to 0 when its last person goes, and leave the row).
  if (ids === null) {
    await q.query('delete from address_use');
    await q.query('delete from person_lookup');
  }
  await q.query(
    `insert into address_use (channel, address_key, active_people)
     select cp.channel, cp.address_key, count(*)
     from ${people} join contact_point cp on cp.person_id = p.id
     where p.status = 'ACTIVE' group by cp.channel, cp.address_key
     ${ids === null ? '' : 'order by cp.channel, cp.address_key on conflict (channel, address_key) do update set active_people = address_use.active_people + excluded.active_people'}`,
    params,
  );
  await q.query(
    `insert into person_lookup
     select p.id, p.status, p.reserved, p.reserved_at, p.reservation_updated_at, p.language, p.language_updated_at, p.updated_at, p.change_number,
       e.address, e.address_key, e.updated_at, e.last_verified_at, e.last_validated_at,
       m.address, m.address_key, m.updated_at, m.last_verified_at, m.last_validated_at,
       d.mailbox_address, d.provider_org_number, d.certificate_id
     from ${people}
       left join contact_point e on e.person_id = p.id and e.channel = 'EMAIL'
       left join contact_point m on m.person_id = p.id and m.channel = 'MOBILE'
       left join digital_post d on d.person_id = p.id`,
    params,
  );
}

/**
 * Takes people out of the read model before a bulk load under krr.bulk_load rewrites them:
 * their active addresses leave the counts of `address_use`, their `person_lookup` rows go.
 * `deriveLookupModel` then puts their new state in. `ids` as there.
 */
export async function retractLookupModel(q: CountingClient, ids: string, params: unknown[] = []): Promise<void> {
  await q.query(
    `update address_use u set active_people = u.active_people - g.n
     from (
       select cp.channel, cp.address_key, count(*)::int as n
       from ${ids} join person p on p.id = ids.id join contact_point cp on cp.person_id = p.id
       where p.status = 'ACTIVE' group by cp.channel, cp.address_key
     ) g
     where u.channel = g.channel and u.address_key = g.address_key`,
    params,
  );
  await q.query(`delete from person_lookup where id in (select ids.id from ${ids})`, params);
}
