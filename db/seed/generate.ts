/**
 * Deterministic synthetic population: the same seed and reference time give the same
 * people, byte for byte. Identity numbers are synthetic (month + 80) with valid check
 * digits, so they can never belong to a real person.
 */
import { checkDigitsFor } from '../../src/domain/identity-number';
import type { ChannelRecord, PersonRecord } from '../../src/domain/person-record';

/** mulberry32: a small, fast, seedable PRNG. Not for secrets. */
export function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');
const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);

/** Days in a month (1-12) of the Gregorian calendar. */
function daysInMonth(year: number, month: number): number {
  if (month !== 2) return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
}

/** A random synthetic identity number (Tenor style: month + 80) with valid check digits. */
export function syntheticIdentityNumber(random: () => number): string {
  for (;;) {
    const year = 1925 + Math.floor(random() * 83);
    const month = 1 + Math.floor(random() * 12);
    const day = 1 + Math.floor(random() * daysInMonth(year, month));
    const individual = Math.floor(random() * 1000);
    const firstNine = two(day) + (month + 80) + two(year % 100) + pad(individual, 3);
    const check = checkDigitsFor(firstNine);
    if (check) return firstNine + check;
  }
}

const FIRST_NAMES = ['ola', 'kari', 'per', 'anne', 'lars', 'ingrid', 'nils', 'sigrid', 'ole', 'marit', 'jonas', 'emma', 'aslak', 'elle', 'mohammed', 'fatima', 'magnus', 'nora', 'henrik', 'sofie'];
const LAST_NAMES = ['nordmann', 'hansen', 'johansen', 'olsen', 'larsen', 'andersen', 'pedersen', 'nilsen', 'kristiansen', 'jensen', 'karlsen', 'haugen', 'sara', 'eira', 'berg', 'dahl'];
const EMAIL_DOMAINS = ['example.com', 'example.org', 'example.net'];
/** Mailbox providers' organisation numbers (Digipost, e-Boks). */
const PROVIDERS = ['984661185', '996460320'];
const MAILBOX_CHARS = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'.split('');

/** A synthetic X.509 test certificate (self-signed, "Synthetic Test Mailbox Provider"). */
export const SYNTHETIC_CERTIFICATE =
  'MIIB/jCCAaOgAwIBAgIUOoO2PcAwy/yJXwnxbqotWqdh7+gwCgYIKoZIzj0EAwIwVDELMAkGA1UEBhMCTk8xKDAmBgNVBAoMH1N5bnRoZXRpYyBUZXN0IE1haWxib3ggUHJvdmlkZXIxGzAZBgNVBAMMEmtyci1zeW50aGV0aWMtdGVzdDAeFw0yNjExMjYxODAwMjVaFw0zNjExMjMxODAwMjVaMFQxCzAJBgNVBAYTAk5PMSgwJgYDVQQKDB9TeW50aGV0aWMgVGVzdCBNYWlsYm94IFByb3ZpZGVyMRswGQYDVQQDDBJrcnItc3ludGhldGljLXRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQEUO6Fqnz1jVK4HRxse0qJo/+heY0of8TOuylafqu2g4Ajir/NSw22vr6WVa541ctReUG1O/Vb4xuHHSxisJObo1MwUTAdBgNVHQ4EFgQUjZ85rBmSQorV0y3aBNq/wsvhSH4wHwYDVR0jBBgwFoAUjZ85rBmSQorV0y3aBNq/wsvhSH4wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEA4Xv2GoDyzGNH/VhA1SU53ZZP7WhTzFCTjvNY48jPn88CIQCjYSbvFFhwiHq6jmdJx8HHj3pdD/GZ7DBHRHJHscpzRg==';

const DAY = 86_400_000;
const MONTH = 30.44 * DAY;

export interface PopulationOptions {
  count: number;
  seed: number;
  /** Reference time: every timestamp is placed relative to it. */
  now: Date;
}

/**
 * The mix (fractions of everyone): ~3 % deleted; of the active, ~8 % reserved, ~88 % with
 * email and ~92 % with mobile (~3 % with neither), a quarter of channels neither updated
 * nor confirmed for over 18 months, ~4 % sharing an address with someone else, ~45 % with
 * a digital mailbox, languages nb/nn/en/se at roughly 82/12/5/1 % (a fifth never chose).
 */
export function* generatePopulation({ count, seed, now }: PopulationOptions): Generator<PersonRecord> {
  const random = createRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const ago = (maxMonths: number, minMonths = 0) => new Date(now.getTime() - (minMonths + random() * (maxMonths - minMonths)) * MONTH);
  const seen = new Set<string>();
  const recentEmails: string[] = [];
  const recentMobiles: string[] = [];

  const channel = (address: string): ChannelRecord => {
    const updatedAt = ago(72);
    const roll = random();
    // Half confirmed recently, a quarter confirmed long ago, a quarter never confirmed.
    const lastVerifiedAt = roll < 0.5 ? ago(17) : roll < 0.75 ? ago(72, 19) : null;
    const verified = lastVerifiedAt && lastVerifiedAt > updatedAt ? lastVerifiedAt : null;
    const lastValidatedAt = random() < 0.6 ? new Date(updatedAt.getTime() + Math.floor(random() * 600_000)) : null;
    return { address, updatedAt, lastVerifiedAt: verified, lastValidatedAt: lastValidatedAt && lastValidatedAt <= now ? lastValidatedAt : null };
  };

  for (let i = 0; i < count; i++) {
    let id = syntheticIdentityNumber(random);
    while (seen.has(id)) id = syntheticIdentityNumber(random);
    seen.add(id);
    const first = pick(FIRST_NAMES);
    const last = pick(LAST_NAMES);

    if (random() < 0.03) {
      yield { id, status: 'DELETED', reserved: false, reservedAt: null, reservationUpdatedAt: null, language: null, languageUpdatedAt: null, updatedAt: ago(60), email: null, mobile: null, digitalPost: null };
      continue;
    }

    let email: ChannelRecord | null = null;
    let mobile: ChannelRecord | null = null;
    const none = random() < 0.03;
    if (!none && random() < 0.88) {
      const shared = recentEmails.length > 0 && random() < 0.04;
      const address = shared ? pick(recentEmails) : `${first}.${last}${Math.floor(random() * 100000)}@${pick(EMAIL_DOMAINS)}`;
      email = channel(shared && random() < 0.5 ? address.toUpperCase() : address);
      if (!shared) recentEmails.push(address);
    }
    if (!none && random() < 0.92) {
      const shared = recentMobiles.length > 0 && random() < 0.04;
      const number = shared ? pick(recentMobiles) : `+47${pick(['4', '9'])}${pad(Math.floor(random() * 10_000_000), 7)}`;
      mobile = channel(number);
      if (!shared) recentMobiles.push(number);
    }
    if (recentEmails.length > 1000) recentEmails.splice(0, 500);
    if (recentMobiles.length > 1000) recentMobiles.splice(0, 500);

    const reserved = random() < 0.08;
    const reservationUpdatedAt = random() < 0.3 || reserved ? ago(96) : null;
    const languageRoll = random();
    const language = languageRoll < 0.2 ? null : languageRoll < 0.85 ? 'nb' : languageRoll < 0.95 ? 'nn' : languageRoll < 0.99 ? 'en' : 'se';
    const languageUpdatedAt = language ? ago(96) : null;
    const digitalPost =
      random() < 0.45
        ? {
            mailboxAddress: `${first}.${last}#${pick(MAILBOX_CHARS) + pick(MAILBOX_CHARS) + pick(MAILBOX_CHARS) + pick(MAILBOX_CHARS)}`,
            providerOrgNumber: pick(PROVIDERS),
            certificate: SYNTHETIC_CERTIFICATE,
          }
        : null;
    let latest = -Infinity;
    for (const d of [email?.updatedAt, email?.lastVerifiedAt, mobile?.updatedAt, mobile?.lastVerifiedAt, reservationUpdatedAt, languageUpdatedAt]) {
      if (d instanceof Date && d.getTime() > latest) latest = d.getTime();
    }
    yield {
      id,
      status: 'ACTIVE',
      reserved,
      reservedAt: reserved ? reservationUpdatedAt : null,
      reservationUpdatedAt,
      language,
      languageUpdatedAt,
      updatedAt: new Date(latest > -Infinity ? latest : now.getTime() - 100 * DAY),
      email,
      mobile,
      digitalPost,
    };
  }
}
