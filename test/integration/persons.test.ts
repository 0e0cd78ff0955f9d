import { LookUpPeopleDocument, LookUpPersonDocument, ReservationOnlyDocument } from '../generated/graphql';
import { createNaiveLoaders } from '../../bench/naive-loaders';
import { Scope } from '../../src/auth/scopes';
import { aChannel, aPerson, MONTHS_AGO, syntheticIds } from '../support/people';
import { createTestRegister, type TestRegister } from '../support/register';

let register: TestRegister;
const ids = syntheticIds(1200);
const [active, reserved, deleted, staleEmail, noChannels, sharer1, sharer2, unregistered] = ids;

/** The people the tests are about, their times counted back from `now`. */
function fixture(now: Date) {
  const monthsAgo = (m: number) => MONTHS_AGO(m, now);
  return [
    aPerson(active, { email: aChannel('ola@example.com', monthsAgo(1)), mobile: aChannel('+4791234567', monthsAgo(2)) }),
    aPerson(reserved, { reserved: true, reservedAt: monthsAgo(5), reservationUpdatedAt: monthsAgo(5) }),
    aPerson(deleted, { status: 'DELETED' }),
    aPerson(staleEmail, { email: aChannel('old@example.com', monthsAgo(30)), mobile: null }),
    aPerson(noChannels, { email: null, mobile: null }),
    aPerson(sharer1, { email: aChannel('Family@Example.com'), mobile: null }),
    aPerson(sharer2, { email: aChannel('family@example.com'), mobile: null }),
  ];
}

beforeAll(async () => {
  register = await createTestRegister();
  await register.put(...fixture(new Date()));
  // Fill the register so that a 1000-id lookup finds real rows.
  await register.put(...ids.slice(8, 1100).map((id) => aPerson(id)));
});

afterAll(() => register.close());

describe('persons lookup', () => {
  it('answers one result per id in the order given, duplicates included, unknown ids as NOT_REGISTERED', async () => {
    const token = await register.agencyToken();
    const asked = [unregistered, active, deleted, active];
    const { data, errors } = await register.execute(ReservationOnlyDocument, { ids: asked }, token);
    expect(errors).toBeUndefined();
    expect(data?.persons.map((p) => [p.id, p.status])).toEqual([
      [unregistered, 'NOT_REGISTERED'],
      [active, 'ACTIVE'],
      [deleted, 'DELETED'],
      [active, 'ACTIVE'],
    ]);
  });

  it('gives the whole entry of an active person with every scope', async () => {
    const { data, errors } = await register.execute(LookUpPeopleDocument, { ids: [active] }, await register.agencyToken());
    expect(errors).toBeUndefined();
    const [p] = data!.persons;
    expect(p).toMatchObject({
      status: 'ACTIVE',
      reservation: { reserved: false },
      notificationStatus: 'CAN_BE_NOTIFIED',
      contactInfo: {
        email: { address: 'ola@example.com', duplicated: false, usableForNotification: true },
        mobile: { number: '+4791234567', duplicated: false, usableForNotification: true },
      },
      digitalMailbox: { providerOrgNumber: '984661185' },
      certificate: 'MIIBsynthetic',
      language: 'NB',
    });
    expect(new Date(p.contactInfo!.email!.updatedAt).getTime()).toBeLessThan(Date.now());
  });

  it('applies the rules: reserved and contactless people cannot be notified, a stale email is marked unusable', async () => {
    const { data } = await register.execute(LookUpPeopleDocument, { ids: [reserved, staleEmail, noChannels] }, await register.agencyToken());
    const [r, s, n] = data!.persons;
    expect(r.reservation?.reserved).toBe(true);
    expect(r.notificationStatus).toBe('CANNOT_BE_NOTIFIED');
    expect(s.contactInfo?.email).toMatchObject({ address: 'old@example.com', usableForNotification: false });
    expect(s.notificationStatus).toBe('CANNOT_BE_NOTIFIED');
    expect(n.contactInfo).toEqual({ email: null, mobile: null });
    expect(n.notificationStatus).toBe('CANNOT_BE_NOTIFIED');
  });

  it('flags an email shared by two people, compared case-insensitively', async () => {
    const { data } = await register.execute(LookUpPeopleDocument, { ids: [sharer1, sharer2, active] }, await register.agencyToken());
    expect(data!.persons.map((p) => p.contactInfo?.email?.duplicated)).toEqual([true, true, false]);
  });

  it('never shows contact info, mailbox, certificate or language of deleted and unregistered people', async () => {
    const { data, errors } = await register.execute(LookUpPeopleDocument, { ids: [deleted, unregistered] }, await register.agencyToken());
    expect(errors).toBeUndefined();
    for (const p of data!.persons) {
      expect(p).toMatchObject({ contactInfo: null, digitalMailbox: null, certificate: null, language: null, notificationStatus: 'CANNOT_BE_NOTIFIED' });
    }
  });

  it('refuses more than 1000 ids and an empty list with BAD_USER_INPUT', async () => {
    const token = await register.agencyToken();
    const tooMany = await register.execute(ReservationOnlyDocument, { ids: ids.slice(0, 1001) }, token);
    expect(tooMany.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(tooMany.errors?.[0].message).toMatch(/at most 1000/);
    const none = await register.execute(ReservationOnlyDocument, { ids: [] }, token);
    expect(none.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('names invalid ids masked, with their positions', async () => {
    const bad = active.slice(0, 10) + String((Number(active[10]) + 1) % 10);
    const { errors } = await register.execute(ReservationOnlyDocument, { ids: [active, bad, 'abc'] }, await register.agencyToken());
    expect(errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    expect(errors?.[0].message).toContain(`${bad.slice(0, 6)}***** (at 1)`);
    expect(errors?.[0].message).toContain('abc (at 2)');
    expect(JSON.stringify(errors)).not.toContain(bad);
  });

  it('looks up one person with `person`', async () => {
    const token = await register.agencyToken();
    const found = await register.execute(LookUpPersonDocument, { id: active }, token);
    expect(found.data?.person).toMatchObject({ id: active, status: 'ACTIVE' });
    const missing = await register.execute(LookUpPersonDocument, { id: unregistered }, token);
    expect(missing.data?.person).toMatchObject({ id: unregistered, status: 'NOT_REGISTERED', reservation: null });
    const invalid = await register.execute(LookUpPersonDocument, { id: '12345678901' }, token);
    expect(invalid.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
  });
});

describe('scopes', () => {
  it('without the contact scope refuses contact fields, notification status and language with FORBIDDEN, and answers the rest', async () => {
    const token = await register.agencyToken([Scope.DIGITAL_POST]);
    const { data, errors } = await register.execute(LookUpPeopleDocument, { ids: [active] }, token);
    const refused = new Set(errors?.map((e) => `${e.path?.[2]}:${e.extensions?.code}`));
    expect(refused).toEqual(new Set(['notificationStatus:FORBIDDEN', 'contactInfo:FORBIDDEN', 'language:FORBIDDEN', 'languageUpdatedAt:FORBIDDEN', 'updatedAt:FORBIDDEN']));
    expect(errors?.[0].message).toContain(Scope.CONTACT_INFO);
    expect(data!.persons[0]).toMatchObject({ id: active, status: 'ACTIVE', reservation: { reserved: false }, contactInfo: null, notificationStatus: null });
    expect(data!.persons[0].digitalMailbox).not.toBeNull();
  });

  it('without the digital post scope refuses mailbox and certificate', async () => {
    const token = await register.agencyToken([Scope.CONTACT_INFO]);
    const { data, errors } = await register.execute(LookUpPeopleDocument, { ids: [active] }, token);
    expect(new Set(errors?.map((e) => e.path?.[2]))).toEqual(new Set(['digitalMailbox', 'certificate']));
    expect(errors?.every((e) => e.extensions?.code === 'FORBIDDEN')).toBe(true);
    expect(data!.persons[0].contactInfo?.email?.address).toBe('ola@example.com');
  });

  it('with no scope at all still answers id, status and reservation', async () => {
    const { data, errors } = await register.execute(ReservationOnlyDocument, { ids: [reserved] }, await register.agencyToken([]));
    expect(errors).toBeUndefined();
    expect(data!.persons[0]).toEqual({ id: reserved, status: 'ACTIVE', reservation: { reserved: true } });
  });

  it('without a token answers UNAUTHENTICATED', async () => {
    const { errors } = await register.execute(ReservationOnlyDocument, { ids: [active] });
    expect(errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
  });

  it('refuses agency lookups with a citizen token', async () => {
    const { errors } = await register.execute(ReservationOnlyDocument, { ids: [active] }, await register.citizenToken(active));
    expect(errors?.[0].extensions?.code).toBe('FORBIDDEN');
  });
});

describe('batching', () => {
  async function statementsFor(n: number): Promise<number> {
    const token = await register.agencyToken();
    const before = register.store.statements.count;
    const { data, errors } = await register.execute(LookUpPeopleDocument, { ids: ids.slice(0, n) }, token);
    expect(errors).toBeUndefined();
    expect(data!.persons).toHaveLength(n);
    return register.store.statements.count - before;
  }

  it('runs two SQL statements, whatever the number of ids', async () => {
    const forTen = await statementsFor(10);
    const forThousand = await statementsFor(1000);
    // One read of the read model (person, channels with their duplicate flags, mailbox) and
    // one append to the lookup audit log.
    expect(forTen).toBe(2);
    expect(forThousand).toBe(2);
  });
});

describe('the benchmark\u2019s naive loaders (bench/naive-loaders.ts, injected)', () => {
  let naive: TestRegister;
  // One instant for both registers' data, so that their answers can be compared whole.
  const now = new Date();
  const people = () => fixture(now);

  beforeAll(async () => {
    naive = await createTestRegister({}, { createLoaders: createNaiveLoaders });
    await naive.put(...people());
  });
  afterAll(() => naive.close());

  const asked = [active, deleted, unregistered, active, reserved, staleEmail, noChannels, sharer1, sharer2];

  it('answers exactly as the batched service does', async () => {
    const batched = await createTestRegister();
    try {
      await batched.put(...people());
      const [a, b] = await Promise.all([
        batched.execute(LookUpPeopleDocument, { ids: asked }, await batched.agencyToken()),
        naive.execute(LookUpPeopleDocument, { ids: asked }, await naive.agencyToken()),
      ]);
      expect(a.errors).toBeUndefined();
      expect(b).toEqual(a);
    } finally {
      await batched.close();
    }
  });

  it('runs one statement per person for the row, then one per active person and field that reads a table', async () => {
    const before = naive.store.statements.count;
    const { errors } = await naive.execute(LookUpPeopleDocument, { ids: asked }, await naive.agencyToken());
    expect(errors).toBeUndefined();
    const activeAsked = asked.filter((id) => id !== deleted && id !== unregistered).length;
    // notificationStatus and contactInfo read contact_point, digitalMailbox and certificate
    // digital_post, each on its own; plus the lookup audit insert.
    expect(naive.store.statements.count - before).toBe(asked.length + 4 * activeAsked + 1);
  });

  it('reads no table the viewer may not see', async () => {
    const before = naive.store.statements.count;
    const { data } = await naive.execute(LookUpPeopleDocument, { ids: [active] }, await naive.agencyToken([Scope.DIGITAL_POST]));
    expect(data?.persons[0].digitalMailbox).not.toBeNull();
    // The person row and the two digital_post reads; the contact fields are refused unread.
    expect(naive.store.statements.count - before).toBe(1 + 2 + 1);
  });
});
