/** The benchmark's database: built once per population size and reused, and the ids the workloads ask for. */
import { existsSync, statSync } from 'node:fs';
import { bulkSeed } from '../db/seed/bulk';
import { createRandom, syntheticIdentityNumber } from '../db/seed/generate';
import { DEFAULT_SEED, progressPrinter } from '../db/seed/seed';
import { openSqliteDatabase } from '../src/store/sqlite/connection';
import { countPeople } from '../src/store/sqlite/person-writer';

export interface PreparedDatabase {
  path: string;
  count: number;
  /** Set when this run seeded it. */
  seeded: { seconds: number; perSecond: number; phases: Record<string, number> } | null;
  sizeBytes: number;
}

export function databaseSize(path: string): number {
  return [path, `${path}-wal`].reduce((sum, file) => sum + (existsSync(file) ? statSync(file).size : 0), 0);
}

/**
 * Reuses the database at `path` when it holds `count` people; seeds an empty (or missing)
 * one; refuses one that holds some other number. Lookup-audit rows of earlier runs are
 * removed so runs are comparable (every W1 request adds 1000).
 */
export async function prepareDatabase(path: string, count: number): Promise<PreparedDatabase> {
  const store = openSqliteDatabase(path);
  try {
    const before = countPeople(store.db);
    let seeded: PreparedDatabase['seeded'] = null;
    if (before === 0) {
      process.stderr.write(`seeding ${count} people into ${path}\n`);
      const report = await bulkSeed(store, { count, seed: DEFAULT_SEED, now: new Date() }, progressPrinter(), (phase, seconds) =>
        process.stderr.write(`  ${phase}: ${seconds.toFixed(1)} s\n`),
      );
      seeded = { seconds: report.seconds, perSecond: report.count / report.seconds, phases: report.phases };
    } else if (before !== count) {
      throw new Error(`${path} holds ${before} people, not ${count}: delete it or pass another --db`);
    }
    store.sqlite.exec('delete from lookup_person; delete from lookup_segment; delete from lookup_request');
    store.sqlite.pragma('wal_checkpoint(TRUNCATE)');
    return { path, count, seeded, sizeBytes: databaseSize(path) };
  } finally {
    store.close();
  }
}

export interface Samples {
  /** Distinct existing ids per W1 body. */
  lookups: string[][];
  /** Single ids for W2. */
  singles: string[];
  /** Active people, for citizen mutations (W3). */
  citizens: string[];
  /** Valid identity numbers of nobody in the register (NOT_REGISTERED answers). */
  unregistered: string[];
}

/** Where samples come from: people by rank 1..maxRank (SQLite: rowid, which follows the id order of the seed). */
export interface SampleSource {
  maxRank: number;
  byRank(rank: number): { id: string; status: string } | undefined;
  exists(id: string): boolean;
}

/**
 * Random existing people (deterministic: the same population gives the same samples), by
 * rank. The SQLite seed writes people in id order (rowid 1 is the smallest id), so a source
 * that ranks a PostgreSQL database's people by id draws the same ids from the same population.
 */
export function pickSamples(source: SampleSource, where: string, bodies: number, perBody: number, singles: number, citizens: number): Samples {
  const random = createRandom(7);
  const pick = (want: number, activeOnly: boolean): string[] => {
    const ids = new Set<string>();
    // Bounded: ranks may have gaps and some people are not active.
    for (let tries = 0; ids.size < want && tries < want * 20; tries++) {
      const row = source.byRank(1 + Math.floor(random() * source.maxRank));
      if (row && (!activeOnly || row.status === 'ACTIVE')) ids.add(row.id);
    }
    if (ids.size < want) throw new Error(`found only ${ids.size} of ${want} people to sample in ${where}`);
    return [...ids];
  };
  const other = createRandom(99);
  const unregistered: string[] = [];
  for (let tries = 0; unregistered.length < 2 && tries < 1000; tries++) {
    const id = syntheticIdentityNumber(other);
    if (!source.exists(id)) unregistered.push(id);
  }
  return {
    unregistered,
    lookups: Array.from({ length: bodies }, () => pick(perBody, false)),
    singles: pick(singles, false),
    citizens: pick(citizens, true),
  };
}

/** `pickSamples` from a SQLite file, by rowid. */
export function sampleIds(path: string, bodies: number, perBody: number, singles: number, citizens: number): Samples {
  const store = openSqliteDatabase(path);
  try {
    const byRowid = store.sqlite.prepare('select id, status from person where rowid = ?');
    const byId = store.sqlite.prepare('select 1 from person where id = ?');
    const source: SampleSource = {
      maxRank: store.sqlite.prepare('select max(rowid) from person').pluck().get() as number,
      byRank: (rank) => byRowid.get(rank) as { id: string; status: string } | undefined,
      exists: (id) => byId.get(id) !== undefined,
    };
    return pickSamples(source, path, bodies, perBody, singles, citizens);
  } finally {
    store.close();
  }
}
