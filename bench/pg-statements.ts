/**
 * The PostgreSQL store's statements for a W1 lookup, captured from the store's own classes
 * (`PgPersonReads`, `GroupCommitLookups`) run against a recording stand-in for the pool: the
 * report times the reads with EXPLAIN ANALYZE. (The floor, bench/limit-server-pg.ts, shares none of them.)
 */
import type pg from 'pg';
import { GroupCommitLookups } from '../src/store/postgres/lookup-log';
import { PgPersonReads } from '../src/store/postgres/person-reads';
import { StatementCounter } from '../src/store/types';

export interface Statement {
  name?: string;
  text: string;
}

/** Runs `use` with a stand-in pool and returns the statements the store sent to it. */
async function captured(use: (pool: pg.Pool) => Promise<unknown>): Promise<Statement[]> {
  const seen: Statement[] = [];
  const recorder = {
    query(config: string | pg.QueryConfig) {
      seen.push(typeof config === 'string' ? { text: config } : { name: config.name, text: config.text });
      return Promise.resolve({ rows: [], rowCount: 0 });
    },
  } as unknown as pg.Pool;
  await use(recorder);
  return seen;
}

/** The store's statements for a lookup: the read of the read model, and the audit append. */
export async function storeLookupStatements(): Promise<{ read: Statement; audit: Statement }> {
  const [read] = await captured(async (pool) => {
    await new PgPersonReads(pool, []).entries(['x']);
  });
  const [audit] = await captured((pool) =>
    new GroupCommitLookups(pool, new StatementCounter()).record({ agencyOrgNumber: '0', personIds: ['x'], scopes: [], at: new Date() }),
  );
  for (const [what, s] of Object.entries({ read, audit })) {
    if (!s?.text) throw new Error(`could not capture the store's ${what} statement`);
  }
  if (!/insert into lookup_request/i.test(audit.text)) throw new Error(`unexpected audit statement: ${audit.text}`);
  return { read, audit };
}
