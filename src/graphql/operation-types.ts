import { GraphQLError, OperationTypeNode, type ASTVisitor, type ValidationContext } from 'graphql';

const OPERATION_TYPES: readonly OperationTypeNode[] = [OperationTypeNode.QUERY, OperationTypeNode.MUTATION, OperationTypeNode.SUBSCRIPTION];
const plural = (type: OperationTypeNode) => (type === OperationTypeNode.QUERY ? 'queries' : `${type}s`);

/**
 * A validation rule: every operation of a document must be of a type the schema has (the
 * register has no subscriptions). graphql-js 16 lets such an operation through validation and
 * each executor then fails on it in its own way: graphql-js with an error of no code (masked
 * as an internal error), graphql-jit with one Apollo cannot format, the gateway with a bare
 * Error (a 500). Refused here, it is Apollo's ordinary 400 GRAPHQL_VALIDATION_FAILED, before
 * any executor, on POST and GET alike. (graphql-js 17 has this rule of its own,
 * KnownOperationTypesRule.)
 */
export function knownOperationTypes(context: ValidationContext): ASTVisitor {
  const schema = context.getSchema();
  const offered = OPERATION_TYPES.filter((type) => schema.getRootType(type)).map(plural);
  return {
    OperationDefinition(node) {
      if (schema.getRootType(node.operation)) return;
      context.reportError(new GraphQLError(`The register offers ${offered.join(' and ')} only: there are no ${plural(node.operation)}`, { nodes: node }));
    },
  };
}

/**
 * A validation rule: no variable name may begin with `__`, as no name of the type system may
 * (the GraphQL specification keeps them for introspection). Executors keep variables in
 * plain objects, where `$__proto__` is the object's prototype, not a value: graphql-jit then
 * fails on it with an internal error. Refused here as Apollo's 400 GRAPHQL_VALIDATION_FAILED.
 */
export function unreservedVariableNames(context: ValidationContext): ASTVisitor {
  return {
    VariableDefinition(node) {
      const name = node.variable.name.value;
      if (name.startsWith('__')) context.reportError(new GraphQLError(`The variable name "$${name}" is reserved: names beginning with "__" are not allowed`, { nodes: node }));
    },
  };
}
