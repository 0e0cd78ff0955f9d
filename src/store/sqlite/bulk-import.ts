/**
 * The SQLite store's bulk import (`RegisterStore.startBulkImport`): people are staged, one
 * wide row each, in a table of the connection's temporary database (never the register's
 * file), and `commit` moves them into the register with a handful of set-based statements in
 * one `BEGIN IMMEDIATE` transaction. A process that dies while staging leaves only a temp
 * file the operating system drops; one that dies in the commit leaves an uncommitted WAL
 * tail that SQLite ignores, or a hot rollback journal that the next connection to open the
 * file plays back (see `ROLLBACK_JOURNAL`). Either way the register is as it was.
 */
import Database from 'better-sqlite3';
import { byChannel, CHANNELS, DEFERRED_INDEXES, deriveStagedLookupModel, LOOKUP_MODEL_TRIGGERS, retractStagedLookupModel, setAside } from '../../../db/lookup-model.sqlite';
import { STAGED_PERSON_COLUMNS, STAGING_COLUMNS, type StagingBatch } from '../bulk-rows';
import type { BulkImport, BulkImportResult } from '../types';

const PERSON_COLUMNS: readonly string[] = STAGED_PERSON_COLUMNS;

/**
 * Page caches of the import's connection (KiB). Bounded, so the import's memory stays well
 * under 512 MB whatever the file size; SQLite spills to the WAL and temp files beyond them.
 */
const CACHE_KIB = 98_304;
const TEMP_CACHE_KIB = 49_152;
/**
 * All of SQLite's memory in the import's process (bytes: page caches, and the sorters of
 * the commit's ORDER BY / GROUP BY, each of which may otherwise hold up to a main cache's
 * worth): beyond it SQLite reuses cache pages and sorters spill to temp files sooner. The
 * limit is the process's, not the connection's: the import gives the one before back at its end.
 */
const SQLITE_HEAP_BYTES = 224 * 1024 * 1024;

/**
 * The journal of an import that has the register's file to itself (no other connection, in
 * this process or another, has it open): a rollback journal, so that the commit writes each
 * page once, straight into the file, instead of into the WAL and then again at the
 * checkpoint; and a national import needs no WAL as large as the register beside it.
 * Measured at 300 000 people: the commit's write-out took 1.2 s instead of 4.1 s, the whole
 * import 27.0 s instead of 30.5 s, 0.9 GB written instead of 1.4 GB. The register goes back to
 * WAL at the end (and any connection that opens it sets WAL again: connection.ts). With a
 * reader or writer present, the switch is refused at once and the import keeps to WAL, so a
 * running service's reads never wait for an import.
 */
const ROLLBACK_JOURNAL = 'delete';

/** Rows per staging statement: one bind and step per this many people instead of per person. */
const ROWS_PER_INSERT = 50;
/** The import's staging table (temp database). */
const STAGING = 'import_staging';

/** What `replaceStagedPeople` wrote. */
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
 * Creates (empty) the staging table `temp.<table>`: one wide row per person
 * (`STAGING_COLUMNS`), `seq` in staging order; and `temp.<table>_certificate`, each staged
 * certificate value by its number in the run (`StagedCertificates`).
 */
export function createStaging(sqlite: Database.Database, table: string): void {
  dropStaging(sqlite, table);
  sqlite.exec(`create temp table ${table} (seq integer primary key, ${STAGING_COLUMNS.join(', ')});
    create temp table ${besides(table).certificate} (n integer primary key, value text not null);`);
}

/** The temp tables beside staging table `table`: its certificates, and those `replaceStagedPeople` makes while it writes. */
const besides = (table: string) => ({
  certificate: `${table}_certificate`,
  certificateId: `${table}_certificate_id`,
  last: `${table}_last`,
  numbered: `${table}_numbered`,
  people: `${table}_people`,
});

/** Drops `temp.<table>` and every temp table beside it. */
export function dropStaging(sqlite: Database.Database, table: string): void {
  sqlite.exec([table, ...Object.values(besides(table))].map((name) => `drop table if exists temp.${name};`).join('\n'));
}

/** Puts staging rows into `temp.<table>` in the order given, `ROWS_PER_INSERT` a statement. Inside a transaction for speed. */
export class Stager {
  private readonly insertMany;
  private readonly insertOne;
  private readonly insertCertificate;

  constructor(sqlite: Database.Database, table: string) {
    const row = `(${STAGING_COLUMNS.map(() => '?').join(', ')})`;
    const into = `insert into temp.${table} (${STAGING_COLUMNS.join(', ')}) values `;
    this.insertMany = sqlite.prepare(into + Array(ROWS_PER_INSERT).fill(row).join(', '));
    this.insertOne = sqlite.prepare(into + row);
    this.insertCertificate = sqlite.prepare(`insert into temp.${besides(table).certificate} (n, value) values (?, ?)`);
  }

  stage(batch: StagingBatch): void {
    for (const [n, value] of batch.certificates) this.insertCertificate.run(n, value);
    const width = STAGING_COLUMNS.length;
    const many = width * ROWS_PER_INSERT;
    const { values } = batch;
    let i = 0;
    for (; i + many <= values.length; i += many) this.insertMany.run(values.slice(i, i + many));
    for (; i < values.length; i += width) this.insertOne.run(values.slice(i, i + width));
  }
}

/**
 * Replaces whole entries with the people staged in `temp.<table>`, set-based, inside the
 * caller's `BEGIN IMMEDIATE` transaction: the bulk import's commit and the follower's page
 * apply both write through here. The last staged record of each person wins; one saying
 * "not registered" is not written. Each person written takes the next change number, in the
 * order of their last staged record, with its change-log row (no gaps: the numbers follow
 * the newest one in the same transaction).
 *
 * The people written are sorted by id once (`temp.<table>_people`), and every table is
 * written from that in key order, without further sorts. Into an empty register, or by a
 * set-based write of at least half as many people as the register holds, the secondary
 * indexes with keys in random order are built once at the end instead of row by row. The lookup read model (person_lookup, address_use) is kept set-based, its row
 * triggers set aside for the transaction (`deriveStagedLookupModel`), when the register is
 * empty or `setBased` says so (the bulk import: every person of a national file at once);
 * otherwise (a follower's page into a register already holding people) the triggers keep
 * it in the same statements.
 */
export function replaceStagedPeople(sqlite: Database.Database, table: string, kind: string, at: Date, setBased = false): StagedReplaced {
  const one = <T>(sql: string) => sqlite.prepare(sql).pluck().get() as T;
  const base = one<number>('select coalesce(max(change_number), 0) from change_log');
  const existing = one<number>('select count(*) from person');
  const empty = existing === 0;
  const derive = empty || setBased;
  const { certificate, certificateId, last, numbered, people } = besides(table);
  sqlite.exec(`drop table if exists temp.${last}; drop table if exists temp.${numbered}; drop table if exists temp.${people};`);
  const staged = one<number>(`select count(*) from temp.${table}`);
  // The staged certificates into the register (each value once), and their ids there by
  // their numbers in the run: the people's rows below carry the register's id.
  sqlite.exec(`insert into certificate (value) select distinct value from temp.${certificate} where true on conflict (value) do nothing;
    drop table if exists temp.${certificateId};
    create temp table ${certificateId} (n integer primary key, id integer not null);
    insert into temp.${certificateId} select t.n, c.id from temp.${certificate} t join certificate c on c.value = t.value;`);
  // The people written, in id order (the key of a WITHOUT ROWID table filled in key order):
  // every write below reads them so. They are numbered by `seq` straight away, which is
  // right when every staged record is a different person and none says "not registered"
  // (a national file): a second record of a person breaks the key and ends the statement,
  // and either case is numbered again the general way below.
  const columns = STAGING_COLUMNS.map((c) => (c === 'certificate' ? 'k.id as certificate' : `s.${c}`));
  const intoPeople = `insert into temp.${people} select ${columns.join(', ')}, `;
  const certificateOf = `left join temp.${certificateId} k on k.n = s.certificate`;
  sqlite.exec(`create temp table ${people} (${STAGING_COLUMNS.join(', ')}, change_number integer not null, primary key (id)) without rowid;`);
  // `seq` runs without gaps (the staging table only ever takes appends); checked, since the numbers follow it.
  const { first, span } = sqlite.prepare(`select coalesce(min(seq), 1) as first, coalesce(max(seq) - min(seq) + 1, 0) as span from temp.${table}`).get() as { first: number; span: number };
  let written = -1;
  if (span === staged)
    try {
      written = sqlite.prepare(`${intoPeople} ? + s.seq - ? from temp.${table} s ${certificateOf} where s.status is not null order by s.id`).run(base, first - 1).changes;
    } catch (error) {
      if ((error as { code?: string }).code !== 'SQLITE_CONSTRAINT_PRIMARYKEY') throw error;
    }
  let distinct = staged;
  const intoChangeLog = 'insert into change_log (change_number, person_id, changed_at, kind) select';
  let writeChangeLog = () => sqlite.prepare(`${intoChangeLog} ? + seq - ?, id, ?, ? from temp.${table} order by seq`).run(base, first - 1, at.getTime(), kind);
  if (written !== staged) {
    // The last record of each person; those saying "not registered" are not written. The
    // others take the next change numbers in the order of their last records.
    sqlite.exec(`delete from temp.${people};
      create temp table ${last} (seq integer primary key);
      create temp table ${numbered} (seq integer primary key, change_number integer not null);`);
    distinct = sqlite.prepare(`insert into temp.${last} select max(seq) from temp.${table} group by id order by 1`).run().changes;
    written = sqlite
      .prepare(
        `insert into temp.${numbered} (seq, change_number)
         select l.seq, ? + row_number() over (order by l.seq) from temp.${last} l join temp.${table} s on s.seq = l.seq
         where s.status is not null order by l.seq`,
      )
      .run(base).changes;
    sqlite.exec(`${intoPeople} n.change_number from temp.${numbered} n join temp.${table} s on s.seq = n.seq ${certificateOf} order by s.id; drop table temp.${last};`);
    writeChangeLog = () => sqlite.prepare(`${intoChangeLog} n.change_number, s.id, ?, ? from temp.${numbered} n join temp.${table} s on s.seq = n.seq order by n.seq`).run(at.getTime(), kind);
  }
  // Indexes with keys in random order are rebuilt once, sorted, when the write is a large
  // part of the register (into an empty one, or a national file over the register it came
  // from), instead of taking millions of random deletes and inserts.
  const restore = setAside(sqlite, empty || (derive && written * 2 >= existing) ? DEFERRED_INDEXES : [], derive ? LOOKUP_MODEL_TRIGGERS : []);
  writeChangeLog();
  sqlite.exec(`drop table if exists temp.${numbered};`);
  const from = `temp.${people} s`;
  if (derive && !empty) retractStagedLookupModel(sqlite, people);
  if (!empty) {
    sqlite.exec(`delete from contact_point where person_id in (select id from ${from});
      delete from digital_post where person_id in (select id from ${from});`);
  }
  const set = [...PERSON_COLUMNS.slice(1), 'change_number'].map((c) => `${c} = excluded.${c}`).join(', ');
  // No ORDER BY: the rows come in the people table's order, id order already (and channel
  // order within a person: EMAIL before MOBILE), which SQLite would otherwise sort again.
  sqlite.exec(`
    insert into person (${PERSON_COLUMNS.join(', ')}, change_number)
      select ${PERSON_COLUMNS.map((c) => `s.${c}`).join(', ')}, s.change_number from ${from} where true
      on conflict (id) do update set ${set};
    insert into contact_point (person_id, channel, address, address_key, updated_at, last_verified_at, last_validated_at)
      select s.id, c.channel, ${byChannel('email_address', 'mobile_address')}, ${byChannel('email_key', 'mobile_key')},
          ${byChannel('email_updated_at', 'mobile_updated_at')}, ${byChannel('email_verified_at', 'mobile_verified_at')},
          ${byChannel('email_validated_at', 'mobile_validated_at')}
        from ${from} cross join ${CHANNELS} c
        where ${byChannel('email_address', 'mobile_address')} is not null;
    insert into digital_post (person_id, mailbox_address, provider_org_number, certificate_id)
      select s.id, s.mailbox_address, s.provider_org_number, s.certificate from ${from} where s.mailbox_address is not null;`);
  restore.indexes();
  if (derive) deriveStagedLookupModel(sqlite, people, empty);
  restore.triggers();
  sqlite.exec(`drop table temp.${people}; drop table temp.${certificateId};`);
  return { written, distinct, staged, changeNumbers: written > 0 ? { first: base + 1, last: base + written } : null };
}

export class SqliteBulkImport implements BulkImport {
  private readonly stager: Stager;
  private done = false;
  /** The process's soft heap limit before this import set its own (process-wide: given back at the end). */
  private readonly heapLimitBefore: number | null = null;

  /**
   * `own`: the connection is the import's own, and closed at the end. `alone`: the file is in
   * `ROLLBACK_JOURNAL` mode for this import, and goes back to WAL at its end.
   */
  constructor(
    private readonly sqlite: Database.Database,
    private readonly own: boolean,
    private readonly kind: string,
    private readonly at: Date,
    private readonly alone = false,
  ) {
    sqlite.pragma('busy_timeout = 30000');
    // With a rollback journal the commit point is the journal's deletion: EXTRA syncs the
    // directory after it, so a committed import stays committed through a power cut.
    sqlite.pragma(alone ? 'synchronous = EXTRA' : 'synchronous = FULL');
    if (own) {
      sqlite.pragma(`cache_size = -${CACHE_KIB}`);
      this.heapLimitBefore = Number(sqlite.pragma('soft_heap_limit', { simple: true }));
      sqlite.pragma(`soft_heap_limit = ${SQLITE_HEAP_BYTES}`);
      // Every contact and mailbox row the commit writes belongs to a person it writes in the
      // same statement group: checking each against the person table is work for nothing.
      sqlite.pragma('foreign_keys = OFF');
    }
    createStaging(sqlite, STAGING);
    if (own) sqlite.pragma(`temp.cache_size = -${TEMP_CACHE_KIB}`);
    this.stager = new Stager(sqlite, STAGING);
  }

  async stage(batch: StagingBatch): Promise<void> {
    if (this.done) throw new Error('this bulk import has ended');
    // Only the temp database is written: no lock on the register.
    this.sqlite.transaction(() => this.stager.stage(batch))();
  }

  async commit(): Promise<BulkImportResult> {
    if (this.done) throw new Error('this bulk import has ended');
    try {
      const result = this.sqlite.transaction(() => replaceStagedPeople(this.sqlite, STAGING, this.kind, this.at, true)).immediate();
      return { written: result.written, overridden: result.staged - result.distinct, notRegistered: result.distinct - result.written, changeNumbers: result.changeNumbers };
    } finally {
      await this.abort();
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    try {
      if (this.heapLimitBefore !== null) this.sqlite.pragma(`soft_heap_limit = ${this.heapLimitBefore}`);
      // Back to WAL. Failing that (another connection came meanwhile, or the write fails),
      // the file stays as it is, committed or not, and the next connection to open it sets WAL
      // (connection.ts): no reason to report a committed import as failed.
      if (this.alone) switchJournal(this.sqlite, 'wal', 2000);
    } catch {
      // As above.
    } finally {
      if (this.own) this.sqlite.close();
      else dropStaging(this.sqlite, STAGING);
    }
  }
}

/** A bulk import on a connection of its own (no statement logging, its own caches); an in-memory store has only one. */
export function startSqliteBulkImport(store: Database.Database, kind: string, at: Date): SqliteBulkImport {
  const own = !store.memory;
  // Switched on the store's connection, before the import's own opens: any other open one refuses it.
  const alone = own && switchJournal(store, ROLLBACK_JOURNAL);
  return new SqliteBulkImport(own ? new Database(store.name) : store, own, kind, at, alone);
}

/**
 * Sets the file's journal mode, waiting at most `waitMs` for a lock; false when SQLite keeps
 * the old one (another connection has the file open in WAL mode, or holds a lock).
 */
function switchJournal(sqlite: Database.Database, mode: string, waitMs = 0): boolean {
  const timeout = sqlite.pragma('busy_timeout', { simple: true });
  sqlite.pragma(`busy_timeout = ${waitMs}`);
  try {
    return sqlite.pragma(`journal_mode = ${mode}`, { simple: true }) === mode;
  } catch (error) {
    if (String((error as { code?: string }).code).startsWith('SQLITE_BUSY')) return false;
    throw error;
  } finally {
    sqlite.pragma(`busy_timeout = ${timeout}`);
  }
}
