/**
 * "The limit" on PostgreSQL: the counterpart of bench/limit-server.ts over node-postgres.
 * For `POST /graphql` with a LookUpPeople body it verifies the agency JWT, checks the ids,
 * runs the PostgreSQL store's three reads (the same named prepared statements, the ids as
 * one text[] parameter) at once on a pool of KRR_DATABASE_POOL_SIZE connections, applies
 * the same rules, writes the same audit insert (autocommit, synchronous_commit as the server
 * has it) and answers `JSON.stringify` of exactly the service's `{"data":{"persons":[...]}}`.
 * No GraphQL, no Drizzle, no DataLoader, no Express.
 *
 * The SQL is not copied: it is captured at start from the store's own classes
 * (`PgPersonReads`, `GroupCommitLookups`) run against a recording stand-in for the pool, so
 * the limit runs exactly the statements the service runs, whatever they become.
 *
 * `node dist/bench/limit-server-pg.js` with KRR_DATABASE_URL, KRR_DATA_DIR (the dev key),
 * PORT, HOST. Prints `listening http://HOST:PORT/graphql`. `GET /stats` gives the statement count.
 */
import pg from 'pg';
import type { Config } from '../src/config';
import { PG_SESSION_OPTIONS } from '../src/store/postgres/connection';
import { limitMain, serveLimit, type LimitDatabase, type LimitPersonRow, type LimitPointRow, type LimitPostRow } from './limit-common';
import { storeLookupStatements, type Statement } from './pg-statements';

async function openDatabase(config: Config): Promise<{ db: LimitDatabase; close: () => Promise<void> }> {
  if (!config.databaseUrl) throw new Error('the PostgreSQL limit server needs KRR_DATABASE_URL');
  const sql = await storeLookupStatements();
  // As the store's pool (src/store/postgres/connection.ts), less its int8 parser (no int8 is read here).
  const pool = new pg.Pool({
    connectionString: config.databaseUrl,
    options: PG_SESSION_OPTIONS,
    max: config.databasePoolSize,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    application_name: 'krr-bench-limit',
  });
  pool.on('error', (error) => process.stderr.write(`limit-server-pg: idle connection failed: ${error.message}\n`));
  const query = <R extends pg.QueryResultRow>(s: Statement, values: unknown[]) => pool.query<R>({ name: s.name, text: s.text, values });
  const db: LimitDatabase = {
    async read(unique) {
      // At once, on three pooled connections: the service reads people first, then contact points and
      // digital post together (DataLoader). Measured on 2 loaded cores, one after another was no faster.
      const [people, points, posts] = await Promise.all([
        query<LimitPersonRow>(sql.people, [unique]),
        query<LimitPointRow>(sql.points, [unique]),
        query<LimitPostRow>(sql.posts, [unique]),
      ]);
      return { people: people.rows, points: points.rows, posts: posts.rows };
    },
    async audit(unique, org, now, scopes) {
      const at = now.toISOString();
      await query(sql.audit, [unique, unique.map(() => org), unique.map(() => at), unique.map(() => scopes)]);
    },
    statementsPerRequest: 4,
  };
  // Connections opened (and the statements prepared on them) before the first request.
  const warm = await Promise.all(Array.from({ length: Math.min(3, config.databasePoolSize) }, () => pool.connect()));
  for (const client of warm) client.release();
  return { db, close: () => pool.end() };
}

limitMain('limit-server-pg', async (config) => {
  const { db, close } = await openDatabase(config);
  await serveLimit(config, db, close);
});
