import {
  buildSubgraph,
  isEnumType,
  isObjectType,
  isScalarType,
  Supergraph,
  type FieldDefinition,
  type NamedType,
  type ObjectType,
  type Schema,
  type Subgraph,
} from '@apollo/federation-internals';
import { parse, type SelectionSetNode } from 'graphql';

/** The register's name in the composed graph (and in a supergraph file made with rover). */
export const REGISTER_SUBGRAPH = 'register';

/**
 * A supergraph in which another source would answer (or see) what only the register may:
 * refused at start-up and at every recomposition. The message names each source and field.
 */
export class RegisterOwnershipError extends Error {
  constructor(readonly problems: string[]) {
    super(`The composed graph is refused: the register owns its fields.\n  - ${problems.join('\n  - ')}`);
    this.name = 'RegisterOwnershipError';
  }
}

const ROOTS = new Set(['Query', 'Mutation', 'Subscription']);
/** Federation's own plumbing, which every subgraph has. */
const isPlumbing = (name: string) => name.startsWith('_') || name.includes('__');

/** The top-level field names of a field set such as `id` or `contactInfo { email { address } }`. */
function topFields(fieldSet: string): string[] {
  const selection = (parse(`{ ${fieldSet} }`).definitions[0] as { selectionSet: SelectionSetNode }).selectionSet;
  return selection.selections.flatMap((s) => (s.kind === 'Field' ? [s.name.value] : []));
}

const fieldSetsOf = (element: ObjectType | FieldDefinition<ObjectType>, directive: string): string[] =>
  element.appliedDirectivesOf(directive).map((d) => String((d.arguments() as { fields?: unknown }).fields ?? ''));

function namedTypeOf(field: FieldDefinition<ObjectType>): NamedType {
  let type = field.type!;
  while (type.kind === 'NonNullType' || type.kind === 'ListType') type = type.ofType;
  return type as NamedType;
}

/** What the register itself serves: its types, the fields of each, and the key fields of its entities. */
interface RegisterShape {
  types: Map<string, NamedType>;
  keyFields: Map<string, Set<string>>;
}

function shapeOf(schema: Schema): RegisterShape {
  const types = new Map<string, NamedType>();
  const keyFields = new Map<string, Set<string>>();
  for (const type of schema.types()) {
    if (isPlumbing(type.name)) continue;
    types.set(type.name, type);
    if (isObjectType(type) && type.hasAppliedDirective('key')) keyFields.set(type.name, new Set(fieldSetsOf(type, 'key').flatMap(topFields)));
  }
  return { types, keyFields };
}

const ownFields = (type: NamedType | undefined): string[] => (type && isObjectType(type) ? type.fields().map((f) => f.name).filter((n) => !isPlumbing(n)) : []);

/** What one other source declares about the register's types. */
function sourceProblems(source: Subgraph, register: RegisterShape, claimed: Set<string>): string[] {
  const problems: string[] = [];
  const say = (message: string, field?: string) => {
    problems.push(`source "${source.name}" ${message}`);
    if (field) claimed.add(field);
  };
  const schema = source.schema;

  // Fields of the register's types this source claims to deliver along with its own (@provides).
  for (const type of schema.types()) {
    if (!isObjectType(type)) continue;
    for (const field of type.fields()) {
      const target = namedTypeOf(field);
      const owned = register.types.get(target.name);
      if (!owned) continue;
      const keys = register.keyFields.get(target.name) ?? new Set();
      for (const name of fieldSetsOf(field, 'provides').flatMap(topFields)) {
        if (!keys.has(name)) say(`provides ${target.name}.${name} (@provides on ${type.name}.${field.name}): only the register answers its fields`, `${target.name}.${name}`);
      }
    }
  }

  for (const type of schema.types()) {
    if (isPlumbing(type.name)) continue;
    const owned = register.types.get(type.name);
    if (!owned || isScalarType(type)) continue;
    if (ROOTS.has(type.name) && isObjectType(type)) {
      const registerRoot = new Set(ownFields(owned));
      for (const field of type.fields()) if (registerRoot.has(field.name)) say(`resolves ${type.name}.${field.name}: it is the register's`, `${type.name}.${field.name}`);
      continue;
    }
    if (isEnumType(type) && isEnumType(owned)) {
      const values = new Set(owned.values.map((v) => v.name));
      const extra = type.values.filter((v) => !values.has(v.name)).map((v) => v.name);
      if (extra.length > 0) say(`adds ${extra.join(', ')} to the register's enum ${type.name}`);
      continue;
    }
    const keys = register.keyFields.get(type.name);
    if (!keys || !isObjectType(type)) {
      say(`defines ${type.name}, a type of the register's: a source may extend only the register's entities (${[...register.keyFields.keys()].join(', ')})`);
      continue;
    }
    for (const directive of ['context', 'interfaceObject']) if (type.hasAppliedDirective(directive)) say(`puts @${directive} on ${type.name}: only the register shapes its entities`);
    const registerFields = new Set(ownFields(owned));
    for (const field of type.fields()) {
      if (!registerFields.has(field.name)) {
        // A field of the source's own: what it asks of the register's fields would be sent to it.
        for (const name of fieldSetsOf(field, 'requires').flatMap(topFields)) {
          if (!keys.has(name)) say(`requires ${type.name}.${name} (@requires on ${type.name}.${field.name}): the register's fields are not sent to other sources`);
        }
        continue;
      }
      if (field.hasAppliedDirective('override')) say(`overrides ${type.name}.${field.name} (@override): only the register answers its fields`, `${type.name}.${field.name}`);
      else if (field.hasAppliedDirective('external') || keys.has(field.name)) continue;
      else say(`resolves ${type.name}.${field.name}: only the register answers its fields`, `${type.name}.${field.name}`);
    }
  }
  return problems;
}

/**
 * The supergraph's own copy of the register must be this register: a file composed from an
 * older or edited schema would route fields the register does not have, or leave some of
 * its fields to others.
 */
function registerCopyProblems(supergraph: Supergraph, register: RegisterShape, claimed: ReadonlySet<string>): string[] {
  const copy = supergraph.subgraphs().get(REGISTER_SUBGRAPH);
  if (!copy) return [`the supergraph has no subgraph named "${REGISTER_SUBGRAPH}": name the register so when composing`];
  const problems: string[] = [];
  const api = supergraph.apiSchema();
  const stale = 'recompose with schema/subgraph.graphql';
  for (const [name, type] of register.types) {
    const theirs = copy.schema.type(name);
    if (!theirs) {
      problems.push(`the supergraph's register lacks ${name} (${stale})`);
      continue;
    }
    const served = api.type(name);
    if (!served) problems.push(`${name} is hidden from the composed graph (@inaccessible)`);
    for (const field of ownFields(type)) {
      const f = isObjectType(theirs) ? theirs.field(field) : undefined;
      if (claimed.has(`${name}.${field}`)) continue; // taken by a source: said there
      if (!f || f.hasAppliedDirective('external')) problems.push(`the supergraph's register does not answer ${name}.${field} (${stale})`);
      else if (served && isObjectType(served) && !served.field(field)) problems.push(`${name}.${field} is hidden from the composed graph (@inaccessible)`);
    }
  }
  for (const type of copy.schema.types()) {
    if (isPlumbing(type.name) || !isObjectType(type)) continue;
    const mine = new Set(ownFields(register.types.get(type.name)));
    for (const field of type.fields()) if (!isPlumbing(field.name) && !mine.has(field.name)) problems.push(`the supergraph's register has ${type.name}.${field.name}, which this register does not (${stale})`);
  }
  return problems;
}

/**
 * Everything that makes `supergraphSdl` unsafe to serve beside `registerSdl` (the register's
 * own `_service { sdl }`): another source overriding, providing, resolving or requiring
 * one of the register's fields, redefining its types, or a stale copy of the register.
 */
export function registerOwnershipProblems(supergraphSdl: string, registerSdl: string): string[] {
  const register = shapeOf(buildSubgraph(REGISTER_SUBGRAPH, '', registerSdl).schema);
  const supergraph = Supergraph.build(supergraphSdl);
  const claimed = new Set<string>();
  const problems = supergraph
    .subgraphs()
    .values()
    .filter((source) => source.name !== REGISTER_SUBGRAPH)
    .flatMap((source) => sourceProblems(source, register, claimed));
  return [...registerCopyProblems(supergraph, register, claimed), ...problems];
}

export function assertRegisterOwnsItsFields(supergraphSdl: string, registerSdl: string): void {
  const problems = registerOwnershipProblems(supergraphSdl, registerSdl);
  if (problems.length > 0) throw new RegisterOwnershipError(problems);
}
