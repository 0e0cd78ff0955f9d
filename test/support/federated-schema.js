// The schema an agency's federated graph serves: the register's subgraph SDL (what
// `_service { sdl }` answers) composed with the letters subgraph of test/support/letters.graphql,
// as @apollo/gateway composes them. codegen.yml checks test/operations/federation.graphql
// against it. Plain JavaScript: graphql-codegen loads it with require.
const { readFileSync } = require('node:fs');
const path = require('node:path');
const { composeServices } = require('@apollo/composition');
const { parse } = require('graphql');

const root = path.resolve(__dirname, '..', '..');
const sdl = (file) => parse(readFileSync(path.join(root, file), 'utf8'));

const composed = composeServices([
  { name: 'register', url: 'http://register.invalid/graphql', typeDefs: sdl('schema/subgraph.graphql') },
  { name: 'letters', url: 'http://letters.invalid/graphql', typeDefs: sdl('test/support/letters.graphql') },
]);
if (composed.errors) throw new Error(`the register and the letters subgraph do not compose: ${composed.errors.map((e) => e.message).join('; ')}`);

exports.schema = composed.schema.toAPISchema().toGraphQLJSSchema();
