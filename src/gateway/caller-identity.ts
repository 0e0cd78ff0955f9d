import { SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import type { Viewer } from '../auth/viewer';
import type { DevSigningKey } from '../auth/keys';

/** The header a source configured with `callerIdentity` gets. */
export const CALLER_HEADER = 'krr-caller';
/** Long enough for one request to a source, too short to be worth replaying. */
export const CALLER_TOKEN_SECONDS = 60;

/**
 * Who is asking, as the gateway vouches for it to one source: a JWT signed with the
 * gateway's key (public half at `/gateway/jwks.json`), never the caller's own token, so a
 * source cannot replay it against the register or another source (`aud` is the source).
 *
 * Claims: `iss`, `aud` (`urn:krr:source:<name>`), `iat`, `exp` (60 s), `jti`, and
 * `krr_kind`: `agency` with `consumer` (`0192:<orgnr>`) and `scope` (the caller's scopes);
 * `citizen` with `pid`; or `anonymous`.
 */
export async function callerIdentityToken(viewer: Viewer, source: string, issuer: string, key: DevSigningKey, nowMs = Date.now()): Promise<string> {
  const claims: Record<string, unknown> =
    viewer.kind === 'agency'
      ? { krr_kind: 'agency', consumer: `0192:${viewer.orgNumber}`, scope: [...viewer.scopes].join(' ') }
      : viewer.kind === 'citizen'
        ? { krr_kind: 'citizen', pid: viewer.pid }
        : { krr_kind: 'anonymous' };
  const iat = Math.floor(nowMs / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'krr-caller+jwt' })
    .setIssuer(issuer)
    .setAudience(sourceAudience(source))
    .setIssuedAt(iat)
    .setExpirationTime(iat + CALLER_TOKEN_SECONDS)
    .setJti(randomUUID())
    .sign(key.privateKey);
}

export const sourceAudience = (source: string) => `urn:krr:source:${source}`;
