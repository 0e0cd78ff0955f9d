/**
 * The floor on SQLite: the W1 answer with nothing but what it needs, independent of the
 * service's storage design. A plain node:http server that, for `POST /graphql` with a
 * LookUpPeople body, verifies the agency JWT with the same dev key, checks the ids, reads
 * one row per person from its own answer table with ONE prepared statement, applies the
 * same rules, appends ONE durable audit record for the request (agency, supplier, time,
 * scopes, ids; synchronous=FULL) and answers `JSON.stringify` of exactly the service's
 * `{"data":{"persons":[...]}}`. No GraphQL, no Drizzle, no Express, none of the service's
 * tables on the request path. The HTTP, token and answer parts are shared with the
 * PostgreSQL floor (bench/limit-common.ts).
 *
 * Its tables live in the service's database file (same disk, same WAL):
 * - `bench_floor_answer` (WITHOUT ROWID, keyed by id): one row per person, everything a
 *   lookup returns, instants as served (ISO 8601 UTC), duplicate flags decided here;
 * - `bench_floor_audit`: one row per request, emptied at start.
 * The answer table is (re)built at start when it is missing or the register has changed
 * since (`bench_floor_state`: the newest change number and the number of people).
 *
 * `node dist/bench/limit-server.js` with KRR_DB_PATH, KRR_DATA_DIR (the dev key), PORT, HOST.
 * Prints `listening http://HOST:PORT/graphql`. `GET /stats` gives the statement count.
 */
import Database from 'better-sqlite3';
import type { Config } from '../src/config';
import { limitMain, serveLimit, type FloorDatabase, type FloorRow } from './limit-common';

/** ms since the epoch as ISO 8601 UTC with milliseconds (what `Date.toISOString` gives, years 1970-9999). */
const iso = (column: string) => `strftime('%Y-%m-%dT%H:%M:%fZ', ${column} / 1000.0, 'unixepoch')`;

const ANSWER_COLUMNS = `id text primary key, status text not null, reserved integer not null, reserved_at text, reservation_updated_at text,
  language text, language_updated_at text, updated_at text not null,
  email_address text, email_updated_at text, email_verified_at text, email_validated_at text, email_duplicated integer,
  mobile_number text, mobile_updated_at text, mobile_verified_at text, mobile_validated_at text, mobile_duplicated integer,
  mailbox_address text, provider_org_number text, certificate text`;

/** The floor's write time: the whole answer table from the register's tables, duplicate flags from counts per address. */
function buildAnswers(sqlite: Database.Database): void {
  sqlite.exec(`
    drop table if exists bench_floor_answer;
    create table bench_floor_answer (${ANSWER_COLUMNS}) without rowid;
    create temp table floor_uses as
      select cp.channel, cp.address_key, count(*) as n from contact_point cp join person p on p.id = cp.person_id
      where p.status = 'ACTIVE' group by cp.channel, cp.address_key;
    create unique index temp.floor_uses_key on floor_uses (channel, address_key);
    insert into bench_floor_answer
    select p.id, p.status, p.reserved, ${iso('p.reserved_at')}, ${iso('p.reservation_updated_at')},
      upper(p.language), ${iso('p.language_updated_at')}, ${iso('p.updated_at')},
      e.address, ${iso('e.updated_at')}, ${iso('e.last_verified_at')}, ${iso('e.last_validated_at')},
      case when e.person_id is null then null else coalesce(eu.n, 0) - (p.status = 'ACTIVE') > 0 end,
      m.address, ${iso('m.updated_at')}, ${iso('m.last_verified_at')}, ${iso('m.last_validated_at')},
      case when m.person_id is null then null else coalesce(mu.n, 0) - (p.status = 'ACTIVE') > 0 end,
      d.mailbox_address, d.provider_org_number, k.value
    from person p
      left join contact_point e on e.person_id = p.id and e.channel = 'EMAIL'
      left join floor_uses eu on eu.channel = 'EMAIL' and eu.address_key = e.address_key
      left join contact_point m on m.person_id = p.id and m.channel = 'MOBILE'
      left join floor_uses mu on mu.channel = 'MOBILE' and mu.address_key = m.address_key
      left join digital_post d on d.person_id = p.id
      left join certificate k on k.id = d.certificate_id
    order by p.id;
    drop table temp.floor_uses;`);
}

function openDatabase(file: string): FloorDatabase {
  const sqlite = new Database(file, { fileMustExist: true });
  // The service's durability settings (src/store/sqlite/connection.ts).
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.exec(`
    create table if not exists bench_floor_state (built_from text not null);
    create table if not exists bench_floor_audit (id integer primary key, at text not null, agency text not null, supplier text, scopes text not null, ids text not null);
    delete from bench_floor_audit;`);
  const state = JSON.stringify(sqlite.prepare('select (select max(change_number) from change_log) as n, (select count(*) from person) as people').get());
  const built = sqlite.prepare('select built_from from bench_floor_state').pluck().get() as string | undefined;
  if (built !== state) {
    const started = Date.now();
    sqlite.transaction(() => {
      buildAnswers(sqlite);
      sqlite.exec('delete from bench_floor_state');
      sqlite.prepare('insert into bench_floor_state values (?)').run(state);
    }).immediate();
    process.stderr.write(`limit-server: built bench_floor_answer in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  }
  const read = sqlite.prepare<[string], FloorRow>(
    `select id, status, reserved, reserved_at as reservedAt, reservation_updated_at as reservationUpdatedAt, language,
       language_updated_at as languageUpdatedAt, updated_at as updatedAt,
       email_address as emailAddress, email_updated_at as emailUpdatedAt, email_verified_at as emailVerifiedAt,
       email_validated_at as emailValidatedAt, email_duplicated as emailDuplicated,
       mobile_number as mobileNumber, mobile_updated_at as mobileUpdatedAt, mobile_verified_at as mobileVerifiedAt,
       mobile_validated_at as mobileValidatedAt, mobile_duplicated as mobileDuplicated,
       mailbox_address as mailboxAddress, provider_org_number as providerOrgNumber, certificate
     from bench_floor_answer where id in (select value from json_each(?))`,
  );
  const append = sqlite.prepare('insert into bench_floor_audit (at, agency, supplier, scopes, ids) values (?, ?, ?, ?, ?)');
  return {
    read: (unique) => read.all(JSON.stringify(unique)),
    append: (r) => void append.run(r.at, r.agency, r.supplier, r.scopes, r.ids),
    statementsPerRequest: 2,
  };
}

limitMain('limit-server', (config: Config) => serveLimit(config, openDatabase(config.dbPath)));
