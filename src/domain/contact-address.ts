/**
 * Validation and normalisation of the two contact channels. Pure functions returning
 * either the normalised value or a reason a user can act on.
 */

export type Result<T> = { ok: true; value: T } | { ok: false; reason: string };

export const EMAIL_MAX_LENGTH = 254;

// Pragmatic address syntax (the WHATWG `input type=email` rule): one @, a dot-atom local
// part, a domain of LDH labels with at least one dot. Stricter than RFC 5322 on purpose:
// quoted local parts and IP literals are not accepted as notification addresses.
const EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

/** Checks an email address; it is stored as given, trimmed of surrounding white space. */
export function normaliseEmail(input: string): Result<string> {
  const value = String(input).trim();
  if (value.length === 0) return { ok: false, reason: 'is empty' };
  if (value.length > EMAIL_MAX_LENGTH) return { ok: false, reason: `is longer than ${EMAIL_MAX_LENGTH} characters` };
  if (!EMAIL.test(value)) return { ok: false, reason: 'is not a valid email address' };
  const local = value.slice(0, value.indexOf('@'));
  if (local.length > 64) return { ok: false, reason: 'has a local part longer than 64 characters' };
  if (local.startsWith('.') || local.endsWith('.') || local.includes('..')) {
    return { ok: false, reason: 'is not a valid email address' };
  }
  return { ok: true, value };
}

/** The key under which two emails are the same address: compared case-insensitively. */
export function emailKey(address: string): string {
  return address.trim().toLowerCase();
}

/**
 * What "the same address" means on a channel (`address_key`, for the duplicate flag and
 * "same address keeps its stamps"): emails case-insensitively, mobiles as stored (E.164).
 */
export function addressKey(channel: 'EMAIL' | 'MOBILE', address: string): string {
  return channel === 'EMAIL' ? emailKey(address) : address;
}

/**
 * A Norwegian mobile number: 8 digits starting with 4 or 9, optionally prefixed `+47` or
 * `0047`; spaces, dashes and dots between digits are ignored. Returned in E.164 (`+4799999999`).
 */
export function normaliseMobile(input: string): Result<string> {
  const compact = String(input).trim().replace(/[\s.-]/g, '');
  if (compact.length === 0) return { ok: false, reason: 'is empty' };
  const match = /^(?:\+47|0047)?(\d{8})$/.exec(compact);
  if (!match) return { ok: false, reason: 'is not a Norwegian mobile number (8 digits, optionally prefixed +47 or 0047)' };
  const national = match[1];
  if (national[0] !== '4' && national[0] !== '9') {
    return { ok: false, reason: 'is not a Norwegian mobile number (it must start with 4 or 9)' };
  }
  return { ok: true, value: `+47${national}` };
}

/** A mobile number for logs: country code and last two digits only. */
export function maskMobile(e164: string): string {
  return e164.length > 5 ? `${e164.slice(0, 3)}******${e164.slice(-2)}` : '***';
}

/** An email for logs: first character of the local part and the domain. */
export function maskEmail(address: string): string {
  const at = address.indexOf('@');
  return at > 0 ? `${address[0]}***${address.slice(at)}` : '***';
}
