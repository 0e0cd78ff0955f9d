import type { RequestHandler } from 'express';

export interface SecurityHeaderOptions {
  /** `Strict-Transport-Security: max-age=N` on answers over HTTPS; 0: not sent. */
  hstsMaxAgeSeconds: number;
}

/**
 * Headers every answer carries (mounted before any route):
 *
 * - `Cache-Control: no-store`: the answers are personal data; no browser, proxy or CDN may
 *   keep a copy. A route serving something public (the GraphiQL assets) sets its own.
 * - `X-Content-Type-Options: nosniff`: a JSON answer echoing a client's string is never
 *   sniffed into HTML or script.
 * - `Strict-Transport-Security` when configured, and only on requests that came over
 *   HTTPS (`req.secure`: behind a TLS-terminating proxy that needs KRR_TRUST_PROXY), as
 *   RFC 6797 asks: over plain HTTP the header is ignored at best.
 *
 * Three headers do not need helmet, whose defaults (a CSP among them) are written for
 * sites that serve HTML, not for an API.
 */
export function securityHeaders({ hstsMaxAgeSeconds }: SecurityHeaderOptions): RequestHandler {
  const hsts = hstsMaxAgeSeconds > 0 ? `max-age=${hstsMaxAgeSeconds}` : null;
  return (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (hsts && req.secure) res.setHeader('Strict-Transport-Security', hsts);
    next();
  };
}
