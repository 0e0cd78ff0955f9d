import type { Statement } from 'better-sqlite3';
import { getTableColumns } from 'drizzle-orm';
import { personLookup } from '../../../db/schema';
import type { ContactPointWithDuplicate, DigitalPostRow, PersonEntry, PersonRow } from '../types';
import { SqliteChangeFeed } from './change-feed';
import type { SqliteDatabase } from './connection';
import { instantFromMillis } from '../../domain/instant';

/**
 * `person_lookup`'s columns (db/schema.ts), all of them, in the order the reads select them:
 * rows come back as arrays (`raw`), which better-sqlite3 builds in half the time of objects
 * with 24 named properties each (measured: 1000 rows, 11 ms against 24 ms).
 */
const LOOKUP_COLUMNS = getTableColumns(personLookup);
type LookupColumn = keyof typeof LOOKUP_COLUMNS;
const COLUMN_KEYS = Object.keys(LOOKUP_COLUMNS) as LookupColumn[];
/** Where each column's value is in a row. */
const C = Object.fromEntries(COLUMN_KEYS.map((column, i) => [column, i])) as Record<LookupColumn, number>;
/**
 * What is selected for each column: the column itself, but for the certificate's number,
 * whose place in the row holds its value (one probe of the few `certificate` rows, by key).
 */
const SELECTED = COLUMN_KEYS.map((key) =>
  key === 'certificateId' ? '(select c.value from certificate c where c.id = person_lookup.certificate_id)' : LOOKUP_COLUMNS[key].name,
);

/** A `person_lookup` row as SQLite returns it: `C` says which value is where. */
type LookupRow = readonly (string | number | null)[];

const date = (ms: string | number | null): Date | null => instantFromMillis(ms as number | null);
const text = (r: LookupRow, i: number) => r[i] as string | null;

function toPersonRow(r: LookupRow): PersonRow {
  return {
    id: r[C.id] as string,
    status: r[C.status] as PersonRow['status'],
    reserved: r[C.reserved] === 1,
    reservedAt: date(r[C.reservedAt]),
    reservationUpdatedAt: date(r[C.reservationUpdatedAt]),
    language: r[C.language] as PersonRow['language'],
    languageUpdatedAt: date(r[C.languageUpdatedAt]),
    updatedAt: new Date(r[C.updatedAt] as number),
    changeNumber: r[C.changeNumber] as number,
  };
}

const CHANNEL_COLUMNS = [
  { channel: 'EMAIL', address: C.emailAddress, key: C.emailAddressKey, updated: C.emailUpdatedAt, verified: C.emailLastVerifiedAt, validated: C.emailLastValidatedAt, duplicated: C.emailDuplicated },
  { channel: 'MOBILE', address: C.mobileAddress, key: C.mobileAddressKey, updated: C.mobileUpdatedAt, verified: C.mobileLastVerifiedAt, validated: C.mobileLastValidatedAt, duplicated: C.mobileDuplicated },
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
  r[C.mailboxAddress] === null
    ? null
    : { personId: r[C.id] as string, mailboxAddress: r[C.mailboxAddress] as string, providerOrgNumber: r[C.providerOrgNumber] as string, certificate: text(r, C.certificateId) };

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
    this.byId = store.sqlite.prepare<[string], LookupRow>(`select ${SELECTED.join(', ')} from person_lookup where id in ${IN_BATCH}`).raw(true);
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
