/**
 * `npm start` (the built service) on a fresh, empty database of the store under test: a new
 * SQLite file in a fresh data folder, or (jest project `postgres`) a new PostgreSQL database
 * with nothing in it, given as KRR_DATABASE_URL. It migrates, seeds, serves and stops.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PingDocument } from '../generated/graphql';
import { createTestDatabase, storeUnderTest, type TestDatabase } from '../support/database';
import { requestBody } from '../support/operations';
import { killAllServices, startService, type RunningService } from '../support/service';

/** The PostgreSQL migrations drizzle-kit generated (db/migrations-pg/meta/_journal.json). */
const pgMigrations = (): number =>
  (JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'db', 'migrations-pg', 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length;

const dirs: string[] = [];
const databases: TestDatabase[] = [];

async function freshDatabase(prefix: string): Promise<{ dataDir: string; db: TestDatabase }> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), prefix));
  dirs.push(dataDir);
  const db = await createTestDatabase(dataDir);
  databases.push(db);
  return { dataDir, db };
}

afterAll(async () => {
  killAllServices();
  for (const db of databases) await db.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe(`npm start on a fresh ${storeUnderTest === 'sqlite' ? 'data folder' : 'PostgreSQL database'}`, () => {
  let service: RunningService;
  let db: TestDatabase;

  beforeAll(async () => {
    const fresh = await freshDatabase('krr-start-');
    db = fresh.db;
    service = await startService({ KRR_DATA_DIR: fresh.dataDir, ...db.env, KRR_SEED_COUNT: '300', LOG_LEVEL: 'info' });
  }, 90_000);

  afterAll(() => service?.child.kill('SIGTERM'));

  it('migrates, seeds and serves, and prints a token that works', async () => {
    if (storeUnderTest === 'sqlite') expect(existsSync(db.dbPath)).toBe(true);
    else expect(await db.number('select count(*) from drizzle.__drizzle_migrations')).toBe(pgMigrations());
    expect(service.output()).toMatch(new RegExp(`"store":"${storeUnderTest}"[^\\n]*database ready`));
    // The population, numbered 1..300 in one go.
    expect(await db.number('select count(*) from person')).toBe(300);
    expect(await db.query('select count(*) n, min(change_number) lo, max(change_number) hi from change_log')).toEqual([{ n: 300, lo: 1, hi: 300 }]);
    if (storeUnderTest === 'postgres') expect(await db.number('select last_change_number from change_counter')).toBe(300);

    const token = /"Authorization": "Bearer ([^"]+)"/.exec(service.output())![1];
    const res = await fetch(service.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(requestBody(PingDocument)),
    });
    expect(res.status).toBe(200);
    expect((await fetch(`${service.base}/readyz`)).status).toBe(200);
  });

  it('opens GraphiQL with 1000 sample ids and the printed agency token, and they all resolve', async () => {
    const page = await (await fetch(service.url, { headers: { accept: 'text/html' } })).text();
    const config = JSON.parse(/<script type="application\/json" id="graphiql-config">(.*?)<\/script>/s.exec(page)![1]);
    const [lookup, citizen] = config.tabs;
    const { ids } = JSON.parse(lookup.variables);
    expect(ids).toHaveLength(305);
    const token = /"Authorization": "Bearer ([^"]+)"/.exec(service.output())![1];
    expect(JSON.parse(lookup.headers)).toEqual({ Authorization: `Bearer ${token}` });
    const res = await fetch(service.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...JSON.parse(lookup.headers) },
      body: JSON.stringify({ query: lookup.query, variables: { ids } }),
    });
    const body = await res.json();
    expect(body.errors).toBeUndefined();
    const statuses = new Set(body.data.persons.map((p: { status: string }) => p.status));
    expect(statuses).toEqual(new Set(['ACTIVE', 'DELETED', 'NOT_REGISTERED']));

    // The second tab: a citizen token for an active sample person.
    const me = await fetch(service.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...JSON.parse(citizen.headers) },
      body: JSON.stringify({ query: citizen.query, operationName: 'Me' }),
    });
    const mine = await me.json();
    expect(mine.errors).toBeUndefined();
    expect(mine.data.me).toMatchObject({ status: 'ACTIVE', id: expect.stringMatching(/^\d{11}$/) });
    expect(service.output()).toContain(`a citizen token for ${mine.data.me.id.slice(0, 6)}*****`);
  });

  it('logs structured JSON lines with no identity number in them', () => {
    const lines = service.output().split('\n').filter((l) => l.startsWith('{'));
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) expect(line).not.toMatch(/(?<!\d)\d{11}(?!\d)/);
  });

  it('exits 0 on SIGTERM', async () => {
    service.child.kill('SIGTERM');
    expect((await service.exited).code).toBe(0);
  });
});

describe('two worker processes (KRR_WORKERS=2)', () => {
  // SQLite: the workers share the file (WAL). PostgreSQL: the primary migrates and seeds,
  // then each worker opens a pool of its own on the database.
  it('prepare the database once, share the port, answer, and stop together with exit 0', async () => {
    const { dataDir, db } = await freshDatabase('krr-workers-');
    const service = await startService({ KRR_DATA_DIR: dataDir, ...db.env, KRR_SEED_COUNT: '100', KRR_WORKERS: '2', LOG_LEVEL: 'info' });
    try {
      // startService returns when the first worker serves; the second may take a moment more.
      for (let i = 0; i < 100 && (service.output().match(/serving http/g) ?? []).length < 2; i++) await new Promise((r) => setTimeout(r, 100));
      expect(service.output().match(/serving http/g)).toHaveLength(2);
      expect(service.output().match(/seeding a synthetic population/g)).toHaveLength(1);
      const answers = await Promise.all(
        Array.from({ length: 20 }, () =>
          fetch(service.url, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${service.token}` },
            body: JSON.stringify(requestBody(PingDocument)),
          }).then((r) => r.status),
        ),
      );
      expect(answers.every((s) => s === 200)).toBe(true);
      expect(await db.number('select count(*) from person')).toBe(100);
    } finally {
      service.child.kill('SIGTERM');
    }
    expect((await service.exited).code).toBe(0);
  }, 60_000);
});

describe('npm start with a signing key file that cannot sign', () => {
  it('exits 2 before touching the database, naming the problem without a stack', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'krr-badkey-'));
    dirs.push(dataDir);
    const keyFile = path.join(dataDir, 'key.json');
    writeFileSync(keyFile, JSON.stringify({ keys: [] }));
    const started = startService({ KRR_DATA_DIR: dataDir, KRR_SIGNING_KEY_FILE: keyFile, KRR_SEED_COUNT: '0' }, 30_000);
    const error = await started.then(() => null, (e: Error) => e);
    expect(error?.message).toMatch(/exited with 2 before it was ready:\nInvalid configuration:\n {2}- .*holds no keys/);
    expect(error?.message).not.toMatch(/\bat .*\.js:\d+/);
    expect(existsSync(path.join(dataDir, 'krr.sqlite'))).toBe(false);
  });
});
