import type { RequestHandler, Response } from 'express';
import type { CorsConfig } from '../config';
import { ClientError, ErrorCode } from '../errors';

/**
 * CORS for pages on other origins (agency frontends, the citizen app) calling /graphql and
 * the REST API with a bearer token. Only a listed origin ever gets `Access-Control-*`
 * headers, and the value sent is the listed origin itself, never whatever `Origin` said.
 *
 * No `Access-Control-Allow-Credentials`: the token travels in `Authorization`, which a page
 * sets itself; cookies and HTTP authentication are not used, so a credentialed request is
 * refused by the browser (and a page that sends one has a bug worth seeing).
 *
 * A small module rather than the `cors` package: that package answers a preflight from an
 * unlisted origin with 204 and the allowed methods and headers (it only leaves out
 * `Access-Control-Allow-Origin`), treats every OPTIONS as a preflight, and would still need
 * the matching below written as a callback.
 */

/** What a browser may send besides the CORS-safelisted headers: the token, JSON, Apollo's CSRF headers, Apollo Client's name. */
export const CORS_ALLOWED_HEADERS = [
  'authorization',
  'content-type',
  'apollo-require-preflight',
  'x-apollo-operation-name',
  'apollographql-client-name',
  'apollographql-client-version',
];
/** Response headers a page may read besides the safelisted ones: when to retry (429), why a token was refused (401). */
export const CORS_EXPOSED_HEADERS = ['retry-after', 'www-authenticate'];
/** How long a browser may reuse a preflight (Chromium caps it at 2 hours). */
export const CORS_MAX_AGE_SECONDS = 7200;

const LOOPBACK = /^http:\/\/(localhost|127\.0\.0\.1)(:\d{1,5})?$/;

/** Whether pages from `origin` may read the answers; `origin` is the request's `Origin` header as sent. */
export function corsAllows(config: CorsConfig, origin: string): boolean {
  return config.origins.includes(origin) || (config.loopbackAnyPort && LOOPBACK.test(origin));
}

export interface CorsRoute {
  /** The methods the route answers (GET and POST for /graphql). */
  methods: readonly string[];
  /** Answers a refused preflight in the route's own error shape. */
  refuse(res: Response, error: ClientError): void;
}

/**
 * For one mounted route. A preflight (OPTIONS with `Origin` and
 * `Access-Control-Request-Method`) from a listed origin: 204 with the allow headers. From
 * any other origin: 403 with no CORS header, so the browser stops there and the request
 * itself is never sent. Other requests go on as before (CSRF prevention included); answers to
 * a listed origin carry `Access-Control-Allow-Origin`.
 */
export function corsMiddleware(config: CorsConfig, route: CorsRoute): RequestHandler {
  // Nothing listed (production's default): answers do not depend on Origin at all.
  const enabled = config.origins.length > 0 || config.loopbackAnyPort;
  const methods = route.methods.join(', ');
  return (req, res, next) => {
    const origin = req.headers.origin;
    const preflight = req.method === 'OPTIONS' && origin !== undefined && req.headers['access-control-request-method'] !== undefined;
    // Answers differ by Origin: a shared cache must not hand one origin's answer to another.
    if (enabled) res.vary('Origin');
    const allowed = enabled && origin !== undefined && corsAllows(config, origin);
    if (!preflight) {
      if (allowed) res.set({ 'access-control-allow-origin': origin, 'access-control-expose-headers': CORS_EXPOSED_HEADERS.join(', ') });
      return next();
    }
    if (!allowed) {
      route.refuse(
        res,
        new ClientError(
          ErrorCode.CORS_ORIGIN_NOT_ALLOWED,
          enabled
            ? 'Pages from this origin may not call the service: the origin is not in KRR_CORS_ORIGINS'
            : 'Pages on other origins may not call the service: KRR_CORS_ORIGINS is empty',
        ),
      );
      return;
    }
    res
      .status(204)
      .set({
        'access-control-allow-origin': origin,
        'access-control-allow-methods': methods,
        'access-control-allow-headers': CORS_ALLOWED_HEADERS.join(', '),
        'access-control-max-age': String(CORS_MAX_AGE_SECONDS),
        // Safari waits for a body on a 204 without it.
        'content-length': '0',
      })
      .end();
  };
}
