import { importJWK, importPKCS8, SignJWT, type CryptoKey, type JWK } from 'jose';
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import type { SourceTokenConfig } from '../config';

/** The gateway's own bearer token for one source: never the caller's. */
export interface SourceCredential {
  /** The `Authorization` value to send; rejects when no token can be had (the source then counts as down). */
  authorization(): Promise<string>;
}

/** A token kept in a file (a mounted secret): re-read whenever the file changes. */
export function tokenFileCredential(file: string): SourceCredential {
  let seen: { mtimeMs: number; size: number; token: string } | null = null;
  return {
    async authorization() {
      const { mtimeMs, size } = statSync(file);
      if (!seen || seen.mtimeMs !== mtimeMs || seen.size !== size) {
        const token = readFileSync(file, 'utf8').trim();
        if (!token) throw new Error(`the token file ${file} is empty`);
        seen = { mtimeMs, size, token };
      }
      return `Bearer ${seen.token}`;
    },
  };
}

/** Assertions live this long; Maskinporten accepts at most 120 seconds. */
const ASSERTION_SECONDS = 60;
/** A token is renewed this long before it expires, so none goes out about to lapse. */
const RENEW_BEFORE_SECONDS = 30;

async function clientKey(file: string): Promise<{ key: CryptoKey; alg: string; kid: string | undefined }> {
  const text = readFileSync(file, 'utf8');
  if (text.includes('-----BEGIN')) return { key: (await importPKCS8(text, 'RS256')) as CryptoKey, alg: 'RS256', kid: undefined };
  const jwk = JSON.parse(text) as JWK;
  const alg = jwk.alg ?? (jwk.kty === 'EC' ? 'ES256' : 'RS256');
  return { key: (await importJWK(jwk, alg)) as CryptoKey, alg, kid: jwk.kid };
}

/**
 * The JWT-bearer grant (RFC 7523 §2.1, Maskinporten's client-credentials flow): an
 * assertion `{iss: client id, aud: the authorization server, scope, iat, exp, jti}` signed
 * with the gateway's client key, posted to the token URL as
 * `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=...`. The access token
 * is kept until shortly before `expires_in`; concurrent requests share one fetch.
 */
export function jwtGrantCredential(config: Extract<SourceTokenConfig, { kind: 'jwt-grant' }>, timeoutMs: number, now: () => number = Date.now): SourceCredential {
  let current: { authorization: string; renewAt: number } | null = null;
  let pending: Promise<string> | null = null;
  const keyPromise = clientKey(config.keyFile);

  async function fetchToken(): Promise<string> {
    const { key, alg, kid } = await keyPromise;
    const iat = Math.floor(now() / 1000);
    const assertion = await new SignJWT({ scope: config.scope, ...(config.resource ? { resource: config.resource } : {}) })
      .setProtectedHeader({ alg, ...(config.keyId || kid ? { kid: config.keyId ?? kid } : {}) })
      .setIssuer(config.issuer)
      .setAudience(config.audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ASSERTION_SECONDS)
      .setJti(randomUUID())
      .sign(key);
    const res = await fetch(config.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await res.json().catch(() => null)) as { access_token?: unknown; expires_in?: unknown; token_type?: unknown; error?: unknown } | null;
    if (!res.ok || typeof body?.access_token !== 'string' || body.access_token === '') {
      // The token endpoint's error code only: its description may echo what was sent.
      throw new Error(`the token endpoint ${config.tokenUrl} answered ${res.status}${typeof body?.error === 'string' ? ` (${body.error})` : ''} without an access token`);
    }
    const lifetime = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    const authorization = `Bearer ${body.access_token}`;
    current = { authorization, renewAt: now() + Math.max(lifetime - RENEW_BEFORE_SECONDS, lifetime / 2) * 1000 };
    return authorization;
  }

  return {
    authorization() {
      if (current && now() < current.renewAt) return Promise.resolve(current.authorization);
      pending ??= fetchToken().finally(() => {
        pending = null;
      });
      return pending;
    },
  };
}

export function sourceCredential(config: SourceTokenConfig, timeoutMs: number): SourceCredential {
  return config.kind === 'file' ? tokenFileCredential(config.file) : jwtGrantCredential(config, timeoutMs);
}
