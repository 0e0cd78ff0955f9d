/**
 * The PostgreSQL register store's own mechanics (src/store/postgres): advisory locks, the
 * change counter, several replicas on one database, statement counts, the group commit
 * of the lookup log, seeding. What every store must do is in test/store/ (run on both). Runs in jest's `postgres` project,
 * on the server test/support/global-setup.js starts (or KRR_TEST_POSTGRES_URL /
 * KRR_DATABASE_URL names); skipped without one, except under CI=true, where it fails.
 *
 * Two stores opened on one database stand for two gateway replicas.
 */
import pg from 'pg';
import { generatePopulation } from '../../db/seed/generate';
import { MAX_PERSON_LOCKS } from '../../src/store/postgres/executor';
import { openPostgresRegisterStore, redactedUrl } from '../../src/store/postgres';
import { StatementCounter, type ContactPointWithDuplicate, type PersonRecord, type RegisterStore, type RequestStore } from '../../src/store/types';
import { change, OPEN_LIMITS, planned } from '../support/citizen-writes';
import { anEntry, idSupply } from '../support/people';
import { createScratchDatabase, describeWithPostgres, postgresUrl, type ScratchDatabase } from '../support/postgres';
import { StagingRows } from '../../src/store/bulk-rows';

const T0 = new Date('2026-01-10T10:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

/** Synthetic identity numbers (month + 80, valid check digits), each used once. */
const newId = idSupply(3000, 5252);
/** Not synthetic (month 01) and with wrong check digits, so nobody's: for what sample ids must leave out. */
const NOT_SYNTHETIC = '01010100000';

const record = (id: string, overrides: Partial<PersonRecord> = {}) => anEntry(id, T0, overrides);

describeWithPostgres('PostgreSQL register store', () => {
  let scratch: ScratchDatabase;
  let store: RegisterStore;
  /** A second replica on the same database. */
  let other: RegisterStore;
  /** Direct SQL, outside both stores. */
  let admin: pg.Pool;
  const sql = async <R extends pg.QueryResultRow = Record<string, unknown>>(text: string, values: unknown[] = []) => (await admin.query<R>(text, values)).rows;
  const latest = async () => Number((await sql<{ n: string }>('select last_change_number as n from change_counter'))[0].n);
  const req = (counter = new StatementCounter()): RequestStore => store.forRequest(counter);

  beforeAll(async () => {
    scratch = await createScratchDatabase(postgresUrl!, 'krr_pgregister');
    [store, other] = await Promise.all([openPostgresRegisterStore(scratch.url), openPostgresRegisterStore(scratch.url)]);
    // int8 as a number, as the store's own pool has it.
    const types = { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? Number : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser };
    admin = new pg.Pool({ connectionString: scratch.url, max: 2, types });
  });

  afterAll(async () => {
    await Promise.all([store?.close(), other?.close(), admin?.end()]);
    await scratch?.drop();
  });

  describe('the store itself', () => {
    it('says what it is and where, without the password', async () => {
      expect(store.kind).toBe('postgres');
      expect(store.location).toBe(redactedUrl(scratch.url));
      expect(redactedUrl('postgres://krr:s3cret@db.example:5432/krr?sslmode=require')).toBe('postgres://krr@db.example:5432/krr?sslmode=require');
      expect(redactedUrl('postgres://db.example/krr?password=s3cret')).not.toContain('s3cret');
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('applies the session settings to every connection', async () => {
      const { rows } = await (store as unknown as { pool: pg.Pool }).pool.query<Record<string, string>>(
        `select current_setting('lock_timeout') as lock, current_setting('statement_timeout') as statement,
           current_setting('idle_in_transaction_session_timeout') as idle`,
      );
      expect(rows[0]).toEqual({ lock: '5s', statement: '10s', idle: '10s' });
    });

  });

  describe('startBulkImport', () => {
    it("writes a register whose statements outlast the pool's 10 s statement timeout (an import at national scale)", async () => {
      // Someone there already: into an empty register the load would set user triggers aside.
      await store.replacePeople([record(newId())], 'IMPORT', T0);
      // One statement of the commit made slower than the timeout on purpose.
      await sql(`create function krr_test_slow() returns trigger language plpgsql as $$ begin perform pg_sleep(10.5); return null; end $$`);
      await sql('create trigger krr_test_slow after insert on digital_post for each statement execute function krr_test_slow()');
      try {
        const records = [record(newId()), record(newId())];
        const bulk = await store.startBulkImport('IMPORT', T0);
        await bulk.stage(new StagingRows().batch(records));
        await expect(bulk.commit()).resolves.toMatchObject({ written: 2 });
        expect((await req().people.people(records.map((r) => r.id))).map((r) => r?.id)).toEqual(records.map((r) => r.id));
        // The pool's connections still have their timeout.
        const { rows } = await (store as unknown as { pool: pg.Pool }).pool.query<{ t: string }>(`select current_setting('statement_timeout') as t`);
        expect(rows[0].t).toBe('10s');
      } finally {
        await sql('drop trigger krr_test_slow on digital_post');
        await sql('drop function krr_test_slow()');
      }
    }, 60_000);

    it("stages text as it is, COPY's escapes and the word for null included", async () => {
      const id = newId();
      const odd = 'back\\slash\ttab\nnewline\rreturn \\N';
      const base = record(id);
      const bulk = await store.startBulkImport('IMPORT', T0);
      await bulk.stage(new StagingRows().batch([{ ...base, digitalPost: { ...base.digitalPost!, mailboxAddress: odd, certificate: `-----BEGIN\n${odd}\n-----END` } }]));
      await bulk.commit();
      const [entry] = await req().people.entries([id]);
      expect(entry?.digitalPost).toMatchObject({ mailboxAddress: odd, certificate: `-----BEGIN\n${odd}\n-----END` });
    });

    describe('into an empty register', () => {
      /** What the load sets aside and must put back: keys, foreign keys, indexes, triggers and whether each fires. */
      const catalog = async (on: pg.Pool) =>
        (
          await on.query<{ what: string }>(
            `select 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated as what from pg_constraint where connamespace = 'public'::regnamespace
             union all select 'index ' || pg_get_indexdef(indexrelid) from pg_index i join pg_class c on c.oid = i.indrelid where c.relnamespace = 'public'::regnamespace
             union all select 'trigger ' || tgrelid::regclass || ' ' || tgname || ' ' || tgenabled::text from pg_trigger where not tgisinternal
             order by 1`,
          )
        ).rows.map((r) => r.what);
      let empty: ScratchDatabase;
      let emptyStore: RegisterStore;
      let emptyAdmin: pg.Pool;
      beforeEach(async () => {
        empty = await createScratchDatabase(postgresUrl!, 'krr_pgempty');
        emptyStore = await openPostgresRegisterStore(empty.url);
        emptyAdmin = new pg.Pool({ connectionString: empty.url, max: 1 });
      });
      afterEach(async () => {
        await Promise.all([emptyStore?.close(), emptyAdmin?.end()]);
        await empty?.drop();
      });
      const load = async (records: PersonRecord[]) => {
        const bulk = await emptyStore.startBulkImport('IMPORT', T0);
        await bulk.stage(new StagingRows().batch(records));
        return bulk.commit();
      };

      it('puts back every key, index, foreign key and trigger it set aside, and they work afterwards', async () => {
        const before = await catalog(emptyAdmin);
        expect(before.filter((w) => w.startsWith('trigger')).length).toBeGreaterThan(0);
        const [a, b] = [newId(), newId()];
        const shared = { address: 'Shared@Example.com', updatedAt: T0, lastVerifiedAt: null, lastValidatedAt: null };
        await expect(load([record(a, { email: shared, mobile: null }), record(b, { email: shared, mobile: null })])).resolves.toMatchObject({ written: 2, changeNumbers: { first: 1, last: 2 } });
        expect(await catalog(emptyAdmin)).toEqual(before);
        const flags = async () => (await emptyStore.forRequest(new StatementCounter()).people.entries([a, b])).map((e) => e?.contactPoints.map((p) => `${p.channel}:${p.duplicated}`));
        expect(await flags()).toEqual([['EMAIL:true'], ['EMAIL:true']]);
        // The read model's triggers fire again: b moves away, a's flag follows.
        await emptyStore.replacePeople([record(b, { email: { ...shared, address: 'b@example.com' }, mobile: null })], 'IMPORT', T0);
        expect(await flags()).toEqual([['EMAIL:false'], ['EMAIL:false']]);
        // The keys and foreign keys hold again.
        await expect(emptyAdmin.query(`insert into contact_point (person_id, channel, address, address_key, updated_at) values ('${NOT_SYNTHETIC}', 'EMAIL', 'x@example.com', 'x@example.com', now())`)).rejects.toThrow(/foreign key/);
        await expect(emptyAdmin.query(`insert into person_lookup (id, status, reserved, updated_at, change_number) select id, status, reserved, updated_at, change_number from person_lookup limit 1`)).rejects.toThrow(/duplicate key/);
      });

      it('puts each trigger back in the state it was in: one disabled by the operator stays disabled, one enabled always stays so', async () => {
        const names = (await emptyAdmin.query<{ name: string }>(`select tgname as name from pg_trigger where tgrelid = 'person'::regclass and not tgisinternal order by 1`)).rows.map((r) => r.name);
        expect(names.length).toBeGreaterThan(1);
        await emptyAdmin.query(`alter table person disable trigger ${names[0]}`);
        await emptyAdmin.query(`alter table person enable always trigger ${names[1]}`);
        const before = await catalog(emptyAdmin);
        await expect(load([record(newId())])).resolves.toMatchObject({ written: 1 });
        expect(await catalog(emptyAdmin)).toEqual(before);
      });

      it('takes the general path where remaking an index would lose something of it (a comment)', async () => {
        await emptyAdmin.query(`comment on index contact_point_address_idx is 'kept by the load'`);
        const before = await catalog(emptyAdmin);
        await expect(load([record(newId()), record(newId())])).resolves.toMatchObject({ written: 2 });
        expect(await catalog(emptyAdmin)).toEqual(before);
        expect((await emptyAdmin.query(`select obj_description('contact_point_address_idx'::regclass, 'pg_class') as c`)).rows[0].c).toBe('kept by the load');
      });

      it('leaves the register and its catalog as they were when the load fails half-way', async () => {
        // A rule the load does not set aside (a CHECK), broken by the second person.
        const [a, b] = [newId(), newId()];
        await emptyAdmin.query(`alter table person add constraint krr_test_not_b check (id <> '${b}')`);
        const before = await catalog(emptyAdmin);
        await expect(load([record(a), record(b)])).rejects.toThrow(/krr_test_not_b/);
        expect(await catalog(emptyAdmin)).toEqual(before);
        expect((await emptyAdmin.query('select (select count(*) from person)::int + (select count(*) from change_log)::int + (select count(*) from person_lookup)::int as n')).rows[0].n).toBe(0);
        expect((await emptyAdmin.query('select last_change_number::int as n from change_counter')).rows[0].n).toBe(0);
      });
    });
  });

  describe('replacePeople', () => {
    it(`writes a large batch (over ${MAX_PERSON_LOCKS} people: the bulk lock instead of one lock each)`, async () => {
      const records = Array.from({ length: MAX_PERSON_LOCKS * 3 }, () => record(newId()));
      const start = await latest();
      const numbers = await store.replacePeople(records, 'IMPORT', T0);
      expect(numbers).toEqual(records.map((_, i) => start + 1 + i));
      const rows = await req().people.people(records.map((r) => r.id));
      expect(rows.map((r) => r?.changeNumber)).toEqual(numbers);
    });

    it('runs alongside citizen writes of the same people from another replica without a deadlock or a gap', async () => {
      const ids = Array.from({ length: 20 }, () => newId());
      await store.replacePeople(ids.map((id) => record(id)), 'IMPORT', T0);
      const start = await latest();
      const citizen = planned(other.forRequest(new StatementCounter()).citizen);
      const results = await Promise.all([
        ...Array.from({ length: 5 }, (_, round) => store.replacePeople([...ids].reverse().map((id) => record(id, { language: 'en' })), 'IMPORT', T0)),
        ...ids.map((id, i) => citizen.setLanguage(id, i % 2 ? 'nn' : 'se', T0)),
      ]);
      const taken = results.flatMap((r) => (Array.isArray(r) ? r : []));
      expect(taken).toHaveLength(100);
      const end = await latest();
      expect(end - start).toBe(100 + ids.length);
      const log = await sql<{ change_number: string }>('select change_number from change_log where change_number > $1 order by change_number', [start]);
      expect(log.map((r) => Number(r.change_number))).toEqual(Array.from({ length: end - start }, (_, i) => start + 1 + i));
      // Every person's number is their newest change.
      const stale = await sql(
        `select p.id from person p join (select person_id, max(change_number) n from change_log group by person_id) l on l.person_id = p.id
         where p.change_number <> l.n and p.id = any($1::text[])`,
        [ids],
      );
      expect(stale).toEqual([]);
    });
  });

  describe('statement counting', () => {
    it('counts one statement per table for 1000 ids, into the request and into the store', async () => {
      const ids = Array.from({ length: 1000 }, (_, i) => (i % 2 ? newId() : `missing-${i}`));
      await store.replacePeople(
        ids.filter((id) => !id.startsWith('missing')).map((id) => record(id)),
        'IMPORT',
        T0,
      );
      const counter = new StatementCounter();
      const before = store.statements.count;
      const reads = req(counter).people;
      const [people, points, posts] = await Promise.all([reads.people(ids), reads.contactPoints(ids), reads.digitalPost(ids)]);
      expect(people.filter(Boolean)).toHaveLength(500);
      expect(points.filter((p) => p.length > 0)).toHaveLength(500);
      expect(posts.filter(Boolean)).toHaveLength(500);
      expect(counter.count).toBe(3);
      expect(store.statements.count - before).toBe(3);
    });

    it('counts a feed page as two statements, and each citizen write as its queries (not BEGIN/COMMIT or the lock)', async () => {
      const counter = new StatementCounter();
      const r = req(counter);
      await r.people.changePage(0, 10);
      expect(counter.count).toBe(2);

      counter.count = 0;
      const id = newId();
      await planned(r.citizen).setChannels(id, [change('EMAIL', `c.${id}@example.org`), change('MOBILE', `+4790${id.slice(-6)}`)], T0, minutes(10));
      // The state (person, channels, codes, code log); the person insert; per channel the
      // channel and its code; the log; the prune; the change number; the person row.
      expect(counter.count).toBe(4 + 1 + 2 * 2 + 1 + 1 + 1 + 1);
      counter.count = 0;
      await planned(r.citizen).setLanguage(id, 'nn', T0);
      expect(counter.count).toBe(4 + 2);
      counter.count = 0;
      expect(await planned(r.citizen).pendingCode(id, 'EMAIL')).toBeDefined();
      expect(counter.count).toBe(4);
    });

    it('does not charge the request for its lookup record (the caller does), but the store counts the flush', async () => {
      const counter = new StatementCounter();
      const before = store.statements.count;
      const r = req(counter);
      await r.lookups.record({ agencyOrgNumber: '991825827', personIds: [newId(), newId()], scopes: ['b', 'a'], at: T0 });
      expect(counter.count).toBe(0);
      expect(store.statements.count - before).toBe(1);
      await r.lookups.countLookupsOf('x');
      await r.lookups.lookupsOf('x', 10);
      expect(counter.count).toBe(2);
    });
  });

  describe('the change feed page', () => {
    it('reads the page and the newest number from one snapshot: a consumer paging during writes misses nothing', async () => {
      const ids = Array.from({ length: 30 }, () => newId());
      await store.replacePeople(ids.map((id) => record(id)), 'IMPORT', T0);
      let position = await latest();
      const seen = new Map<string, number>();
      const pages: { after: number; rows: number[]; latest: number }[] = [];
      const limit = 4;
      const read = async () => {
        const page = await req().people.changePage(position, limit);
        pages.push({ after: position, rows: page.rows.map((r) => r.changeNumber), latest: page.latestChangeNumber });
        for (const row of page.rows) seen.set(row.id, Math.max(seen.get(row.id) ?? 0, row.changeNumber));
        position = page.rows.length < limit ? page.latestChangeNumber : page.rows[page.rows.length - 1].changeNumber;
        return page.rows.length;
      };
      let writing = true;
      const consumer = (async () => {
        while (writing) await read();
      })();
      await Promise.all(
        Array.from({ length: 120 }, (_, i) => {
          const citizen = planned((i % 2 ? store : other).forRequest(new StatementCounter()).citizen);
          return citizen.setLanguage(ids[(i * 7) % ids.length], i % 3 ? 'nn' : 'en', T0);
        }),
      );
      writing = false;
      await consumer;
      while ((await read()) === limit);
      const finals = await sql<{ id: string; change_number: number }>('select id, change_number from person where id = any($1::text[])', [ids]);
      for (const { id, change_number } of finals) expect([id, seen.get(id)]).toEqual([id, change_number]);
      for (const page of pages) {
        expect(page.rows.every((n) => n > page.after && n <= page.latest)).toBe(true);
        expect([...page.rows].sort((x, y) => x - y)).toEqual(page.rows);
      }
      expect(pages.length).toBeGreaterThan(2);
    });
  });

  describe('citizen writes', () => {
    const codeOf = async (id: string, channel: 'EMAIL' | 'MOBILE') => planned(req().citizen).pendingCode(id, channel);
    const pointOf = async (id: string, channel: 'EMAIL' | 'MOBILE') => (await req().people.contactPoints([id]))[0].find((p) => p.channel === channel);

    it('takeAttempt from two replicas at once: exactly the limit is taken, never more', async () => {
      const id = newId();
      await planned(req().citizen).setChannels(id, [change('EMAIL', `a.${id}@example.org`, 'a')], T0, minutes(10));
      const taken = await Promise.all(Array.from({ length: 20 }, (_, i) => planned((i % 2 ? store : other).forRequest(new StatementCounter()).citizen).takeAttempt(id, 'EMAIL', 'a', 5)));
      expect(taken.filter((n) => n !== null).sort()).toEqual([1, 2, 3, 4, 5]);
      expect((await codeOf(id, 'EMAIL'))?.failedAttempts).toBe(5);
    });

    it('numbers concurrent writes from two replicas 1..K without a gap, and each person carries their newest number', async () => {
      const ids = Array.from({ length: 12 }, () => newId());
      const start = await latest();
      const kinds = ['setChannels', 'setLanguage', 'setReservation', 'confirmChannels', 'deleteChannels'] as const;
      const results = await Promise.all(
        Array.from({ length: 150 }, (_, i) => {
          const c = planned((i % 2 ? store : other).forRequest(new StatementCounter()).citizen);
          const id = ids[i % ids.length];
          switch (kinds[i % kinds.length]) {
            case 'setChannels':
              return c.setChannels(id, [change('EMAIL', `x${i}.${id}@example.org`), change('MOBILE', `+479${String(i).padStart(7, '0')}`)], T0, minutes(10));
            case 'setLanguage':
              return c.setLanguage(id, 'nn', T0);
            case 'setReservation':
              return c.setReservation(id, i % 4 === 0, T0);
            case 'confirmChannels':
              return c.confirmChannels(id, T0);
            default:
              return c.deleteChannels(id, T0);
          }
        }),
      );
      expect(results).toHaveLength(150);
      const end = await latest();
      const log = await sql<{ change_number: number }>('select change_number from change_log where change_number > $1 order by change_number', [start]);
      expect(log.map((r) => Number(r.change_number))).toEqual(Array.from({ length: end - start }, (_, i) => start + 1 + i));
      const stale = await sql(
        `select p.id from person p join (select person_id, max(change_number) n from change_log group by person_id) l on l.person_id = p.id
         where p.change_number <> l.n and p.id = any($1::text[])`,
        [ids],
      );
      expect(stale).toEqual([]);
    });

    it('serialises one person across replicas: the final channels come from one request, never a mix', async () => {
      for (let round = 0; round < 15; round++) {
        const id = newId();
        await store.replacePeople([record(id)], 'IMPORT', T0);
        await Promise.all([
          planned(store.forRequest(new StatementCounter()).citizen).setChannels(id, [change('EMAIL', `a@${id}.example.org`), change('MOBILE', '+4741111111')], minutes(1), minutes(10)),
          planned(other.forRequest(new StatementCounter()).citizen).setChannels(id, [change('EMAIL', `b@${id}.example.org`), change('MOBILE', '+4742222222')], minutes(1), minutes(10)),
        ]);
        const [points] = await req().people.contactPoints([id]);
        const pair = points.map((p) => p.address).sort().join(' ');
        expect([`+4741111111 a@${id}.example.org`, `+4742222222 b@${id}.example.org`]).toContain(pair);
        const codes = await sql<{ address: string }>('select address from verification_code where person_id = $1 order by channel', [id]);
        expect(codes.map((c) => c.address).sort().join(' ')).toBe(pair);
      }
    });
    it('caps codes per address across citizens and replicas: parallel sends to one address from several people pass exactly the cap', async () => {
      const people = Array.from({ length: 8 }, () => newId());
      const address = `target.${people[0]}@example.org`;
      const limits = { ...OPEN_LIMITS, perAddressPerHour: 3 };
      const outcomes = await Promise.allSettled(
        people.map((id, i) => planned((i % 2 ? store : other).forRequest(new StatementCounter()).citizen, limits).setChannels(id, [change('EMAIL', address)], T0, minutes(10))),
      );
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(3);
      expect(outcomes.filter((o) => o.status === 'rejected').map((o) => String((o as PromiseRejectedResult).reason))).toEqual(Array(5).fill('Error: refused: ADDRESS_HOURLY'));
      expect(Number((await sql<{ n: string }>("select count(*) n from code_log where address_key = $1 and event = 'SENT'", [address]))[0].n)).toBe(3);
    });

    it('runs opposite lock orders for one person (delete, set, confirm, verify) from two replicas without a deadlock', async () => {
      const ids = Array.from({ length: 4 }, () => newId());
      await store.replacePeople(ids.map((id) => record(id)), 'IMPORT', T0);
      const writes: Promise<unknown>[] = [];
      for (let i = 0; i < 160; i++) {
        const c = planned((i % 2 ? store : other).forRequest(new StatementCounter()).citizen);
        const id = ids[i % ids.length];
        const which = Math.floor(i / ids.length) % 4;
        if (which === 0) writes.push(c.deleteChannels(id, T0));
        else if (which === 1) writes.push(c.setChannels(id, [change('EMAIL', `k.${id}@example.org`, 'k'), change('MOBILE', '+4790000004', 'k')], T0, minutes(10)));
        else if (which === 2) writes.push(c.confirmChannels(id, T0));
        else writes.push(c.consumeCode(id, 'EMAIL', 'k', 5, T0).then(() => c.takeAttempt(id, 'MOBILE', 'k', 5)));
      }
      const outcomes = await Promise.allSettled(writes);
      expect(outcomes.filter((o) => o.status === 'rejected').map((o) => String((o as PromiseRejectedResult).reason))).toEqual([]);
    });
  });

  describe('the lookup log', () => {
    it('writes the requests of one moment in one statement, resolves when committed, and reads them back newest first', async () => {
      const target = newId();
      const before = store.statements.count;
      const lookups = req().lookups;
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => lookups.record({ agencyOrgNumber: `99182582${i}`, personIds: [target, newId()], scopes: ['krr:person.contact', 'krr:person.reservation'], at: minutes(i) })),
      );
      expect(store.statements.count - before).toBe(1);
      expect(await lookups.countLookupsOf(target)).toBe(10);
      const newest = await lookups.lookupsOf(target, 4);
      expect(newest).toHaveLength(4);
      expect(newest[0]).toEqual({
        id: expect.any(Number),
        personId: target,
        agencyOrgNumber: expect.stringMatching(/^99182582\d$/),
        supplierOrgNumber: null,
        lookedUpAt: expect.any(Date),
        scopes: 'krr:person.contact krr:person.reservation',
      });
      const ids = newest.map((r) => r.id);
      expect([...ids].sort((a, b) => b - a)).toEqual(ids);
      const older = await lookups.lookupsOf(target, 100, ids[3]);
      expect(older).toHaveLength(6);
      expect(older.every((r) => r.id < ids[3])).toBe(true);
      expect(await lookups.countLookupsOf(newId())).toBe(0);
      // Nothing to record: no statement.
      const now = store.statements.count;
      await lookups.record({ agencyOrgNumber: '991825827', personIds: [], scopes: [], at: T0 });
      expect(store.statements.count).toBe(now);
    });

    it('keeps one flush in flight: records arriving meanwhile share the next one', async () => {
      const target = newId();
      const lookups = req().lookups;
      const before = store.statements.count;
      const first = lookups.record({ agencyOrgNumber: '991825827', personIds: [target], scopes: [], at: T0 });
      await new Promise((resolve) => setImmediate(resolve)); // the first flush has started
      const rest = Array.from({ length: 20 }, () => lookups.record({ agencyOrgNumber: '991825827', personIds: [target], scopes: [], at: T0 }));
      await Promise.all([first, ...rest]);
      expect(store.statements.count - before).toBe(2);
      expect(await lookups.countLookupsOf(target)).toBe(21);
    });

    it('rejects every record of a failed flush, and goes on with the next', async () => {
      const target = newId();
      const lookups = req().lookups;
      const outcomes = await Promise.allSettled([
        lookups.record({ agencyOrgNumber: '991825827', personIds: [target], scopes: [], at: T0 }),
        lookups.record({ agencyOrgNumber: '991825827', personIds: ['bad\u0000'], scopes: [], at: T0 }),
        lookups.record({ agencyOrgNumber: '991825827', personIds: [target], scopes: [], at: T0 }),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected', 'rejected']);
      expect(await lookups.countLookupsOf(target)).toBe(0);
      await lookups.record({ agencyOrgNumber: '991825827', personIds: [target], scopes: [], at: T0 });
      expect(await lookups.countLookupsOf(target)).toBe(1);
    });
  });
});

describeWithPostgres('PostgreSQL register store: seeding', () => {
  const scratches: ScratchDatabase[] = [];
  const stores: RegisterStore[] = [];
  const open = async (url: string, options = {}) => {
    const s = await openPostgresRegisterStore(url, options);
    stores.push(s);
    return s;
  };

  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
    for (const s of scratches) await s.drop();
  });

  it('seeds exactly once when two replicas start on the empty database together, numbered 1..N in generation order', async () => {
    const scratch = await createScratchDatabase(postgresUrl!, 'krr_pgseed');
    scratches.push(scratch);
    const [a, b] = await Promise.all([open(scratch.url), open(scratch.url)]);
    const options = { count: 2500, seed: 7, now: T0 };
    const progress: [number, number][] = [];
    const seeded = await Promise.all([a.seedIfEmpty(options, (done, total) => progress.push([done, total])), b.seedIfEmpty(options, (done, total) => progress.push([done, total]))]);
    expect([...seeded].sort((x, y) => x - y)).toEqual([0, 2500]);
    expect(await a.countPeople()).toBe(2500);
    expect(await b.seedIfEmpty(options)).toBe(0);

    const generated = [...generatePopulation(options)];
    const admin = new pg.Client({ connectionString: scratch.url });
    await admin.connect();
    try {
      const { rows: log } = await admin.query<{ change_number: string; person_id: string; kind: string; changed_at: Date }>('select * from change_log order by change_number');
      expect(log.map((r) => Number(r.change_number))).toEqual(generated.map((_, i) => i + 1));
      expect(log.map((r) => r.person_id)).toEqual(generated.map((r) => r.id));
      expect(new Set(log.map((r) => r.kind))).toEqual(new Set(['SEED']));
      expect(log[0].changed_at).toEqual(T0);
      const { rows: counter } = await admin.query<{ n: string }>('select last_change_number as n from change_counter');
      expect(Number(counter[0].n)).toBe(2500);
      const { rows: people } = await admin.query<{ id: string; change_number: string }>('select id, change_number from person order by change_number');
      expect(people.map((p) => p.id)).toEqual(generated.map((r) => r.id));
    } finally {
      await admin.end();
    }
    expect(progress.at(-1)).toEqual([2500, 2500]);
    expect(progress.map(([done]) => done)).toEqual([2500]); // one batch of the default size, from the one that seeded

    // The seed writes what replacePeople writes for the same records.
    const reference = await createScratchDatabase(postgresUrl!, 'krr_pgseedref');
    scratches.push(reference);
    const ref = await open(reference.url);
    const sample = generated.filter((_, i) => i % 97 === 0);
    await ref.replacePeople(sample, 'SEED', T0);
    const ids = sample.map((r) => r.id);
    const seededReads = a.forRequest(new StatementCounter()).people;
    const refReads = ref.forRequest(new StatementCounter()).people;
    // The duplicate flag depends on everyone else: the reference holds only the sample.
    const points = (lists: ContactPointWithDuplicate[][]) =>
      lists.map((l) => l.map(({ duplicated: _, ...p }) => p).sort((x, y) => x.channel.localeCompare(y.channel)));
    expect(points(await seededReads.contactPoints(ids))).toEqual(points(await refReads.contactPoints(ids)));
    expect(await seededReads.digitalPost(ids)).toEqual(await refReads.digitalPost(ids));
    const strip = (rows: ({ changeNumber: number } | null)[]) => rows.map((r) => r && { ...r, changeNumber: 0 });
    expect(strip(await seededReads.people(ids))).toEqual(strip(await refReads.people(ids)));
  });

  // How fast is the benchmark's business (npm run bench), not a test's: no time bound here.
  it('writes in batches, reporting progress after each', async () => {
    const scratch = await createScratchDatabase(postgresUrl!, 'krr_pgseed');
    scratches.push(scratch);
    const s = await open(scratch.url, { seedBatchSize: 3000 });
    const progress: number[] = [];
    expect(await s.seedIfEmpty({ count: 20_000, seed: 1, now: T0 }, (done, total) => progress.push(total === 20_000 ? done : -1))).toBe(20_000);
    expect(progress).toEqual([3000, 6000, 9000, 12000, 15000, 18000, 20000]);
    expect(await s.countPeople()).toBe(20_000);
    // The read model was derived for the seeded people (set-based, under krr.bulk_load).
    const sample = await s.syntheticSampleIds(50);
    const entries = await s.forRequest(new StatementCounter()).people.entries(sample);
    expect(entries.every((e, i) => e?.row.id === sample[i])).toBe(true);
    // A register that is not empty is left alone.
    expect(await s.seedIfEmpty({ count: 5, seed: 2, now: T0 })).toBe(0);
    expect(await s.countPeople()).toBe(20_000);
  });

  it('ping fails once the store is closed', async () => {
    const scratch = await createScratchDatabase(postgresUrl!, 'krr_pgseed');
    scratches.push(scratch);
    const s = await openPostgresRegisterStore(scratch.url);
    await s.ping();
    await s.close();
    await s.close(); // twice is fine
    await expect(s.ping()).rejects.toThrow();
  });
});
