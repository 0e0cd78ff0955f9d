/**
 * The import benchmark's floor (run as a child by bench/import.ts): the same observable
 * work as `npm run import` of a JSON Lines file, done the simplest good way and free of the
 * project's design: stream the lines, `JSON.parse` each, check the identity number, one
 * prepared insert per person into a table shaped like a lookup answer, one transaction,
 * `synchronous=FULL` at commit. It uses none of the register's tables or statements.
 * Prints `{"people": N}` on stdout.
 */
import Database from 'better-sqlite3';
import { createReadStream, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { isValidIdentityNumber } from '../src/domain/identity-number';

const COLUMNS = [
  'id', 'status', 'reservasjon', 'reservasjonstidspunkt', 'reservasjon_oppdatert', 'spraak', 'spraak_oppdatert',
  'epostadresse', 'epostadresse_oppdatert', 'epostadresse_sist_verifisert', 'epostadresse_sist_validert',
  'mobiltelefonnummer', 'mobiltelefonnummer_oppdatert', 'mobiltelefonnummer_sist_verifisert', 'mobiltelefonnummer_sist_validert',
  'postkasseadresse', 'postkasseleverandoeradresse', 'sertifikat',
];

async function main(file: string, dbFile: string): Promise<void> {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${dbFile}${suffix}`, { force: true });
  const db = new Database(dbFile);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`create table answer (${COLUMNS.map((c, i) => (i === 0 ? `${c} text primary key` : c)).join(', ')})`);
  const insert = db.prepare(`insert or replace into answer values (${COLUMNS.map(() => '?').join(', ')})`);
  let people = 0;
  db.exec('begin');
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line === '') continue;
    const p = JSON.parse(line);
    if (!isValidIdentityNumber(p.personidentifikator)) throw new Error(`line ${people + 1}: bad id`);
    const k = p.kontaktinformasjon ?? {};
    const d = p.digital_post ?? {};
    insert.run(
      p.personidentifikator, p.status, p.reservasjon ?? null, p.reservasjonstidspunkt ?? null, p.reservasjon_oppdatert ?? null, p.spraak ?? null, p.spraak_oppdatert ?? null,
      k.epostadresse ?? null, k.epostadresse_oppdatert ?? null, k.epostadresse_sist_verifisert ?? null, k.epostadresse_sist_validert ?? null,
      k.mobiltelefonnummer ?? null, k.mobiltelefonnummer_oppdatert ?? null, k.mobiltelefonnummer_sist_verifisert ?? null, k.mobiltelefonnummer_sist_validert ?? null,
      d.postkasseadresse ?? null, d.postkasseleverandoeradresse ?? null, p.sertifikat ?? null,
    );
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
