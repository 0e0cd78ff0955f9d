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
