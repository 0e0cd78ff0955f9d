/**
 * The fast write path of the seed: the rows `replacePerson` writes, with raw prepared
 * better-sqlite3 statements (no Drizzle query builder on the hot path). A person travels as
 * a plain tuple of numbers and strings, so a worker thread can hand batches to the writer
 * cheaply.
 */
import type Database from 'better-sqlite3';
import type { ChangeKind } from '../../src/domain/change-kind';
import { addressKey } from '../../src/domain/contact-address';
import type { ChannelRecord, PersonRecord } from '../../src/domain/person-record';

type Millis = number | null;
/** `contact_point` without the person id and channel. */
type ChannelTuple = [address: string, addressKey: string, updatedAt: number, lastVerifiedAt: Millis, lastValidatedAt: Millis];
type PostTuple = [mailboxAddress: string, providerOrgNumber: string, certificate: string | null];

/** One person's whole entry, as the columns store it (booleans 0/1, times in UTC ms). */
export type PersonTuple = [
  id: string,
  status: 'ACTIVE' | 'DELETED',
  reserved: 0 | 1,
  reservedAt: Millis,
  reservationUpdatedAt: Millis,
  language: string | null,
  languageUpdatedAt: Millis,
  updatedAt: number,
  email: ChannelTuple | null,
  mobile: ChannelTuple | null,
  digitalPost: PostTuple | null,
];

const ms = (d: Date | null): Millis => (d ? d.getTime() : null);

function channelTuple(c: ChannelRecord | null, key: (address: string) => string): ChannelTuple | null {
  return c && [c.address, key(c.address), c.updatedAt.getTime(), ms(c.lastVerifiedAt), ms(c.lastValidatedAt)];
}

/** The columns `replacePerson` writes for a record: address_key is the lower-cased email, the E.164 mobile. */
export function toTuple(r: PersonRecord): PersonTuple {
  const post = r.digitalPost;
  return [
    r.id,
    r.status,
    r.reserved ? 1 : 0,
    ms(r.reservedAt),
    ms(r.reservationUpdatedAt),
    r.language,
    ms(r.languageUpdatedAt),
    r.updatedAt.getTime(),
    channelTuple(r.email, (address) => addressKey('EMAIL', address)),
    channelTuple(r.mobile, (address) => addressKey('MOBILE', address)),
    post && [post.mailboxAddress, post.providerOrgNumber, post.certificate],
  ];
}

const PERSON_COLUMNS = ['id', 'status', 'reserved', 'reserved_at', 'reservation_updated_at', 'language', 'language_updated_at', 'updated_at', 'change_number'];
const CONTACT_COLUMNS = ['person_id', 'channel', 'address', 'address_key', 'updated_at', 'last_verified_at', 'last_validated_at'];
const POST_COLUMNS = ['person_id', 'mailbox_address', 'provider_org_number', 'certificate_id'];

/**
 * The register's ids of certificate values (`certificate`: each distinct value once, the
 * mailbox rows hold the id), a value added when it is new. Remembered for one `write` only:
 * an id added by a transaction that then rolls back must not be handed out again.
 */
class CertificateIds {
  private readonly find;
  private readonly add;
  private readonly known = new Map<string, number>();

  constructor(sqlite: Database.Database) {
    this.find = sqlite.prepare<[string], number>('select id from certificate where value = ?').pluck();
    this.add = sqlite.prepare<[string]>('insert into certificate (value) values (?)');
  }

  forget(): void {
    this.known.clear();
  }

  idOf(value: string | null): number | null {
    if (value === null) return null;
    let id = this.known.get(value);
    if (id === undefined) {
      id = this.find.get(value) ?? Number(this.add.run(value).lastInsertRowid);
      this.known.set(value, id);
    }
    return id;
  }
}

const insertInto = (table: string, columns: readonly string[]) => `insert into ${table} (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')})`;

/** Inserts of many rows per statement: one bind and step per `rows` rows instead of per row. */
class MultiRowInsert {
  private readonly many;
  private readonly one;
  private values: unknown[] = [];

  constructor(
    sqlite: Database.Database,
    table: string,
    private readonly columns: readonly string[],
    private readonly rows = 100,
  ) {
    const row = `(${columns.map(() => '?').join(', ')})`;
    this.many = sqlite.prepare(`insert into ${table} (${columns.join(', ')}) values ${Array(rows).fill(row).join(', ')}`);
    this.one = sqlite.prepare(`insert into ${table} (${columns.join(', ')}) values ${row}`);
  }

  add(...row: unknown[]): void {
    for (const value of row) this.values.push(value);
    if (this.values.length === this.columns.length * this.rows) this.flush();
  }

  flush(): void {
    const width = this.columns.length;
    if (this.values.length === width * this.rows) this.many.run(this.values);
    else for (let i = 0; i < this.values.length; i += width) this.one.run(this.values.slice(i, i + width));
    this.values = [];
  }
}

/**
 * The bulk load into an EMPTY register, in one transaction. Each person gets the next change
 * number in the order they come (`max + 1, max + 2, ...`: what the change log's rowid gives
 * one insert at a time), and the change log is written in that order. Person and contact
 * rows have random primary keys: they go first to staging tables without keys, as cheap
 * appends, and `finish` moves them in key order, so their primary-key indexes are filled by
 * appends rather than by millions of random inserts. Mailbox rows (large, a small index) are
 * written directly.
 */
export class StagedLoader {
  private readonly change;
  private readonly person;
  private readonly contact;
  private readonly post;
  private readonly certificates;
  private readonly at: number;
  private last: number;

  constructor(
    private readonly sqlite: Database.Database,
    private readonly kind: ChangeKind,
    at: Date,
  ) {
    this.at = at.getTime();
    this.last = sqlite.prepare('select coalesce(max(change_number), 0) from change_log').pluck().get() as number;
    sqlite.exec(`
      create temp table seed_person (${PERSON_COLUMNS.join(', ')});
      create temp table seed_contact_point (${CONTACT_COLUMNS.join(', ')});`);
    this.change = new MultiRowInsert(sqlite, 'change_log', ['change_number', 'person_id', 'changed_at', 'kind']);
    this.person = new MultiRowInsert(sqlite, 'temp.seed_person', PERSON_COLUMNS);
    this.contact = new MultiRowInsert(sqlite, 'temp.seed_contact_point', CONTACT_COLUMNS);
    this.post = new MultiRowInsert(sqlite, 'digital_post', POST_COLUMNS);
    this.certificates = new CertificateIds(sqlite);
  }

  write(people: readonly PersonTuple[]): void {
    this.certificates.forget();
    for (const [id, status, reserved, reservedAt, reservationUpdatedAt, language, languageUpdatedAt, updatedAt, email, mobile, post] of people) {
      const changeNumber = ++this.last;
      this.change.add(changeNumber, id, this.at, this.kind);
      this.person.add(id, status, reserved, reservedAt, reservationUpdatedAt, language, languageUpdatedAt, updatedAt, changeNumber);
      if (email) this.contact.add(id, 'EMAIL', ...email);
      if (mobile) this.contact.add(id, 'MOBILE', ...mobile);
      if (post) this.post.add(id, post[0], post[1], this.certificates.idOf(post[2]));
    }
  }

  /** Moves the staged rows into the register's tables in key order and drops the staging tables. */
  finish(): void {
    for (const insert of [this.change, this.person, this.contact, this.post]) insert.flush();
    this.sqlite.exec(`
      insert into person (${PERSON_COLUMNS.join(', ')}) select * from temp.seed_person order by id;
      drop table temp.seed_person;
      insert into contact_point (${CONTACT_COLUMNS.join(', ')}) select * from temp.seed_contact_point order by person_id, channel;
      drop table temp.seed_contact_point;`);
  }
}

/**
 * Writes people the way `replacePerson` does, one change number each (the change-log rowid,
 * taken in the caller's transaction): the person row upserted, old contact and mailbox rows
 * deleted, the new ones inserted.
 */
export class PersonRowWriter {
  private readonly change;
  private readonly person;
  private readonly contact;
  private readonly post;
  private readonly deleteContacts;
  private readonly deletePost;
  private readonly certificates;
  private readonly at: number;

  constructor(
    sqlite: Database.Database,
    private readonly kind: ChangeKind,
    at: Date,
  ) {
    this.at = at.getTime();
    const set = PERSON_COLUMNS.slice(1).map((c) => `${c} = excluded.${c}`);
    this.change = sqlite.prepare('insert into change_log (person_id, changed_at, kind) values (?, ?, ?)');
    this.person = sqlite.prepare(`${insertInto('person', PERSON_COLUMNS)} on conflict (id) do update set ${set.join(', ')}`);
    this.contact = sqlite.prepare(insertInto('contact_point', CONTACT_COLUMNS));
    this.post = sqlite.prepare(insertInto('digital_post', POST_COLUMNS));
    this.deleteContacts = sqlite.prepare('delete from contact_point where person_id = ?');
    this.deletePost = sqlite.prepare('delete from digital_post where person_id = ?');
    this.certificates = new CertificateIds(sqlite);
  }

  /** Call inside a transaction. */
  write(people: readonly PersonTuple[]): void {
    this.certificates.forget();
    for (const [id, status, reserved, reservedAt, reservationUpdatedAt, language, languageUpdatedAt, updatedAt, email, mobile, post] of people) {
      const changeNumber = this.change.run(id, this.at, this.kind).lastInsertRowid;
      this.person.run(id, status, reserved, reservedAt, reservationUpdatedAt, language, languageUpdatedAt, updatedAt, changeNumber);
      this.deleteContacts.run(id);
      if (email) this.contact.run(id, 'EMAIL', ...email);
      if (mobile) this.contact.run(id, 'MOBILE', ...mobile);
      this.deletePost.run(id);
      if (post) this.post.run(id, post[0], post[1], this.certificates.idOf(post[2]));
    }
  }
}
