/**
 * "The limit" on SQLite: the W1 answer with nothing but what it needs. A plain node:http
 * server that, for `POST /graphql` with a LookUpPeople body, does what the service does for
 * that request (verify the agency JWT with the same dev key, check the ids, three prepared
 * SELECTs with the ids as one JSON parameter, the same rules, one audit insert) and answers
 * `JSON.stringify` of exactly the service's `{"data":{"persons":[...]}}`. No GraphQL, no
 * Drizzle, no Express. Only the full LookUpPeople selection is supported. The HTTP, token
 * and answer parts are shared with the PostgreSQL limit (bench/limit-common.ts).
 *
 * `node dist/bench/limit-server.js` with KRR_DB_PATH, KRR_DATA_DIR (the dev key), PORT, HOST.
 * Prints `listening http://HOST:PORT/graphql`. `GET /stats` gives the statement count.
 */
import Database from 'better-sqlite3';
import type { Config } from '../src/config';
import { limitMain, serveLimit, type LimitDatabase, type LimitPersonRow, type LimitPointRow, type LimitPostRow } from './limit-common';

function openDatabase(file: string): LimitDatabase {
  const sqlite = new Database(file, { fileMustExist: true });
  // The service's settings (src/store/sqlite/database.ts).
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const ids = '(select value from json_each(?))';
  // The statements of the SQLite store (src/store/sqlite/), columns named as limit-common.ts has them.
  const people = sqlite.prepare<[string], LimitPersonRow>(
    `select id, status, reserved, reserved_at as reservedAt, reservation_updated_at as reservationUpdatedAt, language,
       language_updated_at as languageUpdatedAt, updated_at as updatedAt from person where id in ${ids}`,
  );
  const points = sqlite.prepare<[string], LimitPointRow>(
    `select person_id as personId, channel, address, updated_at as updatedAt, last_verified_at as lastVerifiedAt,
       last_validated_at as lastValidatedAt, exists (
         select 1 from contact_point other join person other_person on other_person.id = other.person_id
         where other.channel = contact_point.channel and other.address_key = contact_point.address_key
           and other.person_id <> contact_point.person_id and other_person.status = 'ACTIVE') as duplicated
     from contact_point where person_id in ${ids}`,
  );
  const posts = sqlite.prepare<[string], LimitPostRow>(
    `select person_id as personId, mailbox_address as mailboxAddress, provider_org_number as providerOrgNumber, certificate
     from digital_post where person_id in ${ids}`,
  );
  const audit = sqlite.prepare(`insert into lookup_audit (person_id, agency_org_number, looked_up_at, scopes) select value, ?, ?, ? from json_each(?)`);
  return {
    read(unique) {
      const json = JSON.stringify(unique);
      return { people: people.all(json), points: points.all(json), posts: posts.all(json) };
    },
    audit(unique, org, now, scopes) {
      audit.run(org, now.getTime(), scopes, JSON.stringify(unique));
    },
    statementsPerRequest: 4,
  };
}

limitMain('limit-server', (config: Config) => serveLimit(config, openDatabase(config.dbPath)));
