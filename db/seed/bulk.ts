/**
 * `bulkSeed`: millions of synthetic people fast, for `npm run db:seed` and the benchmark.
 *
 * - The rows are exactly those `replacePerson` writes (see `rows.ts`), each person with its
 *   own change number, written with raw prepared statements on a connection of its own
 *   (the store's connection logs every statement for the metrics).
 * - The population is generated in a worker thread while the main thread writes (when
 *   running compiled; under ts/jest, and for an in-memory store, in the main thread).
 * - Into an EMPTY database it is all one transaction (`StagedLoader`): person and contact
 *   rows are staged and moved in key order at the end; the three indexes with keys in
 *   random order by then (`DEFERRED_INDEXES`) are dropped at its start and rebuilt, sorted,
 *   at its end; commits are not fsynced (`synchronous=OFF`) and foreign keys are not checked
 *   (every row's person is written in the same transaction). A seed that dies half-way
 *   leaves the database as empty as it was, indexes included. The lookup read model's
 *   triggers are dropped too, and the read model is derived once at the end, in the same
 *   transaction (db/lookup-model.sqlite.ts). Afterwards `synchronous=FULL`
 *   is restored and a final `wal_checkpoint(TRUNCATE)` writes everything into the database
 *   file and fsyncs it.
 * - Into a database that already holds people it replaces like `replacePerson` (old contact
 *   and mailbox rows deleted), in fsynced transactions of `APPEND_TRANSACTION` people, with
 *   every index and foreign key in place.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { DEFERRED_INDEXES, LOOKUP_MODEL_TRIGGERS, REBUILD_LOOKUP_MODEL, setAside } from '../lookup-model.sqlite';
import type { WorkerInput, WorkerMessage } from './bulk-worker';
import { generatePopulation, type PopulationOptions } from './generate';
import { PersonRowWriter, StagedLoader, toTuple, type PersonTuple } from './rows';

const BATCH = 5000;
const APPEND_TRANSACTION = 50_000;
/**
 * Page caches of the seeding connection (upper bounds, filled only as the load grows): about
 * the whole database of a national-scale load, and the staging tables. Fewer pages spilled
 * half-written; about 6 GB of memory at 5.5 million people, 1.3 GB at 1 million.
 */
const CACHE_KIB = 4_000_000;
const TEMP_CACHE_KIB = 2_000_000;

export interface BulkSeedReport {
  count: number;
  seconds: number;
  /** `empty`: one unsynced transaction with deferred indexes; `append`: replacing, fsynced. */
  mode: 'empty' | 'append';
  generatedIn: 'worker' | 'main thread';
  /** Seconds per phase: rows (generate and write), sort (staged rows into the tables), indexes, commit, checkpoint. */
  phases: Record<string, number>;
}

const WORKER_FILE = path.join(__dirname, 'bulk-worker.js');

/** Batches of people from a worker thread, at most a few batches ahead of the writer. */
async function* fromWorker(options: PopulationOptions): AsyncGenerator<PersonTuple[]> {
  const input: WorkerInput = { count: options.count, seed: options.seed, nowMs: options.now.getTime(), batchSize: BATCH, ahead: 4 };
  const worker = new Worker(WORKER_FILE, { workerData: input });
  const queue: WorkerMessage[] = [];
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    wake?.();
    wake = null;
  };
  worker.on('message', (message: WorkerMessage) => {
    queue.push(message);
    notify();
  });
  worker.on('error', (error) => {
    failure = error;
    notify();
  });
  worker.on('exit', (code) => {
    if (code !== 0) failure ??= new Error(`the seed worker exited with ${code}`);
    notify();
  });
  try {
    for (;;) {
      if (failure) throw failure;
      const message = queue.shift();
      if (!message) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      if ('done' in message) return;
      yield message.rows;
      worker.postMessage('credit');
    }
  } finally {
    await worker.terminate();
  }
}

async function* inThread(options: PopulationOptions): AsyncGenerator<PersonTuple[]> {
  let rows: PersonTuple[] = [];
  for (const record of generatePopulation(options)) {
    rows.push(toTuple(record));
    if (rows.length === BATCH) {
      yield rows;
      rows = [];
    }
  }
  if (rows.length > 0) yield rows;
}

/**
 * Adds `options.count` synthetic people (the same rows `seedPopulation` writes for the same
 * options). `onProgress` is called after every batch of a few thousand, `onPhase` at the end
 * of each phase (rows, sort, indexes, commit, checkpoint).
 */
export async function bulkSeed(
  /** The SQLite database to fill (the store's connection; a file database gets a connection of its own). */
  store: { sqlite: Database.Database },
  options: PopulationOptions,
  onProgress?: (done: number, total: number) => void,
  onPhase?: (phase: string, seconds: number) => void,
): Promise<BulkSeedReport> {
  const started = Date.now();
  // A connection of its own (no statement logging, its own pragmas); an in-memory store has only one.
  const own = !store.sqlite.memory;
  const sqlite = own ? new Database(store.sqlite.name) : store.sqlite;
  const useWorker = own && __filename.endsWith('.js') && existsSync(WORKER_FILE);
  const phases: Record<string, number> = {};
  let mark = Date.now();
  const phase = (name: string) => {
    phases[name] = (Date.now() - mark) / 1000;
    onPhase?.(name, phases[name]);
    mark = Date.now();
  };
  try {
    sqlite.pragma('busy_timeout = 5000');
    const empty = !sqlite.prepare('select exists (select 1 from person) or exists (select 1 from change_log)').pluck().get();
    sqlite.pragma(`synchronous = ${empty ? 'OFF' : 'FULL'}`);
    // Mailbox rows are written before their people leave the staging table (same transaction).
    sqlite.pragma(`foreign_keys = ${empty ? 'OFF' : 'ON'}`);
    sqlite.pragma(`cache_size = -${CACHE_KIB}`);

    let done = 0;
    let sinceCommit = 0;
    sqlite.exec('begin immediate');
    try {
      // Into an empty register the read model is derived once at the end instead of row by row.
      const restore = setAside(sqlite, empty ? DEFERRED_INDEXES : [], empty ? LOOKUP_MODEL_TRIGGERS : []);
      const writer = empty ? new StagedLoader(sqlite, 'SEED', options.now) : new PersonRowWriter(sqlite, 'SEED', options.now);
      // The temp database (staging tables, sorts) exists once the staging tables do.
      if (empty) sqlite.pragma(`temp.cache_size = -${TEMP_CACHE_KIB}`);
      for await (const rows of useWorker ? fromWorker(options) : inThread(options)) {
        writer.write(rows);
        done += rows.length;
        sinceCommit += rows.length;
        if (!empty && sinceCommit >= APPEND_TRANSACTION) {
          sqlite.exec('commit');
          sqlite.exec('begin immediate');
          sinceCommit = 0;
        }
        onProgress?.(done, options.count);
      }
      phase('rows');
      if (writer instanceof StagedLoader) {
        writer.finish();
        phase('sort');
      }
      restore.indexes();
      phase('indexes');
      if (empty) {
        sqlite.exec(REBUILD_LOOKUP_MODEL);
        restore.triggers();
        phase('read model');
      }
      sqlite.exec('commit');
      phase('commit');
    } catch (error) {
      if (sqlite.inTransaction) sqlite.exec('rollback');
      throw error;
    }
    sqlite.pragma('synchronous = FULL');
    sqlite.pragma('wal_checkpoint(TRUNCATE)');
    phase('checkpoint');
    return { count: done, seconds: (Date.now() - started) / 1000, mode: empty ? 'empty' : 'append', generatedIn: useWorker ? 'worker' : 'main thread', phases };
  } finally {
    if (own) sqlite.close();
    else {
      sqlite.pragma('synchronous = FULL');
      sqlite.pragma('foreign_keys = ON');
      sqlite.pragma('cache_size = -2000');
      sqlite.pragma('temp.cache_size = -2000');
    }
  }
}
