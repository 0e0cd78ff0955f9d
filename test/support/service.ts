import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/paths';
import { createTestDatabase, type TestDatabase } from './database';

export const MAIN = path.join(projectRoot, 'dist', 'src', 'main.js');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Date.now() when the process exited. */
  at: number;
}

export interface RunningService {
  child: ChildProcess;
  /** `http://127.0.0.1:PORT/graphql` */
  url: string;
  base: string;
  /** The agency token the service printed at start-up (all scopes). */
  token: string;
  /** What the process printed: the start-up lines and the tail, bounded in memory. */
  output(): string;
  exited: Promise<Exit>;
}

const running = new Set<ChildProcess>();

/** Kills every service a test file started and did not stop (for `afterAll`). */
export function killAllServices(): void {
  for (const child of running) child.kill('SIGKILL');
}

/**
 * Starts the built service (`dist/src/main.js`, what `npm start` runs) on a free loopback
 * port and waits for its start-up lines. `npm test` builds first.
 */
export function startService(env: Record<string, string>, timeoutMs = 60_000): Promise<RunningService> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` (npm test does it first)`);
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', KRR_RATE_LIMIT_PER_MINUTE: '0', KRR_CODE_RESEND_SECONDS: '0', KRR_CODES_PER_ADDRESS_PER_HOUR: '100000', KRR_CODES_PER_ADDRESS_PER_DAY: '100000', KRR_FAILED_CODES_PER_DAY: '100000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  const keep = (d: Buffer) => {
    out += d;
    if (out.length > 200_000) out = `${out.slice(0, 20_000)}\n[...]\n${out.slice(-100_000)}`;
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, at: Date.now() });
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      clearInterval(poll);
      child.kill('SIGKILL');
      reject(new Error(`no start-up within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    void exited.then(({ code, signal }) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`exited with ${code ?? signal} before it was ready:\n${out}`));
    });
    const poll = setInterval(() => {
      const token = /"Authorization": "Bearer ([^"]+)"/.exec(out)?.[1];
      const url = /serving (http:\/\/\S+\/graphql)/.exec(out)?.[1];
      if (url && token) {
        clearInterval(poll);
        clearTimeout(timer);
        resolve({ child, url, base: url.replace(/\/graphql$/, ''), token, output: () => out, exited });
      }
    }, 50);
  });
}

/** POSTs `body` as JSON with a bearer token: the status and the body's text. */
export async function postJson(url: string, token: string, body: unknown, timeoutMs = 60_000): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, text: await res.text() };
}

/** One metric of a service's `/metrics` (a line `name value`), or null when it has none. */
export async function metricOf(service: RunningService, name: string, timeoutMs = 60_000): Promise<number | null> {
  const text = await (await fetch(`${service.base}/metrics`, { signal: AbortSignal.timeout(timeoutMs) })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : null;
}

/** Polls `probe` every 200 ms until it gives a value (a failure counts as "not yet"); throws after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Folders and databases for a process test's services, all removed after the suite (with
 * every service still running killed first). Call inside a `describe`: it registers the
 * `afterAll`.
 */
export function serviceScratch(prefix: string): {
  folder(name: string): string;
  place(name: string): Promise<{ dir: string; db: TestDatabase }>;
} {
  const dirs: string[] = [];
  const dbs: TestDatabase[] = [];
  afterAll(async () => {
    killAllServices();
    for (const db of dbs) await db.close().catch(() => {});
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  const folder = (name: string) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), `${prefix}-${name}-`));
    dirs.push(dir);
    return dir;
  };
  return {
    folder,
    async place(name) {
      const dir = folder(name);
      const db = await createTestDatabase(dir);
      dbs.push(db);
      return { dir, db };
    },
  };
}
