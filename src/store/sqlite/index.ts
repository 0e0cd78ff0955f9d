/**
 * The SQLite store (better-sqlite3), the embedded default: `RegisterStore` over one database
 * file. better-sqlite3 is synchronous, so every method runs its SQL (and its transaction)
 * to the end before it returns its promise: SQLite keeps its exact semantics, and the
 * asynchronous interface costs one resolved promise per call.
 */
import { sql } from 'drizzle-orm';
import { RateLimiterMemory, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { person, upstreamSync } from '../../../db/schema';
import { seedPopulation } from '../../../db/seed/seed';
import type { ChangeKind } from '../../domain/change-kind';
import { UpstreamMismatchError, type BulkImport, type FollowerLock, type PersonRecord, type RegisterStore, type RequestStore, type SeedOptions, type StatementCounter, type UpstreamPage, type UpstreamPosition } from '../types';
import { SqliteLookupLog } from './lookup-log';
import { StagingRows } from '../bulk-rows';
import { createStaging, dropStaging, replaceStagedPeople, Stager, startSqliteBulkImport } from './bulk-import';
import { SqliteCitizenWrites } from './citizen-writes';
import { countingInto, openSqliteDatabase, type Db, type SqliteDatabase } from './connection';
import { countPeople, replacePerson, syntheticSampleIds } from './person-writer';
import { SqlitePersonReads } from './person-reads';

/** The follower's page staging table (temp database of the store's connection; the import's is `import_staging`). */
const PAGE_STAGING = 'upstream_staging';

export class SqliteRegisterStore implements RegisterStore {
  readonly kind = 'sqlite' as const;
  readonly location: string;
  /** The raw connection and Drizzle over it: for SQLite-only tools (bulk seeder, benchmark, tests). */
  readonly sqlite: SqliteDatabase['sqlite'];
  readonly db: Db;
  private readonly reads: SqlitePersonReads;
  private readonly audit: SqliteLookupLog;
  private readonly registered;

  constructor(private readonly database: SqliteDatabase) {
    this.location = database.sqlite.name;
    this.sqlite = database.sqlite;
    this.db = database.db;
    this.reads = new SqlitePersonReads(database);
    this.audit = new SqliteLookupLog(database);
    this.registered = database.sqlite.prepare<[string], { id: string }>('select id from person where id in (select value from json_each(?))');
  }

  get statements(): StatementCounter {
    return this.database.statements;
  }

  /** One file: every read sees every committed write, so there is nothing to route. */
  forRequest(counter: StatementCounter): RequestStore {
    const measure = countingInto(this.database, counter);
    const { reads, audit } = this;
    return {
      people: {
        entries: async (ids) => measure(() => reads.entries(ids)),
        people: async (ids) => measure(() => reads.people(ids)),
        contactPoints: async (ids) => measure(() => reads.contactPoints(ids)),
        digitalPost: async (ids) => measure(() => reads.digitalPost(ids)),
        changePage: async (after, limit) => measure(() => reads.changeFeed.page(after, limit)),
      },
      citizen: new SqliteCitizenWrites(this.db, measure),
      lookups: {
        // Counted by the caller: its statement runs in a shared group commit.
        record: (record) => audit.record(record),
        lookupsOf: async (personId, limit, beforeId) => measure(() => audit.lookupsOf(personId, limit, beforeId)),
        countLookupsOf: async (personId) => measure(() => audit.countLookupsOf(personId)),
      },
    };
  }

  async replacePeople(records: readonly PersonRecord[], kind: ChangeKind, at: Date): Promise<number[]> {
    return this.db.transaction((tx) => records.map((record) => replacePerson(tx, record, kind, at)), { behavior: 'immediate' });
  }

  async upstreamPosition(): Promise<UpstreamPosition | null> {
    const row = this.db.select().from(upstreamSync).get();
    return row ? { upstream: row.upstream, position: row.position, latest: row.latest, lastSuccessAt: row.lastSuccessAt } : null;
  }

  /**
   * BEGIN IMMEDIATE: the position is checked under the write lock it is then moved under.
   * The page is written set-based, as the bulk import commits (`replaceStagedPeople`): staged
   * in a temp table of this connection, then a handful of statements, not a handful per person.
   */
  async applyUpstreamPage(page: UpstreamPage): Promise<boolean> {
    return this.db.transaction(
      (tx) => {
        const row = tx.select().from(upstreamSync).get();
        if (row && row.upstream !== page.upstream) throw new UpstreamMismatchError(`this copy follows ${row.upstream}, not ${page.upstream}`);
        if (row && row.position !== page.after) return false;
        if (page.records.length > 0) {
          createStaging(this.sqlite, PAGE_STAGING);
          new Stager(this.sqlite, PAGE_STAGING).stage(new StagingRows().batch(page.records));
          replaceStagedPeople(this.sqlite, PAGE_STAGING, 'UPSTREAM', page.at);
          dropStaging(this.sqlite, PAGE_STAGING);
        }
        const lastSuccessAt = page.to >= page.latest ? page.at : (row?.lastSuccessAt ?? null);
        const values = { id: 1, upstream: page.upstream, position: page.to, latest: page.latest, lastSuccessAt };
        tx.insert(upstreamSync).values(values).onConflictDoUpdate({ target: upstreamSync.id, set: values }).run();
        return true;
      },
      { behavior: 'immediate' },
    );
  }

  /** One file, one follower: main.ts runs it in one process only (the primary with KRR_WORKERS > 1). */
  async followerLock(): Promise<FollowerLock> {
    return { held: () => true, release: async () => {} };
  }

  async startBulkImport(kind: string, at: Date): Promise<BulkImport> {
    return startSqliteBulkImport(this.sqlite, kind, at);
  }

  async countPeople(): Promise<number> {
    return countPeople(this.db);
  }

  async syntheticSampleIds(limit: number): Promise<string[]> {
    return syntheticSampleIds(this.db, limit);
  }

  async registeredAmong(ids: readonly string[]): Promise<Set<string>> {
    return new Set(this.registered.all(JSON.stringify(ids)).map((r) => r.id));
  }

  /**
   * One `BEGIN IMMEDIATE` transaction around the check and the whole seed: a second process
   * starting at the same moment waits, then finds people and seeds nothing, and a seed cut
   * short by a crash leaves an empty register (seeded again at the next start), never half
   * of one.
   */
  async seedIfEmpty(options: SeedOptions, onProgress?: (done: number, total: number) => void): Promise<number> {
    const seed = this.sqlite.transaction(() => {
      const any = this.db.select({ one: sql`1` }).from(person).limit(1).get();
      return any ? 0 : seedPopulation(this.sqlite, options, onProgress);
    });
    return seed.immediate();
  }

  /** In this process's memory: with KRR_WORKERS > 1 each worker counts its own share. */
  rateLimiter(points: number, durationSeconds: number): RateLimiterAbstract {
    return new RateLimiterMemory({ points, duration: durationSeconds });
  }

  startAuditMaintenance(retentionDays: number, onError?: (error: unknown) => void): void {
    this.audit.startMaintenance(retentionDays, 1000, onError);
  }

  /** The audit log's own operations (the benchmark, tests): index now, delete expired now. */
  get auditLog(): SqliteLookupLog {
    return this.audit;
  }

  async ping(): Promise<void> {
    this.sqlite.prepare('select 1').get();
  }

  async close(): Promise<void> {
    this.audit.stopMaintenance();
    this.database.close();
  }
}

export function openSqliteRegisterStore(file: string): SqliteRegisterStore {
  return new SqliteRegisterStore(openSqliteDatabase(file));
}
