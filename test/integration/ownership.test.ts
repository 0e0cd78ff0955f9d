import { generateKeyPair, SignJWT } from 'jose';
import { buildClientSchema, getIntrospectionQuery, isInputObjectType, type IntrospectionQuery } from 'graphql';
import { loadOrCreateDevKey } from '../../src/auth/keys';
import { DEV_AUDIENCE, DEV_CITIZEN_ISSUER, DEV_AGENCY_ISSUER } from '../../src/config';
import {
  ChangedEmailsDocument,
  DeleteContactInfoAckDocument,
  LookUpEmailsDocument,
  LookUpPersonEmailDocument,
  LookUpPersonIdDocument,
  MyIdDocument,
  MyLookupCountDocument,
  MyRecordTwiceDocument,
  PersonLookupCountDocument,
  SetLanguageAckDocument,
  SetReservationAckDocument,
} from '../generated/graphql';
import { documentText, requestBody } from '../support/operations';
import { aPerson, syntheticIds } from '../support/people';
import { createTestRegister, type TestRegister } from '../support/register';

/**
 * Citizen A tries every way we could think of to read or change citizen B's record. Each
 * attempt must fail, and B's record and change log must be exactly as before.
 */
let register: TestRegister;
let base: string;
// Alice attacks Bob and is never registered herself (a test that needs her to write uses carol).
const [alice, bob, carol] = syntheticIds(3, 1234);
let aliceToken: string;
let bobSnapshot: unknown;

const gql = async (body: unknown, token?: string, extraHeaders: Record<string, string> = {}) => {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...extraHeaders },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, json: (() => { try { return JSON.parse(text); } catch { return null; } })() };
};

const snapshot = async () => ({
  person: await register.database.query('select * from person where id = ?', bob),
  contact: await register.database.query('select * from contact_point where person_id = ? order by channel', bob),
  changes: await register.database.query('select * from change_log where person_id = ? order by change_number', bob),
});

beforeAll(async () => {
  register = await createTestRegister();
  await register.put(aPerson(bob, { email: { address: 'bob@example.org', updatedAt: new Date(), lastVerifiedAt: null, lastValidatedAt: null } }));
  base = await register.listen();
  aliceToken = await register.citizenToken(alice);
  bobSnapshot = await snapshot();
});

afterEach(async () => {
  expect(await snapshot()).toEqual(bobSnapshot);
});
afterAll(() => register.close());

describe("one citizen cannot reach another's record", () => {
  it('has no person id on any mutation argument or input type', async () => {
    // Raw on purpose: introspection.
    const { json } = await gql({ query: getIntrospectionQuery() });
    const schema = buildClientSchema(json.data as IntrospectionQuery);
    const mutation = schema.getMutationType()!;
    const args = Object.values(mutation.getFields()).flatMap((f) => f.args.map((a) => `${f.name}(${a.name})`));
    expect(args.sort()).toEqual(
      ['resendVerificationCode(channel)', 'setLanguage(language)', 'setReservation(reserved)', 'updateContactInfo(input)', 'verifyContact(channel)', 'verifyContact(code)'].sort(),
    );
    const inputFields = Object.values(schema.getTypeMap())
      .filter(isInputObjectType)
      .flatMap((t) => Object.keys(t.getFields()).map((f) => `${t.name}.${f}`));
    expect(inputFields).toEqual(['UpdateContactInfoInput.email', 'UpdateContactInfoInput.mobile']);
    // Every other query is for agencies; the next test shows a citizen cannot use them.
    expect(Object.keys(schema.getQueryType()!.getFields()).sort()).toEqual(['_entities', '_service', 'changes', 'me', 'person', 'persons']);
  });

  it('cannot use the agency lookups', async () => {
    for (const body of [
      requestBody(LookUpEmailsDocument, { ids: [bob] }),
      requestBody(LookUpPersonEmailDocument, { id: bob }),
      // Raw on purpose: `_entities` with a representation of Bob, in no schema the typed documents are checked against.
      { query: `{ _entities(representations: [{ __typename: "Person", id: "${bob}" }]) { ... on Person { id contactInfo { email { address } } } } }` },
      requestBody(ChangedEmailsDocument, { after: 0 }),
    ]) {
      const { json, text } = await gql(body, aliceToken);
      expect(json.errors[0].extensions.code).toBe('FORBIDDEN');
      expect(text).not.toContain('bob@example.org');
    }
  });

  it('gets only their own record through me, with aliases and fragments', async () => {
    const { json } = await gql(requestBody(MyRecordTwiceDocument), aliceToken);
    expect(json.data).toEqual({ a: { id: alice }, b: { id: alice, contactInfo: null } });
  });

  it('cannot smuggle a person id in as an argument, an input field or a variable', async () => {
    // Raw on purpose: arguments, input fields and variables the schema does not have.
    const attempts = [
      { query: `mutation { setReservation(reserved: true, pid: "${bob}") { id } }` },
      { query: `mutation { setReservation(reserved: true, id: "${bob}") { id } }` },
      { query: `mutation { updateContactInfo(input: { email: "evil@example.org", pid: "${bob}" }) { id } }` },
      { query: `mutation($input: UpdateContactInfoInput!) { updateContactInfo(input: $input) { id } }`, variables: { input: { email: 'evil@example.org', id: bob } } },
      { query: `{ me(id: "${bob}") { id } }` },
    ];
    for (const body of attempts) {
      const { status, json } = await gql(body, aliceToken);
      expect(status).toBe(400);
      expect(['GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']).toContain(json.errors[0].extensions.code);
    }
    // Extra variables are ignored: the mutation still acts on the token's person (a third
    // citizen, so that alice stays unregistered for the other tests).
    const { json } = await gql({ query: documentText(SetLanguageAckDocument), variables: { language: 'EN', pid: bob, id: bob } }, await register.citizenToken(carol));
    expect(json.data.setLanguage.id).toBe(carol);
  });

  it('cannot send batched operations', async () => {
    const { status } = await gql([requestBody(MyIdDocument), requestBody(LookUpPersonIdDocument, { id: bob })], aliceToken);
    expect(status).toBe(400);
  });

  it('cannot read lookups of anyone else', async () => {
    const agency = await register.agencyToken();
    await gql(requestBody(LookUpPersonIdDocument, { id: bob }), agency);
    const { json } = await gql(requestBody(PersonLookupCountDocument, { id: bob }), agency);
    expect(json.errors[0].extensions.code).toBe('FORBIDDEN');
    expect(json.data.person.lookups).toBeNull();
    const mine = await gql(requestBody(MyLookupCountDocument), aliceToken);
    expect(mine.json.data.me.lookups.totalCount).toBe(0);
  });

  it('cannot forge a token for the other citizen', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT({ pid: bob, acr: 'idporten-loa-high' })
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer(DEV_CITIZEN_ISSUER)
      .setAudience(DEV_AUDIENCE)
      .setExpirationTime('5m')
      .sign(privateKey);
    const { status } = await gql(requestBody(SetReservationAckDocument, { reserved: true }), forged);
    expect(status).toBe(401);
    const unsigned = [
      Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url'),
      Buffer.from(JSON.stringify({ pid: bob, acr: 'idporten-loa-high', iss: DEV_CITIZEN_ISSUER, aud: DEV_AUDIENCE, exp: 9999999999 })).toString('base64url'),
      '',
    ].join('.');
    expect((await gql(requestBody(SetReservationAckDocument, { reserved: true }), unsigned)).status).toBe(401);
  });

  it('cannot pass an agency-issued token carrying a pid off as a citizen', async () => {
    if (register.config.auth.mode !== 'development') throw new Error('needs the development key');
    const key = await loadOrCreateDevKey(register.config.auth.keyFile);
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'ES256', kid: key.kid }).setIssuer(DEV_AGENCY_ISSUER).setAudience(DEV_AUDIENCE).setIssuedAt().setExpirationTime('5m').sign(key.privateKey);
    const mutation = requestBody(SetReservationAckDocument, { reserved: true });
    // With agency claims it is an agency, whatever pid it carries: citizen mutations are refused.
    const agencyWithPid = await sign({ pid: bob, acr: 'idporten-loa-high', scope: '', consumer: { ID: '0192:991825827' } });
    expect((await gql(mutation, agencyWithPid)).json.errors[0].extensions.code).toBe('FORBIDDEN');
    // Without them it is no valid token at all.
    expect((await gql(mutation, await sign({ pid: bob, acr: 'idporten-loa-high' }))).status).toBe(401);
  });

  it('lets no agency run citizen mutations, and no one without a token', async () => {
    const agency = await register.agencyToken();
    for (const body of [requestBody(SetReservationAckDocument, { reserved: true }), requestBody(DeleteContactInfoAckDocument), requestBody(MyIdDocument)]) {
      expect((await gql(body, agency)).json.errors[0].extensions.code).toBe('FORBIDDEN');
      expect((await gql(body)).json.errors[0].extensions.code).toBe('UNAUTHENTICATED');
    }
  });
});
