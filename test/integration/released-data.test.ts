import { parse } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { aChannel, aPerson, syntheticIds } from '../support/people';
import { latestCode } from '../support/outbox';
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
const run = (query: string, token: string, variables: Record<string, unknown> = {}): Promise<Result> =>
  register.execute(parse(query) as TypedDocumentNode<any, Record<string, unknown>>, variables, token);

const CHANNELS = 'contactInfo { email { address duplicated lastValidatedAt } mobile { number duplicated lastValidatedAt } }';

describe('duplicated on the citizen\u2019s own record (finding 4)', () => {
  it('is not shown for an address the citizen has not proven: typing in someone else\u2019s address tells nothing', async () => {
    const victim = fresh();
    await register.put(aPerson(victim, { email: aChannel('victim@example.com'), mobile: aChannel('+4791111111') }));
    const mallory = fresh();
    const token = await register.citizenToken(mallory);

    const set = await run(`mutation { updateContactInfo(input: { email: "VICTIM@example.com", mobile: "91111111" }) { ${CHANNELS} } }`, token);
    expect(set.errors).toBeUndefined();
    expect(set.data.updateContactInfo.contactInfo).toEqual({
      email: { address: 'VICTIM@example.com', duplicated: null, lastValidatedAt: null },
      mobile: { number: '+4791111111', duplicated: null, lastValidatedAt: null },
    });
    expect((await run(`{ me { ${CHANNELS} } }`, token)).data.me.contactInfo.email.duplicated).toBeNull();
    expect((await run(`mutation { confirmContactInfo { ${CHANNELS} } }`, token)).data.confirmContactInfo.contactInfo.email.duplicated).toBeNull();

    // Agencies' view is unchanged: the flag, proven or not.
    const agency = await register.agencyToken();
    const looked = await run(`{ persons(ids: ["${mallory}", "${victim}"]) { ${CHANNELS} } }`, agency);
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
    await run('mutation { updateContactInfo(input: { email: "family@example.com" }) { id } }', token);
    const code = latestCode(register.config.outboxFile, 'family@example.com');
    const proven = await run(`mutation($code: String!) { verifyContact(channel: EMAIL, code: $code) { ${CHANNELS} } }`, token, { code });
    expect(proven.errors).toBeUndefined();
    expect(proven.data.verifyContact.contactInfo.email).toMatchObject({ duplicated: true, lastValidatedAt: expect.any(String) });
    expect((await run(`{ me { ${CHANNELS} } }`, token)).data.me.contactInfo.email.duplicated).toBe(true);
  });
});
