import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { SqliteDatabase } from './connection';
import type { SqliteLookupLog } from './lookup-log';

/** What the maintenance thread is started with (`workerData`). */
export interface MaintenanceData {
  file: string;
  retentionDays: number;
  everyMs: number;
}

/** What the maintenance thread posts: a round that failed (it tries again at the next). */
export interface MaintenanceFailure {
  error: { name: string; message: string; stack?: string; code?: unknown };
}

export interface LookupMaintenance {
  /** `thread`: on a worker thread with a connection of its own; `inline`: on timers of this thread. */
  readonly where: 'thread' | 'inline';
  /** Stops it; resolves once a round in progress has ended and its connection is closed. */
  stop(): Promise<void>;
}

/** The compiled worker script; absent when the service runs from its TypeScript sources (the tests). */
const WORKER_SCRIPT = path.join(__dirname, 'lookup-maintenance.worker.js');
/** How long `stop` waits for a round in progress before it ends the thread. */
const STOP_WAIT_MS = 5000;

/**
 * Runs the audit log's upkeep (`SqliteLookupLog.maintain`: indexing, retention) every
 * `everyMs`, starting now.
 *
 * On a database file, it runs on a worker thread with its own connection (WAL lets it write
 * while this thread reads and appends): indexing a lookup of 1000 people writes 1000 index
 * rows, and on this thread that took about 9 ms of every such request (profiled, 100 000
 * people). The requests' own appends and the indexer then meet only at SQLite's write
 * lock, held by the indexer a few ms per batch. In memory (`:memory:`, one connection) or
 * from the TypeScript sources, it runs here instead, on timers that do not keep the process
 * alive. A failed round is reported to `onError` and tried again at the next; a thread that
 * dies is started again.
 */
export function startLookupMaintenance(
  database: SqliteDatabase,
  log: SqliteLookupLog,
  retentionDays: number,
  everyMs: number,
  onError: (error: unknown) => void,
): LookupMaintenance {
  if (database.sqlite.memory || !existsSync(WORKER_SCRIPT)) return inline(log, retentionDays, everyMs, onError);
  return onThread({ file: database.sqlite.name, retentionDays, everyMs }, onError);
}

function inline(log: SqliteLookupLog, retentionDays: number, everyMs: number, onError: (error: unknown) => void): LookupMaintenance {
  const tick = () => {
    try {
      log.maintain(retentionDays);
    } catch (error) {
      onError(error);
    }
  };
  tick();
  const timer = setInterval(tick, everyMs);
  timer.unref();
  return {
    where: 'inline',
    stop: async () => clearInterval(timer),
  };
}

/** An error from the thread as an `Error` of this one, whatever the thread's class was. */
const rebuilt = ({ name, message, stack, code }: Partial<MaintenanceFailure['error']>) =>
  Object.assign(new Error(message ?? 'the maintenance thread failed'), { name: name ?? 'Error', stack, ...(code === undefined ? {} : { code }) });

function onThread(data: MaintenanceData, onError: (error: unknown) => void): LookupMaintenance {
  let worker: Worker | undefined;
  let restart: NodeJS.Timeout | undefined;
  let stopping = false;

  const spawn = () => {
    const current = new Worker(WORKER_SCRIPT, { workerData: data });
    worker = current;
    // Never keeps the process alive: the service's own shutdown stops it.
    current.unref();
    current.on('message', (message: MaintenanceFailure) => onError(rebuilt(message.error)));
    // A failure while the thread starts (opening the file, preparing the statements).
    current.on('error', (error: Partial<MaintenanceFailure['error']>) => onError(rebuilt(error)));
    current.on('exit', (code) => {
      if (worker === current) worker = undefined;
      if (stopping) return;
      onError(new Error(`the audit log's maintenance thread stopped (exit code ${code}); starting it again`));
      restart = setTimeout(spawn, data.everyMs);
      restart.unref();
    });
  };
  spawn();

  return {
    where: 'thread',
    async stop() {
      stopping = true;
      clearTimeout(restart);
      const current = worker;
      if (!current) return;
      const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
      current.postMessage('stop');
      const timer = setTimeout(() => void current.terminate(), STOP_WAIT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
