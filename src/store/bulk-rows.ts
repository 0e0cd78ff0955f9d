/**
 * The bulk import's staging row, the same on both stores: one wide row per person (the
 * entry, both channels and the mailbox), times in UTC milliseconds, booleans 0/1, address
 * keys as `replacePerson` has them (`toTuple`). A row for a person who is `notRegistered`
 * has the id only (status null). The certificate is staged once per distinct value
 * (`StagedCertificates`): the row's `certificate` holds its number in the staging run.
 *
 * Rows travel in `StagingBatch`es: plain arrays of numbers and strings, which a worker
 * thread that reads and checks a file can hand to the thread that writes cheaply.
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

/** People as staging rows, flat (`STAGING_COLUMNS.length` values a row), with the certificate values first numbered in them. */
export interface StagingBatch {
  values: unknown[];
  /** `[number, value]` of each certificate these rows number for the first time in their run. */
  certificates: [number, string][];
}

/**
 * The batches of one staging run (an import, a page): every batch of a run through one
 * `StagingRows`, so that a certificate's number means one value throughout.
 */
export class StagingRows {
  private readonly certificates;

  /** `part`: the `index`-th of `of` producers of one run's rows (threads reading parts of a file), which number certificates apart. */
  constructor(part = { index: 0, of: 1 }) {
    this.certificates = new StagedCertificates(part.index + 1, part.of);
  }

  batch(people: readonly StagedPerson[]): StagingBatch {
    const values: unknown[] = [];
    for (const person of people) for (const v of stagingRow(person, this.certificates)) values.push(v);
    return { values, certificates: this.certificates.fresh() };
  }
}

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
  private pending: [number, string][] = [];
  /** The last value numbered and its number: most records repeat the one before (no hashing of 700 characters). */
  private lastValue: string | null = null;
  private lastNumber = 0;

  /** Numbers `first`, `first + step`, ...: producers of one run take different `first`s and the same `step`. */
  constructor(
    private next = 1,
    private readonly step = 1,
  ) {}

  numberOf(value: string | null): number | null {
    if (value === null) return null;
    if (value === this.lastValue) return this.lastNumber;
    let n = this.numbers.get(value);
    if (n === undefined) {
      if (this.numbers.size >= REMEMBERED_CERTIFICATES) this.numbers.clear();
      n = this.next;
      this.next += this.step;
      this.numbers.set(value, n);
      this.pending.push([n, value]);
    }
    this.lastValue = value;
    this.lastNumber = n;
    return n;
  }

  /** The values numbered since the last call, `[number, value]`: to stage before the rows that refer to them are written. */
  fresh(): [number, string][] {
    const fresh = this.pending;
    this.pending = [];
    return fresh;
  }
}
