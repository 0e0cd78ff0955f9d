/**
 * The GraphQL clients people use, each with its default settings, against the started
 * server: Apollo Client (POST, JSON), urql (queries as GET within a URL-length limit) and
 * graphql-request (POST, JSON). CSRF prevention stays on for what a browser could send
 * cross-site without a preflight: a GET or simple POST without Authorization (or Apollo's
 * own preflight headers) is refused, and a mutation is never run over GET.
 */
import { ApolloClient, HttpLink, InMemoryCache } from '@apollo/client';
import { Client, fetchExchange } from '@urql/core';
import { GraphQLClient } from 'graphql-request';
import { MyLanguageDocument, PingDocument, ReservationOnlyDocument, SetLanguageAckDocument } from '../generated/graphql';
import { documentText } from '../support/operations';
import { aPerson, syntheticIds } from '../support/people';
import { createTestRegister, type TestRegister } from '../support/register';

let register: TestRegister;
let url: string;
const [id] = syntheticIds(1, 840);
const expected = { persons: [{ id, status: 'ACTIVE', reservation: { reserved: false } }] };
const methods: string[] = [];

beforeAll(async () => {
  register = await createTestRegister();
  url = `${await register.listen()}/graphql`;
  register.server.httpServer.prependListener('request', (req) => {
    if (req.url?.startsWith('/graphql')) methods.push(req.method ?? '');
  });
  await register.put(aPerson(id));
});
afterAll(() => register.close());
beforeEach(() => void (methods.length = 0));

/** Strips what a client adds to the answer (Apollo Client's __typename). */
const plain = (data: unknown) => JSON.parse(JSON.stringify(data, (key, value) => (key === '__typename' ? undefined : value)));

describe('GraphQL clients with their default settings', () => {
  it('Apollo Client', async () => {
    const client = new ApolloClient({ link: new HttpLink({ uri: url, headers: { authorization: `Bearer ${await register.agencyToken()}` } }), cache: new InMemoryCache() });
    const result = await client.query({ query: ReservationOnlyDocument, variables: { ids: [id] } });
    expect(plain(result.data)).toEqual(expected);
    expect(methods).toEqual(['POST']);
  });

  it('urql, which sends queries as GET', async () => {
    const client = new Client({ url, exchanges: [fetchExchange], fetchOptions: { headers: { authorization: `Bearer ${await register.agencyToken()}` } } });
    const result = await client.query(ReservationOnlyDocument, { ids: [id] }).toPromise();
    expect(result.error).toBeUndefined();
    expect(result.data).toEqual(expected);
    expect(methods).toEqual(['GET']);
  });

  it('graphql-request', async () => {
    const client = new GraphQLClient(url, { headers: { authorization: `Bearer ${await register.agencyToken()}` } });
    expect(await client.request(ReservationOnlyDocument, { ids: [id] })).toEqual(expected);
    expect(methods).toEqual(['POST']);
  });
});

describe('CSRF prevention', () => {
  const get = (query: string, headers: Record<string, string> = {}, variables?: object) =>
    fetch(`${url}?query=${encodeURIComponent(query)}${variables ? `&variables=${encodeURIComponent(JSON.stringify(variables))}` : ''}`, { headers: { accept: 'application/json', ...headers } });

  it('refuses a GET or a simple POST without Authorization or a preflight header, as a cross-site form or image would send', async () => {
    const get400 = await get(documentText(PingDocument));
    expect(get400.status).toBe(400);
    expect(await get400.text()).toMatch(/CSRF|preflight/i);
    const form = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: documentText(PingDocument) }) });
    expect(form.status).toBe(400);
    // Apollo's own preflight header still lets an anonymous GET through.
    expect((await get(documentText(PingDocument), { 'apollo-require-preflight': 'true' })).status).toBe(200);
  });

  it('never runs a mutation over GET, even with a token', async () => {
    const token = await register.citizenToken(id);
    const res = await get(documentText(SetLanguageAckDocument), { authorization: `Bearer ${token}` }, { language: 'EN' });
    expect(res.status).toBe(405);
    const { data } = await register.execute(MyLanguageDocument, {}, token);
    expect(data).toEqual({ me: { language: 'NB' } });
  });
});
