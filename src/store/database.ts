import Database from 'better-sqlite3';
import { AsyncLocalStorage } from 'node:async_hooks';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import * as tables from '../../db/schema';
import { migrationsFolder } from '../paths';

export type Db = BetterSQLite3Database<typeof tables>;

/** Counts every SQL statement SQLite executes, so tests and metrics can prove batching. */
export class StatementCounter {
  count = 0;
}

/**
 * The counter of the request being answered. better-sqlite3 runs statements synchronously
 * inside the request's async context, so each statement is counted against its request.
 */
export const requestStatements = new AsyncLocalStorage<StatementCounter>();

export interface Store {
  sqlite: Database.Database;
  db: Db;
  statements: StatementCounter;
  close(): void;
}

/**
 * Opens (creating if needed) the SQLite database and brings its schema up to date.
 *
 * Durability settings, on purpose:
 * - WAL: readers never block the writer and several processes can share the file.
 * - synchronous=FULL: every commit is fsynced to the WAL before it returns, so a write
 *   the service has acknowledged survives a crash of the process and of the machine.
 * - foreign_keys=ON: contact rows cannot outlive their person.
 * - busy_timeout: a second process waits for the write lock instead of failing at once.
 */
export function openStore(file: string): Store {
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const statements = new StatementCounter();
  const sqlite = new Database(file, {
    verbose: () => {
      statements.count++;
      const perRequest = requestStatements.getStore();
      if (perRequest) perRequest.count++;
    },
  });
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = drizzle(sqlite, { schema: tables });
  migrate(db, { migrationsFolder });
  return {
    sqlite,
    db,
    statements,
    close: () => sqlite.close(),
  };
}
