import { createLocalJWKSet, createRemoteJWKSet, exportJWK, generateKeyPair, importJWK, type JSONWebKeySet, type JWK, type JWTVerifyGetKey, type CryptoKey } from 'jose';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const DEV_KEY_ALG = 'ES256';

export interface DevSigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwks: JSONWebKeySet;
}

/**
 * The development signing key, kept under `data/` so tokens minted by `npm run token`
 * stay valid across restarts. Created on first use; readable by its owner only.
 */
export async function loadOrCreateDevKey(file: string): Promise<DevSigningKey> {
  let privateJwk: JWK;
  if (existsSync(file)) {
    privateJwk = JSON.parse(readFileSync(file, 'utf8')) as JWK;
  } else {
    const { privateKey } = await generateKeyPair(DEV_KEY_ALG, { extractable: true });
    privateJwk = { ...(await exportJWK(privateKey)), alg: DEV_KEY_ALG, use: 'sig', kid: `dev-${Date.now().toString(36)}` };
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify(privateJwk, null, 2) + '\n', { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  const { d: _d, ...publicJwk } = privateJwk;
  return {
    kid: privateJwk.kid ?? 'dev',
    privateKey: (await importJWK(privateJwk, DEV_KEY_ALG)) as CryptoKey,
    publicJwks: { keys: [publicJwk] },
  };
}

/** A key set from `http(s)://` (fetched and cached by jose) or from a JWKS file on disk. */
export function keySetFrom(uri: string): JWTVerifyGetKey {
  if (/^https?:\/\//.test(uri)) return createRemoteJWKSet(new URL(uri));
  const jwks = JSON.parse(readFileSync(uri, 'utf8')) as JSONWebKeySet;
  if (!Array.isArray(jwks.keys)) throw new Error(`${uri} is not a JWKS file (no "keys" array)`);
  return createLocalJWKSet(jwks);
}
