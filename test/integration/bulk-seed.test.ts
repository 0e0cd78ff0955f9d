import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bulkSeed } from '../../db/seed/bulk';
import { generatePopulation, type PopulationOptions } from '../../db/seed/generate';
import { seedPopulation } from '../../db/seed/seed';
import { projectRoot } from '../../src/paths';
import { openSqliteDatabase, type SqliteDatabase } from '../../src/store/sqlite/connection';
import { replacePerson } from '../../src/store/sqlite/person-writer';

const now = new Date('2026-06-15T12:00:00Z');
const first: PopulationOptions = { count: 3000, seed: 5, now };
const second: PopulationOptions = { count: 1500, seed: 6, now: new Date('2026-07-01T08:00:00Z') };
const CLI = path.join(projectRoot, 'dist', 'src', 'cli', 'seed.js');

const tempFile = (name: string) => path.join(mkdtempSync(path.join(os.tmpdir(), 'krr-bulk-seed-')), name);

/** The slow path: every person through `replacePerson` (Drizzle), as the seed used to write them. */
function seedSlowly(store: SqliteDatabase, options: PopulationOptions): void {
  const people = [...generatePopulation(options)];
  for (let i = 0; i < people.length; i += 500) {
    store.db.transaction((tx) => {
      for (const record of people.slice(i, i + 500)) replacePerson(tx, record, 'SEED', options.now);
    });
  }
}

/** Everything a seed writes, in key order, and the schema (the dropped indexes must be back as they were). */
function dump(store: SqliteDatabase) {
  const all = (sql: string) => store.sqlite.prepare(sql).all();
  return {
    person: all('select * from person order by id'),
    contactPoint: all('select * from contact_point order by person_id, channel'),
    digitalPost: all('select * from digital_post order by person_id'),
    changeLog: all('select * from change_log order by change_number'),
    schema: all("select type, name, tbl_name, sql from sqlite_master where name not like 'sqlite_%' order by name"),
    integrity: store.sqlite.pragma('integrity_check', { simple: true }),
    foreignKeys: all('pragma foreign_key_check'),
  };
}

function withStore<T>(file: string, fn: (store: SqliteDatabase) => T): T {
  const store = openSqliteDatabase(file);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

describe('bulk seed', () => {
  const slow = withStore(':memory:', (store) => {
    seedSlowly(store, first);
    const afterFirst = dump(store);
    seedSlowly(store, second);
    return { afterFirst, afterSecond: dump(store) };
  });

  it('the slow path writes what the comparisons expect', () => {
    expect(slow.afterFirst.person).toHaveLength(3000);
    expect(slow.afterFirst.changeLog).toHaveLength(3000);
    expect(slow.afterFirst.contactPoint.length).toBeGreaterThan(4000);
    expect(slow.afterFirst.digitalPost.length).toBeGreaterThan(1000);
    expect(slow.afterSecond.changeLog).toHaveLength(4500);
  });

  it('seedPopulation writes the same rows as replacePerson', () => {
    const fast = withStore(':memory:', (store) => {
      seedPopulation(store.sqlite, first);
      const afterFirst = dump(store);
      seedPopulation(store.sqlite, second);
      return { afterFirst, afterSecond: dump(store) };
    });
    expect(fast).toEqual(slow);
  });

  it('bulkSeed into an empty file database, then into a full one, writes the same rows and schema', async () => {
    const file = tempFile('bulk.sqlite');
    const store = openSqliteDatabase(file);
    try {
      const progress: number[] = [];
      const report = await bulkSeed(store, first, (done) => progress.push(done));
      expect(report).toMatchObject({ count: 3000, mode: 'empty' });
      expect(progress.at(-1)).toBe(3000);
      expect(dump(store)).toEqual(slow.afterFirst);
      expect((await bulkSeed(store, second)).mode).toBe('append');
      expect(dump(store)).toEqual(slow.afterSecond);
      expect(store.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
    } finally {
      store.close();
    }
  });

  it('bulkSeed into an in-memory store writes the same rows and leaves its settings as they were', async () => {
    const store = openSqliteDatabase(':memory:');
    try {
      await bulkSeed(store, first);
      expect(dump(store)).toEqual(slow.afterFirst);
      expect(store.sqlite.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(store.sqlite.pragma('synchronous', { simple: true })).toBe(2);
    } finally {
      store.close();
    }
  });

  it('the built db:seed command (population generated in a worker thread) writes the same rows', () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` (npm test does it first)`);
    const file = tempFile('cli.sqlite');
    const run = (options: PopulationOptions) =>
      spawnSync(process.execPath, [CLI, '--count', String(options.count), '--seed', String(options.seed), '--now', options.now.toISOString(), '--db', file], {
        encoding: 'utf8',
        timeout: 60_000,
      });
    const seeded = run(first);
    expect(seeded.status).toBe(0);
    expect(seeded.stderr).toMatch(/seeded 3000 people in .* empty database/);
    expect(withStore(file, dump)).toEqual(slow.afterFirst);
    expect(run(second).status).toBe(0);
    expect(withStore(file, dump)).toEqual(slow.afterSecond);
  });
});
