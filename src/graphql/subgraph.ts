import { buildSubgraphSchema } from '@apollo/subgraph';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { graphqlSync, parse, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import { createResolversMap } from 'type-graphql';
import { badUserInput, forbidden, unauthenticated } from '../errors';
import type { Context } from './context';
import { loadPeople, loadPerson, personWants } from './person/person.loading';
import { assertLookupIds } from './person/person.resolver';
import type { Person } from './person/person.types';
import { buildRegisterSchema } from './schema';

/** The Federation 2 features the register's SDL uses. */
const FEDERATION_LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])';

/**
 * The register as an Apollo Federation 2 subgraph: the type-graphql schema (with
 * `Person @key(fields: "id")`) turned into a subgraph schema with `_service` and
 * `_entities`, keeping type-graphql's resolvers (and so its `@Authorized` checks).
 *
 * A gateway resolving `Person` entities reaches people the way `persons` does: agencies
 * only, at most 1000 a request, through the same DataLoaders (one SQL statement per table
 * for the whole batch), and recorded in the lookup audit log.
 */
export interface SubgraphOptions {
  /**
   * Whether anyone may read `_service { sdl }` (follows KRR_INTROSPECTION). When not, only
   * agencies and the in-process gateway (which has no viewer) may: the SDL is the schema.
   */
  openSdl: boolean;
}

/**
 * The id of one `_entities` representation. `_Any` lets a caller send any JSON, so a
 * number, an array or an object is refused here, before anything is loaded or recorded:
 * turned into a string it would be looked up as someone else's key, or reach the store
 * and the audit log as something no citizen could ever see.
 */
function representationId(representation: unknown, index: number): string {
  const { __typename, id } = (typeof representation === 'object' && representation !== null ? representation : {}) as { __typename?: unknown; id?: unknown };
  if (__typename !== 'Person') throw badUserInput(`representations[${index}]: the register's only entity is Person`, { argument: 'representations', index });
  if (typeof id !== 'string') {
    throw badUserInput(`representations[${index}].id must be a string (an identity number of 11 digits), got ${id === null ? 'null' : Array.isArray(id) ? 'an array' : typeof id}`, {
      argument: 'representations',
      index,
    });
  }
  return id;
}

export function buildSubgraphRegisterSchema(base: GraphQLSchema = buildRegisterSchema(), options: SubgraphOptions = { openSdl: true }): GraphQLSchema {
  // The people of one `_entities` call, loaded together before the references are resolved one by one.
  const batches = new WeakMap<Context, Map<string, Person>>();
  const resolvers = createResolversMap(base) as Record<string, Record<string, unknown>>;
  resolvers.Person = {
    ...resolvers.Person,
    // Loaded (and so recorded as looked up) by the `_entities` batch below.
    __resolveReference: (reference: { id: string }, ctx: Context) => batches.get(ctx)?.get(reference.id) ?? loadPerson(ctx, reference.id),
  };
  const schema = buildSubgraphSchema({
    typeDefs: parse(`${FEDERATION_LINK}\n${printSchemaWithDirectives(base)}`),
    resolvers: resolvers as never,
  });

  // The entry point checks once for the whole batch, before any reference is resolved.
  const entities = schema.getQueryType()!.getFields()._entities;
  const resolveEntities = entities.resolve as GraphQLFieldResolver<unknown, Context, { representations: unknown[] }>;
  entities.resolve = async (source, args, ctx, info) => {
    if (ctx.viewer.kind === 'anonymous') throw unauthenticated('Authentication required: send "Authorization: Bearer <token>"');
    if (ctx.viewer.kind !== 'agency') throw forbidden('_entities is for agencies (Maskinporten tokens) only');
    const ids = args.representations.map(representationId);
    assertLookupIds(ids);
    const people = await loadPeople(ctx, ids, personWants(ctx, info));
    batches.set(ctx, new Map(people.map((p) => [p.id, p])));
    return resolveEntities(source, args, ctx, info);
  };
  if (!options.openSdl) {
    const service = schema.getQueryType()!.getFields()._service;
    const resolveService = service.resolve!;
    service.resolve = (source, args, ctx: Partial<Context>, info) => {
      if (ctx.viewer && ctx.viewer.kind !== 'agency') throw forbidden('_service is for agencies and gateways while introspection is off');
      return resolveService(source, args, ctx, info);
    };
  }
  return schema;
}

export const SUBGRAPH_FILE = 'schema/subgraph.graphql';

/** The composition-ready SDL, exactly what `_service { sdl }` answers, committed as `schema/subgraph.graphql`. */
export function printRegisterSubgraph(schema: GraphQLSchema = buildSubgraphRegisterSchema()): string {
  const result = graphqlSync({ schema, source: '{ _service { sdl } }', contextValue: {} });
  const sdl = (result.data as { _service: { sdl: string } } | null)?._service.sdl;
  if (!sdl) throw new Error(`_service { sdl } failed: ${JSON.stringify(result.errors)}`);
  const header = '# The register as a Federation 2 subgraph: what `_service { sdl }` answers.\n# Generated by `npm run schema:emit`. Do not edit by hand.';
  return `${header}\n\n${sdl.trim()}\n`;
}
