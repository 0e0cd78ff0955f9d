/**
 * The duplicate flag (`_duplisert`) and the lookup's read model are kept at write time, on
 * both stores: after every kind of write (whole entries, citizen writes, a person deleted
 * and re-activated) what a lookup reads equals what the tables say, recomputed here from
 * scratch: another ACTIVE person holds the same address key on the same channel.
 */
import type { NewAddress } from '../../src/domain/citizen-plan';
import { StatementCounter, type RegisterStore } from '../../src/store/types';
import type { PersonRecord } from '../../src/domain/person-record';
import { change, planned } from '../support/citizen-writes';
import { aChannel, aPerson, NOW, syntheticIds } from '../support/people';
import { createTestRegister, type TestRegister } from '../support/register';
import { createRandom } from '../../db/seed/generate';
import { StagingRows } from '../../src/store/bulk-rows';

let register: TestRegister;
let store: RegisterStore;

beforeAll(async () => {
  register = await createTestRegister();
  store = register.store;
});

afterAll(async () => {
  await register.close();
});

const citizen = () => planned(store.forRequest(new StatementCounter()).citizen);
const email = (address: string): NewAddress => change('EMAIL', address, 'salt:hash');

/** Every person's flags as the read model has them, and as the tables say they should be. */
async function flags(ids: readonly string[], on: TestRegister = register) {
  const entries = await on.store.forRequest(new StatementCounter()).people.entries(ids);
  const actual = entries.map((e) => e?.contactPoints.map((p) => `${p.channel}:${p.duplicated}`).sort() ?? null);
  const points = await on.database.query<{ person_id: string; channel: string; address_key: string }>('select person_id, channel, address_key from contact_point');
  const status = new Map((await on.database.query<{ id: string; status: string }>('select id, status from person')).map((r) => [r.id, r.status]));
  const expected = ids.map((id) => {
    if (!status.has(id)) return null;
    const mine = points.filter((p) => p.person_id === id);
    return mine
      .map((p) => {
        const other = points.some((o) => o.person_id !== id && o.channel === p.channel && o.address_key === p.address_key && status.get(o.person_id) === 'ACTIVE');
        return `${p.channel}:${other}`;
      })
      .sort();
  });
  return { actual, expected };
}

it('keeps every flag right through whole-entry writes, citizen writes, deletion and re-activation', async () => {
  const [a, b, c, d] = syntheticIds(4, 5151);
  const check = async (when: string) => {
    const { actual, expected } = await flags([a, b, c, d]);
    expect({ when, flags: actual }).toEqual({ when, flags: expected });
    return actual;
  };
  await register.put(
    aPerson(a, { email: aChannel('Shared@Example.com'), mobile: aChannel('+4791000001') }),
    aPerson(b, { email: aChannel('shared@example.com'), mobile: aChannel('+4791000002') }),
    aPerson(c, { email: aChannel('own@example.com'), mobile: aChannel('+4791000001') }),
  );
  expect(await check('a and b share an email, a and c a mobile')).toEqual([
    ['EMAIL:true', 'MOBILE:true'],
    ['EMAIL:true', 'MOBILE:false'],
    ['EMAIL:false', 'MOBILE:true'],
    null,
  ]);

  await citizen().setChannels(b, [email('b@example.com')], NOW, new Date(NOW.getTime() + 600_000));
  expect((await check('b moved away from the shared email'))[0]).toEqual(['EMAIL:false', 'MOBILE:true']);

  await register.put(aPerson(c, { status: 'DELETED', email: aChannel('own@example.com'), mobile: aChannel('+4791000001') }));
  // c's row keeps its mobile, still held by the active a: c's own flag says so; a's no longer counts c.
  expect(await check('c deleted')).toEqual([['EMAIL:false', 'MOBILE:false'], ['EMAIL:false', 'MOBILE:false'], ['EMAIL:false', 'MOBILE:true'], null]);

  // A first citizen write creates d (active) with a's email; then c comes back the same way.
  await citizen().setChannels(d, [email('SHARED@example.com')], NOW, new Date(NOW.getTime() + 600_000));
  await citizen().setReservation(c, true, NOW);
  await check('d shares a email; c active again');

  await citizen().deleteChannels(a, NOW);
  expect(await check('a removed both channels')).toEqual([[], ['EMAIL:false', 'MOBILE:false'], ['EMAIL:false', 'MOBILE:false'], ['EMAIL:false']]);
});

it('takes a deleted person row out of the read model and out of the counts', async () => {
  const [e, f] = syntheticIds(2, 6262);
  await register.put(aPerson(e, { email: aChannel('pair@example.com'), mobile: null }), aPerson(f, { email: aChannel('pair@example.com'), mobile: null }));
  expect((await flags([e, f])).actual).toEqual([['EMAIL:true'], ['EMAIL:true']]);
  await register.database.query('delete from person where id = ?', e);
  expect(await flags([e, f])).toEqual({ actual: [null, ['EMAIL:false']], expected: [null, ['EMAIL:false']] });
});

/** Bulk imports the records (`startBulkImport`, the path of `npm run import`) into `into`. */
async function bulkImport(into: RegisterStore, ...records: PersonRecord[]) {
  const bulk = await into.startBulkImport('IMPORT', NOW);
  await bulk.stage(new StagingRows().batch(records));
  return bulk.commit();
}

it('keeps the flags right through a bulk import, into an empty register and over people already there', async () => {
  const fresh = await createTestRegister();
  try {
    const [g, h, i, j] = syntheticIds(4, 7373);
    const flagsIn = (ids: readonly string[]) => flags(ids, fresh);
    // Empty register: the read model is derived once at the end (SQLite) or set-based (PostgreSQL).
    await bulkImport(
      fresh.store,
      aPerson(g, { email: aChannel('Same@Example.com'), mobile: aChannel('+4792000001') }),
      aPerson(h, { email: aChannel('same@example.com'), mobile: aChannel('+4792000002') }),
      aPerson(i, { status: 'DELETED', email: aChannel('same@example.com'), mobile: aChannel('+4792000002') }),
    );
    let now = await flagsIn([g, h, i, j]);
    expect(now.actual).toEqual(now.expected);
    expect(now.actual).toEqual([['EMAIL:true', 'MOBILE:false'], ['EMAIL:true', 'MOBILE:false'], ['EMAIL:true', 'MOBILE:true'], null]);

    // Over people already there: h moves away, i comes back with g's mobile, j is new with h's old mobile.
    await bulkImport(
      fresh.store,
      aPerson(h, { email: aChannel('h@example.com'), mobile: aChannel('+4792000002') }),
      aPerson(i, { email: aChannel('i@example.com'), mobile: aChannel('+4792000001') }),
      aPerson(j, { email: null, mobile: aChannel('+4792000002') }),
    );
    now = await flagsIn([g, h, i, j]);
    expect(now.actual).toEqual(now.expected);
    expect(now.actual).toEqual([['EMAIL:false', 'MOBILE:true'], ['EMAIL:false', 'MOBILE:true'], ['EMAIL:false', 'MOBILE:true'], ['MOBILE:true']]);

    // The counts behind the flags: active people per address.
    const counts = await fresh.database.query<{ channel: string; address_key: string; active_people: number }>(
      "select channel, address_key, active_people from address_use where active_people > 0 order by channel, address_key",
    );
    expect(counts.map((c) => `${c.channel}:${c.address_key}:${Number(c.active_people)}`)).toEqual([
      'EMAIL:h@example.com:1',
      'EMAIL:i@example.com:1',
      'EMAIL:same@example.com:1',
      'MOBILE:+4792000001:2',
      'MOBILE:+4792000002:2',
    ]);
  } finally {
    await fresh.close();
  }
});

it('keeps the flags right through pages applied from the upstream feed (follower mode)', async () => {
  const [k, l] = syntheticIds(2, 8484);
  await register.put(aPerson(k, { email: aChannel('feed@example.com'), mobile: null }));
  const before = await store.upstreamPosition();
  const at = before?.position ?? 0;
  const upstream = before?.upstream ?? 'http://upstream.test';
  expect(await store.applyUpstreamPage({ upstream, after: at, to: at + 1, latest: at + 1, records: [aPerson(l, { email: aChannel('FEED@example.com'), mobile: null })], at: NOW })).toBe(true);
  let now = await flags([k, l]);
  expect(now).toEqual({ actual: [['EMAIL:true'], ['EMAIL:true']], expected: [['EMAIL:true'], ['EMAIL:true']] });
  expect(await store.applyUpstreamPage({ upstream, after: at + 1, to: at + 2, latest: at + 2, records: [aPerson(l, { status: 'DELETED', email: aChannel('feed@example.com'), mobile: null })], at: NOW })).toBe(true);
  now = await flags([k, l]);
  expect(now).toEqual({ actual: [['EMAIL:false'], ['EMAIL:true']], expected: [['EMAIL:false'], ['EMAIL:true']] });
});

it("keeps every flag right through a follower's pages (applyUpstreamPage), into an empty register and then a non-empty one, with gap-free change numbers", async () => {
  const copy = await createTestRegister();
  try {
    const [a, b, c, d] = syntheticIds(4, 5353);
    const check = async (when: string) => {
      const { actual, expected } = await flags([a, b, c, d], copy);
      expect({ when, flags: actual }).toEqual({ when, flags: expected });
      return actual;
    };
    const apply = (after: number, to: number, records: PersonRecord[]) => copy.store.applyUpstreamPage({ upstream: 'http://up', after, to, latest: 9, records, at: NOW });
    // The first page lands in an empty register (read model derived once), the second in a non-empty one (kept by triggers).
    expect(
      await apply(0, 3, [
        aPerson(a, { email: aChannel('shared@example.com'), mobile: aChannel('+4791000001') }),
        aPerson(b, { email: aChannel('Shared@Example.com'), mobile: null }),
        aPerson(c, { status: 'DELETED', email: null, mobile: aChannel('+4791000001') }),
      ]),
    ).toBe(true);
    expect(await check('a and b share an email; c (deleted) has a mobile of a')).toEqual([['EMAIL:true', 'MOBILE:false'], ['EMAIL:true'], ['MOBILE:true'], null]);
    expect(
      await apply(3, 7, [
        aPerson(b, { email: aChannel('own@example.com'), mobile: null }),
        aPerson(d, { email: null, mobile: aChannel('+4791000001') }),
        aPerson(a, { status: 'DELETED', email: null, mobile: aChannel('+4791000001') }),
      ]),
    ).toBe(true);
    expect(await check('b moved away, d took the mobile of a, a was deleted')).toEqual([['MOBILE:true'], ['EMAIL:false'], ['MOBILE:true'], ['MOBILE:false']]);
    const numbers = (await copy.database.query<{ n: number }>('select change_number as n from change_log order by change_number')).map((r) => Number(r.n));
    expect(numbers).toEqual([1, 2, 3, 4, 5, 6]);
    const latest = await copy.database.query<{ id: string; n: number }>('select id, change_number as n from person order by change_number');
    expect(latest.map((r) => [r.id, Number(r.n)])).toEqual([
      [c, 3],
      [b, 4],
      [d, 5],
      [a, 6],
    ]);
  } finally {
    await copy.close();
  }
});

it('a bulk import over people already there leaves what writing the same records one by one leaves (answers, flags, change numbers)', async () => {
  const [byOne, byBulk] = [await createTestRegister(), await createTestRegister()];
  try {
    const random = createRandom(9191);
    const pick = <T>(choices: readonly T[]) => choices[Math.floor(random() * choices.length)];
    const ids = syntheticIds(40, 9292);
    // About two people an address, so that counts cross 0, 1 and 2 as people move; some not active.
    const k = () => Math.floor(random() * 16);
    const someone = (id: string) =>
      aPerson(id, {
        status: pick(['ACTIVE', 'ACTIVE', 'ACTIVE', 'DELETED']),
        email: pick([null, aChannel(`shared.${k()}@example.com`), aChannel(`Shared.${k()}@Example.com`)]),
        mobile: pick([null, aChannel(`+47930000${String(k()).padStart(2, '0')}`)]),
      });
    const everyone = ids.map(someone);
    await byOne.put(...everyone);
    await byBulk.put(...everyone);
    const same = async (when: string) => {
      const read = async (on: TestRegister) => ({
        entries: await on.store.forRequest(new StatementCounter()).people.entries(ids),
        counts: (
          await on.database.query<{ channel: string; address_key: string; active_people: number }>(
            'select channel, address_key, active_people from address_use where active_people > 0 order by channel, address_key',
          )
        ).map((c) => `${c.channel}:${c.address_key}:${Number(c.active_people)}`),
      });
      expect({ when, ...(await read(byBulk)) }).toEqual({ when, ...(await read(byOne)) });
      const { actual, expected } = await flags(ids, byBulk);
      expect({ when, flags: actual }).toEqual({ when, flags: expected });
    };
    // A quarter of the register (its indexes kept), one of them twice, then all of it again (indexes rebuilt).
    const some = [...ids.slice(0, 9).map(someone), someone(ids[3])];
    // The file's earlier record of a person given twice is overridden: one number, at the later place.
    for (const person of some.filter((p, i) => some.findLastIndex((q) => q.id === p.id) === i)) await byOne.put(person);
    await bulkImport(byBulk.store, ...some);
    await same('a quarter of the register imported again');
    const all = ids.map(someone);
    for (const person of all) await byOne.put(person);
    await bulkImport(byBulk.store, ...all);
    await same('all of the register imported again');
  } finally {
    await byOne.close();
    await byBulk.close();
  }
});
