import { randomBytes, randomInt, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number, options: { N: number }) => Promise<Buffer>;

/**
 * scrypt cost: about 30 ms a hash here. A stolen database then costs hours per code to
 * search, far longer than the code lives.
 */
const SCRYPT_N = 16_384;
const KEY_LENGTH = 32;
export const CODE_DIGITS = 6;

/** A random six-digit code from the operating system's CSPRNG. */
export function newCode(): string {
  return String(randomInt(0, 10 ** CODE_DIGITS)).padStart(CODE_DIGITS, '0');
}

/** `salt:hash` (hex) of a code, with a fresh random salt. */
export async function hashCode(code: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(code, salt, KEY_LENGTH, { N: SCRYPT_N });
  return `${salt.toString('hex')}:${hash.toString('hex')}`;
}

/** Whether `code` is the one behind `stored`, compared in constant time. */
export async function codeMatches(code: string, stored: string): Promise<boolean> {
  const [saltHex, hashHex] = stored.split(':');
  if (!saltHex || !hashHex) return false;
  const expected = Buffer.from(hashHex, 'hex');
  const actual = await scryptAsync(code, Buffer.from(saltHex, 'hex'), expected.length, { N: SCRYPT_N });
  return timingSafeEqual(actual, expected);
}
