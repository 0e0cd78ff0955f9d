import { buildSchemaSync } from 'type-graphql';
import type { GraphQLSchema } from 'graphql';
import { authChecker } from './auth-checker';
import { PersonResolver } from './person/person.resolver';

export const resolvers = [PersonResolver] as const;

/** The executable schema, from the type-graphql classes. Built once per process. */
export function buildRegisterSchema(): GraphQLSchema {
  return buildSchemaSync({
    resolvers,
    authChecker,
    // Arguments are checked by the resolvers and the domain, not by class-validator.
    validate: false,
  });
}
