/**
 * PostgreSQL migration 0009 (the audit index in segments) on a register whose audit log
 * already holds indexed and unindexed requests: what was indexed becomes segment 0, each
 * indexed request names it (instead of the `indexed` flag), and the store then reads and
 * indexes on as on a new register. Runs in jest's `postgres` project.
 */
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openPostgresRegisterStore } from '../../src/store/postgres';
import { pgMigrationsFolder } from '../../src/store/postgres/connection';
import { StatementCounter } from '../../src/store/types';
import { migrationsBefore } from '../support/migrations';
import { syntheticIds } from '../support/people';
import { createScratchDatabase, describeWithPostgres, postgresUrl, type ScratchDatabase } from '../support/postgres';

describeWithPostgres('PostgreSQL migration 0009 (audit index in segments) on a register with an audit log', () => {
  let dir: string;
  let scratch: ScratchDatabase;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'krr-migrate-pg-'));
    scratch = await createScratchDatabase(postgresUrl!, 'krr_segments');
  });
  afterAll(async () => {
    await scratch?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes what was indexed segment 0, names it on the indexed requests, and the store indexes on into it', async () => {
    const [a, b] = syntheticIds(2, 9009).sort();
    const at = Date.UTC(2026, 10, 1);
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    try {
      await migrate(drizzle(client), { migrationsFolder: migrationsBefore(pgMigrationsFolder, dir, 9) });
      const request = `insert into lookup_request (id, looked_up_at, agency_org_number, scopes, person_ids, indexed) values ($1, $2, '991825827', '', $3, $4)`;
      await client.query(request, [1, new Date(at), [a, b], true]);
      await client.query(request, [2, new Date(at + 1000), [a], true]);
      await client.query(request, [3, new Date(at + 2000), [b], false]);
      await client.query(`insert into lookup_person (person_id, request_id) values ($1, 1), ($2, 1), ($1, 2)`, [a, b]);

      await migrate(drizzle(client), { migrationsFolder: pgMigrationsFolder });
      const rows = async (sql: string) => (await client.query({ text: sql, rowMode: 'array' })).rows;
      expect(await rows('select segment, person_id, request_id::int from lookup_person order by 1, 2, 3')).toEqual([
        [0, a, 1],
        [0, a, 2],
        [0, b, 1],
      ]);
      expect(await rows('select segment, rows::int from lookup_segment')).toEqual([[0, 3]]);
      expect(await rows('select id::int, segment from lookup_request order by id')).toEqual([
        [1, 0],
        [2, 0],
        [3, null],
      ]);
      expect(await rows(`select column_name from information_schema.columns where table_name = 'lookup_request' and column_name = 'indexed'`)).toEqual([]);
      expect(await rows(`select pg_get_constraintdef(oid) from pg_constraint where conrelid = 'lookup_person'::regclass and contype = 'p'`)).toEqual([['PRIMARY KEY (segment, person_id, request_id)']]);
      expect(await rows(`select pg_get_indexdef('lookup_request_unindexed_idx'::regclass)`)).toEqual([[expect.stringMatching(/WHERE \(segment IS NULL\)$/)]]);
    } finally {
      await client.end();
    }

    const store = await openPostgresRegisterStore(scratch.url);
    try {
      const log = store.forRequest(new StatementCounter()).lookups;
      const times = async (id: string) => (await log.lookupsOf(id, 10)).map((e) => (e.lookedUpAt.getTime() - at) / 1000);
      const seen = async () => [await times(a), await times(b)];
      // Segment 0 and the unindexed tail alike.
      expect(await seen()).toEqual([
        [1, 0],
        [2, 0],
      ]);
      store.startAuditMaintenance(0);
      const probe = new pg.Client({ connectionString: scratch.url });
      await probe.connect();
      try {
        const unindexed = async () => Number((await probe.query('select count(*) from lookup_request where segment is null')).rows[0].count);
        for (let i = 0; i < 200 && (await unindexed()) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 50));
        expect((await probe.query({ text: 'select segment, rows::int from lookup_segment', rowMode: 'array' })).rows).toEqual([[0, 4]]);
      } finally {
        await probe.end();
      }
      expect(await seen()).toEqual([
        [1, 0],
        [2, 0],
      ]);
    } finally {
      await store.close();
    }
  });
});
