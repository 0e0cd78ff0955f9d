/**
 * The register store over PostgreSQL (`KRR_DATABASE_URL=postgres://...`): the
 * `RegisterStore` of src/store/types.ts, with Drizzle and node-postgres over
 * db/schema.pg.ts. Design and reasons: docs/postgres.md.
 *
 * Transactions, in short (details at each class):
 * - citizen writes (`citizen-writes.ts`): READ COMMITTED; the person's advisory lock first;
 *   the change counter last;
 * - `replacePeople`: one READ COMMITTED transaction; every person's lock, sorted (or the
 *   exclusive bulk lock for a large batch); the numbers last, in one statement;
 * - `startBulkImport` (`bulk-import.ts`): staged in a session temp table, then one READ
 *   COMMITTED transaction under the exclusive bulk lock;
 * - `changePage`: one REPEATABLE READ READ ONLY transaction for the page and the newest number;
 * - the lookup log: group commit, one autocommit statement per batch;
 * - `seedIfEmpty`: a session advisory lock around the re-count and the seed, then one
 *   transaction per batch under the exclusive bulk lock.
 */
import { count, sql } from 'drizzle-orm';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { RateLimiterMemory, RateLimiterPostgres, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { person } from '../../../db/schema.pg';
import { generatePopulation } from '../../../db/seed/generate';
import type { ChangeKind } from '../../domain/change-kind';
import { UpstreamMismatchError, type BulkImport, type FollowerLock, type PersonRecord, type ReadRouting, type RegisterStore, type RequestStore, type SeedOptions, type StoreKind, type UpstreamPage, type UpstreamPosition } from '../types';
import { StatementCounter } from '../types';
import { StagingRows } from '../bulk-rows';
import { createStagingSql, PgBulkImport, replaceStagedPeopleIn, stageIn } from './bulk-import';
import { PgCitizenWrites } from './citizen-writes';
import { openPgStore, type PgStoreOptions } from './connection';
import { CountingClient, drizzleOn, inTransaction, inTransactionOn, lockBulk, lockPeople, withSessionLock, type Drizzle } from './executor';
import { GroupCommitLookups, LookupMaintenance, PgLookupLog } from './lookup-log';
import { insertNewPeopleIn, replacePeopleIn } from './person-bulk';
import { PgPersonReads } from './person-reads';

export interface PostgresStoreOptions extends PgStoreOptions {
  /** People per seed transaction (default 5000). */
  seedBatchSize?: number;
  /** How long `seedIfEmpty` waits for another process that is seeding (default 30 minutes). */
  seedLockTimeoutMs?: number;
  /** How long `ping` waits for an answer (default 2 s). */
  pingTimeoutMs?: number;
  /**
   * A read replica (a hot standby of the primary) for reads that may be a moment behind:
   * `forRequest(counter, 'replica')`. Its pool has the same size; no migrations run on it.
   */
  readUrl?: string;
}

/** The follower's page staging table: a temp table dropped at the page's commit. */
const PAGE_STAGING = 'upstream_staging';

/** The follower's lock: session-scoped, held by the one replica that follows the upstream. */
const FOLLOWER_LOCK = `hashtextextended('krr:follower', 0)`;

/** The seed lock's key: session-scoped, held from the re-count to the last batch. */
const SEED_LOCK = `hashtextextended('krr:seed', 0)`;

/** The URL without its password (and without a `password` query parameter), for logs. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '';
    parsed.searchParams.delete('password');
    return parsed.toString();
  } catch {
    return 'postgres (URL not shown: it does not parse)';
  }
}

export async function openPostgresRegisterStore(url: string, options: PostgresStoreOptions = {}): Promise<RegisterStore> {
  const pg = await openPgStore(url, options);
  let replica;
  try {
    replica = options.readUrl ? await openPgStore(options.readUrl, { ...options, migrate: false }) : undefined;
  } catch (error) {
    await pg.pool.end().catch(() => {});
    throw error;
  }
  const location = replica && options.readUrl ? `${redactedUrl(url)} (reads for agencies: ${redactedUrl(options.readUrl)})` : redactedUrl(url);
  return new PostgresRegisterStore(pg.pool, location, options, replica?.pool, url);
}

class PostgresRegisterStore implements RegisterStore {
  readonly kind: StoreKind = 'postgres';
  readonly statements = new StatementCounter();
  private readonly lookups: GroupCommitLookups;
  /** The audit log's indexing and retention (`startAuditMaintenance`). */
  readonly auditLog: LookupMaintenance;
  /** Drizzle for the store's own (not per-request) statements: they count into `statements` only. */
  private readonly db: Drizzle;
  private closing: Promise<void> | undefined;
  private rateLimitPool: pg.Pool | undefined;

  constructor(
    private readonly pool: pg.Pool,
    readonly location: string,
    private readonly options: PostgresStoreOptions,
    /** The read replica's pool, if there is one. */
    private readonly replicaPool?: pg.Pool,
    /** The primary's URL, for the rate limiter's own small pool. */
    private readonly url?: string,
  ) {
    this.lookups = new GroupCommitLookups(pool, this.statements);
    this.auditLog = new LookupMaintenance(pool, this.statements);
    this.db = drizzleOn(new CountingClient(pool, [this.statements]));
  }

  forRequest(counter: StatementCounter, reads: ReadRouting = 'primary'): RequestStore {
    const counters = [counter, this.statements];
    return {
      people: new PgPersonReads(reads === 'replica' && this.replicaPool ? this.replicaPool : this.pool, counters),
      citizen: new PgCitizenWrites(this.pool, counters),
      lookups: new PgLookupLog(this.lookups, this.pool, counters),
    };
  }

  replacePeople(records: readonly PersonRecord[], kind: ChangeKind, at: Date): Promise<number[]> {
    if (records.length === 0) return Promise.resolve([]);
    return inTransaction(this.pool, [this.statements], 'read committed', async ({ q, client }) => {
      await lockPeople(
        client,
        records.map((r) => r.id),
      );
      return replacePeopleIn(q, records, kind, at);
    });
  }

  async upstreamPosition(): Promise<UpstreamPosition | null> {
    const { rows } = await new CountingClient(this.pool, [this.statements]).query<UpstreamPosition>(
      'select upstream, position, latest, last_success_at as "lastSuccessAt" from upstream_sync where id = 1',
    );
    return rows[0] ?? null;
  }

  /**
   * The position row first (created at `page.after` if there is none, then locked FOR
   * UPDATE), so a second follower's page waits and then finds the position moved; then the
   * people (their locks, sorted), written set-based as the bulk import commits
   * (`replaceStagedPeopleIn`); then the new position, all in one transaction.
   */
  applyUpstreamPage(page: UpstreamPage): Promise<boolean> {
    return inTransaction(this.pool, [this.statements], 'read committed', async ({ q, client }) => {
      await q.query('insert into upstream_sync (id, upstream, position, latest) values (1, $1, $2, $2) on conflict (id) do nothing', [page.upstream, page.after]);
      const { rows } = await q.query<{ upstream: string; position: number }>('select upstream, position from upstream_sync where id = 1 for update');
      const row = rows[0];
      if (row.upstream !== page.upstream) throw new UpstreamMismatchError(`this copy follows ${row.upstream}, not ${page.upstream}`);
      if (row.position !== page.after) return false;
      if (page.records.length > 0) {
        await lockPeople(
          client,
          page.records.map((r) => r.id),
        );
        // Set-based, as the bulk import commits: staged in a temp table of this transaction.
        await q.query(createStagingSql(PAGE_STAGING, true));
        await stageIn(q, PAGE_STAGING, new StagingRows().batch(page.records), 0);
        await q.query(`analyze ${PAGE_STAGING}`);
        await replaceStagedPeopleIn(q, PAGE_STAGING, 'UPSTREAM', page.at);
      }
      await q.query('update upstream_sync set position = $1::bigint, latest = $2::bigint, last_success_at = case when $1::bigint >= $2::bigint then $3::timestamptz else last_success_at end where id = 1', [
        page.to,
        page.latest,
        page.at.toISOString(),
      ]);
      return true;
    });
  }

  /**
   * A session advisory lock on a connection of its own (not the pool's): held while that
   * connection lives, so when the holding process dies PostgreSQL drops the lock and the
   * next replica's try succeeds. Tried once a second.
   */
  async followerLock(signal: AbortSignal): Promise<FollowerLock> {
    if (!this.url) throw new Error('the follower lock needs the primary URL');
    for (;;) {
      signal.throwIfAborted();
      const client = new pg.Client({ connectionString: this.url, application_name: 'krr-graphql-follower' });
      let alive = true;
      client.on('error', () => (alive = false));
      client.on('end', () => (alive = false));
      try {
        await client.connect();
        for (;;) {
          const { rows } = await client.query<{ locked: boolean }>(`select pg_try_advisory_lock(${FOLLOWER_LOCK}) as locked`);
          if (rows[0].locked) {
            return {
              held: () => alive,
              release: async () => {
                alive = false;
                await client.end().catch(() => {});
              },
            };
          }
          await sleep(1000, undefined, { signal });
        }
      } catch (error) {
        await client.end().catch(() => {});
        if (signal.aborted) throw error;
        await sleep(1000, undefined, { signal }); // the database is away: try again
      }
    }
  }

  startBulkImport(kind: string, at: Date): Promise<BulkImport> {
    return PgBulkImport.start(this.pool, [this.statements], kind, at);
  }

  async countPeople(): Promise<number> {
    const [row] = await this.db.select({ n: count() }).from(person);
    return row?.n ?? 0;
  }

  async syntheticSampleIds(limit: number): Promise<string[]> {
    const rows = await this.db
      .select({ id: person.id })
      .from(person)
      .where(sql`substr(${person.id}, 3, 1) in ('8', '9')`)
      .orderBy(person.changeNumber)
      .limit(limit);
    return rows.map((r) => r.id);
  }

  async registeredAmong(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const { rows } = await new CountingClient(this.pool, [this.statements]).query<{ id: string }>(
      { name: 'krr-registered-among', text: 'select person.id from unnest($1::text[]) as ids(id) join person on person.id = ids.id' },
      [[...new Set(ids)]],
    );
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Exactly one of several processes starting together seeds: each takes the seed lock
   * (`withSessionLock`) and counts again once it has it. The one that finds the register empty writes the
   * population in transactions of `seedBatchSize` people; each batch holds the exclusive
   * bulk lock (no person write interleaves) and takes one range of change numbers, so the
   * numbers are 1..count in generation order on an empty register.
   */
  async seedIfEmpty(options: SeedOptions, onProgress?: (done: number, total: number) => void): Promise<number> {
    // No count before the lock: a register another process is seeding is not empty, yet
    // not whole either; waiting for the lock waits for the whole seed.
    return withSessionLock(this.pool, SEED_LOCK, this.options.seedLockTimeoutMs ?? 30 * 60_000, 'another process has been seeding', async (client) => {
      const q = new CountingClient(client, [this.statements]);
      const { rows } = await q.query<{ n: number }>('select count(*)::int as n from person');
      if (rows[0].n > 0) return 0;
      return this.seed(client, options, onProgress);
    });
  }

  private async seed(client: pg.PoolClient, options: SeedOptions, onProgress?: (done: number, total: number) => void): Promise<number> {
    const batchSize = Math.max(1, this.options.seedBatchSize ?? 5000);
    const people = generatePopulation(options);
    const nextBatch = (): PersonRecord[] => {
      const batch: PersonRecord[] = [];
      for (let next = people.next(); !next.done; next = people.next()) {
        batch.push(next.value);
        if (batch.length === batchSize) break;
      }
      return batch;
    };
    let done = 0;
    let batch = nextBatch();
    while (batch.length > 0) {
      const writing = inTransactionOn(client, [this.statements], 'read committed', async ({ q, client: c }) => {
        await lockBulk(c);
        await insertNewPeopleIn(q, batch, 'SEED', options.now);
      });
      // The next batch is generated while the database writes this one.
      let following: PersonRecord[];
      try {
        following = nextBatch();
      } finally {
        await writing;
      }
      done += batch.length;
      onProgress?.(done, options.count);
      batch = following;
    }
    return done;
  }

  /**
   * Counts in the `rate_limit` table (one upsert per request), so the limit holds across
   * every replica. Its own pool of 4 connections with `synchronous_commit=off`: a count lost
   * in a crash does not matter, and no request waits for a WAL flush for it. If PostgreSQL
   * cannot answer, this process counts in memory meanwhile (the insurance limiter) rather
   * than refusing or waving every request through.
   */
  rateLimiter(points: number, durationSeconds: number): RateLimiterAbstract {
    if (!this.url) return new RateLimiterMemory({ points, duration: durationSeconds });
    this.rateLimitPool ??= new pg.Pool({
      connectionString: this.url,
      max: 4,
      connectionTimeoutMillis: 2000,
      application_name: 'krr-graphql-rate-limit',
      options: '-c synchronous_commit=off -c statement_timeout=2000 -c lock_timeout=1000',
    });
    this.rateLimitPool.on('error', () => {});
    return new RateLimiterPostgres({
      storeClient: this.rateLimitPool,
      storeType: 'pool',
      tableName: 'rate_limit',
      keyPrefix: 'krr',
      // Each replica deletes keys that expired over an hour ago, hourly (a timer that does not keep the process alive).
      clearExpiredByTimeout: true,
      tableCreated: true,
      points,
      duration: durationSeconds,
      insuranceLimiter: new RateLimiterMemory({ points, duration: durationSeconds }),
    });
  }

  startAuditMaintenance(retentionDays: number, onError?: (error: unknown) => void): void {
    this.auditLog.start(retentionDays, 1000, onError);
  }

  async ping(): Promise<void> {
    const timeoutMs = this.options.pingTimeoutMs ?? 2000;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`PostgreSQL did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      // Both servers: agencies' lookups need the replica as much as writes need the primary.
      const query = Promise.all(
        [this.pool, ...(this.replicaPool ? [this.replicaPool] : [])].map((pool) =>
          new CountingClient(pool, [this.statements]).query({ text: 'select 1', query_timeout: timeoutMs } as pg.QueryConfig),
        ),
      );
      query.catch(() => {}); // when the timeout wins, the late failure is not unhandled
      await Promise.race([query, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Waits for queued lookups to be written, then ends the pool (after in-flight queries). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.auditLog.stop();
      await this.lookups.drain();
      await Promise.all([this.pool.end(), this.replicaPool?.end(), this.rateLimitPool?.end()]);
    })();
    return this.closing;
  }
}
