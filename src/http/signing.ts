/**
 * Signed answers (`Accept: application/jose` on the register's REST lookups): a compact JWS
 * whose payload is exactly the JSON body that would otherwise be sent. Agencies keep these
 * as proof of what the register told them, so a key that ever signed stays published in
 * `GET /.well-known/jwks.json` for as long as the operator keeps it in the key file.
 */
import { calculateJwkThumbprint, type JSONWebKeySet, type JWK } from 'jose';
import { createPrivateKey, createPublicKey, KeyObject, sign, type JsonWebKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AnswerSigningConfig } from '../config';
import { loadOrCreateDevKey } from '../auth/keys';

export const JOSE_MEDIA_TYPE = 'application/jose';

export interface AnswerSigner {
  /** The `kid` of the key that signs (the first key of the file). */
  readonly activeKid: string;
  /** Every key's public part: the active key and the retired ones kept for verifying old answers. */
  readonly jwks: JSONWebKeySet;
  /** A compact JWS of `body`'s bytes, exactly as given. */
  sign(body: string): Promise<string>;
}

export class SigningKeyError extends Error {
  override name = 'SigningKeyError';
}

type SigningAlg = 'ES256' | 'RS256';

/** ES256 for EC P-256 keys, RS256 for RSA keys of 2048 bits or more; nothing else. */
function algOf(jwk: JWK, where: string): SigningAlg {
  let alg: SigningAlg;
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') alg = 'ES256';
  else if (jwk.kty === 'RSA' && typeof jwk.n === 'string' && Buffer.from(jwk.n, 'base64url').length * 8 >= 2048) alg = 'RS256';
  else throw new SigningKeyError(`${where}: only EC P-256 (ES256) and RSA keys of 2048 bits or more (RS256) can sign answers`);
  if (jwk.alg !== undefined && jwk.alg !== alg) throw new SigningKeyError(`${where}: "alg" is ${jwk.alg}, but the key is a ${alg} key`);
  return alg;
}

function publicPart(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, oth: _oth, key_ops: _ops, ...rest } = jwk;
  return rest;
}

/** The keys of a key file: a JWK, a JWK set, or one or more PEM blocks (private, or public for retired keys). */
function keysIn(text: string, file: string): JWK[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      throw new SigningKeyError(`${file} is not valid JSON`);
    }
    const set = parsed as { keys?: unknown; kty?: unknown };
    if (Array.isArray(set.keys)) return set.keys as JWK[];
    if (typeof set.kty === 'string') return [parsed as JWK];
    throw new SigningKeyError(`${file} is neither a JWK (no "kty") nor a JWK set (no "keys" array)`);
  }
  const blocks = trimmed.match(/-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----/g);
  if (!blocks) throw new SigningKeyError(`${file} holds no JWK, JWK set or PEM key`);
  return blocks.map((pem, i) => {
    let key: KeyObject;
    try {
      key = /PUBLIC KEY/.test(pem.split('\n')[0]) ? createPublicKey(pem) : createPrivateKey(pem);
    } catch {
      throw new SigningKeyError(`${file}: PEM block ${i + 1} is not a key Node can read`);
    }
    return key.export({ format: 'jwk' }) as JWK;
  });
}

/**
 * Reads the answer-signing keys. The FIRST key signs and must be private; every key's
 * public part is published. Rotation: put the new key first and keep the old ones after
 * it (their public parts are enough) for as long as agencies may check answers they kept.
 * A key without `kid` gets its RFC 7638 thumbprint.
 */
export async function loadAnswerSigner(config: AnswerSigningConfig): Promise<AnswerSigner> {
  if (config.mode === 'development') {
    const dev = await loadOrCreateDevKey(config.keyFile);
    return signer('ES256', dev.kid, KeyObject.from(dev.privateKey), dev.publicJwks);
  }
  const file = config.keyFile;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new SigningKeyError(`KRR_SIGNING_KEY_FILE: cannot read ${file}`);
  }
  const keys = keysIn(text, file);
  if (keys.length === 0) throw new SigningKeyError(`${file} holds no keys`);
  const published: JWK[] = [];
  for (const [i, jwk] of keys.entries()) {
    const where = `${file}, key ${i + 1}`;
    const alg = algOf(jwk, where);
    const kid = jwk.kid ?? (await calculateJwkThumbprint(publicPart(jwk)));
    if (published.some((k) => k.kid === kid)) throw new SigningKeyError(`${where}: kid "${kid}" is used twice`);
    published.push({ ...publicPart(jwk), kid, alg, use: 'sig' });
  }
  const active = keys[0];
  if (typeof active.d !== 'string') throw new SigningKeyError(`${file}: the first key signs, so it must be a private key`);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: active as JsonWebKey, format: 'jwk' });
  } catch {
    throw new SigningKeyError(`${file}: the first key is not a private key Node can read`);
  }
  return signer(published[0].alg as SigningAlg, published[0].kid!, privateKey, { keys: published });
}

/**
 * A compact JWS (RFC 7515) made with node:crypto: jose's CompactSign base64url-encodes the
 * payload in JavaScript, which took ~85% of the ~100 ms a 1000-person answer cost to sign;
 * Buffer's native base64url does it in a few. The tests verify every answer with jose.
 */
function signer(alg: SigningAlg, kid: string, privateKey: KeyObject, jwks: JSONWebKeySet): AnswerSigner {
  const header = Buffer.from(JSON.stringify({ alg, kid, typ: 'JOSE', cty: 'json' })).toString('base64url');
  // ES256 signatures are the raw r||s pair in JWS (RFC 7518 3.4), not DER.
  const options = alg === 'ES256' ? { key: privateKey, dsaEncoding: 'ieee-p1363' as const } : privateKey;
  return {
    activeKid: kid,
    jwks: { keys: jwks.keys.map((k) => ({ ...k, alg: k.alg ?? alg, use: 'sig' })) },
    sign: async (body) => {
      const input = `${header}.${Buffer.from(body, 'utf8').toString('base64url')}`;
      return `${input}.${sign('sha256', Buffer.from(input), options).toString('base64url')}`;
    },
  };
}
