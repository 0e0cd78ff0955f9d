/**
 * `npm run bench -- [--count N] [--duration S] [--workloads W1,W2,W3,W4,limit,naive,workers,audit]
 *   [--soak S] [--db PATH] [--out FILE] [--connections C] [--worker-connections C] [--baseline-count N] [--feed-seconds S]
 *   [--audit-records N] [--store sqlite|postgres|both]`
 *
 * Builds (or reuses) a database of N synthetic people, starts the built service
 * (`dist/src/main.js`) as a child process per workload and measures it over loopback HTTP
 * with autocannon. Prints a markdown table and writes it to --out. With `--store both` the
 * two stores take turns workload by workload and share one table (what differs between
 * them: bench/stores.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadOrCreateDevKey } from '../src/auth/keys';
import { mintDevToken } from '../src/auth/tokens';
import { loadConfig } from '../src/config';
import { projectRoot } from '../src/paths';
import { citizenReadCost, prefilledAuditCopy, prefilledAuditCopyPg } from './audit-prefill';
import { assertSameAnswer } from './compare';
import type { PreparedDatabase, Samples } from './data';
import { measureDatabaseCpu, postOk, runLoad, statementsPerRequest, type LoadResult } from './load';
import { sampleRss, start, stop, type Running } from './processes';
import { changesBody, lookupBody, personBody, updateMobileBody } from './queries';
import { openBenchStore, STORE_CHOICES, storeEnv, storesOf, type BenchStore, type StoreChoice } from './stores';

const MAIN = path.join(projectRoot, 'dist', 'src', 'main.js');
/** The service built with the benchmark's naive loaders (bench/naive-loaders.ts). */
const NAIVE_MAIN = path.join(projectRoot, 'dist', 'bench', 'naive-main.js');
const DATA_DIR = path.join(projectRoot, 'bench', 'data');
const ALL_WORKLOADS = ['W1', 'W2', 'W3', 'W4', 'limit', 'naive', 'workers', 'audit'];
const BODIES = 64;
const USAGE = `usage: npm run bench -- [--count 1000000] [--duration 20] [--workloads ${ALL_WORKLOADS.join(',')}]
  [--soak SECONDS] [--db bench/data/krr-<count>.sqlite] [--out bench/results/<date>-<count>.md]
  [--connections 1] [--worker-connections 8] [--baseline-count 100000 (when --count is larger)]
  [--feed-seconds S (W4; default --duration, 0: the whole feed)]
  [--audit-records N (audit: W1 with N audit records stored; default 10000000; SQLite)]
  [--store sqlite|postgres|both (postgres: KRR_DATABASE_URL's server, else a throwaway cluster)]
`;
const IDS_PER_BODY = 1000;

interface Options {
  count: number;
  duration: number;
  workloads: Set<string>;
  soak: number;
  db: string;
  out: string;
  connections: number;
  workerConnections: number;
  baselineCount: number;
  /** W4 pages for at most this long (0: to the end of the feed). */
  feedSeconds: number;
  /** The audit workload: W1 against a copy whose audit log holds this many person lookups. */
  auditRecords: number;
  store: StoreChoice;
}

interface Row {
  workload: string;
  reqPerSec: number;
  peoplePerSec: number | null;
  p50: number;
  p99: number;
  sqlPerRequest: number | null;
  peakRssMb: number;
  note: string;
}

function parseOptions(): Options {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '1000000' },
      duration: { type: 'string', default: '20' },
      workloads: { type: 'string', default: ALL_WORKLOADS.join(',') },
      soak: { type: 'string', default: '0' },
      db: { type: 'string' },
      out: { type: 'string' },
      connections: { type: 'string', default: '1' },
      'worker-connections': { type: 'string', default: '8' },
      'baseline-count': { type: 'string' },
      'feed-seconds': { type: 'string' },
      'audit-records': { type: 'string', default: '10000000' },
      store: { type: 'string', default: 'sqlite' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const int = (name: string, raw: string, min: number) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number of at least ${min}, got "${raw}"`);
    return n;
  };
  const count = int('count', values.count, IDS_PER_BODY);
  const workloads = new Set(values.workloads.split(',').map((w) => w.trim()).filter(Boolean));
  for (const w of workloads) if (!ALL_WORKLOADS.includes(w)) throw new Error(`unknown workload "${w}" (known: ${ALL_WORKLOADS.join(', ')})`);
  const store = values.store as StoreChoice;
  if (!STORE_CHOICES.includes(store)) throw new Error(`--store must be one of ${STORE_CHOICES.join(', ')}, got "${values.store}"`);
  const date = new Date().toISOString().slice(0, 10);
  return {
    store,
    count,
    duration: int('duration', values.duration, 1),
    workloads,
    soak: int('soak', values.soak, 0),
    db: path.resolve(values.db ?? path.join(DATA_DIR, `krr-${count}.sqlite`)),
    out: path.resolve(values.out ?? path.join(projectRoot, 'bench', 'results', `${date}-${count}${store === 'sqlite' ? '' : `-${store}`}.md`)),
    connections: int('connections', values.connections, 1),
    workerConnections: int('worker-connections', values['worker-connections'], 1),
    auditRecords: int('audit-records', values['audit-records'], IDS_PER_BODY),
    feedSeconds: values['feed-seconds'] !== undefined ? int('feed-seconds', values['feed-seconds'], 0) : int('duration', values.duration, 1),
    // A second, small population for the p99-versus-size ratio, measured in the same run.
    baselineCount: values['baseline-count'] !== undefined ? int('baseline-count', values['baseline-count'], 0) : count > 100_000 ? 100_000 : 0,
  };
}

const serviceEnv = (db: string, extra: Record<string, string> = {}) => ({
  PORT: '0',
  HOST: '127.0.0.1',
  ...storeEnv(db),
  KRR_DATA_DIR: DATA_DIR,
  KRR_SEED_COUNT: '0',
  KRR_RATE_LIMIT_PER_MINUTE: '0',
  LOG_LEVEL: 'warn',
  // The development notifier's one-time codes (W3) are not kept.
  KRR_OUTBOX_FILE: os.devNull,
  ...extra,
});

const startService = (db: string, extra: Record<string, string> = {}) => start('service', MAIN, serviceEnv(db, extra), true);

const rotate = <T>(list: readonly T[]) => {
  let i = 0;
  return () => list[i++ % list.length];
};

/** W1 against a running endpoint: warm up, then measure. */
async function lookupLoad(target: Running, token: string, samples: Samples, connections: number, duration: number, warmup = true): Promise<LoadResult> {
  const bodies = samples.lookups.map(lookupBody);
  const headers = { authorization: `Bearer ${token}` };
  const next = rotate(bodies);
  const spec = { url: target.url, connections, pid: target.pid, next: () => ({ body: next(), headers }) };
  if (warmup) await runLoad({ ...spec, durationSeconds: Math.min(3, Math.max(1, Math.round(duration / 5))) });
  return runLoad({ ...spec, durationSeconds: duration });
}

/** CPU per request of the measured server, and of PostgreSQL's processes when measured (bench/load.ts). */
const cpuNote = ({ cpuMsPerRequest: cpu }: LoadResult) =>
  `; CPU ms/request: server ${cpu.service.toFixed(1)}${cpu.database === null ? '' : ` + PostgreSQL ${cpu.database.toFixed(1)}`}`;

function row(workload: string, r: LoadResult, peoplePerRequest: number | null, sql: number | null, note = ''): Row {
  const failures = r.failures > 0 ? `${r.failures} failed requests! ` : '';
  return {
    workload,
    reqPerSec: r.reqPerSec,
    peoplePerSec: peoplePerRequest === null ? null : r.reqPerSec * peoplePerRequest,
    p50: r.p50,
    p99: r.p99,
    sqlPerRequest: sql,
    peakRssMb: r.peakRssMb,
    note: `${failures}${r.requests} requests${note ? `; ${note}` : ''}${cpuNote(r)}`,
  };
}

/** SQL statements of single requests for 1, 10 and 1000 ids (sequential, so each count is exact). */
async function statementsBySize(service: Running, token: string, samples: Samples): Promise<number[]> {
  const counts: number[] = [];
  for (const n of [1, 10, IDS_PER_BODY]) {
    const body = lookupBody(samples.lookups[1].slice(0, n));
    counts.push((await statementsPerRequest(service.base, () => postOk(service.url, body, token))).perRequest);
  }
  return counts;
}

interface Context {
  options: Options;
  store: BenchStore;
  db: PreparedDatabase;
  samples: Samples;
  mintCitizen: (pid: string) => Promise<string>;
  rows: Row[];
  findings: Record<string, number | string | number[]>;
}

async function w1(ctx: Context, label = 'W1 persons x1000 (service)', db = ctx.db.path, samples = ctx.samples, key = 'w1'): Promise<void> {
  const service = await startService(db);
  try {
    const token = service.token!;
    await postOk(service.url, lookupBody(samples.lookups[0]), token);
    if (key === 'w1') ctx.findings.statementsBySize = await statementsBySize(service, token, samples);
    const { result, perRequest } = await statementsPerRequest(service.base, () => lookupLoad(service, token, samples, ctx.options.connections, ctx.options.duration));
    ctx.rows.push(row(label, result, IDS_PER_BODY, perRequest));
    ctx.findings[`${key}P50`] = result.p50;
    ctx.findings[`${key}P99`] = result.p99;
  } finally {
    await stop(service);
  }
}

/**
 * W1 again, against a copy of the database whose audit log already holds
 * `--audit-records` person lookups (bench/audit-prefill.ts), with the same requests: the
 * log's size must not slow lookups down.
 */
async function auditLoaded(ctx: Context): Promise<void> {
  const copy = await (ctx.store.kind === 'sqlite' ? prefilledAuditCopy : prefilledAuditCopyPg)(ctx.db, ctx.options.auditRecords);
  const n = copy.auditRecords.toLocaleString('en-US');
  ctx.findings.auditNote = `audit workload: a copy of the database with ${n} person lookups (${(copy.auditRecords / IDS_PER_BODY).toLocaleString('en-US')} requests, indexed) already stored, ${copy.builtSeconds === null ? 'reused' : `built in ${copy.builtSeconds.toFixed(0)} s`}; W1 itself runs with an empty log`;
  ctx.findings.auditRecords = copy.auditRecords;
  await w1(ctx, `W1 persons x1000 with ${n} audit records stored`, copy.path, ctx.samples, 'audit');
  const reads = await citizenReadCost(copy.path, ctx.samples.singles);
  ctx.findings.auditNote += `; a citizen's me { lookups } (newest 20 and the count) on it: ${reads.msPerPerson.toFixed(2)} ms a person over ${ctx.samples.singles.length} people, ${reads.segments} segments of the per-person index probed`;
}

/** Lookups whose answers are compared between servers: 2 x 1000 ids, and 8 ids with a duplicate and 2 unregistered. */
const equalityCases = (samples: Samples): string[][] => [
  samples.lookups[0],
  samples.lookups[1],
  [...samples.lookups[2].slice(0, 5), samples.lookups[2][0], ...samples.unregistered],
];

/** The minimal handler: its answers must equal the service's, then it is measured alone. */
async function limit(ctx: Context): Promise<void> {
  const service = await startService(ctx.db.path);
  // The floor builds its answer table at start when the register changed since it last did (minutes at 5.5 M).
  const limitServer = await start('limit', ctx.store.limitScript, serviceEnv(ctx.db.path), false, 30 * 60_000);
  const token = service.token!;
  try {
    let nowDependent = 0;
    let identical = 0;
    const statuses = new Map<string, number>();
    const cases = equalityCases(ctx.samples);
    for (const ids of cases) {
      const body = lookupBody(ids);
      const [a, b] = [await postOk(service.url, body, token), await postOk(limitServer.url, body, token)];
      nowDependent += assertSameAnswer('service', a.json, 'limit', b.json).nowDependent;
      if (a.text.trimEnd() === b.text.trimEnd()) identical++;
      for (const p of a.json.data.persons as { status: string }[]) statuses.set(p.status, (statuses.get(p.status) ?? 0) + 1);
    }
    for (const id of [ctx.samples.singles[0], ctx.samples.unregistered[0]]) {
      const [a, b] = [await postOk(service.url, personBody(id), token), await postOk(limitServer.url, personBody(id), token)];
      nowDependent += assertSameAnswer('service', a.json, 'limit', b.json).nowDependent;
    }
    ctx.findings.equality =
      `same JSON, key order included, for 2 x 1000 ids, 8 ids with a duplicate and 2 unregistered, and W2 single lookups of a registered and an unregistered id (${[...statuses].map(([k, v]) => `${v} ${k}`).join(', ')}); ${identical} of ${cases.length} byte for byte (Apollo adds a final newline)` +
      (nowDependent ? `; ${nowDependent} now-dependent fields differed` : '');
    await stop(service);
    const before = (await (await fetch(`${limitServer.base}/stats`)).json()) as { statements: number; requests: number };
    const result = await lookupLoad(limitServer, token, ctx.samples, ctx.options.connections, ctx.options.duration);
    const after = (await (await fetch(`${limitServer.base}/stats`)).json()) as { statements: number; requests: number };
    const sql = (after.statements - before.statements) / Math.max(after.requests - before.requests, 1);
    ctx.rows.push(row(ctx.store.limitLabel, result, IDS_PER_BODY, sql, 'answers checked equal to the service'));
    ctx.findings.limitP50 = result.p50;
    if (ctx.options.workloads.has('W2')) {
      const single = await singleLoad(limitServer, token, ctx.samples, ctx.options.connections, ctx.options.duration);
      ctx.rows.push(row(`W2 person x1, ${ctx.store.limitLabel.replace(/^W1 /, '')}`, single, 1, null));
      ctx.findings.limitW2P50 = single.p50;
    }
  } finally {
    await stop(service);
    await stop(limitServer);
  }
}

/** The service without DataLoader: its answers must equal the batched service's, then it is measured alone. */
async function naive(ctx: Context): Promise<void> {
  const batched = await startService(ctx.db.path);
  const service = await start('naive service', NAIVE_MAIN, serviceEnv(ctx.db.path), true);
  try {
    const token = service.token!;
    const cases = equalityCases(ctx.samples);
    let nowDependent = 0;
    let identical = 0;
    for (const ids of cases) {
      const body = lookupBody(ids);
      const [a, b] = [await postOk(batched.url, body, batched.token!), await postOk(service.url, body, token)];
      nowDependent += assertSameAnswer('service', a.json, 'naive', b.json).nowDependent;
      if (a.text === b.text) identical++;
    }
    ctx.findings.naiveEquality = `${identical} of ${cases.length} byte for byte${nowDependent ? `; ${nowDependent} now-dependent fields differed` : ''}`;
    await stop(batched);
    ctx.findings.naiveStatementsBySize = await statementsBySize(service, token, ctx.samples);
    const duration = Math.min(ctx.options.duration, 10);
    const { result, perRequest } = await statementsPerRequest(service.base, () =>
      lookupLoad(service, token, ctx.samples, ctx.options.connections, duration, false),
    );
    ctx.rows.push(row('W1 naive (bench/naive-main.ts: no DataLoader, one query per person and field)', result, IDS_PER_BODY, perRequest, `${duration} s; answers checked equal to the service`));
    ctx.findings.naiveP50 = result.p50;
  } finally {
    await stop(batched);
    await stop(service);
  }
}

async function workers(ctx: Context): Promise<void> {
  for (const n of [1, 2]) {
    const service = await startService(ctx.db.path, { KRR_WORKERS: String(n) });
    try {
      await postOk(service.url, lookupBody(ctx.samples.lookups[0]), service.token!);
      const result = await lookupLoad(service, service.token!, ctx.samples, ctx.options.workerConnections, ctx.options.duration);
      ctx.rows.push(row(`W1 KRR_WORKERS=${n}, ${ctx.options.workerConnections} connections`, result, IDS_PER_BODY, null));
      ctx.findings[`workers${n}`] = result.reqPerSec;
    } finally {
      await stop(service);
    }
  }
}

/** W2 against a running endpoint: one person per request, warm up, then measure. */
async function singleLoad(target: Running, token: string, samples: Samples, connections: number, duration: number): Promise<LoadResult> {
  const headers = { authorization: `Bearer ${token}` };
  const next = rotate(samples.singles.map(personBody));
  const spec = { url: target.url, connections, pid: target.pid, next: () => ({ body: next(), headers }) };
  await runLoad({ ...spec, durationSeconds: 2 });
  return runLoad({ ...spec, durationSeconds: duration });
}

async function w2(ctx: Context): Promise<void> {
  const service = await startService(ctx.db.path);
  try {
    await postOk(service.url, personBody(ctx.samples.singles[0]), service.token!);
    const { result, perRequest } = await statementsPerRequest(service.base, () => singleLoad(service, service.token!, ctx.samples, ctx.options.connections, ctx.options.duration));
    ctx.rows.push(row('W2 person x1', result, 1, perRequest));
    ctx.findings.w2P50 = result.p50;
  } finally {
    await stop(service);
  }
}

/** Citizen mutations: each request another citizen and another mobile number. */
async function w3(ctx: Context): Promise<void> {
  const citizens = ctx.samples.citizens;
  const tokens = await Promise.all(citizens.map((pid) => ctx.mintCitizen(pid)));
  const service = await startService(ctx.db.path);
  try {
    let i = 0;
    const next = () => {
      const n = i++;
      const mobile = `9${String((n * 7919 + 1234567) % 10_000_000).padStart(7, '0')}`;
      return { body: updateMobileBody(mobile), headers: { authorization: `Bearer ${tokens[n % tokens.length]}` } };
    };
    const first = next();
    await postOk(service.url, first.body, first.headers.authorization.slice(7));
    const connections = Math.max(ctx.options.connections, 8);
    const { result, perRequest } = await statementsPerRequest(service.base, () =>
      runLoad({ url: service.url, connections, pid: service.pid, next, durationSeconds: ctx.options.duration }),
    );
    const wrapped = i > tokens.length ? `; citizens reused after ${tokens.length}` : '';
    ctx.rows.push(row(`W3 updateContactInfo (${connections} connections)`, result, null, perRequest, `${ctx.store.durability}, scrypt per code (~30 ms) by design${wrapped}`));
  } finally {
    await stop(service);
  }
}

/** Pages the change feed from the start, 1000 people a page, until the end or the duration is up. */
async function w4(ctx: Context): Promise<void> {
  const service = await startService(ctx.db.path);
  try {
    const token = service.token!;
    const times: number[] = [];
    let people = 0;
    let after = 0;
    let latest = Infinity;
    const rss = sampleRss(service.pid, 250);
    const started = performance.now();
    const deadline = ctx.options.feedSeconds > 0 ? started + ctx.options.feedSeconds * 1000 : Infinity;
    const maxPages = Math.ceil(ctx.options.count / 1000) + 10;
    const { perRequest } = await statementsPerRequest(service.base, async () => {
      for (let page = 0; page < maxPages && performance.now() < deadline; page++) {
        const { json, ms } = await postOk(service.url, changesBody(after), token);
        const changes = json.data.changes as { lastChangeNumber: number | null; latestChangeNumber: number; entries: unknown[] };
        times.push(ms);
        people += changes.entries.length;
        latest = changes.latestChangeNumber;
        if (changes.lastChangeNumber === null || changes.entries.length === 0) break;
        after = changes.lastChangeNumber;
        if (after >= latest) break;
      }
    });
    const seconds = (performance.now() - started) / 1000;
    const peakRssMb = Math.max(...rss.stop());
    const sorted = [...times].sort((a, b) => a - b);
    const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
    const whole = after >= latest ? 'the whole feed' : `${people} of ${ctx.options.count} people (stopped after --feed-seconds)`;
    ctx.rows.push({
      workload: 'W4 change feed, pages of 1000',
      reqPerSec: times.length / seconds,
      peoplePerSec: people / seconds,
      p50: pct(50),
      p99: pct(99),
      sqlPerRequest: perRequest,
      peakRssMb,
      note: `${times.length} pages, ${whole}, one connection`,
    });
  } finally {
    await stop(service);
  }
}

/** Least-squares slope of `ys` over `xs`. */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den > 0 ? num / den : NaN;
}

/** The V8 heap as the service's own /metrics tells it (prom-client's default metrics), MB. */
async function heapMb(base: string): Promise<{ used: number; total: number; external: number } | null> {
  try {
    const text = await (await fetch(`${base}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^krr_${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN) / 2 ** 20;
    return { used: value('nodejs_heap_size_used_bytes'), total: value('nodejs_heap_size_total_bytes'), external: value('nodejs_external_memory_bytes') };
  } catch {
    return null;
  }
}

/**
 * W1 for `--soak` seconds. RSS of the service's process tree sampled every second, the V8
 * heap (from /metrics) every 5 s. Whether memory grows is answered by the average per
 * minute and by the least-squares slope over the second half of the soak (MB/min): the
 * first half holds the warm-up (JIT, heap sizing, SQLite page cache filling).
 */
async function soak(ctx: Context): Promise<void> {
  const service = await startService(ctx.db.path);
  try {
    const token = service.token!;
    const connections = Math.max(ctx.options.connections, 4);
    const bodies = ctx.samples.lookups.map(lookupBody);
    const headers = { authorization: `Bearer ${token}` };
    const next = rotate(bodies);
    const heap: { t: number; used: number; total: number; external: number }[] = [];
    const started = performance.now();
    const poll = setInterval(() => {
      const t = (performance.now() - started) / 60_000;
      void heapMb(service.base).then((h) => h && heap.push({ t, ...h }));
    }, 5000);
    const result = await runLoad({
      url: service.url,
      connections,
      pid: service.pid,
      next: () => ({ body: next(), headers }),
      durationSeconds: ctx.options.soak,
      rssEveryMs: 1000,
    }).finally(() => clearInterval(poll));
    const rss = result.rssSamples;
    const minutes = rss.map((_, i) => i / 60);
    /** Average per whole minute; a last minute sampled for under 20 s (every `everySeconds`) is dropped. */
    const perMinute = (values: readonly number[], times: readonly number[], everySeconds: number) => {
      const sums = new Map<number, { sum: number; n: number }>();
      values.forEach((v, i) => {
        const m = Math.floor(times[i]);
        const b = sums.get(m) ?? { sum: 0, n: 0 };
        b.sum += v;
        b.n++;
        sums.set(m, b);
      });
      return [...sums.values()].filter((b) => b.n * everySeconds >= 20).map((b) => b.sum / b.n);
    };
    const half = (xs: readonly number[], ys: readonly number[]) => {
      const from = xs.findIndex((x) => x >= ctx.options.soak / 120);
      return from < 0 ? NaN : slope(xs.slice(from), ys.slice(from));
    };
    const rssSlope = half(minutes, rss);
    const heapTimes = heap.map((h) => h.t);
    const heapSlope = half(heapTimes, heap.map((h) => h.total));
    const list = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(', ');
    ctx.rows.push(
      row(
        `W1 soak ${ctx.options.soak} s (${connections} connections)`,
        result,
        IDS_PER_BODY,
        null,
        `RSS ${rss[0].toFixed(0)} MB at start, ${fmt(rssSlope, 2)} MB/min over the second half (least squares)`,
      ),
    );
    ctx.findings.soakPeak = result.peakRssMb;
    ctx.findings.soakSlope = rssSlope;
    ctx.findings.soakSeconds = ctx.options.soak;
    ctx.findings.soakDetail =
      [
        `Soak, average per minute: RSS (MB) ${list(perMinute(rss, minutes, 1))}`,
        `V8 heap used (MB) ${list(perMinute(heap.map((h) => h.used), heapTimes, 5))}`,
        `V8 heap total (MB) ${list(perMinute(heap.map((h) => h.total), heapTimes, 5))}`,
        `external (MB) ${list(perMinute(heap.map((h) => h.external), heapTimes, 5))}`,
      ].join('; ') + `. Second half, least-squares slope: RSS ${fmt(rssSlope, 2)} MB/min, V8 heap total ${fmt(heapSlope, 2)} MB/min.`;
  } finally {
    await stop(service);
  }
}

const fmt = (n: number | null, digits = 1) => (n === null || Number.isNaN(n) ? '' : n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(digits));
const ratio = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? a / b : null);
const verdict = (ok: boolean | null) => (ok === null ? 'not measured' : ok ? 'met' : 'NOT met');

/** One ratio of one store's run: label, value, target, verdict. */
type RatioRow = [string, string, string, string];

/** The ratios of one store's run against the issues' targets. */
function ratioRows(ctx: Context, baseline: PreparedDatabase | null): RatioRow[] {
  const { options, db, findings: f } = ctx;
  const serviceVsLimit = ratio(f.w1P50, f.limitP50);
  const w2VsLimit = ratio(f.w2P50, f.limitW2P50);
  const naiveVsService = ratio(f.naiveP50, f.w1P50);
  const bySize = f.statementsBySize as number[] | undefined;
  const naiveBySize = f.naiveStatementsBySize as number[] | undefined;
  const constant = bySize ? bySize.every((n) => n === bySize[0]) : null;
  const workersRatio = ratio(f.workers2, f.workers1);
  const p99Ratio = ratio(f.w1P99, f.baseP99);
  const auditRatio = ratio(f.auditP50, f.w1P50);
  // Not growing: the second half's trend adds less than 1 MB a minute (5 MB over the five minutes of the target).
  const soakOk = typeof f.soakPeak === 'number' ? f.soakPeak < 512 && (f.soakSlope as number) < 1 : null;
  const seeding = db.seeded;
  return [
    ['W1 p50, service / floor', serviceVsLimit === null ? '' : `${fmt(serviceVsLimit, 2)}x`, 'at most 1.3x', verdict(serviceVsLimit === null ? null : serviceVsLimit <= 1.3)],
    ['W2 p50, service / floor', w2VsLimit === null ? '' : `${fmt(w2VsLimit, 2)}x`, 'at most 1.5x', verdict(w2VsLimit === null ? null : w2VsLimit <= 1.5)],
    ['W1 p50, naive / service', naiveVsService === null ? '' : `${fmt(naiveVsService, 1)}x`, 'at least 20x', verdict(naiveVsService === null ? null : naiveVsService >= 20)],
    [
      'W1 SQL statements for 1 / 10 / 1000 ids',
      `${bySize ? bySize.map((n) => fmt(n, 0)).join(' / ') : ''}${naiveBySize ? ` (naive: ${naiveBySize.map((n) => fmt(n, 0)).join(' / ')})` : ''}`,
      'constant',
      verdict(constant),
    ],
    [
      `W1 p50 with ${typeof f.auditRecords === 'number' ? f.auditRecords.toLocaleString('en-US') : 'N'} audit records stored / with none`,
      auditRatio === null ? '' : `${fmt(auditRatio, 2)}x`,
      'at most 1.1x (10 000 000 records)',
      verdict(auditRatio === null ? null : auditRatio <= 1.1),
    ],
    ['W1 req/s, 2 workers / 1', workersRatio === null ? '' : `${fmt(workersRatio, 2)}x`, 'at least 1.7x', verdict(workersRatio === null ? null : workersRatio >= 1.7)],
    [
      `W1 p99 at ${options.count.toLocaleString('en-US')} / at ${baseline ? baseline.count.toLocaleString('en-US') : '(no --baseline-count)'}`,
      p99Ratio === null ? '' : `${fmt(p99Ratio, 2)}x`,
      'at most 1.5x (5.5 M / 100 000)',
      verdict(p99Ratio === null ? null : p99Ratio <= 1.5),
    ],
    [
      'W1 soak: peak RSS, RSS slope over the second half',
      typeof f.soakPeak === 'number' ? `${fmt(f.soakPeak, 0)} MB, ${fmt(f.soakSlope as number, 2)} MB/min (${f.soakSeconds} s soak)` : '',
      'under 512 MB, not growing (5 min; slope under 1 MB/min)',
      verdict(soakOk),
    ],
    ['seeding', seeding ? `${seeding.seconds.toFixed(1)} s for ${options.count.toLocaleString('en-US')}` : 'reused', '5.5 M under 180 s', verdict(seeding && options.count >= 5_500_000 ? seeding.seconds < 180 : null)],
  ];
}

/** The checks behind the rows of one store's run. */
function checkLines(ctx: Context): string[] {
  const f = ctx.findings;
  return [
    ...(f.soakDetail ? [`${f.soakDetail}`] : []),
    ...(f.auditNote ? [`The ${f.auditNote}.`] : []),
    `Floor check: ${f.equality ?? 'not run'}.`,
    `Naive check (the same lookups, the batched service against bench/naive-main.ts): ${f.naiveEquality ?? 'not run'}.`,
  ];
}

/** One store's run: its context, its baseline (W1 at --baseline-count), and the report's lines about its store and database. */
interface StoreRun {
  ctx: Context;
  baseline: PreparedDatabase | null;
  about: string[];
}

/**
 * The report: one table and one ratio table. With one store as it always was; with both, a
 * store column in the table (the stores' rows of each workload next to each other) and a
 * column per store in the ratio table.
 */
async function report(runs: StoreRun[], load: { start: number[]; end: number[] }, started: Date, notes: string[]): Promise<string> {
  const { options } = runs[0].ctx;
  const both = runs.length > 1;
  const lines = [
    `# KRR benchmark: ${options.count.toLocaleString('en-US')} people${options.store === 'sqlite' ? '' : `, ${runs.map((r) => r.ctx.store.title).join(' and ')}`}`,
    '',
    `${started.toISOString()}, node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GB RAM.`,
    `Load average at start ${load.start.map((l) => l.toFixed(2)).join(' ')}, at end ${load.end.map((l) => l.toFixed(2)).join(' ')} (the load generator runs on the same machine).`,
  ];
  for (const run of runs) {
    const about = [await run.ctx.store.describe(run.ctx.db), ...run.about];
    lines.push(...(both ? about.map((l) => `- ${run.ctx.store.title}: ${l}`) : about));
  }
  lines.push(
    ...notes,
    `Each workload starts the built service afresh (\`dist/src/main.js\`); ${options.duration} s per workload after a short warm-up; ${options.connections} connection(s) unless the row says otherwise.`,
    '',
  );
  const ms = (n: number) => fmt(n, n < 10 ? 2 : 1);
  const cells = (r: Row) => `${fmt(r.reqPerSec)} | ${fmt(r.peoplePerSec)} | ${ms(r.p50)} | ${ms(r.p99)} | ${fmt(r.sqlPerRequest)} | ${fmt(r.peakRssMb)} | ${r.note}`;
  if (!both) {
    lines.push(
      '| workload | req/s | people/s | p50 ms | p99 ms | SQL/request | peak RSS MB | notes |',
      '|---|---:|---:|---:|---:|---:|---:|---|',
      ...runs[0].ctx.rows.map((r) => `| ${r.workload} | ${cells(r)} |`),
      '',
      '| ratio | value | target | |',
      '|---|---:|---|---|',
      ...ratioRows(runs[0].ctx, runs[0].baseline).map((cols) => `| ${cols.join(' | ')} |`),
      '',
      ...checkLines(runs[0].ctx),
    );
  } else {
    // The stores ran the same steps in the same order: row i of each is the same workload.
    const most = Math.max(...runs.map((r) => r.ctx.rows.length));
    lines.push('| workload | store | req/s | people/s | p50 ms | p99 ms | SQL/request | peak RSS MB | notes |', '|---|---|---:|---:|---:|---:|---:|---:|---|');
    for (let i = 0; i < most; i++) {
      for (const run of runs) {
        const r = run.ctx.rows[i];
        if (r) lines.push(`| ${r.workload} | ${run.ctx.store.title} | ${cells(r)} |`);
      }
    }
    const ratios = runs.map((run) => ratioRows(run.ctx, run.baseline));
    lines.push(
      '',
      `| ratio | ${runs.map((r) => r.ctx.store.title).join(' | ')} | target |`,
      `|---|${runs.map(() => '---:|').join('')}---|`,
      ...ratios[0].map(([label, , target], i) => `| ${label} | ${ratios.map((rows) => `${rows[i][1]}${rows[i][3] === 'not measured' ? '' : ` (${rows[i][3]})`}`).join(' | ')} | ${target} |`),
      '',
      ...runs.flatMap((run) => checkLines(run.ctx).map((l) => `${run.ctx.store.title}: ${l}`)),
    );
  }
  lines.push(
    `Statements are counted by the service (\`krr_sql_statements_per_request\` on /metrics: every statement the store runs for a request, the audit insert included); with several workers /metrics shows one worker's.`,
  );
  if (runs.some((r) => r.ctx.store.kind === 'postgres')) {
    lines.push(
      `CPU ms/request: CPU time (user + system) of the measured server's process tree, and of every PostgreSQL process (backends, WAL writer, checkpointer...) when the server runs on this machine, over the measured requests; with SQLite the database work is in the server's process.`,
    );
  }
  return lines.join('\n') + '\n';
}

/** Prepares one store's database and samples, as its workloads' context. */
async function prepareRun(store: BenchStore, options: Options, mintCitizen: Context['mintCitizen']): Promise<StoreRun> {
  const db = await store.prepare(options.count, options.db);
  process.stderr.write(`${store.title} database ${db.path}: ${(db.sizeBytes / 2 ** 20).toFixed(0)} MB${db.seeded ? `, seeded in ${db.seeded.seconds.toFixed(1)} s` : ', reused'}\n`);
  const half = Math.floor(options.count / 2);
  const samples = await store.samples(db, BODIES, IDS_PER_BODY, Math.min(10_000, half), Math.min(20_000, options.duration * 200, half));
  const about = await store.about(db, samples.lookups[0]);
  return { ctx: { options, store, db, samples, mintCitizen, rows: [], findings: {} }, baseline: null, about };
}

async function main(): Promise<void> {
  const options = parseOptions();
  const started = new Date();
  const loadStart = os.loadavg();
  mkdirSync(DATA_DIR, { recursive: true });
  const config = loadConfig({ KRR_DATA_DIR: DATA_DIR });
  if (config.auth.mode !== 'development') throw new Error('the benchmark needs development tokens');
  const auth = config.auth;
  // Created here, before any child process could race to create it.
  const key = await loadOrCreateDevKey(auth.keyFile);
  const mintCitizen = (pid: string) => mintDevToken(auth, key, { citizen: { pid } });

  const stores: BenchStore[] = [];
  try {
    const runs: StoreRun[] = [];
    for (const kind of storesOf(options.store)) {
      const store = await openBenchStore(kind);
      stores.push(store);
      runs.push(await prepareRun(store, options, mintCitizen));
    }
    const notes: string[] = [];
    if (runs.length > 1) {
      const same = runs.every((r) => JSON.stringify(r.ctx.samples) === JSON.stringify(runs[0].ctx.samples));
      notes.push(
        same
          ? 'Both stores hold the same seeded population and get the same requests: the same sampled ids, bodies and citizens. The stores take turns workload by workload (SQLite first).'
          : 'The sampled ids DIFFER between the stores (their populations are not the same); the stores take turns workload by workload (SQLite first).',
      );
    }
    /** Runs a step on each store in turn, with the database server's CPU measured for that store. */
    const eachStore = async (name: string, step: (run: StoreRun) => Promise<void>) => {
      for (const run of runs) {
        process.stderr.write(`${name}${runs.length > 1 ? ` (${run.ctx.store.title})` : ''}...\n`);
        measureDatabaseCpu(run.ctx.store.serverPid());
        await step(run);
      }
    };

    const steps: [string, (ctx: Context) => Promise<void>][] = [
      ['W1', (ctx) => w1(ctx)],
      ['audit', auditLoaded],
      ['limit', limit],
      ['naive', naive],
      ['workers', workers],
      ['W2', w2],
      ['W4', w4],
      ['W3', w3],
    ];
    for (const [name, run] of steps) {
      if (!options.workloads.has(name)) continue;
      await eachStore(name, (r) => run(r.ctx));
    }
    if (options.baselineCount > 0 && options.workloads.has('W1')) {
      await eachStore(`W1 at ${options.baselineCount} people (p99 baseline)`, async (run) => {
        const baseline = await run.ctx.store.prepare(options.baselineCount, path.join(DATA_DIR, `krr-${options.baselineCount}.sqlite`));
        const baseSamples = await run.ctx.store.samples(baseline, BODIES, IDS_PER_BODY, 1, 1);
        run.baseline = baseline;
        await w1(run.ctx, `W1 persons x1000 at ${options.baselineCount.toLocaleString('en-US')} people (baseline)`, baseline.path, baseSamples, 'base');
      });
    }
    if (options.soak > 0) await eachStore(`soak ${options.soak} s`, (run) => soak(run.ctx));

    const text = await report(runs, { start: loadStart, end: os.loadavg() }, started, notes);
    mkdirSync(path.dirname(options.out), { recursive: true });
    writeFileSync(options.out, text);
    process.stdout.write(`${text}\nwritten to ${path.relative(process.cwd(), options.out)}\n`);
  } finally {
    measureDatabaseCpu(null);
    for (const store of stores) await store.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
