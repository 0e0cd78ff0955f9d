import type { Statement } from 'better-sqlite3';
import { type NewestSegment, personScopes, scopeList, segmentForBatch } from '../audit-record';
import type { LookupEntry, LookupRecord } from '../types';
import type { SqliteDatabase } from './connection';

interface RawEntry {
  id: number;
  person_id: string;
  agency_org_number: string;
  supplier_org_number: string | null;
  looked_up_at: number;
  scopes: string;
}

/** Requests per indexing transaction: about 50 000 person rows, a few tens of ms. */
const INDEX_BATCH = 50;
/** Requests per retention transaction: short, so lookups never wait long for the write lock. */
const DELETE_BATCH = 20;

/**
 * A person's entries, newest first: the indexed ones (one probe of `lookup_person`'s key per
 * segment, segments that begin after `$before` skipped) and the not-yet-indexed tail of the log.
 */
const ENTRIES = `
  select r.id, lp.person_id, r.agency_org_number, r.supplier_org_number, r.looked_up_at, coalesce(lp.scopes, r.scopes) as scopes
  from lookup_segment s cross join lookup_person lp cross join lookup_request r
  where s.first_request < $before and lp.segment = s.segment and lp.person_id = $person and lp.request_id < $before and r.id = lp.request_id
  union all
  select r.id, j.value, r.agency_org_number, r.supplier_org_number, r.looked_up_at,
    coalesce(json_extract(r.person_scopes, '$."' || j.value || '"'), r.scopes)
  from lookup_request r, json_each(r.person_ids) j
  where r.id > (select indexed_through from lookup_index_state where id = 1) and r.id < $before and j.value = $person`;

/**
 * The lookup audit log on SQLite, as an append (db/schema.ts, `lookup_request`).
 *
 * - `record`: one row per request, group-committed: the requests that arrive in the same
 *   turn of the event loop share one fsynced transaction (synchronous=FULL).
 * - `indexPending`: derives `lookup_person` for the requests after `lookup_index_state`,
 *   into the newest segment (`lookup_segment`; a new one once it is full:
 *   `segmentForBatch`), sorted by (person, request) so the rows go into the WITHOUT ROWID
 *   key in order, and moves the mark, in one transaction. Not fsynced on its own (synchronous=NORMAL for it):
 *   it is derived, and a crash that loses it loses the mark with it, so the next run
 *   derives those requests again. Runs on a timer (`startMaintenance`) and at start.
 * - `deleteExpired`: retention, oldest requests first, a few per transaction.
 * - reads: the index, plus the not-yet-indexed tail straight from the log, so a citizen
 *   sees every committed lookup whether the indexer has caught up or not.
 */
export class SqliteLookupLog {
  private readonly insertRequest: Statement;
  private readonly mark: Statement<[], { n: number }>;
  private readonly pending: Statement<[number, number], { last: number | null; n: number }>;
  private readonly indexRange: Statement<[number, number, number]>;
  private readonly newestSegment: Statement<[], NewestSegment>;
  private readonly openSegment: Statement<[number, number, number]>;
  private readonly growSegment: Statement<[number, number, number]>;
  private readonly deleteSegments: Statement<[]>;
  private readonly markIndexed: Statement<[number]>;
  private readonly oldest: Statement<[number, number], { id: number }>;
  private readonly deletePeople: Statement<[string]>;
  private readonly deleteRequests: Statement<[string]>;
  private readonly entries: Statement<{ person: string; before: number; limit: number }, RawEntry>;
  private readonly countEntries: Statement<{ person: string; before: number }, { n: number }>;
  private readonly sqlite: SqliteDatabase['sqlite'];
  private queue: { record: LookupRecord; done: (error?: unknown) => void }[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(store: SqliteDatabase) {
    const sqlite = (this.sqlite = store.sqlite);
    this.insertRequest = sqlite.prepare(
      `insert into lookup_request (looked_up_at, agency_org_number, supplier_org_number, scopes, person_ids, person_scopes) values (?, ?, ?, ?, ?, ?)`,
    );
    this.mark = sqlite.prepare('select indexed_through as n from lookup_index_state where id = 1');
    this.pending = sqlite.prepare('select max(id) as last, count(*) as n from (select id from lookup_request where id > ? order by id limit ?)');
    this.indexRange = sqlite.prepare(
      `insert or ignore into lookup_person (segment, person_id, request_id, scopes)
       select ?, j.value, r.id, json_extract(r.person_scopes, '$."' || j.value || '"')
       from lookup_request r, json_each(r.person_ids) j
       where r.id > ? and r.id <= ?
       order by j.value, r.id`,
    );
    this.newestSegment = sqlite.prepare('select segment, rows from lookup_segment order by segment desc limit 1');
    this.openSegment = sqlite.prepare('insert into lookup_segment (segment, first_request, last_request, rows) values (?, ?, ?, 0)');
    this.growSegment = sqlite.prepare('update lookup_segment set last_request = ?, rows = rows + ? where segment = ?');
    this.markIndexed = sqlite.prepare('update lookup_index_state set indexed_through = ? where id = 1');
    // The oldest indexed requests by time (lookup_request_at_idx), not by id: a clock stepped back puts an older time after a newer one.
    this.oldest = sqlite.prepare(
      'select id from lookup_request where looked_up_at < ? and id <= (select indexed_through from lookup_index_state where id = 1) order by looked_up_at limit ?',
    );
    // A request's segment is the newest that begins at or before it (segments are runs of ids).
    this.deletePeople = sqlite.prepare(
      `delete from lookup_person where (segment, person_id, request_id) in (
         select (select max(s.segment) from lookup_segment s where s.first_request <= r.id), j.value, r.id
         from lookup_request r, json_each(r.person_ids) j where r.id in (select value from json_each(?)))`,
    );
    // Segments older than every row left: the indexer writes only into the newest, so none of them is written again.
    this.deleteSegments = sqlite.prepare('delete from lookup_segment where segment < (select min(segment) from lookup_person)');
    this.deleteRequests = sqlite.prepare('delete from lookup_request where id in (select value from json_each(?))');
    this.entries = sqlite.prepare(`${ENTRIES} order by 1 desc limit $limit`);
    this.countEntries = sqlite.prepare(`select count(*) as n from (${ENTRIES})`);
  }

  /**
   * Records one request's lookups durably: resolves once committed (and fsynced), rejects
   * if they could not be. Group commit: the requests that arrive in the same turn of the
   * event loop are written in one transaction, one row each.
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
        for (const { record: r } of batch) {
          const scopes = scopeList(r.scopes);
          const perPerson = personScopes(r, scopes);
          this.insertRequest.run(r.at.getTime(), r.agencyOrgNumber, r.supplierOrgNumber ?? null, scopes, JSON.stringify(r.personIds), perPerson && JSON.stringify(perPerson));
        }
      })();
    } catch (error) {
      for (const entry of batch) entry.done(error);
      return;
    }
    for (const entry of batch) entry.done();
  }

  /** Derives `lookup_person` for up to `maxRequests` requests after the mark. Returns how many requests it indexed. */
  indexPending(maxRequests = INDEX_BATCH): number {
    return this.relaxed(() =>
      this.sqlite
        .transaction(() => {
          const mark = this.mark.get()?.n ?? 0;
          const pending = this.pending.get(mark, maxRequests);
          if (!pending || pending.last === null) return 0;
          const { segment, opens } = segmentForBatch(this.newestSegment.get());
          if (opens) this.openSegment.run(segment, mark + 1, mark + 1);
          const rows = this.indexRange.run(segment, mark, pending.last).changes;
          this.growSegment.run(pending.last, rows, segment);
          this.markIndexed.run(pending.last);
          return pending.n;
        })
        .immediate(),
    );
  }

  /** Indexes until nothing is pending. */
  indexAll(): void {
    while (this.indexPending() > 0);
  }

  /**
   * Deletes up to `maxRequests` of the oldest indexed requests made before `cutoff`, with
   * their `lookup_person` rows, in one transaction. Returns how many requests it deleted.
   */
  deleteExpired(cutoff: Date, maxRequests = DELETE_BATCH): number {
    return this.relaxed(() =>
      this.sqlite
        .transaction(() => {
          const ids = this.oldest.all(cutoff.getTime(), maxRequests);
          if (ids.length === 0) return 0;
          const chosen = JSON.stringify(ids.map((r) => r.id));
          this.deletePeople.run(chosen);
          const deleted = this.deleteRequests.run(chosen).changes;
          if (deleted > 0) this.deleteSegments.run();
          return deleted;
        })
        .immediate(),
    );
  }

  /**
   * Indexes every second and deletes expired records (older than `retentionDays`; 0: never)
   * in small batches, on timers that do not keep the process alive. Catches up first.
   */
  startMaintenance(retentionDays: number, everyMs = 1000, onError: (error: unknown) => void = () => {}): void {
    this.stopMaintenance();
    const tick = () => {
      try {
        for (let i = 0; i < 20 && this.indexPending() > 0; i++);
        if (retentionDays > 0) {
          const cutoff = new Date(Date.now() - retentionDays * 86_400_000);
          for (let i = 0; i < 5 && this.deleteExpired(cutoff) > 0; i++);
        }
      } catch (error) {
        onError(error);
      }
    };
    tick();
    this.timer = setInterval(tick, everyMs);
    this.timer.unref();
  }

  stopMaintenance(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Runs a derived-data transaction without an fsync of its own (WAL keeps it atomic; a crash undoes it whole). */
  private relaxed<T>(fn: () => T): T {
    this.sqlite.pragma('synchronous = NORMAL');
    try {
      return fn();
    } finally {
      this.sqlite.pragma('synchronous = FULL');
    }
  }

  /** The newest lookups of a person first; `beforeId` pages back in time. */
  lookupsOf(personId: string, limit: number, beforeId?: number): LookupEntry[] {
    return this.entries.all({ person: personId, before: beforeId ?? Number.MAX_SAFE_INTEGER, limit }).map((r) => ({
      id: r.id,
      personId: r.person_id,
      agencyOrgNumber: r.agency_org_number,
      supplierOrgNumber: r.supplier_org_number,
      lookedUpAt: new Date(r.looked_up_at),
      scopes: r.scopes,
    }));
  }

  countLookupsOf(personId: string): number {
    return this.countEntries.get({ person: personId, before: Number.MAX_SAFE_INTEGER })?.n ?? 0;
  }
}
