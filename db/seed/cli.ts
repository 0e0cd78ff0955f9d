/**
 * `npm run db:seed -- --count N [--seed S] [--now ISO] [--db FILE]`
 * Adds N synthetic people to the database (KRR_DB_PATH or data/krr.sqlite by default).
 */
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config';
import { openSqliteDatabase } from '../../src/store/sqlite/database';
import { countPeople } from '../../src/store/sqlite/person-writer';
import { bulkSeed } from './bulk';
import { DEFAULT_SEED, progressPrinter } from './seed';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '10000' },
      seed: { type: 'string', default: String(DEFAULT_SEED) },
      now: { type: 'string' },
      db: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log('usage: npm run db:seed -- --count N [--seed S] [--now 2026-01-01T00:00:00Z] [--db data/krr.sqlite]');
    return;
  }
  const count = Number(values.count);
  const seed = Number(values.seed);
  const now = values.now ? new Date(values.now) : new Date();
  if (!Number.isInteger(count) || count < 1) throw new Error(`--count must be a positive whole number, got "${values.count}"`);
  if (!Number.isInteger(seed)) throw new Error(`--seed must be a whole number, got "${values.seed}"`);
  if (Number.isNaN(now.getTime())) throw new Error(`--now must be an ISO 8601 time, got "${values.now}"`);
  const dbPath = values.db ?? loadConfig().dbPath;
  const store = openSqliteDatabase(dbPath);
  try {
    const before = countPeople(store.db);
    if (before > 0) console.error(`the database already holds ${before} people; adding ${count} more (existing ids are replaced)`);
    const report = await bulkSeed(store, { count, seed, now }, progressPrinter(), (phase, seconds) => {
      console.error(`  ${phase}: ${seconds.toFixed(1)} s`);
      if (phase === 'rows' && before === 0) console.error('  now sorting the rows into their tables, building indexes and committing');
    });
    const rate = Math.round(report.count / Math.max(report.seconds, 0.001));
    console.error(`seeded ${report.count} people in ${report.seconds.toFixed(1)} s (${rate} people/s, ${report.mode} database)`);
    console.error(`${countPeople(store.db)} people in ${dbPath}`);
  } finally {
    store.close();
  }
}

main().catch((error: unknown) => {
  console.error(`db:seed: ${(error as Error).message}`);
  process.exit(1);
});
