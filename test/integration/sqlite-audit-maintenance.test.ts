/**
 * Where the SQLite audit log's maintenance runs (src/store/sqlite/lookup-maintenance.ts): on
 * a worker thread with its own connection for a database file, as the built service runs
 * it, and on this thread in memory. The thread indexes and applies retention as the inline
 * rounds do, reports a failed round and goes on, and stops with the store.
 *
 * The thread runs the compiled worker script, so these tests use the built store
 * (`dist/`): `npm test` builds first; a direct `npx jest` run builds here.
 */
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/paths';
import type * as SqliteStore from '../../src/store/sqlite';
import { StatementCounter } from '../../src/store/types';
import { syntheticIds } from '../support/people';

const DAY = 86_400_000;
let dir: string;
let built: typeof SqliteStore;

beforeAll(() => {
  if (process.env.npm_lifecycle_event !== 'test') execFileSync('npm', ['run', '-s', 'build'], { cwd: projectRoot, stdio: 'pipe' });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  built = require(path.join(projectRoot, 'dist', 'src', 'store', 'sqlite', 'index.js')) as typeof SqliteStore;
  dir = mkdtempSync(path.join(os.tmpdir(), 'krr-audit-maintenance-'));
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Polls `check` (on a connection of the test's own) until it holds, for up to 10 s. */
async function eventually(file: string, check: (db: Database.Database) => boolean): Promise<void> {
  const db = new Database(file, { readonly: true });
  try {
    for (let i = 0; i < 200; i++) {
      if (check(db)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('not within 10 s');
  } finally {
    db.close();
  }
}

const count = (db: Database.Database, sql: string) => db.prepare(sql).pluck().get() as number;

describe('the SQLite audit log maintenance', () => {
  it('runs on a thread of its own for a file: indexes every request, deletes what retention expires, stops with the store', async () => {
    const file = path.join(dir, 'thread.sqlite');
    const store = built.openSqliteRegisterStore(file);
    const errors: unknown[] = [];
    try {
      const log = store.forRequest(new StatementCounter()).lookups;
      const [a, b, c] = syntheticIds(3, 99);
      const scopes = ['krr:global/kontaktinformasjon.read'];
      await log.record({ agencyOrgNumber: '991825827', personIds: [a, b], scopes, at: new Date(Date.now() - 800 * DAY) });
      await log.record({ agencyOrgNumber: '991825827', personIds: [b, c], scopes, at: new Date() });

      store.startAuditMaintenance(730, (error) => errors.push(error));
      expect(store.auditMaintenance).toBe('thread');
      // The old request is deleted with its index rows; the new one is indexed.
      await eventually(file, (db) => count(db, 'select count(*) from lookup_request') === 1 && count(db, 'select count(*) from lookup_person') === 2);
      await eventually(file, (db) => count(db, 'select indexed_through from lookup_index_state') === count(db, 'select max(id) from lookup_request'));

      // A request recorded while the thread runs is indexed at its next round.
      await log.record({ agencyOrgNumber: '889640782', personIds: [a], scopes, at: new Date() });
      await eventually(file, (db) => count(db, 'select count(*) from lookup_person') === 3);
      expect(await log.lookupsOf(a, 10)).toEqual([expect.objectContaining({ personId: a, agencyOrgNumber: '889640782' })]);
    } finally {
      await store.close();
    }
    expect(errors).toEqual([]);
    // Everything the thread wrote is committed.
    const db = new Database(file, { readonly: true });
    expect(count(db, 'select count(*) from lookup_person')).toBe(3);
    db.close();
  });

  /** Waits until `errors` holds one more than `seen`. */
  async function failure(errors: Error[], seen: number): Promise<Error> {
    for (let i = 0; i < 200 && errors.length <= seen; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(errors.length).toBeGreaterThan(seen);
    return errors[seen];
  }

  it('reports a round that fails and indexes at the next round that can', async () => {
    const file = path.join(dir, 'failing-round.sqlite');
    const store = built.openSqliteRegisterStore(file);
    const errors: Error[] = [];
    try {
      const log = store.forRequest(new StatementCounter()).lookups;
      store.startAuditMaintenance(0, (error) => errors.push(error as Error));
      // The thread is up and its statements prepared once it has derived a first request.
      await log.record({ agencyOrgNumber: '991825827', personIds: syntheticIds(1, 5), scopes: ['krr:global/kontaktinformasjon.read'], at: new Date() });
      await eventually(file, (db) => count(db, 'select count(*) from lookup_person') === 1);

      // The indexer's mark is gone: every round fails until it is back.
      store.sqlite.exec('alter table lookup_index_state rename to lookup_index_state_away');
      await log.record({ agencyOrgNumber: '991825827', personIds: syntheticIds(2, 7), scopes: ['krr:global/kontaktinformasjon.read'], at: new Date() });
      expect((await failure(errors, 0)).message).toMatch(/no such table: lookup_index_state/);
      expect(count(store.sqlite, 'select count(*) from lookup_person')).toBe(1);

      store.sqlite.exec('alter table lookup_index_state_away rename to lookup_index_state');
      await eventually(file, (db) => count(db, 'select count(*) from lookup_person') === 3);
    } finally {
      await store.close();
    }
  });

  it('reports a thread that cannot start, and starts it again', async () => {
    const file = path.join(dir, 'failing-start.sqlite');
    const store = built.openSqliteRegisterStore(file);
    const errors: Error[] = [];
    try {
      const log = store.forRequest(new StatementCounter()).lookups;
      await log.record({ agencyOrgNumber: '991825827', personIds: syntheticIds(2, 7), scopes: ['krr:global/kontaktinformasjon.read'], at: new Date() });
      // The thread's statements cannot be prepared without the mark's table.
      store.sqlite.exec('alter table lookup_index_state rename to lookup_index_state_away');
      store.startAuditMaintenance(0, (error) => errors.push(error as Error));
      expect((await failure(errors, 0)).message).toMatch(/no such table: (main\.)?lookup_index_state/);
      expect((await failure(errors, 1)).message).toMatch(/maintenance thread stopped \(exit code 1\); starting it again/);

      store.sqlite.exec('alter table lookup_index_state_away rename to lookup_index_state');
      await eventually(file, (db) => count(db, 'select count(*) from lookup_person') === 2);
    } finally {
      await store.close();
    }
  });

  it('runs on this thread for a database in memory', async () => {
    const store = built.openSqliteRegisterStore(':memory:');
    try {
      const log = store.forRequest(new StatementCounter()).lookups;
      await log.record({ agencyOrgNumber: '991825827', personIds: syntheticIds(1, 3), scopes: ['krr:global/kontaktinformasjon.read'], at: new Date() });
      store.startAuditMaintenance(0);
      expect(store.auditMaintenance).toBe('inline');
      // The first round runs at once.
      expect(count(store.sqlite, 'select count(*) from lookup_person')).toBe(1);
    } finally {
      await store.close();
    }
  });
});
