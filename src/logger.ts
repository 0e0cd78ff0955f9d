import pino, { type Logger } from 'pino';
import { maskIdentityNumbersIn } from './domain/identity-number';

export type { Logger };

function mask(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskIdentityNumbersIn(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    return { type: value.name, message: maskIdentityNumbersIn(value.message), stack: value.stack && maskIdentityNumbersIn(value.stack) };
  }
  if (Array.isArray(value)) return value.map((v) => mask(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mask(v, depth + 1)]));
}

/**
 * Structured JSON logs (pino). Every argument passes through `mask` first: an 11-digit
 * run anywhere in a log line comes out as `010190*****`, whoever wrote the line.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'krr-graphql' },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => mask(a)) as Parameters<typeof method>);
        },
      },
    },
    destination,
  );
}
