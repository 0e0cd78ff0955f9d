/**
 * `npm run bench:follow -- [--count 1000000] [--lag-seconds 30] [--writes-per-second 20] [--db PATH] [--out FILE] [--cpu-prof DIR]`
 *
 * Follower mode (issue 15), measured with the built service as two processes on loopback:
 * 1. Sync rate: an upstream with `count` people (change numbers 1..count; the seeded
 *    database of `npm run bench` is reused) and an empty copy started with KRR_UPSTREAM_URL.
 *    Timed from the copy's start until its position reaches the upstream's latest change
 *    number: people applied per second, start-up included.
 * 2. Lag: citizens write at the upstream at a steady rate while the copy follows
 *    (KRR_UPSTREAM_POLL_SECONDS=1). Every 250 ms the upstream's newest change number is
 *    noted; its lag is the time until the copy's position reaches it.
 * SQLite on both sides. The floor is the upstream serving its own feed: the copy cannot be
 * faster than the upstream answers pages, so that is printed too.
 * `--cpu-prof DIR`: both processes run with `node --cpu-prof`, their profiles written to
 * DIR/copy and DIR/upstream when they stop.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadOrCreateDevKey } from '../src/auth/keys';
import { mintDevToken } from '../src/auth/tokens';
import { loadConfig } from '../src/config';
import { projectRoot } from '../src/paths';
import { prepareDatabase, sampleIds } from './data';
import { percentile } from './load';
import { start, stop, treeCpuMs, type Running } from './processes';

const MAIN = path.join(projectRoot, 'dist', 'src', 'main.js');
const DATA_DIR = path.join(projectRoot, 'bench', 'data');

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000000' },
    'lag-seconds': { type: 'string', default: '30' },
    'writes-per-second': { type: 'string', default: '20' },
    db: { type: 'string' },
    out: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const count = Number(values.count);
const lagSeconds = Number(values['lag-seconds']);
const writesPerSecond = Number(values['writes-per-second']);
const upstreamDb = path.resolve(values.db ?? path.join(DATA_DIR, `krr-${count}.sqlite`));

const profileDir = values['cpu-prof'] ? path.resolve(values['cpu-prof']) : null;
/** Node's flags for `--cpu-prof`: the profile is written when the process exits (SIGTERM: the service drains and exits). */
const profiled = (name: string): string[] => (profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.join(profileDir, name)}`] : []);

const serviceEnv = { HOST: '127.0.0.1', PORT: '0', KRR_RATE_LIMIT_PER_MINUTE: '0', KRR_SEED_COUNT: '0', LOG_LEVEL: 'warn', NODE_ENV: 'development' };

async function post(url: string, token: string, body: unknown): Promise<any> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
  return res.json();
}

async function position(copy: Running): Promise<number> {
  const text = await (await fetch(`${copy.base}/metrics`).catch((error: Error) => {
    throw new Error(`the copy does not answer (${error.message}: ${String((error as { cause?: unknown }).cause)}); its output:\n${copy.output().slice(-3000)}`);
  })).text();
  return Number(/^krr_upstream_position (\d+)/m.exec(text)?.[1] ?? 0);
}

/** The upstream's newest change number, as its feed says it (an empty page far ahead: GraphQL Int is 32-bit). */
async function latest(upstream: Running): Promise<number> {
  const page = await post(`${upstream.base}/rest/v2/krr/hentEndringer`, upstream.token!, { fraEndringsId: 2 ** 31 - 1 });
  return page.sisteEndringsId;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  mkdirSync(DATA_DIR, { recursive: true });
  await prepareDatabase(upstreamDb, count);
  const citizens = sampleIds(upstreamDb, 0, 0, 0, 200).citizens;
  const upstream = await start('upstream', MAIN, { ...serviceEnv, KRR_DATA_DIR: DATA_DIR, KRR_DB_PATH: upstreamDb }, true, undefined, profiled('upstream'));
  const copyDir = mkdtempSync(path.join(os.tmpdir(), 'krr-bench-copy-'));
  const lines: string[] = [];
  const say = (line: string) => {
    lines.push(line);
    process.stdout.write(`${line}\n`);
  };
  try {
    const upstreamLatest = await latest(upstream);
    // The floor: the upstream serving its whole feed to one client, page after page, nothing applied.
    const floorPages = Math.min(50, Math.ceil(upstreamLatest / 1000));
    const floorStart = performance.now();
    for (let p = 0, from = 1; p < floorPages; p++) from = (await post(`${upstream.base}/rest/v2/krr/hentEndringer`, upstream.token!, { fraEndringsId: from })).tilEndringsId + 1;
    const floorPerSecond = (floorPages * 1000) / ((performance.now() - floorStart) / 1000);

    const tokenFile = path.join(copyDir, 'token');
    writeFileSync(tokenFile, upstream.token!);
    const copyEnv = { ...serviceEnv, KRR_DATA_DIR: copyDir, KRR_UPSTREAM_URL: upstream.base, KRR_UPSTREAM_TOKEN_FILE: tokenFile, KRR_UPSTREAM_POLL_SECONDS: '1' };
    const started = performance.now();
    const copy = await start('copy', MAIN, copyEnv, true, undefined, profiled('copy'));
    const cpuBefore = { copy: treeCpuMs(copy.pid), upstream: treeCpuMs(upstream.pid) };
    let last = 0;
    let lastReport = performance.now();
    while ((last = await position(copy)) < upstreamLatest) {
      if (performance.now() - lastReport > 10_000) {
        process.stderr.write(`  copy at ${last} of ${upstreamLatest} (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
        lastReport = performance.now();
      }
      await sleep(250);
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = { copy: (treeCpuMs(copy.pid) - cpuBefore.copy) / 1000, upstream: (treeCpuMs(upstream.pid) - cpuBefore.upstream) / 1000 };
    say(`## Follower mode (${new Date().toISOString().slice(0, 10)}, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)})`);
    say('');
    say(`| measure | value |`);
    say(`|---|---|`);
    say(`| changes synced from position 0 | ${upstreamLatest} |`);
    say(`| time to catch up (copy start-up included) | ${seconds.toFixed(1)} s |`);
    say(`| sync rate | ${Math.round(upstreamLatest / seconds)} people/s (${(upstreamLatest / 1000 / seconds).toFixed(1)} pages/s) |`);
    say(`| floor: upstream serving its feed, nothing applied | ${Math.round(floorPerSecond)} people/s (${floorPages} pages) |`);
    say(`| CPU during the sync | copy ${cpu.copy.toFixed(1)} s, upstream ${cpu.upstream.toFixed(1)} s |`);

    // Lag under steady writes.
    const config = loadConfig({ KRR_DATA_DIR: DATA_DIR });
    if (config.auth.mode !== 'development') throw new Error('development tokens expected');
    const key = await loadOrCreateDevKey(config.auth.keyFile);
    const tokens = await Promise.all(citizens.map((pid) => mintDevToken(config.auth as never, key, { citizen: { pid } })));
    let writing = true;
    let writes = 0;
    const writer = (async () => {
      const interval = 1000 / writesPerSecond;
      let next = performance.now();
      for (let i = 0; writing; i++) {
        const k = i % tokens.length;
        void post(upstream.url, tokens[k], { query: `mutation { setReservation(reserved: ${i % 2 === 0}) { id } }` }).then(() => writes++, () => {});
        next += interval;
        await sleep(Math.max(0, next - performance.now()));
      }
    })();
    const marks: { at: number; n: number }[] = [];
    const lags: number[] = [];
    const lagStart = performance.now();
    while (performance.now() - lagStart < lagSeconds * 1000) {
      marks.push({ at: performance.now(), n: await latest(upstream) });
      const pos = await position(copy);
      const now = performance.now();
      while (marks.length > 0 && marks[0].n <= pos) lags.push((now - marks.shift()!.at) / 1000);
      await sleep(250);
    }
    writing = false;
    await writer;
    lags.sort((a, b) => a - b);
    say(`| steady writes at the upstream (KRR_UPSTREAM_POLL_SECONDS=1) | ${(writes / lagSeconds).toFixed(1)} writes/s for ${lagSeconds} s |`);
    say(`| lag: upstream change to applied in the copy | p50 ${percentile(lags, 50).toFixed(2)} s, p95 ${percentile(lags, 95).toFixed(2)} s, max ${lags[lags.length - 1].toFixed(2)} s (${lags.length} samples, ${marks.length} not yet reached) |`);
    await stop(copy);
    if (values.out) writeFileSync(values.out, `${lines.join('\n')}\n`);
  } finally {
    await stop(upstream);
    rmSync(copyDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
