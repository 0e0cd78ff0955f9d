import { getNamedType, isObjectType, type GraphQLNamedType, type GraphQLSchema } from 'graphql';
import { ALWAYS, OWN_RECORD, scopeOf, type FieldRule } from '../auth/scopes';
import { releaseField } from './auth-checker';
import type { Context } from './context';

/** A view whose getters a rule table guards: one person's record, for one request. */
interface GuardedView {
  readonly id: string;
  readonly ctx: Context;
}

/**
 * A class decorator: every field whose rule is a scope is wrapped so that reading it first
 * runs `releaseField` (FORBIDDEN without the scope; an agency's answer recorded as released
 * for this person). The field stays a plain getter run by GraphQL's default resolver: no
 * middleware and no promise per field, which a lookup of 1000 people x all fields needs.
 * A scope rule on anything but a getter of the class is a mistake, refused at start-up.
 */
export function guardFields(rules: Readonly<Record<string, FieldRule>>) {
  return (target: { name: string; prototype: object }): void => {
    for (const [field, rule] of Object.entries(rules)) {
      const scope = scopeOf(rule);
      if (scope === null) continue;
      const descriptor = Object.getOwnPropertyDescriptor(target.prototype, field);
      const get = descriptor?.get;
      if (!descriptor || !get) throw new Error(`${target.name}.${field}: a scope rule needs a getter to guard`);
      const name = `${target.name}.${field}`;
      Object.defineProperty(target.prototype, field, {
        ...descriptor,
        get(this: GuardedView) {
          releaseField(this.ctx, scope, name, this.id);
          return get.call(this);
        },
      });
    }
  };
}

/** The object types reachable from `type` through fields (itself included), short of `stop`. */
function reachable(type: GraphQLNamedType, stop: string, out = new Set<string>()): Set<string> {
  if (!isObjectType(type) || type.name === stop || out.has(type.name)) return out;
  out.add(type.name);
  for (const field of Object.values(type.getFields())) reachable(getNamedType(field.type), stop, out);
  return out;
}

/**
 * Fails closed: throws unless every field of `typeName` has a rule in `rules` (and every
 * rule names a field), and unless whatever a guarded field leads to (`ContactInfo`,
 * `EmailContact`, `DigitalMailbox`, ...) is reached through that field alone. A new field,
 * or a new path to a guarded type, is refused when the schema is built until its rule is
 * declared. A scope-guarded field's description must name its scope, so the schema tells
 * clients what the table says.
 */
export function assertFieldRules(schema: GraphQLSchema, typeName: string, rules: Readonly<Record<string, FieldRule>>): void {
  const type = schema.getType(typeName);
  if (!isObjectType(type)) throw new Error(`field rules: ${typeName} is not an object type of the schema`);
  const fields = type.getFields();
  const problems: string[] = [];
  for (const name of Object.keys(fields)) if (!(name in rules)) problems.push(`${typeName}.${name} has no field rule (src/auth/scopes.ts)`);
  for (const name of Object.keys(rules)) if (!(name in fields)) problems.push(`the field rule for ${typeName}.${name} names no field`);

  // Which guarded field leads to each type below it. A type reached from two differently
  // guarded fields, or from outside, could be read without its field's rule.
  const guardOf = new Map<string, string>();
  for (const [name, field] of Object.entries(fields)) {
    const rule = rules[name];
    if (rule === undefined || rule === ALWAYS) continue;
    const scope = scopeOf(rule);
    if (scope !== null && !field.description?.includes(scope)) problems.push(`${typeName}.${name}: its description must say it needs ${scope}`);
    if (rule === OWN_RECORD) continue;
    for (const inner of reachable(getNamedType(field.type), typeName)) {
      const other = guardOf.get(inner);
      if (other !== undefined && rules[other] !== rule) problems.push(`${inner} is reached through ${typeName}.${other} and ${typeName}.${name}, which have different rules`);
      else guardOf.set(inner, name);
    }
  }
  for (const other of Object.values(schema.getTypeMap())) {
    if (!isObjectType(other) || other.name.startsWith('__')) continue;
    for (const [name, field] of Object.entries(other.getFields())) {
      const target = getNamedType(field.type).name;
      const guard = guardOf.get(target);
      if (guard === undefined) continue;
      const from = other.name === typeName ? name : guardOf.get(other.name);
      const inside = from !== undefined && rules[from] === rules[guard];
      if (!inside) problems.push(`${other.name}.${name} returns ${target}, which only ${typeName}.${guard} may lead to (its rule: ${rules[guard]})`);
    }
  }
  if (problems.length > 0) throw new Error(`field rules:\n  - ${problems.join('\n  - ')}`);
}
