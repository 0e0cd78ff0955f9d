import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRandom } from '../../db/seed/generate';
import { LookUpStatusesDocument } from '../generated/graphql';
import { requestBody } from '../support/operations';
import { syntheticIds } from '../support/people';
import { startService, type RunningService } from '../support/service';

/**
 * Throws malformed and hostile requests at the running service. Every one must get a 4xx,
 * or a 200 whose errors all carry a code: never a 5xx, never a crash, the same answer every
 * time it is sent, and a body over the limit refused before it is read (so nothing buffers a
 * client's body without bound). How much memory the service uses, and whether it grows over
 * time, is measured by the benchmark (`npm run bench`: peak RSS under load, the soak's RSS
 * slope), not asserted here: a figure depends on the machine.
 */
let service: RunningService;
const ids = syntheticIds(1200, 606);

beforeAll(async () => {
  service = await startService({ KRR_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'krr-fuzz-')), KRR_SEED_COUNT: '200' });
}, 90_000);
afterAll(() => service?.child.kill('SIGKILL'));

interface Attempt {
  name: string;
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

const json = (value: unknown) => JSON.stringify(value);
const gql = (name: string, body: unknown, token?: string, headers: Record<string, string> = {}): Attempt => ({
  name,
  headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
  body: typeof body === 'string' ? body : json(body),
});

async function send(a: Attempt): Promise<{ status: number; text: string }> {
  const res = await fetch(`${service.base}${a.path ?? '/graphql'}`, { method: a.method ?? 'POST', headers: a.headers, body: (a.method === 'GET' ? undefined : a.body) as BodyInit | undefined });
  return { status: res.status, text: await res.text() };
}

/** A 4xx, or a 200 whose every error has a code. */
function acceptable(status: number, text: string): string | null {
  if (status >= 500) return `status ${status}: ${text.slice(0, 200)}`;
  if (status >= 400) return null;
  let body: { errors?: { extensions?: { code?: unknown } }[] } | { errors?: unknown }[];
  try {
    body = JSON.parse(text);
  } catch {
    return `200 that is not JSON: ${text.slice(0, 100)}`;
  }
  const results = Array.isArray(body) ? body : [body];
  for (const r of results) for (const e of (r.errors as { extensions?: { code?: unknown } }[]) ?? []) if (typeof e.extensions?.code !== 'string') return `error without a code: ${JSON.stringify(e)}`;
  return null;
}

/**
 * POSTs a JSON body of about `bytes` bytes to /graphql, streamed in 64 KiB chunks, with its
 * length announced in Content-Length or (`chunked`) not. The service may answer before the
 * body ends; then the rest is not sent.
 */
function streamedBody(bytes: number, chunked: boolean): Promise<{ status: number; body: string }> {
  const url = new URL(service.base);
  const chunk = Buffer.alloc(64 * 1024, 'x');
  // Raw on purpose: a body written by hand, to be streamed past the size limit.
  const head = Buffer.from('{"query": "{ __typename }", "variables": {"x": "');
  const tail = Buffer.from('"}}');
  const count = Math.ceil(bytes / chunk.length);
  const length = head.length + count * chunk.length + tail.length;
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: '/graphql',
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', ...(chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(length) }) },
      },
      (res) => {
        answered = true;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode!, body });
        });
      },
    );
    // Once it has answered, the service may close the connection while this side still writes.
    req.on('error', (error) => answered || reject(error));
    req.write(head);
    let written = 0;
    const more = () => {
      while (!answered && written < count) {
        written++;
        if (!req.write(chunk)) return void req.once('drain', more);
      }
      if (!answered) req.end(tail);
    };
    more();
  });
}

/** The service is up and answers an ordinary lookup in full. */
async function expectAnswersALookup(): Promise<void> {
  expect(service.child.exitCode).toBeNull();
  expect((await fetch(`${service.base}/healthz`)).status).toBe(200);
  const res = await fetch(`${service.base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${service.token}` },
    body: json(requestBody(LookUpStatusesDocument, { ids: ids.slice(0, 3) })),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { data: { persons: { id: string }[] }; errors?: unknown };
  expect(body.errors).toBeUndefined();
  expect(body.data.persons.map((p) => p.id)).toEqual(ids.slice(0, 3));
}

function hostileAttempts(agency: string, citizen: string, expired: string, otherPid: string): Attempt[] {
  const deepBraces = (n: number) => `{ ${'me { '.repeat(n)}id${' }'.repeat(n)} }`;
  const deepJson = (n: number) => '['.repeat(n) + ']'.repeat(n);
  // Raw on purpose, every one: the fuzz test's corpus of malformed and hostile requests.
  const list = [
    // Unreadable bodies and wrong content types.
    { name: 'truncated JSON', headers: { 'content-type': 'application/json' }, body: '{"query": "{ __typename }' },
    { name: 'binary garbage', headers: { 'content-type': 'application/json' }, body: Uint8Array.from({ length: 512 }, (_, i) => (i * 37) % 256) },
    { name: 'JSON nested 100k deep', headers: { 'content-type': 'application/json' }, body: deepJson(100_000) },
    { name: 'JSON number as body', headers: { 'content-type': 'application/json' }, body: '42' },
    { name: 'JSON null', headers: { 'content-type': 'application/json' }, body: 'null' },
    { name: 'text/plain', headers: { 'content-type': 'text/plain' }, body: json({ query: '{ __typename }' }) },
    { name: 'form encoded', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'query=%7B__typename%7D' },
    { name: 'multipart', headers: { 'content-type': 'multipart/form-data; boundary=x' }, body: '--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{}\r\n--x--' },
    { name: 'no content type', headers: {}, body: json({ query: '{ __typename }' }) },
    { name: 'wrong charset', headers: { 'content-type': 'application/json; charset=utf-16' }, body: json({ query: '{ __typename }' }) },
    { name: 'PUT', method: 'PUT', headers: { 'content-type': 'application/json' }, body: json({ query: '{ __typename }' }) },
    { name: 'DELETE', method: 'DELETE', headers: {} },
    { name: 'GET mutation', method: 'GET', path: `/graphql?query=${encodeURIComponent('mutation { setReservation(reserved: true) { id } }')}`, headers: { 'apollo-require-preflight': 'true' } },
    { name: 'GET without preflight', method: 'GET', path: `/graphql?query=${encodeURIComponent('{ __typename }')}`, headers: {} },
    { name: 'body over the limit', headers: { 'content-type': 'application/json' }, body: json({ query: '{ __typename }', variables: { x: 'x'.repeat(400_000) } }) },
    { name: 'huge header', headers: { 'content-type': 'application/json', 'x-junk': 'x'.repeat(20_000) }, body: json({ query: '{ __typename }' }) },
    // GraphQL documents that are wrong or too much.
    gql('empty query', { query: '' }),
    gql('query not a string', { query: { a: 1 } }),
    gql('variables not an object', { query: '{ __typename }', variables: [1, 2] }),
    gql('unknown field', { query: '{ nope }' }, agency),
    gql('unknown argument', { query: `{ persons(ids: ["${ids[0]}"], all: true) { id } }` }, agency),
    gql('deep braces', { query: deepBraces(2000) }, agency),
    gql('deep nesting within the schema', { query: `{ persons(ids: ["${ids[0]}"]) { contactInfo { email { address } } } }`.replace('address', 'address __typename') }, agency),
    gql('many aliases', { query: `{ ${Array.from({ length: 500 }, (_, i) => `a${i}: __typename`).join(' ')} }` }, agency),
    gql('many tokens', { query: `{ ${'__typename '.repeat(20_000)} }` }, agency),
    gql('huge string argument', { query: `{ person(id: "${'9'.repeat(200_000)}") { id } }` }, agency),
    gql('wrong variable type', { query: 'query($ids: [String!]!) { persons(ids: $ids) { id } }', variables: { ids: 12345678901 } }, agency),
    gql('null in a non-null list', { query: 'query($ids: [String!]!) { persons(ids: $ids) { id } }', variables: { ids: [null] } }, agency),
    gql('1001 ids', { query: 'query($ids: [String!]!) { persons(ids: $ids) { id } }', variables: { ids: ids.slice(0, 1001) } }, agency),
    gql('1200 ids inline', { query: `{ persons(ids: ${json(ids)}) { id } }` }, agency),
    gql('two lookups of 1000', { query: 'query($ids: [String!]!) { a: persons(ids: $ids) { id } b: persons(ids: $ids) { id } }', variables: { ids: ids.slice(0, 1000) } }, agency),
    gql('invalid ids', { query: 'query($ids: [String!]!) { persons(ids: $ids) { id } }', variables: { ids: ['', 'x', '1'.repeat(11), '\u0000', '<script>'] } }, agency),
    gql('unknown operation name', { query: '{ __typename }', operationName: 'Nope' }, agency),
    gql('two operations without a name', { query: 'query A { __typename } query B { __typename }' }, agency),
    gql('fragment cycle', { query: '{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }' }, agency),
    gql('subscription', { query: 'subscription { me { id } }' }, citizen),
    gql('batch', [{ query: '{ __typename }' }, { query: '{ __typename }' }], agency),
    // Tokens that must not get in, and a citizen aiming at someone else.
    gql('forged token', { query: '{ me { id } }' }, `${citizen.slice(0, -10)}AAAAAAAAAA`),
    gql('expired token', { query: 'mutation { setReservation(reserved: true) { id } }' }, expired),
    gql('alg none', { query: '{ me { id } }' }, `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(json({ pid: otherPid })).toString('base64url')}.`),
    gql('garbage token', { query: '{ __typename }' }, 'a.b.c'),
    gql('basic auth', { query: '{ __typename }' }, undefined, { authorization: 'Basic YTpi' }),
    gql('citizen reads another', { query: `{ person(id: "${otherPid}") { contactInfo { email { address } } } }` }, citizen),
    gql('citizen writes another', { query: `mutation { setReservation(reserved: true, pid: "${otherPid}") { id } }` }, citizen),
    gql('citizen input with id', { query: 'mutation($i: UpdateContactInfoInput!) { updateContactInfo(input: $i) { id } }', variables: { i: { email: 'a@example.org', pid: otherPid } } }, citizen),
    gql('agency runs a mutation', { query: 'mutation { deleteContactInfo { id } }' }, agency),
    gql('bad email', { query: 'mutation { updateContactInfo(input: { email: "a@@b" }) { id } }' }, citizen),
    gql('huge email', { query: 'mutation($e: String!) { updateContactInfo(input: { email: $e }) { id } }', variables: { e: `${'a'.repeat(100_000)}@example.org` } }, citizen),
    gql('bad code', { query: 'mutation { verifyContact(channel: EMAIL, code: "x".repeat) { id } }' }, citizen),
    gql('unknown enum', { query: 'mutation { setLanguage(language: KLINGON) { id } }' }, citizen),
  ];
  return list;
}

/** Valid documents with random bytes flipped, deleted or doubled: a small mutation fuzzer. */
function mutatedAttempts(count: number, agency: string, citizen: string): Attempt[] {
  const random = createRandom(2026);
  // Raw on purpose: the fuzzer edits the documents' text byte by byte.
  const seeds = [
    { q: `query($ids: [String!]!) { persons(ids: $ids) { id status contactInfo { email { address usableForNotification } } digitalMailbox { address } } }`, v: { ids: ids.slice(0, 20) }, t: agency },
    { q: `mutation($i: UpdateContactInfoInput!) { updateContactInfo(input: $i) { id contactInfo { mobile { number } } } }`, v: { i: { mobile: '91234567' } }, t: citizen },
    { q: `{ me { id lookups(first: 5) { edges { cursor node { agencyOrgNumber } } } } }`, v: {}, t: citizen },
  ];
  const alphabet = '{}()[]:$!@#"\\,. \n\t0123456789abcxyz_-=';
  const out: Attempt[] = [];
  for (let i = 0; i < count; i++) {
    const seed = seeds[i % seeds.length];
    const body = json({ query: seed.q, variables: seed.v }).split('');
    const edits = 1 + Math.floor(random() * 4);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(random() * body.length);
      const op = random();
      if (op < 0.4) body[at] = alphabet[Math.floor(random() * alphabet.length)];
      else if (op < 0.7) body.splice(at, 1);
      else body.splice(at, 0, body[at] ?? '');
    }
    out.push(gql(`mutated #${i}`, body.join(''), seed.t));
  }
  return out;
}

describe('fuzzing the running service', () => {
  it('answers every hostile request with a 4xx or a coded GraphQL error, the same each round, never a 5xx or a crash', async () => {
    const agency = service.token;
    const { loadOrCreateDevKey } = await import('../../src/auth/keys');
    const { mintDevToken } = await import('../../src/auth/tokens');
    const { loadConfig } = await import('../../src/config');
    const dataDir = /tokens are signed with the local key in (\S+)\/dev-signing-key\.json/.exec(service.output())![1];
    const config = loadConfig({ KRR_DATA_DIR: dataDir });
    if (config.auth.mode !== 'development') throw new Error('expected development mode');
    const key = await loadOrCreateDevKey(config.auth.keyFile);
    const citizen = await mintDevToken(config.auth, key, { citizen: { pid: ids[1100] } });
    const expired = await mintDevToken(config.auth, key, { citizen: { pid: ids[1100] } }, -60);

    const attempts = [...hostileAttempts(agency, citizen, expired, ids[1101]), ...mutatedAttempts(600, agency, citizen)];
    const problems: string[] = [];
    const statuses = new Map<number, number>();
    // Rounds of the whole set, eight in flight at a time: later rounds meet the caches the
    // first filled (parsed documents, compiled plans), and must be answered as the first was.
    const firstAnswer = new Map<Attempt, number>();
    const rounds = Number(process.env.FUZZ_ROUNDS ?? 6);
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < attempts.length; i += 8) {
        await Promise.all(
          attempts.slice(i, i + 8).map(async (a) => {
            const { status, text } = await send(a).catch((e: Error) => ({ status: 599, text: `request failed: ${e.message}` }));
            statuses.set(status, (statuses.get(status) ?? 0) + 1);
            const problem = acceptable(status, text);
            if (problem) problems.push(`${a.name}: ${problem}`);
            if (!firstAnswer.has(a)) firstAnswer.set(a, status);
            else if (firstAnswer.get(a) !== status) problems.push(`${a.name}: ${status} in round ${round + 1}, ${firstAnswer.get(a)} in round 1`);
          }),
        );
      }
    }
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    console.log(`fuzz: ${total} requests (${attempts.length} kinds x ${rounds} rounds): ${[...statuses.entries()].sort().map(([s, n]) => `${n} x ${s}`).join(', ')}`);
    expect(problems).toEqual([]);
    await expectAnswersALookup();
  }, 120_000);

  // The default limit is 256 KiB (KRR_MAX_BODY_BYTES); each body here is 400 times that,
  // and four arrive at once. The body parser discards what it reads past the limit.
  it.each([
    ['announced in Content-Length', false],
    ['chunked, of no stated length', true],
  ])('refuses bodies of 100 MB (%s) with 413 and keeps answering', async (_, chunked) => {
    const answers = await Promise.all(Array.from({ length: 4 }, () => streamedBody(100 * 2 ** 20, chunked)));
    for (const res of answers) {
      expect(res.status).toBe(413);
      expect(JSON.parse(res.body).errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    }
    await expectAnswersALookup();
  }, 60_000);
});
