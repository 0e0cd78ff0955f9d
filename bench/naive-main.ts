/**
 * The service with the benchmark's naive loaders (bench/naive-loaders.ts), for the `naive`
 * workload: `node dist/bench/naive-main.js`, configured like `dist/src/main.js`.
 */
import 'reflect-metadata';
import { main } from '../src/main';
import { createNaiveLoaders } from './naive-loaders';

main({ createLoaders: createNaiveLoaders }).catch((error: unknown) => {
  process.stderr.write(`start-up failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
