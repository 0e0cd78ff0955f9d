/**
 * Several gateway replicas on one PostgreSQL database (issue 5; docs/postgres.md, "What the
 * multi-replica test must check"). Three built services (`dist/src/main.js`) start at the
 * same moment on one scratch database and share nothing else but the data folder's
 * development signing key (made here first, so that every replica accepts the same tokens,
 * as replicas behind real issuers do). Each has an outbox file of its own, so a code is
 * known to have gone out through the replica whose outbox holds it.
 *
 * Runs in the jest project `postgres` only (jest.config.js: POSTGRES_ONLY). The cases that
 * restart or crash PostgreSQL itself do so on a throwaway cluster of their own
 * (scripts/pg-cluster.sh), never on the shared one other test files use.
 *
 * No timing assertions: every wait is a bounded poll for a state, and the bounds are
 * generous. Identity numbers are synthetic and never printed: labels use citizen indexes.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { type DevSigningKey } from '../../src/auth/keys';
import { ALL_SCOPES } from '../../src/auth/scopes';
import { mintDevToken } from '../../src/auth/tokens';
import { projectRoot } from '../../src/paths';
import {
  ChangedMobilesDocument,
  LookUpContactsDocument,
  MyLookupCountDocument,
  PingDocument,
  ResendVerificationCodeDocument,
  TimedDeleteContactInfoDocument,
  TimedSetLanguageDocument,
  TimedSetReservationDocument,
  TimedUpdateContactInfoDocument,
  VerifyContactDocument,
} from '../generated/graphql';
import { amcheck, createTestDatabase, sessionsOn, storeUnderTest, toMillis, waitForNoSessions, type TestDatabase } from '../support/database';
import { latestCode, readOutbox } from '../support/outbox';
import { syntheticIds } from '../support/people';
import { killAllServices, startService } from '../support/service';
import {
  type Answer,
  canRunOwnCluster,
  Citizen,
  codesOf,
  type DevAuth,
  expectHistories,
  expectOk,
  expectWholeRegister,
  gql,
  logOf,
  type LogRow,
  MAX_CODE_ATTEMPTS,
  nextOp,
  type Op,
  OwnCluster,
  pad,
  readyz,
  type Replica,
  replicaEnv,
  REPLICAS,
  SEED_COUNT,
  send,
  seqOfMobile,
  sharedAuth,
  sleep,
  stream,
  waitForReadyz,
} from '../support/replicas';

if (storeUnderTest !== 'postgres') throw new Error('replicas.test.ts runs in the jest project postgres only (jest.config.js)');

describe('several replicas on one PostgreSQL database', () => {
  let dataDir: string;
  let db: TestDatabase;
  let replicas: Replica[];
  let auth: DevAuth;
  let key: DevSigningKey;
  let agencyToken: string;
  let seeded: string[];
  /** Synthetic ids not in the seeded population, handed out to the tests a few at a time. */
  let freshIds: string[];
  const takeIds = (n: number) => {
    if (freshIds.length < n) throw new Error('not enough fresh synthetic ids');
    return freshIds.splice(0, n);
  };
  const citizenToken = (pid: string) => mintDevToken(auth, key, { citizen: { pid } });
  const citizensFor = (pids: string[]) => Promise.all(pids.map(async (pid, i) => new Citizen(i, pid, await citizenToken(pid))));
  const counter = () => db.number('select last_change_number from change_counter');
  let atStart: { migrations: unknown; people: number; log: unknown; kinds: unknown; counter: number; outputs: string[] };

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'krr-replicas-'));
    db = await createTestDatabase(dataDir);
    ({ auth, key } = await sharedAuth(dataDir));
    agencyToken = await mintDevToken(auth, key, { agency: { orgNumber: '991825827', scopes: ALL_SCOPES } });
    // All at the same moment, on the empty database: each one migrates and seeds if it must.
    const services = await Promise.all(REPLICAS.map((name) => startService(replicaEnv(dataDir, db.databaseUrl!, name, SEED_COUNT).env, 120_000)));
    replicas = REPLICAS.map((name, i) => ({ ...replicaEnv(dataDir, db.databaseUrl!, name, SEED_COUNT), service: services[i] }));
    seeded = (await db.query<{ id: string }>('select id from person order by change_number')).map((r) => r.id);
    // The register as the start left it, before any scenario writes (the first scenario checks it).
    atStart = {
      migrations: await db.query('select count(*) n, count(distinct hash) hashes from drizzle.__drizzle_migrations'),
      people: await db.number('select count(*) from person'),
      log: await db.query('select count(*) n, min(change_number) lo, max(change_number) hi, count(distinct person_id) people from change_log'),
      kinds: await db.query('select distinct kind from change_log'),
      counter: await counter(),
      outputs: replicas.map((r) => r.service.output()),
    };
    const taken = new Set(seeded);
    freshIds = syntheticIds(SEED_COUNT + 400, 5151).filter((id) => !taken.has(id));
  }, 180_000);

  afterAll(async () => {
    killAllServices();
    await db?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('start together: all ready, the migrations applied once, the population seeded once with change numbers 1..count', async () => {
    for (const replica of replicas) expect({ replica: replica.name, readyz: await readyz(replica) }).toEqual({ replica: replica.name, readyz: 200 });
    const journal = JSON.parse(readFileSync(path.join(projectRoot, 'db', 'migrations-pg', 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };
    expect(atStart.migrations).toEqual([{ n: journal.entries.length, hashes: journal.entries.length }]);

    expect(atStart.people).toBe(SEED_COUNT);
    expect(atStart.log).toEqual([{ n: SEED_COUNT, lo: 1, hi: SEED_COUNT, people: SEED_COUNT }]);
    expect(atStart.kinds).toEqual([{ kind: 'SEED' }]);
    expect(atStart.counter).toBe(SEED_COUNT);
    // Migrations are not applied again later, whatever ran since.
    expect(await db.query('select count(*) n, count(distinct hash) hashes from drizzle.__drizzle_migrations')).toEqual(atStart.migrations);

    // Exactly one replica wrote the population (its progress line); any other that found the
    // register empty at first says another process seeded it meanwhile.
    const outputs = atStart.outputs;
    expect(outputs.filter((out) => new RegExp(`seeding ${SEED_COUNT}/${SEED_COUNT}`).test(out))).toHaveLength(1);
    for (const out of outputs) {
      if (/empty database: seeding/.test(out) && !new RegExp(`seeding ${SEED_COUNT}/${SEED_COUNT}`).test(out)) expect(out).toMatch(/another process seeded the register meanwhile/);
    }

    // Every replica answers the same lookup with the same register.
    const ids = seeded.slice(0, 5);
    const answers = await Promise.all(replicas.map((r) => gql(r, agencyToken, LookUpContactsDocument, { ids })));
    answers.forEach((a, i) => expectOk(a, `lookup through ${replicas[i].name}`));
    for (const a of answers) expect(a.data).toEqual(answers[0].data);
  });

  it('concurrent citizen writes round-robin over the replicas: change numbers exactly 1..K, and a feed consumer paging on rotating replicas misses nothing', async () => {
    const CITIZENS = 24;
    const ROUNDS = 6;
    const citizens = await citizensFor(takeIds(CITIZENS));
    const start = await counter();
    const ops: Op[] = [];

    let writersDone = false;
    const writing = stream(citizens, ops, {
      route: (c) => (c.seq < ROUNDS ? replicas[(c.index + c.seq) % replicas.length] : null),
    }).then(() => {
      writersDone = true;
    });

    // The consumer: each page from the next replica, on from where the last one ended.
    const seen: { id: string; changeNumber: number; mobileSeq: number; whileWriting: boolean }[] = [];
    let after = start;
    let pages = 0;
    for (;;) {
      const doneBeforeRead = writersDone;
      const replica = replicas[pages++ % replicas.length];
      const answer = await gql(replica, agencyToken, ChangedMobilesDocument, { after, first: 7 });
      expectOk(answer, `feed page through ${replica.name}`);
      const page = answer.data!.changes as { lastChangeNumber: number | null; latestChangeNumber: number; entries: { changeNumber: number; person: { id: string; contactInfo: { mobile: { number: string } | null } | null } }[] };
      for (const entry of page.entries) {
        // In change order, strictly after the position: the reader never goes back.
        expect(entry.changeNumber).toBeGreaterThan(after);
        after = entry.changeNumber;
        seen.push({ id: entry.person.id, changeNumber: entry.changeNumber, mobileSeq: seqOfMobile(entry.person.contactInfo?.mobile?.number), whileWriting: !doneBeforeRead });
      }
      const caughtUp = page.entries.length === 0 || page.lastChangeNumber === page.latestChangeNumber;
      // Done only when a page read after every write was acknowledged reaches the newest.
      if (caughtUp && doneBeforeRead) break;
      if (caughtUp) await sleep(20);
      if (pages > 5_000) throw new Error('the feed consumer did not catch up');
    }
    await writing;

    const failed = ops.filter((op) => op.outcome !== 'acked');
    expect(failed.map((op) => `${op.replica}: ${op.error}`)).toEqual([]);
    expect(ops).toHaveLength(CITIZENS * ROUNDS);
    for (const replica of replicas) expect(ops.filter((op) => op.replica === replica.name).length).toBe((CITIZENS * ROUNDS) / replicas.length);

    // Exactly 1..K, K = what was there plus every acknowledged numbered write.
    const K = await expectWholeRegister(db, 'after the concurrent writes');
    expect(K).toBe(start + CITIZENS * ROUNDS);
    expect(await expectHistories(db, citizens, ops, 'after the concurrent writes')).toBe(CITIZENS * ROUNDS);
    // Each citizen's changes are their writes in the order sent.
    const logs = new Map<string, LogRow[]>();
    for (const c of citizens) {
      const log = await logOf(db, c.pid, start);
      logs.set(c.pid, log);
      expect({ citizen: c.index, kinds: log.map((r) => r.kind) }).toEqual({ citizen: c.index, kinds: ops.filter((op) => op.citizen === c.index).map((op) => op.kind) });
    }

    // The consumer saw every change: each one, or a later one of the same person.
    const byId = new Map(citizens.map((c) => [c.pid, c]));
    for (const c of citizens) {
      const log = logs.get(c.pid)!;
      for (const change of log) expect({ citizen: c.index, change: change.n, seen: seen.some((s) => s.id === c.pid && s.changeNumber >= change.n) }).toEqual({ citizen: c.index, change: change.n, seen: true });
      expect(seen.filter((s) => s.id === c.pid).at(-1)?.changeNumber).toBe(log.at(-1)!.n);
    }
    // ... and each entry shows the person at least as new as the change that listed it: the
    // mobile is that of the newest contact update at or before it.
    for (const s of seen) {
      const c = byId.get(s.id);
      if (!c) continue;
      const k = logs.get(s.id)!.findIndex((r) => r.n === s.changeNumber);
      expect(k).toBeGreaterThanOrEqual(0);
      const newestContact = Math.floor(k / 3) * 3; // writes 0, 3, 6, ... are contact updates
      expect({ citizen: c.index, change: s.changeNumber, mobileSeq: s.mobileSeq >= newestContact }).toEqual({ citizen: c.index, change: s.changeNumber, mobileSeq: true });
    }
    // The run really interleaved: pages were read during the writes.
    expect(seen.filter((s) => s.whileWriting).length).toBeGreaterThan(0);
    console.log(`replicas: ${ops.length} writes over ${replicas.length} replicas, change log ${start + 1}..${K}; the feed consumer read ${pages} pages, ${seen.length} entries (${seen.filter((s) => s.whileWriting).length} during the writes)`);
  }, 180_000);

  it('a code sent through one replica is accepted by another; a resend through another replaces the first', async () => {
    const [pid] = takeIds(1);
    const token = await citizenToken(pid);
    const [a, b, c] = replicas;
    const email = `across.${pid.slice(-4)}@example.org`;

    expectOk(await gql(a, token, TimedUpdateContactInfoDocument, { input: { email } }), 'updateContactInfo through a');
    // The code went out through a, and only through a.
    const code = latestCode(a.outbox, email);
    expect(readOutbox(b.outbox).filter((m) => m.recipient === email)).toEqual([]);
    expect(readOutbox(c.outbox).filter((m) => m.recipient === email)).toEqual([]);
    const verified = await gql(b, token, VerifyContactDocument, { channel: 'EMAIL', code });
    expectOk(verified, 'verifyContact through b');
    expect(verified.data!.verifyContact.contactInfo.email.lastValidatedAt).not.toBeNull();
    expect((await logOf(db, pid)).map((r) => r.kind)).toEqual(['CONTACT_INFO_UPDATED', 'EMAIL_VALIDATED']);
    expect(await db.number('select count(*) from verification_code where person_id = ?', pid)).toBe(0);

    // A mobile code from a, a new one asked for through b: a's is no longer the pending one.
    const mobile = `+4798${pid.slice(-6)}`;
    expectOk(await gql(a, token, TimedUpdateContactInfoDocument, { input: { mobile } }), 'updateContactInfo through a');
    const first = latestCode(a.outbox, mobile);
    expectOk(await gql(b, token, ResendVerificationCodeDocument, { channel: 'MOBILE' }), 'resendVerificationCode through b');
    const second = latestCode(b.outbox, mobile);
    if (first !== second) {
      // (Two random codes are equal once in a million: then there is nothing to tell apart.)
      const stale = await gql(c, token, VerifyContactDocument, { channel: 'MOBILE', code: first });
      expect(codesOf(stale)).toEqual(['CODE_INVALID']);
    }
    const ok = await gql(a, token, VerifyContactDocument, { channel: 'MOBILE', code: second });
    expectOk(ok, 'verifyContact of the resent code through a');
    expect(ok.data!.verifyContact.contactInfo.mobile.lastValidatedAt).not.toBeNull();
    expect((await logOf(db, pid)).map((r) => r.kind)).toEqual(['CONTACT_INFO_UPDATED', 'EMAIL_VALIDATED', 'CONTACT_INFO_UPDATED', 'MOBILE_VALIDATED']);
  }, 60_000);

  it(`wrong codes alternating between the replicas lock the code after exactly ${MAX_CODE_ATTEMPTS} in total`, async () => {
    const [pid] = takeIds(1);
    const token = await citizenToken(pid);
    const mobile = `+4797${pid.slice(-6)}`;
    expectOk(await gql(replicas[0], token, TimedUpdateContactInfoDocument, { input: { mobile } }), 'updateContactInfo');
    const code = latestCode(replicas[0].outbox, mobile);
    const wrong = pad((Number(code) + 1) % 1_000_000, 6);

    const answers: { code: unknown; attemptsLeft: unknown }[] = [];
    for (let k = 1; k <= MAX_CODE_ATTEMPTS; k++) {
      const answer = await gql(replicas[k % replicas.length], token, VerifyContactDocument, { channel: 'MOBILE', code: wrong });
      answers.push({ code: codesOf(answer)[0], attemptsLeft: answer.errors?.[0]?.extensions?.attemptsLeft });
    }
    expect(answers).toEqual([
      { code: 'CODE_INVALID', attemptsLeft: 4 },
      { code: 'CODE_INVALID', attemptsLeft: 3 },
      { code: 'CODE_INVALID', attemptsLeft: 2 },
      { code: 'CODE_INVALID', attemptsLeft: 1 },
      { code: 'CODE_LOCKED', attemptsLeft: undefined },
    ]);
    // Locked on every replica, the right code included.
    for (const replica of replicas) expect(codesOf(await gql(replica, token, VerifyContactDocument, { channel: 'MOBILE', code }))).toEqual(['CODE_LOCKED']);
    expect(await db.number('select failed_attempts from verification_code where person_id = ?', pid)).toBe(MAX_CODE_ATTEMPTS);
    expect((await logOf(db, pid)).map((r) => r.kind)).toEqual(['CONTACT_INFO_UPDATED']);
  }, 60_000);

  it(`wrong codes sent in parallel to every replica: the code is compared at most ${MAX_CODE_ATTEMPTS} times between them, then locked`, async () => {
    const [pid] = takeIds(1);
    const token = await citizenToken(pid);
    const mobile = `+4796${pid.slice(-6)}`;
    expectOk(await gql(replicas[0], token, TimedUpdateContactInfoDocument, { input: { mobile } }), 'updateContactInfo');
    const code = latestCode(replicas[0].outbox, mobile);
    const GUESSES = 12;
    const guesses = Array.from({ length: GUESSES }, (_, k) => pad((Number(code) + 1 + k) % 1_000_000, 6));
    const answers = await Promise.all(guesses.map((guess, k) => gql(replicas[k % replicas.length], token, VerifyContactDocument, { channel: 'MOBILE', code: guess })));
    const codes = answers.map((a) => codesOf(a)[0]);
    // Every answer is a refusal of the code, none an internal error; each attempt taken is
    // one comparison, so at most MAX - 1 "wrong, n left" answers and one "now locked".
    expect(codes.every((c) => c === 'CODE_INVALID' || c === 'CODE_LOCKED')).toBe(true);
    expect(codes.filter((c) => c === 'CODE_INVALID')).toHaveLength(MAX_CODE_ATTEMPTS - 1);
    expect(
      answers
        .filter((a) => codesOf(a)[0] === 'CODE_INVALID')
        .map((a) => a.errors![0].extensions!.attemptsLeft)
        .sort(),
    ).toEqual([1, 2, 3, 4]);
    expect(await db.number('select failed_attempts from verification_code where person_id = ?', pid)).toBe(MAX_CODE_ATTEMPTS);
    for (const replica of replicas) expect(codesOf(await gql(replica, token, VerifyContactDocument, { channel: 'MOBILE', code }))).toEqual(['CODE_LOCKED']);
  }, 60_000);

  /**
   * Two writes of one citizen at the same instant through two replicas, `times` times: both
   * succeed, both are in the change log as the only two new changes (consecutive numbers),
   * and `check` finds the entry one of the serial orders would leave.
   */
  async function race(
    times: number,
    setup: (i: number) => Promise<void>,
    writes: (i: number) => [() => Promise<Answer>, () => Promise<Answer>],
    check: (i: number, answers: [Answer, Answer], newRows: LogRow[]) => Promise<void>,
  ): Promise<void> {
    for (let i = 0; i < times; i++) {
      await setup(i);
      const before = await counter();
      const [first, second] = writes(i);
      const answers = (await Promise.all([first(), second()])) as [Answer, Answer];
      for (const answer of answers) expect({ round: i, codes: codesOf(answer).filter((c) => c === 'INTERNAL_SERVER_ERROR'), status: answer.status }).toEqual({ round: i, codes: [], status: 200 });
      const rows = (await db.query<Record<string, unknown>>('select change_number, kind, changed_at from change_log where change_number > ? order by change_number', before)).map((r) => ({
        n: Number(r.change_number),
        kind: String(r.kind),
        at: toMillis(r.changed_at)!,
      }));
      // Consecutive, and nothing else in between (no other writer runs meanwhile).
      expect({ round: i, numbers: rows.map((r) => r.n) }).toEqual({ round: i, numbers: rows.map((_, k) => before + 1 + k) });
      expect(await counter()).toBe(before + rows.length);
      await check(i, answers, rows);
    }
  }

  it('one citizen, two replicas, the same instant, 40 times: updateContactInfo against updateContactInfo both succeed, and the entry is wholly one of them, never a mix', async () => {
    const [pid] = takeIds(1);
    const token = await citizenToken(pid);
    const wins = { first: 0, second: 0 };
    const request = (i: number, side: 1 | 2) => ({ email: `race${i}.side${side}@example.org`, mobile: `+479${side}${pad(i, 6)}` });
    await race(
      40,
      async () => {},
      (i) => {
        const [x, y] = [replicas[i % replicas.length], replicas[(i + 1) % replicas.length]];
        return [() => gql(x, token, TimedUpdateContactInfoDocument, { input: request(i, 1) }), () => gql(y, token, TimedUpdateContactInfoDocument, { input: request(i, 2) })];
      },
      async (i, answers, rows) => {
        for (const answer of answers) expectOk(answer, `round ${i}`);
        expect(rows.map((r) => r.kind)).toEqual(['CONTACT_INFO_UPDATED', 'CONTACT_INFO_UPDATED']);
        const points = await db.query<Record<string, unknown>>(
          'select channel, address, updated_at, last_verified_at, last_validated_at from contact_point where person_id = ? order by channel',
          pid,
        );
        const codes = await db.query<Record<string, unknown>>('select channel, address, created_at, failed_attempts from verification_code where person_id = ? order by channel', pid);
        const [p] = await db.query<Record<string, unknown>>('select change_number, updated_at from person where id = ?', pid);
        const final = { email: points.find((r) => r.channel === 'EMAIL')?.address, mobile: points.find((r) => r.channel === 'MOBILE')?.address };
        const winner = [1, 2].find((side) => JSON.stringify(final) === JSON.stringify(request(i, side as 1 | 2)));
        if (!winner) throw new Error(`round ${i}: the entry mixes the two writes: ${JSON.stringify(final)}`);
        wins[winner === 1 ? 'first' : 'second']++;
        // The later change (the higher number) is the one that won, whole: both channels
        // and both codes from that one request, new addresses unproven.
        const last = rows[1];
        expect({ round: i, person: { n: Number(p.change_number), at: toMillis(p.updated_at) } }).toEqual({ round: i, person: { n: last.n, at: last.at } });
        expect({
          round: i,
          points: points.map((r) => ({ channel: r.channel, at: toMillis(r.updated_at), verified: r.last_verified_at, validated: r.last_validated_at })),
          codes: codes.map((r) => ({ channel: r.channel, address: r.address, at: toMillis(r.created_at), failed: r.failed_attempts })),
        }).toEqual({
          round: i,
          points: [
            { channel: 'EMAIL', at: last.at, verified: null, validated: null },
            { channel: 'MOBILE', at: last.at, verified: null, validated: null },
          ],
          codes: [
            { channel: 'EMAIL', address: final.email, at: last.at, failed: 0 },
            { channel: 'MOBILE', address: final.mobile, at: last.at, failed: 0 },
          ],
        });
      },
    );
    console.log(`replicas: updateContactInfo race x40: the first request's values won ${wins.first} times, the second's ${wins.second} times`);
  }, 180_000);

  it('one citizen, two replicas, the same instant, 30 times: setReservation against deleteContactInfo both succeed and both take effect', async () => {
    const [pid] = takeIds(1);
    const token = await citizenToken(pid);
    const order = { reservedFirst: 0, deletedFirst: 0 };
    await race(
      30,
      async (i) => {
        // Contact info to delete and no reservation, through the third replica.
        const c = replicas[(i + 2) % replicas.length];
        expectOk(await gql(c, token, TimedUpdateContactInfoDocument, { input: { email: `del${i}@example.org`, mobile: `+4793${pad(i, 6)}` } }), `setup ${i}`);
        expectOk(await gql(c, token, TimedSetReservationDocument, { reserved: false }), `setup ${i}`);
      },
      (i) => {
        const [x, y] = [replicas[i % replicas.length], replicas[(i + 1) % replicas.length]];
        return [() => gql(x, token, TimedSetReservationDocument, { reserved: true }), () => gql(y, token, TimedDeleteContactInfoDocument)];
      },
      async (i, answers, rows) => {
        for (const answer of answers) expectOk(answer, `round ${i}`);
        expect([...rows.map((r) => r.kind)].sort()).toEqual(['CONTACT_INFO_DELETED', 'RESERVED']);
        order[rows[0].kind === 'RESERVED' ? 'reservedFirst' : 'deletedFirst']++;
        const reservedRow = rows.find((r) => r.kind === 'RESERVED')!;
        const [p] = await db.query<Record<string, unknown>>('select reserved, reserved_at, reservation_updated_at, change_number, updated_at from person where id = ?', pid);
        expect({
          round: i,
          reserved: Boolean(p.reserved),
          reservedAt: toMillis(p.reserved_at),
          reservationAt: toMillis(p.reservation_updated_at),
          n: Number(p.change_number),
          at: toMillis(p.updated_at),
          points: await db.number('select count(*) from contact_point where person_id = ?', pid),
          codes: await db.number('select count(*) from verification_code where person_id = ?', pid),
        }).toEqual({ round: i, reserved: true, reservedAt: reservedRow.at, reservationAt: reservedRow.at, n: rows[1].n, at: rows[1].at, points: 0, codes: 0 });
      },
    );
    console.log(`replicas: setReservation/deleteContactInfo race x30: reservation first ${order.reservedFirst} times, deletion first ${order.deletedFirst} times`);
  }, 180_000);

  it('one citizen, two replicas, the same instant, 20 times: verifyContact against updateContactInfo never fails internally, and ends as a serial order would', async () => {
    const [pid] = takeIds(1);
    const token = await citizenToken(pid);
    const outcomes: Record<string, number> = {};
    await race(
      20,
      async (i) => {
        const c = replicas[(i + 2) % replicas.length];
        expectOk(await gql(c, token, TimedUpdateContactInfoDocument, { input: { email: `ver${i}.old@example.org` } }), `setup ${i}`);
      },
      (i) => {
        const [x, y] = [replicas[i % replicas.length], replicas[(i + 1) % replicas.length]];
        const code = latestCode(replicas[(i + 2) % replicas.length].outbox, `ver${i}.old@example.org`);
        return [() => gql(x, token, VerifyContactDocument, { channel: 'EMAIL', code }), () => gql(y, token, TimedUpdateContactInfoDocument, { input: { email: `ver${i}.new@example.org` } })];
      },
      async (i, [verify, update], rows) => {
        expectOk(update, `round ${i}: updateContactInfo`);
        const outcome = verify.errors ? String(codesOf(verify)[0]) : 'verified';
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        // Verified: the proof came first (the update then replaced a proven address).
        // Refused: the update came first and replaced the code (or the one checked).
        expect({ round: i, outcome: ['verified', 'CODE_INVALID', 'CODE_NOT_FOUND'].includes(outcome) }).toEqual({ round: i, outcome: true });
        expect({ round: i, kinds: rows.map((r) => r.kind) }).toEqual({
          round: i,
          kinds: outcome === 'verified' ? ['EMAIL_VALIDATED', 'CONTACT_INFO_UPDATED'] : ['CONTACT_INFO_UPDATED'],
        });
        // Either way the new address, unproven, with its own pending code.
        const points = await db.query<Record<string, unknown>>("select address, last_validated_at from contact_point where person_id = ? and channel = 'EMAIL'", pid);
        const codes = await db.query<Record<string, unknown>>("select address from verification_code where person_id = ? and channel = 'EMAIL'", pid);
        expect({ round: i, points, codes }).toEqual({
          round: i,
          points: [{ address: `ver${i}.new@example.org`, last_validated_at: null }],
          codes: [{ address: `ver${i}.new@example.org` }],
        });
      },
    );
    console.log(`replicas: verifyContact/updateContactInfo race x20: ${JSON.stringify(outcomes)}`);
  }, 180_000);

  it('lookups through every replica are all in lookup_audit, and the citizen sees them through any replica', async () => {
    const org = '974760673';
    const token = await mintDevToken(auth, key, { agency: { orgNumber: org, scopes: ALL_SCOPES } });
    const ids = seeded.slice(200, 205);
    const PER_REPLICA = 3;
    const answers = await Promise.all(replicas.flatMap((r) => Array.from({ length: PER_REPLICA }, () => gql(r, token, LookUpContactsDocument, { ids }))));
    answers.forEach((a, k) => expectOk(a, `lookup ${k}`));
    expect(await db.number('select count(*) from lookup_audit where agency_org_number = ?', org)).toBe(replicas.length * PER_REPLICA * ids.length);
    // Each person looked up, each as often as asked (compared without printing identity numbers).
    const perPerson = await db.query<{ p: string; n: number }>('select person_id p, count(*) n from lookup_audit where agency_org_number = ? group by person_id', org);
    expect(perPerson.map((r) => ids.indexOf(r.p)).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(perPerson.map((r) => r.n)).toEqual(ids.map(() => replicas.length * PER_REPLICA));
    const citizen = await citizenToken(ids[0]);
    for (const replica of replicas) {
      const mine = await gql(replica, citizen, MyLookupCountDocument, { first: 100 });
      expectOk(mine, `me.lookups through ${replica.name}`);
      expect({ replica: replica.name, total: mine.data!.me.lookups.totalCount }).toEqual({ replica: replica.name, total: replicas.length * PER_REPLICA });
    }
  }, 60_000);

  it('a session the server ends in the middle of a write (pg_terminate_backend) fails that one request; the replica stays up and serves on', async () => {
    const [pid] = takeIds(1);
    const token = await citizenToken(pid);
    const replica = replicas[0];
    // The test holds the person's lock (the one every write of this person takes first, in
    // src/store/postgres/executor.ts), so the replica's write waits inside its transaction,
    // with its connection checked out of the pool; then the server ends that session.
    const holder = new pg.Client({ connectionString: db.databaseUrl!, connectionTimeoutMillis: 10_000 });
    await holder.connect();
    let answer: Answer;
    try {
      await holder.query('begin');
      await holder.query(`select pg_advisory_xact_lock(hashtextextended('krr:person:' || $1::text, 0))`, [pid]);
      const pending = gql(replica, token, TimedSetLanguageDocument, { language: 'NN' });
      pending.catch(() => {}); // awaited below
      // (Watched from another session: inside a transaction pg_stat_activity stays as it was at its first read.)
      let waiting: number | undefined;
      for (let i = 0; i < 400 && waiting === undefined; i++) {
        const rows = await db.query<{ pid: number }>(
          `select pid from pg_stat_activity where datname = current_database() and application_name = ? and state = 'active' and wait_event_type = 'Lock'`,
          replica.applicationName,
        );
        waiting = rows[0]?.pid;
        if (waiting === undefined) await sleep(10);
      }
      expect(waiting).toBeDefined();
      expect(await db.query('select pg_terminate_backend(?) as ok', waiting)).toEqual([{ ok: true }]);
      answer = await pending;
    } finally {
      await holder.query('rollback').catch(() => {});
      await holder.end();
    }
    // That request fails, masked; the process is still there, ready, and writes on.
    expect({ status: answer.status, codes: codesOf(answer) }).toEqual({ status: 200, codes: ['INTERNAL_SERVER_ERROR'] });
    expect(replica.service.child.exitCode).toBeNull();
    expect(await readyz(replica)).toBe(200);
    expectOk(await gql(replica, token, TimedSetLanguageDocument, { language: 'NN' }), 'the same write again');
    expect((await logOf(db, pid)).map((r) => r.kind)).toEqual(['LANGUAGE_SET']);
    await expectWholeRegister(db, 'after the terminated session');
  }, 60_000);

  it('the rate limit is shared: with N a minute, the (N+1)th request is refused on whichever replica it lands', async () => {
    const PER_MINUTE = 6;
    // Two more replicas on the same register, with a limit (the others run without one).
    const limited = await Promise.all(
      ['d', 'e'].map(async (name) => {
        const setup = replicaEnv(dataDir, db.databaseUrl!, name, SEED_COUNT);
        const env = { ...setup.env, KRR_RATE_LIMIT_PER_MINUTE: String(PER_MINUTE) };
        return { ...setup, env, service: await startService(env, 120_000) } as Replica;
      }),
    );
    try {
      const token = await mintDevToken(auth, key, { agency: { orgNumber: '921605900', scopes: ALL_SCOPES } });
      for (let k = 0; k < PER_MINUTE; k++) expectOk(await gql(limited[k % 2], token, PingDocument), `request ${k + 1} of ${PER_MINUTE}`);
      for (const replica of limited) {
        const refused = await gql(replica, token, PingDocument);
        expect({ replica: replica.name, status: refused.status, codes: codesOf(refused) }).toEqual({ replica: replica.name, status: 429, codes: ['RATE_LIMITED'] });
      }
      // Counted per caller: another agency is not held back by this one.
      const other = await mintDevToken(auth, key, { agency: { orgNumber: '912345675', scopes: ALL_SCOPES } });
      expectOk(await gql(limited[1], other, PingDocument), 'another agency');
    } finally {
      for (const replica of limited) replica.service.child.kill('SIGTERM');
      for (const replica of limited) expect((await replica.service.exited).code).toBe(0);
    }
  }, 120_000);

  it('SIGKILL of one replica in the middle of writes: the others keep answering; no half-written change and no gap; it comes back without seeding', async () => {
    const CITIZENS = 12;
    const KILL_AFTER_ACKS = 40;
    const AFTER_KILL = 6;
    const citizens = await citizensFor(takeIds(CITIZENS));
    const victim = replicas[replicas.length - 1];
    const survivors = replicas.filter((r) => r !== victim);
    const ops: Op[] = [];
    const inFlight = new Map<string, number>(replicas.map((r) => [r.name, 0]));
    let acked = 0;
    let killed = false;
    let inFlightOnVictimAtKill = -1;
    /** Writes each citizen sent after the kill. */
    const lateSent = new Map<number, number>();

    const kill = () => {
      killed = true;
      inFlightOnVictimAtKill = inFlight.get(victim.name)!;
      victim.service.child.kill('SIGKILL');
    };
    await stream(citizens, ops, {
      route(c) {
        if (killed && (lateSent.get(c.index) ?? 0) >= AFTER_KILL) return null;
        const alive = killed ? survivors : replicas;
        return alive[(c.index + c.seq) % alive.length];
      },
      onSend(op) {
        inFlight.set(op.replica, inFlight.get(op.replica)! + 1);
        op.late = killed;
        if (killed) lateSent.set(op.citizen, (lateSent.get(op.citizen) ?? 0) + 1);
      },
      onSettled(op) {
        inFlight.set(op.replica, inFlight.get(op.replica)! - 1);
        if (op.outcome === 'acked') acked++;
        // Killed with requests to it in flight (or, as a bound, once enough have been sent).
        if (!killed && acked >= KILL_AFTER_ACKS && (inFlight.get(victim.name)! > 0 || ops.length > 400)) kill();
      },
    });
    expect(killed).toBe(true);
    const exit = await victim.service.exited;
    expect(exit.signal).toBe('SIGKILL');

    // The survivors answered everything sent to them, before the kill and after.
    const onSurvivors = ops.filter((op) => op.replica !== victim.name);
    expect(onSurvivors.filter((op) => op.outcome !== 'acked').map((op) => `${op.replica}: ${op.error}`)).toEqual([]);
    const late = ops.filter((op) => op.late);
    expect(late.length).toBe(CITIZENS * AFTER_KILL);
    expect(late.every((op) => op.replica !== victim.name && op.outcome === 'acked')).toBe(true);
    // What was sent to the victim: acknowledged, or cut off by the kill; never an error answer.
    expect(ops.filter((op) => op.replica === victim.name && op.outcome === 'refused').map((op) => op.error)).toEqual([]);
    const lost = ops.filter((op) => op.outcome === 'lost').length;

    // The server ends the dead replica's sessions (rolling back what they had open); then:
    await waitForNoSessions(db, victim.applicationName, 60_000);
    const K = await expectWholeRegister(db, 'after the kill');
    const found = await expectHistories(db, citizens, ops, 'after the kill');
    expect(found).toBe(ops.filter((op) => op.outcome === 'acked').length);
    const problems = await amcheck(db);
    if (problems !== null) expect(problems).toEqual([]);

    // It comes back on the running register: no migration to apply, no seeding, and it serves.
    const people = await db.number('select count(*) from person');
    victim.service = await startService(victim.env, 120_000);
    expect(victim.service.output()).not.toMatch(/seeding/);
    expect(await db.number('select count(*) from person')).toBe(people);
    expect(await sessionsOn(db, victim.applicationName)).toBeGreaterThan(0);
    const again = nextOp(citizens[0], victim.name);
    await send(victim, citizens[0], again);
    expect(again.outcome).toBe('acked');
    expect(await expectWholeRegister(db, 'after the restart')).toBe(K + 1);
    console.log(
      `replicas: SIGKILL of ${victim.name} after ${KILL_AFTER_ACKS}+ acknowledgements with ${inFlightOnVictimAtKill} request(s) to it in flight: ` +
        `${ops.length} writes, ${found} acknowledged and found, ${lost} cut off; change log 1..${K}`,
    );
  }, 240_000);
});

// ---------------------------------------------------------------------------------------

(canRunOwnCluster ? describe : describe.skip)('PostgreSQL itself restarts and crashes (a throwaway cluster of this test\'s own)', () => {
  let dataDir: string;
  let cluster: OwnCluster | undefined;
  let db: TestDatabase;
  let replicas: Replica[];
  let auth: DevAuth;
  let key: DevSigningKey;
  let agencyToken: string;
  let ids: string[];

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'krr-replicas-own-'));
    cluster = await OwnCluster.start();
    db = await createTestDatabase(dataDir, { postgresServerUrl: cluster.url });
    ({ auth, key } = await sharedAuth(dataDir));
    agencyToken = await mintDevToken(auth, key, { agency: { orgNumber: '991825827', scopes: ALL_SCOPES } });
    const names = ['a', 'b'];
    const services = await Promise.all(names.map((name) => startService(replicaEnv(dataDir, db.databaseUrl!, name, 50).env, 120_000)));
    replicas = names.map((name, i) => ({ ...replicaEnv(dataDir, db.databaseUrl!, name, 50), service: services[i] }));
    const taken = new Set((await db.query<{ id: string }>('select id from person')).map((r) => r.id));
    ids = syntheticIds(200, 6262).filter((id) => !taken.has(id));
  }, 240_000);

  afterAll(async () => {
    killAllServices();
    await db?.close().catch(() => {});
    await cluster?.remove();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);

  it('restart (fast shutdown, then start): /readyz turns 503 and requests fail while it is down; every replica recovers without a restart', async () => {
    const citizens = await Promise.all(ids.splice(0, 2).map(async (pid, i) => new Citizen(i, pid, await mintDevToken(auth, key, { citizen: { pid } }))));
    for (const [i, replica] of replicas.entries()) {
      const op = nextOp(citizens[i], replica.name);
      await send(replica, citizens[i], op);
      expect(op.outcome).toBe('acked');
      expect(await readyz(replica)).toBe(200);
    }
    const lookupIds = (await db.query<{ id: string }>('select id from person order by id limit 3')).map((r) => r.id);

    await cluster!.stop('fast');
    for (const replica of replicas) {
      await waitForReadyz(replica, 503, 30_000);
      const lookup = await gql(replica, agencyToken, LookUpContactsDocument, { ids: lookupIds });
      expect({ replica: replica.name, codes: codesOf(lookup), data: lookup.data ?? null }).toEqual({ replica: replica.name, codes: ['INTERNAL_SERVER_ERROR'], data: null });
      const write = nextOp(citizens[0], replica.name);
      await send(replica, citizens[0], write);
      expect({ replica: replica.name, outcome: write.outcome, internal: /INTERNAL_SERVER_ERROR/.test(write.error ?? '') }).toEqual({ replica: replica.name, outcome: 'refused', internal: true });
    }
    // Still running: nobody restarted them.
    for (const replica of replicas) expect(replica.service.child.exitCode).toBeNull();

    await cluster!.start();
    for (const replica of replicas) {
      await waitForReadyz(replica, 200, 60_000);
      // Writes and lookups work again at once, through every replica (the pools reconnected).
      for (const citizen of citizens) {
        const op = nextOp(citizen, replica.name);
        await send(replica, citizen, op);
        expect({ replica: replica.name, outcome: op.outcome, error: op.error }).toEqual({ replica: replica.name, outcome: 'acked', error: undefined });
      }
      expectOk(await gql(replica, agencyToken, LookUpContactsDocument, { ids: lookupIds }), `lookup through ${replica.name} after the restart`);
    }
    await expectWholeRegister(db, 'after the restart');
  }, 240_000);

  it('crash (immediate shutdown) in the middle of writes: after recovery every acknowledged write is there, whole, change numbers 1..K; the replicas recover without a restart', async () => {
    const CITIZENS = 8;
    const CRASH_AFTER_ACKS = 30;
    const citizens = await Promise.all(ids.splice(0, CITIZENS).map(async (pid, i) => new Citizen(i, pid, await mintDevToken(auth, key, { citizen: { pid } }))));
    const ops: Op[] = [];
    let acked = 0;
    let crashing: Promise<unknown> | undefined;
    await stream(citizens, ops, {
      // Round-robin until the crash; then each citizen stops (its request in flight settles).
      route: (c) => (crashing ? null : replicas[(c.index + c.seq) % replicas.length]),
      onSettled(op) {
        if (op.outcome === 'acked') acked++;
        if (!crashing && acked >= CRASH_AFTER_ACKS) crashing = cluster!.stop('immediate');
      },
    });
    await crashing;
    const notAcked = ops.filter((op) => op.outcome !== 'acked');
    // A write whose answer was an error may still have committed (its COMMIT reached the
    // WAL before the crash): like a lost one, it may or may not be there.

    await cluster!.start();
    for (const replica of replicas) await waitForReadyz(replica, 200, 60_000);
    // Every replica's sessions from before the crash are gone with it; the check reads a
    // register no one writes to (the citizens have stopped).
    const K = await expectWholeRegister(db, 'after the crash');
    const found = await expectHistories(db, citizens, ops, 'after the crash');
    expect(found).toBe(acked);
    const problems = await amcheck(db);
    if (problems !== null) expect(problems).toEqual([]);

    // Both replicas write again, without a restart, and the numbers go on from K.
    for (const [i, replica] of replicas.entries()) {
      const op = nextOp(citizens[i], replica.name);
      ops.push(op);
      await send(replica, citizens[i], op);
      expect({ replica: replica.name, outcome: op.outcome, error: op.error }).toEqual({ replica: replica.name, outcome: 'acked', error: undefined });
    }
    expect(await expectWholeRegister(db, 'after writing again')).toBe(K + replicas.length);
    console.log(
      `replicas: PostgreSQL crashed (immediate shutdown) after ${CRASH_AFTER_ACKS}+ acknowledgements: ${ops.length - replicas.length} writes, ` +
        `${found} acknowledged and found after recovery, ${notAcked.length} unacknowledged (${notAcked.filter((o) => o.outcome === 'refused').length} error answers); change log 1..${K}`,
    );
  }, 240_000);
});
