import net from 'node:net';
import { ChangesDocument, LookUpCertificatesDocument, LookUpEmailsDocument, LookUpIdsDocument, LookUpPeopleDocument, MyIdDocument, PingDocument } from '../generated/graphql';
import { requestBody } from '../support/operations';
import { syntheticIds, aPerson } from '../support/people';
import { createTestRegister, type TestRegister } from '../support/register';

const ids = syntheticIds(1000, 31);

async function started(env: Record<string, string> = {}) {
  const register = await createTestRegister(env);
  const base = await register.listen();
  const post = async (body: unknown, token?: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {
      /* not JSON: the assertions say so */
    }
    return { status: res.status, headers: res.headers, text, json };
  };
  return { register, base, post };
}

describe('what one operation may cost', () => {
  let ctx: Awaited<ReturnType<typeof started>>;
  let token: string;
  beforeAll(async () => {
    ctx = await started();
    await ctx.register.put(...ids.slice(0, 50).map((id) => aPerson(id)));
    token = await ctx.register.agencyToken();
  });
  afterAll(() => ctx.register.close());

  const auditRows = () => ctx.register.database.number('select count(*) n from lookup_audit');

  it('lets one lookup of 1000 people with every field through', async () => {
    const { status, json } = await ctx.post(requestBody(LookUpPeopleDocument, { ids }), token);
    expect(status).toBe(200);
    expect(json.errors).toBeUndefined();
    expect(json.data.persons).toHaveLength(1000);
  });

  it('counts people reached through _entities like persons: three batches of 1000 are refused', async () => {
    const reps = ids.map((id) => ({ __typename: 'Person', id }));
    // Raw on purpose: `_entities` is the gateway's entry point, in no schema the typed documents know; the second is three of them aliased, over the limit.
    const one = await ctx.post({ query: 'query($r: [_Any!]!) { _entities(representations: $r) { ... on Person { id status } } }', variables: { r: reps } }, token);
    expect(one.json.errors).toBeUndefined();
    const three = await ctx.post(
      { query: 'query($r: [_Any!]!) { a: _entities(representations: $r) { ... on Person { id } } b: _entities(representations: $r) { ... on Person { id } } c: _entities(representations: $r) { ... on Person { id } } }', variables: { r: reps } },
      token,
    );
    expect(three.json.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('refuses two aliased lookups of 1000 people, before any resolver runs', async () => {
    const audit = await auditRows();
    const statements = ctx.register.store.statements.count;
    // Raw on purpose: two aliased lookups, over the limit.
    const { status, json } = await ctx.post({ query: `query($ids: [String!]!) { a: persons(ids: $ids) { id } b: persons(ids: $ids) { id } }`, variables: { ids } }, token);
    expect(status).toBe(400);
    expect(json.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', max: 80000 });
    expect(json.data).toBeUndefined();
    expect(ctx.register.store.statements.count).toBe(statements);
    expect(await auditRows()).toBe(audit);
  });

  it('lets one change-feed page of 1000 with every field through, and refuses a page too large', async () => {
    const page = await ctx.post(requestBody(ChangesDocument, { after: 0, first: 1000 }), token);
    expect(page.json.errors).toBeUndefined();
    // Raw on purpose: two aliased pages, over the limit.
    const pages = await ctx.post({ query: `{ a: changes(after: 0) { entries { person { id } } } b: changes(after: 0) { entries { person { id } } } }` }, token);
    expect(pages.json.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('costs an operation by how many ids it is given, whichever ids (the cost is remembered per shape of the variables)', async () => {
    // Raw on purpose: two aliased lookups, within the limit for 100 ids and over it for 1000.
    const twice = `query($ids: [String!]!) { a: persons(ids: $ids) { id } b: persons(ids: $ids) { id } }`;
    const post = (variables: unknown) => ctx.post({ query: twice, variables }, token);
    expect((await post({ ids: ids.slice(0, 100) })).json.errors).toBeUndefined();
    expect((await post({ ids })).json.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
    const others = await post({ ids: ids.slice(500, 600) });
    expect(others.json.errors).toBeUndefined();
    expect(others.json.data.a.map((p: { id: string }) => p.id)).toEqual(ids.slice(500, 600));
    expect((await post({ ids: ids.slice(0, 1000) })).json.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
    // After good requests of 100 ids, 100 values that are no strings are still the caller's to fix.
    const numbers = await post({ ids: ids.slice(0, 100).map(Number) });
    expect(numbers.status).toBe(400);
    expect(numbers.json.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('refuses a variable named __proto__ (a reserved name), and takes a number JSON cannot write for what it is', async () => {
    // Raw on purpose: hostile variable names and numbers.
    const twice = `query($__proto__: [String!]!) { a: persons(ids: $__proto__) { id } b: persons(ids: $__proto__) { id } }`;
    for (const list of [ids.slice(0, 1), ids]) {
      const reserved = await ctx.post(`{"query": ${JSON.stringify(twice)}, "variables": {"__proto__": ${JSON.stringify(list)}}}`, token);
      expect(reserved.status).toBe(400);
      expect(reserved.json.errors[0]).toMatchObject({ message: expect.stringContaining('"$__proto__" is reserved'), extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });
    }
    const page = `query($f: Int!) { changes(after: 0, first: $f) { entries { person { id } } } }`;
    expect((await ctx.post({ query: page, variables: { f: 5 } }, token)).json.errors).toBeUndefined();
    const huge = await ctx.post(`{"query": ${JSON.stringify(page)}, "variables": {"f": 1e400}}`, token);
    expect(huge.status).toBe(400);
    expect(huge.json.errors[0].extensions.code).toBe('BAD_USER_INPUT');
  });

  it('counts ids given inline as well as in variables', async () => {
    const inline = JSON.stringify(ids);
    // Raw on purpose: 2000 ids written into the document, over the limit.
    const { json } = await ctx.post({ query: `{ a: persons(ids: ${inline}) { id } b: persons(ids: ${inline}) { id } }` }, token);
    expect(json.errors[0].extensions.code).toBe('QUERY_TOO_COMPLEX');
  });

  it('refuses an operation nested too deep, through fragments too', async () => {
    // Raw on purpose: both documents are shaped to probe the depth limit (through fragments, then one level over it).
    const { status, json } = await ctx.post(
      { query: `{ me { ...A } } fragment A on Person { contactInfo { email { ...B } } } fragment B on EmailContact { address }` },
      token,
    );
    expect(status).toBe(200); // 4 levels: fine
    expect(json.errors?.[0]?.extensions?.code).not.toBe('QUERY_TOO_DEEP');
    const ctxDeep = await started({ KRR_MAX_DEPTH: '3' });
    try {
      const refused = await ctxDeep.post({ query: `{ persons(ids: ["${ids[0]}"]) { contactInfo { email { address } } } }` }, await ctxDeep.register.agencyToken());
      expect(refused.status).toBe(400);
      expect(refused.json.errors[0].extensions).toMatchObject({ code: 'QUERY_TOO_DEEP', depth: 4, max: 3 });
    } finally {
      await ctxDeep.register.close();
    }
  });

  it('does not count introspection against the depth limit (GraphiQL must load)', async () => {
    // Raw on purpose: introspection nested deeper than the limit, as GraphiQL sends it.
    const { json } = await ctx.post({ query: '{ __schema { types { fields { type { ofType { ofType { ofType { ofType { name } } } } } } } } }' });
    expect(json.errors).toBeUndefined();
  });

  it('refuses too many aliases', async () => {
    // Raw on purpose (as the next two): a document built to exceed a limit.
    const query = `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: __typename`).join(' ')} }`;
    const { status, json } = await ctx.post({ query }, token);
    expect(status).toBe(400);
    expect(json.errors[0].extensions).toMatchObject({ code: 'TOO_MANY_ALIASES', aliases: 31, max: 30 });
  });

  it('survives fragments that spread each other exponentially', async () => {
    const levels = 30;
    const fragments = Array.from({ length: levels }, (_, i) =>
      i === levels - 1 ? `fragment F${i} on Query { __typename }` : `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`,
    ).join('\n');
    const { status, json } = await ctx.post({ query: `{ ...F0 }\n${fragments}` }, token);
    expect(status).toBeLessThan(500);
    expect(json.data ?? json.errors).toBeDefined();
  });

  it('refuses a document with too many tokens with TOO_MANY_TOKENS', async () => {
    const query = `{ ${'__typename '.repeat(10_001)} }`;
    const { status, json } = await ctx.post({ query }, token);
    expect(status).toBe(400);
    expect(json.errors[0].extensions.code).toBe('TOO_MANY_TOKENS');
  });
});

describe('what one HTTP request may be', () => {
  let ctx: Awaited<ReturnType<typeof started>>;
  beforeAll(async () => {
    ctx = await started({ KRR_MAX_BODY_BYTES: '4096', KRR_MAX_BATCH: '3' });
  });
  afterAll(() => ctx.register.close());

  it('refuses a body over the limit with 413 and a JSON error', async () => {
    // Raw on purpose (as the rest of this block): the request's size and shape are under test, not an operation.
    const { status, json } = await ctx.post({ query: `{ __typename }`, variables: { pad: 'x'.repeat(5000) } });
    expect(status).toBe(413);
    expect(json.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
  });

  /** Sockets of the requests below, each left unfinished on purpose: closed after each test. */
  const sockets: net.Socket[] = [];
  afterEach(() => sockets.splice(0).forEach((socket) => socket.destroy()));

  /**
   * Sends a request's head and `sent`, the start of its body, over a raw socket and never the
   * rest; resolves with the answer once it has come in whole (the answers here say their
   * Content-Length). Without an answer before the body ends, the test times out.
   */
  function unfinishedRequest(path: string, head: Record<string, string>, sent: string[]): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const url = new URL(ctx.base);
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(url.port), url.hostname);
      sockets.push(socket);
      let received = '';
      socket.setEncoding('utf8');
      socket.on('data', (data) => {
        received += data;
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        const [statusLine, ...lines] = received.slice(0, end).split('\r\n');
        const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
        const body = received.slice(end + 4);
        if (Buffer.byteLength(body) >= Number(headers['content-length'])) resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
      });
      socket.on('error', reject);
      const lines = Object.entries({ host: url.host, 'content-type': 'application/json', ...head }).map(([name, value]) => `${name}: ${value}\r\n`);
      socket.write(`POST ${path} HTTP/1.1\r\n${lines.join('')}\r\n`);
      for (const part of sent) socket.write(part);
    });
  }
  const tooLarge = {
    graphql: '{"errors":[{"message":"The request body is too large","extensions":{"code":"PAYLOAD_TOO_LARGE"}}]}',
    rest: '{"error":{"code":"PAYLOAD_TOO_LARGE","message":"The request body is too large"}}',
  };

  it.each([
    ['/graphql', tooLarge.graphql],
    ['/rest/v2/personer', tooLarge.rest],
  ])('refuses a body announced over the limit at once, before it is sent, with 413 and Connection: close (%s)', async (path, body) => {
    // Raw on purpose: 50 MB announced, 1 KiB of it sent; the rest never comes.
    const answer = await unfinishedRequest(path, { 'content-length': String(50 * 2 ** 20) }, [`{"query": "{ __typename }", "variables": {"x": "${'x'.repeat(1024)}`]);
    expect(answer).toMatchObject({ status: 413, headers: { connection: 'close' }, body });
  });

  it('closes a refused connection soon after, even while the client keeps sending', async () => {
    const url = new URL(ctx.base);
    // Half-open: the service's end of the answer does not end this side; it writes on.
    const socket = net.connect({ port: Number(url.port), host: url.hostname, allowHalfOpen: true });
    sockets.push(socket);
    socket.on('error', () => {}); // the client writes on after the close: EPIPE or ECONNRESET
    // Raw on purpose: 50 MB announced, then 1 KiB every 50 ms, for as long as the connection lasts.
    socket.write(`POST /graphql HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: ${50 * 2 ** 20}\r\n\r\n`);
    let answer = '';
    socket.on('data', (data) => (answer += data));
    const sending = setInterval(() => socket.writable && socket.write('x'.repeat(1024)), 50);
    try {
      await new Promise((resolve) => socket.once('close', resolve));
    } finally {
      clearInterval(sending);
    }
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
  });

  it.each([
    ['/graphql', tooLarge.graphql],
    ['/rest/v2/personer', tooLarge.rest],
  ])('refuses a chunked body as soon as it passes the limit, not when it ends (%s)', async (path, body) => {
    // Raw on purpose: chunks of 1 KiB, 5 of them past the 4096-byte limit, and no last chunk.
    const chunk = `400\r\n${'x'.repeat(1024)}\r\n`;
    const answer = await unfinishedRequest(path, { 'transfer-encoding': 'chunked' }, Array.from({ length: 5 }, () => chunk));
    expect(answer).toMatchObject({ status: 413, headers: { connection: 'close' }, body });
  });

  it('answers unreadable JSON with 400 and a JSON error, no stack trace', async () => {
    const { status, json, text } = await ctx.post('{"query": "{ __typename }"');
    expect(status).toBe(400);
    expect(json.errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(text).not.toMatch(/at .*\.js:\d+/);
  });

  it('takes a batch up to the limit and refuses a longer one', async () => {
    const ok = await ctx.post([{ query: '{ __typename }' }, { query: '{ __typename }' }, { query: '{ __typename }' }]);
    expect(ok.status).toBe(200);
    expect(ok.json).toHaveLength(3);
    const refused = await ctx.post(Array.from({ length: 4 }, () => ({ query: '{ __typename }' })));
    expect(refused.status).toBe(400);
    expect(refused.json.errors[0].extensions.code).toBe('BATCH_TOO_LARGE');
  });
});

describe('rate limits', () => {
  let ctx: Awaited<ReturnType<typeof started>>;
  beforeAll(async () => {
    ctx = await started({ KRR_RATE_LIMIT_PER_MINUTE: '3' });
  });
  afterAll(() => ctx.register.close());

  it('refuses an agency past its limit with 429, RATE_LIMITED and Retry-After, and leaves other agencies alone', async () => {
    const first = await ctx.register.agencyToken([], '974760673');
    for (let i = 0; i < 3; i++) expect((await ctx.post(requestBody(PingDocument), first)).status).toBe(200);
    const refused = await ctx.post(requestBody(PingDocument), first);
    expect(refused.status).toBe(429);
    expect(refused.json.errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // The same organisation with a new token is the same agency.
    expect((await ctx.post(requestBody(PingDocument), await ctx.register.agencyToken([], '974760673'))).status).toBe(429);
    expect((await ctx.post(requestBody(PingDocument), await ctx.register.agencyToken([], '889640782'))).status).toBe(200);
  });

  it('limits citizens per pid', async () => {
    const [a, b] = syntheticIds(2, 8);
    const tokenA = await ctx.register.citizenToken(a);
    for (let i = 0; i < 3; i++) await ctx.post(requestBody(MyIdDocument), tokenA);
    expect((await ctx.post(requestBody(MyIdDocument), tokenA)).status).toBe(429);
    expect((await ctx.post(requestBody(MyIdDocument), await ctx.register.citizenToken(b))).status).toBe(200);
  });

  it('counts refused tokens against the client address, so forging is not free', async () => {
    const fresh = await started({ KRR_RATE_LIMIT_PER_MINUTE: '3' });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await fresh.post(requestBody(PingDocument), 'forged.token.here')).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
    } finally {
      await fresh.register.close();
    }
  });

  it('counts refusals in /metrics', async () => {
    const refusals = async () => {
      const text = await (await fetch(`${ctx.base}/metrics`)).text();
      const of = (kind: string) => Number(new RegExp(`^krr_rate_limit_refusals_total\\{kind="${kind}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
      return { agency: of('agency'), citizen: of('citizen') };
    };
    const before = await refusals();
    // An agency and a citizen of this test's own, each one request past the limit of 3.
    const agency = await ctx.register.agencyToken([], '971526920');
    const citizen = await ctx.register.citizenToken(syntheticIds(1, 2001)[0]);
    for (let i = 0; i < 4; i++) await ctx.post(requestBody(PingDocument), agency);
    for (let i = 0; i < 4; i++) await ctx.post(requestBody(MyIdDocument), citizen);
    expect(await refusals()).toEqual({ agency: before.agency + 1, citizen: before.citizen + 1 });
  });
});

describe('production defaults', () => {
  it('turns introspection and GraphiQL off in production, and each can be switched back on', async () => {
    const env = { NODE_ENV: 'production', KRR_AGENCY_ISSUER: 'https://a.example/', KRR_AGENCY_JWKS_URI: '/dev/null', KRR_CITIZEN_ISSUER: 'https://c.example/', KRR_CITIZEN_JWKS_URI: '/dev/null', KRR_AUDIENCE: 'x', KRR_NOTIFIER: 'outbox', KRR_SIGNING_KEY_FILE: '/dev/null' };
    const { loadConfig } = await import('../../src/config');
    expect(loadConfig(env)).toMatchObject({ introspection: false, graphiql: false });
    expect(loadConfig({ ...env, KRR_INTROSPECTION: 'true', KRR_GRAPHIQL: 'on' })).toMatchObject({ introspection: true, graphiql: true });
    expect(() => loadConfig({ KRR_GRAPHIQL: 'maybe' })).toThrow(/KRR_GRAPHIQL must be true or false/);
  });

  it('refuses introspection and serves no GraphiQL when they are off', async () => {
    const ctx = await started({ KRR_INTROSPECTION: 'false', KRR_GRAPHIQL: 'false' });
    try {
      // Raw on purpose: introspection, and `_service` (federation's entry point, in no schema the typed documents know).
      const { json } = await ctx.post({ query: '{ __schema { queryType { name } } }' });
      expect(json.errors[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      // Nor the subgraph SDL, but to agencies (and the in-process gateway).
      const sdl = await ctx.post({ query: '{ _service { sdl } }' });
      expect(sdl.json.errors[0].extensions.code).toBe('FORBIDDEN');
      expect(sdl.text).not.toContain('type Person');
      const agency = await ctx.post({ query: '{ _service { sdl } }' }, await ctx.register.agencyToken([]));
      expect(agency.json.data._service.sdl).toContain('type Person');
      const page = await fetch(`${ctx.base}/graphql`, { headers: { accept: 'text/html' } });
      expect(page.headers.get('content-type')).not.toMatch(/html/);
    } finally {
      await ctx.register.close();
    }
  });
});

describe('unexpected errors', () => {
  it('reach the client as a generic message with an error id, and the log with the details', async () => {
    const ctx = await started();
    const token = await ctx.register.agencyToken();
    await ctx.register.put(aPerson(ids[0]));
    // The lookup's one read fails: its table is gone.
    await ctx.register.database.query('drop table person_lookup');
    try {
      const { json, text } = await ctx.post(requestBody(LookUpCertificatesDocument, { ids: [ids[0]] }), token);
      expect(json.errors?.[0]?.extensions?.code ?? text).toBe('INTERNAL_SERVER_ERROR');
      expect(json.errors[0].message).toMatch(/^Internal server error \(error id [0-9a-f-]{36}\)$/);
      expect(text).not.toMatch(/person_lookup|sqlite|postgres|relation|SELECT|select|at .*\.ts/i);
    } finally {
      await ctx.register.close();
    }
  });
});

describe('/metrics', () => {
  it('exposes requests, latency, errors, batch sizes and SQL statements per request', async () => {
    const ctx = await started();
    try {
      await ctx.register.put(aPerson(ids[0]));
      await ctx.post(requestBody(LookUpEmailsDocument, { ids: [ids[0], ids[1]] }), await ctx.register.agencyToken());
      await ctx.post(requestBody(LookUpIdsDocument, { ids: ['123'] }), await ctx.register.agencyToken());
      const text = await (await fetch(`${ctx.base}/metrics`)).text();
      expect(text).toContain('krr_graphql_requests_total{operation="persons",outcome="ok"} 1');
      expect(text).toContain('krr_graphql_requests_total{operation="persons",outcome="refused"} 1');
      expect(text).toContain('krr_graphql_errors_total{code="BAD_USER_INPUT"} 1');
      expect(text).toMatch(/krr_graphql_request_duration_seconds_count\{operation="persons"\} 2/);
      expect(text).toContain('krr_dataloader_batch_size_sum{loader="person"} 2');
      // The person read gives the contact points too (the read model): no batch of their own.
      expect(text).not.toContain('krr_dataloader_batch_size_count{loader="contactPoints"}');
      // One read of the read model and the audit append: 2 statements for the first request.
      expect(text).toMatch(/krr_sql_statements_per_request_bucket\{le="2"\} [12]/);
      expect(text).toContain('krr_process_resident_memory_bytes');
    } finally {
      await ctx.register.close();
    }
  });
});
