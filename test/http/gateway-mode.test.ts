import { sourceUnavailable } from '../../src/errors';
import { LetterRecipientContactsDocument, LettersAndPeopleDocument, LetterTitlesAndEmailsDocument } from '../generated/federation';
import { LookUpMailboxesDocument, LookUpPersonStatusDocument } from '../generated/graphql';
import { startLettersSubgraph, type RunningSubgraph } from '../support/letters-subgraph';
import { requestBody } from '../support/operations';
import { aPerson, syntheticIds } from '../support/people';
import { createTestRegister, type TestRegister } from '../support/register';

/**
 * The service as the gateway: KRR_SUBGRAPHS names another source, and /graphql serves the
 * composed graph, the register executed in-process. The other source gets no client header
 * unless configured (test/http/gateway-attacks.test.ts tries what a source could do).
 */
let register: TestRegister;
let letters: RunningSubgraph;
let base: string;
const people = syntheticIds(3, 919);

beforeAll(async () => {
  letters = await startLettersSubgraph(people);
  register = await createTestRegister({ KRR_SUBGRAPHS: `letters=${letters.url}`, KRR_SUBGRAPH_TIMEOUT_MS: '1500' });
  await register.put(aPerson(people[0]));
  base = await register.listen();
}, 60_000);

afterAll(async () => {
  await register?.close();
  await letters?.stop().catch(() => {});
});

/** `body`: a typed document's `requestBody`, or a raw `{ query }` where the test says why. */
async function post(body: { query: string; variables?: unknown }, token?: string) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { data?: any; errors?: { message: string; path?: unknown[]; extensions?: Record<string, unknown> }[] } };
}

const ACROSS = requestBody(LettersAndPeopleDocument, { ids: [people[0]] });

describe('gateway mode', () => {
  it('serves the composed graph (GraphiQL sees both sources)', async () => {
    // Raw on purpose: introspection, as GraphiQL sends it.
    const { body } = await post({ query: '{ __schema { queryType { fields { name } } } }' });
    const fields = body.data.__schema.queryType.fields.map((f: { name: string }) => f.name);
    expect(fields).toEqual(expect.arrayContaining(['letters', 'persons', 'person', 'me', 'changes']));
  });

  it('answers across both sources and sends the other source none of the caller\u2019s headers', async () => {
    const token = await register.agencyToken();
    const { body } = await post(ACROSS, token);
    expect(body.errors).toBeUndefined();
    expect(body.data.letters[0]).toEqual({ title: 'Decision 1', recipient: { id: people[0], status: 'ACTIVE', reservation: { reserved: false } } });
    expect(body.data.letters[1].recipient.status).toBe('NOT_REGISTERED');
    expect(body.data.persons).toEqual([{ id: people[0], status: 'ACTIVE' }]);
    expect(letters.authorizations.length).toBeGreaterThan(0);
    expect(letters.authorizations.every((a) => a === undefined)).toBe(true);
  });

  it('keeps the register\u2019s rules and audit log through the gateway', async () => {
    // An agency of its own, so the rows counted are this test's whatever ran before.
    const org = '974760673';
    const { body } = await post(requestBody(LetterRecipientContactsDocument), await register.agencyToken([], org));
    expect(body.errors?.every((e) => e.extensions?.code === 'FORBIDDEN')).toBe(true);
    const citizen = await post(ACROSS, await register.citizenToken(people[2]));
    expect(citizen.body.errors?.some((e) => e.extensions?.code === 'FORBIDDEN')).toBe(true);
    await post(requestBody(LetterTitlesAndEmailsDocument, { ids: [people[0]] }), await register.agencyToken(undefined, org));
    // Every recipient the agency resolved is recorded, registered or not, with the scopes
    // released; the citizen's own request is not an agency lookup.
    const rows = await register.database.query<{ i: number; p: string; s: string }>('select id i, person_id p, scopes s from lookup_audit where agency_org_number = ? order by id, person_id', org);
    const requests = [...new Set(rows.map((r) => r.i))].map((i) => rows.filter((r) => r.i === i).map((r) => [r.p, r.s]));
    expect(requests).toEqual([[...people].sort().map((p) => [p, '']), [[people[0], 'krr:global/kontaktinformasjon.read']]]);
  });

  it('refuses a subscription as in normal mode: no source of the graph offers one', async () => {
    // Raw on purpose: a subscription is in no typed document (the composed graph has no Subscription type).
    const { status, body } = await post({ query: 'subscription { letters { title } }' }, await register.agencyToken());
    expect(status).toBe(400);
    expect(body.errors).toEqual([expect.objectContaining({ message: 'The register offers queries and mutations only: there are no subscriptions', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })]);
  });

  it('masks an unexpected error of the register as in normal mode: no SQL reaches the client', async () => {
    await register.database.query('alter table person_lookup rename to person_lookup_away');
    try {
      const { body } = await post(requestBody(LookUpMailboxesDocument, { ids: [people[0]] }), await register.agencyToken());
      expect(body.errors?.[0].extensions).toMatchObject({ code: 'INTERNAL_SERVER_ERROR' });
      expect(body.errors?.[0].message).toMatch(/^Internal server error \(error id [0-9a-f-]{36}\)$/);
      expect(JSON.stringify(body)).not.toMatch(/person_lookup|no such table|does not exist/);
    } finally {
      await register.database.query('alter table person_lookup_away rename to person_lookup');
    }
  });

  it('gives partial data and an error naming a source that hangs, once KRR_SUBGRAPH_TIMEOUT_MS has passed', async () => {
    // The source does not answer until released: the answer below can only come from the
    // timeout cutting it off (were there none, the request would hang and the test time out).
    const hung = letters.hold();
    try {
      const { body } = await post(ACROSS, await register.agencyToken());
      expect(body.errors?.[0].extensions).toMatchObject({ code: 'SOURCE_UNAVAILABLE', source: 'letters' });
      expect(body.data).toEqual({ letters: null, persons: [{ id: people[0], status: 'ACTIVE' }] });
    } finally {
      hung.release();
    }
  });

  it('gives partial data and an error naming a source that is down; the register keeps answering', async () => {
    await letters.stop();
    try {
      await expectAnswersWithoutTheSource();
    } finally {
      // Up again where it was, for the tests that need it.
      letters = await startLettersSubgraph(people, Number(new URL(letters.url).port));
    }
  });

  async function expectAnswersWithoutTheSource(): Promise<void> {
    const { status, body } = await post(ACROSS, await register.agencyToken());
    expect(status).toBe(200);
    expect(body.errors?.[0].message).toContain('"letters"');
    expect(body.errors?.[0].extensions).toMatchObject({ code: 'SOURCE_UNAVAILABLE', source: 'letters' });
    // The error is the one src/errors.ts makes for it, as client-errors.ts passes a ClientError on: no other field.
    const made = sourceUnavailable('letters');
    expect(body.errors).toEqual([{ message: made.message, extensions: made.extensions }]);
    expect(body.data).toEqual({ letters: null, persons: [{ id: people[0], status: 'ACTIVE' }] });
    const registerOnly = await post(requestBody(LookUpPersonStatusDocument, { id: people[0] }), await register.agencyToken());
    expect(registerOnly.body).toEqual({ data: { person: { status: 'ACTIVE' } } });
  }

  it('serves the register’s REST API on the register’s own schema, never the composed graph, with the same rules', async () => {
    const composed = jest.spyOn(register.server.apollo, 'executeOperation');
    const rest = async (endpoint: string, body: unknown, token?: string) => {
      const res = await fetch(`${base}/rest/v2/${endpoint}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    const lookup = await rest('personer', { personidentifikatorer: [people[0], people[1]], inkluderIkkeRegistrerte: true }, await register.agencyToken());
    expect(lookup.status).toBe(200);
    expect(lookup.body.personer.map((p: Record<string, unknown>) => [p.personidentifikator, p.status])).toEqual([
      [people[0], 'AKTIV'],
      [people[1], 'IKKE_REGISTRERT'],
    ]);
    expect(lookup.body.personer[0].kontaktinformasjon).toBeDefined();
    const feed = await rest('krr/hentEndringer', { fraEndringsId: 1, antall: 5 }, await register.agencyToken());
    expect(feed.status).toBe(200);
    expect(feed.body.list.map((p: Record<string, unknown>) => p.personidentifikator)).toContain(people[0]);
    expect((await rest('personer', { personidentifikatorer: [people[0]] })).status).toBe(401);
    expect((await rest('personer', { personidentifikatorer: [people[0]] }, await register.citizenToken(people[0]))).status).toBe(403);
    expect(composed).not.toHaveBeenCalled();
    composed.mockRestore();
  });
});
