import { buildSchemaSync } from 'type-graphql';
import { printSchema, type GraphQLSchema } from 'graphql';
import { authChecker } from './auth-checker';
import { DateTimeISO } from './scalars';
import { CitizenResolver } from './citizen/citizen.resolver';
import { ChangeFeedResolver } from './feed/feed.resolver';
import { PersonResolver } from './person/person.resolver';

export const resolvers = [PersonResolver, CitizenResolver, ChangeFeedResolver] as const;

/** The executable schema, from the type-graphql classes. Built once per process. */
export function buildRegisterSchema(): GraphQLSchema {
  return buildSchemaSync({
    resolvers,
    authChecker,
    // Arguments are checked by the resolvers and the domain, not by class-validator.
    validate: false,
    scalarsMap: [{ type: Date, scalar: DateTimeISO }],
  });
}

export const SCHEMA_FILE = 'schema/schema.graphql';

/** The SDL committed as `schema/schema.graphql`: what clients and codegen build against. */
export function printRegisterSchema(schema: GraphQLSchema = buildRegisterSchema()): string {
  return `# Generated from the type-graphql classes by \`npm run schema:emit\`. Do not edit by hand.\n\n${printSchema(schema)}`;
}
