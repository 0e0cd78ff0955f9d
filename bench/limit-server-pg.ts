/**
 * The floor on PostgreSQL: the counterpart of bench/limit-server.ts over node-postgres,
 * independent of the service's storage design. For `POST /graphql` with a LookUpPeople body
 * it verifies the agency JWT, checks the ids, reads one row per person from its own answer
 * table with ONE named prepared statement (the ids as one text[] parameter), applies the
 * same rules, appends ONE audit record for the request (autocommit, synchronous_commit as
 * the server has it) and answers `JSON.stringify` of exactly the service's
 * `{"data":{"persons":[...]}}`. No GraphQL, no Drizzle, no DataLoader, no Express, none of
 * the service's tables or statements on the request path.
 *
 * Its tables, in the service's database: `bench_floor_answer` (one row per person, instants
 * as served ISO text, duplicate flags decided when it is built; rebuilt at start when the
 * register changed since, see `bench_floor_state`) and `bench_floor_audit` (one row per
 * request, emptied at start).
 *
 * `node dist/bench/limit-server-pg.js` with KRR_DATABASE_URL, KRR_DATA_DIR (the dev key),
 * PORT, HOST. Prints `listening http://HOST:PORT/graphql`. `GET /stats` gives the statement count.
 */
import pg from 'pg';
import type { Config } from '../src/config';
import { limitMain, serveLimit, type FloorDatabase, type FloorRow } from './limit-common';

const iso = (column: string) => `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/** The floor's write time: the whole answer table from the register's tables, duplicate flags from counts per address. */
const BUILD = `
  drop table if exists bench_floor_answer;
  create table bench_floor_answer (id text primary key, status text not null, reserved boolean not null, reserved_at text,
    reservation_updated_at text, language text, language_updated_at text, updated_at text not null,
    email_address text, email_updated_at text, email_verified_at text, email_validated_at text, email_duplicated boolean,
    mobile_number text, mobile_updated_at text, mobile_verified_at text, mobile_validated_at text, mobile_duplicated boolean,
    mailbox_address text, provider_org_number text, certificate text);
  with uses as (
    select cp.channel, cp.address_key, count(*) as n from contact_point cp join person p on p.id = cp.person_id
    where p.status = 'ACTIVE' group by cp.channel, cp.address_key)
  insert into bench_floor_answer
  select p.id, p.status, p.reserved, ${iso('p.reserved_at')}, ${iso('p.reservation_updated_at')},
    upper(p.language), ${iso('p.language_updated_at')}, ${iso('p.updated_at')},
    e.address, ${iso('e.updated_at')}, ${iso('e.last_verified_at')}, ${iso('e.last_validated_at')},
    case when e.person_id is null then null else coalesce(eu.n, 0) - (p.status = 'ACTIVE')::int > 0 end,
    m.address, ${iso('m.updated_at')}, ${iso('m.last_verified_at')}, ${iso('m.last_validated_at')},
    case when m.person_id is null then null else coalesce(mu.n, 0) - (p.status = 'ACTIVE')::int > 0 end,
    d.mailbox_address, d.provider_org_number, k.value
  from person p
    left join contact_point e on e.person_id = p.id and e.channel = 'EMAIL'
    left join uses eu on eu.channel = 'EMAIL' and eu.address_key = e.address_key
    left join contact_point m on m.person_id = p.id and m.channel = 'MOBILE'
    left join uses mu on mu.channel = 'MOBILE' and mu.address_key = m.address_key
    left join digital_post d on d.person_id = p.id
    left join certificate k on k.id = d.certificate_id;
  analyze bench_floor_answer;`;

const READ: pg.QueryConfig = {
  name: 'floor-read',
  text: `select id, status, reserved, reserved_at as "reservedAt", reservation_updated_at as "reservationUpdatedAt", language,
      language_updated_at as "languageUpdatedAt", updated_at as "updatedAt",
      email_address as "emailAddress", email_updated_at as "emailUpdatedAt", email_verified_at as "emailVerifiedAt",
      email_validated_at as "emailValidatedAt", email_duplicated as "emailDuplicated",
      mobile_number as "mobileNumber", mobile_updated_at as "mobileUpdatedAt", mobile_verified_at as "mobileVerifiedAt",
      mobile_validated_at as "mobileValidatedAt", mobile_duplicated as "mobileDuplicated",
      mailbox_address as "mailboxAddress", provider_org_number as "providerOrgNumber", certificate
    from unnest($1::text[]) as ids(id) join bench_floor_answer using (id)`,
};

const APPEND: pg.QueryConfig = { name: 'floor-append', text: 'insert into bench_floor_audit (at, agency, supplier, scopes, ids) values ($1, $2, $3, $4, $5)' };

async function openDatabase(config: Config): Promise<{ db: FloorDatabase; close: () => Promise<void> }> {
  if (!config.databaseUrl) throw new Error('the PostgreSQL floor server needs KRR_DATABASE_URL');
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: config.databasePoolSize, application_name: 'krr-bench-floor' });
  pool.on('error', (error) => process.stderr.write(`limit-server-pg: idle connection failed: ${error.message}\n`));
  const setup = await pool.connect();
  try {
    await setup.query(`create table if not exists bench_floor_state (built_from text not null);
      create table if not exists bench_floor_audit (id bigint generated always as identity primary key, at text not null, agency text not null,
        supplier text, scopes text not null, ids text not null);
      truncate bench_floor_audit`);
    const { rows } = await setup.query<{ state: string }>(
      `select json_build_object('n', (select last_change_number from change_counter where id = 1), 'people', (select count(*) from person))::text as state`,
    );
    const state = rows[0].state;
    const built = (await setup.query<{ built_from: string }>('select built_from from bench_floor_state')).rows[0]?.built_from;
    if (built !== state) {
      const started = Date.now();
      await setup.query('begin');
      await setup.query(BUILD);
      await setup.query('delete from bench_floor_state');
      await setup.query('insert into bench_floor_state values ($1)', [state]);
      await setup.query('commit');
      await setup.query('vacuum (analyze) bench_floor_answer');
      process.stderr.write(`limit-server-pg: built bench_floor_answer in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    }
  } finally {
    setup.release();
  }
  const db: FloorDatabase = {
    async read(unique) {
      return (await pool.query<FloorRow>(READ, [unique])).rows;
    },
    async append(r) {
      await pool.query(APPEND, [r.at, r.agency, r.supplier, r.scopes, r.ids]);
    },
    statementsPerRequest: 2,
  };
  // Connections opened (and the statements prepared on them) before the first request.
  const warm = await Promise.all(Array.from({ length: Math.min(2, config.databasePoolSize) }, () => pool.connect()));
  for (const client of warm) client.release();
  return { db, close: () => pool.end() };
}

limitMain('limit-server-pg', async (config) => {
  const { db, close } = await openDatabase(config);
  await serveLimit(config, db, close);
});
