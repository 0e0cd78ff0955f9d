/**
 * The audit log's segments under several PostgreSQL replicas at once: three indexers and two
 * retention loops on pools of their own, lookups recorded all the while (half of them already
 * expired, their times out of id order), and the newest segment made full every few
 * milliseconds so that segments roll over under them. A reader checks throughout that a
 * citizen sees every committed, unexpired lookup of theirs, each once. Runs in jest's
 * `postgres` project.
 */
import pg from 'pg';
import { openPgStore, PG_SESSION_OPTIONS, type PgStore } from '../../src/store/postgres/connection';
import { GroupCommitLookups, LookupMaintenance, PgLookupLog } from '../../src/store/postgres/lookup-log';
import { SEGMENT_ROWS } from '../../src/store/audit-record';
import { StatementCounter } from '../../src/store/types';
import { syntheticIds } from '../support/people';
import { createScratchDatabase, describeWithPostgres, postgresUrl, type ScratchDatabase } from '../support/postgres';

const DAY = 86_400_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeWithPostgres('the audit log on several PostgreSQL replicas: segments rolling over under indexers and retention', () => {
  let scratch: ScratchDatabase;
  let store: PgStore;
  let replicas: pg.Pool[];

  beforeAll(async () => {
    scratch = await createScratchDatabase(postgresUrl!, 'krr_segments_race');
    store = await openPgStore(scratch.url, { maxConnections: 4 });
    replicas = [0, 1, 2].map(() => new pg.Pool({ connectionString: scratch.url, max: 3, options: PG_SESSION_OPTIONS }));
  });
  afterAll(async () => {
    await Promise.all((replicas ?? []).map((p) => p.end()));
    await store?.close();
    await scratch?.drop();
  });

  it('loses no committed lookup, shows none twice, and indexes each into the segment its request names', async () => {
    const statements = new StatementCounter();
    const group = new GroupCommitLookups(replicas[0], statements);
    const log = new PgLookupLog(group, replicas[1], [statements]);
    const maintenance = replicas.map((pool) => new LookupMaintenance(pool, statements));
    const people = syntheticIds(8, 2525);
    const now = Date.now();
    const cutoff = new Date(now - 1000 * DAY);
    /** Committed, unexpired lookups per person, by their time (each one's own). */
    const kept = new Map(people.map((p) => [p, new Set<number>()]));
    const problems: string[] = [];
    let stop = false;
    let k = 0;
    const loop = async (step: () => Promise<unknown>) => {
      while (!stop) {
        await step().catch((error: unknown) => problems.push(String(error)));
        await sleep(Math.random() * 5);
      }
    };
    const record = async () => {
      const ids = [...people].sort(() => Math.random() - 0.5).slice(0, 1 + Math.floor(Math.random() * 3));
      const expired = Math.random() < 0.5;
      const at = expired ? now - 2000 * DAY - k++ : now + k++;
      await log.record({ agencyOrgNumber: '991825827', personIds: ids, scopes: [], at: new Date(at) });
      if (!expired) for (const id of ids) kept.get(id)!.add(at);
    };
    const check = async () => {
      const person = people[Math.floor(Math.random() * people.length)];
      const must = [...kept.get(person)!];
      const seen = await log.lookupsOf(person, 1_000_000);
      if (new Set(seen.map((e) => e.id)).size !== seen.length) problems.push(`a lookup of ${person} shown twice`);
      const times = new Set(seen.map((e) => e.lookedUpAt.getTime()));
      const missing = must.filter((at) => !times.has(at)).length;
      if (missing > 0) problems.push(`${missing} lookups of ${person} not shown`);
    };
    const fill = () => store.pool.query('update lookup_segment set rows = $1 where segment = (select max(segment) from lookup_segment)', [SEGMENT_ROWS]);
    const tasks = [loop(record), loop(check), loop(fill), ...maintenance.map((m) => loop(() => m.indexPending(3))), ...maintenance.slice(0, 2).map((m) => loop(() => m.deleteExpired(cutoff, 4)))];
    await sleep(3000);
    stop = true;
    await Promise.all(tasks);
    await group.drain();
    while ((await maintenance[0].indexPending(50)) > 0);
    await check();
    expect(problems).toEqual([]);

    const one = async (sql: string) => Number(Object.values((await store.pool.query(sql)).rows[0])[0]);
    expect(await one('select count(*) from lookup_segment')).toBeGreaterThan(5);
    expect(await one('select count(*) from lookup_request where segment is null')).toBe(0);
    // Every row in its request's segment, for a person of that request; every person of a request has a row.
    expect(await one('select count(*) from lookup_person lp left join lookup_request r on r.id = lp.request_id and r.segment = lp.segment and lp.person_id = any (r.person_ids) where r.id is null')).toBe(0);
    expect(await one('select count(*) from lookup_request r, unnest(r.person_ids) p(id) where not exists (select 1 from lookup_person lp where lp.segment = r.segment and lp.person_id = p.id and lp.request_id = r.id)')).toBe(0);
    for (const person of people) expect(await log.countLookupsOf(person)).toBeGreaterThanOrEqual(kept.get(person)!.size);
  }, 30_000);
});
