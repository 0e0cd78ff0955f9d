/**
 * The `audit` workload's database (issue 11: "W1 p50 with 10 000 000 audit records already
 * stored within 1.1x of W1 p50 with none"): a copy of the benchmark's database (SQLite, or
 * PostgreSQL: `prefilledAuditCopyPg`) whose
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
import { isPostgresUrl } from '../src/config';
import { openPostgresRegisterStore } from '../src/store/postgres';
import { openSqliteRegisterStore } from '../src/store/sqlite';
import { openSqliteDatabase } from '../src/store/sqlite/connection';
import { StatementCounter, type RegisterStore } from '../src/store/types';
import { databaseSize, type PreparedDatabase } from './data';
import { withClient } from './stores';

const PER_REQUEST = 1000;
const AGENCY = '991825827';
const SCOPES = ['krr:global/digitalpost.read', 'krr:global/kontaktinformasjon.read'];
/** Requests recorded per group commit while filling. */
const RECORD_BATCH = 500;

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
    await fill(target, requests);
    built = true;
  }
  const store = openSqliteDatabase(target);
  try {
    // What earlier runs' lookups added after the prefill (ids above it), so every run starts alike.
    store.sqlite.exec(`delete from lookup_person where request_id > ${requests}; delete from lookup_request where id > ${requests};
      delete from lookup_segment where first_request > ${requests};
      update lookup_segment set last_request = ${requests}, rows = (select count(*) from lookup_person p where p.segment = lookup_segment.segment)
        where segment = (select max(segment) from lookup_segment);
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

/**
 * `requests` lookups of 1000 distinct random people each, appended through the audit log's
 * own `record` (its row format and group commit) and indexed by the store's own indexer
 * (`indexAll`), in its batches and segments, as the background indexer would have left them.
 * The log must be empty, its ids starting again from 1, so the prefill holds the ids 1..requests.
 */
async function fillLog(store: RegisterStore, ids: readonly string[], requests: number, indexAll: () => Promise<void>): Promise<void> {
  const random = createRandom(11);
  const log = store.forRequest(new StatementCounter()).lookups;
  const now = Date.now();
  const span = 300 * 86_400_000;
  for (let r = 1; r <= requests; r += RECORD_BATCH) {
    // Recorded in the same turn: one transaction (one fsync) for the batch.
    const batch: Promise<void>[] = [];
    for (let k = r; k < r + RECORD_BATCH && k <= requests; k++) {
      const people = new Set<string>();
      while (people.size < Math.min(PER_REQUEST, ids.length)) people.add(ids[Math.floor(random() * ids.length)]);
      batch.push(log.record({ agencyOrgNumber: AGENCY, personIds: [...people], scopes: SCOPES, at: new Date(now - span + Math.floor((span * k) / requests)) }));
    }
    await Promise.all(batch);
  }
  await indexAll();
}

async function fill(file: string, requests: number): Promise<void> {
  const store = openSqliteRegisterStore(file);
  const { sqlite } = store;
  try {
    sqlite.exec(`delete from lookup_person; delete from lookup_segment; delete from lookup_request; delete from sqlite_sequence where name = 'lookup_request';
      update lookup_index_state set indexed_through = 0 where id = 1`);
    const ids = sqlite.prepare('select id from person').pluck().all() as string[];
    await fillLog(store, ids, requests, async () => store.auditLog.indexAll());
    sqlite.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    await store.close();
  }
}

/**
 * The same on PostgreSQL: a database made from the benchmark's (`create database ... template`,
 * a file copy), `<name>_audit_<records>`, filled the same way and reused the same way.
 */
export async function prefilledAuditCopyPg(source: PreparedDatabase, records: number): Promise<AuditDatabase> {
  const sourceUrl = new URL(source.path);
  const name = `${sourceUrl.pathname.slice(1)}_audit_${records}`;
  const target = new URL(source.path);
  target.pathname = `/${name}`;
  const requests = Math.ceil(records / PER_REQUEST);
  const started = Date.now();
  // The server's default database: a template must have no other sessions while it is copied.
  const server = new URL(source.path);
  server.pathname = '/postgres';
  const exists = await withClient(server.toString(), async (c) => (await c.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1);
  const reusable =
    exists &&
    (await withClient(target.toString(), async (c) => {
      const { rows } = await c.query<{ people: number; prefilled: number }>('select (select count(*)::int from person) as people, (select count(*)::int from lookup_request where id <= $1) as prefilled', [requests]);
      return rows[0].people === source.count && rows[0].prefilled === requests;
    }));
  if (!reusable) {
    process.stderr.write(`copying ${sourceUrl.pathname.slice(1)} into ${name} and filling its audit log with ${records.toLocaleString('en-US')} lookups\n`);
    await withClient(server.toString(), async (c) => {
      if (exists) await c.query(`drop database ${name}`);
      await c.query(`create database ${name} template ${sourceUrl.pathname.slice(1)}`);
    });
    await withClient(target.toString(), (c) => c.query('truncate lookup_person, lookup_segment, lookup_request restart identity'));
    const store = (await openPostgresRegisterStore(target.toString(), { maxConnections: 4 })) as RegisterStore & { auditLog: { indexPending(max?: number): Promise<number> } };
    try {
      const ids = await withClient(target.toString(), async (c) => (await c.query<{ id: string }>('select id from person')).rows.map((r) => r.id));
      await fillLog(store, ids, requests, async () => {
        while ((await store.auditLog.indexPending()) > 0);
      });
    } finally {
      await store.close();
    }
    await withClient(target.toString(), async (c) => {
      await c.query('vacuum (analyze) lookup_person, lookup_segment, lookup_request');
      await c.query('checkpoint').catch(() => {});
    });
  }
  const stored = await withClient(target.toString(), async (c) => {
    // What earlier runs' lookups added after the prefill (ids above it), so every run starts alike.
    await c.query(`delete from lookup_person where request_id > $1`, [requests]);
    await c.query(`delete from lookup_request where id > $1`, [requests]);
    await c.query(`delete from lookup_segment where segment > (select coalesce(max(segment), -1) from lookup_request)`);
    await c.query(`update lookup_segment set rows = (select count(*) from lookup_person p where p.segment = lookup_segment.segment) where segment = (select max(segment) from lookup_segment)`);
    await c.query(`select setval(pg_get_serial_sequence('lookup_request', 'id'), $1)`, [requests]);
    const { rows } = await c.query<{ n: string; size: string }>('select (select count(*) from lookup_person) as n, pg_database_size(current_database()) as size');
    return { records: Number(rows[0].n), size: Number(rows[0].size) };
  });
  return { path: target.toString(), count: source.count, seeded: null, sizeBytes: stored.size, auditRecords: stored.records, builtSeconds: reusable ? null : (Date.now() - started) / 1000 };
}

/**
 * What a full log costs a citizen's own read (`me { lookups }`: the newest 20 and the count),
 * timed on the copy straight through the store, for `ids`: ms per person, and the segments
 * of the per-person index it probed.
 */
export async function citizenReadCost(location: string, ids: readonly string[]): Promise<{ msPerPerson: number; segments: number }> {
  const store: RegisterStore = isPostgresUrl(location) ? await openPostgresRegisterStore(location, { maxConnections: 2 }) : openSqliteRegisterStore(location);
  try {
    const log = store.forRequest(new StatementCounter()).lookups;
    const round = async () => {
      const started = performance.now();
      for (const id of ids) {
        await log.lookupsOf(id, 20);
        await log.countLookupsOf(id);
      }
      return (performance.now() - started) / ids.length;
    };
    await round(); // warm
    const msPerPerson = await round();
    const segments = isPostgresUrl(location)
      ? await withClient(location, async (c) => Number((await c.query<{ n: string }>('select count(*) as n from lookup_segment')).rows[0].n))
      : sqliteSegments(location);
    return { msPerPerson, segments };
  } finally {
    await store.close();
  }
}

function sqliteSegments(file: string): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare('select count(*) from lookup_segment').pluck().get() as number;
  } finally {
    db.close();
  }
}
