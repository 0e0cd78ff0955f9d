/**
 * The register's own JSON (KRR's REST API: snake_case, Norwegian) and how it maps to this
 * service's model. `PERSON_FIELDS` names every field of a register person exactly once;
 * the import reads it register -> internal, and serving the register's REST API
 * (`{"personer":[...]}`) reads the same table internal -> register with each codec's `format`.
 */
import type { NotificationStatus, PersonStatus } from '../domain/contact-rules';
import { normaliseEmail, normaliseMobile, type Result } from '../domain/contact-address';
import { isValidIdentityNumber, maskIdentityNumber, maskIdentityNumbersIn } from '../domain/identity-number';
import { daysFromCivil, daysInMonth } from '../domain/instant';
import { LANGUAGES, type LanguageCode } from '../domain/language';
import type { ChannelRecord, PersonRecord } from '../store/types';

/** Converts one field's value between the register's JSON and the internal model. */
export interface Codec<T> {
  parse(value: unknown): Result<T>;
  format(value: T): string;
  /** The internal value from the value as this service's GraphQL API writes it; the same when left out. */
  fromGraphQL?(value: unknown): T;
}

/** A value for a reason: short, and never an identity number in full. */
function show(value: unknown): string {
  // Masked before it is cut, so a cut cannot leave most of a number unmasked.
  const text = maskIdentityNumbersIn(JSON.stringify(value) ?? String(value));
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}

/** A closed list of register codes, each paired with its internal value. */
function codeList<R extends string, I>(pairs: readonly (readonly [R, I])[]): Codec<I> {
  const codes = pairs.map(([code]) => code).join(', ');
  return {
    parse(value) {
      const pair = pairs.find(([code]) => code === value);
      return pair ? { ok: true, value: pair[1] } : { ok: false, reason: `must be one of ${codes}, got ${show(value)}` };
    },
    format(value) {
      const pair = pairs.find(([, internal]) => internal === value);
      if (!pair) throw new Error(`no register code for ${String(value)}`);
      return pair[0];
    },
  };
}

export const STATUS = codeList<string, PersonStatus>([
  ['AKTIV', 'ACTIVE'],
  ['SLETTET', 'DELETED'],
  ['IKKE_REGISTRERT', 'NOT_REGISTERED'],
]);
/** `reservasjon` and the `_duplisert` flags. */
export const YES_NO = codeList<string, boolean>([
  ['JA', true],
  ['NEI', false],
]);
export const NOTIFICATION_STATUS = codeList<string, NotificationStatus>([
  ['KAN_VARSLES', 'CAN_BE_NOTIFIED'],
  ['KAN_IKKE_VARSLES', 'CANNOT_BE_NOTIFIED'],
]);
export const LANGUAGE: Codec<LanguageCode> = {
  ...codeList(LANGUAGES.map((code) => [code, code] as const)),
  // The GraphQL enum's names are the codes upper-cased (NB for nb).
  fromGraphQL: (value) => String(value).toLowerCase() as LanguageCode,
};

/** A string field checked (and normalised) by `check`; anything but a string is refused. */
function stringCodec(check: (text: string) => Result<string>): Codec<string> {
  return {
    parse: (value) => (typeof value === 'string' ? check(value) : { ok: false, reason: `must be a string, got ${show(value)}` }),
    format: (value) => value,
  };
}

const IDENTITY_NUMBER = stringCodec((text) =>
  isValidIdentityNumber(text)
    ? { ok: true, value: text }
    : { ok: false, reason: `"${maskIdentityNumber(text)}" is not a valid identity number (11 digits with matching check digits)` },
);
const EMAIL = stringCodec(normaliseEmail);
/** The register gives both `41514965` and `+4799999999`; the service keeps E.164 only. */
const MOBILE = stringCodec(normaliseMobile);
const MAILBOX_ADDRESS = stringCodec((text) => (text.trim() ? { ok: true, value: text.trim() } : { ok: false, reason: 'is empty' }));
const ORG_NUMBER = stringCodec((text) =>
  /^\d{9}$/.test(text) ? { ok: true, value: text } : { ok: false, reason: 'is not a 9-digit organisation number' },
);

/** Base64's alphabet (`A-Z`, `a-z`, `0-9`, `+`, `/`), by character code. */
const BASE64_ALPHABET = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') BASE64_ALPHABET[c.charCodeAt(0)] = 1;
const WHITE_SPACE = /\s/;

/**
 * `text` without its white space, when that is base64: characters of the alphabet, then at
 * most two `=`, a multiple of four in all; null otherwise. One pass with `charCodeAt`, no
 * copy unless there is white space: a certificate is long, and a national file has millions.
 */
function compactBase64(text: string): string | null {
  let letters = 0;
  let padding = 0;
  let spaced = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 128 && BASE64_ALPHABET[c] === 1 && padding === 0) letters++;
    else if (c === 61 /* = */ && letters > 0 && padding < 2) padding++;
    else if (WHITE_SPACE.test(text[i])) spaced = true;
    else return null;
  }
  if (letters === 0 || (letters + padding) % 4 !== 0) return null;
  return spaced ? text.replace(/\s+/g, '') : text;
}

const CERTIFICATE = stringCodec((text) => {
  const compact = compactBase64(text);
  return compact !== null ? { ok: true, value: compact } : { ok: false, reason: 'is not a base64 certificate' };
});

/** Read in any of the register's forms; written as ISO 8601 in UTC with milliseconds. */
const TIMESTAMP: Codec<Date> = {
  parse: (value) => (typeof value === 'string' ? registerTimestamp(value) : { ok: false, reason: `must be a timestamp string, got ${show(value)}` }),
  format: (value) => value.toISOString(),
  fromGraphQL: (value) => new Date(String(value)),
};

/**
 * One field of a register person, by its three names. Paths are dotted:
 * `kontaktinformasjon.epostadresse` (register), `email.address` (internal, what the import
 * writes), `contactInfo.email.address` (a `Person` of the GraphQL API, what the REST API reads).
 */
export interface FieldMapping {
  register: string;
  internal: string;
  graphql: string;
  codec: Codec<unknown>;
  /** The import refuses a person without it. */
  required?: true;
  /** Required when this other register field is given (a channel's `_oppdatert` belongs to its address). */
  requiredWith?: string;
  /** Derived by this service from other fields: accepted and ignored on import, produced when serving. */
  computed?: true;
}

function channelFields(
  name: 'epostadresse' | 'mobiltelefonnummer',
  internal: 'email' | 'mobile',
  graphqlAddress: 'email.address' | 'mobile.number',
  address: Codec<string>,
): FieldMapping[] {
  const at = `kontaktinformasjon.${name}`;
  const gql = `contactInfo.${internal}`;
  return [
    { register: at, internal: `${internal}.address`, graphql: `contactInfo.${graphqlAddress}`, codec: address },
    { register: `${at}_oppdatert`, internal: `${internal}.updatedAt`, graphql: `${gql}.updatedAt`, codec: TIMESTAMP, requiredWith: at },
    { register: `${at}_sist_verifisert`, internal: `${internal}.lastVerifiedAt`, graphql: `${gql}.lastVerifiedAt`, codec: TIMESTAMP },
    { register: `${at}_sist_validert`, internal: `${internal}.lastValidatedAt`, graphql: `${gql}.lastValidatedAt`, codec: TIMESTAMP },
    // Shared with someone else: only the whole register knows, so the service works it out.
    { register: `${at}_duplisert`, internal: `${internal}.duplicated`, graphql: `${gql}.duplicated`, codec: YES_NO, computed: true },
  ];
}

/** In the order the register writes a person's keys, so that served JSON reads like the register's. */
export const PERSON_FIELDS: readonly FieldMapping[] = [
  { register: 'personidentifikator', internal: 'id', graphql: 'id', codec: IDENTITY_NUMBER, required: true },
  { register: 'reservasjon', internal: 'reserved', graphql: 'reservation.reserved', codec: YES_NO },
  { register: 'reservasjonstidspunkt', internal: 'reservedAt', graphql: 'reservation.reservedAt', codec: TIMESTAMP },
  { register: 'reservasjon_oppdatert', internal: 'reservationUpdatedAt', graphql: 'reservation.updatedAt', codec: TIMESTAMP },
  { register: 'status', internal: 'status', graphql: 'status', codec: STATUS, required: true },
  // Depends on the clock (the 18-month rule), so a stored copy would go stale.
  { register: 'varslingsstatus', internal: 'notificationStatus', graphql: 'notificationStatus', codec: NOTIFICATION_STATUS, computed: true },
  ...channelFields('epostadresse', 'email', 'email.address', EMAIL),
  ...channelFields('mobiltelefonnummer', 'mobile', 'mobile.number', MOBILE),
  {
    register: 'digital_post.postkasseadresse',
    internal: 'digitalPost.mailboxAddress',
    graphql: 'digitalMailbox.address',
    codec: MAILBOX_ADDRESS,
    requiredWith: 'digital_post.postkasseleverandoeradresse',
  },
  {
    register: 'digital_post.postkasseleverandoeradresse',
    internal: 'digitalPost.providerOrgNumber',
    graphql: 'digitalMailbox.providerOrgNumber',
    codec: ORG_NUMBER,
    requiredWith: 'digital_post.postkasseadresse',
  },
  { register: 'sertifikat', internal: 'digitalPost.certificate', graphql: 'certificate', codec: CERTIFICATE },
  { register: 'spraak', internal: 'language', graphql: 'language', codec: LANGUAGE },
  { register: 'spraak_oppdatert', internal: 'languageUpdatedAt', graphql: 'languageUpdatedAt', codec: TIMESTAMP },
];

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Absent, `null` and `""` are the same thing in the register's JSON: the register writes
 * `"postkasseadresse": ""` or `"sertifikat": ""` where it has nothing (docs/domain.md).
 */
const isAbsent = (value: unknown): boolean => value === undefined || value === null || value === '';

/** A dotted path split into its keys. */
type Keys = readonly string[];

function getPath(obj: JsonObject, keys: Keys): unknown {
  let value: unknown = obj;
  for (let i = 0; i < keys.length; i++) value = isObject(value) ? value[keys[i]] : undefined;
  return isAbsent(value) ? undefined : value;
}

function setPath(obj: JsonObject, keys: Keys, value: unknown): void {
  let target = obj;
  for (let i = 0; i < keys.length - 1; i++) target = (target[keys[i]] ??= {}) as JsonObject;
  target[keys[keys.length - 1]] = value;
}

/** A field with its paths split once: the import reads every field of millions of records. */
interface SplitField {
  field: FieldMapping;
  register: Keys;
  internal: Keys;
  graphql: Keys;
  requiredWith: Keys | null;
}

const SPLIT_FIELDS: readonly SplitField[] = PERSON_FIELDS.map((field) => ({
  field,
  register: field.register.split('.'),
  internal: field.internal.split('.'),
  graphql: field.graphql.split('.'),
  requiredWith: field.requiredWith?.split('.') ?? null,
}));
/** The fields the import reads: all but the computed ones. */
const READ_FIELDS = SPLIT_FIELDS.filter(({ field }) => !field.computed);
const CERTIFICATE_KEYS: Keys = ['sertifikat'];
const MAILBOX_ADDRESS_KEYS: Keys = ['digital_post', 'postkasseadresse'];

/**
 * The GraphQL selection set (`{ id status reservation { reserved ... } ... }`) that asks a
 * `Person` for every field of the table: what `formatRegisterPerson` needs, and no more.
 */
export const REGISTER_PERSON_SELECTION: string = (() => {
  type Tree = Map<string, Tree>;
  const root: Tree = new Map();
  for (const { graphql } of PERSON_FIELDS) {
    let node = root;
    for (const key of graphql.split('.')) node = node.get(key) ?? node.set(key, new Map()).get(key)!;
  }
  const print = (tree: Tree): string => `{ ${[...tree].map(([key, inner]) => (inner.size > 0 ? `${key} ${print(inner)}` : key)).join(' ')} }`;
  return print(root);
})();

/**
 * A person in the register's JSON, from a `Person` of the GraphQL API selected with
 * `REGISTER_PERSON_SELECTION`. A null or missing value leaves its key out, as the register
 * does; so does a field the caller had no scope for (GraphQL answers it with null).
 */
export function formatRegisterPerson(person: Record<string, unknown>): Record<string, unknown> {
  const out: JsonObject = {};
  for (const { field: { codec }, graphql, register } of SPLIT_FIELDS) {
    const value = getPath(person, graphql);
    if (value === undefined) continue;
    setPath(out, register, codec.format(codec.fromGraphQL ? codec.fromGraphQL(value) : value));
  }
  return out;
}

/**
 * A stored entry in the register's JSON (the export): every field the import reads, from the
 * `internal` paths; the computed ones (`varslingsstatus`, `_duplisert`) are left out, as the
 * import would ignore them. `parseRegisterPerson` reads the result back to the same entry,
 * except `updatedAt`, which the register's JSON does not carry (the import takes the latest
 * timestamp of the record).
 */
export function formatPersonRecord(record: PersonRecord): Record<string, unknown> {
  const out: JsonObject = {};
  for (const { field: { codec }, internal, register } of READ_FIELDS) {
    const value = getPath(record as unknown as JsonObject, internal);
    if (value === undefined) continue;
    setPath(out, register, codec.format(value));
  }
  return out;
}

/** Top-level register keys, each with the keys allowed inside it (`null` for a plain value). */
const REGISTER_KEYS = new Map<string, Set<string> | null>();
for (const { register: [top, inner] } of SPLIT_FIELDS) {
  if (inner === undefined) REGISTER_KEYS.set(top, null);
  else REGISTER_KEYS.set(top, (REGISTER_KEYS.get(top) ?? new Set<string>()).add(inner));
}

const notAField = (path: string) => `${maskIdentityNumbersIn(path)}: is not a field of a register person`;

/** Unknown keys are refused rather than dropped, so a misspelt field cannot vanish silently. */
function unknownKeyProblems(obj: JsonObject): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(obj)) {
    const inner = REGISTER_KEYS.get(key);
    if (inner === undefined) problems.push(notAField(key));
    if (!inner) continue;
    const value = obj[key];
    if (isAbsent(value)) continue;
    if (!isObject(value)) problems.push(`${key}: must be an object, got ${show(value)}`);
    else for (const innerKey of Object.keys(value)) if (!inner.has(innerKey)) problems.push(notAField(`${key}.${innerKey}`));
  }
  return problems;
}

/** A field's place in `READ_FIELDS`: the import keeps a person's values in an array while it reads them. */
function slot(internal: string): number {
  const index = READ_FIELDS.findIndex(({ field }) => field.internal === internal);
  if (index < 0) throw new Error(`no field reads ${internal}`);
  return index;
}

const channelSlots = (channel: 'email' | 'mobile') => ({
  address: slot(`${channel}.address`),
  updatedAt: slot(`${channel}.updatedAt`),
  lastVerifiedAt: slot(`${channel}.lastVerifiedAt`),
  lastValidatedAt: slot(`${channel}.lastValidatedAt`),
});

const SLOT = {
  id: slot('id'),
  status: slot('status'),
  reserved: slot('reserved'),
  reservedAt: slot('reservedAt'),
  reservationUpdatedAt: slot('reservationUpdatedAt'),
  language: slot('language'),
  languageUpdatedAt: slot('languageUpdatedAt'),
  email: channelSlots('email'),
  mobile: channelSlots('mobile'),
  mailboxAddress: slot('digitalPost.mailboxAddress'),
  providerOrgNumber: slot('digitalPost.providerOrgNumber'),
  certificate: slot('digitalPost.certificate'),
};

function channelRecord(values: readonly unknown[], at: ReturnType<typeof channelSlots>): ChannelRecord | null {
  const address = values[at.address] as string | undefined;
  const updatedAt = values[at.updatedAt] as Date | undefined;
  if (!address || !updatedAt) return null;
  return { address, updatedAt, lastVerifiedAt: (values[at.lastVerifiedAt] as Date | undefined) ?? null, lastValidatedAt: (values[at.lastValidatedAt] as Date | undefined) ?? null };
}

export type RegisterPersonResult =
  | { ok: true; position: number; record: PersonRecord }
  | { ok: true; position: number; skip: 'NOT_REGISTERED'; id: string }
  | { ok: false; position: number; reason: string };

/**
 * Reads one person of the register's JSON. Every problem in the person is reported (joined
 * by "; "), each naming its field. `now` is the person's `updatedAt` when the record has no
 * timestamp at all.
 */
export function parseRegisterPerson(obj: unknown, position: number, now: Date): RegisterPersonResult {
  if (!isObject(obj)) return { ok: false, position, reason: `is not a JSON object, got ${show(obj)}` };
  const problems = unknownKeyProblems(obj);
  const values: unknown[] = new Array(READ_FIELDS.length);
  // The record's latest timestamp, the first of them when several are equal.
  let latest: Date | null = null;
  for (let i = 0; i < READ_FIELDS.length; i++) {
    const { field, register, requiredWith } = READ_FIELDS[i];
    const raw = getPath(obj, register);
    if (raw === undefined) {
      if (field.required) problems.push(`${field.register}: is required`);
      else if (requiredWith && getPath(obj, requiredWith) !== undefined) {
        problems.push(`${field.register}: is required when ${field.requiredWith} is given`);
      }
      continue;
    }
    const parsed = field.codec.parse(raw);
    if (!parsed.ok) {
      problems.push(`${field.register}: ${parsed.reason}`);
      continue;
    }
    values[i] = parsed.value;
    if (parsed.value instanceof Date && (latest === null || latest.getTime() < parsed.value.getTime())) latest = parsed.value;
  }
  // The certificate encrypts post to the mailbox, and the store keeps it with the mailbox.
  if (getPath(obj, CERTIFICATE_KEYS) !== undefined && getPath(obj, MAILBOX_ADDRESS_KEYS) === undefined) {
    problems.push('sertifikat: is given without digital_post.postkasseadresse');
  }
  if (problems.length > 0) return { ok: false, position, reason: problems.join('; ') };

  const id = values[SLOT.id] as string | undefined;
  const status = values[SLOT.status] as PersonStatus | undefined;
  if (id === undefined || status === undefined) throw new Error('unreachable: required fields were checked');
  if (status === 'NOT_REGISTERED') return { ok: true, position, skip: 'NOT_REGISTERED', id };
  // Only an active person has contact information, a mailbox or a certificate.
  const active = status === 'ACTIVE';
  const mailboxAddress = values[SLOT.mailboxAddress] as string | undefined;
  const providerOrgNumber = values[SLOT.providerOrgNumber] as string | undefined;
  return {
    ok: true,
    position,
    record: {
      id,
      status,
      reserved: (values[SLOT.reserved] as boolean | undefined) ?? false,
      reservedAt: (values[SLOT.reservedAt] as Date | undefined) ?? null,
      reservationUpdatedAt: (values[SLOT.reservationUpdatedAt] as Date | undefined) ?? null,
      language: (values[SLOT.language] as PersonRecord['language'] | undefined) ?? null,
      languageUpdatedAt: (values[SLOT.languageUpdatedAt] as Date | undefined) ?? null,
      updatedAt: latest ?? now,
      email: active ? channelRecord(values, SLOT.email) : null,
      mobile: active ? channelRecord(values, SLOT.mobile) : null,
      digitalPost:
        active && mailboxAddress && providerOrgNumber
          ? { mailboxAddress, providerOrgNumber, certificate: (values[SLOT.certificate] as string | undefined) ?? null }
          : null,
    },
  };
}

// The register writes offsets as `+02`, `+0200` or `+02:00`, or `Z`, with 0 to 9 fraction digits.
const TIMESTAMP_PATTERN = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2})(?::?(\d{2}))?)$/;
const EXAMPLE = '2023-06-29T10:14:52+02:00';

/** The number that the `length` characters of `text` from `from` write; -1 unless all are digits. */
function digitsAt(text: string, from: number, length: number): number {
  let value = 0;
  for (let i = from; i < from + length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (!(digit >= 0 && digit <= 9)) return -1;
    value = value * 10 + digit;
  }
  return value;
}

/**
 * `YYYY-MM-DDTHH:MM:SS.sssZ` (what `toISOString` writes) as UTC milliseconds, read digit by
 * digit (a national file has millions): null unless it is exactly that form and a real
 * date and time of a year from 100 on; the caller then reads it the general way.
 */
function isoUtcMillis(text: string): number | null {
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84 || text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58 || text.charCodeAt(19) !== 46) {
    return null;
  }
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  const millis = digitsAt(text, 20, 3);
  if (year < 100 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || millis < 0) return null;
  if (day > daysInMonth(year, month)) return null;
  return (((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * 60 + second) * 1000 + millis;
}

/**
 * Parses one of the register's timestamps to the instant it names. Strict: a date without
 * a time, a time without a UTC offset or a date that does not exist (30 February) is refused,
 * since guessing the zone would shift the 18-month rule by hours. Fractions beyond
 * milliseconds are cut off.
 */
export function registerTimestamp(text: string): Result<Date> {
  // The common form (what the export and the REST API write) read the quick way: exactly what
  // `toISOString` gives back is a real instant in UTC.
  if (text.length === 24 && text.charCodeAt(23) === 90 /* Z */) {
    const quick = isoUtcMillis(text);
    if (quick !== null) return { ok: true, value: new Date(quick) };
  }
  const m = TIMESTAMP_PATTERN.exec(text);
  if (!m) {
    if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return { ok: false, reason: `is a date without a time of day (expected e.g. ${EXAMPLE})` };
    if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$/.test(text)) return { ok: false, reason: `has no UTC offset (expected Z or e.g. +02:00)` };
    return { ok: false, reason: `is not a timestamp like ${EXAMPLE}, got ${show(text)}` };
  }
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number);
  const millis = Number((m[7] ?? '').padEnd(3, '0').slice(0, 3));
  const offsetHours = Number(m[10] ?? 0);
  const offsetMinutes = Number(m[11] ?? 0);
  if (offsetHours > 18 || offsetMinutes > 59) return { ok: false, reason: `has an impossible UTC offset, got ${show(text)}` };
  // setUTCFullYear, unlike Date.UTC, does not read years 0-99 as 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  const realDate = date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  if (!realDate || hour > 23 || minute > 59 || second > 59) return { ok: false, reason: `is not a real date and time, got ${show(text)}` };
  const sign = m[9] === '-' ? -1 : 1;
  const offsetMs = m[8] ? 0 : sign * (offsetHours * 60 + offsetMinutes) * 60_000;
  date.setUTCHours(hour, minute, second, millis);
  return { ok: true, value: new Date(date.getTime() - offsetMs) };
}
