import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config';
import { LookUpEmailsDocument, LookUpIdsDocument, PingDocument } from '../generated/graphql';
import { requestBody } from '../support/operations';
import { syntheticIds } from '../support/people';
import { createTestRegister, type TestRegister } from '../support/register';
import { TEST_SIGNING_KEY_FILE } from '../support/keys';

/** Issue 14 findings 7, 8 and 10: metrics exposure, response headers and hints, clients behind a proxy. */

const [id] = syntheticIds(1);
const PRODUCTION = {
  NODE_ENV: 'production',
  KRR_NOTIFIER: 'outbox',
  KRR_AGENCY_ISSUER: 'https://maskinporten.example/',
  KRR_AGENCY_JWKS_URI: 'https://maskinporten.example/jwks',
  KRR_CITIZEN_ISSUER: 'https://idporten.example/',
  KRR_CITIZEN_JWKS_URI: 'https://idporten.example/jwks',
  KRR_AUDIENCE: 'https://krr.example/',
  KRR_SIGNING_KEY_FILE: TEST_SIGNING_KEY_FILE,
};

async function withRegister(env: Record<string, string>, test: (register: TestRegister, base: string) => Promise<void>): Promise<void> {
  const register = await createTestRegister(env);
  try {
    await test(register, await register.listen());
  } finally {
    await register.close();
  }
}

const post = (base: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('response headers (finding 8)', () => {
  it('marks every answer no-store and nosniff: GraphQL, REST, errors and refusals alike', async () => {
    await withRegister({}, async (register, base) => {
      const auth = { authorization: `Bearer ${await register.agencyToken()}` };
      const answers = [
        await post(base, '/graphql', requestBody(LookUpEmailsDocument, { ids: [id] }), auth),
        await post(base, '/rest/v2/personer', { personidentifikatorer: [id] }, auth),
        await post(base, '/graphql', requestBody(LookUpIdsDocument, { ids: ['1'] }), auth),
        await post(base, '/graphql', requestBody(PingDocument), { authorization: 'Bearer not-a-token' }),
        await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' }),
      ];
      expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 401, 400]);
      for (const answer of answers) {
        expect(answer.headers.get('cache-control')).toBe('no-store');
        expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
        expect(answer.headers.get('strict-transport-security')).toBeNull();
      }
    });
  });

  it('sends HSTS only when configured, and only on requests that came over HTTPS through a trusted proxy', async () => {
    const https = { 'x-forwarded-proto': 'https' };
    await withRegister({ KRR_HSTS_MAX_AGE: '31536000' }, async (_register, base) => {
      // Plain HTTP, and a forwarded "https" from a proxy that is not trusted: no HSTS.
      expect((await fetch(`${base}/healthz`)).headers.get('strict-transport-security')).toBeNull();
      expect((await fetch(`${base}/healthz`, { headers: https })).headers.get('strict-transport-security')).toBeNull();
    });
    await withRegister({ KRR_HSTS_MAX_AGE: '31536000', KRR_TRUST_PROXY: 'loopback' }, async (_register, base) => {
      expect((await fetch(`${base}/healthz`, { headers: https })).headers.get('strict-transport-security')).toBe('max-age=31536000');
      expect((await fetch(`${base}/healthz`)).headers.get('strict-transport-security')).toBeNull();
    });
  });

  it('suggests no field names when introspection is off (production), and does when it is on', async () => {
    // Raw on purpose: a field name misspelt, which no typed document can hold.
    const typo = { query: `{ persons(ids: ["${id}"]) { id contactInfo { emial { address } } } }` };
    await withRegister({ KRR_INTROSPECTION: 'false' }, async (register, base) => {
      const json = await (await post(base, '/graphql', typo, { authorization: `Bearer ${await register.agencyToken()}` })).json();
      expect(json.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(json.errors[0].message).toBe('Cannot query field "emial" on type "ContactInfo".');
    });
    await withRegister({}, async (register, base) => {
      const json = await (await post(base, '/graphql', typo, { authorization: `Bearer ${await register.agencyToken()}` })).json();
      expect(json.errors[0].message).toMatch(/Did you mean "email"\?/);
    });
    expect(loadConfig(PRODUCTION).introspection).toBe(false);
  });
});

describe('/metrics exposure (finding 7)', () => {
  it('is off by default in production, on the API port in development, and on its own internal port when KRR_METRICS_PORT is set', () => {
    expect(loadConfig(PRODUCTION).metrics).toEqual({ listen: 'off' });
    expect(loadConfig({ ...PRODUCTION, KRR_METRICS_PORT: '9464' }).metrics).toEqual({ listen: 'separate', port: 9464, host: '127.0.0.1' });
    expect(loadConfig({ ...PRODUCTION, KRR_METRICS_PORT: '9464', KRR_METRICS_HOST: '10.0.0.5' }).metrics).toEqual({ listen: 'separate', port: 9464, host: '10.0.0.5' });
    expect(loadConfig({}).metrics).toEqual({ listen: 'api' });
    expect(loadConfig({ KRR_METRICS: 'false' }).metrics).toEqual({ listen: 'off' });
    expect(() => loadConfig({ PORT: '4000', KRR_METRICS_PORT: '4000' })).toThrow(/KRR_METRICS_PORT must differ from PORT/);
    expect(() => loadConfig({ KRR_METRICS: 'false', KRR_METRICS_PORT: '9464' })).toThrow(/contradict/);
    expect(() => loadConfig({ KRR_METRICS_HOST: '10.0.0.5' })).toThrow(/KRR_METRICS_HOST needs KRR_METRICS_PORT/);
  });

  it('answers 404 on the API port when served on a port of its own, and serves the metrics there', async () => {
    await withRegister({ KRR_METRICS_PORT: '0' }, async (register, base) => {
      await post(base, '/graphql', requestBody(LookUpIdsDocument, { ids: [id] }), { authorization: `Bearer ${await register.agencyToken()}` });
      expect((await fetch(`${base}/metrics`)).status).toBe(404);
      const metricsServer = register.server.metricsServer!;
      await new Promise<void>((resolve) => metricsServer.listen(0, '127.0.0.1', resolve));
      try {
        const answer = await fetch(`http://127.0.0.1:${(metricsServer.address() as AddressInfo).port}/metrics`);
        expect(answer.status).toBe(200);
        expect(await answer.text()).toContain('krr_graphql_requests_total{operation="persons",outcome="ok"} 1');
      } finally {
        await new Promise((resolve) => metricsServer.close(resolve));
      }
    });
  });
});

describe('clients behind a load balancer (finding 10)', () => {
  // Two requests a minute per anonymous client; this test process is the load balancer (on loopback).
  const anonymous = (base: string, forwardedFor: string) => post(base, '/graphql', requestBody(PingDocument), { 'x-forwarded-for': forwardedFor });

  it('without KRR_TRUST_PROXY, counts every client behind the proxy in one bucket', async () => {
    await withRegister({ KRR_RATE_LIMIT_PER_MINUTE: '2' }, async (_register, base) => {
      const statuses = [];
      for (const client of ['203.0.113.1', '203.0.113.2', '203.0.113.3']) statuses.push((await anonymous(base, client)).status);
      expect(statuses).toEqual([200, 200, 429]);
    });
  });

  it('with KRR_TRUST_PROXY, counts each client apart, by the address the trusted proxy saw (a forged X-Forwarded-For entry does not help)', async () => {
    await withRegister({ KRR_RATE_LIMIT_PER_MINUTE: '2', KRR_TRUST_PROXY: 'loopback' }, async (_register, base) => {
      const first = [];
      for (let i = 0; i < 3; i++) first.push((await anonymous(base, `198.51.100.${i}, 203.0.113.1`)).status);
      // A client that puts a new address in front each time still is 203.0.113.1 to the proxy.
      expect(first).toEqual([200, 200, 429]);
      expect((await anonymous(base, '203.0.113.2')).status).toBe(200);
      expect((await anonymous(base, '203.0.113.2')).status).toBe(200);
    });
  });

  it('reads KRR_TRUST_PROXY as Express does and refuses what is not a proxy address', () => {
    expect(loadConfig({}).trustProxy).toBe(false);
    expect(loadConfig({ KRR_TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ KRR_TRUST_PROXY: 'true' }).trustProxy).toBe(true);
    expect(loadConfig({ KRR_TRUST_PROXY: 'loopback, 10.0.0.0/8, 192.168.1.10, fd00::/8' }).trustProxy).toEqual(['loopback', '10.0.0.0/8', '192.168.1.10', 'fd00::/8']);
    expect(() => loadConfig({ KRR_TRUST_PROXY: 'my-balancer' })).toThrow(/KRR_TRUST_PROXY: "my-balancer" is not an address/);
    expect(() => loadConfig({ KRR_TRUST_PROXY: '10.0.0.0/33' })).toThrow(/KRR_TRUST_PROXY: "10.0.0.0\/33"/);
  });
});
