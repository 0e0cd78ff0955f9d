import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  getNamedType,
  isListType,
  getNullableType,
  type DocumentNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
  type VariableDefinitionNode,
  type TypeNode,
} from 'graphql';
import { ErrorCode, refused } from '../errors';
import { requestRefusal } from '../http/client-errors';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';

/** What one operation may cost. Each is configuration (src/config.ts). */
export interface OperationLimits {
  maxDepth: number;
  maxAliases: number;
  maxCost: number;
}

/**
 * What looking up one person costs on top of the fields selected under it. Chosen so that
 * a person with every field (about 30 fields) costs less than two people with one field
 * each: then one lookup or feed page of 1000 fits the budget and two lookups never do.
 */
export const PERSON_COST = 40;

const refuse = (code: ErrorCode, message: string, details: Record<string, unknown> = {}) => requestRefusal(refused(code, message, details));

/**
 * Depth and alias count of an operation, fragments expanded. Each fragment is measured
 * once and remembered, so a document of fragments that spread each other many times costs
 * linear time to measure, not exponential. Introspection (`__schema`, `__type`) is not
 * counted: GraphiQL's introspection query is deep by nature and cheap.
 */
function measure(operation: OperationDefinitionNode, document: DocumentNode): { depth: number; aliases: number } {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const memo = new Map<string, { depth: number; aliases: number }>();

  const walk = (set: SelectionSetNode, seen: Set<string>): { depth: number; aliases: number } => {
    let depth = 0;
    let aliases = 0;
    for (const selection of set.selections) {
      let inner = { depth: 0, aliases: 0 };
      if (selection.kind === Kind.FIELD) {
        if (selection.alias) aliases++;
        if (selection.name.value.startsWith('__')) {
          aliases += selection.selectionSet ? walk(selection.selectionSet, seen).aliases : 0;
          continue;
        }
        if (selection.selectionSet) inner = walk(selection.selectionSet, seen);
        inner = { depth: inner.depth + 1, aliases: inner.aliases };
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        inner = walk(selection.selectionSet, seen);
      } else {
        const name = selection.name.value;
        const fragment = fragments.get(name);
        // Unknown and cyclic fragments are left to GraphQL's own validation.
        if (!fragment || seen.has(name)) continue;
        if (!memo.has(name)) memo.set(name, walk(fragment.selectionSet, new Set([...seen, name])));
        inner = memo.get(name)!;
      }
      depth = Math.max(depth, inner.depth);
      aliases += inner.aliases;
    }
    return { depth, aliases };
  };
  return walk(operation.selectionSet, new Set());
}

/**
 * Cost: every field costs 1 plus what is selected under it; a field returning `Person`
 * costs PERSON_COST more; a field with a `first` argument (a page) and a list sized by its
 * `ids` or `representations` argument cost that many times as much. So one `persons` of
 * 1000 ids with every field costs about 71 000, a feed page of 1000 with every field about
 * 78 000, and two aliased `persons` of 1000 ids, whatever they select, over 80 000.
 */
export const costEstimator: ComplexityEstimator = ({ field, args, childComplexity }) => {
  // `_Entity` is what a gateway's `_entities` returns: people too.
  const named = getNamedType(field.type).name;
  const each = 1 + childComplexity + (named === 'Person' || named === '_Entity' ? PERSON_COST : 0);
  const listed = isListType(getNullableType(field.type));
  const size =
    typeof args.first === 'number'
      ? args.first
      : listed && Array.isArray(args.ids)
        ? args.ids.length
        : listed && Array.isArray(args.representations)
          ? args.representations.length
          : 1;
  return Math.max(size, 1) * each;
};

/** Costs remembered per parsed operation (Apollo caches parsed documents) and schema: at most this many shapes each, the oldest forgotten first. */
const COST_SHAPES_PER_OPERATION = 256;
/** Longer shapes (deeply nested lists) are not remembered: their cost is worked out each time. */
const MAX_SHAPE_LENGTH = 1024;

interface Measured {
  depth: number;
  aliases: number;
  /** The operation's declared variables, in order, and whether each is of type `String` or `ID` (lists of them included). */
  variables: { name: string; stringTyped: boolean }[];
  /** Cost by `variablesShape`. */
  costs: Map<string, number>;
}

const namedTypeOf = (type: TypeNode): string => (type.kind === Kind.NAMED_TYPE ? type.name.value : namedTypeOf(type.type));

/**
 * What a declared variable's value contributes to the cost and to its own validity, or null
 * when that is not known from its shape alone (then nothing is remembered). Kept: absent,
 * null, booleans (`@include`, `@skip`) and finite numbers (`first`) as they are; for a
 * `String` or `ID` variable, where every string is valid and the cost counts only how many
 * there are (the identity numbers of a lookup), strings as `s` and lists of them by length.
 * Not kept: strings of any other type (enums, scalars with their own rules), objects, and
 * numbers JSON cannot write. No value is kept in the shape, only its form.
 */
function valueShape(value: unknown, stringTyped: boolean): string | null {
  if (value === undefined) return 'u';
  if (value === null) return 'n';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  if (typeof value === 'number') return Number.isFinite(value) ? `${value}` : null;
  if (!stringTyped) return null;
  if (typeof value === 'string') return 's';
  if (!Array.isArray(value)) return null;
  if (value.every((v) => typeof v === 'string')) return `[${value.length}s]`;
  const inner: string[] = [];
  for (const v of value) {
    const shape = valueShape(v, true);
    if (shape === null) return null;
    inner.push(shape);
  }
  return `[${inner.join(',')}]`;
}

/**
 * The shape of a request's variables (`valueShape` of each declared one, in declaration
 * order; undeclared ones cannot change the cost and are left out), or null when it is not
 * to be remembered. Two requests of one shape have the same cost and the same variable errors.
 */
function variablesShape(variables: Record<string, unknown>, declared: Measured['variables']): string | null {
  let shape = '';
  for (const { name, stringTyped } of declared) {
    const one = valueShape(Object.hasOwn(variables, name) ? variables[name] : undefined, stringTyped);
    if (one === null) return null;
    shape += `${one};`;
    if (shape.length > MAX_SHAPE_LENGTH) return null;
  }
  return shape;
}

const measured = new WeakMap<GraphQLSchema, WeakMap<OperationDefinitionNode, Measured>>();

/** The operation's depth, aliases and remembered costs (`measure`, once per schema and parsed operation). */
function measuredOf(schema: GraphQLSchema, operation: OperationDefinitionNode, document: DocumentNode): Measured {
  let bySchema = measured.get(schema);
  if (!bySchema) measured.set(schema, (bySchema = new WeakMap()));
  let m = bySchema.get(operation);
  if (!m) {
    const variables = (operation.variableDefinitions ?? []).map((d: VariableDefinitionNode) => ({
      name: d.variable.name.value,
      stringTyped: ['String', 'ID'].includes(namedTypeOf(d.type)),
    }));
    m = { ...measure(operation, document), variables, costs: new Map() };
    bySchema.set(operation, m);
  }
  return m;
}

/**
 * Refuses an operation that is too deep, has too many aliases or costs too much, after
 * validation and before any resolver runs, with a stable code: QUERY_TOO_DEEP,
 * TOO_MANY_ALIASES, QUERY_TOO_COMPLEX (HTTP 400).
 */
export function operationLimitsPlugin<T extends object>(limits: OperationLimits): ApolloServerPlugin<T> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, request, schema }) {
          if (!operation) return;
          const m = measuredOf(schema, operation, document);
          const { depth, aliases } = m;
          if (depth > limits.maxDepth) {
            throw refuse(ErrorCode.QUERY_TOO_DEEP, `The operation is ${depth} levels deep; at most ${limits.maxDepth} are allowed`, { depth, max: limits.maxDepth });
          }
          if (aliases > limits.maxAliases) {
            throw refuse(ErrorCode.TOO_MANY_ALIASES, `The operation has ${aliases} aliases; at most ${limits.maxAliases} are allowed`, { aliases, max: limits.maxAliases });
          }
          const variables = request.variables ?? {};
          const shape = variablesShape(variables, m.variables);
          let cost = shape === null ? undefined : m.costs.get(shape);
          if (cost === undefined) {
            try {
              cost = getComplexity({ schema, query: document, operationName: request.operationName ?? undefined, variables, estimators: [costEstimator] });
            } catch (error) {
              // The cost needs the variables: ones that do not fit their types are the caller's to fix.
              if (error instanceof GraphQLError) throw refuse(ErrorCode.BAD_USER_INPUT, error.message);
              throw error;
            }
            if (shape !== null) {
              if (m.costs.size >= COST_SHAPES_PER_OPERATION) m.costs.delete(m.costs.keys().next().value!);
              m.costs.set(shape, cost);
            }
          }
          if (cost > limits.maxCost) {
            throw refuse(ErrorCode.QUERY_TOO_COMPLEX, `The operation costs ${cost}; at most ${limits.maxCost} is allowed (one lookup of 1000 people with every field fits)`, {
              cost,
              max: limits.maxCost,
            });
          }
        },
      };
    },
  };
}
