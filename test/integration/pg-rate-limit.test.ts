/**
 * Rate limits on PostgreSQL are counted in the database, so the limit holds across
 * replicas: two stores opened on one database stand for two replicas. Runs in jest's
 * `postgres` project; skipped without PostgreSQL, except under CI=true, where it fails.
 */
import pg from 'pg';
import { ANONYMOUS, type Viewer } from '../../src/auth/viewer';
import { ClientError } from '../../src/errors';
import { RequestRateLimiter } from '../../src/http/rate-limit';
import { openPostgresRegisterStore } from '../../src/store/postgres';
import type { RegisterStore } from '../../src/store/types';
import { createScratchDatabase, describeWithPostgres, postgresUrl, type ScratchDatabase } from '../support/postgres';

describeWithPostgres('rate limits shared by replicas (PostgreSQL)', () => {
  let scratch: ScratchDatabase;
  let a: RegisterStore;
  let b: RegisterStore;

  beforeAll(async () => {
    scratch = await createScratchDatabase(postgresUrl!, 'krr_ratelimit');
    a = await openPostgresRegisterStore(scratch.url);
    b = await openPostgresRegisterStore(scratch.url);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await scratch?.drop();
  });

  const agency = (orgNumber: string): Viewer => ({ kind: 'agency', orgNumber, scopes: new Set() }) as unknown as Viewer;
  const outcome = (p: Promise<void>) =>
    p.then(
      () => 'ok',
      (e: unknown) => (e instanceof ClientError ? e.code : `unexpected: ${String(e)}`),
    );

  it('counts one agency\u2019s requests through both replicas against one limit of 5 a minute', async () => {
    const onA = new RequestRateLimiter(5, (points, seconds) => a.rateLimiter(points, seconds));
    const onB = new RequestRateLimiter(5, (points, seconds) => b.rateLimiter(points, seconds));
    const who = agency('974760673');
    const results = [];
    for (const limiter of [onA, onB, onA, onB, onA, onB, onA]) results.push(await outcome(limiter.take(who, undefined)));
    expect(results).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'RATE_LIMITED', 'RATE_LIMITED']);
    // Another agency, and an anonymous caller, have counts of their own.
    expect(await outcome(onB.take(agency('889640782'), undefined))).toBe('ok');
    expect(await outcome(onA.take(ANONYMOUS, '192.0.2.1'))).toBe('ok');
  });

  it('keeps the counts in the rate_limit table, without identity numbers in the keys', async () => {
    const citizen = { kind: 'citizen', pid: '01819012365' } as unknown as Viewer;
    await new RequestRateLimiter(5, (points, seconds) => a.rateLimiter(points, seconds)).take(citizen, undefined);
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    const keys = (await client.query<{ key: string; points: number }>('select key, points from rate_limit order by key').finally(() => client.end())).rows;
    expect(keys.map((k) => k.key)).toEqual(expect.arrayContaining(['krr:org:974760673', 'krr:org:889640782', 'krr:ip:192.0.2.1']));
    expect(keys.find((k) => k.key === 'krr:org:974760673')?.points).toBe(7);
    expect(JSON.stringify(keys)).not.toContain('01819012365');
    expect(keys.some((k) => k.key.startsWith('krr:pid:'))).toBe(true);
  });
});
