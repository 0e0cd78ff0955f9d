import { GraphQLError } from 'graphql';
import { Writable } from 'node:stream';
import { ClientError, ErrorCode, refused, unauthenticated } from '../../src/errors';
import { answeredRefusal, CLIENT_ERROR_CODES, formatGraphQLError, HTTP_STATUS, httpRefusalOf } from '../../src/http/client-errors';
import { createLogger } from '../../src/logger';
import { LatestChangeNumberDocument, LookUpIdsDocument } from '../generated/graphql';
import { requestBody } from '../support/operations';
import { syntheticIds } from '../support/people';
import { createTestRegister, type TestRegister } from '../support/register';

const [pid] = syntheticIds(1, 16);
const ERROR_ID = /^Internal server error \(error id ([0-9a-f-]{36})\)$/;

/** A logger whose lines a test reads back. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  return { logger: createLogger('error', destination), lines };
}

describe('the mapping of an error to what a client sees', () => {
  it('gives every code an HTTP status of a refusal and lets no internal error through the allow-list', () => {
    expect(Object.keys(HTTP_STATUS).sort()).toEqual(Object.values(ErrorCode).sort());
    for (const status of Object.values(HTTP_STATUS)) expect(status >= 400 && status < 600).toBe(true);
    expect(CLIENT_ERROR_CODES.has(ErrorCode.INTERNAL_SERVER_ERROR)).toBe(false);
    expect(CLIENT_ERROR_CODES.has('GRAPHQL_VALIDATION_FAILED')).toBe(true);
  });

  it('masks a fault of ours with an id the client can quote, and logs the id with the error, identity numbers masked', () => {
    const { logger, lines } = capturedLogger();
    const fault = new GraphQLError('wrapped', { originalError: new Error(`no row for ${pid}`), path: ['persons'] });
    const sent = formatGraphQLError(logger)({ message: 'wrapped', path: ['persons'], extensions: { code: 'INTERNAL_SERVER_ERROR' } }, fault);
    const [, errorId] = ERROR_ID.exec(sent.message) ?? [];
    expect(sent).toEqual({ message: `Internal server error (error id ${errorId})`, path: ['persons'], extensions: { code: 'INTERNAL_SERVER_ERROR', errorId } });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ errorId, path: ['persons'], err: { message: `no row for ${pid.slice(0, 6)}*****` } });
    expect(JSON.stringify(lines)).not.toContain(pid);
  });

  it('passes a refusal with its code and details, identity numbers masked in the message', () => {
    const { logger, lines } = capturedLogger();
    const error = refused(ErrorCode.CODE_INVALID, `Wrong code for ${pid}`, { attemptsLeft: 2 });
    const sent = formatGraphQLError(logger)({ message: error.message, extensions: error.extensions }, new GraphQLError(error.message, { originalError: error }));
    expect(sent).toEqual({ message: `Wrong code for ${pid.slice(0, 6)}*****`, extensions: { code: 'CODE_INVALID', attemptsLeft: 2 } });
    expect(lines).toHaveLength(0);
  });

  it('answers REST and plain HTTP with the status and headers of the code', () => {
    const { logger, lines } = capturedLogger();
    expect(httpRefusalOf(logger, unauthenticated('Invalid token: expired'), 'x')).toEqual({
      status: 401,
      code: 'UNAUTHENTICATED',
      message: 'Invalid token: expired',
      headers: { 'www-authenticate': 'Bearer' },
    });
    expect(httpRefusalOf(logger, refused(ErrorCode.RATE_LIMITED, 'Too many requests', { retryAfterSeconds: 7 }), 'x')).toMatchObject({ status: 429, headers: { 'retry-after': '7' } });
    expect(httpRefusalOf(logger, Object.assign(new Error('too large'), { status: 413, type: 'entity.too.large' }), 'x')).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    expect(httpRefusalOf(logger, Object.assign(new Error('x'), { status: 415, type: 'encoding.unsupported' }), 'x')).toMatchObject({ status: 415, code: 'BAD_REQUEST' });
    // Apollo's own codes keep the status Apollo answered.
    expect(answeredRefusal({ message: 'Variable "$ids" ...', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }, 400).refusal.status).toBe(400);
    expect(lines).toHaveLength(0);
    const fault = httpRefusalOf(logger, new Error(`database gone while reading ${pid}`), 'unexpected error in the REST API');
    expect(fault).toMatchObject({ status: 500, code: 'INTERNAL_SERVER_ERROR', headers: {} });
    expect(fault.message).toBe(`Internal server error (error id ${fault.errorId})`);
    expect(lines).toEqual([expect.objectContaining({ errorId: fault.errorId, msg: 'unexpected error in the REST API' })]);
    expect(JSON.stringify(lines)).not.toContain(pid);
  });

  it('keeps GraphQL and HTTP out of the domain error: a service throws a ClientError, not a GraphQLError', () => {
    const error = refused(ErrorCode.CODE_LOCKED, 'locked');
    expect(error).toBeInstanceOf(ClientError);
    expect(error).not.toBeInstanceOf(GraphQLError);
    expect(error.extensions).toEqual({ code: 'CODE_LOCKED' });
    expect(error.extensions).not.toBe(error.extensions);
  });
});

describe('over HTTP', () => {
  let register: TestRegister;
  let base: string;
  beforeAll(async () => {
    register = await createTestRegister();
    base = await register.listen();
  });
  afterAll(() => register.close());

  const send = async (path: string, body: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    return { status: res.status, authenticate: res.headers.get('www-authenticate'), text: await res.text() };
  };
  const query = async (request: { query: string; variables?: unknown }, token?: string) => {
    const { text: body, ...rest } = await send('/graphql', JSON.stringify(request), token ? { authorization: `Bearer ${token}` } : {});
    return { ...rest, body: JSON.parse(body) };
  };

  it('answers 401 with WWW-Authenticate for a GraphQL field that needs a token, and 200 beside the data for one refused to a token', async () => {
    const anonymous = await query(requestBody(LookUpIdsDocument, { ids: [pid] }));
    expect(anonymous).toMatchObject({ status: 401, authenticate: 'Bearer' });
    expect(anonymous.body.errors).toEqual([
      expect.objectContaining({ path: ['persons'], extensions: { code: 'UNAUTHENTICATED' }, message: 'Authentication required: send "Authorization: Bearer <token>"' }),
    ]);
    const citizen = await query(requestBody(LatestChangeNumberDocument), await register.citizenToken(pid));
    expect(citizen).toMatchObject({ status: 200, authenticate: null });
    expect(citizen.body.errors).toEqual([expect.objectContaining({ path: ['changes'], extensions: { code: 'FORBIDDEN' } })]);
  });

  it('refuses a subscription, which the register does not offer, as a validation failure: anonymous or with a token, POST or GET, either executor', async () => {
    const refusal = {
      status: 400,
      body: { errors: [{ message: 'The register offers queries and mutations only: there are no subscriptions', locations: [{ line: 1, column: 1 }], extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] },
    };
    const reference = await createTestRegister({ KRR_EXECUTOR: 'graphql-js' });
    try {
      for (const [at, token] of [
        [base, await register.agencyToken()],
        [await reference.listen(), await reference.agencyToken()],
      ]) {
        for (const authorization of [undefined, `Bearer ${token}`]) {
          const headers = { ...(authorization ? { authorization } : {}), 'apollo-require-preflight': 'true' };
          // Raw on purpose: a subscription is in no typed document (the schema has no Subscription type to type it against).
          const query = 'subscription { x }';
          const post = await fetch(`${at}/graphql`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ query }) });
          expect({ status: post.status, body: await post.json() }).toEqual(refusal);
          const get = await fetch(`${at}/graphql?query=${encodeURIComponent(query)}`, { headers });
          expect({ status: get.status, body: await get.json() }).toEqual(refusal);
        }
      }
    } finally {
      await reference.close();
    }
  });

  it('answers a body it cannot read alike on /graphql and /rest, each in its own shape', async () => {
    const agency = { authorization: `Bearer ${await register.agencyToken()}` };
    const unknownEncoding = { ...agency, 'content-encoding': 'x-unknown' };
    const graphql = (message: string) => `{"errors":[{"message":"${message}","extensions":{"code":"BAD_REQUEST"}}]}`;
    const rest = (message: string) => `{"error":{"code":"BAD_REQUEST","message":"${message}"}}`;
    const answers = [
      await send('/graphql', '{"query": ', agency),
      await send('/rest/v2/personer', '{"personidentifikatorer": ', agency),
      // An encoding the parser does not know: /graphql answered 415, /rest a masked 500 before.
      await send('/graphql', '{}', unknownEncoding),
      await send('/rest/v2/personer', '{}', unknownEncoding),
    ];
    expect(answers.map(({ status, text }) => ({ status, text }))).toEqual([
      { status: 400, text: graphql('The request body is not valid JSON') },
      { status: 400, text: rest('The request body is not valid JSON') },
      { status: 415, text: graphql('The request could not be read') },
      { status: 415, text: rest('The request could not be read') },
    ]);
  });
});
