/**
 * The store contract: every behaviour of `RegisterStore` (src/store/types.ts), run against
 * both stores. jest.config.js runs this file in the `sqlite` project and again in the
 * `postgres` project (test/support/database.ts picks the store; without PostgreSQL the
 * second is skipped, except under CI=true, where it fails). PostgreSQL's own mechanics
 * (advisory locks, the change counter, several replicas, the group commit of the lookup
 * log) are tested in test/integration/pg-*.test.ts.
 */
import { randomBytes } from 'node:crypto';
import type { CitizenPlan } from '../../src/domain/citizen-plan';
import { StatementCounter, type PersonRecord, type RequestStore } from '../../src/store/types';
import { change, OPEN_LIMITS, planned } from '../support/citizen-writes';
import { anEntry, idSupply } from '../support/people';
import { createTestRegister, type TestRegister } from '../support/register';
import { StagingRows } from '../../src/store/bulk-rows';

const T0 = new Date('2026-01-10T10:00:00.000Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

/** Synthetic identity numbers (month + 80, valid check digits), each used once. */
const newId = idSupply(400, 6161);
/** Not synthetic (month 01) and with wrong check digits, so nobody's: for what sample ids must leave out. */
const NOT_SYNTHETIC = '01010100000';

const record = (id: string, overrides: Partial<PersonRecord> = {}) => anEntry(id, T0, overrides);

/**
 * Expects `write` to fail on a NOT NULL column, on either store: SQLite says so in the
 * error's message, Drizzle on PostgreSQL wraps the driver's error ("Failed query: ...") as
 * its `cause`. Not `rejects.toThrow()`: better-sqlite3 hands its native addon the
 * `SqliteError` class once per process, so in a jest worker that ran another file first the
 * error comes from that file's realm, is no `instanceof Error` here, and jest reports
 * "did not throw".
 */
async function expectNotNullViolation(write: Promise<unknown>): Promise<void> {
  const error = (await write.then(
    () => null,
    (e: unknown) => e,
  )) as { message?: string; cause?: { message?: string } } | null;
  expect(error).not.toBeNull();
  expect(`${error?.message} / ${error?.cause?.message}`).toMatch(/not[- ]null/i);
}

let register: TestRegister;
beforeAll(async () => {
  register = await createTestRegister();
});
afterAll(async () => register?.close());

const store = () => register.store;
const req = (counter = new StatementCounter()): RequestStore => store().forRequest(counter);
const latest = () => register.database.number('select coalesce(max(change_number), 0) as n from change_log');
const kindsOf = async (id: string) => (await register.database.query<{ kind: string }>('select kind from change_log where person_id = ? order by change_number', id)).map((r) => r.kind);

describe('the store itself', () => {
  it('counts people, finds who is registered, and lists synthetic sample ids oldest change first', async () => {
    const before = await store().countPeople();
    const synthetic = [newId(), newId(), NOT_SYNTHETIC];
    await store().replacePeople(synthetic.map((id) => record(id)), 'IMPORT', T0);
    expect(await store().countPeople()).toBe(before + 3);
    const missing = newId();
    expect(await store().registeredAmong([synthetic[0], missing, synthetic[2]])).toEqual(new Set([synthetic[0], synthetic[2]]));
    expect(await store().registeredAmong([])).toEqual(new Set());
    const samples = await store().syntheticSampleIds(1000);
    expect(samples).toContain(synthetic[0]);
    expect(samples).not.toContain(NOT_SYNTHETIC);
    expect(samples.indexOf(synthetic[0])).toBeLessThan(samples.indexOf(synthetic[1]));
    expect(await store().syntheticSampleIds(1)).toHaveLength(1);
    await expect(store().ping()).resolves.toBeUndefined();
  });
});

describe('replacePeople', () => {
  it('writes whole entries in one transaction, each with the next change number', async () => {
    const [a, b] = [newId(), newId()];
    const start = await latest();
    const numbers = await store().replacePeople([record(a), record(b, { email: null, digitalPost: null, reserved: true, reservedAt: minutes(-5), reservationUpdatedAt: minutes(-5) })], 'IMPORT', T0);
    expect(numbers).toEqual([start + 1, start + 2]);
    const [pa, pb] = await req().people.people([a, b]);
    expect(pa).toEqual({ id: a, status: 'ACTIVE', reserved: false, reservedAt: null, reservationUpdatedAt: null, language: 'nb', languageUpdatedAt: minutes(-100), updatedAt: minutes(-50), changeNumber: start + 1 });
    expect(pb).toMatchObject({ reserved: true, reservedAt: minutes(-5), changeNumber: start + 2 });
    const [ca, cb] = await req().people.contactPoints([a, b]);
    expect(ca).toHaveLength(2);
    expect(ca.find((p) => p.channel === 'EMAIL')).toEqual({
      personId: a,
      channel: 'EMAIL',
      address: `Person.${a}@Example.org`,
      addressKey: `person.${a}@example.org`,
      updatedAt: minutes(-60),
      lastVerifiedAt: minutes(-59),
      lastValidatedAt: null,
      duplicated: false,
    });
    expect(cb.map((p) => p.channel)).toEqual(['MOBILE']);
    expect(await req().people.digitalPost([a, b])).toEqual([{ personId: a, mailboxAddress: `p.${a}#ABCD`, providerOrgNumber: '984661185', certificate: null }, null]);
    expect(await kindsOf(a)).toEqual(['IMPORT']);

    // Again: the old contact points and mailbox go, the new entry is all there is.
    const [again] = await store().replacePeople([record(a, { mobile: null, digitalPost: null, status: 'DELETED' })], 'IMPORT', T0);
    expect(again).toBe(start + 3);
    expect((await req().people.people([a]))[0]).toMatchObject({ status: 'DELETED', changeNumber: start + 3 });
    expect((await req().people.contactPoints([a]))[0].map((p) => p.channel)).toEqual(['EMAIL']);
    expect(await req().people.digitalPost([a])).toEqual([null]);
  });

  it('gives a person named twice two numbers and the last content', async () => {
    const a = newId();
    const start = await latest();
    const numbers = await store().replacePeople([record(a, { language: 'nn' }), record(newId()), record(a, { language: 'se', email: null })], 'IMPORT', T0);
    expect(numbers).toEqual([start + 1, start + 2, start + 3]);
    expect((await req().people.people([a]))[0]).toMatchObject({ language: 'se', changeNumber: start + 3 });
    expect((await req().people.contactPoints([a]))[0].map((p) => p.channel)).toEqual(['MOBILE']);
  });

  it('writes nothing and takes no number when any record fails', async () => {
    const [a, b] = [newId(), newId()];
    const start = await latest();
    // A mailbox without its provider breaks a NOT NULL column: the second record fails.
    const broken = record(b, { digitalPost: { mailboxAddress: 'x#1', providerOrgNumber: null as unknown as string, certificate: null } });
    await expectNotNullViolation(store().replacePeople([record(a), broken], 'IMPORT', T0));
    expect(await store().registeredAmong([a, b])).toEqual(new Set());
    expect(await latest()).toBe(start);
    expect(await store().replacePeople([record(a)], 'IMPORT', T0)).toEqual([start + 1]);
  });
});

describe('batch reads', () => {
  it('answer in key order with null or [] for missing ids, ids asked twice included', async () => {
    const [a, b] = [newId(), newId()];
    const missing = newId();
    await store().replacePeople([record(a), record(b, { email: null, mobile: null, digitalPost: null })], 'IMPORT', T0);
    const reads = req().people;
    expect((await reads.people([b, missing, a, b])).map((p) => p?.id ?? null)).toEqual([b, null, a, b]);
    const points = await reads.contactPoints([missing, a, b, a]);
    expect(points.map((list) => list.length)).toEqual([0, 2, 0, 2]);
    expect((await reads.digitalPost([b, a, missing])).map((d) => d?.personId ?? null)).toEqual([null, a, null]);
    expect(await reads.people([])).toEqual([]);
  });

  it('flag an address another ACTIVE person has on the same channel (emails case-insensitively), not a deleted one', async () => {
    const [a, b, c, d] = [newId(), newId(), newId(), newId()];
    const shared = `shared.${a}@example.org`;
    const mobile = `+4741${a.slice(-6)}`;
    const at = (address: string) => ({ address, updatedAt: T0, lastVerifiedAt: null, lastValidatedAt: null });
    await store().replacePeople(
      [
        record(a, { email: at(shared), mobile: at(mobile) }),
        record(b, { email: at(shared.toUpperCase()), mobile: null }),
        record(c, { status: 'DELETED', email: null, mobile: at(mobile) }),
        record(d, { email: at(mobile), mobile: null, digitalPost: null }),
      ],
      'IMPORT',
      T0,
    );
    const [pa, pb, pc, pd] = await req().people.contactPoints([a, b, c, d]);
    const flag = (list: typeof pa, channel: string) => list.find((p) => p.channel === channel)?.duplicated;
    expect([flag(pa, 'EMAIL'), flag(pb, 'EMAIL'), flag(pa, 'MOBILE'), flag(pc, 'MOBILE'), flag(pd, 'EMAIL')]).toEqual([true, true, false, true, false]);
  });
});

describe('certificates', () => {
  // Two distinct values, unique to this test (the register keeps every value it was given).
  const X = `MIIB${'x'.repeat(600)}${newId()}==`;
  // Longer than a PostgreSQL B-tree entry may be, and random (PostgreSQL compresses index entries).
  const Y = randomBytes(2400).toString('base64');
  const post = (id: string, certificate: string | null) => ({ digitalPost: { mailboxAddress: `p.${id}#ABCD`, providerOrgNumber: '984661185', certificate } });
  const stored = () => register.database.number('select count(*) as n from certificate');
  const certificatesOf = async (ids: string[]) => (await req().people.digitalPost(ids)).map((p) => p?.certificate);

  it('are kept once per value by replacePeople and the bulk import, and read back as written', async () => {
    const [a, b, c, d] = [newId(), newId(), newId(), newId()];
    const before = await stored();
    await store().replacePeople([record(a, post(a, X)), record(b, post(b, X))], 'IMPORT', T0);
    expect(await stored()).toBe(before + 1);
    const bulk = await store().startBulkImport('IMPORT', T0);
    const rows = new StagingRows();
    await bulk.stage(rows.batch([record(c, post(c, X)), record(d, post(d, Y))]));
    await bulk.stage(rows.batch([record(c, post(c, Y))]));
    await bulk.commit();
    expect(await stored()).toBe(before + 2);
    expect(await certificatesOf([a, b, c, d])).toEqual([X, X, Y, Y]);
    const [entry] = await req().people.entries([d]);
    expect(entry?.digitalPost).toEqual({ personId: d, mailboxAddress: `p.${d}#ABCD`, providerOrgNumber: '984661185', certificate: Y });

    // Replaced by another value, by none, or the mailbox gone: the values stay, the people's change.
    await store().replacePeople([record(a, post(a, Y)), record(b, post(b, null)), record(c, { digitalPost: null })], 'IMPORT', T0);
    expect(await certificatesOf([a, b, c, d])).toEqual([Y, null, undefined, Y]);
    expect(await stored()).toBe(before + 2);
  });
});

describe('the bulk import', () => {
  it('loads a register whose people were all deleted: the addresses they left, counted down to 0, do not stand in the way', async () => {
    const fresh = await createTestRegister();
    try {
      const [a, b, c] = [newId(), newId(), newId()].sort();
      const shared = { address: 'Left@Example.com', updatedAt: T0, lastVerifiedAt: null, lastValidatedAt: null };
      await fresh.store.replacePeople([record(a, { email: shared, mobile: null }), record(b, { email: shared, mobile: null })], 'IMPORT', T0);
      await fresh.database.query('delete from person');
      expect(await fresh.database.number('select count(*) from address_use')).toBeGreaterThan(0);

      const bulk = await fresh.store.startBulkImport('IMPORT', T0);
      await bulk.stage(new StagingRows().batch([record(a, { email: shared, mobile: null }), record(c, { email: shared, mobile: null })]));
      await expect(bulk.commit()).resolves.toMatchObject({ written: 2 });
      const entries = await fresh.store.forRequest(new StatementCounter()).people.entries([a, b, c]);
      expect(entries.map((e) => e?.contactPoints.map((p) => `${p.channel}:${p.duplicated}`) ?? null)).toEqual([['EMAIL:true'], null, ['EMAIL:true']]);
      expect(await fresh.database.query('select channel, address_key, active_people from address_use')).toEqual([{ channel: 'EMAIL', address_key: 'left@example.com', active_people: 2 }]);
    } finally {
      await fresh.close();
    }
  });
});

describe('the change feed page', () => {
  it('lists people changed after a number, in number order, with the newest number', async () => {
    const start = await latest();
    const people = [newId(), newId(), newId()];
    await store().replacePeople(people.map((id) => record(id)), 'IMPORT', T0);
    await store().replacePeople([record(people[0])], 'IMPORT', T0); // moves to the end
    const page = await req().people.changePage(start, 10);
    expect(page.rows.map((r) => r.id)).toEqual([people[1], people[2], people[0]]);
    expect(page.rows.map((r) => r.changeNumber)).toEqual([start + 2, start + 3, start + 4]);
    expect(page.latestChangeNumber).toBe(start + 4);
    expect((await req().people.changePage(start, 2)).rows).toHaveLength(2);
    expect(await req().people.changePage(start + 4, 10)).toEqual({ rows: [], latestChangeNumber: start + 4 });
  });
});

describe('the lookup log', () => {
  it('records lookups and reads them back newest first, paging back by id', async () => {
    const target = newId();
    const lookups = req().lookups;
    for (let i = 0; i < 6; i++) await lookups.record({ agencyOrgNumber: `99182582${i}`, personIds: [target, newId()], scopes: ['b', 'a'], at: minutes(i) });
    expect(await lookups.countLookupsOf(target)).toBe(6);
    const newest = await lookups.lookupsOf(target, 4);
    expect(newest[0]).toEqual({ id: expect.any(Number), personId: target, agencyOrgNumber: '991825825', supplierOrgNumber: null, lookedUpAt: minutes(5), scopes: expect.any(String) });
    const older = await lookups.lookupsOf(target, 100, newest[3].id);
    expect(older.map((r) => r.agencyOrgNumber)).toEqual(['991825821', '991825820']);
    expect(await lookups.countLookupsOf(newId())).toBe(0);
  });
});

describe('citizen writes: the store persists what the planners decide', () => {
  const c = () => planned(req().citizen);
  const stateOf = (id: string, now = T0) => req().citizen.state(id, now);
  const pointOf = async (id: string, channel: 'EMAIL' | 'MOBILE') => (await req().people.contactPoints([id]))[0].find((p) => p.channel === channel);

  it('setChannels creates the person, sets both channels and their codes, logs the sends and takes one change number', async () => {
    const id = newId();
    const start = await latest();
    const n = await c().setChannels(id, [change('EMAIL', `Ny.${id}@Example.org`, 'h1'), change('MOBILE', '+4791234567', 'h2')], T0, minutes(10));
    expect(n).toBe(start + 1);
    expect((await req().people.people([id]))[0]).toEqual({ id, status: 'ACTIVE', reserved: false, reservedAt: null, reservationUpdatedAt: null, language: null, languageUpdatedAt: null, updatedAt: T0, changeNumber: n });
    expect(await pointOf(id, 'EMAIL')).toMatchObject({ address: `Ny.${id}@Example.org`, addressKey: `ny.${id}@example.org`, updatedAt: T0, lastVerifiedAt: null, lastValidatedAt: null });
    const state = await stateOf(id);
    expect(state.codes.find((x) => x.channel === 'EMAIL')).toEqual({ channel: 'EMAIL', address: `Ny.${id}@Example.org`, codeHash: 'h1', createdAt: T0, expiresAt: minutes(10), failedAttempts: 0 });
    expect(state.codeLog.map((e) => [e.channel, e.addressKey, e.event]).sort()).toEqual([
      ['EMAIL', `ny.${id}@example.org`, 'SENT'],
      ['MOBILE', '+4791234567', 'SENT'],
    ]);
    expect(await kindsOf(id)).toEqual(['CONTACT_INFO_UPDATED']);
    expect(await stateOf(newId())).toEqual({ id: expect.any(String), person: null, channels: [], codes: [], codeLog: [] });
  });

  it('keeps the stamps for the same address (emails case-insensitively) and clears them for a new one', async () => {
    const id = newId();
    await store().replacePeople([record(id)], 'IMPORT', T0);
    await c().setChannels(id, [change('EMAIL', `PERSON.${id}@EXAMPLE.ORG`, 'e1')], minutes(1), minutes(11));
    expect(await pointOf(id, 'EMAIL')).toMatchObject({ address: `PERSON.${id}@EXAMPLE.ORG`, updatedAt: minutes(1), lastVerifiedAt: minutes(-59) });
    await c().takeAttempt(id, 'EMAIL', 'e1', 5);
    await c().setChannels(id, [change('MOBILE', '+4799999991', 'm1')], minutes(2), minutes(12));
    expect(await pointOf(id, 'MOBILE')).toMatchObject({ address: '+4799999991', updatedAt: minutes(2), lastVerifiedAt: null, lastValidatedAt: null });
    expect(await pointOf(id, 'EMAIL')).toMatchObject({ updatedAt: minutes(1), lastVerifiedAt: minutes(-59) });
    await c().setChannels(id, [change('EMAIL', `other.${id}@example.org`, 'e2')], minutes(3), minutes(13));
    expect(await pointOf(id, 'EMAIL')).toMatchObject({ lastVerifiedAt: null, lastValidatedAt: null });
    // The new code replaced the old one, attempts from zero.
    expect(await c().pendingCode(id, 'EMAIL')).toMatchObject({ codeHash: 'e2', failedAttempts: 0, address: `other.${id}@example.org`, createdAt: minutes(3) });
  });

  it('setChannels, setLanguage and setReservation re-activate a deleted entry', async () => {
    const [a, b, d] = [newId(), newId(), newId()];
    await store().replacePeople([a, b, d].map((id) => record(id, { status: 'DELETED', email: null, mobile: null })), 'IMPORT', T0);
    await c().setChannels(a, [change('MOBILE', '+4798765432')], T0, minutes(10));
    await c().setLanguage(b, 'se', minutes(4));
    await c().setReservation(d, true, minutes(4));
    const [pa, pb, pd] = await req().people.people([a, b, d]);
    expect([pa?.status, pb?.status, pd?.status]).toEqual(['ACTIVE', 'ACTIVE', 'ACTIVE']);
    expect(pb).toMatchObject({ language: 'se', languageUpdatedAt: minutes(4), updatedAt: minutes(4) });
  });

  it('is atomic: a plan that fails half-way leaves nothing and takes no number', async () => {
    const id = newId();
    const start = await latest();
    const broken: CitizenPlan<null> = {
      result: null,
      change: { kind: 'CONTACT_INFO_UPDATED', person: { status: 'ACTIVE', reserved: false, reservedAt: null, reservationUpdatedAt: null, language: null, languageUpdatedAt: null } },
      putChannels: [{ channel: 'EMAIL', address: `a.${id}@example.org`, addressKey: `a.${id}@example.org`, updatedAt: T0, lastVerifiedAt: null, lastValidatedAt: null }],
      log: [{ channel: 'EMAIL', addressKey: `a.${id}@example.org`, event: 'SENT', at: T0 }],
      // NOT NULL: fails after the person, the channel and the log rows were written.
      putCodes: [{ channel: 'EMAIL', address: `a.${id}@example.org`, codeHash: null as unknown as string, createdAt: T0, expiresAt: minutes(10), failedAttempts: 0 }],
    };
    await expectNotNullViolation(req().citizen.apply(id, T0, [], () => broken));
    expect(await store().registeredAmong([id])).toEqual(new Set());
    expect(await stateOf(id)).toMatchObject({ person: null, channels: [], codes: [], codeLog: [] });
    expect(await latest()).toBe(start);
    await c().setLanguage(id, 'nb', T0);
    expect(await latest()).toBe(start + 1);
  });

  it('replaceCode replaces the code for the current address, takes no number, and is null without the channel', async () => {
    const id = newId();
    await c().setChannels(id, [change('EMAIL', `r.${id}@example.org`, 'old')], T0, minutes(10));
    await c().takeAttempt(id, 'EMAIL', 'old', 5);
    const start = await latest();
    expect(await c().replaceCode(id, 'EMAIL', 'new', minutes(1), minutes(11))).toEqual({ address: `r.${id}@example.org` });
    expect(await c().pendingCode(id, 'EMAIL')).toEqual({ channel: 'EMAIL', address: `r.${id}@example.org`, codeHash: 'new', createdAt: minutes(1), expiresAt: minutes(11), failedAttempts: 0 });
    expect(await c().replaceCode(id, 'MOBILE', 'x', minutes(1), minutes(11))).toBeNull();
    expect(await c().pendingCode(id, 'MOBILE')).toBeUndefined();
    expect(await latest()).toBe(start);
  });

  it('takeAttempt counts against the code checked only, never past the limit, logs each check and takes no number', async () => {
    const id = newId();
    await c().setChannels(id, [change('MOBILE', '+4790000001', 'm')], T0, minutes(10));
    const start = await latest();
    expect(await c().takeAttempt(id, 'MOBILE', 'm', 3, minutes(1))).toBe(1);
    expect(await c().takeAttempt(id, 'MOBILE', 'm', 3, minutes(1))).toBe(2);
    expect(await c().takeAttempt(id, 'MOBILE', 'replaced-meanwhile', 3, minutes(1))).toBeNull();
    expect(await c().takeAttempt(id, 'EMAIL', 'm', 3, minutes(1))).toBeNull();
    expect(await c().takeAttempt(id, 'MOBILE', 'm', 3, minutes(1))).toBe(3);
    expect(await c().takeAttempt(id, 'MOBILE', 'm', 3, minutes(1))).toBeNull();
    expect((await c().pendingCode(id, 'MOBILE'))?.failedAttempts).toBe(3);
    expect((await stateOf(id, minutes(1))).codeLog.filter((e) => e.event === 'CHECKED')).toHaveLength(3);
    expect(await latest()).toBe(start);
  });

  it('consumeCode: only the pending, unlocked, unexpired code; stamps lastValidatedAt on either channel; single use', async () => {
    const id = newId();
    await c().setChannels(id, [change('EMAIL', `v.${id}@example.org`, 'e'), change('MOBILE', '+4790000002', 'm')], T0, minutes(10));
    const start = await latest();
    expect(await c().consumeCode(id, 'EMAIL', 'wrong', 5, minutes(1))).toBe(false);
    expect(await c().consumeCode(id, 'EMAIL', 'e', 5, minutes(10))).toBe(false); // expires_at is not after now
    expect(await latest()).toBe(start);

    expect(await c().consumeCode(id, 'EMAIL', 'e', 5, minutes(1))).toBe(true);
    expect(await latest()).toBe(start + 1);
    expect(await pointOf(id, 'EMAIL')).toMatchObject({ lastValidatedAt: minutes(1), lastVerifiedAt: null });
    expect((await req().people.people([id]))[0]).toMatchObject({ changeNumber: start + 1, updatedAt: minutes(1) });
    expect(await c().pendingCode(id, 'EMAIL')).toBeUndefined();
    expect(await c().consumeCode(id, 'EMAIL', 'e', 5, minutes(1))).toBe(false); // single use

    // Past the limit (three attempts taken, two allowed) it is refused; within it, used.
    for (let i = 0; i < 3; i++) await c().takeAttempt(id, 'MOBILE', 'm', 5);
    expect(await c().consumeCode(id, 'MOBILE', 'm', 2, minutes(1))).toBe(false);
    expect(await c().consumeCode(id, 'MOBILE', 'm', 3, minutes(2))).toBe(true);
    // An SMS code proves the number: _sist_validert, as for email. Only confirming stamps _sist_verifisert.
    expect(await pointOf(id, 'MOBILE')).toMatchObject({ lastValidatedAt: minutes(2), lastVerifiedAt: null });
    expect(await kindsOf(id)).toEqual(['CONTACT_INFO_UPDATED', 'EMAIL_VALIDATED', 'MOBILE_VALIDATED']);
  });

  it('consumeCode is false (and uses the code up) when the channel has another address by now', async () => {
    const id = newId();
    await c().setChannels(id, [change('EMAIL', `first.${id}@example.org`, 'e')], T0, minutes(10));
    // The channel moves on without replacing the code (e.g. an import).
    await register.database.query("update contact_point set address = 'moved@example.org', address_key = 'moved@example.org' where person_id = ?", id);
    const start = await latest();
    expect(await c().consumeCode(id, 'EMAIL', 'e', 5, minutes(1))).toBe(false);
    expect(await latest()).toBe(start);
    expect(await pointOf(id, 'EMAIL')).toMatchObject({ lastValidatedAt: null });
    expect(await c().pendingCode(id, 'EMAIL')).toBeUndefined();
  });

  it('confirmChannels stamps lastVerifiedAt on every channel; no channels, no number', async () => {
    const id = newId();
    await store().replacePeople([record(id)], 'IMPORT', T0);
    const start = await latest();
    expect(await c().confirmChannels(id, minutes(5))).toBe(2);
    expect((await req().people.contactPoints([id]))[0].map((p) => p.lastVerifiedAt)).toEqual([minutes(5), minutes(5)]);
    expect((await req().people.people([id]))[0]).toMatchObject({ changeNumber: start + 1, updatedAt: minutes(5) });
    expect(await c().confirmChannels(newId(), minutes(5))).toBe(0);
    expect(await latest()).toBe(start + 1);
  });

  it('setReservation keeps reservedAt while reserved, clears it when lifted, stamps reservationUpdatedAt', async () => {
    const id = newId();
    const start = await latest();
    await c().setReservation(id, true, minutes(1));
    expect((await req().people.people([id]))[0]).toMatchObject({ status: 'ACTIVE', reserved: true, reservedAt: minutes(1), reservationUpdatedAt: minutes(1), changeNumber: start + 1 });
    await c().setReservation(id, true, minutes(2));
    expect((await req().people.people([id]))[0]).toMatchObject({ reserved: true, reservedAt: minutes(1), reservationUpdatedAt: minutes(2), updatedAt: minutes(2) });
    await c().setReservation(id, false, minutes(3));
    expect((await req().people.people([id]))[0]).toMatchObject({ reserved: false, reservedAt: null, reservationUpdatedAt: minutes(3), changeNumber: start + 3 });
    expect(await kindsOf(id)).toEqual(['RESERVED', 'RESERVED', 'RESERVATION_LIFTED']);
  });

  it('deleteChannels removes both channels and their codes but not the code log; none there, no number', async () => {
    const id = newId();
    await c().setChannels(id, [change('EMAIL', `d.${id}@example.org`), change('MOBILE', '+4790000003')], T0, minutes(10));
    const start = await latest();
    expect(await c().deleteChannels(id, minutes(1))).toBe(2);
    expect(await req().people.contactPoints([id])).toEqual([[]]);
    const state = await stateOf(id, minutes(1));
    expect(state.codes).toEqual([]);
    expect(state.codeLog.map((e) => e.event)).toEqual(['SENT', 'SENT']);
    expect(await latest()).toBe(start + 1);
    expect(await c().deleteChannels(id, minutes(2))).toBe(0);
    expect(await latest()).toBe(start + 1);
  });

  it('reads the code log of the addresses asked about, whoever sent to them, within its window', async () => {
    const [a, b] = [newId(), newId()];
    const shared = `shared.${a}@example.org`;
    await c().setChannels(a, [change('EMAIL', shared)], T0, minutes(10));
    // b has never used the address; asking about it shows a's send.
    expect((await req().citizen.state(b, minutes(1), [shared])).codeLog).toEqual([{ personId: a, channel: 'EMAIL', addressKey: shared, event: 'SENT', at: T0 }]);
    expect((await req().citizen.state(b, minutes(1))).codeLog).toEqual([]);
    // A day later the send is out of the window.
    expect((await req().citizen.state(a, new Date(T0.getTime() + 24 * 3_600_000))).codeLog).toEqual([]);
  });

  it('prunes code-log events past the window a few at a time, when a plan says so, and keeps the recent ones', async () => {
    const id = newId();
    const later = new Date(T0.getTime() + 2 * 24 * 3_600_000);
    const old = Array.from({ length: 30 }, (_, i) => ({ channel: 'EMAIL' as const, addressKey: `old.${id}@example.org`, event: 'SENT' as const, at: minutes(i) }));
    await req().citizen.apply(id, T0, [], () => ({ result: null, log: [...old, { ...old[0], at: later }] }));
    const count = () => register.database.number('select count(*) from code_log');
    const prune = () => req().citizen.apply(newId(), later, [], () => ({ result: null, pruneLogBefore: new Date(later.getTime() - 24 * 3_600_000) }));
    const before = await count();
    await prune();
    // A few per write: never a long delete inside a citizen's write.
    expect(before - (await count())).toBe(20);
    for (let i = 0; i < 100 && (await register.database.number('select count(*) from code_log where at < ?', minutes(24 * 60))) > 0; i++) await prune();
    expect(await register.database.number('select count(*) from code_log where person_id = ?', id)).toBe(1);
  });

  it('the limits hold on the store: delete/update cycles do not reset one code a minute or the caps per address', async () => {
    const id = newId();
    const limits = { ...OPEN_LIMITS, resendSeconds: 60, perAddressPerHour: 3 };
    const strict = planned(req().citizen, limits);
    const address = `cycle.${id}@example.org`;
    await strict.setChannels(id, [change('EMAIL', address)], T0, minutes(10));
    await strict.deleteChannels(id, minutes(0.1));
    await expect(strict.setChannels(id, [change('EMAIL', address)], minutes(0.2), minutes(10))).rejects.toThrow('refused: RESEND_WAIT');
    await strict.setChannels(id, [change('EMAIL', address)], minutes(2), minutes(12));
    await strict.deleteChannels(id, minutes(2.1));
    await strict.setChannels(id, [change('EMAIL', address)], minutes(4), minutes(14));
    await strict.deleteChannels(id, minutes(4.1));
    await expect(strict.setChannels(id, [change('EMAIL', address)], minutes(6), minutes(16))).rejects.toThrow('refused: ADDRESS_HOURLY');
    expect(await register.database.number("select count(*) from code_log where person_id = ? and event = 'SENT'", id)).toBe(3);
  });
});
