/**
 * The bulk import's staging row, the same on both stores: one wide row per person (the
 * entry, both channels and the mailbox), times in UTC milliseconds, booleans 0/1, address
 * keys as `replacePerson` has them (`toTuple`). A row for a person who is `notRegistered`
 * has the id only (status null). The certificate is staged once per distinct value
 * (`StagedCertificates`): the row's `certificate` holds its number in the staging run.
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

export function stagingRow(person: StagedPerson, certificates: StagedCertificates): unknown[] {
  if ('notRegistered' in person) return [person.id, ...NOT_REGISTERED_REST];
  const [id, status, reserved, reservedAt, reservationUpdatedAt, language, languageUpdatedAt, updatedAt, email, mobile, post] = toTuple(person);
  const mailbox = post ? [post[0], post[1], certificates.numberOf(post[2])] : NO_MAILBOX;
  return [id, status, reserved, reservedAt, reservationUpdatedAt, language, languageUpdatedAt, updatedAt, ...(email ?? NO_CHANNEL), ...(mobile ?? NO_CHANNEL), ...mailbox];
}

/** Distinct values a staging run remembers; past it, it starts afresh (a value seen again then takes a second number). */
const REMEMBERED_CERTIFICATES = 1000;

/**
 * The certificates of one staging run, each distinct value numbered once: a national file
 * repeats its few providers' certificates (some 700 bytes each) in millions of records, and
 * the staged rows, their sort and the register's rows then carry a number instead. The
 * numbers are the run's own (1, 2, ...), not the register's `certificate.id`: the store
 * stages each new value beside the rows (`fresh`) and maps values to the register's ids when
 * it writes. Memory stays bounded whatever the file: after `REMEMBERED_CERTIFICATES`
 * distinct values it forgets them, so a value can have two numbers, both with the same
 * value (the store maps by value, so that is harmless).
 */
export class StagedCertificates {
  private readonly numbers = new Map<string, number>();
  private next = 1;
  private pending: [number, string][] = [];

  numberOf(value: string | null): number | null {
    if (value === null) return null;
    let n = this.numbers.get(value);
    if (n === undefined) {
      if (this.numbers.size >= REMEMBERED_CERTIFICATES) this.numbers.clear();
      n = this.next++;
      this.numbers.set(value, n);
      this.pending.push([n, value]);
    }
    return n;
  }

  /** The values numbered since the last call, `[number, value]`: to stage before the rows that refer to them are written. */
  fresh(): [number, string][] {
    const fresh = this.pending;
    this.pending = [];
    return fresh;
  }
}
