/**
 * What both floor servers share (bench/limit-server.ts over better-sqlite3,
 * bench/limit-server-pg.ts over node-postgres): the HTTP server, the agency JWT check with
 * the dev key, the request checks, and the answer for one person built from one row of the
 * floor's own answer table with the domain rules. Each server brings only its database part
 * (`FloorDatabase`).
 *
 * The floor is independent of the service's storage design: it reads nothing through the
 * service's tables or statements on the request path. Its table (`bench_floor_answer`) has
 * one row per person holding everything a lookup returns, instants already in the served
 * ISO form and the duplicate flags decided when the table is written; its audit log
 * (`bench_floor_audit`) is one durable append per request. Both are built by the floor
 * itself when it starts (from the service's tables, once per state of the register: the
 * floor's "write time").
 */
import { createLocalJWKSet, jwtVerify } from 'jose';
import http from 'node:http';
import { loadOrCreateDevKey } from '../src/auth/keys';
import { Scope } from '../src/auth/scopes';
import { loadConfig, type Config } from '../src/config';
import { staleBefore } from '../src/domain/contact-rules';
import { isValidIdentityNumber } from '../src/domain/identity-number';
import { LOOKUP_PEOPLE, LOOKUP_PERSON } from './queries';

export type Flag = number | boolean;

/** One row of `bench_floor_answer`: a person's whole answer, instants as ISO 8601 UTC strings. */
export interface FloorRow {
  id: string;
  status: 'ACTIVE' | 'DELETED';
  reserved: Flag;
  reservedAt: string | null;
  reservationUpdatedAt: string | null;
  /** As served: NB, NN, EN, SE. */
  language: string | null;
  languageUpdatedAt: string | null;
  updatedAt: string;
  emailAddress: string | null;
  emailUpdatedAt: string | null;
  emailVerifiedAt: string | null;
  emailValidatedAt: string | null;
  emailDuplicated: Flag | null;
  mobileNumber: string | null;
  mobileUpdatedAt: string | null;
  mobileVerifiedAt: string | null;
  mobileValidatedAt: string | null;
  mobileDuplicated: Flag | null;
  mailboxAddress: string | null;
  providerOrgNumber: string | null;
  certificate: string | null;
}

/** One request's audit record: who, when, with which scopes, whom. */
export interface FloorAudit {
  agency: string;
  supplier: string | null;
  at: string;
  scopes: string;
  /** The distinct ids, as a JSON array. */
  ids: string;
}

/** A floor server's database part. */
export interface FloorDatabase {
  /** One statement: the rows of the distinct ids. */
  read(uniqueIds: string[]): FloorRow[] | Promise<FloorRow[]>;
  /** One statement: the request's audit record, durably, before the answer leaves. */
  append(record: FloorAudit): void | Promise<void>;
  /** SQL statements per request (the read and the append). */
  statementsPerRequest: number;
}

const yes = (f: Flag | null) => f === true || f === 1;

/**
 * The 18-month rule on served instants: ISO 8601 UTC strings of one fixed format compare as
 * the instants do, so the newer of `_oppdatert` and `_sist_verifisert` is held against the
 * domain's `staleBefore(now)` in the same form.
 */
const usable = (updatedAt: string | null, verifiedAt: string | null, limit: string) =>
  (updatedAt !== null && updatedAt >= limit) || (verifiedAt !== null && verifiedAt >= limit);

/** One person as the service answers the LookUpPeople selection, in its field order. */
function personJson(id: string, row: FloorRow | undefined, limit: string) {
  if (!row) {
    return {
      id,
      status: 'NOT_REGISTERED',
      reservation: null,
      notificationStatus: 'CANNOT_BE_NOTIFIED',
      contactInfo: null,
      digitalMailbox: null,
      certificate: null,
      language: null,
      languageUpdatedAt: null,
      updatedAt: null,
    };
  }
  const active = row.status === 'ACTIVE';
  const reserved = yes(row.reserved);
  const email =
    active && row.emailAddress !== null
      ? {
          address: row.emailAddress,
          updatedAt: row.emailUpdatedAt,
          lastVerifiedAt: row.emailVerifiedAt,
          lastValidatedAt: row.emailValidatedAt,
          duplicated: yes(row.emailDuplicated),
          usableForNotification: usable(row.emailUpdatedAt, row.emailVerifiedAt, limit),
        }
      : null;
  const mobile =
    active && row.mobileNumber !== null
      ? {
          number: row.mobileNumber,
          updatedAt: row.mobileUpdatedAt,
          lastVerifiedAt: row.mobileVerifiedAt,
          lastValidatedAt: row.mobileValidatedAt,
          duplicated: yes(row.mobileDuplicated),
          usableForNotification: usable(row.mobileUpdatedAt, row.mobileVerifiedAt, limit),
        }
      : null;
  return {
    id,
    status: row.status,
    // Also for a deleted person, as last recorded (src/graphql/person/person.types.ts).
    reservation: { reserved, reservedAt: row.reservedAt, updatedAt: row.reservationUpdatedAt },
    notificationStatus: active && !reserved && (email?.usableForNotification || mobile?.usableForNotification) ? 'CAN_BE_NOTIFIED' : 'CANNOT_BE_NOTIFIED',
    contactInfo: active ? { email, mobile } : null,
    digitalMailbox: active && row.mailboxAddress !== null ? { address: row.mailboxAddress, providerOrgNumber: row.providerOrgNumber } : null,
    certificate: active ? row.certificate : null,
    language: active ? row.language : null,
    languageUpdatedAt: active ? row.languageUpdatedAt : null,
    updatedAt: row.updatedAt,
  };
}

const ORG_CONSUMER = /^0192:(\d{9})$/;
/**
 * The scopes the benchmark's selection needs, checked here the floor's own simple way (all
 * or nothing), not through the service's rule table: the floor must not share the service's
 * design. It must agree with it, though: these are exactly the scopes `PERSON_FIELD_RULES`
 * (src/auth/scopes.ts) gives the fields of LookUpPeople, which test/integration/field-rules.test.ts
 * checks. Sorted: what the service records in the audit log.
 */
export const FLOOR_SCOPES: readonly string[] = [Scope.CONTACT_INFO, Scope.DIGITAL_POST].sort();
const USED_SCOPES = FLOOR_SCOPES.join(' ');

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
 * Serves `POST /graphql` (the benchmark's LookUpPeople and LookUpPerson only) and `GET /stats` on
 * config.host:config.port; prints `listening http://HOST:PORT/graphql`; stops on SIGTERM/SIGINT
 * (then calls `onStop`).
 */
export async function serveLimit(config: Config, db: FloorDatabase, onStop: () => Promise<void> = async () => {}): Promise<void> {
  if (config.auth.mode !== 'development') throw new Error('the limit server uses the development key only');
  const auth = config.auth;
  const keys = createLocalJWKSet((await loadOrCreateDevKey(auth.keyFile)).publicJwks);
  let statements = 0;
  let requests = 0;

  async function agency(header: string | undefined): Promise<{ org: string; supplier: string | null }> {
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
    const supplier = ORG_CONSUMER.exec(String((payload.supplier as { ID?: unknown } | undefined)?.ID ?? ''))?.[1] ?? null;
    if (!FLOOR_SCOPES.every((scope) => scopes.has(scope))) throw new HttpError(403, 'FORBIDDEN', 'the limit server needs both scopes');
    return { org, supplier };
  }

  async function answer(body: string, authorization: string | undefined): Promise<string> {
    const { org, supplier } = await agency(authorization);
    const request = JSON.parse(body) as { query?: string; variables?: { ids?: unknown; id?: unknown } };
    const single = request.query === LOOKUP_PERSON;
    if (!single && request.query !== LOOKUP_PEOPLE) throw new HttpError(400, 'BAD_REQUEST', 'the floor answers the benchmark LookUpPeople and LookUpPerson queries only');
    const ids = single ? [request.variables?.id] : request.variables?.ids;
    if (!Array.isArray(ids) || ids.length < 1 || ids.length > 1000) throw new HttpError(400, 'BAD_USER_INPUT', 'ids must hold 1 to 1000 identity numbers');
    if (!ids.every((id) => typeof id === 'string' && isValidIdentityNumber(id))) throw new HttpError(400, 'BAD_USER_INPUT', 'Not valid identity numbers');
    const now = new Date();
    const limit = staleBefore(now).toISOString();
    const unique = [...new Set(ids as string[])];
    const byId = new Map<string, FloorRow>();
    for (const row of await db.read(unique)) byId.set(row.id, row);
    const persons = (ids as string[]).map((id) => personJson(id, byId.get(id), limit));
    await db.append({ agency: org, supplier, at: now.toISOString(), scopes: USED_SCOPES, ids: JSON.stringify(unique) });
    statements += db.statementsPerRequest;
    return JSON.stringify(single ? { data: { person: persons[0] } } : { data: { persons } });
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
