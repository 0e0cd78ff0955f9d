import type pg from 'pg';
import { type NewestSegment, personScopes, scopeList, segmentForBatch } from '../audit-record';
import type { LookupEntry, LookupLog, LookupRecord, StatementCounter } from '../types';
import { CountingClient, inTransaction } from './executor';

/**
 * A whole batch of requests, from any number of callers, in one statement: one row per
 * request (the ids as one text[] each, sent as a JSON array of arrays, as node-postgres
 * cannot bind an array of arrays of different lengths). Autocommit: one round trip, one WAL flush.
 */
const INSERT_REQUESTS: pg.QueryConfig = {
  name: 'krr-record-lookups',
  text: `insert into lookup_request (looked_up_at, agency_org_number, supplier_org_number, scopes, person_ids, person_scopes)
    select r.at, r.agency, r.supplier, r.scopes, array(select jsonb_array_elements_text(r.ids)), r.per_person
    from jsonb_to_recordset($1::jsonb) as r(at timestamptz, agency text, supplier text, scopes text, ids jsonb, per_person jsonb)`,
};

/**
 * A person's entries, newest first: the indexed ones (one probe of `lookup_person`'s key per
 * segment, from the oldest to the newest that holds rows: the ends of the key, so the reads
 * take no decision of retention's) and the not-yet-indexed requests straight from the log.
 */
const ENTRIES = `
  select r.id, lp.person_id as "personId", r.agency_org_number as "agencyOrgNumber", r.supplier_org_number as "supplierOrgNumber",
    r.looked_up_at as "lookedUpAt", coalesce(lp.scopes, r.scopes) as scopes
  from lookup_person lp join lookup_request r on r.id = lp.request_id
  where lp.segment = any (array(select generate_series(e.first, e.last) from (select min(segment) as first, max(segment) as last from lookup_person) e))
    and lp.person_id = $1 and lp.request_id < $2
  union all
  select r.id, $1, r.agency_org_number, r.supplier_org_number, r.looked_up_at, coalesce(r.person_scopes ->> $1, r.scopes)
  from lookup_request r
  where r.segment is null and r.id < $2 and $1 = any (r.person_ids)`;

const LOOKUPS_OF: pg.QueryConfig = { name: 'krr-lookups-of', text: `${ENTRIES} order by 1 desc limit $3` };
const COUNT_LOOKUPS_OF: pg.QueryConfig = { name: 'krr-count-lookups-of', text: `select count(*)::int as n from (${ENTRIES}) e` };

/** The newest segment, locked: the indexers of several replicas take turns on it. */
const NEWEST_SEGMENT: pg.QueryConfig = {
  name: 'krr-newest-segment',
  text: 'select segment, rows from lookup_segment order by segment desc limit 1 for update',
};

/**
 * Opens segment $1. Two indexers that found the same segment full both open the next one:
 * the second's insert is a no-op, and both write into it.
 */
const OPEN_SEGMENT: pg.QueryConfig = {
  name: 'krr-open-segment',
  text: 'insert into lookup_segment (segment, rows) values ($1, 0) on conflict (segment) do nothing',
};

/**
 * Derives `lookup_person` for up to $1 unindexed requests, oldest first, into segment $2,
 * marks them with it and counts the segment's new rows, in one statement. `skip locked`:
 * indexers of several replicas take different requests instead of waiting for each other.
 */
const INDEX_PENDING: pg.QueryConfig = {
  name: 'krr-index-lookups',
  text: `with batch as (
      update lookup_request set segment = $2
      where id in (select id from lookup_request where segment is null order by id limit $1 for update skip locked)
      returning id, person_ids, person_scopes
    ), derived as (
      insert into lookup_person (segment, person_id, request_id, scopes)
      select $2, p.id, b.id, b.person_scopes ->> p.id from batch b, unnest(b.person_ids) as p(id)
      order by 2, 3
      on conflict do nothing
      returning 1
    ), grown as (
      update lookup_segment set rows = rows + (select count(*) from derived) where segment = $2
    )
    select count(*)::int as n from batch`,
};

/**
 * Deletes up to $2 of the indexed requests made before $1, oldest by time first (by
 * `lookup_request_at_idx`: ids come out of time order across replicas and clocks), with
 * their `lookup_person` rows.
 */
const DELETE_EXPIRED: pg.QueryConfig = {
  name: 'krr-delete-expired-lookups',
  text: `with old as (
      select id, segment, person_ids from lookup_request
      where id in (select id from lookup_request where segment is not null and looked_up_at < $1 order by looked_up_at limit $2)
      for update skip locked
    ), people as (
      delete from lookup_person lp using (select o.segment, o.id, p.id as person_id from old o, unnest(o.person_ids) as p(id)) g
      where lp.segment = g.segment and lp.person_id = g.person_id and lp.request_id = g.id
    ), gone as (
      delete from lookup_request where id in (select id from old) returning 1
    )
    select count(*)::int as n from gone`,
};

/**
 * The counts of segments older than every row left: the indexer writes only into the
 * newest, so none of them is written again. A statement of its own: a data-modifying CTE
 * beside the deletes would not see them.
 */
const DELETE_EMPTY_SEGMENTS: pg.QueryConfig = {
  name: 'krr-delete-empty-segments',
  text: 'delete from lookup_segment where segment < (select min(segment) from lookup_person)',
};

/** Requests per indexing statement, and per retention statement. */
const INDEX_BATCH = 50;
const DELETE_BATCH = 20;

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
    const rows = batch.map(({ record: r }) => {
      const scopes = scopeList(r.scopes);
      return { at: r.at.toISOString(), agency: r.agencyOrgNumber, supplier: r.supplierOrgNumber ?? null, scopes, ids: r.personIds, per_person: personScopes(r, scopes) };
    });
    await this.q.query(INSERT_REQUESTS, [JSON.stringify(rows)]);
  }
}

/**
 * The audit log's background work on PostgreSQL (see `RegisterStore.startAuditMaintenance`):
 * indexing and retention, each a single statement, on the store's pool. The indexer's
 * commits need no WAL flush of their own (`synchronous_commit = off` for its
 * transaction): what it derives is marked in the same transaction, so a crash loses both
 * and the next run derives them again.
 */
export class LookupMaintenance {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;

  constructor(
    private readonly pool: pg.Pool,
    private readonly statements: StatementCounter,
  ) {}

  /** Indexes up to `maxRequests` unindexed requests. Returns how many it indexed. */
  indexPending(maxRequests = INDEX_BATCH): Promise<number> {
    return inTransaction(this.pool, [this.statements], 'read committed', async ({ q }) => {
      await q.query('set local synchronous_commit = off');
      const newest = await q.query<NewestSegment>(NEWEST_SEGMENT);
      const { segment, opens } = segmentForBatch(newest.rows[0]);
      if (opens) await q.query(OPEN_SEGMENT, [segment]);
      const { rows } = await q.query<{ n: number }>(INDEX_PENDING, [maxRequests, segment]);
      return rows[0]?.n ?? 0;
    });
  }

  /** Deletes up to `maxRequests` of the oldest indexed requests made before `cutoff`. */
  async deleteExpired(cutoff: Date, maxRequests = DELETE_BATCH): Promise<number> {
    return inTransaction(this.pool, [this.statements], 'read committed', async ({ q }) => {
      const { rows } = await q.query<{ n: number }>(DELETE_EXPIRED, [cutoff.toISOString(), maxRequests]);
      const deleted = rows[0]?.n ?? 0;
      if (deleted > 0) await q.query(DELETE_EMPTY_SEGMENTS);
      return deleted;
    });
  }

  start(retentionDays: number, everyMs = 1000, onError: (error: unknown) => void = () => {}): void {
    this.stop();
    const tick = async () => {
      for (let i = 0; i < 20 && (await this.indexPending()) > 0; i++);
      if (retentionDays > 0) {
        const cutoff = new Date(Date.now() - retentionDays * 86_400_000);
        for (let i = 0; i < 5 && (await this.deleteExpired(cutoff)) > 0; i++);
      }
    };
    const run = () => {
      if (this.running) return;
      this.running = tick()
        .catch(onError)
        .finally(() => (this.running = undefined));
    };
    run();
    this.timer = setInterval(run, everyMs);
    this.timer.unref();
  }

  /** Stops the timer and waits for a round in progress. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}

/** A request's view of the lookup log: its reads count into its counter; `record` joins the shared group commit. */
export class PgLookupLog implements LookupLog {
  private readonly q: CountingClient;

  constructor(
    private readonly group: GroupCommitLookups,
    pool: pg.Pool,
    counters: readonly StatementCounter[],
  ) {
    this.q = new CountingClient(pool, counters);
  }

  record(record: LookupRecord): Promise<void> {
    return this.group.record(record);
  }

  async lookupsOf(personId: string, limit: number, beforeId?: number): Promise<LookupEntry[]> {
    const { rows } = await this.q.query<LookupEntry>(LOOKUPS_OF, [personId, beforeId ?? Number.MAX_SAFE_INTEGER, limit]);
    return rows;
  }

  async countLookupsOf(personId: string): Promise<number> {
    const { rows } = await this.q.query<{ n: number }>(COUNT_LOOKUPS_OF, [personId, Number.MAX_SAFE_INTEGER]);
    return rows[0]?.n ?? 0;
  }
}
