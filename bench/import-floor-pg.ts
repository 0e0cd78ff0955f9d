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
import pg from 'pg';
import { FLOOR_COLUMNS as COLUMNS, floorRow, lines } from './import-floor-rows';

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
  let n = 0;
  for await (const line of lines(file)) {
    const row = floorRow(line, ++n);
    if (!row) continue;
    const id = row[0]!;
    batch.delete(id);
    batch.set(id, row);
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
