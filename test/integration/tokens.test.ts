import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { authenticate } from '../../src/auth/authenticate';
import { createTokenVerifier, mintDevToken } from '../../src/auth/tokens';
import { loadConfig } from '../../src/config';
import { syntheticIds } from '../support/people';

const [pid] = syntheticIds(1);
const AGENCY_ISS = 'https://maskinporten.test.example/';
const CITIZEN_ISS = 'https://idporten.test.example/';
const AUD = 'https://krr.test.example/api';

async function keyPair(alg = 'ES256', kid = 'k1') {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg } };
}

describe('token verification against configured issuers', () => {
  let agencyKey: Awaited<ReturnType<typeof keyPair>>;
  let citizenKey: Awaited<ReturnType<typeof keyPair>>;
  let otherKey: Awaited<ReturnType<typeof keyPair>>;
  let jwksServer: http.Server;
  let verify: (header: string) => ReturnType<typeof authenticate>;

  /** `iat: null` leaves the claim out; a number sets it (seconds since the epoch). */
  const sign = (payload: JWTPayload, opts: { key?: typeof agencyKey; iss?: string; aud?: string; exp?: string | number; kid?: string; iat?: number | null } = {}) => {
    const jwt = new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', kid: opts.kid ?? (opts.key ?? agencyKey).jwk.kid })
      .setIssuer(opts.iss ?? AGENCY_ISS)
      .setAudience(opts.aud ?? AUD)
      .setExpirationTime(opts.exp ?? '5m');
    if (opts.iat !== null) jwt.setIssuedAt(opts.iat);
    return jwt.sign((opts.key ?? agencyKey).privateKey);
  };

  const agencyClaims = { scope: 'krr:global/kontaktinformasjon.read', consumer: { authority: 'iso6523-actorid-upis', ID: '0192:991825827' } };

  beforeAll(async () => {
    agencyKey = await keyPair('ES256', 'agency-1');
    citizenKey = await keyPair('ES256', 'citizen-1');
    otherKey = await keyPair('ES256', 'agency-1');
    // The agency key set over HTTP, the citizen key set from a file: both forms the config allows.
    jwksServer = http.createServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [agencyKey.jwk] })));
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'krr-jwks-'));
    writeFileSync(path.join(dir, 'citizen.json'), JSON.stringify({ keys: [citizenKey.jwk] }));
    const config = loadConfig({
      KRR_AGENCY_ISSUER: AGENCY_ISS,
      KRR_AGENCY_JWKS_URI: `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}/jwks`,
      KRR_CITIZEN_ISSUER: CITIZEN_ISS,
      KRR_CITIZEN_JWKS_URI: path.join(dir, 'citizen.json'),
      KRR_AUDIENCE: AUD,
    });
    const verifier = await createTokenVerifier(config.auth);
    verify = (header) => authenticate(header, verifier);
  });
  afterAll(() => new Promise((r) => jwksServer.close(r)));

  it('accepts a valid agency token and reads organisation and scopes', async () => {
    await expect(verify(`Bearer ${await sign(agencyClaims)}`)).resolves.toEqual({
      kind: 'agency',
      orgNumber: '991825827',
      scopes: new Set(['krr:global/kontaktinformasjon.read']),
    });
  });

  it('accepts a valid citizen token and reads the pid', async () => {
    const token = await sign({ pid, acr: 'idporten-loa-high' }, { key: citizenKey, iss: CITIZEN_ISS });
    await expect(verify(`Bearer ${token}`)).resolves.toEqual({ kind: 'citizen', pid, userScopes: null });
  });

  const refused = async (header: string, reason: RegExp) => {
    const error = await verify(header).then(
      () => null,
      (e) => e,
    );
    expect(error?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(error?.message).toMatch(reason);
  };

  it('refuses an expired token', async () => {
    await refused(`Bearer ${await sign(agencyClaims, { exp: Math.floor(Date.now() / 1000) - 60 })}`, /expired/);
  });

  it('refuses a token without iat, one issued in the future, and one that lives longer than the cap (2 h by default)', async () => {
    const now = Math.floor(Date.now() / 1000);
    // The review's tokens: no iat at all, and exp in the year 2100.
    await refused(`Bearer ${await sign(agencyClaims, { iat: null })}`, /no iat claim/);
    await refused(`Bearer ${await sign(agencyClaims, { exp: 4102444800 })}`, /lives \d+ s \(exp - iat\); this service accepts at most 7200 s/);
    await refused(`Bearer ${await sign(agencyClaims, { iat: now + 600, exp: now + 900 })}`, /iat claim is in the future/);
    // Issued long ago with a short remaining life does not get round the cap.
    await refused(`Bearer ${await sign(agencyClaims, { iat: now - 86_400, exp: now + 60 })}`, /issued more than 7200 s ago/);
    // Exactly the cap is accepted, for citizens too.
    await expect(verify(`Bearer ${await sign(agencyClaims, { iat: now, exp: now + 7200 })}`)).resolves.toMatchObject({ kind: 'agency' });
    await expect(verify(`Bearer ${await sign({ pid, acr: 'idporten-loa-high' }, { key: citizenKey, iss: CITIZEN_ISS, iat: now, exp: now + 7200 })}`)).resolves.toMatchObject({ kind: 'citizen' });
    await refused(`Bearer ${await sign({ pid, acr: 'idporten-loa-high' }, { key: citizenKey, iss: CITIZEN_ISS, iat: now, exp: now + 7201 })}`, /at most 7200 s/);
  });

  it('refuses a token signed with another key under the same kid', async () => {
    await refused(`Bearer ${await sign(agencyClaims, { key: otherKey })}`, /signature/);
  });

  it('refuses a token from an unknown issuer', async () => {
    await refused(`Bearer ${await sign(agencyClaims, { iss: 'https://evil.example/' })}`, /issuer/);
  });

  it('refuses a token for another audience', async () => {
    await refused(`Bearer ${await sign(agencyClaims, { aud: 'https://other.example/' })}`, /aud/);
  });

  it('refuses an unsigned token (alg: none)', async () => {
    const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...agencyClaims, iss: AGENCY_ISS, aud: AUD, iat: now, exp: now + 300 })}.`;
    await refused(`Bearer ${unsigned}`, /algorithm|not valid/);
  });

  it('refuses a citizen token signed with the agency key (each issuer has its own key set)', async () => {
    await refused(`Bearer ${await sign({ pid, acr: 'idporten-loa-high' }, { key: agencyKey, iss: CITIZEN_ISS, kid: 'citizen-1' })}`, /signature/);
  });

  it('refuses an agency token without a proper consumer, and a citizen token at too low a level', async () => {
    await refused(`Bearer ${await sign({ scope: 'x', consumer: { ID: '991825827' } })}`, /consumer/);
    await refused(`Bearer ${await sign({ pid, acr: 'idporten-loa-low' }, { key: citizenKey, iss: CITIZEN_ISS })}`, /acr/);
  });

  it('refuses garbage and a header that is not a bearer token', async () => {
    await refused('Bearer not-a-jwt', /not a JWT/);
    await refused('Basic dXNlcjpwYXNz', /Bearer/);
  });

  it('treats a missing header as anonymous', async () => {
    await expect(verify('')).resolves.toEqual({ kind: 'anonymous' });
  });
});

describe('development tokens and the lifetime cap', () => {
  it('mints tokens that live as long as the service accepts, refuses longer ones, and follows KRR_MAX_TOKEN_LIFETIME_SECONDS', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'krr-devtok-'));
    const config = loadConfig({ KRR_DATA_DIR: dir, KRR_MAX_TOKEN_LIFETIME_SECONDS: '300' });
    if (config.auth.mode !== 'development') throw new Error('expected development auth');
    const verifier = await createTokenVerifier(config.auth);
    const token = await mintDevToken(config.auth, verifier.devKey!, { citizen: { pid } });
    const { exp, iat } = decodeJwt(token);
    expect(exp! - iat!).toBe(300);
    await expect(authenticate(`Bearer ${token}`, verifier)).resolves.toEqual({ kind: 'citizen', pid, userScopes: null });
    await expect(mintDevToken(config.auth, verifier.devKey!, { citizen: { pid } }, 301)).rejects.toThrow(/at most 300 s/);
    // A token minted under a longer cap is refused by a service with a shorter one.
    const longer = loadConfig({ KRR_DATA_DIR: dir });
    if (longer.auth.mode !== 'development') throw new Error('expected development auth');
    const twoHours = await mintDevToken(longer.auth, verifier.devKey!, { citizen: { pid } });
    await expect(authenticate(`Bearer ${twoHours}`, verifier)).rejects.toThrow(/lives 7200 s .* at most 300 s/);
    expect(() => loadConfig({ KRR_MAX_TOKEN_LIFETIME_SECONDS: '10' })).toThrow(/KRR_MAX_TOKEN_LIFETIME_SECONDS must be a whole number from 60 to 86400/);
  });
});

describe('configuration', () => {
  it('refuses a partial issuer configuration, naming what is missing', () => {
    expect(() => loadConfig({ KRR_AGENCY_ISSUER: 'x' })).toThrow(/KRR_AGENCY_JWKS_URI.*KRR_CITIZEN_ISSUER/);
  });

  it('refuses production with the development key', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/NODE_ENV=production needs real token issuers/);
  });

  it('refuses what would fail later or weaken production: log level, plain-HTTP keys, missing files, no notifier', () => {
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL must be one of/);
    const issuers = { KRR_AGENCY_ISSUER: 'a', KRR_CITIZEN_ISSUER: 'c', KRR_AUDIENCE: 'x', KRR_CITIZEN_JWKS_URI: 'https://c.example/jwks' };
    const production = { ...issuers, NODE_ENV: 'production', KRR_NOTIFIER: 'outbox', KRR_SIGNING_KEY_FILE: '/dev/null' };
    expect(() => loadConfig({ ...production, KRR_AGENCY_JWKS_URI: 'http://a.example/jwks' })).toThrow(/KRR_AGENCY_JWKS_URI must be https:\/\/ in production/);
    expect(() => loadConfig({ ...issuers, KRR_AGENCY_JWKS_URI: '/no/such/jwks.json' })).toThrow(/KRR_AGENCY_JWKS_URI: no such file/);
    expect(() => loadConfig({ ...production, KRR_AGENCY_JWKS_URI: 'https://a.example/jwks', KRR_NOTIFIER: undefined })).toThrow(/no SMS or email gateway is plugged in/);
    expect(loadConfig({ ...production, KRR_AGENCY_JWKS_URI: 'https://a.example/jwks' }).env).toBe('production');
    expect(() => loadConfig({ KRR_SUPERGRAPH_FILE: '/no/such/supergraph.graphql' })).toThrow(/KRR_SUPERGRAPH_FILE: no such file/);
  });

  it('reads PORT, HOST and KRR_DB_PATH and refuses a bad port', () => {
    expect(loadConfig({ PORT: '5000', HOST: '0.0.0.0', KRR_DB_PATH: '/tmp/x.sqlite' })).toMatchObject({ port: 5000, host: '0.0.0.0', dbPath: '/tmp/x.sqlite' });
    expect(() => loadConfig({ PORT: 'eighty' })).toThrow(/PORT must be a whole number/);
  });
});
