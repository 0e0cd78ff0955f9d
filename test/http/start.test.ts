import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startService, type RunningService } from '../support/service';

describe('npm start on a fresh data folder', () => {
  let service: RunningService;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'krr-start-'));

  beforeAll(async () => {
    service = await startService({ KRR_DATA_DIR: dataDir, KRR_SEED_COUNT: '300', LOG_LEVEL: 'info' });
  }, 90_000);

  afterAll(() => service?.child.kill('SIGTERM'));

  it('migrates, seeds and serves, and prints a token that works', async () => {
    expect(existsSync(path.join(dataDir, 'krr.sqlite'))).toBe(true);
    const token = /"Authorization": "Bearer ([^"]+)"/.exec(service.output())![1];
    const res = await fetch(service.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: '{ __typename }' }),
    });
    expect(res.status).toBe(200);
  });

  it('fills GraphiQL with 1000 sample ids that all resolve', async () => {
    const page = await (await fetch(service.url, { headers: { accept: 'text/html' } })).text();
    const config = JSON.parse(/<script type="application\/json" id="graphiql-config">(.*?)<\/script>/s.exec(page)![1]);
    const { ids } = JSON.parse(config.variables);
    expect(ids).toHaveLength(305);
    const token = /"Authorization": "Bearer ([^"]+)"/.exec(service.output())![1];
    const res = await fetch(service.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: config.defaultQuery, variables: { ids } }),
    });
    const body = await res.json();
    expect(body.errors).toBeUndefined();
    const statuses = new Set(body.data.persons.map((p: { status: string }) => p.status));
    expect(statuses).toEqual(new Set(['ACTIVE', 'DELETED', 'NOT_REGISTERED']));
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
  it('prepare the database once, share the port, answer, and stop together with exit 0', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'krr-workers-'));
    const service = await startService({ KRR_DATA_DIR: dataDir, KRR_SEED_COUNT: '100', KRR_WORKERS: '2', LOG_LEVEL: 'info' });
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
            body: JSON.stringify({ query: '{ __typename }' }),
          }).then((r) => r.status),
        ),
      );
      expect(answers.every((s) => s === 200)).toBe(true);
    } finally {
      service.child.kill('SIGTERM');
    }
    expect((await service.exited).code).toBe(0);
  }, 60_000);
});
