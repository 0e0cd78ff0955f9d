/**
 * `npm run import -- FILE [--db PATH]`
 * Imports people from a file in the register's own JSON (a lookup response, a change-feed
 * page or JSON Lines) into the register's database: PostgreSQL when KRR_DATABASE_URL is set,
 * else the SQLite file (--db, KRR_DB_PATH or data/krr.sqlite).
 * All or nothing: when any record is bad, every problem is listed and nothing is written.
 * Exit codes: 0 imported, 1 bad file or records (nothing written), 2 usage.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config';
import { maskIdentityNumbersIn } from '../domain/identity-number';
import { applyImport, planImport, readRegisterFile } from '../register/import';
import { openRegisterStore } from '../store/open';

const USAGE = 'usage: npm run import -- FILE [--db data/krr.sqlite]';

class UsageError extends Error {}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({ args: argv, allowPositionals: true, options: { db: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = args;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? 'name the file to import' : 'import one file at a time');
  const file = positionals[0];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const config = loadConfig();
  const target = values.db ? { ...config, dbPath: path.resolve(values.db), databaseUrl: null } : config;
  const now = new Date();

  const register = readRegisterFile(text);
  const plan = planImport(register.entries, now);
  if (!plan.ok) {
    const lines = [`import: ${file}: ${plural(plan.problemCount, `bad ${register.unit}`, `bad ${register.unit}s`)}; nothing was written`];
    for (const problem of plan.problems) lines.push(`${register.unit} ${problem.position}: ${problem.reason}`);
    if (plan.problemCount > plan.problems.length) lines.push(`... and ${plan.problemCount - plan.problems.length} more`);
    console.error(lines.join('\n'));
    return 1;
  }
  // Opened only now, so a bad file leaves even a missing database uncreated.
  const store = await openRegisterStore(target);
  try {
    const summary = await applyImport(store, plan, now);
    const numbers = summary.changeNumbers ? ` (change numbers ${summary.changeNumbers.first}-${summary.changeNumbers.last})` : '';
    const lines = [`import: ${file} (${register.shape}): ${plural(summary.imported, 'person', 'people')} imported into ${store.location}${numbers}`];
    if (summary.skippedNotRegistered > 0) lines.push(`import: ${summary.skippedNotRegistered} not registered (IKKE_REGISTRERT), skipped`);
    if (summary.duplicatesInFile > 0) {
      lines.push(`import: ${plural(summary.duplicatesInFile, 'record was', 'records were')} overridden by a later record of the same person in the file`);
    }
    console.error(lines.join('\n'));
  } finally {
    await store.close();
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    // Masked: a message from deeper down could quote the file.
    console.error(`import: ${maskIdentityNumbersIn((error as Error).message)}`);
    if (error instanceof UsageError) console.error(USAGE);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
