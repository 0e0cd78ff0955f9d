/**
 * Crash test (issue 4): the built service is SIGKILLed in the middle of a stream of citizen
 * mutations, restarted on the same database, and what it acknowledged must still be there,
 * whole, with change numbers 1..N and an intact database. Several kill/restart cycles
 * accumulate on one database. On both stores (jest projects `sqlite` and `postgres`).
 *
 * What SIGKILL proves: no acknowledged write lives only in the process (every commit reached
 * the WAL before the answer left), and a transaction cut off mid-way leaves nothing behind
 * (SQLite: the file's journal; PostgreSQL: the server rolls back the dead connection's
 * transaction, and gives its change number back). It does not simulate losing power;
 * `synchronous=FULL` / `synchronous_commit=on` is what covers that. PostgreSQL itself
 * crashing (immediate shutdown mid-write) is in test/http/replicas.test.ts, on a cluster of
 * its own.
 */
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadOrCreateDevKey } from '../../src/auth/keys';
import { mintDevToken } from '../../src/auth/tokens';
import { loadConfig } from '../../src/config';
import { createRandom } from '../../db/seed/generate';
import { MeDocument, TimedSetLanguageDocument, TimedSetReservationDocument, TimedUpdateContactInfoDocument, type Language } from '../generated/graphql';
import { amcheck, createTestDatabase, toMillis, waitForNoSessions, type TestDatabase } from '../support/database';
import { requestBody } from '../support/operations';
import { syntheticIds } from '../support/people';
import { killAllServices, startService, type RunningService } from '../support/service';

const CYCLES = 5;
const CITIZENS = 12;
/** Requests in flight at once; each citizen has at most one, so its own order is total. */
const CONCURRENCY = 6;
const SEED_COUNT = 200;
/** Bounds on one cycle's stream, whatever happens. */
const MAX_OPS_PER_CYCLE = 1_000;
/** On a badly overloaded machine the kill comes at this point instead, still mid-stream. */
const CYCLE_DEADLINE_MS = 8_000;
const REQUEST_TIMEOUT_MS = 10_000;

// ---------------------------------------------------------------------------------------
// The service as a child process

const startAt = (dataDir: string, db: TestDatabase): Promise<RunningService> =>
  startService({ KRR_DATA_DIR: dataDir, ...db.env, KRR_SEED_COUNT: String(SEED_COUNT), LOG_LEVEL: 'info' }, 30_000);

async function graphql<TData, TVars>(url: string, token: string, document: TypedDocumentNode<TData, TVars>, variables: TVars) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify(requestBody(document, variables)),
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  // Reading the whole body is part of the answer: a response cut off by the kill is no ack.
  const body = (await res.json()) as { data?: Record<string, any> | null; errors?: unknown[] };
  return { status: res.status, body };
}

// ---------------------------------------------------------------------------------------
// The stream of mutations and what the client knows about each one

type Field = 'mobile' | 'email' | 'reserved' | 'language';
type Value = string | boolean | null;
type Outcome = 'pending' | 'acked' | 'lost' | 'refused';

interface Op {
  citizen: number;
  cycle: number;
  kind: 'CONTACT_INFO_UPDATED' | 'RESERVED' | 'RESERVATION_LIFTED' | 'LANGUAGE_SET';
  values: Partial<Record<Field, Value>>;
  outcome: Outcome;
  /** The person's `updatedAt` in the acknowledgement: the `changed_at` of this change's log row. */
  ackedAt?: number;
  error?: string;
}

const LANGUAGES = ['nb', 'nn', 'en', 'se'] as const;
const FIELDS: Field[] = ['mobile', 'email', 'reserved', 'language'];
/** A citizen before any write: not registered; `reserved` reads as false once registered. */
const INITIAL: Record<Field, Value> = { mobile: null, email: null, reserved: false, language: null };

class Citizen {
  private readonly random: () => number;
  private count = 0;
  constructor(
    readonly index: number,
    readonly pid: string,
    readonly token: string,
  ) {
    this.random = createRandom(0xc0ffee + index * 7919);
  }

  /** The citizen's next mutation: its own deterministic sequence, whatever the interleaving. */
  next(cycle: number): Op {
    const n = this.count++;
    const r = this.random();
    const base = { citizen: this.index, cycle, outcome: 'pending' as const };
    if (r < 0.5) {
      // Every contact update sets a new mobile (unique: citizen and sequence in the digits);
      // every third one sets the email too.
      const mobile = `+479${String(this.index).padStart(2, '0')}${String(n).padStart(5, '0')}`;
      const values: Op['values'] = { mobile };
      if (this.random() < 0.35) values.email = `c${this.index}.n${n}@example.org`;
      return { ...base, kind: 'CONTACT_INFO_UPDATED', values };
    }
    if (r < 0.75) {
      const reserved = this.random() < 0.5;
      return { ...base, kind: reserved ? 'RESERVED' : 'RESERVATION_LIFTED', values: { reserved } };
    }
    return { ...base, kind: 'LANGUAGE_SET', values: { language: LANGUAGES[Math.floor(this.random() * 4)] } };
  }
}

/** Sends one mutation and records its outcome; an acknowledgement must echo what was sent. */
async function send(url: string, citizen: Citizen, op: Op): Promise<void> {
  let res: Awaited<ReturnType<typeof graphql>>;
  try {
    if (op.kind === 'CONTACT_INFO_UPDATED') {
      res = await graphql(url, citizen.token, TimedUpdateContactInfoDocument, { input: { mobile: op.values.mobile as string, ...(op.values.email ? { email: op.values.email as string } : {}) } });
    } else if (op.kind === 'LANGUAGE_SET') {
      res = await graphql(url, citizen.token, TimedSetLanguageDocument, { language: String(op.values.language).toUpperCase() as Language });
    } else {
      res = await graphql(url, citizen.token, TimedSetReservationDocument, { reserved: op.values.reserved as boolean });
    }
  } catch (error) {
    op.outcome = 'lost';
    op.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return;
  }
  const { status, body } = res;
  const result = body.data ? Object.values(body.data)[0] : null;
  if (status !== 200 || body.errors || !result) {
    op.outcome = 'refused';
    op.error = `HTTP ${status} ${JSON.stringify(body).slice(0, 300)}`;
    return;
  }
  op.outcome = 'acked';
  op.ackedAt = Date.parse(result.updatedAt);
  // The acknowledgement must show the change it acknowledges.
  const echoed: Partial<Record<Field, Value>> =
    op.kind === 'CONTACT_INFO_UPDATED'
      ? { mobile: result.contactInfo?.mobile?.number ?? null, ...(op.values.email ? { email: result.contactInfo?.email?.address ?? null } : {}) }
      : op.kind === 'LANGUAGE_SET'
        ? { language: result.language?.toLowerCase() ?? null }
        : { reserved: result.reservation?.reserved ?? null };
  if (JSON.stringify(echoed) !== JSON.stringify(op.values) || !Number.isFinite(op.ackedAt)) {
    throw new Error(`acknowledgement does not match the mutation: sent ${JSON.stringify(op.values)}, got ${JSON.stringify(result)}`);
  }
}

interface CycleStats {
  sent: number;
  acked: number;
  inFlightAtKill: number;
  /** Acknowledgements when the kill was sent (more may arrive after: answers already on their way). */
  ackedAtKill: number;
  /** The kill came from the time bound, not the acknowledgement count. */
  byDeadline: boolean;
}

/**
 * Runs mutations with CONCURRENCY in flight (never two for the same citizen) and SIGKILLs
 * the service as the `killAfter`-th acknowledgement arrives, with the other requests in flight.
 */
async function streamUntilKilled(service: RunningService, citizens: Citizen[], ops: Op[], cycle: number, killAfter: number): Promise<CycleStats> {
  const busy = new Set<number>();
  let nextCitizen = 0;
  let sent = 0;
  let acked = 0;
  let inFlight = 0;
  let inFlightAtKill = -1;
  let ackedAtKill = -1;
  let byDeadline = false;
  let killed = false;
  const deadline = Date.now() + CYCLE_DEADLINE_MS;
  const kill = () => {
    killed = true;
    inFlightAtKill = inFlight;
    ackedAtKill = acked;
    service.child.kill('SIGKILL');
  };
  const fallback = setTimeout(() => {
    byDeadline = true;
    kill();
  }, CYCLE_DEADLINE_MS);

  async function worker(): Promise<void> {
    while (!killed && sent < MAX_OPS_PER_CYCLE && Date.now() < deadline + 1_000) {
      let pick = -1;
      for (let k = 0; k < citizens.length && pick < 0; k++) {
        const c = (nextCitizen + k) % citizens.length;
        if (!busy.has(c)) pick = c;
      }
      if (pick < 0) throw new Error('no idle citizen: CITIZENS must exceed CONCURRENCY');
      nextCitizen = (pick + 1) % citizens.length;
      busy.add(pick);
      const op = citizens[pick].next(cycle);
      ops.push(op);
      sent++;
      inFlight++;
      try {
        await send(service.url, citizens[pick], op);
      } finally {
        inFlight--;
        busy.delete(pick);
      }
      if (op.outcome === 'lost' && !killed) {
        throw new Error(`a request failed before the kill: ${op.error}\n${service.output().slice(-5_000)}`);
      }
      if (op.outcome === 'acked') {
        acked++;
        if (!killed && acked >= killAfter) kill();
      }
    }
  }
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  } finally {
    clearTimeout(fallback);
    if (!killed) {
      byDeadline = true;
      kill();
    }
  }
  const exit = await service.exited;
  expect(exit.signal).toBe('SIGKILL');
  return { sent, acked, inFlightAtKill, ackedAtKill, byDeadline };
}

// ---------------------------------------------------------------------------------------
// Checks

type Observed = Record<Field, Value>;

/**
 * What a field may hold after a crash: the value of the last acknowledged mutation of the
 * field (or the initial value), or the value of any mutation sent after it that was not
 * acknowledged (it may have committed without its answer getting out). Since a citizen has
 * one request in flight at a time and a killed process commits nothing more, nothing else.
 */
function allowedValues(ops: Op[], citizen: number, field: Field): Value[] {
  const mine = ops.filter((op) => op.citizen === citizen && field in op.values);
  let last = -1;
  mine.forEach((op, i) => {
    if (op.outcome === 'acked') last = i;
  });
  const allowed: Value[] = [last >= 0 ? mine[last].values[field]! : INITIAL[field]];
  for (const op of mine.slice(last + 1)) allowed.push(op.values[field]!);
  return allowed;
}

function checkState(label: string, ops: Op[], citizen: number, observed: Observed): void {
  for (const field of FIELDS) {
    const allowed = allowedValues(ops, citizen, field);
    if (!allowed.includes(observed[field])) {
      throw new Error(`${label}: citizen ${citizen} ${field} is ${JSON.stringify(observed[field])}, expected one of ${JSON.stringify(allowed)}`);
    }
  }
}

/** What checked the store itself, for the summary line. */
let integrityCheck = 'integrity_check';

interface DbReport {
  changes: number;
  found: number;
  observed: Map<number, Observed & { updatedAt: number | null }>;
}

/**
 * Checks everything in the database, with no service running on it. SQLite: the file
 * itself (integrity_check, foreign_key_check). PostgreSQL: first waits for the killed
 * process's sessions to end (until then a COMMIT it sent may still land; after it, each
 * of its transactions has committed or rolled back), then the change counter, and amcheck
 * on every index and table where the server has it. Then, on both, the same rows.
 */
async function checkDatabase(label: string, db: TestDatabase, citizens: Citizen[], ops: Op[]): Promise<DbReport> {
  try {
    // (d) the store itself
    if (db.kind === 'sqlite') {
      expect(await db.query('pragma integrity_check')).toEqual([{ integrity_check: 'ok' }]);
      expect(await db.query('pragma foreign_key_check')).toEqual([]);
    } else {
      await waitForNoSessions(db);
      const problems = await amcheck(db);
      integrityCheck = problems === null ? 'amcheck not available' : 'amcheck';
      if (problems !== null) expect(problems).toEqual([]);
    }

    // (c) change numbers 1..N, no gap; PostgreSQL's counter at N
    const [range] = await db.query<{ n: number; lo: number; hi: number }>('select count(*) n, min(change_number) lo, max(change_number) hi from change_log');
    expect(range.n).toBeGreaterThan(0);
    expect([range.lo, range.hi]).toEqual([1, range.n]);
    if (db.kind === 'postgres') expect(await db.number('select last_change_number from change_counter')).toBe(range.n);

    // (b) nothing half-written: every person carries its latest change, every change has its person,
    // and no row of any table outlives its person
    expect(
      await db.query(
        `select p.id from person p left join (select person_id, max(change_number) m from change_log group by person_id) c on c.person_id = p.id
         where c.m is null or c.m != p.change_number`,
      ),
    ).toEqual([]);
    expect(await db.query('select change_number from change_log where person_id not in (select id from person)')).toEqual([]);
    for (const table of ['contact_point', 'verification_code', 'digital_post']) {
      expect(await db.number(`select count(*) n from ${table} where person_id not in (select id from person)`)).toBe(0);
    }

    const observed = new Map<number, Observed & { updatedAt: number | null }>();
    let found = 0;
    for (const citizen of citizens) {
      const who = `${label}: citizen ${citizen.index}`;
      const [row] = await db.query<Record<string, unknown>>(
        'select status, reserved, reservation_updated_at, language, language_updated_at, updated_at, change_number from person where id = ?',
        citizen.pid,
      );
      // Times as ms whichever store (SQLite keeps ms, PostgreSQL timestamptz).
      const p = row && {
        status: row.status as string,
        reserved: Boolean(row.reserved),
        reservation_updated_at: toMillis(row.reservation_updated_at),
        language: row.language as string | null,
        language_updated_at: toMillis(row.language_updated_at),
        updated_at: toMillis(row.updated_at),
        change_number: Number(row.change_number),
      };
      const log = (await db.query<Record<string, unknown>>('select change_number, kind, changed_at from change_log where person_id = ? order by change_number', citizen.pid)).map((r) => ({
        change_number: Number(r.change_number),
        kind: r.kind as string,
        changed_at: toMillis(r.changed_at)!,
      }));
      const points = new Map(
        (await db.query<Record<string, unknown>>('select channel, address, updated_at from contact_point where person_id = ?', citizen.pid)).map((r) => [
          r.channel as string,
          { address: r.address as string, updated_at: toMillis(r.updated_at) },
        ]),
      );
      const codes = new Map(
        (await db.query<Record<string, unknown>>('select channel, address, created_at from verification_code where person_id = ?', citizen.pid)).map((r) => [
          r.channel as string,
          { address: r.address as string, created_at: toMillis(r.created_at) },
        ]),
      );
      const mine = ops.filter((op) => op.citizen === citizen.index);

      // Every acknowledged mutation has its own change-log row (same kind, same instant).
      const rows = new Map<string, number>();
      for (const r of log) rows.set(`${r.kind}@${r.changed_at}`, (rows.get(`${r.kind}@${r.changed_at}`) ?? 0) + 1);
      for (const op of mine.filter((o) => o.outcome === 'acked')) {
        const key = `${op.kind}@${op.ackedAt}`;
        const left = rows.get(key) ?? 0;
        if (left === 0) throw new Error(`${who}: the acknowledged ${op.kind} of cycle ${op.cycle} at ${new Date(op.ackedAt!).toISOString()} has no change-log row`);
        rows.set(key, left - 1);
        found++;
      }
      // The other rows can only be mutations that were sent but not acknowledged.
      const unmatched = [...rows.values()].reduce((a, b) => a + b, 0);
      expect(unmatched).toBeLessThanOrEqual(mine.filter((o) => o.outcome !== 'acked').length);

      if (!p) {
        expect(log).toEqual([]);
        observed.set(citizen.index, { ...INITIAL, updatedAt: null });
        continue;
      }
      // The row carries its latest change, and each kind of change left its state behind.
      const latest = log[log.length - 1];
      expect({ who, status: p.status, changeNumber: p.change_number, updatedAt: p.updated_at }).toEqual({
        who,
        status: 'ACTIVE',
        changeNumber: latest.change_number,
        updatedAt: latest.changed_at,
      });
      const lastOf = (...kinds: string[]) => [...log].reverse().find((r) => kinds.includes(r.kind));
      const contact = lastOf('CONTACT_INFO_UPDATED');
      const reservation = lastOf('RESERVED', 'RESERVATION_LIFTED');
      const language = lastOf('LANGUAGE_SET');
      const mobile = points.get('MOBILE');
      expect({ who, mobileUpdatedAt: mobile?.updated_at ?? null, codeFor: codes.get('MOBILE')?.address ?? null, codeAt: codes.get('MOBILE')?.created_at ?? null }).toEqual({
        who,
        mobileUpdatedAt: contact?.changed_at ?? null,
        codeFor: mobile?.address ?? null,
        codeAt: contact?.changed_at ?? null,
      });
      expect({ who, reserved: p.reserved, at: p.reservation_updated_at }).toEqual({
        who,
        reserved: reservation?.kind === 'RESERVED',
        at: reservation?.changed_at ?? null,
      });
      expect({ who, languageAt: p.language_updated_at }).toEqual({ who, languageAt: language?.changed_at ?? null });

      const state = {
        mobile: mobile?.address ?? null,
        email: points.get('EMAIL')?.address ?? null,
        reserved: p.reserved,
        language: p.language,
      };
      // (a) acknowledged effects are there; at most an unacknowledged later one on top
      checkState(label, ops, citizen.index, state);
      observed.set(citizen.index, { ...state, updatedAt: p.updated_at });
    }
    return { changes: range.n, found, observed };
  } finally {
    // SQLite: the service must be the file's last connection when it stops (WAL removed).
    await db.release();
  }
}

/** The restarted service answers `me` with exactly what is in the file. */
async function checkOverHttp(label: string, service: RunningService, citizens: Citizen[], report: DbReport): Promise<void> {
  for (const citizen of citizens) {
    const { status, body } = await graphql(service.url, citizen.token, MeDocument, {});
    expect({ status, errors: body.errors }).toEqual({ status: 200, errors: undefined });
    const me = body.data!.me;
    const fromDb = report.observed.get(citizen.index)!;
    const seen = {
      mobile: me.contactInfo?.mobile?.number ?? null,
      email: me.contactInfo?.email?.address ?? null,
      reserved: me.reservation?.reserved ?? false,
      language: me.language?.toLowerCase() ?? null,
      updatedAt: me.updatedAt ? Date.parse(me.updatedAt) : null,
    };
    expect({ label, citizen: citizen.index, ...seen }).toEqual({ label, citizen: citizen.index, ...fromDb });
  }
}

// ---------------------------------------------------------------------------------------

describe('crash: SIGKILL in the middle of citizen mutations, then restart', () => {

  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'krr-crash-'));
  let db: TestDatabase | undefined;

  afterAll(async () => {
    killAllServices();
    await db?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it(`keeps every acknowledged mutation, whole, across ${CYCLES} kill/restart cycles`, async () => {
    const started = Date.now();
    db = await createTestDatabase(dataDir);
    const database = db;
    let service = await startAt(dataDir, database);

    // Citizens who are not in the seeded population: their whole history is this test's.
    const taken = new Set((await database.query<{ id: string }>('select id from person')).map((r) => r.id));
    await database.release();
    const config = loadConfig({ KRR_DATA_DIR: dataDir });
    if (config.auth.mode !== 'development') throw new Error('the crash test needs development tokens');
    const auth = config.auth;
    const key = await loadOrCreateDevKey(auth.keyFile);
    const pids = syntheticIds(CITIZENS * 4, 4242).filter((id) => !taken.has(id)).slice(0, CITIZENS);
    expect(pids).toHaveLength(CITIZENS);
    const citizens = await Promise.all(
      pids.map(async (pid, i) => new Citizen(i, pid, await mintDevToken(auth, key, { citizen: { pid } }))),
    );

    const ops: Op[] = [];
    const killPoints = createRandom(4);
    const cycles: CycleStats[] = [];
    let report: DbReport | undefined;
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      // A different, repeatable number of acknowledgements before each kill.
      const killAfter = 20 + Math.floor(killPoints() * 45);
      cycles.push(await streamUntilKilled(service, citizens, ops, cycle, killAfter));
      const changesBefore = report?.changes ?? SEED_COUNT;
      report = await checkDatabase(`after kill ${cycle}`, database, citizens, ops);
      // The change log only grows, by at least what was acknowledged.
      expect(report.changes).toBeGreaterThanOrEqual(changesBefore + cycles[cycle - 1].acked);

      service = await startAt(dataDir, database);
      await checkOverHttp(`restart ${cycle}`, service, citizens, report);
    }

    // Finally stop cleanly: exit 0, (SQLite) the WAL checkpointed into the file, everything still there.
    service.child.kill('SIGTERM');
    expect(await service.exited).toMatchObject({ code: 0, signal: null });
    if (database.kind === 'sqlite') expect(existsSync(`${database.dbPath}-wal`)).toBe(false);
    const final = await checkDatabase('after the clean stop', database, citizens, ops);
    expect(final.changes).toBe(report!.changes);

    const sent = ops.length;
    const acked = ops.filter((o) => o.outcome === 'acked').length;
    const lost = ops.filter((o) => o.outcome === 'lost').length;
    const refused = ops.filter((o) => o.outcome === 'refused');
    const inFlight = cycles.map((c) => c.inFlightAtKill);
    console.log(
      `crash test (${database.kind}): cycles=${CYCLES} sent=${sent} acknowledged=${acked} found=${final.found} ` +
        `unacknowledged(in flight at kill)=${lost} refused=${refused.length} in-flight-at-kill=[${inFlight.join(',')}] ` +
        `kill-after-acks=[${cycles.map((c) => `${c.ackedAtKill}${c.byDeadline ? ' (time bound)' : ''}`).join(',')}] change-log=1..${final.changes} (${SEED_COUNT} seeded) checked-by=${integrityCheck} in ${Date.now() - started} ms`,
    );
    expect(refused.map((o) => o.error)).toEqual([]);
    expect(final.found).toBe(acked);
    // The kills did land with requests in flight.
    expect(inFlight.every((n) => n > 0)).toBe(true);
    expect(lost).toBeGreaterThan(0);
  }, 120_000);
});
