/**
 * `npm run bench:import -- [--count 1000000] [--store sqlite|postgres|both] [--sample 10000] [--keep] [--import-only]`
 *
 * The import and export at scale, with the floor measured beside them in the same run:
 * 1. writes `bench/data/people-<count>.jsonl` (register JSON Lines of the seed's synthetic
 *    population, about 620 bytes a person) unless it is there;
 * 2. the floor (bench/import-floor.ts; on PostgreSQL also bench/import-floor-pg.ts, into a
 *    database of its own on the same server) imports it into a table of its own; each step
 *    is reported against its own store's floor;
 * 3. `npm run import` (the built CLI) imports it into an empty register on each store;
 * 4. `npm run export` writes that register out again, and the export is imported into a
 *    second, empty register (on PostgreSQL when it is a store of the run: the SQLite ->
 *    PostgreSQL move); `persons`' register fields for `--sample` ids are compared.
 *    `--import-only` stops after each store's import (the national-scale run: the floor and
 *    the import into an empty register, without the export and the round trip).
 * Wall time and peak RSS (the process tree, sampled every 100 ms) of each step.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { generatePopulation } from '../db/seed/generate';
import { DEFAULT_SEED } from '../db/seed/seed';
import { projectRoot } from '../src/paths';
import { formatPersonRecord } from '../src/register/register-format';
import { sampleRss } from './processes';
import { startThrowawayCluster } from './stores';

const DATA_DIR = path.join(projectRoot, 'bench', 'data');
const DIST = path.join(projectRoot, 'dist');
const NOW = new Date('2026-12-01T12:00:00.000Z');

interface Step {
  name: string;
  seconds: number;
  peakRssMb: number;
  people: number;
  /** The floor this step is measured against: its own store's (the PostgreSQL steps against the PostgreSQL floor). */
  floor?: Step;
}

async function timed(name: string, people: number, command: string[], env: Record<string, string> = {}): Promise<Step> {
  const started = Date.now();
  const child = spawn(process.execPath, command, { cwd: projectRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'pipe'] });
  const rss = sampleRss(child.pid!, 100);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  const samples = rss.stop();
  if (code !== 0) throw new Error(`${name} exited ${code}: ${stderr}`);
  const lastLine = stderr.trim().split('\n').pop() ?? '';
  if (lastLine) console.error(`  ${lastLine}`);
  const step = { name, seconds: (Date.now() - started) / 1000, peakRssMb: Math.max(...samples), people };
  // Each step as it ends too: a long run cut short still leaves its figures.
  console.error(`  ${name}: ${step.seconds.toFixed(1)} s, ${Math.round(people / step.seconds).toLocaleString('en-US')} people/s, peak RSS ${step.peakRssMb.toFixed(0)} MB`);
  return step;
}

async function writeFile(file: string, count: number): Promise<void> {
  const out = createWriteStream(file);
  let chunk = '';
  for (const record of generatePopulation({ count, seed: DEFAULT_SEED, now: NOW })) {
    chunk += `${JSON.stringify(formatPersonRecord(record))}\n`;
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

/** Every `step`-th line's person of `a`, each compared with that person's line in `b`: how many differ or are missing. */
async function compareSample(a: string, b: string, sample: number, count: number): Promise<{ compared: number; differing: number }> {
  const every = Math.max(1, Math.floor(count / sample));
  const wanted = new Map<string, string>();
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(a), crlfDelay: Infinity })) {
    if (n++ % every === 0 && wanted.size < sample) wanted.set((JSON.parse(line) as { personidentifikator: string }).personidentifikator, line);
  }
  let same = 0;
  for await (const line of createInterface({ input: createReadStream(b), crlfDelay: Infinity })) {
    const id = (JSON.parse(line) as { personidentifikator: string }).personidentifikator;
    if (wanted.get(id) === line) same++;
  }
  return { compared: wanted.size, differing: wanted.size - same };
}

/** An empty database for the import on the server of `serverUrl`. */
async function freshPgDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`drop database if exists ${name} with (force)`);
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function dropPgDatabase(serverUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`drop database if exists ${name} with (force)`);
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { count: { type: 'string', default: '1000000' }, store: { type: 'string', default: 'sqlite' }, sample: { type: 'string', default: '10000' }, keep: { type: 'boolean' }, 'import-only': { type: 'boolean' } },
  });
  const count = Number(values.count);
  const kinds = values.store === 'both' ? (['sqlite', 'postgres'] as const) : [values.store as 'sqlite' | 'postgres'];
  mkdirSync(DATA_DIR, { recursive: true });
  const file = path.join(DATA_DIR, `people-${count}.jsonl`);
  if (!existsSync(file)) {
    console.error(`writing ${file}...`);
    await writeFile(file, count);
  }
  console.error(`${file}: ${(statSync(file).size / 1024 / 1024).toFixed(0)} MB`);
  const steps: Step[] = [];
  const floorDb = path.join(DATA_DIR, `floor-${count}.sqlite`);
  console.error('floor...');
  const sqliteFloor = await timed('floor, SQLite (JSON.parse, one insert per person, one transaction)', count, [path.join(DIST, 'bench/import-floor.js'), file, floorDb]);
  steps.push(sqliteFloor);
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${floorDb}${suffix}`, { force: true });

  let cluster: { stop: () => Promise<void> } | null = null;
  const sample = Number(values.sample);
  const comparisons: string[] = [];
  try {
    let previousExport: string | null = null;
    for (const kind of kinds) {
      let env: Record<string, string>;
      let floor = sqliteFloor;
      if (kind === 'sqlite') {
        const db = path.join(DATA_DIR, `import-${count}.sqlite`);
        for (const suffix of ['', '-wal', '-shm']) rmSync(`${db}${suffix}`, { force: true });
        env = { KRR_DB_PATH: db, KRR_DATABASE_URL: '' };
      } else {
        let server = process.env.KRR_DATABASE_URL;
        if (!server) {
          const started = await startThrowawayCluster();
          cluster = started;
          server = started.url;
        }
        const floorUrl = await freshPgDatabase(server, `krr_floor_${count}`);
        console.error('floor on PostgreSQL...');
        floor = await timed('floor, PostgreSQL (JSON.parse, multi-row inserts of 5000, one transaction)', count, [path.join(DIST, 'bench/import-floor-pg.js'), file, floorUrl]);
        steps.push(floor);
        await dropPgDatabase(server, `krr_floor_${count}`);
        env = { KRR_DATABASE_URL: await freshPgDatabase(server, `krr_import_${count}`) };
      }
      const step = async (name: string, command: string[]) => {
        const measured = await timed(name, count, command, env);
        steps.push({ ...measured, floor });
      };
      // The first store imports the generated file; the next one the first one's export (the SQLite -> PostgreSQL move).
      const input = previousExport ?? file;
      console.error(`import ${path.basename(input)} into an empty ${kind} register...`);
      await step(`npm run import (${kind}, empty register${previousExport ? ', the SQLite export' : ''})`, [path.join(DIST, 'src/cli/import.js'), input]);
      if (values['import-only']) continue;
      const exported = path.join(DATA_DIR, `export-${kind}-${count}.jsonl`);
      rmSync(exported, { force: true });
      console.error(`export from ${kind}...`);
      await step(`npm run export (${kind})`, [path.join(DIST, 'src/cli/export.js'), exported]);
      if (previousExport) {
        const { compared, differing } = await compareSample(previousExport, exported, sample, count);
        comparisons.push(`SQLite export vs ${kind} export after the move: ${compared} sampled people compared, ${differing} differ`);
      }
      console.error(`re-import the export into ${kind} (every person replaced)...`);
      await step(`npm run import (${kind}, every person replaced)`, [path.join(DIST, 'src/cli/import.js'), exported]);
      const again = `${exported}.again`;
      await step(`npm run export (${kind}, after the re-import)`, [path.join(DIST, 'src/cli/export.js'), again]);
      const { compared, differing } = await compareSample(exported, again, sample, count);
      comparisons.push(`${kind}: export vs export after re-importing it: ${compared} sampled people compared, ${differing} differ`);
      rmSync(again, { force: true });
      if (previousExport && !values.keep) rmSync(previousExport, { force: true });
      previousExport = exported;
    }
    if (previousExport && !values.keep) rmSync(previousExport, { force: true });
  } finally {
    await cluster?.stop();
  }
  console.log(`\n| step | people | seconds | people/s | % of its store's floor | peak RSS MB |\n|---|---|---|---|---|---|`);
  for (const step of steps) {
    const rate = step.people / step.seconds;
    const floor = step.floor ?? step;
    console.log(`| ${step.name} | ${step.people.toLocaleString('en-US')} | ${step.seconds.toFixed(1)} | ${Math.round(rate).toLocaleString('en-US')} | ${((rate / (floor.people / floor.seconds)) * 100).toFixed(0)}% | ${step.peakRssMb.toFixed(0)} |`);
  }
  for (const line of comparisons) console.log(`\n${line}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
