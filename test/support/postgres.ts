import pg from 'pg';
import { isPostgresUrl } from '../../src/config';

/**
 * The PostgreSQL the tests run against: the one test/support/global-setup.js started or was
 * given (KRR_TEST_POSTGRES_URL), else `KRR_DATABASE_URL=postgres://...` (for example the line
 * `scripts/pg-cluster.sh start DIR` prints) when a test file runs outside jest's global setup.
 */
export const postgresUrl: string | undefined = [process.env.KRR_TEST_POSTGRES_URL, process.env.KRR_DATABASE_URL].find((url) => isPostgresUrl(url ?? ''));

/** CI must run the PostgreSQL tests (.ci/run installs PostgreSQL; jest's global setup starts it). */
const required = process.env.CI === 'true';

/**
 * `describe` that runs when KRR_DATABASE_URL names a PostgreSQL database. Without one:
 * skipped with a message, except under CI=true, where the skip would
 * hide a gap and the suite fails instead.
 */
export function describeWithPostgres(name: string, body: () => void): void {
  if (postgresUrl) return describe(name, body);
  const why = process.env.KRR_DATABASE_URL ? `KRR_DATABASE_URL is not a postgres:// URL` : 'KRR_DATABASE_URL is not set';
  const message =
    `${why}: start a throwaway PostgreSQL 15 with \`dir=$(mktemp -d) && export "$(scripts/pg-cluster.sh start "$dir" | tail -n 1)"\`, ` +
    'run the tests, then `scripts/pg-cluster.sh stop "$dir" --remove`';
  if (required) {
    describe(name, () => {
      it('needs PostgreSQL (CI=true)', () => {
        throw new Error(message);
      });
    });
  } else {
    console.warn(`SKIPPED "${name}": ${message}`);
    describe.skip(name, body);
  }
}

export interface ScratchDatabase {
  url: string;
  name: string;
  /** Drops the database, disconnecting whoever is still on it. */
  drop(): Promise<void>;
}

/**
 * A new, empty database on the server of `serverUrl`, so a test starts from nothing and
 * runs again the same way. Needs a user with CREATEDB (the throwaway cluster's `postgres`).
 */
export async function createScratchDatabase(serverUrl: string, prefix = 'krr_scratch'): Promise<ScratchDatabase> {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 10_000 });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } catch (error) {
    throw new Error(`could not create the scratch database ${name} (the KRR_DATABASE_URL user needs CREATEDB): ${(error as Error).message}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 10_000 });
      await client.connect();
      try {
        // pool.end() resolves before the server has seen every connection close: give them
        // a moment to go, so FORCE has nobody left to cut off (their pools would report it).
        for (let i = 0; i < 50; i++) {
          const { rows } = await client.query<{ n: string }>('select count(*) as n from pg_stat_activity where datname = $1', [name]);
          if (Number(rows[0].n) === 0) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        await client.query(`drop database if exists ${name} with (force)`);
      } finally {
        await client.end();
      }
    },
  };
}
