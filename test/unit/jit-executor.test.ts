import { parse, type OperationDefinitionNode } from 'graphql';
import { jitExecutor } from '../../src/graphql/jit-executor';
import { buildRegisterSchema } from '../../src/graphql/schema';

describe('the graphql-jit executor', () => {
  it('gives an operation it cannot compile errors Apollo can format: each with extensions, none a bare legacy error', async () => {
    // Raw on purpose: a subscription, which validation refuses before any executor (src/graphql/operation-types.ts);
    // run here straight at the executor, as an operation graphql-jit cannot compile.
    const source = 'subscription { me { id } }';
    const document = parse(source);
    const { executor } = await jitExecutor(buildRegisterSchema()).load({} as never);
    const result = await executor!({ source, document, operation: document.definitions[0] as OperationDefinitionNode, operationName: null, request: { query: source }, contextValue: {} } as never);
    expect(result).toMatchObject({ errors: [{ message: expect.stringMatching(/subscription/) }] });
    for (const error of result.errors ?? []) expect(error.extensions).toEqual({});
  });
});
