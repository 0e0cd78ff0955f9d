/**
 * The stores the benchmark runs on (`--store sqlite|postgres|both`), and what differs
 * between them: where the database of N people is and how it is prepared, what the
 * service is told to use it, how samples are drawn from it, which limit server answers
 * for it, and what the report says about it.
 *
 * - SQLite: `bench/data/krr-<count>.sqlite` (or `--db`), as before (bench/data.ts).
 * - PostgreSQL: the database `krr_bench_<count>` on the server of `KRR_DATABASE_URL` when
 *   it is set, else on a throwaway PostgreSQL 15 cluster (scripts/pg-cluster.sh) in a new
 *   folder under /tmp, stopped and removed when the benchmark ends, fails or is interrupted.
 *   Seeded by the store's own `seedIfEmpty` when empty, reused when it holds N people.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { DEFAULT_SEED, progressPrinter } from '../db/seed/seed';
import { isPostgresUrl } from '../src/config';
import { projectRoot } from '../src/paths';
import { openPostgresRegisterStore, redactedUrl } from '../src/store/postgres';
import { databaseSize, pickSamples, prepareDatabase, sampleIds, type PreparedDatabase, type Samples } from './data';
import { storeLookupStatements } from './pg-statements';
import { exitOnSignals, parentPid } from './processes';

export type BenchStoreKind = 'sqlite' | 'postgres';
export const STORE_CHOICES = ['sqlite', 'postgres', 'both'] as const;
export type StoreChoice = (typeof STORE_CHOICES)[number];

export const storesOf = (choice: StoreChoice): BenchStoreKind[] => (choice === 'both' ? ['sqlite', 'postgres'] : [choice]);

/** What a process of the service (or a limit server) is told about its database: a SQLite file or a PostgreSQL URL. */
export function storeEnv(location: string): Record<string, string> {
  return isPostgresUrl(location) ? { KRR_DATABASE_URL: location } : { KRR_DB_PATH: location };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

export interface BenchStore {
  kind: BenchStoreKind;
  /** SQLite, PostgreSQL */
  title: string;
  /** The minimal handler for this store (built, in dist/bench). */
  limitScript: string;
  /** The limit's row in the table. */
  limitLabel: string;
  /** How an acknowledged write is made durable (W3's note). */
  durability: string;
  /**
   * The database of `count` people, seeded when empty, reused when it holds `count`;
   * lookup-audit rows of earlier runs removed. `sqlitePath`: the SQLite file to use.
   */
  prepare(count: number, sqlitePath: string): Promise<PreparedDatabase>;
  samples(db: PreparedDatabase, bodies: number, perBody: number, singles: number, citizens: number): Promise<Samples>;
  /** Lines for the report about the store itself (server, settings, statement timings for `ids`). */
  about(db: PreparedDatabase, ids: readonly string[]): Promise<string[]>;
  /** The report's line on the database, with its size now. */
  describe(db: PreparedDatabase): Promise<string>;
  /** The database server's process, whose CPU time is measured alongside the service's (null: none, or not local). */
  serverPid(): number | null;
  close(): Promise<void>;
}

function seededText(db: PreparedDatabase, how: string): string {
  const s = db.seeded;
  if (!s) return '; reused';
  const phases = Object.entries(s.phases).map(([k, v]) => `${k} ${v.toFixed(1)} s`);
  return `; seeded in this run${how}: ${s.seconds.toFixed(1)} s, ${Math.round(s.perSecond).toLocaleString('en-US')} people/s${phases.length ? ` (${phases.join(', ')})` : ''}`;
}

/** The embedded default: files in bench/data, seeded by the bulk seeder. */
export function sqliteStore(): BenchStore {
  return {
    kind: 'sqlite',
    title: 'SQLite',
    limitScript: path.join(projectRoot, 'dist', 'bench', 'limit-server.js'),
    limitLabel: 'W1 floor (http + better-sqlite3: one answer row per person, one audit append, JSON.stringify)',
    durability: 'synchronous=FULL',
    prepare: (count, sqlitePath) => prepareDatabase(sqlitePath, count),
    samples: async (db, ...sizes) => sampleIds(db.path, ...sizes),
    async about() {
      const Database = (await import('better-sqlite3')).default;
      const memory = new Database(':memory:');
      const version = memory.prepare('select sqlite_version() as v').pluck().get() as string;
      memory.close();
      return [`SQLite ${version} (better-sqlite3, in the service's process): journal_mode=WAL, synchronous=FULL.`];
    },
    describe: async (db) =>
      `Database ${path.relative(projectRoot, db.path)}: ${mb(databaseSize(db.path))} after the run (${mb(db.sizeBytes)} before)${seededText(db, '')}.`,
    serverPid: () => null,
    close: async () => {},
  };
}

// ---------------------------------------------------------------------------------------
// PostgreSQL

const PG_CLUSTER = path.join(projectRoot, 'scripts', 'pg-cluster.sh');

/** Server settings that matter for the comparison, printed in the report. */
const SHOWN_SETTINGS = [
  'shared_buffers',
  'effective_cache_size',
  'work_mem',
  'synchronous_commit',
  'fsync',
  'wal_sync_method',
  'full_page_writes',
  'max_wal_size',
  'checkpoint_timeout',
  'jit',
  'max_connections',
];

function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** One short-lived connection to `url` for `use` (the benchmark's setup and checks). */
export async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'krr-bench', connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** Runs scripts/pg-cluster.sh; its log goes to our stderr; resolves with its stdout. */
function pgCluster(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [PG_CLUSTER, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`scripts/pg-cluster.sh ${args.join(' ')} exited with ${code}`))));
  });
}

/** A throwaway cluster, stopped and removed at exit whatever the way out (normal end, failure, Ctrl-C). */
export async function startThrowawayCluster(): Promise<{ url: string; dir: string; stop: () => Promise<void> }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'krr-bench-pg-'));
  let stopped = false;
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    process.stderr.write(`stopping the throwaway PostgreSQL cluster in ${dir}\n`);
    spawnSync('bash', [PG_CLUSTER, 'stop', dir, '--remove'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 90_000 });
  };
  process.on('exit', stopNow);
  exitOnSignals();
  const out = await pgCluster(['start', dir]);
  const line = out.trim().split('\n').pop() ?? '';
  const url = /^KRR_DATABASE_URL=(postgres:\/\/\S+)$/.exec(line)?.[1];
  if (!url) throw new Error(`scripts/pg-cluster.sh start printed no URL (last line: ${line})`);
  return {
    url,
    dir,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await pgCluster(['stop', dir, '--remove']);
    },
  };
}

/**
 * PostgreSQL: the server of KRR_DATABASE_URL, or a throwaway cluster. One object for the
 * whole run (the main and the baseline database live on the same server).
 */
export async function postgresStore(env: NodeJS.ProcessEnv = process.env): Promise<BenchStore> {
  const given = env.KRR_DATABASE_URL;
  if (given && !isPostgresUrl(given)) throw new Error('KRR_DATABASE_URL must be a postgres:// or postgresql:// URL');
  const cluster = given ? null : await startThrowawayCluster();
  const serverUrl = given ?? cluster!.url;
  const where = cluster ? `a throwaway cluster (scripts/pg-cluster.sh) in ${cluster.dir}` : `the server of KRR_DATABASE_URL (${redactedUrl(serverUrl)})`;

  // The postmaster, for CPU time: the parent of our own backend (read while it lives), when the server runs on this machine.
  const server = await withClient(serverUrl, async (client) => {
    const { rows } = await client.query<{ pid: number; version: string }>(`select pg_backend_pid() as pid, current_setting('server_version') as version`);
    const settings = await client.query<{ name: string; setting: string; unit: string | null; source: string }>(
      'select name, setting, unit, source from pg_settings where name = any($1) order by array_position($1, name)',
      [SHOWN_SETTINGS],
    );
    let postmaster: number | null = null;
    const candidate = parentPid(rows[0].pid);
    try {
      if (candidate && readFileSync(`/proc/${candidate}/comm`, 'utf8').trim() === 'postgres') postmaster = candidate;
    } catch {
      // not on this machine, or not readable
    }
    return { postmaster, version: rows[0].version, settings: settings.rows };
  });
  const postmaster = server.postmaster;

  /** Settings in the server's own units (8kB pages shown as MB). */
  const setting = (s: { name: string; setting: string; unit: string | null; source: string }) => {
    let value = s.setting;
    if (s.unit === '8kB') value = `${(Number(s.setting) * 8) / 1024} MB`;
    else if (s.unit === 'kB') value = Number(s.setting) >= 1024 ? `${Number(s.setting) / 1024} MB` : `${s.setting} kB`;
    else if (s.unit === 'MB') value = `${s.setting} MB`;
    else if (s.unit) value = `${s.setting} ${s.unit}`;
    return `${s.name}=${value}${s.source === 'default' ? '' : ` (${s.source})`}`;
  };

  async function sizeOf(url: string): Promise<number> {
    return withClient(url, async (c) => Number((await c.query<{ n: string }>('select pg_database_size(current_database()) as n')).rows[0].n));
  }

  return {
    kind: 'postgres',
    title: 'PostgreSQL',
    limitScript: path.join(projectRoot, 'dist', 'bench', 'limit-server-pg.js'),
    limitLabel: 'W1 floor (http + node-postgres: one answer row per person, one audit append, JSON.stringify)',
    durability: 'synchronous_commit=on',

    async prepare(count) {
      const name = `krr_bench_${count}`;
      const url = databaseUrl(serverUrl, name);
      await withClient(serverUrl, async (client) => {
        const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
        if (rowCount === 0) {
          process.stderr.write(`creating database ${name}\n`);
          await client.query(`create database ${name}`);
        }
      });
      // The store applies the migrations, counts and seeds, as the service would on a first start.
      const store = await openPostgresRegisterStore(url, { maxConnections: 2 });
      let seeded: PreparedDatabase['seeded'] = null;
      try {
        const before = await store.countPeople();
        if (before === 0) {
          process.stderr.write(`seeding ${count} people into ${name} (RegisterStore.seedIfEmpty)\n`);
          const started = performance.now();
          const written = await store.seedIfEmpty({ count, seed: DEFAULT_SEED, now: new Date() }, progressPrinter());
          const seconds = (performance.now() - started) / 1000;
          if (written !== count) throw new Error(`seedIfEmpty wrote ${written} people, not ${count}`);
          seeded = { seconds, perSecond: count / seconds, phases: {} };
        } else if (before !== count) {
          throw new Error(`database ${name} holds ${before} people, not ${count}: drop it (drop database ${name}) or use another server`);
        }
      } finally {
        await store.close();
      }
      await withClient(url, async (client) => {
        await client.query('truncate lookup_person, lookup_segment, lookup_request');
        if (seeded) {
          // What autovacuum would do before long: statistics for the planner, the visibility map for index-only scans.
          let started = performance.now();
          await client.query('vacuum (analyze)');
          seeded.phases['vacuum analyze (not counted)'] = (performance.now() - started) / 1000;
          started = performance.now();
          await client.query('checkpoint').catch(() => {});
          seeded.phases['checkpoint (not counted)'] = (performance.now() - started) / 1000;
        } else {
          await client.query('checkpoint').catch(() => {});
        }
      });
      return { path: url, count, seeded, sizeBytes: await sizeOf(url) };
    },

    async samples(db, bodies, perBody, singles, citizens) {
      // Every id in id order ("C" collation: byte order, as the SQLite seed's rowids follow).
      const { ids, statuses } = await withClient(db.path, async (client) => {
        const { rows } = await client.query<[string, string]>({ text: 'select id, status from person order by id collate "C"', rowMode: 'array' });
        return { ids: rows.map((r) => r[0]), statuses: rows.map((r) => r[1]) };
      });
      const exists = (id: string) => {
        let lo = 0;
        let hi = ids.length - 1;
        while (lo <= hi) {
          const mid = (lo + hi) >> 1;
          if (ids[mid] === id) return true;
          if (ids[mid] < id) lo = mid + 1;
          else hi = mid - 1;
        }
        return false;
      };
      const source = { maxRank: ids.length, byRank: (rank: number) => (rank <= ids.length ? { id: ids[rank - 1], status: statuses[rank - 1] } : undefined), exists };
      return pickSamples(source, new URL(db.path).pathname.slice(1), bodies, perBody, singles, citizens);
    },

    async about(db, ids) {
      const lines = [
        `PostgreSQL ${server.version} on ${where}; settings: ${server.settings.map(setting).join(', ')} (as the server has them; unmarked: defaults).`,
        `Each service process has a pool of 10 connections (KRR_DATABASE_POOL_SIZE default); the limit server too.`,
      ];
      if (ids.length === 0) return lines;
      // Where a W1 request's database time goes: each statement alone, warm, for one body of ids.
      const LOOKUP = await storeLookupStatements();
      const timings = await withClient(db.path, async (client) => {
        const out: string[] = [];
        for (const [label, s] of [['the read model', LOOKUP.read]] as const) {
          let ms = Infinity;
          for (let i = 0; i < 3; i++) {
            const { rows } = await client.query<{ 'QUERY PLAN': [{ 'Execution Time': number }] }>(`explain (analyze, format json) ${s.text}`, [ids]);
            ms = Math.min(ms, rows[0]['QUERY PLAN'][0]['Execution Time']);
          }
          out.push(`${label} ${ms.toFixed(1)} ms`);
        }
        return out;
      });
      lines.push(`Server-side execution of the lookup's read for ${ids.length} ids (EXPLAIN ANALYZE, best of 3, warm): ${timings.join(', ')}.`);
      return lines;
    },

    describe: async (db) =>
      `Database ${new URL(db.path).pathname.slice(1)}: ${mb(await sizeOf(db.path))} (pg_database_size) after the run (${mb(db.sizeBytes)} before)${seededText(db, ' by RegisterStore.seedIfEmpty')}.`,
    serverPid: () => postmaster,
    close: async () => {
      await cluster?.stop();
    },
  };
}

export async function openBenchStore(kind: BenchStoreKind): Promise<BenchStore> {
  return kind === 'sqlite' ? sqliteStore() : postgresStore();
}
