/** Load over loopback HTTP (autocannon), the service's statement counter, and one-off requests. */
import autocannon from 'autocannon';
import { sampleRss, treeCpuMs } from './processes';

export interface LoadResult {
  requests: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  /** Non-2xx answers, socket errors and timeouts. */
  failures: number;
  peakRssMb: number;
  rssSamples: number[];
  /** CPU time per request (ms) of the measured process tree, and of the database server when it is a local process (`measureDatabaseCpu`). */
  cpuMsPerRequest: { service: number; database: number | null };
}

/** The database server's process (the PostgreSQL postmaster, whose tree holds every backend), or null (SQLite: in-process). */
let databasePid: number | null = null;

/** Sets whose CPU time later loads report as the database's (null: none). */
export function measureDatabaseCpu(pid: number | null): void {
  databasePid = pid;
}

export interface LoadSpec {
  url: string;
  /** Gives the next request's body and headers; called once per request, across all connections. */
  next: () => { body: string; headers: Record<string, string> };
  connections: number;
  durationSeconds: number;
  /** The process whose tree's memory is sampled. */
  pid: number;
  rssEveryMs?: number;
}

/** Runs autocannon for a bounded time against one URL, rotating requests with `next`. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const rss = sampleRss(spec.pid, spec.rssEveryMs ?? 250);
  const cpuPid = databasePid;
  const cpuBefore = { service: treeCpuMs(spec.pid), database: cpuPid === null ? 0 : treeCpuMs(cpuPid) };
  // Latencies kept as measured (fractional ms): autocannon's histogram holds whole
  // milliseconds, so a one-id lookup answered in 0.6 ms read as 0 and W2's ratio was lost.
  const latencies: number[] = [];
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        duration: spec.durationSeconds,
        timeout: 120,
        requests: [
          {
            method: 'POST',
            setupRequest: (request) => {
              const { body, headers } = spec.next();
              return { ...request, body, headers: { 'content-type': 'application/json', ...headers } };
            },
          },
        ],
      },
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
    });
  });
  const samples = rss.stop();
  const perRequest = (ms: number) => ms / Math.max(result.requests.total, 1);
  const cpuMsPerRequest = {
    service: perRequest(treeCpuMs(spec.pid) - cpuBefore.service),
    database: cpuPid === null ? null : perRequest(treeCpuMs(cpuPid) - cpuBefore.database),
  };
  return {
    requests: result.requests.total,
    reqPerSec: result.requests.total / Math.max(result.duration, 0.001),
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    failures: result.non2xx + result.errors + result.timeouts,
    peakRssMb: Math.max(...samples),
    rssSamples: samples,
    cpuMsPerRequest,
  };
}

/** The nearest-rank percentile of the 2xx latencies (ms); 0 when there are none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** `krr_sql_statements_per_request` sum and count from the service's /metrics. */
export async function statementTotals(base: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { sum: value('krr_sql_statements_per_request_sum'), count: value('krr_sql_statements_per_request_count') };
}

export async function statementsPerRequest<T>(base: string, during: () => Promise<T>): Promise<{ result: T; perRequest: number }> {
  const before = await statementTotals(base);
  const result = await during();
  const after = await statementTotals(base);
  return { result, perRequest: (after.sum - before.sum) / Math.max(after.count - before.count, 1) };
}

export async function post(url: string, body: string, token: string): Promise<{ status: number; text: string; ms: number }> {
  const started = performance.now();
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body });
  const text = await response.text();
  return { status: response.status, text, ms: performance.now() - started };
}

/** Throws unless the answer is HTTP 200 with data and no errors. */
export async function postOk(url: string, body: string, token: string): Promise<{ json: { data: Record<string, unknown> }; ms: number; text: string }> {
  const { status, text, ms } = await post(url, body, token);
  const json = JSON.parse(text) as { data?: Record<string, unknown>; errors?: unknown[] };
  if (status !== 200 || !json.data || json.errors) throw new Error(`${url} answered ${status}: ${text.slice(0, 800)}`);
  return { json: json as { data: Record<string, unknown> }, ms, text };
}
