import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../src/paths';

export const MAIN = path.join(projectRoot, 'dist', 'src', 'main.js');

export interface RunningService {
  child: ChildProcess;
  /** `http://127.0.0.1:PORT/graphql` */
  url: string;
  base: string;
  /** The agency token the service printed at start-up (all scopes). */
  token: string;
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/**
 * Starts the built service (`dist/src/main.js`, what `npm start` runs) on a free loopback
 * port and waits for its start-up lines. `npm test` builds first.
 */
export function startService(env: Record<string, string>, timeoutMs = 60_000): Promise<RunningService> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` (npm test does it first)`);
  const child = spawn(process.execPath, [MAIN], {
    env: { PATH: process.env.PATH ?? '', PORT: '0', HOST: '127.0.0.1', KRR_RATE_LIMIT_PER_MINUTE: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      clearInterval(poll);
      child.kill('SIGKILL');
      reject(new Error(`no start-up within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    void exited.then((code) => {
      clearInterval(poll);
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before it was ready:\n${out}`));
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
