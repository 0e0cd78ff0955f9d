/**
 * Unknown paths are 404 and known paths asked with another method 405 with `Allow`,
 * /graphql included: JSON in the REST shape (`{"error": {"code", "message"}}`, see
 * client-errors.ts), never an HTML page.
 */
import express, { type Request, type Response, type Router } from 'express';
import { maskIdentityNumbersIn } from '../domain/identity-number';
import { ClientError, ErrorCode } from '../errors';
import { refusalOf, sendRestRefusal } from './client-errors';

/**
 * The path as the client sent it, wherever the handler is mounted; no query, and identity
 * numbers masked (a client may well try `/rest/v1/person/<fnr>`).
 */
const pathOf = (req: Request) => maskIdentityNumbersIn(req.originalUrl.split('?')[0]).slice(0, 200);

export function notFound(req: Request, res: Response): void {
  sendRestRefusal(res, refusalOf(new ClientError(ErrorCode.NOT_FOUND, `No such endpoint: ${req.method} ${pathOf(req)} (the REST API is described at /rest/openapi.json)`)));
}

/** A 405 handler for a path that answers `allowed` only (HEAD is GET's). */
export function methodNotAllowed(allowed: readonly string[]) {
  const allow = [...new Set(allowed.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m])))].join(', ');
  return (req: Request, res: Response) => {
    const refusal = refusalOf(new ClientError(ErrorCode.METHOD_NOT_ALLOWED, `${req.method} is not allowed on ${pathOf(req)}: use ${allowed.join(' or ')}`));
    sendRestRefusal(res, { ...refusal, headers: { ...refusal.headers, allow } });
  };
}

type Handler = (req: Request, res: Response, next: express.NextFunction) => unknown;

/** Registers a path's handlers by method, and a JSON 405 for every other method. */
export function route(router: Router, path: string, handlers: Partial<Record<'get' | 'post' | 'patch', Handler>>): void {
  const r = router.route(path);
  for (const [method, handler] of Object.entries(handlers)) r[method as 'get'](handler);
  r.all(methodNotAllowed(Object.keys(handlers).map((m) => m.toUpperCase())));
}
