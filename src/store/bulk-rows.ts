/**
 * The bulk import's staging row, the same on both stores: one wide row per person (the
 * entry, both channels and the mailbox), times in UTC milliseconds, booleans 0/1, address
 * keys as `replacePerson` has them (`toTuple`). A row for a person who is `notRegistered`
 * has the id only (status null).
 */
import { toTuple } from '../../db/seed/rows';
import type { StagedPerson } from './types';

export const STAGING_COLUMNS = [
  'id',
  'status',
  'reserved',
  'reserved_at',
  'reservation_updated_at',
  'language',
  'language_updated_at',
  'updated_at',
  'email_address',
  'email_key',
  'email_updated_at',
  'email_verified_at',
  'email_validated_at',
  'mobile_address',
  'mobile_key',
  'mobile_updated_at',
  'mobile_verified_at',
  'mobile_validated_at',
  'mailbox_address',
  'provider_org_number',
  'certificate',
] as const;

/** The person table's columns in the staging row (all but change_number), in its order. */
export const STAGED_PERSON_COLUMNS = STAGING_COLUMNS.slice(0, 8);

const NO_CHANNEL = [null, null, null, null, null];
const NO_MAILBOX = [null, null, null];
const NOT_REGISTERED_REST = Array(STAGING_COLUMNS.length - 1).fill(null);

export function stagingRow(person: StagedPerson): unknown[] {
  if ('notRegistered' in person) return [person.id, ...NOT_REGISTERED_REST];
  const [id, status, reserved, reservedAt, reservationUpdatedAt, language, languageUpdatedAt, updatedAt, email, mobile, post] = toTuple(person);
  return [id, status, reserved, reservedAt, reservationUpdatedAt, language, languageUpdatedAt, updatedAt, ...(email ?? NO_CHANNEL), ...(mobile ?? NO_CHANNEL), ...(post ?? NO_MAILBOX)];
}
