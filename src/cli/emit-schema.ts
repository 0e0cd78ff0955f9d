/** `npm run schema:emit`: writes schema/schema.graphql (the API) and schema/subgraph.graphql (for federation) from the code. */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { printRegisterSchema, SCHEMA_FILE } from '../graphql/schema';
import { printRegisterSubgraph, SUBGRAPH_FILE } from '../graphql/subgraph';
import { projectRoot } from '../paths';

writeFileSync(path.join(projectRoot, SCHEMA_FILE), printRegisterSchema());
writeFileSync(path.join(projectRoot, SUBGRAPH_FILE), printRegisterSubgraph());
process.stderr.write(`wrote ${SCHEMA_FILE} and ${SUBGRAPH_FILE}\n`);
