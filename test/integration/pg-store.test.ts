/**
 * The PostgreSQL store's groundwork (src/store/postgres/connection.ts, db/schema.pg.ts, db/migrations-pg):
 * runs in jest's `postgres` project, on the server test/support/global-setup.js starts (or
 * KRR_TEST_POSTGRES_URL / KRR_DATABASE_URL names), in a scratch database of its own on that
 * server. Skipped without one, except under CI=true, where it fails.
 *
 * Two stores opened on one database stand for two gateway replicas: separate pools,
 * separate connections, only the database in common.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { eq, sql } from 'drizzle-orm';
import type * as sqliteTables from '../../db/schema';
import * as pgTables from '../../db/schema.pg';
import { latestChangeNumber, openPgStore, pgMigrationsFolder, recordChange, type PgStore } from '../../src/store/postgres/connection';
import type { DigitalPostRow, PersonRow } from '../../src/store/types';
import { createScratchDatabase, describeWithPostgres, postgresUrl, type ScratchDatabase } from '../support/postgres';

/**
 * Compile-time: both schemas give the same row types, and those fit the store's own row
 * types (src/store/types.ts), so loaders, resolvers and domain rules stay one code path
 * whichever store is behind them (`npm run typecheck`).
 */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Fits<A, B> = [A] extends [B] ? true : false;
type Row<T extends { $inferSelect: unknown }> = T['$inferSelect'];
const sameRowTypes: [
  Same<Row<typeof sqliteTables.person>, Row<typeof pgTables.person>>,
  Same<Row<typeof sqliteTables.contactPoint>, Row<typeof pgTables.contactPoint>>,
  Same<Row<typeof sqliteTables.digitalPost>, Row<typeof pgTables.digitalPost>>,
  Same<Row<typeof sqliteTables.verificationCode>, Row<typeof pgTables.verificationCode>>,
  Same<Row<typeof sqliteTables.changeLog>, Row<typeof pgTables.changeLog>>,
  Same<Row<typeof sqliteTables.codeLog>, Row<typeof pgTables.codeLog>>,
  // The audit log's tables differ on purpose (ids as JSON text / text[]); both stores map them to `LookupEntry`.
  // `lookup_segment` too: SQLite's keeps each segment's run of request ids (its indexer goes in id order),
  // PostgreSQL's requests name their segment.
  Same<Row<typeof sqliteTables.lookupPerson>, Row<typeof pgTables.lookupPerson>>,
  Fits<Row<typeof pgTables.person>, PersonRow>,
  // A mailbox row holds its certificate's id; the store's row, the certificate's value.
  Fits<Omit<Row<typeof pgTables.digitalPost>, 'certificateId'>, Omit<DigitalPostRow, 'certificate'>>,
] = [true, true, true, true, true, true, true, true, true];
void sameRowTypes;

/** Tables and views: `lookup_audit` is the view over the audit log. */
const TABLES = ['address_use', 'certificate', 'change_counter', 'change_log', 'code_log', 'contact_point', 'digital_post', 'lookup_audit', 'lookup_person', 'lookup_request', 'lookup_segment', 'person', 'person_lookup', 'rate_limit', 'upstream_sync', 'verification_code'];

describeWithPostgres('PostgreSQL store: migrations and gap-free change numbers across replicas', () => {
  let scratch: ScratchDatabase;
  let replicaA: PgStore;
  let replicaB: PgStore;
  /** A third process that only reads, as a change-feed consumer's replica would. */
  let reader: PgStore;

  beforeAll(async () => {
    scratch = await createScratchDatabase(postgresUrl!, 'krr_pgstore');
    // Both replicas start together on the empty database: both try to migrate at once.
    [replicaA, replicaB] = await Promise.all([openPgStore(scratch.url), openPgStore(scratch.url)]);
    reader = await openPgStore(scratch.url, { migrate: false, maxConnections: 2 });
  });

  afterAll(async () => {
    await Promise.all([replicaA?.close(), replicaB?.close(), reader?.close()]);
    await scratch?.drop();
  });

  it('applies db/migrations-pg exactly once when two processes open the empty database together', async () => {
    const { rows: tables } = await replicaA.pool.query<{ table_name: string }>(
      `select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
    );
    expect(tables.map((t) => t.table_name)).toEqual(TABLES);

    const journal = JSON.parse(readFileSync(path.join(pgMigrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
    const { rows: applied } = await replicaA.pool.query<{ n: number }>('select count(*) as n from drizzle.__drizzle_migrations');
    expect(applied[0].n).toBe(journal.entries.length);

    const { rows: indexes } = await replicaA.pool.query<{ indexname: string }>(
      `select indexname from pg_indexes where schemaname = 'public' and indexname like '%_idx' order by indexname`,
    );
    expect(indexes.map((i) => i.indexname)).toEqual(['change_log_person_idx', 'code_log_address_idx', 'code_log_at_idx', 'code_log_person_idx', 'contact_point_address_idx', 'lookup_request_at_idx', 'lookup_request_unindexed_idx', 'person_change_number_idx']);

    // The counter: one row, from the migration, and no room for a second.
    expect(await replicaA.db.select().from(pgTables.changeCounter)).toEqual([{ id: 1, lastChangeNumber: 0 }]);
    await expect(replicaA.pool.query('insert into change_counter (id, last_change_number) values (2, 0)')).rejects.toThrow(/change_counter_single_row/);

    // A third start finds nothing to do.
    const again = await openPgStore(scratch.url);
    await again.close();
    const { rows: after } = await replicaA.pool.query<{ n: number }>('select count(*) as n from drizzle.__drizzle_migrations');
    expect(after[0].n).toBe(journal.entries.length);
  });

  it("gives back the SQLite store's row types: Date, boolean, number", async () => {
    const at = new Date('2026-03-04T05:06:07.089Z');
    const row = {
      id: '01819012365',
      status: 'ACTIVE' as const,
      reserved: true,
      reservedAt: at,
      reservationUpdatedAt: at,
      language: 'nn' as const,
      languageUpdatedAt: null,
      updatedAt: at,
      changeNumber: 2 ** 40,
    };
    await replicaA.db.insert(pgTables.person).values(row);
    // Written by one replica, read by the other, through Drizzle and through raw SQL.
    const [read] = await replicaB.db.select().from(pgTables.person).where(eq(pgTables.person.id, row.id));
    expect(read).toEqual(row);
    const { rows } = await replicaB.pool.query('select reserved, reserved_at, language_updated_at, change_number from person where id = $1', [row.id]);
    expect(rows[0]).toEqual({ reserved: true, reserved_at: at, language_updated_at: null, change_number: 2 ** 40 });
    await replicaA.db.delete(pgTables.person).where(eq(pgTables.person.id, row.id));
  });

  it('numbers concurrent changes from two replicas 1..K with no gap, in commit order, whatever rolls back', async () => {
    const TRANSACTIONS = 150;
    const committed: number[] = [];
    const takenByFailures: number[] = [];
    class Abandon extends Error {}

    /** Every snapshot must hold changes 1..n and nothing else: what the change feed relies on. */
    const snapshots: { count: number; max: number; latest: number }[] = [];
    let writing = true;
    const watch = (async () => {
      while (writing) {
        snapshots.push(
          await reader.db.transaction(
            async (tx) => {
              const { rows } = await tx.execute<{ count: string; max: string }>(sql`select count(*) as count, coalesce(max(change_number), 0) as max from change_log`);
              return { count: Number(rows[0].count), max: Number(rows[0].max), latest: await latestChangeNumber(tx) };
            },
            { isolationLevel: 'repeatable read', accessMode: 'read only' },
          ),
        );
      }
    })();

    const write = async (i: number) => {
      const replica = i % 2 === 0 ? replicaA : replicaB;
      let taken: number | undefined;
      try {
        await replica.db.transaction(async (tx) => {
          taken = await recordChange(tx, `p${i}`, 'IMPORT', new Date());
          // Hold the number a moment, so other writers queue behind it.
          await sleep(i % 3);
          if (i % 5 === 1) tx.rollback(); // an explicit rollback
          if (i % 5 === 3) {
            // A later statement fails (no such person): PostgreSQL aborts the transaction.
            await tx.insert(pgTables.contactPoint).values({ personId: `nobody-${i}`, channel: 'EMAIL', address: 'a@example.org', addressKey: 'a@example.org', updatedAt: new Date() });
          }
          if (i % 5 === 4 && i % 2 === 1) throw new Abandon(); // the application gives up
        });
        committed.push(taken!);
      } catch (error) {
        if (taken === undefined) throw error; // failed before it took a number: not what this test is about
        takenByFailures.push(taken);
      }
    };
    await Promise.all(Array.from({ length: TRANSACTIONS }, (_, i) => write(i)));
    writing = false;
    await watch;

    const failed = TRANSACTIONS - committed.length;
    expect(failed).toBe(takenByFailures.length);
    expect(failed).toBeGreaterThan(TRANSACTIONS / 3);

    // Exactly 1..K: every committed change has its own number, none is missing.
    const K = committed.length;
    const oneToK = Array.from({ length: K }, (_, i) => i + 1);
    expect([...committed].sort((a, b) => a - b)).toEqual(oneToK);
    const { rows } = await replicaA.pool.query<{ change_number: number }>('select change_number from change_log order by change_number');
    expect(rows.map((r) => r.change_number)).toEqual(oneToK);
    expect(await latestChangeNumber(replicaB.db)).toBe(K);
    // A failed write gave its number back: the next writer took it.
    expect(takenByFailures.some((n) => committed.includes(n))).toBe(true);

    // No snapshot ever saw a number before the ones below it: commit order is number order.
    expect(snapshots.length).toBeGreaterThan(1);
    const broken = snapshots.filter((s) => s.count !== s.max || s.latest !== s.max);
    expect(broken).toEqual([]);
    expect(snapshots.every((s) => s.max <= K)).toBe(true);
    expect(new Set(snapshots.map((s) => s.max)).size).toBeGreaterThan(1); // it did watch the numbers grow
  });

  it('refuses to number a change when the counter row is missing, rather than starting again at 1', async () => {
    const error = await replicaA.db
      .transaction(async (tx) => {
        await tx.delete(pgTables.changeCounter);
        await recordChange(tx, 'p', 'IMPORT', new Date());
      })
      .catch((e: unknown) => e);
    expect(String(error)).toMatch(/change_counter has no row/);
    expect(await latestChangeNumber(replicaA.db)).toBeGreaterThan(0); // rolled back: the row is still there
  });
});
