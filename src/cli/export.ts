/**
 * `npm run export -- FILE [--db PATH]`
 * Writes the whole register as register JSON Lines, one person per line in change-number
 * order, streamed: from PostgreSQL when KRR_DATABASE_URL is set, else from the SQLite file
 * (--db, KRR_DB_PATH or data/krr.sqlite). `npm run import -- FILE` reads it back. The file
 * is written beside FILE and renamed into place at the end, so an interrupted export never
 * leaves a half file under FILE's name. The last line on stderr names the last change number.
 * Needs only the store's settings (no token issuers, no notifier).
 * Exit codes (src/cli/common.ts): 0 written, 2 usage, 3 the file cannot be written,
 * 4 the database failed, 130 interrupted.
 */
import { once } from 'node:events';
import { createWriteStream, existsSync, openSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadStoreConfig } from '../config';
import { maskIdentityNumbersIn } from '../domain/identity-number';
import { exportPages } from '../register/export';
import { openRegisterStore } from '../store/open';
import { StatementCounter } from '../store/types';
import { EXIT, parseFileArgs, stopOnSignals, UsageError } from './common';
import { Progress } from './progress';

const USAGE = 'usage: npm run export -- FILE [--db data/krr.sqlite]';

class FileWriteError extends Error {}
class Interrupted extends Error {}

async function main(argv: string[]): Promise<number> {
  const parsed = parseFileArgs(argv, USAGE, 'name the file to write', 'export to one file');
  if (!parsed) return EXIT.OK;
  const file = path.resolve(parsed.file);
  const config = loadStoreConfig();
  const target = parsed.db ? { ...config, dbPath: path.resolve(parsed.db), databaseUrl: null } : config;
  // Reading a register that is not there would create an empty one.
  if (!target.databaseUrl && !existsSync(target.dbPath)) throw new UsageError(`no register at ${target.dbPath}`);

  const interrupted = stopOnSignals();

  const partial = `${file}.partial-${process.pid}`;
  let fd: number;
  try {
    fd = openSync(partial, 'wx');
  } catch (error) {
    throw new FileWriteError(`cannot write ${partial}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const out = createWriteStream(partial, { fd });
  const store = await openRegisterStore(target).catch((error: unknown) => {
    out.destroy();
    rmSync(partial, { force: true });
    throw error;
  });
  let failed: Error | null = null;
  out.on('error', (error) => (failed ??= new FileWriteError(`cannot write ${partial}: ${(error as NodeJS.ErrnoException).code ?? error.message}`)));
  const progress = new Progress('export', 'people');
  let written = false;
  try {
    const total = await store.countPeople();
    let people = 0;
    let last = 0;
    let latest = 0;
    for await (const page of exportPages(store.forRequest(new StatementCounter()).people)) {
      if (interrupted()) throw new Interrupted('the export was interrupted; FILE was not written');
      if (failed) throw failed;
      if (!out.write(page.text)) await Promise.race([once(out, 'drain'), once(out, 'error')]);
      people += page.people;
      last = page.lastChangeNumber;
      latest = page.latestChangeNumber;
      progress.update({ done: people, total, items: people });
    }
    await new Promise<void>((resolve) => {
      out.once('error', () => resolve());
      out.end(() => resolve());
    });
    if (failed) throw failed;
    renameSync(partial, file);
    written = true;
    progress.end();
    console.error(`export: ${people.toLocaleString('en-US')} people written to ${file} from ${store.location}; last change number ${last}${latest > last ? ` (the register's newest is ${latest}: changes made during the export; follow the change feed from ${last})` : ''}`);
    return EXIT.OK;
  } finally {
    progress.end();
    if (!written) {
      out.destroy();
      rmSync(partial, { force: true });
    }
    await store.close();
  }
}

function exitCodeOf(error: unknown): number {
  if (error instanceof UsageError || error instanceof ConfigError) return EXIT.USAGE;
  if (error instanceof FileWriteError) return EXIT.FILE;
  if (error instanceof Interrupted) return EXIT.INTERRUPTED;
  return EXIT.DATABASE;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(`export: ${maskIdentityNumbersIn((error as Error).message)}`);
    if (error instanceof UsageError) console.error(USAGE);
    process.exit(exitCodeOf(error));
  },
);
