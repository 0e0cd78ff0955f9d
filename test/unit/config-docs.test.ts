/**
 * The configuration reference (docs/operations.md, "Configuration") and src/config.ts, the
 * only reader of the service's environment, name the same variables: none read and
 * undocumented, none documented and unread. Variables only the tests and the benchmark read
 * are listed apart there, and must really be read by them and not by the service.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(root, file), 'utf8');

/** src/config.ts without its comments. */
function configCode(): string {
  return read('src/config.ts')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '');
}

/** Every variable src/config.ts reads: `env.NAME`, `env['NAME']`, `helper(env, 'NAME', ...)`, and `'KRR_...'` names it looks up from lists. */
function variablesReadByConfig(): Set<string> {
  const code = configCode();
  const names = new Set<string>();
  for (const m of code.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b/g)) names.add(m[1]);
  for (const m of code.matchAll(/\benv\[\s*['"]([A-Z][A-Z0-9_]*)['"]\s*\]/g)) names.add(m[1]);
  for (const m of code.matchAll(/\(\s*env\s*,\s*['"]([A-Z][A-Z0-9_]*)['"]/g)) names.add(m[1]);
  for (const m of code.matchAll(/['"`](KRR_[A-Z0-9_]+)['"`]/g)) names.add(m[1]);
  return names;
}

/** The first cells' `NAME`s of the tables in a markdown section (from its heading to the next heading of the same or a higher level). */
function tableVariables(markdown: string, heading: string): Set<string> {
  const lines = markdown.split('\n');
  const start = lines.indexOf(heading);
  if (start < 0) throw new Error(`docs/operations.md has no heading "${heading}"`);
  const level = heading.indexOf(' ');
  const names = new Set<string>();
  for (const line of lines.slice(start + 1)) {
    const h = /^(#+) /.exec(line);
    if (h && h[1].length <= level) break;
    if (h) continue;
    const firstCell = /^\|([^|]*)\|/.exec(line)?.[1];
    if (!firstCell) continue;
    for (const m of firstCell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)) names.add(m[1]);
  }
  return names;
}

/** Files under a folder (or the file itself), recursively, without node_modules. */
function filesUnder(relative: string): string[] {
  const full = path.join(root, relative);
  if (statSync(full).isFile()) return [relative];
  return readdirSync(full).flatMap((name) => (name === 'node_modules' ? [] : filesUnder(path.join(relative, name))));
}

const operations = read('docs/operations.md');
const TEST_ONLY_HEADING = '### Variables only the tests and the benchmark read';
const documented = tableVariables(operations, '## Configuration');
const testOnly = tableVariables(operations, TEST_ONLY_HEADING);
for (const name of testOnly) documented.delete(name);
const readByConfig = variablesReadByConfig();

describe('the configuration reference (docs/operations.md)', () => {
  it('finds the variables src/config.ts reads (the scan itself works)', () => {
    for (const name of ['PORT', 'NODE_ENV', 'KRR_DATABASE_URL', 'KRR_UPSTREAM_TOKEN_URL', 'KRR_AGENCY_ISSUER']) expect(readByConfig).toContain(name);
    expect(readByConfig.size).toBeGreaterThan(50);
  });

  it('documents every variable src/config.ts reads', () => {
    expect([...readByConfig].filter((name) => !documented.has(name)).sort()).toEqual([]);
  });

  it('documents no variable src/config.ts does not read, except those listed as read by the tests and the benchmark only', () => {
    expect([...documented].filter((name) => !readByConfig.has(name)).sort()).toEqual([]);
  });

  it('lists as test- and bench-only only variables that the tests or the benchmark read and the service does not', () => {
    const sources = ['test', 'bench', 'scripts', 'jest.config.js']
      .flatMap(filesUnder)
      .filter((file) => /\.(ts|js|sh)$/.test(file) && !file.startsWith(path.join('test', 'generated')))
      .map(read)
      .join('\n');
    expect(testOnly.size).toBeGreaterThan(0);
    for (const name of testOnly) {
      expect({ name, readByTestsOrBench: new RegExp(`\\b${name}\\b`).test(sources) }).toEqual({ name, readByTestsOrBench: true });
      expect({ name, readByConfig: readByConfig.has(name) }).toEqual({ name, readByConfig: false });
    }
  });

  it('names no KRR_ variable anywhere in the README or docs/ that nothing reads', () => {
    const known = new Set([...readByConfig, ...testOnly]);
    const files = ['README.md', ...readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const unknown = files.flatMap((file) =>
      [...read(file).matchAll(/\bKRR_[A-Z0-9_]*[A-Z0-9]\b/g)].map((m) => m[0]).filter((name) => !known.has(name)).map((name) => `${file}: ${name}`),
    );
    expect([...new Set(unknown)]).toEqual([]);
  });
});
