import { getTableColumns, sql } from 'drizzle-orm';
import { contactPoint, digitalPost, person, type ContactPointRow, type DigitalPostRow, type PersonRow } from '../../db/schema';
import { ChangeFeedStore } from './change-feed.store';
import type { Db } from './database';

export interface ContactPointWithDuplicate extends ContactPointRow {
  /** `_duplisert`: another active person has the same address on the same channel. */
  duplicated: boolean;
}

/**
 * Batch reads of the person aggregate, one SQL statement per table whatever the number of
 * ids. The ids travel as one JSON array parameter (`json_each`), so each statement is
 * prepared once and reused for batches of any size. Results come back in key order, with
 * `null` (or an empty list) for ids that have no row: the DataLoader contract.
 */
export class PersonStore {
  private readonly peopleById;
  private readonly contactPointsByPerson;
  private readonly digitalPostByPerson;
  /** The same person rows in change-number order; reached through `Loaders.changePage`. */
  readonly changeFeed: ChangeFeedStore;

  constructor(db: Db) {
    this.changeFeed = new ChangeFeedStore(db);
    const ids = sql`(select value from json_each(${sql.placeholder('ids')}))`;
    this.peopleById = db
      .select()
      .from(person)
      .where(sql`${person.id} in ${ids}`)
      .prepare();
    this.contactPointsByPerson = db
      .select({
        ...getTableColumns(contactPoint),
        // Written out in SQL: Drizzle renders columns unqualified here, and inside the
        // subquery an unqualified name would bind to the inner table.
        duplicated: sql<number>`exists (
          select 1 from contact_point other join person other_person on other_person.id = other.person_id
          where other.channel = contact_point.channel and other.address_key = contact_point.address_key
            and other.person_id <> contact_point.person_id and other_person.status = 'ACTIVE')`,
      })
      .from(contactPoint)
      .where(sql`${contactPoint.personId} in ${ids}`)
      .prepare();
    this.digitalPostByPerson = db
      .select()
      .from(digitalPost)
      .where(sql`${digitalPost.personId} in ${ids}`)
      .prepare();
  }

  people(ids: readonly string[]): (PersonRow | null)[] {
    const rows = this.peopleById.all({ ids: JSON.stringify(ids) });
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  contactPoints(personIds: readonly string[]): ContactPointWithDuplicate[][] {
    const rows = this.contactPointsByPerson.all({ ids: JSON.stringify(personIds) });
    const byPerson = new Map<string, ContactPointWithDuplicate[]>();
    for (const row of rows) {
      const point = { ...row, duplicated: Boolean(row.duplicated) };
      const list = byPerson.get(row.personId);
      if (list) list.push(point);
      else byPerson.set(row.personId, [point]);
    }
    return personIds.map((id) => byPerson.get(id) ?? []);
  }

  digitalPost(personIds: readonly string[]): (DigitalPostRow | null)[] {
    const rows = this.digitalPostByPerson.all({ ids: JSON.stringify(personIds) });
    const byPerson = new Map(rows.map((row) => [row.personId, row]));
    return personIds.map((id) => byPerson.get(id) ?? null);
  }
}
