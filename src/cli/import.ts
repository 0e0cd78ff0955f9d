/**
 * `npm run import -- FILE [--db PATH]`
 * Imports people from a file in the register's own JSON (a lookup response, a change-feed
 * page or JSON Lines), of any size, into the register's database: PostgreSQL when
 * KRR_DATABASE_URL is set, else the SQLite file (--db, KRR_DB_PATH or data/krr.sqlite).
 * Needs only the store's settings (no token issuers, no notifier).
 * All or nothing: when any record is bad, the first 50 problems are listed and nothing is
 * written; so too when it is interrupted or the database fails.
 * Exit codes (src/cli/common.ts): 0 imported, 1 bad file or records, 2 usage,
 * 3 the file cannot be read, 4 the database failed, 130 interrupted.
 */
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadStoreConfig } from '../config';
import { maskIdentityNumbersIn } from '../domain/identity-number';
import { canCheckInWorker, checkInWorker } from '../register/check-worker';
import { checkRecords, FileReadError, ImportCancelled, importChecked, openRegisterFile, RegisterFileError, type ImportProgress } from '../register/import';
import { openRegisterStore } from '../store/open';
import type { RegisterStore } from '../store/types';
import { EXIT, parseFileArgs, stopOnSignals, UsageError } from './common';
import { Progress } from './progress';

const USAGE = 'usage: npm run import -- FILE [--db data/krr.sqlite]';

const plural = (n: number, one: string, many: string) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

async function main(argv: string[]): Promise<number> {
  const parsed = parseFileArgs(argv, USAGE, 'name the file to import', 'import one file at a time');
  if (!parsed) return EXIT.OK;
  const file = parsed.file;
  const config = loadStoreConfig();
  const target = parsed.db ? { ...config, dbPath: path.resolve(parsed.db), databaseUrl: null } : config;
  const now = new Date();
  const source = await openRegisterFile(file);

  const interrupted = stopOnSignals();

  // Opened at the first good batch: a file bad from the start leaves a missing database uncreated.
  const sqliteFile = target.databaseUrl ? null : target.dbPath;
  const created = sqliteFile !== null && !existsSync(sqliteFile);
  let store: RegisterStore | null = null;
  const progress = new Progress('import', source.unit === 'line' ? 'lines' : 'records');
  let shape = source.shape;
  const show = (p: ImportProgress) => {
    shape = p.shape ?? shape;
    if (p.phase === 'writing') progress.say(`import: ${plural(p.records, `${source.unit}`, `${source.unit}s`)} checked; writing them into the register in one transaction...`);
    else progress.update({ done: p.bytesRead, total: p.totalBytes, items: p.records, note: p.problems > 0 ? `${plural(p.problems, 'problem', 'problems')}` : undefined });
  };
  let ok = false;
  try {
    // Read and checked in a worker thread while this one stages (compiled; in the main thread from the sources).
    const checked = canCheckInWorker() ? checkInWorker(file, now, source.parts === true, source.totalBytes) : checkRecords(source, now);
    const result = await importChecked(
      {
        startBulkImport: async (kind, at) => {
          store ??= await openStore(target);
          return store.startBulkImport(kind, at);
        },
      },
      checked,
      now,
      { onProgress: show, cancelled: interrupted },
    );
    progress.end();
    if (!result.ok) {
      const lines = [`import: ${file}: ${plural(result.problemCount, `bad ${source.unit}`, `bad ${source.unit}s`)}; nothing was written`];
      for (const problem of result.problems) lines.push(`${source.unit} ${problem.position}: ${problem.reason}`);
      if (result.problemCount > result.problems.length) lines.push(`... and ${(result.problemCount - result.problems.length).toLocaleString('en-US')} more`);
      console.error(lines.join('\n'));
      return EXIT.BAD_INPUT;
    }
    ok = true;
    const numbers = result.changeNumbers ? ` (change numbers ${result.changeNumbers.first}-${result.changeNumbers.last})` : '';
    const into = (store as RegisterStore | null)?.location ?? target.dbPath;
    const lines = [`import: ${file} (${shape}): ${plural(result.imported, 'person', 'people')} imported into ${into}${numbers}`];
    if (result.skippedNotRegistered > 0) lines.push(`import: ${result.skippedNotRegistered} not registered (IKKE_REGISTRERT), skipped`);
    if (result.duplicatesInFile > 0) {
      lines.push(`import: ${plural(result.duplicatesInFile, 'record was', 'records were')} overridden by a later record of the same person in the file`);
    }
    console.error(lines.join('\n'));
    return EXIT.OK;
  } finally {
    progress.end();
    await (store as RegisterStore | null)?.close();
    // The database this run created holds nothing of the file: it goes again.
    // Its journal first: a journal must never outlive its file, to sit beside a new one of that name.
    if (!ok && created && sqliteFile) for (const suffix of ['-journal', '-wal', '-shm', '']) rmSync(`${sqliteFile}${suffix}`, { force: true });
  }
}

class DatabaseError extends Error {}

async function openStore(target: Parameters<typeof openRegisterStore>[0]): Promise<RegisterStore> {
  try {
    return await openRegisterStore(target);
  } catch (error) {
    throw new DatabaseError(`cannot open the database: ${(error as Error).message}`);
  }
}

function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError || error instanceof ConfigError) return EXIT.USAGE;
  if (error instanceof FileReadError) return EXIT.FILE;
  if (error instanceof RegisterFileError) return EXIT.BAD_INPUT;
  if (error instanceof ImportCancelled) return EXIT.INTERRUPTED;
  return EXIT.DATABASE;
}

function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  if (e.code === 'SQLITE_FULL' || e.code === '53100') return `the disk is full (${e.code}); nothing was written`;
  if (error instanceof UsageError || error instanceof ConfigError || error instanceof FileReadError || error instanceof RegisterFileError || error instanceof ImportCancelled) return e.message;
  return `${e.message}${e.code ? ` (${e.code})` : ''}; nothing was written`;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Masked: a message from deeper down could quote the file.
    console.error(`import: ${maskIdentityNumbersIn(describe(error))}`);
    if (error instanceof UsageError) console.error(USAGE);
    process.exit(exitCodeOf(error));
  },
);
