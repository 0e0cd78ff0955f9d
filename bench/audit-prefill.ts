/**
 * The `audit` workload's database (issue 11: "W1 p50 with 10 000 000 audit records already
 * stored within 1.1x of W1 p50 with none"): a copy of the benchmark's SQLite database whose
 * audit log already holds `records` person lookups, as a long-running register's would:
 * requests of 1000 distinct people each, spread over the last 300 days (inside the default
 * retention), indexed (`lookup_person`) as the background indexer leaves them.
 *
 * Built once per population and size beside the database (`krr-<count>-audit-<records>.sqlite`)
 * and reused; each run first removes what an earlier run's lookups added after the prefill.
 */
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { createRandom } from '../db/seed/generate';
import { openSqliteDatabase } from '../src/store/sqlite/connection';
import { databaseSize, type PreparedDatabase } from './data';

const PER_REQUEST = 1000;
const AGENCY = '991825827';
const SCOPES = 'krr:global/digitalpost.read krr:global/kontaktinformasjon.read';

export interface AuditDatabase extends PreparedDatabase {
  auditRecords: number;
  /** Seconds spent building it in this run (null: reused). */
  builtSeconds: number | null;
}

export async function prefilledAuditCopy(source: PreparedDatabase, records: number): Promise<AuditDatabase> {
  const target = source.path.replace(/\.sqlite$/, '') + `-audit-${records}.sqlite`;
  const requests = Math.ceil(records / PER_REQUEST);
  const started = Date.now();
  let built = false;
  if (!reusable(target, source.count, requests)) {
    process.stderr.write(`copying ${source.path} and filling its audit log with ${records.toLocaleString('en-US')} lookups\n`);
    const from = new Database(source.path, { readonly: true });
    try {
      // The online backup API: a consistent copy even while another process writes.
      await from.backup(target);
    } finally {
      from.close();
    }
    fill(target, requests);
    built = true;
  }
  const store = openSqliteDatabase(target);
  try {
    // What earlier runs' lookups added after the prefill (ids above it), so every run starts alike.
    store.sqlite.exec(`delete from lookup_person where request_id > ${requests}; delete from lookup_request where id > ${requests};
      update lookup_index_state set indexed_through = ${requests} where id = 1`);
    store.sqlite.pragma('wal_checkpoint(TRUNCATE)');
    const stored = store.sqlite.prepare('select count(*) from lookup_person').pluck().get() as number;
    return { path: target, count: source.count, seeded: null, sizeBytes: databaseSize(target), auditRecords: stored, builtSeconds: built ? (Date.now() - started) / 1000 : null };
  } finally {
    store.close();
  }
}

function reusable(target: string, people: number, requests: number): boolean {
  if (!existsSync(target)) return false;
  const db = new Database(target, { readonly: true });
  try {
    const count = db.prepare('select count(*) from person').pluck().get() as number;
    const prefilled = db.prepare('select count(*) from lookup_request where id <= ?').pluck().get(requests) as number;
    return count === people && prefilled === requests;
  } catch {
    return false;
  } finally {
    db.close();
  }
}

/** `requests` lookups of 1000 distinct random people each, appended and indexed in one transaction. */
function fill(file: string, requests: number): void {
  const store = openSqliteDatabase(file);
  const { sqlite } = store;
  try {
    sqlite.pragma('synchronous = OFF');
    const ids = sqlite.prepare('select id from person').pluck().all() as string[];
    const random = createRandom(11);
    const insert = sqlite.prepare(
      'insert into lookup_request (id, looked_up_at, agency_org_number, supplier_org_number, scopes, person_ids, person_scopes) values (?, ?, ?, null, ?, ?, null)',
    );
    const now = Date.now();
    const span = 300 * 86_400_000;
    sqlite.transaction(() => {
      sqlite.exec('delete from lookup_person; delete from lookup_request');
      for (let r = 1; r <= requests; r++) {
        const people = new Set<string>();
        while (people.size < Math.min(PER_REQUEST, ids.length)) people.add(ids[Math.floor(random() * ids.length)]);
        insert.run(r, now - span + Math.floor((span * r) / requests), AGENCY, SCOPES, JSON.stringify([...people]));
      }
      sqlite.exec(`insert into lookup_person (person_id, request_id, scopes)
        select j.value, r.id, null from lookup_request r, json_each(r.person_ids) j order by j.value, r.id`);
      sqlite.prepare('update lookup_index_state set indexed_through = ? where id = 1').run(requests);
    })();
    sqlite.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    store.close();
  }
}
