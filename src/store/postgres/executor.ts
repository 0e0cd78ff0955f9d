/**
 * How the PostgreSQL store runs its SQL: statement counting, transactions and the person
 * locks. Every store method goes through here, so what counts as a statement and what a
 * write transaction looks like is decided in one place.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { StatementCounter } from '../types';

/** What a store method runs its SQL on: the pool (autocommit) or one client inside a transaction. */
export type Queryable = pg.Pool | pg.PoolClient;

/**
 * Runs SQL on a pool or a client and adds one to each counter per statement: the request's
 * counter (if any) and the store-wide one. Transaction control (BEGIN, COMMIT, ROLLBACK)
 * and the advisory locks do not go through here: they are bookkeeping, not work, as in the
 * SQLite store (which skips transaction control) — so one citizen write counts the same
 * statements on both stores.
 *
 * It is also the client Drizzle runs its queries on (`drizzle({ client })`), so the query
 * builder's statements are counted the same way. Its class name must not contain "Pool":
 * Drizzle treats such a client as a pool and would check out connections from it.
 */
export class CountingClient {
  constructor(
    readonly target: Queryable,
    private readonly counters: readonly StatementCounter[],
  ) {}

  /**
   * `COPY ... FROM STDIN` (`sql`) fed with `text`, in COPY's text format (pg-copy-streams);
   * on a client, not the pool: the copy holds its connection until it ends.
   */
  async copyIn(sql: string, text: string): Promise<void> {
    for (const counter of this.counters) counter.count++;
    if (this.target instanceof pg.Pool) throw new Error('COPY needs a client of its own, not the pool');
    await pipeline(Readable.from([text]), this.target.query(copyFrom(sql)));
  }

  query<R extends pg.QueryResultRow = pg.QueryResultRow>(config: string | pg.QueryConfig, values?: unknown[]): Promise<pg.QueryResult<R>> {
    for (const counter of this.counters) counter.count++;
    // A fresh config per call: node-postgres writes `values` into the object it is given,
    // and the named statements' configs are shared constants.
    if (typeof config === 'string') return this.target.query<R>(config, values);
    return this.target.query<R>(values === undefined ? { ...config } : { ...config, values });
  }
}

/** Drizzle over a counting client: the query builder for the less hot paths. */
export type Drizzle = NodePgDatabase;

export function drizzleOn(client: CountingClient): Drizzle {
  return drizzle({ client: client as unknown as pg.Pool });
}

/** A transaction's handles: raw SQL and Drizzle, both counting. */
export interface Tx {
  q: CountingClient;
  db: Drizzle;
  client: pg.PoolClient;
}

export type IsolationLevel = 'read committed' | 'repeatable read read only';

/**
 * Listens for the loss of a checked-out client's connection; returns the function that
 * stops listening (call it just before `release`).
 *
 * pg-pool takes its own 'error' listener off a client while it is checked out, and a
 * node-postgres client emits 'error' whenever its connection ends unexpectedly (the server
 * crashed, restarted or was shut down, `pg_terminate_backend`,
 * `idle_in_transaction_session_timeout`, the network), with a query running or not.
 * Unheard, that event is an uncaught exception: it would take the whole process down
 * instead of failing the one request. The running query is failed by the client itself;
 * `lost` only decides what becomes of the client.
 */
export function onConnectionLoss(client: pg.PoolClient, lost: (error: Error) => void): () => void {
  client.on('error', lost);
  return () => client.removeListener('error', lost);
}

/**
 * Runs `body` on a client of its own while it holds the session advisory lock `lockKey` (an
 * SQL expression giving a bigint): the migrations and the seed, which several processes
 * starting together must not run twice. The lock is polled (`pg_try_advisory_lock`), so
 * `lock_timeout` does not cut a long wait short; past `timeoutMs` it throws `busy`. After a
 * failure the connection is closed rather than reused, which also drops the lock if the
 * unlock itself could not run.
 */
export async function withSessionLock<T>(pool: pg.Pool, lockKey: string, timeoutMs: number, busy: string, body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const stopListening = onConnectionLoss(client, (error) => (broken ??= error));
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await client.query<{ locked: boolean }>(`select pg_try_advisory_lock(${lockKey}) as locked`);
      if (rows[0].locked) break;
      if (Date.now() > deadline) throw new Error(`${busy} for over ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    try {
      return await body(client);
    } finally {
      await client.query(`select pg_advisory_unlock(${lockKey})`);
    }
  } catch (error) {
    broken = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    stopListening();
    client.release(broken);
  }
}

/**
 * Runs `body` in one transaction on a client of its own. Commits when it resolves, rolls
 * back when it throws. A client whose connection was lost (or whose rollback failed) is
 * destroyed rather than returned to the pool.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  counters: readonly StatementCounter[],
  isolation: IsolationLevel,
  body: (tx: Tx) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  const stopListening = onConnectionLoss(client, () => unusable.add(client));
  let broken: Error | undefined;
  try {
    return await inTransactionOn(client, counters, isolation, body);
  } catch (error) {
    if (unusable.has(client)) broken = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    stopListening();
    client.release(broken);
  }
}

/** Clients whose connection was lost or whose rollback failed: to be destroyed, not released into the pool. */
const unusable = new WeakSet<pg.PoolClient>();

/** The same on a client the caller has checked out (and releases). */
export async function inTransactionOn<T>(
  client: pg.PoolClient,
  counters: readonly StatementCounter[],
  isolation: IsolationLevel,
  body: (tx: Tx) => Promise<T>,
): Promise<T> {
  // Explicit, whatever default_transaction_isolation says: writers must run READ
  // COMMITTED for the change counter to make them wait instead of fail (db/schema.pg.ts).
  await control(client, `begin isolation level ${isolation}`);
  let result: T;
  try {
    const q = new CountingClient(client, counters);
    result = await body({ q, db: drizzleOn(q), client });
  } catch (error) {
    try {
      await client.query('rollback');
    } catch {
      // The connection is gone or unusable: the server rolls back on its own. Report the
      // first error, and do not let the client back into the pool.
      unusable.add(client);
    }
    throw error;
  }
  await control(client, 'commit');
  return result;
}

/** BEGIN or COMMIT: a failure without SQLSTATE (network, protocol) leaves the connection unusable. */
async function control(client: pg.PoolClient, statement: string): Promise<void> {
  try {
    await client.query(statement);
  } catch (error) {
    if (isConnectionError(error)) unusable.add(client);
    throw error;
  }
}

/** Errors after which a connection is not worth keeping: anything but an error the server answered with. */
function isConnectionError(error: unknown): boolean {
  return !(error instanceof pg.DatabaseError);
}

/**
 * The advisory locks of writes to people. Lock order, always: the bulk lock, then person
 * lock(s) sorted by id, then that person's rows, then the change counter (taken last), so
 * writes cannot deadlock.
 *
 * - `krr:person:<id>` (exclusive, transaction-scoped): one writer per person at a time, the
 *   per-person counterpart of SQLite's BEGIN IMMEDIATE. It works before the person row
 *   exists and ends with the transaction.
 * - `krr:bulk`: every person write holds it shared; a bulk write (a large import, each
 *   seed batch) holds it exclusively instead of one lock per person, because thousands of
 *   advisory locks in one transaction exhaust the shared lock table
 *   (`max_locks_per_transaction`, "out of shared memory").
 *
 * A citizen write takes both in one statement, the first of its transaction. Lock
 * statements are not counted as statements (see `CountingClient`).
 */
const BULK_LOCK = `hashtextextended('krr:bulk', 0)`;
const PERSON_LOCK = (id: string) => `hashtextextended('krr:person:' || ${id}, 0)`;

export async function lockPerson(client: pg.PoolClient, id: string): Promise<void> {
  await client.query({
    name: 'krr-lock-person',
    text: `select pg_advisory_xact_lock_shared(${BULK_LOCK}), pg_advisory_xact_lock(${PERSON_LOCK('$1::text')})`,
    values: [id],
  });
}

/** Up to this many people a bulk write locks each person; above it, the exclusive bulk lock. */
export const MAX_PERSON_LOCKS = 500;

export async function lockPeople(client: pg.PoolClient, ids: readonly string[]): Promise<void> {
  const distinct = [...new Set(ids)].sort();
  if (distinct.length > MAX_PERSON_LOCKS) {
    await client.query(`select pg_advisory_xact_lock(${BULK_LOCK})`);
    return;
  }
  await client.query(`select pg_advisory_xact_lock_shared(${BULK_LOCK})`);
  // Sorted (in SQL too: the lock calls run in the query's row order), so two bulk writes
  // over overlapping people take their locks in the same order.
  await client.query(`select count(pg_advisory_xact_lock(${PERSON_LOCK('id')})) from (select id from unnest($1::text[]) id order by id) ids`, [distinct]);
}

export async function lockBulk(client: pg.PoolClient): Promise<void> {
  await client.query(`select pg_advisory_xact_lock(${BULK_LOCK})`);
}

/**
 * Locks addresses (`krr:address:<address key>`, exclusive, transaction-scoped), sorted, after
 * the person's lock: writes that count what went to an address (the code limits) then
 * count and append one after another, across people and replicas. Nothing takes a person's
 * lock after an address lock, so this cannot deadlock with the person locks.
 */
export async function lockAddresses(client: pg.PoolClient, keys: readonly string[]): Promise<void> {
  if (keys.length === 0) return;
  await client.query(`select count(pg_advisory_xact_lock(hashtextextended('krr:address:' || k, 0))) from (select k from unnest($1::text[]) k order by k) ks`, [
    [...new Set(keys)],
  ]);
}
