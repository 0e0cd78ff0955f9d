import Database from 'better-sqlite3';
import path from 'node:path';
import pg from 'pg';
import { poolTypes } from '../../src/store/postgres/connection';
import type { StoreKind } from '../../src/store/types';
import { createScratchDatabase, postgresUrl } from './postgres';

/**
 * Which store the suites run on: jest.config.js runs them once per store, as the projects
 * `sqlite` and `postgres` (KRR_TEST_STORE).
 */
export const storeUnderTest: StoreKind = process.env.KRR_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

/**
 * Test databases are made on the server of `postgresUrl`: global-setup.js starts a
 * throwaway one, or KRR_TEST_POSTGRES_URL names yours. (jest.config.js leaves the postgres
 * project out where there is neither, except under CI, where it must run and then fails here.)
 */
const postgresMissing = process.env.KRR_TEST_POSTGRES_MISSING ?? 'KRR_TEST_POSTGRES_URL is not set';

/** `it` for a test of SQLite's own mechanics (its locks, its files): not run on PostgreSQL, where another test covers the same promise. */
export const itOnSqlite: jest.It = storeUnderTest === 'sqlite' ? it : (it.skip as jest.It);

/** A fresh, empty database of the store under test, for one register or one service. */
export interface TestDatabase {
  kind: StoreKind;
  /** What a spawned service needs in its environment to use it. */
  env: Record<string, string>;
  /** The same as config (`loadConfig` fields). */
  dbPath: string;
  databaseUrl: string | null;
  /**
   * Runs one statement with `?` placeholders and returns its rows. A `Date` parameter is
   * bound as the store keeps times (ms since the epoch in SQLite, timestamptz in PostgreSQL).
   */
  query<T = Record<string, unknown>>(sql: string, ...params: unknown[]): Promise<T[]>;
  /** The first row's first column as a number (counts, max). */
  number(sql: string, ...params: unknown[]): Promise<number>;
  /**
   * Lets go of the test's own connection until the next query (SQLite: closes the file, so
   * that a service stopping on it is the last connection, which checkpoints and removes the
   * WAL). PostgreSQL: nothing to do (the test's sessions do not hold up the service).
   */
  release(): Promise<void>;
  /** Closes its connections; drops the database on PostgreSQL. */
  close(): Promise<void>;
}

/**
 * `dir` is the test's own temporary folder (the SQLite file goes there). On PostgreSQL a
 * new database is created on the test server and dropped by `close()`; `postgresServerUrl`
 * names another server for it (a test that restarts or crashes PostgreSQL does so on a
 * cluster of its own, never on the shared one).
 */
export async function createTestDatabase(dir: string, options: { postgresServerUrl?: string } = {}): Promise<TestDatabase> {
  if (storeUnderTest === 'sqlite') {
    const dbPath = path.join(dir, 'krr.sqlite');
    let sqlite: Database.Database | undefined;
    // Opened on first use: the service's own start creates the file and its tables.
    const open = () => (sqlite ??= new Database(dbPath, { fileMustExist: true }));
    const bind = (params: unknown[]) => params.map((p) => (p instanceof Date ? p.getTime() : typeof p === 'boolean' ? Number(p) : p));
    const query = async <T>(sql: string, ...params: unknown[]) => {
      const statement = open().prepare(sql);
      if (statement.reader) return statement.all(...bind(params)) as T[];
      statement.run(...bind(params));
      return [];
    };
    return {
      kind: 'sqlite',
      env: { KRR_DB_PATH: dbPath },
      dbPath,
      databaseUrl: null,
      query,
      number: firstNumber(query),
      release: async () => {
        sqlite?.close();
        sqlite = undefined;
      },
      close: async () => void sqlite?.close(),
    };
  }
  const serverUrl = options.postgresServerUrl ?? postgresUrl;
  if (!serverUrl) throw new Error(`no PostgreSQL for the postgres test project: ${postgresMissing}`);
  const scratch = await createScratchDatabase(serverUrl, 'krr_t');
  // int8 (counts, change numbers) as numbers, as the store itself reads them.
  const pool = new pg.Pool({ connectionString: scratch.url, max: 2, types: poolTypes });
  pool.on('error', () => {});
  const query = async <T>(sql: string, ...params: unknown[]) => {
    let n = 0;
    const text = sql.replace(/\?/g, () => `$${++n}`);
    return (await pool.query(text, params)).rows as T[];
  };
  return {
    kind: 'postgres',
    env: { KRR_DATABASE_URL: scratch.url },
    dbPath: path.join(dir, 'unused.sqlite'),
    databaseUrl: scratch.url,
    query,
    number: firstNumber(query),
    release: async () => {},
    async close() {
      await pool.end();
      await scratch.drop();
    },
  };
}

/** `TestDatabase.number` over its `query`. */
function firstNumber(query: TestDatabase['query']): TestDatabase['number'] {
  return async (sql, ...params) => Number(Object.values((await query<Record<string, unknown>>(sql, ...params))[0] ?? {})[0] ?? 0);
}

/** A stored time as ms since the epoch, from either store (SQLite keeps ms, PostgreSQL gives a `Date`); null stays null. */
export function toMillis(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.getTime();
  return Number(value);
}

/**
 * The URL with `application_name` set, so the sessions of one service can be told from
 * another's in `pg_stat_activity` (the URL's parameter wins over the pool's own name).
 */
export function withApplicationName(databaseUrl: string, name: string): string {
  const url = new URL(databaseUrl);
  url.searchParams.set('application_name', name);
  return url.toString();
}

/**
 * PostgreSQL: how many sessions other than the test's own are connected to the database,
 * only those with `applicationName` if given. SQLite: always 0 (no sessions).
 */
export async function sessionsOn(db: TestDatabase, applicationName?: string): Promise<number> {
  if (db.kind !== 'postgres') return 0;
  return db.number(
    `select count(*) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()
       and backend_type = 'client backend' and application_name ${applicationName === undefined ? "<> ''" : '= ?'}`,
    ...(applicationName === undefined ? [] : [applicationName]),
  );
}

/**
 * Waits until the server has ended every session of a stopped or killed service
 * (`applicationName`, or any but the test's own). After a SIGKILL the server notices the
 * closed socket only when the backend next reads or writes it: a backend waiting on a lock
 * ends after `lock_timeout`. Until then a commit the killed process sent may still land, so
 * checks of "what survived" wait for this first. Throws after `timeoutMs`.
 */
export async function waitForNoSessions(db: TestDatabase, applicationName?: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = await sessionsOn(db, applicationName);
    if (left === 0) return;
    if (Date.now() > deadline) throw new Error(`${left} session(s)${applicationName ? ` of ${applicationName}` : ''} still on the database after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * PostgreSQL's counterpart of SQLite's `integrity_check`, with the `amcheck` extension:
 * every B-tree index of the public schema is checked (`bt_index_check` with heapallindexed:
 * its structure, and that it has every heap tuple), and every table's heap
 * (`verify_heapam`). Returns the problems found (empty: none), or null when the server
 * has no amcheck (it comes with Debian's postgresql package, as contrib); under CI, where
 * the throwaway cluster always has it, a missing amcheck fails instead of skipping the check.
 */
export async function amcheck(db: TestDatabase): Promise<string[] | null> {
  if (db.kind !== 'postgres') throw new Error('amcheck is for PostgreSQL; SQLite has pragma integrity_check');
  const available = await db.number(`select count(*) from pg_available_extensions where name = 'amcheck'`);
  if (available === 0) {
    if (process.env.CI === 'true') throw new Error('the amcheck extension is missing: the integrity check cannot run (CI=true)');
    return null;
  }
  await db.query('create extension if not exists amcheck');
  const problems: string[] = [];
  const indexes = await db.query<{ name: string }>(
    `select c.relname as name from pg_index i join pg_class c on c.oid = i.indexrelid join pg_am am on am.oid = c.relam
      where am.amname = 'btree' and c.relnamespace = 'public'::regnamespace order by 1`,
  );
  for (const { name } of indexes) {
    try {
      await db.query(`select bt_index_check(?::regclass, true)`, `public.${name}`);
    } catch (error) {
      problems.push(`index ${name}: ${(error as Error).message}`);
    }
  }
  const heap = await db.query<{ tbl: string; blkno: number; msg: string }>(
    `select c.relname as tbl, v.blkno, v.msg from pg_class c, lateral verify_heapam(c.oid) v
      where c.relnamespace = 'public'::regnamespace and c.relkind = 'r'`,
  );
  for (const row of heap) problems.push(`table ${row.tbl} block ${row.blkno}: ${row.msg}`);
  return problems;
}
