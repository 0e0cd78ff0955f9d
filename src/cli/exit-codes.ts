/** Exit codes of `npm run import` and `npm run export` (documented in docs/operations.md). */
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
