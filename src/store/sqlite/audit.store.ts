import { and, desc, eq, lt, sql } from 'drizzle-orm';
import { lookupAudit } from '../../../db/schema';
import type { LookupAuditRow } from '../types';
import type { LookupRecord } from '../types';
import type { Db, SqliteDatabase } from './database';

/** The lookup audit log: written once per agency request, read by the citizen looked up. */
export class AuditStore {
  private readonly insertLookups;
  private readonly db: Db;
  private readonly sqlite: SqliteDatabase['sqlite'];
  private queue: { record: LookupRecord; done: (error?: unknown) => void }[] = [];

  constructor(store: SqliteDatabase) {
    this.db = store.db;
    this.sqlite = store.sqlite;
    // One statement for the whole request, whatever the number of people. Plain SQL:
    // Drizzle has no insert ... select from json_each.
    this.insertLookups = store.sqlite.prepare(
      `insert into lookup_audit (person_id, agency_org_number, supplier_org_number, looked_up_at, scopes)
       select value, ?, ?, ?, ? from json_each(?)`,
    );
  }

  recordLookups(agencyOrgNumber: string, supplierOrgNumber: string | null, personIds: readonly string[], scopes: readonly string[], at: Date): void {
    if (personIds.length === 0) return;
    this.insertLookups.run(agencyOrgNumber, supplierOrgNumber, at.getTime(), [...scopes].sort().join(' '), JSON.stringify(personIds));
  }

  /**
   * Records one request's lookups durably: resolves once they are committed (and fsynced),
   * rejects if they could not be. Group commit: the requests that arrive in the same turn
   * of the event loop are written in one transaction, one statement each, so concurrent
   * lookups share one fsync instead of queueing for one each.
   */
  record(record: LookupRecord): Promise<void> {
    if (record.personIds.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      if (this.queue.length === 0) setImmediate(() => this.flush());
      this.queue.push({ record, done: (error) => (error === undefined ? resolve() : reject(error)) });
    });
  }

  private flush(): void {
    const batch = this.queue;
    this.queue = [];
    try {
      this.sqlite.transaction(() => {
        for (const { record: r } of batch) this.recordLookups(r.agencyOrgNumber, r.supplierOrgNumber ?? null, r.personIds, r.scopes, r.at);
      })();
    } catch (error) {
      for (const entry of batch) entry.done(error);
      return;
    }
    for (const entry of batch) entry.done();
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
