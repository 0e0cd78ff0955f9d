import express from 'express';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config';
import { corsMiddleware } from '../../src/http/cors';
import { LookUpStatusesDocument, PingDocument } from '../generated/graphql';
import { documentText, requestBody } from '../support/operations';
import { aPerson, syntheticIds } from '../support/people';
import { createTestRegister, type TestRegister } from '../support/register';
import { TEST_SIGNING_KEY_FILE } from '../support/keys';

const [known] = syntheticIds(1);
const ALLOWED = 'https://minside.example';
const PRODUCTION = {
  NODE_ENV: 'production',
  KRR_AGENCY_ISSUER: 'https://a.example/',
  KRR_AGENCY_JWKS_URI: '/dev/null',
  KRR_CITIZEN_ISSUER: 'https://c.example/',
  KRR_CITIZEN_JWKS_URI: '/dev/null',
  KRR_AUDIENCE: 'x',
  KRR_NOTIFIER: 'outbox',
  KRR_SIGNING_KEY_FILE: TEST_SIGNING_KEY_FILE,
};

/** Every `Access-Control-*` header of a response, by name. */
const corsHeaders = (res: Response) => Object.fromEntries([...res.headers].filter(([name]) => name.startsWith('access-control-')));

const preflight = (url: string, origin: string, method = 'POST') =>
  fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type' } });

const LOOKUP = requestBody(LookUpStatusesDocument, { ids: [known] });

describe('KRR_CORS_ORIGINS=https://saksbehandling.nav.example,https://minside.example', () => {
  let register: TestRegister;
  let base: string;
  let token: string;

  beforeAll(async () => {
    register = await createTestRegister({ KRR_CORS_ORIGINS: 'https://saksbehandling.nav.example, https://minside.example' });
    await register.put(aPerson(known));
    base = await register.listen();
    token = await register.agencyToken();
  });
  afterAll(() => register.close());

  const lookup = (origin: string) =>
    fetch(`${base}/graphql`, { method: 'POST', headers: { origin, 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(LOOKUP) });

  it('answers a preflight from a listed origin with 204 and that origin', async () => {
    const res = await preflight(`${base}/graphql`, ALLOWED);
    expect(res.status).toBe(204);
    expect(corsHeaders(res)).toEqual({
      'access-control-allow-origin': ALLOWED,
      'access-control-allow-methods': 'GET, POST',
      'access-control-allow-headers': 'authorization, content-type, apollo-require-preflight, x-apollo-operation-name, apollographql-client-name, apollographql-client-version',
      'access-control-max-age': '7200',
    });
    expect(res.headers.get('vary')).toBe('Origin');
    expect(await res.text()).toBe('');
  });

  it('sends no CORS header to an unlisted origin, however close to a listed one', async () => {
    for (const origin of ['https://evil.example', 'http://minside.example', 'https://minside.example.evil.example', 'https://minside.example:8443', 'null']) {
      const res = await preflight(`${base}/graphql`, origin);
      expect({ origin, status: res.status, cors: corsHeaders(res) }).toEqual({ origin, status: 403, cors: {} });
      expect(res.headers.get('vary')).toBe('Origin');
      expect((await res.json()).errors[0].extensions.code).toBe('CORS_ORIGIN_NOT_ALLOWED');
    }
  });

  it('lets a listed origin read the answer of a lookup with a bearer token', async () => {
    const res = await lookup(ALLOWED);
    expect(res.status).toBe(200);
    expect(corsHeaders(res)).toEqual({ 'access-control-allow-origin': ALLOWED, 'access-control-expose-headers': 'retry-after, www-authenticate' });
    expect(res.headers.get('vary')).toBe('Origin');
    expect((await res.json()).data.persons).toEqual([{ id: known, status: 'ACTIVE' }]);
  });

  it('gives an unlisted origin no CORS header on an answer (the browser keeps it from the page)', async () => {
    const res = await lookup('https://evil.example');
    expect(corsHeaders(res)).toEqual({});
    expect(res.headers.get('vary')).toBe('Origin');
  });

  it('keeps CSRF prevention: a listed origin still cannot send a GET without a preflight header', async () => {
    const res = await fetch(`${base}/graphql?query=${encodeURIComponent(documentText(PingDocument))}`, { headers: { origin: ALLOWED } });
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/CSRF/i);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  });

  it('does the same for the REST API, in its own error shape', async () => {
    const ok = await preflight(`${base}/rest/v2/personer`, 'https://saksbehandling.nav.example');
    expect(ok.status).toBe(204);
    expect(corsHeaders(ok)).toMatchObject({ 'access-control-allow-origin': 'https://saksbehandling.nav.example', 'access-control-allow-methods': 'GET, POST, PATCH' });
    const refused = await preflight(`${base}/rest/v2/personer`, 'https://evil.example');
    expect([refused.status, corsHeaders(refused)]).toEqual([403, {}]);
    expect((await refused.json()).error.code).toBe('CORS_ORIGIN_NOT_ALLOWED');

    const res = await fetch(`${base}/rest/v2/personer`, {
      method: 'POST',
      headers: { origin: ALLOWED, 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ personidentifikatorer: [known] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect((await res.json()).personer[0].personidentifikator).toBe(known);
  });

  it('sends nothing of CORS from the health and metrics endpoints', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const res = await fetch(`${base}${path}`, { headers: { origin: ALLOWED } });
      expect({ path, status: res.status, cors: corsHeaders(res), vary: res.headers.get('vary') }).toEqual({ path, status: 200, cors: {}, vary: null });
      const pre = await preflight(`${base}${path}`, ALLOWED, 'GET');
      expect({ path, cors: corsHeaders(pre) }).toEqual({ path, cors: {} });
    }
  });
});

describe('defaults', () => {
  it('allows pages from this machine on any port in development, and nobody in production', () => {
    expect(loadConfig({}).cors).toEqual({ origins: [], loopbackAnyPort: true });
    expect(loadConfig(PRODUCTION).cors).toEqual({ origins: [], loopbackAnyPort: false });
    // A list replaces the development default.
    expect(loadConfig({ KRR_CORS_ORIGINS: 'https://minside.example' }).cors).toEqual({ origins: ['https://minside.example'], loopbackAnyPort: false });
  });

  it('in development answers http://localhost and http://127.0.0.1 on any port, and nothing like them', async () => {
    const register = await createTestRegister();
    try {
      const base = await register.listen();
      for (const origin of ['http://localhost:5173', 'http://127.0.0.1:3000', 'http://localhost']) {
        const res = await preflight(`${base}/graphql`, origin);
        expect({ origin, status: res.status, allow: res.headers.get('access-control-allow-origin') }).toEqual({ origin, status: 204, allow: origin });
      }
      for (const origin of ['https://localhost:5173', 'http://localhost.evil.example:5173', 'http://127.0.0.1.evil.example', 'http://10.0.0.1:3000']) {
        const res = await preflight(`${base}/graphql`, origin);
        expect({ origin, status: res.status, cors: corsHeaders(res) }).toEqual({ origin, status: 403, cors: {} });
      }
    } finally {
      await register.close();
    }
  });

  it('with nothing listed (production) refuses every preflight and adds no header at all', async () => {
    const app = express();
    app.use('/graphql', corsMiddleware(loadConfig(PRODUCTION).cors, { methods: ['GET', 'POST'], refuse: (res, { code, message }) => void res.status(403).json({ code, message }) }));
    app.all('/graphql', (_req, res) => void res.json({ ok: true }));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
      const pre = await preflight(url, 'http://localhost:5173');
      expect([pre.status, corsHeaders(pre), pre.headers.get('vary')]).toEqual([403, {}, null]);
      expect(await pre.json()).toEqual({ code: 'CORS_ORIGIN_NOT_ALLOWED', message: expect.stringContaining('KRR_CORS_ORIGINS is empty') });
      const res = await fetch(url, { method: 'POST', headers: { origin: 'https://minside.example' } });
      expect([res.status, corsHeaders(res), res.headers.get('vary')]).toEqual([200, {}, null]);
    } finally {
      server.close();
    }
  });

  it('normalises origins as browsers send them and refuses anything else with a clear message', () => {
    expect(loadConfig({ KRR_CORS_ORIGINS: 'https://MinSide.example:443, http://localhost:5173,https://minside.example' }).cors.origins).toEqual([
      'https://minside.example',
      'http://localhost:5173',
    ]);
    const problems = (value: string, env: Record<string, string> = {}) => {
      try {
        loadConfig({ ...env, KRR_CORS_ORIGINS: value });
        return [];
      } catch (error) {
        return (error as { problems: string[] }).problems;
      }
    };
    expect(problems('*')).toEqual(['KRR_CORS_ORIGINS: "*" has a wildcard: list each origin exactly (scheme://host[:port])']);
    expect(problems('https://*.nav.example')).toEqual([expect.stringContaining('has a wildcard')]);
    expect(problems('minside.example')).toEqual(['KRR_CORS_ORIGINS: "minside.example" is not an origin: write scheme://host[:port], e.g. https://minside.example']);
    expect(problems('https://minside.example/')).toEqual([
      'KRR_CORS_ORIGINS: "https://minside.example/" is not an origin: an origin has no path, query or user; write https://minside.example',
    ]);
    expect(problems('https://minside.example/app')).toEqual([expect.stringContaining('has no path')]);
    expect(problems('https://user@minside.example')).toEqual([expect.stringContaining('has no path, query or user')]);
    expect(problems('ftp://minside.example')).toEqual([expect.stringContaining('must start with https://')]);
    expect(problems('https://minside.example:99999')).toEqual([expect.stringContaining('is not an origin')]);
    expect(problems('http://minside.example', PRODUCTION)).toEqual([expect.stringContaining('must be https:// in production')]);
    expect(problems('https://minside.example', PRODUCTION)).toEqual([]);
  });
});
