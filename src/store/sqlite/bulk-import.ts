/**
 * The SQLite store's bulk import (`RegisterStore.startBulkImport`): people are staged, one
 * wide row each, in a table of the connection's temporary database (never the register's
 * file), and `commit` moves them into the register with a handful of set-based statements in
 * one `BEGIN IMMEDIATE` transaction. A process that dies while staging leaves only a temp
 * file the operating system drops; one that dies in the commit leaves an uncommitted WAL
 * tail that SQLite ignores. Either way the register is as it was.
 */
import Database from 'better-sqlite3';
import { LOOKUP_MODEL_TRIGGERS, REBUILD_LOOKUP_MODEL } from '../../../db/lookup-model.sqlite';
import { STAGED_PERSON_COLUMNS, STAGING_COLUMNS, stagingRow } from '../bulk-rows';
import type { BulkImport, BulkImportResult, StagedPerson } from '../types';

const PERSON_COLUMNS: readonly string[] = STAGED_PERSON_COLUMNS;

/**
 * Page caches of the import's connection (KiB). Bounded, so the import's memory stays well
 * under 512 MB whatever the file size; SQLite spills to the WAL and temp files beyond them.
 */
const CACHE_KIB = 131_072;
const TEMP_CACHE_KIB = 65_536;

/** Rows per staging statement: one bind and step per this many people instead of per person. */
const ROWS_PER_INSERT = 50;
/** Secondary indexes with keys in random order: rebuilt once, sorted, when the register was empty. */
const DEFERRED_INDEXES = ['change_log_person_idx', 'contact_point_address_idx', 'person_change_number_idx'];

export class SqliteBulkImport implements BulkImport {
  private readonly insertMany;
  private readonly insertOne;
  private staged = 0;
  private done = false;

  /** `own`: the connection is the import's own, and closed at the end. */
  constructor(
    private readonly sqlite: Database.Database,
    private readonly own: boolean,
    private readonly kind: string,
    private readonly at: Date,
  ) {
    sqlite.pragma('busy_timeout = 30000');
    sqlite.pragma('synchronous = FULL');
    if (own) {
      sqlite.pragma(`cache_size = -${CACHE_KIB}`);
      // Every contact and mailbox row the commit writes belongs to a person it writes in the
      // same statement group: checking each against the person table is work for nothing.
      sqlite.pragma('foreign_keys = OFF');
    }
    sqlite.exec(`drop table if exists temp.import_staging;
      create temp table import_staging (seq integer primary key, ${STAGING_COLUMNS.join(', ')})`);
    if (own) sqlite.pragma(`temp.cache_size = -${TEMP_CACHE_KIB}`);
    const row = `(${STAGING_COLUMNS.map(() => '?').join(', ')})`;
    const into = `insert into temp.import_staging (${STAGING_COLUMNS.join(', ')}) values `;
    this.insertMany = sqlite.prepare(into + Array(ROWS_PER_INSERT).fill(row).join(', '));
    this.insertOne = sqlite.prepare(into + row);
  }

  async stage(people: readonly StagedPerson[]): Promise<void> {
    if (this.done) throw new Error('this bulk import has ended');
    // Only the temp database is written: no lock on the register.
    this.sqlite.transaction(() => {
      let i = 0;
      for (; i + ROWS_PER_INSERT <= people.length; i += ROWS_PER_INSERT) {
        const values: unknown[] = [];
        for (let j = i; j < i + ROWS_PER_INSERT; j++) for (const v of stagingRow(people[j])) values.push(v);
        this.insertMany.run(values);
      }
      for (; i < people.length; i++) this.insertOne.run(stagingRow(people[i]));
    })();
    this.staged += people.length;
  }

  async commit(): Promise<BulkImportResult> {
    if (this.done) throw new Error('this bulk import has ended');
    const { sqlite } = this;
    const one = <T>(sql: string) => sqlite.prepare(sql).pluck().get() as T;
    try {
      return sqlite.transaction((): BulkImportResult => {
        const base = one<number>('select coalesce(max(change_number), 0) from change_log');
        const empty = !one<number>('select exists (select 1 from person)');
        const deferred = empty
          ? (sqlite.prepare(`select name, sql from sqlite_master where type = 'index' and name in (${DEFERRED_INDEXES.map(() => '?').join(', ')})`).all(...DEFERRED_INDEXES) as {
              name: string;
              sql: string;
            }[])
          : [];
        for (const index of deferred) sqlite.exec(`drop index "${index.name}"`);
        // Into an empty register the lookup read model (person_lookup, address_use) is derived
        // once at the end, as the seed does, instead of by its triggers row by row.
        const triggers = empty
          ? (sqlite.prepare(`select name, sql from sqlite_master where type = 'trigger' and name in (${LOOKUP_MODEL_TRIGGERS.map(() => '?').join(', ')})`).all(...LOOKUP_MODEL_TRIGGERS) as {
              name: string;
              sql: string;
            }[])
          : [];
        for (const trigger of triggers) sqlite.exec(`drop trigger "${trigger.name}"`);
        // The last record of each person; those saying "not registered" are not written.
        sqlite.exec(`drop table if exists temp.import_last; drop table if exists temp.import_numbered;
          create temp table import_last (seq integer primary key);
          create temp table import_numbered (seq integer primary key, change_number integer not null);`);
        const distinct = sqlite.prepare('insert into temp.import_last select max(seq) from temp.import_staging group by id order by 1').run().changes;
        const people = sqlite
          .prepare(
            `insert into temp.import_numbered (seq, change_number)
             select l.seq, ? + row_number() over (order by l.seq) from temp.import_last l join temp.import_staging s on s.seq = l.seq
             where s.status is not null order by l.seq`,
          )
          .run(base).changes;
        const staged = `temp.import_numbered n join temp.import_staging s on s.seq = n.seq`;
        if (!empty) {
          sqlite.exec(`delete from contact_point where person_id in (select s.id from ${staged});
            delete from digital_post where person_id in (select s.id from ${staged});`);
        }
        sqlite.prepare(`insert into change_log (change_number, person_id, changed_at, kind) select n.change_number, s.id, ?, ? from ${staged} order by n.seq`).run(this.at.getTime(), this.kind);
        const set = [...PERSON_COLUMNS.slice(1), 'change_number'].map((c) => `${c} = excluded.${c}`).join(', ');
        sqlite.exec(`
          insert into person (${PERSON_COLUMNS.join(', ')}, change_number)
            select ${PERSON_COLUMNS.map((c) => `s.${c}`).join(', ')}, n.change_number from ${staged} where true order by s.id
            on conflict (id) do update set ${set};
          insert into contact_point (person_id, channel, address, address_key, updated_at, last_verified_at, last_validated_at)
            select * from (
              select s.id, 'EMAIL', s.email_address, s.email_key, s.email_updated_at, s.email_verified_at, s.email_validated_at
                from ${staged} where s.email_address is not null
              union all
              select s.id, 'MOBILE', s.mobile_address, s.mobile_key, s.mobile_updated_at, s.mobile_verified_at, s.mobile_validated_at
                from ${staged} where s.mobile_address is not null
            ) order by 1, 2;
          insert into digital_post (person_id, mailbox_address, provider_org_number, certificate)
            select s.id, s.mailbox_address, s.provider_org_number, s.certificate from ${staged} where s.mailbox_address is not null order by s.id;`);
        for (const index of deferred) sqlite.exec(index.sql);
        if (empty) {
          sqlite.exec(REBUILD_LOOKUP_MODEL);
          for (const trigger of triggers) sqlite.exec(trigger.sql);
        }
        return {
          written: people,
          overridden: this.staged - distinct,
          notRegistered: distinct - people,
          changeNumbers: people > 0 ? { first: base + 1, last: base + people } : null,
        };
      }).immediate();
    } finally {
      await this.abort();
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    this.done = true;
    if (this.own) this.sqlite.close();
    else this.sqlite.exec('drop table if exists temp.import_staging; drop table if exists temp.import_last; drop table if exists temp.import_numbered;');
  }
}

/** A bulk import on a connection of its own (no statement logging, its own caches); an in-memory store has only one. */
export function startSqliteBulkImport(store: Database.Database, kind: string, at: Date): SqliteBulkImport {
  const own = !store.memory;
  return new SqliteBulkImport(own ? new Database(store.name) : store, own, kind, at);
}
