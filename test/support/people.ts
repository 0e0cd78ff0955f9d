import { createRandom, syntheticIdentityNumber } from '../../db/seed/generate';
import type { ChannelRecord, PersonRecord } from '../../src/store/types';

/** `n` distinct synthetic identity numbers (month + 80), the same every run for a given seed. */
export function syntheticIds(n: number, seed = 7): string[] {
  const random = createRandom(seed);
  const ids = new Set<string>();
  while (ids.size < n) ids.add(syntheticIdentityNumber(random));
  return [...ids];
}

export const NOW = new Date('2026-06-15T12:00:00.000Z');
export const MONTHS_AGO = (months: number, from = NOW) => {
  const d = new Date(from);
  d.setUTCMonth(d.getUTCMonth() - months);
  return d;
};

export function aChannel(address: string, updatedAt: Date = MONTHS_AGO(1), extra: Partial<ChannelRecord> = {}): ChannelRecord {
  return { address, updatedAt, lastVerifiedAt: null, lastValidatedAt: null, ...extra };
}

/** An active, unreserved person with both channels fresh and a mailbox; override what the test is about. */
export function aPerson(id: string, overrides: Partial<PersonRecord> = {}): PersonRecord {
  return {
    id,
    status: 'ACTIVE',
    reserved: false,
    reservedAt: null,
    reservationUpdatedAt: null,
    language: 'nb',
    languageUpdatedAt: MONTHS_AGO(3),
    updatedAt: MONTHS_AGO(1),
    email: aChannel(`person.${id.slice(-4)}@example.com`),
    mobile: aChannel(`+479${id.slice(-7)}`),
    digitalPost: { mailboxAddress: `person#${id.slice(-4)}`, providerOrgNumber: '984661185', certificate: 'MIIBsynthetic' },
    ...overrides,
  };
}

/** A whole entry with every field set, its times minutes before `at`: for store tests that compare rows exactly. */
export function anEntry(id: string, at: Date, overrides: Partial<PersonRecord> = {}): PersonRecord {
  const minutes = (n: number) => new Date(at.getTime() + n * 60_000);
  return {
    id,
    status: 'ACTIVE',
    reserved: false,
    reservedAt: null,
    reservationUpdatedAt: null,
    language: 'nb',
    languageUpdatedAt: minutes(-100),
    updatedAt: minutes(-50),
    email: { address: `Person.${id}@Example.org`, updatedAt: minutes(-60), lastVerifiedAt: minutes(-59), lastValidatedAt: null },
    mobile: { address: `+479${id.slice(-7)}`, updatedAt: minutes(-70), lastVerifiedAt: null, lastValidatedAt: minutes(-69) },
    digitalPost: { mailboxAddress: `p.${id}#ABCD`, providerOrgNumber: '984661185', certificate: null },
    ...overrides,
  };
}
