import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/paths';

const MAIN = path.join(projectRoot, 'dist', 'src', 'main.js');

/** Starts the built service the way `npm start` does and waits for its start-up line. */
function startService(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [MAIN], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start-up within 60 s:\n${out}`)), 60_000);
    child.on('exit', (code) => reject(new Error(`exited with ${code}:\n${out}`)));
    const poll = setInterval(() => {
      const token = /"Authorization": "Bearer [^"]+"/.test(out);
      const url = /serving (http:\/\/\S+\/graphql)/.exec(out)?.[1];
      if (url && token) {
        clearInterval(poll);
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({ child, url, output: () => out });
      }
    }, 100);
  });
}

describe('npm start on a fresh data folder', () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` (npm test does it first)`);

  let service: Awaited<ReturnType<typeof startService>>;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'krr-start-'));

  beforeAll(async () => {
    service = await startService({ PORT: '0', HOST: '127.0.0.1', KRR_DATA_DIR: dataDir, KRR_SEED_COUNT: '300', LOG_LEVEL: 'info' });
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
    const exited = new Promise<number | null>((resolve) => service.child.on('exit', resolve));
    service.child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
