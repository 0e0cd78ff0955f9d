/**
 * SQLite migration 0008 (the audit index in segments) on a register whose audit log already
 * holds indexed and unindexed requests: what was indexed becomes segment 0, in a WITHOUT
 * ROWID key that leads with the segment, and the store then reads and indexes on as on a new
 * register. (PostgreSQL's 0009: test/integration/pg-audit-segments-migration.test.ts.)
 */
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { migrationsFolder } from '../../src/paths';
import { openSqliteRegisterStore } from '../../src/store/sqlite';
import { StatementCounter } from '../../src/store/types';
import { migrationsBefore } from '../support/migrations';
import { syntheticIds } from '../support/people';

describe('SQLite migration 0008 (audit index in segments) on a register with an audit log', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'krr-migrate-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('makes what was indexed segment 0, and the store reads it and indexes on into it', async () => {
    const file = path.join(dir, 'krr.sqlite');
    const sqlite = new Database(file);
    migrate(drizzle(sqlite), { migrationsFolder: migrationsBefore(migrationsFolder, dir, 8) });
    const [a, b] = syntheticIds(2, 8008).sort();
    const at = Date.UTC(2026, 10, 1);
    // Ids from 5: retention had deleted the first four, so segment 0 begins where the log does.
    const request = sqlite.prepare("insert into lookup_request (id, looked_up_at, agency_org_number, scopes, person_ids) values (?, ?, '991825827', '', ?)");
    request.run(5, at, JSON.stringify([a, b]));
    request.run(6, at + 1000, JSON.stringify([a]));
    request.run(7, at + 2000, JSON.stringify([b]));
    // The old indexer's state: the first two requests indexed, the third not yet.
    const row = sqlite.prepare('insert into lookup_person (person_id, request_id, scopes) values (?, ?, null)');
    row.run(a, 5);
    row.run(b, 5);
    row.run(a, 6);
    sqlite.prepare('update lookup_index_state set indexed_through = 6 where id = 1').run();

    migrate(drizzle(sqlite), { migrationsFolder });
    expect(sqlite.prepare('select segment, person_id, request_id from lookup_person order by 1, 2, 3').raw().all()).toEqual([
      [0, a, 5],
      [0, a, 6],
      [0, b, 5],
    ]);
    expect(sqlite.prepare('select segment, first_request, last_request, rows from lookup_segment').raw().all()).toEqual([[0, 5, 6, 3]]);
    expect(sqlite.prepare("select sql from sqlite_master where name = 'lookup_person'").pluck().get()).toMatch(/PRIMARY KEY\(`segment`, `person_id`, `request_id`\)\s*\) WITHOUT ROWID/);
    expect(sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
    sqlite.close();

    const store = openSqliteRegisterStore(file);
    try {
      const log = store.forRequest(new StatementCounter()).lookups;
      const times = async (id: string) => (await log.lookupsOf(id, 10)).map((e) => (e.lookedUpAt.getTime() - at) / 1000);
      // Segment 0 and the unindexed tail alike.
      expect([await times(a), await times(b)]).toEqual([
        [1, 0],
        [2, 0],
      ]);
      store.auditLog.indexAll();
      expect(store.sqlite.prepare('select segment, first_request, last_request, rows from lookup_segment').raw().all()).toEqual([[0, 5, 7, 4]]);
      expect([await times(a), await times(b)]).toEqual([
        [1, 0],
        [2, 0],
      ]);
    } finally {
      await store.close();
    }
  });
});
