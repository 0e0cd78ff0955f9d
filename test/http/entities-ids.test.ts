import { parse } from 'graphql';
import { aPerson, syntheticIds } from '../support/people';
import { createTestRegister, type TestRegister } from '../support/register';

/**
 * `_entities` takes `_Any` representations, so its ids can be any JSON. Only strings are
 * identity numbers: anything else is refused before a person is loaded or a lookup recorded.
 */
let register: TestRegister;
const [active] = syntheticIds(1, 914);

beforeAll(async () => {
  register = await createTestRegister();
  await register.put(aPerson(active));
});
afterAll(() => register?.close());

// Raw on purpose: `_entities` is the gateway's entry point, in no schema the typed documents are checked against.
const ENTITIES = parse('query($r: [_Any!]!) { _entities(representations: $r) { ... on Person { id status } } }');
const auditRows = () => register.database.number('select count(*) n from lookup_audit');

describe('_entities representations', () => {
  it.each([
    ['a number', Number(active)],
    ['an array', [active]],
    ['an object', { id: active }],
    ['null', null],
  ])('refuses an id that is %s with BAD_USER_INPUT and records nothing', async (_kind, id) => {
    const before = await auditRows();
    const { data, errors } = await register.execute(ENTITIES as never, { r: [{ __typename: 'Person', id }] }, await register.agencyToken());
    expect(errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'representations', index: 0 });
    expect(data ?? null).toBeNull();
    expect(await auditRows()).toBe(before);
  });

  it('refuses a representation of another type', async () => {
    const { errors } = await register.execute(ENTITIES as never, { r: [{ __typename: 'Person', id: active }, { __typename: 'Letter', id: active }] }, await register.agencyToken());
    expect(errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', index: 1 });
  });

  it('answers a string id of an active person as ACTIVE', async () => {
    const { data, errors } = await register.execute(ENTITIES as never, { r: [{ __typename: 'Person', id: active }] }, await register.agencyToken());
    expect(errors).toBeUndefined();
    expect(data).toEqual({ _entities: [{ id: active, status: 'ACTIVE' }] });
  });
});
