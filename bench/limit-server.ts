/**
 * "The limit": the W1 answer with nothing but what it needs. A plain node:http server that,
 * for `POST /graphql` with a LookUpPeople body, does what the service does for that request
 * (verify the agency JWT with the same dev key, check the ids, three prepared SELECTs with
 * the ids as one JSON parameter, the same rules, one audit insert) and answers
 * `JSON.stringify` of exactly the service's `{"data":{"persons":[...]}}`. No GraphQL, no
 * Drizzle, no Express. Only the full LookUpPeople selection is supported.
 *
 * `node dist/bench/limit-server.js` with KRR_DB_PATH, KRR_DATA_DIR (the dev key), PORT, HOST.
 * Prints `listening http://HOST:PORT/graphql`. `GET /stats` gives the statement count.
 */
import Database from 'better-sqlite3';
import { createLocalJWKSet, jwtVerify } from 'jose';
import http from 'node:http';
import { loadOrCreateDevKey } from '../src/auth/keys';
import { Scope } from '../src/auth/scopes';
import { loadConfig } from '../src/config';
import { isChannelUsable, notificationStatus } from '../src/domain/contact-rules';
import { isValidIdentityNumber } from '../src/domain/identity-number';
import { LOOKUP_PEOPLE } from './queries';

interface PersonRow {
  id: string;
  status: 'ACTIVE' | 'DELETED';
  reserved: number;
  reserved_at: number | null;
  reservation_updated_at: number | null;
  language: string | null;
  language_updated_at: number | null;
  updated_at: number;
}
interface PointRow {
  person_id: string;
  channel: 'EMAIL' | 'MOBILE';
  address: string;
  updated_at: number;
  last_verified_at: number | null;
  last_validated_at: number | null;
  duplicated: number;
}
interface PostRow {
  person_id: string;
  mailbox_address: string;
  provider_org_number: string;
  certificate: string | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const date = (ms: number | null) => (ms === null ? null : new Date(ms));

function openDatabase(file: string) {
  const sqlite = new Database(file, { fileMustExist: true });
  // The service's settings (src/store/database.ts).
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = FULL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const ids = '(select value from json_each(?))';
  return {
    // The statements of src/store/person.store.ts and src/store/audit.store.ts.
    people: sqlite.prepare<[string], PersonRow>(
      `select id, status, reserved, reserved_at, reservation_updated_at, language, language_updated_at, updated_at from person where id in ${ids}`,
    ),
    points: sqlite.prepare<[string], PointRow>(
      `select person_id, channel, address, updated_at, last_verified_at, last_validated_at, exists (
         select 1 from contact_point other join person other_person on other_person.id = other.person_id
         where other.channel = contact_point.channel and other.address_key = contact_point.address_key
           and other.person_id <> contact_point.person_id and other_person.status = 'ACTIVE') as duplicated
       from contact_point where person_id in ${ids}`,
    ),
    posts: sqlite.prepare<[string], PostRow>(`select person_id, mailbox_address, provider_org_number, certificate from digital_post where person_id in ${ids}`),
    audit: sqlite.prepare(
      `insert into lookup_audit (person_id, agency_org_number, looked_up_at, scopes) select value, ?, ?, ? from json_each(?)`,
    ),
  };
}

function channel(point: PointRow | undefined, now: Date, addressField: 'address' | 'number') {
  if (!point) return null;
  return {
    [addressField]: point.address,
    updatedAt: iso(point.updated_at),
    lastVerifiedAt: iso(point.last_verified_at),
    lastValidatedAt: iso(point.last_validated_at),
    duplicated: point.duplicated === 1,
    usableForNotification: isChannelUsable({ updatedAt: date(point.updated_at), lastVerifiedAt: date(point.last_verified_at) }, now),
  };
}

/** One person as the service answers the LookUpPeople selection, in its field order. */
function personJson(id: string, row: PersonRow | undefined, points: PointRow[], post: PostRow | undefined, now: Date) {
  const active = row?.status === 'ACTIVE';
  const channels = points.map((p) => ({ updatedAt: date(p.updated_at), lastVerifiedAt: date(p.last_verified_at) }));
  return {
    id,
    status: row?.status ?? 'NOT_REGISTERED',
    // Also for a deleted person, as last recorded (src/graphql/person/person.types.ts).
    reservation: row ? { reserved: row.reserved === 1, reservedAt: iso(row.reserved_at), updatedAt: iso(row.reservation_updated_at) } : null,
    notificationStatus: active ? notificationStatus({ status: 'ACTIVE', reserved: row.reserved === 1, channels }, now) : 'CANNOT_BE_NOTIFIED',
    contactInfo: active
      ? { email: channel(points.find((p) => p.channel === 'EMAIL'), now, 'address'), mobile: channel(points.find((p) => p.channel === 'MOBILE'), now, 'number') }
      : null,
    digitalMailbox: active && post ? { address: post.mailbox_address, providerOrgNumber: post.provider_org_number } : null,
    certificate: active ? (post?.certificate ?? null) : null,
    language: active && row.language ? row.language.toUpperCase() : null,
    languageUpdatedAt: active ? iso(row.language_updated_at) : null,
    updatedAt: row ? iso(row.updated_at) : null,
  };
}

const ORG_CONSUMER = /^0192:(\d{9})$/;
/** Both scopes the selection uses, sorted: what the service records in the audit log. */
const USED_SCOPES = [Scope.CONTACT_INFO, Scope.DIGITAL_POST].sort().join(' ');

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

async function main(): Promise<void> {
  const config = loadConfig();
  if (config.auth.mode !== 'development') throw new Error('the limit server uses the development key only');
  const auth = config.auth;
  const keys = createLocalJWKSet((await loadOrCreateDevKey(auth.keyFile)).publicJwks);
  const db = openDatabase(config.dbPath);
  let statements = 0;
  let requests = 0;

  async function agencyOrg(header: string | undefined): Promise<string> {
    const token = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')?.[1];
    if (!token) throw new HttpError(401, 'UNAUTHENTICATED', 'Authentication required');
    let payload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: auth.agency.issuer,
        audience: auth.audience,
        algorithms: ['ES256'],
        clockTolerance: 5,
        requiredClaims: ['exp'],
      }));
    } catch {
      throw new HttpError(401, 'UNAUTHENTICATED', 'Invalid token');
    }
    const org = ORG_CONSUMER.exec(String((payload.consumer as { ID?: unknown } | undefined)?.ID ?? ''))?.[1];
    const scopes = new Set(typeof payload.scope === 'string' ? payload.scope.split(' ') : []);
    if (!org) throw new HttpError(401, 'UNAUTHENTICATED', 'no consumer.ID');
    if (!scopes.has(Scope.CONTACT_INFO) || !scopes.has(Scope.DIGITAL_POST)) throw new HttpError(403, 'FORBIDDEN', 'the limit server needs both scopes');
    return org;
  }

  async function answer(body: string, authorization: string | undefined): Promise<string> {
    const org = await agencyOrg(authorization);
    const request = JSON.parse(body) as { query?: string; variables?: { ids?: unknown } };
    if (request.query !== LOOKUP_PEOPLE) throw new HttpError(400, 'BAD_REQUEST', 'the limit server answers the benchmark LookUpPeople query only');
    const ids = request.variables?.ids;
    if (!Array.isArray(ids) || ids.length < 1 || ids.length > 1000) throw new HttpError(400, 'BAD_USER_INPUT', 'ids must hold 1 to 1000 identity numbers');
    if (!ids.every((id) => typeof id === 'string' && isValidIdentityNumber(id))) throw new HttpError(400, 'BAD_USER_INPUT', 'Not valid identity numbers');
    const now = new Date();
    const unique = JSON.stringify([...new Set(ids as string[])]);
    const people = new Map(db.people.all(unique).map((row) => [row.id, row]));
    const points = new Map<string, PointRow[]>();
    for (const point of db.points.all(unique)) {
      const list = points.get(point.person_id);
      if (list) list.push(point);
      else points.set(point.person_id, [point]);
    }
    const posts = new Map(db.posts.all(unique).map((row) => [row.person_id, row]));
    const persons = (ids as string[]).map((id) => personJson(id, people.get(id), points.get(id) ?? [], posts.get(id), now));
    db.audit.run(org, now.getTime(), USED_SCOPES, unique);
    statements += 4;
    return JSON.stringify({ data: { persons } });
  }

  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/stats') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ statements, requests }));
      return;
    }
    if (req.method !== 'POST' || req.url !== '/graphql') {
      res.statusCode = 404;
      res.end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests++;
      answer(Buffer.concat(chunks).toString('utf8'), req.headers.authorization).then(
        (json) => {
          res.setHeader('content-type', 'application/json; charset=utf-8');
          res.end(json);
        },
        (error: unknown) => {
          const status = error instanceof HttpError ? error.status : 500;
          res.statusCode = status;
          res.setHeader('content-type', 'application/json; charset=utf-8');
          const code = error instanceof HttpError ? error.code : 'INTERNAL_SERVER_ERROR';
          res.end(JSON.stringify({ errors: [{ message: error instanceof Error ? error.message : 'error', extensions: { code } }] }));
        },
      );
    });
  });
  server.listen(config.port, config.host, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    process.stdout.write(`listening http://${config.host}:${port}/graphql\n`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`limit-server: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
