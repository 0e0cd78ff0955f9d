import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * The project's root folder, found from this file whether it runs as TypeScript
 * (`src/paths.ts`) or compiled (`dist/src/paths.js`).
 */
export const projectRoot: string = (() => {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + __dirname);
    dir = parent;
  }
  return dir;
})();

export const migrationsFolder = path.join(projectRoot, 'db', 'migrations');
