import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import {
  AliasedLookupsDocument,
  ConfirmContactInfoFlagsDocument,
  FeedPageBesideLookupDocument,
  LookUpAliasedMobilesDocument,
  LookUpChannelFlagsDocument,
  LookUpPersonEmailDocument,
  LookUpPersonIdDocument,
  LookUpPersonStatusDocument,
  MyChannelFlagsDocument,
  PingDocument,
  UpdateContactInfoAckDocument,
  UpdateContactInfoFlagsDocument,
  VerifyContactFlagsDocument,
} from '../generated/graphql';
import { aChannel, aPerson, syntheticIds } from '../support/people';
import { latestCode } from '../support/outbox';
import { requestBody } from '../support/operations';
import { createTestRegister, type TestRegister } from '../support/register';

/**
 * What the register releases, and what it records as released (issue 14 findings 4 and 9):
 * the duplicate flag on one's own record, the lookup audit log per person.
 */

let register: TestRegister;
const ids = syntheticIds(30, 77);
let next = 0;
const fresh = () => ids[next++];

beforeAll(async () => {
  register = await createTestRegister();
});
afterAll(() => register.close());

type Result = { data?: any; errors?: readonly { message: string; extensions?: Record<string, unknown> }[] };
const run = <TVars extends Record<string, unknown>>(document: TypedDocumentNode<unknown, TVars>, token: string, variables: TVars): Promise<Result> =>
  register.execute(document, variables, token) as Promise<Result>;

describe('duplicated on the citizen\u2019s own record (finding 4)', () => {
  it('is not shown for an address the citizen has not proven: typing in someone else\u2019s address tells nothing', async () => {
    const victim = fresh();
    await register.put(aPerson(victim, { email: aChannel('victim@example.com'), mobile: aChannel('+4791111111') }));
    const mallory = fresh();
    const token = await register.citizenToken(mallory);

    const set = await run(UpdateContactInfoFlagsDocument, token, { input: { email: 'VICTIM@example.com', mobile: '91111111' } });
    expect(set.errors).toBeUndefined();
    expect(set.data.updateContactInfo.contactInfo).toEqual({
      email: { address: 'VICTIM@example.com', duplicated: null, lastValidatedAt: null },
      mobile: { number: '+4791111111', duplicated: null, lastValidatedAt: null },
    });
    expect((await run(MyChannelFlagsDocument, token, {})).data.me.contactInfo.email.duplicated).toBeNull();
    expect((await run(ConfirmContactInfoFlagsDocument, token, {})).data.confirmContactInfo.contactInfo.email.duplicated).toBeNull();

    // Agencies' view is unchanged: the flag, proven or not.
    const agency = await register.agencyToken();
    const looked = await run(LookUpChannelFlagsDocument, agency, { ids: [mallory, victim] });
    expect(looked.data.persons.map((p: any) => [p.contactInfo.email.duplicated, p.contactInfo.mobile.duplicated])).toEqual([
      [true, true],
      [true, true],
    ]);
  });

  it('is shown once the address is proven with the code sent to it', async () => {
    const sibling = fresh();
    await register.put(aPerson(sibling, { email: aChannel('family@example.com') }));
    const citizen = fresh();
    const token = await register.citizenToken(citizen);
    await run(UpdateContactInfoAckDocument, token, { input: { email: 'family@example.com' } });
    const code = latestCode(register.config.outboxFile, 'family@example.com');
    const proven = await run(VerifyContactFlagsDocument, token, { channel: 'EMAIL', code });
    expect(proven.errors).toBeUndefined();
    expect(proven.data.verifyContact.contactInfo.email).toMatchObject({ duplicated: true, lastValidatedAt: expect.any(String) });
    expect((await run(MyChannelFlagsDocument, token, {})).data.me.contactInfo.email.duplicated).toBe(true);
  });
});

describe('the lookup audit log records per person what was released (finding 9)', () => {
  const CONTACT = 'krr:global/kontaktinformasjon.read';
  const POST = 'krr:global/digitalpost.read';
  /** Every row the agency left, as [person, scopes], in the order written. */
  const rows = (org: string) =>
    register.database.query<{ p: string; s: string }>('select person_id p, scopes s from lookup_audit where agency_org_number = ? order by id', org).then((r) => r.map((x) => [x.p, x.s]));

  it('with aliases, logs a person whose contact information was not read without the contact scope', async () => {
    const [read, notRead, both] = [fresh(), fresh(), fresh()];
    await register.put(aPerson(read), aPerson(notRead), aPerson(both));
    const org = '974760673';
    const token = await register.agencyToken(undefined, org);
    const answer = await run(AliasedLookupsDocument, token, { contactIds: [read, both], bareIds: [notRead], postId: both });
    expect(answer.errors).toBeUndefined();
    expect((await rows(org)).sort()).toEqual(
      [
        [read, CONTACT],
        [notRead, ''],
        [both, [CONTACT, POST].sort().join(' ')],
      ].sort(),
    );
  });

  it('logs each person once for a batch of operations, with what each operation released for them', async () => {
    const batched = await createTestRegister({ KRR_MAX_BATCH: '3' });
    try {
      const [a, b] = [ids[28], ids[29]];
      await batched.put(aPerson(a), aPerson(b));
      const org = '889640782';
      const base = await batched.listen();
      const response = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await batched.agencyToken(undefined, org)}` },
        body: JSON.stringify([requestBody(LookUpAliasedMobilesDocument, { ids: [a] }), requestBody(LookUpPersonStatusDocument, { id: b }), requestBody(PingDocument)]),
      });
      expect(response.status).toBe(200);
      expect((await response.json()).map((r: Result) => r.errors)).toEqual([undefined, undefined, undefined]);
      const written = await batched.database.query<{ p: string; s: string }>('select person_id p, scopes s from lookup_audit where agency_org_number = ? order by id', org);
      expect(written.map((x) => [x.p, x.s]).sort()).toEqual([
        [a, CONTACT],
        [b, ''],
      ].sort());

      // A batch refused as a whole once an operation has started still answers (the started
      // one waits for no others), and what that operation read is recorded all the same.
      const refused = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await batched.agencyToken(undefined, '921605900')}` },
        // The second operation raw on purpose: a query that is not a string.
        body: JSON.stringify([requestBody(LookUpPersonEmailDocument, { id: b }), { query: 42 }]),
      });
      expect(refused.status).toBe(400);
      const recorded = async () => (await batched.database.query<{ p: string; s: string }>("select person_id p, scopes s from lookup_audit where agency_org_number = '921605900'")).map((x) => [x.p, x.s]);
      for (let i = 0; i < 100 && (await recorded()).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await recorded()).toEqual([[b, CONTACT]]);

      // If the batch's record cannot be written, no operation of it answers with data.
      await batched.database.query('alter table lookup_request rename to lookup_request_away');
      try {
        const withheld = await fetch(`${base}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${await batched.agencyToken()}` },
          body: JSON.stringify([requestBody(LookUpPersonIdDocument, { id: a }), requestBody(LookUpPersonEmailDocument, { id: b })]),
        });
        const bodies = await withheld.json();
        expect(bodies.map((r: Result) => [r.data, r.errors?.[0]?.extensions?.code])).toEqual([
          [undefined, 'INTERNAL_SERVER_ERROR'],
          [undefined, 'INTERNAL_SERVER_ERROR'],
        ]);
      } finally {
        await batched.database.query('alter table lookup_request_away rename to lookup_request');
      }
    } finally {
      await batched.close();
    }
  });

  it('logs the feed\u2019s scope only for the people a feed page showed, not for those looked up beside it', async () => {
    const [inFeed, lookedUp] = [fresh(), fresh()];
    const [after] = await register.put(aPerson(inFeed));
    await register.put(aPerson(lookedUp));
    const org = '991825827';
    const token = await register.agencyToken(undefined, org);
    const before = (await rows(org)).length;
    const answer = await run(FeedPageBesideLookupDocument, token, { after: after - 1, ids: [lookedUp] });
    expect(answer.errors).toBeUndefined();
    expect(answer.data.changes.entries.map((e: any) => e.person.id)).toEqual([inFeed]);
    expect((await rows(org)).slice(before).sort()).toEqual(
      [
        [inFeed, 'krr:global/hentendring.read'],
        [lookedUp, ''],
      ].sort(),
    );
  });
});
