/**
 * The PostgreSQL store's bulk import (`RegisterStore.startBulkImport`): on a connection of
 * its own, people are staged in a session TEMP table (not WAL-logged, never seen by another
 * session, gone with the session) by multi-row `unnest` inserts; `commit` moves them into the
 * register in one READ COMMITTED transaction holding the exclusive bulk lock, set-based,
 * with one range of change numbers taken last. A client that dies at any moment (SIGKILL,
 * Ctrl-C, a lost connection) leaves an aborted transaction at most: the register is as it was.
 */
import type pg from 'pg';
import { STAGED_PERSON_COLUMNS, STAGING_COLUMNS, type StagingBatch } from '../bulk-rows';
import type { BulkImport, BulkImportResult, StatementCounter } from '../types';
import { CountingClient, inTransactionOn, lockBulk, onConnectionLoss } from './executor';
import { deriveLookupModel, retractLookupModel } from './person-bulk';

const TYPES: Record<(typeof STAGING_COLUMNS)[number], string> = {
  id: 'text',
  status: 'text',
  reserved: 'int',
  reserved_at: 'bigint',
  reservation_updated_at: 'bigint',
  language: 'text',
  language_updated_at: 'bigint',
  updated_at: 'bigint',
  email_address: 'text',
  email_key: 'text',
  email_updated_at: 'bigint',
  email_verified_at: 'bigint',
  email_validated_at: 'bigint',
  mobile_address: 'text',
  mobile_key: 'text',
  mobile_updated_at: 'bigint',
  mobile_verified_at: 'bigint',
  mobile_validated_at: 'bigint',
  mailbox_address: 'text',
  provider_org_number: 'text',
  /** Its number in the staging run (`StagedCertificates`); the value is in `<table>_certificate`. */
  certificate: 'int',
};

/** UTC milliseconds to timestamptz, exactly (integer arithmetic, no float seconds). */
const ts = (column: string) => `(timestamptz 'epoch' + ${column} * interval '1 millisecond')`;

const PERSON_SELECT = STAGED_PERSON_COLUMNS.map((c) => (TYPES[c] === 'bigint' ? ts(`s.${c}`) : c === 'reserved' ? 's.reserved = 1' : `s.${c}`)).join(', ');

/** The import's staging table (a session temp table of its own connection). */
const STAGING = 'import_staging';

/**
 * The staging tables (one SQL text of two statements): `table`, one wide row per person
 * (`STAGING_COLUMNS`), `seq` in staging order; `<table>_certificate`, each staged certificate
 * value by its number in the run. `on commit drop` for one transaction's.
 */
export function createStagingSql(table: string, onCommitDrop = false): string {
  const drop = onCommitDrop ? ' on commit drop' : '';
  return `create temp table ${table} (seq bigint not null, ${STAGING_COLUMNS.map((c) => `${c} ${TYPES[c]}`).join(', ')})${drop};
    create temp table ${table}_certificate (n int primary key, value text not null)${drop}`;
}

/** What COPY's text format escapes in a value (its delimiter, row end and escape character). */
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const NEEDS_ESCAPE = /[\\\t\n\r]/;

/** A staged value in COPY's text format: `\N` for null, numbers as written, text escaped. */
function copyValue(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  const text = String(value);
  return NEEDS_ESCAPE.test(text) ? text.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]) : text;
}

/**
 * Stages a batch of rows into `table` by one `COPY ... FROM STDIN` (text format: no array
 * to build on our side or to parse on the server's, as `unnest` inserts have), numbered after
 * `seq`, and the certificate values it numbers first into `<table>_certificate`; returns the
 * last number.
 */
export async function stageIn(q: CountingClient, table: string, batch: StagingBatch, seq: number): Promise<number> {
  const width = STAGING_COLUMNS.length;
  const { values } = batch;
  const fresh = batch.certificates;
  if (fresh.length > 0) {
    await q.query(`insert into ${table}_certificate select * from unnest($1::int[], $2::text[])`, [fresh.map(([n]) => n), fresh.map(([, value]) => value)]);
  }
  if (values.length === 0) return seq;
  const rows: string[] = [];
  for (let row = 0; row < values.length; row += width) {
    let line = String(++seq);
    for (let i = 0; i < width; i++) line += '\t' + copyValue(values[row + i]);
    rows.push(line);
  }
  await q.copyIn(`copy ${table} (seq, ${STAGING_COLUMNS.join(', ')}) from stdin`, rows.join('\n') + '\n');
  return seq;
}

/** What `replaceStagedPeopleIn` wrote. */
export interface StagedReplaced {
  /** People written (the last staged record of each, unless it said "not registered"). */
  written: number;
  /** Distinct people staged. */
  distinct: number;
  /** Staged records. */
  staged: number;
  /** The change numbers taken, one per person written in the order of their last staged record; null when none. */
  changeNumbers: { first: number; last: number } | null;
}

/**
 * Replaces whole entries with the people staged in `table`, set-based, inside the caller's
 * READ COMMITTED transaction, which holds the people's locks (the exclusive bulk lock for
 * the import, the people's own for a follower's page): the bulk import's commit and the
 * follower's page apply both write through here. The last staged record of each person
 * wins; one saying "not registered" is not written. The change numbers are one range taken
 * from the counter in this transaction (no gaps), in the order of the last staged records.
 * The lookup read model's row triggers stand aside (krr.bulk_load, this transaction only):
 * the people's old state leaves it and their new state is derived, set-based.
 */
export async function replaceStagedPeopleIn(q: CountingClient, table: string, kind: string, at: Date, loadAlone = false): Promise<StagedReplaced> {
  // Into an empty register, the load sets the tables' keys, indexes and triggers aside
  // (`setAsideForLoad`) where it may.
  const empty = loadAlone && (await q.query<{ empty: boolean }>(MAY_SET_ASIDE, [LOADED_TABLES])).rows[0].empty;
  // The last record of each person; those saying "not registered" are not written.
  await q.query(`drop table if exists import_last`);
  await q.query(`drop table if exists import_numbered`);
  await q.query(`create temp table import_last on commit drop as select max(seq) as seq from ${table} group by id`);
  await q.query(`create temp table import_numbered on commit drop as
    select s.seq, s.id, row_number() over (order by s.seq) as n
    from import_last join ${table} s using (seq)
    where s.status is not null`);
  const counts = await q.query<{ people: number; distinct: number; staged: number }>(
    `select (select count(*)::int from import_numbered) as people, (select count(*)::int from import_last) as distinct,
       (select count(*)::int from ${table}) as staged`,
  );
  const { people, distinct, staged } = counts.rows[0];
  const taken = await q.query<{ base: number }>(
    'update change_counter set last_change_number = last_change_number + $1 where id = 1 returning last_change_number - $1 as base',
    [people],
  );
  const base = taken.rows[0]?.base;
  if (base === undefined) throw new Error('change_counter has no row: the PostgreSQL migrations (db/migrations-pg) were not applied');
  const from = `import_numbered n join ${table} s on s.seq = n.seq`;
  // The lookup read model's row triggers stand aside for this transaction: the people's
  // old state leaves it here and their new state is derived below, set-based.
  const imported = '(select id from import_numbered) as ids(id)';
  await q.query(`select set_config('krr.bulk_load', 'on', true)`);
  const restore = empty ? await setAsideForLoad(q) : null;
  if (!empty) {
    await retractLookupModel(q, imported);
    await q.query('delete from contact_point where person_id in (select id from import_numbered)');
    await q.query('delete from digital_post where person_id in (select id from import_numbered)');
  }
  await q.query(`insert into change_log (change_number, person_id, changed_at, kind) select $1::bigint + n.n, n.id, $2::timestamptz, $3::text from import_numbered n order by n.n`, [
    base,
    at.toISOString(),
    kind,
  ]);
  const set = [...STAGED_PERSON_COLUMNS.slice(1), 'change_number'].map((c) => `${c} = excluded.${c}`).join(', ');
  await q.query(
    `insert into person (${STAGED_PERSON_COLUMNS.join(', ')}, change_number)
     select ${PERSON_SELECT}, $1::bigint + n.n from ${from} order by s.id
     ${empty ? '' : `on conflict (id) do update set ${set}`}`,
    [base],
  );
  await q.query(
    `insert into contact_point (person_id, channel, address, address_key, updated_at, last_verified_at, last_validated_at)
     select * from (
       select s.id, 'EMAIL', s.email_address, s.email_key, ${ts('s.email_updated_at')}, ${ts('s.email_verified_at')}, ${ts('s.email_validated_at')}
         from ${from} where s.email_address is not null
       union all
       select s.id, 'MOBILE', s.mobile_address, s.mobile_key, ${ts('s.mobile_updated_at')}, ${ts('s.mobile_verified_at')}, ${ts('s.mobile_validated_at')}
         from ${from} where s.mobile_address is not null
     ) as points order by 1, 2`,
  );
  // The staged certificates into the register (each value once), and their ids there by their
  // numbers in the run, worked out once per value: the mailboxes take the ids by number.
  await q.query(`insert into certificate (value) select distinct value from ${table}_certificate on conflict (certificate_digest(value)) do nothing`);
  await q.query(`drop table if exists ${table}_certificate_id`);
  await q.query(`create temp table ${table}_certificate_id on commit drop as
    select t.n, c.id from ${table}_certificate t join certificate c on certificate_digest(c.value) = certificate_digest(t.value)`);
  await q.query(
    `insert into digital_post (person_id, mailbox_address, provider_org_number, certificate_id)
     select s.id, s.mailbox_address, s.provider_org_number, k.id from ${from}
       left join ${table}_certificate_id k on k.n = s.certificate
     where s.mailbox_address is not null order by s.id`,
  );
  await deriveLookupModel(q, empty ? null : imported);
  await restore?.();
  return { written: people, distinct, staged, changeNumbers: people > 0 ? { first: Number(base) + 1, last: Number(base) + people } : null };
}

/** The tables a load into an empty register writes. */
const LOADED_TABLES = ['change_log', 'person', 'contact_point', 'digital_post', 'address_use', 'person_lookup'];

/**
 * Whether a load may set the loaded tables' keys, indexes and triggers aside: the register
 * holds nobody; the role owns every table it would alter (the loaded ones, and those with a
 * foreign key to or from them); and nothing is there that dropping an index or constraint
 * and making it again from its definition would lose (a replica identity or CLUSTER mark on
 * an index, a comment on an index or constraint). Otherwise the load takes the general path.
 */
const MAY_SET_ASIDE = `
  with loaded as (select unnest($1::regclass[]) as rel),
  altered as (
    select rel from loaded
    union select conrelid from pg_constraint where contype = 'f' and confrelid in (select rel from loaded)
    union select confrelid from pg_constraint where contype = 'f' and conrelid in (select rel from loaded)
  )
  select not exists (select 1 from person)
    and (select bool_and(pg_has_role(c.relowner, 'USAGE')) from pg_class c where c.oid in (select rel from altered))
    and not exists (select 1 from pg_index i where i.indrelid in (select rel from loaded) and (i.indisreplident or i.indisclustered))
    and not exists (
      select 1 from pg_description d
      where (d.classoid = 'pg_class'::regclass and d.objoid in (select indexrelid from pg_index where indrelid in (select rel from loaded)))
         or (d.classoid = 'pg_constraint'::regclass and d.objoid in (select oid from pg_constraint where conrelid in (select rel from altered)))
    ) as empty`;

/** A name from the catalog, quoted as an SQL identifier. */
const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** How `ALTER TABLE` puts a trigger back in the state `pg_trigger.tgenabled` recorded. */
const TRIGGER_STATE: Record<string, string> = { O: 'enable trigger', A: 'enable always trigger', R: 'enable replica trigger' };

/**
 * For a load into an EMPTY register, holding the exclusive bulk lock, inside its
 * transaction: what PostgreSQL's manual advises for populating a database ("Populating a
 * Database": remove indexes and foreign keys, load, create them again), from the catalog's
 * own definitions, all in the same transaction, so that a failed load leaves them as they
 * were. Set aside on the loaded tables:
 * - foreign keys from and to them: a check per row becomes one join at the end;
 * - their primary keys and other indexes: one sort each at the end instead of an insert per
 *   row (the loads into them are plain inserts: nothing is there to conflict with);
 * - their enabled user triggers (the read model's, which under krr.bulk_load would only
 *   return): a PL/pgSQL call per row saved. Each is put back in the state it was in.
 * The transaction's memory for sorts, hashes and index builds is raised: the load is one
 * session's, and runs alone. Returns how to put everything back.
 */
async function setAsideForLoad(q: CountingClient): Promise<() => Promise<void>> {
  const constraints = (
    await q.query<{ table: string; name: string; type: string; def: string }>(
      `select conrelid::regclass::text as table, conname as name, contype as type, pg_get_constraintdef(oid) as def from pg_constraint
       where (contype = 'f' and (conrelid = any($1::regclass[]) or confrelid = any($1::regclass[])))
          or (contype in ('p', 'u') and conrelid = any($1::regclass[]))
       order by contype = 'f' desc, 1, 2`,
      [LOADED_TABLES],
    )
  ).rows;
  const indexes = (
    await q.query<{ name: string; def: string }>(
      `select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as def from pg_index i
       where i.indrelid = any($1::regclass[]) and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid and c.conrelid = i.indrelid) order by 1`,
      [LOADED_TABLES],
    )
  ).rows;
  const triggers = (
    await q.query<{ table: string; name: string; state: string }>(
      `select tgrelid::regclass::text as table, tgname as name, tgenabled::text as state from pg_trigger
       where tgrelid = any($1::regclass[]) and not tgisinternal and tgenabled <> 'D' order by 1, 2`,
      [LOADED_TABLES],
    )
  ).rows;
  await q.query(`set local work_mem = '64MB'`);
  await q.query(`set local maintenance_work_mem = '256MB'`);
  // Foreign keys first: the keys they reference go next.
  for (const c of constraints) await q.query(`alter table ${c.table} drop constraint ${ident(c.name)}`);
  for (const index of indexes) await q.query(`drop index ${index.name}`);
  for (const t of triggers) await q.query(`alter table ${t.table} disable trigger ${ident(t.name)}`);
  return async () => {
    // Keys first, foreign keys (which need them) last.
    for (const c of [...constraints].reverse()) await q.query(`alter table ${c.table} add constraint ${ident(c.name)} ${c.def}`);
    for (const index of indexes) await q.query(index.def);
    for (const t of triggers) await q.query(`alter table ${t.table} ${TRIGGER_STATE[t.state]} ${ident(t.name)}`);
  };
}

export class PgBulkImport implements BulkImport {
  private readonly q: CountingClient;
  private seq = 0;
  private done = false;
  private broken: Error | undefined;
  private readonly stopListening: () => void;

  private constructor(
    private readonly client: pg.PoolClient,
    counters: readonly StatementCounter[],
    private readonly kind: string,
    private readonly at: Date,
  ) {
    this.q = new CountingClient(client, counters);
    this.stopListening = onConnectionLoss(client, (error) => (this.broken ??= error));
  }

  static async start(pool: pg.Pool, counters: readonly StatementCounter[], kind: string, at: Date): Promise<PgBulkImport> {
    const bulk = new PgBulkImport(await pool.connect(), counters, kind, at);
    try {
      // The pool's 10 s statement timeout is for requests. An import's commit writes a whole
      // register in a handful of statements (minutes at national scale), so this connection,
      // its own and destroyed at the end (never back in the pool), runs without it.
      await bulk.q.query('set statement_timeout = 0');
      await bulk.q.query(createStagingSql(STAGING));
    } catch (error) {
      bulk.broken = error as Error;
      await bulk.abort();
      throw error;
    }
    return bulk;
  }

  async stage(batch: StagingBatch): Promise<void> {
    if (this.done) throw new Error('this bulk import has ended');
    if (batch.values.length === 0) return;
    this.seq = await stageIn(this.q, STAGING, batch, this.seq);
  }

  async commit(): Promise<BulkImportResult> {
    if (this.done) throw new Error('this bulk import has ended');
    try {
      await this.q.query(`analyze ${STAGING}`);
      return await inTransactionOn(this.client, [], 'read committed', async ({ q }) => {
        await lockBulk(this.client);
        const { written, distinct, staged, changeNumbers } = await replaceStagedPeopleIn(q, STAGING, this.kind, this.at, true);
        return { written, overridden: staged - distinct, notRegistered: distinct - written, changeNumbers };
      });
    } catch (error) {
      this.broken ??= error as Error;
      throw error;
    } finally {
      await this.abort();
    }
  }

  /** Ends the session's use: the connection is closed (never pooled with a temp table in it). */
  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.stopListening();
    // Destroyed, not returned to the pool: that drops the temp table with the session.
    this.client.release(this.broken ?? true);
  }
}
