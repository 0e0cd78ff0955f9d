import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import * as tables from '../../../db/schema';
import { migrationsFolder } from '../../paths';
import { StatementCounter } from '../types';

export type Db = BetterSQLite3Database<typeof tables>;

const TRANSACTION_CONTROL = /^\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b/i;


/**
 * Runs a synchronous store call and adds the statements it executed to `counter` (one
 * request's). better-sqlite3 is synchronous, so no other request's statement can run in
 * between. (AsyncLocalStorage would do this without the wrapper, but on Node 20 it hooks
 * every promise and slows the whole service down.)
 */
export function countingInto(store: Pick<SqliteDatabase, 'statements'>, counter: StatementCounter): <T>(fn: () => T) => T {
  return (fn) => {
    const before = store.statements.count;
    try {
      return fn();
    } finally {
      counter.count += store.statements.count - before;
    }
  };
}

/** One open SQLite database: the better-sqlite3 connection and Drizzle over it. */
export interface SqliteDatabase {
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
export function openSqliteDatabase(file: string): SqliteDatabase {
  if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const statements = new StatementCounter();
  const sqlite = new Database(file, {
    // Queries only: transaction control (BEGIN, COMMIT, ...) is bookkeeping, not work.
    verbose: (sql) => {
      if (!TRANSACTION_CONTROL.test(String(sql))) statements.count++;
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
