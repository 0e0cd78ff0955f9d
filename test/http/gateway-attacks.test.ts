import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose';
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config';
import { createRegisterGateway } from '../../src/gateway';
import { registerOwnershipProblems } from '../../src/gateway/ownership';
import { jwtGrantCredential } from '../../src/gateway/source-credentials';
import { buildSubgraphRegisterSchema, printRegisterSubgraph } from '../../src/graphql/subgraph';
import { createLogger } from '../../src/logger';
import { CertificatesOnlyDocument, MyReservationDocument } from '../generated/graphql';
import { LETTERS_OF_A_SOURCE, OVERRIDING_SOURCE, startHostileSource, type HostileSource } from '../support/hostile-source';
import { requestBody } from '../support/operations';
import { aPerson, syntheticIds } from '../support/people';
import { createTestRegister, type TestRegister } from '../support/register';
import { TEST_SIGNING_KEY_FILE } from '../support/keys';

/**
 * What a source of the graph could do to the register in gateway mode, tried: take over the
 * register's fields (issue 14, finding 1), and replay what the gateway sends it (finding 2).
 */
const REGISTER_SDL = printRegisterSubgraph();
const people = syntheticIds(2, 933);
const dir = mkdtempSync(path.join(os.tmpdir(), 'krr-gateway-attacks-'));

function supergraphOf(sources: Record<string, string>, registerSdl = REGISTER_SDL): string {
  const result = composeServices([
    { name: 'register', url: 'http://register.internal/graphql', typeDefs: parse(registerSdl) },
    ...Object.entries(sources).map(([name, sdl]) => ({ name, url: `https://${name}.internal/graphql`, typeDefs: parse(sdl) })),
  ]);
  if (result.errors) throw new Error(result.errors.map((e) => e.message).join('\n'));
  return result.supergraphSdl;
}

const fed = (imports: string, body: string) => `extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: [${imports}])\n${body}`;
/** A register SDL edited so that composition lets another source share its certificate: what a hand-made supergraph file could hold. */
const SHARING_REGISTER = REGISTER_SDL.replace('import: ["@key"]', 'import: ["@key", "@shareable"]').replace(/(\n  certificate: String)/, '$1 @shareable');

/**
 * `query`: the register's own operations as typed documents (`requestBody`); raw strings on
 * purpose where they ask for a hostile source's fields (letters, notices, probe), which no
 * schema the typed documents are checked against holds.
 */
async function post(base: string, query: string | { query: string; variables?: unknown }, token?: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify(typeof query === 'string' ? { query } : query),
  });
  return (await res.json()) as { data?: any; errors?: { message: string; extensions?: Record<string, unknown> }[] };
}

describe('a source that takes over the register\u2019s fields', () => {
  it('accepts a source that only points at people and adds fields of its own', () => {
    const own = fed('"@key"', 'type Person @key(fields: "id") { id: String! letterCount: Int }\ntype Query { cases: [String] }');
    expect(registerOwnershipProblems(supergraphOf({ letters: LETTERS_OF_A_SOURCE, cases: own }), REGISTER_SDL)).toEqual([]);
  });

  it.each([
    ['@override of Person.certificate', OVERRIDING_SOURCE, 'source "evil" overrides Person.certificate'],
    ['@override of the lookup itself', fed('"@key", "@override"', 'type Person @key(fields: "id") { id: String! }\ntype Query { persons(ids: [String!]!): [Person!]! @override(from: "register") }'), 'source "evil" resolves Query.persons'],
    ['@requires of contact information', fed('"@key", "@external", "@requires"', 'type Person @key(fields: "id") { id: String! contactInfo: ContactInfo @external hint: String @requires(fields: "contactInfo { email { address } }") }\ntype ContactInfo { email: EmailContact @external }\ntype EmailContact { address: String! @external }\ntype Query { hints: [String] }'), 'source "evil" requires Person.contactInfo'],
    ['values added to the register\u2019s enum', fed('', 'enum PersonStatus { ACTIVE DELETED NOT_REGISTERED FROZEN }\ntype Query { statusOfTheDay: PersonStatus }'), "source \"evil\" adds FROZEN to the register's enum PersonStatus"],
  ])('refuses %s, naming the source and the field', (_what, sdl, problem) => {
    expect(registerOwnershipProblems(supergraphOf({ evil: sdl }), REGISTER_SDL).join('\n')).toContain(problem);
  });

  it('refuses a hand-made supergraph in which a source resolves or @provides the register\u2019s certificate', () => {
    const resolving = fed('"@key", "@shareable"', 'type Person @key(fields: "id") { id: String! certificate: String @shareable }\ntype Query { letters: [Person] }');
    expect(registerOwnershipProblems(supergraphOf({ evil: resolving }, SHARING_REGISTER), REGISTER_SDL)).toEqual(
      expect.arrayContaining(['source "evil" resolves Person.certificate: only the register answers its fields']),
    );
    const providing = fed('"@key", "@external", "@provides"', 'type Person @key(fields: "id") { id: String! certificate: String @external }\ntype Letter { id: ID! recipient: Person @provides(fields: "certificate") }\ntype Query { letters: [Letter] }');
    expect(registerOwnershipProblems(supergraphOf({ evil: providing }, SHARING_REGISTER), REGISTER_SDL).join('\n')).toContain(
      'source "evil" provides Person.certificate (@provides on Letter.recipient)',
    );
  });

  it('refuses a supergraph composed from another register schema', () => {
    const stale = REGISTER_SDL.replace(/\n  """[^"]*sertifikat[^]*?"""\n  certificate: String\n/, '\n');
    expect(stale).not.toContain('certificate: String');
    expect(registerOwnershipProblems(supergraphOf({ letters: LETTERS_OF_A_SOURCE }, stale), REGISTER_SDL).join('\n')).toContain("the supergraph's register does not answer Person.certificate");
  });

  it('does not start from an overriding source (KRR_SUBGRAPHS) or an overriding supergraph file', async () => {
    const evil = await startHostileSource({ sdl: OVERRIDING_SOURCE, recipients: people });
    try {
      await expect(createTestRegister({ KRR_SUBGRAPHS: `evil=${evil.url}` })).rejects.toThrow(/source "evil" overrides Person\.certificate/);
    } finally {
      await evil.stop();
    }
    const file = path.join(dir, 'evil-supergraph.graphql');
    writeFileSync(file, supergraphOf({ evil: OVERRIDING_SOURCE }));
    await expect(createTestRegister({ KRR_SUPERGRAPH_FILE: file })).rejects.toThrow(/source "evil" overrides Person\.certificate/);

    // The same source with a harmless SDL, composed ahead of time, is served from the file.
    const letters = await startHostileSource({ sdl: LETTERS_OF_A_SOURCE, recipients: people });
    const good = path.join(dir, 'good-supergraph.graphql');
    writeFileSync(good, supergraphOf({ letters: LETTERS_OF_A_SOURCE }).replace('https://letters.internal/graphql', letters.url));
    const register = await createTestRegister({ KRR_SUPERGRAPH_FILE: good });
    try {
      const base = await register.listen();
      expect((await post(base, '{ letters { title } }', await register.agencyToken())).data?.letters[0]).toEqual({ title: 'Decision 1' });
    } finally {
      await register.close();
      await letters.stop();
    }
  }, 30_000);

  it('keeps the graph in service when a source turns to overriding at a recomposition, and takes a harmless change', async () => {
    const source = await startHostileSource({ sdl: LETTERS_OF_A_SOURCE, recipients: people });
    const register = await createTestRegister({ KRR_SUBGRAPHS: `letters=${source.url}`, KRR_SUBGRAPH_POLL_SECONDS: '1' });
    try {
      await register.put(aPerson(people[0]));
      const base = await register.listen();
      const token = await register.agencyToken();
      const lookup = requestBody(CertificatesOnlyDocument, { ids: [people[0]] });
      source.setSdl(OVERRIDING_SOURCE);
      // Several polls go by; the refused graph is never served.
      await new Promise((r) => setTimeout(r, 3500));
      expect((await post(base, '{ probe }', token)).errors?.[0].extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect((await post(base, lookup, token)).data).toEqual({ persons: [{ certificate: 'MIIBsynthetic' }] });
      // A harmless change of the same source is taken at the next poll.
      source.setSdl(LETTERS_OF_A_SOURCE.replace('letters: [Letter!]', 'letters: [Letter!] notices: [String]'));
      let notices: unknown;
      for (let i = 0; i < 40 && notices === undefined; i++) {
        await new Promise((r) => setTimeout(r, 250));
        notices = (await post(base, '{ notices }', token)).data?.notices;
      }
      expect(notices).toEqual(['notice']);
      expect((await post(base, lookup, token)).data).toEqual({ persons: [{ certificate: 'MIIBsynthetic' }] });
    } finally {
      await register.close();
      await source.stop();
    }
  }, 30_000);

  it('in production composes only from a supergraph file, and only with https:// sources', async () => {
    const production = {
      NODE_ENV: 'production',
      KRR_NOTIFIER: 'outbox',
      KRR_DATA_DIR: dir,
      KRR_AGENCY_ISSUER: 'https://maskinporten.example',
      KRR_AGENCY_JWKS_URI: 'https://maskinporten.example/jwks',
      KRR_CITIZEN_ISSUER: 'https://idporten.example',
      KRR_CITIZEN_JWKS_URI: 'https://idporten.example/jwks',
      KRR_AUDIENCE: 'krr',
      KRR_SIGNING_KEY_FILE: TEST_SIGNING_KEY_FILE,
    };
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ ...production, ...env });
        return [];
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        return error.problems;
      }
    };
    expect(problems({ KRR_SUBGRAPHS: 'letters=https://letters.internal/graphql' }).join('\n')).toMatch(/only a supergraph composed ahead of time: set KRR_SUPERGRAPH_FILE.*KRR_ALLOW_RUNTIME_COMPOSITION=true/);
    expect(problems({ KRR_SUBGRAPHS: 'letters=https://letters.internal/graphql', KRR_ALLOW_RUNTIME_COMPOSITION: 'true' })).toEqual([]);
    expect(problems({ KRR_SUBGRAPHS: 'letters=http://letters.internal/graphql', KRR_ALLOW_RUNTIME_COMPOSITION: 'true' }).join('\n')).toContain('must be https:// in production');

    const file = path.join(dir, 'plain-http-supergraph.graphql');
    writeFileSync(file, supergraphOf({ letters: LETTERS_OF_A_SOURCE }).replace('https://letters.internal', 'http://letters.internal'));
    const config = loadConfig({ ...production, KRR_SUPERGRAPH_FILE: file });
    const { gateway } = createRegisterGateway(buildSubgraphRegisterSchema(), config.gateway!, createLogger('silent'));
    await expect(gateway.load()).rejects.toThrow(/the source "letters" is at http:\/\/letters\.internal\/graphql: sources must be https:\/\/ in production/);
  });
});

/** A token endpoint of the kind Maskinporten is: checks the gateway's signed assertion, answers a short-lived token. */
async function startTokenEndpoint(clientJwks: { keys: object[] }) {
  const assertions: Record<string, unknown>[] = [];
  let failing = false;
  let issued = 0;
  const keys = createLocalJWKSet(clientJwks as never);
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', async () => {
      const form = new URLSearchParams(body);
      res.setHeader('content-type', 'application/json');
      try {
        if (failing || form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') throw new Error('invalid_grant');
        const { payload } = await jwtVerify(form.get('assertion') ?? '', keys, { audience: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, issuer: 'krr-gateway-client' });
        assertions.push(payload);
        res.end(JSON.stringify({ access_token: `granted-${++issued}`, token_type: 'Bearer', expires_in: 120, scope: payload.scope }));
      } catch {
        res.statusCode = 400;
        res.end(JSON.stringify({ error: 'invalid_grant' }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`,
    assertions,
    fail: () => void (failing = true),
    stop: () => new Promise<void>((resolve) => (server.close(() => resolve()), server.closeAllConnections())),
  };
}

const NOTICES = fed('', 'type Query { notices: [String] }');
const isRefused = (r: HostileSource['replays'][number]) => r.status === 401 || r.body.errors?.[0]?.extensions?.code === 'UNAUTHENTICATED';

describe('a source that replays what it receives', () => {
  it('by default gets none of the caller\u2019s headers, so it has no agency\u2019s or citizen\u2019s token to replay', async () => {
    const source = await startHostileSource({ sdl: LETTERS_OF_A_SOURCE, recipients: people });
    const gateway = await createTestRegister({ KRR_SUBGRAPHS: `letters=${source.url}` });
    try {
      await gateway.put(aPerson(people[0]));
      const base = await gateway.listen();
      source.replayAgainst(`${base}/graphql`);
      const agency = await gateway.agencyToken();
      const across = await post(base, '{ letters { title recipient { id status } } }', agency, { cookie: 'session=secret', 'x-api-key': 'k-123' });
      expect(across.errors).toBeUndefined();
      expect(across.data.letters[0].recipient).toEqual({ id: people[0], status: 'ACTIVE' });
      const citizen = await post(base, '{ letters { title } me { id } }', await gateway.citizenToken(people[0]));
      expect(citizen.data.letters[0].title).toBe('Decision 1');
      expect(JSON.stringify(source.received)).not.toContain(agency);
      expect(source.received.every((h) => h.authorization === undefined && h.cookie === undefined && h['x-api-key'] === undefined)).toBe(true);
      // What it had, replayed at the register, reaches nobody's data and changes nothing.
      expect(source.replays.every(isRefused)).toBe(true);
      const me = await post(base, requestBody(MyReservationDocument), await gateway.citizenToken(people[0]));
      expect(me.data.me.reservation.reserved).toBe(false);
      expect(await gateway.database.number('select count(*) n from lookup_audit where person_id = ?', people[0])).toBe(1);
    } finally {
      await gateway.close();
      await source.stop();
    }
  }, 30_000);

  it('configured, gets only the listed headers, the gateway\u2019s own tokens and a signed caller identity: none of them opens the register', async () => {
    const letters = await startHostileSource({ sdl: LETTERS_OF_A_SOURCE, recipients: people });
    const notices = await startHostileSource({ sdl: NOTICES });
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const clientKeyFile = path.join(dir, 'client-key.json');
    writeFileSync(clientKeyFile, JSON.stringify({ ...(await exportJWK(privateKey)), alg: 'RS256', kid: 'gw-1' }));
    const tokens = await startTokenEndpoint({ keys: [{ ...(await exportJWK(publicKey)), alg: 'RS256', kid: 'gw-1' }] });
    const tokenFile = path.join(dir, 'letters-token');
    writeFileSync(tokenFile, 'gateway-own-token-1\n');
    const sourcesFile = path.join(dir, 'sources.json');
    writeFileSync(
      sourcesFile,
      JSON.stringify({
        letters: { forwardHeaders: ['X-Request-Id'], token: { file: tokenFile }, callerIdentity: true },
        notices: { token: { jwtGrant: { tokenUrl: tokens.url, issuer: 'krr-gateway-client', scope: 'notices:read', keyFile: clientKeyFile } } },
      }),
    );
    const gateway = await createTestRegister({ KRR_SUBGRAPHS: `letters=${letters.url},notices=${notices.url}`, KRR_SOURCES_FILE: sourcesFile, KRR_SUBGRAPH_TIMEOUT_MS: '3000' });
    try {
      await gateway.put(aPerson(people[0]));
      const base = await gateway.listen();
      letters.replayAgainst(`${base}/graphql`);
      notices.replayAgainst(`${base}/graphql`);
      const agency = await gateway.agencyToken();
      const headers = { 'x-request-id': 'req-42', cookie: 'session=secret' };
      expect((await post(base, '{ letters { recipient { status } } notices }', agency, headers)).data).toEqual({ letters: [{ recipient: { status: 'ACTIVE' } }, { recipient: { status: 'NOT_REGISTERED' } }], notices: ['notice'] });
      expect((await post(base, '{ notices }', agency)).data).toEqual({ notices: ['notice'] });

      const got = letters.received.find((h) => h['x-request-id'] === 'req-42')!;
      expect(got.authorization).toBe('Bearer gateway-own-token-1');
      expect(got.cookie).toBeUndefined();
      const jwks = createLocalJWKSet(await (await fetch(`${base}/gateway/jwks.json`)).json());
      const { payload } = await jwtVerify(String(got['krr-caller']), jwks, { issuer: 'urn:krr:gateway', audience: 'urn:krr:source:letters' });
      expect(payload).toMatchObject({ krr_kind: 'agency', consumer: '0192:991825827' });
      expect(String(payload.scope).split(' ')).toContain('krr:global/kontaktinformasjon.read');
      expect(payload.exp! - payload.iat!).toBe(60);

      // The JWT-bearer grant: one assertion for both requests, the granted token sent, not the caller's.
      expect(tokens.assertions).toHaveLength(1);
      expect(tokens.assertions[0]).toMatchObject({ scope: 'notices:read' });
      expect((tokens.assertions[0].exp as number) - (tokens.assertions[0].iat as number)).toBeLessThanOrEqual(120);
      expect(notices.received.filter((h) => h.authorization !== undefined).every((h) => h.authorization === 'Bearer granted-1')).toBe(true);
      expect(JSON.stringify([...letters.received, ...notices.received])).not.toContain(agency);

      // Everything the sources got, replayed at the register, is refused.
      expect(letters.replays.length + notices.replays.length).toBeGreaterThan(0);
      expect([...letters.replays, ...notices.replays].every(isRefused)).toBe(true);
      expect(await gateway.database.number('select count(*) n from lookup_audit where person_id = ?', people[0])).toBe(1);

      // A citizen is named to the source only by the gateway's statement.
      await post(base, '{ letters { title } }', await gateway.citizenToken(people[1]));
      const citizenCall = (await jwtVerify(String(letters.received.at(-1)!['krr-caller']), jwks, { audience: 'urn:krr:source:letters' })).payload;
      expect(citizenCall).toMatchObject({ krr_kind: 'citizen', pid: people[1] });

      // A rotated token file is picked up; a token that cannot be had makes the source unavailable, not tokenless.
      writeFileSync(tokenFile, 'gateway-own-token-22\n');
      await post(base, '{ letters { title } }', agency);
      expect(letters.received.at(-1)!.authorization).toBe('Bearer gateway-own-token-22');
      writeFileSync(tokenFile, '');
      const before = letters.received.length;
      const down = await post(base, `{ letters { title } persons(ids: ["${people[0]}"]) { status } }`, agency);
      expect(down.errors?.[0].extensions).toMatchObject({ code: 'SOURCE_UNAVAILABLE', source: 'letters' });
      expect(down.data).toEqual({ letters: null, persons: [{ status: 'ACTIVE' }] });
      expect(letters.received.length).toBe(before);
    } finally {
      await gateway.close();
      await Promise.all([letters.stop(), notices.stop(), tokens.stop()]);
    }
  }, 40_000);

  it('renews a granted token before it expires and gives none when the token endpoint refuses', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const keyFile = path.join(dir, 'client-key-es.json');
    writeFileSync(keyFile, JSON.stringify({ ...(await exportJWK(privateKey)), alg: 'ES256', kid: 'gw-2' }));
    const tokens = await startTokenEndpoint({ keys: [{ ...(await exportJWK(publicKey)), alg: 'ES256', kid: 'gw-2' }] });
    let clock = Date.now();
    const credential = jwtGrantCredential(
      { kind: 'jwt-grant', tokenUrl: tokens.url, issuer: 'krr-gateway-client', audience: `${new URL(tokens.url).origin}/`, scope: 'notices:read', resource: null, keyFile, keyId: null },
      3000,
      () => clock,
    );
    try {
      const [a, b] = await Promise.all([credential.authorization(), credential.authorization()]);
      expect([a, b]).toEqual(['Bearer granted-1', 'Bearer granted-1']);
      clock += 89_000;
      expect(await credential.authorization()).toBe('Bearer granted-1');
      clock += 2_000; // 30 s before expiry: renewed
      expect(await credential.authorization()).toBe('Bearer granted-2');
      expect(tokens.assertions).toHaveLength(2);
      tokens.fail();
      clock += 100_000;
      await expect(credential.authorization()).rejects.toThrow(/answered 400 \(invalid_grant\) without an access token/);
    } finally {
      await tokens.stop();
    }
  });

  it('refuses sources settings that are wrong, each with its reason', () => {
    const file = path.join(dir, 'bad-sources.json');
    writeFileSync(file, JSON.stringify({ letters: { forwardHeader: ['x'], forwardHeaders: ['host', 'bad header'], token: { file: tokenPath() }, callerIdentity: 'yes' }, ghost: {}, register: {} }));
    let problems: string[] = [];
    try {
      loadConfig({ KRR_DATA_DIR: dir, KRR_SUBGRAPHS: 'letters=http://letters.internal/graphql', KRR_SOURCES_FILE: file });
    } catch (error) {
      problems = (error as ConfigError).problems;
    }
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('"letters": unknown setting "forwardHeader"'),
        expect.stringContaining('"host" belongs to the connection or the gateway'),
        expect.stringContaining('"bad header" is not a header name'),
        expect.stringContaining('"letters".callerIdentity must be true or false'),
        expect.stringContaining('"ghost" is not in KRR_SUBGRAPHS'),
        expect.stringContaining('"register" is the register itself'),
      ]),
    );
  });
});

function tokenPath(): string {
  const file = path.join(dir, 'some-token');
  writeFileSync(file, 't\n');
  return file;
}
