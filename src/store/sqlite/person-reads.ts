import type { Statement } from 'better-sqlite3';
import type { ContactPointWithDuplicate, DigitalPostRow, PersonEntry, PersonRow } from '../types';
import { SqliteChangeFeed } from './change-feed';
import type { SqliteDatabase } from './connection';

/** The columns of `person` as SQLite returns them. */
export interface RawPerson {
  id: string;
  status: 'ACTIVE' | 'DELETED';
  reserved: number;
  reserved_at: number | null;
  reservation_updated_at: number | null;
  language: PersonRow['language'];
  language_updated_at: number | null;
  updated_at: number;
  change_number: number;
}

const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));

export function toPersonRow(r: RawPerson): PersonRow {
  return {
    id: r.id,
    status: r.status,
    reserved: r.reserved === 1,
    reservedAt: date(r.reserved_at),
    reservationUpdatedAt: date(r.reservation_updated_at),
    language: r.language,
    languageUpdatedAt: date(r.language_updated_at),
    updatedAt: new Date(r.updated_at),
    changeNumber: r.change_number,
  };
}

/** A row of `person_lookup` as SQLite returns it. */
interface RawLookup extends RawPerson {
  email_address: string | null;
  email_address_key: string | null;
  email_updated_at: number | null;
  email_last_verified_at: number | null;
  email_last_validated_at: number | null;
  email_duplicated: number | null;
  mobile_address: string | null;
  mobile_address_key: string | null;
  mobile_updated_at: number | null;
  mobile_last_verified_at: number | null;
  mobile_last_validated_at: number | null;
  mobile_duplicated: number | null;
  mailbox_address: string | null;
  provider_org_number: string | null;
  certificate: string | null;
}

function contactPointsOf(r: RawLookup): ContactPointWithDuplicate[] {
  const points: ContactPointWithDuplicate[] = [];
  if (r.email_address !== null) {
    points.push({
      personId: r.id,
      channel: 'EMAIL',
      address: r.email_address,
      addressKey: r.email_address_key!,
      updatedAt: new Date(r.email_updated_at!),
      lastVerifiedAt: date(r.email_last_verified_at),
      lastValidatedAt: date(r.email_last_validated_at),
      duplicated: r.email_duplicated === 1,
    });
  }
  if (r.mobile_address !== null) {
    points.push({
      personId: r.id,
      channel: 'MOBILE',
      address: r.mobile_address,
      addressKey: r.mobile_address_key!,
      updatedAt: new Date(r.mobile_updated_at!),
      lastVerifiedAt: date(r.mobile_last_verified_at),
      lastValidatedAt: date(r.mobile_last_validated_at),
      duplicated: r.mobile_duplicated === 1,
    });
  }
  return points;
}

const digitalPostOf = (r: RawLookup): DigitalPostRow | null =>
  r.mailbox_address === null ? null : { personId: r.id, mailboxAddress: r.mailbox_address, providerOrgNumber: r.provider_org_number!, certificate: r.certificate };

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
  private readonly byId: Statement<[string], RawLookup>;
  /** The same person rows in change-number order; reached through `Loaders.changePage`. */
  readonly changeFeed: SqliteChangeFeed;

  constructor(store: SqliteDatabase) {
    this.changeFeed = new SqliteChangeFeed(store.db);
    this.byId = store.sqlite.prepare(`select * from person_lookup where id in ${IN_BATCH}`);
  }

  private read(ids: readonly string[]): Map<string, RawLookup> {
    const byId = new Map<string, RawLookup>();
    for (const raw of this.byId.all(JSON.stringify(ids))) byId.set(raw.id, raw);
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
