import { createLocalJWKSet, decodeJwt, errors as joseErrors, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { AuthConfig } from '../config';
import { isValidIdentityNumber } from '../domain/identity-number';
import { keySetFrom, loadOrCreateDevKey, DEV_KEY_ALG, type DevSigningKey } from './keys';
import type { Viewer } from './viewer';

/** Asymmetric algorithms only: `none` and shared-secret HMAC tokens are refused outright. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const CLOCK_TOLERANCE_SECONDS = 5;
const ORG_CONSUMER = /^0192:(\d{9})$/;
/** ID-porten levels a citizen must have logged in with to change their entry. */
export const CITIZEN_ACR_LEVELS = ['idporten-loa-substantial', 'idporten-loa-high'];

/** Why a token was refused. The message is safe to show the caller. */
export class TokenError extends Error {
  override name = 'TokenError';
}

export interface TokenVerifier {
  verify(token: string): Promise<Viewer>;
}

export async function createTokenVerifier(auth: AuthConfig): Promise<TokenVerifier & { devKey?: DevSigningKey }> {
  let agencyKeys: JWTVerifyGetKey;
  let citizenKeys: JWTVerifyGetKey;
  let devKey: DevSigningKey | undefined;
  if (auth.mode === 'development') {
    devKey = await loadOrCreateDevKey(auth.keyFile);
    agencyKeys = citizenKeys = createLocalJWKSet(devKey.publicJwks);
  } else {
    agencyKeys = keySetFrom(auth.agency.jwksUri);
    citizenKeys = keySetFrom(auth.citizen.jwksUri);
  }

  async function verify(token: string): Promise<Viewer> {
    let issuer: string | undefined;
    try {
      issuer = decodeJwt(token).iss;
    } catch {
      throw new TokenError('the bearer token is not a JWT');
    }
    const isAgency = issuer === auth.agency.issuer;
    if (!isAgency && issuer !== auth.citizen.issuer) throw new TokenError('the token is from an issuer this service does not trust');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, isAgency ? agencyKeys : citizenKeys, {
        issuer: isAgency ? auth.agency.issuer : auth.citizen.issuer,
        audience: auth.audience,
        algorithms: ALGORITHMS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'iat'],
        // Also refuses an `iat` in the future; the lifetime check below bounds the rest.
        maxTokenAge: auth.maxTokenLifetimeSeconds,
      }));
    } catch (error) {
      throw new TokenError(describeJoseError(error, auth.maxTokenLifetimeSeconds));
    }
    // A token valid until 2100 is a key that never expires if it leaks: cap what the issuer granted.
    const lifetime = (payload.exp as number) - (payload.iat as number);
    if (lifetime > auth.maxTokenLifetimeSeconds) {
      throw new TokenError(`the token lives ${lifetime} s (exp - iat); this service accepts at most ${auth.maxTokenLifetimeSeconds} s`);
    }
    return isAgency ? agencyViewer(payload) : citizenViewer(payload);
  }

  return { verify, devKey };
}

/** The organisation number of a Maskinporten `{"authority", "ID": "0192:<orgnr>"}` claim. */
function orgNumberOf(claim: unknown): string | null {
  const id = (claim as { ID?: unknown } | null | undefined)?.ID;
  return typeof id === 'string' ? (ORG_CONSUMER.exec(id)?.[1] ?? null) : null;
}

function agencyViewer(payload: JWTPayload): Viewer {
  const orgNumber = orgNumberOf(payload.consumer);
  if (!orgNumber) throw new TokenError('the agency token has no consumer.ID of the form 0192:<organisation number>');
  if (typeof payload.scope !== 'string') throw new TokenError('the agency token has no scope claim');
  const scopes = new Set(payload.scope.split(' ').filter(Boolean));
  // Delegation: a vendor acting for the agency. A supplier claim we cannot read is refused,
  // not ignored: the audit log must name who really asked.
  if (payload.supplier === undefined) return { kind: 'agency', orgNumber, scopes };
  const supplierOrgNumber = orgNumberOf(payload.supplier);
  if (!supplierOrgNumber) throw new TokenError('the agency token\u2019s supplier has no ID of the form 0192:<organisation number>');
  return supplierOrgNumber === orgNumber ? { kind: 'agency', orgNumber, scopes } : { kind: 'agency', orgNumber, supplierOrgNumber, scopes };
}

function citizenViewer(payload: JWTPayload): Viewer {
  if (typeof payload.pid !== 'string' || !isValidIdentityNumber(payload.pid)) {
    throw new TokenError('the citizen token has no valid pid claim');
  }
  if (typeof payload.acr !== 'string' || !CITIZEN_ACR_LEVELS.includes(payload.acr)) {
    throw new TokenError(`the citizen token must have acr ${CITIZEN_ACR_LEVELS.join(' or ')}`);
  }
  const userScopes = typeof payload.scope === 'string' ? payload.scope.split(' ').filter((s) => s.startsWith('krr:user/')) : [];
  return { kind: 'citizen', pid: payload.pid, userScopes: userScopes.length > 0 ? new Set(userScopes) : null };
}

function describeJoseError(error: unknown, maxLifetimeSeconds: number): string {
  if (error instanceof joseErrors.JWTExpired) {
    return error.claim === 'iat' ? `the token was issued more than ${maxLifetimeSeconds} s ago` : 'the token has expired';
  }
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return `the token has no ${error.claim} claim${error.claim === 'iat' ? ' (issued at): it is required' : ''}`;
    if (error.claim === 'iat') return 'the token\u2019s iat claim is in the future';
    return `the token's ${error.claim} claim is not accepted`;
  }
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'the token is signed with an algorithm this service does not accept';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'the token signature is not valid';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'the token is signed by a key this service does not know';
  if (error instanceof joseErrors.JWKSTimeout) return 'the token issuer\u2019s keys could not be fetched in time';
  return 'the token is not valid';
}

export interface AgencyTokenClaims {
  orgNumber: string;
  scopes: readonly string[];
  /** Delegation: the vendor's organisation number (`supplier` claim). */
  supplierOrgNumber?: string;
}

const orgClaim = (orgNumber: string) => ({ authority: 'iso6523-actorid-upis', ID: `0192:${orgNumber}` });

/**
 * Mints a token with the development key: for `npm run token`, tests and the start-up hint.
 * It lives as long as the service accepts (KRR_MAX_TOKEN_LIFETIME_SECONDS) unless asked for less.
 */
export async function mintDevToken(
  auth: Extract<AuthConfig, { mode: 'development' }>,
  key: DevSigningKey,
  subject: { agency: AgencyTokenClaims } | { citizen: { pid: string; scopes?: readonly string[] } },
  ttlSeconds = auth.maxTokenLifetimeSeconds,
): Promise<string> {
  if (ttlSeconds > auth.maxTokenLifetimeSeconds) {
    throw new TokenError(`a token may live at most ${auth.maxTokenLifetimeSeconds} s (KRR_MAX_TOKEN_LIFETIME_SECONDS); asked for ${ttlSeconds} s`);
  }
  const claims: JWTPayload =
    'agency' in subject
      ? {
          scope: subject.agency.scopes.join(' '),
          consumer: orgClaim(subject.agency.orgNumber),
          ...(subject.agency.supplierOrgNumber ? { supplier: orgClaim(subject.agency.supplierOrgNumber) } : {}),
          client_id: `dev-${subject.agency.supplierOrgNumber ?? subject.agency.orgNumber}`,
        }
      : { pid: subject.citizen.pid, acr: 'idporten-loa-substantial', ...(subject.citizen.scopes ? { scope: ['openid', ...subject.citizen.scopes].join(' ') } : {}) };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: DEV_KEY_ALG, kid: key.kid, typ: 'JWT' })
    .setIssuer('agency' in subject ? auth.agency.issuer : auth.citizen.issuer)
    .setAudience(auth.audience)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .setJti(crypto.randomUUID())
    .sign(key.privateKey);
}
