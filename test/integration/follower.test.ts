/**
 * The follower against an upstream the test controls (a small HTTP server answering
 * `hentEndringer` with the pages each test queues) and a Maskinporten token endpoint the
 * test starts. The copy is a real register on the store under test.
 */
import { exportPKCS8, generateKeyPair, jwtVerify } from 'jose';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { UpstreamConfig } from '../../src/config';
import { MaskinportenTokens, TokenFile } from '../../src/follower/credentials';
import { UpstreamFollower } from '../../src/follower/follower';
import { upstreamFreshness } from '../../src/follower/freshness';
import { createLogger } from '../../src/logger';
import { openRegisterStore } from '../../src/store/open';
import { StatementCounter, UpstreamMismatchError } from '../../src/store/types';
import { storeUnderTest } from '../support/database';
import { createTestRegister, type TestRegister } from '../support/register';
import { aPerson, syntheticIds } from '../support/people';

const [A, B, C] = syntheticIds(3, 4242);

interface FakeUpstream {
  url: string;
  /** What each request asked for, and with which token. */
  asked: { fraEndringsId: unknown; authorization?: string }[];
  /** Answers in order; the last one is repeated. A function answers from the request. */
  answers: (((req: { authorization?: string; fraEndringsId: number }) => { status: number; body: string }) | { status: number; body: unknown })[];
  close(): Promise<void>;
}

async function fakeUpstream(): Promise<FakeUpstream> {
  const asked: FakeUpstream['asked'] = [];
  const answers: FakeUpstream['answers'] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.on('data', (d) => (text += d));
    req.on('end', () => {
      const authorization = req.headers.authorization;
      const { fraEndringsId } = JSON.parse(text || '{}');
      asked.push({ fraEndringsId, authorization });
      const next = answers.length > 1 ? answers.shift()! : answers[0];
      const answer = typeof next === 'function' ? next({ authorization, fraEndringsId }) : next;
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    asked,
    answers,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const page = (fra: number, til: number, siste: number, list: unknown[]) => ({ status: 200, body: { fraEndringsId: fra, tilEndringsId: til, sisteEndringsId: siste, list } });
const active = (id: string, email: string, extra: Record<string, unknown> = {}) => ({
  personidentifikator: id,
  status: 'AKTIV',
  reservasjon: 'NEI',
  kontaktinformasjon: { epostadresse: email, epostadresse_oppdatert: '2026-01-02T10:00:00.000Z' },
  ...extra,
});

function capture() {
  const lines: string[] = [];
  return { lines, logger: createLogger('info', { write: (line: string) => void lines.push(line) }) };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('follower mode (the follow loop)', () => {
  let copy: TestRegister;
  let upstream: FakeUpstream;
  let follower: UpstreamFollower | undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'krr-follower-'));
  const tokenFile = path.join(dir, 'token');

  const settings = (extra: Partial<UpstreamConfig> = {}): UpstreamConfig => ({
    url: upstream.url,
    credentials: { kind: 'token-file', file: tokenFile },
    pollSeconds: 1,
    maxStalenessSeconds: 86_400,
    startAfter: 0,
    timeoutMs: 2000,
    maxBackoffSeconds: 1,
    ...extra,
  });

  beforeEach(async () => {
    copy = await createTestRegister();
    upstream = await fakeUpstream();
    writeFileSync(tokenFile, 'token-one\n');
  });
  afterEach(async () => {
    await follower?.stop();
    follower = undefined;
    await upstream.close();
    await copy.close();
  });

  const people = async (...ids: string[]) => {
    const reads = copy.store.forRequest(new StatementCounter()).people;
    const [rows, points] = await Promise.all([reads.people(ids), reads.contactPoints(ids)]);
    return rows.map((row, i) => row && { status: row.status, email: points[i].find((p) => p.channel === 'EMAIL')?.address ?? null });
  };

  it('pages until tilEndringsId reaches sisteEndringsId: the latest of a person in a page wins, SLETTET deletes, the copy numbers its own changes', async () => {
    upstream.answers.push(
      page(1, 3, 5, [active(A, 'a.first@example.org'), active(B, 'b@example.org'), active(A, 'a.second@example.org')]),
      page(4, 5, 5, [{ personidentifikator: B, status: 'SLETTET', reservasjon: 'NEI' }, active(C, 'c@example.org')]),
      page(6, 5, 5, []),
    );
    const { logger } = capture();
    follower = new UpstreamFollower(copy.store, settings(), logger, { baseBackoffMs: 10 });
    follower.start();
    await until('the copy to catch up', async () => (await copy.store.upstreamPosition())?.lastSuccessAt != null);
    // Caught up after the second page; asked again after KRR_UPSTREAM_POLL_SECONDS.
    expect(upstream.asked).toHaveLength(2);
    await until('the next poll', () => upstream.asked.length >= 3);
    expect(upstream.asked.slice(0, 3).map((a) => a.fraEndringsId)).toEqual([1, 4, 6]);
    expect(upstream.asked[0].authorization).toBe('Bearer token-one');
    expect(await people(A, B, C)).toEqual([
      { status: 'ACTIVE', email: 'a.second@example.org' },
      { status: 'DELETED', email: null },
      { status: 'ACTIVE', email: 'c@example.org' },
    ]);
    expect(await copy.store.upstreamPosition()).toMatchObject({ upstream: upstream.url, position: 5, latest: 5 });
    // Its own numbers: the first page writes B then A (A's later entry), the second B again and C.
    const feed = await copy.store.forRequest(new StatementCounter()).people.changePage(0, 10);
    expect(feed.rows.map((r) => [r.id, r.changeNumber])).toEqual([
      [A, 2],
      [B, 3],
      [C, 4],
    ]);
  });

  it('retries 5xx, garbage and a refused token with backoff, re-reading the token file, and keeps its position', async () => {
    upstream.answers.push(
      { status: 503, body: { error: 'maintenance' } },
      { status: 200, body: '<html>proxy error</html>' },
      { status: 200, body: { error: 'not a page' } },
      ({ authorization }: { authorization?: string }) =>
        authorization === 'Bearer token-two' ? { status: 200, body: JSON.stringify(page(1, 1, 1, [active(A, 'a@example.org')]).body) } : { status: 401, body: '{"error":"expired"}' },
    );
    const { logger, lines } = capture();
    follower = new UpstreamFollower(copy.store, settings(), logger, { baseBackoffMs: 10 });
    follower.start();
    await until('a refused token', () => upstream.asked.length >= 5);
    expect(await copy.store.upstreamPosition()).toBeNull();
    writeFileSync(tokenFile, 'token-two\n');
    await until('the page after the new token', async () => (await copy.store.upstreamPosition())?.position === 1);
    expect(await people(A)).toEqual([{ status: 'ACTIVE', email: 'a@example.org' }]);
    const retries = lines.map((l) => JSON.parse(l)).filter((l) => l.msg === 'the upstream could not be read; retrying');
    expect(retries.map((l) => l.reason).slice(0, 4)).toEqual([
      expect.stringContaining('HTTP 503'),
      expect.stringContaining('not JSON'),
      expect.stringContaining('not a change-feed page'),
      expect.stringContaining('HTTP 401'),
    ]);
    // Each wait within [step/2, step], the step doubling up to the cap (1 s).
    retries.forEach((l, i) => {
      const step = Math.min(1000, 10 * 2 ** i);
      expect(l.retryInMs).toBeGreaterThanOrEqual(step / 2);
      expect(l.retryInMs).toBeLessThanOrEqual(step);
    });
  });

  it('does not apply a page that fails validation, logs its position with the ids masked, and stops syncing', async () => {
    upstream.answers.push(page(1, 1, 3, [active(A, 'a@example.org')]), page(2, 3, 3, [active(B, 'b@example.org'), active(C, 'not an email')]));
    const { logger, lines } = capture();
    follower = new UpstreamFollower(copy.store, settings(), logger, { baseBackoffMs: 10 });
    follower.start();
    await until('syncing to stop', () => follower!.state === 'stopped: invalid page');
    expect(await copy.store.upstreamPosition()).toMatchObject({ position: 1, lastSuccessAt: null });
    expect(await people(A, B)).toEqual([{ status: 'ACTIVE', email: 'a@example.org' }, null]);
    const error = lines.map((l) => JSON.parse(l)).find((l) => l.level === 50)!;
    expect(error).toMatchObject({ position: 1, fraEndringsId: 2, msg: expect.stringContaining('not applied, not skipped') });
    expect(error.reason).toContain('list[1]: kontaktinformasjon.epostadresse');
    expect(lines.join('\n')).not.toContain(C);
    expect(upstream.asked).toHaveLength(2);
  });

  it('applies a page only from the position it was asked after, and only for the upstream it follows', async () => {
    const at = new Date();
    const record = aPerson(A);
    expect(await copy.store.applyUpstreamPage({ upstream: 'http://up', after: 0, to: 2, latest: 4, records: [record], at })).toBe(true);
    expect(await copy.store.applyUpstreamPage({ upstream: 'http://up', after: 0, to: 3, latest: 4, records: [record], at })).toBe(false);
    await expect(copy.store.applyUpstreamPage({ upstream: 'http://other', after: 2, to: 3, latest: 4, records: [], at })).rejects.toThrow(UpstreamMismatchError);
    expect(await copy.store.upstreamPosition()).toEqual({ upstream: 'http://up', position: 2, latest: 4, lastSuccessAt: null });
    expect(await copy.store.applyUpstreamPage({ upstream: 'http://up', after: 2, to: 4, latest: 4, records: [], at })).toBe(true);
    expect(await copy.store.upstreamPosition()).toEqual({ upstream: 'http://up', position: 4, latest: 4, lastSuccessAt: at });
    expect(await copy.store.countPeople()).toBe(1);
  });

  it('starts after KRR_UPSTREAM_START_AFTER when the copy has no position (a first load from an export), and from its own position once it has one', async () => {
    const upToDate = (til: number) => ({ fraEndringsId }: { fraEndringsId: number }) => ({ status: 200, body: JSON.stringify(page(fraEndringsId, til, til, []).body) });
    upstream.answers.push(page(42, 43, 43, [active(A, 'a@example.org')]), upToDate(43));
    const { logger } = capture();
    follower = new UpstreamFollower(copy.store, settings({ startAfter: 41 }), logger, { baseBackoffMs: 10 });
    follower.start();
    await until('the copy to catch up', async () => (await copy.store.upstreamPosition())?.lastSuccessAt != null);
    expect(upstream.asked[0].fraEndringsId).toBe(42);
    await follower.stop();
    // Started again with another start: the stored position wins.
    upstream.asked.length = 0;
    follower = new UpstreamFollower(copy.store, settings({ startAfter: 7 }), logger, { baseBackoffMs: 10 });
    follower.start();
    await until('the next ask', () => upstream.asked.length >= 1);
    expect(upstream.asked[0].fraEndringsId).toBe(44);
  });

  it('is ready only once it has caught up, and no longer when that is older than KRR_UPSTREAM_MAX_STALENESS_SECONDS', async () => {
    const config = settings({ maxStalenessSeconds: 600 });
    expect(await upstreamFreshness(copy.store, config)).toMatchObject({ ready: false, reason: 'the copy has not caught up with its upstream yet' });
    const at = new Date('2026-06-01T12:00:00.000Z');
    expect(await copy.store.applyUpstreamPage({ upstream: config.url, after: 0, to: 3, latest: 3, records: [aPerson(A)], at })).toBe(true);
    expect(await upstreamFreshness(copy.store, config, at.getTime() + 600_000)).toEqual({ ready: true, position: 3, latest: 3, lastSuccessAt: at.toISOString() });
    const stale = await upstreamFreshness(copy.store, config, at.getTime() + 601_000);
    expect(stale).toMatchObject({ ready: false, position: 3 });
    expect(stale.reason).toContain('KRR_UPSTREAM_MAX_STALENESS_SECONDS=600');
  });

  // SQLite: one process follows (main.ts); PostgreSQL: any number of replicas, one at a time.
  (storeUnderTest === 'postgres' ? it : it.skip)('on PostgreSQL exactly one replica follows at a time, and another takes over when it goes', async () => {
    // Then "nothing new" for as long as it is asked.
    const upToDate = (til: number) => ({ fraEndringsId }: { fraEndringsId: number }) => ({ status: 200, body: JSON.stringify(page(fraEndringsId, til, til, []).body) });
    upstream.answers.push(page(1, 1, 1, [active(A, 'a@example.org')]), upToDate(1));
    const other = await openRegisterStore(copy.config);
    const { logger } = capture();
    follower = new UpstreamFollower(copy.store, settings(), logger, { baseBackoffMs: 10 });
    const second = new UpstreamFollower(other, settings(), logger, { baseBackoffMs: 10 });
    try {
      follower.start();
      await until('the first to follow', async () => (await copy.store.upstreamPosition())?.position === 1);
      second.start();
      await new Promise((r) => setTimeout(r, 1500));
      expect([follower.state, second.state]).toEqual(['following', 'waiting for the follower lock']);
      upstream.answers.splice(0, upstream.answers.length, page(2, 2, 2, [active(B, 'b@example.org')]), upToDate(2));
      await follower.stop();
      await until('the second to take over', () => second.state === 'following');
      await until('the second to apply', async () => (await other.upstreamPosition())?.position === 2);
      expect(await people(B)).toEqual([{ status: 'ACTIVE', email: 'b@example.org' }]);
    } finally {
      await second.stop();
      await other.close();
    }
  });
});

describe('Maskinporten credentials', () => {
  it('gets a token with a signed JWT grant from the token endpoint, and renews it before it expires', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
    const dir = mkdtempSync(path.join(os.tmpdir(), 'krr-maskinporten-'));
    const keyFile = path.join(dir, 'client.pem');
    writeFileSync(keyFile, await exportPKCS8(privateKey));
    const grants: Record<string, unknown>[] = [];
    const server = http.createServer((req, res) => {
      let text = '';
      req.on('data', (d) => (text += d));
      req.on('end', async () => {
        const form = new URLSearchParams(text);
        try {
          if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') throw new Error('grant_type');
          const { payload, protectedHeader } = await jwtVerify(form.get('assertion')!, publicKey, { issuer: 'client-123', audience: 'https://maskinporten.test/' });
          grants.push({ ...payload, kid: protectedHeader.kid });
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `access-${grants.length}`, token_type: 'Bearer', expires_in: 120 }));
        } catch (error) {
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_grant', error_description: (error as Error).message }));
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const tokenUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
    let now = Date.now();
    const scopes = ['krr:global/hentendring.read', 'krr:global/kontaktinformasjon.read'];
    const settings = { kind: 'maskinporten' as const, tokenUrl, audience: 'https://maskinporten.test/', clientId: 'client-123', privateKeyFile: keyFile, keyId: 'key-1', scopes };
    try {
      const tokens = new MaskinportenTokens(settings, 2000, () => now);
      expect(await tokens.token()).toBe('access-1');
      now += 30_000;
      expect(await tokens.token()).toBe('access-1');
      // Renewed a minute before the 120 s are up.
      now += 31_000;
      expect(await tokens.token()).toBe('access-2');
      expect(grants).toHaveLength(2);
      expect(grants[0]).toMatchObject({ scope: scopes.join(' '), kid: 'key-1' });
      expect(Number(grants[0].exp) - Number(grants[0].iat)).toBeLessThanOrEqual(120);
      expect(grants[0].jti).not.toBe(grants[1].jti);
      // A refusal by the upstream gets a fresh token at once.
      tokens.refused();
      expect(await tokens.token()).toBe('access-3');
      // A refusal by the token endpoint is reported with its reason.
      const wrong = new MaskinportenTokens({ ...settings, clientId: 'someone-else' }, 2000);
      await expect(wrong.token()).rejects.toThrow(/invalid_grant/);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a token file is read again when it changes', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'krr-token-')), 'token');
    writeFileSync(file, 'first\n');
    const tokens = new TokenFile(file);
    expect(await tokens.token()).toBe('first');
    writeFileSync(file, 'second-and-longer\n');
    expect(await tokens.token()).toBe('second-and-longer');
    writeFileSync(file, '');
    await expect(tokens.token()).rejects.toThrow(/empty/);
  });
});
