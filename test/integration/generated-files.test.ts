import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { printRegisterSchema, SCHEMA_FILE } from '../../src/graphql/schema';
import { printRegisterSubgraph, SUBGRAPH_FILE } from '../../src/graphql/subgraph';
import { projectRoot } from '../../src/paths';

describe('generated files are up to date', () => {
  it(`${SCHEMA_FILE} matches the type-graphql classes (run \`npm run schema:emit\`)`, () => {
    const committed = readFileSync(path.join(projectRoot, SCHEMA_FILE), 'utf8');
    expect(committed).toBe(printRegisterSchema());
  });

  it(`${SUBGRAPH_FILE} is the subgraph SDL the service answers to _service { sdl }`, () => {
    const committed = readFileSync(path.join(projectRoot, SUBGRAPH_FILE), 'utf8');
    expect(committed).toBe(printRegisterSubgraph());
  });

  it('test/generated/graphql.ts matches the operations and the schema (run `npm run codegen`)', () => {
    const bin = path.join(projectRoot, 'node_modules', '.bin', 'graphql-codegen');
    // --check exits non-zero when the output would change.
    expect(() => execFileSync(bin, ['--config', 'codegen.yml', '--check'], { cwd: projectRoot, stdio: 'pipe' })).not.toThrow();
  });
});
