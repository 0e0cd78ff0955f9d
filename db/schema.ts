/**
 * The register's tables. Plain Drizzle declarations only: drizzle-kit reads this file
 * without decorator metadata, so nothing here may import type-graphql classes.
 *
 * Timestamps are UTC milliseconds (`timestamp_ms`). A person who is not in `person` is
 * "not registered"; a deleted person keeps a row with status DELETED.
 */
import { index, integer, primaryKey, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import type { ChangeKind } from '../src/domain/change-kind';

export const person = sqliteTable(
  'person',
  {
    /** `personidentifikator`: 11-digit identity number. */
    id: text('id').primaryKey(),
    /** `status`: ACTIVE (`AKTIV`) or DELETED (`SLETTET`). */
    status: text('status', { enum: ['ACTIVE', 'DELETED'] }).notNull(),
    /** `reservasjon`: reserved against digital communication of important letters. */
    reserved: integer('reserved', { mode: 'boolean' }).notNull().default(false),
    /** `reservasjonstidspunkt`: when the current reservation was made. */
    reservedAt: integer('reserved_at', { mode: 'timestamp_ms' }),
    /** `reservasjon_oppdatert`: when the reservation was last set either way. */
    reservationUpdatedAt: integer('reservation_updated_at', { mode: 'timestamp_ms' }),
    /** `spraak`: nb, nn, en or se. */
    language: text('language', { enum: ['nb', 'nn', 'en', 'se'] }),
    /** `spraak_oppdatert`. */
    languageUpdatedAt: integer('language_updated_at', { mode: 'timestamp_ms' }),
    /** When anything about the person last changed. */
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
    /** The change number of the person's latest change (see `change_log`): drives the change feed. */
    changeNumber: integer('change_number').notNull(),
  },
  (t) => [index('person_change_number_idx').on(t.changeNumber)],
);

export const contactPoint = sqliteTable(
  'contact_point',
  {
    personId: text('person_id')
      .notNull()
      .references(() => person.id, { onDelete: 'cascade' }),
    channel: text('channel', { enum: ['EMAIL', 'MOBILE'] }).notNull(),
    /** The address as the citizen gave it (email) or in E.164 (mobile). */
    address: text('address').notNull(),
    /** What "the same address" means for the duplicate flag: lower-cased email, E.164 mobile. */
    addressKey: text('address_key').notNull(),
    /** `_oppdatert`. */
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
    /** `_sist_verifisert`: the citizen confirmed the address is still right. */
    lastVerifiedAt: integer('last_verified_at', { mode: 'timestamp_ms' }),
    /** `_sist_validert`: the address was proven by a one-time code. */
    lastValidatedAt: integer('last_validated_at', { mode: 'timestamp_ms' }),
  },
  (t) => [primaryKey({ columns: [t.personId, t.channel] }), index('contact_point_address_idx').on(t.channel, t.addressKey)],
);

/**
 * `sertifikat`: base64 X.509 certificates for encrypting secure digital post, each distinct
 * value once. The certificate is the mailbox provider's, not the person's: a national
 * register holds millions of mailboxes and a handful of certificates, so the mailbox and the
 * read model hold its number (`certificate_id`) instead of some 700 bytes of base64 each.
 * Rows are only ever added; a value no mailbox uses any more stays (a few per provider).
 */
export const certificate = sqliteTable('certificate', {
  id: integer('id').primaryKey(),
  value: text('value').notNull().unique('certificate_value_unique'),
});

export const digitalPost = sqliteTable('digital_post', {
  personId: text('person_id')
    .primaryKey()
    .references(() => person.id, { onDelete: 'cascade' }),
  /** `postkasseadresse`, e.g. `ola.nordmann#9YDT`. */
  mailboxAddress: text('mailbox_address').notNull(),
  /** `postkasseleverandoeradresse`: the provider's 9-digit organisation number. */
  providerOrgNumber: text('provider_org_number').notNull(),
  /** `sertifikat`: the provider's certificate (`certificate`), if the register has one. */
  certificateId: integer('certificate_id').references(() => certificate.id),
});

/**
 * How many ACTIVE people hold an address on a channel (by `address_key`): the duplicate
 * flag (`_duplisert`) decided when addresses and statuses change, never per read.
 * Kept by triggers (migration 0006) in the same transaction as every write.
 */
export const addressUse = sqliteTable(
  'address_use',
  {
    channel: text('channel', { enum: ['EMAIL', 'MOBILE'] }).notNull(),
    addressKey: text('address_key').notNull(),
    activePeople: integer('active_people').notNull(),
  },
  (t) => [primaryKey({ columns: [t.channel, t.addressKey] })],
);

/**
 * The lookup's read model: one row per person (WITHOUT ROWID, keyed by id) holding
 * everything a lookup returns: the person, both channels with their duplicate flags, and
 * the digital mailbox. Derived: triggers on `person`, `contact_point`, `digital_post` and
 * `address_use` (migration 0006) rewrite it in the same transaction as every write, whatever
 * the write path; a bulk load that drops the triggers rebuilds it (db/seed/bulk.ts).
 * Columns as in the source tables, `email_`/`mobile_` for the channels.
 */
export const personLookup = sqliteTable('person_lookup', {
  id: text('id').primaryKey(),
  status: text('status', { enum: ['ACTIVE', 'DELETED'] }).notNull(),
  reserved: integer('reserved', { mode: 'boolean' }).notNull(),
  reservedAt: integer('reserved_at', { mode: 'timestamp_ms' }),
  reservationUpdatedAt: integer('reservation_updated_at', { mode: 'timestamp_ms' }),
  language: text('language', { enum: ['nb', 'nn', 'en', 'se'] }),
  languageUpdatedAt: integer('language_updated_at', { mode: 'timestamp_ms' }),
  updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  changeNumber: integer('change_number').notNull(),
  emailAddress: text('email_address'),
  emailAddressKey: text('email_address_key'),
  emailUpdatedAt: integer('email_updated_at', { mode: 'timestamp_ms' }),
  emailLastVerifiedAt: integer('email_last_verified_at', { mode: 'timestamp_ms' }),
  emailLastValidatedAt: integer('email_last_validated_at', { mode: 'timestamp_ms' }),
  emailDuplicated: integer('email_duplicated', { mode: 'boolean' }),
  mobileAddress: text('mobile_address'),
  mobileAddressKey: text('mobile_address_key'),
  mobileUpdatedAt: integer('mobile_updated_at', { mode: 'timestamp_ms' }),
  mobileLastVerifiedAt: integer('mobile_last_verified_at', { mode: 'timestamp_ms' }),
  mobileLastValidatedAt: integer('mobile_last_validated_at', { mode: 'timestamp_ms' }),
  mobileDuplicated: integer('mobile_duplicated', { mode: 'boolean' }),
  mailboxAddress: text('mailbox_address'),
  providerOrgNumber: text('provider_org_number'),
  certificateId: integer('certificate_id'),
});

/**
 * One row per change to a person, numbered without gaps: the number is the SQLite rowid,
 * taken inside the same transaction as the change, so a rolled-back change leaves no number.
 */
export const changeLog = sqliteTable(
  'change_log',
  {
    changeNumber: integer('change_number').primaryKey(),
    personId: text('person_id').notNull(),
    changedAt: integer('changed_at', { mode: 'timestamp_ms' }).notNull(),
    /** What kind of change: one of `CHANGE_KINDS` (src/domain/change-kind.ts). */
    kind: text('kind').$type<ChangeKind>().notNull(),
  },
  (t) => [index('change_log_person_idx').on(t.personId)],
);


/**
 * One pending one-time code per person and channel: a new code replaces the old one. Only
 * a salted scrypt hash of the code is kept. A code is for the address it was sent to.
 */
export const verificationCode = sqliteTable(
  'verification_code',
  {
    personId: text('person_id')
      .notNull()
      .references(() => person.id, { onDelete: 'cascade' }),
    channel: text('channel', { enum: ['EMAIL', 'MOBILE'] }).notNull(),
    address: text('address').notNull(),
    /** `salt:hash`, both hex. */
    codeHash: text('code_hash').notNull(),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
    /** Wrong codes tried so far; at the limit the code is locked. */
    failedAttempts: integer('failed_attempts').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.personId, t.channel] })],
);

/**
 * The lookup audit log, written as an append: one row per agency request (who, on whose
 * behalf, when, with which scopes, whom), committed durably before the answer leaves. The
 * request pays for this one row whatever the number of people looked up.
 *
 * `lookup_person` is derived from it: one row per person per request, for a citizen's
 * `me { lookups }`. An indexer fills it in the background from `lookup_index_state`
 * onwards (in request-id order, in sorted batches), so a crash loses nothing: it catches up
 * from the durable log at the next start. Reads take the not-yet-indexed tail from the log
 * itself, so a citizen sees every committed lookup. The view `lookup_audit` (created by
 * migration 0005) shows the log flattened to one row per person looked up, for operators.
 */
export const lookupRequest = sqliteTable(
  'lookup_request',
  {
    /** AUTOINCREMENT: an id is never used twice, even after retention has emptied the table (the index mark relies on it). */
    id: integer('id').primaryKey({ autoIncrement: true }),
    lookedUpAt: integer('looked_up_at', { mode: 'timestamp_ms' }).notNull(),
    agencyOrgNumber: text('agency_org_number').notNull(),
    /** The supplier that called on the agency's behalf (delegation); null when the agency called itself. */
    supplierOrgNumber: text('supplier_org_number'),
    /** The scopes the request used, sorted, space-separated (may be empty). */
    scopes: text('scopes').notNull(),
    /** The people looked up: a JSON array of distinct identity numbers. */
    personIds: text('person_ids').notNull(),
    /** Where the scopes released differ per person: a JSON object id -> space-separated scopes; null when all got `scopes`. */
    personScopes: text('person_scopes'),
  },
  // Retention takes the oldest by time, not by id: a clock stepped back puts an older time after a newer one.
  (t) => [index('lookup_request_at_idx').on(t.lookedUpAt)],
);

/**
 * Derived from `lookup_request` (see there): a person's lookups, by request, kept in
 * segments (`lookup_segment`). The key leads with the segment, so the indexer only ever
 * writes into the newest segment's part of the tree (a few thousand pages, whatever the
 * size of the log), and a read probes each segment once (src/store/audit-record.ts).
 */
export const lookupPerson = sqliteTable(
  'lookup_person',
  {
    segment: integer('segment').notNull(),
    personId: text('person_id').notNull(),
    requestId: integer('request_id').notNull(),
    /** The scopes released for this person where they differ from the request's; null otherwise. */
    scopes: text('scopes'),
  },
  (t) => [primaryKey({ columns: [t.segment, t.personId, t.requestId] })],
);

/**
 * The segments of `lookup_person`: consecutive runs of requests, in id order (the indexer
 * derives requests in id order, so a request's segment is the one whose range holds its id).
 */
export const lookupSegment = sqliteTable('lookup_segment', {
  segment: integer('segment').primaryKey(),
  firstRequest: integer('first_request').notNull(),
  lastRequest: integer('last_request').notNull(),
  /** Rows of `lookup_person` the indexer put into it. */
  rows: integer('rows').notNull(),
});

/** How far the indexer has derived `lookup_person`: one row (id 1). */
export const lookupIndexState = sqliteTable('lookup_index_state', {
  id: integer('id').primaryKey(),
  /** Every request up to this id is in `lookup_person`. */
  indexedThrough: integer('indexed_through').notNull(),
});

/**
 * What happened to one-time codes (sent to an address, checked, proven), kept apart from
 * `verification_code` so that deleting or changing the contact information does not clear
 * it: the limits on codes (one a minute per citizen and channel, so many per address per
 * hour and day, so many wrong codes per citizen per day) are counted here. No foreign key:
 * the log outlives the person's rows. Rows older than a day are pruned a few at a time.
 */
export const codeLog = sqliteTable(
  'code_log',
  {
    id: integer('id').primaryKey(),
    personId: text('person_id').notNull(),
    channel: text('channel', { enum: ['EMAIL', 'MOBILE'] }).notNull(),
    /** The address's key (`address_key` of `contact_point`). */
    addressKey: text('address_key').notNull(),
    event: text('event', { enum: ['SENT', 'CHECKED', 'PROVEN'] }).notNull(),
    at: integer('at', { mode: 'timestamp_ms' }).notNull(),
  },
  (t) => [index('code_log_person_idx').on(t.personId, t.at), index('code_log_address_idx').on(t.addressKey, t.at), index('code_log_at_idx').on(t.at)],
);

/**
 * Follower mode (KRR_UPSTREAM_URL): where this copy stands in the upstream register's change
 * feed. At most one row (id = 1), written in the same transaction as the page of people it
 * describes, so a crash never separates the people from the position.
 */
export const upstreamSync = sqliteTable('upstream_sync', {
  id: integer('id').primaryKey(),
  /** The upstream's base URL: positions mean nothing in another register's feed. */
  upstream: text('upstream').notNull(),
  /** The last upstream change number applied here (`tilEndringsId` of the last page). */
  position: integer('position').notNull(),
  /** The upstream's newest change number (`sisteEndringsId`) when it last answered. */
  latest: integer('latest').notNull(),
  /**
   * The last time this copy was caught up (a page with tilEndringsId == sisteEndringsId
   * applied): it then held everything the upstream had. Null until the first catch-up.
   */
  lastSuccessAt: integer('last_success_at', { mode: 'timestamp_ms' }),
});
