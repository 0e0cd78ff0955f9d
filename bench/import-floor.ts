/**
 * The import benchmark's floor (run as a child by bench/import.ts): the same observable
 * work as `npm run import` of a JSON Lines file, done the simplest good way and free of the
 * project's design: stream the lines, `JSON.parse` each, check the identity number, one
 * prepared insert per person into a table shaped like a lookup answer, one transaction,
 * `synchronous=FULL` at commit. It uses none of the register's tables or statements.
 * Prints `{"people": N}` on stdout.
 */
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { FLOOR_COLUMNS as COLUMNS, floorRow, lines } from './import-floor-rows';

async function main(file: string, dbFile: string): Promise<void> {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbFile}${suffix}`, { force: true });
  const db = new Database(dbFile);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`create table answer (${COLUMNS.map((c, i) => (i === 0 ? `${c} text primary key` : c)).join(', ')})`);
  const insert = db.prepare(`insert or replace into answer values (${COLUMNS.map(() => '?').join(', ')})`);
  let people = 0;
  db.exec('begin');
  let n = 0;
  for await (const line of lines(file)) {
    const row = floorRow(line, ++n);
    if (!row) continue;
    insert.run(row);
    people++;
  }
  db.exec('commit');
  db.close();
  console.log(JSON.stringify({ people }));
}

main(process.argv[2], process.argv[3]).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
