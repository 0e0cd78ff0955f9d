/**
 * `npm run supergraph -- letters=https://letters.internal/graphql=letters.graphql ... > supergraph.graphql`
 *
 * Composes the register (its committed `schema/subgraph.graphql`, served in-process) with
 * the other sources' SDL files into the supergraph that `KRR_SUPERGRAPH_FILE` serves, and
 * refuses it, as the service would at start-up, if a source would take over one of the
 * register's fields. Runs offline: review the sources' SDL, compose, commit the file.
 */
import 'reflect-metadata';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { registerOwnershipProblems, REGISTER_SUBGRAPH } from '../gateway/ownership';
import { SUBGRAPH_FILE } from '../graphql/subgraph';
import { projectRoot } from '../paths';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
if (args.length === 0) fail('usage: npm run supergraph -- <name>=<https url>=<sdl file> ... > supergraph.graphql');
const registerSdl = readFileSync(path.join(projectRoot, SUBGRAPH_FILE), 'utf8');
const sources = args.map((arg) => {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)=(https?:\/\/[^=\s]+)=(.+)$/.exec(arg);
  if (!match) fail(`"${arg}" is not <name>=<url>=<sdl file>`);
  const [, name, url, file] = match;
  if (name === REGISTER_SUBGRAPH) fail(`"${REGISTER_SUBGRAPH}" is the register itself; give the other sources other names`);
  return { name, url, typeDefs: parse(readFileSync(path.resolve(file), 'utf8')) };
});
// The register's routing URL is never used: the service runs its own subgraph in-process.
const result = composeServices([{ name: REGISTER_SUBGRAPH, url: 'in-process://register', typeDefs: parse(registerSdl) }, ...sources]);
if (result.errors) fail(`composition failed:\n  - ${result.errors.map((e) => e.message).join('\n  - ')}`);
const problems = registerOwnershipProblems(result.supergraphSdl, registerSdl);
if (problems.length > 0) fail(`refused: the register owns its fields.\n  - ${problems.join('\n  - ')}`);
process.stdout.write(result.supergraphSdl.endsWith('\n') ? result.supergraphSdl : `${result.supergraphSdl}\n`);
