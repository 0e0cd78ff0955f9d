/**
 * The bearer token the follower shows its upstream: read from a file that something else
 * keeps fresh (re-read whenever the file changes), or fetched from Maskinporten with the
 * JWT-bearer grant (RFC 7523) and renewed before it expires.
 */
import { importPKCS8, SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { UpstreamCredentials } from '../config';

export interface TokenSource {
  /** A token that is valid now. Throws `CredentialError` when none can be had. */
  token(): Promise<string>;
  /** The upstream refused the last token (401): get another one next time. */
  refused(): void;
}

/** No token could be had: the file is unreadable or empty, or the token endpoint refused. */
export class CredentialError extends Error {
  override name = 'CredentialError';
}

/** Re-reads the file when its modification time or size changes (a rotated token, or one written in place). */
export class TokenFile implements TokenSource {
  private cached: { key: string; token: string } | null = null;

  constructor(private readonly file: string) {}

  async token(): Promise<string> {
    let key: string;
    try {
      const info = await stat(this.file);
      key = `${info.mtimeMs}:${info.size}:${info.ino}`;
      if (this.cached?.key === key) return this.cached.token;
      const token = (await readFile(this.file, 'utf8')).trim().replace(/^Bearer\s+/i, '');
      if (!token) throw new CredentialError(`the token file ${this.file} is empty`);
      this.cached = { key, token };
      return token;
    } catch (error) {
      if (error instanceof CredentialError) throw error;
      throw new CredentialError(`cannot read the token file ${this.file}: ${(error as Error).message}`);
    }
  }

  refused(): void {
    // The file is the only source: read it again next time, in case it was rewritten in the same millisecond.
    this.cached = null;
  }
}

/** Renewed this long before the token's expiry (or at half its lifetime if that is shorter). */
const RENEW_BEFORE_MS = 60_000;
/** Maskinporten accepts grants valid for at most 120 s. */
const GRANT_LIFETIME_S = 120;

export class MaskinportenTokens implements TokenSource {
  private current: { token: string; renewAt: number } | null = null;
  private fetching: Promise<string> | null = null;

  constructor(
    private readonly settings: Extract<UpstreamCredentials, { kind: 'maskinporten' }>,
    private readonly timeoutMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  async token(): Promise<string> {
    if (this.current && this.clock() < this.current.renewAt) return this.current.token;
    this.fetching ??= this.fetchToken().finally(() => (this.fetching = null));
    return this.fetching;
  }

  refused(): void {
    this.current = null;
  }

  private async fetchToken(): Promise<string> {
    const { tokenUrl, audience, clientId, privateKeyFile, keyId, scopes } = this.settings;
    let key;
    try {
      key = await importPKCS8(await readFile(privateKeyFile, 'utf8'), 'RS256');
    } catch (error) {
      throw new CredentialError(`cannot read the private key ${privateKeyFile} (PKCS#8 PEM, RSA): ${(error as Error).message}`);
    }
    const now = Math.floor(this.clock() / 1000);
    const assertion = await new SignJWT({ scope: scopes.join(' ') })
      .setProtectedHeader({ alg: 'RS256', ...(keyId ? { kid: keyId } : {}) })
      .setIssuer(clientId)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + GRANT_LIFETIME_S)
      .setJti(randomUUID())
      .sign(key);
    let response: Response;
    try {
      response = await fetch(tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new CredentialError(`the token endpoint ${tokenUrl} did not answer: ${(error as Error).message}`);
    }
    const text = await response.text().catch(() => '');
    let body: { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown } = {};
    try {
      body = JSON.parse(text);
    } catch {
      // reported below
    }
    if (!response.ok || typeof body.access_token !== 'string' || body.access_token === '') {
      const why = typeof body.error === 'string' ? `${body.error}${typeof body.error_description === 'string' ? `: ${body.error_description}` : ''}` : `HTTP ${response.status}`;
      throw new CredentialError(`the token endpoint ${tokenUrl} gave no token (${why.slice(0, 200)})`);
    }
    const lifetimeMs = (typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : GRANT_LIFETIME_S) * 1000;
    this.current = { token: body.access_token, renewAt: this.clock() + lifetimeMs - Math.min(RENEW_BEFORE_MS, lifetimeMs / 2) };
    return body.access_token;
  }
}

export function tokenSource(credentials: UpstreamCredentials, timeoutMs: number): TokenSource {
  return credentials.kind === 'token-file' ? new TokenFile(credentials.file) : new MaskinportenTokens(credentials, timeoutMs);
}
