import { and, count, desc, eq, lt } from 'drizzle-orm';
import type pg from 'pg';
import type { LookupAuditRow } from '../types';
import { lookupAudit } from '../../../db/schema.pg';
import type { LookupLog, LookupRecord, StatementCounter } from '../types';
import { CountingClient, drizzleOn, type Drizzle } from './executor';

/**
 * A whole batch of lookups, from any number of requests, in one statement: five parallel
 * arrays, one element per person looked up. Autocommit: one round trip, one WAL flush.
 */
const INSERT_LOOKUPS: pg.QueryConfig = {
  name: 'krr-record-lookups',
  text: `insert into lookup_audit (person_id, agency_org_number, supplier_org_number, looked_up_at, scopes)
    select * from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[])`,
};

interface Waiting {
  record: LookupRecord;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit of the lookup audit log, shared by every request of one store. `record()`
 * queues; one flush is in flight at a time, and records that arrive meanwhile wait for the
 * next flush, which takes them all (so batches grow with the load). A flush resolves every
 * record in it once committed, or rejects every one of them if the statement fails.
 *
 * The flush's statement counts into the store's counter only: a request's own counter is
 * charged one statement for its record by the caller, whoever's flush wrote it.
 */
export class GroupCommitLookups {
  private queue: Waiting[] = [];
  private flushing: Promise<void> | undefined;
  private scheduled = false;
  private readonly q: CountingClient;

  constructor(pool: pg.Pool, statements: StatementCounter) {
    this.q = new CountingClient(pool, [statements]);
  }

  record(record: LookupRecord): Promise<void> {
    if (record.personIds.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queue.push({ record, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything queued so far has been flushed (or has failed). */
  async drain(): Promise<void> {
    while (this.flushing || this.queue.length > 0 || this.scheduled) {
      if (this.flushing) await this.flushing;
      else await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** The first record waits one turn of the event loop, so the requests of that turn share its flush. */
  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private flush(): void {
    if (this.flushing || this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.flushing = this.write(batch).then(
      () => {
        for (const entry of batch) entry.resolve();
      },
      (error: unknown) => {
        for (const entry of batch) entry.reject(error);
      },
    );
    void this.flushing.finally(() => {
      this.flushing = undefined;
      // Whatever queued during this flush goes now, without waiting another turn.
      this.flush();
    });
  }

  private async write(batch: readonly Waiting[]): Promise<void> {
    const personIds: string[] = [];
    const agencies: string[] = [];
    const suppliers: (string | null)[] = [];
    const times: string[] = [];
    const scopes: string[] = [];
    for (const { record } of batch) {
      const at = record.at.toISOString();
      const scope = [...record.scopes].sort().join(' ');
      for (const id of record.personIds) {
        personIds.push(id);
        agencies.push(record.agencyOrgNumber);
        suppliers.push(record.supplierOrgNumber ?? null);
        times.push(at);
        scopes.push(scope);
      }
    }
    await this.q.query(INSERT_LOOKUPS, [personIds, agencies, suppliers, times, scopes]);
  }
}

/** A request's view of the lookup log: its reads count into its counter; `record` joins the shared group commit. */
export class PgLookupLog implements LookupLog {
  private db: Drizzle | undefined;

  constructor(
    private readonly group: GroupCommitLookups,
    private readonly pool: pg.Pool,
    private readonly counters: readonly StatementCounter[],
  ) {}

  record(record: LookupRecord): Promise<void> {
    return this.group.record(record);
  }

  private drizzle(): Drizzle {
    return (this.db ??= drizzleOn(new CountingClient(this.pool, this.counters)));
  }

  async lookupsOf(personId: string, limit: number, beforeId?: number): Promise<LookupAuditRow[]> {
    return this.drizzle()
      .select()
      .from(lookupAudit)
      .where(and(eq(lookupAudit.personId, personId), beforeId === undefined ? undefined : lt(lookupAudit.id, beforeId)))
      .orderBy(desc(lookupAudit.id))
      .limit(limit);
  }

  async countLookupsOf(personId: string): Promise<number> {
    const [row] = await this.drizzle().select({ n: count() }).from(lookupAudit).where(eq(lookupAudit.personId, personId));
    return row?.n ?? 0;
  }
}
