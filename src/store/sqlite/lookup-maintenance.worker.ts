/**
 * The audit log's maintenance thread (started by lookup-maintenance.ts): its own connection
 * to the database file, one round of `SqliteLookupLog.maintain` at start and every
 * `everyMs`. Until told to stop: it then ends the round in progress, closes the connection
 * and exits.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openSqliteDatabase, type SqliteDatabase } from './connection';
import { SqliteLookupLog } from './lookup-log';
import type { MaintenanceData, MaintenanceFailure } from './lookup-maintenance';

const { file, retentionDays, everyMs } = workerData as MaintenanceData;
const port = parentPort!;

/** Posts a failure as plain data: an error object itself (better-sqlite3's `SqliteError`) arrives as little more than its code. */
function report(caught: unknown): void {
  const error = caught instanceof Error ? caught : new Error(String(caught));
  const failure: MaintenanceFailure = { error: { name: error.name, message: error.message, stack: error.stack, code: (error as { code?: unknown }).code } };
  port.postMessage(failure);
}

let database: SqliteDatabase;
let log: SqliteLookupLog;
try {
  // The service's connection has brought the schema up to date before this thread starts.
  database = openSqliteDatabase(file, { migrate: false });
  log = new SqliteLookupLog(database);
} catch (error) {
  // The thread ends; lookup-maintenance.ts starts it again a round later.
  report(error);
  process.exit(1);
}

function tick(): void {
  try {
    log.maintain(retentionDays);
  } catch (error) {
    report(error);
  }
}

tick();
const timer = setInterval(tick, everyMs);
port.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  database.close();
  port.close();
});
