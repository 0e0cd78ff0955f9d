/**
 * What a client sees of an error, for GraphQL, the REST API and plain HTTP alike: the one
 * place that decides each code's HTTP status and headers, which errors pass with their own
 * message (an allow-list) and how everything else is masked as an internal error with an id
 * to quote (logged in full, identity numbers masked by the logger). Services throw
 * `ClientError` (src/errors.ts); only this module and the edges that call it (formatError and
 * the plugins in src/server.ts, the REST handler, the HTTP middleware) know GraphQL or HTTP.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { ApolloServerErrorCode } from '@apollo/server/errors';
import type { Response } from 'express';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { randomUUID } from 'node:crypto';
import { maskIdentityNumbersIn } from '../domain/identity-number';
import { ClientError, ErrorCode } from '../errors';
import type { Logger } from '../logger';

/**
 * The HTTP status of a request refused with each code: in the REST API and plain HTTP, and in
 * GraphQL when the refusal comes before execution (token, rate limit, operation limits, a
 * read-only copy). A GraphQL field error answers 200 beside the data, UNAUTHENTICATED
 * excepted (see `errorStatusPlugin`). A new code must choose its status here.
 */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  BAD_USER_INPUT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  INTERNAL_SERVER_ERROR: 500,
  CODE_NOT_FOUND: 400,
  CODE_EXPIRED: 400,
  CODE_LOCKED: 400,
  CODE_INVALID: 400,
  CODE_NOT_SENT: 502,
  CODE_RESEND_TOO_SOON: 429,
  CODE_ATTEMPTS_EXCEEDED: 429,
  QUERY_TOO_DEEP: 400,
  TOO_MANY_ALIASES: 400,
  QUERY_TOO_COMPLEX: 400,
  TOO_MANY_TOKENS: 400,
  PAYLOAD_TOO_LARGE: 413,
  BATCH_TOO_LARGE: 400,
  RATE_LIMITED: 429,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  SOURCE_UNAVAILABLE: 502,
  READ_ONLY_COPY: 403,
  CORS_ORIGIN_NOT_ALLOWED: 403,
};

/** Apollo Server's own codes for requests that cannot be run; safe to pass on as they are. */
const APOLLO_REQUEST_CODES: readonly string[] = [
  ApolloServerErrorCode.GRAPHQL_PARSE_FAILED,
  ApolloServerErrorCode.GRAPHQL_VALIDATION_FAILED,
  ApolloServerErrorCode.BAD_REQUEST,
  ApolloServerErrorCode.OPERATION_RESOLUTION_FAILURE,
  ApolloServerErrorCode.PERSISTED_QUERY_NOT_FOUND,
  ApolloServerErrorCode.PERSISTED_QUERY_NOT_SUPPORTED,
];

/**
 * The codes a client may see with the error's own message. Any other error (a bug, the
 * database, a library, another source's internals) is masked: the allow-list, not a
 * deny-list, so that nothing unforeseen passes.
 */
export const CLIENT_ERROR_CODES: ReadonlySet<string> = new Set([
  ...Object.values(ErrorCode).filter((c) => c !== ErrorCode.INTERNAL_SERVER_ERROR),
  ...APOLLO_REQUEST_CODES,
]);

/** A refusal as plain HTTP and REST send it. */
export interface Refusal {
  status: number;
  code: string;
  message: string;
  headers: Record<string, string>;
  /** Only for INTERNAL_SERVER_ERROR: the id in the message, logged with the error. */
  errorId?: string;
}

const statusOf = (code: string): number | undefined => HTTP_STATUS[code as ErrorCode];

/** WWW-Authenticate on a 401 (RFC 6750); Retry-After when a 429 says how long to wait. */
function headersOf(status: number, details: Readonly<Record<string, unknown>>): Record<string, string> {
  if (status === 401) return { 'www-authenticate': 'Bearer' };
  if (status === 429 && typeof details.retryAfterSeconds === 'number') return { 'retry-after': String(details.retryAfterSeconds) };
  return {};
}

/**
 * The masked answer to an error that is a fault of ours: the client gets a generic message
 * and an id to quote; the log gets the error in full (the logger masks identity numbers).
 */
/**
 * An id for the client to quote: a UUID, drawn again in the case (about one in 240)
 * that it holds a run of 11 digits, which the masking of identity numbers in logs and
 * messages would otherwise cut, so the id the client sees would not be the one logged.
 */
function newErrorId(): string {
  for (;;) {
    const id = randomUUID();
    if (maskIdentityNumbersIn(id) === id) return id;
  }
}

export function internalError(logger: Logger, error: unknown, logMessage: string, logFields: Record<string, unknown> = {}): Refusal & { errorId: string } {
  const errorId = newErrorId();
  logger.error({ errorId, err: error, ...logFields }, logMessage);
  return { status: 500, code: ErrorCode.INTERNAL_SERVER_ERROR, message: `Internal server error (error id ${errorId})`, headers: {}, errorId };
}

/** A body over KRR_MAX_BODY_BYTES, however it was found out. */
const bodyTooLarge = () => new ClientError(ErrorCode.PAYLOAD_TOO_LARGE, 'The request body is too large');

/**
 * What express's body parser (express.json) refused, in our terms: a body over the limit, one
 * that is not JSON, or one that cannot be read (an unknown charset or encoding: the parser's
 * own 4xx status). Null for anything else.
 */
function bodyRefusal(error: unknown): Refusal | null {
  const { status, type } = (typeof error === 'object' && error !== null ? error : {}) as { status?: unknown; type?: unknown };
  if (typeof status !== 'number' || status < 400 || status >= 500) return null;
  if (status === 413) return refusalOf(bodyTooLarge());
  if (type === 'entity.parse.failed') return { status: 400, code: ApolloServerErrorCode.BAD_REQUEST, message: 'The request body is not valid JSON', headers: {} };
  return { status, code: ApolloServerErrorCode.BAD_REQUEST, message: 'The request could not be read', headers: {} };
}

/** A refusal of ours, its status and headers from HTTP_STATUS; identity numbers masked in the message. */
export function refusalOf(error: ClientError): Refusal {
  const status = HTTP_STATUS[error.code];
  return { status, code: error.code, message: maskIdentityNumbersIn(error.message), headers: headersOf(status, error.details) };
}

/** A refusal decided already, thrown on to the handler that sends it. */
export class RefusalError extends Error {
  constructor(readonly refusal: Refusal) {
    super(refusal.message);
  }
}

/**
 * A body over the limit refused before the rest of it is read (src/http/json-body.ts):
 * `Connection: close`, the connection closed soon after the answer, the rest never read whole.
 */
export function unreadBodyTooLarge(): RefusalError {
  const refusal = refusalOf(bodyTooLarge());
  return new RefusalError({ ...refusal, headers: { ...refusal.headers, connection: 'close' } });
}

/**
 * An error of a GraphQL answer (formatError has masked what was not ours to pass on) as the
 * refusal of a REST request: the code decides the status; Apollo's own codes keep the status
 * Apollo answered.
 */
export function answeredRefusal(error: GraphQLFormattedError, answeredStatus?: number): RefusalError {
  const code = String(error.extensions?.code ?? ErrorCode.INTERNAL_SERVER_ERROR);
  const status = statusOf(code) ?? (answeredStatus && answeredStatus >= 400 ? answeredStatus : 500);
  return new RefusalError({ status, code, message: maskIdentityNumbersIn(error.message), headers: headersOf(status, error.extensions ?? {}) });
}

/**
 * Plain HTTP and REST: what a thrown error answers. A ClientError or a refusal decided
 * already as it says, what the body parser refused as a 4xx; anything else is masked and logged.
 */
export function httpRefusalOf(logger: Logger, error: unknown, logMessage: string): Refusal {
  if (error instanceof ClientError) return refusalOf(error);
  if (error instanceof RefusalError) return error.refusal;
  return bodyRefusal(error) ?? internalError(logger, error, logMessage);
}

/** REST and plain HTTP's error shape: `{"error": {"code", "message"}}`. */
export function sendRestRefusal(res: Response, refusal: Refusal): void {
  res.status(refusal.status).set(refusal.headers).json({ error: { code: refusal.code, message: refusal.message } });
}

/** GraphQL's error shape, for refusals answered before Apollo sees the request. */
export function sendGraphQLRefusal(res: Response, refusal: Refusal): void {
  res.status(refusal.status).set(refusal.headers).json({ errors: [graphqlErrorOf(refusal)] });
}

function graphqlErrorOf(refusal: Refusal, at: Pick<GraphQLFormattedError, 'path' | 'locations'> = {}): GraphQLFormattedError {
  const extensions = refusal.errorId ? { code: refusal.code, errorId: refusal.errorId } : { code: refusal.code };
  return { message: refusal.message, path: at.path, locations: at.locations, extensions };
}

/** The head Apollo sets from a GraphQL error's `extensions.http` (and strips before sending). */
const graphqlHttpOf = (code: ErrorCode, details: Readonly<Record<string, unknown>>) => {
  const status = HTTP_STATUS[code];
  return { status, headers: new Map(Object.entries(headersOf(status, details))) };
};

/**
 * A ClientError as a GraphQL error that refuses the whole request, with its HTTP status:
 * for Apollo's context function and plugins, which answer a GraphQLError as it is (anything
 * else Apollo prefixes with "Context creation failed:" and answers 500).
 */
export function requestRefusal(error: ClientError): GraphQLError {
  return new GraphQLError(error.message, { originalError: error, extensions: { ...error.extensions, http: graphqlHttpOf(error.code, error.details) } });
}

/** For Apollo's context function: a ClientError becomes a request refusal, anything else goes on as it is. */
export const asRequestRefusal = (error: unknown): unknown => (error instanceof ClientError ? requestRefusal(error) : error);

/**
 * GraphQL's formatError: errors a client can act on pass through (identity numbers masked,
 * another source's debugging details dropped). Anything else is a fault of ours: masked,
 * with an id to quote; the log gets the rest.
 */
export function formatGraphQLError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    // A refusal we (or Apollo) meant carries one of the client codes; everything else, a bug
    // or a failure anywhere (in gateway mode: any uncoded error of any source), is masked.
    const code = formatted.extensions?.code;
    // graphql-js reports its token limit as a plain syntax error ("more that N tokens" in
    // graphql 16); give it a code of its own.
    if (code === ApolloServerErrorCode.GRAPHQL_PARSE_FAILED && /Document contains more tha[nt] \d+ tokens/.test(formatted.message)) {
      return { ...formatted, extensions: { ...formatted.extensions, code: ErrorCode.TOO_MANY_TOKENS } };
    }
    if (typeof code === 'string' && CLIENT_ERROR_CODES.has(code)) {
      const { exception: _exception, stacktrace: _stacktrace, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, message: maskIdentityNumbersIn(formatted.message), extensions };
    }
    const original = error instanceof GraphQLError && error.originalError ? error.originalError : error;
    return graphqlErrorOf(internalError(logger, original, 'unexpected error', { path: formatted.path }), formatted);
  };
}

/**
 * A GraphQL answer replaced by an internal error (the data is withheld): the body Apollo
 * sends instead, and its status.
 */
export function graphqlInternalAnswer(logger: Logger, error: unknown, logMessage: string): { status: number; body: { errors: GraphQLFormattedError[] } } {
  const refusal = internalError(logger, error, logMessage);
  return { status: refusal.status, body: { errors: [graphqlErrorOf(refusal)] } };
}

/**
 * GraphQL's HTTP status for UNAUTHENTICATED even as a field error (401 with WWW-Authenticate,
 * so that clients and gateways renew the token); other field errors answer 200 beside the
 * data. Runs before Apollo formats the errors and takes the head from `extensions.http`.
 */
export function errorStatusPlugin(): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors }) {
          for (const error of errors) {
            // Not every error here is a whole GraphQLError (graphql-js reports an operation type
            // the schema lacks with no extensions): throwing here would make a 400 a 500.
            const extensions = error.extensions as Record<string, unknown> | undefined;
            if (extensions?.code === ErrorCode.UNAUTHENTICATED && extensions.http === undefined && thrownByUs(error)) {
              extensions.http = graphqlHttpOf(ErrorCode.UNAUTHENTICATED, {});
            }
          }
        },
      };
    },
  };
}

/** A ClientError is the error or what it wraps (in gateway mode, through the gateway's copy). */
function thrownByUs(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = (e as { originalError?: unknown }).originalError, depth++) {
    if (e instanceof ClientError) return true;
  }
  return false;
}
