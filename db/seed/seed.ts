import type Database from 'better-sqlite3';
import { generatePopulation, type PopulationOptions } from './generate';
import { PersonRowWriter, toTuple, type PersonTuple } from './rows';

export const DEFAULT_SEED = 20_141_118;
const BATCH = 2000;

/**
 * Writes a synthetic population, each person with its own change number, in
 * transactions of a few thousand people. Calls `onProgress` after every batch.
 * The rows are those `replacePerson` writes, through raw prepared statements on the
 * store's own connection (`sqlite`: db/seed knows better-sqlite3, not the store); `bulkSeed` is the faster path for millions.
 */
export function seedPopulation(sqlite: Database.Database, options: PopulationOptions, onProgress?: (done: number, total: number) => void): number {
  const writer = new PersonRowWriter(sqlite, 'SEED', options.now);
  const write = sqlite.transaction((rows: PersonTuple[]) => writer.write(rows));
  let done = 0;
  let batch: PersonTuple[] = [];
  const flush = () => {
    write(batch);
    done += batch.length;
    batch = [];
    onProgress?.(done, options.count);
  };
  for (const record of generatePopulation(options)) {
    batch.push(toTuple(record));
    if (batch.length === BATCH) flush();
  }
  if (batch.length > 0) flush();
  return done;
}

/** A progress bar on a terminal, a line every 10 % otherwise (logs, CI). */
export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): (done: number, total: number) => void {
  const started = Date.now();
  let lastDecile = -1;
  return (done, total) => {
    const fraction = total === 0 ? 1 : done / total;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (stream.isTTY) {
      const width = 30;
      const filled = Math.round(fraction * width);
      stream.write(`\rseeding [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${seconds}s${done >= total ? '\n' : ''}`);
    } else if (Math.floor(fraction * 10) > lastDecile) {
      lastDecile = Math.floor(fraction * 10);
      stream.write(`seeding ${done}/${total} (${Math.round(fraction * 100)} %) ${seconds}s\n`);
    }
  };
}
