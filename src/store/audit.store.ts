import { and, desc, eq, lt, sql } from 'drizzle-orm';
import { lookupAudit, type LookupAuditRow } from '../../db/schema';
import type { Db, Store } from './database';

/** The lookup audit log: written once per agency request, read by the citizen looked up. */
export class AuditStore {
  private readonly insertLookups;

  private readonly db: Db;

  constructor(store: Store) {
    this.db = store.db;
    // One statement for the whole request, whatever the number of people. Plain SQL:
    // Drizzle has no insert ... select from json_each.
    this.insertLookups = store.sqlite.prepare(
      `insert into lookup_audit (person_id, agency_org_number, looked_up_at, scopes)
       select value, ?, ?, ? from json_each(?)`,
    );
  }

  recordLookups(agencyOrgNumber: string, personIds: readonly string[], scopes: readonly string[], at: Date): void {
    if (personIds.length === 0) return;
    this.insertLookups.run(agencyOrgNumber, at.getTime(), [...scopes].sort().join(' '), JSON.stringify(personIds));
  }

  /** The newest lookups of a person first; `beforeId` pages back in time. */
  lookupsOf(personId: string, limit: number, beforeId?: number): LookupAuditRow[] {
    return this.db
      .select()
      .from(lookupAudit)
      .where(and(eq(lookupAudit.personId, personId), beforeId === undefined ? undefined : lt(lookupAudit.id, beforeId)))
      .orderBy(desc(lookupAudit.id))
      .limit(limit)
      .all();
  }

  countLookupsOf(personId: string): number {
    return this.db.select({ n: sql<number>`count(*)` }).from(lookupAudit).where(eq(lookupAudit.personId, personId)).get()?.n ?? 0;
  }
}
