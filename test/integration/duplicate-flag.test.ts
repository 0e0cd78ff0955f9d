/**
 * The duplicate flag (`_duplisert`) and the lookup's read model are kept at write time, on
 * both stores: after every kind of write (whole entries, citizen writes, a person deleted
 * and re-activated) what a lookup reads equals what the tables say, recomputed here from
 * scratch: another ACTIVE person holds the same address key on the same channel.
 */
import { StatementCounter, type ChannelChange, type RegisterStore } from '../../src/store/types';
import { aChannel, aPerson, NOW, syntheticIds } from '../support/people';
import { createTestRegister, type TestRegister } from '../support/register';

let register: TestRegister;
let store: RegisterStore;

beforeAll(async () => {
  register = await createTestRegister();
  store = register.store;
});

afterAll(async () => {
  await register.close();
});

const reads = () => store.forRequest(new StatementCounter()).people;
const citizen = () => store.forRequest(new StatementCounter()).citizen;
const email = (address: string): ChannelChange => ({ channel: 'EMAIL', address, addressKey: address.toLowerCase(), codeHash: 'salt:hash' });

/** Every person's flags as the read model has them, and as the tables say they should be. */
async function flags(ids: readonly string[]) {
  const entries = await reads().entries(ids);
  const actual = entries.map((e) => e?.contactPoints.map((p) => `${p.channel}:${p.duplicated}`).sort() ?? null);
  const points = await register.database.query<{ person_id: string; channel: string; address_key: string }>('select person_id, channel, address_key from contact_point');
  const status = new Map((await register.database.query<{ id: string; status: string }>('select id, status from person')).map((r) => [r.id, r.status]));
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
