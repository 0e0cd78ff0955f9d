import { GraphQLError } from 'graphql';

/**
 * Every error a client can see carries one of these codes in `extensions.code`. They are
 * part of the API: clients branch on them, so a code is never renamed.
 */
export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
  /** No code is pending for that channel (never sent, already used, or replaced). */
  CODE_NOT_FOUND: 'CODE_NOT_FOUND',
  CODE_EXPIRED: 'CODE_EXPIRED',
  /** Too many wrong attempts: ask for a new code. */
  CODE_LOCKED: 'CODE_LOCKED',
  /** Wrong code; `extensions.attemptsLeft` says how many tries remain. */
  CODE_INVALID: 'CODE_INVALID',
  /** The change was saved but the code could not be sent; ask for a new one. */
  CODE_NOT_SENT: 'CODE_NOT_SENT',
  /**
   * A code was asked for too soon: `extensions.retryAfterSeconds`, and `extensions.limit`
   * says which limit (`PER_CHANNEL`: one code a minute per citizen and channel;
   * `PER_ADDRESS_HOUR`, `PER_ADDRESS_DAY`: codes to one address).
   */
  CODE_RESEND_TOO_SOON: 'CODE_RESEND_TOO_SOON',
  /** Too many wrong codes by this citizen in the last 24 hours; `extensions.retryAfterSeconds`. */
  CODE_ATTEMPTS_EXCEEDED: 'CODE_ATTEMPTS_EXCEEDED',
  QUERY_TOO_DEEP: 'QUERY_TOO_DEEP',
  TOO_MANY_ALIASES: 'TOO_MANY_ALIASES',
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  TOO_MANY_TOKENS: 'TOO_MANY_TOKENS',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  BATCH_TOO_LARGE: 'BATCH_TOO_LARGE',
  RATE_LIMITED: 'RATE_LIMITED',
  /** HTTP: no such path (JSON, never an HTML page). */
  NOT_FOUND: 'NOT_FOUND',
  /** HTTP: the path exists, the method does not; the `Allow` header lists the methods. */
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  /** Gateway mode: another source of the graph failed or did not answer in time. */
  SOURCE_UNAVAILABLE: 'SOURCE_UNAVAILABLE',
  /** Follower mode: this service is a copy; changes go to the upstream named in `extensions.upstream`. */
  READ_ONLY_COPY: 'READ_ONLY_COPY',
  /** A preflight from a page whose origin is not in KRR_CORS_ORIGINS (HTTP 403; the browser shows no body). */
  CORS_ORIGIN_NOT_ALLOWED: 'CORS_ORIGIN_NOT_ALLOWED',
} as const;

/** Apollo Server's own codes for requests that cannot be run; safe to pass on as they are. */
const APOLLO_REQUEST_CODES = [
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
];

/**
 * The codes a client may see with the error's own message. Any other error (a bug, the
 * database, a library, another source's internals) is masked: the allow-list, not a
 * deny-list, so that nothing unforeseen passes.
 */
export const CLIENT_ERROR_CODES: ReadonlySet<string> = new Set([
  ...Object.values(ErrorCode).filter((c) => c !== 'INTERNAL_SERVER_ERROR'),
  ...APOLLO_REQUEST_CODES,
]);
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export function badUserInput(message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.BAD_USER_INPUT, ...extensions } });
}

export function unauthenticated(message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code: ErrorCode.UNAUTHENTICATED,
      http: { status: 401, headers: new Map([['www-authenticate', 'Bearer']]) },
    },
  });
}

export function forbidden(message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.FORBIDDEN, ...extensions } });
}

export function refused(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extensions } });
}
