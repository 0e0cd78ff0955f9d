import type { Config } from '../config';
import { openSqliteRegisterStore } from './sqlite';
import type { RegisterStore } from './types';

/**
 * The register's store as configured: PostgreSQL when `KRR_DATABASE_URL` is set, else the
 * SQLite file at `KRR_DB_PATH`. Either way the schema is brought up to date first.
 */
export async function openRegisterStore(config: Pick<Config, 'dbPath' | 'databaseUrl' | 'databaseReadUrl' | 'databasePoolSize'>): Promise<RegisterStore> {
  if (config.databaseUrl) {
    // Loaded only when asked for: the embedded default does not need the pg driver.
    const { openPostgresRegisterStore } = await import('./postgres');
    return openPostgresRegisterStore(config.databaseUrl, { maxConnections: config.databasePoolSize, readUrl: config.databaseReadUrl ?? undefined });
  }
  return openSqliteRegisterStore(config.dbPath);
}
