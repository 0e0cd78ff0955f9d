import { extendSchema, isObjectType, Kind, parse, type FieldNode, type OperationDefinitionNode } from 'graphql';
import { LookUpPeopleDocument, PeopleLookupCountsDocument } from '../generated/graphql';
import { FLOOR_SCOPES } from '../../bench/limit-common';
import { LOOKUP_PEOPLE } from '../../bench/queries';
import { ALL_SCOPES, ALWAYS, PERSON_FIELD_RULES, Scope, scopeOf } from '../../src/auth/scopes';
import { assertFieldRules, guardFields } from '../../src/graphql/field-rules';
import { buildRegisterSchema } from '../../src/graphql/schema';
import { PERSON_FIELDS } from '../../src/register/register-format';
import { aChannel, aPerson, MONTHS_AGO, syntheticIds } from '../support/people';
import { createTestRegister, type TestRegister } from '../support/register';

/**
 * Who sees which Person field is declared once (`PERSON_FIELD_RULES`). These tests prove it
 * fails closed (a field or a path without a rule is refused when the schema is built) and
 * that GraphQL, the REST API and the audit log all follow the table, read from the table.
 */

const schema = buildRegisterSchema();
const rules = Object.entries(PERSON_FIELD_RULES);
const guarded = rules.filter(([, rule]) => scopeOf(rule) !== null);

describe('the field rule table fails closed', () => {
  it('names exactly the fields of Person', () => {
    const person = schema.getType('Person');
    expect(isObjectType(person) && Object.keys(person.getFields()).sort()).toEqual(Object.keys(PERSON_FIELD_RULES).sort());
  });

  it('shows only identifier, status and reservation whatever the scope (DOMAIN.md), the rest to its own viewers', () => {
    expect(rules.filter(([, rule]) => rule === ALWAYS).map(([field]) => field).sort()).toEqual(['id', 'reservation', 'status']);
  });

  it('refuses a Person field that has no rule', () => {
    const extended = extendSchema(schema, parse('extend type Person { nickname: String }'));
    expect(() => assertFieldRules(extended, 'Person', PERSON_FIELD_RULES)).toThrow('Person.nickname has no field rule');
  });

  it('refuses a path to a guarded type that goes around its Person field', () => {
    const query = extendSchema(schema, parse('extend type Query { contactInfoOf(id: String!): ContactInfo }'));
    expect(() => assertFieldRules(query, 'Person', PERSON_FIELD_RULES)).toThrow('Query.contactInfoOf returns ContactInfo, which only Person.contactInfo may lead to');
    // Reservation is shown whatever the scope: a mailbox under it would be too.
    const nested = extendSchema(schema, parse('extend type Reservation { mailbox: DigitalMailbox }'));
    expect(() => assertFieldRules(nested, 'Person', PERSON_FIELD_RULES)).toThrow('Reservation.mailbox returns DigitalMailbox');
    // One guarded type under two differently guarded fields.
    const shared = extendSchema(schema, parse('extend type ContactInfo { mailbox: DigitalMailbox }'));
    expect(() => assertFieldRules(shared, 'Person', PERSON_FIELD_RULES)).toThrow('DigitalMailbox is reached through');
  });

  it('refuses a rule for a field that does not exist, and a scope rule on anything but a getter', () => {
    expect(() => assertFieldRules(schema, 'Person', { ...PERSON_FIELD_RULES, nickname: Scope.CONTACT_INFO })).toThrow('the field rule for Person.nickname names no field');
    class NotAGetter {
      email = 'x';
    }
    expect(() => guardFields({ email: Scope.CONTACT_INFO })(NotAGetter)).toThrow('NotAGetter.email: a scope rule needs a getter to guard');
  });

  it('agrees with the benchmark floor, which checks scopes its own way', () => {
    const operation = parse(LOOKUP_PEOPLE).definitions[0] as OperationDefinitionNode;
    const persons = operation.selectionSet.selections[0] as FieldNode;
    const fields = persons.selectionSet!.selections.filter((s): s is FieldNode => s.kind === Kind.FIELD).map((s) => s.name.value);
    const needed = [...new Set(fields.map((f) => scopeOf(PERSON_FIELD_RULES[f])).filter((s) => s !== null))].sort();
    expect(needed).toEqual([...FLOOR_SCOPES]);
  });
});

describe('GraphQL, REST and the audit log follow the table', () => {
  let register: TestRegister;
  let base: string;
  const ids = syntheticIds(6, 161);
  beforeAll(async () => {
    register = await createTestRegister();
    base = await register.listen();
    // Every field set, so that a key missing from an answer can only mean it was withheld.
    const stamps = { lastVerifiedAt: MONTHS_AGO(2), lastValidatedAt: MONTHS_AGO(2) };
    await register.put(
      ...ids.map((id) =>
        aPerson(id, {
          reserved: true,
          reservedAt: MONTHS_AGO(4),
          reservationUpdatedAt: MONTHS_AGO(4),
          email: aChannel(`p.${id.slice(-4)}@example.com`, MONTHS_AGO(3), stamps),
          mobile: aChannel(`+479${id.slice(-7)}`, MONTHS_AGO(3), stamps),
        }),
      ),
    );
  });
  afterAll(() => register.close());

  const tokenSets: (readonly string[])[] = [[], [Scope.CONTACT_INFO], [Scope.DIGITAL_POST], [Scope.CONTACT_INFO, Scope.DIGITAL_POST]];

  it.each(tokenSets.map((scopes, i) => [scopes.join(' ') || '(no scope)', scopes, ids[i]] as const))(
    'with %s: every field the table guards by a scope not held is refused, every other answered, and logged with the scopes released',
    async (_name, scopes, id) => {
      const { data, errors } = await register.execute(LookUpPeopleDocument, { ids: [id] }, await register.agencyToken(scopes));
      const refused = new Set(errors?.map((e) => `${e.path?.[2]}:${e.extensions?.code}`));
      const expectRefused = guarded.filter(([, rule]) => !scopes.includes(rule)).map(([field]) => `${field}:FORBIDDEN`);
      expect(refused).toEqual(new Set(expectRefused));
      const person = data!.persons[0] as Record<string, unknown>;
      for (const [field, rule] of rules) {
        if (!(field in person)) continue;
        const scope = scopeOf(rule);
        if (scope === null || scopes.includes(scope)) expect([field, person[field]]).not.toEqual([field, null]);
        else expect([field, person[field]]).toEqual([field, null]);
      }
      const logged = await register.database.query<{ s: string }>('select scopes s from lookup_audit where person_id = ?', id);
      expect(logged).toEqual([{ s: [...new Set(guarded.map(([, r]) => r).filter((r) => scopes.includes(r)))].sort().join(' ') }]);
    },
  );

  it.each(tokenSets.map((scopes) => [scopes.join(' ') || '(no scope)', scopes] as const))('REST with %s serves exactly the register fields the table lets through', async (_name, scopes) => {
    const response = await fetch(`${base}/rest/v2/personer`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await register.agencyToken(scopes)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ personidentifikatorer: [ids[5]] }),
    });
    expect(response.status).toBe(200);
    const [person] = ((await response.json()) as { personer: Record<string, Record<string, unknown>>[] }).personer;
    const served = Object.entries(person).flatMap(([key, value]) => (typeof value === 'object' && value !== null ? Object.keys(value).map((inner) => `${key}.${inner}`) : [key]));
    const visible = PERSON_FIELDS.filter(({ graphql }) => {
      const scope = scopeOf(PERSON_FIELD_RULES[graphql.split('.')[0]]);
      return scope === null || scopes.includes(scope);
    }).map(({ register }) => register);
    expect(served.sort()).toEqual(visible.sort());
  });

  it('gives who-looked-me-up to the citizen on their own record only, never to an agency', async () => {
    const { errors } = await register.execute(PeopleLookupCountsDocument, { ids: [ids[0]] }, await register.agencyToken(ALL_SCOPES));
    expect(errors?.map((e) => [e.path, e.extensions?.code])).toEqual([[['persons', 0, 'lookups'], 'FORBIDDEN']]);
  });
});
