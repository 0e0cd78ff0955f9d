/**
 * The set-up of test/http/replicas.test.ts: replicas of the built service on one PostgreSQL
 * database and how to talk to them, a stream of citizen writes and what the client knows
 * of each, the checks of the database that every scenario ends with, and a throwaway
 * PostgreSQL cluster for the scenarios that restart or crash the server itself.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import pg from 'pg';
import { loadOrCreateDevKey, type DevSigningKey } from '../../src/auth/keys';
import { ALL_SCOPES } from '../../src/auth/scopes';
import { mintDevToken } from '../../src/auth/tokens';
import { loadConfig, type AuthConfig } from '../../src/config';
import { projectRoot } from '../../src/paths';
import { TimedSetLanguageDocument, TimedSetReservationDocument, TimedUpdateContactInfoDocument, type Language } from '../generated/graphql';
import { amcheck, createTestDatabase, sessionsOn, storeUnderTest, toMillis, waitForNoSessions, withApplicationName, type TestDatabase } from './database';
import { requestBody } from './operations';
import { latestCode, readOutbox } from './outbox';
import { syntheticIds } from './people';
import { killAllServices, startService, type RunningService } from './service';


const run = promisify(execFile);

export const REPLICAS = ['a', 'b', 'c'] as const;
export const SEED_COUNT = 500;
const REQUEST_TIMEOUT_MS = 30_000;
export const MAX_CODE_ATTEMPTS = 5;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
export const pad = (n: number, width: number) => String(n).padStart(width, '0');

// ---------------------------------------------------------------------------------------
// Replicas, tokens and requests

export type DevAuth = Extract<AuthConfig, { mode: 'development' }>;

export interface Replica {
  name: string;
  /** Its sessions' application_name in pg_stat_activity. */
  applicationName: string;
  outbox: string;
  env: Record<string, string>;
  service: RunningService;
}

export interface Answer {
  status: number;
  data: Record<string, any> | null | undefined;
  errors: { message: string; extensions?: Record<string, unknown> }[] | undefined;
}

/** Sends a typed document of test/operations/ to the replica, as a client would. */
export async function gql<TData, TVars>(replica: Replica, token: string, document: TypedDocumentNode<TData, TVars>, variables?: TVars): Promise<Answer> {
  const res = await fetch(replica.service.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(requestBody(document, variables ?? ({} as TVars))),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  const body = (await res.json()) as { data?: Record<string, any> | null; errors?: Answer['errors'] };
  return { status: res.status, data: body.data, errors: body.errors };
}

export const codesOf = (answer: Answer) => (answer.errors ?? []).map((e) => e.extensions?.code);

/** A successful answer, or a failure that says which replica and what came back. */
export function expectOk(answer: Answer, what: string): void {
  if (answer.status !== 200 || answer.errors || !answer.data) {
    throw new Error(`${what}: HTTP ${answer.status} ${JSON.stringify({ errors: answer.errors, data: answer.data }).slice(0, 500)}`);
  }
}

export async function readyz(replica: Replica): Promise<number> {
  try {
    return (await fetch(`${replica.service.base}/readyz`, { signal: AbortSignal.timeout(10_000) })).status;
  } catch {
    return -1;
  }
}

/** Polls until the replica's /readyz answers `status` (bounded). */
export async function waitForReadyz(replica: Replica, status: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    last = await readyz(replica);
    if (last === status) return;
    await sleep(200);
  }
  const exited = replica.service.child.exitCode ?? replica.service.child.signalCode;
  throw new Error(
    `replica ${replica.name}: /readyz still answers ${last}, not ${status}, after ${timeoutMs} ms${exited === null ? '' : ` (it exited: ${exited})`}; its output ends:\n` +
      replica.service.output().slice(-3_000),
  );
}

// ---------------------------------------------------------------------------------------
// A stream of citizen writes, and what the client knows about each one

type Kind = 'CONTACT_INFO_UPDATED' | 'RESERVED' | 'RESERVATION_LIFTED' | 'LANGUAGE_SET';
type Outcome = 'pending' | 'acked' | 'lost' | 'refused';

export interface Op {
  citizen: number;
  /** The citizen's own sequence number: its k-th write (k from 0). */
  seq: number;
  replica: string;
  kind: Kind;
  mobile?: string;
  reserved?: boolean;
  language?: string;
  outcome: Outcome;
  /** The `updatedAt` of the acknowledgement: the `changed_at` of the write's change-log row. */
  ackedAt?: number;
  error?: string;
  /** Sent after something was done to the system (a replica killed, PostgreSQL crashed). */
  late?: boolean;
}

export class Citizen {
  seq = 0;
  constructor(
    readonly index: number,
    readonly pid: string,
    readonly token: string,
  ) {}
}

/** The mobile number of a citizen's write `seq`: +479 <citizen, 2 digits> <seq, 5 digits>. */
const mobileOf = (citizen: number, seq: number) => `+479${pad(citizen, 2)}${pad(seq, 5)}`;
export const seqOfMobile = (mobile: string | null | undefined) => (mobile ? Number(mobile.slice(-5)) : -1);
const LANGUAGES = ['nb', 'nn', 'en', 'se'];

/** The citizen's next write: a fixed cycle of contact update, reservation on/off, language. */
export function nextOp(citizen: Citizen, replica: string): Op {
  const seq = citizen.seq++;
  const base = { citizen: citizen.index, seq, replica, outcome: 'pending' as const };
  const turn = Math.floor(seq / 3);
  if (seq % 3 === 0) return { ...base, kind: 'CONTACT_INFO_UPDATED', mobile: mobileOf(citizen.index, seq) };
  if (seq % 3 === 1) return { ...base, kind: turn % 2 === 0 ? 'RESERVED' : 'RESERVATION_LIFTED', reserved: turn % 2 === 0 };
  return { ...base, kind: 'LANGUAGE_SET', language: LANGUAGES[turn % 4] };
}

export async function send(replica: Replica, citizen: Citizen, op: Op): Promise<void> {
  let answer: Answer;
  try {
    if (op.kind === 'CONTACT_INFO_UPDATED') answer = await gql(replica, citizen.token, TimedUpdateContactInfoDocument, { input: { mobile: op.mobile } });
    else if (op.kind === 'LANGUAGE_SET') answer = await gql(replica, citizen.token, TimedSetLanguageDocument, { language: op.language!.toUpperCase() as Language });
    else answer = await gql(replica, citizen.token, TimedSetReservationDocument, { reserved: op.reserved! });
  } catch (error) {
    op.outcome = 'lost';
    op.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return;
  }
  const result = answer.data ? Object.values(answer.data)[0] : null;
  if (answer.status !== 200 || answer.errors || !result) {
    op.outcome = 'refused';
    op.error = `replica ${replica.name}: HTTP ${answer.status} ${JSON.stringify(answer.errors ?? answer.data).slice(0, 300)}`;
    return;
  }
  op.outcome = 'acked';
  op.ackedAt = Date.parse(result.updatedAt);
  if (!Number.isFinite(op.ackedAt)) throw new Error(`acknowledgement without updatedAt: ${JSON.stringify(result)}`);
}

interface StreamOptions {
  /** The replica for the citizen's next write, or null to stop that citizen. */
  route(citizen: Citizen): Replica | null;
  /** Called as each write is about to be sent. */
  onSend?(op: Op): void;
  /** Called as each write settles (a chance to kill or crash something). */
  onSettled?(op: Op): void | Promise<void>;
}

/** Every citizen writes one request at a time (so its own order is total), all citizens at once. */
export async function stream(citizens: Citizen[], ops: Op[], options: StreamOptions): Promise<void> {
  await Promise.all(
    citizens.map(async (citizen) => {
      for (let replica = options.route(citizen); replica; replica = options.route(citizen)) {
        const op = nextOp(citizen, replica.name);
        ops.push(op);
        options.onSend?.(op);
        await send(replica, citizen, op);
        await options.onSettled?.(op);
      }
    }),
  );
}

// ---------------------------------------------------------------------------------------
// Checks of the database

/**
 * The change log is exactly 1..K, the counter says K, every person carries their newest
 * change, and no row outlives its person. Counts only in the messages (no identity numbers).
 */
export async function expectWholeRegister(db: TestDatabase, label: string): Promise<number> {
  const [range] = await db.query<{ n: number; lo: number; hi: number }>('select count(*) n, min(change_number) lo, max(change_number) hi from change_log');
  expect({ label, lo: range.lo, hi: range.hi }).toEqual({ label, lo: 1, hi: range.n });
  expect({ label, counter: await db.number('select last_change_number from change_counter') }).toEqual({ label, counter: range.n });
  const stale = await db.number(
    `select count(*) from person p left join (select person_id, max(change_number) m from change_log group by person_id) c on c.person_id = p.id
      where c.m is null or c.m <> p.change_number`,
  );
  const orphans = await db.number(
    `select (select count(*) from change_log where person_id not in (select id from person))
          + (select count(*) from contact_point where person_id not in (select id from person))
          + (select count(*) from verification_code where person_id not in (select id from person))
          + (select count(*) from digital_post where person_id not in (select id from person))`,
  );
  expect({ label, stale, orphans }).toEqual({ label, stale: 0, orphans: 0 });
  return range.n;
}

export interface LogRow {
  n: number;
  kind: string;
  at: number;
}

export async function logOf(db: TestDatabase, pid: string, after = 0): Promise<LogRow[]> {
  const rows = await db.query<Record<string, unknown>>('select change_number, kind, changed_at from change_log where person_id = ? and change_number > ? order by change_number', pid, after);
  return rows.map((r) => ({ n: Number(r.change_number), kind: String(r.kind), at: toMillis(r.changed_at)! }));
}

/**
 * What a field may hold: the value of the citizen's last acknowledged write of it (or
 * `initial`), or that of any write of it sent later and not acknowledged (it may have
 * committed without its answer getting out). One request per citizen at a time, so
 * nothing else.
 */
function allowed<T>(ops: Op[], citizen: number, pick: (op: Op) => T | undefined, initial: T): T[] {
  const mine = ops.filter((op) => op.citizen === citizen && pick(op) !== undefined);
  let last = -1;
  mine.forEach((op, i) => {
    if (op.outcome === 'acked') last = i;
  });
  return [last >= 0 ? pick(mine[last])! : initial, ...mine.slice(last + 1).map((op) => pick(op)!)];
}

/**
 * Per citizen: every acknowledged write has its own change-log row (same kind, same
 * instant); any other row is a write that was sent and not acknowledged; and the entry is
 * whole: it carries its newest change, the mobile and its pending code are the newest
 * contact update's, the reservation and the language are their newest changes'.
 */
export async function expectHistories(db: TestDatabase, citizens: Citizen[], ops: Op[], label: string): Promise<number> {
  let found = 0;
  for (const citizen of citizens) {
    const who = `${label}: citizen ${citizen.index}`;
    const mine = ops.filter((op) => op.citizen === citizen.index);
    const log = await logOf(db, citizen.pid);
    const rows = new Map<string, number>();
    for (const r of log) rows.set(`${r.kind}@${r.at}`, (rows.get(`${r.kind}@${r.at}`) ?? 0) + 1);
    for (const op of mine.filter((o) => o.outcome === 'acked')) {
      const key = `${op.kind}@${op.ackedAt}`;
      const left = rows.get(key) ?? 0;
      if (left === 0) throw new Error(`${who}: the acknowledged write ${op.seq} (${op.kind} through ${op.replica}) has no change-log row`);
      rows.set(key, left - 1);
      found++;
    }
    const unmatched = [...rows.values()].reduce((a, b) => a + b, 0);
    expect({ who, unmatchedAtMost: unmatched <= mine.filter((o) => o.outcome !== 'acked').length }).toEqual({ who, unmatchedAtMost: true });
    if (log.length === 0) continue;

    const [p] = await db.query<Record<string, unknown>>('select status, reserved, reservation_updated_at, language, language_updated_at, updated_at, change_number from person where id = ?', citizen.pid);
    const [mobile] = await db.query<Record<string, unknown>>("select address, updated_at from contact_point where person_id = ? and channel = 'MOBILE'", citizen.pid);
    const [code] = await db.query<Record<string, unknown>>("select address, created_at from verification_code where person_id = ? and channel = 'MOBILE'", citizen.pid);
    const latest = log[log.length - 1];
    const lastOf = (...kinds: string[]) => [...log].reverse().find((r) => kinds.includes(r.kind));
    const contact = lastOf('CONTACT_INFO_UPDATED');
    const reservation = lastOf('RESERVED', 'RESERVATION_LIFTED');
    const language = lastOf('LANGUAGE_SET');
    expect({
      who,
      status: p.status,
      changeNumber: Number(p.change_number),
      updatedAt: toMillis(p.updated_at),
      mobileAt: toMillis(mobile?.updated_at),
      codeFor: code?.address ?? null,
      codeAt: toMillis(code?.created_at),
      reserved: Boolean(p.reserved),
      reservationAt: toMillis(p.reservation_updated_at),
      languageAt: toMillis(p.language_updated_at),
    }).toEqual({
      who,
      status: 'ACTIVE',
      changeNumber: latest.n,
      updatedAt: latest.at,
      mobileAt: contact?.at ?? null,
      codeFor: mobile?.address ?? null,
      codeAt: contact?.at ?? null,
      reserved: reservation?.kind === 'RESERVED',
      reservationAt: reservation?.at ?? null,
      languageAt: language?.at ?? null,
    });
    const state = { mobile: (mobile?.address as string | undefined) ?? null, reserved: Boolean(p.reserved), language: (p.language as string | null) ?? null };
    const expected = {
      mobile: allowed<string | null>(ops, citizen.index, (op) => op.mobile, null),
      reserved: allowed<boolean>(ops, citizen.index, (op) => op.reserved, false),
      language: allowed<string | null>(ops, citizen.index, (op) => op.language, null),
    };
    for (const field of ['mobile', 'reserved', 'language'] as const) {
      if (!(expected[field] as unknown[]).includes(state[field])) {
        throw new Error(`${who}: ${field} is ${JSON.stringify(state[field])}, expected one of ${JSON.stringify(expected[field])}`);
      }
    }
  }
  return found;
}

// ---------------------------------------------------------------------------------------
// A throwaway PostgreSQL cluster of a test's own (scripts/pg-cluster.sh), for restarts and crashes

const PG_BIN = process.env.PG_BIN || '/usr/lib/postgresql/15/bin';
const PG_CLUSTER = path.join(projectRoot, 'scripts', 'pg-cluster.sh');
export const canRunOwnCluster = existsSync(path.join(PG_BIN, 'pg_ctl')) && existsSync(path.join(PG_BIN, 'initdb'));

export class OwnCluster {
  private constructor(
    readonly dir: string,
    readonly url: string,
    readonly port: number,
  ) {}

  static async start(): Promise<OwnCluster> {
    // Short, under /tmp: the unix socket path has a length limit, and (as root) the
    // postgres OS user must reach the folder.
    const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'krr-pgown-')));
    const { stdout } = await run(PG_CLUSTER, ['start', dir], { timeout: 180_000 });
    const url = stdout.trim().split('\n').pop()!.replace(/^KRR_DATABASE_URL=/, '');
    return new OwnCluster(dir, url, Number(readFileSync(path.join(dir, 'port'), 'utf8').trim()));
  }

  /** pg_ctl as the cluster's owner (the postgres OS user when we are root, as the script does). */
  private pgCtl(args: string[]) {
    const pgCtl = path.join(PG_BIN, 'pg_ctl');
    const [cmd, argv] = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', pgCtl, ...args]] : [pgCtl, args];
    return run(cmd, argv, { timeout: 90_000, cwd: '/' });
  }

  /** `fast`: a clean shutdown (sessions cut off, a checkpoint). `immediate`: a crash (no checkpoint; WAL replay on the next start). */
  stop(mode: 'fast' | 'immediate') {
    return this.pgCtl(['stop', '-D', path.join(this.dir, 'data'), '-m', mode, '-w', '-t', '60']);
  }

  /** Starts it again on the same port, with the settings pg-cluster.sh gives it. */
  start() {
    const options = `-c listen_addresses=127.0.0.1 -c port=${this.port} -c unix_socket_directories='${this.dir}' -c unix_socket_permissions=0700`;
    return this.pgCtl(['start', '-D', path.join(this.dir, 'data'), '-l', path.join(this.dir, 'postgres.log'), '-w', '-t', '60', '-o', options]);
  }

  remove() {
    return run(PG_CLUSTER, ['stop', this.dir, '--remove'], { timeout: 120_000 });
  }
}

// ---------------------------------------------------------------------------------------


/** A data folder with the development key made before any replica starts, and token minting. */
export async function sharedAuth(dataDir: string): Promise<{ auth: DevAuth; key: DevSigningKey }> {
  const config = loadConfig({ KRR_DATA_DIR: dataDir });
  if (config.auth.mode !== 'development') throw new Error('the replica test needs development tokens');
  return { auth: config.auth, key: await loadOrCreateDevKey(config.auth.keyFile) };
}

export function replicaEnv(dataDir: string, databaseUrl: string, name: string, seedCount: number): Omit<Replica, 'service'> {
  const applicationName = `krr-replica-${name}`;
  const outbox = path.join(dataDir, `outbox-${name}.jsonl`);
  return {
    name,
    applicationName,
    outbox,
    env: {
      KRR_DATA_DIR: dataDir,
      KRR_DATABASE_URL: withApplicationName(databaseUrl, applicationName),
      // 3 replicas x 6 stay well inside max_connections beside the other test files.
      KRR_DATABASE_POOL_SIZE: '6',
      KRR_SEED_COUNT: String(seedCount),
      KRR_OUTBOX_FILE: outbox,
      LOG_LEVEL: 'info',
    },
  };
}
