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

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * A refusal the client can act on: a stable code, a message for people, and details
 * (`attemptsLeft`, `retryAfterSeconds`, `fields`, ...) that go out beside the code. Services,
 * auth and resolvers throw it; they know nothing of GraphQL or HTTP. What a client sees of it
 * (the HTTP status, headers, GraphQL's or REST's shape) is decided at the edges, in
 * `src/http/client-errors.ts`.
 */
export class ClientError extends Error {
  override readonly name = 'ClientError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }

  /**
   * The code and details as one object. graphql-js takes a thrown error's `extensions` as the
   * GraphQL error's own, so a resolver throws a ClientError unchanged. A fresh object each
   * time: the GraphQL edge adds its HTTP head to its copy, never to this error.
   */
  get extensions(): Record<string, unknown> {
    return { code: this.code, ...this.details };
  }
}

export function badUserInput(message: string, details: Record<string, unknown> = {}): ClientError {
  return new ClientError(ErrorCode.BAD_USER_INPUT, message, details);
}

export function unauthenticated(message: string): ClientError {
  return new ClientError(ErrorCode.UNAUTHENTICATED, message);
}

export function forbidden(message: string, details: Record<string, unknown> = {}): ClientError {
  return new ClientError(ErrorCode.FORBIDDEN, message, details);
}

export function refused(code: ErrorCode, message: string, details: Record<string, unknown> = {}): ClientError {
  return new ClientError(code, message, details);
}

/** Gateway mode: another source of the graph failed, timed out, or could not be asked (no token of the gateway's own). */
export function sourceUnavailable(source: string): ClientError {
  return new ClientError(ErrorCode.SOURCE_UNAVAILABLE, `The source "${source}" did not answer`, { source });
}
