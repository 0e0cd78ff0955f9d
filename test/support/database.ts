import Database from 'better-sqlite3';
import path from 'node:path';
import pg from 'pg';
import type { StoreKind } from '../../src/store/types';

/**
 * Which store the suites run on: jest.config.js runs them once per store, as the projects
 * `sqlite` and `postgres` (KRR_TEST_STORE).
 */
export const storeUnderTest: StoreKind = process.env.KRR_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite';

/**
 * The PostgreSQL server test databases are made on: global-setup.js starts a throwaway one,
 * or KRR_TEST_POSTGRES_URL names yours. (jest.config.js leaves the postgres project out
 * where there is neither, except under CI, where it must run and then fails here.)
 */
export const testPostgresUrl: string | undefined = process.env.KRR_TEST_POSTGRES_URL || undefined;
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
  /** Closes its connections; drops the database on PostgreSQL. */
  close(): Promise<void>;
}

let scratchCounter = 0;

/**
 * `dir` is the test's own temporary folder (the SQLite file goes there). On PostgreSQL a
 * new database is created on the test server and dropped by `close()`.
 */
export async function createTestDatabase(dir: string): Promise<TestDatabase> {
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
      number: async (sql, ...params) => Number(Object.values((await query<Record<string, unknown>>(sql, ...params))[0] ?? {})[0] ?? 0),
      close: async () => void sqlite?.close(),
    };
  }
  if (!testPostgresUrl) throw new Error(`no PostgreSQL for the postgres test project: ${postgresMissing}`);
  const name = `krr_t${process.pid}_${Date.now().toString(36)}_${++scratchCounter}`;
  const admin = new pg.Client({ connectionString: testPostgresUrl, connectionTimeoutMillis: 10_000 });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(testPostgresUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  // int8 (counts, change numbers) as numbers, as the store itself reads them.
  const types = { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? Number : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser };
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2, types });
  pool.on('error', () => {});
  const query = async <T>(sql: string, ...params: unknown[]) => {
    let n = 0;
    const text = sql.replace(/\?/g, () => `$${++n}`);
    return (await pool.query(text, params)).rows as T[];
  };
  return {
    kind: 'postgres',
    env: { KRR_DATABASE_URL: databaseUrl },
    dbPath: path.join(dir, 'unused.sqlite'),
    databaseUrl,
    query,
    number: async (sql, ...params) => Number(Object.values((await query<Record<string, unknown>>(sql, ...params))[0] ?? {})[0] ?? 0),
    async close() {
      await pool.end();
      const client = new pg.Client({ connectionString: testPostgresUrl, connectionTimeoutMillis: 10_000 });
      await client.connect();
      try {
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
