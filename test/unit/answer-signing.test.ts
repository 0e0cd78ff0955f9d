import { compactVerify, createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { loadAnswerSigner, SigningKeyError } from '../../src/http/signing';

const dir = mkdtempSync(path.join(os.tmpdir(), 'krr-signing-'));
let n = 0;
function keyFile(content: unknown): { mode: 'file'; keyFile: string } {
  const file = path.join(dir, `key-${n++}`);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return { mode: 'file', keyFile: file };
}
const privateJwk = async (alg: 'ES256' | 'RS256', kid?: string) => {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), ...(kid ? { kid } : {}) };
};

async function verifies(signer: Awaited<ReturnType<typeof loadAnswerSigner>>, alg: string) {
  const body = '{"personer":[{"personidentifikator":"01859012325","status":"AKTIV"}]}';
  const jws = await signer.sign(body);
  expect(decodeProtectedHeader(jws)).toMatchObject({ alg, kid: signer.activeKid });
  const { payload } = await compactVerify(jws, createLocalJWKSet(signer.jwks));
  expect(new TextDecoder().decode(payload)).toBe(body);
  for (const key of signer.jwks.keys) for (const secret of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(key).not.toHaveProperty(secret);
}

describe('the answer-signing key file (KRR_SIGNING_KEY_FILE)', () => {
  it('takes one private JWK (ES256 or RS256); a key without kid gets its thumbprint', async () => {
    const ec = await loadAnswerSigner(keyFile(await privateJwk('ES256', 'register-2026')));
    expect(ec.activeKid).toBe('register-2026');
    await verifies(ec, 'ES256');
    const rsa = await loadAnswerSigner(keyFile(await privateJwk('RS256')));
    expect(rsa.activeKid).toMatch(/^[\w-]{43}$/);
    await verifies(rsa, 'RS256');
  });

  it('takes a JWK set: the first key signs, every key is published (retired ones may be public only)', async () => {
    const retired = await privateJwk('ES256', 'old');
    const { d: _d, ...retiredPublic } = retired;
    const signer = await loadAnswerSigner(keyFile({ keys: [await privateJwk('RS256', 'new'), retiredPublic, await privateJwk('ES256', 'older')] }));
    expect(signer.activeKid).toBe('new');
    expect(signer.jwks.keys.map((k) => [k.kid, k.alg])).toEqual([['new', 'RS256'], ['old', 'ES256'], ['older', 'ES256']]);
    await verifies(signer, 'RS256');
  });

  it('takes PEM: PKCS#8, SEC1 and PKCS#1 private keys, and public keys after the first for retired ones', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await verifies(await loadAnswerSigner(keyFile(ec.privateKey.export({ format: 'pem', type: 'pkcs8' }))), 'ES256');
    await verifies(await loadAnswerSigner(keyFile(ec.privateKey.export({ format: 'pem', type: 'sec1' }))), 'ES256');
    const pem = `${rsa.privateKey.export({ format: 'pem', type: 'pkcs1' })}\n${ec.publicKey.export({ format: 'pem', type: 'spki' })}`;
    const rotated = await loadAnswerSigner(keyFile(pem));
    expect(rotated.jwks.keys.map((k) => k.alg)).toEqual(['RS256', 'ES256']);
    await verifies(rotated, 'RS256');
  });

  it.each([
    ['not a key at all', 'hello', /holds no JWK, JWK set or PEM key/],
    ['broken JSON', '{"kty":', /not valid JSON/],
    ['an empty set', { keys: [] }, /holds no keys/],
    ['a public key first', 'PUBLIC_FIRST', /first key signs, so it must be a private key/],
    ['a P-384 key', 'P384', /only EC P-256 \(ES256\) and RSA/],
    ['a small RSA key', 'RSA1024', /RSA keys of 2048 bits or more/],
    ['an alg that does not fit the key', 'WRONG_ALG', /"alg" is RS256, but the key is a ES256 key/],
    ['a kid used twice', 'TWICE', /kid "a" is used twice/],
  ])('refuses %s with a clear message', async (_what, content, message) => {
    let file: unknown = content;
    if (content === 'PUBLIC_FIRST') file = { keys: [{ ...(await privateJwk('ES256')), d: undefined }] };
    if (content === 'P384') file = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'pem', type: 'pkcs8' });
    if (content === 'RSA1024') file = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' });
    if (content === 'WRONG_ALG') file = { ...(await privateJwk('ES256')), alg: 'RS256' };
    if (content === 'TWICE') file = { keys: [await privateJwk('ES256', 'a'), await privateJwk('ES256', 'a')] };
    const load = loadAnswerSigner(keyFile(file));
    await expect(load).rejects.toThrow(SigningKeyError);
    await expect(load).rejects.toThrow(message);
  });

  it('makes a development key under the data directory and keeps it across restarts', async () => {
    const config = loadConfig({ NODE_ENV: 'development', KRR_DATA_DIR: dir });
    expect(config.answerSigning).toEqual({ mode: 'development', keyFile: path.join(dir, 'dev-answer-signing-key.json') });
    const first = await loadAnswerSigner(config.answerSigning);
    const again = await loadAnswerSigner(config.answerSigning);
    expect(again.jwks).toEqual(first.jwks);
    await verifies(first, 'ES256');
  });

  it('refuses production without a key file, and a key file that does not exist', () => {
    const production = { NODE_ENV: 'production', KRR_AGENCY_ISSUER: 'a', KRR_AGENCY_JWKS_URI: '/dev/null', KRR_CITIZEN_ISSUER: 'c', KRR_CITIZEN_JWKS_URI: '/dev/null', KRR_AUDIENCE: 'x', KRR_NOTIFIER: 'outbox' };
    expect(() => loadConfig(production)).toThrow(/NODE_ENV=production needs the key that signs answers: set KRR_SIGNING_KEY_FILE/);
    expect(() => loadConfig({ KRR_SIGNING_KEY_FILE: '/no/such/key.pem' })).toThrow(/KRR_SIGNING_KEY_FILE: no such file/);
  });
});
