import type { Statement } from 'better-sqlite3';
import type { ContactPointWithDuplicate, DigitalPostRow, PersonEntry, PersonRow } from '../types';
import { SqliteChangeFeed } from './change-feed';
import type { SqliteDatabase } from './connection';

/**
 * The columns of `person_lookup` the reads select, by position: rows come back as arrays
 * (`raw`), which better-sqlite3 builds in half the time of objects with 24 named
 * properties each (measured: 1000 rows, 11 ms against 24 ms).
 */
const LOOKUP_COLUMNS = [
  'id',
  'status',
  'reserved',
  'reserved_at',
  'reservation_updated_at',
  'language',
  'language_updated_at',
  'updated_at',
  'change_number',
  'email_address',
  'email_address_key',
  'email_updated_at',
  'email_last_verified_at',
  'email_last_validated_at',
  'email_duplicated',
  'mobile_address',
  'mobile_address_key',
  'mobile_updated_at',
  'mobile_last_verified_at',
  'mobile_last_validated_at',
  'mobile_duplicated',
  'mailbox_address',
  'provider_org_number',
  'certificate',
] as const;
/** Where each column's value is in a row. */
const C = Object.fromEntries(LOOKUP_COLUMNS.map((column, i) => [column, i])) as Record<(typeof LOOKUP_COLUMNS)[number], number>;

/** A `person_lookup` row as SQLite returns it: `C` says which value is where. */
type LookupRow = readonly (string | number | null)[];

const date = (ms: string | number | null): Date | null => (ms === null ? null : new Date(ms as number));
const text = (r: LookupRow, i: number) => r[i] as string | null;

function toPersonRow(r: LookupRow): PersonRow {
  return {
    id: r[C.id] as string,
    status: r[C.status] as PersonRow['status'],
    reserved: r[C.reserved] === 1,
    reservedAt: date(r[C.reserved_at]),
    reservationUpdatedAt: date(r[C.reservation_updated_at]),
    language: r[C.language] as PersonRow['language'],
    languageUpdatedAt: date(r[C.language_updated_at]),
    updatedAt: new Date(r[C.updated_at] as number),
    changeNumber: r[C.change_number] as number,
  };
}

const CHANNEL_COLUMNS = [
  { channel: 'EMAIL', address: C.email_address, key: C.email_address_key, updated: C.email_updated_at, verified: C.email_last_verified_at, validated: C.email_last_validated_at, duplicated: C.email_duplicated },
  { channel: 'MOBILE', address: C.mobile_address, key: C.mobile_address_key, updated: C.mobile_updated_at, verified: C.mobile_last_verified_at, validated: C.mobile_last_validated_at, duplicated: C.mobile_duplicated },
] as const;

function contactPointsOf(r: LookupRow): ContactPointWithDuplicate[] {
  const points: ContactPointWithDuplicate[] = [];
  for (const c of CHANNEL_COLUMNS) {
    const address = text(r, c.address);
    if (address === null) continue;
    points.push({
      personId: r[C.id] as string,
      channel: c.channel,
      address,
      addressKey: text(r, c.key)!,
      updatedAt: new Date(r[c.updated] as number),
      lastVerifiedAt: date(r[c.verified]),
      lastValidatedAt: date(r[c.validated]),
      duplicated: r[c.duplicated] === 1,
    });
  }
  return points;
}

const digitalPostOf = (r: LookupRow): DigitalPostRow | null =>
  r[C.mailbox_address] === null
    ? null
    : { personId: r[C.id] as string, mailboxAddress: r[C.mailbox_address] as string, providerOrgNumber: r[C.provider_org_number] as string, certificate: text(r, C.certificate) };

/** All ids of a batch as one JSON array parameter: one prepared statement serves every batch size. */
const IN_BATCH = '(select value from json_each(?))';

/**
 * Batch reads of the person aggregate, ONE SQL statement whatever the number of ids, from
 * the read model `person_lookup` (one row per person, WITHOUT ROWID: one index probe per
 * id; the duplicate flags kept there at write time, see db/schema.ts). Results come back
 * in key order, with `null` (or an empty list) for ids that have no row: the DataLoader
 * contract. Plain prepared SQL with the rows mapped by hand: Drizzle's generic row mapping
 * cost about as much as the queries themselves.
 */
export class SqlitePersonReads {
  private readonly byId: Statement<[string], LookupRow>;
  /** The same person rows in change-number order; reached through `Loaders.changePage`. */
  readonly changeFeed: SqliteChangeFeed;

  constructor(store: SqliteDatabase) {
    this.changeFeed = new SqliteChangeFeed(store.db);
    this.byId = store.sqlite.prepare<[string], LookupRow>(`select ${LOOKUP_COLUMNS.join(', ')} from person_lookup where id in ${IN_BATCH}`).raw(true);
  }

  private read(ids: readonly string[]): Map<string, LookupRow> {
    const byId = new Map<string, LookupRow>();
    for (const raw of this.byId.all(JSON.stringify(ids))) byId.set(raw[C.id] as string, raw);
    return byId;
  }

  entries(ids: readonly string[]): (PersonEntry | null)[] {
    const byId = this.read(ids);
    return ids.map((id) => {
      const r = byId.get(id);
      return r ? { row: toPersonRow(r), contactPoints: contactPointsOf(r), digitalPost: digitalPostOf(r) } : null;
    });
  }

  people(ids: readonly string[]): (PersonRow | null)[] {
    const byId = this.read(ids);
    return ids.map((id) => {
      const r = byId.get(id);
      return r ? toPersonRow(r) : null;
    });
  }

  contactPoints(personIds: readonly string[]): ContactPointWithDuplicate[][] {
    const byId = this.read(personIds);
    return personIds.map((id) => {
      const r = byId.get(id);
      return r ? contactPointsOf(r) : [];
    });
  }

  digitalPost(personIds: readonly string[]): (DigitalPostRow | null)[] {
    const byId = this.read(personIds);
    return personIds.map((id) => {
      const r = byId.get(id);
      return r ? digitalPostOf(r) : null;
    });
  }
}
