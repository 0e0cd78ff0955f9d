/**
 * The import benchmark's floor on PostgreSQL (run as a child by bench/import.ts), the twin of
 * bench/import-floor.ts: the same observable work as `npm run import` of a JSON Lines file
 * into PostgreSQL, done the simplest good way and free of the project's design: stream the
 * lines, `JSON.parse` each, check the identity number, batched multi-row inserts (`unnest`
 * arrays, 5000 people a statement) into one table shaped like a lookup answer, one
 * transaction, committed with `synchronous_commit` as the server has it. It uses none of the
 * register's tables or statements. `node import-floor-pg.js FILE DATABASE_URL` (the database
 * must exist; its table `floor_answer` is made afresh). Prints `{"people": N}` on stdout.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { isValidIdentityNumber } from '../src/domain/identity-number';

const COLUMNS = [
  'id', 'status', 'reservasjon', 'reservasjonstidspunkt', 'reservasjon_oppdatert', 'spraak', 'spraak_oppdatert',
  'epostadresse', 'epostadresse_oppdatert', 'epostadresse_sist_verifisert', 'epostadresse_sist_validert',
  'mobiltelefonnummer', 'mobiltelefonnummer_oppdatert', 'mobiltelefonnummer_sist_verifisert', 'mobiltelefonnummer_sist_validert',
  'postkasseadresse', 'postkasseleverandoeradresse', 'sertifikat',
];
const BATCH = 5000;

async function main(file: string, url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('drop table if exists floor_answer');
  await client.query(`create table floor_answer (${COLUMNS.map((c, i) => (i === 0 ? `${c} text primary key` : `${c} text`)).join(', ')})`);
  const insert = `insert into floor_answer select * from unnest(${COLUMNS.map((_, i) => `$${i + 1}::text[]`).join(', ')})
    on conflict (id) do update set ${COLUMNS.slice(1).map((c) => `${c} = excluded.${c}`).join(', ')}`;
  // The last record of a person within a batch: one statement may not touch a row twice.
  let batch = new Map<string, (string | null)[]>();
  const flush = async () => {
    const columns: (string | null)[][] = COLUMNS.map(() => []);
    for (const row of batch.values()) for (let i = 0; i < row.length; i++) columns[i].push(row[i]);
    await client.query(insert, columns);
    batch = new Map();
  };
  let people = 0;
  await client.query('begin');
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (line === '') continue;
    const p = JSON.parse(line);
    if (!isValidIdentityNumber(p.personidentifikator)) throw new Error(`line ${people + 1}: bad id`);
    const k = p.kontaktinformasjon ?? {};
    const d = p.digital_post ?? {};
    batch.delete(p.personidentifikator);
    batch.set(p.personidentifikator, [
      p.personidentifikator, p.status, p.reservasjon ?? null, p.reservasjonstidspunkt ?? null, p.reservasjon_oppdatert ?? null, p.spraak ?? null, p.spraak_oppdatert ?? null,
      k.epostadresse ?? null, k.epostadresse_oppdatert ?? null, k.epostadresse_sist_verifisert ?? null, k.epostadresse_sist_validert ?? null,
      k.mobiltelefonnummer ?? null, k.mobiltelefonnummer_oppdatert ?? null, k.mobiltelefonnummer_sist_verifisert ?? null, k.mobiltelefonnummer_sist_validert ?? null,
      d.postkasseadresse ?? null, d.postkasseleverandoeradresse ?? null, p.sertifikat ?? null,
    ]);
    people++;
    if (batch.size === BATCH) await flush();
  }
  if (batch.size > 0) await flush();
  await client.query('commit');
  await client.end();
  console.log(JSON.stringify({ people }));
}

main(process.argv[2], process.argv[3]).catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
