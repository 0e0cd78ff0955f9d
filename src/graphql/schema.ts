import { buildSchemaSync } from 'type-graphql';
import { printSchema, type GraphQLSchema } from 'graphql';
import { PERSON_FIELD_RULES } from '../auth/scopes';
import { authChecker } from './auth-checker';
import { assertFieldRules } from './field-rules';
import { DateTimeISO } from './scalars';
import { CitizenResolver } from './citizen/citizen.resolver';
import { ChangeFeedResolver } from './feed/feed.resolver';
import { PersonResolver } from './person/person.resolver';

export const resolvers = [PersonResolver, CitizenResolver, ChangeFeedResolver] as const;

/**
 * The executable schema, from the type-graphql classes. Built once per process. Refused if
 * a `Person` field has no declared rule (who may see it) or a guarded type can be reached
 * around its rule.
 */
export function buildRegisterSchema(): GraphQLSchema {
  const schema = buildSchemaSync({
    resolvers,
    authChecker,
    // Arguments are checked by the resolvers and the domain, not by class-validator.
    validate: false,
    scalarsMap: [{ type: Date, scalar: DateTimeISO }],
  });
  assertFieldRules(schema, 'Person', PERSON_FIELD_RULES);
  return schema;
}

export const SCHEMA_FILE = 'schema/schema.graphql';

/** The SDL committed as `schema/schema.graphql`: what clients and codegen build against. */
export function printRegisterSchema(schema: GraphQLSchema = buildRegisterSchema()): string {
  return `# Generated from the type-graphql classes by \`npm run schema:emit\`. Do not edit by hand.\n\n${printSchema(schema)}`;
}
