/** `npm run schema:emit`: writes schema/schema.graphql from the code. */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { printRegisterSchema, SCHEMA_FILE } from '../graphql/schema';
import { projectRoot } from '../paths';

writeFileSync(path.join(projectRoot, SCHEMA_FILE), printRegisterSchema());
process.stderr.write(`wrote ${SCHEMA_FILE}\n`);
