/** What the import and export CLIs share: exit codes (documented in docs/operations.md), arguments, signals. */
import { parseArgs } from 'node:util';

/** Exit codes of `npm run import` and `npm run export`. */
export const EXIT = {
  OK: 0,
  /** The file's content is bad (not register JSON, or bad records): nothing was written. */
  BAD_INPUT: 1,
  /** The command line is wrong. */
  USAGE: 2,
  /** The file cannot be read (import) or written (export). */
  FILE: 3,
  /** The database could not be opened or written (disk full, connection lost, ...): nothing was written. */
  DATABASE: 4,
  /** Interrupted (Ctrl-C, SIGTERM): nothing was written. */
  INTERRUPTED: 130,
} as const;

export class UsageError extends Error {}

/** `FILE [--db PATH] [-h]`, the command line of import and export; null for --help (printed). */
export function parseFileArgs(argv: string[], usage: string, missing: string, several: string): { file: string; db: string | undefined } | null {
  let args;
  try {
    args = parseArgs({ args: argv, allowPositionals: true, options: { db: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = args;
  if (values.help) {
    console.log(usage);
    return null;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? missing : several);
  return { file: positionals[0], db: values.db };
}

/**
 * Ctrl-C and SIGTERM ask the run to stop (it then writes nothing); a second one exits at
 * once. Returns whether one has come.
 */
export function stopOnSignals(): () => boolean {
  let asked = false;
  const ask = () => {
    if (asked) process.exit(EXIT.INTERRUPTED);
    asked = true;
  };
  process.on('SIGINT', ask);
  process.on('SIGTERM', ask);
  return () => asked;
}
