/**
 * What both limit servers share (bench/limit-server.ts over better-sqlite3,
 * bench/limit-server-pg.ts over node-postgres): the HTTP server, the agency JWT check with
 * the dev key, the request checks, and the answer for one person built from plain rows with
 * the domain rules. Each server brings only its database part (`LimitDatabase`).
 *
 * The rows use the PostgreSQL store's column names (camelCase); the SQLite server aliases
 * its columns to them. Times are epoch milliseconds (SQLite) or `Date` (node-postgres);
 * flags are 0/1 (SQLite) or booleans (node-postgres).
 */
import { createLocalJWKSet, jwtVerify } from 'jose';
import http from 'node:http';
import { loadOrCreateDevKey } from '../src/auth/keys';
import { Scope } from '../src/auth/scopes';
import { loadConfig, type Config } from '../src/config';
import { isChannelUsable, notificationStatus } from '../src/domain/contact-rules';
import { isValidIdentityNumber } from '../src/domain/identity-number';
import { LOOKUP_PEOPLE } from './queries';

export type Stamp = number | Date | null;
export type Flag = number | boolean;

export interface LimitPersonRow {
  id: string;
  status: 'ACTIVE' | 'DELETED';
  reserved: Flag;
  reservedAt: Stamp;
  reservationUpdatedAt: Stamp;
  language: string | null;
  languageUpdatedAt: Stamp;
  updatedAt: Stamp;
}
export interface LimitPointRow {
  personId: string;
  channel: 'EMAIL' | 'MOBILE';
  address: string;
  updatedAt: Stamp;
  lastVerifiedAt: Stamp;
  lastValidatedAt: Stamp;
  duplicated: Flag;
}
export interface LimitPostRow {
  personId: string;
  mailboxAddress: string;
  providerOrgNumber: string;
  certificate: string | null;
}

/** One request's rows: people, contact points and digital post of the distinct ids. */
export interface LimitRows {
  people: LimitPersonRow[];
  points: LimitPointRow[];
  posts: LimitPostRow[];
}

/** A limit server's database part. */
export interface LimitDatabase {
  /** The three reads for the distinct ids. */
  read(uniqueIds: string[]): LimitRows | Promise<LimitRows>;
  /** The audit insert: one row per distinct id, durably, before the answer leaves. */
  audit(uniqueIds: string[], org: string, now: Date, scopes: string): void | Promise<void>;
  /** SQL statements per request (reads and the audit insert). */
  statementsPerRequest: number;
}

const iso = (t: Stamp) => (t === null ? null : typeof t === 'number' ? new Date(t).toISOString() : t.toISOString());
const date = (t: Stamp) => (t === null ? null : typeof t === 'number' ? new Date(t) : t);
const yes = (f: Flag) => f === true || f === 1;

function channel(point: LimitPointRow | undefined, now: Date, addressField: 'address' | 'number') {
  if (!point) return null;
  return {
    [addressField]: point.address,
    updatedAt: iso(point.updatedAt),
    lastVerifiedAt: iso(point.lastVerifiedAt),
    lastValidatedAt: iso(point.lastValidatedAt),
    duplicated: yes(point.duplicated),
    usableForNotification: isChannelUsable({ updatedAt: date(point.updatedAt), lastVerifiedAt: date(point.lastVerifiedAt) }, now),
  };
}

/** One person as the service answers the LookUpPeople selection, in its field order. */
function personJson(id: string, row: LimitPersonRow | undefined, points: LimitPointRow[], post: LimitPostRow | undefined, now: Date) {
  const active = row?.status === 'ACTIVE';
  const channels = points.map((p) => ({ updatedAt: date(p.updatedAt), lastVerifiedAt: date(p.lastVerifiedAt) }));
  return {
    id,
    status: row?.status ?? 'NOT_REGISTERED',
    // Also for a deleted person, as last recorded (src/graphql/person/person.types.ts).
    reservation: row ? { reserved: yes(row.reserved), reservedAt: iso(row.reservedAt), updatedAt: iso(row.reservationUpdatedAt) } : null,
    notificationStatus: active ? notificationStatus({ status: 'ACTIVE', reserved: yes(row.reserved), channels }, now) : 'CANNOT_BE_NOTIFIED',
    contactInfo: active
      ? { email: channel(points.find((p) => p.channel === 'EMAIL'), now, 'address'), mobile: channel(points.find((p) => p.channel === 'MOBILE'), now, 'number') }
      : null,
    digitalMailbox: active && post ? { address: post.mailboxAddress, providerOrgNumber: post.providerOrgNumber } : null,
    certificate: active ? (post?.certificate ?? null) : null,
    language: active && row.language ? row.language.toUpperCase() : null,
    languageUpdatedAt: active ? iso(row.languageUpdatedAt) : null,
    updatedAt: row ? iso(row.updatedAt) : null,
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

/**
 * Serves `POST /graphql` (the benchmark's LookUpPeople only) and `GET /stats` on
 * config.host:config.port; prints `listening http://HOST:PORT/graphql`; stops on SIGTERM/SIGINT
 * (then calls `onStop`).
 */
export async function serveLimit(config: Config, db: LimitDatabase, onStop: () => Promise<void> = async () => {}): Promise<void> {
  if (config.auth.mode !== 'development') throw new Error('the limit server uses the development key only');
  const auth = config.auth;
  const keys = createLocalJWKSet((await loadOrCreateDevKey(auth.keyFile)).publicJwks);
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
    const unique = [...new Set(ids as string[])];
    const rows = await db.read(unique);
    const people = new Map(rows.people.map((row) => [row.id, row]));
    const points = new Map<string, LimitPointRow[]>();
    for (const point of rows.points) {
      const list = points.get(point.personId);
      if (list) list.push(point);
      else points.set(point.personId, [point]);
    }
    const posts = new Map(rows.posts.map((row) => [row.personId, row]));
    const persons = (ids as string[]).map((id) => personJson(id, people.get(id), points.get(id) ?? [], posts.get(id), now));
    await db.audit(unique, org, now, USED_SCOPES);
    statements += db.statementsPerRequest;
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
      answer(Buffer.concat(chunks).toString('utf8'), req.headers.authorization).then(
        (json) => {
          // Counted when answered, as its statements are: a request in flight counts in neither.
          requests++;
          res.setHeader('content-type', 'application/json; charset=utf-8');
          res.end(json);
        },
        (error: unknown) => {
          requests++;
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
  const stop = () => server.close(() => onStop().finally(() => process.exit(0)));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** Runs `main` as a limit server's entry point. */
export function limitMain(name: string, main: (config: Config) => Promise<void>): void {
  main(loadConfig()).catch((error: unknown) => {
    process.stderr.write(`${name}: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
