/**
 * `npm run db:seed -- --count N [--seed S] [--now ISO] [--db FILE]`
 * SQLite (KRR_DB_PATH, --db or data/krr.sqlite): adds N synthetic people with the bulk seeder.
 * PostgreSQL (KRR_DATABASE_URL): seeds N synthetic people into an empty register.
 */
import { parseArgs } from 'node:util';
import { bulkSeed } from '../../db/seed/bulk';
import { DEFAULT_SEED, progressPrinter } from '../../db/seed/seed';
import { loadConfig } from '../config';
import { openRegisterStore } from '../store/open';
import { openSqliteDatabase } from '../store/sqlite/connection';
import { countPeople } from '../store/sqlite/person-writer';

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
  const config = loadConfig();
  if (config.databaseUrl && !values.db) {
    await seedPostgres(config, { count, seed, now });
    return;
  }
  const dbPath = values.db ?? config.dbPath;
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

/** PostgreSQL: the store's own seeder, which fills an empty register only (one process at a time). */
async function seedPostgres(config: ReturnType<typeof loadConfig>, options: { count: number; seed: number; now: Date }): Promise<void> {
  const store = await openRegisterStore(config);
  try {
    const before = await store.countPeople();
    if (before > 0) throw new Error(`the PostgreSQL register already holds ${before} people; db:seed fills an empty one only`);
    const started = Date.now();
    const written = await store.seedIfEmpty(options, progressPrinter());
    const seconds = (Date.now() - started) / 1000;
    console.error(`seeded ${written} people in ${seconds.toFixed(1)} s (${Math.round(written / Math.max(seconds, 0.001))} people/s) into ${store.location}`);
  } finally {
    await store.close();
  }
}

main().catch((error: unknown) => {
  console.error(`db:seed: ${(error as Error).message}`);
  process.exit(1);
});
