import type { Config } from '../config';
import { openSqliteRegisterStore } from './sqlite';
import type { RegisterStore } from './types';

/**
 * The register's store as configured: the SQLite file at `KRR_DB_PATH`, with its schema
 * brought up to date first. (PostgreSQL through `KRR_DATABASE_URL` is on its way: issue 5.)
 */
export async function openRegisterStore(config: Pick<Config, 'dbPath' | 'databaseUrl' | 'databasePoolSize'>): Promise<RegisterStore> {
  if (config.databaseUrl) throw new Error('KRR_DATABASE_URL: the PostgreSQL store is not wired in yet');
  return openSqliteRegisterStore(config.dbPath);
}
