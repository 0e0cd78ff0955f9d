import type { Statement } from 'better-sqlite3';
import type { DigitalPostRow, PersonRow } from '../types';
import type { ContactPointWithDuplicate } from '../types';
import { ChangeFeedStore } from './change-feed.store';
import type { SqliteDatabase } from './database';

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

interface RawContactPoint {
  person_id: string;
  channel: 'EMAIL' | 'MOBILE';
  address: string;
  address_key: string;
  updated_at: number;
  last_verified_at: number | null;
  last_validated_at: number | null;
  duplicated: number;
}

interface RawDigitalPost {
  person_id: string;
  mailbox_address: string;
  provider_org_number: string;
  certificate: string | null;
}

/** All ids of a batch as one JSON array parameter: one prepared statement serves every batch size. */
const IN_BATCH = '(select value from json_each(?))';

/**
 * Batch reads of the person aggregate, one SQL statement per table whatever the number of
 * ids. Results come back in key order, with `null` (or an empty list) for ids that have no
 * row: the DataLoader contract.
 *
 * This is the hot path of every lookup, so it is plain prepared SQL over the tables Drizzle
 * declares (db/schema.ts), with the rows mapped by hand: Drizzle's generic row mapping
 * cost about as much as the queries themselves.
 */
export class PersonStore {
  private readonly peopleById: Statement<[string], RawPerson>;
  private readonly contactPointsByPerson: Statement<[string], RawContactPoint>;
  private readonly digitalPostByPerson: Statement<[string], RawDigitalPost>;
  /** The same person rows in change-number order; reached through `Loaders.changePage`. */
  readonly changeFeed: ChangeFeedStore;

  constructor(store: SqliteDatabase) {
    this.changeFeed = new ChangeFeedStore(store.db);
    const { sqlite } = store;
    this.peopleById = sqlite.prepare(`select * from person where id in ${IN_BATCH}`);
    this.contactPointsByPerson = sqlite.prepare(
      `select cp.*, exists (
         select 1 from contact_point other join person other_person on other_person.id = other.person_id
         where other.channel = cp.channel and other.address_key = cp.address_key
           and other.person_id <> cp.person_id and other_person.status = 'ACTIVE') as duplicated
       from contact_point cp where cp.person_id in ${IN_BATCH}`,
    );
    this.digitalPostByPerson = sqlite.prepare(`select * from digital_post where person_id in ${IN_BATCH}`);
  }

  people(ids: readonly string[]): (PersonRow | null)[] {
    const byId = new Map<string, PersonRow>();
    for (const raw of this.peopleById.all(JSON.stringify(ids))) byId.set(raw.id, toPersonRow(raw));
    return ids.map((id) => byId.get(id) ?? null);
  }

  contactPoints(personIds: readonly string[]): ContactPointWithDuplicate[][] {
    const byPerson = new Map<string, ContactPointWithDuplicate[]>();
    for (const r of this.contactPointsByPerson.all(JSON.stringify(personIds))) {
      const point: ContactPointWithDuplicate = {
        personId: r.person_id,
        channel: r.channel,
        address: r.address,
        addressKey: r.address_key,
        updatedAt: new Date(r.updated_at),
        lastVerifiedAt: date(r.last_verified_at),
        lastValidatedAt: date(r.last_validated_at),
        duplicated: r.duplicated === 1,
      };
      const list = byPerson.get(r.person_id);
      if (list) list.push(point);
      else byPerson.set(r.person_id, [point]);
    }
    return personIds.map((id) => byPerson.get(id) ?? []);
  }

  digitalPost(personIds: readonly string[]): (DigitalPostRow | null)[] {
    const byPerson = new Map<string, DigitalPostRow>();
    for (const r of this.digitalPostByPerson.all(JSON.stringify(personIds))) {
      byPerson.set(r.person_id, { personId: r.person_id, mailboxAddress: r.mailbox_address, providerOrgNumber: r.provider_org_number, certificate: r.certificate });
    }
    return personIds.map((id) => byPerson.get(id) ?? null);
  }
}
